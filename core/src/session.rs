//! The read sequence (SPEC15 §3.5.1) as a typestate: a [`Card`] can read only the
//! free MF files; [`Card::authenticate`] runs 在留カード等番号による認証 (§3.4.1) and
//! returns an [`AuthenticatedCard`], the only type with methods for protected files.
//! The authenticated card borrows the card mutably, so two sessions at once cannot
//! compile, and dropping it drops the session key.
//!
//! Logs (the `log` crate, target `zairyu::apdu`) show command headers, lengths and
//! status words only — never data, card numbers or keys.

use zeroize::Zeroizing;

use crate::apdu::{Command, Le, Response, StatusWord};
use crate::auth::{RandomSource, TerminalRandom, finish_mutual_authentication, terminal_cryptogram};
use crate::card_number::CardNumber;
use crate::crypto::{Suite, derive_base_key};
use crate::error::{AuthError, Error, Result, Step, TransportError};
use crate::layout::{Access, Ef};
use crate::sm::SecureMessaging;
use crate::transport::Transport;

pub use crate::layout::Df;

/// P1 of READ BINARY by short EF identifier: bit 8 set, SFI in bits 5..1 (SPEC15 §4.2.5).
pub const fn p1_sfi(sfi: u8) -> u8 {
    0x80 | (sfi & 0x1F)
}

/// Upper bound of GET RESPONSE rounds for one command (256 bytes each: 65,536
/// bytes is the most an extended Le can ask for, plus one round to end).
pub const MAX_GET_RESPONSE_ROUNDS: usize = 257;

/// Counters for one card session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    /// Command APDUs sent.
    pub apdus: u32,
    /// Bytes sent (encoded commands).
    pub bytes_sent: u64,
    /// Bytes received (response data and status words).
    pub bytes_received: u64,
}

/// How reads were carried, for the report: the spec's extended APDUs, or one of
/// the documented fallbacks for links that cannot carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkReport {
    /// Whether extended-length APDUs pass: `None` until a read tells; `Some(true)` once
    /// an extended read succeeded; `Some(false)` if the transport says it has none, the
    /// reader or driver refused one, or every extended read so far was refused.
    pub extended_length: Option<bool>,
    /// The fallbacks used, in the order first used (names in [`fallback`]).
    pub fallbacks: Vec<&'static str>,
}

/// The names of the read variants other than the spec's own whole-file extended
/// reads, as the report lists them (`link.fallbacks`).
///
/// Each file is read with the first variant of a fixed order that works, and the
/// order starts again with the next file (a card that refuses the extended form for
/// one file may accept it for another):
///
/// * plain files: the extended read (`00 B0 P1 00 00 00 00`, or
///   [`EXTENDED_CHUNKED`](crate::session::fallback::EXTENDED_CHUNKED) when the link carries fewer
///   than 65,536 bytes back), then [`SHORT_PLAIN_CHUNKED`](crate::session::fallback::SHORT_PLAIN_CHUNKED);
/// * secure-messaging files: the extended read (or
///   [`SM_EXTENDED_CHUNKED`](crate::session::fallback::SM_EXTENDED_CHUNKED)), then
///   [`SM_SHORT_WHOLE`](crate::session::fallback::SM_SHORT_WHOLE), then
///   [`SM_SHORT_CHUNKED`](crate::session::fallback::SM_SHORT_CHUNKED).
///
/// A variant is refused, and the next one tried, when the transport cannot carry it
/// (the transport's limits, [`TransportError::ExtendedLengthUnsupported`](crate::error::TransportError::ExtendedLengthUnsupported),
/// [`TransportError::CommandTooLong`](crate::error::TransportError::CommandTooLong), [`TransportError::LinkRefused`](crate::error::TransportError::LinkRefused): the driver
/// failures of a real reader) or when the card refuses its form: `67 00`, or `6C XX`
/// still after the retry with the card's Le; for the short SM variants also the other
/// form errors of [`SM_FALLBACK_ORDER`](crate::session::SM_FALLBACK_ORDER)'s documentation. A transport refusal is a
/// property of the reader: the session then skips the extended variants for the rest
/// of the read. A card's refusal holds for that file only.
pub mod fallback {
    /// Plain files with short APDUs: the MF files header first and then exactly
    /// `2 + L` bytes; the others in chunks of 256 bytes (fewer if the link carries
    /// fewer), the first by SFI and the rest by offset.
    pub const SHORT_PLAIN_CHUNKED: &str = "short_plain_chunked";
    /// The whole SM file in one short answer (Le `00`), when it fits 256 bytes.
    pub const SM_SHORT_WHOLE: &str = "sm_short_whole";
    /// SM chunks of at most [`super::SM_CHUNK`] plain bytes, each its own `86` object.
    pub const SM_SHORT_CHUNKED: &str = "sm_short_chunked";
    /// Plain extended reads whose Le asks for at most the link's `max_response - 2`
    /// bytes, by offset after the first.
    pub const EXTENDED_CHUNKED: &str = "extended_chunked";
    /// Extended SM reads of as many plain bytes as the link's `max_response` can carry
    /// encrypted, each its own `86` object.
    pub const SM_EXTENDED_CHUNKED: &str = "sm_extended_chunked";
}

