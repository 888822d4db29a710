//! The data model: one type per elementary file, parsed from the bytes the card
//! returns (SPEC15 §3.3.4, first generation). Parsing only: verification lives in
//! [`crate::verify`].
//!
//! All data objects are fixed length and zero-padded (SPEC15 §3.2.3.1). Text is
//! UTF-8 without BOM (SPEC15 §3.3.4); whether cards issued before Ver 1.5 used
//! UTF-8 is an open question (first-generation notes, open question 1), so a value
//! that is not UTF-8 is decoded as Shift_JIS (CP932) and flagged.

use crate::error::{ParseError, ParseProblem};
use crate::tlv::{self, Tlv};

pub mod codes;
pub mod gen1;
pub mod gen2;

pub use gen1::{
    AddressRecord, FACE_IMAGE_LEN, FRONT_IMAGE_LEN, RenewalStatus, SignatureFile, municipality_check_digit_ok,
    parse_face_image, parse_front_image, parse_permission,
};

pub(crate) fn perr(file: &'static str, offset: usize, what: ParseProblem) -> ParseError {
    ParseError { file, offset, what }
}

pub(crate) fn single<'a>(file: &'static str, data: &'a [u8], tag: u16) -> Result<Option<Tlv<'a>>, ParseError> {
    let objs = tlv::parse_all(file, data)?;
    match objs.first() {
        None => Ok(None),
        Some(t) if t.tag == tag => Ok(Some(*t)),
        Some(t) => Err(perr(file, t.offset, ParseProblem::UnexpectedTag { expected: tag, found: t.tag })),
    }
}

pub(crate) fn required<'a>(file: &'static str, data: &'a [u8], tag: u16) -> Result<Tlv<'a>, ParseError> {
    single(file, data, tag)?.ok_or_else(|| perr(file, 0, ParseProblem::MissingTag(tag)))
}

pub(crate) fn max_len(file: &'static str, t: &Tlv<'_>, max: usize) -> Result<(), ParseError> {
    if t.value.len() > max {
        return Err(perr(file, t.offset, ParseProblem::BadValueLength { got: t.value.len(), max }));
    }
    Ok(())
}

/// A short value as printable ASCII text (zero fill removed), kept as read so that
/// a value with a wrong form is reported raw (with a warning) rather than ending the
/// read. Bytes outside printable ASCII are a parse error: not a value of this kind.
pub(crate) fn ascii_text(file: &'static str, t: &Tlv<'_>, what: &'static str) -> Result<Option<String>, ParseError> {
    let v = tlv::trim_zero_fill(t.value);
    if !v.iter().all(|&b| b == b' ' || b.is_ascii_graphic()) {
        return Err(perr(file, t.offset, ParseProblem::BadFormat(what)));
    }
    Ok((!v.is_empty()).then(|| String::from_utf8_lossy(v).into_owned()))
}

/// A code as read, for display and the report: printable ASCII kept, every other
/// byte (and `\\` itself, so the rendering is unambiguous) written `\\xNN`.
pub(crate) fn raw_code(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for &b in v {
        if b.is_ascii_graphic() && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// A one-character flag of DF2 (`"0"` no, `"1"` yes). Any other value is kept as
/// read ([`raw_code`]) and reported with a `code_unknown` warning: DF2 is unsigned
/// and an odd value must not stop the read (SPEC15 §3.3.4.8, GEN2 §3.3.4.9).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// `"0"`.
    No,
    /// `"1"`.
    Yes,
    /// Anything else, as read.
    Unknown(String),
}

impl Flag {
    pub(crate) fn from_code(code: String) -> Self {
        match code.as_str() {
            "0" => Flag::No,
            "1" => Flag::Yes,
            _ => Flag::Unknown(code),
        }
    }

    /// `Some(true)` for `"1"`, `Some(false)` for `"0"`, `None` for an unknown value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Flag::No => Some(false),
            Flag::Yes => Some(true),
            Flag::Unknown(_) => None,
        }
    }

    /// The value as stored: `"0"`, `"1"` or the unknown value ([`raw_code`]).
    pub fn code(&self) -> &str {
        match self {
            Flag::No => "0",
            Flag::Yes => "1",
            Flag::Unknown(c) => c,
        }
    }
}

