//! Secure messaging of the write channel (AWP §4.3c): ICAO 9303 Part 11 §9.8 with
//! AES-128 (as TR-03110 Part 3 F.2 uses it after Chip Authentication), for both
//! ends of the channel.
//!
//! * The send sequence counter (SSC) is 16 bytes, zero after Chip Authentication,
//!   and incremented before every command and every response; so the `n`-th command
//!   uses `2n − 1` and its response `2n`.
//! * Encryption: AES-128-CBC under K_enc with `IV = AES(K_enc, SSC)`, ISO/IEC 7816-4
//!   padding (`80 00…`); the cryptogram goes in `87 L 01 ‖ C` (padding indicator
//!   `01`). Odd INS (`85`) is not used.
//! * Le goes in `97` (one byte, or two for an extended Le); the status in `99 02 SW`.
//! * MAC: AES-CMAC under K_mac over `pad(SSC ‖ pad(CLA' INS P1 P2) ‖ DO87 ‖ DO97)`
//!   for a command, `pad(SSC ‖ DO87 ‖ DO99)` for a response, the first 8 bytes in
//!   `8E 08`. CLA' is CLA with `0C` set (the chaining bit `10` is kept).
//! * Protected command: `CLA' INS P1 P2 Lc DO87? DO97? DO8E Le'` with `Le' = 00`
//!   (`00 00` in the extended form). Protected response: `DO87? DO99 DO8E SW`, the
//!   outer SW equal to the one in `99`.
//!
//! [`TerminalSide`] (the authority) wraps commands and unwraps responses;
//! [`CardSide`] (the card, the simulator) unwraps commands and wraps responses.
//! Because the SSC is predictable, the terminal may wrap a whole batch before any
//! answer arrives; it then unwraps the answers in the same order. Any failure closes
//! the channel on that side ([`SmError::Closed`] from then on): a card answers
//! it in plain (`69 88`) and forgets the keys, as TR-03110 Part 3 F.2 prescribes.

use std::collections::VecDeque;

