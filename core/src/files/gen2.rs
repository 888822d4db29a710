//! Second-generation files (GEN2 §3.3.4, types "05" and "06"), as restated in the
//! second-generation notes §4. Tags `D0`, `D1`, `D5`–`D7` exist in both generations
//! with different meanings: these parsers are chosen by card type, never by tag.
//!
//! Text is UTF-8 without BOM (GEN2 §3.3.4); unlike the first generation there is no
//! Shift_JIS fallback: a value that is not UTF-8 is decoded lossily and flagged.

pub use super::codes::{CodeTable, Coded, comprehensive_permission_name, nationality, sex_name, work_restriction_name};
use super::{Image, ascii_text, max_len, perr};
use crate::error::{ParseError, ParseProblem};
use crate::layout;
use crate::tlv::{self, Tlv};

use crate::layout::value_len::{
    ADDRESS_IMAGE as ADDRESS_IMAGE_LEN, FACE_IMAGE as FACE_IMAGE_LEN, NAME_IMAGE as NAME_IMAGE_LEN,
};

/// A `YYYYMMDD` value as read (a non-calendar date is reported with a warning,
/// crate::checks).
fn date(file: &'static str, t: &Tlv<'_>) -> Result<Option<String>, ParseError> {
    max_len(file, t, 8)?;
    ascii_text(file, t, "date is not ASCII")
}

fn ascii(file: &'static str, t: &Tlv<'_>, max: usize, what: &'static str) -> Result<Option<String>, ParseError> {
    max_len(file, t, max)?;
    ascii_text(file, t, what)
}

/// A one-character code (`C7`, `CC`, `D5`, the `D7`–`D9` flags) as read: the printable
/// ASCII byte itself, or, for any other value (a non-ASCII byte, several bytes),
/// every byte outside printable ASCII written `\xNN`. An unknown value never fails the
/// read: [`crate::checks`] reports it with a `code_unknown` warning.
fn one_char(file: &'static str, t: &Tlv<'_>, max: usize) -> Result<Option<String>, ParseError> {
    max_len(file, t, max)?;
    // `D5` is declared 7 bytes with 1 used: accept `D5 01 x` and `D5 07 x 00…` (notes §4.1).
    let v = tlv::trim_zero_fill(t.value);
    Ok((!v.is_empty()).then(|| super::raw_code(v)))
}

/// The name of a one-character code, looked up when the value is one character.
fn named(code: String, lookup: fn(char) -> Option<(&'static str, &'static str)>) -> Coded {
    let mut chars = code.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => match lookup(c) {
            Some((ja, en)) => Coded::named(code, ja, en),
            None => Coded::raw(code),
        },
        _ => Coded::raw(code),
    }
}

/// DF1/EF01 在留カード等番号, tag `C2` (GEN2 §3.3.4.3): the card number stored on the chip.
/// The reader compares it with the number typed (in constant time); the copy is
/// wiped when dropped.
pub fn parse_card_number(data: &[u8]) -> Result<zeroize::Zeroizing<[u8; 12]>, ParseError> {
    const FILE: &str = layout::gen2::DF1_EF01.name;
    let t = super::required(FILE, data, 0xC2)?;
    if t.value.len() != 12 {
        return Err(perr(FILE, t.offset, ParseProblem::BadValueLength { got: t.value.len(), max: 12 }));
    }
    let mut out = zeroize::Zeroizing::new([0u8; 12]);
    out.copy_from_slice(t.value);
    Ok(out)
}

/// `CE` 在留期間 (period of stay): `YYMM`, `DDD` days, or `0000` indefinite (notes §6.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeriodOfStay {
    /// `0000`: 無期限.
    Indefinite,
    /// `YYMM`: years and months.
    YearsMonths {
        /// Years.
        years: u8,
        /// Months.
        months: u8,
    },
    /// `DDD`: days.
    Days {
        /// Days.
        days: u16,
    },
    /// Anything else, kept as stored.
    Raw {
        /// The stored value.
        value: String,
    },
}

