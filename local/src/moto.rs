//! Starts and stops moto's server (from the project's virtualenv) on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::error::{LocalError, Result};

const LAUNCHER: &str = include_str!("moto_launcher.py");

/// A running moto server; killed on drop (and it exits by itself when its parent dies).
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

/// The project's virtualenv: `PREVIEW_VENV`, else `<workspace>/.venv`.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("PREVIEW_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv")))
}

impl Moto {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Result<Moto> {
        let python = venv_dir().join("bin/python");
        if !python.exists() {
            return Err(LocalError::Setup(format!(
                "{} not found: run `cargo xtask setup` (or `cargo xtask test`) to create the virtualenv with moto",
                python.display()
            )));
        }
        let port = free_port()?;
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(LAUNCHER)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                LocalError::Setup(format!(
                    "could not start moto with {}: {e}",
                    python.display()
                ))
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LocalError::Setup("moto has no stdout".into()))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| LocalError::Setup(format!("moto did not start: {e}")))?;
        if line.trim() != "ready" {
            let _ = child.kill();
            return Err(LocalError::Setup(format!(
                "moto did not start (said {line:?}); check `{} -c 'import moto.server'`",
                python.display()
            )));
        }
        Ok(Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The endpoint tests share: `PREVIEW_TEST_AWS_ENDPOINT` when the test command started moto,
    /// else one server per test process.
    pub fn shared_endpoint() -> Result<String> {
        if let Ok(endpoint) = std::env::var("PREVIEW_TEST_AWS_ENDPOINT") {
            return Ok(endpoint);
        }
        static SHARED: OnceLock<std::result::Result<Moto, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Moto::start().map_err(|e| e.to_string()))
            .as_ref()
            .map(|m| m.endpoint.clone())
            .map_err(|e| LocalError::Setup(e.clone()))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| LocalError::Setup(format!("no free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| LocalError::Setup(format!("no free port: {e}")))
}