/// Whether `d` is a calendar date written `YYYYMMDD` (Gregorian).
pub fn is_calendar_date(d: &str) -> bool {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: core::ops::Range<usize>| d[r].parse::<u32>().unwrap_or(0);
    let (y, m, day) = (n(0..4), n(4..6), n(6..8));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// MF/EF01 共通データ要素: tag `C0`, the spec version, 4 ASCII characters (SPEC15 §3.3.4.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommonData {
    /// e.g. `"0001"`.
    pub spec_version: String,
}

impl CommonData {
    /// The file's name in errors.
    pub const FILE: &'static str = crate::layout::mf::EF01.name;

    /// Parses MF/EF01.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let t = required(Self::FILE, data, 0xC0)?;
        max_len(Self::FILE, &t, 4)?;
        let v = tlv::trim_zero_fill(t.value);
        if !v.iter().all(|b| b.is_ascii_graphic()) {
            return Err(perr(Self::FILE, t.offset, ParseProblem::BadFormat("spec version is not ASCII")));
        }
        Ok(CommonData { spec_version: String::from_utf8(v.to_vec()).expect("ASCII") })
    }
}

/// Which card this is: MF/EF02 カード種別, tag `C1` (SPEC15 §3.3.4.2; GEN2 §3.3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CardType {
    /// `"1"` 在留カード (first generation).
    ResidenceCard,
    /// `"2"` 特別永住者証明書 (first generation).
    SpecialPermanentResident,
    /// `"05"` 第２世代在留カード.
    Gen2ResidenceCard,
    /// `"06"` 第２世代特別永住者証明書.
    Gen2SpecialPermanentResident,
    /// `"07"` 特定在留カード (specified card, My Number integrated).
    SpecifiedResidenceCard,
    /// `"08"` 特定特別永住者証明書.
    SpecifiedSpecialPermanentResident,
}

impl CardType {
    /// The file's name in errors.
    pub const FILE: &'static str = crate::layout::gen1::MF_EF02.name;

    /// Parses MF/EF02 length-aware: `C1 01 3x` (first generation) or `C1 02 30 3x`
    /// (second generation and specified cards). Unknown values are an
    /// [`crate::error::UnsupportedError::UnknownCardType`] carrying at most the two
    /// type bytes.
    pub fn parse(data: &[u8]) -> Result<Self, crate::Error> {
        let t = required(Self::FILE, data, 0xC1)?;
        Ok(match t.value {
            b"1" => CardType::ResidenceCard,
            b"2" => CardType::SpecialPermanentResident,
            b"05" => CardType::Gen2ResidenceCard,
            b"06" => CardType::Gen2SpecialPermanentResident,
            b"07" => CardType::SpecifiedResidenceCard,
            b"08" => CardType::SpecifiedSpecialPermanentResident,
            _ => {
                // The type value only, at most its two bytes: never the rest of the file.
                let v = &t.value[..t.value.len().min(2)];
                return Err(crate::error::UnsupportedError::UnknownCardType(hex::encode_upper(v)).into());
            }
        })
    }