use aes::Aes128;
use cipher::{BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit, block_padding::NoPadding};
use cmac::{Cmac, Mac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ber::{self, BerError, Reader};
use crate::apdu::{Command, Le, ParsedCommand};
use crate::crypto::{Key16, pad_iso, unpad_iso};

/// CLA bits that mark a command as secure messaging with a MACed header (ISO/IEC 7816-4 §5.4.1).
pub const CLA_SM_BITS: u8 = 0x0C;
/// CLA bit for command chaining (ISO/IEC 7816-4 §5.3.3).
pub const CLA_CHAINING: u8 = 0x10;

/// Failures of the write channel's secure messaging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The bytes are not a well-formed APDU, or its data objects not well-formed TLV.
    #[error("malformed secure-messaging APDU")]
    Malformed,
    /// The data objects are not well-formed.
    #[error("secure-messaging data objects: {0}")]
    Encoding(#[from] BerError),
    /// A required data object is missing (`8E`, `99`).
    #[error("secure-messaging data object {0:02X} missing")]
    MissingObject(u8),
    /// A data object that this channel never uses, or one out of order.
    #[error("unexpected secure-messaging data object {0:02X}")]
    UnexpectedObject(u8),
    /// The MAC does not verify.
    #[error("secure-messaging MAC does not verify")]
    BadMac,
    /// The `87` object does not start with the padding indicator `01`.
    #[error("secure-messaging padding indicator is not 01")]
    BadPaddingIndicator,
    /// The cryptogram is not a whole number of AES blocks.
    #[error("secure-messaging cryptogram is not a whole number of blocks")]
    BlockAlignment,
    /// The decrypted data does not end in `80 00…` within one block.
    #[error("bad padding in decrypted secure-messaging data")]
    BadPadding,
    /// The SSC would wrap around.
    #[error("send sequence counter exhausted")]
    SscOverflow,
    /// A command's CLA does not carry the secure-messaging bits, or already does
    /// when the terminal is asked to wrap it.
    #[error("CLA {0:02X} is not a plain or secure-messaging CLA as required")]
    Cla(u8),
    /// An odd INS (BER-TLV data objects, `85`), which this channel does not use.
    #[error("odd INS {0:02X} is not supported")]
    OddIns(u8),
    /// The status in `99` differs from the response's outer status word.
    #[error("status word {outer:04X} differs from the protected status {inner:04X}")]
    StatusMismatch {
        /// The outer SW.
        outer: u16,
        /// The SW in `99`.
        inner: u16,
    },
    /// The card answered without secure messaging (it met an SM error, `69 87` /
    /// `69 88`, or any other plain status): the channel is gone.
    #[error("card answered in plain with status {0:04X}")]
    PlainResponse(u16),
    /// A response arrived with no command waiting for it (terminal), or a
    /// response is to be wrapped with no command unwrapped (card).
    #[error("secure-messaging call out of turn")]
    OutOfTurn,
    /// The channel failed earlier and is closed.
    #[error("secure-messaging channel closed after an earlier failure")]
    Closed,
    /// The data to protect exceeds what one APDU can carry.
    #[error("data of {0} bytes is too long for one protected APDU")]
    TooLong(usize),
}

/// The two session keys of the channel (AWP §4.3b). Wiped on drop, never printed.
pub struct SessionKeys {
    k_enc: Key16,
    k_mac: Key16,
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

impl SessionKeys {
    /// Keys from K_enc and K_mac.
    pub fn new(k_enc: Key16, k_mac: Key16) -> Self {
        SessionKeys { k_enc, k_mac }
    }

    /// K_enc.
    pub fn k_enc(&self) -> &Key16 {
        &self.k_enc
    }

    /// K_mac.
    pub fn k_mac(&self) -> &Key16 {
        &self.k_mac
    }
}

fn ssc_block(ssc: u128) -> [u8; 16] {
    ssc.to_be_bytes()
}

fn iv(keys: &SessionKeys, ssc: u128) -> Zeroizing<[u8; 16]> {
    let cipher = Aes128::new(keys.k_enc.expose().into());
    let mut block = Zeroizing::new(ssc_block(ssc));
    cipher.encrypt_block((&mut *block).into());
    block
}

/// AES-CMAC over `pad(data)`, first 8 bytes.
fn mac8(keys: &SessionKeys, data: &[u8]) -> [u8; 8] {
    let padded = pad_iso(data, 16);
    let mut m = <Cmac<Aes128> as KeyInit>::new(keys.k_mac.expose().into());
    m.update(&padded);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// `87 L 01 ‖ AES-CBC(K_enc, IV = AES(K_enc, SSC), pad(plain))`.
fn encrypt_do87(keys: &SessionKeys, ssc: u128, plain: &[u8]) -> Vec<u8> {
    let mut body = pad_iso(plain, 16);
    let len = body.len();
    let enc = cbc::Encryptor::<Aes128>::new(keys.k_enc.expose().into(), (&*iv(keys, ssc)).into());
    // A padded buffer is always a whole number of blocks.
    let _ = enc.encrypt_padded::<NoPadding>(&mut body, len);
    let mut value = Vec::with_capacity(len + 1);
    value.push(0x01);
    value.extend_from_slice(&body);
    ber::encode(0x87, &value)
}

fn decrypt_do87(keys: &SessionKeys, ssc: u128, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmError> {
    let Some((&indicator, ct)) = value.split_first() else {
        return Err(SmError::BadPaddingIndicator);
    };
    if indicator != 0x01 {
        return Err(SmError::BadPaddingIndicator);
    }
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(SmError::BlockAlignment);
    }
    let mut plain = Zeroizing::new(ct.to_vec());
    let dec = cbc::Decryptor::<Aes128>::new(keys.k_enc.expose().into(), (&*iv(keys, ssc)).into());
    dec.decrypt_padded::<NoPadding>(&mut plain).map_err(|_| SmError::BlockAlignment)?;
    let n = unpad_iso(&plain, 16).map_err(|_| SmError::BadPadding)?;
    plain.truncate(n);
    Ok(plain)
}

fn next(ssc: &mut u128) -> Result<u128, SmError> {
    *ssc = ssc.checked_add(1).ok_or(SmError::SscOverflow)?;
    Ok(*ssc)
}

fn command_mac_input(ssc: u128, header: [u8; 4], do87: &[u8], do97: &[u8]) -> Vec<u8> {
    let mut n = Vec::with_capacity(32 + do87.len() + do97.len());
    n.extend_from_slice(&ssc_block(ssc));
    n.extend_from_slice(&pad_iso(&header, 16));
    n.extend_from_slice(do87);
    n.extend_from_slice(do97);
    n
}

fn response_mac_input(ssc: u128, do87: &[u8], do99: &[u8]) -> Vec<u8> {
    let mut n = Vec::with_capacity(16 + do87.len() + do99.len());
    n.extend_from_slice(&ssc_block(ssc));
    n.extend_from_slice(do87);
    n.extend_from_slice(do99);
    n
}

/// A response after unwrapping: plain data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainResponse {
    /// The decrypted data (may be empty).
    pub data: Zeroizing<Vec<u8>>,
    /// SW1-SW2.
    pub sw: u16,
}

impl core::fmt::Debug for PlainResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PlainResponse(len={}, sw={:04X})", self.data.len(), self.sw)
    }
}

