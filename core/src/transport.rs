//! The transport trait: the one thing a backend (PC/SC, the simulator, a host's
//! own NFC stack) implements. APDU encoding, status handling, fallbacks and secure
//! messaging are written once in the core.

use crate::error::TransportError;

/// What a transport can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whether extended-length APDUs (Lc/Le of 3 bytes) pass through.
    pub extended_length: bool,
    /// Largest command APDU, in bytes.
    pub max_command: usize,
    /// Largest response APDU (data + SW), in bytes. The session never asks for more:
    /// every Le it sends asks for at most `max_response - 2` data bytes (reads are
    /// cut into chunks that fit; MUTUAL AUTHENTICATE asks for its 40 bytes exactly
    /// when 256 would not fit). The spec's fixed answers need at least 42.
    pub max_response: usize,
}

impl Limits {
    /// A transport that carries everything the spec uses.
    pub const FULL: Limits = Limits { extended_length: true, max_command: 65544, max_response: 65538 };

    /// A link of short APDUs only: 261-byte commands, 256 data bytes back.
    pub const SHORT: Limits = Limits { extended_length: false, max_command: 261, max_response: 258 };

    /// Response data bytes the link carries: `max_response` without the status word.
    pub const fn max_data(&self) -> usize {
        self.max_response.saturating_sub(2)
    }
}

/// Sends a command APDU and returns the response APDU (data ‖ SW1 SW2).
pub trait Transport {
    /// Sends one command, returns the raw response.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;
    /// The transport's limits.
    fn limits(&self) -> Limits;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn limits(&self) -> Limits {
        (**self).limits()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn limits(&self) -> Limits {
        (**self).limits()
    }
}
