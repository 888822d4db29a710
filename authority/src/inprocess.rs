//! The authority in the counter's process, behind the same [`AuthorityLink`] as the
//! remote one (AWP §5): core's state machine ([`Authority`]) with the policy check,
//! the second-generation renderer and the audit log around it.
//!
//! Order of an opening (nothing reaches the card until every check has passed and the
//! `opened` record is on disk):
//!
//! 1. the policy: may this counter write for the record's municipality code;
//! 2. the record: checked, and for DF1/EF04 rendered into the G4 TIFF;
//! 3. core's checks in [`Authority::begin`]: clock, own chain, EF.ChipAuthInfo
//!    (issuer signature, chain to the write-issuer root, the card-number hash);
//! 4. the `opened` audit record.
//!
//! A refusal at 1–3 is appended as a `refused` record with its stable code and
//! returned as a typed [`LinkError`]: [`LinkError::Refused`] for core's
//! [`AuthorityError`]s, [`LinkError::RemoteRefused`] with the code for the policy
//! and renderer (the same shape the HTTPS link will give). The session's end —
//! receipt or refusal — is appended as a `written` or `refused` record; a session
//! left unfinished (a new opening, or the authority dropped) as `refused` with
//! `session_abandoned`. If the audit log cannot be written the authority fails
//! closed: no batch is returned, and a finished write's receipt is withheld
//! ([`LinkError::Unavailable`]).

use std::path::{Path, PathBuf};

use zairyu::auth::{OsRandom, RandomSource};
use zairyu::write::authority::{
    Authority, AuthorityConfig, AuthorityError, Batch, Next, Receipt, WriteRequest, WriteSession,
};
use zairyu::write::chip_auth_info::ChipAuthInfo;
use zairyu::write::cvc::{Cvc, CvcError, TrustAnchor, verify_at};
use zairyu::write::record::{NewContent, WriteTarget};
use zairyu::write::relay::{AuthorityLink, LinkError, OpenRequest};
use zairyu::write::{CvDate, sha256};

use crate::audit::{AuditError, AuditHead, AuditLog, AuditRecord, AuditResult, JsonlAuditLog, SqliteAuditLog};
use crate::layout;
use crate::policy::{Policy, PolicyError};
use crate::render::{AddressRenderer, RenderError, RenderSettings};
use crate::signer::{KeyFileError, SignerSource};

/// The refusal code of a session left unfinished.
pub const SESSION_ABANDONED: &str = "session_abandoned";

/// Why an authority directory cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A file cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A certificate file is not a CV certificate, or a root is not self-signed.
    #[error("{path}: {error}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        error: CvcError,
    },
    /// The terminal chain does not verify against the CVCA today, or lacks the write right.
    #[error("terminal chain: {0}")]
    Chain(CvcError),
    /// The terminal key.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The key is not the terminal certificate's.
    #[error("the terminal key does not match the terminal certificate")]
    KeyMismatch,
    /// The policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The audit log (unreadable, or its chain broken).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The clock is outside 2000–2099.
    #[error("the system clock is outside 2000-2099")]
    Clock,
}

/// Which audit store [`DirOptions`] uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuditStore {
    /// `audit.sqlite3` if it exists in the directory, else `audit.jsonl`.
    #[default]
    Auto,
    /// A JSON-lines file.
    Jsonl(PathBuf),
    /// An SQLite database.
    Sqlite(PathBuf),
}

/// Options of [`InProcessAuthority::from_dir_with`].
#[derive(Debug, Clone, Default)]
pub struct DirOptions {
    /// The audit store.
    pub audit: AuditStore,
    /// The address image's settings (the font); the default takes the font from
    /// [`crate::render::FONT_ENV`] or searches the Debian paths.
    pub render: Option<RenderSettings>,
    /// A fixed request time (tests).
    pub now_unix: Option<u64>,
}

struct Active {
    session: WriteSession,
    record: AuditRecord,
}

/// The in-process write authority.
pub struct InProcessAuthority {
    authority: Authority,
    counter_id: String,
    policy: Policy,
    audit: Box<dyn AuditLog>,
    renderer: Result<AddressRenderer, RenderError>,
    rng: Box<dyn RandomSource + Send>,
    now_unix: Option<u64>,
    active: Option<Active>,
    last_receipt: Option<(Receipt, AuditHead)>,
}

impl core::fmt::Debug for InProcessAuthority {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InProcessAuthority")
            .field("authority", &self.authority)
            .field("counter_id", &self.counter_id)
            .field("audit_head", &self.audit.head())
            .field("session", &self.active.as_ref().map(|a| &a.session))
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn read(path: &Path) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(|e| SetupError::Io { path: path.to_path_buf(), reason: e.to_string() })
}

fn cert(path: &Path) -> Result<Cvc, SetupError> {
    Cvc::parse(&read(path)?).map_err(|error| SetupError::Certificate { path: path.to_path_buf(), error })
}

