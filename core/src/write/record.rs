//! The new EF content of a write and its write intent (AWP §3, §4.2).
//!
//! * First generation: DF2/EF01 keeps the official layout (SPEC15 §3.3.4.5): `D2 08`
//!   date `YYYYMMDD`, `D3 06` municipality code (全国地方公共団体コード with its check
//!   digit), `D4 82 01 40` the address in UTF-8, zero-padded to 320 bytes: 342 bytes in
//!   all, the file's whole capacity, so every reader reads what was written.
//! * Second generation: DF1/EF04 (GEN2 §3.3.4) is `DF D1 82 09 C4` and the 2,500-byte
//!   address image (a CCITT G4 TIFF followed by zero fill): 2,505 bytes. Rendering
//!   the text into that image is the authority crate's job; here is only the
//!   content type.
//!
//! The write intent is SHA-256 of the exact new EF content, bound to the file it is
//! for ([`WriteIntent`]).

use subtle::ConstantTimeEq;

use crate::files::{is_calendar_date, is_unsafe_char, municipality_check_digit_ok};
use crate::layout::value_len::{ADDRESS, ADDRESS_IMAGE};
use crate::layout::{Df, Ef, gen1, gen2};

/// Most characters an address may have (AWP §4.2: the face of the card has room for 80).
pub const MAX_ADDRESS_CHARS: usize = 80;

/// Why a record cannot be written. Every check runs before anything is sent to a card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The date is not `YYYYMMDD` of a real day.
    #[error("date is not YYYYMMDD of a real day")]
    Date,
    /// The municipality code is not six digits with a valid check digit.
    #[error("municipality code is not 6 digits with a valid check digit")]
    MunicipalityCode,
    /// The address is empty (or only spaces).
    #[error("address is empty")]
    EmptyAddress,
    /// The address has more than [`MAX_ADDRESS_CHARS`] characters.
    #[error("address has {0} characters, more than 80")]
    AddressTooLong(usize),
    /// The address does not fit the 320 bytes of `D4` in UTF-8.
    #[error("address is {0} bytes of UTF-8, more than 320")]
    AddressTooManyBytes(usize),
    /// The address holds a control or bidirectional-override character.
    #[error("address holds a control or bidirectional-override character at position {0}")]
    UnsafeCharacter(usize),
    /// The address image is empty, longer than 2,500 bytes, or not a TIFF.
    #[error("address image is not a TIFF of 1 to 2500 bytes")]
    Image,
}

/// The file a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteTarget {
    /// DF2/EF01, the first generation's address record (code `01`).
    Df2Ef01,
    /// DF1/EF04, the second generation's address image (code `02`).
    Df1Ef04,
}

impl WriteTarget {
    /// The one-byte code in the write intent.
    pub const fn code(self) -> u8 {
        match self {
            WriteTarget::Df2Ef01 => 0x01,
            WriteTarget::Df1Ef04 => 0x02,
        }
    }

    /// The target of a code.
    pub const fn from_code(c: u8) -> Option<Self> {
        match c {
            0x01 => Some(WriteTarget::Df2Ef01),
            0x02 => Some(WriteTarget::Df1Ef04),
            _ => None,
        }
    }

    /// The EF in the layout table.
    pub const fn ef(self) -> Ef {
        match self {
            WriteTarget::Df2Ef01 => gen1::DF2_EF01,
            WriteTarget::Df1Ef04 => gen2::DF1_EF04,
        }
    }

    /// The DF that holds it.
    pub const fn df(self) -> Df {
        self.ef().df
    }

    /// The exact content length (the file's capacity).
    pub const fn content_len(self) -> usize {
        self.ef().capacity
    }

    /// Name for logs (`"DF2/EF01"`).
    pub const fn name(self) -> &'static str {
        self.ef().name
    }
}

/// SHA-256 of the exact new content of one file: what the terminal's signature
/// authorises (AWP §4.3a, carried in the TA auxiliary data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteIntent {
    /// The file.
    pub target: WriteTarget,
    /// SHA-256 of its whole new content.
    pub content_hash: [u8; 32],
}

impl WriteIntent {
    /// The intent of writing `content` into `target`.
    pub fn of(target: WriteTarget, content: &[u8]) -> Self {
        WriteIntent { target, content_hash: super::sha256(content) }
    }

    /// Whether `content` written to `target` is what this intent authorises (the
    /// card's check before it commits; the hash compared in constant time).
    pub fn authorises(&self, target: WriteTarget, content: &[u8]) -> bool {
        let h = super::sha256(content);
        self.target == target && bool::from(h.ct_eq(&self.content_hash))
    }

    /// The 33 bytes of the intent's `53` object: target code ‖ hash.
    pub fn to_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = self.target.code();
        out[1..].copy_from_slice(&self.content_hash);
        out
    }

    /// Parses the 33 bytes of the `53` object.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != 33 {
            return None;
        }
        let target = WriteTarget::from_code(b[0])?;
        Some(WriteIntent { target, content_hash: b[1..].try_into().ok()? })
    }
}

