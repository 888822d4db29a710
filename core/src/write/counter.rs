//! The counter's whole address write in one call (AWP §4.1–4.5), the same for the
//! CLI, the C library and the wheel: card-number access with the clerk's number
//! (the normal read of either generation), the relayed write through an
//! [`AuthorityLink`], then a **new card session** that re-reads the written file
//! and compares it with the record. The counter never holds a key that could
//! authorise the write; what it checks at the end is only that the card now says
//! what the authority's receipt says.

use crate::auth::RandomSource;
use crate::error::TransportError;
use crate::sequence::{CardRead, ReadOptions, ReadPolicy, read_card};
use crate::session::Card;
use crate::transport::Transport;
use crate::verify::TrustStore;
use crate::{CardNumber, Error};

use super::authority::Receipt;
use super::chip_auth_info::card_number_hash;
use super::record::{NewAddress, WriteTarget};
use super::relay::{AuthorityLink, RelayError, RelayRequest, relay_write};
use super::{hex32, sha256};

/// What the clerk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressWrite {
    /// The new record (date, municipality code, address text).
    pub record: NewAddress,
    /// The clerk's operator id, for the authority's audit log.
    pub operator_id: String,
}

/// A write that the card confirmed on a fresh session.
#[derive(Debug)]
pub struct WriteOutcome {
    /// The authority's receipt.
    pub receipt: Receipt,
    /// Card generation (1 or 2).
    pub generation: u8,
    /// Exchanges with the authority.
    pub round_trips: u32,
    /// APDUs of the access read, the relayed write and the re-read together.
    pub apdus: usize,
    /// The re-read of the written file, on its own session.
    pub reread: Box<CardRead>,
}

/// Why a write did not end confirmed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The card-number access read failed (wrong number, card gone, …).
    #[error("card-number access: {0}")]
    Access(Error),
    /// The card is of a kind this profile does not write.
    #[error("card type {0} has no address to write")]
    Unsupported(&'static str),
    /// The relayed write failed or was refused.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// The new session for the re-read could not be started.
    #[error("new session for the re-read: {0}")]
    Reset(TransportError),
    /// The re-read failed.
    #[error("re-read after the write: {0}")]
    Reread(Error),
    /// The card's file does not match the record and the receipt.
    #[error("the re-read file does not match what was written")]
    ReadBackMismatch,
}

impl WriteError {
    /// A stable code: `access_*` and the core's codes for the reads, the relay's and
    /// the authority's codes for the write, `readback_mismatch`.
    pub fn code(&self) -> String {
        match self {
            WriteError::Access(e) | WriteError::Reread(e) => e.code().to_owned(),
            WriteError::Unsupported(_) => "write_unsupported_card".to_owned(),
            WriteError::Relay(e) => relay_code(e),
            WriteError::Reset(e) => Error::from(e.clone()).code().to_owned(),
            WriteError::ReadBackMismatch => "readback_mismatch".to_owned(),
        }
    }
}

/// What kind of failure a [`WriteError`] is: the one classification that the C
/// result codes, the Python exception classes and the CLI's exit codes follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteErrorKind {
    /// The card-number access read failed, or the card or reader failed during the
    /// relayed write: the core's own error ([`WriteError::core_error`]).
    Read,
    /// The authority refused (its own reason; a remote authority may add codes).
    AuthorityRefused,
    /// The authority's policy does not allow this counter or municipality.
    PolicyRefused,
    /// The record fails its checks (date, check digit, length, characters).
    RecordInvalid,
    /// The second-generation address image could not be made (font, size).
    AddressImageFailed,
    /// The card refused a write command (`69 82`, `63 00`, `69 88` …), or its
    /// answers failed Terminal/Chip Authentication or secure messaging.
    CardRefused,
    /// The card has no write application (or an unreadable EF.ChipAuthInfo), or is
    /// of a type this profile does not write.
    NotSupported,
    /// The re-read file is not what the receipt says was written.
    ReadBackMismatch,
    /// The authority issued a receipt but the new session or the re-read failed:
    /// the card holds the old or the new content, whole; read it again to know.
    Unconfirmed,
    /// The authority cannot be reached or broke the protocol.
    AuthorityUnavailable,
}

impl WriteError {
    /// The kind of this failure (see [`WriteErrorKind`]).
    pub fn kind(&self) -> WriteErrorKind {
        use WriteErrorKind as K;
        match self {
            WriteError::Access(_) | WriteError::Relay(RelayError::Transport(_)) => K::Read,
            WriteError::Unsupported(_) => K::NotSupported,
            WriteError::Reset(_) | WriteError::Reread(_) => K::Unconfirmed,
            WriteError::ReadBackMismatch => K::ReadBackMismatch,
            WriteError::Relay(RelayError::CardStatus { .. } | RelayError::ChipAuthInfo(_)) => K::NotSupported,
            WriteError::Relay(RelayError::Link(super::relay::LinkError::Unavailable(_)))
            | WriteError::Relay(RelayError::TooManyRoundTrips | RelayError::EmptyBatch) => K::AuthorityUnavailable,
            WriteError::Relay(_) => kind_of_code(&self.code()),
        }
    }

    /// The core error behind a [`WriteErrorKind::Read`] failure (a wrong card number,
    /// a removed card …), for the bindings to map as they map read errors.
    pub fn core_error(&self) -> Option<Error> {
        match self {
            WriteError::Access(e) => Some(e.clone()),
            WriteError::Relay(RelayError::Transport(t)) => Some(Error::from(t.clone())),
            _ => None,
        }
    }
}