/// The short-APDU fallbacks for SM READ BINARY, tried in this fixed order when the
/// extended read cannot be carried. The spec defines only the extended form
/// (SPEC15 §4.2.5); whether a real card accepts either variant is not documented
/// (first-generation notes, open question 3), so the report names the one used. A
/// short variant is refused by `67 00`, `61 XX`, `6C XX`, `6A 86`, `6A 87`, `69 87`,
/// `69 88` or a transport refusal.
pub const SM_FALLBACK_ORDER: [&str; 2] = [fallback::SM_SHORT_WHOLE, fallback::SM_SHORT_CHUNKED];

/// Plaintext bytes asked for per chunk in the chunked SM fallback: the encrypted
/// answer (`86 81 E9 01` + at most 240 bytes) then fits a short response.
pub const SM_CHUNK: u16 = 0xE0;

/// The largest Ne of an extended Le (`00 00`).
const EXTENDED_NE: usize = 65536;

/// How one read variant ended: the file, or a refusal of the variant's form.
enum Variant {
    Read(Zeroizing<Vec<u8>>),
    Refused,
}

/// A transport error that means "the link cannot carry this form of the command".
fn link_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::Transport(
            TransportError::ExtendedLengthUnsupported
                | TransportError::CommandTooLong { .. }
                | TransportError::LinkRefused(_)
        )
    )
}

/// Status words by which a card refuses an extended read's form: `67 00` (wrong
/// length) and `6C XX` (wrong Le, still after the retry with the card's Le).
fn extended_refused(sw: StatusWord) -> bool {
    matches!(sw, StatusWord::WrongLength | StatusWord::Unknown(0x6C, _))
}

/// A short Le asking for `n` bytes (`00` = 256).
fn short_le(n: usize) -> Le {
    Le::Short(if n >= 256 { 0 } else { n as u8 })
}

/// An extended Le asking for `n` bytes (`00 00` = 65536).
fn extended_le(n: usize) -> Le {
    Le::Extended(if n >= EXTENDED_NE { 0 } else { n as u16 })
}

/// A card on a transport, before authentication.
pub struct Card<T: Transport> {
    transport: T,
    metrics: Metrics,
    link: LinkReport,
    /// The reader or driver refused an extended APDU: skip the extended variants.
    reader_refuses_extended: bool,
}

