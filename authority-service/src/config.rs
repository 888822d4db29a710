//! `authority.toml`: the service's configuration. Relative paths are taken from the
//! directory of the configuration file.
//!
//! ```toml
//! version = 1
//!
//! [server]
//! listen = "127.0.0.1:8443"
//! tls_cert = "tls/server.pem"          # the service's certificate chain (PEM)
//! tls_key = "tls/server.key"           # its key (PEM, mode 0600)
//! client_ca = "tls/ca.pem"             # counters' client certificates must chain to this CA
//! client_crls = []                     # optional PEM CRLs of that CA: revoked counters are refused
//! max_body_bytes = 65536               # larger requests: 413 request_too_large
//! request_timeout_secs = 30            # one request, handshake to answer
//! session_timeout_secs = 120           # a write session not finished by then is expired (and audited)
//! sweep_interval_secs = 5              # how often an instance expires abandoned sessions
//!
//! [authority]
//! pki_dir = "pki"                      # test-cvca.cvcert, test-dv.cvcert, test-terminal.cvcert, test-issuer-root.cvcert
//! policy = "policy.toml"               # zairyu_authority_core::policy (counters, municipalities, rates)
//!
//! [signer]
//! kind = "key_file"                    # the terminal key: a PKCS#8 P-256 key file …
//! path = "pki/test-terminal.key.p8"
//! # … or a non-extractable key in a PKCS#11 token:
//! # kind = "pkcs11"
//! # module = "/usr/lib/softhsm/libsofthsm2.so"
//! # token = "zairyu-authority"
//! # key_label = "terminal"
//! # pin_file = "token.pin"             # or pin_env = "ZAIRYU_PKCS11_PIN"
//!
//! [database]
//! kind = "sqlite"                      # one file, WAL; instances on one host share it
//! path = "authority.sqlite3"
//! busy_timeout_ms = 5000               # how long a write waits for another writer's lock
//! # … or PostgreSQL, shared by instances on several hosts (same schema, same semantics):
//! # kind = "postgres"
//! # url = "postgresql://zairyu@db.example:5432/zairyu"   # no password in the URL; or:
//! # host = "127.0.0.1"                 # a name, an address, or a Unix-socket directory
//! # port = 5432
//! # dbname = "zairyu"
//! # user = "zairyu"
//! # password_file = "postgres.password" # optional, mode 0600; one line
//! # connect_timeout_ms = 5000
//! # lock_timeout_ms = 5000             # how long a write waits for a row or the audit lock
//! # pool_size = 4                      # connections per instance (1 .. 64)
//!
//! [secrets]
//! deployment_key = "deployment.key"    # 32 random bytes (hex), mode 0600: encrypts session state
//!                                      # and keys the card-number hash of the audit log
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The configuration format version.
pub const CONFIG_VERSION: u32 = 1;

/// Why the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not TOML of this form.
    #[error("configuration: {0}")]
    Syntax(String),
    /// Another version.
    #[error("configuration version {0} is not supported (expected 1)")]
    Version(u32),
    /// A value is out of range.
    #[error("configuration: {0}")]
    Value(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    server: ServerFile,
    authority: AuthorityFile,
    signer: SignerFile,
    database: DatabaseFile,
    secrets: SecretsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    listen: String,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    client_ca: PathBuf,
    #[serde(default)]
    client_crls: Vec<PathBuf>,
    #[serde(default = "default_body")]
    max_body_bytes: usize,
    #[serde(default = "default_request_timeout")]
    request_timeout_secs: u64,
    #[serde(default = "default_session_timeout")]
    session_timeout_secs: u64,
    #[serde(default = "default_sweep")]
    sweep_interval_secs: u64,
}

