//! The JSON messages of the authority service's relay API, version 1 (`/v1/…`),
//! shared by the service (`zairyu-authority`) and the counter's HTTPS link
//! ([`crate::remote`], feature `remote`). Bytes travel as lowercase hex.
//!
//! | request | body | answer |
//! |---|---|---|
//! | `POST /v1/sessions` | [`OpenBody`] | `201` [`StepReply`] (`seq` 0, the first batch) |
//! | `POST /v1/sessions/{id}/responses` | [`ResponsesBody`] (`seq` 1, 2, …) | `200` [`StepReply`] (the next batch, the receipt, or the refusal) |
//! | any, refused | — | `4xx`/`5xx` [`ErrorReply`] with a stable code |
//!
//! Every body carries `"version": 1`; unknown fields are refused. A message with
//! the sequence number the session expects is processed once; the same message
//! again (same number, same bytes) gets the stored answer again, so a counter may
//! retry after a lost answer without anything being signed or sent twice; any other
//! number ends the session (`relay_out_of_sequence`).

use serde::{Deserialize, Serialize};
use zairyu::transport::Limits;
use zairyu::write::authority::{Batch, BatchCommand, Receipt};
use zairyu::write::record::{NewAddress, WriteTarget};

/// The API version of these messages.
pub const API_VERSION: u32 = 1;

/// The limits of the counter's link to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireLimits {
    /// Extended-length APDUs pass.
    pub extended_length: bool,
    /// Largest command APDU.
    pub max_command: u32,
    /// Largest response APDU.
    pub max_response: u32,
}

impl From<Limits> for WireLimits {
    fn from(l: Limits) -> Self {
        WireLimits {
            extended_length: l.extended_length,
            max_command: u32::try_from(l.max_command).unwrap_or(u32::MAX),
            max_response: u32::try_from(l.max_response).unwrap_or(u32::MAX),
        }
    }
}

impl From<WireLimits> for Limits {
    fn from(l: WireLimits) -> Self {
        Limits {
            extended_length: l.extended_length,
            max_command: l.max_command as usize,
            max_response: l.max_response as usize,
        }
    }
}

/// The new record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRecord {
    /// `YYYYMMDD`.
    pub date: String,
    /// 6 digits.
    pub municipality_code: String,
    /// The address text.
    pub address: String,
}

impl From<&NewAddress> for WireRecord {
    fn from(r: &NewAddress) -> Self {
        WireRecord { date: r.date.clone(), municipality_code: r.municipality_code.clone(), address: r.address.clone() }
    }
}

impl From<WireRecord> for NewAddress {
    fn from(r: WireRecord) -> Self {
        NewAddress { date: r.date, municipality_code: r.municipality_code, address: r.address }
    }
}

/// `POST /v1/sessions`: open a write session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// [`API_VERSION`].
    pub version: u32,
    /// Chosen by the counter (16–64 hex digits), so a retried opening returns the
    /// session already opened instead of a second one.
    pub request_id: String,
    /// `DF2/EF01` or `DF1/EF04`.
    pub target: String,
    /// The record.
    pub record: WireRecord,
    /// The clerk's operator id.
    pub operator_id: String,
    /// EF.ChipAuthInfo as read from the card (hex).
    pub chip_auth_info: String,
    /// The link's limits.
    pub limits: WireLimits,
    /// SHA-256 of the card number the clerk typed (hex), if sent.
    pub card_number_sha256: Option<String>,
}

/// `POST /v1/sessions/{id}/responses`: the card's answers to the last batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesBody {
    /// [`API_VERSION`].
    pub version: u32,
    /// 1 for the answers to the first batch, then 2, 3, …
    pub seq: u64,
    /// The response APDUs (hex), in order; fewer than the batch had when the relay
    /// stopped at an unexpected status word.
    pub responses: Vec<String>,
}

/// One command of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCommand {
    /// The command APDU (hex).
    pub apdu: String,
    /// The status word that lets the relay go on (`36864` = `90 00`).
    pub expected_sw: u16,
    /// The command's name.
    pub label: String,
}

/// The receipt (core's [`Receipt`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireReceipt {
    /// `DF2/EF01` or `DF1/EF04`.
    pub target: String,
    /// SHA-256 of the new content (hex).
    pub content_sha256: String,
    /// SHA-256 of the old content (hex).
    pub old_content_sha256: Option<String>,
    /// SHA-256 of the card number (hex).
    pub card_number_sha256: String,
    /// The terminal certificate's holder reference.
    pub terminal: String,
    /// The document signer of EF.ChipAuthInfo.
    pub chip_auth_info_signer: String,
    /// The request time (Unix seconds).
    pub time_unix: u64,
    /// Exchanges, the opening one included.
    pub round_trips: u32,
    /// The audit log's head after the `written` record: its sequence number.
    pub audit_seq: u64,
    /// … and its hash (hex).
    pub audit_hash: String,
}