/// The terminal's end (the authority's): wraps commands, unwraps responses in order.
pub struct TerminalSide {
    keys: SessionKeys,
    ssc: u128,
    pending: VecDeque<u128>,
    closed: bool,
}

impl core::fmt::Debug for TerminalSide {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TerminalSide(<redacted>, pending={}, closed={})", self.pending.len(), self.closed)
    }
}

impl TerminalSide {
    /// A channel right after Chip Authentication (SSC zero).
    pub fn new(keys: SessionKeys) -> Self {
        Self::with_ssc(keys, [0u8; 16])
    }

    /// A channel whose SSC starts at `ssc` (known-answer tests, counter exhaustion).
    pub fn with_ssc(keys: SessionKeys, ssc: [u8; 16]) -> Self {
        TerminalSide { keys, ssc: u128::from_be_bytes(ssc), pending: VecDeque::new(), closed: false }
    }

    /// The current SSC.
    pub fn ssc(&self) -> [u8; 16] {
        ssc_block(self.ssc)
    }

    /// Commands wrapped whose responses are not yet unwrapped.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Wraps a plain command (CLA without `0C`; the chaining bit is kept). Reserves
    /// the next SSC value for its response, so more commands may be wrapped before
    /// the first answer comes back.
    pub fn wrap(&mut self, cmd: &Command) -> Result<Zeroizing<Vec<u8>>, SmError> {
        if self.closed {
            return Err(SmError::Closed);
        }
        if cmd.cla & CLA_SM_BITS != 0 || cmd.cla & 0xE0 != 0 {
            return Err(SmError::Cla(cmd.cla));
        }
        if cmd.ins & 1 == 1 {
            return Err(SmError::OddIns(cmd.ins));
        }
        if cmd.data.len() > 0xFF00 {
            return Err(SmError::TooLong(cmd.data.len()));
        }
        let mut ssc = self.ssc;
        let s_cmd = next(&mut ssc)?;
        let s_rsp = next(&mut ssc)?;
        let header = [cmd.cla | CLA_SM_BITS, cmd.ins, cmd.p1, cmd.p2];
        let do87 = if cmd.data.is_empty() { Vec::new() } else { encrypt_do87(&self.keys, s_cmd, &cmd.data) };
        let (do97, ext_le) = match cmd.le {
            None => (Vec::new(), false),
            Some(Le::Short(v)) => (ber::encode(0x97, &[v]), false),
            Some(Le::Extended(v)) => (ber::encode(0x97, &v.to_be_bytes()), true),
        };
        let mac = mac8(&self.keys, &command_mac_input(s_cmd, header, &do87, &do97));
        let mut body = Zeroizing::new(Vec::with_capacity(do87.len() + do97.len() + 10));
        body.extend_from_slice(&do87);
        body.extend_from_slice(&do97);
        ber::push(&mut body, 0x8E, &mac);
        let extended = ext_le || cmd.extended || body.len() > 255;
        let mut out = Command::new(header[0], cmd.ins, cmd.p1, cmd.p2).with_data(&body).with_le(if extended {
            Le::Extended(0)
        } else {
            Le::Short(0)
        });
        if extended {
            out = out.extended();
        }
        self.ssc = ssc;
        self.pending.push_back(s_rsp);
        Ok(out.encode())
    }

