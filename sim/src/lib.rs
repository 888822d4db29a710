//! # zairyu-sim
//!
//! A residence-card chip in software, usable as an in-process [`Transport`]:
//! first generation (types `1`/`2`, 3DES; 在留カード等仕様書 Ver 1.5, cited as
//! SPEC15) and second generation (types `05`/`06`, AES; 第２世代在留カード等仕様書
//! Ver 1.1, cited as GEN2, as restated in the project's second-generation notes).
//!
//! * [`IssuedCard`] personalises every EF of SPEC15 §3.3 / GEN2 §3.3 from
//!   [`IssueOptions`], with synthetic images and a throw-away test PKI
//!   (`fixtures/README.md`);
//! * [`SimCard`] answers SELECT FILE, GET CHALLENGE, MUTUAL AUTHENTICATE, VERIFY
//!   and READ BINARY (SPEC15 §4.2) with the spec's status words, never panicking
//!   on any input;
//! * [`Fault`]s inject transport and card errors for the error-path tests;
//! * [`vpcd::serve`] puts the chip into a real PC/SC stack as a virtual card
//!   of vsmartcard's `vpcd` reader driver, optionally as slow as a real
//!   ISO/IEC 14443 link ([`airtime`]).
//!
//! With [`SimRandomness::Annex2`] and card number `AA12345678BB` the chip
//! reproduces the SPEC15 Annex 2 trace byte for byte; a gen2 card with
//! [`SimRandomness::Appendix2`] reproduces the GEN2 Appendix 2 trace.
//!
//! ## Second generation
//!
//! The APDUs are identical in both generations (second-generation notes §2.3,
//! §3.1, §9); only the crypto suite differs: AES-128-CBC with a zero IV and
//! AES-CMAC truncated to 8 bytes, with no padding before the MAC, and `80 00…`
//! padding to 16 bytes inside SM (notes §2.1). The same state machine
//! (`Chip<S: Suite>`) runs with [`zairyu::crypto::Aes128Suite`], so every rule
//! below holds for gen2 too. Consequently a gen1 (3DES/Retail-MAC) MUTUAL
//! AUTHENTICATE sent to a gen2 card fails its MAC check and gets `63 00`, as seen
//! on real hardware (notes §1.3, §8), and vice versa. Gen2 access rights
//! (notes §3.3): MF free; DF1 after authentication and only under SM; DF2 and
//! DF3 after authentication, plain or SM (the notes leave SM reads of these
//! open; the chip allows them as gen1 does).
//!
//! Facts copied from the spec (so the build needs no spec file):
//!
//! | command | APDU | SPEC15 |
//! |---|---|---|
//! | SELECT MF | `00 A4 00 00 02 3F 00` | §4.2.1 |
//! | SELECT DF | `00 A4 04 0C 10 D3 92 F0 00 4F 0x 00…00` (x = 2, 3, 4) | §4.2.1, Table 3-3 |
//! | GET CHALLENGE | `00 84 00 00 08` | §4.2.3 |
//! | MUTUAL AUTHENTICATE | `00 82 00 00 28 E_IFD M_IFD 00` | §4.2.4, Annex 1 |
//! | VERIFY | `08 20 00 86 13 86 11 01 C(16)` | §4.2.2 |
//! | READ BINARY | `00 B0 P1 P2 00 XX XX` / `08 B0 P1 P2 00 00 04 96 02 XX XX 00 00` | §4.2.5 |
//!
//! Where the spec is silent the chip chooses, and tests may rely on it:
//!
//! * SELECT FILE keeps the session and the authentication (Annex 2 selects DF1
//!   then DF3 under one KSenc); it clears the current EF.
//! * GET CHALLENGE, MUTUAL AUTHENTICATE and VERIFY work with any DF current.
//! * Any command between GET CHALLENGE and MUTUAL AUTHENTICATE, or a second
//!   MUTUAL AUTHENTICATE, gives `69 85`; any failed MUTUAL AUTHENTICATE clears
//!   the session; a successful one starts an unverified session.
//! * VERIFY in plain (CLA `00`) gives `69 82`; without a session `69 85`; a
//!   malformed SM object `69 88` (and the card is then unauthenticated).
//! * READ BINARY: a plain read of a DF1 file (SM attribute) gives `69 82`; the
//!   offset must lie inside the file (`6B 00` otherwise, also at the end);
//!   an SM read of any file is allowed once its access condition holds, and
//!   encrypts the requested range on its own (fresh zero IV, own padding).
//! * Data longer than Lc is cut to Lc for SELECT, VERIFY and MUTUAL
//!   AUTHENTICATE (SPEC15 §4.2.1(6), §4.2.2(6), §4.2.4(6)); any other
//!   malformed APDU gives `67 00`.

