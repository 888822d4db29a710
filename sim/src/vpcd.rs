//! The simulated chip as a card in a real PC/SC stack, through vsmartcard's
//! `vpcd` reader driver for pcsc-lite.
//!
//! `vpcd` (configured by `/etc/reader.conf.d/vpcd`, e.g. `CHANNELID 0x8C7B`)
//! makes pcscd list readers `Virtual PCD 00 00` and `Virtual PCD 00 01`, which
//! *listen* on TCP ports 35963 and 35964; a virtual card is a TCP *client* that
//! connects to one of them. [`serve`] is such a client.
//!
//! ## Wire protocol (vsmartcard "vicc" protocol)
//!
//! Every message, both ways, is a 2-byte big-endian length followed by that many
//! bytes. From vpcd to the card a 1-byte message is a control code:
//!
//! | code | meaning | answer |
//! |---|---|---|
//! | `00` | power off | none |
//! | `01` | power on | none |
//! | `02` | reset | none |
//! | `04` | get ATR | the ATR, length-prefixed |
//!
//! Any longer message is a command APDU, answered by the response APDU. vpcd
//! asks for the ATR on every presence poll of pcscd (a few times a second),
//! and after each power on and reset. An empty answer, a closed connection or
//! a failed read makes vpcd drop the connection ("card removed") and wait for
//! the card to connect again.
//!
//! Checked by hand with pcscd 1.9.9 and vsmartcard-vpcd 3.3 (Debian), using
//! `pcsc_scan` and `scriptor` against `examples/serve.rs`:
//!
//! * extended-length commands pass unchanged (`00 B0 8B 00 00 00 00`, and a
//!   4 009-byte command), and so do large responses (1 466, 7 015 and
//!   65 535 bytes, with short or extended Le): neither pcscd nor vpcd checks
//!   APDU lengths, so the PC/SC path can use extended APDUs. The only limit is
//!   the 16-bit length prefix: a message carries at most 65 535 bytes;
//! * a response cut after its length prefix ([`ServeFault::DropMidResponse`])
//!   reaches the application as a *successful* but short response (vpcd's
//!   `recv(MSG_WAITALL)` returns what arrived before EOF); the next transmit
//!   fails with `SCARD_E_NOT_TRANSACTED` ("Transaction failed"), as it does
//!   after [`ServeFault::DropAfter`];
//! * pcscd stopped and started again: the card reconnects and answers.

//! ## Card state across connections
//!
//! [`serve`] keeps one [`SimCard`] across reconnects (pcscd restarted, a
//! [`ServeFault::DropMidResponse`], a transport error from the chip): the
//! card's files and any injected [`crate::Fault`] state persist, while power
//! off / power on / reset from vpcd call [`SimCard::power_cycle`], which clears
//! the session. Only [`ServeFault::DropAfter`] models "card removed, another
//! card presented": it takes a fresh card from the `card` closure.
//!
//! ## Logging
//!
//! Through the `log` crate, at `debug`: the command header (CLA INS P1 P2), the
//! lengths and the status word. Never command or response data.
//!
//! ## Latency
//!
//! On Linux the socket gets `TCP_NODELAY` and, before every read,
//! `TCP_QUICKACK` (without it every APDU costs about 40 ms of delayed-ACK
//! interplay with vpcd). Each answer is written with a single `write`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zairyu::transport::Transport;

use crate::SimCard;

pub use crate::airtime::{
    BLOCK_OVERHEAD, CARD_TURNAROUND_FC, CHAR_ETU, EOF_ETU, FC_HZ, FRAME_SIZE, LinkModel, LinkSpeed, MAX_INF,
    ParseLinkSpeedError, READER_TURNAROUND_ETU, SOF_ETU, air_time, air_time_fc, i_blocks, nominal_air_time_fc,
};

/// Control code: power off.
pub const CTRL_OFF: u8 = 0x00;
/// Control code: power on.
pub const CTRL_ON: u8 = 0x01;
/// Control code: reset.
pub const CTRL_RESET: u8 = 0x02;
/// Control code: get ATR.
pub const CTRL_ATR: u8 = 0x04;

/// vpcd's default TCP port for reader `Virtual PCD 00 00` (the second reader
/// is on the next port).
pub const DEFAULT_PORT: u16 = 0x8C7B;

/// How often the server looks at the `stop` flag (read timeout, retry period).
pub const POLL: Duration = Duration::from_millis(200);

/// How long the card stays away after [`ServeFault::DropAfter`] or after the
/// chip failed with a transport error.
pub const AWAY: Duration = Duration::from_secs(1);

