//! A private PostgreSQL cluster for one test (or the load test): Debian's
//! `postgresql` binaries (`/usr/lib/postgresql/*/bin`, or `ZAIRYU_PG_BIN`), a data
//! directory under `target/`, 127.0.0.1 on a free port, no Unix socket, a
//! superuser `zairyu` with a random SCRAM password in a file. Never the system
//! cluster.
//!
//! `initdb` runs once per PostgreSQL version into a template that later clusters
//! copy (a copy and a start take ~0.3 s). As root, every PostgreSQL program runs as
//! the unprivileged user `postgres` (`runuser`), since PostgreSQL refuses to run
//! as root. [`Cluster`]'s `Drop` stops the server (`pg_ctl stop -m immediate`) and
//! removes its directory, on success and on panic alike; a cluster left behind by a
//! killed test process (its owner pid gone) is stopped by the next [`Cluster::start`].
//!
//! PostgreSQL missing is a failure with the fix in the message, never a skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Where clusters live: `target/tmp/zairyu-pg` (`CARGO_TARGET_TMPDIR`; the
/// example's own target otherwise). As root, the `postgres` user must reach it; a
/// checkout under a private directory (mode 0700 `/root`) cannot give it that, and
/// then the clusters go to the system's temporary directory instead (said on
/// standard error).
fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = match option_env!("CARGO_TARGET_TMPDIR") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp"),
        };
        let dir = base.join("zairyu-pg");
        std::fs::create_dir_all(&dir).unwrap();
        if !is_root() {
            return dir;
        }
        let mut probe = Command::new("runuser");
        probe.args(["-u", "postgres", "--", "test", "-x"]).arg(&dir);
        if run(probe, "probe").is_ok() {
            return dir;
        }
        let fallback = std::env::temp_dir().join("zairyu-pg");
        eprintln!(
            "note: user postgres cannot reach {}; PostgreSQL test clusters go to {}",
            dir.display(),
            fallback.display()
        );
        std::fs::create_dir_all(&fallback).unwrap();
        fallback
    })
    .clone()
}

/// The directory of `initdb`, `pg_ctl` and `postgres`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZAIRYU_PG_BIN") {
        return PathBuf::from(d);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup \
             (Debian package postgresql), or set ZAIRYU_PG_BIN"
        ),
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// A command of PostgreSQL's, as `postgres` when we are root.
fn pg_command(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Hands `path` to the `postgres` user (as root).
fn give(path: &Path) {
    if is_root() {
        let mut c = Command::new("chown");
        c.args(["-R", "postgres:postgres"]).arg(path);
        run(c, "chown").unwrap();
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// The template data directory (initdb'd once per version) and its password.
fn template() -> &'static (PathBuf, String) {
    static T: OnceLock<(PathBuf, String)> = OnceLock::new();
    T.get_or_init(|| {
        let bin = bin_dir();
        let name =
            format!("template-{}", bin.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("x"));
        let dir = root().join(&name);
        let ready = dir.join("ready");
        if !ready.exists() {
            let tmp = root().join(format!("{name}.{}.{}", std::process::id(), random_hex(4)));
            std::fs::create_dir_all(&tmp).unwrap();
            let password = random_hex(16);
            std::fs::write(tmp.join("password"), &password).unwrap();
            give(&tmp);
            let mut c = pg_command(&bin, "initdb");
            c.arg("-D").arg(tmp.join("data")).args([
                "-U",
                "zairyu",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]);
            c.arg(format!("--pwfile={}", tmp.join("password").display()));
            run(c, "initdb").unwrap();
            std::fs::write(tmp.join("ready"), b"").unwrap();
            // Another process may have made it meanwhile: then use that one.
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        let password = std::fs::read_to_string(dir.join("password")).unwrap();
        (dir, password)
    })
}

/// Stops clusters whose test process is gone (killed before its guard ran).
fn reap_orphans(bin: &Path) {
    let Ok(entries) = std::fs::read_dir(root()) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let Some(owner) = std::fs::read_to_string(p.join("owner")).ok() else { continue };
        let alive = owner.trim().parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            if p.join("data/postmaster.pid").exists() {
                let mut c = pg_command(bin, "pg_ctl");
                c.arg("-D").arg(p.join("data")).args(["-m", "immediate", "-w", "-s", "stop"]);
                let _ = run(c, "pg_ctl stop (orphan)");
            }
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running private cluster; stopped and removed on drop.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    pub password: String,
    bin: PathBuf,
    durable: bool,
    running: bool,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// A fresh cluster for tests: `fsync` off (the tests stop it with
    /// `pg_ctl stop -m fast`, never by pulling the plug).
    pub fn start() -> Cluster {
        Self::start_with(false)
    }

    /// A fresh cluster; `durable` keeps PostgreSQL's `fsync` and
    /// `synchronous_commit` on (the load test).
    pub fn start_with(durable: bool) -> Cluster {
        let bin = bin_dir();
        let (template, password) = template();
        reap_orphans(&bin);
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let dir = root().join(format!("run-{}-{n}-{}", std::process::id(), random_hex(3)));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("owner"), std::process::id().to_string()).unwrap();
        let mut c = Command::new("cp");
        c.arg("-a").arg(template.join("data")).arg(dir.join("data"));
        run(c, "copy the template cluster").unwrap();
        give(&dir);
        let mut cluster = Cluster { dir, port: 0, password: password.clone(), bin, durable, running: false };
        // A free port can be taken between our probe and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    cluster.running = true;
                    return cluster;
                }
                Err(e) => last = e,
            }
        }
        panic!("could not start PostgreSQL: {last}");
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=60 \
             -c shared_buffers=32MB -c logging_collector=off",
            self.port
        );
        if !self.durable {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "30", "-s", "-o", &opts, "start"]);
        run(c, "pg_ctl start")
    }

    /// Stops the server (`fast`: sessions are cut, as when the database goes away).
    pub fn stop(&mut self) {
        if self.running {
            let mut c = pg_command(&self.bin, "pg_ctl");
            c.arg("-D").arg(self.dir.join("data")).args(["-m", "fast", "-w", "-s", "stop"]);
            run(c, "pg_ctl stop").unwrap();
            self.running = false;
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        if !self.running {
            self.pg_ctl_start().unwrap();
            self.running = true;
        }
    }

    /// The password file (root's or the caller's, mode 0600).
    pub fn password_file(&self) -> PathBuf {
        let p = self.dir.join("client.password");
        if !p.exists() {
            std::fs::write(&p, format!("{}\n", self.password)).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        p
    }

    /// A client of database `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("zairyu")
            .password(&self.password)
            .dbname(db)
            .connect_timeout(Duration::from_secs(5))
            .connect(postgres::NoTls)
            .unwrap()
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) {
        self.client("postgres").batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
    }

    /// The `[database]` section of `authority.toml` for database `db`.
    pub fn database_toml(&self, db: &str, lock_timeout_ms: u64) -> String {
        format!(
            "[database]\nkind = \"postgres\"\nurl = \"postgresql://zairyu@127.0.0.1:{}/{db}\"\n\
             password_file = \"{}\"\nconnect_timeout_ms = 2000\nlock_timeout_ms = {lock_timeout_ms}\n",
            self.port,
            self.password_file().display()
        )
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let mut c = pg_command(&self.bin, "pg_ctl");
            c.arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "-w", "-s", "stop"]);
            if let Err(e) = run(c, "pg_ctl stop") {
                eprintln!("{e}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
