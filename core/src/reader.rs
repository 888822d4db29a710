//! The whole read of a card: dispatch on the card type, authenticate, read every
//! file, parse, verify (SPEC15 §3.5.1 データ読み出しシーケンス).
//!
//! A read either returns a complete [`CardRead`] or an error: a card removed or
//! reset half-way never yields something that looks complete.

use crate::auth::RandomSource;
use crate::card_number::CardNumber;
use crate::crypto::TdesSuite;
use crate::error::{Result, UnsupportedError};
use crate::files::{
    AddressRecord, CardType, CommonData, Image, RenewalStatus, SignatureFile, Text,
    parse_face_image, parse_front_image, parse_permission,
};
use crate::session::{Card, Df, Metrics};
use crate::transport::Transport;
use crate::verify::{CardCertificate, TrustStore, Verification, unix_now, verify_gen1};

/// Which files to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReadPolicy {
    /// Everything, and verify the signature (the default).
    #[default]
    Full,
}

/// Options of a read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Which files to read.
    pub policy: ReadPolicy,
    /// Verification time (Unix seconds); `None` = now.
    pub now_unix: Option<i64>,
}

/// One elementary file as read, for dumps.
#[derive(Clone, PartialEq, Eq)]
pub struct RawFile {
    /// `"MF/EF01"`, `"DF1/EF01"` …
    pub name: &'static str,
    /// The file content (decrypted for SM files).
    pub bytes: Vec<u8>,
}

impl core::fmt::Debug for RawFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RawFile({}, {} bytes)", self.name, self.bytes.len())
    }
}

/// Everything read from a first-generation card.
#[derive(Debug, Clone)]
pub struct Gen1Data {
    /// DF1/EF01 front image `D0`.
    pub front_image: Image,
    /// DF1/EF02 face `D1`.
    pub face_image: Image,
    /// DF2/EF01 address record.
    pub address: AddressRecord,
    /// DF2/EF02 `D5`; `None` on a special permanent resident certificate (no such file).
    pub comprehensive_permission: Option<Option<Text>>,
    /// DF2/EF03 `D6`; `None` on a special permanent resident certificate.
    pub individual_permission: Option<Option<Text>>,
    /// DF2/EF04 `D7`; `None` on a special permanent resident certificate.
    pub renewal: Option<RenewalStatus>,
    /// DF3/EF01.
    pub signature: SignatureFile,
}

/// The result of a complete read.
#[derive(Debug, Clone)]
pub struct CardRead {
    /// MF/EF01.
    pub common: CommonData,
    /// MF/EF02.
    pub card_type: CardType,
    /// The access flow used (`"gen1-3des"`).
    pub flow: &'static str,
    /// The card number in redacted form (`AB********CD`).
    pub card_number_redacted: String,
    /// Decoded data.
    pub data: Gen1Data,
    /// Signature and chain results.
    pub verification: Verification,
    /// APDUs and bytes.
    pub metrics: Metrics,
    /// Every file as read.
    pub raw_files: Vec<RawFile>,
    /// Things a clerk should know that are not errors.
    pub warnings: Vec<String>,
}

/// The first-generation access flow's name.
pub const FLOW_GEN1: &str = "gen1-3des";

/// Reads MF/EF01 and MF/EF02 (free, SPEC15 Tables 3-4/3-5) and returns the card type.
pub fn read_card_type<T: Transport>(
    card: &mut Card<T>,
) -> Result<(CommonData, CardType, Vec<RawFile>)> {
    card.select_mf()?;
    let ef01 = card.read_small_tlv_file(0x0B)?;
    let common = CommonData::parse(&ef01)?;
    let ef02 = card.read_small_tlv_file(0x0A)?;
    let card_type = CardType::parse(&ef02)?;
    let raw = vec![
        RawFile {
            name: "MF/EF01",
            bytes: ef01.to_vec(),
        },
        RawFile {
            name: "MF/EF02",
            bytes: ef02.to_vec(),
        },
    ];
    Ok((common, card_type, raw))
}

