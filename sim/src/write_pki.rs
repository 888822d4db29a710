//! A throw-away **test** write PKI (issue 12 point 5): the write CVCA the cards trust,
//! one DV, the terminal (the write authority's key, with the write right), the
//! write-issuer root and the document signer of EF.ChipAuthInfo. Nothing here is
//! the Ministry's; every certificate holder reference and every file name says TEST.
//!
//! On disk ([`WritePki::save`], [`WritePki::load`], `zairyu pki init --out DIR`):
//!
//! | file | what |
//! |---|---|
//! | `TEST-PKI-README.txt` | a notice: test keys, never for a real card |
//! | `test-cvca.cvcert`, `test-cvca.key.p8` | the write CVCA (self-signed, role CVCA) |
//! | `test-dv.cvcert`, `test-dv.key.p8` | the DV under it (role DV, write right) |
//! | `test-terminal.cvcert`, `test-terminal.key.p8` | the terminal under the DV (write right): the authority's signer |
//! | `test-issuer-root.cvcert`, `test-issuer-root.key.p8` | the write-issuer root (self-signed, `id-AWP-role-issuer`) |
//! | `test-document-signer.cvcert`, `test-document-signer.key.p8` | the document signer that signs EF.ChipAuthInfo |
//!
//! Certificates are the CV certificates of `docs/write-profile.md` §3 (`7F21 …`);
//! keys are unencrypted PKCS#8 DER (P-256), written with mode 0600. CHRs:
//! `JPTESTCVCA00001`, `JPTESTDV00001`, `JPTESTTERM00001`, `JPTESTISSUER001`,
//! `JPTESTDS00001`. Validity from the day of generation: CVCA and issuer root 10
//! years, DV 5, terminal 2, document signer 10 (it must cover the cards it signs).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use zairyu::auth::{OsRandom, RandomSource};
use zairyu::write::authority::AuthorityConfig;
use zairyu::write::cvc::{
    CertRef, Chat, Cvc, CvcBody, RIGHT_WRITE_ADDRESS, Role, SoftwareSigner, TrustAnchor, verify_at,
};
use zairyu::write::{CvDate, OID_ROLE_ISSUER, OID_ROLE_WRITE};

use crate::write::WriteIssue;

/// Why a test PKI could not be made, written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// `generate` refuses to overwrite an existing PKI file.
    #[error("{0} already exists; not overwriting a PKI")]
    Exists(PathBuf),
    /// A file is not what it should be (a certificate that does not parse, a key
    /// that does not match its certificate, a chain that does not verify).
    #[error("{file}: {reason}")]
    Malformed {
        /// The file.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The system clock is outside 2000–2099.
    #[error("the system clock is not a date of 2000-2099")]
    Clock,
}

/// The notice file of a PKI directory.
pub const README: &str = "TEST-PKI-README.txt";

const NAMES: [&str; 5] = ["test-cvca", "test-dv", "test-terminal", "test-issuer-root", "test-document-signer"];

/// The test write PKI: every certificate and its key. `Debug` never shows a key.
#[derive(Debug, Clone)]
pub struct WritePki {
    /// The write CVCA's key.
    pub cvca_key: SoftwareSigner,
    /// The write CVCA (self-signed).
    pub cvca: Cvc,
    /// The DV's key.
    pub dv_key: SoftwareSigner,
    /// The DV certificate.
    pub dv: Cvc,
    /// The terminal's key (the authority's signer).
    pub terminal_key: SoftwareSigner,
    /// The terminal certificate (write right).
    pub terminal: Cvc,
    /// The write-issuer root's key.
    pub issuer_root_key: SoftwareSigner,
    /// The write-issuer root (self-signed).
    pub issuer_root: Cvc,
    /// The document signer's key.
    pub document_signer_key: SoftwareSigner,
    /// The document signer certificate.
    pub document_signer: Cvc,
}

fn later(d: CvDate, years: u16) -> CvDate {
    let y = (d.year() + years).min(2099);
    CvDate::new(y, d.month(), d.day()).or_else(|| CvDate::new(y, d.month(), 28)).unwrap_or(d)
}

fn cref(s: &str) -> CertRef {
    CertRef::new(s).expect("the fixed references are 8-16 letters and digits")
}

/// Signs one certificate body (the dates are in order, so signing a body with a
/// software key cannot fail).
fn cert(car: &str, chr: &str, key: &SoftwareSigner, chat: Chat, from: CvDate, years: u16, by: &SoftwareSigner) -> Cvc {
    CvcBody {
        car: cref(car),
        public_key: key.public_key(),
        chr: cref(chr),
        chat,
        effective: from,
        expiry: later(from, years),
    }
    .sign(by)
    .expect("dates in order and a software key")
}