impl PeriodOfStay {
    fn parse(v: &str) -> Self {
        let digits = v.bytes().all(|b| b.is_ascii_digit());
        match (v.len(), digits) {
            (4, true) if v == "0000" => PeriodOfStay::Indefinite,
            (4, true) => {
                let years = v[..2].parse().expect("digits");
                let months: u8 = v[2..].parse().expect("digits");
                if months < 12 {
                    PeriodOfStay::YearsMonths { years, months }
                } else {
                    PeriodOfStay::Raw { value: v.to_owned() }
                }
            }
            (3, true) => PeriodOfStay::Days { days: v.parse().expect("digits") },
            _ => PeriodOfStay::Raw { value: v.to_owned() },
        }
    }

    /// A Japanese rendering: `3年`, `1年3月`, `90日`, `無期限`.
    pub fn japanese(&self) -> String {
        match self {
            PeriodOfStay::Indefinite => "無期限".to_owned(),
            PeriodOfStay::YearsMonths { years, months } => match (years, months) {
                (0, m) => format!("{m}月"),
                (y, 0) => format!("{y}年"),
                (y, m) => format!("{y}年{m}月"),
            },
            PeriodOfStay::Days { days } => format!("{days}日"),
            PeriodOfStay::Raw { value } => value.clone(),
        }
    }
}

/// DF1/EF02 券面記載事項 (printed entries), GEN2 §3.3.4.4; type "06" carries only
/// `C5`–`C9` and `CE`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrintedEntries {
    /// `C5` 有効期間の満了日 (card expiry), `YYYYMMDD`.
    pub card_expiry: Option<String>,
    /// `C6` 生年月日, `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// `C7` 性別.
    pub sex: Option<Coded>,
    /// `C8` 国籍・地域.
    pub nationality: Option<Coded>,
    /// `C9` 在留資格 (names only from a user-supplied [`CodeTable`]).
    pub status_of_residence: Option<Coded>,
    /// `CE` 在留期間.
    pub period_of_stay: Option<PeriodOfStay>,
    /// `CA` 許可の種類 (code; the list is not public).
    pub permission_type: Option<String>,
    /// `CB` 許可年月日.
    pub permission_date: Option<String>,
    /// `CC` 就労制限の有無.
    pub work_restriction: Option<Coded>,
    /// `CD` 在留期間の満了日.
    pub stay_expiry: Option<String>,
}

impl PrintedEntries {
    /// The file's name in errors.
    pub const FILE: &'static str = layout::gen2::DF1_EF02.name;

    /// Parses DF1/EF02; `status_table` names the status-of-residence codes.
    pub fn parse(data: &[u8], status_table: Option<&CodeTable>) -> Result<Self, ParseError> {
        const F: &str = PrintedEntries::FILE;
        let objs = tlv::parse_all(F, data)?;
        let mut p = PrintedEntries {
            card_expiry: None,
            birth_date: None,
            sex: None,
            nationality: None,
            status_of_residence: None,
            period_of_stay: None,
            permission_type: None,
            permission_date: None,
            work_restriction: None,
            stay_expiry: None,
        };
        for t in &objs {
            match t.tag {
                0xC5 => p.card_expiry = date(F, t)?,
                0xC6 => p.birth_date = date(F, t)?,
                0xC7 => p.sex = one_char(F, t, 1)?.map(|c| named(c, sex_name)),
                0xC8 => {
                    p.nationality = ascii(F, t, 3, "nationality code is not ASCII")?.map(|c| match nationality(&c) {
                        Some((ja, en)) => Coded::named(c.clone(), ja, en),
                        None => Coded::raw(c),
                    })
                }
                0xC9 => {
                    p.status_of_residence = ascii(F, t, 10, "status code is not ASCII")?.map(|c| {
                        match status_table.and_then(|tb| tb.get(&c)) {
                            Some((ja, en)) => Coded::named(c.clone(), ja, en),
                            None => Coded::raw(c),
                        }
                    })
                }
                0xCE => {
                    p.period_of_stay = ascii(F, t, 4, "period of stay is not ASCII")?.map(|v| PeriodOfStay::parse(&v))
                }
                0xCA => p.permission_type = ascii(F, t, 2, "permission type is not ASCII")?,
                0xCB => p.permission_date = date(F, t)?,
                0xCC => p.work_restriction = one_char(F, t, 1)?.map(|c| named(c, work_restriction_name)),
                0xCD => p.stay_expiry = date(F, t)?,
                other => return Err(perr(F, t.offset, ParseProblem::UnexpectedTag { expected: 0xC5, found: other })),
            }
        }
        Ok(p)
    }
}