    /// Unwraps the response to the oldest wrapped command: checks the MAC (in
    /// constant time), that `99` equals the outer status word, and decrypts `87`.
    pub fn unwrap(&mut self, response: &[u8]) -> Result<PlainResponse, SmError> {
        if self.closed {
            return Err(SmError::Closed);
        }
        let Some(ssc) = self.pending.pop_front() else {
            return Err(SmError::OutOfTurn);
        };
        let r = self.unwrap_at(ssc, response);
        if r.is_err() {
            self.closed = true;
        }
        r
    }

    fn unwrap_at(&self, ssc: u128, response: &[u8]) -> Result<PlainResponse, SmError> {
        if response.len() < 2 {
            return Err(SmError::Malformed);
        }
        let (data, sw) = response.split_at(response.len() - 2);
        let outer = u16::from_be_bytes([sw[0], sw[1]]);
        if data.is_empty() {
            return Err(SmError::PlainResponse(outer));
        }
        let mut r = Reader::new(data);
        let do87 = r.optional(0x87)?;
        let do99 = match r.optional(0x99)? {
            Some(o) => o,
            None if r.is_empty() => return Err(SmError::MissingObject(0x99)),
            None => return Err(SmError::UnexpectedObject(first_tag(&r))),
        };
        let do8e = match r.optional(0x8E)? {
            Some(o) => o,
            None if r.is_empty() => return Err(SmError::MissingObject(0x8E)),
            None => return Err(SmError::UnexpectedObject(first_tag(&r))),
        };
        if !r.is_empty() {
            return Err(SmError::UnexpectedObject(first_tag(&r)));
        }
        let raw87 = do87.map(|o| o.raw).unwrap_or(&[]);
        let expect = mac8(&self.keys, &response_mac_input(ssc, raw87, do99.raw));
        if do8e.value.len() != 8 || !bool::from(expect.ct_eq(do8e.value)) {
            return Err(SmError::BadMac);
        }
        if do99.value.len() != 2 {
            return Err(SmError::Malformed);
        }
        let inner = u16::from_be_bytes([do99.value[0], do99.value[1]]);
        if inner != outer {
            return Err(SmError::StatusMismatch { outer, inner });
        }
        let data = match do87 {
            Some(o) => decrypt_do87(&self.keys, ssc, o.value)?,
            None => Zeroizing::new(Vec::new()),
        };
        Ok(PlainResponse { data, sw: inner })
    }
}

fn first_tag(r: &Reader<'_>) -> u8 {
    r.peek_tag().map(|t| if t > 0xFF { (t >> 8) as u8 } else { t as u8 }).unwrap_or(0)
}

/// The card's end: unwraps each command, then wraps its response.
pub struct CardSide {
    keys: SessionKeys,
    ssc: u128,
    awaiting_response: bool,
    closed: bool,
}

impl core::fmt::Debug for CardSide {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CardSide(<redacted>, closed={})", self.closed)
    }
}

impl CardSide {
    /// A channel right after Chip Authentication (SSC zero).
    pub fn new(keys: SessionKeys) -> Self {
        Self::with_ssc(keys, [0u8; 16])
    }

    /// A channel whose SSC starts at `ssc`.
    pub fn with_ssc(keys: SessionKeys, ssc: [u8; 16]) -> Self {
        CardSide { keys, ssc: u128::from_be_bytes(ssc), awaiting_response: false, closed: false }
    }

    /// Whether the channel failed and is closed: the card then answers `69 88` in
    /// plain and drops the channel.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Unwraps a protected command APDU into the plain command (CLA without `0C`;
    /// Le from `97`). Checks the MAC in constant time before decrypting anything.
    pub fn unwrap_command(&mut self, apdu: &[u8]) -> Result<Command, SmError> {
        if self.closed {
            return Err(SmError::Closed);
        }
        if self.awaiting_response {
            self.closed = true;
            return Err(SmError::OutOfTurn);
        }
        let r = self.unwrap_inner(apdu);
        match &r {
            Ok(_) => self.awaiting_response = true,
            Err(_) => self.closed = true,
        }
        r
    }

