//! Injected failures of the simulated chip ([`Fault`]): what each one does to a
//! command or its response. [`SimCard`](crate::SimCard) decides when they fire;
//! their text form is in `fault_spec.rs`.

/// An injected failure. Faults that name `ins` (and optionally `p1`) apply to
/// every command with that INS (and P1); [`SimCard::with_fault`](crate::SimCard::with_fault) may be called
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
    /// After this many APDUs every transmit fails with [`TransportError::CardRemoved`](zairyu::error::TransportError::CardRemoved).
    RemoveCardAfter(usize),
    /// After this many APDUs one transmit fails with [`TransportError::CardReset`](zairyu::error::TransportError::CardReset)
    /// and the chip is power-cycled.
    ResetAfter(usize),
    /// The link carries short APDUs only: [`Transport::limits`](zairyu::transport::Transport::limits) says so,
    /// extended-length commands are answered `67 00`, and so is any command whose
    /// answer would carry more than 256 data bytes.
    ShortApdusOnly,
    /// A reader whose driver cannot carry extended APDUs and says nothing about it
    /// beforehand ([`Transport::limits`](zairyu::transport::Transport::limits) claims
    /// full support, as PC/SC does for most readers): an extended-length command fails
    /// the transmit with [`LinkRefusal::NotTransacted`](zairyu::error::LinkRefusal::NotTransacted)
    /// before it reaches the chip (the CCID driver's "Command too long"), and an answer
    /// with more than 256 data bytes fails it with
    /// [`LinkRefusal::InsufficientBuffer`](zairyu::error::LinkRefusal::InsufficientBuffer)
    /// (the chip executed the command).
    ReaderFailsExtended,
    /// A chip without extended Lc/Le support that behaves as T=0 cards do: an
    /// extended-length command is answered `67 00`; a plain READ BINARY whose short Le
    /// asks for more bytes than the file has left is answered `6C XX` (XX = the bytes
    /// left); a short-form SM READ BINARY whose answer is longer than its Le is
    /// answered `6C XX` (XX = the answer's length) when that fits 256 bytes, else
    /// `67 00`. (Every chip answers at most Ne bytes: `67 00` without this fault.)
    ShortCard,
    /// SM READ BINARY responses carry a wrong padding marker (`7F` instead of `80`).
    BadSmPadding,
    /// The card loses power when APDU number `n` (counted from 0 since
    /// [`SimCard::new`](crate::SimCard::new), as [`SimCard::apdu_count`](crate::SimCard::apdu_count)
    /// counts) arrives, before executing it: that transmit and every later one fail
    /// with [`TransportError::CardRemoved`](zairyu::error::TransportError::CardRemoved)
    /// until [`SimCard::power_cycle`](crate::SimCard::power_cycle), which boots the card
    /// (and recovers a pending commit). Fires once.
    PowerLossAtApdu(usize),
    /// The card loses power inside the next commit of the write application's UPDATE
    /// BINARY, at this stage; otherwise as [`Fault::PowerLossAtApdu`]. Fires once.
    PowerLossInCommit(crate::write::CommitStage),
}

impl Fault {
    /// Whether a fault naming `ins` (and `p1`, if given) applies to a command with
    /// this header (`None` if the command was shorter than 4 bytes).
    fn matches(ins: u8, p1: Option<u8>, header: Option<[u8; 4]>) -> bool {
        header.is_some_and(|h| h[1] == ins && p1.is_none_or(|p| p == h[2]))
    }

    /// The status word this fault answers instead of executing the command, if it
    /// is a [`Fault::StatusWord`] for it.
    pub(crate) fn forced_status(&self, header: Option<[u8; 4]>) -> Option<[u8; 2]> {
        match self {
            Fault::StatusWord { ins, p1, sw } if Fault::matches(*ins, *p1, header) => Some(*sw),
            _ => None,
        }
    }

    /// Alters the raw response (data ‖ SW) of a command with this header, if this
    /// is a response fault for it; any other fault leaves it alone.
    pub(crate) fn alter_response(&self, header: Option<[u8; 4]>, raw: &mut Vec<u8>) {
        match self {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_faults_match_ins_and_p1() {
        let read_8b = Some([0x00, 0xB0, 0x8B, 0x00]);
        let fault = Fault::TruncateData { ins: 0xB0, p1: Some(0x8B), keep: 1 };
        let mut raw = vec![0xC0, 0x04, 0x30, 0x90, 0x00];
        fault.alter_response(Some([0x00, 0xB0, 0x8A, 0x00]), &mut raw);
        assert_eq!(raw.len(), 5, "other P1");
        fault.alter_response(None, &mut raw);
        assert_eq!(raw.len(), 5, "no header");
        fault.alter_response(read_8b, &mut raw);
        assert_eq!(raw, [0xC0, 0x90, 0x00]);
        let garbage = Fault::AppendGarbage { ins: 0xB0, p1: None, bytes: 2 };
        garbage.alter_response(read_8b, &mut raw);
        assert_eq!(raw, [0xC0, 0xA5, 0xA5, 0x90, 0x00]);
        let status = Fault::StatusWord { ins: 0xB0, p1: None, sw: [0x6F, 0x00] };
        assert_eq!((status.forced_status(read_8b), status.forced_status(None)), (Some([0x6F, 0x00]), None));
        assert_eq!(Fault::BadSmPadding.forced_status(read_8b), None);
    }
}
