//! `zairyu-authority init --out DIR`: a working **test** deployment in one directory.
//!
//! | file | what |
//! |---|---|
//! | `authority.toml` | the configuration ([`crate::config`]), listening on 127.0.0.1:8443 |
//! | `tls/ca.pem`, `tls/ca.key` | the test TLS CA (ECDSA P-256): it signs the service's certificate and the counters' |
//! | `tls/server.pem`, `tls/server.key` | the service's certificate (`localhost`, `127.0.0.1`, `::1`; serverAuth) |
//! | `tls/COUNTER.pem`, `tls/COUNTER.key` | one client certificate per counter (CN = the counter identity; clientAuth) |
//! | `pki/` | the test write PKI (`zairyu_sim::write_pki::WritePki::generate`): CVCA, DV, terminal and its key, issuer root, document signer |
//! | `policy.toml` | each counter may write for every municipality, 60 sessions a minute |
//! | `deployment.key` | 32 random bytes (hex): session-state encryption and the audit log's card-number key |
//!
//! Keys are written with mode 0600. Existing files are never overwritten. Every
//! certificate says TEST; none of it is for a real card.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::store::now;

/// Why `init` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InitError(pub String);

fn e<E: core::fmt::Display>(x: E) -> InitError {
    InitError(x.to_string())
}

/// Unix seconds as a certificate time.
pub fn at(unix: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(0)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A PEM certificate and its PEM key.
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The key (PKCS#8), wiped on drop.
    pub key_pem: Zeroizing<String>,
}

impl core::fmt::Debug for Issued {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Issued(<certificate>, <redacted key>)")
    }
}

/// A test TLS CA.
pub struct TlsCa {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate.
    pub cert_pem: String,
}

impl core::fmt::Debug for TlsCa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TlsCa(<redacted>)")
    }
}

impl TlsCa {
    /// A new CA named `name`, valid from yesterday for ten years.
    pub fn new(name: &str) -> Result<Self, InitError> {
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name.push(DnType::OrganizationName, "zairyu TEST authority");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        p.not_before = at(now().saturating_sub(86_400));
        p.not_after = at(now() + 10 * 365 * 86_400);
        let cert = p.self_signed(&key).map_err(e)?;
        Ok(TlsCa { cert_pem: cert.pem(), issuer: Issuer::new(p, key) })
    }

    /// A CA from its certificate and key PEM: the key signs, the name comes from the
    /// certificate's subject as rcgen re-encodes it (tests: issue expired or extra
    /// counter certificates under the deployment's CA).
    pub fn load_for_tests(cert_pem: &str, key_pem: &str) -> Result<Self, InitError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        use x509_cert::der::Decode;
        let key = KeyPair::from_pem(key_pem).map_err(e)?;
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(e)?;
        let cert = x509_cert::Certificate::from_der(der.as_ref()).map_err(e)?;
        let cn = cert
            .tbs_certificate()
            .subject()
            .common_name()
            .map_err(e)?
            .ok_or_else(|| InitError("CA without CN".into()))?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        p.distinguished_name.push(DnType::CommonName, cn.value().into_owned());
        p.distinguished_name.push(DnType::OrganizationName, "zairyu TEST authority");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        Ok(TlsCa { issuer: Issuer::new(p, key), cert_pem: cert_pem.to_owned() })
    }

    /// The CA's key (PEM).
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.issuer.key().serialize_pem())
    }

    /// The service's certificate for `names` (DNS names or IP addresses), valid
    /// from yesterday for two years.
    pub fn server(&self, names: &[&str]) -> Result<Issued, InitError> {
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        p.distinguished_name.push(DnType::CommonName, "zairyu-authority TEST");
        for n in names {
            p.subject_alt_names.push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into().map_err(e)?),
            });
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = at(now().saturating_sub(86_400));
        p.not_after = at(now() + 2 * 365 * 86_400);
        let cert = p.signed_by(&key, &self.issuer).map_err(e)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: Zeroizing::new(key.serialize_pem()) })
    }

    /// A counter's client certificate: common name `counter`, valid from
    /// `not_before` to `not_after` (Unix seconds).
    pub fn counter(&self, counter: &str, not_before: u64, not_after: u64) -> Result<Issued, InitError> {
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        p.distinguished_name.push(DnType::CommonName, counter);
        p.distinguished_name.push(DnType::OrganizationName, "zairyu TEST counter");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = at(not_before);
        p.not_after = at(not_after);
        let cert = p.signed_by(&key, &self.issuer).map_err(e)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: Zeroizing::new(key.serialize_pem()) })
    }
}

