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
use crate::sm::SecureMessaging;
use crate::transport::Transport;

/// A dedicated file, selected by its 16-byte DF name (SPEC15 §3.3.2, Table 3-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Df {
    /// DF1: card-face images (券面事項).
    Df1,
    /// DF2: back-side entries (裏面記載事項).
    Df2,
    /// DF3: check code and certificate (電子署名).
    Df3,
}

impl Df {
    /// The DF name (AID). The same in every generation.
    pub const fn aid(self) -> [u8; 16] {
        let last = match self {
            Df::Df1 => 0x02,
            Df::Df2 => 0x03,
            Df::Df3 => 0x04,
        };
        [0xD3, 0x92, 0xF0, 0x00, 0x4F, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    }

    /// Name for logs and errors.
    pub const fn name(self) -> &'static str {
        match self {
            Df::Df1 => "DF1",
            Df::Df2 => "DF2",
            Df::Df3 => "DF3",
        }
    }
}

/// P1 of READ BINARY by short EF identifier: bit 8 set, SFI in bits 5..1 (SPEC15 §4.2.5).
pub const fn p1_sfi(sfi: u8) -> u8 {
    0x80 | (sfi & 0x1F)
}

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

/// A card on a transport, before authentication.
pub struct Card<T: Transport> {
    transport: T,
    metrics: Metrics,
}

impl<T: Transport> core::fmt::Debug for Card<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Card").field("metrics", &self.metrics).finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        Card { transport, metrics: Metrics::default() }
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
        self.metrics.apdus += 1;
        self.metrics.bytes_sent += raw.len() as u64;
        let resp_raw = Zeroizing::new(self.transport.transmit(&raw)?);
        self.metrics.bytes_received += resp_raw.len() as u64;
        let resp = Response::parse(&resp_raw)?;
        log::debug!(target: "zairyu::apdu", "< len={} sw={:04X}", resp.data.len(), resp.sw.as_u16());
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
    pub fn select_df(&mut self, df: Df) -> Result<()> {
        let cmd = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&df.aid());
        self.exchange_ok(&cmd, Step::SelectDf).map(drop)
    }

    /// Plain READ BINARY of a whole EF by SFI: `00 B0 P1 00 00 00 00` (SPEC15 §4.2.5,
    /// extended Le `00 00` = the whole file).
    pub fn read_binary(&mut self, sfi: u8) -> Result<Zeroizing<Vec<u8>>> {
        let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Extended(0));
        self.exchange_ok(&cmd, Step::ReadBinary)
    }

    /// Plain READ BINARY with a short Le (at most `le` bytes, 0 = 256).
    pub fn read_binary_short(&mut self, sfi: u8, le: u8) -> Result<Zeroizing<Vec<u8>>> {
        let cmd = Command::new(0x00, 0xB0, p1_sfi(sfi), 0x00).with_le(Le::Short(le));
        self.exchange_ok(&cmd, Step::ReadBinary)
    }

    /// Reads one TLV-structured MF file whole, length-aware: in one extended read
    /// where the transport allows, else first the 2-byte header and then exactly
    /// `2 + L` bytes with short Le. A fixed short Le would silently cut a
    /// second-generation card type (`C1 02 30 35`) to 3 bytes (second-generation
    /// notes §1.2).
    pub fn read_small_tlv_file(&mut self, sfi: u8) -> Result<Zeroizing<Vec<u8>>> {
        if self.transport.limits().extended_length {
            return self.read_binary(sfi);
        }
        let head = self.read_binary_short(sfi, 2)?;
        if head.len() < 2 {
            return Ok(head);
        }
        let len = head[1];
        if len > 0x7F {
            // Not a small object: read what the short form gives and let the parser judge.
            return self.read_binary_short(sfi, 0);
        }
        self.read_binary_short(sfi, 2 + len)
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
        flow: &'static str,
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

    /// Plain READ BINARY of a whole EF (files without the SM attribute: DF2, DF3).
    pub fn read_binary(&mut self, sfi: u8) -> Result<Zeroizing<Vec<u8>>> {
        self.card.read_binary(sfi)
    }

    /// SM READ BINARY of a whole EF: `08 B0 P1 00 00 00 04 96 02 00 00 00 00`,
    /// response `86 L 01 ‖ ciphertext`, decrypted and strictly unpadded
    /// (SPEC15 §4.2.5).
    pub fn sm_read_binary(&mut self, sfi: u8) -> Result<Zeroizing<Vec<u8>>> {
        let cmd = SecureMessaging::<S>::read_binary_command(p1_sfi(sfi), 0x00, 0x0000);
        let data = self.card.exchange_ok(&cmd, Step::SmReadBinary)?;
        Ok(self.sm.unwrap_read(&data)?)
    }

    /// Counters so far.
    pub fn metrics(&self) -> Metrics {
        self.card.metrics()
    }
}
