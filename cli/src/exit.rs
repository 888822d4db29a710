//! The exit codes: one table, which `--help` prints and every command maps to.

use zairyu::error::ErrorCode;
use zairyu::verify::Verdict;

/// Read complete and the card genuine: signature valid, chained to a pinned Ministry
/// root (verdict `production`).
pub const OK: u8 = 0;
/// Usage error (clap's own exit code for a bad command line, and bad input files).
pub const USAGE: u8 = 2;
/// The card rejected the card number.
pub const WRONG_CARD_NUMBER: u8 = 3;
/// Card or transport error.
pub const CARD_OR_TRANSPORT: u8 = 4;
/// Card data error.
pub const CARD_DATA: u8 = 5;
/// Card type not supported, or not the generation a forced flow expects.
pub const UNSUPPORTED: u8 = 6;
/// Trust store error.
pub const TRUST_STORE: u8 = 7;
/// The output could not be written.
pub const OUTPUT: u8 = 8;
/// Read complete, signature invalid.
pub const SIGNATURE_INVALID: u8 = 10;
/// Read complete, but not verified.
pub const NOT_VERIFIED: u8 = 11;
/// Read complete, signature valid, chained to a **test** anchor: not a genuine card.
pub const TEST_ANCHOR: u8 = 12;

/// Every exit code and its meaning, in the order `--help` lists them.
pub const TABLE: &[(u8, &str)] = &[
    (
        OK,
        "read complete and genuine: signature valid, certificate chains to a pinned Ministry root\n(`demo` also exits 0 for its simulated card under its test CA)",
    ),
    (
        USAGE,
        "usage error (a bad option or value, a card number that is not 12 letters/digits or not given exactly once,\nseveral PC/SC readers and no --reader, an unreadable code table)",
    ),
    (
        WRONG_CARD_NUMBER,
        "wrong card number (the card rejected it, or the number stored on a second-generation chip differs)",
    ),
    (CARD_OR_TRANSPORT, "card or transport error (status word, card removed, reader gone, no reader connected)"),
    (CARD_DATA, "card data error (malformed response, TLV, secure messaging, authentication)"),
    (
        UNSUPPORTED,
        "card type not supported (specified card 07/08, unknown type), or --force-flow of the wrong generation",
    ),
    (TRUST_STORE, "trust store error (e.g. a file in --trust-dir is not a pinned Ministry root)"),
    (OUTPUT, "output error: a file of `dump` (or standard output) could not be written"),
    (SIGNATURE_INVALID, "read complete, signature INVALID (possible forgery or alteration)"),
    (
        NOT_VERIFIED,
        "read complete, signature absent or not checked, or no trusted anchor\n(e.g. under-16 card without photo and signature)",
    ),
    (TEST_ANCHOR, "read complete, signature valid under a TEST anchor (not the Ministry): not a genuine card"),
];

/// The exit-code section of `--help`, printed from [`TABLE`].
pub fn help() -> String {
    let mut s = String::from("Exit codes:");
    for (code, meaning) in TABLE {
        for (i, line) in meaning.lines().enumerate() {
            if i == 0 {
                s.push_str(&format!("\n  {code:<3} {line}"));
            } else {
                s.push_str(&format!("\n      {line}"));
            }
        }
    }
    s
}

/// Whether a completed read counts as "ok" (exit 0 here, `"ok": true` in `watch`):
/// genuine under the Ministry's PKI, the core's verdict `production`.
#[cfg_attr(not(feature = "pcsc"), allow(dead_code))] // used by `watch`, a PC/SC command
pub fn is_ok(v: Verdict) -> bool {
    v == Verdict::Production
}

/// The exit code of a completed read, from the core's one verdict function.
pub fn for_verdict(v: Verdict) -> u8 {
    match v {
        Verdict::Production => OK,
        Verdict::Test => TEST_ANCHOR,
        Verdict::Invalid => SIGNATURE_INVALID,
        Verdict::Untrusted | Verdict::Absent | Verdict::NotChecked => NOT_VERIFIED,
    }
}

/// The exit code of `demo`: its simulated card verifies under the simulator's test
/// CA, which is the demo's expected outcome.
pub fn for_demo(v: Verdict) -> u8 {
    if v == Verdict::Test { OK } else { for_verdict(v) }
}

/// The exit code of a failed read. Exhaustive: a new core error code does not compile
/// until it has an exit code here.
pub fn for_error(code: ErrorCode) -> u8 {
    use ErrorCode as C;
    match code {
        C::WrongCardNumber | C::CardNumberMismatch => WRONG_CARD_NUMBER,
        C::TransportCardRemoved
        | C::TransportCardReset
        | C::TransportReaderUnavailable
        | C::TransportNoSuchReader
        | C::TransportSharingViolation
        | C::TransportCommandTooLong
        | C::TransportExtendedLengthUnsupported
        | C::TransportLinkRefused
        | C::TransportOther
        | C::CardStatus => CARD_OR_TRANSPORT,
        C::AuthCardMacMismatch
        | C::AuthRandomMismatch
        | C::AuthBadLength
        | C::SmMissingDataObject
        | C::SmBadPaddingIndicator
        | C::SmBlockAlignment
        | C::SmBadPadding
        | C::SmTrailingData
        | C::Parse => CARD_DATA,
        C::WrongGeneration | C::UnsupportedCardType | C::UnknownCardType => UNSUPPORTED,
        C::VerifyUnpinnedProductionRoot | C::VerifyBadAnchorFile => TRUST_STORE,
        C::InputBadCardNumber | C::InputBadFile | C::InputBadOption => USAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(code: u8) -> bool {
        TABLE.iter().any(|&(c, _)| c == code)
    }

    #[test]
    fn every_error_and_verdict_maps_to_a_listed_code() {
        for &code in ErrorCode::ALL {
            let exit = for_error(code);
            assert!(listed(exit), "{code}: exit {exit} is not in the table");
            assert!(exit != OK && exit != SIGNATURE_INVALID && exit != NOT_VERIFIED, "{code}");
        }
        for v in [Verdict::Production, Verdict::Test, Verdict::Untrusted, Verdict::Invalid, Verdict::Absent] {
            assert!(listed(for_verdict(v)), "{v:?}");
        }
        assert!(listed(for_verdict(Verdict::NotChecked)));
        assert!(listed(OUTPUT));
    }

    #[test]
    fn ok_means_production_only() {
        assert!(is_ok(Verdict::Production));
        for v in [Verdict::Test, Verdict::Untrusted, Verdict::Invalid, Verdict::Absent, Verdict::NotChecked] {
            assert!(!is_ok(v), "{v:?}");
        }
        assert_eq!(for_verdict(Verdict::Production), 0);
        assert_eq!(for_verdict(Verdict::Test), 12);
        assert_eq!(for_verdict(Verdict::Invalid), 10);
        assert_eq!(for_verdict(Verdict::Absent), 11);
        assert_eq!(for_demo(Verdict::Test), 0);
        assert_eq!(for_demo(Verdict::Invalid), 10);
    }

    #[test]
    fn help_lists_every_code_once_in_order() {
        let help = help();
        let codes: Vec<u8> = help
            .lines()
            .skip(1)
            .filter_map(|line| line.strip_prefix("  ")?.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(codes, TABLE.iter().map(|&(c, _)| c).collect::<Vec<_>>());
        assert!(help.contains("\n      (e.g. under-16 card"), "{help}");
    }
}
