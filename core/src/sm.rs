//! Secure messaging (SPEC15 §3.4.2, §4.2.2, §4.2.5; GEN2 §4.2.2, §4.2.5).
//!
//! One wrapper for both generations, generic over the [`Suite`]. Secure messaging
//! here provides confidentiality only: commands carry the encrypted card number
//! (VERIFY) or a plain Le object (READ BINARY); responses carry `86 L 01 ‖ ciphertext`
//! with no MAC and no status object. It is a pure value: it holds KSenc and nothing
//! else.

use core::marker::PhantomData;

use zeroize::Zeroizing;

use crate::apdu::{Command, Le};
use crate::card_number::CardNumber;
use crate::crypto::{Key16, Suite, pad_iso, unpad_iso};
use crate::error::SmError;
use crate::tlv;

/// CLA for secure-messaging commands (SPEC15 Table 4-3).
pub const CLA_SM: u8 = 0x08;
/// Tag of the encrypted data object with padding indicator.
pub const TAG_CRYPTOGRAM: u8 = 0x86;
/// Tag of the Le data object.
pub const TAG_LE: u8 = 0x96;
/// Padding-content indicator: "padded per ISO/IEC 7816-4".
pub const PADDING_INDICATOR: u8 = 0x01;

/// A secure-messaging context: the session key KSenc of one authenticated session.
pub struct SecureMessaging<S: Suite> {
    ks_enc: Key16,
    _suite: PhantomData<S>,
}

impl<S: Suite> core::fmt::Debug for SecureMessaging<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SecureMessaging<{}>(<redacted>)", S::NAME)
    }
}

impl<S: Suite> SecureMessaging<S> {
    /// Creates the context from KSenc.
    pub fn new(ks_enc: Key16) -> Self {
        SecureMessaging { ks_enc, _suite: PhantomData }
    }

    /// Builds `86 L 01 ‖ e[KSenc](plain ‖ 80 00…)`.
    pub fn encrypt_object(&self, plain: &[u8]) -> Result<Vec<u8>, SmError> {
        let mut body = pad_iso(plain, S::BLOCK);
        S::cbc_encrypt(&self.ks_enc, &mut body)?;
        let mut value = Vec::with_capacity(body.len() + 1);
        value.push(PADDING_INDICATOR);
        value.extend_from_slice(&body);
        let mut out = Vec::with_capacity(value.len() + 4);
        tlv::encode(u16::from(TAG_CRYPTOGRAM), &value, &mut out);
        Ok(out)
    }

    /// Parses `86 L 01 ‖ ciphertext` (nothing may follow), decrypts it and removes
    /// the padding strictly.
    pub fn decrypt_object(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        if data.first() != Some(&TAG_CRYPTOGRAM) {
            return Err(SmError::MissingDataObject);
        }
        let (len, used) = tlv::read_length("SM response", data, 1).map_err(|_| SmError::MissingDataObject)?;
        let start = 1 + used;
        let end = start.checked_add(len).ok_or(SmError::MissingDataObject)?;
        if end > data.len() {
            return Err(SmError::MissingDataObject);
        }
        if end < data.len() {
            return Err(SmError::TrailingData);
        }
        let value = &data[start..end];
        match value.first() {
            Some(&PADDING_INDICATOR) => {}
            _ => return Err(SmError::BadPaddingIndicator),
        }
        let ct = &value[1..];
        if ct.is_empty() || !ct.len().is_multiple_of(S::BLOCK) {
            return Err(SmError::BlockAlignment);
        }
        let mut plain = Zeroizing::new(ct.to_vec());
        S::cbc_decrypt(&self.ks_enc, &mut plain)?;
        let n = unpad_iso(&plain, S::BLOCK)?;
        plain.truncate(n);
        Ok(plain)
    }

    /// VERIFY (SPEC15 §4.2.2): `08 20 00 86 13 ‖ 86 11 01 ‖ e[KSenc](number ‖ 80 00 00 00)`.
    pub fn verify_command(&self, number: &CardNumber) -> Result<Command, SmError> {
        let object = Zeroizing::new(self.encrypt_object(number.expose())?);
        Ok(Command::new(CLA_SM, 0x20, 0x00, 0x86).with_data(&object))
    }

    /// SM READ BINARY (SPEC15 §4.2.5): `08 B0 P1 P2 00 00 04 96 02 XX XX 00 00`,
    /// where `XX XX` is the plain Le (`00 00` = the whole file).
    pub fn read_binary_command(p1: u8, p2: u8, le: u16) -> Command {
        Self::read_binary_command_ne(p1, p2, le, Le::Extended(0))
    }

