//! The terminal key behind [`Signer`]: a PKCS#8 P-256 key file now; PKCS#11 with the
//! service (issue 13) as another [`SignerSource`] variant.
//!
//! The key file is read into zeroizing memory, parsed with the RustCrypto `pkcs8`
//! decoder (DER, or PEM `-----BEGIN PRIVATE KEY-----`), and kept as core's
//! [`SoftwareSigner`], whose key wipes itself on drop and whose `Debug` prints
//! nothing of it. On unix a key file that its group or other users may read or write
//! is refused before it is read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use p256::pkcs8::DecodePrivateKey;
use zairyu::write::cvc::{PublicKey, Signer, SignerError, SoftwareSigner};
use zeroize::Zeroizing;

/// Why a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file cannot be read.
    #[error("key file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file's group or other users may read or write it (unix mode shown).
    #[error("key file {path} is accessible by group or others (mode {mode:04o}); run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a PKCS#8 private key (DER or PEM), or not one on P-256.
    #[error("key file {path} is not a PKCS#8 P-256 private key (DER or PEM `PRIVATE KEY`)")]
    NotPkcs8P256 {
        /// The file.
        path: PathBuf,
    },
    /// The PKCS#11 token or key cannot be used (feature `pkcs11`): its code and message.
    #[error("{message}")]
    Pkcs11 {
        /// The stable code ([`crate::pkcs11::Pkcs11Error::code`]).
        code: &'static str,
        /// The message.
        message: String,
    },
}

impl KeyFileError {
    /// A stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            KeyFileError::Io { .. } => "key_file_unreadable",
            KeyFileError::Permissions { .. } => "key_file_permissions",
            KeyFileError::NotPkcs8P256 { .. } => "key_file_invalid",
            KeyFileError::Pkcs11 { code, .. } => code,
        }
    }
}

/// A P-256 terminal key loaded from a PKCS#8 key file.
#[derive(Clone)]
pub struct KeyFileSigner {
    key: SoftwareSigner,
    path: PathBuf,
}

impl core::fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyFileSigner({}, <redacted>)", self.path.display())
    }
}

impl KeyFileSigner {
    /// Loads a PKCS#8 P-256 private key from `path` (DER or PEM). On unix, refuses a
    /// file whose mode gives its group or other users any access.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let io = |e: std::io::Error| KeyFileError::Io { path: path.to_path_buf(), reason: e.to_string() };
        let meta = std::fs::metadata(path).map_err(io)?;
        check_mode(path, &meta)?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let invalid = || KeyFileError::NotPkcs8P256 { path: path.to_path_buf() };
        let secret = if bytes.starts_with(b"-----BEGIN") {
            let text = core::str::from_utf8(&bytes).map_err(|_| invalid())?;
            p256::SecretKey::from_pkcs8_pem(text).map_err(|_| invalid())?
        } else {
            p256::SecretKey::from_pkcs8_der(&bytes).map_err(|_| invalid())?
        };
        let scalar: Zeroizing<[u8; 32]> = Zeroizing::new(secret.to_bytes().into());
        let key = SoftwareSigner::from_scalar(&scalar).ok_or_else(invalid)?;
        Ok(KeyFileSigner { key, path: path.to_path_buf() })
    }

    /// The public key, to compare with the terminal certificate.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Signer for KeyFileSigner {
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        self.key.sign(msg)
    }
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions { path: path.to_path_buf(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    Ok(())
}

/// Where the terminal key lives. A key file now; the service adds PKCS#11 (a token,
/// a key label, a PIN source) as another variant, and everything above it only sees
/// the [`Signer`] that [`SignerSource::open`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerSource {
    /// A PKCS#8 P-256 key file.
    KeyFile(PathBuf),
    /// A key in a PKCS#11 token (feature `pkcs11`): the private key stays in it.
    #[cfg(feature = "pkcs11")]
    Pkcs11(crate::pkcs11::Pkcs11Key),
}

/// A signer as the authority holds it, with its public key for the start-up check
/// against the terminal certificate.
pub struct OpenedSigner {
    /// The signer.
    pub signer: Arc<dyn Signer + Send + Sync>,
    /// Its public key.
    pub public_key: PublicKey,
}

impl core::fmt::Debug for OpenedSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OpenedSigner(<redacted>)")
    }
}