impl TlsCa {
    /// A certificate revocation list (PEM) of this CA revoking the certificates
    /// `revoked` (PEM), valid from yesterday for 30 days: the file `client_crls`
    /// names, so that a revoked counter is refused at the handshake.
    pub fn revocation_list(&self, revoked: &[&str], crl_number: u64) -> Result<String, InitError> {
        use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        use x509_cert::der::Decode;
        let mut revoked_certs = Vec::with_capacity(revoked.len());
        for pem in revoked {
            let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(e)?;
            let cert = x509_cert::Certificate::from_der(der.as_ref()).map_err(e)?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(cert.tbs_certificate().serial_number().as_bytes()),
                revocation_time: at(now().saturating_sub(3600)),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: at(now().saturating_sub(86_400)),
            next_update: at(now() + 30 * 86_400),
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).map_err(e)?.pem().map_err(e)
    }
}

/// Writes a new file (never over an existing one), `0600` if `secret`.
pub fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), InitError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = o.open(path).map_err(|x| InitError(format!("{}: {x}", path.display())))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|x| InitError(format!("{}: {x}", path.display())))
}

/// What `init` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The configuration file.
    pub config: PathBuf,
    /// Each counter's certificate and key files.
    pub counters: Vec<(String, PathBuf, PathBuf)>,
    /// The CA the counters pin.
    pub ca: PathBuf,
}

/// Writes a test deployment into `out` for `counters` (identities), listening on `listen`.
pub fn init(out: &Path, counters: &[String], listen: &str) -> Result<InitReport, InitError> {
    for c in counters {
        let ok =
            !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(InitError(format!("counter id {c:?}: use 1-64 letters, digits, '-' or '_'")));
        }
    }
    let tls = out.join("tls");
    std::fs::create_dir_all(&tls).map_err(|x| InitError(format!("{}: {x}", tls.display())))?;
    if out.join("authority.toml").exists() {
        return Err(InitError(format!(
            "{} already exists; not overwriting a deployment",
            out.join("authority.toml").display()
        )));
    }
    zairyu_sim::write_pki::WritePki::generate(&out.join("pki")).map_err(e)?;
    let ca = TlsCa::new("zairyu-authority TEST CA")?;
    write_new(&tls.join("ca.pem"), ca.cert_pem.as_bytes(), false)?;
    write_new(&tls.join("ca.key"), ca.key_pem().as_bytes(), true)?;
    let server = ca.server(&["localhost", "127.0.0.1", "::1"])?;
    write_new(&tls.join("server.pem"), server.cert_pem.as_bytes(), false)?;
    write_new(&tls.join("server.key"), server.key_pem.as_bytes(), true)?;
    let mut report = InitReport { config: out.join("authority.toml"), counters: Vec::new(), ca: tls.join("ca.pem") };
    let mut policy =
        String::from("# Test policy: which counters may write for which municipality codes.\nversion = 1\n");
    for c in counters {
        let issued = ca.counter(c, now().saturating_sub(86_400), now() + 2 * 365 * 86_400)?;
        let (cp, kp) = (tls.join(format!("{c}.pem")), tls.join(format!("{c}.key")));
        write_new(&cp, issued.cert_pem.as_bytes(), false)?;
        write_new(&kp, issued.key_pem.as_bytes(), true)?;
        policy.push_str(&format!(
            "\n[[counter]]\nid = \"{c}\"\nmunicipalities = [\"*\"]\nmax_sessions_per_minute = 60\n"
        ));
        report.counters.push((c.clone(), cp, kp));
    }
    write_new(&out.join("policy.toml"), policy.as_bytes(), false)?;
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut key[..]).map_err(e)?;
    write_new(&out.join("deployment.key"), hex::encode(&key[..]).as_bytes(), true)?;
    write_new(&report.config, config_text(listen).as_bytes(), false)?;
    Ok(report)
}

/// The `authority.toml` that `init` writes.
pub fn config_text(listen: &str) -> String {
    format!(
        r#"# zairyu-authority: TEST configuration written by `zairyu-authority init`.
version = 1

[server]
listen = "{listen}"
tls_cert = "tls/server.pem"
tls_key = "tls/server.key"
client_ca = "tls/ca.pem"
client_crls = []
max_body_bytes = 65536
request_timeout_secs = 30
session_timeout_secs = 120
sweep_interval_secs = 5

[authority]
pki_dir = "pki"
policy = "policy.toml"

[signer]
kind = "key_file"
path = "pki/test-terminal.key.p8"

[database]
kind = "sqlite"
path = "authority.sqlite3"
busy_timeout_ms = 5000
# PostgreSQL instead (instances on several hosts sharing one database):
# kind = "postgres"
# url = "postgresql://zairyu@127.0.0.1:5432/zairyu"
# password_file = "postgres.password"
# lock_timeout_ms = 5000

[secrets]
deployment_key = "deployment.key"
"#
    )
}
