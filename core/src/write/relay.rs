//! The counter terminal's side of a write (AWP §4.1–4.3, §5): it only relays.
//!
//! After the normal card-number access (either generation's read flow, with the
//! clerk's number), [`relay_write`] selects the write application, reads
//! EF.ChipAuthInfo, opens the write session through an [`AuthorityLink`], sends each
//! batch to the card — stopping a batch at the first unexpected status word — and
//! hands the answers back until the authority returns its [`Receipt`] or refuses.
//!
//! The relay's API carries APDU bytes, the record and the receipt only: no key type
//! is reachable from it. In production the link is a remote authority over mutual
//! TLS; [`InProcessLink`] puts the authority state machine in the same process
//! behind the same interface (tests, the demo, a test bench).
//!
//! After the receipt, the counter re-reads the written file with its own session
//! and compares it with the record ([`super::record::NewAddress::matches`]).

use super::authority::{Authority, AuthorityError, Batch, Next, Receipt, WriteRequest, WriteSession};
use super::chip_auth_info::ChipAuthInfo;
use super::record::{NewAddress, NewContent, RecordError, WriteTarget};
use super::{CHIP_AUTH_INFO_MAX, CHIP_AUTH_INFO_SFI, WRITE_AID};
use crate::auth::RandomSource;
use crate::error::TransportError;
use crate::transport::{Limits, Transport};

/// The most exchanges with the authority a write may take (AWP v1 needs four); a
/// link that asks for more is cut off.
pub const MAX_ROUND_TRIPS: u32 = 6;

/// What the counter sends to open a write session (AWP §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    /// The file to write: DF2/EF01 on a first-generation card, DF1/EF04 on a second.
    pub target: WriteTarget,
    /// The new address record as the clerk entered it.
    pub record: NewAddress,
    /// The clerk's operator id, for the audit log.
    pub operator_id: String,
    /// EF.ChipAuthInfo as read from the card.
    pub chip_auth_info: Vec<u8>,
    /// What the link to the card carries.
    pub limits: Limits,
    /// SHA-256 of the card number the clerk typed.
    pub card_number_hash: Option<[u8; 32]>,
}

/// Failures of the link to the authority.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The authority refused (in-process: its typed error).
    #[error("authority refused: {0}")]
    Refused(AuthorityError),
    /// A remote authority refused, with its stable code and message.
    #[error("authority refused [{code}]: {message}")]
    RemoteRefused {
        /// The stable code ([`AuthorityError::code`]).
        code: String,
        /// Its message.
        message: String,
    },
    /// The authority cannot be reached, or answered out of protocol.
    #[error("authority link failed: {0}")]
    Unavailable(String),
}

/// The counter's connection to a write authority.
pub trait AuthorityLink {
    /// Opens a write session; returns the first batch.
    fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError>;
    /// Sends the card's answers to the last batch; returns what comes next.
    fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError>;
}

/// Why a relayed write did not end in a receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The card or reader failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A plain command of the relay's own (SELECT, READ BINARY of EF.ChipAuthInfo)
    /// got an unexpected status word.
    #[error("{step}: card answered {sw:04X}")]
    CardStatus {
        /// The command.
        step: &'static str,
        /// The status word.
        sw: u16,
    },
    /// EF.ChipAuthInfo does not start with its object, or is longer than 1 KiB.
    #[error("EF.ChipAuthInfo is not readable: {0}")]
    ChipAuthInfo(&'static str),
    /// The link to the authority failed or the authority refused to open.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The authority refused or stopped the write.
    #[error("write refused: {0}")]
    Refused(AuthorityError),
    /// The authority asked for more exchanges than the protocol has.
    #[error("the authority asked for more than {MAX_ROUND_TRIPS} exchanges")]
    TooManyRoundTrips,
    /// The authority sent an empty batch.
    #[error("the authority sent an empty batch")]
    EmptyBatch,
}