/// DF1/EF03: name image `D0` (2500) and face `D1` (3000), GEN2 §3.3.4.5–6.
pub fn parse_name_and_face(data: &[u8]) -> Result<(Image, Image), ParseError> {
    const F: &str = layout::gen2::DF1_EF03.name;
    let objs = tlv::parse_all(F, data)?;
    let mut name = None;
    let mut face = None;
    for t in &objs {
        match t.tag {
            0xD0 => {
                max_len(F, t, NAME_IMAGE_LEN)?;
                name = Some(Image::from_value(t.value));
            }
            0xD1 => {
                max_len(F, t, FACE_IMAGE_LEN)?;
                face = Some(Image::from_value(t.value));
            }
            other => return Err(perr(F, t.offset, ParseProblem::UnexpectedTag { expected: 0xD0, found: other })),
        }
    }
    Ok((name.unwrap_or_else(Image::empty), face.unwrap_or_else(Image::empty)))
}

/// DF1/EF04 住居地イメージ, 2-byte tag `DF D1` (2500), GEN2 §3.3.4.7. The address is
/// no longer text on second-generation chips.
pub fn parse_address_image(data: &[u8]) -> Result<Image, ParseError> {
    Image::parse(layout::gen2::DF1_EF04.name, data, 0xDFD1, ADDRESS_IMAGE_LEN)
}

/// A text value (`DE`), strictly UTF-8 in this generation.
fn utf8_text(value: &[u8]) -> Option<super::Text> {
    let v = tlv::trim_zero_fill(value);
    if v.is_empty() {
        return None;
    }
    Some(match core::str::from_utf8(v) {
        Ok(s) => super::Text { text: s.to_owned(), encoding: super::TextEncoding::Utf8, lossy: false },
        Err(_) => super::Text {
            text: String::from_utf8_lossy(v).into_owned(),
            encoding: super::TextEncoding::Utf8Lossy,
            lossy: true,
        },
    })
}

/// DF2 of a second-generation card (GEN2 §3.3.4.8–10): permissions, renewal, note.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct BackEntries {
    /// `D5` 資格外活動 包括許可 (type "05" only).
    pub comprehensive_permission: Option<Coded>,
    /// `D6` 包括許可の期限.
    pub comprehensive_permission_deadline: Option<String>,
    /// `D7` 資格外活動 個別許可: `Yes` = exists.
    pub individual_permission: Option<super::Flag>,
    /// `D8` 在留期間更新等許可申請: `Yes` = 申請中.
    pub renewal_application_pending: Option<super::Flag>,
    /// `D9` 長官記録事項の有無 (note recorded by the Commissioner).
    pub note_recorded: Option<super::Flag>,
    /// `DE` text.
    pub note_text: Option<super::Text>,
}

fn flag(file: &'static str, t: &Tlv<'_>) -> Result<Option<super::Flag>, ParseError> {
    Ok(one_char(file, t, 1)?.map(super::Flag::from_code))
}

