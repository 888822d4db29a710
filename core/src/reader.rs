//! The whole read of a card: dispatch on the card type, authenticate, read the
//! files the policy asks for, parse, verify (SPEC15 §3.5.1 データ読み出しシーケンス;
//! GEN2 §3.5.1).
//!
//! A read either returns a complete [`CardRead`] or an error: a card removed or
//! reset half-way never yields something that looks complete.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::auth::RandomSource;
use crate::card_number::CardNumber;
use crate::crypto::{Aes128Suite, Suite, TdesSuite};
use crate::error::{Error, Result, Step, UnsupportedError};
use crate::files::gen2::{self, BackEntries, CodeTable, PrintedEntries, SignatureFile2};
use crate::files::{
    AddressRecord, CardType, CommonData, Image, RenewalStatus, SignatureFile, Text, TextEncoding, parse_face_image,
    parse_front_image, parse_permission,
};
use crate::session::{AuthenticatedCard, Card, Df, LinkReport, Metrics};
use crate::transport::Transport;
use crate::verify::{CardCertificate, TrustStore, Verification, unix_now, verify_gen1, verify_gen2};

/// Which files to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReadPolicy {
    /// Everything, and verify the signature (the default).
    #[default]
    Full,
    /// A privacy option: no face or name image, no card-face or address image, no
    /// signature file. The text entries (first generation: DF2; second generation: the
    /// card number, the printed entries and DF2) are read; the signature covers the
    /// images, so it is reported as `not_checked`.
    TextOnly,
}

/// An access flow: the cryptography and file layout of one card generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Flow {
    /// First generation: 3DES and Retail MAC (SPEC15), types "1" and "2".
    #[serde(rename = "gen1-3des")]
    Gen1,
    /// Second generation: AES and AES-CMAC (GEN2), types "05" and "06".
    #[serde(rename = "gen2-aes")]
    Gen2,
}

impl Flow {
    /// The flow's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Flow::Gen1 => "gen1-3des",
            Flow::Gen2 => "gen2-aes",
        }
    }

    /// The flow for a card type, or the reason it has none.
    pub fn for_card_type(t: CardType) -> Result<Flow> {
        match t {
            CardType::ResidenceCard | CardType::SpecialPermanentResident => Ok(Flow::Gen1),
            CardType::Gen2ResidenceCard | CardType::Gen2SpecialPermanentResident => Ok(Flow::Gen2),
            _ => Err(UnsupportedError::CardType {
                card_type: t.code().to_owned(),
                description: "specified card (特定在留カード等, My Number integrated): not supported",
            }
            .into()),
        }
    }
}

/// Options of a read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Which files to read.
    pub policy: ReadPolicy,
    /// Verification time (Unix seconds); `None` = now.
    pub now_unix: Option<i64>,
    /// Force an access flow instead of choosing it from the card type (diagnostics).
    /// If it does not match the card, the card answers `63 00` and the read fails with
    /// [`Error::WrongGeneration`].
    pub force_flow: Option<Flow>,
    /// Names for status-of-residence codes (second generation), supplied by the user.
    pub status_table: Option<Arc<CodeTable>>,
}

/// One elementary file as read, for dumps.
#[derive(Clone, PartialEq, Eq)]
pub struct RawFile {
    /// `"MF/EF01"`, `"DF1/EF01"` …
    pub name: &'static str,
    /// The file content (decrypted for SM files).
    pub bytes: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for RawFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RawFile({}, {} bytes)", self.name, self.bytes.len())
    }
}

/// Everything read from a first-generation card.
#[derive(Debug, Clone)]
pub struct Gen1Data {
    /// DF1/EF01 front image `D0`; `None` if the policy skipped it.
    pub front_image: Option<Image>,
    /// DF1/EF02 face `D1`; `None` if the policy skipped it.
    pub face_image: Option<Image>,
    /// DF2/EF01 address record.
    pub address: AddressRecord,
    /// DF2/EF02 `D5`; `None` on a special permanent resident certificate (no such file).
    pub comprehensive_permission: Option<Option<Text>>,
    /// DF2/EF03 `D6`; `None` on a special permanent resident certificate.
    pub individual_permission: Option<Option<Text>>,
    /// DF2/EF04 `D7`; `None` on a special permanent resident certificate.
    pub renewal: Option<RenewalStatus>,
    /// DF3/EF01; `None` if the policy skipped it.
    pub signature: Option<SignatureFile>,
}