fn anchor(path: &Path) -> Result<TrustAnchor, SetupError> {
    TrustAnchor::from_self_signed(&cert(path)?)
        .map_err(|error| SetupError::Certificate { path: path.to_path_buf(), error })
}

impl InProcessAuthority {
    /// An authority from its parts. `renderer` is the second generation's image
    /// renderer, or why there is none (a DF1/EF04 write is then refused with that
    /// error's code).
    pub fn new(
        config: AuthorityConfig,
        policy: Policy,
        audit: Box<dyn AuditLog>,
        renderer: Result<AddressRenderer, RenderError>,
        counter_id: impl Into<String>,
    ) -> Self {
        InProcessAuthority {
            authority: Authority::new(config),
            counter_id: counter_id.into(),
            policy,
            audit,
            renderer,
            rng: Box::new(OsRandom),
            now_unix: None,
            active: None,
            last_receipt: None,
        }
    }

    /// Loads the authority of directory `dir` ([`crate::layout`]) for the counter
    /// `counter_id`, with the default options.
    pub fn from_dir(dir: &Path, counter_id: &str) -> Result<Self, SetupError> {
        Self::from_dir_with(dir, counter_id, &DirOptions::default())
    }

    /// Loads the authority of directory `dir`. Checks at once what can be checked
    /// without a card: the chain verifies against the CVCA today with the write
    /// right, and the key is the terminal certificate's. The font is looked up too;
    /// if none is found, first-generation writes still work and second-generation
    /// ones are refused with `font_not_found`.
    pub fn from_dir_with(dir: &Path, counter_id: &str, options: &DirOptions) -> Result<Self, SetupError> {
        let cvca = anchor(&dir.join(layout::CVCA))?;
        let issuer_root = anchor(&dir.join(layout::ISSUER_ROOT))?;
        let mut chain = Vec::new();
        let dv = dir.join(layout::DV);
        if dv.exists() {
            chain.push(cert(&dv)?);
        }
        chain.push(cert(&dir.join(layout::TERMINAL))?);
        let today = CvDate::from_unix(options.now_unix.unwrap_or_else(now)).ok_or(SetupError::Clock)?;
        let verified = verify_at(&chain, &cvca, today).map_err(SetupError::Chain)?;
        verified.require_write().map_err(SetupError::Chain)?;
        let key = SignerSource::KeyFile(dir.join(layout::TERMINAL_KEY)).open()?;
        if key.public_key != chain[chain.len() - 1].body().public_key {
            return Err(SetupError::KeyMismatch);
        }
        let policy_toml = dir.join(layout::POLICY_TOML);
        let policy = Policy::load(&if policy_toml.exists() { policy_toml } else { dir.join(layout::POLICY_JSON) })?;
        let audit: Box<dyn AuditLog> = match &options.audit {
            AuditStore::Jsonl(p) => Box::new(JsonlAuditLog::open(p)?),
            AuditStore::Sqlite(p) => Box::new(SqliteAuditLog::open(p)?),
            AuditStore::Auto => {
                let sqlite = dir.join(layout::AUDIT_SQLITE);
                if sqlite.exists() {
                    Box::new(SqliteAuditLog::open(&sqlite)?)
                } else {
                    Box::new(JsonlAuditLog::open(&dir.join(layout::AUDIT_JSONL))?)
                }
            }
        };
        let settings = options.render.clone().unwrap_or_else(|| RenderSettings {
            font: crate::render::FontSetting::from_env(),
            ..RenderSettings::default()
        });
        let renderer = AddressRenderer::new(settings);
        if let Err(e) = &renderer {
            log::warn!("second-generation writes are disabled: {e}");
        }
        let config = AuthorityConfig { terminal_chain: chain, cvca, signer: key.signer, issuer_root };
        let mut a = Self::new(config, policy, audit, renderer, counter_id);
        a.now_unix = options.now_unix;
        Ok(a)
    }

    /// Draws ephemeral keys and session ids from `rng` instead of the OS.
    pub fn with_rng(mut self, rng: impl RandomSource + Send + 'static) -> Self {
        self.rng = Box::new(rng);
        self
    }

    /// Fixes the request time (tests).
    pub fn at_time(mut self, now_unix: u64) -> Self {
        self.now_unix = Some(now_unix);
        self
    }

    /// The audit log.
    pub fn audit(&self) -> &dyn AuditLog {
        self.audit.as_ref()
    }

    /// The counter identity this authority serves.
    pub fn counter_id(&self) -> &str {
        &self.counter_id
    }

    /// The last receipt issued, with the audit head of its `written` record.
    pub fn last_receipt(&self) -> Option<&(Receipt, AuditHead)> {
        self.last_receipt.as_ref()
    }

    fn append(&mut self, record: &AuditRecord) -> Result<AuditHead, LinkError> {
        self.audit.append(record).map_err(|e| LinkError::Unavailable(format!("audit log: {e}")))
    }