impl<T: Transport> core::fmt::Debug for Card<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Card").field("metrics", &self.metrics).finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// Wraps a transport. A transport whose [`Limits`](crate::transport::Limits) say
    /// it has no extended APDUs (what PC/SC could tell before the first read) is
    /// never sent one.
    pub fn new(transport: T) -> Self {
        let mut link = LinkReport::default();
        if !transport.limits().extended_length {
            link.extended_length = Some(false);
        }
        Card { transport, metrics: Metrics::default(), link, reader_refuses_extended: false }
    }

    /// How reads were carried so far.
    pub fn link_report(&self) -> &LinkReport {
        &self.link
    }

    fn note_fallback(&mut self, name: &'static str) {
        if !self.link.fallbacks.contains(&name) {
            log::info!(target: "zairyu::apdu", "read with fallback {name}");
            self.link.fallbacks.push(name);
        }
    }

    /// Whether the next read may try the extended variant.
    fn extended_allowed(&self) -> bool {
        self.transport.limits().extended_length && !self.reader_refuses_extended
    }

    /// Response data bytes the link carries.
    fn max_data(&self) -> usize {
        self.transport.limits().max_data()
    }

    /// Counters so far.
    pub fn metrics(&self) -> Metrics {
        self.metrics
    }

    /// The transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The transport, for backend-specific queries.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Sends one command, counts it, logs header and SW, and splits the response.
    pub fn exchange(&mut self, cmd: &Command, step: Step) -> Result<Response> {
        let limits = self.transport.limits();
        if cmd.is_extended() && !limits.extended_length {
            return Err(TransportError::ExtendedLengthUnsupported.into());
        }
        let raw = cmd.encode();
        if raw.len() > limits.max_command {
            return Err(TransportError::CommandTooLong { len: raw.len(), max: limits.max_command }.into());
        }
        let h = cmd.header();
        log::debug!(target: "zairyu::apdu", "> {:02X} {:02X} {:02X} {:02X} lc={} le={:?} ({step})", h[0], h[1], h[2], h[3], cmd.data.len(), cmd.le);
        let mut resp_raw = self.transmit_counted(&raw)?;
        // `61 XX` (some readers and T=0 drivers; the chip itself never answers it):
        // complete with GET RESPONSE `00 C0 00 00 XX` (ISO/IEC 7816-4 §7.6.1), for
        // every transport alike.
        let mut rounds = 0;
        while let [.., 0x61, xx] = resp_raw[..] {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE_ROUNDS {
                return Err(TransportError::Other(format!(
                    "card kept answering 61 XX after {MAX_GET_RESPONSE_ROUNDS} GET RESPONSE commands"
                ))
                .into());
            }
            // Never more than the link carries back: the card keeps the rest for the
            // next `61 XX`.
            let n = if xx == 0 { 256 } else { usize::from(xx) };
            let ask = n.min(limits.max_data().max(1));
            let le = if ask >= 256 { 0 } else { ask as u8 };
            log::debug!(target: "zairyu::apdu", "< 61 {xx:02X}: GET RESPONSE 00 C0 00 00 {le:02X}");
            let next = self.transmit_counted(&[0x00, 0xC0, 0x00, 0x00, le])?;
            let keep = resp_raw.len() - 2;
            resp_raw.truncate(keep);
            resp_raw.extend_from_slice(&next);
        }
        let resp = Response::parse(&resp_raw)?;
        log::debug!(target: "zairyu::apdu", "< len={} sw={:04X}", resp.data.len(), resp.sw.as_u16());
        Ok(resp)
    }

    /// [`Card::exchange`] for READ BINARY (plain or SM, both repeatable): a `6C XX`
    /// answer (wrong Le, XX = the bytes the card has, ISO/IEC 7816-4 §5.6; T=0 cards)
    /// is retried once with the card's Le, in the command's own form, if the link
    /// carries that many bytes. A second `6C XX` is returned as it is.
    fn exchange_read(&mut self, cmd: &Command, step: Step) -> Result<Response> {
        let r = self.exchange(cmd, step)?;
        let StatusWord::Unknown(0x6C, xx) = r.sw else { return Ok(r) };
        let n = if xx == 0 { 256 } else { usize::from(xx) };
        if cmd.le.is_none() || n > self.max_data() {
            return Ok(r);
        }
        let mut retry = cmd.clone();
        retry.le = Some(if cmd.is_extended() { extended_le(n) } else { Le::Short(xx) });
        log::debug!(target: "zairyu::apdu", "< 6C {xx:02X}: resending with Le {n}");
        self.exchange(&retry, step)
    }

    /// One transport round trip, counted in the metrics.
    fn transmit_counted(&mut self, raw: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.metrics.apdus += 1;
        self.metrics.bytes_sent += raw.len() as u64;
        let resp = Zeroizing::new(self.transport.transmit(raw)?);
        self.metrics.bytes_received += resp.len() as u64;
        Ok(resp)
    }

    /// Sends a command and requires `90 00`.
    fn exchange_ok(&mut self, cmd: &Command, step: Step) -> Result<Zeroizing<Vec<u8>>> {
        let resp = self.exchange(cmd, step)?;
        if resp.sw != StatusWord::Success {
            return Err(Error::Card { step, sw: resp.sw });
        }
        Ok(resp.data)
    }

    /// SELECT FILE of the MF: `00 A4 00 00 02 3F 00` (SPEC15 §4.2.1).
    pub fn select_mf(&mut self) -> Result<()> {
        let cmd = Command::new(0x00, 0xA4, 0x00, 0x00).with_data(&[0x3F, 0x00]);
        self.exchange_ok(&cmd, Step::SelectMf).map(drop)
    }

    /// SELECT FILE of a DF by name: `00 A4 04 0C 10 <AID>` (SPEC15 §4.2.1).
    /// The MF has no DF name and is selected by [`Card::select_mf`].
    pub fn select_df(&mut self, df: Df) -> Result<()> {
        let Some(aid) = df.aid() else { return self.select_mf() };
        let cmd = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&aid);
        self.exchange_ok(&cmd, Step::SelectDf).map(drop)
    }

    /// Plain READ BINARY of a whole EF by SFI: `00 B0 P1 00 00 00 00` (SPEC15 §4.2.5,
    /// extended Le `00 00` = the whole file). Where that cannot be carried, the
    /// variants of [`fallback`] in order: short reads of 256 bytes, the first by SFI
    /// and the rest by offset (P1 bit 8 = 0), until a shorter answer or `6B 00` at the
    /// end of the file.
    pub fn read_binary(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        if self.extended_allowed()
            && let Variant::Read(data) = self.plain_extended(ef.sfi)?
        {
            return Ok(data);
        }
        let data = self.plain_short(ef.sfi, None)?;
        self.note_fallback(fallback::SHORT_PLAIN_CHUNKED);
        Ok(data)
    }

    /// The extended variant of a plain read: one whole-file read, or chunks of the
    /// link's `max_response - 2` bytes.
    fn plain_extended(&mut self, sfi: u8) -> Result<Variant> {
        let chunk = self.max_data().min(EXTENDED_NE);
        let result = self.read_chunked(sfi, chunk, None, Step::ReadBinary, |card, p1, p2, want| {
            let r =
                card.exchange_read(&Command::new(0x00, 0xB0, p1, p2).with_le(extended_le(want)), Step::ReadBinary)?;
            Ok((r.sw, r.data))
        });
        self.extended_outcome(result, chunk < EXTENDED_NE, fallback::EXTENDED_CHUNKED)
    }

    /// Short plain reads of at most 256 bytes (fewer if the link carries fewer), up to
    /// `limit` bytes if given.
    fn plain_short(&mut self, sfi: u8, limit: Option<usize>) -> Result<Zeroizing<Vec<u8>>> {
        let chunk = self.max_data().min(256);
        self.read_chunked(sfi, chunk, limit, Step::ReadBinary, |card, p1, p2, want| {
            let r = card.exchange_read(&Command::new(0x00, 0xB0, p1, p2).with_le(short_le(want)), Step::ReadBinary)?;
            Ok((r.sw, r.data))
        })
    }

    /// Records what an extended variant's outcome says about the link: a success means
    /// extended APDUs pass; a transport refusal that the reader cannot carry them (no
    /// extended variant is tried again); a card's `67 00` / `6C XX` only that this
    /// file wants another form.
    fn extended_outcome(
        &mut self,
        result: Result<Zeroizing<Vec<u8>>>,
        capped: bool,
        capped_name: &'static str,
    ) -> Result<Variant> {
        match result {
            Ok(data) => {
                self.link.extended_length = Some(true);
                if capped {
                    self.note_fallback(capped_name);
                }
                Ok(Variant::Read(data))
            }
            Err(Error::Card { sw, .. }) if extended_refused(sw) => {
                log::info!(target: "zairyu::apdu", "extended read refused by the card ({:04X}); trying short APDUs for this file", sw.as_u16());
                if self.link.extended_length != Some(true) {
                    self.link.extended_length = Some(false);
                }
                Ok(Variant::Refused)
            }
            Err(e) if link_refusal(&e) => {
                log::info!(target: "zairyu::apdu", "extended APDU not carried ({}); short APDUs from now on", e.code());
                self.reader_refuses_extended = true;
                if self.link.extended_length != Some(true) {
                    self.link.extended_length = Some(false);
                }
                Ok(Variant::Refused)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads a whole EF (or its first `limit` bytes) in chunks of at most `chunk`
    /// bytes with `read(card, p1, p2, want)`, which returns the status and the (plain)
    /// data of one chunk. The first chunk is addressed by SFI, the rest by a 15-bit
    /// offset into the now current EF. Ends at an answer shorter than asked, at
    /// `6B 00` after the first chunk, or at `limit`; any other status is an
    /// [`Error::Card`] of `step`.
    fn read_chunked(
        &mut self,
        sfi: u8,
        chunk: usize,
        limit: Option<usize>,
        step: Step,
        mut read: impl FnMut(&mut Self, u8, u8, usize) -> Result<(StatusWord, Zeroizing<Vec<u8>>)>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let chunk = chunk.max(1);
        let mut out = Zeroizing::new(Vec::new());
        loop {
            let offset = out.len();
            let want = match limit {
                Some(l) if offset >= l => return Ok(out),
                Some(l) => chunk.min(l - offset),
                None => chunk,
            };
            if offset > 0x7FFF {
                return Err(crate::error::ParseError {
                    file: "READ BINARY",
                    offset,
                    what: crate::error::ParseProblem::Oversized(offset),
                }
                .into());
            }
            let (p1, p2) = if offset == 0 { (p1_sfi(sfi), 0) } else { ((offset >> 8) as u8, offset as u8) };
            let (sw, data) = read(self, p1, p2, want)?;
            match sw {
                StatusWord::Success => {}
                // The previous chunk ended exactly at the end of the file.
                StatusWord::WrongOffset if offset > 0 => return Ok(out),
                sw => return Err(Error::Card { step, sw }),
            }
            if data.len() > want {
                return Err(crate::error::ParseError {
                    file: "READ BINARY",
                    offset,
                    what: crate::error::ParseProblem::Oversized(data.len()),
                }
                .into());
            }
            out.extend_from_slice(&data);
            if data.len() < want {
                return Ok(out);
            }
        }
    }

    /// Plain READ BINARY with a short Le (at most `le` bytes, 0 = 256).
    pub fn read_binary_short(&mut self, sfi: u8, le: u8) -> Result<Zeroizing<Vec<u8>>> {
        let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Short(le));
        let r = self.exchange_read(&cmd, Step::ReadBinary)?;
        ok_data(r, Step::ReadBinary)
    }

    /// Reads one small TLV-structured MF file whole, length-aware: in one extended read
    /// where the link allows, else first the 2-byte header and then exactly `2 + L`
    /// bytes with short Le. A fixed short Le would silently cut a second-generation card
    /// type (`C1 02 30 35`) to 3 bytes (second-generation notes §1.2).
    pub fn read_small_tlv_file(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        let sfi = ef.sfi;
        if self.extended_allowed()
            && let Variant::Read(data) = self.plain_extended(sfi)?
        {
            return Ok(data);
        }
        let head = self.plain_short(sfi, Some(2))?;
        let data = match head[..] {
            [_, len] if len <= 0x7F => self.plain_short(sfi, Some(2 + usize::from(len)))?,
            // Not a small object: the parser reports it.
            _ => head,
        };
        self.note_fallback(fallback::SHORT_PLAIN_CHUNKED);
        Ok(data)
    }

    /// GET CHALLENGE: `00 84 00 00 08` → RND.ICC (SPEC15 §4.2.3).
    pub fn get_challenge(&mut self) -> Result<[u8; 8]> {
        let cmd = Command::new(0x00, 0x84, 0x00, 0x00).with_le(Le::Short(8));
        let data = self.exchange_ok(&cmd, Step::GetChallenge)?;
        data.as_slice()
            .try_into()
            .map_err(|_| AuthError::BadLength { step: Step::GetChallenge, got: data.len(), expected: 8 }.into())
    }

    /// 在留カード等番号による認証 (SPEC15 §3.4.1, Annex 1): GET CHALLENGE, MUTUAL
    /// AUTHENTICATE (§4.2.4), then VERIFY under secure messaging (§4.2.2).
    ///
    /// `flow` names the access flow in errors. A `63 00` at MUTUAL AUTHENTICATE or
    /// VERIFY becomes [`Error::WrongCardNumber`]: callers run this only after the
    /// card type is known, so the suite is the right one for the card.
    pub fn authenticate<S: Suite>(
        &mut self,
        number: &CardNumber,
        rng: &mut dyn RandomSource,
        flow: crate::options::Flow,
    ) -> Result<AuthenticatedCard<'_, T, S>> {
        let base = derive_base_key(number.expose());
        let rnd_icc = self.get_challenge()?;
        let terminal = TerminalRandom::generate(rng);
        let cryptogram = terminal_cryptogram::<S>(&base, &rnd_icc, &terminal);
        // The spec's Le is `00`; a link that carries fewer than 256 bytes back asks
        // for the 40 bytes of E.ICC ‖ M.ICC exactly.
        let le = if self.max_data() >= 256 { Le::Short(0) } else { Le::Short(MUTUAL_AUTH_RESPONSE) };
        let cmd = Command::new(0x00, 0x82, 0x00, 0x00).with_data(&cryptogram[..]).with_le(le);
        let resp = self.exchange(&cmd, Step::MutualAuthenticate)?;
        match resp.sw {
            StatusWord::Success => {}
            StatusWord::VerificationFailed => {
                return Err(Error::WrongCardNumber { step: Step::MutualAuthenticate, flow });
            }
            sw => {
                return Err(Error::Card { step: Step::MutualAuthenticate, sw });
            }
        }
        let ks_enc = finish_mutual_authentication::<S>(&base, &rnd_icc, &terminal, &resp.data)?;
        let sm = SecureMessaging::<S>::new(ks_enc);
        let verify = sm.verify_command(number)?;
        let resp = self.exchange(&verify, Step::Verify)?;
        match resp.sw {
            StatusWord::Success => {}
            StatusWord::VerificationFailed => {
                return Err(Error::WrongCardNumber { step: Step::Verify, flow });
            }
            sw => {
                return Err(Error::Card { step: Step::Verify, sw });
            }
        }
        Ok(AuthenticatedCard { card: self, sm })
    }
}

