//! `write-address`: the counter's address write (AWP v1, issue 12) from the command
//! line. One call does the work, the same the C library and the wheel make:
//! [`zairyu::write::counter::write_address`] — card-number access, the relayed write
//! through the authority ([`InProcessAuthority`] of `--authority-dir`, or the
//! `zairyu-authority` service of `--authority https://HOST:PORT` over mutual TLS,
//! [`RemoteAuthority`]), and a re-read
//! on a new card session (PC/SC: a reconnect that resets the card; the simulator: a
//! power cycle) compared with the record.
//!
//! What is printed: the authority's receipt without the card-number hash (about 2^45
//! numbers: its hash can be reversed offline, so it stays in the audit log), the card
//! type, round trips, APDUs and the audit head of the `written` record.

use std::path::Path;

use serde_json::json;
use zairyu::CardNumber;
use zairyu::auth::OsRandom;
use zairyu::files::CardType;
use zairyu::verify::TrustStore;
use zairyu::write::CvDate;
use zairyu::write::authority::Receipt;
use zairyu::write::counter::{AddressWrite, WriteError, WriteOutcome, write_address};
use zairyu::write::record::NewAddress;
use zairyu::write::relay::{AuthorityLink, RelayError};
use zairyu_authority_core::audit::AuditHead;
use zairyu_authority_core::remote::{RemoteAuthority, RemoteSetupError};
use zairyu_authority_core::{InProcessAuthority, SetupError};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{IssueOptions, IssuedCard, SimCard, SimRandomness};

use crate::args::{AuthorityArgs, SimArgs, WriteAddressArgs};
use crate::error::CliError;
use crate::read::{SIM_CARD_NUMBER, Target};
use crate::{exit, number};

/// The code of a record refused by the CLI's own check (the authority's code for the
/// same refusal).
pub const RECORD_INVALID: &str = "record_invalid";
/// The code of an empty operator id or one with control characters.
pub const OPERATOR_INVALID: &str = "operator_invalid";
/// The code of a command line without an authority (clap's groups prevent it).
pub const AUTHORITY_MISSING: &str = "authority_missing";
/// The code of `--write-pki` given for a card in a reader.
pub const WRITE_PKI_NOT_SIM: &str = "write_pki_without_sim";

fn usage(code: &str, message: String) -> CliError {
    CliError::Write { code: code.to_owned(), exit: exit::USAGE, message }
}

/// The stable code of an authority directory that cannot be loaded.
pub fn setup_code(e: &SetupError) -> &'static str {
    match e {
        SetupError::Io { .. } => "authority_file_unreadable",
        SetupError::Certificate { .. } => "authority_certificate_invalid",
        SetupError::Chain(_) => "terminal_chain_invalid",
        SetupError::Key(k) => k.code(),
        SetupError::KeyMismatch => "signer_key_mismatch",
        SetupError::Policy(_) => "policy_invalid",
        SetupError::Audit(_) => "audit_log_invalid",
        SetupError::Clock => "clock_out_of_range",
        _ => "authority_setup_failed",
    }
}

/// An authority directory that cannot be loaded, as the CLI reports it.
pub fn setup_error(dir: &Path, e: &SetupError) -> CliError {
    CliError::Write {
        code: setup_code(e).to_owned(),
        exit: exit::AUTHORITY_UNAVAILABLE,
        message: format!("authority directory {}: {e}", dir.display()),
    }
}

/// A write that did not end confirmed, as the CLI reports it: the core's stable code
/// and the exit code of [`exit::for_write`]. `sim_without_write` adds the hint for a
/// simulated card issued without `--write-pki`.
pub fn write_error(e: &WriteError, sim_without_write: bool) -> CliError {
    let mut message = e.to_string();
    if let WriteError::Relay(RelayError::CardStatus { sw: 0x6A82, .. }) = e {
        message.push_str(" (the card has no address-write application");
        message.push_str(if sim_without_write {
            ": give --write-pki DIR to issue the simulated card with one)"
        } else {
            ")"
        });
    }
    if matches!(e, WriteError::ReadBackMismatch) {
        message.push_str(": the write is NOT confirmed");
    }
    CliError::Write { code: e.code(), exit: exit::for_write(e), message }
}

/// Checks what the clerk typed before anything else happens: the record (AWP §4.2)
/// and the operator id.
fn check_input(record: &NewAddress, operator: &str) -> Result<(), CliError> {
    record.check().map_err(|e| usage(RECORD_INVALID, format!("the new address record: {e}")))?;
    if operator.trim().is_empty() || operator.chars().any(char::is_control) || operator.len() > 128 {
        return Err(usage(
            OPERATOR_INVALID,
            "--operator must be a non-empty id of at most 128 bytes without control characters".into(),
        ));
    }
    Ok(())
}