/// A fault of the link (the TCP connection to vpcd), as opposed to
/// [`crate::Fault`], which the chip itself injects. APDUs are numbered from 1
/// in the order [`serve`] receives them over its whole run (across
/// reconnects); each fault fires once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeFault {
    /// Once this many APDUs have been answered, close the connection (mid
    /// session) and stay away for [`AWAY`]; then connect again with a fresh
    /// card from the `card` closure.
    DropAfter(usize),
    /// On this APDU, send the length prefix and the first half of the response
    /// (at least one byte), then close the connection; connect again at once
    /// with the same card.
    DropMidResponse(usize),
    /// XOR byte `index` of the response to APDU number `apdu` with `FF` (no
    /// effect if the response is shorter).
    CorruptByte {
        /// APDU number (from 1).
        apdu: usize,
        /// Index into the response (data ‖ SW).
        index: usize,
    },
}

/// Options of [`serve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Where vpcd listens (default `127.0.0.1`).
    pub host: String,
    /// vpcd's port (default [`DEFAULT_PORT`], 35963 = reader `Virtual PCD 00 00`).
    pub port: u16,
    /// Air-time model: if set, every answer is delayed until
    /// [`air_time`]`(link, command, response)` has passed since the command
    /// arrived (the simulator's compute time counts towards it).
    pub link: Option<LinkSpeed>,
    /// Which air-time model `link` follows (default [`LinkModel::Nominal`]).
    pub link_model: LinkModel,
    /// A limited reader: extended-length commands, and responses with more than
    /// 256 data bytes, are answered `67 00` (the latter after the chip ran the
    /// command).
    pub short_apdus_only: bool,
    /// A reader whose driver fails the transmit of an extended-length command, and
    /// of an answer with more than 256 data bytes, the card staying in the field (the
    /// in-process [`Fault::ReaderFailsExtended`](crate::Fault::ReaderFailsExtended)).
    ///
    /// vpcd can make pcscd fail a transmit without dropping the card in one way only:
    /// an answer longer than the application's receive buffer, which pcscd reports as
    /// `SCARD_E_INSUFFICIENT_BUFFER` (any other failure of vpcd's transmit closes the
    /// connection: the card is removed). So the served reader answers such a command
    /// with [`OVERFLOW_ANSWER`] bytes, more than any receive buffer of this protocol
    /// (`zairyu-pcsc` never offers more than the 7,015 bytes of the largest answer).
    /// An extended command never reaches the chip; a long answer was executed by it.
    pub fail_extended_transmit: bool,
    /// Link faults.
    pub faults: Vec<ServeFault>,
    /// The ATR (default [`default_atr`]).
    pub atr: Vec<u8>,
    /// Set `TCP_QUICKACK` before every read (Linux; default `true`). Turn off
    /// only to measure what it saves.
    pub tcp_quickack: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".to_owned(),
            port: DEFAULT_PORT,
            link: None,
            link_model: LinkModel::Nominal,
            short_apdus_only: false,
            fail_extended_transmit: false,
            faults: Vec::new(),
            atr: default_atr(),
            tcp_quickack: true,
        }
    }
}

/// What [`serve`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Command APDUs received and answered (including those the limited reader
    /// refused and the one cut by [`ServeFault::DropMidResponse`]).
    pub apdus: u64,
    /// Bytes of command APDUs received (without length prefixes and control messages).
    pub bytes_in: u64,
    /// Bytes of response APDUs sent (without length prefixes and ATRs).
    pub bytes_out: u64,
    /// Connections made after the first one.
    pub reconnects: u32,
}

/// Length of the answer by which [`ServeOptions::fail_extended_transmit`] makes pcscd
/// fail a transmit: the longest vpcd message.
pub const OVERFLOW_ANSWER: usize = 0xFFFF;

/// Application data of the default ATR (ATQB bytes 6–9; synthetic).
pub const DEFAULT_APPLICATION_DATA: [u8; 4] = [0x00; 4];
/// Protocol info of the default ATR (ATQB bytes 10–12; synthetic):
/// `77` = 212/424/848 kbit/s both ways, different rates allowed;
/// `81` = FSCI 8 (frames of 256 bytes), ISO/IEC 14443-4 compliant;
/// `80` = FWI 8 (FWT ≈ 77 ms), no ADC, no NAD, no CID.
pub const DEFAULT_PROTOCOL_INFO: [u8; 3] = [0x77, 0x81, 0x80];
/// MBLI byte of the default ATR (high nibble from the ATTRIB answer): MBLI 4,
/// a buffer of 256·2³ = 2048 bytes, enough for a chained 1 466-byte response.
pub const DEFAULT_MBLI: u8 = 0x40;

