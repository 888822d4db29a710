//! The residence card number (在留カード等番号), the secret that opens the chip
//! (SPEC15 §3.4.1, Annex 1; first-generation notes §7).

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::InputError;

/// A card number: 12 ASCII letters and digits, upper case. Wiped on drop; its
/// `Debug` is redacted and it has no `Display`.
#[derive(Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct CardNumber([u8; 12]);

impl CardNumber {
    /// Normalises input as a clerk types it: trims white space, upper-cases, and
    /// requires exactly 12 ASCII alphanumerics. The usual 2 letters + 8 digits +
    /// 2 letters shape is *not* enforced (the card is the authority; see
    /// [`CardNumber::has_usual_shape`]).
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let t = input.trim();
        let len = t.chars().count();
        if t.len() != 12 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(InputError::BadCardNumber { len });
        }
        let mut out = [0u8; 12];
        for (o, b) in out.iter_mut().zip(t.bytes()) {
            *o = b.to_ascii_uppercase();
        }
        Ok(CardNumber(out))
    }

    /// Whether the number has the usual `AA12345678BB` shape. A `false` is a
    /// warning, not an error.
    pub fn has_usual_shape(&self) -> bool {
        let b = &self.0;
        b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..10].iter().all(u8::is_ascii_digit)
            && b[10..].iter().all(u8::is_ascii_uppercase)
    }

    /// The 12 bytes fed to key derivation and VERIFY.
    pub fn expose(&self) -> &[u8; 12] {
        &self.0
    }

    /// A redacted form safe for reports and logs: first two and last two
    /// characters, e.g. `AA********BB`.
    pub fn redacted(&self) -> String {
        let b = &self.0;
        format!("{}{}********{}{}", b[0] as char, b[1] as char, b[10] as char, b[11] as char)
    }

    /// Constant-time comparison with bytes read from the chip (second generation,
    /// DF1/EF01 `C2`).
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        other.len() == 12 && bool::from(self.0.ct_eq(other))
    }
}

impl core::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CardNumber(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_validates() {
        let n = CardNumber::parse("  aa12345678bb\n").unwrap();
        assert_eq!(n.expose(), b"AA12345678BB");
        assert!(n.has_usual_shape());
        let odd = CardNumber::parse("123456789012").unwrap();
        assert!(!odd.has_usual_shape());
        for bad in ["", "AA1234567BB", "AA123456789BB", "AA12345678B-", "ＡＡ12345678BB", "AA 2345678BB"] {
            assert!(CardNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn never_prints() {
        let n = CardNumber::parse("AA12345678BB").unwrap();
        let d = format!("{n:?}");
        assert!(!d.contains("12345678"));
        assert_eq!(n.redacted(), "AA********BB");
        let e = CardNumber::parse("AA12345678B").unwrap_err();
        assert!(!e.to_string().contains("12345678"));
    }
}