/// The simulated card of `--sim`: with the write application of the PKI in
/// `write_pki`, if given.
fn issue_sim(sim: &SimArgs, write_pki: Option<&Path>) -> Result<IssuedCard, CliError> {
    let write = match write_pki {
        Some(dir) => Some(WritePki::load(dir).map_err(crate::pki::error)?.write_issue()),
        None => None,
    };
    Ok(crate::read::issue(&IssueOptions {
        card_type: sim.sim_card_type.unwrap_or(CardType::ResidenceCard),
        card_number: sim.sim_card_number.clone().unwrap_or_else(|| SIM_CARD_NUMBER.to_owned()),
        under_16: sim.sim_under_16,
        pki: sim.sim_pki.unwrap_or_default().into(),
        // A write card's challenges must never repeat.
        randomness: if write.is_some() { SimRandomness::Os } else { IssueOptions::default().randomness },
        write,
        ..IssueOptions::default()
    })?)
}

/// Writes into the in-process simulated card `issued`; the new session is a power cycle.
pub fn write_sim(
    issued: IssuedCard,
    number: &CardNumber,
    trust: &TrustStore,
    link: &mut dyn AuthorityLink,
    request: AddressWrite,
) -> Result<WriteOutcome, WriteError> {
    let reset = |sim: &mut SimCard| {
        sim.power_cycle();
        Ok(())
    };
    write_address(SimCard::new(issued), reset, number, trust, &mut OsRandom, link, request)
}

/// The stable code of a remote authority that cannot be set up (a URL that is not
/// `https://HOST:PORT`, an unreadable or malformed PEM file, a key that does not fit
/// the certificate).
pub fn remote_setup_error(e: &RemoteSetupError) -> CliError {
    let exit = if matches!(e, RemoteSetupError::Url(_)) { exit::USAGE } else { exit::AUTHORITY_UNAVAILABLE };
    CliError::Write { code: e.code().to_owned(), exit, message: format!("authority service: {e}") }
}

/// The write authority of `write-address` and the counter page: in process
/// (`--authority-dir`) or the service over mutual TLS (`--authority`).
pub(crate) enum Authority {
    Local(Box<InProcessAuthority>),
    Remote(Box<RemoteAuthority>),
}

impl Authority {
    /// The authority the options name; `None` when they name none.
    pub(crate) fn open(args: &AuthorityArgs) -> Result<Option<Authority>, CliError> {
        if let Some(dir) = &args.authority_dir {
            let counter = args.counter_id.as_deref().unwrap_or(crate::pki::TEST_COUNTER);
            let a = InProcessAuthority::from_dir(dir, counter).map_err(|e| setup_error(dir, &e))?;
            return Ok(Some(Authority::Local(Box::new(a))));
        }
        if args.authority.is_empty() {
            return Ok(None);
        }
        // clap's `requires_all` makes a missing file unreachable; a typed error all the same.
        let (Some(cert), Some(key), Some(ca)) = (&args.client_cert, &args.client_key, &args.authority_ca) else {
            return Err(usage(
                AUTHORITY_MISSING,
                "--authority needs --client-cert, --client-key and --authority-ca".into(),
            ));
        };
        let urls: Vec<&str> = args.authority.iter().map(String::as_str).collect();
        let a = RemoteAuthority::from_files(&urls, cert, key, ca).map_err(|e| remote_setup_error(&e))?;
        Ok(Some(Authority::Remote(Box::new(a))))
    }

    pub(crate) fn link(&mut self) -> &mut dyn AuthorityLink {
        match self {
            Authority::Local(a) => a.as_mut(),
            Authority::Remote(a) => a.as_mut(),
        }
    }

    /// The audit head of the `written` record of the write just made.
    pub(crate) fn audit_head(&self) -> Option<AuditHead> {
        match self {
            Authority::Local(a) => a.last_receipt().map(|(_, h)| *h),
            Authority::Remote(a) => a.last_audit_head(),
        }
    }

    /// The counter identity the authority knows this counter by.
    pub(crate) fn counter_id(&self) -> String {
        match self {
            Authority::Local(a) => a.counter_id().to_owned(),
            Authority::Remote(a) => a.counter_identity().unwrap_or("?").to_owned(),
        }
    }
}

