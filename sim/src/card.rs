//! The simulated chip as a [`Transport`]: [`SimCard`] runs the protocol of
//! `chip.rs` with the suite of the card's generation, fires the injected
//! [`Fault`]s and records the [`TraceEntry`] of every exchange.

use zairyu::apdu::{ParsedCommand, StatusWord};
use zairyu::crypto::{Aes128Suite, TdesSuite};
use zairyu::error::{LinkRefusal, TransportError};
use zairyu::layout::Df;
use zairyu::transport::{Limits, Transport};

use crate::chip::{Chip, Quirks};
use crate::fault::Fault;
use crate::issue::IssuedCard;
use crate::write::{Outcome, WriteRng, WriteSession};

/// One exchange as seen on the wire. Never holds command or response data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEntry {
    /// CLA INS P1 P2 (zero-filled if the command was shorter than 4 bytes).
    pub header: [u8; 4],
    /// Length of the command data field (0 if the APDU did not parse).
    pub lc: usize,
    /// Length of the response data, without SW.
    pub response_len: usize,
    /// SW1 SW2 as sent; `None` when the transmit failed with a transport error
    /// or the (faulted) response was shorter than 2 bytes.
    pub sw: Option<[u8; 2]>,
    /// Whether the command used the extended length form (`false` if it did not parse).
    pub extended: bool,
    /// Ne, the bytes the command asked for (`None` without Le or if it did not parse).
    pub ne: Option<usize>,
}

/// The suite-specific chip: one protocol implementation, two crypto suites.
enum Engine {
    /// First generation (types `1`/`2`): 3DES, Retail MAC.
    Tdes(Chip<TdesSuite>),
    /// Second generation (types `05`/`06`): AES-128, AES-CMAC (GEN2 Appendix 1).
    Aes(Chip<Aes128Suite>),
}

macro_rules! with_chip {
    ($engine:expr, $c:ident => $body:expr) => {
        match $engine {
            Engine::Tdes($c) => $body,
            Engine::Aes($c) => $body,
        }
    };
}

/// The simulated chip: a state machine per SPEC15 §3.5 / §4.2 (GEN2 §3.5, §4.2).
pub struct SimCard {
    card: IssuedCard,
    engine: Engine,
    faults: Vec<(Fault, bool)>,
    trace: Vec<TraceEntry>,
    transmitted: usize,
    removed: bool,
    /// The write application's session, while it is selected.
    write: Option<WriteSession>,
    /// The write application's generator; like the chip's, it is not reset by a
    /// power cycle (a challenge never repeats).
    write_rng: WriteRng,
    /// `false` after an injected power loss, until [`SimCard::power_cycle`].
    powered: bool,
    nvm_version: u64,
}

impl core::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SimCard({:?}, faults={:?}, apdus={})", self.card, self.faults.len(), self.transmitted)
    }
}

impl SimCard {
    /// Activates a card: MF current, no session.
    pub fn new(card: IssuedCard) -> Self {
        // `IssuedCard::try_issue` issues only types 1, 2, 05 and 06.
        let engine = match card.card_type().generation() {
            1 => Engine::Tdes(Chip::new(&card)),
            _ => Engine::Aes(Chip::new(&card)),
        };
        let write_rng = WriteRng::new(card.randomness(), b"session");
        let mut sim = SimCard {
            card,
            engine,
            faults: Vec::new(),
            trace: Vec::new(),
            transmitted: 0,
            removed: false,
            write: None,
            write_rng,
            powered: true,
            nvm_version: 0,
        };
        // Power up: a commit cut by a power loss (a card restored from a state file)
        // is finished or dropped.
        sim.boot();
        sim
    }

    fn boot(&mut self) {
        self.write = None;
        self.powered = true;
        if crate::write::recover(&mut self.card) {
            self.nvm_version = self.nvm_version.wrapping_add(1);
        }
    }

