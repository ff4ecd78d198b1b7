//! What the tests of the browser page and the generated TypeScript share: Node.js,
//! Chromium and the page's npm packages set up, the page built, and `tsc`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Node.js, Chromium and the npm packages set up (the first time, as the Python
/// virtualenvs are: with apt-get when missing, as root), and the page built from the
/// current sources: once per run of this file's tests.
pub async fn web() -> PathBuf {
    static BUILT: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
            let needed = [
                web.join("node_modules/.bin/tsc"),
                web.join("node_modules/playwright-core"),
                PathBuf::from(chromium()),
            ];
            let script = if needed.iter().all(|p| p.exists()) {
                "build.sh"
            } else {
                "setup.sh"
            };
            let status = Command::new("bash")
                .arg(web.join(script))
                .status()
                .await
                .expect("bash runs");
            assert!(status.success(), "examples/web/{script} failed");
            web
        })
        .await
        .clone()
}

pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// The compiler options of the page's `tsconfig.json`, for files checked elsewhere.
pub const STRICT: [&str; 12] = [
    "--strict",
    "--noUnusedLocals",
    "--noUnusedParameters",
    "--target",
    "ES2020",
    "--module",
    "ES2020",
    "--moduleResolution",
    "bundler",
    "--lib",
    "ES2020,DOM",
    "--skipLibCheck",
];

/// `tsc --noEmit` with `args` in `dir`: its exit status and output.
pub async fn tsc(web: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(web.join("node_modules/.bin/tsc"))
        .arg("--noEmit")
        .args(args)
        .current_dir(dir)
        .kill_on_drop(true)
        .output()
        .await
        .expect("tsc runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}
