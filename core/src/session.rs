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
/// the documented fallbacks for readers that cannot carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkReport {
    /// Whether extended-length APDUs pass (`None` until the first read tells).
    pub extended_length: Option<bool>,
    /// The fallbacks used, in the order first used: `short_plain_chunked`,
    /// `sm_short_whole`, `sm_short_chunked`.
    pub fallbacks: Vec<&'static str>,
}

/// The short-APDU fallbacks for SM READ BINARY, tried in this fixed order when the
/// reader cannot carry extended APDUs. The spec defines only the extended form
/// (SPEC15 §4.2.5); whether a real card accepts either variant is not documented
/// (first-generation notes, open question 3), so the report names the one used.
pub const SM_FALLBACK_ORDER: [&str; 2] = ["sm_short_whole", "sm_short_chunked"];

/// Plaintext bytes asked for per chunk in the chunked SM fallback: the encrypted
/// answer (`86 81 F1 01` + at most 240 bytes) then fits a short response.
pub const SM_CHUNK: u16 = 0xE0;

/// A card on a transport, before authentication.
pub struct Card<T: Transport> {
    transport: T,
    metrics: Metrics,
    link: LinkReport,
}

impl<T: Transport> core::fmt::Debug for Card<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Card").field("metrics", &self.metrics).finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        let mut link = LinkReport::default();
        if !transport.limits().extended_length {
            link.extended_length = Some(false);
        }
        Card { transport, metrics: Metrics::default(), link }
    }

    /// How reads were carried so far.
    pub fn link_report(&self) -> &LinkReport {
        &self.link
    }

    fn note_fallback(&mut self, name: &'static str) {
        if !self.link.fallbacks.contains(&name) {
            log::info!(target: "zairyu::apdu", "reader without extended APDUs: using fallback {name}");
            self.link.fallbacks.push(name);
        }
    }

    fn extended_ok(&self) -> bool {
        self.link.extended_length != Some(false)
    }

    /// Learns from an extended command's outcome whether extended APDUs pass: a
    /// transport refusal or `67 00` means they do not (the card itself supports them,
    /// SPEC15 §4.1 Table 4-1). Returns `None` if the caller should fall back.
    fn try_extended(&mut self, cmd: &Command, step: Step) -> Result<Option<Response>> {
        match self.exchange(cmd, step) {
            Ok(r) if r.sw == StatusWord::WrongLength => {
                self.link.extended_length = Some(false);
                Ok(None)
            }
            Ok(r) => {
                self.link.extended_length = Some(true);
                Ok(Some(r))
            }
            Err(Error::Transport(
                TransportError::ExtendedLengthUnsupported | TransportError::CommandTooLong { .. },
            )) => {
                self.link.extended_length = Some(false);
                Ok(None)
            }
            Err(e) => Err(e),
        }
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
        log::debug!(target: "zairyu::apdu", "> {:02X} {:02X} {:02X} {:02X} lc={} ({step})", h[0], h[1], h[2], h[3], cmd.data.len());
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
            log::debug!(target: "zairyu::apdu", "< 61 {xx:02X}: GET RESPONSE 00 C0 00 00 {xx:02X}");
            let next = self.transmit_counted(&[0x00, 0xC0, 0x00, 0x00, xx])?;
            let keep = resp_raw.len() - 2;
            resp_raw.truncate(keep);
            resp_raw.extend_from_slice(&next);
        }
        let resp = Response::parse(&resp_raw)?;
        log::debug!(target: "zairyu::apdu", "< len={} sw={:04X}", resp.data.len(), resp.sw.as_u16());
        Ok(resp)
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
    /// extended Le `00 00` = the whole file). On a reader without extended APDUs:
    /// short reads of 256 bytes, the first by SFI and the rest by offset (P1 bit 8 = 0),
    /// until a shorter answer or `6B 00` at the end of the file.
    pub fn read_binary(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        let sfi = ef.sfi;
        if self.extended_ok() {
            let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Extended(0));
            if let Some(r) = self.try_extended(&cmd, Step::ReadBinary)? {
                return ok_data(r, Step::ReadBinary);
            }
        }
        self.note_fallback("short_plain_chunked");
        self.read_chunked(sfi, 256, |card, p1, p2, want| {
            let le = Le::Short(if want == 256 { 0 } else { want as u8 });
            let r = card.exchange(&Command::new(0x00, 0xB0, p1, p2).with_le(le), Step::ReadBinary)?;
            Ok((r.sw, r.data))
        })
    }

    /// Reads a whole EF in chunks of `chunk` bytes with `read(card, p1, p2, chunk)`,
    /// which returns the status and the (plain) data of one chunk. The first chunk is
    /// addressed by SFI, the rest by a 15-bit offset into the now current EF.
    fn read_chunked(
        &mut self,
        sfi: u8,
        chunk: usize,
        mut read: impl FnMut(&mut Self, u8, u8, usize) -> Result<(StatusWord, Zeroizing<Vec<u8>>)>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(Vec::new());
        loop {
            let offset = out.len();
            if offset > 0x7FFF {
                return Err(crate::error::ParseError {
                    file: "READ BINARY",
                    offset,
                    what: crate::error::ParseProblem::Oversized(offset),
                }
                .into());
            }
            let (p1, p2) = if offset == 0 { (p1_sfi(sfi), 0) } else { ((offset >> 8) as u8, offset as u8) };
            let (sw, data) = read(self, p1, p2, chunk)?;
            match sw {
                StatusWord::Success => {}
                // The previous chunk ended exactly at the end of the file.
                StatusWord::WrongOffset if offset > 0 => return Ok(out),
                sw => return Err(Error::Card { step: Step::ReadBinary, sw }),
            }
            if data.len() > chunk {
                return Err(crate::error::ParseError {
                    file: "READ BINARY",
                    offset,
                    what: crate::error::ParseProblem::Oversized(data.len()),
                }
                .into());
            }
            out.extend_from_slice(&data);
            if data.len() < chunk {
                return Ok(out);
            }
        }
    }

    /// Plain READ BINARY with a short Le (at most `le` bytes, 0 = 256).
    pub fn read_binary_short(&mut self, sfi: u8, le: u8) -> Result<Zeroizing<Vec<u8>>> {
        let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Short(le));
        self.exchange_ok(&cmd, Step::ReadBinary)
    }

    /// Reads one small TLV-structured MF file whole, length-aware: in one extended read
    /// where the reader allows, else first the 2-byte header and then exactly `2 + L`
    /// bytes with short Le. A fixed short Le would silently cut a second-generation card
    /// type (`C1 02 30 35`) to 3 bytes (second-generation notes §1.2). The first such
    /// read also tells whether the reader carries extended APDUs.
    pub fn read_small_tlv_file(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        let sfi = ef.sfi;
        if self.extended_ok() {
            let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Extended(0));
            if let Some(r) = self.try_extended(&cmd, Step::ReadBinary)? {
                return ok_data(r, Step::ReadBinary);
            }
        }
        let head = self.read_binary_short(sfi, 2)?;
        if head.len() < 2 || head[1] > 0x7F {
            // Not a small object: the parser reports it.
            return Ok(head);
        }
        self.read_binary_short(sfi, 2 + head[1])
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
        let cmd = Command::new(0x00, 0x82, 0x00, 0x00).with_data(&cryptogram[..]).with_le(Le::Short(0));
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