pub mod airtime;
mod chip;
mod fault_spec;
mod issue;
mod rng;
pub mod vpcd;

use zairyu::apdu::{ParsedCommand, StatusWord};
use zairyu::crypto::{Aes128Suite, TdesSuite};
use zairyu::error::TransportError;
use zairyu::layout::Df;
use zairyu::transport::{Limits, Transport};

use crate::chip::{Chip, Quirks};

pub use crate::issue::{
    ADDRESS_TIF, Address, CheckCodeFormat, FACE_JP2, FRONT_TIF, GEN1_CARD_SIGNER_DER, GEN1_CARD_SIGNER_KEY_DER,
    GEN1_OTHER_CA_DER, GEN1_TEST_CA_DER, GEN2_CARD_SIGNER_DER, GEN2_CARD_SIGNER_KEY_DER, GEN2_TEST_CA_DER, IssueError,
    IssueOptions, IssuedCard, NAME_TIF, PrintedEntries, Under16Df3,
};
pub use crate::rng::{ANNEX2_K_ICC, ANNEX2_RND_ICC, APPENDIX2_K_ICC, APPENDIX2_RND_ICC, Drbg, SimRandomness};

/// Adds the simulator's two test CAs (first generation RSA, second generation
/// P-384) to `store` as test anchors: the one place every binding and test gets
/// them from. Cards chaining to them are never production-valid.
pub fn add_test_anchors(store: &mut zairyu::verify::TrustStore) {
    for (der, origin) in [(GEN1_TEST_CA_DER, "simulator test CA"), (GEN2_TEST_CA_DER, "simulator test CA2")] {
        // Both are fixtures of this crate, tested to parse (`test_trust_store_holds_both`).
        if let Err(e) = store.add_test_anchor_der(der, origin) {
            unreachable!("simulator fixture {origin} does not load: {e}");
        }
    }
}

/// A trust store holding only the simulator's two test CAs ([`add_test_anchors`]).
pub fn test_trust_store() -> zairyu::verify::TrustStore {
    let mut store = zairyu::verify::TrustStore::new();
    add_test_anchors(&mut store);
    store
}

/// An injected failure. Faults that name `ins` (and optionally `p1`) apply to
/// every command with that INS (and P1); [`SimCard::with_fault`] may be called
/// several times, and response faults then apply in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer `sw` (no data) instead of executing the command.
    StatusWord {
        /// INS to match.
        ins: u8,
        /// P1 to match, or any.
        p1: Option<u8>,
        /// The status word to answer.
        sw: [u8; 2],
    },
    /// Execute, then cut the raw response (data ‖ SW) to its first `keep` bytes.
    TruncateResponse {
        /// INS to match.
        ins: u8,
        /// P1 to match, or any.
        p1: Option<u8>,
        /// Bytes kept.
        keep: usize,
    },
    /// Execute, then cut the response *data* to `keep` bytes, keeping the status
    /// word: a card that returns less than it should, with `90 00`.
    TruncateData {
        /// INS to match.
        ins: u8,
        /// P1 to match, or any.
        p1: Option<u8>,
        /// Data bytes kept.
        keep: usize,
    },
    /// Execute, then insert `bytes` garbage bytes (`A5`) between the data and the SW.
    AppendGarbage {
        /// INS to match.
        ins: u8,
        /// P1 to match, or any.
        p1: Option<u8>,
        /// How many bytes.
        bytes: usize,
    },
    /// Execute, then XOR byte `index` of the raw response (data ‖ SW) with `FF`
    /// (no effect if the response is shorter).
    CorruptResponseByte {
        /// INS to match.
        ins: u8,
        /// P1 to match, or any.
        p1: Option<u8>,
        /// Index into the raw response.
        index: usize,
    },
    /// MUTUAL AUTHENTICATE answers a wrong M_ICC (the card still sets its session).
    CorruptMacIcc,
    /// After this many APDUs every transmit fails with [`TransportError::CardRemoved`].
    RemoveCardAfter(usize),
    /// After this many APDUs one transmit fails with [`TransportError::CardReset`]
    /// and the chip is power-cycled.
    ResetAfter(usize),
    /// The link carries short APDUs only: [`Transport::limits`] says so,
    /// extended-length commands are answered `67 00`, and so is any command whose
    /// answer would carry more than 256 data bytes.
    ShortApdusOnly,
    /// SM READ BINARY responses carry a wrong padding marker (`7F` instead of `80`).
    BadSmPadding,
}