    /// The code as printed in the spec (`"1"`, `"05"` …).
    pub fn code(self) -> &'static str {
        match self {
            CardType::ResidenceCard => "1",
            CardType::SpecialPermanentResident => "2",
            CardType::Gen2ResidenceCard => "05",
            CardType::Gen2SpecialPermanentResident => "06",
            CardType::SpecifiedResidenceCard => "07",
            CardType::SpecifiedSpecialPermanentResident => "08",
        }
    }

    /// 1 for the first generation, 2 for the second and for specified cards.
    pub fn generation(self) -> u8 {
        match self {
            CardType::ResidenceCard | CardType::SpecialPermanentResident => 1,
            _ => 2,
        }
    }

    /// Japanese and English names.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            CardType::ResidenceCard => ("在留カード", "Residence card"),
            CardType::SpecialPermanentResident => ("特別永住者証明書", "Special permanent resident certificate"),
            CardType::Gen2ResidenceCard => ("第２世代在留カード", "Residence card (second generation)"),
            CardType::Gen2SpecialPermanentResident => {
                ("第２世代特別永住者証明書", "Special permanent resident certificate (second generation)")
            }
            CardType::SpecifiedResidenceCard => ("特定在留カード", "Specified residence card"),
            CardType::SpecifiedSpecialPermanentResident => {
                ("特定特別永住者証明書", "Specified special permanent resident certificate")
            }
        }
    }

    /// Whether the residence-card-only DF2 files exist: gen1 DF2/EF02-EF04 (SPEC15
    /// §4.2.5 (iii): 在留カードのみ), gen2 DF2/EF01-EF02 (`docs/spec-facts.md` §2).
    pub fn has_permission_files(self) -> bool {
        matches!(self, CardType::ResidenceCard | CardType::Gen2ResidenceCard | CardType::SpecifiedResidenceCard)
    }

    /// Whether the card is a special permanent resident certificate (no DF2/EF02-04).
    pub fn is_special_permanent(self) -> bool {
        matches!(
            self,
            CardType::SpecialPermanentResident
                | CardType::Gen2SpecialPermanentResident
                | CardType::SpecifiedSpecialPermanentResident
        )
    }
}

/// Detected image container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// TIFF (the front image is MMR / CCITT G4, SPEC15 §3.3.4.3).
    Tiff,
    /// JPEG 2000 in the JP2 container (`00 00 00 0C 6A 50 20 20`).
    Jp2,
    /// Raw JPEG 2000 codestream (`FF 4F FF 51`). The spec does not say which of the two
    /// the face is (first-generation notes §5), so both are accepted.
    J2k,
    /// All zero: no image stored (under-16 cards have no face photo, SPEC15 §3.3.5).
    Empty,
    /// Something else.
    Unknown,
}

impl ImageFormat {
    /// Detects the format from the first bytes.
    pub fn detect(v: &[u8]) -> Self {
        if v.iter().all(|&b| b == 0) {
            ImageFormat::Empty
        } else if v.starts_with(b"II*\0") || v.starts_with(b"MM\0*") {
            ImageFormat::Tiff
        } else if v.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) {
            ImageFormat::Jp2
        } else if v.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
            ImageFormat::J2k
        } else {
            ImageFormat::Unknown
        }
    }

    /// A file extension for exports.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Tiff => "tif",
            ImageFormat::Jp2 => "jp2",
            ImageFormat::J2k => "j2k",
            ImageFormat::Empty | ImageFormat::Unknown => "bin",
        }
    }
}

/// An image data object: the full fixed-length value (what the signature covers)
/// and the detected format.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// The value exactly as stored, including its zero fill.
    pub value: Vec<u8>,
    /// Detected container.
    pub format: ImageFormat,
}

impl core::fmt::Debug for Image {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Image({:?}, {} bytes)", self.format, self.value.len())
    }
}

impl Image {
    /// An image from its stored value.
    pub fn from_value(value: &[u8]) -> Self {
        Image { value: value.to_vec(), format: ImageFormat::detect(value) }
    }

    /// No image.
    pub fn empty() -> Self {
        Image { value: Vec::new(), format: ImageFormat::Empty }
    }

    pub(crate) fn parse(file: &'static str, data: &[u8], tag: u16, max: usize) -> Result<Self, ParseError> {
        match single(file, data, tag)? {
            Some(t) => {
                max_len(file, &t, max)?;
                Ok(Image { value: t.value.to_vec(), format: ImageFormat::detect(t.value) })
            }
            // An all-zero file: no image (under-16 face, SPEC15 §3.3.5).
            None => Ok(Image { value: Vec::new(), format: ImageFormat::Empty }),
        }
    }

    /// The image without the field's zero fill, for display and export.
    ///
    /// A TIFF or JP2 file may itself end in `00` bytes (a TIFF's last IFD link, a
    /// NUL-terminated string), so the end is taken from the file's own structure
    /// where it can be read, and never before the last non-zero byte: no image byte
    /// is ever cut off.
    pub fn bytes(&self) -> &[u8] {
        let trimmed = tlv::trim_zero_fill(&self.value).len();
        let structural = match self.format {
            ImageFormat::Tiff => tiff_extent(&self.value),
            ImageFormat::Jp2 => jp2_extent(&self.value),
            _ => None,
        };
        let end = structural.unwrap_or(trimmed).max(trimmed).min(self.value.len());
        &self.value[..end]
    }

