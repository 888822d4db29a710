//! GET RESPONSE (`61 XX`, ISO/IEC 7816-4 §7.6.1) in the core's `Card::exchange`, for
//! every transport: a scripted transport answers each command from a list and records
//! what it was sent.

use std::collections::VecDeque;

use zairyu::Error;
use zairyu::apdu::{Command, StatusWord};
use zairyu::error::{Step, TransportError};
use zairyu::session::{Card, MAX_GET_RESPONSE_ROUNDS};
use zairyu::transport::{Limits, Transport};

/// Answers from `script` in order (then `fallback`, if set), recording every command.
struct Scripted {
    script: VecDeque<Result<Vec<u8>, TransportError>>,
    fallback: Option<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

impl Scripted {
    fn new(script: Vec<Result<Vec<u8>, TransportError>>) -> Self {
        Scripted { script: script.into(), fallback: None, sent: Vec::new() }
    }

    /// Answers `answer` to every command.
    fn always(answer: &[u8]) -> Self {
        Scripted { script: VecDeque::new(), fallback: Some(answer.to_vec()), sent: Vec::new() }
    }
}

impl Transport for Scripted {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(command.to_vec());
        match (self.script.pop_front(), &self.fallback) {
            (Some(answer), _) => answer,
            (None, Some(answer)) => Ok(answer.clone()),
            (None, None) => Err(TransportError::Other(format!("unscripted command {}", self.sent.len()))),
        }
    }

    fn limits(&self) -> Limits {
        Limits::FULL
    }
}

/// READ BINARY of MF/EF01 by SFI, short Le: `00 B0 81 00 00`.
fn read_binary() -> Command {
    Command::new(0x00, 0xB0, 0x81, 0x00).with_le(zairyu::apdu::Le::Short(0))
}

const GET_RESPONSE: [u8; 4] = [0x00, 0xC0, 0x00, 0x00];

fn get_response(xx: u8) -> Vec<u8> {
    [&GET_RESPONSE[..], &[xx]].concat()
}

#[test]
fn a_plain_response_passes_through_without_get_response() {
    let mut card = Card::new(Scripted::new(vec![Ok(vec![1, 2, 0x90, 0x00])]));
    let r = card.exchange(&read_binary(), Step::ReadBinary).unwrap();
    assert_eq!((&r.data[..], r.sw), (&[1u8, 2][..], StatusWord::Success));
    let mut card = Card::new(Scripted::new(vec![Ok(vec![0x6A, 0x82])]));
    let r = card.exchange(&read_binary(), Step::ReadBinary).unwrap();
    assert!(r.data.is_empty());
    assert_eq!(r.sw.as_u16(), 0x6A82);
    assert_eq!(card.metrics().apdus, 1);
    assert_eq!(card.transport().sent.len(), 1);
}

#[test]
fn responses_ending_in_61_xx_are_completed_and_concatenated() {
    let mut card = Card::new(Scripted::new(vec![
        Ok(vec![0xAA, 0xBB, 0x61, 0x03]),
        Ok(vec![0xCC, 0xDD, 0xEE, 0x61, 0x00]),
        Ok(vec![0x11, 0x90, 0x00]),
    ]));
    let cmd = read_binary();
    let r = card.exchange(&cmd, Step::ReadBinary).unwrap();
    assert_eq!(&r.data[..], &[0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x11]);
    assert_eq!(r.sw, StatusWord::Success);
    assert_eq!(card.transport().sent, vec![cmd.encode().to_vec(), get_response(0x03), get_response(0x00)]);
    // Every round trip counts: three APDUs, and all their bytes.
    let m = card.metrics();
    assert_eq!(m.apdus, 3);
    assert_eq!(m.bytes_sent, cmd.encode().len() as u64 + 5 + 5);
    assert_eq!(m.bytes_received, 4 + 5 + 3);
}