fn default_body() -> usize {
    64 * 1024
}
fn default_request_timeout() -> u64 {
    30
}
fn default_session_timeout() -> u64 {
    120
}
fn default_sweep() -> u64 {
    5
}
fn default_busy() -> u64 {
    5000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityFile {
    pki_dir: PathBuf,
    policy: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum SignerFile {
    KeyFile {
        path: PathBuf,
    },
    Pkcs11 {
        module: PathBuf,
        token: String,
        key_label: String,
        #[serde(default)]
        pin_file: Option<PathBuf>,
        #[serde(default)]
        pin_env: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum DatabaseFile {
    Sqlite {
        path: PathBuf,
        #[serde(default = "default_busy")]
        busy_timeout_ms: u64,
    },
    Postgres {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        host: Option<String>,
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        dbname: Option<String>,
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        password_file: Option<PathBuf>,
        #[serde(default = "default_busy")]
        connect_timeout_ms: u64,
        #[serde(default = "default_busy")]
        lock_timeout_ms: u64,
        #[serde(default = "default_pool")]
        pool_size: usize,
    },
}

fn default_pool() -> usize {
    4
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    deployment_key: PathBuf,
}

/// Where the terminal key is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerConfig {
    /// A PKCS#8 P-256 key file.
    KeyFile(PathBuf),
    /// A key in a PKCS#11 token.
    Pkcs11(zairyu_authority_core::pkcs11::Pkcs11Key),
}

/// The database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseConfig {
    /// An SQLite file (WAL).
    Sqlite {
        /// The file.
        path: PathBuf,
        /// How long a statement waits for another writer's lock (ms).
        busy_timeout_ms: u64,
    },
    /// A PostgreSQL database.
    Postgres(PostgresConfig),
}

/// Where the PostgreSQL database is and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// A host name, an IP address, or (starting with `/`) a Unix-socket directory.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The database.
    pub dbname: String,
    /// The role.
    pub user: String,
    /// A file whose first line is the password (none: trust or peer authentication).
    pub password_file: Option<PathBuf>,
    /// How long connecting may take (ms).
    pub connect_timeout_ms: u64,
    /// How long a statement waits for a lock (a session row, the audit log's append
    /// lock) before the request fails as `store_unavailable` (ms).
    pub lock_timeout_ms: u64,
    /// Connections an instance keeps (each serves one request at a time).
    pub pool_size: usize,
}

/// The PostgreSQL settings of `[database]`: a URL or the separate keys, not both.
#[allow(clippy::too_many_arguments)]
fn postgres_config(
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    dbname: Option<String>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    connect_timeout_ms: u64,
    lock_timeout_ms: u64,
    pool_size: usize,
) -> Result<PostgresConfig, ConfigError> {
    let v = |m: &str| ConfigError::Value(format!("database: {m}"));
    let (host, port, dbname, user) = match url {
        Some(url) => {
            if host.is_some() || port.is_some() || dbname.is_some() || user.is_some() {
                return Err(v("give either url or host/port/dbname/user, not both"));
            }
            let c: postgres::Config = url.parse().map_err(|_| v("url is not a postgresql:// URL"))?;
            if c.get_password().is_some() {
                return Err(v("no password in the URL: put it in password_file"));
            }
            let host = match c.get_hosts() {
                [postgres::config::Host::Tcp(h)] => h.clone(),
                #[cfg(unix)]
                [postgres::config::Host::Unix(p)] => p.to_string_lossy().into_owned(),
                _ => return Err(v("the URL must name exactly one host")),
            };
            let port = match c.get_ports() {
                [] => 5432,
                [p] => *p,
                _ => return Err(v("the URL must name at most one port")),
            };
            let dbname = c.get_dbname().ok_or_else(|| v("the URL names no database"))?.to_owned();
            let user = c.get_user().ok_or_else(|| v("the URL names no user"))?.to_owned();
            (host, port, dbname, user)
        }
        None => (
            host.ok_or_else(|| v("give url, or host, dbname and user"))?,
            port.unwrap_or(5432),
            dbname.ok_or_else(|| v("dbname is missing"))?,
            user.ok_or_else(|| v("user is missing"))?,
        ),
    };
    if host.is_empty() || dbname.is_empty() || user.is_empty() || port == 0 {
        return Err(v("host, port, dbname and user must not be empty"));
    }
    for (name, ms) in [("connect_timeout_ms", connect_timeout_ms), ("lock_timeout_ms", lock_timeout_ms)] {
        if !(1..=600_000).contains(&ms) {
            return Err(v(&format!("{name} must be 1 .. 600000")));
        }
    }
    if !(1..=64).contains(&pool_size) {
        return Err(v("pool_size must be 1 .. 64"));
    }
    Ok(PostgresConfig { host, port, dbname, user, password_file, connect_timeout_ms, lock_timeout_ms, pool_size })
}

/// The configuration, paths resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The service's certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// The service's private key (PEM).
    pub tls_key: PathBuf,
    /// The CA of counter certificates (PEM).
    pub client_ca: PathBuf,
    /// CRLs of that CA (PEM).
    pub client_crls: Vec<PathBuf>,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// One request's time limit (s).
    pub request_timeout_secs: u64,
    /// A session's time limit (s).
    pub session_timeout_secs: u64,
    /// How often abandoned sessions are expired (s).
    pub sweep_interval_secs: u64,
    /// The write PKI directory.
    pub pki_dir: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
    /// The terminal key.
    pub signer: SignerConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// The deployment key file.
    pub deployment_key: PathBuf,
}