/// What comes next in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireNext {
    /// Commands for the card.
    Batch {
        /// The commands.
        commands: Vec<WireCommand>,
    },
    /// The write is done and proven.
    Receipt {
        /// The receipt.
        receipt: WireReceipt,
    },
    /// The write was refused or failed; the session is over.
    Refused {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
    },
}

/// The answer to an opening or to a batch of responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepReply {
    /// [`API_VERSION`].
    pub version: u32,
    /// The session.
    pub session_id: String,
    /// The sequence number this answers (0 for the opening).
    pub seq: u64,
    /// What comes next.
    pub next: WireNext,
}

/// A refusal or failure of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    /// [`API_VERSION`].
    pub version: u32,
    /// The error.
    pub error: WireError,
}

/// The error of an [`ErrorReply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireError {
    /// A stable code (`policy_unknown_counter`, `rate_limited`, `session_expired`, …).
    pub code: String,
    /// A message for people.
    pub message: String,
}

/// The stable name of a target.
pub fn target_name(t: WriteTarget) -> &'static str {
    t.name()
}

/// The target of a stable name.
pub fn parse_target(s: &str) -> Option<WriteTarget> {
    [WriteTarget::Df2Ef01, WriteTarget::Df1Ef04].into_iter().find(|t| t.name() == s)
}

/// A batch on the wire.
pub fn batch_to_wire(b: &Batch) -> Vec<WireCommand> {
    b.commands
        .iter()
        .map(|c| WireCommand { apdu: hex::encode(&c.apdu), expected_sw: c.expected_sw, label: c.label.to_owned() })
        .collect()
}

/// The labels a batch may carry (core's `&'static str`s); another label from the
/// wire is kept as `"remote command"`.
const LABELS: [&str; 12] = [
    "MSE:SET DST",
    "PSO:VERIFY CERTIFICATE",
    "MSE:SET AT (TA)",
    "GET CHALLENGE",
    "EXTERNAL AUTHENTICATE",
    "MSE:SET AT (CA)",
    "GENERAL AUTHENTICATE",
    "SM SELECT",
    "SM READ BINARY (old)",
    "SM UPDATE BINARY",
    "SM READ BINARY (new)",
    "remote command",
];

/// A batch from the wire; `None` if an APDU is not hex.
pub fn batch_from_wire(cmds: &[WireCommand]) -> Option<Batch> {
    let mut commands = Vec::with_capacity(cmds.len());
    for c in cmds {
        let label = LABELS.iter().find(|l| **l == c.label).copied().unwrap_or("remote command");
        commands.push(BatchCommand { apdu: hex::decode(&c.apdu).ok()?, expected_sw: c.expected_sw, label });
    }
    Some(Batch { commands })
}

/// Core's receipt from the wire; `None` if the target is unknown.
pub fn receipt_from_wire(r: &WireReceipt) -> Option<Receipt> {
    Some(Receipt {
        target: parse_target(&r.target)?,
        content_sha256: r.content_sha256.clone(),
        old_content_sha256: r.old_content_sha256.clone(),
        card_number_sha256: r.card_number_sha256.clone(),
        terminal: r.terminal.clone(),
        chip_auth_info_signer: r.chip_auth_info_signer.clone(),
        time_unix: r.time_unix,
        round_trips: r.round_trips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_documented_json_shape() {
        let reply = StepReply {
            version: 1,
            session_id: "ab".into(),
            seq: 0,
            next: WireNext::Batch {
                commands: vec![WireCommand {
                    apdu: "0084000008".into(),
                    expected_sw: 0x9000,
                    label: "GET CHALLENGE".into(),
                }],
            },
        };
        let v = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":1,"session_id":"ab","seq":0,"next":{"kind":"batch","commands":[
                {"apdu":"0084000008","expected_sw":36864,"label":"GET CHALLENGE"}]}})
        );
        let refused = WireNext::Refused { code: "card_refused".into(), message: "m".into() };
        assert_eq!(serde_json::to_value(&refused).unwrap()["kind"], "refused");
        // Unknown fields are refused.
        let bad = r#"{"version":1,"seq":1,"responses":[],"extra":0}"#;
        assert!(serde_json::from_str::<ResponsesBody>(bad).is_err());
        let b = batch_from_wire(&[WireCommand { apdu: "00".into(), expected_sw: 1, label: "x".into() }]).unwrap();
        assert_eq!(b.commands[0].label, "remote command");
        assert!(batch_from_wire(&[WireCommand { apdu: "zz".into(), expected_sw: 1, label: "x".into() }]).is_none());
        assert_eq!(parse_target("DF1/EF04"), Some(WriteTarget::Df1Ef04));
        assert_eq!(parse_target("DF1/EF05"), None);
    }
}