#[test]
fn the_commands_of_the_read_sequence_get_it_too() {
    // SELECT MF answered `61 00` then `90 00`: a success, as a T=0 reader would deliver it.
    let mut card = Card::new(Scripted::new(vec![Ok(vec![0x61, 0x00]), Ok(vec![0x90, 0x00])]));
    card.select_mf().unwrap();
    assert_eq!(card.transport().sent[1], get_response(0x00));
}

#[test]
fn a_final_error_status_is_kept() {
    let mut card = Card::new(Scripted::new(vec![Ok(vec![0x01, 0x61, 0x05]), Ok(vec![0x6F, 0x00])]));
    let r = card.exchange(&read_binary(), Step::ReadBinary).unwrap();
    assert_eq!(&r.data[..], &[0x01]);
    assert_eq!(r.sw.as_u16(), 0x6F00);
    // A command that needs `90 00` reports the final status word.
    let mut card = Card::new(Scripted::new(vec![Ok(vec![0x61, 0x02]), Ok(vec![0x6A, 0x82])]));
    let e = card.select_mf().unwrap_err();
    assert_eq!(e.status_word().map(StatusWord::as_u16), Some(0x6A82), "{e:?}");
    assert_eq!(e.code(), "card_status");
}

#[test]
fn a_transport_error_in_the_middle_propagates() {
    let mut card = Card::new(Scripted::new(vec![Ok(vec![0x61, 0x10]), Err(TransportError::CardRemoved)]));
    let e = card.exchange(&read_binary(), Step::ReadBinary).unwrap_err();
    assert_eq!(e, Error::Transport(TransportError::CardRemoved));
    assert_eq!(card.transport().sent.len(), 2);
}

#[test]
fn endless_61_xx_is_bounded() {
    let mut card = Card::new(Scripted::always(&[0x00, 0x61, 0x01]));
    let e = card.exchange(&read_binary(), Step::ReadBinary).unwrap_err();
    assert!(matches!(e, Error::Transport(TransportError::Other(ref text)) if text.contains("61 XX")), "{e:?}");
    // The command itself, then exactly the allowed number of GET RESPONSE rounds.
    let sent = &card.transport().sent;
    assert_eq!(sent.len(), 1 + MAX_GET_RESPONSE_ROUNDS);
    assert!(sent[1..].iter().all(|c| *c == get_response(0x01)));
}

#[test]
fn the_largest_response_arrives_in_256_byte_pieces() {
    // DF1/EF01 under SM is the largest response the protocol defines (7013 data bytes
    // and SW, `zairyu::apdu::MAX_RESPONSE`); a T=0 reader hands it over as `61 00`
    // pieces well inside the round limit.
    let data_len = zairyu::apdu::MAX_RESPONSE - 2;
    let mut script: Vec<Result<Vec<u8>, TransportError>> = vec![Ok(vec![0x61, 0x00])];
    let (pieces, rest) = (data_len / 256, data_len % 256);
    for _ in 0..pieces {
        script.push(Ok([vec![0x5A; 256], vec![0x61, rest as u8]].concat()));
    }
    script.push(Ok([vec![0x5A; rest], vec![0x90, 0x00]].concat()));
    let mut card = Card::new(Scripted::new(script));
    let r = card.exchange(&read_binary(), Step::ReadBinary).unwrap();
    assert_eq!(r.data.len(), data_len);
    assert_eq!(r.sw, StatusWord::Success);
    assert_eq!(card.transport().sent.len(), 2 + pieces);
    const { assert!(MAX_GET_RESPONSE_ROUNDS > zairyu::apdu::MAX_RESPONSE / 256 + 1) };
}

#[test]
fn a_completed_response_larger_than_the_protocol_allows_is_a_typed_error() {
    let mut script: Vec<Result<Vec<u8>, TransportError>> = vec![Ok(vec![0x61, 0x00])];
    for _ in 0..40 {
        script.push(Ok([vec![0x5A; 256], vec![0x61, 0x00]].concat()));
    }
    script.push(Ok(vec![0x90, 0x00]));
    let mut card = Card::new(Scripted::new(script));
    let e = card.exchange(&read_binary(), Step::ReadBinary).unwrap_err();
    assert_eq!(e.code(), "parse", "{e:?}");
}
