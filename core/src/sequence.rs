//! The read sequence (SPEC15 §3.5.1 データ読み出しシーケンス; GEN2 §3.5.1): dispatch
//! on the card type, authenticate, read the files the policy asks for (addresses
//! from [`crate::layout`]) and parse them, then hand the parsed data to
//! [`crate::verify`].
//!
//! A read either returns a complete [`CardRead`] or an error: a card removed or
//! reset half-way never yields something that looks complete.

use zeroize::Zeroizing;

use crate::auth::RandomSource;
use crate::card_number::CardNumber;
use crate::crypto::{Aes128Suite, Suite, TdesSuite};
use crate::error::{Error, Result, Step};
use crate::files::gen2::{self, BackEntries, PrintedEntries, SignatureFile2};
use crate::files::{
    AddressRecord, CardType, CommonData, Image, RenewalStatus, SignatureFile, Text, TextEncoding, parse_face_image,
    parse_front_image, parse_permission,
};
use crate::layout::{self, Df, Ef};
pub use crate::options::{Flow, ReadOptions, ReadPolicy};
use crate::session::{AuthenticatedCard, Card, LinkReport, Metrics};
use crate::transport::Transport;
use crate::verify::{
    Gen1SignedFiles, Gen2SignedFiles, Reason, TrustStore, Verification, unix_now, verify_first_generation,
    verify_second_generation,
};
use crate::warning::{Warning, WarningCode};

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
    pub warnings: Vec<Warning>,
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
    let ef01 = card.read_small_tlv_file(&layout::mf::EF01)?;
    let common = CommonData::parse(&ef01)?;
    // The card-type file is 3 bytes in gen1 and 4 in gen2, at one address; the
    // length-aware read takes whichever is there.
    let ef02 = card.read_small_tlv_file(&layout::gen1::MF_EF02)?;
    let card_type = CardType::parse(&ef02)?;
    let raw = vec![
        RawFile { name: layout::mf::EF01.name, bytes: ef01 },
        RawFile { name: layout::gen1::MF_EF02.name, bytes: ef02 },
    ];
    Ok((common, card_type, raw))
}

