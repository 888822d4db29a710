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
        let [hi, lo] = le.to_be_bytes();
        Command::new(CLA_SM, 0xB0, p1, p2).with_data(&[TAG_LE, 0x02, hi, lo]).with_le(Le::Extended(0)).extended()
    }

    /// SM READ BINARY in short form, `08 B0 P1 P2 04 96 02 HH LL 00`: the fallback
    /// for readers without extended APDUs. The spec shows only the extended form
    /// ([`Self::read_binary_command`]); whether a card accepts this one is not
    /// documented (`docs/spec-facts.md` §4).
    pub fn read_binary_command_short(p1: u8, p2: u8, le: u16) -> Command {
        let [hi, lo] = le.to_be_bytes();
        Command::new(CLA_SM, 0xB0, p1, p2).with_data(&[TAG_LE, 0x02, hi, lo]).with_le(Le::Short(0))
    }

    /// Unwraps an SM READ BINARY response body (without SW).
    pub fn unwrap_read(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
        self.decrypt_object(data)
    }
}
