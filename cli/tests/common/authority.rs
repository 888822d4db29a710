//! A real `zairyu-authority` service for the CLI's tests: `init --out DIR` with a
//! loopback listener on a port the kernel picks, and `serve --config
//! DIR/authority.toml` as a child process (killed on drop, also when a test fails).
//!
//! The binary belongs to another package (`zairyu-authority`), so there is no
//! `CARGO_BIN_EXE_` for it. It is found as `ZAIRYU_AUTHORITY_BIN`, or else next to
//! this package's `zairyu` binary (`target/<profile>/zairyu-authority`), where `cargo
//! test --workspace` (and `cargo build -p zairyu-authority`) put it; scripts/test-all
//! runs the pcscd tests after `cargo test --workspace`. A missing binary fails the
//! test with the command that builds it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `zairyu-authority` binary.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ZAIRYU_AUTHORITY_BIN") {
        return PathBuf::from(p);
    }
    let zairyu = Path::new(env!("CARGO_BIN_EXE_zairyu"));
    let sibling = zairyu.with_file_name(format!("zairyu-authority{}", std::env::consts::EXE_SUFFIX));
    assert!(
        sibling.is_file(),
        "{} not found: build it with `cargo build -p zairyu-authority` (same profile as these tests; \
         `cargo test --workspace` does), or set ZAIRYU_AUTHORITY_BIN",
        sibling.display()
    );
    sibling
}

/// Runs `zairyu-authority ARGS`: exit code, stdout, stderr.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary()).args(args).stdin(Stdio::null()).output().expect("zairyu-authority runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A test deployment of `zairyu-authority init` in a fresh directory, removed on drop.
pub struct Deployment(pub PathBuf);

impl Deployment {
    /// `init --out DIR --listen 127.0.0.1:0` with client certificates for `counters`.
    pub fn init(name: &str, counters: &[&str]) -> Deployment {
        let dir = std::env::temp_dir().join(format!("zairyu-cli-authority-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut args = vec!["init", "--out", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"];
        for c in counters {
            args.extend(["--counter", c]);
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "zairyu-authority init: {out}{err}");
        Deployment(dir)
    }

    /// Replaces `policy.toml` (before [`Deployment::serve`]: the service reads it at
    /// start-up).
    pub fn set_policy(&self, toml: &str) {
        std::fs::write(self.0.join("policy.toml"), toml).unwrap();
    }

    /// The deployment's write PKI directory (for `sim serve --write-pki`).
    pub fn pki(&self) -> String {
        self.0.join("pki").to_str().unwrap().to_owned()
    }

    /// `authority.toml`.
    pub fn config(&self) -> String {
        self.0.join("authority.toml").to_str().unwrap().to_owned()
    }

    /// `--client-cert F --client-key F --authority-ca F` of `counter`.
    pub fn client_args(&self, counter: &str) -> Vec<String> {
        let tls = self.0.join("tls");
        let p = |f: String| tls.join(f).to_str().unwrap().to_owned();
        vec![
            "--client-cert".into(),
            p(format!("{counter}.pem")),
            "--client-key".into(),
            p(format!("{counter}.key")),
            "--authority-ca".into(),
            p("ca.pem".into()),
        ]
    }

    /// `serve --config DIR/authority.toml`, returned once it listens.
    pub fn serve(&self) -> Service {
        let mut child = Command::new(binary())
            .args(["serve", "--config", &self.config()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zairyu-authority serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut service = Service { child, url: String::new() };
        let (tx, rx) = mpsc::channel();
        // Keeps reading (the service logs every request), so that it never blocks on a
        // full pipe; the first "listening on URL" line is the URL.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("zairyu-authority serve never said where it listens");
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        service.url = url;
        service
    }

    /// `audit verify --config DIR/authority.toml [--head SEQ:HASH]`: exit code and output.
    pub fn audit_verify(&self, head: Option<&str>) -> (i32, String) {
        let config = self.config();
        let mut args = vec!["audit", "verify", "--config", &config];
        if let Some(h) = head {
            args.extend(["--head", h]);
        }
        let (code, out, err) = run(&args);
        (code, format!("{out}{err}"))
    }

    /// `audit export`: the records as JSON.
    pub fn audit_export(&self) -> Vec<serde_json::Value> {
        let (code, out, err) = run(&["audit", "export", "--config", &self.config()]);
        assert_eq!(code, 0, "{err}");
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `zairyu-authority serve`, killed on drop.
pub struct Service {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback URL where nothing listens (a port the kernel gave and took back).
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("https://127.0.0.1:{port}")
}