    fn refuse(&mut self, mut record: AuditRecord, code: &str, message: String, err: LinkError) -> LinkError {
        record.result = AuditResult::Refused { code: code.to_owned(), message };
        match self.append(&record) {
            Ok(_) => err,
            Err(audit) => audit,
        }
    }

    /// Records the end of a session left unfinished.
    fn abandon(&mut self) -> Result<(), LinkError> {
        if let Some(a) = self.active.take() {
            let mut r = a.record;
            r.result = AuditResult::Refused {
                code: SESSION_ABANDONED.into(),
                message: "the session ended before a receipt or a refusal".into(),
            };
            self.append(&r)?;
        }
        Ok(())
    }
}

impl Drop for InProcessAuthority {
    fn drop(&mut self) {
        if let Err(e) = self.abandon() {
            log::error!("could not record an abandoned write session: {e}");
        }
    }
}

impl AuthorityLink for InProcessAuthority {
    fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError> {
        self.abandon()?;
        let now_unix = self.now_unix.unwrap_or_else(now);
        let mut sid = [0u8; 16];
        self.rng.fill(&mut sid);
        // The card-number hash from EF.ChipAuthInfo as sent (verified by begin below;
        // a refusal before that still names the card the request was for).
        let card = ChipAuthInfo::parse(&request.chip_auth_info)
            .ok()
            .map(|i| *i.card_number_hash())
            .or(request.card_number_hash);
        let mut record = AuditRecord {
            time_unix: now_unix,
            session: hex::encode(sid),
            counter_id: self.counter_id.clone(),
            operator_id: request.operator_id.clone(),
            card_number_sha256: card,
            target: Some(request.target.name().to_owned()),
            municipality_code: Some(request.record.municipality_code.clone()),
            address: Some(request.record.address.clone()),
            old_content_sha256: None,
            new_content_sha256: None,
            result: AuditResult::Opened,
        };

        // 1. Policy.
        if let Err(p) = self.policy.check(&self.counter_id, &request.record.municipality_code) {
            let err = LinkError::RemoteRefused { code: p.code().into(), message: p.to_string() };
            return Err(self.refuse(record, p.code(), p.to_string(), err));
        }

        // 2. The record, rendered for the second generation.
        let built = match request.target {
            WriteTarget::Df2Ef01 => {
                NewContent::df2_ef01(&request.record).map_err(|e| Refusal::Core(AuthorityError::Record(e)))
            }
            WriteTarget::Df1Ef04 => match &self.renderer {
                Ok(r) => r.content(&request.record).map_err(|e| match e {
                    RenderError::Record(e) => Refusal::Core(AuthorityError::Record(e)),
                    other => Refusal::Other(other.code(), other.to_string()),
                }),
                Err(e) => Err(Refusal::Other(e.code(), e.to_string())),
            },
        };
        let content = match built {
            Ok(c) => c,
            Err(Refusal::Core(e)) => return Err(self.refuse(record, e.code(), e.to_string(), LinkError::Refused(e))),
            Err(Refusal::Other(code, message)) => {
                let err = LinkError::RemoteRefused { code: code.into(), message: message.clone() };
                return Err(self.refuse(record, code, message, err));
            }
        };
        record.new_content_sha256 = Some(sha256(content.bytes()));

        // 3. Core's checks; the first batch.
        let write = WriteRequest {
            content,
            chip_auth_info: request.chip_auth_info.clone(),
            limits: request.limits,
            now_unix,
            card_number_hash: request.card_number_hash,
        };
        let (session, batch) = match self.authority.begin(write, self.rng.as_mut()) {
            Ok(x) => x,
            Err(e) => return Err(self.refuse(record, e.code(), e.to_string(), LinkError::Refused(e))),
        };

        // 4. On record before the first command leaves.
        self.append(&record)?;
        self.active = Some(Active { session, record });
        Ok(batch)
    }

    fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError> {
        let Some(active) = self.active.as_mut() else {
            return Err(LinkError::Unavailable("no open write session".into()));
        };
        let next = active.session.resume(responses);
        if matches!(next, Next::Batch(_)) {
            return Ok(next);
        }
        let Some(Active { record: mut r, .. }) = self.active.take() else {
            return Err(LinkError::Unavailable("no open write session".into()));
        };
        match &next {
            Next::Done(receipt) => {
                r.old_content_sha256 = receipt
                    .old_content_sha256
                    .as_deref()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|v| v.try_into().ok());
                r.result = AuditResult::Written;
                let head = self.append(&r).map_err(|e| {
                    LinkError::Unavailable(format!("the card was written, but the audit record failed: {e}"))
                })?;
                self.last_receipt = Some((receipt.clone(), head));
            }
            Next::Refused(e) => {
                r.result = AuditResult::Refused { code: e.code().into(), message: e.to_string() };
                self.append(&r)?;
            }
            Next::Batch(_) => {}
        }
        Ok(next)
    }
}

/// A refusal at the opening: core's typed error, or a code of this crate.
enum Refusal {
    Core(AuthorityError),
    Other(&'static str, String),
}