    /// SM READ BINARY asking for `le` plain bytes (`96 02 HH LL`, `0` = the whole
    /// file) with the outer Le `ne`: the extended form (`Lc = 00 00 04`) for
    /// [`Le::Extended`], the short form for [`Le::Short`]. A link that carries fewer
    /// than 65,536 bytes back asks with the Le it can take instead of the spec's `00 00`.
    pub fn read_binary_command_ne(p1: u8, p2: u8, le: u16, ne: Le) -> Command {
        let [hi, lo] = le.to_be_bytes();
        let cmd = Command::new(CLA_SM, 0xB0, p1, p2).with_data(&[TAG_LE, 0x02, hi, lo]).with_le(ne);
        if matches!(ne, Le::Extended(_)) { cmd.extended() } else { cmd }
    }

    /// Bytes of the response object `86 L 01 ‖ ciphertext` that carries `plain`
    /// bytes (ISO padding always adds 1 to 16 bytes; L takes 1, 2 or 3 bytes).
    pub const fn object_len(plain: usize) -> usize {
        let value = 1 + (plain / S::BLOCK + 1) * S::BLOCK;
        let len_bytes = if value < 0x80 {
            1
        } else if value < 0x100 {
            2
        } else {
            3
        };
        1 + len_bytes + value
    }

    /// The most plain bytes one SM READ BINARY may ask for so that its answer object
    /// fits `max` bytes; `0` if not even one byte fits.
    pub const fn max_plain_for(max: usize) -> usize {
        // Whole blocks of ciphertext, less the one padding byte at least.
        let mut blocks = max / S::BLOCK;
        while blocks > 0 {
            let plain = blocks * S::BLOCK - 1;
            if Self::object_len(plain) <= max {
                return plain;
            }
            blocks -= 1;
        }
        0
    }

    /// SM READ BINARY in short form, `08 B0 P1 P2 04 96 02 HH LL 00`: the fallback
    /// for readers without extended APDUs. The spec shows only the extended form
    /// ([`Self::read_binary_command`]); whether a card accepts this one is not
    /// documented (`docs/spec-facts.md` §4).
    pub fn read_binary_command_short(p1: u8, p2: u8, le: u16) -> Command {
        Self::read_binary_command_ne(p1, p2, le, Le::Short(0))
    }

    /// Unwraps an SM READ BINARY response body (without SW).
    pub fn unwrap_read(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        self.decrypt_object(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Aes128Suite, TdesSuite};

    #[test]
    fn read_commands_in_both_forms() {
        let ext = SecureMessaging::<TdesSuite>::read_binary_command(0x85, 0, 0);
        assert_eq!(&ext.encode()[..], &[0x08, 0xB0, 0x85, 0, 0, 0, 4, 0x96, 2, 0, 0, 0, 0]);
        let capped = SecureMessaging::<TdesSuite>::read_binary_command_ne(0x85, 0, 0x03E0, Le::Extended(1000));
        assert_eq!(&capped.encode()[..], &[0x08, 0xB0, 0x85, 0, 0, 0, 4, 0x96, 2, 0x03, 0xE0, 0x03, 0xE8]);
        let short = SecureMessaging::<TdesSuite>::read_binary_command_short(0x01, 0x20, 0xE0);
        assert_eq!(&short.encode()[..], &[0x08, 0xB0, 0x01, 0x20, 4, 0x96, 2, 0, 0xE0, 0]);
    }

    #[test]
    fn object_sizes_and_the_largest_plain_chunk() {
        // 224 plain bytes (the short chunk) under 3DES: 232 bytes of ciphertext,
        // 86 81 E9 01 ‖ 232 = 236 bytes.
        assert_eq!(SecureMessaging::<TdesSuite>::object_len(224), 236);
        assert_eq!(SecureMessaging::<Aes128Suite>::object_len(224), 4 + 240);
        // The first-generation DF1/EF01 answer: 7008 plain → 86 82 1B 61 01 ‖ 7008+8−… = 7013.
        assert_eq!(SecureMessaging::<TdesSuite>::object_len(7007), 7013);
        fn largest<S: Suite>(max: usize) {
            let plain = SecureMessaging::<S>::max_plain_for(max);
            if plain > 0 {
                assert!(SecureMessaging::<S>::object_len(plain) <= max, "{max}: {plain}");
            }
            // The next candidate (one more block) does not fit.
            assert!(SecureMessaging::<S>::object_len(plain + S::BLOCK) > max, "{max}: {plain} is not the largest");
        }
        for max in [0usize, 5, 16, 20, 127, 128, 200, 256, 998, 1693, 65535] {
            largest::<TdesSuite>(max);
            largest::<Aes128Suite>(max);
        }
        assert_eq!(SecureMessaging::<TdesSuite>::max_plain_for(256), 247);
        assert_eq!(SecureMessaging::<Aes128Suite>::max_plain_for(256), 239);
        assert_eq!(SecureMessaging::<Aes128Suite>::max_plain_for(19), 15);
        assert_eq!(SecureMessaging::<Aes128Suite>::max_plain_for(18), 0);
    }
}
