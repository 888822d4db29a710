//! Session state at rest: AES-256-GCM (RustCrypto `aes-gcm`) under a key derived
//! from the deployment key, with a fresh 96-bit random nonce per sealing and the
//! session id and sequence number as associated data — a sealed state moved to
//! another session, or put back at another step, does not open.
//!
//! The deployment key (32 bytes, a hex file of mode 0600) gives two keys through
//! HKDF-SHA-256 (RustCrypto `hkdf`): the sealing key and the key of the audit
//! log's card-number hash (HMAC-SHA-256 over the card-number SHA-256), so the log
//! does not hold a hash anyone could search the ~2^45 card numbers against.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, KeyInit as _, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The sealing format's version byte.
const SEAL_VERSION: u8 = 1;

/// Why a sealed state does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealed session state does not open (altered, moved, or another deployment key)")]
pub struct SealError;

/// The two keys of a deployment.
pub struct Keys {
    aead: Aes256Gcm,
    card_hash: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

fn aad(session: &str, seq: u64) -> Vec<u8> {
    let mut a = b"zairyu-session-v1".to_vec();
    a.extend_from_slice(&(session.len() as u32).to_be_bytes());
    a.extend_from_slice(session.as_bytes());
    a.extend_from_slice(&seq.to_be_bytes());
    a
}

impl Keys {
    /// Keys from the 32-byte deployment key.
    pub fn derive(deployment_key: &[u8; 32]) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"zairyu-authority"), deployment_key);
        let mut k = Zeroizing::new([0u8; 32]);
        hk.expand(b"session-state-aes-256-gcm", &mut k[..]).expect("32 bytes is a valid HKDF length");
        let aead = Aes256Gcm::new_from_slice(&k[..]).expect("32-byte key");
        let mut card_hash = Zeroizing::new([0u8; 32]);
        hk.expand(b"audit-card-number-hmac", &mut card_hash[..]).expect("32 bytes is a valid HKDF length");
        Keys { aead, card_hash }
    }

    /// Seals `plain` for `session` at `seq`: `01 ‖ nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, session: &str, seq: u64, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random generator");
        let ct = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: &aad(session, seq) })
            .expect("AES-GCM encrypts any message of this size");
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`Keys::seal`] sealed for `session` at `seq`.
    pub fn open(&self, session: &str, seq: u64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != SEAL_VERSION {
            return Err(SealError);
        }
        let (nonce, ct) = sealed[1..].split_at(12);
        self.aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad(session, seq) })
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }

    /// The audit log's keyed card-number hash: HMAC-SHA-256 over the card-number SHA-256.
    pub fn card_hash(&self, card_number_sha256: &[u8; 32]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.card_hash[..]).expect("HMAC takes any key length");
        m.update(card_number_sha256);
        m.finalize().into_bytes().into()
    }
}

/// Reads a deployment key file: 64 hex digits (whitespace around them ignored).
/// On unix, a file its group or other users may access is refused.
pub fn read_key_file(path: &std::path::Path) -> Result<Zeroizing<[u8; 32]>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{}: mode {:04o} lets others read the deployment key; chmod 600",
                path.display(),
                mode & 0o7777
            ));
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?);
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut key[..]).map_err(|_| format!("{}: not 64 hex digits", path.display()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_for_its_session_and_step() {
        let k = Keys::derive(&[7; 32]);
        let s = k.seal("abc", 2, b"secret state");
        assert_eq!(&k.open("abc", 2, &s).unwrap()[..], b"secret state");
        assert_eq!(k.open("abd", 2, &s), Err(SealError));
        assert_eq!(k.open("abc", 1, &s), Err(SealError));
        assert_eq!(Keys::derive(&[8; 32]).open("abc", 2, &s), Err(SealError));
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 1;
            assert_eq!(k.open("abc", 2, &t), Err(SealError), "byte {i}");
        }
        assert_eq!(k.open("abc", 2, &s[..20]), Err(SealError));
        // Fresh nonces: sealing twice gives different bytes.
        assert_ne!(k.seal("abc", 2, b"x"), k.seal("abc", 2, b"x"));
        assert!(!s.windows(6).any(|w| w == b"secret"));
        assert_eq!(format!("{k:?}"), "Keys(<redacted>)");
        // The card hash is keyed: another deployment, another hash.
        assert_ne!(k.card_hash(&[1; 32]), Keys::derive(&[8; 32]).card_hash(&[1; 32]));
        assert_eq!(k.card_hash(&[1; 32]), k.card_hash(&[1; 32]));
    }
}
