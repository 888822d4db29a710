//! The text form of the simulator's faults, parsed in one place for the CLI, the
//! C library and the Python module: `name[:arg…]`, numbers in decimal, INS, P1 and
//! status words in hex.
//!
//! | [`Fault`] | text |
//! |---|---|
//! | `StatusWord` | `status_word:INS:SW` or `status_word:INS:P1:SW` (`SW` 4 hex digits) |
//! | `TruncateResponse` | `truncate_response:INS:KEEP` or `truncate_response:INS:P1:KEEP` |
//! | `TruncateData` | `truncate_data:INS:KEEP` or `truncate_data:INS:P1:KEEP` |
//! | `AppendGarbage` | `append_garbage:INS:BYTES` or `append_garbage:INS:P1:BYTES` |
//! | `CorruptResponseByte` | `corrupt_response_byte:INS:INDEX` or `…:INS:P1:INDEX` |
//! | `CorruptMacIcc` | `corrupt_mac_icc` |
//! | `RemoveCardAfter` | `remove_card_after:N` |
//! | `ResetAfter` | `reset_after:N` |
//! | `ShortApdusOnly` | `short_apdus_only` |
//! | `ReaderFailsExtended` | `reader_fails_extended` |
//! | `ShortCard` | `short_card` |
//! | `BadSmPadding` | `bad_sm_padding` |
//! | `PowerLossAtApdu` | `power_loss_at_apdu:N` |
//! | `PowerLossInCommit` | `power_loss_in_commit:STAGE` (`before-shadow`, `after-shadow`, `after-flag`, `after-copy`) |
//!
//! | [`ServeFault`] | text |
//! |---|---|
//! | `DropAfter` | `drop-after:N` |
//! | `DropMidResponse` | `drop-mid-response:N` |
//! | `CorruptByte` | `corrupt:APDU:INDEX` |

use core::fmt;
use core::str::FromStr;

use zairyu::Error;
use zairyu::error::InputError;

use crate::Fault;
use crate::vpcd::ServeFault;

fn bad(option: &'static str, s: &str) -> Error {
    InputError::BadOption { option, value: s.chars().take(16).collect() }.into()
}

fn hex_u8(s: &str) -> Option<u8> {
    (s.len() <= 2).then(|| u8::from_str_radix(s, 16).ok()).flatten()
}

fn num(s: &str) -> Option<usize> {
    s.parse().ok()
}

fn sw(s: &str) -> Option<[u8; 2]> {
    (s.len() == 4 && s.is_ascii()).then(|| Some([hex_u8(&s[..2])?, hex_u8(&s[2..])?])).flatten()
}

/// `INS[:P1]:X` → (INS, P1, X).
fn ins_p1<T>(args: &[&str], last: impl Fn(&str) -> Option<T>) -> Option<(u8, Option<u8>, T)> {
    match args {
        [ins, x] => Some((hex_u8(ins)?, None, last(x)?)),
        [ins, p1, x] => Some((hex_u8(ins)?, Some(hex_u8(p1)?), last(x)?)),
        _ => None,
    }
}