impl Config {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base)
    }

    /// Parses a configuration whose relative paths are under `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let f: File = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        if f.version != CONFIG_VERSION {
            return Err(ConfigError::Version(f.version));
        }
        let at = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let s = f.server;
        let listen =
            s.listen.parse().map_err(|_| ConfigError::Value(format!("server.listen {:?} is not IP:PORT", s.listen)))?;
        if !(256..=16 * 1024 * 1024).contains(&s.max_body_bytes) {
            return Err(ConfigError::Value("server.max_body_bytes must be 256 .. 16 MiB".into()));
        }
        for (name, v) in [
            ("request_timeout_secs", s.request_timeout_secs),
            ("session_timeout_secs", s.session_timeout_secs),
            ("sweep_interval_secs", s.sweep_interval_secs),
        ] {
            if !(1..=86_400).contains(&v) {
                return Err(ConfigError::Value(format!("server.{name} must be 1 .. 86400")));
            }
        }
        Ok(Config {
            listen,
            tls_cert: at(&s.tls_cert),
            tls_key: at(&s.tls_key),
            client_ca: at(&s.client_ca),
            client_crls: s.client_crls.iter().map(|p| at(p)).collect(),
            max_body_bytes: s.max_body_bytes,
            request_timeout_secs: s.request_timeout_secs,
            session_timeout_secs: s.session_timeout_secs,
            sweep_interval_secs: s.sweep_interval_secs,
            pki_dir: at(&f.authority.pki_dir),
            policy: at(&f.authority.policy),
            signer: match f.signer {
                SignerFile::KeyFile { path } => SignerConfig::KeyFile(at(&path)),
                SignerFile::Pkcs11 { module, token, key_label, pin_file, pin_env } => {
                    use zairyu_authority_core::pkcs11::{PinSource, Pkcs11Key};
                    let pin = match (pin_file, pin_env) {
                        (Some(f), None) => PinSource::File(at(&f)),
                        (None, Some(v)) => PinSource::Env(v),
                        _ => return Err(ConfigError::Value("signer: give exactly one of pin_file and pin_env".into())),
                    };
                    SignerConfig::Pkcs11(Pkcs11Key { module, token, key_label, pin })
                }
            },
            database: match f.database {
                DatabaseFile::Sqlite { path, busy_timeout_ms } => {
                    DatabaseConfig::Sqlite { path: at(&path), busy_timeout_ms }
                }
                DatabaseFile::Postgres {
                    url,
                    host,
                    port,
                    dbname,
                    user,
                    password_file,
                    connect_timeout_ms,
                    lock_timeout_ms,
                    pool_size,
                } => DatabaseConfig::Postgres(postgres_config(
                    url,
                    host,
                    port,
                    dbname,
                    user,
                    password_file.map(|p| at(&p)),
                    connect_timeout_ms,
                    lock_timeout_ms,
                    pool_size,
                )?),
            },
            deployment_key: at(&f.secrets.deployment_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"
version = 1
[server]
listen = "127.0.0.1:0"
tls_cert = "tls/server.pem"
tls_key = "tls/server.key"
client_ca = "tls/ca.pem"
[authority]
pki_dir = "pki"
policy = "policy.toml"
[signer]
kind = "key_file"
path = "pki/test-terminal.key.p8"
[database]
kind = "sqlite"
path = "authority.sqlite3"
[secrets]
deployment_key = "deployment.key"
"#;

    #[test]
    fn paths_are_relative_to_the_file_and_defaults_apply() {
        let c = Config::parse(SAMPLE, Path::new("/etc/za")).unwrap();
        assert_eq!(c.tls_cert, Path::new("/etc/za/tls/server.pem"));
        assert_eq!(c.signer, SignerConfig::KeyFile("/etc/za/pki/test-terminal.key.p8".into()));
        assert_eq!(
            c.database,
            DatabaseConfig::Sqlite { path: "/etc/za/authority.sqlite3".into(), busy_timeout_ms: 5000 }
        );
        assert_eq!((c.max_body_bytes, c.session_timeout_secs), (65536, 120));
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let base = Path::new("/");
        assert!(matches!(
            Config::parse(&SAMPLE.replace("version = 1", "version = 2"), base),
            Err(ConfigError::Version(2))
        ));
        assert!(matches!(Config::parse(&format!("{SAMPLE}\nextra = 1"), base), Err(ConfigError::Syntax(_))));
        let bad = SAMPLE.replace("listen = \"127.0.0.1:0\"", "listen = \"localhost\"");
        assert!(matches!(Config::parse(&bad, base), Err(ConfigError::Value(_))));
        let bad = SAMPLE.replace("kind = \"sqlite\"", "kind = \"mysql\"");
        assert!(matches!(Config::parse(&bad, base), Err(ConfigError::Syntax(_))));
        let hsm = "kind = \"pkcs11\"\nmodule = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"";
        let with = |pins: &str| {
            Config::parse(
                &SAMPLE.replace("kind = \"key_file\"\npath = \"pki/test-terminal.key.p8\"", &format!("{hsm}\n{pins}")),
                base,
            )
        };
        assert!(matches!(with("pin_env = \"P\"").unwrap().signer, SignerConfig::Pkcs11(_)));
        assert!(matches!(with(""), Err(ConfigError::Value(_))));
        assert!(matches!(with("pin_env = \"P\"\npin_file = \"f\""), Err(ConfigError::Value(_))));
    }

    #[test]
    fn postgres_by_url_or_by_keys() {
        let db = |section: &str| {
            Config::parse(
                &SAMPLE.replace("kind = \"sqlite\"\npath = \"authority.sqlite3\"", section),
                Path::new("/etc/za"),
            )
        };
        let want = PostgresConfig {
            host: "db.example".into(),
            port: 5433,
            dbname: "za".into(),
            user: "authority".into(),
            password_file: Some("/etc/za/pg.pw".into()),
            connect_timeout_ms: 5000,
            lock_timeout_ms: 250,
            pool_size: 4,
        };
        let by_url = db("kind = \"postgres\"\nurl = \"postgresql://authority@db.example:5433/za\"\n\
                         password_file = \"pg.pw\"\nlock_timeout_ms = 250")
        .unwrap();
        assert_eq!(by_url.database, DatabaseConfig::Postgres(want.clone()));
        let by_keys = db("kind = \"postgres\"\nhost = \"db.example\"\nport = 5433\ndbname = \"za\"\n\
                          user = \"authority\"\npassword_file = \"pg.pw\"\nlock_timeout_ms = 250")
        .unwrap();
        assert_eq!(by_keys.database, DatabaseConfig::Postgres(want));
        // A password in the URL, both forms at once, a missing database, a zero time-out: refused.
        for bad in [
            "kind = \"postgres\"\nurl = \"postgresql://a:secret@h/d\"",
            "kind = \"postgres\"\nurl = \"postgresql://a@h/d\"\nhost = \"h\"",
            "kind = \"postgres\"\nhost = \"h\"\nuser = \"a\"",
            "kind = \"postgres\"\nurl = \"postgresql://a@h/d\"\nlock_timeout_ms = 0",
            "kind = \"postgres\"\nurl = \"mysql://a@h/d\"",
            "kind = \"postgres\"\nurl = \"postgresql://a@h/d\"\npool_size = 0",
        ] {
            assert!(matches!(db(bad), Err(ConfigError::Value(_))), "{bad}");
        }
    }
}
