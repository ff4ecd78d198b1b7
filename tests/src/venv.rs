//! The Python virtualenvs of the interop tests, created on first use: `.venv` with
//! Autobahn, `.venv-crossbar` with Crossbar.io (kept apart: Crossbar pins its own versions).
//! Failing to get one fails the calling test: interoperability is never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::workspace;

/// One virtualenv: where it lives, what fills it, and what proves it is usable.
struct Venv {
    dir: &'static str,
    requirements: &'static str,
    probe: &'static [&'static str],
    env_override: &'static str,
    executable: &'static str,
}

const AUTOBAHN: Venv = Venv {
    dir: ".venv",
    requirements: "requirements.txt",
    probe: &["-c", "import autobahn, cbor2, msgpack, argon2, passlib"],
    env_override: "WAMP_PYTHON",
    executable: "python",
};

const CROSSBAR: Venv = Venv {
    dir: ".venv-crossbar",
    requirements: "crossbar-requirements.txt",
    probe: &["version"],
    env_override: "WAMP_CROSSBAR",
    executable: "crossbar",
};

/// The Python interpreter with Autobahn installed: `$WAMP_PYTHON`, or `.venv/bin/python`
/// at the workspace root, made from `tests/python/requirements.txt` when missing.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| AUTOBAHN.find_or_install())
        .clone()
        .unwrap_or_else(|e| {
            panic!("no Python with Autobahn: {e}\nrun `bash .ci/run` or set WAMP_PYTHON")
        })
}

/// The `crossbar` executable: `$WAMP_CROSSBAR`, or `.venv-crossbar/bin/crossbar`, made
/// from `tests/python/crossbar-requirements.txt` when missing.
pub fn crossbar_bin() -> PathBuf {
    static CROSSBAR_BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CROSSBAR_BIN
        .get_or_init(|| CROSSBAR.find_or_install())
        .clone()
        .unwrap_or_else(|e| panic!("no Crossbar.io: {e}\nrun `bash .ci/run` or set WAMP_CROSSBAR"))
}

impl Venv {
    fn usable(&self, exe: &Path) -> bool {
        Command::new(exe)
            .args(self.probe)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn find_or_install(&self) -> Result<PathBuf, String> {
        if let Ok(p) = std::env::var(self.env_override) {
            let p = PathBuf::from(p);
            return if self.usable(&p) {
                Ok(p)
            } else {
                Err(format!(
                    "{} ({}) does not work",
                    p.display(),
                    self.env_override
                ))
            };
        }
        let venv = workspace().join(self.dir);
        let exe = venv.join("bin").join(self.executable);
        if self.usable(&exe) {
            return Ok(exe);
        }
        // Several test binaries may get here at once: one installs, the others wait.
        let target = workspace().join("target");
        let _ = std::fs::create_dir_all(&target);
        let lock = target.join(format!("{}.lock", self.dir.trim_start_matches('.')));
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            match std::fs::File::create_new(&lock) {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(500));
                    if self.usable(&exe) {
                        return Ok(exe);
                    }
                }
                Err(e) => return Err(format!("waiting for {}: {e}", lock.display())),
            }
        }
        let result = self.install(&venv);
        let _ = std::fs::remove_file(&lock);
        result?;
        if self.usable(&exe) {
            Ok(exe)
        } else {
            Err(format!(
                "{} still does not work after installing",
                exe.display()
            ))
        }
    }

    fn install(&self, venv: &Path) -> Result<(), String> {
        let run = |cmd: &mut Command| -> Result<(), String> {
            let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{cmd:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        let python = venv.join("bin").join("python");
        if !python.exists() {
            run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
        }
        let req = workspace()
            .join("tests")
            .join("python")
            .join(self.requirements);
        run(Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(req))
    }
}