/// Everything read from a second-generation card.
#[derive(Debug, Clone)]
pub struct Gen2Data {
    /// DF1/EF02 printed entries.
    pub printed: PrintedEntries,
    /// DF1/EF03 name image `D0`; `None` if the policy skipped it.
    pub name_image: Option<Image>,
    /// DF1/EF03 face `D1`; `None` if the policy skipped it.
    pub face_image: Option<Image>,
    /// DF1/EF04 address image `DF D1`; `None` if the policy skipped it.
    pub address_image: Option<Image>,
    /// DF2 entries.
    pub back: BackEntries,
    /// DF3/EF01; `None` if the policy skipped it.
    pub signature: Option<SignatureFile2>,
}

/// Generation-specific data.
#[derive(Debug, Clone)]
pub enum CardData {
    /// Types "1"/"2".
    Gen1(Box<Gen1Data>),
    /// Types "05"/"06".
    Gen2(Box<Gen2Data>),
}

/// The result of a complete read.
#[derive(Debug, Clone)]
pub struct CardRead {
    /// MF/EF01.
    pub common: CommonData,
    /// MF/EF02.
    pub card_type: CardType,
    /// The access flow used.
    pub flow: Flow,
    /// The read policy.
    pub policy: ReadPolicy,
    /// The card number in redacted form (`AB********CD`).
    pub card_number_redacted: String,
    /// Decoded data.
    pub data: CardData,
    /// Signature and chain results.
    pub verification: Verification,
    /// APDUs and bytes.
    pub metrics: Metrics,
    /// How the reads were carried (extended APDUs or a fallback).
    pub link: LinkReport,
    /// Every file as read.
    pub raw_files: Vec<RawFile>,
    /// Things a clerk should know that are not errors.
    pub warnings: Vec<String>,
}

impl CardRead {
    /// First-generation data, if this is a first-generation card.
    pub fn gen1(&self) -> Option<&Gen1Data> {
        match &self.data {
            CardData::Gen1(d) => Some(d),
            CardData::Gen2(_) => None,
        }
    }

    /// Second-generation data, if this is a second-generation card.
    pub fn gen2(&self) -> Option<&Gen2Data> {
        match &self.data {
            CardData::Gen2(d) => Some(d),
            CardData::Gen1(_) => None,
        }
    }

    /// The images that were read, by name (`front`, `face`, `name`, `address`).
    pub fn images(&self) -> Vec<(&'static str, &Image)> {
        let all: [(&'static str, &Option<Image>); 3] = match &self.data {
            CardData::Gen1(d) => [("front", &d.front_image), ("face", &d.face_image), ("", &None)],
            CardData::Gen2(d) => [("name", &d.name_image), ("face", &d.face_image), ("address", &d.address_image)],
        };
        all.into_iter().filter_map(|(n, i)| i.as_ref().map(|i| (n, i))).collect()
    }
}

/// Reads MF/EF01 and MF/EF02 (free, SPEC15 Tables 3-4/3-5; GEN2 §3.3.3) and returns
/// the card type.
pub fn read_card_type<T: Transport>(card: &mut Card<T>) -> Result<(CommonData, CardType, Vec<RawFile>)> {
    card.select_mf()?;
    let ef01 = card.read_small_tlv_file(0x0B)?;
    let common = CommonData::parse(&ef01)?;
    let ef02 = card.read_small_tlv_file(0x0A)?;
    let card_type = CardType::parse(&ef02)?;
    let raw = vec![RawFile { name: "MF/EF01", bytes: ef01 }, RawFile { name: "MF/EF02", bytes: ef02 }];
    Ok((common, card_type, raw))
}

/// What one generation's read returns before assembly.
struct Partial {
    data: CardData,
    verification: Verification,
    warnings: Vec<String>,
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
    let detected = Flow::for_card_type(card_type)?;
    let flow = opts.force_flow.unwrap_or(detected);
    let now = opts.now_unix.unwrap_or_else(unix_now);
    let mut warnings = Vec::new();
    if !number.has_usual_shape() {
        warnings.push("card number does not have the usual 2 letters + 8 digits + 2 letters shape".to_owned());
    }
    let partial = match flow {
        Flow::Gen1 => {
            let session = authenticate::<T, TdesSuite>(card, number, rng, flow, detected, card_type)?;
            read_gen1(session, card_type, opts, now, trust, &mut raw_files)?
        }
        Flow::Gen2 => {
            let session = authenticate::<T, Aes128Suite>(card, number, rng, flow, detected, card_type)?;
            read_gen2(session, number, card_type, opts, now, trust, &mut raw_files)?
        }
    };
    warnings.extend(partial.warnings);
    let link = card.link_report().clone();
    if !link.fallbacks.is_empty() {
        warnings.push(format!(
            "the reader cannot carry extended APDUs; read with fallback {} (short APDUs; chunked secure-messaging reads are not described by the spec)",
            link.fallbacks.join(", ")
        ));
    }
    Ok(CardRead {
        common,
        card_type,
        flow,
        policy: opts.policy,
        card_number_redacted: number.redacted(),
        data: partial.data,
        verification: partial.verification,
        metrics: card.metrics(),
        link,
        raw_files,
        warnings,
    })
}

fn authenticate<'a, T: Transport, S: Suite>(
    card: &'a mut Card<T>,
    number: &CardNumber,
    rng: &mut dyn RandomSource,
    flow: Flow,
    detected: Flow,
    card_type: CardType,
) -> Result<AuthenticatedCard<'a, T, S>> {
    card.authenticate::<S>(number, rng, flow.name()).map_err(|e| match e {
        Error::WrongCardNumber { step: Step::MutualAuthenticate, .. } if flow != detected => {
            Error::WrongGeneration { card_type: card_type.code(), flow: flow.name() }
        }
        e => e,
    })
}

