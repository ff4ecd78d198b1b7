//! The example programs, run as a user runs them: the demo alone, the callee, caller,
//! publisher and subscriber against a router on a free port, with each serializer, and
//! the calculator service coming back by itself when its router restarts.
//! (`cargo test` builds the examples before it runs this.)

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(30);

/// `target/<profile>/examples/<name>`, next to this test's own `deps/` directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// Runs an example to completion and returns its standard output.
async fn run(name: &str, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        WAIT,
        Command::new(example(name))
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} timed out"))
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Starts an example in the background, returning it and its output lines.
fn spawn(name: &str, args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

async fn line_containing<R: tokio::io::AsyncRead + Unpin>(
    lines: &mut Lines<BufReader<R>>,
    what: &str,
) -> String {
    let mut skipped = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(what) {
                return Some(line);
            }
            skipped.push(line);
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => line,
        Ok(None) => panic!("the output ended before a line with {what:?}: {skipped:#?}"),
        Err(_) => panic!("no line with {what:?} in time: {skipped:#?}"),
    }
}

#[tokio::test]
async fn the_demo_runs_from_start_to_end() {
    let out = run("demo", &[]).await;
    for expected in [
        "calc.add(2, 3) = 5",
        "calc.divide(1, 0) -> DivisionByZero",
        "home.read(room=kitchen, unit=F) = 70.7 F",
        "com.example.home.light.hall.switch -> true",
        "home.unlock() -> NotAuthorized(\"only admins open the door, not anonymous\")",
        "event attic: 12 °C",
        "demo: done",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in:\n{out}");
    }
}

#[tokio::test]
async fn the_readme_typed_tour_runs() {
    let out = run("typed_tour", &[]).await;
    for expected in [
        "tour: overflow past 9223372036854775807",
        "tour: add(2, 3) = 5, with options 5",
        "tour: Some(\"kitchen\"): 21.5 °C",
        "tour: the kitchen subscription got 21.5 °C",
        "tour: done",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callee_caller_publisher_and_subscriber_against_a_router() {
    let router = wamp_router::Router::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .realm("examples")
        .start()
        .await
        .unwrap();
    let url = router.url();
    for ser in ["json", "msgpack", "cbor"] {
        let common = [
            "--url",
            url.as_str(),
            "--realm",
            "examples",
            "--serializer",
            ser,
        ];
        let (_callee, mut callee_out) = spawn("callee", &common);
        line_containing(&mut callee_out, "serves").await;
        let out = run("caller", &common).await;
        assert!(out.contains("add(2, 3) = 5"), "{ser}: {out}");
        assert!(out.contains("\"Hello, Ada!!\""), "{ser}: {out}");
        assert!(out.contains("divide(1, 4) = 0.25"), "{ser}: {out}");
        assert!(out.contains("division_by_zero"), "{ser}: {out}");

        let (_calc, mut calc_out) = spawn("calc_callee", &common);
        line_containing(&mut calc_out, "serves").await;
        let out = run("calc_caller", &common).await;
        for expected in [
            "add(2, 3) = 5",
            "divide(1, 4) = 0.25",
            "sum([1, 2, 3]) = 6",
            "whoami = session",
            "CalcError::DivisionByZero",
            "CalcError::Overflow { limit: 9223372036854775807 }",
        ] {
            assert!(
                out.contains(expected),
                "{ser}: {expected:?} missing in:\n{out}"
            );
        }

        // Sensors: one subscriber to every room, one to the kitchen only.
        let mut all_args = common.to_vec();
        all_args.extend(["--count", "2"]);
        let (mut all_rooms, mut all_out) = spawn("sensor_subscriber", &all_args);
        line_containing(&mut all_out, "listening to com.example.sensor..temperature").await;
        let mut kitchen_args = common.to_vec();
        kitchen_args.extend(["--room", "kitchen", "--count", "1"]);
        let (mut kitchen, mut kitchen_out) = spawn("sensor_subscriber", &kitchen_args);
        line_containing(
            &mut kitchen_out,
            "listening to com.example.sensor.kitchen.temperature",
        )
        .await;
        for room in ["bath", "kitchen"] {
            let mut a = common.to_vec();
            a.extend(["--room", room, "--count", "1"]);
            run("sensor_publisher", &a).await;
        }
        line_containing(&mut all_out, "bath: 20 °C").await;
        line_containing(&mut all_out, "kitchen: 20 °C").await;
        line_containing(&mut kitchen_out, "kitchen: 20 °C").await;
        for child in [&mut all_rooms, &mut kitchen] {
            let status = tokio::time::timeout(WAIT, child.wait())
                .await
                .unwrap()
                .unwrap();
            assert!(status.success());
        }

        let mut sub_args = common.to_vec();
        sub_args.extend(["--count", "2"]);
        let (mut subscriber, mut sub_out) = spawn("subscriber", &sub_args);
        line_containing(&mut sub_out, "listening").await;
        let mut pub_args = common.to_vec();
        pub_args.extend(["--count", "2", "--interval-ms", "50"]);
        run("publisher", &pub_args).await;
        line_containing(&mut sub_out, "tick 1 from").await;
        line_containing(&mut sub_out, "tick 2 from").await;
        let status = tokio::time::timeout(WAIT, subscriber.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success());
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calculator_service_comes_back_after_the_router_restarts() {
    let start = |addr: std::net::SocketAddr| {
        wamp_router::Router::builder()
            .listen(addr)
            .realm("realm1")
            .start()
    };
    let router = start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = router.local_addr();
    let url = router.url();
    let common = ["--url", url.as_str()];
    let mut callee = Command::new(example("calc_callee"))
        .args(common)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(callee.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(callee.stderr.take().unwrap()).lines();
    line_containing(&mut out, "serves").await;
    let before = run("calc_caller", &common).await;
    assert!(before.contains("add(2, 3) = 5"), "{before}");

    router.shutdown().await;
    line_containing(&mut err, "calc_callee: disconnected").await;
    let router = start(addr).await.unwrap();
    line_containing(&mut err, "calc_callee: reconnected as session").await;
    let after = run("calc_caller", &common).await;
    assert!(after.contains("add(2, 3) = 5"), "{after}");
    assert!(after.contains("sum([1, 2, 3]) = 6"), "{after}");
    router.shutdown().await;
}