    /// Adds a fault.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push((fault, false));
        self
    }

    /// Every exchange so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Deactivates and reactivates the card: clears the session key, the
    /// authentication state and the challenge; the MF becomes current (SPEC15 §4.2.4(2)).
    ///
    /// Also ends the write application's session and, after an injected power loss,
    /// powers the card again: the boot finishes a flagged commit and drops an
    /// unflagged one, so a written file holds its old or its new content, whole.
    pub fn power_cycle(&mut self) {
        with_chip!(&mut self.engine, c => c.reset());
        self.boot();
    }

    /// Whether the card has power (`false` after an injected power loss, until
    /// [`SimCard::power_cycle`]).
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// A number that changes whenever the card's non-volatile memory may have
    /// changed (a write-application command, a recovery at power up): a holder of
    /// a state file saves it when this moves.
    pub fn nvm_version(&self) -> u64 {
        self.nvm_version
    }

    /// The personalised contents.
    pub fn issued(&self) -> &IssuedCard {
        &self.card
    }

    /// The currently selected DF.
    pub fn current_df(&self) -> Df {
        with_chip!(&self.engine, c => c.current_df())
    }

    /// Whether the last VERIFY succeeded within the current session.
    pub fn is_authenticated(&self) -> bool {
        with_chip!(&self.engine, c => c.authenticated())
    }

    /// Whether a session key is established.
    pub fn has_session(&self) -> bool {
        with_chip!(&self.engine, c => c.has_session())
    }

    /// How many APDUs were offered to [`Transport::transmit`].
    pub fn apdu_count(&self) -> usize {
        self.transmitted
    }

    fn has(&self, f: &Fault) -> bool {
        self.faults.iter().any(|(x, _)| x == f)
    }

    fn quirks(&self) -> Quirks {
        Quirks {
            short_only: self.has(&Fault::ShortApdusOnly) || self.has(&Fault::ShortCard),
            wrong_le: self.has(&Fault::ShortCard),
            corrupt_mac_icc: self.has(&Fault::CorruptMacIcc),
            bad_sm_padding: self.has(&Fault::BadSmPadding),
        }
    }

    fn record(&mut self, header: [u8; 4], parsed: Option<&ParsedCommand>, raw: Option<&[u8]>) {
        let (response_len, sw) = match raw {
            Some(r) if r.len() >= 2 => (r.len() - 2, Some([r[r.len() - 2], r[r.len() - 1]])),
            Some(r) => (r.len(), None),
            None => (0, None),
        };
        let (lc, extended, ne) = parsed.map_or((0, false, None), |p| (p.data.len(), p.extended, p.ne));
        self.trace.push(TraceEntry { header, lc, response_len, sw, extended, ne });
    }

    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let n = self.transmitted;
        self.transmitted = n.saturating_add(1);
        if self.removed || self.faults.iter().any(|(f, _)| matches!(f, Fault::RemoveCardAfter(k) if n >= *k)) {
            self.removed = true;
            return Err(TransportError::CardRemoved);
        }
        if let Some(slot) =
            self.faults.iter_mut().find(|(f, fired)| !*fired && matches!(f, Fault::PowerLossAtApdu(k) if n >= *k))
        {
            slot.1 = true;
            self.lose_power();
            return Err(TransportError::CardRemoved);
        }
        if !self.powered {
            return Err(TransportError::CardRemoved);
        }
        if let Some(slot) =
            self.faults.iter_mut().find(|(f, fired)| !*fired && matches!(f, Fault::ResetAfter(k) if n >= *k))
        {
            slot.1 = true;
            self.power_cycle();
            return Err(TransportError::CardReset);
        }
        let header = command.get(..4).and_then(|h| <[u8; 4]>::try_from(h).ok());
        let reader_fails = self.has(&Fault::ReaderFailsExtended);
        if reader_fails && ParsedCommand::parse(command).is_some_and(|p| p.extended) {
            // The driver refuses the command; the chip never sees it.
            return Err(TransportError::LinkRefused(LinkRefusal::NotTransacted));
        }
        let mut raw = match self.faults.iter().find_map(|(f, _)| f.forced_status(header)) {
            Some(sw) => {
                with_chip!(&mut self.engine, c => c.forget_challenge());
                sw.to_vec()
            }
            None => match self.write_application(command) {
                Some(Outcome::Answer(raw)) => raw,
                Some(Outcome::PowerLost) => {
                    self.lose_power();
                    return Err(TransportError::CardRemoved);
                }
                None => {
                    let q = self.quirks();
                    with_chip!(&mut self.engine, c => c.process(&self.card, command, q)).encode()
                }
            },
        };
        for (f, _) in &self.faults {
            f.alter_response(header, &mut raw);
        }
        if self.has(&Fault::ShortApdusOnly) && raw.len() > 256 + 2 {
            // A short-APDU reader cannot carry more than 256 data bytes back, whatever
            // the card sent.
            raw = zairyu::apdu::Response::status(StatusWord::WrongLength).encode();
        }
        if reader_fails && raw.len() > 256 + 2 {
            // The chip answered; the reader cannot carry it back.
            return Err(TransportError::LinkRefused(LinkRefusal::InsufficientBuffer));
        }
        Ok(raw)
    }
}

impl SimCard {
    fn lose_power(&mut self) {
        self.powered = false;
        self.write = None;
        with_chip!(&mut self.engine, c => c.reset());
    }

    /// Routes a command to the write application (`crate::write`): its SELECT, and
    /// every command while it is selected except a plain SELECT of something else.
    /// `None`: the chip's own command processing answers (as on a card without
    /// the application, whose SELECT of the write AID gets `6A 82`).
    fn write_application(&mut self, command: &[u8]) -> Option<Outcome> {
        let nvm = self.card.write_nvm()?;
        if WriteSession::is_select(command) {
            self.write = Some(WriteSession::new(nvm));
            with_chip!(&mut self.engine, c => c.forget_challenge());
            return Some(Outcome::Answer(vec![0x90, 0x00]));
        }
        if self.write.is_none() || WriteSession::is_other_select(command) {
            self.write = None;
            return None;
        }
        with_chip!(&mut self.engine, c => c.forget_challenge());
        let access = with_chip!(&self.engine, c => c.authenticated());
        let stop_at = self.faults.iter().position(|(f, fired)| !*fired && matches!(f, Fault::PowerLossInCommit(_)));
        let stop = stop_at.and_then(|i| match self.faults[i].0 {
            Fault::PowerLossInCommit(s) => Some(s),
            _ => None,
        });
        let session = self.write.as_mut()?;
        let out = session.process(&mut self.card, command, access, &mut self.write_rng, stop);
        self.nvm_version = self.nvm_version.wrapping_add(1);
        if matches!(out, Outcome::PowerLost)
            && let Some(i) = stop_at
        {
            self.faults[i].1 = true;
        }
        Some(out)
    }
}

impl Transport for SimCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut header = [0u8; 4];
        for (h, b) in header.iter_mut().zip(command) {
            *h = *b;
        }
        let parsed = ParsedCommand::parse(command);
        let result = self.exchange(command);
        self.record(header, parsed.as_ref(), result.as_ref().ok().map(Vec::as_slice));
        result
    }

    fn limits(&self) -> Limits {
        if self.has(&Fault::ShortApdusOnly) { Limits::SHORT } else { Limits::FULL }
    }
}

/// The status word of a raw response, if it has one (test helper).
pub fn status_of(raw: &[u8]) -> Option<StatusWord> {
    match raw {
        [.., a, b] => Some(StatusWord::from_bytes(*a, *b)),
        _ => None,
    }
}