fn not_read(now: i64) -> Verification {
    Verification::not_checked("read policy text_only: the images the signature covers were not read", now)
}

fn read_gen1<T: Transport>(
    mut s: AuthenticatedCard<'_, T, TdesSuite>,
    card_type: CardType,
    opts: &ReadOptions,
    now: i64,
    trust: &TrustStore,
    raw: &mut Vec<RawFile>,
) -> Result<Partial> {
    let full = opts.policy == ReadPolicy::Full;
    let (mut front_image, mut face_image) = (None, None);
    if full {
        s.select_df(Df::Df1)?;
        let ef = s.sm_read_binary(0x05)?;
        front_image = Some(parse_front_image(&ef)?);
        raw.push(RawFile { name: "DF1/EF01", bytes: ef });
        let ef = s.sm_read_binary(0x06)?;
        face_image = Some(parse_face_image(&ef)?);
        raw.push(RawFile { name: "DF1/EF02", bytes: ef });
    }

    s.select_df(Df::Df2)?;
    let ef = s.read_binary(0x01)?;
    let address = AddressRecord::parse(&ef)?;
    raw.push(RawFile { name: "DF2/EF01", bytes: ef });
    let (mut comprehensive_permission, mut individual_permission, mut renewal) = (None, None, None);
    if !card_type.is_special_permanent() {
        let ef = s.read_binary(0x02)?;
        comprehensive_permission = Some(parse_permission("DF2/EF02", &ef, 0xD5)?);
        raw.push(RawFile { name: "DF2/EF02", bytes: ef });
        let ef = s.read_binary(0x03)?;
        individual_permission = Some(parse_permission("DF2/EF03", &ef, 0xD6)?);
        raw.push(RawFile { name: "DF2/EF03", bytes: ef });
        let ef = s.read_binary(0x04)?;
        renewal = Some(RenewalStatus::parse(&ef)?);
        raw.push(RawFile { name: "DF2/EF04", bytes: ef });
    }

    let signature = if full { Some(read_df3(&mut s, raw, SignatureFile::parse)?) } else { None };
    drop(s);

    let verification = match (&front_image, &face_image, &signature) {
        (Some(front), Some(face), Some(sig)) => verify_first_generation(front, face, sig, trust, now),
        _ => not_read(now),
    };
    let mut warnings = Vec::new();
    if let Some(t) = address.address.as_ref().filter(|t| t.encoding != TextEncoding::Utf8) {
        warnings.push(format!(
            "address is not UTF-8; decoded as Shift_JIS{}",
            if t.lossy { " with unmapped bytes" } else { "" }
        ));
    }
    let data = Gen1Data {
        front_image,
        face_image,
        address,
        comprehensive_permission,
        individual_permission,
        renewal,
        signature,
    };
    Ok(Partial { data: CardData::Gen1(Box::new(data)), verification, warnings })
}

