//! The exit codes: one table, which `--help` prints and every command maps to.

use zairyu::error::ErrorCode;
use zairyu::verify::Verdict;
use zairyu::write::counter::{WriteError, WriteErrorKind};

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
/// `verify-evidence`, `export`: an evidence file is altered, malformed, verifies
/// differently from the read that wrote it, or is not signed by a pinned station key.
pub const EVIDENCE_REJECTED: u8 = 13;
/// `write-address`: the authority refused the write (its policy, the record, the
/// card's EF.ChipAuthInfo, its own chain, key or clock); nothing was written.
pub const WRITE_REFUSED: u8 = 20;
/// `write-address`: the card refused or failed the write (no write application, a
/// status word, Terminal or Chip Authentication, secure messaging).
pub const WRITE_CARD_REFUSED: u8 = 21;
/// `write-address`: what the card holds after the write does not match the record.
pub const WRITE_NOT_CONFIRMED: u8 = 22;
/// `write-address`: the authority could not be loaded or reached, broke the protocol,
/// or could not write its audit log.
pub const AUTHORITY_UNAVAILABLE: u8 = 23;

/// Every exit code and its meaning, in the order `--help` lists them.
pub const TABLE: &[(u8, &str)] = &[
    (
        OK,
        "read complete and genuine: signature valid, certificate chains to a pinned Ministry root\n(`demo` also exits 0 for its simulated card under its test CA;\n`write-address`: written, and confirmed by a re-read on a new card session)",
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
    (
        EVIDENCE_REJECTED,
        "verify-evidence / export: an evidence file is altered or malformed, its station signature is invalid,\nit verifies differently from the read that wrote it, or (with --station-key-sha256/-pub) no pinned\nstation key signed it",
    ),
    (
        WRITE_REFUSED,
        "write-address: refused by the authority; nothing written (its policy: counter or municipality\nnot allowed; the record; the card's EF.ChipAuthInfo; the authority's own chain, key or clock)",
    ),
    (
        WRITE_CARD_REFUSED,
        "write-address: the card refused or failed the write (no write application, a status word,\nTerminal/Chip Authentication, secure messaging); the card keeps the old or the new content whole",
    ),
    (
        WRITE_NOT_CONFIRMED,
        "write-address: NOT confirmed: the card's file after the write differs from the record\n(the authority's read-back or the counter's re-read on a new session)",
    ),
    (
        AUTHORITY_UNAVAILABLE,
        "write-address: the authority could not be loaded (--authority-dir) or reached, broke the protocol,\nor could not write its audit log",
    ),
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

/// The exit code of a write that did not end confirmed, by the core's one
/// classification ([`WriteError::kind`], which C and Python follow too). The reads
/// inside it (the card-number access) exit as a failed read does.
pub fn for_write(e: &WriteError) -> u8 {
    match e.kind() {
        WriteErrorKind::Read => e.core_error().map_or(CARD_OR_TRANSPORT, |err| for_error(err.error_code())),
        WriteErrorKind::AuthorityRefused
        | WriteErrorKind::PolicyRefused
        | WriteErrorKind::RecordInvalid
        | WriteErrorKind::AddressImageFailed => WRITE_REFUSED,
        WriteErrorKind::CardRefused | WriteErrorKind::NotSupported => WRITE_CARD_REFUSED,
        WriteErrorKind::ReadBackMismatch | WriteErrorKind::Unconfirmed => WRITE_NOT_CONFIRMED,
        WriteErrorKind::AuthorityUnavailable => AUTHORITY_UNAVAILABLE,
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
    fn write_outcomes_map_to_listed_write_codes() {
        use zairyu::write::authority::AuthorityError;
        use zairyu::write::record::RecordError;
        use zairyu::write::relay::{LinkError, RelayError};
        let relay = |r: RelayError| for_write(&WriteError::Relay(r));
        let refused = |a: AuthorityError| relay(RelayError::Refused(a));
        assert_eq!(refused(AuthorityError::Record(RecordError::MunicipalityCode)), WRITE_REFUSED);
        assert_eq!(refused(AuthorityError::Clock), WRITE_REFUSED);
        assert_eq!(relay(RelayError::Link(LinkError::Refused(AuthorityError::Clock))), WRITE_REFUSED);
        let policy = LinkError::RemoteRefused { code: "policy_unknown_counter".into(), message: String::new() };
        assert_eq!(relay(RelayError::Link(policy)), WRITE_REFUSED);
        assert_eq!(
            refused(AuthorityError::CardRefused { step: "UPDATE BINARY", sw: Some(0x6982) }),
            WRITE_CARD_REFUSED
        );
        assert_eq!(relay(RelayError::CardStatus { step: "SELECT write application", sw: 0x6A82 }), WRITE_CARD_REFUSED);
        assert_eq!(refused(AuthorityError::ReadBackMismatch), WRITE_NOT_CONFIRMED);
        assert_eq!(for_write(&WriteError::ReadBackMismatch), WRITE_NOT_CONFIRMED);
        assert_eq!(relay(RelayError::Link(LinkError::Unavailable("down".into()))), AUTHORITY_UNAVAILABLE);
        assert_eq!(relay(RelayError::TooManyRoundTrips), AUTHORITY_UNAVAILABLE);
        assert_eq!(relay(RelayError::Transport(zairyu::error::TransportError::CardRemoved)), CARD_OR_TRANSPORT);
        let wrong = WriteError::Access(zairyu::Error::from(zairyu::error::TransportError::CardRemoved));
        assert_eq!(for_write(&wrong), CARD_OR_TRANSPORT);
        for code in [WRITE_REFUSED, WRITE_CARD_REFUSED, WRITE_NOT_CONFIRMED, AUTHORITY_UNAVAILABLE] {
            assert!(listed(code), "{code}");
        }
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