impl BackEntries {
    /// Adds the objects of one DF2 file (`file` names it in errors). All-zero files
    /// add nothing.
    pub fn add_file(&mut self, file: &'static str, data: &[u8]) -> Result<(), ParseError> {
        for t in &tlv::parse_all(file, data)? {
            match t.tag {
                0xD5 => {
                    self.comprehensive_permission =
                        one_char(file, t, 7)?.map(|c| named(c, comprehensive_permission_name))
                }
                0xD6 => self.comprehensive_permission_deadline = date(file, t)?,
                0xD7 => self.individual_permission = flag(file, t)?,
                0xD8 => self.renewal_application_pending = flag(file, t)?,
                0xD9 => self.note_recorded = flag(file, t)?,
                0xDE => {
                    max_len(file, t, 200)?;
                    self.note_text = utf8_text(t.value);
                }
                other => {
                    return Err(perr(file, t.offset, ParseProblem::UnexpectedTag { expected: 0xD5, found: other }));
                }
            }
        }
        Ok(())
    }
}

/// DF3/EF01 of the second generation (GEN2 §3.3.4.11): `DC` signature (96 bytes raw
/// r‖s per the Appendix-2 example; DER accepted too) and `DD` certificate at its actual
/// length, then `00` fill after the last object. An all-zero file has neither.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SignatureFile2 {
    /// `DC`, if present.
    pub signature: Option<Vec<u8>>,
    /// `DD`, if present.
    pub certificate: Option<Vec<u8>>,
}

impl core::fmt::Debug for SignatureFile2 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SignatureFile2(signature={:?} bytes, certificate={:?} bytes)",
            self.signature.as_ref().map(Vec::len),
            self.certificate.as_ref().map(Vec::len)
        )
    }
}