fn read_gen2<T: Transport>(
    mut s: AuthenticatedCard<'_, T, Aes128Suite>,
    number: &CardNumber,
    card_type: CardType,
    opts: &ReadOptions,
    now: i64,
    trust: &TrustStore,
    raw: &mut Vec<RawFile>,
) -> Result<Partial> {
    let full = opts.policy == ReadPolicy::Full;
    s.select_df(Df::Df1)?;
    let ef = s.sm_read_binary(0x01)?;
    let stored = gen2::parse_card_number(&ef)?;
    raw.push(RawFile { name: "DF1/EF01", bytes: ef });
    if !number.ct_eq_bytes(&stored) {
        return Err(Error::CardNumberMismatch);
    }
    let ef = s.sm_read_binary(0x03)?;
    let printed = PrintedEntries::parse(&ef, opts.status_table.as_deref())?;
    raw.push(RawFile { name: "DF1/EF02", bytes: ef });
    let (mut name_image, mut face_image, mut address_image) = (None, None, None);
    if full {
        let ef = s.sm_read_binary(0x04)?;
        let (name, face) = gen2::parse_name_and_face(&ef)?;
        raw.push(RawFile { name: "DF1/EF03", bytes: ef });
        let ef = s.sm_read_binary(0x06)?;
        address_image = Some(gen2::parse_address_image(&ef)?);
        raw.push(RawFile { name: "DF1/EF04", bytes: ef });
        name_image = Some(name);
        face_image = Some(face);
    }

    s.select_df(Df::Df2)?;
    let mut back = BackEntries::default();
    if card_type.is_special_permanent() {
        // The single DF2 file of type "06": SFI 3 per the public notes, SFI 1 by its
        // name "EF01"; try 3, then 1 on 6A 82 (second-generation notes §3.3).
        let ef = match s.read_binary(0x03) {
            Err(Error::Card { sw: crate::apdu::StatusWord::FileNotFound, .. }) => s.read_binary(0x01)?,
            other => other?,
        };
        back.add_file("DF2/EF01", &ef)?;
        raw.push(RawFile { name: "DF2/EF01", bytes: ef });
    } else {
        for (sfi, name) in [(0x01, "DF2/EF01"), (0x02, "DF2/EF02"), (0x03, "DF2/EF03")] {
            let ef = s.read_binary(sfi)?;
            back.add_file(name, &ef)?;
            raw.push(RawFile { name, bytes: ef });
        }
    }

    let signature = if full { Some(read_df3(&mut s, raw, SignatureFile2::parse)?) } else { None };
    drop(s);

    let verification = match (&face_image, &name_image, &signature) {
        (Some(face), Some(name), Some(sig)) => verify_second_generation(&printed, face, name, sig, trust, now),
        _ => not_read(now),
    };
    let mut warnings = Vec::new();
    if back.note_text.as_ref().is_some_and(|t| t.lossy) {
        warnings.push("DF2 note text is not valid UTF-8; shown with replacement characters".to_owned());
    }
    let data = Gen2Data { printed, name_image, face_image, address_image, back, signature };
    Ok(Partial { data: CardData::Gen2(Box::new(data)), verification, warnings })
}

/// Selects DF3 and reads its EF01 (P1 `82`: SFI 2 although the file is called EF01,
/// SPEC15 §4.2.5 (iv); GEN2 likewise), parsed by the generation's parser.
fn read_df3<T: Transport, S: Suite, R>(
    s: &mut AuthenticatedCard<'_, T, S>,
    raw: &mut Vec<RawFile>,
    parse: fn(&[u8]) -> core::result::Result<R, crate::error::ParseError>,
) -> Result<R> {
    s.select_df(Df::Df3)?;
    let ef = s.read_binary(0x02)?;
    let parsed = parse(&ef)?;
    raw.push(RawFile { name: "DF3/EF01", bytes: ef });
    Ok(parsed)
}

/// Parses the certificate value; an unparseable certificate makes the signature
/// invalid (the data was read completely: a forgery indicator, not a read failure).
fn parse_cert(file: &'static str, value: Option<&[u8]>, now: i64) -> Result<Option<CardCertificate>, Verification> {
    match value.map(|v| CardCertificate::parse(file, v)) {
        None => Ok(None),
        Some(Ok(c)) => Ok(Some(c)),
        Some(Err(e)) => Err(Verification::invalid(&format!("certificate cannot be parsed: {e}"), now)),
    }
}

/// SPEC15 §3.4.3: verifies the check code over the two images, and the chain of
/// the `DB` certificate.
pub fn verify_first_generation(
    front: &Image,
    face: &Image,
    sig: &SignatureFile,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    match parse_cert("DF3/EF01 DB", sig.certificate.as_deref(), now_unix) {
        Ok(cert) => verify_gen1(&front.value, &face.value, sig.check_code.as_deref(), cert.as_ref(), trust, now_unix),
        Err(v) => v,
    }
}

/// GEN2 §3.4.3.1: verifies the ECDSA signature `DC` over printed entries ‖ face ‖
/// name image, and the chain of the `DD` certificate.
pub fn verify_second_generation(
    printed: &PrintedEntries,
    face: &Image,
    name: &Image,
    sig: &SignatureFile2,
    trust: &TrustStore,
    now_unix: i64,
) -> Verification {
    let cert = match parse_cert("DF3/EF01 DD", sig.certificate.as_deref(), now_unix) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(printed_53) = printed.signed_part.as_deref() else {
        return Verification::invalid("printed entries exceed the 53 bytes the signature covers", now_unix);
    };
    let data = gen2::signed_data(printed_53, face, name);
    verify_gen2(&data, sig.signature.as_deref(), cert.as_ref(), trust, now_unix)
}
