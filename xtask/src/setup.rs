//! Installs what the commands need: idempotent, quick when everything is there.

use std::process::Command;

use crate::shell::{has, root, run};

/// moto's version, pinned: its behaviour (and its gaps) is what the tests expect.
const MOTO: &str = "moto[server]==5.2.5";
/// Debian packages the tests use (program, package): the real tools wherever they run offline.
const APT: [(&str, &str); 10] = [
    ("shellcheck", "shellcheck"),
    ("packer", "packer"),
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    ("jq", "jq"),
    // A throwaway sshd on loopback is the "instance" of the real `packer build` test.
    ("sshd", "openssh-server"),
    // The AMI-id publisher's client, against moto.
    ("aws", "awscli"),
    ("unshare", "util-linux"),
    // The HTTPS mode's TLS proxy and Let's Encrypt's test ACME server (ami/tests/https_proxy.sh).
    ("caddy", "caddy"),
    ("pebble", "pebble"),
];

/// Everything.
pub fn all() -> Result<(), String> {
    venv()?;
    apt()?;
    compose()?;
    npm()
}

/// Docker Compose v2's renderer in `.tools/bin/docker-compose` (the compose-model tests run it).
pub fn compose() -> Result<(), String> {
    let bin = root().join(".tools/bin/docker-compose");
    let ready = Command::new(&bin)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(" 2."));
    if ready {
        return Ok(());
    }
    run(
        "install Docker Compose v2 (Debian's package) into .tools/",
        Command::new("bash")
            .arg(root().join("xtask/scripts/install-compose.sh"))
            .arg(root().join(".tools")),
    )
}

/// The project-local virtualenv with moto's server.
pub fn venv() -> Result<(), String> {
    let venv = root().join(".venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, moto.server; assert m.version('moto') == '5.2.5'",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if ready {
        return Ok(());
    }
    run(
        "create the virtualenv .venv",
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
    )?;
    run(
        "install moto's server into .venv",
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
        ]),
    )
}

/// Debian packages: shellcheck, packer, Chromium and its driver.
pub fn apt() -> Result<(), String> {
    let missing: Vec<&str> = APT
        .iter()
        .filter(|(bin, _)| !has(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo = if is_root() { vec![] } else { vec!["sudo"] };
    let apt_get = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.clone();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run("apt-get update", &mut apt_get(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    run(
        &format!("install {}", missing.join(" ")),
        &mut apt_get(&args),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// npm packages of the test tools (asl-validator, the browser driver, the CDK app).
pub fn npm() -> Result<(), String> {
    for dir in ["tests", "cdk"] {
        let path = root().join(dir);
        if !path.join("package.json").exists() {
            continue;
        }
        if path.join("node_modules/.package-lock.json").exists() {
            continue;
        }
        run(
            &format!("npm ci in {dir}/"),
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&path),
        )?;
    }
    Ok(())
}