/// The kind of each stable code an authority refuses with, in process
/// ([`super::authority::AuthorityError::code`]) or over a remote link
/// (`LinkError::RemoteRefused`): the state machine's, the authority library's policy
/// and renderer codes. One table for local and remote refusals. Any other code is
/// the authority's own refusal.
pub fn kind_of_code(code: &str) -> WriteErrorKind {
    use WriteErrorKind as K;
    match code {
        "policy_unknown_counter" | "policy_municipality_not_allowed" | "policy_rate_limited" | "rate_limited" => {
            K::PolicyRefused
        }
        "record_invalid" => K::RecordInvalid,
        "font_not_found"
        | "font_unreadable"
        | "glyph_missing"
        | "address_image_too_large"
        | "render_settings_invalid" => K::AddressImageFailed,
        // The card's part of the protocol failed: a refused command, a malformed or
        // forged answer (TA/CA, secure messaging), answers that do not fit the batch.
        "card_refused" | "authentication_failed" | "secure_messaging_failed" | "response_count" => K::CardRefused,
        "write_card_status" | "write_chip_auth_info_unreadable" | "write_unsupported_card" => K::NotSupported,
        "read_back_mismatch" | "readback_mismatch" => K::ReadBackMismatch,
        "authority_unavailable" | "authority_protocol" => K::AuthorityUnavailable,
        _ => K::AuthorityRefused,
    }
}

/// The stable code of a relay failure.
pub fn relay_code(e: &RelayError) -> String {
    use super::relay::LinkError;
    match e {
        RelayError::Transport(t) => Error::from(t.clone()).code().to_owned(),
        RelayError::CardStatus { .. } => "write_card_status".to_owned(),
        RelayError::ChipAuthInfo(_) => "write_chip_auth_info_unreadable".to_owned(),
        RelayError::Link(LinkError::Refused(a)) | RelayError::Refused(a) => a.code().to_owned(),
        RelayError::Link(LinkError::RemoteRefused { code, .. }) => code.clone(),
        RelayError::Link(LinkError::Unavailable(_)) => "authority_unavailable".to_owned(),
        RelayError::TooManyRoundTrips | RelayError::EmptyBatch => "authority_protocol".to_owned(),
    }
}

/// Writes `request` into the card on `transport` through `link`, then re-reads it.
///
/// `reset` starts a new card session on the same transport (PC/SC: reconnect with
/// a card reset; the simulator: a power cycle), so the re-read proves what the
/// card holds, not what a session remembers. The access read uses the text-only
/// policy on the first generation (the address is text) and the full policy on
/// the second (the address is an image).
///
/// # Errors
///
/// [`WriteError`]: the access, the relay (including every refusal of the
/// authority), the new session, the re-read, or a re-read that does not match.
pub fn write_address<T: Transport>(
    transport: T,
    reset: impl FnOnce(&mut T) -> Result<(), TransportError>,
    number: &CardNumber,
    trust: &TrustStore,
    rng: &mut dyn RandomSource,
    link: &mut dyn AuthorityLink,
    request: AddressWrite,
) -> Result<WriteOutcome, WriteError> {
    let text_only = ReadOptions { policy: ReadPolicy::TextOnly, ..ReadOptions::default() };
    let mut card = Card::new(transport);
    let access = read_card(&mut card, number, trust, rng, &text_only).map_err(WriteError::Access)?;
    let (generation, target) = match access.card_type.generation() {
        1 => (1, WriteTarget::Df2Ef01),
        2 => (2, WriteTarget::Df1Ef04),
        _ => return Err(WriteError::Unsupported(access.card_type.code())),
    };
    let mut apdus = card.metrics().apdus as usize;
    let mut transport = card.into_transport();
    let relayed = relay_write(
        &mut transport,
        link,
        RelayRequest {
            target,
            record: request.record.clone(),
            operator_id: request.operator_id,
            card_number_hash: Some(card_number_hash(number)),
        },
    )?;
    apdus += relayed.apdus;
    reset(&mut transport).map_err(WriteError::Reset)?;

    let mut card = Card::new(transport);
    let opts = if generation == 1 { text_only } else { ReadOptions::default() };
    let reread = read_card(&mut card, number, trust, rng, &opts).map_err(WriteError::Reread)?;
    apdus += card.metrics().apdus as usize;
    let matches = match (target, reread.gen1()) {
        (WriteTarget::Df2Ef01, Some(d)) => {
            request.record.matches(&d.address) && file_hash(&reread, "DF2/EF01") == relayed.receipt.content_sha256
        }
        (WriteTarget::Df1Ef04, None) => file_hash(&reread, "DF1/EF04") == relayed.receipt.content_sha256,
        _ => false,
    };
    if !matches {
        return Err(WriteError::ReadBackMismatch);
    }
    Ok(WriteOutcome {
        receipt: relayed.receipt,
        generation,
        round_trips: relayed.round_trips,
        apdus,
        reread: Box::new(reread),
    })
}

/// SHA-256 (hex) of a raw file of the read, or the empty string if it was not read.
fn file_hash(r: &CardRead, name: &str) -> String {
    r.raw_files.iter().find(|f| f.name == name).map(|f| hex32(&sha256(&f.bytes))).unwrap_or_default()
}