impl Fault {
    fn matches(ins: u8, p1: Option<u8>, header: Option<[u8; 4]>) -> bool {
        header.is_some_and(|h| h[1] == ins && p1.is_none_or(|p| p == h[2]))
    }
}

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
        SimCard { card, engine, faults: Vec::new(), trace: Vec::new(), transmitted: 0, removed: false }
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
    pub fn power_cycle(&mut self) {
        with_chip!(&mut self.engine, c => c.reset());
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
            short_only: self.has(&Fault::ShortApdusOnly),
            corrupt_mac_icc: self.has(&Fault::CorruptMacIcc),
            bad_sm_padding: self.has(&Fault::BadSmPadding),
        }
    }

    fn record(&mut self, header: [u8; 4], lc: usize, raw: Option<&[u8]>) {
        let (response_len, sw) = match raw {
            Some(r) if r.len() >= 2 => (r.len() - 2, Some([r[r.len() - 2], r[r.len() - 1]])),
            Some(r) => (r.len(), None),
            None => (0, None),
        };
        self.trace.push(TraceEntry { header, lc, response_len, sw });
    }

    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let n = self.transmitted;
        self.transmitted = n.saturating_add(1);
        if self.removed || self.faults.iter().any(|(f, _)| matches!(f, Fault::RemoveCardAfter(k) if n >= *k)) {
            self.removed = true;
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
        let forced = self.faults.iter().find_map(|(f, _)| match f {
            Fault::StatusWord { ins, p1, sw } if Fault::matches(*ins, *p1, header) => Some(*sw),
            _ => None,
        });
        let mut raw = match forced {
            Some(sw) => {
                with_chip!(&mut self.engine, c => c.forget_challenge());
                sw.to_vec()
            }
            None => {
                let q = self.quirks();
                with_chip!(&mut self.engine, c => c.process(&self.card, command, q)).encode()
            }
        };
        for (f, _) in &self.faults {
            match f {
                Fault::TruncateResponse { ins, p1, keep } if Fault::matches(*ins, *p1, header) => {
                    raw.truncate(*keep);
                }
                Fault::TruncateData { ins, p1, keep }
                    if Fault::matches(*ins, *p1, header) && raw.len() >= 2 && *keep < raw.len() - 2 =>
                {
                    let sw_at = raw.len() - 2;
                    raw.drain(*keep..sw_at);
                }
                Fault::AppendGarbage { ins, p1, bytes } if Fault::matches(*ins, *p1, header) => {
                    let at = raw.len().saturating_sub(2);
                    raw.splice(at..at, core::iter::repeat_n(0xA5, *bytes));
                }
                Fault::CorruptResponseByte { ins, p1, index } if Fault::matches(*ins, *p1, header) => {
                    if let Some(b) = raw.get_mut(*index) {
                        *b ^= 0xFF;
                    }
                }
                _ => {}
            }
        }
        if self.has(&Fault::ShortApdusOnly) && raw.len() > 256 + 2 {
            // A short-APDU reader cannot carry more than 256 data bytes back, whatever
            // the card sent.
            raw = zairyu::apdu::Response::status(StatusWord::WrongLength).encode();
        }
        Ok(raw)
    }
}

impl Transport for SimCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut header = [0u8; 4];
        for (h, b) in header.iter_mut().zip(command) {
            *h = *b;
        }
        let lc = ParsedCommand::parse(command).map_or(0, |p| p.data.len());
        let result = self.exchange(command);
        self.record(header, lc, result.as_ref().ok().map(Vec::as_slice));
        result
    }

    fn limits(&self) -> Limits {
        if self.has(&Fault::ShortApdusOnly) {
            Limits { extended_length: false, max_command: 261, max_response: 258 }
        } else {
            Limits::FULL
        }
    }
}

/// The status word of a raw response, if it has one (test helper).
pub fn status_of(raw: &[u8]) -> Option<StatusWord> {
    match raw {
        [.., a, b] => Some(StatusWord::from_bytes(*a, *b)),
        _ => None,
    }
}