/// A new first-generation address record as the clerk enters it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewAddress {
    /// 追記書き込み年月日, `YYYYMMDD`.
    pub date: String,
    /// 市町村コード, 6 digits with check digit.
    pub municipality_code: String,
    /// 住居地, at most 80 characters and 320 bytes of UTF-8, no control characters.
    pub address: String,
}

impl NewAddress {
    /// Runs every check of AWP §4.2 on the record.
    pub fn check(&self) -> Result<(), RecordError> {
        if !is_calendar_date(&self.date) {
            return Err(RecordError::Date);
        }
        if !municipality_check_digit_ok(&self.municipality_code) {
            return Err(RecordError::MunicipalityCode);
        }
        if let Some(i) = self.address.chars().position(is_unsafe_char) {
            return Err(RecordError::UnsafeCharacter(i));
        }
        if self.address.trim().is_empty() {
            return Err(RecordError::EmptyAddress);
        }
        let chars = self.address.chars().count();
        if chars > MAX_ADDRESS_CHARS {
            return Err(RecordError::AddressTooLong(chars));
        }
        if self.address.len() > ADDRESS {
            return Err(RecordError::AddressTooManyBytes(self.address.len()));
        }
        Ok(())
    }

    /// Whether a record read back from the card (the normal read, [`crate::files::gen1::AddressRecord`])
    /// holds exactly this record.
    pub fn matches(&self, read: &crate::files::gen1::AddressRecord) -> bool {
        read.date.as_deref() == Some(self.date.as_str())
            && read.municipality_code.as_deref() == Some(self.municipality_code.as_str())
            && read.address.as_ref().is_some_and(|a| a.text == self.address)
    }
}

/// The exact new content of one file, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct NewContent {
    target: WriteTarget,
    bytes: Vec<u8>,
}

impl core::fmt::Debug for NewContent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NewContent({}, {} bytes)", self.target.name(), self.bytes.len())
    }
}

impl NewContent {
    /// DF2/EF01 from a first-generation record (checked): `D2 08 ‖ date ‖ D3 06 ‖
    /// code ‖ D4 82 01 40 ‖ address ‖ 00…` (342 bytes).
    pub fn df2_ef01(record: &NewAddress) -> Result<Self, RecordError> {
        record.check()?;
        let mut b = Vec::with_capacity(gen1::DF2_EF01.capacity);
        b.extend_from_slice(&[0xD2, 0x08]);
        b.extend_from_slice(record.date.as_bytes());
        b.extend_from_slice(&[0xD3, 0x06]);
        b.extend_from_slice(record.municipality_code.as_bytes());
        b.extend_from_slice(&[0xD4, 0x82, 0x01, 0x40]);
        b.extend_from_slice(record.address.as_bytes());
        b.resize(gen1::DF2_EF01.capacity, 0);
        Ok(NewContent { target: WriteTarget::Df2Ef01, bytes: b })
    }

    /// DF1/EF04 from a rendered address image (a TIFF of at most 2,500 bytes):
    /// `DF D1 82 09 C4 ‖ image ‖ 00…` (2,505 bytes).
    pub fn df1_ef04(tiff: &[u8]) -> Result<Self, RecordError> {
        let is_tiff = tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*");
        if !is_tiff || tiff.len() > ADDRESS_IMAGE {
            return Err(RecordError::Image);
        }
        let mut b = Vec::with_capacity(gen2::DF1_EF04.capacity);
        b.extend_from_slice(&[0xDF, 0xD1, 0x82, 0x09, 0xC4]);
        b.extend_from_slice(tiff);
        b.resize(gen2::DF1_EF04.capacity, 0);
        Ok(NewContent { target: WriteTarget::Df1Ef04, bytes: b })
    }

    /// The file.
    pub fn target(&self) -> WriteTarget {
        self.target
    }