/// A relayed write that ended in a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayOutcome {
    /// The authority's receipt.
    pub receipt: Receipt,
    /// Exchanges with the authority, the opening one included.
    pub round_trips: u32,
    /// Command APDUs sent to the card (the relay's own included).
    pub apdus: usize,
}

/// What the counter knows when it starts a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRequest {
    /// The file to write.
    pub target: WriteTarget,
    /// The new record.
    pub record: NewAddress,
    /// The clerk's operator id.
    pub operator_id: String,
    /// SHA-256 of the card number the clerk typed.
    pub card_number_hash: Option<[u8; 32]>,
}

fn sw_of(r: &[u8]) -> u16 {
    match r {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Sends one command; follows `61 XX` with GET RESPONSE (ISO/IEC 7816-4 §5.3.4) so
/// a T=0 link gives the whole answer.
fn transmit<T: Transport + ?Sized>(t: &mut T, apdu: &[u8], count: &mut usize) -> Result<Vec<u8>, RelayError> {
    *count += 1;
    let mut r = t.transmit(apdu)?;
    let mut data = Vec::new();
    for _ in 0..64 {
        if r.len() < 2 || r[r.len() - 2] != 0x61 {
            break;
        }
        let le = r[r.len() - 1];
        r.truncate(r.len() - 2);
        data.extend_from_slice(&r);
        *count += 1;
        r = t.transmit(&[0x00, 0xC0, 0x00, 0x00, le])?;
    }
    if data.is_empty() {
        Ok(r)
    } else {
        data.extend_from_slice(&r);
        Ok(data)
    }
}

/// Selects the write application and reads EF.ChipAuthInfo in plain (the card
/// allows it after card-number access).
pub fn read_chip_auth_info<T: Transport + ?Sized>(t: &mut T, count: &mut usize) -> Result<Vec<u8>, RelayError> {
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, WRITE_AID.len() as u8];
    select.extend_from_slice(&WRITE_AID);
    let r = transmit(t, &select, count)?;
    if sw_of(&r) != 0x9000 {
        return Err(RelayError::CardStatus { step: "SELECT write application", sw: sw_of(&r) });
    }
    let room = t.limits().max_data().clamp(1, 256);
    let read = |t: &mut T, off: usize, n: usize, count: &mut usize| -> Result<Vec<u8>, RelayError> {
        let (p1, p2) = if off == 0 { (0x80 | CHIP_AUTH_INFO_SFI, 0) } else { ((off >> 8) as u8 & 0x7F, off as u8) };
        let mut r = transmit(t, &[0x00, 0xB0, p1, p2, n as u8], count)?;
        let sw = sw_of(&r);
        // 62 82: end of file reached before Le bytes (ISO/IEC 7816-4 Table 5).
        if sw != 0x9000 && sw != 0x6282 {
            return Err(RelayError::CardStatus { step: "READ BINARY EF.ChipAuthInfo", sw });
        }
        r.truncate(r.len() - 2);
        Ok(r)
    };
    let mut data = read(t, 0, room, count)?;
    let total = ChipAuthInfo::total_len(&data).ok_or(RelayError::ChipAuthInfo("not an E1 object"))?;
    if total > CHIP_AUTH_INFO_MAX {
        return Err(RelayError::ChipAuthInfo("longer than 1024 bytes"));
    }
    while data.len() < total {
        let n = room.min(total - data.len());
        let more = read(t, data.len(), n, count)?;
        if more.is_empty() {
            return Err(RelayError::ChipAuthInfo("shorter than its length field"));
        }
        data.extend_from_slice(&more);
    }
    data.truncate(total);
    Ok(data)
}

/// Relays one write: reads EF.ChipAuthInfo, opens the session, relays each batch
/// (stopping a batch at the first unexpected status word), and returns the receipt.
/// `transport` must carry a card whose card-number access is granted in this session.
pub fn relay_write<T: Transport + ?Sized, L: AuthorityLink + ?Sized>(
    transport: &mut T,
    link: &mut L,
    request: RelayRequest,
) -> Result<RelayOutcome, RelayError> {
    let mut apdus = 0usize;
    let chip_auth_info = read_chip_auth_info(transport, &mut apdus)?;
    let open = OpenRequest {
        target: request.target,
        record: request.record,
        operator_id: request.operator_id,
        chip_auth_info,
        limits: transport.limits(),
        card_number_hash: request.card_number_hash,
    };
    let mut batch = link.open(&open)?;
    let mut round_trips = 1u32;
    loop {
        if batch.commands.is_empty() {
            return Err(RelayError::EmptyBatch);
        }
        let mut responses = Vec::with_capacity(batch.commands.len());
        for cmd in &batch.commands {
            let r = transmit(transport, &cmd.apdu, &mut apdus)?;
            let ok = sw_of(&r) == cmd.expected_sw;
            log::debug!("write relay: {} -> {:04X}", cmd.label, sw_of(&r));
            responses.push(r);
            if !ok {
                break;
            }
        }
        if round_trips >= MAX_ROUND_TRIPS {
            return Err(RelayError::TooManyRoundTrips);
        }
        round_trips += 1;
        match link.send(&responses)? {
            Next::Batch(b) => batch = b,
            Next::Done(receipt) => return Ok(RelayOutcome { receipt, round_trips, apdus }),
            Next::Refused(e) => return Err(RelayError::Refused(e)),
        }
    }
}

/// Renders the second generation's address image (the authority crate provides it).
pub type Renderer = Box<dyn Fn(&NewAddress) -> Result<NewContent, RecordError> + Send + Sync>;

/// The authority in the same process, behind [`AuthorityLink`] (AWP §5).
pub struct InProcessLink<R: RandomSource> {
    authority: Authority,
    rng: R,
    now_unix: Option<u64>,
    renderer: Option<Renderer>,
    session: Option<WriteSession>,
}

impl<R: RandomSource> core::fmt::Debug for InProcessLink<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InProcessLink")
            .field("authority", &self.authority)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<R: RandomSource> InProcessLink<R> {
    /// A link to `authority`, drawing its ephemeral keys from `rng`, using the
    /// system clock.
    pub fn new(authority: Authority, rng: R) -> Self {
        InProcessLink { authority, rng, now_unix: None, renderer: None, session: None }
    }

    /// Fixes the request time (tests).
    pub fn at_time(mut self, now_unix: u64) -> Self {
        self.now_unix = Some(now_unix);
        self
    }

    /// Sets the second generation's image renderer; without one, a DF1/EF04 write is refused.
    pub fn with_renderer(mut self, renderer: Renderer) -> Self {
        self.renderer = Some(renderer);
        self
    }
}

impl<R: RandomSource> AuthorityLink for InProcessLink<R> {
    fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError> {
        self.session = None;
        let content = match request.target {
            WriteTarget::Df2Ef01 => NewContent::df2_ef01(&request.record),
            WriteTarget::Df1Ef04 => match &self.renderer {
                Some(render) => request.record.check().and_then(|()| render(&request.record)),
                None => Err(RecordError::Image),
            },
        }
        .map_err(|e| LinkError::Refused(e.into()))?;
        if content.target() != request.target {
            return Err(LinkError::Refused(RecordError::Image.into()));
        }
        let now = self.now_unix.unwrap_or_else(|| u64::try_from(crate::verify::unix_now()).unwrap_or(0));
        let write = WriteRequest {
            content,
            chip_auth_info: request.chip_auth_info.clone(),
            limits: request.limits,
            now_unix: now,
            card_number_hash: request.card_number_hash,
        };
        let (session, batch) = self.authority.begin(write, &mut self.rng).map_err(LinkError::Refused)?;
        self.session = Some(session);
        Ok(batch)
    }

    fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError> {
        let session = self.session.as_mut().ok_or_else(|| LinkError::Unavailable("no open write session".into()))?;
        let next = session.resume(responses);
        if !matches!(next, Next::Batch(_)) {
            self.session = None;
        }
        Ok(next)
    }
}