/// The ISO/IEC 7816-3 check byte TCK: XOR of every byte from T0 to the last
/// historical byte, i.e. of `atr[1..]` for an ATR given without its TCK.
pub fn tck(atr_without_tck: &[u8]) -> u8 {
    atr_without_tck.iter().skip(1).fold(0, |a, b| a ^ b)
}

/// The ATR a PC/SC reader builds for an ISO/IEC 14443-4 Type B card (PC/SC
/// part 3 §3.1.3.2.3.2):
/// `3B 88 80 01` ‖ application data (4) ‖ protocol info (3) ‖ MBLI byte ‖ TCK.
pub fn type_b_atr(application_data: [u8; 4], protocol_info: [u8; 3], mbli: u8) -> Vec<u8> {
    let mut atr = vec![0x3B, 0x88, 0x80, 0x01];
    atr.extend_from_slice(&application_data);
    atr.extend_from_slice(&protocol_info);
    atr.push(mbli);
    atr.push(tck(&atr));
    atr
}

/// The default, synthetic ATR: `3B 88 80 01 00 00 00 00 77 81 80 40 3F`.
///
/// The real residence card's ATQB application data and protocol-info bytes are
/// not public (neither SPEC15 nor GEN2 gives them), so these are plausible
/// values chosen to match the model of [`crate::airtime`] (FSC 256, all bit
/// rates); software must not rely on them.
pub fn default_atr() -> Vec<u8> {
    type_b_atr(DEFAULT_APPLICATION_DATA, DEFAULT_PROTOCOL_INFO, DEFAULT_MBLI)
}

/// Why a session (one TCP connection) ended.
enum End {
    /// `stop` was set.
    Stop,
    /// vpcd closed the connection or it failed (pcscd stopped, …).
    Closed,
    /// [`ServeFault::DropAfter`]: stay away, then present a fresh card.
    Removed,
    /// The chip failed with a transport error: the card left the field.
    Left,
    /// [`ServeFault::DropMidResponse`].
    Cut,
}

struct Server<'a> {
    opts: &'a ServeOptions,
    stop: &'a AtomicBool,
    stats: ServeStats,
    fired: Vec<bool>,
    on_nvm_change: &'a mut dyn FnMut(&SimCard),
    nvm_seen: u64,
}

/// Runs the simulated card against vpcd until `stop` is set.
///
/// Connects to `opts.host:opts.port` (retrying every [`POLL`]), answers control
/// messages and APDUs, and reconnects whenever the connection ends (pcscd
/// stopped and started again, a link fault, a transport error from the chip).
/// `card` is called once at the start and again after each
/// [`ServeFault::DropAfter`]. `stop` is looked at at least every [`POLL`].
///
/// # Errors
///
/// Only if `opts.host:opts.port` does not resolve; connection failures are
/// retried, and I/O errors during a session end the session only.
pub fn serve(card: impl FnMut() -> SimCard, opts: &ServeOptions, stop: &AtomicBool) -> io::Result<ServeStats> {
    serve_with(card, opts, stop, &mut |_| {})
}

/// [`serve`], calling `on_nvm_change` whenever the card's non-volatile memory may
/// have changed ([`SimCard::nvm_version`] moved: a write-application command, a
/// recovery at power up), after the APDU's answer is sent and after each power
/// cycle: `zairyu sim serve --state` saves the card's state file there.
///
/// # Errors
///
/// As [`serve`].
pub fn serve_with(
    mut card: impl FnMut() -> SimCard,
    opts: &ServeOptions,
    stop: &AtomicBool,
    on_nvm_change: &mut dyn FnMut(&SimCard),
) -> io::Result<ServeStats> {
    let addrs: Vec<SocketAddr> = (opts.host.as_str(), opts.port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "vpcd address does not resolve"));
    }
    let mut server = Server {
        opts,
        stop,
        stats: ServeStats::default(),
        fired: vec![false; opts.faults.len()],
        on_nvm_change,
        nvm_seen: 0,
    };
    // A limited reader is the chip's own `ShortApdusOnly` fault: extended commands
    // and answers of more than 256 data bytes get `67 00`.
    let mut card = move || {
        let sim = card();
        if opts.short_apdus_only { sim.with_fault(crate::Fault::ShortApdusOnly) } else { sim }
    };
    let mut sim = card();
    let mut connected_before = false;
    loop {
        let Some(mut stream) = server.connect(&addrs) else {
            return Ok(server.stats);
        };
        if connected_before {
            server.stats.reconnects = server.stats.reconnects.saturating_add(1);
        }
        connected_before = true;
        log::info!("vpcd: connected to {}:{}", opts.host, opts.port);
        let end = server.session(&mut stream, &mut sim);
        server.nvm_check(&sim);
        drop(stream);
        match end {
            End::Stop => return Ok(server.stats),
            End::Closed => log::info!("vpcd: connection closed"),
            End::Cut => log::info!("vpcd: connection cut mid-response (fault)"),
            End::Removed => {
                log::info!("vpcd: card removed (fault); a new card in {AWAY:?}");
                if !server.pause(AWAY) {
                    return Ok(server.stats);
                }
                sim = card();
            }
            End::Left => {
                log::info!("vpcd: card left the field (transport error); back in {AWAY:?}");
                if !server.pause(AWAY) {
                    return Ok(server.stats);
                }
            }
        }
    }
}