    /// Whether an image is present.
    pub fn is_present(&self) -> bool {
        self.format != ImageFormat::Empty
    }
}

/// The end of a TIFF file inside `v`: the furthest byte referenced by its header,
/// IFDs, out-of-line tag values and strips. `None` if the structure is not readable.
pub fn tiff_extent(v: &[u8]) -> Option<usize> {
    let le = match v.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u32> {
        let b = v.get(o..o.checked_add(2)?)?;
        Some(u32::from(if le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) }))
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = v.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let mut end = 8usize;
    let mut ifd = u32_at(4)? as usize;
    if ifd == 0 {
        return None;
    }
    let (mut strip_offsets, mut strip_counts) = (Vec::new(), Vec::new());
    for _ in 0..16 {
        if ifd == 0 {
            break;
        }
        let n = u16_at(ifd)? as usize;
        let ifd_end = ifd.checked_add(2 + 12 * n + 4)?;
        if ifd_end > v.len() {
            return None;
        }
        end = end.max(ifd_end);
        for i in 0..n {
            let e = ifd + 2 + 12 * i;
            let (tag, typ, count) = (u16_at(e)?, u16_at(e + 2)?, u32_at(e + 4)? as usize);
            let size = match typ {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 => 4,
                5 | 10 | 12 => 8,
                _ => return None,
            };
            let total = count.checked_mul(size)?;
            let at = if total > 4 { u32_at(e + 8)? as usize } else { e + 8 };
            if total > 4 {
                end = end.max(at.checked_add(total)?);
            }
            if tag == 273 || tag == 279 {
                let mut vals = Vec::with_capacity(count.min(64));
                for k in 0..count.min(4096) {
                    vals.push(if size == 2 { u16_at(at + 2 * k)? } else { u32_at(at + 4 * k)? } as usize);
                }
                if tag == 273 { strip_offsets = vals } else { strip_counts = vals }
            }
        }
        ifd = u32_at(ifd_end - 4)? as usize;
    }
    for (o, c) in strip_offsets.iter().zip(&strip_counts) {
        end = end.max(o.checked_add(*c)?);
    }
    (end <= v.len()).then_some(end)
}

/// The end of a JP2 file inside `v`: the end of its last box (ISO/IEC 15444-1
/// Annex I). `None` if the box structure is not readable.
pub fn jp2_extent(v: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    for _ in 0..64 {
        if pos >= v.len() || v[pos..].iter().all(|&b| b == 0) {
            return Some(pos);
        }
        let len = u32::from_be_bytes(v.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let next = match len {
            // "To the end of the file": the codestream ends with EOC (FF D9).
            0 => return Some(pos + tlv::trim_zero_fill(&v[pos..]).len()),
            1 => {
                pos.checked_add(usize::try_from(u64::from_be_bytes(v.get(pos + 8..pos + 16)?.try_into().ok()?)).ok()?)?
            }
            2..=7 => return None,
            n => pos.checked_add(n)?,
        };
        if next > v.len() {
            return None;
        }
        pos = next;
    }
    None
}

/// How a text value was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8, as SPEC15 §3.3.4 prescribes.
    Utf8,
    /// Not valid UTF-8; decoded as Shift_JIS (CP932) — flagged for review
    /// (first generation only).
    ShiftJisFallback,
    /// Not valid UTF-8; decoded with replacement characters — flagged (second generation).
    Utf8Lossy,
}

/// A decoded text field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Text {
    /// The text, without the zero fill.
    pub text: String,
    /// How it was decoded.
    pub encoding: TextEncoding,
    /// Whether the fallback decoder met bytes it could not map.
    pub lossy: bool,
}

