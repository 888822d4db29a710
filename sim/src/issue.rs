//! Card personalisation: builds every EF of a first-generation card (SPEC15 §3.3)
//! or a second-generation card (GEN2 §3.3, restated in the second-generation notes
//! §4) from [`IssueOptions`], and signs the check code (SPEC15 §3.4.3, Fig. 3-4;
//! GEN2 §3.4.3.1, second-generation notes §4.4-§5).
//!
//! All data objects are fixed length: values shorter than the maximum are padded
//! with `00` (SPEC15 §3.2.3.1; GEN2 §3.2.3.1).
//!
//! First-generation file capacities (SPEC15 Tables 3-1/3-2): MF/EF01 6, MF/EF02 3,
//! DF1/EF01 7004, DF1/EF02 3004, DF2/EF01 342, DF2/EF02-03 122, DF2/EF04 3,
//! DF3/EF01 1464.
//!
//! Second-generation layout (types `05`/`06`; second-generation notes §3.3, §4.2,
//! §4.3), keyed by the SFI that READ BINARY uses (P1 = `80 | SFI`):
//!
//! | EF | SFI | capacity | contents |
//! |---|---|---|---|
//! | MF/EF01 | `0B` | 6 | `C0 04` spec version |
//! | MF/EF02 | `0A` | 4 | `C1 02 "05"` / `"06"` |
//! | DF1/EF01 | `01` | 14 | `C2 0C` card number (SM) |
//! | DF1/EF02 | `03` | 73 (05) / 46 (06) | printed entries `C5 C6 C7 C8 C9 CE [CA CB CC CD]` (SM) |
//! | DF1/EF03 | `04` | 5508 | `D0 82 09 C4` name image 2500 ‖ `D1 82 0B B8` face 3000 (SM) |
//! | DF1/EF04 | `06` | 2505 | `DF D1 82 09 C4` address image 2500 (SM) |
//! | DF2/EF01 (05) | `01` | 22 | `D5 07` code + 6 × `00`, `D6 08` deadline, `D7 01` |
//! | DF2/EF02 (05) | `02` | 3 | `D8 01` renewal application |
//! | DF2/EF03 (05) | `03` | 207 | `D9 01` note flag, `DE 82 00 C8` text 200 |
//! | DF2 single file (06) | `03` (option) | 207 | as DF2/EF03 of type 05 |
//! | DF3/EF01 | `02` | 704 | `DC 60` r‖s (or DER), `DD 82 LL LL` certificate, `00` fill |

use std::collections::BTreeMap;

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha2::{Digest, Sha256};
use zairyu::files::CardType;
use zairyu::layout::{Df, gen1, gen2, mf, value_len};
use zairyu::tlv;

use crate::rng::SimRandomness;