impl FromStr for Fault {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let (name, args) = parts.split_first().map_or(("", &[][..]), |(n, a)| (*n, a));
        let fault = match (name, args) {
            ("status_word", a) => ins_p1(a, sw).map(|(ins, p1, sw)| Fault::StatusWord { ins, p1, sw }),
            ("truncate_response", a) => ins_p1(a, num).map(|(ins, p1, keep)| Fault::TruncateResponse { ins, p1, keep }),
            ("truncate_data", a) => ins_p1(a, num).map(|(ins, p1, keep)| Fault::TruncateData { ins, p1, keep }),
            ("append_garbage", a) => ins_p1(a, num).map(|(ins, p1, bytes)| Fault::AppendGarbage { ins, p1, bytes }),
            ("corrupt_response_byte", a) => {
                ins_p1(a, num).map(|(ins, p1, index)| Fault::CorruptResponseByte { ins, p1, index })
            }
            ("corrupt_mac_icc", []) => Some(Fault::CorruptMacIcc),
            ("remove_card_after", [n]) => num(n).map(Fault::RemoveCardAfter),
            ("reset_after", [n]) => num(n).map(Fault::ResetAfter),
            ("short_apdus_only", []) => Some(Fault::ShortApdusOnly),
            ("reader_fails_extended", []) => Some(Fault::ReaderFailsExtended),
            ("short_card", []) => Some(Fault::ShortCard),
            ("bad_sm_padding", []) => Some(Fault::BadSmPadding),
            ("power_loss_at_apdu", [n]) => num(n).map(Fault::PowerLossAtApdu),
            ("power_loss_in_commit", [stage]) => {
                crate::write::CommitStage::from_name(stage).map(Fault::PowerLossInCommit)
            }
            _ => None,
        };
        fault.ok_or_else(|| bad("simulator fault", s))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_p1 = |f: &mut fmt::Formatter<'_>, name: &str, ins: u8, p1: Option<u8>, last: String| match p1 {
            Some(p1) => write!(f, "{name}:{ins:02X}:{p1:02X}:{last}"),
            None => write!(f, "{name}:{ins:02X}:{last}"),
        };
        match self {
            Fault::StatusWord { ins, p1, sw } => {
                with_p1(f, "status_word", *ins, *p1, format!("{:02X}{:02X}", sw[0], sw[1]))
            }
            Fault::TruncateResponse { ins, p1, keep } => with_p1(f, "truncate_response", *ins, *p1, keep.to_string()),
            Fault::TruncateData { ins, p1, keep } => with_p1(f, "truncate_data", *ins, *p1, keep.to_string()),
            Fault::AppendGarbage { ins, p1, bytes } => with_p1(f, "append_garbage", *ins, *p1, bytes.to_string()),
            Fault::CorruptResponseByte { ins, p1, index } => {
                with_p1(f, "corrupt_response_byte", *ins, *p1, index.to_string())
            }
            Fault::CorruptMacIcc => f.write_str("corrupt_mac_icc"),
            Fault::RemoveCardAfter(n) => write!(f, "remove_card_after:{n}"),
            Fault::ResetAfter(n) => write!(f, "reset_after:{n}"),
            Fault::ShortApdusOnly => f.write_str("short_apdus_only"),
            Fault::ReaderFailsExtended => f.write_str("reader_fails_extended"),
            Fault::ShortCard => f.write_str("short_card"),
            Fault::BadSmPadding => f.write_str("bad_sm_padding"),
            Fault::PowerLossAtApdu(n) => write!(f, "power_loss_at_apdu:{n}"),
            Fault::PowerLossInCommit(stage) => write!(f, "power_loss_in_commit:{}", stage.name()),
        }
    }
}

impl FromStr for ServeFault {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let fault = match parts.as_slice() {
            ["drop-after", n] => num(n).map(ServeFault::DropAfter),
            ["drop-mid-response", n] => num(n).map(ServeFault::DropMidResponse),
            ["corrupt", a, i] => num(a).zip(num(i)).map(|(apdu, index)| ServeFault::CorruptByte { apdu, index }),
            _ => None,
        };
        fault.ok_or_else(|| bad("vpcd fault (drop-after:N, drop-mid-response:N, corrupt:APDU:INDEX)", s))
    }
}

impl fmt::Display for ServeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeFault::DropAfter(n) => write!(f, "drop-after:{n}"),
            ServeFault::DropMidResponse(n) => write!(f, "drop-mid-response:{n}"),
            ServeFault::CorruptByte { apdu, index } => write!(f, "corrupt:{apdu}:{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips() {
        let all = [
            Fault::StatusWord { ins: 0xB0, p1: None, sw: [0x6A, 0x82] },
            Fault::StatusWord { ins: 0xB0, p1: Some(0x85), sw: [0x69, 0x82] },
            Fault::TruncateResponse { ins: 0x82, p1: None, keep: 3 },
            Fault::TruncateData { ins: 0xB0, p1: Some(0x8B), keep: 1 },
            Fault::AppendGarbage { ins: 0xB0, p1: None, bytes: 7 },
            Fault::CorruptResponseByte { ins: 0xB0, p1: Some(0x86), index: 12 },
            Fault::CorruptMacIcc,
            Fault::RemoveCardAfter(6),
            Fault::ResetAfter(0),
            Fault::ShortApdusOnly,
            Fault::ReaderFailsExtended,
            Fault::ShortCard,
            Fault::BadSmPadding,
            Fault::PowerLossAtApdu(17),
            Fault::PowerLossInCommit(crate::write::CommitStage::AfterFlag),
        ];
        for f in all {
            assert_eq!(f.to_string().parse::<Fault>().unwrap(), f, "{f}");
        }
        for f in
            [ServeFault::DropAfter(3), ServeFault::DropMidResponse(1), ServeFault::CorruptByte { apdu: 2, index: 0 }]
        {
            assert_eq!(f.to_string().parse::<ServeFault>().unwrap(), f, "{f}");
        }
    }

    #[test]
    fn bad_specs_are_input_errors() {
        for bad in [
            "",
            "nope",
            "status_word:B0:6A8",
            "status_word:ZZ:6A82",
            "remove_card_after:x",
            "short_apdus_only:1",
            "power_loss_in_commit:never",
        ] {
            assert_eq!(bad.parse::<Fault>().unwrap_err().code(), "input_bad_option", "{bad:?}");
        }
        assert_eq!("corrupt:1".parse::<ServeFault>().unwrap_err().code(), "input_bad_option");
    }
}