/// Whether a character can change how a terminal or a page shows the text around
/// it, or can make two different texts look the same: C0 and C1 controls, DEL, the
/// bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E–U+200F,
/// U+202A–U+202E, U+2066–U+2069), the invisible format characters (soft hyphen
/// U+00AD, U+180E, zero-width space / non-joiner / joiner U+200B–U+200D, U+2060–U+2064,
/// U+206A–U+206F, the byte-order mark U+FEFF, the interlinear annotation marks
/// U+FFF9–U+FFFB) and the line and paragraph separators U+2028–U+2029. Variation
/// selectors are not among them: ideographic variation sequences (U+E0100…) spell
/// variant kanji of names.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

impl Text {
    /// Whether the text holds a character of [`is_unsafe_char`]; such text is
    /// reported with a warning and shown escaped by the CLI.
    pub fn has_unsafe_chars(&self) -> bool {
        self.text.chars().any(is_unsafe_char)
    }

    /// Decodes a zero-filled value: UTF-8, else Shift_JIS/CP932 flagged.
    ///
    /// No maintained Rust crate decodes Shift_JIS-2004 (JIS X 0213), the other
    /// encoding pre-Ver 1.5 cards may have used (docs/spec-facts.md §1.5), so the
    /// fallback is CP932 (`encoding_rs`), and `lossy` is set wherever the two
    /// differ: a byte sequence CP932 cannot decode (JIS X 0213 cells that JIS X
    /// 0208 leaves empty, U+FFFD here), and the lead bytes whose characters CP932
    /// and JIS X 0213 define differently ([`sjis2004_differs`]). Mapping variants of
    /// one character (CP932 `～` U+FF5E where JIS X 0213 says `〜` U+301C) are not
    /// flagged. The raw bytes remain available in the dump.
    pub fn decode(value: &[u8]) -> Self {
        let v = tlv::trim_zero_fill(value);
        match core::str::from_utf8(v) {
            Ok(s) => Text { text: s.to_owned(), encoding: TextEncoding::Utf8, lossy: false },
            Err(_) => {
                let (cow, _, had_errors) = encoding_rs::SHIFT_JIS.decode(v);
                let lossy = had_errors || sjis2004_differs(v);
                Text { text: cow.into_owned(), encoding: TextEncoding::ShiftJisFallback, lossy }
            }
        }
    }
}

