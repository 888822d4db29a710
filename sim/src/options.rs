//! What a test may vary about a simulated card ([`IssueOptions`] and its parts),
//! and why personalisation can refuse them ([`IssueError`]). The builders that
//! turn options into files are `crate::issue::gen1` and `crate::issue::gen2`.

use zairyu::files::CardType;
use zairyu::layout::gen2;

use crate::rng::SimRandomness;

/// How the check code block is laid out before the RSA private-key operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CheckCodeFormat {
    /// SPEC15 Fig. 3-4: `00 01 FF…FF 00 ‖ SHA-256` (32 bytes, no DigestInfo).
    #[default]
    BareHash,
    /// Standard RSASSA-PKCS1-v1_5 with the SHA-256 DigestInfo prefix.
    DigestInfo,
}

/// DF3/EF01 contents of an under-16 card (SPEC15 §3.3.5; the footnotes conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Under16Df3 {
    /// `DA 00 DB 00` then zero fill (footnote *1).
    #[default]
    DaDbZero,
    /// `DA 00` then zero fill (footnote *2).
    DaOnly,
    /// All zero.
    AllZero,
}

/// The address written on the back, DF2/EF01 (SPEC15 §3.3.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `D2` 追記書き込み年月日, `YYYYMMDD`.
    pub date: String,
    /// `D3` 市町村コード, 6 digits including the check digit.
    pub municipality_code: String,
    /// `D4` 住居地, at most 320 bytes once encoded.
    pub text: String,
}

/// The gen2 printed entries (券面記載事項), DF1/EF02 (second-generation notes §4.3,
/// §6.2). All values are ASCII; shorter values are zero-padded to the field length,
/// longer ones are refused. The defaults are the notes' synthetic example (§3.5),
/// so that a card issued with them reproduces the notes' SM vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedEntries {
    /// `C5` 有効期間の満了日 (card expiry), `YYYYMMDD`.
    pub expiry: String,
    /// `C6` 生年月日, `YYYYMMDD`.
    pub birth_date: String,
    /// `C7` 性別: `1` male, `2` female, `3` unspecified.
    pub sex: char,
    /// `C8` 国籍・地域, alpha-3 code (up to 3 bytes).
    pub nationality: String,
    /// `C9` 在留資格 code (up to 10 bytes; the real code format is not public).
    pub status_code: String,
    /// `CE` 在留期間: `YYMM` (`0300` = 3 years), `0000` indefinite, or 3-digit days
    /// (`090`, stored with one `00` fill byte).
    pub period_of_stay: String,
    /// `CA` 許可の種類 code (up to 2 bytes; type 05 only).
    pub permission_type: String,
    /// `CB` 許可年月日, `YYYYMMDD` (type 05 only).
    pub permission_date: String,
    /// `CC` 就労制限の有無: `1`, `2`, `4` or `9` (type 05 only).
    pub work_restriction: char,
    /// `CD` 在留期間の満了日, `YYYYMMDD` (type 05 only).
    pub stay_expiry: String,
}

impl Default for PrintedEntries {
    /// Synthetic values (second-generation notes §3.5): `C9 = "ABCDEFGHIJ"` is an
    /// obvious placeholder, not a real status-of-residence code.
    fn default() -> Self {
        PrintedEntries {
            expiry: "20310401".to_owned(),
            birth_date: "20000102".to_owned(),
            sex: '1',
            nationality: "PAK".to_owned(),
            status_code: "ABCDEFGHIJ".to_owned(),
            period_of_stay: "0300".to_owned(),
            permission_type: "01".to_owned(),
            permission_date: "20260401".to_owned(),
            work_restriction: '2',
            stay_expiry: "20290401".to_owned(),
        }
    }
}