/// `zairyu write-address`.
pub fn command(mut args: WriteAddressArgs) -> Result<u8, CliError> {
    // Problems of the command line first, before the card number is read or the
    // authority loaded.
    let number_source = args.number.source(number::env_set())?;
    let record = NewAddress {
        date: args.date.trim().to_owned(),
        municipality_code: args.municipality_code.trim().to_owned(),
        address: args.address.clone(),
    };
    check_input(&record, &args.operator)?;
    let target = crate::read::target(&args.source)?;
    if args.write_pki.is_some() && target != Target::Sim {
        return Err(usage(
            WRITE_PKI_NOT_SIM,
            "--write-pki issues the in-process simulated card (--sim); a card in a reader has its own".into(),
        ));
    }
    let Some(mut authority) = Authority::open(&args.authority)? else {
        return Err(usage(
            AUTHORITY_MISSING,
            "give --authority-dir DIR, or --authority URL with --client-cert, --client-key and --authority-ca".into(),
        ));
    };
    let request = AddressWrite { record: record.clone(), operator_id: args.operator.clone() };
    let outcome = match target {
        Target::Sim => {
            let trust = args.trust.store(true)?;
            let issued = issue_sim(&args.source.sim, args.write_pki.as_deref())?;
            let number = number_source.read()?;
            write_sim(issued, &number, &trust, authority.link(), request)
                .map_err(|e| write_error(&e, args.write_pki.is_none()))?
        }
        #[cfg(feature = "pcsc")]
        Target::Reader(reader) => {
            // Real cards: the simulator's test CAs are not trusted unless asked for.
            let trust = args.trust.store(args.trust.trust_sim_ca)?;
            let number = number_source.read()?;
            let card = zairyu_pcsc::PcscCard::connect(&reader)?;
            let reset = zairyu_pcsc::PcscCard::reset_session;
            write_address(card, reset, &number, &trust, &mut OsRandom, authority.link(), request)
                .map_err(|e| write_error(&e, false))?
        }
    };
    let head = authority.audit_head();
    let counter_id = authority.counter_id();
    let shown = Shown { outcome: &outcome, record: &record, counter_id: &counter_id, operator: &args.operator };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&shown.json(head)).unwrap_or_default())?;
    } else {
        out!("{}", shown.text(head))?;
    }
    Ok(exit::OK)
}

/// What `write-address` prints about a confirmed write.
pub struct Shown<'a> {
    /// The write.
    pub outcome: &'a WriteOutcome,
    /// The record written.
    pub record: &'a NewAddress,
    /// The counter identity.
    pub counter_id: &'a str,
    /// The clerk.
    pub operator: &'a str,
}

/// A Unix time as `YYYY-MM-DD hh:mm:ss UTC`.
fn utc(secs: u64) -> String {
    let day = CvDate::from_unix(secs).map_or_else(|| "?".to_owned(), |d| d.to_string());
    let s = secs % 86_400;
    format!("{day} {:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

impl Shown<'_> {
    /// The receipt and the figures as JSON. The receipt is spelt out field by field
    /// (no `..`): a field added to the core's receipt does not compile here until it
    /// is decided whether it may be printed. The card-number hash is never printed.
    pub fn json(&self, head: Option<AuditHead>) -> serde_json::Value {
        let Receipt {
            target,
            content_sha256,
            old_content_sha256,
            card_number_sha256: _,
            terminal,
            chip_auth_info_signer,
            time_unix,
            round_trips,
        } = &self.outcome.receipt;
        json!({
            "written": true,
            "confirmed_by_reread": true,
            "card_type": self.outcome.reread.card_type.code(),
            "generation": self.outcome.generation,
            "record": {
                "date": self.record.date,
                "municipality_code": self.record.municipality_code,
                "address": self.record.address,
            },
            "receipt": {
                "target": target,
                "file": target.name(),
                "content_sha256": content_sha256,
                "old_content_sha256": old_content_sha256,
                "terminal": terminal,
                "chip_auth_info_signer": chip_auth_info_signer,
                "time_unix": time_unix,
                "round_trips": round_trips,
            },
            "round_trips": self.outcome.round_trips,
            "apdus": self.outcome.apdus,
            "counter_id": self.counter_id,
            "operator_id": self.operator,
            "audit_head": head,
        })
    }

    /// The receipt and the figures as text.
    pub fn text(&self, head: Option<AuditHead>) -> String {
        let o = self.outcome;
        let r = &o.receipt;
        let mut s = String::from("address written; confirmed by a re-read on a new card session\n\n");
        let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<22} {v}\n"));
        line("card type", format!("{} (generation {})", o.reread.card_type.code(), o.generation));
        line("file", r.target.name().to_owned());
        line("date", self.record.date.clone());
        line("municipality code", self.record.municipality_code.clone());
        line("address", self.record.address.clone());
        if o.generation == 2 {
            line("", "(rendered by the authority into the DF1/EF04 image)".to_owned());
        }
        line("new content SHA-256", r.content_sha256.clone());
        line("old content SHA-256", r.old_content_sha256.clone().unwrap_or_else(|| "-".into()));
        line("terminal", r.terminal.clone());
        line("ChipAuthInfo signer", r.chip_auth_info_signer.clone());
        line("requested", utc(r.time_unix));
        line("counter / operator", format!("{} / {}", self.counter_id, self.operator));
        line("authority round trips", o.round_trips.to_string());
        line("APDUs", format!("{} (access, relayed write, re-read)", o.apdus));
        line("audit head", head.map_or_else(|| "-".into(), |h| format!("record {} {}", h.seq, hex::encode(h.hash))));
        s
    }
}
