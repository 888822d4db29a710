//! Air-time models of one APDU exchange over ISO/IEC 14443-4 Type B, used by
//! [`crate::vpcd::serve`] to make a simulated card as slow as a real one.
//!
//! Two models ([`LinkModel`]): the **nominal** model (the default) counts the data bits
//! at the nominal rate plus a per-frame overhead (PCB, CRC_B, SOF, EOF); the **Type B**
//! model, described below, counts every bit on the air.
//!
//! The model counts every bit a Type B reader and card put on the air for one
//! command/response pair, including block chaining, and adds the minimum
//! turnaround times. It does not model the card's own processing time: the
//! simulator's real compute time is spent *inside* the modelled delay (the
//! server sleeps only the remainder).
//!
//! Constants (all from ISO/IEC 14443-2/-3/-4, minimum or default values; where
//! the standard gives a range the lower bound is used):
//!
//! | constant | value | source |
//! |---|---|---|
//! | carrier fc | 13.56 MHz | 14443-2 §6.1 |
//! | 1 etu | 128/fc at 106 kbit/s, 64/fc at 212, 32/fc at 424, 16/fc at 848 | 14443-2 §9.1.1 / Amd. 1 (bit rates fc/128 … fc/16) |
//! | character | 10 etu: start bit, 8 data bits, stop bit; EGT 0 | 14443-3 §7.1.1–7.1.2 (Type B character format) |
//! | SOF | 12 etu (10 etu low + 2 etu high) | 14443-3 §7.1.4 |
//! | EOF | 10 etu low | 14443-3 §7.1.5 |
//! | block framing | 3 bytes per block: PCB (1) + CRC_B (2); no CID, no NAD | 14443-4 §7.1 (block format), 14443-3 §7.2 (CRC_B) |
//! | FSC = FSD | 256 bytes (FSCI 8), so an I-block carries at most 253 INF bytes | 14443-4 §5.2.4 / §7.1.1 |
//! | chaining | a message of n bytes takes ⌈n/253⌉ I-blocks (at least 1); every I-block but the last is acknowledged by an R(ACK) block (3 bytes) from the other side | 14443-4 §7.5.2 |
//! | card turnaround | TR0 + TR1 = 64/fs + 80/fs = 2304/fc after each reader frame (fs = fc/16; kept in fc at every bit rate) | 14443-3 §7.1.6–7.1.7 (default minima) |
//! | reader turnaround | 14 etu between a card frame's EOF and the reader's next SOF (assumed) | modelling assumption |
//!
//! Hence for a command of `c` bytes and a response of `r` bytes (SW included):
//!
//! ```text
//! kc = max(1, ⌈c/253⌉)     kr = max(1, ⌈r/253⌉)
//! F  = 2·kc + 2·kr − 2                 (I-blocks both ways + R(ACK)s)
//! etu_on_air = 10·(c + r + 3·F) + (12 + 10)·F
//! time = etu_on_air · etu + (kc + kr − 1)·2304/fc + (kc + kr − 2)·14 etu
//! ```
//!
//! i.e. `(c + r)·8/rate` for the data bits plus the per-character start/stop
//! bits and the per-frame overhead above. Example: READ BINARY of a 1 464-byte
//! file (`c` = 7, `r` = 1 466) at 106 kbit/s takes 1 988 096/fc ≈ 146.6 ms.

use core::fmt;
use core::str::FromStr;
use std::time::Duration;

/// Carrier frequency fc in Hz (ISO/IEC 14443-2).
pub const FC_HZ: u64 = 13_560_000;
/// Maximum frame size assumed for both directions (FSC = FSD = 256, FSCI 8).
pub const FRAME_SIZE: usize = 256;
/// Bytes of block framing per frame: PCB + CRC_B.
pub const BLOCK_OVERHEAD: usize = 3;
/// Largest INF field of one I-block.
pub const MAX_INF: usize = FRAME_SIZE - BLOCK_OVERHEAD;
/// Bits (etu) per character on the air: start + 8 data + stop.
pub const CHAR_ETU: u64 = 10;
/// Start of frame, in etu.
pub const SOF_ETU: u64 = 12;
/// End of frame, in etu.
pub const EOF_ETU: u64 = 10;
/// Card turnaround after a reader frame (TR0 + TR1), in 1/fc.
pub const CARD_TURNAROUND_FC: u64 = 2304;
/// Reader turnaround after a card frame, in etu.
pub const READER_TURNAROUND_ETU: u64 = 14;

/// An ISO/IEC 14443 bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkSpeed {
    /// fc/128 ≈ 106 kbit/s.
    K106,
    /// fc/64 ≈ 212 kbit/s.
    K212,
    /// fc/32 ≈ 424 kbit/s.
    K424,
    /// fc/16 ≈ 848 kbit/s.
    K848,
}

impl LinkSpeed {
    /// Length of one etu (one bit) in carrier cycles 1/fc.
    pub fn etu_fc(self) -> u64 {
        match self {
            LinkSpeed::K106 => 128,
            LinkSpeed::K212 => 64,
            LinkSpeed::K424 => 32,
            LinkSpeed::K848 => 16,
        }
    }

    /// The nominal rate in kbit/s (106, 212, 424, 848).
    pub fn kbps(self) -> u32 {
        match self {
            LinkSpeed::K106 => 106,
            LinkSpeed::K212 => 212,
            LinkSpeed::K424 => 424,
            LinkSpeed::K848 => 848,
        }
    }
}