impl SignerSource {
    /// Opens the key.
    pub fn open(&self) -> Result<OpenedSigner, KeyFileError> {
        match self {
            SignerSource::KeyFile(path) => {
                let s = KeyFileSigner::load(path)?;
                let public_key = s.public_key();
                Ok(OpenedSigner { signer: Arc::new(s), public_key })
            }
            #[cfg(feature = "pkcs11")]
            SignerSource::Pkcs11(key) => {
                let s = crate::pkcs11::Pkcs11Signer::open(key)
                    .map_err(|e| KeyFileError::Pkcs11 { code: e.code(), message: e.to_string() })?;
                let public_key = s.public_key();
                Ok(OpenedSigner { signer: Arc::new(s), public_key })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use zairyu::auth::FixedRandom;

    fn write_key(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        p
    }

    fn secret() -> (p256::SecretKey, SoftwareSigner) {
        let s = SoftwareSigner::generate(&mut FixedRandom::new(&[0x5A, 0x11, 0x93]));
        (p256::SecretKey::from_slice(&s.to_scalar()[..]).unwrap(), s)
    }

    #[test]
    fn der_and_pem_load_and_sign_with_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let (sk, soft) = secret();
        let der = sk.to_pkcs8_der().unwrap();
        let pem = sk.to_pkcs8_pem(LineEnding::LF).unwrap();
        for p in [
            write_key(dir.path(), "k.der", der.as_bytes(), 0o600),
            write_key(dir.path(), "k.pem", pem.as_bytes(), 0o400),
        ] {
            let k = KeyFileSigner::load(&p).unwrap();
            assert_eq!(k.public_key(), soft.public_key());
            let sig = k.sign(b"message").unwrap();
            assert!(soft.public_key().verify(b"message", &sig));
            assert!(!soft.public_key().verify(b"messagf", &sig));
            // Debug shows the path, never the key.
            let dbg = format!("{k:?}");
            assert!(dbg.contains("<redacted>"));
            assert!(!dbg.to_lowercase().contains(&hex::encode(&soft.to_scalar()[..4])));
        }
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_accessible_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (sk, _) = secret();
        let der = sk.to_pkcs8_der().unwrap();
        for mode in [0o640, 0o604, 0o644, 0o660, 0o602] {
            let p = write_key(dir.path(), "k.der", der.as_bytes(), mode);
            let e = KeyFileSigner::load(&p).unwrap_err();
            assert_eq!(e, KeyFileError::Permissions { path: p.clone(), mode });
            assert_eq!(e.code(), "key_file_permissions");
            assert!(e.to_string().contains("chmod 600"));
        }
        let p = write_key(dir.path(), "k.der", der.as_bytes(), 0o600);
        assert!(KeyFileSigner::load(&p).is_ok());
    }

    #[test]
    fn other_keys_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A P-384 key in PKCS#8: not P-256.
        let p384 = p384_pkcs8();
        let p = write_key(dir.path(), "p384.der", &p384, 0o600);
        assert!(matches!(KeyFileSigner::load(&p).unwrap_err(), KeyFileError::NotPkcs8P256 { .. }));
        let p =
            write_key(dir.path(), "junk.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0o600);
        assert!(matches!(KeyFileSigner::load(&p).unwrap_err(), KeyFileError::NotPkcs8P256 { .. }));
        let p = write_key(dir.path(), "empty", b"", 0o600);
        assert!(matches!(KeyFileSigner::load(&p).unwrap_err(), KeyFileError::NotPkcs8P256 { .. }));
        let e = KeyFileSigner::load(&dir.path().join("missing")).unwrap_err();
        assert_eq!(e.code(), "key_file_unreadable");
    }

    /// A PKCS#8 private key on P-384 (scalar 1), put together from its DER structure:
    /// only its curve OID (secp384r1) matters here.
    fn p384_pkcs8() -> Vec<u8> {
        // PrivateKeyInfo { version 0, { id-ecPublicKey, secp384r1 }, ECPrivateKey { 1, 48-byte key } }
        let mut key = vec![0u8; 48];
        key[47] = 1;
        let mut ec = vec![0x30, 0x35, 0x02, 0x01, 0x01, 0x04, 0x30];
        ec.extend_from_slice(&key);
        let alg = [
            0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22,
        ];
        let mut body = vec![0x02, 0x01, 0x00];
        body.extend_from_slice(&alg);
        body.push(0x04);
        body.push(ec.len() as u8);
        body.extend_from_slice(&ec);
        let mut out = vec![0x30, body.len() as u8];
        out.extend_from_slice(&body);
        out
    }
}
