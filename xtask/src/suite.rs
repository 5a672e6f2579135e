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
            .arg(root().join("local/src/moto_launcher.py"))
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
    crate::unused_deps::check()?;
    crate::crate_lines::check()?;
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
    eprintln!(
        "==> browser screenshots (test artifacts): {}",
        root().join("web/tests/artifacts/browser").display()
    );
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

/// The whole service on loopback: emulated AWS, the engine with the real steps, the web page.
/// Arguments go to the local service (`--demo` also takes one preview through its life).
pub fn run_local(args: &[String]) -> Result<(), String> {
    setup::venv()?;
    run(
        "build the local service and the web app",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "preview-local",
            "-p",
            "preview-web",
            "--bins",
        ]),
    )?;
    let moto = Moto::start()?;
    let bin = |name: &str| target_dir().join("debug").join(name);
    let mut service = Command::new(bin("dspace-preview-local"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .current_dir(root())
        .spawn()
        .map_err(|e| format!("could not start the local service: {e}"))?;
    let engine = "127.0.0.1:8083";
    let up = (0..600).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(engine).is_ok()
    });
    if !up {
        let _ = service.kill();
        return Err(format!("the local service did not listen on {engine}"));
    }
    // GitHub is not needed: the PR picker reads recorded responses served on loopback.
    let github = "127.0.0.1:8084";
    let mut replay = match Command::new(bin("dspace-preview-github-replay"))
        .env("PREVIEW_GITHUB_REPLAY_ADDR", github)
        .env(
            "PREVIEW_GITHUB_REPLAY_FIXTURES",
            root().join("web/fixtures/github"),
        )
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let _ = service.kill();
            return Err(format!("could not start the recorded GitHub API: {e}"));
        }
    };
    let code = std::env::var("PREVIEW_ACCESS_CODE").unwrap_or_else(|_| "dspace".into());
    let given = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let github_mode = given("PREVIEW_AUTH_MODE").as_deref() == Some("github")
        || given("PREVIEW_GITHUB_CLIENT_ID").is_some();
    if github_mode {
        eprintln!("==> open http://127.0.0.1:8080 and sign in with GitHub: the recorded GitHub on {github} lets you sign in as any login (Ctrl-C stops everything)");
    } else {
        eprintln!("==> open http://127.0.0.1:8080 and sign in with the access code '{code}' (Ctrl-C stops everything)");
    }
    if given("PREVIEW_GITHUB_WEBHOOK_SECRET").is_some() {
        let users = given("PREVIEW_GITHUB_ALLOWED_USERS").unwrap_or_else(|| "(none listed)".into());
        eprintln!("==> GitHub webhook: http://127.0.0.1:8080/github/webhook (signed with PREVIEW_GITHUB_WEBHOOK_SECRET; allowed users: {users})");
    }
    let mut web = Command::new(bin("dspace-preview-web"));
    // Signing in with GitHub locally goes to the recorded GitHub, as its OAuth app, unless the
    // environment names another.
    if github_mode {
        for (key, value) in [
            ("PREVIEW_AUTH_MODE", "github".to_string()),
            ("PREVIEW_GITHUB_CLIENT_ID", "Iv1.replay-client".into()),
            (
                "PREVIEW_GITHUB_CLIENT_SECRET",
                "replay-client-secret".into(),
            ),
            ("PREVIEW_GITHUB_WEB", format!("http://{github}")),
        ] {
            if given(key).is_none() {
                web.env(key, value);
            }
        }
    }
    // As in AWS, the domain dials are the steps' alone: the web app shows the URLs they record
    // (and PREVIEW_DOMAIN_NAME without a zone id, which the local service makes, is no config).
    let web = web
        .env_remove("PREVIEW_DOMAIN_NAME")
        .env_remove("PREVIEW_HOSTED_ZONE_ID")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ENDPOINT_URL_SFN", format!("http://{engine}"))
        // Emulated AWS takes any credentials; these are not secrets.
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("PREVIEW_STACK", "local")
        .env(
            "PREVIEW_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:000000000000:stateMachine:dspace-preview",
        )
        .env("PREVIEW_LINK_KEY", random_key()?)
        .env("PREVIEW_ACCESS_CODE", &code)
        .env("PREVIEW_GITHUB_API", format!("http://{github}"))
        .current_dir(root())
        .status();
    for child in [&mut replay, &mut service] {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(moto);
    web.map(|_| ())
        .map_err(|e| format!("could not start the web app: {e}"))
}

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| root().join("target"))
}

/// A fresh signing key per run, so no key is ever written down.
fn random_key() -> Result<String, String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("no randomness for the link key: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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
        "cargo bench (steps and workflow)",
        cargo()
            .args(["bench", "--profile", "dev", "-p", "preview-e2e"])
            .args(args)
            .env("PREVIEW_TEST_AWS_ENDPOINT", &moto.endpoint)
            .env("PREVIEW_VENV", root().join(".venv")),
    )?;
    // Restart time and memory of the engine's store with 10k and 100k closed executions.
    run(
        "cargo bench (the engine's store at 10k and 100k executions)",
        cargo().args([
            "bench",
            "--profile",
            "dev",
            "-p",
            "preview-statemachine",
            "--bench",
            "store_restart",
        ]),
    )?;
    // The boot's orchestration on a compressed clock (modeled minutes to a usable preview).
    run(
        "ami/bench/time-to-url (time to a usable preview, modeled)",
        Command::new("bash").arg(root().join("ami/bench/time-to-url")),
    )?;
    // Timed in the dev profile like the harness (a release build only makes the page faster).
    run(
        "cargo bench (the live-previews page)",
        cargo()
            .args([
                "bench",
                "--profile",
                "dev",
                "-p",
                "preview-web",
                "--bench",
                "live_page",
            ])
            .args(args)
            .env("PREVIEW_TEST_AWS_ENDPOINT", &moto.endpoint)
            .env("PREVIEW_VENV", root().join(".venv")),
    )
}