/// Whether Shift_JIS bytes hold a double-byte character that CP932 decodes
/// successfully but as another character than Shift_JIS-2004 (JIS X 0213:2004):
/// lead bytes `ED`–`EE` (rows 89–92: NEC-selected IBM extensions in CP932, plane-1
/// kanji in JIS X 0213) and `F0`–`FC` (user-defined area and IBM extensions in
/// CP932, plane 2 in JIS X 0213).
pub fn sjis2004_differs(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        if matches!(b, 0x81..=0x9F | 0xE0..=0xFC) {
            if matches!(b, 0xED..=0xEE | 0xF0..=0xFC) && i + 1 < v.len() {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(objs: &[(u16, &[u8])], pad_to: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, v) in objs {
            tlv::encode(*tag, v, &mut out);
        }
        out.resize(pad_to.max(out.len()), 0);
        out
    }

    fn padded(s: &[u8], n: usize) -> Vec<u8> {
        let mut v = s.to_vec();
        v.resize(n, 0);
        v
    }

    #[test]
    fn shift_jis_text_is_lossy_where_cp932_and_jis_x_0213_differ() {
        // 東京 in Shift_JIS: the same in CP932 and Shift_JIS-2004.
        let same = Text::decode(&[0x93, 0x8C, 0x8B, 0x9E, 0, 0]);
        assert_eq!((same.text.as_str(), same.encoding, same.lossy), ("東京", TextEncoding::ShiftJisFallback, false));
        // ED 40: an IBM extension kanji in CP932, another kanji in JIS X 0213 row 89.
        assert!(Text::decode(&[0x93, 0x8C, 0xED, 0x40]).lossy);
        // F0 40: the user-defined area in CP932 (a private-use character), plane 2 in JIS X 0213.
        assert!(Text::decode(&[0xF0, 0x40]).lossy);
        // FA 40: an IBM extension in CP932, plane 2 in JIS X 0213.
        assert!(Text::decode(&[0xFA, 0x40]).lossy);
        // 85 40: row 9, empty in CP932 (U+FFFD), Latin letters in JIS X 0213.
        assert!(Text::decode(&[0x85, 0x40]).lossy);
        // A trail byte that looks like a lead (ED as the second byte of 88 ED) is not one.
        assert!(!sjis2004_differs(&[0x88, 0xED, 0x41]));
    }

    #[test]
    fn card_types() {
        assert_eq!(CardType::parse(&[0xC1, 1, b'1']).unwrap(), CardType::ResidenceCard);
        assert_eq!(CardType::parse(&[0xC1, 1, b'2']).unwrap(), CardType::SpecialPermanentResident);
        assert_eq!(CardType::parse(&[0xC1, 2, b'0', b'5']).unwrap(), CardType::Gen2ResidenceCard);
        assert_eq!(CardType::parse(&[0xC1, 2, b'0', b'8']).unwrap().generation(), 2);
        let e = CardType::parse(&[0xC1, 1, b'9']).unwrap_err();
        assert_eq!(e.code(), "unknown_card_type");
        // A second-generation value cut to 3 bytes is a parse error, not a type.
        assert_eq!(CardType::parse(&[0xC1, 2, b'0']).unwrap_err().code(), "parse");
    }

    #[test]
    fn common_data() {
        assert_eq!(CommonData::parse(&[0xC0, 4, b'0', b'0', b'0', b'1']).unwrap().spec_version, "0001");
        assert!(CommonData::parse(&[0xC1, 1, b'1']).is_err());
    }

    #[test]
    fn address_record() {
        let text = "東京都千代田区霞が関１丁目１番１号".as_bytes();
        let data = file(&[(0xD2, b"20240401"), (0xD3, b"131016"), (0xD4, &padded(text, 320))], 342);
        assert_eq!(data.len(), 342);
        let r = AddressRecord::parse(&data).unwrap();
        assert_eq!(r.date.as_deref(), Some("20240401"));
        assert_eq!(r.municipality_code.as_deref(), Some("131016"));
        let a = r.address.unwrap();
        assert_eq!(a.text, "東京都千代田区霞が関１丁目１番１号");
        assert_eq!(a.encoding, TextEncoding::Utf8);

        let bad = file(&[(0xD2, b"20240401"), (0xD3, b"131017"), (0xD4, &padded(text, 320))], 342);
        // A wrong check digit is kept as read (a warning, crate::checks), never an error.
        let r = AddressRecord::parse(&bad).unwrap();
        assert_eq!(r.municipality_code.as_deref(), Some("131017"));
        assert_eq!(crate::checks::gen1(&r, None)[0].code, crate::warning::WarningCode::MunicipalityCodeInvalid);
        // Bytes that are not ASCII text are not a code at all.
        let bad = file(&[(0xD3, &[0x31, 0x80, 0x31])], 342);
        assert!(matches!(AddressRecord::parse(&bad).unwrap_err().what, ParseProblem::BadFormat(_)));

        let empty = AddressRecord::parse(&[0u8; 342]).unwrap();
        assert_eq!(empty, AddressRecord { date: None, municipality_code: None, address: None });
    }

    #[test]
    fn shift_jis_fallback_is_flagged() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("大阪府大阪市北区");
        let t = Text::decode(&padded(&sjis, 320));
        assert_eq!(t.text, "大阪府大阪市北区");
        assert_eq!(t.encoding, TextEncoding::ShiftJisFallback);
    }

    #[test]
    fn check_digits() {
        for ok in ["131016", "131041", "131130", "011002", "130001", "271004"] {
            assert!(municipality_check_digit_ok(ok), "{ok}");
        }
        for bad in ["131015", "13101", "13101a", "131131"] {
            assert!(!municipality_check_digit_ok(bad), "{bad}");
        }
    }

    #[test]
    fn permissions_and_renewal() {
        let p = file(&[(0xD5, &padded("許可（原則週２８時間以内）".as_bytes(), 120))], 122);
        assert_eq!(parse_permission("DF2/EF02", &p, 0xD5).unwrap().unwrap().text, "許可（原則週２８時間以内）");
        assert_eq!(parse_permission("DF2/EF02", &[0u8; 122], 0xD5).unwrap(), None);
        assert!(parse_permission("DF2/EF02", &file(&[(0xD6, b"x")], 122), 0xD5).is_err());
        assert_eq!(RenewalStatus::parse(&[0xD7, 1, b'1']).unwrap(), RenewalStatus::Pending);
        assert_eq!(RenewalStatus::parse(&[0xD7, 1, b'0']).unwrap(), RenewalStatus::None);
        assert_eq!(RenewalStatus::parse(&[0xD7, 1, b'7']).unwrap(), RenewalStatus::Unknown("7".into()));
        assert_eq!(RenewalStatus::parse(&[0xD7, 2, 0xFF, b'\\']).unwrap(), RenewalStatus::Unknown("\\xFF\\x5C".into()));
    }

    #[test]
    fn signature_file_variants() {
        let full = file(&[(0xDA, &[7u8; 256]), (0xDB, &padded(&[0x30, 0x82, 0, 1, 5], 1200))], 1464);
        let s = SignatureFile::parse(&full).unwrap();
        assert_eq!(s.check_code.as_ref().unwrap().len(), 256);
        assert_eq!(s.certificate.as_ref().unwrap().len(), 1200);
        for under16 in [&[0xDA, 0, 0xDB, 0][..], &[0xDA, 0][..], &[][..]] {
            let s = SignatureFile::parse(&padded(under16, 1464)).unwrap();
            assert_eq!(s, SignatureFile::default());
        }
    }

    #[test]
    fn images() {
        let mut tif = b"II*\0".to_vec();
        tif.resize(7000, 0);
        let f = parse_front_image(&file(&[(0xD0, &tif)], 0)).unwrap();
        assert_eq!(f.format, ImageFormat::Tiff);
        assert_eq!(f.value.len(), 7000);
        // Unreadable TIFF structure: fall back to the last non-zero byte.
        assert_eq!(f.bytes(), b"II*");
        let face = parse_face_image(&file(&[(0xD1, &[0u8; 3000])], 0)).unwrap();
        assert!(!face.is_present());
        assert!(parse_front_image(&file(&[(0xD0, &[1u8; 7001])], 0)).is_err());
    }
}

