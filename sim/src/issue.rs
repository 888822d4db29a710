//! Card personalisation: builds every EF of a first-generation card (SPEC15 §3.3)
//! from [`IssueOptions`], and signs the check code (SPEC15 §3.4.3, Fig. 3-4).
//!
//! All data objects are fixed length: values shorter than the maximum are padded
//! with `00` (SPEC15 §3.2.3.1). File capacities (SPEC15 Tables 3-1/3-2):
//! MF/EF01 6, MF/EF02 3, DF1/EF01 7004, DF1/EF02 3004, DF2/EF01 342,
//! DF2/EF02-03 122, DF2/EF04 3, DF3/EF01 1464.

use std::collections::BTreeMap;

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha2::{Digest, Sha256};
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

/// DF1 name (SPEC15 Table 3-3).
pub const AID_DF1: [u8; 16] = [
    0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
/// DF2 name (SPEC15 Table 3-3).
pub const AID_DF2: [u8; 16] = [
    0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
/// DF3 name (SPEC15 Table 3-3; not `…4F 05…`).
pub const AID_DF3: [u8; 16] = [
    0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// Value lengths of the fixed-length objects (SPEC15 §3.3.4).
pub mod len {
    /// `D0` front image.
    pub const FRONT: usize = 7000;
    /// `D1` face photo.
    pub const FACE: usize = 3000;
    /// `D2` address date.
    pub const DATE: usize = 8;
    /// `D3` municipality code.
    pub const MUNICIPALITY: usize = 6;
    /// `D4` address text.
    pub const ADDRESS: usize = 320;
    /// `D5` / `D6` permission texts.
    pub const PERMISSION: usize = 120;
    /// `DA` check code.
    pub const CHECK_CODE: usize = 256;
    /// `DB` certificate.
    pub const CERTIFICATE: usize = 1200;
    /// DF2/EF01 capacity.
    pub const DF2_EF01: usize = 342;
    /// DF2/EF02, EF03 capacity.
    pub const DF2_EF02: usize = 122;
    /// DF3/EF01 capacity.
    pub const DF3_EF01: usize = 1464;
}

/// The directory files (SPEC15 §3.1, §3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Df {
    /// The master file, current after activation.
    #[default]
    Mf,
    /// DF1: front image and face photo (SM).
    Df1,
    /// DF2: back-side entries.
    Df2,
    /// DF3: check code and certificate.
    Df3,
}

impl Df {
    /// The DF name used by SELECT FILE (SPEC15 §4.2.1); `None` for the MF.
    pub fn aid(self) -> Option<&'static [u8; 16]> {
        match self {
            Df::Mf => None,
            Df::Df1 => Some(&AID_DF1),
            Df::Df2 => Some(&AID_DF2),
            Df::Df3 => Some(&AID_DF3),
        }
    }

    /// The DF with this full 16-byte name, if any.
    pub fn from_aid(aid: &[u8]) -> Option<Df> {
        [Df::Df1, Df::Df2, Df::Df3]
            .into_iter()
            .find(|d| d.aid().is_some_and(|a| a[..] == *aid))
    }
}

/// SFIs as READ BINARY addresses them (P1 = `80 | SFI`, SPEC15 §4.2.5 (i)-(iv)).
pub mod sfi {
    /// MF/EF01 common data element (P1 `8B`).
    pub const MF_EF01: u8 = 0x0B;
    /// MF/EF02 card type (P1 `8A`).
    pub const MF_EF02: u8 = 0x0A;
    /// DF1/EF01 front image (P1 `85`).
    pub const DF1_EF01: u8 = 0x05;
    /// DF1/EF02 face photo (P1 `86`).
    pub const DF1_EF02: u8 = 0x06;
    /// DF2/EF01 address (P1 `81`).
    pub const DF2_EF01: u8 = 0x01;
    /// DF2/EF02 comprehensive permission (P1 `82`, residence card only).
    pub const DF2_EF02: u8 = 0x02;
    /// DF2/EF03 individual permission (P1 `83`, residence card only).
    pub const DF2_EF03: u8 = 0x03;
    /// DF2/EF04 renewal application (P1 `84`, residence card only).
    pub const DF2_EF04: u8 = 0x04;
    /// DF3/EF01 check code and certificate (P1 `82`: SFI 2, although the file is EF01).
    pub const DF3_EF01: u8 = 0x02;
}

/// Card type, MF/EF02 `C1` (SPEC15 §3.3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SimCardType {
    /// 在留カード, `"1"`.
    ResidenceCard,
    /// 特別永住者証明書, `"2"`: no DF2/EF02-EF04 (SPEC15 Table 3-2).
    SpecialPermanentResident,
}