/// Reads and verifies a card: the main entry point.
pub fn read_card<T: Transport>(
    card: &mut Card<T>,
    number: &CardNumber,
    trust: &TrustStore,
    rng: &mut dyn RandomSource,
    opts: &ReadOptions,
) -> Result<CardRead> {
    let (common, card_type, mut raw_files) = read_card_type(card)?;
    match card_type {
        CardType::ResidenceCard | CardType::SpecialPermanentResident => {}
        CardType::Gen2ResidenceCard | CardType::Gen2SpecialPermanentResident => {
            return Err(UnsupportedError::CardType {
                card_type: card_type.code().to_owned(),
                description: "second-generation card: generation not supported yet",
            }
            .into());
        }
        _ => {
            return Err(UnsupportedError::CardType {
                card_type: card_type.code().to_owned(),
                description: "specified card (特定在留カード等): not supported",
            }
            .into());
        }
    }
    let mut warnings = Vec::new();
    if !number.has_usual_shape() {
        warnings.push(
            "card number does not have the usual 2 letters + 8 digits + 2 letters shape".to_owned(),
        );
    }

    let mut session = card.authenticate::<TdesSuite>(number, rng, FLOW_GEN1)?;

    session.select_df(Df::Df1)?;
    let ef = session.sm_read_binary(0x05)?;
    let front_image = parse_front_image(&ef)?;
    raw_files.push(RawFile {
        name: "DF1/EF01",
        bytes: ef.to_vec(),
    });
    let ef = session.sm_read_binary(0x06)?;
    let face_image = parse_face_image(&ef)?;
    raw_files.push(RawFile {
        name: "DF1/EF02",
        bytes: ef.to_vec(),
    });

    session.select_df(Df::Df2)?;
    let ef = session.read_binary(0x01)?;
    let address = AddressRecord::parse(&ef)?;
    raw_files.push(RawFile {
        name: "DF2/EF01",
        bytes: ef.to_vec(),
    });
    let (mut comprehensive_permission, mut individual_permission, mut renewal) = (None, None, None);
    if !card_type.is_special_permanent() {
        let ef = session.read_binary(0x02)?;
        comprehensive_permission = Some(parse_permission("DF2/EF02", &ef, 0xD5)?);
        raw_files.push(RawFile {
            name: "DF2/EF02",
            bytes: ef.to_vec(),
        });
        let ef = session.read_binary(0x03)?;
        individual_permission = Some(parse_permission("DF2/EF03", &ef, 0xD6)?);
        raw_files.push(RawFile {
            name: "DF2/EF03",
            bytes: ef.to_vec(),
        });
        let ef = session.read_binary(0x04)?;
        renewal = Some(RenewalStatus::parse(&ef)?);
        raw_files.push(RawFile {
            name: "DF2/EF04",
            bytes: ef.to_vec(),
        });
    }

    session.select_df(Df::Df3)?;
    let ef = session.read_binary(0x02)?;
    let signature = SignatureFile::parse(&ef)?;
    raw_files.push(RawFile {
        name: "DF3/EF01",
        bytes: ef.to_vec(),
    });
    drop(session);

    let now = opts.now_unix.unwrap_or_else(unix_now);
    let verification = verify_first_generation(&front_image, &face_image, &signature, trust, now);
    if let Some(t) = address
        .address
        .as_ref()
        .filter(|t| t.encoding != crate::files::TextEncoding::Utf8)
    {
        warnings.push(format!(
            "address is not UTF-8; decoded as Shift_JIS{}",
            if t.lossy { " with unmapped bytes" } else { "" }
        ));
    }

    Ok(CardRead {
        common,
        card_type,
        flow: FLOW_GEN1,
        card_number_redacted: number.redacted(),
        data: Gen1Data {
            front_image,
            face_image,
            address,
            comprehensive_permission,
            individual_permission,
            renewal,
            signature,
        },
        verification,
        metrics: card.metrics(),
        raw_files,
        warnings,
    })
}

/// SPEC15 §3.4.3: verifies the check code over the two images, and the chain of
/// the `DB` certificate. A certificate that cannot be parsed makes the signature
/// invalid (the card data was read completely; this is a forgery indicator, not a
/// read failure).
pub fn verify_first_generation(
    front: &Image,
    face: &Image,
    sig: &SignatureFile,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    let cert = match sig
        .certificate
        .as_deref()
        .map(|v| CardCertificate::parse("DF3/EF01 DB", v))
    {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            return Verification::invalid(&format!("certificate cannot be parsed: {e}"), now_unix);
        }
    };
    verify_gen1(
        &front.value,
        &face.value,
        sig.check_code.as_deref(),
        cert.as_ref(),
        trust,
        now_unix,
    )
}