/// The length of MUTUAL AUTHENTICATE's answer: E.ICC (32) ‖ M.ICC (8) (SPEC15 §4.2.4).
const MUTUAL_AUTH_RESPONSE: u8 = 40;

/// Status words by which a card or reader refuses the *form* of a short SM request
/// (length, P1-P2 or SM object), as opposed to refusing access to the file.
fn variant_refused(sw: StatusWord) -> bool {
    matches!(
        sw,
        StatusWord::WrongLength
            | StatusWord::BytesRemaining(_)
            | StatusWord::Unknown(0x6C, _)
            | StatusWord::IncorrectP1P2
            | StatusWord::LcInconsistentWithP1P2
            | StatusWord::SmDataObjectsIncorrect
            | StatusWord::SmDataObjectsMissing
    )
}

fn ok_data(r: Response, step: Step) -> Result<Zeroizing<Vec<u8>>> {
    if r.sw != StatusWord::Success {
        return Err(Error::Card { step, sw: r.sw });
    }
    Ok(r.data)
}

/// A card after successful authentication: holds the session key until dropped.
pub struct AuthenticatedCard<'a, T: Transport, S: Suite> {
    card: &'a mut Card<T>,
    sm: SecureMessaging<S>,
}

impl<T: Transport, S: Suite> core::fmt::Debug for AuthenticatedCard<'_, T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthenticatedCard").field("suite", &S::NAME).finish_non_exhaustive()
    }
}

