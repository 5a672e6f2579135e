//! The test suite, the local service and the benchmarks.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::setup;
use crate::shell::{cargo, has, root, run};

/// moto's server for the run; killed on drop, and it exits by itself if we die.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Result<Moto, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut child = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("tasks/src/local/moto_launcher.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start moto: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err("moto did not start: run `cargo xtask setup`".into());
        }
        eprintln!("==> moto's server on 127.0.0.1:{port}");
        Ok(Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// fmt, clippy, every cargo test against one moto server, then the other suites.
pub fn test(args: &[String]) -> Result<(), String> {
    setup::all()?;
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy -D warnings",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let moto = Moto::start()?;
    run(
        "cargo test",
        cargo()
            .args(["test", "--workspace", "--quiet"])
            .args(args)
            .env("PREVIEW_TEST_AWS_ENDPOINT", &moto.endpoint)
            .env("PREVIEW_VENV", root().join(".venv")),
    )?;
    drop(moto);
    run(
        "validate statemachine/preview.asl.json with asl-validator",
        Command::new(root().join("tests/node_modules/.bin/asl-validator"))
            .args(["--json-path"])
            .arg(root().join("statemachine/preview.asl.json")),
    )?;
    run(
        "ami/tests/run.sh",
        Command::new("bash").arg(root().join("ami/tests/run.sh")),
    )?;
    if root().join("cdk/package.json").exists() && has("npm") {
        run(
            "cdk tests",
            Command::new("npm")
                .args(["test", "--silent"])
                .current_dir(root().join("cdk")),
        )?;
    }
    eprintln!("==> all tests passed");
    Ok(())
}

/// The whole service on loopback: emulated AWS, the engine, the steps.
pub fn run_local(args: &[String]) -> Result<(), String> {
    setup::venv()?;
    let moto = Moto::start()?;
    let result = run(
        "the local service",
        cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "preview-statemachine",
                "--bin",
                "dspace-preview-local",
                "--",
                "--demo",
            ])
            .args(args)
            .env("AWS_ENDPOINT_URL", &moto.endpoint),
    );
    drop(moto);
    result
}

/// The benchmarks (figures printed, nothing asserted on time). The Lambda is measured as it
/// ships (release profile); the harness itself builds in the dev profile, which is much quicker.
pub fn bench(args: &[String]) -> Result<(), String> {
    setup::venv()?;
    run(
        "build the check-capacity Lambda (release)",
        cargo().args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "preview-tasks",
            "--bin",
            "check-capacity",
        ]),
    )?;
    let moto = Moto::start()?;
    run(
        "cargo bench",
        cargo()
            .args(["bench", "--profile", "dev", "-p", "preview-e2e"])
            .args(args)
            .env("PREVIEW_TEST_AWS_ENDPOINT", &moto.endpoint)
            .env("PREVIEW_VENV", root().join(".venv")),
    )
}