    /// The exact bytes to write (the whole file).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the bytes, bound to the target.
    pub fn intent(&self) -> WriteIntent {
        WriteIntent::of(self.target, &self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::gen1::AddressRecord;

    pub(crate) fn record() -> NewAddress {
        NewAddress {
            date: "20260430".into(),
            municipality_code: "131016".into(),
            address: "東京都千代田区霞が関１－１－１".into(),
        }
    }

    #[test]
    fn df2_ef01_is_the_official_layout_and_reads_back() {
        let c = NewContent::df2_ef01(&record()).unwrap();
        let b = c.bytes();
        assert_eq!(b.len(), 342);
        assert_eq!(&b[..10], b"\xD2\x0820260430");
        assert_eq!(&b[10..18], b"\xD3\x06131016");
        assert_eq!(&b[18..22], &[0xD4, 0x82, 0x01, 0x40]);
        assert!(b[22 + record().address.len()..].iter().all(|&x| x == 0));
        // The normal first-generation parser reads exactly the record.
        let read = AddressRecord::parse(b).unwrap();
        assert!(record().matches(&read));
        let mut other = record();
        other.address.push('2');
        assert!(!other.matches(&read));
        assert_eq!(c.target(), WriteTarget::Df2Ef01);
        assert_eq!(c.intent().content_hash, crate::write::sha256(b));
    }

    #[test]
    fn refusals() {
        let bad = |f: &dyn Fn(&mut NewAddress)| {
            let mut r = record();
            f(&mut r);
            NewContent::df2_ef01(&r).unwrap_err()
        };
        assert_eq!(bad(&|r| r.date = "20260431".into()), RecordError::Date);
        assert_eq!(bad(&|r| r.date = "2026-4-30".into()), RecordError::Date);
        assert_eq!(bad(&|r| r.municipality_code = "131017".into()), RecordError::MunicipalityCode);
        assert_eq!(bad(&|r| r.municipality_code = "13101".into()), RecordError::MunicipalityCode);
        assert_eq!(bad(&|r| r.address = "  ".into()), RecordError::EmptyAddress);
        assert_eq!(bad(&|r| r.address = "東京都\n千代田区".into()), RecordError::UnsafeCharacter(3));
        assert_eq!(bad(&|r| r.address = "東京都\u{202E}区".into()), RecordError::UnsafeCharacter(3));
        // Invisible characters that would make the confirmation show another text.
        for c in ['\u{200B}', '\u{200E}', '\u{061C}', '\u{FEFF}', '\u{2028}', '\u{00AD}', '\u{2060}'] {
            assert_eq!(bad(&|r| r.address = format!("東京都{c}区")), RecordError::UnsafeCharacter(3), "{c:?}");
        }
        // A variation selector of an ideographic variation sequence is a spelling.
        assert!(!is_unsafe_char('\u{E0100}') && !is_unsafe_char('\u{FE00}'));
        assert_eq!(bad(&|r| r.address = "東京都\0".into()), RecordError::UnsafeCharacter(3));
        assert_eq!(bad(&|r| r.address = "あ".repeat(81)), RecordError::AddressTooLong(81));
        // 80 characters of 4-byte UTF-8 are 320 bytes: fits exactly; one 2-byte
        // more character does not.
        let mut r = record();
        r.address = "𠮷".repeat(80);
        assert_eq!(NewContent::df2_ef01(&r).unwrap().bytes().len(), 342);
        r.address = format!("{}é", "𠮷".repeat(79));
        assert!(NewContent::df2_ef01(&r).is_ok());
        // UTF-8 takes at most 4 bytes a character, so 80 characters always fit 320
        // bytes; the byte check stays as a guard of the layout.
        r.address = format!("{}éé", "𠮷".repeat(79));
        assert_eq!(NewContent::df2_ef01(&r).unwrap_err(), RecordError::AddressTooLong(81));
        r.address = format!("{}éé", "𠮷".repeat(80));
        assert_eq!(NewContent::df2_ef01(&r).unwrap_err(), RecordError::AddressTooLong(82));
        r.address = "a".repeat(79) + "𠮷𠮷";
        assert_eq!(NewContent::df2_ef01(&r).unwrap_err(), RecordError::AddressTooLong(81));
    }

    #[test]
    fn df1_ef04_layout_and_gen2_parser() {
        let tiff = [b"II*\0".as_slice(), &[7u8; 100]].concat();
        let c = NewContent::df1_ef04(&tiff).unwrap();
        assert_eq!(c.bytes().len(), 2505);
        assert_eq!(&c.bytes()[..5], &[0xDF, 0xD1, 0x82, 0x09, 0xC4]);
        let img = crate::files::gen2::parse_address_image(c.bytes()).unwrap();
        assert!(img.value.starts_with(&tiff));
        assert_eq!(img.value.len(), 2500);
        assert_eq!(NewContent::df1_ef04(b"GIF89a"), Err(RecordError::Image));
        assert_eq!(NewContent::df1_ef04(&[b"MM\0*".as_slice(), &[0u8; 2497]].concat()), Err(RecordError::Image));
        assert!(NewContent::df1_ef04(&[b"MM\0*".as_slice(), &[0u8; 2496]].concat()).is_ok());
    }

    #[test]
    fn intent_binds_content_and_target() {
        let a = NewContent::df2_ef01(&record()).unwrap();
        let mut r = record();
        r.address = "大阪府大阪市北区".into();
        r.municipality_code = "271276".into();
        let b = NewContent::df2_ef01(&r).unwrap();
        let i = a.intent();
        assert!(i.authorises(WriteTarget::Df2Ef01, a.bytes()));
        assert!(!i.authorises(WriteTarget::Df2Ef01, b.bytes()));
        assert!(!i.authorises(WriteTarget::Df1Ef04, a.bytes()));
        assert_eq!(WriteIntent::from_bytes(&i.to_bytes()), Some(i));
        assert_eq!(WriteIntent::from_bytes(&[3u8; 33]), None);
        assert_eq!(WriteIntent::from_bytes(&[1u8; 32]), None);
    }
}
