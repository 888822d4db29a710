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
    /// Largest response APDU (data + SW), in bytes.
    pub max_response: usize,
}

impl Limits {
    /// A transport that carries everything the spec uses.
    pub const FULL: Limits = Limits { extended_length: true, max_command: 65544, max_response: 65538 };
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