#[cfg(test)]
mod image_extent_tests {
    use super::*;

    /// A minimal little-endian TIFF: one IFD with StripOffsets/StripByteCounts and a
    /// strip that ends in two zero bytes.
    fn tiny_tiff() -> Vec<u8> {
        let mut t = b"II*\0".to_vec();
        t.extend_from_slice(&8u32.to_le_bytes());
        // IFD at 8: 2 entries.
        t.extend_from_slice(&2u16.to_le_bytes());
        let strip_at: u32 = 8 + 2 + 24 + 4;
        for (tag, typ, count, val) in [(273u16, 4u16, 1u32, strip_at), (279, 4, 1, 4)] {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&typ.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            t.extend_from_slice(&val.to_le_bytes());
        }
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&[0xAB, 0xCD, 0, 0]);
        t
    }

    #[test]
    fn tiff_ending_in_zero_bytes_is_exported_whole() {
        let tiff = tiny_tiff();
        assert_eq!(tiff_extent(&tiff), Some(tiff.len()));
        let mut value = tiff.clone();
        value.resize(FRONT_IMAGE_LEN, 0);
        let img = Image { format: ImageFormat::detect(&value), value };
        assert_eq!(img.bytes(), &tiff[..]);
    }

    #[test]
    fn broken_structures_fall_back_without_panicking() {
        let mut t = tiny_tiff();
        t[4] = 0xFF; // IFD offset outside the data
        assert_eq!(tiff_extent(&t), None);
        assert_eq!(tiff_extent(b"II*\0"), None);
        assert_eq!(jp2_extent(&[0, 0, 0, 3, 1, 2, 3, 4]), None);
        let mut jp2 = vec![0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
        jp2.extend_from_slice(&[0, 0, 0, 10, b'j', b'p', b'2', b'c', 0xFF, 0x00]);
        let end = jp2.len();
        jp2.resize(3000, 0);
        assert_eq!(jp2_extent(&jp2), Some(end));
    }
}