impl WritePki {
    /// A PKI drawn from `rng`, valid from `today`.
    pub fn generate_with(rng: &mut dyn RandomSource, today: CvDate) -> Self {
        let write = |role, rights| Chat { role_oid: OID_ROLE_WRITE.to_vec(), role, rights };
        let issuer = |role| Chat { role_oid: OID_ROLE_ISSUER.to_vec(), role, rights: 0 };
        let cvca_key = SoftwareSigner::generate(rng);
        let dv_key = SoftwareSigner::generate(rng);
        let terminal_key = SoftwareSigner::generate(rng);
        let issuer_root_key = SoftwareSigner::generate(rng);
        let document_signer_key = SoftwareSigner::generate(rng);
        let (c, d, t, r, s) =
            ("JPTESTCVCA00001", "JPTESTDV00001", "JPTESTTERM00001", "JPTESTISSUER001", "JPTESTDS00001");
        let w = RIGHT_WRITE_ADDRESS;
        WritePki {
            cvca: cert(c, c, &cvca_key, write(Role::Cvca, w), today, 10, &cvca_key),
            dv: cert(c, d, &dv_key, write(Role::Dv, w), today, 5, &cvca_key),
            terminal: cert(d, t, &terminal_key, write(Role::Terminal, w), today, 2, &dv_key),
            issuer_root: cert(r, r, &issuer_root_key, issuer(Role::Cvca), today, 10, &issuer_root_key),
            document_signer: cert(r, s, &document_signer_key, issuer(Role::Terminal), today, 10, &issuer_root_key),
            cvca_key,
            dv_key,
            terminal_key,
            issuer_root_key,
            document_signer_key,
        }
    }

    /// Makes a PKI valid from today (the system clock), with the operating system's
    /// generator, and writes it to `dir` (created if needed; existing PKI files are
    /// never overwritten).
    pub fn generate(dir: &Path) -> Result<Self, PkiError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|_| PkiError::Clock)?;
        let today = CvDate::from_unix(now.as_secs()).ok_or(PkiError::Clock)?;
        let pki = WritePki::generate_with(&mut OsRandom, today);
        pki.save(dir)?;
        Ok(pki)
    }

    fn parts(&self) -> [(&'static str, &Cvc, &SoftwareSigner); 5] {
        [
            (NAMES[0], &self.cvca, &self.cvca_key),
            (NAMES[1], &self.dv, &self.dv_key),
            (NAMES[2], &self.terminal, &self.terminal_key),
            (NAMES[3], &self.issuer_root, &self.issuer_root_key),
            (NAMES[4], &self.document_signer, &self.document_signer_key),
        ]
    }

    /// Writes the PKI to `dir` (see the module documentation); refuses to overwrite
    /// any of its files.
    pub fn save(&self, dir: &Path) -> Result<(), PkiError> {
        let io = |path: &Path, e: std::io::Error| PkiError::Io { path: path.to_owned(), message: e.to_string() };
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut files = vec![(dir.join(README), readme().into_bytes(), false)];
        for (name, cert, key) in self.parts() {
            let secret = p256::SecretKey::from_slice(&key.to_scalar()[..])
                .map_err(|_| PkiError::Malformed { file: name, reason: "not a P-256 key".into() })?;
            let der = secret
                .to_pkcs8_der()
                .map_err(|e| PkiError::Malformed { file: name, reason: format!("PKCS#8 encoding: {e}") })?;
            files.push((dir.join(format!("{name}.cvcert")), cert.encode(), false));
            files.push((dir.join(format!("{name}.key.p8")), der.as_bytes().to_vec(), true));
        }
        for (path, _, _) in &files {
            if path.exists() {
                return Err(PkiError::Exists(path.clone()));
            }
        }
        for (path, bytes, secret) in files {
            let mut bytes = zeroize::Zeroizing::new(bytes);
            let mut f = create_new(&path, secret).map_err(|e| io(&path, e))?;
            f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| io(&path, e))?;
            zeroize::Zeroize::zeroize(&mut bytes[..]);
        }
        Ok(())
    }

    /// Reads a PKI written by [`WritePki::save`] and checks it: every key matches its
    /// certificate, the roots are self-signed, the terminal chains to the CVCA with the
    /// write right, the document signer to the issuer root.
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        let read = |file: &'static str, ext: &str| -> Result<zeroize::Zeroizing<Vec<u8>>, PkiError> {
            let path = dir.join(format!("{file}.{ext}"));
            fs::read(&path).map(zeroize::Zeroizing::new).map_err(|e| PkiError::Io { path, message: e.to_string() })
        };
        let mut loaded = Vec::new();
        for name in NAMES {
            let bad = |reason: String| PkiError::Malformed { file: name, reason };
            let cert = Cvc::parse(&read(name, "cvcert")?).map_err(|e| bad(e.to_string()))?;
            let der = read(name, "key.p8")?;
            let secret = p256::SecretKey::from_pkcs8_der(&der).map_err(|e| bad(format!("PKCS#8 P-256 key: {e}")))?;
            let mut scalar = zeroize::Zeroizing::new([0u8; 32]);
            scalar.copy_from_slice(&secret.to_bytes());
            let key = SoftwareSigner::from_scalar(&scalar).ok_or_else(|| bad("not a P-256 key".into()))?;
            if key.public_key() != cert.body().public_key {
                return Err(bad("the key does not match the certificate".into()));
            }
            loaded.push((cert, key));
        }
        let mut it = loaded.into_iter();
        let mut next = || it.next().expect("five parts");
        let ((cvca, cvca_key), (dv, dv_key), (terminal, terminal_key)) = (next(), next(), next());
        let ((issuer_root, issuer_root_key), (document_signer, document_signer_key)) = (next(), next());
        let pki = WritePki {
            cvca_key,
            cvca,
            dv_key,
            dv,
            terminal_key,
            terminal,
            issuer_root_key,
            issuer_root,
            document_signer_key,
            document_signer,
        };
        pki.check()?;
        Ok(pki)
    }

    fn check(&self) -> Result<(), PkiError> {
        let bad = |file, e: &dyn std::fmt::Display| PkiError::Malformed { file, reason: e.to_string() };
        let cvca = TrustAnchor::from_self_signed(&self.cvca).map_err(|e| bad(NAMES[0], &e))?;
        let root = TrustAnchor::from_self_signed(&self.issuer_root).map_err(|e| bad(NAMES[3], &e))?;
        let at = self.terminal.body().effective.max(self.dv.body().effective);
        let chain = verify_at(&self.terminal_chain(), &cvca, at).map_err(|e| bad(NAMES[2], &e))?;
        chain.require_write().map_err(|e| bad(NAMES[2], &e))?;
        verify_at(std::slice::from_ref(&self.document_signer), &root, self.document_signer.body().effective)
            .map_err(|e| bad(NAMES[4], &e))?;
        Ok(())
    }

    /// The write CVCA as the cards store it.
    pub fn cvca_anchor(&self) -> TrustAnchor {
        TrustAnchor::from_self_signed(&self.cvca).expect("a self-signed CVCA (checked)")
    }

    /// The write-issuer root as the authority stores it.
    pub fn issuer_anchor(&self) -> TrustAnchor {
        TrustAnchor::from_self_signed(&self.issuer_root).expect("a self-signed issuer root (checked)")
    }

    /// The certificates the card verifies: DV, then terminal.
    pub fn terminal_chain(&self) -> Vec<Cvc> {
        vec![self.dv.clone(), self.terminal.clone()]
    }

    /// What a card that trusts this PKI needs at issuance, with the card date set to
    /// the CVCA's effective date.
    pub fn write_issue(&self) -> WriteIssue {
        WriteIssue {
            cvca: self.cvca_anchor(),
            document_signer: self.document_signer.clone(),
            document_signer_key: self.document_signer_key.clone(),
            card_date: self.cvca.body().effective,
        }
    }

    /// The in-process authority's configuration for this PKI (terminal key as its
    /// signer).
    pub fn authority_config(&self) -> AuthorityConfig {
        AuthorityConfig {
            terminal_chain: self.terminal_chain(),
            cvca: self.cvca_anchor(),
            signer: Arc::new(self.terminal_key.clone()),
            issuer_root: self.issuer_anchor(),
        }
    }
}