/// Status words by which a card or reader refuses the *form* of a fallback request
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
    /// On a reader without extended APDUs the variants of [`SM_FALLBACK_ORDER`] are
    /// tried in order: the same request in short form (`08 B0 P1 00 04 96 02 00 00
    /// 00`, which works when the whole answer fits 256 bytes), then chunks of
    /// [`SM_CHUNK`] bytes (`96 02 00 E0`), the first by SFI and the rest by offset, each
    /// answered as its own `86` object. If none works: "reader cannot carry extended
    /// APDUs".
    pub fn sm_read_binary(&mut self, ef: &Ef) -> Result<Zeroizing<Vec<u8>>> {
        let sfi = ef.sfi;
        if self.card.extended_ok() {
            let cmd = SecureMessaging::<S>::read_binary_command(p1_sfi(sfi), 0x00, 0x0000);
            if let Some(r) = self.card.try_extended(&cmd, Step::SmReadBinary)? {
                let data = ok_data(r, Step::SmReadBinary)?;
                return Ok(self.sm.unwrap_read(&data)?);
            }
        }
        // Variant 1: the whole file, short form.
        let r = self
            .card
            .exchange(&SecureMessaging::<S>::read_binary_command_short(p1_sfi(sfi), 0, 0), Step::SmReadBinary)?;
        if r.sw == StatusWord::Success {
            self.card.note_fallback(SM_FALLBACK_ORDER[0]);
            return Ok(self.sm.unwrap_read(&r.data)?);
        }
        if !variant_refused(r.sw) {
            return Err(Error::Card { step: Step::SmReadBinary, sw: r.sw });
        }
        log::info!(target: "zairyu::apdu", "{} refused ({:04X}); trying {}", SM_FALLBACK_ORDER[0], r.sw.as_u16(), SM_FALLBACK_ORDER[1]);
        // Variant 2: chunks, each its own 86 object.
        let sm = &self.sm;
        let result = self.card.read_chunked(sfi, usize::from(SM_CHUNK), |card, p1, p2, want| {
            let r = card
                .exchange(&SecureMessaging::<S>::read_binary_command_short(p1, p2, want as u16), Step::SmReadBinary)?;
            if r.sw != StatusWord::Success {
                return Ok((r.sw, r.data));
            }
            Ok((r.sw, sm.unwrap_read(&r.data)?))
        });
        match result {
            Ok(data) => {
                self.card.note_fallback(SM_FALLBACK_ORDER[1]);
                Ok(data)
            }
            Err(Error::Card { sw, .. }) if variant_refused(sw) => {
                log::warn!(target: "zairyu::apdu", "{} refused ({:04X}); no variant left", SM_FALLBACK_ORDER[1], sw.as_u16());
                Err(TransportError::ExtendedLengthUnsupported.into())
            }
            Err(Error::Card { sw, .. }) => Err(Error::Card { step: Step::SmReadBinary, sw }),
            Err(e) => Err(e),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> Metrics {
        self.card.metrics()
    }
}
