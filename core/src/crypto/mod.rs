//! Cryptographic suites: the one place where the card generations differ.
//!
//! Both generations run the same access protocol (SPEC15 Annex 1; GEN2 Appendix 1):
//! SHA-1 base-key derivation, a CBC cipher with an all-zero IV, a MAC over the
//! 32-byte authentication cryptograms, and `80 00…` padding (ISO/IEC 7816-4) inside
//! secure messaging. A [`Suite`] supplies exactly the parts that change:
//! the block cipher, its block size and the MAC. Everything else — key derivation,
//! MUTUAL AUTHENTICATE, VERIFY, READ BINARY wrapping and unwrapping — is written once
//! in [`crate::auth`] and [`crate::sm`] over this trait.

mod aes;
mod tdes;

pub use self::aes::Aes128Suite;
pub use self::tdes::TdesSuite;

use sha1::{Digest, Sha1};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::SmError;

/// A 16-byte symmetric key (Kenc, Kmac or KSenc). Wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key16([u8; 16]);

impl Key16 {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Key16(bytes)
    }
    /// The raw key bytes. Only the crypto suites and the known-answer tests need this.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl core::fmt::Debug for Key16 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Key16(<redacted>)")
    }
}

/// The generation-specific primitives of the access protocol.
///
/// Implementations wrap RustCrypto crates; no primitive is written here.
pub trait Suite: Send + Sync + 'static {
    /// A short, stable name for logs and reports (`"3des"`, `"aes128"`).
    const NAME: &'static str;
    /// Cipher block size in bytes (8 for 3DES, 16 for AES).
    const BLOCK: usize;

    /// CBC encryption with an all-zero IV. `data.len()` must be a multiple of
    /// [`Self::BLOCK`]; callers pad first.
    fn cbc_encrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError>;
    /// CBC decryption with an all-zero IV, in place.
    fn cbc_decrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError>;
    /// The 8-byte MAC over an authentication cryptogram (E_IFD / E_ICC), including
    /// whatever padding the generation prescribes.
    fn auth_mac(key: &Key16, data: &[u8]) -> [u8; 8];
}

/// SHA-1 of `data`, truncated to a [`Key16`]. The hasher state (sha1's `zeroize`
/// feature), the full digest and the key are wiped; no copy is left on the stack
/// beyond what the compiler spills.
fn sha1_key(data: &[u8]) -> Key16 {
    let mut hasher = Sha1::new();
    hasher.update(data);
    let mut digest = Zeroizing::new(sha1::digest::Output::<Sha1>::default());
    Digest::finalize_into(hasher, &mut digest);
    let mut key = Key16([0u8; 16]);
    key.0.copy_from_slice(&digest[..16]);
    key
}

/// `Kenc = Kmac = SHA-1(card number)[0..16)` (SPEC15 Annex 1; GEN2 Appendix 1).
pub fn derive_base_key(card_number: &[u8]) -> Key16 {
    sha1_key(card_number)
}

/// `KSenc = SHA-1((K.IFD XOR K.ICC) || 00 00 00 01)[0..16)` (SPEC15 Annex 1 step 5).
pub fn derive_session_key(k_ifd: &[u8; 16], k_icc: &[u8; 16]) -> Key16 {
    let mut seed = Zeroizing::new([0u8; 20]);
    for i in 0..16 {
        seed[i] = k_ifd[i] ^ k_icc[i];
    }
    seed[19] = 0x01;
    sha1_key(&seed[..])
}

/// ISO/IEC 7816-4 padding (`80` then `00` to a whole number of blocks). Always adds
/// at least one byte (ISO/IEC 9797-1 padding method 2).
pub fn pad_iso(data: &[u8], block: usize) -> Zeroizing<Vec<u8>> {
    let padded_len = (data.len() / block + 1) * block;
    let mut out = Zeroizing::new(Vec::with_capacity(padded_len));
    out.extend_from_slice(data);
    out.push(0x80);
    out.resize(padded_len, 0);
    out
}

/// Removes ISO/IEC 7816-4 padding strictly: at most `block - 1` trailing `00`
/// bytes, then exactly one `80`. Never strips further, because field values on the
/// card legitimately end in long `00` runs (SPEC15 §4.2.5 (4)(ii)).
pub fn unpad_iso(data: &[u8], block: usize) -> Result<usize, SmError> {
    let mut i = data.len();
    let mut zeros = 0usize;
    while i > 0 && data[i - 1] == 0x00 {
        zeros += 1;
        i -= 1;
        if zeros >= block {
            return Err(SmError::BadPadding);
        }
    }
    if i == 0 || data[i - 1] != 0x80 {
        return Err(SmError::BadPadding);
    }
    Ok(i - 1)
}

#[cfg(test)]
mod tests;