impl<T: Transport, S: Suite> AuthenticatedCard<'_, T, S> {
    /// SELECT FILE of a DF (SPEC15 §4.2.1). The session survives DF selection
    /// (Annex 2 selects DF1 and then DF3 under one KSenc).
    pub fn select_df(&mut self, df: Df) -> Result<()> {
        self.card.select_df(df)
    }

    /// Reads a whole EF the way its access rule says: secure messaging for the
    /// DF1 files ([`Access::SecureMessaging`]), plain otherwise.
    pub fn read_ef(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        match ef.access {
            Access::SecureMessaging => self.sm_read_binary(ef),
            Access::Free | Access::Authenticated => self.read_binary(ef),
        }
    }

    /// Plain READ BINARY of a whole EF (files without the SM attribute: DF2, DF3).
    pub fn read_binary(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        self.card.read_binary(ef)
    }

    /// SM READ BINARY of a whole EF: `08 B0 P1 00 00 00 04 96 02 00 00 00 00`,
    /// response `86 L 01 ‖ ciphertext`, decrypted and strictly unpadded
    /// (SPEC15 §4.2.5).
    ///
    /// Where that cannot be carried, the variants of [`SM_FALLBACK_ORDER`] in order:
    /// the same request in short form (`08 B0 P1 00 04 96 02 00 00 00`, which works
    /// when the whole answer fits 256 bytes), then chunks of at most [`SM_CHUNK`] bytes
    /// (`96 02 00 E0`), the first by SFI and the rest by offset, each answered as its
    /// own `86` object. If the card refuses both: "reader cannot carry extended
    /// APDUs"; if the link refuses the last, its error.
    pub fn sm_read_binary(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        let sfi = ef.sfi;
        let sm = &self.sm;
        let card = &mut *self.card;
        let unwrap = |r: Response| -> Result<(StatusWord, Zeroizing<Vec<u8>>)> {
            if r.sw != StatusWord::Success {
                return Ok((r.sw, r.data));
            }
            Ok((r.sw, sm.unwrap_read(&r.data)?))
        };

        // The spec's extended read, whole or (on a link that carries less) in chunks.
        if card.extended_allowed() {
            let max = card.max_data().min(EXTENDED_NE);
            let (chunk, ne) = if max >= EXTENDED_NE {
                (EXTENDED_NE, Le::Extended(0))
            } else {
                (SecureMessaging::<S>::max_plain_for(max), Le::Extended(max as u16))
            };
            if chunk > 0 {
                let result = card.read_chunked(sfi, chunk, None, Step::SmReadBinary, |card, p1, p2, want| {
                    let le = if want >= EXTENDED_NE { 0 } else { want as u16 };
                    let cmd = SecureMessaging::<S>::read_binary_command_ne(p1, p2, le, ne);
                    unwrap(card.exchange_read(&cmd, Step::SmReadBinary)?)
                });
                if let Variant::Read(data) =
                    card.extended_outcome(result, chunk < EXTENDED_NE, fallback::SM_EXTENDED_CHUNKED)?
                {
                    return Ok(data);
                }
            }
        }

        // Variant 1: the whole file, short form (Ne = 256: only where the link carries it).
        if card.max_data() >= 256 {
            let cmd = SecureMessaging::<S>::read_binary_command_short(p1_sfi(sfi), 0, 0);
            match card.exchange_read(&cmd, Step::SmReadBinary) {
                Ok(r) if r.sw == StatusWord::Success => {
                    let data = sm.unwrap_read(&r.data)?;
                    card.note_fallback(SM_FALLBACK_ORDER[0]);
                    return Ok(data);
                }
                Ok(r) if variant_refused(r.sw) => {
                    log::info!(target: "zairyu::apdu", "{} refused ({:04X}); trying {}", SM_FALLBACK_ORDER[0], r.sw.as_u16(), SM_FALLBACK_ORDER[1]);
                }
                Ok(r) => return Err(Error::Card { step: Step::SmReadBinary, sw: r.sw }),
                Err(e) if link_refusal(&e) => {
                    log::info!(target: "zairyu::apdu", "{} not carried ({}); trying {}", SM_FALLBACK_ORDER[0], e.code(), SM_FALLBACK_ORDER[1]);
                }
                Err(e) => return Err(e),
            }
        }

        // Variant 2: chunks, each its own 86 object, each answer within a short Le.
        let max = card.max_data().min(256);
        let chunk = SecureMessaging::<S>::max_plain_for(max).min(usize::from(SM_CHUNK));
        if chunk == 0 {
            return Err(TransportError::ExtendedLengthUnsupported.into());
        }
        let ne = short_le(max);
        let result = card.read_chunked(sfi, chunk, None, Step::SmReadBinary, |card, p1, p2, want| {
            let cmd = SecureMessaging::<S>::read_binary_command_ne(p1, p2, want as u16, ne);
            unwrap(card.exchange_read(&cmd, Step::SmReadBinary)?)
        });
        match result {
            Ok(data) => {
                card.note_fallback(SM_FALLBACK_ORDER[1]);
                Ok(data)
            }
            Err(Error::Card { sw, .. }) if variant_refused(sw) => {
                log::warn!(target: "zairyu::apdu", "{} refused ({:04X}); no variant left", SM_FALLBACK_ORDER[1], sw.as_u16());
                Err(TransportError::ExtendedLengthUnsupported.into())
            }
            Err(e) => Err(e),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> Metrics {
        self.card.metrics()
    }
}