impl SimCardType {
    /// The `C1` value.
    pub fn code(self) -> &'static str {
        match self {
            SimCardType::ResidenceCard => "1",
            SimCardType::SpecialPermanentResident => "2",
        }
    }

    /// Whether DF2/EF02-EF04 exist (SPEC15 §4.2.5 (iii): 在留カードのみ).
    pub fn has_permission_files(self) -> bool {
        matches!(self, SimCardType::ResidenceCard)
    }
}

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

/// Everything a test may want to vary about a card.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// MF/EF02 card type.
    pub card_type: SimCardType,
    /// 在留カード等番号: the secret that opens the chip (SPEC15 §3.4.1).
    pub card_number: String,
    /// Under-16 card: no face photo, no check code or certificate (SPEC15 §3.3.5).
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
    /// DF2/EF04 `D7`: `"1"` (application pending) or `"0"`.
    pub renewal_pending: bool,
    /// Flip one byte of the `D0` value after signing, so the check code no longer verifies.
    pub tamper_front_image: bool,
    /// Where RND.ICC and K.ICC come from.
    pub randomness: SimRandomness,
}

impl Default for IssueOptions {
    fn default() -> Self {
        IssueOptions {
            card_type: SimCardType::ResidenceCard,
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
            comprehensive_permission: Some(
                "許可：原則週２８時間以内・風俗営業等の従事を除く".to_owned(),
            ),
            individual_permission: Some(
                "許可：翻訳業務に従事する活動（週１０時間以内）".to_owned(),
            ),
            renewal_pending: false,
            tamper_front_image: false,
            randomness: SimRandomness::Seeded(1),
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
    /// The RSA signing step failed.
    #[error("signing the check code failed: {0}")]
    Signing(String),
}

/// A personalised card: the contents of every EF, keyed by (DF, SFI).
#[derive(Clone)]
pub struct IssuedCard {
    card_type: SimCardType,
    card_number: String,
    randomness: SimRandomness,
    files: BTreeMap<(Df, u8), Vec<u8>>,
}

impl core::fmt::Debug for IssuedCard {
    /// Card type and file sizes; never the card number or file contents.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let sizes: Vec<_> = self
            .files
            .iter()
            .map(|((df, s), v)| format!("{df:?}/{s:02X}:{}", v.len()))
            .collect();
        write!(
            f,
            "IssuedCard({:?}, files=[{}])",
            self.card_type,
            sizes.join(", ")
        )
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
        return Err(IssueError::TooLong {
            field,
            got: v.len(),
            max: n,
        });
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
fn sign_check_code(
    front: &[u8],
    face: &[u8],
    format: CheckCodeFormat,
) -> Result<Vec<u8>, IssueError> {
    let key = PrivateKey::from_pkcs8_der(GEN1_CARD_SIGNER_KEY_DER)
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(front);
    h.update(face);
    let digest = h.finalize();
    let scheme = match format {
        CheckCodeFormat::BareHash => Pkcs1v15Sign::new_unprefixed(),
        CheckCodeFormat::DigestInfo => Pkcs1v15Sign::new::<Sha256>(),
    };
    let sig = key
        .sign(scheme, &digest)
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    if sig.len() != len::CHECK_CODE {
        return Err(IssueError::Signing(format!(
            "signature is {} bytes",
            sig.len()
        )));
    }
    Ok(sig)
}

impl IssuedCard {
    /// Personalises a card; panics if the options are invalid (see [`IssuedCard::try_issue`]).
    pub fn issue(opts: &IssueOptions) -> IssuedCard {
        match Self::try_issue(opts) {
            Ok(c) => c,
            Err(e) => panic!("invalid IssueOptions: {e}"),
        }
    }

    /// Personalises a card: every EF per SPEC15 §3.3.4 with fixed-length,
    /// zero-padded values, and the check code signed with the test card signer.
    pub fn try_issue(opts: &IssueOptions) -> Result<IssuedCard, IssueError> {
        let mut files = BTreeMap::new();

        // MF/EF01 C0 (SPEC15 §3.3.4.1), MF/EF02 C1 (§3.3.4.2).
        let version = fixed_ascii("spec_version", &opts.spec_version, 4)?;
        files.insert((Df::Mf, sfi::MF_EF01), tlv_file(&[(0xC0, &version)]));
        files.insert(
            (Df::Mf, sfi::MF_EF02),
            tlv_file(&[(0xC1, opts.card_type.code().as_bytes())]),
        );

        // DF1/EF01 D0 (§3.3.4.3), DF1/EF02 D1 (§3.3.4.4; no photo under 16, §3.3.5).
        let mut front = zero_padded("front image", FRONT_TIF, len::FRONT)?;
        let face = if opts.under_16 {
            vec![0u8; len::FACE]
        } else {
            zero_padded("face image", FACE_JP2, len::FACE)?
        };

        // DF3/EF01 DA + DB (§3.3.4.9, §3.4.3); under 16: none (§3.3.5 *1/*2).
        let df3 = if opts.under_16 {
            let mut f = match opts.under_16_df3_variant {
                Under16Df3::DaDbZero => vec![0xDA, 0x00, 0xDB, 0x00],
                Under16Df3::DaOnly => vec![0xDA, 0x00],
                Under16Df3::AllZero => Vec::new(),
            };
            f.resize(len::DF3_EF01, 0);
            f
        } else {
            let sig = sign_check_code(&front, &face, opts.check_code_format)?;
            let cert = zero_padded("certificate", GEN1_CARD_SIGNER_DER, len::CERTIFICATE)?;
            tlv_file(&[(0xDA, &sig), (0xDB, &cert)])
        };
        if opts.tamper_front_image {
            // The last byte of the value lies in the zero fill: the TIFF still
            // decodes, but the signed hash changes.
            if let Some(b) = front.last_mut() {
                *b ^= 0xFF;
            }
        }
        files.insert((Df::Df1, sfi::DF1_EF01), tlv_file(&[(0xD0, &front)]));
        files.insert((Df::Df1, sfi::DF1_EF02), tlv_file(&[(0xD1, &face)]));
        files.insert((Df::Df3, sfi::DF3_EF01), df3);

        // DF2/EF01 D2 D3 D4 (§3.3.4.5); D4 is UTF-8 without BOM (§3.3.4).
        let df2_ef01 = match &opts.address {
            None => vec![0u8; len::DF2_EF01],
            Some(a) => {
                let date = fixed_ascii("address date", &a.date, len::DATE)?;
                let code =
                    fixed_ascii("municipality code", &a.municipality_code, len::MUNICIPALITY)?;
                let text: Vec<u8> = if opts.address_encoding_sjis {
                    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&a.text);
                    if had_errors {
                        return Err(IssueError::NotShiftJis);
                    }
                    bytes.into_owned()
                } else {
                    a.text.as_bytes().to_vec()
                };
                let text = zero_padded("address text", &text, len::ADDRESS)?;
                tlv_file(&[(0xD2, &date), (0xD3, &code), (0xD4, &text)])
            }
        };
        files.insert((Df::Df2, sfi::DF2_EF01), df2_ef01);

        // DF2/EF02-EF04 (§3.3.4.6-8), residence card only.
        if opts.card_type.has_permission_files() {
            for (s, tag, text) in [
                (sfi::DF2_EF02, 0xD5u8, &opts.comprehensive_permission),
                (sfi::DF2_EF03, 0xD6u8, &opts.individual_permission),
            ] {
                let file = match text {
                    None => vec![0u8; len::DF2_EF02],
                    Some(t) => tlv_file(&[(
                        tag,
                        &zero_padded("permission text", t.as_bytes(), len::PERMISSION)?,
                    )]),
                };
                files.insert((Df::Df2, s), file);
            }
            let d7: &[u8] = if opts.renewal_pending { b"1" } else { b"0" };
            files.insert((Df::Df2, sfi::DF2_EF04), tlv_file(&[(0xD7, d7)]));
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

    /// The card number this card was issued with.
    pub fn card_number(&self) -> &str {
        &self.card_number
    }

    /// The card type.
    pub fn card_type(&self) -> SimCardType {
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
    fn bad_options_are_errors() {
        let o = IssueOptions {
            spec_version: "01".into(),
            ..Default::default()
        };
        assert!(matches!(
            IssuedCard::try_issue(&o),
            Err(IssueError::BadFixedField { .. })
        ));
        let o = IssueOptions {
            comprehensive_permission: Some("あ".repeat(41)),
            ..Default::default()
        };
        assert!(matches!(
            IssuedCard::try_issue(&o),
            Err(IssueError::TooLong { got: 123, .. })
        ));
        assert!(
            !format!("{:?}", IssuedCard::issue(&IssueOptions::default())).contains("AB12345678CD")
        );
    }
}