    fn unwrap_inner(&mut self, apdu: &[u8]) -> Result<Command, SmError> {
        let parsed = ParsedCommand::parse(apdu).ok_or(SmError::Malformed)?;
        let [cla, ins, p1, p2] = parsed.header;
        if cla & CLA_SM_BITS != CLA_SM_BITS || cla & 0xE0 != 0 {
            return Err(SmError::Cla(cla));
        }
        if ins & 1 == 1 {
            return Err(SmError::OddIns(ins));
        }
        let ssc = next(&mut self.ssc)?;
        let mut r = Reader::new(&parsed.data);
        let do87 = r.optional(0x87)?;
        let do97 = r.optional(0x97)?;
        let do8e = match r.optional(0x8E)? {
            Some(o) => o,
            None if r.is_empty() => return Err(SmError::MissingObject(0x8E)),
            None => return Err(SmError::UnexpectedObject(first_tag(&r))),
        };
        if !r.is_empty() {
            return Err(SmError::UnexpectedObject(first_tag(&r)));
        }
        let raw87 = do87.map(|o| o.raw).unwrap_or(&[]);
        let raw97 = do97.map(|o| o.raw).unwrap_or(&[]);
        let expect = mac8(&self.keys, &command_mac_input(ssc, parsed.header, raw87, raw97));
        if do8e.value.len() != 8 || !bool::from(expect.ct_eq(do8e.value)) {
            return Err(SmError::BadMac);
        }
        let data = match do87 {
            Some(o) => decrypt_do87(&self.keys, ssc, o.value)?,
            None => Zeroizing::new(Vec::new()),
        };
        let le = match do97.map(|o| o.value) {
            None => None,
            Some([v]) => Some(Le::Short(*v)),
            Some([h, l]) => Some(Le::Extended(u16::from_be_bytes([*h, *l]))),
            Some(_) => return Err(SmError::Malformed),
        };
        let mut cmd = Command::new(cla & !CLA_SM_BITS, ins, p1, p2).with_data(&data);
        cmd.le = le;
        cmd.extended = matches!(le, Some(Le::Extended(_)));
        Ok(cmd)
    }

    /// Wraps the answer to the command just unwrapped: `87` (if `data` is not
    /// empty), `99 02 SW`, `8E 08 MAC`, then SW.
    pub fn wrap_response(&mut self, data: &[u8], sw: u16) -> Result<Vec<u8>, SmError> {
        if self.closed {
            return Err(SmError::Closed);
        }
        if !self.awaiting_response {
            self.closed = true;
            return Err(SmError::OutOfTurn);
        }
        self.awaiting_response = false;
        let ssc = match next(&mut self.ssc) {
            Ok(s) => s,
            Err(e) => {
                self.closed = true;
                return Err(e);
            }
        };
        let do87 = if data.is_empty() { Vec::new() } else { encrypt_do87(&self.keys, ssc, data) };
        let do99 = ber::encode(0x99, &sw.to_be_bytes());
        let mac = mac8(&self.keys, &response_mac_input(ssc, &do87, &do99));
        let mut out = Vec::with_capacity(do87.len() + 16);
        out.extend_from_slice(&do87);
        out.extend_from_slice(&do99);
        ber::push(&mut out, 0x8E, &mac);
        out.extend_from_slice(&sw.to_be_bytes());
        Ok(out)
    }
}

/// Bytes of a protected command carrying `data` plain bytes with a short Le
/// (header, Lc, `87`, `97 01`, `8E 08`, Le'), in the short form.
pub const fn protected_command_len(data: usize, with_le: bool) -> usize {
    let do87 = if data == 0 { 0 } else { ber::encoded_len(0x87, 1 + (data / 16 + 1) * 16) };
    let do97 = if with_le { 3 } else { 0 };
    5 + do87 + do97 + 10 + 1
}