fn readme() -> String {
    "TEST write PKI of zairyu (AWP v1), made by `zairyu pki init`.\n\
     These keys are for the simulator and tests only. They are not the Ministry's and\n\
     must never be used for a real card. The *.key.p8 files are unencrypted PKCS#8.\n"
        .to_owned()
}

fn create_new(path: &Path, secret: bool) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Drbg;

    fn today() -> CvDate {
        CvDate::new(2026, 4, 1).unwrap()
    }

    #[test]
    fn generated_pkis_chain_and_say_test() {
        let p = WritePki::generate_with(&mut Drbg::new(1), today());
        p.check().unwrap();
        for (name, c, _) in p.parts() {
            assert!(name.starts_with("test-"));
            assert!(c.chr().as_str().contains("TEST"), "{}", c.chr());
        }
        assert_eq!(p.terminal.body().expiry, CvDate::new(2028, 4, 1).unwrap());
        assert!(!format!("{p:?}").contains(&hex_scalar(&p.terminal_key)));
    }

    fn hex_scalar(k: &SoftwareSigner) -> String {
        k.to_scalar().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn save_load_round_trip_with_private_keys_0600() {
        let dir = std::env::temp_dir().join(format!("zairyu-write-pki-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let p = WritePki::generate_with(&mut Drbg::new(2), today());
        p.save(&dir).unwrap();
        // Never overwritten.
        assert!(matches!(p.save(&dir), Err(PkiError::Exists(_))));
        let back = WritePki::load(&dir).unwrap();
        assert_eq!(back.terminal, p.terminal);
        assert_eq!(back.terminal_key.public_key(), p.terminal_key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in NAMES {
                let m = fs::metadata(dir.join(format!("{name}.key.p8"))).unwrap().permissions().mode();
                assert_eq!(m & 0o777, 0o600, "{name}");
            }
        }
        // A key swapped for another is refused.
        fs::copy(dir.join("test-dv.key.p8"), dir.join("test-terminal.key.p8")).unwrap();
        assert!(matches!(WritePki::load(&dir), Err(PkiError::Malformed { file: "test-terminal", .. })));
        // A missing file is an I/O error naming it.
        fs::remove_file(dir.join("test-cvca.cvcert")).unwrap();
        assert!(matches!(WritePki::load(&dir), Err(PkiError::Io { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }
}