/// The synthetic card-front image (TIFF, CCITT G4), `fixtures/front.tif`.
pub const FRONT_TIF: &[u8] = include_bytes!("../fixtures/front.tif");
/// The synthetic face (JPEG 2000, JP2 container), `fixtures/face.jp2`.
pub const FACE_JP2: &[u8] = include_bytes!("../fixtures/face.jp2");
/// The test root CA (not the Ministry's), `fixtures/gen1-test-ca.der`.
pub const GEN1_TEST_CA_DER: &[u8] = include_bytes!("../fixtures/gen1-test-ca.der");
/// The card-signer certificate issued by the test CA, `fixtures/gen1-card-signer.der`.
pub const GEN1_CARD_SIGNER_DER: &[u8] = include_bytes!("../fixtures/gen1-card-signer.der");
/// The card signer's private key (PKCS#8 DER, published on purpose, test only).
pub const GEN1_CARD_SIGNER_KEY_DER: &[u8] = include_bytes!("../fixtures/gen1-card-signer.key.der");
/// An unrelated root with the same subject as the test CA, `fixtures/gen1-other-ca.der`.
pub const GEN1_OTHER_CA_DER: &[u8] = include_bytes!("../fixtures/gen1-other-ca.der");
/// The synthetic name strip (TIFF, CCITT G4), `fixtures/name.tif`: the gen2 `D0`
/// name image (second-generation notes §4.3).
pub const NAME_TIF: &[u8] = include_bytes!("../fixtures/name.tif");
/// The gen2 `DF D1` address image. No separate fixture exists, so the card-front
/// TIFF ([`FRONT_TIF`], 1405 bytes <= 2500) is reused: it is a valid MMR TIFF and
/// differs from the name image, so a reader that mixes them up is caught.
pub const ADDRESS_TIF: &[u8] = FRONT_TIF;
/// The gen2 test root CA, P-384 (not the Ministry's `ZairyuCard CA2`),
/// `fixtures/gen2-test-ca.der`.
pub const GEN2_TEST_CA_DER: &[u8] = include_bytes!("../fixtures/gen2-test-ca.der");
/// The gen2 card-signer certificate issued by the gen2 test CA (P-384, stored in
/// `DD` at its actual length), `fixtures/gen2-card-signer.der`.
pub const GEN2_CARD_SIGNER_DER: &[u8] = include_bytes!("../fixtures/gen2-card-signer.der");
/// The gen2 card signer's private key (PKCS#8 DER, published on purpose, test only).
pub const GEN2_CARD_SIGNER_KEY_DER: &[u8] = include_bytes!("../fixtures/gen2-card-signer.key.der");

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
            sprc_df2_sfi: gen2::DF2_EF03.sfi,
            tamper_printed_entries: false,
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

/// A personalised card: the contents of every EF, keyed by (DF, SFI).
#[derive(Clone)]
pub struct IssuedCard {
    card_type: CardType,
    card_number: String,
    randomness: SimRandomness,
    files: BTreeMap<(Df, u8), Vec<u8>>,
}

impl core::fmt::Debug for IssuedCard {
    /// Card type and file sizes; never the card number or file contents.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let sizes: Vec<_> = self.files.iter().map(|((df, s), v)| format!("{df:?}/{s:02X}:{}", v.len())).collect();
        write!(f, "IssuedCard({:?}, files=[{}])", self.card_type, sizes.join(", "))
    }
}

fn fixed_ascii(field: &'static str, s: &str, n: usize) -> Result<Vec<u8>, IssueError> {
    if s.len() != n || !s.is_ascii() {
        return Err(IssueError::BadFixedField { field, len: n });
    }
    Ok(s.as_bytes().to_vec())
}

fn zero_padded(field: &'static str, v: &[u8], n: usize) -> Result<Vec<u8>, IssueError> {
    if v.len() > n {
        return Err(IssueError::TooLong { field, got: v.len(), max: n });
    }
    let mut out = v.to_vec();
    out.resize(n, 0);
    Ok(out)
}

fn tlv_file(objects: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in objects {
        tlv::encode(u16::from(*tag), value, &mut out);
    }
    out
}