impl Server<'_> {
    fn nvm_check(&mut self, card: &SimCard) {
        if card.nvm_version() != self.nvm_seen {
            self.nvm_seen = card.nvm_version();
            (self.on_nvm_change)(card);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sleeps `d` in slices of at most [`POLL`]; `false` if `stop` was set.
    fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(POLL));
        }
    }

    fn connect(&self, addrs: &[SocketAddr]) -> Option<TcpStream> {
        loop {
            if self.stopped() {
                return None;
            }
            let started = Instant::now();
            for a in addrs {
                if let Ok(s) = TcpStream::connect_timeout(a, POLL) {
                    if let Err(e) = self.configure(&s) {
                        log::warn!("vpcd: socket options: {e}");
                        continue;
                    }
                    return Some(s);
                }
            }
            let spent = started.elapsed();
            if spent < POLL && !self.pause(POLL - spent) {
                return None;
            }
        }
    }

    fn configure(&self, s: &TcpStream) -> io::Result<()> {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(POLL))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn quickack(&self, s: &TcpStream) {
        if self.opts.tcp_quickack {
            // Best effort: a failure only costs latency.
            let _ = socket2::SockRef::from(s).set_tcp_quickack(true);
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn quickack(&self, _s: &TcpStream) {}

    /// Fills `buf`; `Ok(false)` if `stop` was set first.
    fn read_full(&self, s: &mut TcpStream, buf: &mut [u8]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            if self.stopped() {
                return Ok(false);
            }
            self.quickack(s);
            match s.read(&mut buf[filled..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => filled += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// One length-prefixed message; `Ok(None)` if `stop` was set.
    fn read_message(&self, s: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
        let mut len = [0u8; 2];
        if !self.read_full(s, &mut len)? {
            return Ok(None);
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !self.read_full(s, &mut msg)? {
            return Ok(None);
        }
        Ok(Some(msg))
    }

    fn fault_index(&self, pred: impl Fn(&ServeFault) -> bool) -> Option<usize> {
        self.opts.faults.iter().enumerate().find(|(i, f)| !self.fired[*i] && pred(f)).map(|(i, _)| i)
    }

    /// Fires a pending [`ServeFault::DropAfter`] whose count has been reached.
    fn drop_due(&mut self) -> bool {
        let answered = self.stats.apdus;
        match self.fault_index(|f| matches!(f, ServeFault::DropAfter(n) if answered >= *n as u64)) {
            Some(i) => {
                self.fired[i] = true;
                true
            }
            None => false,
        }
    }

    fn session(&mut self, s: &mut TcpStream, card: &mut SimCard) -> End {
        loop {
            if self.drop_due() {
                return End::Removed;
            }
            let msg = match self.read_message(s) {
                Ok(Some(m)) => m,
                Ok(None) => return End::Stop,
                Err(e) => {
                    log::debug!("vpcd: read: {e}");
                    return End::Closed;
                }
            };
            let received = Instant::now();
            match Message::classify(&msg) {
                Message::Empty => log::warn!("vpcd: empty message ignored"),
                Message::PowerCycle(code) => {
                    log::debug!("vpcd: control {code:02X} (power cycle)");
                    card.power_cycle();
                    self.nvm_check(card);
                }
                Message::AtrRequest => {
                    if let Err(e) = send(s, &self.opts.atr) {
                        log::debug!("vpcd: write: {e}");
                        return End::Closed;
                    }
                }
                Message::UnknownControl(other) => log::warn!("vpcd: unknown control code {other:02X} ignored"),
                Message::Apdu(apdu) => {
                    if let Some(end) = self.apdu(s, card, apdu, received) {
                        return end;
                    }
                    // After the answer is sent, as documented at `serve_with`: a state
                    // file then holds a commit before the next command can cut power.
                    self.nvm_check(card);
                }
            }
        }
    }

    /// Answers one APDU; `Some` ends the session.
    fn apdu(&mut self, s: &mut TcpStream, card: &mut SimCard, apdu: &[u8], received: Instant) -> Option<End> {
        self.stats.apdus = self.stats.apdus.saturating_add(1);
        self.stats.bytes_in = self.stats.bytes_in.saturating_add(apdu.len() as u64);
        let number = self.stats.apdus;
        let header = [apdu[0], apdu[1], apdu.get(2).copied().unwrap_or(0), apdu.get(3).copied().unwrap_or(0)];

        let extended = zairyu::apdu::ParsedCommand::parse(apdu).is_some_and(|p| p.extended);
        let mut response = if self.opts.fail_extended_transmit && extended {
            log::debug!("vpcd: APDU #{number} {header:02X?}: extended, the reader fails the transmit");
            vec![0; OVERFLOW_ANSWER]
        } else {
            match card.transmit(apdu) {
                Ok(r) => r,
                Err(e) => {
                    log::info!("vpcd: APDU #{number} {header:02X?}: chip failed ({e}); closing");
                    return Some(End::Left);
                }
            }
        };
        if self.opts.fail_extended_transmit && response.len() > 256 + 2 && response.len() != OVERFLOW_ANSWER {
            log::debug!(
                "vpcd: APDU #{number} {header:02X?}: answer of {} bytes, the reader fails the transmit",
                response.len()
            );
            response = vec![0; OVERFLOW_ANSWER];
        }
        if let Some(i) =
            self.fault_index(|f| matches!(f, ServeFault::CorruptByte { apdu, .. } if *apdu as u64 == number))
        {
            self.fired[i] = true;
            if let ServeFault::CorruptByte { index, .. } = self.opts.faults[i]
                && let Some(b) = response.get_mut(index)
            {
                *b ^= 0xFF;
            }
        }
        let sw = match response.as_slice() {
            [.., a, b] => format!("{a:02X}{b:02X}"),
            _ => "none".to_owned(),
        };
        log::debug!("vpcd: APDU #{number} {header:02X?} lc+le {} -> {} bytes, SW {sw}", apdu.len(), response.len());

        if let Some(link) = self.opts.link {
            let due = received + self.opts.link_model.air_time(link, apdu.len(), response.len());
            let now = Instant::now();
            if due > now && !self.pause(due - now) {
                return Some(End::Stop);
            }
        }

        if let Some(i) = self.fault_index(|f| matches!(f, ServeFault::DropMidResponse(n) if *n as u64 == number)) {
            self.fired[i] = true;
            let keep = (response.len() / 2).max(1).min(response.len());
            let mut out = Vec::with_capacity(2 + keep);
            out.extend_from_slice(&(response.len() as u16).to_be_bytes());
            out.extend_from_slice(&response[..keep]);
            let _ = s.write_all(&out);
            let _ = s.flush();
            self.stats.bytes_out = self.stats.bytes_out.saturating_add(keep as u64);
            let _ = s.shutdown(std::net::Shutdown::Both);
            return Some(End::Cut);
        }
        if let Err(e) = send(s, &response) {
            log::debug!("vpcd: write: {e}");
            return Some(End::Closed);
        }
        self.stats.bytes_out = self.stats.bytes_out.saturating_add(response.len() as u64);
        None
    }
}

/// One message of the vpcd protocol (after its 2-byte big-endian length): a
/// one-byte control code (power off, power on, reset, ATR request) or an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A zero-length message (ignored).
    Empty,
    /// Power off, power on or reset: the card is power-cycled.
    PowerCycle(u8),
    /// The reader asks for the ATR.
    AtrRequest,
    /// A one-byte message with another code (ignored).
    UnknownControl(u8),
    /// A command APDU (two bytes or more).
    Apdu(&'a [u8]),
}

impl<'a> Message<'a> {
    /// Classifies one message body.
    pub fn classify(body: &'a [u8]) -> Message<'a> {
        match body {
            [] => Message::Empty,
            [code @ (CTRL_OFF | CTRL_ON | CTRL_RESET)] => Message::PowerCycle(*code),
            [CTRL_ATR] => Message::AtrRequest,
            [other] => Message::UnknownControl(*other),
            apdu => Message::Apdu(apdu),
        }
    }
}

/// Writes one length-prefixed message in a single write.
fn send(s: &mut TcpStream, body: &[u8]) -> io::Result<()> {
    let len = u16::try_from(body.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
    let mut out = Vec::with_capacity(2 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    s.write_all(&out)?;
    s.flush()
}