/// What one generation's read returns before assembly.
struct Partial {
    data: CardData,
    verification: Verification,
    warnings: Vec<Warning>,
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
        warnings.push(Warning::new(
            WarningCode::CardNumberShape,
            "card number does not have the usual 2 letters + 8 digits + 2 letters shape",
        ));
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
        warnings.push(Warning::new(
            WarningCode::ShortApduFallback,
            format!(
                "{}; read with fallback {} (chunked and short secure-messaging reads are not described by the spec)",
                if link.extended_length == Some(true) {
                    "extended APDUs were refused for some files, or the link carries fewer than 65,536 bytes back"
                } else {
                    "the reader cannot carry extended APDUs"
                },
                link.fallbacks.join(", ")
            ),
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
    card.authenticate::<S>(number, rng, flow).map_err(|e| match e {
        Error::WrongCardNumber { step: Step::MutualAuthenticate, .. } if flow != detected => {
            Error::WrongGeneration { card_type, flow }
        }
        e => e,
    })
}

fn not_read(now: i64) -> Verification {
    Verification::not_checked(
        Reason::PolicyTextOnly,
        "read policy text_only: the images the signature covers were not read",
        now,
    )
}

fn read_gen1<T: Transport>(
    mut s: AuthenticatedCard<'_, T, TdesSuite>,
    card_type: CardType,
    opts: &ReadOptions,
    now: i64,
    trust: &TrustStore,
    raw: &mut Vec<RawFile>,
) -> Result<Partial> {
    use layout::gen1 as l;
    let full = opts.policy == ReadPolicy::Full;
    let (mut front_image, mut face_image) = (None, None);
    if full {
        s.select_df(Df::Df1)?;
        front_image = Some(read_parsed(&mut s, raw, &l::DF1_EF01, IfMissing::Fail, parse_front_image)?);
        // An under-16 card may answer 6A 82 for the face it does not have.
        face_image = Some(read_parsed(&mut s, raw, &l::DF1_EF02, IfMissing::Empty, parse_face_image)?);
    }

    s.select_df(Df::Df2)?;
    let address = read_parsed(&mut s, raw, &l::DF2_EF01, IfMissing::Fail, AddressRecord::parse)?;
    let (mut comprehensive_permission, mut individual_permission, mut renewal) = (None, None, None);
    if !card_type.is_special_permanent() {
        let permission = |ef: &'static Ef, tag| move |d: &[u8]| parse_permission(ef.name, d, tag);
        comprehensive_permission =
            Some(read_parsed(&mut s, raw, &l::DF2_EF02, IfMissing::Fail, permission(&l::DF2_EF02, 0xD5))?);
        individual_permission =
            Some(read_parsed(&mut s, raw, &l::DF2_EF03, IfMissing::Fail, permission(&l::DF2_EF03, 0xD6))?);
        renewal = Some(read_parsed(&mut s, raw, &l::DF2_EF04, IfMissing::Fail, RenewalStatus::parse)?);
    }

    // DF3/EF01 is read as SFI 2 (P1 `82`) in both generations.
    let signature = if full {
        s.select_df(Df::Df3)?;
        Some(read_parsed(&mut s, raw, &l::DF3_EF01, IfMissing::Empty, SignatureFile::parse)?)
    } else {
        None
    };
    drop(s);

    let verification = if full {
        let files = Gen1SignedFiles {
            front: raw_bytes(raw, &l::DF1_EF01),
            face: raw_bytes(raw, &l::DF1_EF02),
            signature: raw_bytes(raw, &l::DF3_EF01),
        };
        verify_first_generation(&files, trust, now)
    } else {
        not_read(now)
    };
    let mut warnings = Vec::new();
    if let Some(t) = address.address.as_ref().filter(|t| t.encoding != TextEncoding::Utf8) {
        warnings.push(Warning::new(
            WarningCode::AddressNotUtf8,
            format!(
                "address is not UTF-8; decoded as Shift_JIS{}",
                if t.lossy { " (lossy: bytes that CP932 and JIS X 0213 decode differently or not at all)" } else { "" }
            ),
        ));
    }
    let texts = [
        ("DF2/EF01 D4 address", address.address.as_ref()),
        ("DF2/EF02 D5 comprehensive permission", comprehensive_permission.as_ref().and_then(Option::as_ref)),
        ("DF2/EF03 D6 individual permission", individual_permission.as_ref().and_then(Option::as_ref)),
    ];
    warnings.extend(unsafe_text_warnings(&texts));
    warnings.extend(crate::checks::gen1(&address, renewal.as_ref()));
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
    use layout::gen2 as l;
    let full = opts.policy == ReadPolicy::Full;
    s.select_df(Df::Df1)?;
    let stored = read_parsed(&mut s, raw, &l::DF1_EF01, IfMissing::Fail, gen2::parse_card_number)?;
    if !number.ct_eq_bytes(&stored[..]) {
        return Err(Error::CardNumberMismatch);
    }
    let status_table = opts.status_table.as_deref();
    let printed = read_parsed(&mut s, raw, &l::DF1_EF02, IfMissing::Fail, |d| PrintedEntries::parse(d, status_table))?;
    let (mut name_image, mut face_image, mut address_image) = (None, None, None);
    if full {
        let (name, face) = read_parsed(&mut s, raw, &l::DF1_EF03, IfMissing::Fail, gen2::parse_name_and_face)?;
        address_image = Some(read_parsed(&mut s, raw, &l::DF1_EF04, IfMissing::Fail, gen2::parse_address_image)?);
        name_image = Some(name);
        face_image = Some(face);
    }

    s.select_df(Df::Df2)?;
    let mut back = BackEntries::default();
    let df2_files: &[Ef] =
        if card_type.is_special_permanent() { &[l::DF2_SPRC] } else { &[l::DF2_EF01, l::DF2_EF02, l::DF2_EF03] };
    for ef in df2_files {
        let bytes = if *ef == l::DF2_SPRC { read_sprc_df2(&mut s)? } else { s.read_ef(ef)? };
        back.add_file(ef.name, &bytes)?;
        raw.push(RawFile { name: ef.name, bytes });
    }

    let signature = if full {
        s.select_df(Df::Df3)?;
        Some(read_parsed(&mut s, raw, &l::DF3_EF01, IfMissing::Empty, SignatureFile2::parse)?)
    } else {
        None
    };
    drop(s);

    let verification = if full {
        let files = Gen2SignedFiles {
            card_type,
            printed: raw_bytes(raw, &l::DF1_EF02),
            images: raw_bytes(raw, &l::DF1_EF03),
            signature: raw_bytes(raw, &l::DF3_EF01),
        };
        verify_second_generation(&files, trust, now)
    } else {
        not_read(now)
    };
    let mut warnings = Vec::new();
    if back.note_text.as_ref().is_some_and(|t| t.lossy) {
        warnings.push(Warning::new(
            WarningCode::NoteNotUtf8,
            "DF2 note text is not valid UTF-8; shown with replacement characters",
        ));
    }
    warnings.extend(unsafe_text_warnings(&[("DF2 DE note", back.note_text.as_ref())]));
    warnings.extend(crate::checks::gen2(&printed, &back));
    let data = Gen2Data { printed, name_image, face_image, address_image, back, signature };
    Ok(Partial { data: CardData::Gen2(Box::new(data)), verification, warnings })
}

/// One [`WarningCode::UnsafeCharacters`] warning per named text that holds
/// control or bidirectional-override characters.
fn unsafe_text_warnings(texts: &[(&str, Option<&Text>)]) -> Vec<Warning> {
    texts
        .iter()
        .filter(|(_, t)| t.is_some_and(Text::has_unsafe_chars))
        .map(|(name, _)| {
            Warning::new(
                WarningCode::UnsafeCharacters,
                format!("{name} holds control or bidirectional-override characters; shown escaped"),
            )
        })
        .collect()
}

/// What a card's `6A 82` (file not found) means for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfMissing {
    /// An error: the file must exist.
    Fail,
    /// An empty file: an under-16 card may have no face file and no DF3/EF01 (the
    /// verifier decides whether that is the documented under-16 layout).
    Empty,
}

/// Reads one EF by its access rule, parses it, and keeps the bytes as a raw file.
/// Parsed before it is kept: a file that does not parse ends the read.
fn read_parsed<T: Transport, S: Suite, R>(
    s: &mut AuthenticatedCard<'_, T, S>,
    raw: &mut Vec<RawFile>,
    ef: &Ef,
    if_missing: IfMissing,
    parse: impl FnOnce(&[u8]) -> core::result::Result<R, crate::error::ParseError>,
) -> Result<R> {
    let bytes = match s.read_ef(ef) {
        Err(Error::Card { sw: crate::apdu::StatusWord::FileNotFound, .. }) if if_missing == IfMissing::Empty => {
            Zeroizing::new(Vec::new())
        }
        other => other?,
    };
    let parsed = parse(&bytes)?;
    raw.push(RawFile { name: ef.name, bytes });
    Ok(parsed)
}

/// The bytes of a file of this read (empty if it was not read).
fn raw_bytes<'a>(raw: &'a [RawFile], ef: &Ef) -> &'a [u8] {
    raw.iter().find(|f| f.name == ef.name).map_or(&[][..], |f| &f.bytes[..])
}

/// The single DF2 file of a type-06 card, at the first of
/// [`layout::gen2::DF2_SPRC_SFIS`] that exists (`6A 82` moves to the next).
fn read_sprc_df2<T: Transport>(s: &mut AuthenticatedCard<'_, T, Aes128Suite>) -> Result<Zeroizing<Vec<u8>>> {
    let [first, rest @ ..] = layout::gen2::DF2_SPRC_SFIS;
    let mut result = s.read_ef(&Ef { sfi: first, ..layout::gen2::DF2_SPRC });
    for sfi in rest {
        match result {
            Err(Error::Card { sw: crate::apdu::StatusWord::FileNotFound, .. }) => {
                result = s.read_ef(&Ef { sfi, ..layout::gen2::DF2_SPRC });
            }
            other => return other,
        }
    }
    result
}