/// Bytes of a protected response carrying `data` plain bytes (without the SW).
pub const fn protected_response_len(data: usize) -> usize {
    let do87 = if data == 0 { 0 } else { ber::encoded_len(0x87, 1 + (data / 16 + 1) * 16) };
    do87 + 4 + 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(Key16::from_bytes([0x11; 16]), Key16::from_bytes([0x22; 16]))
    }

    fn pair() -> (TerminalSide, CardSide) {
        (TerminalSide::new(keys()), CardSide::new(keys()))
    }

    fn update(data: &[u8]) -> Command {
        Command::new(0x00, 0xD6, 0x81, 0x00).with_data(data)
    }

    #[test]
    fn round_trip_both_sides_with_a_batch_wrapped_ahead() {
        let (mut t, mut c) = pair();
        let cmds = [
            Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&[0xD3, 0x92]),
            update(&[0x5A; 342]),
            Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0xDF)),
            Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Extended(342)),
            Command::new(0x10, 0xD6, 0x81, 0x00).with_data(&[1, 2, 3]),
        ];
        let wrapped: Vec<_> = cmds.iter().map(|c| t.wrap(c).unwrap()).collect();
        assert_eq!(t.pending(), 5);
        assert_eq!(u128::from_be_bytes(t.ssc()), 10);
        for (i, (w, orig)) in wrapped.iter().zip(&cmds).enumerate() {
            let got = c.unwrap_command(w).unwrap();
            assert_eq!((got.cla, got.ins, got.p1, got.p2), (orig.cla, orig.ins, orig.p1, orig.p2), "{i}");
            assert_eq!(*got.data, *orig.data);
            assert_eq!(got.le, orig.le);
            let answer = vec![i as u8; i * 40];
            let sw = if i == 4 { 0x6A82 } else { 0x9000 };
            let r = c.wrap_response(&answer, sw).unwrap();
            let plain = t.unwrap(&r).unwrap();
            assert_eq!((&plain.data[..], plain.sw), (&answer[..], sw));
        }
        assert_eq!(t.pending(), 0);
        assert_eq!(t.unwrap(&[0x90, 0x00]), Err(SmError::OutOfTurn));
    }

    #[test]
    fn wire_form_is_the_documented_one() {
        let (mut t, _) = pair();
        // No data, short Le: 0C B0 81 00 0D 97 01 DF 8E 08 <mac> 00.
        let w = t.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0xDF))).unwrap();
        assert_eq!(&w[..8], &[0x0C, 0xB0, 0x81, 0x00, 0x0D, 0x97, 0x01, 0xDF]);
        assert_eq!(&w[8..10], &[0x8E, 0x08]);
        assert_eq!((w.len(), w[18]), (19, 0x00));
        assert_eq!(w.len(), protected_command_len(0, true));
        // 342 bytes: extended form, 87 82 01 61 01 ‖ 352 bytes.
        let w = t.wrap(&update(&[0; 342])).unwrap();
        assert_eq!(&w[..11], &[0x0C, 0xD6, 0x81, 0x00, 0x00, 0x01, 0x6F, 0x87, 0x82, 0x01, 0x61]);
        assert_eq!(w[11], 0x01);
        assert_eq!(&w[w.len() - 2..], &[0x00, 0x00]);
        // 224 bytes is the largest data of a short protected command without Le.
        let w = t.wrap(&update(&[0; 224])).unwrap();
        assert_eq!(w.len(), protected_command_len(224, false));
        assert!(w.len() <= 261 && w[4] != 0);
        // Card answer sizes.
        assert_eq!(protected_response_len(223) + 2, 244);
        assert_eq!(protected_response_len(0), 14);
    }

    /// Known answers computed independently with Python's `cryptography` (AES-ECB
    /// for the IV, AES-CBC, AES-CMAC over the ISO-padded input): K_enc = 11…, K_mac =
    /// 22…, SSC 1 for the command, 2 for the response.
    #[test]
    fn known_answer_vectors() {
        let (mut t, mut c) = pair();
        let w = t.wrap(&Command::new(0x00, 0xD6, 0x81, 0x00).with_data(b"AWP").with_le(Le::Short(0))).unwrap();
        assert_eq!(hex::encode(&*w), KAT_COMMAND);
        c.unwrap_command(&w).unwrap();
        let r = c.wrap_response(b"OK", 0x9000).unwrap();
        assert_eq!(hex::encode(&r), KAT_RESPONSE);
    }
    const KAT_COMMAND: &str = "0cd68100208711017786670b0a30c23c49d4bf019672f1c89701008e087577bba8c1cdd84600";
    const KAT_RESPONSE: &str = "871101314d33bd42373b0fb69ef8b760605476990290008e082e7ac2106556386e9000";

    #[test]
    fn card_detects_every_tampered_command_byte() {
        let (mut t, _) = pair();
        let w = t.wrap(&update(b"new content").with_le(Le::Short(0))).unwrap();
        for i in 0..w.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = w.to_vec();
                bad[i] ^= bit;
                let mut c = CardSide::new(keys());
                let r = c.unwrap_command(&bad);
                // Le' (the last byte) is outside the MAC, as in ICAO 9303; it carries nothing.
                if i == w.len() - 1 {
                    continue;
                }
                assert!(r.is_err(), "byte {i} bit {bit:02X} accepted");
                assert!(c.is_closed());
                assert_eq!(c.unwrap_command(&w), Err(SmError::Closed));
            }
        }
        // Replay: the same command again under the next SSC.
        let mut c = CardSide::new(keys());
        c.unwrap_command(&w).unwrap();
        c.wrap_response(&[], 0x9000).unwrap();
        assert_eq!(c.unwrap_command(&w), Err(SmError::BadMac));
    }

    #[test]
    fn terminal_detects_every_tampered_response_byte() {
        let (mut t0, mut c) = pair();
        let w = t0.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0))).unwrap();
        c.unwrap_command(&w).unwrap();
        let r = c.wrap_response(b"D2 08 20260430", 0x9000).unwrap();
        for i in 0..r.len() {
            let mut bad = r.clone();
            bad[i] ^= 0x04;
            let mut t = TerminalSide::new(keys());
            t.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0))).unwrap();
            assert!(t.unwrap(&bad).is_err(), "byte {i} accepted");
            assert_eq!(t.wrap(&update(b"x")), Err(SmError::Closed));
        }
        // The outer SW alone changed: refused as a mismatch with 99.
        let mut t = TerminalSide::new(keys());
        t.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0))).unwrap();
        let mut bad = r.clone();
        let n = bad.len();
        bad[n - 2..].copy_from_slice(&[0x62, 0x82]);
        assert_eq!(t.unwrap(&bad), Err(SmError::StatusMismatch { outer: 0x6282, inner: 0x9000 }));
        // A response of another command (SSC off by two) fails the MAC.
        let mut t = TerminalSide::new(keys());
        t.wrap(&update(b"1")).unwrap();
        t.wrap(&update(b"2")).unwrap();
        t.unwrap(&r).unwrap();
        assert_eq!(t.unwrap(&r), Err(SmError::BadMac));
    }

    #[test]
    fn structural_refusals() {
        let (mut t, _) = pair();
        // Plain answers.
        t.wrap(&update(b"1")).unwrap();
        assert_eq!(t.unwrap(&[0x69, 0x88]), Err(SmError::PlainResponse(0x6988)));
        let mut t = TerminalSide::new(keys());
        t.wrap(&update(b"1")).unwrap();
        assert_eq!(t.unwrap(&[0x90]), Err(SmError::Malformed));
        // Missing 8E, missing 99, a foreign object.
        let mut t = TerminalSide::new(keys());
        t.wrap(&update(b"1")).unwrap();
        assert_eq!(t.unwrap(&[0x99, 0x02, 0x90, 0x00, 0x90, 0x00]), Err(SmError::MissingObject(0x8E)));
        let mut t = TerminalSide::new(keys());
        t.wrap(&update(b"1")).unwrap();
        assert_eq!(t.unwrap(&[0x8E, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00]), Err(SmError::UnexpectedObject(0x8E)));
        let mut t = TerminalSide::new(keys());
        t.wrap(&update(b"1")).unwrap();
        assert_eq!(t.unwrap(&[0x85, 0x01, 0x00, 0x90, 0x00]), Err(SmError::UnexpectedObject(0x85)));
        // The terminal refuses to wrap an SM CLA or an odd INS.
        let mut t = TerminalSide::new(keys());
        assert_eq!(t.wrap(&Command::new(0x0C, 0xB0, 0, 0)), Err(SmError::Cla(0x0C)));
        assert_eq!(t.wrap(&Command::new(0x00, 0xB1, 0, 0)), Err(SmError::OddIns(0xB1)));
        // The card refuses a plain command, and a command without 8E.
        let mut c = CardSide::new(keys());
        assert_eq!(c.unwrap_command(&[0x00, 0xB0, 0x81, 0x00, 0x00]), Err(SmError::Cla(0x00)));
        let mut c = CardSide::new(keys());
        assert_eq!(
            c.unwrap_command(&[0x0C, 0xB0, 0x81, 0x00, 0x03, 0x97, 0x01, 0x00, 0x00]),
            Err(SmError::MissingObject(0x8E))
        );
        let mut c = CardSide::new(keys());
        assert_eq!(c.unwrap_command(&[0x0C, 0xB0]), Err(SmError::Malformed));
        // Out of turn on the card.
        let mut c = CardSide::new(keys());
        assert_eq!(c.wrap_response(&[], 0x9000), Err(SmError::OutOfTurn));
    }

    #[test]
    fn bad_padding_and_indicator_after_a_valid_mac() {
        // A card that encrypts without padding (built from the primitives here):
        // the MAC verifies, the padding does not.
        let k = keys();
        let mut t = TerminalSide::new(keys());
        t.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0))).unwrap();
        let mut block = [0x41u8; 16];
        let enc = cbc::Encryptor::<Aes128>::new(k.k_enc.expose().into(), (&*iv(&k, 2)).into());
        let _ = enc.encrypt_padded::<NoPadding>(&mut block, 16);
        let mut v = vec![0x01];
        v.extend_from_slice(&block);
        let do87 = ber::encode(0x87, &v);
        let do99 = ber::encode(0x99, &[0x90, 0x00]);
        let mac = mac8(&k, &response_mac_input(2, &do87, &do99));
        let mut r = [do87.clone(), do99.clone(), ber::encode(0x8E, &mac)].concat();
        r.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(t.unwrap(&r), Err(SmError::BadPadding));
        // Padding indicator 02.
        let mut t = TerminalSide::new(keys());
        t.wrap(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(Le::Short(0))).unwrap();
        let mut v2 = v.clone();
        v2[0] = 0x02;
        let do87 = ber::encode(0x87, &v2);
        let mac = mac8(&k, &response_mac_input(2, &do87, &do99));
        let mut r = [do87, do99, ber::encode(0x8E, &mac)].concat();
        r.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(t.unwrap(&r), Err(SmError::BadPaddingIndicator));
    }

    #[test]
    fn ssc_overflow_is_an_error() {
        let mut t = TerminalSide::with_ssc(keys(), (u128::MAX - 1).to_be_bytes());
        assert_eq!(t.wrap(&update(b"x")), Err(SmError::SscOverflow));
        let mut t = TerminalSide::with_ssc(keys(), (u128::MAX - 2).to_be_bytes());
        assert!(t.wrap(&update(b"x")).is_ok());
        assert_eq!(t.wrap(&update(b"x")), Err(SmError::SscOverflow));
        let mut c = CardSide::with_ssc(keys(), u128::MAX.to_be_bytes());
        let mut t = TerminalSide::with_ssc(keys(), (u128::MAX - 2).to_be_bytes());
        let w = t.wrap(&update(b"x")).unwrap();
        assert_eq!(c.unwrap_command(&w), Err(SmError::SscOverflow));
    }

    #[test]
    fn keys_do_not_print() {
        let (t, c) = pair();
        for s in [format!("{:?}", keys()), format!("{t:?}"), format!("{c:?}")] {
            assert!(s.contains("redacted"), "{s}");
            assert!(!s.contains("11") && !s.contains("22"), "{s}");
        }
    }
}
