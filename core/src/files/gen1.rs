//! First-generation files (SPEC15 §3.3.4, types "1" and "2").

use super::{Image, Text, ascii_text, max_len, perr, single};
use crate::error::{ParseError, ParseProblem};
use crate::layout;
use crate::tlv;

/// DF1/EF01 券面（表）イメージ: tag `D0`, 7000 bytes, TIFF/MMR (SPEC15 §3.3.4.3).
pub fn parse_front_image(data: &[u8]) -> Result<Image, ParseError> {
    Image::parse(layout::gen1::DF1_EF01.name, data, 0xD0, FRONT_IMAGE_LEN)
}

/// DF1/EF02 顔画像: tag `D1`, 3000 bytes, JPEG 2000 colour (SPEC15 §3.3.4.4).
pub fn parse_face_image(data: &[u8]) -> Result<Image, ParseError> {
    Image::parse(layout::gen1::DF1_EF02.name, data, 0xD1, FACE_IMAGE_LEN)
}

pub use crate::layout::value_len::{FACE_IMAGE as FACE_IMAGE_LEN, FRONT_IMAGE as FRONT_IMAGE_LEN};

/// DF2/EF01 住居地（裏面追記）(SPEC15 §3.3.4.5): `D2` date written (YYYYMMDD), `D3`
/// municipality code (6 digits with check digit), `D4` address (320 bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddressRecord {
    /// 追記書き込み年月日, `YYYYMMDD`; `None` if empty.
    pub date: Option<String>,
    /// 市町村コード (全国地方公共団体コード); `None` if empty.
    pub municipality_code: Option<String>,
    /// 住居地.
    pub address: Option<Text>,
}

impl AddressRecord {
    /// The file's name in errors.
    pub const FILE: &'static str = layout::gen1::DF2_EF01.name;

    /// Parses DF2/EF01. An all-zero file gives an empty record.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let objs = tlv::parse_all(Self::FILE, data)?;
        let mut rec = AddressRecord { date: None, municipality_code: None, address: None };
        for t in &objs {
            match t.tag {
                // Kept as read; a wrong form or check digit is a warning, not an
                // error: these values are not signed, and the clerk still needs the
                // card (crate::checks).
                0xD2 => {
                    max_len(Self::FILE, t, 8)?;
                    rec.date = ascii_text(Self::FILE, t, "date is not ASCII")?;
                }
                0xD3 => {
                    max_len(Self::FILE, t, 6)?;
                    rec.municipality_code = ascii_text(Self::FILE, t, "municipality code is not ASCII")?;
                }
                0xD4 => {
                    max_len(Self::FILE, t, 320)?;
                    if tlv::trim_zero_fill(t.value).is_empty() {
                        continue;
                    }
                    rec.address = Some(Text::decode(t.value));
                }
                other => {
                    return Err(perr(
                        Self::FILE,
                        t.offset,
                        ParseProblem::UnexpectedTag { expected: 0xD2, found: other },
                    ));
                }
            }
        }
        Ok(rec)
    }
}

/// Check digit of a 全国地方公共団体コード: weights 6,5,4,3,2 on the first five
/// digits; the check digit is the last digit of `11 - (sum mod 11)`
/// (e.g. 千代田区 13101 → 6, 新宿区 13104 → 1, 渋谷区 13113 → 0).
pub fn municipality_check_digit_ok(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..5].iter().zip([6u32, 5, 4, 3, 2]).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = (11 - sum % 11) % 10;
    u32::from(b[5] - b'0') == check
}

/// DF2/EF02 資格外活動包括許可欄 (`D5`) or DF2/EF03 個別許可欄 (`D6`), 120 bytes
/// (SPEC15 §3.3.4.6–7). `None` when the file is all zero: the permission was
/// withdrawn, or never granted.
pub fn parse_permission(file: &'static str, data: &[u8], tag: u16) -> Result<Option<Text>, ParseError> {
    match single(file, data, tag)? {
        None => Ok(None),
        Some(t) => {
            max_len(file, &t, 120)?;
            if tlv::trim_zero_fill(t.value).is_empty() { Ok(None) } else { Ok(Some(Text::decode(t.value))) }
        }
    }
}

/// DF2/EF04 裏面在留期間等更新申請欄, tag `D7` (SPEC15 §3.3.4.8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
    /// `"0"`: no application.
    None,
    /// `"1"`: 申請中, an application for extension or change is pending.
    Pending,
    /// The file is empty.
    Empty,
    /// Any other value, as read ([`super::raw_code`]); reported with a `code_unknown`
    /// warning, never a failed read (DF2 is not signed).
    Unknown(String),
}

impl RenewalStatus {
    /// Parses DF2/EF04.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        const FILE: &str = layout::gen1::DF2_EF04.name;
        match single(FILE, data, 0xD7)? {
            None => Ok(RenewalStatus::Empty),
            Some(t) => match t.value {
                b"0" => Ok(RenewalStatus::None),
                b"1" => Ok(RenewalStatus::Pending),
                v if tlv::trim_zero_fill(v).is_empty() => Ok(RenewalStatus::Empty),
                v => Ok(RenewalStatus::Unknown(super::raw_code(tlv::trim_zero_fill(v)))),
            },
        }
    }
}

/// DF3/EF01 (SPEC15 §3.3.4.9): `DA` check code (256 bytes) and `DB` certificate
/// (1200 bytes, DER then zero fill). Under-16 cards (SPEC15 §3.3.5) store `DA 00 DB 00`
/// (footnote *1), `DA 00` (footnote *2) or nothing: all give `None` here.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SignatureFile {
    /// The check code, if present.
    pub check_code: Option<Vec<u8>>,
    /// The certificate value (with its zero fill), if present.
    pub certificate: Option<Vec<u8>>,
}

impl core::fmt::Debug for SignatureFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SignatureFile(check_code={:?} bytes, certificate={:?} bytes)",
            self.check_code.as_ref().map(Vec::len),
            self.certificate.as_ref().map(Vec::len)
        )
    }
}

impl SignatureFile {
    /// The file's name in errors.
    pub const FILE: &'static str = layout::gen1::DF3_EF01.name;

    /// Parses DF3/EF01 of the first generation.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let objs = tlv::parse_all(Self::FILE, data)?;
        let mut out = SignatureFile::default();
        for t in &objs {
            let present = !tlv::trim_zero_fill(t.value).is_empty();
            match t.tag {
                0xDA => {
                    max_len(Self::FILE, t, 256)?;
                    if present {
                        out.check_code = Some(t.value.to_vec());
                    }
                }
                0xDB => {
                    max_len(Self::FILE, t, 1200)?;
                    if present {
                        out.certificate = Some(t.value.to_vec());
                    }
                }
                other => {
                    return Err(perr(
                        Self::FILE,
                        t.offset,
                        ParseProblem::UnexpectedTag { expected: 0xDA, found: other },
                    ));
                }
            }
        }
        Ok(out)
    }
}