/// Signs SHA-256(`D0` value ‖ `D1` value) with the test card-signer key
/// (SPEC15 §3.4.3, Fig. 3-4).
fn sign_check_code(front: &[u8], face: &[u8], format: CheckCodeFormat) -> Result<Vec<u8>, IssueError> {
    let key = PrivateKey::from_pkcs8_der(GEN1_CARD_SIGNER_KEY_DER).map_err(|e| IssueError::Signing(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(front);
    h.update(face);
    let digest = h.finalize();
    let scheme = match format {
        CheckCodeFormat::BareHash => Pkcs1v15Sign::new_unprefixed(),
        CheckCodeFormat::DigestInfo => Pkcs1v15Sign::new::<Sha256>(),
    };
    let sig = key.sign(scheme, &digest).map_err(|e| IssueError::Signing(e.to_string()))?;
    if sig.len() != value_len::CHECK_CODE {
        return Err(IssueError::Signing(format!("signature is {} bytes", sig.len())));
    }
    Ok(sig)
}

fn ascii_char(field: &'static str, c: char) -> Result<u8, IssueError> {
    u8::try_from(c).ok().filter(u8::is_ascii).ok_or(IssueError::BadFixedField { field, len: 1 })
}

/// ASCII, at most `n` bytes, zero-padded to `n`.
fn ascii_padded(field: &'static str, s: &str, n: usize) -> Result<Vec<u8>, IssueError> {
    if !s.is_ascii() {
        return Err(IssueError::BadFixedField { field, len: n });
    }
    zero_padded(field, s.as_bytes(), n)
}

fn encode_objects(objects: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in objects {
        tlv::encode(*tag, value, &mut out);
    }
    out
}

/// The gen2 DF1/EF02 data objects in file order (second-generation notes §4.3,
/// §3.5): `C5 C6 C7 C8 C9 CE`, then `CA CB CC CD` on a residence card (05) only.
fn gen2_printed_objects(p: &PrintedEntries, card_type: CardType) -> Result<Vec<(u16, Vec<u8>)>, IssueError> {
    let mut v = vec![
        (0xC5, fixed_ascii("printed.expiry", &p.expiry, 8)?),
        (0xC6, fixed_ascii("printed.birth_date", &p.birth_date, 8)?),
        (0xC7, vec![ascii_char("printed.sex", p.sex)?]),
        (0xC8, ascii_padded("printed.nationality", &p.nationality, 3)?),
        (0xC9, ascii_padded("printed.status_code", &p.status_code, 10)?),
        (0xCE, ascii_padded("printed.period_of_stay", &p.period_of_stay, 4)?),
    ];
    if !card_type.is_special_permanent() {
        v.extend([
            (0xCA, ascii_padded("printed.permission_type", &p.permission_type, 2)?),
            (0xCB, fixed_ascii("printed.permission_date", &p.permission_date, 8)?),
            (0xCC, vec![ascii_char("printed.work_restriction", p.work_restriction)?]),
            (0xCD, fixed_ascii("printed.stay_expiry", &p.stay_expiry, 8)?),
        ]);
    }
    Ok(v)
}

/// Signs the gen2 check code with the test card-signer key (GEN2 §3.4.3.1,
/// second-generation notes §5.3): ECDSA P-384 over SHA-256(`signed_data`),
/// deterministic (RFC 6979). The 32-byte digest is shorter than the P-384 group
/// order and is used as is (standard "SHA256withECDSA"). Returns the raw
/// 96-byte `r ‖ s`, or the DER `ECDSA-Sig-Value` when `der` is set.
fn sign_gen2(signed_data: &[u8], der: bool) -> Result<Vec<u8>, IssueError> {
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use p384::ecdsa::{Signature, SigningKey};
    use p384::pkcs8::DecodePrivateKey;

    let key = SigningKey::from_pkcs8_der(GEN2_CARD_SIGNER_KEY_DER).map_err(|e| IssueError::Signing(e.to_string()))?;
    let digest = Sha256::digest(signed_data);
    let sig: Signature = key.sign_prehash(&digest).map_err(|e| IssueError::Signing(e.to_string()))?;
    Ok(if der { sig.to_der().as_bytes().to_vec() } else { sig.to_bytes().to_vec() })
}

/// `DE` with the non-minimal length `82 00 C8` (second-generation notes §4.1: the
/// 207-byte capacity is `D9 01 x` + `DE 82 00 C8` + 200).
fn gen2_note_file(flag: bool, text: Option<&str>) -> Result<Vec<u8>, IssueError> {
    let text = zero_padded("gen2_note_text", text.map_or(&[][..], str::as_bytes), value_len::NOTE_TEXT)?;
    let mut out = vec![0xD9, 0x01, if flag { b'1' } else { b'0' }];
    out.extend_from_slice(&[0xDE, 0x82, 0x00, 0xC8]);
    out.extend_from_slice(&text);
    Ok(out)
}

/// Builds every second-generation EF below the MF (see the module docs).
fn issue_gen2(opts: &IssueOptions, files: &mut BTreeMap<(Df, u8), Vec<u8>>) -> Result<(), IssueError> {
    let card_type = opts.card_type;

    // DF1/EF01 C2 card number (second-generation notes §4.3).
    let number = fixed_ascii("card_number", &opts.card_number, 12)?;
    files.insert((Df::Df1, gen2::DF1_EF01.sfi), encode_objects(&[(0xC2, number)]));

    // DF1/EF02 printed entries; the signed target is the values only, in file
    // order, zero-padded to 53 bytes (type 06: 34 + 19 × 00; notes §4.4).
    let mut printed = gen2_printed_objects(&opts.printed, card_type)?;
    let mut target: Vec<u8> = printed.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    target.resize(value_len::PRINTED_SIGNED, 0);

    // DF1/EF03 D0 name image 2500, D1 face 3000 (none under 16: all zero).
    let name = zero_padded("name image", NAME_TIF, value_len::NAME_IMAGE)?;
    let mut face = if opts.under_16 {
        vec![0u8; value_len::FACE_IMAGE]
    } else {
        zero_padded("face image", FACE_JP2, value_len::FACE_IMAGE)?
    };

    // DF3/EF01: DC signature, DD certificate at its actual length, 00 fill to 704
    // (notes §3.4, §4.2). Signed data = printed 53 ‖ face 3000 ‖ name 2500 — the
    // face comes first (notes §4.5). Under 16: all zero (our choice, see
    // `IssueOptions::under_16`).
    let df3 = if opts.under_16 {
        vec![0u8; gen2::DF3_EF01.capacity]
    } else {
        let mut signed = Vec::with_capacity(value_len::PRINTED_SIGNED + value_len::FACE_IMAGE + value_len::NAME_IMAGE);
        signed.extend_from_slice(&target);
        signed.extend_from_slice(&face);
        signed.extend_from_slice(&name);
        let sig = sign_gen2(&signed, opts.gen2_signature_der)?;
        if GEN2_CARD_SIGNER_DER.len() > value_len::GEN2_CERTIFICATE_MAX {
            return Err(IssueError::TooLong {
                field: "certificate",
                got: GEN2_CARD_SIGNER_DER.len(),
                max: value_len::GEN2_CERTIFICATE_MAX,
            });
        }
        let mut f = encode_objects(&[(0xDC, sig), (0xDD, GEN2_CARD_SIGNER_DER.to_vec())]);
        f.resize(gen2::DF3_EF01.capacity, 0);
        f
    };
    files.insert((Df::Df3, gen2::DF3_EF01.sfi), df3);

    // Tampering happens after signing.
    if opts.tamper_printed_entries
        && let Some(b) = printed.get_mut(1).and_then(|(_, v)| v.last_mut())
    {
        // Last digit of C6: '0'↔'1' … '8'↔'9', still a parseable date.
        *b ^= 0x01;
    }
    if opts.tamper_front_image
        && let Some(b) = face.last_mut()
    {
        *b ^= 0xFF;
    }
    files.insert((Df::Df1, gen2::DF1_EF02.sfi), encode_objects(&printed));
    files.insert((Df::Df1, gen2::DF1_EF03.sfi), encode_objects(&[(0xD0, name), (0xD1, face)]));
    // DF1/EF04 DF D1 address image 2500 (not signed).
    files.insert(
        (Df::Df1, gen2::DF1_EF04.sfi),
        encode_objects(&[(0xDFD1, zero_padded("address image", ADDRESS_TIF, value_len::ADDRESS_IMAGE)?)]),
    );

    // DF2 (notes §3.3, §4.2, §6.2).
    let note = gen2_note_file(opts.gen2_note_flag, opts.gen2_note_text.as_deref())?;
    if card_type.has_permission_files() {
        let mut d5 = vec![ascii_char("gen2_comprehensive", opts.gen2_comprehensive)?];
        d5.resize(7, 0);
        let d6 = match &opts.gen2_comprehensive_deadline {
            Some(d) => fixed_ascii("gen2_comprehensive_deadline", d, 8)?,
            None => vec![0u8; 8],
        };
        let d7 = vec![if opts.gen2_individual { b'1' } else { b'0' }];
        files.insert((Df::Df2, gen2::DF2_EF01.sfi), encode_objects(&[(0xD5, d5), (0xD6, d6), (0xD7, d7)]));
        let d8 = vec![if opts.renewal_pending { b'1' } else { b'0' }];
        files.insert((Df::Df2, gen2::DF2_EF02.sfi), encode_objects(&[(0xD8, d8)]));
        files.insert((Df::Df2, gen2::DF2_EF03.sfi), note);
    } else {
        if !(0x01..=0x1E).contains(&opts.sprc_df2_sfi) {
            return Err(IssueError::InvalidOption { field: "sprc_df2_sfi", reason: "an SFI must be 1..=30" });
        }
        files.insert((Df::Df2, opts.sprc_df2_sfi), note);
    }
    Ok(())
}

impl IssuedCard {
    /// Personalises a card; panics if the options are invalid (see [`IssuedCard::try_issue`]).
    pub fn issue(opts: &IssueOptions) -> IssuedCard {
        match Self::try_issue(opts) {
            Ok(c) => c,
            Err(e) => panic!("invalid IssueOptions: {e}"),
        }
    }

    /// Personalises a card: every EF per SPEC15 §3.3.4 (gen1) or GEN2 §3.3
    /// (gen2, second-generation notes §4) with fixed-length, zero-padded values,
    /// and the check code signed with the test card signer of that generation.
    pub fn try_issue(opts: &IssueOptions) -> Result<IssuedCard, IssueError> {
        let mut files = BTreeMap::new();
        if zairyu::layout::files(opts.card_type).is_empty() {
            return Err(IssueError::InvalidOption {
                field: "card_type",
                reason: "the simulator issues types 1, 2, 05 and 06 only (the layout of 07/08 is not public)",
            });
        }

        // MF/EF01 C0 (SPEC15 §3.3.4.1), MF/EF02 C1 (§3.3.4.2): `C1 01 3x` in gen1,
        // `C1 02 30 3x` in gen2 (second-generation notes §1.1).
        let version = fixed_ascii("spec_version", &opts.spec_version, 4)?;
        files.insert((Df::Mf, mf::EF01.sfi), tlv_file(&[(0xC0, &version)]));
        files.insert((Df::Mf, gen1::MF_EF02.sfi), tlv_file(&[(0xC1, opts.card_type.code().as_bytes())]));

        if opts.card_type.generation() == 2 {
            issue_gen2(opts, &mut files)?;
            return Ok(IssuedCard {
                card_type: opts.card_type,
                card_number: opts.card_number.clone(),
                randomness: opts.randomness,
                files,
            });
        }

        // DF1/EF01 D0 (§3.3.4.3), DF1/EF02 D1 (§3.3.4.4; no photo under 16, §3.3.5).
        let mut front = zero_padded("front image", FRONT_TIF, value_len::FRONT_IMAGE)?;
        let face = if opts.under_16 {
            vec![0u8; value_len::FACE_IMAGE]
        } else {
            zero_padded("face image", FACE_JP2, value_len::FACE_IMAGE)?
        };

        // DF3/EF01 DA + DB (§3.3.4.9, §3.4.3); under 16: none (§3.3.5 *1/*2).
        let df3 = if opts.under_16 {
            let mut f = match opts.under_16_df3_variant {
                Under16Df3::DaDbZero => vec![0xDA, 0x00, 0xDB, 0x00],
                Under16Df3::DaOnly => vec![0xDA, 0x00],
                Under16Df3::AllZero => Vec::new(),
            };
            f.resize(gen1::DF3_EF01.capacity, 0);
            f
        } else {
            let sig = sign_check_code(&front, &face, opts.check_code_format)?;
            let cert = zero_padded("certificate", GEN1_CARD_SIGNER_DER, value_len::CERTIFICATE)?;
            tlv_file(&[(0xDA, &sig), (0xDB, &cert)])
        };
        if opts.tamper_front_image {
            // The last byte of the value lies in the zero fill: the TIFF still
            // decodes, but the signed hash changes.
            if let Some(b) = front.last_mut() {
                *b ^= 0xFF;
            }
        }
        files.insert((Df::Df1, gen1::DF1_EF01.sfi), tlv_file(&[(0xD0, &front)]));
        files.insert((Df::Df1, gen1::DF1_EF02.sfi), tlv_file(&[(0xD1, &face)]));
        files.insert((Df::Df3, gen1::DF3_EF01.sfi), df3);

        // DF2/EF01 D2 D3 D4 (§3.3.4.5); D4 is UTF-8 without BOM (§3.3.4).
        let df2_ef01 = match &opts.address {
            None => vec![0u8; gen1::DF2_EF01.capacity],
            Some(a) => {
                let date = fixed_ascii("address date", &a.date, value_len::DATE)?;
                let code = fixed_ascii("municipality code", &a.municipality_code, value_len::MUNICIPALITY)?;
                let text: Vec<u8> = if opts.address_encoding_sjis {
                    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&a.text);
                    if had_errors {
                        return Err(IssueError::NotShiftJis);
                    }
                    bytes.into_owned()
                } else {
                    a.text.as_bytes().to_vec()
                };
                let text = zero_padded("address text", &text, value_len::ADDRESS)?;
                tlv_file(&[(0xD2, &date), (0xD3, &code), (0xD4, &text)])
            }
        };
        files.insert((Df::Df2, gen1::DF2_EF01.sfi), df2_ef01);

        // DF2/EF02-EF04 (§3.3.4.6-8), residence card only.
        if opts.card_type.has_permission_files() {
            for (s, tag, text) in [
                (gen1::DF2_EF02.sfi, 0xD5u8, &opts.comprehensive_permission),
                (gen1::DF2_EF03.sfi, 0xD6u8, &opts.individual_permission),
            ] {
                let file = match text {
                    None => vec![0u8; gen1::DF2_EF02.capacity],
                    Some(t) => {
                        tlv_file(&[(tag, &zero_padded("permission text", t.as_bytes(), value_len::PERMISSION)?)])
                    }
                };
                files.insert((Df::Df2, s), file);
            }
            let d7: &[u8] = if opts.renewal_pending { b"1" } else { b"0" };
            files.insert((Df::Df2, gen1::DF2_EF04.sfi), tlv_file(&[(0xD7, d7)]));
        }

        Ok(IssuedCard {
            card_type: opts.card_type,
            card_number: opts.card_number.clone(),
            randomness: opts.randomness,
            files,
        })
    }

    /// The contents of the EF that READ BINARY addresses as `SFI` in `df`.
    pub fn file(&self, df: Df, sfi: u8) -> Option<&[u8]> {
        self.files.get(&(df, sfi)).map(Vec::as_slice)
    }

    /// Every EF, keyed by (DF, SFI).
    pub fn files(&self) -> impl Iterator<Item = ((Df, u8), &[u8])> {
        self.files.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Replaces the contents of one EF (for malformed-data tests); the check code is
    /// not recomputed.
    pub fn set_file(&mut self, df: Df, sfi: u8, contents: Vec<u8>) {
        self.files.insert((df, sfi), contents);
    }

    /// Removes one EF (the chip then answers `6A 82`).
    pub fn remove_file(&mut self, df: Df, sfi: u8) -> Option<Vec<u8>> {
        self.files.remove(&(df, sfi))
    }

    /// The test root CA certificate (DER), the trust anchor for these cards.
    pub fn test_ca_der() -> &'static [u8] {
        GEN1_TEST_CA_DER
    }

    /// The card-signer certificate (DER) stored in `DB`.
    pub fn signer_cert_der() -> &'static [u8] {
        GEN1_CARD_SIGNER_DER
    }

    /// The gen2 test root CA certificate (DER, P-384), the trust anchor for
    /// second-generation simulated cards.
    pub fn test_ca2_der() -> &'static [u8] {
        GEN2_TEST_CA_DER
    }

    /// The gen2 card-signer certificate (DER) stored in `DD`.
    pub fn gen2_signer_cert_der() -> &'static [u8] {
        GEN2_CARD_SIGNER_DER
    }

    /// The card number this card was issued with.
    pub fn card_number(&self) -> &str {
        &self.card_number
    }

    /// The card type.
    pub fn card_type(&self) -> CardType {
        self.card_type
    }

    /// The randomness the chip will use.
    pub fn randomness(&self) -> SimRandomness {
        self.randomness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_capacities() {
        let c = IssuedCard::issue(&IssueOptions::default());
        let expect = [
            ((Df::Mf, 0x0B), 6),
            ((Df::Mf, 0x0A), 3),
            ((Df::Df1, 5), 7004),
            ((Df::Df1, 6), 3004),
            ((Df::Df2, 1), 342),
            ((Df::Df2, 2), 122),
            ((Df::Df2, 3), 122),
            ((Df::Df2, 4), 3),
            ((Df::Df3, 2), 1464),
        ];
        for ((df, s), n) in expect {
            assert_eq!(c.file(df, s).map(<[u8]>::len), Some(n), "{df:?}/{s}");
        }
        assert_eq!(c.files().count(), expect.len());
    }

    #[test]
    fn gen2_sizes_match_the_capacities() {
        // Second-generation notes §3.3 / §4.2.
        for (t, printed) in [(CardType::Gen2ResidenceCard, 73), (CardType::Gen2SpecialPermanentResident, 46)] {
            let c = IssuedCard::issue(&IssueOptions { card_type: t, ..Default::default() });
            let mut expect = vec![
                ((Df::Mf, 0x0B), 6),
                ((Df::Mf, 0x0A), 4),
                ((Df::Df1, 1), 14),
                ((Df::Df1, 3), printed),
                ((Df::Df1, 4), 5508),
                ((Df::Df1, 6), 2505),
                ((Df::Df2, 3), 207),
                ((Df::Df3, 2), 704),
            ];
            if t == CardType::Gen2ResidenceCard {
                expect.extend([((Df::Df2, 1), 22), ((Df::Df2, 2), 3)]);
            }
            for ((df, s), n) in &expect {
                assert_eq!(c.file(*df, *s).map(<[u8]>::len), Some(*n), "{t:?} {df:?}/{s}");
            }
            assert_eq!(c.files().count(), expect.len());
            assert_eq!(c.file(Df::Mf, 0x0A).unwrap(), [b"\xC1\x02", t.code().as_bytes()].concat());
        }
    }

    #[test]
    fn bad_options_are_errors() {
        let o = IssueOptions { spec_version: "01".into(), ..Default::default() };
        assert!(matches!(IssuedCard::try_issue(&o), Err(IssueError::BadFixedField { .. })));
        let o = IssueOptions { comprehensive_permission: Some("あ".repeat(41)), ..Default::default() };
        assert!(matches!(IssuedCard::try_issue(&o), Err(IssueError::TooLong { got: 123, .. })));
        assert!(!format!("{:?}", IssuedCard::issue(&IssueOptions::default())).contains("AB12345678CD"));
    }
}