impl SignatureFile2 {
    /// Parses DF3/EF01.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        const F: &str = layout::gen2::DF3_EF01.name;
        let mut out = SignatureFile2::default();
        for t in &tlv::parse_all(F, data)? {
            let present = !tlv::trim_zero_fill(t.value).is_empty();
            match t.tag {
                // 96 raw bytes, or a DER ECDSA-Sig-Value of up to 104 bytes.
                0xDC => {
                    max_len(F, t, 104)?;
                    out.signature = present.then(|| t.value.to_vec());
                }
                0xDD => {
                    max_len(F, t, 602)?;
                    out.certificate = present.then(|| t.value.to_vec());
                }
                other => return Err(perr(F, t.offset, ParseProblem::UnexpectedTag { expected: 0xDC, found: other })),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{gen2_synthetic, hex};

    #[test]
    fn printed_entries_of_the_notes_example() {
        let p = PrintedEntries::parse(&hex(gen2_synthetic::SM_EF02_PLAIN), None).unwrap();
        assert_eq!(p.card_expiry.as_deref(), Some("20310401"));
        assert_eq!(p.birth_date.as_deref(), Some("20000102"));
        assert_eq!(p.sex.as_ref().unwrap().en.as_deref(), Some("male"));
        let n = p.nationality.as_ref().unwrap();
        assert_eq!((n.code.as_str(), n.ja.as_deref(), n.en.as_deref()), ("PAK", Some("パキスタン"), Some("Pakistan")));
        assert_eq!(p.status_of_residence.as_ref().unwrap().code, "ABCDEFGHIJ");
        assert_eq!(p.status_of_residence.as_ref().unwrap().ja, None);
        assert_eq!(p.period_of_stay, Some(PeriodOfStay::YearsMonths { years: 3, months: 0 }));
        assert_eq!(p.permission_type.as_deref(), Some("01"));
        assert_eq!(p.work_restriction.as_ref().unwrap().code, "2");
        assert_eq!(p.stay_expiry.as_deref(), Some("20290401"));
    }

    #[test]
    fn status_table_names_codes() {
        let table = CodeTable::parse("# test\nABCDEFGHIJ\t留学\tStudent\n\n").unwrap();
        let p = PrintedEntries::parse(&hex(gen2_synthetic::SM_EF02_PLAIN), Some(&table)).unwrap();
        assert_eq!(p.status_of_residence.unwrap().en.as_deref(), Some("Student"));
        assert_eq!(CodeTable::parse("X\n"), Err(1));
        assert_eq!(CodeTable::parse("A\tB\tC\tD\n"), Err(1));
    }

    #[test]
    fn periods() {
        assert_eq!(PeriodOfStay::parse("0000"), PeriodOfStay::Indefinite);
        assert_eq!(PeriodOfStay::parse("0103").japanese(), "1年3月");
        assert_eq!(PeriodOfStay::parse("0010").japanese(), "10月");
        assert_eq!(PeriodOfStay::parse("090"), PeriodOfStay::Days { days: 90 });
        assert_eq!(PeriodOfStay::parse("0915"), PeriodOfStay::Raw { value: "0915".into() });
        assert_eq!(PeriodOfStay::parse("AB"), PeriodOfStay::Raw { value: "AB".into() });
    }

    #[test]
    fn sprc_printed_entries() {
        let mut f = Vec::new();
        for (tag, v) in [
            (0xC5, &b"20310401"[..]),
            (0xC6, b"19700101"),
            (0xC7, b"2"),
            (0xC8, b"KOR"),
            (0xC9, b"SPR\0\0\0\0\0\0\0"),
            (0xCE, b"0000"),
        ] {
            tlv::encode(tag, v, &mut f);
        }
        assert_eq!(f.len(), 46);
        let p = PrintedEntries::parse(&f, None).unwrap();
        assert_eq!(p.period_of_stay, Some(PeriodOfStay::Indefinite));
        assert_eq!(p.nationality.unwrap().en.as_deref(), Some("South Korea"));
    }

    #[test]
    fn back_entries_accept_both_d5_forms_and_non_minimal_lengths() {
        let mut b = BackEntries::default();
        b.add_file(
            "DF2/EF01",
            &[
                0xD5, 0x07, b'1', 0, 0, 0, 0, 0, 0, 0xD6, 0x08, b'2', b'0', b'3', b'0', b'0', b'1', b'0', b'1', 0xD7,
                0x01, b'1',
            ],
        )
        .unwrap();
        assert_eq!(b.comprehensive_permission.as_ref().unwrap().code, "1");
        assert_eq!(b.individual_permission, Some(super::super::Flag::Yes));
        b.add_file("DF2/EF01", &[0xD5, 0x01, b'2']).unwrap();
        assert_eq!(b.comprehensive_permission.as_ref().unwrap().code, "2");
        let mut ef03 = vec![0xD9, 0x01, b'1', 0xDE, 0x82, 0x00, 0xC8];
        let mut text = "記録あり".as_bytes().to_vec();
        text.resize(200, 0);
        ef03.extend_from_slice(&text);
        assert_eq!(ef03.len(), 207);
        b.add_file("DF2/EF03", &ef03).unwrap();
        assert_eq!(b.note_recorded, Some(super::super::Flag::Yes));
        assert_eq!(b.note_text.as_ref().unwrap().text, "記録あり");
        b.add_file("DF2/EF02", &[0xD8, 0x01, b'7']).unwrap();
        assert_eq!(b.renewal_application_pending, Some(super::super::Flag::Unknown("7".into())));
        assert!(b.add_file("DF2/EF02", &[0xD8, 0x02, b'1', b'1']).is_err(), "longer than its 1 byte");
        b.add_file("DF2/EF02", &[0u8; 3]).unwrap();
    }

    #[test]
    fn signature_file_layouts() {
        let mut f = vec![0xDC, 0x60];
        f.extend_from_slice(&[5u8; 96]);
        f.extend_from_slice(&[0xDD, 0x82, 0x02, 0x56]);
        f.extend_from_slice(&[0x30; 598]);
        f.resize(704, 0);
        let s = SignatureFile2::parse(&f).unwrap();
        assert_eq!(s.signature.unwrap().len(), 96);
        assert_eq!(s.certificate.unwrap().len(), 598);
        assert_eq!(SignatureFile2::parse(&[0u8; 704]).unwrap(), SignatureFile2::default());
        f[703] = 1;
        assert!(SignatureFile2::parse(&f).is_err());
    }

    #[test]
    fn nationality_table_is_complete() {
        assert_eq!(nationality("XXX").unwrap().0, "無国籍");
        assert_eq!(nationality("JPN").unwrap().1, "Japan");
        assert!(nationality("ZZZ").is_none());
    }
}