impl fmt::Display for LinkSpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}k", self.kbps())
    }
}

/// Error of [`LinkSpeed::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown link speed {0:?}: expected 106k, 212k, 424k or 848k")]
pub struct ParseLinkSpeedError(String);

impl FromStr for LinkSpeed {
    type Err = ParseLinkSpeedError;
    /// Accepts `106k`, `212k`, `424k`, `848k` (also without the `k`, any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.strip_suffix("kbps").or_else(|| t.strip_suffix('k')).unwrap_or(&t);
        match t {
            "106" => Ok(LinkSpeed::K106),
            "212" => Ok(LinkSpeed::K212),
            "424" => Ok(LinkSpeed::K424),
            "848" => Ok(LinkSpeed::K848),
            _ => Err(ParseLinkSpeedError(s.to_owned())),
        }
    }
}

/// Number of I-blocks a message of `len` bytes takes (at least one).
pub fn i_blocks(len: usize) -> u64 {
    len.div_ceil(MAX_INF).max(1) as u64
}

/// The modelled air time of one exchange, in carrier cycles 1/fc (see the
/// module documentation for the formula).
pub fn air_time_fc(link: LinkSpeed, command_len: usize, response_len: usize) -> u64 {
    let (kc, kr) = (i_blocks(command_len), i_blocks(response_len));
    let frames = 2 * kc + 2 * kr - 2;
    let bytes = command_len as u64 + response_len as u64 + BLOCK_OVERHEAD as u64 * frames;
    let etu = CHAR_ETU * bytes + (SOF_ETU + EOF_ETU) * frames;
    let reader_frames = kc + kr - 1; // each followed by a card turnaround
    let reader_turns = kc + kr - 2; // card frames except the last
    (etu + READER_TURNAROUND_ETU * reader_turns) * link.etu_fc() + CARD_TURNAROUND_FC * reader_frames
}

/// The modelled air time of one exchange (rounded down to the nanosecond).
pub fn air_time(link: LinkSpeed, command_len: usize, response_len: usize) -> Duration {
    fc_to_duration(air_time_fc(link, command_len, response_len))
}

fn fc_to_duration(fc: u64) -> Duration {
    let ns = u128::from(fc) * 1_000_000_000 / u128::from(FC_HZ);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The nominal model, in carrier cycles: the data bits at the nominal rate, `(c + r)·8`
/// etu, plus a per-frame overhead of PCB + CRC_B (3 bytes, 24 etu) and SOF + EOF
/// (22 etu) for every frame, with the same frame count `F` as the Type B model
/// (I-blocks both ways and R(ACK)s). No start/stop bits, no turnarounds: it is the
/// "bits / rate plus a per-frame overhead" model against which the PC/SC path's own
/// overhead is measured (`zairyu bench --pcsc`).
pub fn nominal_air_time_fc(link: LinkSpeed, command_len: usize, response_len: usize) -> u64 {
    let (kc, kr) = (i_blocks(command_len), i_blocks(response_len));
    let frames = 2 * kc + 2 * kr - 2;
    let etu = 8 * (command_len as u64 + response_len as u64) + (8 * BLOCK_OVERHEAD as u64 + SOF_ETU + EOF_ETU) * frames;
    etu * link.etu_fc()
}

/// Which air-time model a served card follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LinkModel {
    /// [`nominal_air_time_fc`]: data bits / rate plus a per-frame overhead (default).
    #[default]
    Nominal,
    /// [`air_time_fc`]: every bit on the air, with start/stop bits and turnarounds
    /// (about 1.3 times the nominal time for large transfers).
    TypeB,
}

impl LinkModel {
    /// The modelled air time of one exchange.
    pub fn air_time(self, link: LinkSpeed, command_len: usize, response_len: usize) -> Duration {
        fc_to_duration(match self {
            LinkModel::Nominal => nominal_air_time_fc(link, command_len, response_len),
            LinkModel::TypeB => air_time_fc(link, command_len, response_len),
        })
    }
}

impl fmt::Display for LinkModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkModel::Nominal => "nominal",
            LinkModel::TypeB => "type-b",
        })
    }
}

impl FromStr for LinkModel {
    type Err = ParseLinkSpeedError;
    /// `nominal` or `type-b`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nominal" => Ok(LinkModel::Nominal),
            "type-b" | "typeb" => Ok(LinkModel::TypeB),
            _ => Err(ParseLinkSpeedError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod nominal_tests {
    use super::*;

    #[test]
    fn nominal_model_is_bits_over_rate_plus_frame_overhead() {
        // 7-byte command, 1466-byte response: 1 + 6 I-blocks, 5 R(ACK)s, F = 12 frames.
        let etu = 8 * (7 + 1466) + 46 * 12;
        assert_eq!(nominal_air_time_fc(LinkSpeed::K424, 7, 1466), etu * 32);
        // Always below the Type B model (no start/stop bits, no turnarounds).
        assert!(nominal_air_time_fc(LinkSpeed::K424, 7, 1466) < air_time_fc(LinkSpeed::K424, 7, 1466));
        assert_eq!("type-b".parse::<LinkModel>(), Ok(LinkModel::TypeB));
        assert_eq!(LinkModel::default(), LinkModel::Nominal);
    }
}