/// Everything a test may want to vary about a card.
///
/// Options that do not apply to the card's generation are ignored: gen1 cards
/// ignore the `gen2_*`, `printed`, `sprc_df2_sfi` and `tamper_printed_entries`
/// options; gen2 cards ignore `under_16_df3_variant`, `check_code_format`,
/// `address`, `address_encoding_sjis`, `comprehensive_permission` and
/// `individual_permission`. `renewal_pending` sets gen1 `D7` and gen2 `D8`.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// MF/EF02 card type.
    pub card_type: CardType,
    /// 在留カード等番号: the secret that opens the chip (SPEC15 §3.4.1).
    pub card_number: String,
    /// Under-16 card: no face photo, no check code or certificate (SPEC15 §3.3.5).
    ///
    /// Gen2 (the notes leave this open, second-generation notes, open question 9):
    /// the `D1` value is all `00` (headers kept, DF1/EF03 stays 5508 bytes) and
    /// DF3/EF01 is 704 `00` bytes, mirroring the gen1 "all zero" variant.
    pub under_16: bool,
    /// DF3/EF01 layout of an under-16 card.
    pub under_16_df3_variant: Under16Df3,
    /// Check-code block format.
    pub check_code_format: CheckCodeFormat,
    /// MF/EF01 `C0`, 4 ASCII characters.
    pub spec_version: String,
    /// DF2/EF01; `None` leaves the 342-byte file all zero.
    pub address: Option<Address>,
    /// Store `D4` in Shift_JIS instead of UTF-8, to exercise decoder fallbacks.
    pub address_encoding_sjis: bool,
    /// DF2/EF02 `D5`; `None` = all-zero file (permission withdrawn, SPEC15 §3.3.4.6).
    pub comprehensive_permission: Option<String>,
    /// DF2/EF03 `D6`; `None` = all-zero file (SPEC15 §3.3.4.7).
    pub individual_permission: Option<String>,
    /// DF2/EF04 `D7` (gen1) / DF2/EF02 `D8` (gen2, type 05): `"1"` (application
    /// pending) or `"0"`.
    pub renewal_pending: bool,
    /// Flip one byte of the `D0` value (gen1) / the `D1` face value (gen2) after
    /// signing, so the check code no longer verifies. The byte is the value's last
    /// one, which lies in the zero fill: the image still decodes.
    pub tamper_front_image: bool,
    /// Where RND.ICC and K.ICC come from.
    pub randomness: SimRandomness,
    /// Gen2 DF1/EF02 printed entries (type 06 uses `C5 C6 C7 C8 C9 CE` only).
    pub printed: PrintedEntries,
    /// Gen2 DF2/EF01 `D5` 資格外活動 包括許可: `'0'` none, `'1'`, `'2'`. Stored as
    /// `D5 07` + this byte + 6 × `00` (second-generation notes §4.1, §4.2).
    pub gen2_comprehensive: char,
    /// Gen2 DF2/EF01 `D6` 包括許可の期限 `YYYYMMDD`; `None` = 8 × `00`.
    pub gen2_comprehensive_deadline: Option<String>,
    /// Gen2 DF2/EF01 `D7` 個別許可: `'1'` if true, else `'0'`.
    pub gen2_individual: bool,
    /// Gen2 DF2/EF03 `D9` 長官記録事項の有無: `'1'` if true, else `'0'`.
    pub gen2_note_flag: bool,
    /// Gen2 DF2/EF03 `DE` text, UTF-8, at most 200 bytes; `None` = 200 × `00`.
    pub gen2_note_text: Option<String>,
    /// Store `DC` as a DER `ECDSA-Sig-Value` (`DC 66`-ish) instead of the raw
    /// 96-byte `r ‖ s` (second-generation notes §5.1: the spec's "ASN.1" wording
    /// conflicts with its 96-byte maximum; readers should accept both).
    pub gen2_signature_der: bool,
    /// SFI of the single DF2 file of a type-06 card: `0x03` (default, what the
    /// notes' source reads) or `0x01` (what its name "EF01" suggests;
    /// second-generation notes §3.3, "SPRC DF2 trap"). Any other SFI then
    /// answers `6A 82`. Must be 1..=30.
    pub sprc_df2_sfi: u8,
    /// Gen2: flip one value byte of DF1/EF02 after signing (bit 0 of the last
    /// `C6` birth-date digit, so the file still parses), so the check code no
    /// longer verifies.
    pub tamper_printed_entries: bool,
    /// Which throw-away PKI signs the card (default: the test CAs).
    pub pki: crate::fixtures::SimPki,
    /// The address-write application (AWP v1, `crate::write`): the write CVCA the
    /// card trusts, the issuer that signs its EF.ChipAuthInfo, and the card date.
    /// `None` (the default): the card has no write application and answers its
    /// SELECT `6A 82`, as a card without it does.
    pub write: Option<crate::write::WriteIssue>,
}

impl Default for IssueOptions {
    fn default() -> Self {
        IssueOptions {
            card_type: CardType::ResidenceCard,
            card_number: "AB12345678CD".to_owned(),
            under_16: false,
            under_16_df3_variant: Under16Df3::DaDbZero,
            check_code_format: CheckCodeFormat::BareHash,
            spec_version: "0001".to_owned(),
            address: Some(Address {
                date: "20240401".to_owned(),
                municipality_code: "131016".to_owned(),
                text: "東京都千代田区霞が関１丁目１番１号".to_owned(),
            }),
            address_encoding_sjis: false,
            comprehensive_permission: Some("許可：原則週２８時間以内・風俗営業等の従事を除く".to_owned()),
            individual_permission: Some("許可：翻訳業務に従事する活動（週１０時間以内）".to_owned()),
            renewal_pending: false,
            tamper_front_image: false,
            randomness: SimRandomness::Seeded(1),
            printed: PrintedEntries::default(),
            gen2_comprehensive: '1',
            gen2_comprehensive_deadline: None,
            gen2_individual: false,
            gen2_note_flag: false,
            gen2_note_text: None,
            gen2_signature_der: false,
            sprc_df2_sfi: gen2::DF2_SPRC.sfi,
            tamper_printed_entries: false,
            pki: crate::fixtures::SimPki::Test,
            write: None,
        }
    }
}

/// Options that cannot be personalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// A fixed-length ASCII field has the wrong length or content.
    #[error("{field} must be {len} ASCII characters")]
    BadFixedField {
        /// Which field.
        field: &'static str,
        /// Its required length.
        len: usize,
    },
    /// A text is longer than its field once encoded.
    #[error("{field} is {got} bytes encoded, the field holds {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Encoded length.
        got: usize,
        /// Capacity.
        max: usize,
    },
    /// The address has characters Shift_JIS cannot represent.
    #[error("the address cannot be encoded in Shift_JIS")]
    NotShiftJis,
    /// The RSA or ECDSA signing step failed.
    #[error("signing the check code failed: {0}")]
    Signing(String),
    /// An option is out of range.
    #[error("{field}: {reason}")]
    InvalidOption {
        /// Which option.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}
