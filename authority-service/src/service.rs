//! The service's logic, without HTTP: open a session, process the counter's
//! messages, expire abandoned sessions. Every call reads the session from the
//! database and writes it back (sealed), so any instance can serve any message.
//!
//! Order of an opening (nothing reaches the card until all of it passed and the
//! `opened` record is committed with the session): the policy (may this counter
//! write for the record's municipality code), the counter's rate, the record
//! (rendered for DF1/EF04), core's checks in `Authority::begin` (clock, own chain,
//! EF.ChipAuthInfo, card-number hash). Each refusal is appended to the audit log
//! as `refused` with its stable code, and answered with that code.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zairyu::auth::{OsRandom, RandomSource};
use zairyu::write::authority::{Authority, AuthorityConfig, Next, WriteRequest};
use zairyu::write::chip_auth_info::ChipAuthInfo;
use zairyu::write::cvc::{Cvc, TrustAnchor, verify_at};
use zairyu::write::record::{NewAddress, NewContent, WriteTarget};
use zairyu::write::{CvDate, sha256};
use zairyu_authority_core::audit::{AuditHead, AuditRecord, AuditResult, BreakKind, Verified, verify_chain};
use zairyu_authority_core::render::{AddressRenderer, FontSetting, RenderError, RenderSettings};
use zairyu_authority_core::wire::{self, API_VERSION, OpenBody, ResponsesBody, StepReply, WireNext, WireReceipt};
use zairyu_authority_core::{Policy, SignerSource, layout};
use zeroize::Zeroizing;

use crate::config::{Config, DatabaseConfig, SignerConfig};
use crate::seal::{Keys, read_key_file};
use crate::store::{Advance, SessionRow, SessionState, Store, StoreError, now};

/// A refusal or failure, as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{code}] {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The stable code.
    pub code: String,
    /// A message for people (never a secret).
    pub message: String,
}

impl ApiError {
    /// An error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into() }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        log::error!("database: {e}");
        ApiError::new(503, "store_unavailable", "the authority's database is unavailable")
    }
}

/// Why the service cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// What a session keeps besides core's state: the audit fields of its records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Template {
    session: String,
    counter_id: String,
    operator_id: String,
    card: Option<String>,
    target: String,
    municipality_code: String,
    address: String,
    new_content_sha256: Option<String>,
}

impl Template {
    fn record(&self, result: AuditResult) -> AuditRecord {
        let h = |s: &Option<String>| s.as_deref().and_then(|s| hex::decode(s).ok()).and_then(|v| v.try_into().ok());
        AuditRecord {
            time_unix: now(),
            session: self.session.clone(),
            counter_id: self.counter_id.clone(),
            operator_id: self.operator_id.clone(),
            card_number_sha256: h(&self.card),
            target: Some(self.target.clone()),
            municipality_code: Some(self.municipality_code.clone()),
            address: Some(self.address.clone()),
            old_content_sha256: None,
            new_content_sha256: h(&self.new_content_sha256),
            result,
        }
    }
}

/// The plaintext of a sealed session: core's export (empty when over), the last
/// answer (JSON), the template (JSON); each a u32 length and its bytes.
fn pack(export: &[u8], reply: &[u8], template: &Template) -> Zeroizing<Vec<u8>> {
    let t = serde_json::to_vec(template).unwrap_or_default();
    let mut out = Zeroizing::new(Vec::with_capacity(12 + export.len() + reply.len() + t.len()));
    for b in [export, reply, &t[..]] {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    }
    out
}

struct Unpacked {
    export: Zeroizing<Vec<u8>>,
    reply: Vec<u8>,
    template: Template,
}

fn unpack(b: &[u8]) -> Option<Unpacked> {
    let mut rest = b;
    let mut take = || -> Option<&[u8]> {
        let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let v = rest.get(4..4 + n)?;
        rest = &rest[4 + n..];
        Some(v)
    };
    let export = Zeroizing::new(take()?.to_vec());
    let reply = take()?.to_vec();
    let template = serde_json::from_slice(take()?).ok()?;
    Some(Unpacked { export, reply, template })
}

/// The hash that identifies a message for idempotent retries.
fn message_hash(seq: u64, responses: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zairyu-relay-message-v1");
    h.update(seq.to_be_bytes());
    for r in responses {
        h.update((r.len() as u32).to_be_bytes());
        h.update(r);
    }
    h.finalize().into()
}

/// The write authority service (one instance).
pub struct Service {
    authority: Authority,
    policy: Policy,
    renderer: Result<AddressRenderer, RenderError>,
    /// The database connections: one for SQLite (it has one writer anyway), a
    /// few for PostgreSQL (`pool_size`), each used by one request at a time.
    store: Mutex<Store>,
    more_stores: Vec<Mutex<Store>>,
    next_store: std::sync::atomic::AtomicUsize,
    keys: Keys,
    session_timeout: u64,
    served: std::sync::atomic::AtomicU64,
}

impl core::fmt::Debug for Service {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Service").field("authority", &self.authority).finish_non_exhaustive()
    }
}

fn cert(path: &Path) -> Result<Cvc, SetupError> {
    let b = std::fs::read(path).map_err(|e| SetupError(format!("{}: {e}", path.display())))?;
    Cvc::parse(&b).map_err(|e| SetupError(format!("{}: {e}", path.display())))
}

fn anchor(path: &Path) -> Result<TrustAnchor, SetupError> {
    TrustAnchor::from_self_signed(&cert(path)?).map_err(|e| SetupError(format!("{}: {e}", path.display())))
}

/// Opens the database of a configuration.
pub fn open_store(config: &Config) -> Result<Store, StoreError> {
    match &config.database {
        DatabaseConfig::Sqlite { path, busy_timeout_ms } => {
            Store::open_sqlite(path, Duration::from_millis(*busy_timeout_ms))
        }
        DatabaseConfig::Postgres(pg) => Store::open_postgres(pg),
    }
}

/// How many connections an instance keeps.
fn pool_size(config: &Config) -> usize {
    match &config.database {
        DatabaseConfig::Sqlite { .. } => 1,
        DatabaseConfig::Postgres(pg) => pg.pool_size,
    }
}

/// Walks the audit chain of `store`.
pub fn verify_audit(
    store: &mut Store,
) -> Result<Result<Verified, zairyu_authority_core::audit::ChainBreak>, StoreError> {
    Ok(verify_chain(&store.audit_entries()?, None))
}

impl Service {
    /// An instance of the service of `config`: the write PKI and the terminal key
    /// (checked against each other and valid today), the policy, the renderer, the
    /// database (migrated; its audit chain verified: a broken log stops the start).
    pub fn from_config(config: &Config) -> Result<Self, SetupError> {
        let d = &config.pki_dir;
        let cvca = anchor(&d.join(layout::CVCA))?;
        let issuer_root = anchor(&d.join(layout::ISSUER_ROOT))?;
        let mut chain = Vec::new();
        if d.join(layout::DV).exists() {
            chain.push(cert(&d.join(layout::DV))?);
        }
        chain.push(cert(&d.join(layout::TERMINAL))?);
        let today = CvDate::from_unix(now()).ok_or_else(|| SetupError("the clock is outside 2000-2099".into()))?;
        verify_at(&chain, &cvca, today)
            .and_then(|c| c.require_write())
            .map_err(|e| SetupError(format!("terminal chain: {e}")))?;
        let source = match &config.signer {
            SignerConfig::KeyFile(p) => SignerSource::KeyFile(p.clone()),
            SignerConfig::Pkcs11(k) => SignerSource::Pkcs11(k.clone()),
        };
        let key = source.open().map_err(|e| SetupError(e.to_string()))?;
        if chain.last().map(|c| &c.body().public_key) != Some(&key.public_key) {
            return Err(SetupError("the terminal key does not match the terminal certificate".into()));
        }
        let policy = Policy::load(&config.policy).map_err(|e| SetupError(e.to_string()))?;
        let renderer =
            AddressRenderer::new(RenderSettings { font: FontSetting::from_env(), ..RenderSettings::default() });
        if let Err(e) = &renderer {
            log::warn!("second-generation writes are disabled: {e}");
        }
        let deployment = read_key_file(&config.deployment_key).map_err(SetupError)?;
        let mut store = open_store(config).map_err(|e| SetupError(e.to_string()))?;
        match verify_audit(&mut store).map_err(|e| SetupError(e.to_string()))? {
            Ok(v) => log::info!("audit log whole: {} records", v.records),
            Err(b) => return Err(SetupError(format!("refusing to start: {b}"))),
        }
        Ok(Service {
            authority: Authority::new(AuthorityConfig { terminal_chain: chain, cvca, signer: key.signer, issuer_root }),
            policy,
            renderer,
            more_stores: (1..pool_size(config)).filter_map(|_| store.another()).map(Mutex::new).collect(),
            store: Mutex::new(store),
            next_store: std::sync::atomic::AtomicUsize::new(0),
            keys: Keys::derive(&deployment),
            session_timeout: config.session_timeout_secs,
            served: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Relay requests (openings and messages) this instance has taken.
    pub fn requests_served(&self) -> u64 {
        self.served.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A free connection, or (all busy) the next one in turn when it is free.
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        for m in std::iter::once(&self.store).chain(&self.more_stores) {
            match m.try_lock() {
                Ok(g) => return g,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        let i = self.next_store.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (1 + self.more_stores.len());
        let m = i.checked_sub(1).and_then(|i| self.more_stores.get(i)).unwrap_or(&self.store);
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends a refusal at the opening and returns the error (or the database's).
    fn refuse(&self, t: &Template, new_content: Option<[u8; 32]>, e: ApiError) -> ApiError {
        let mut r = t.record(AuditResult::Refused { code: e.code.clone(), message: e.message.clone() });
        r.new_content_sha256 = new_content;
        match self.store().append_audit(&r) {
            Ok(_) => e,
            Err(db) => db.into(),
        }
    }

    /// `POST /v1/sessions`.
    pub fn open(&self, counter: &str, body: OpenBody) -> Result<StepReply, ApiError> {
        self.served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if body.version != API_VERSION {
            return Err(ApiError::new(400, "api_version", format!("API version {} is not supported", body.version)));
        }
        let rid = &body.request_id;
        if !(16..=64).contains(&rid.len()) || !rid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::bad("request_id must be 16-64 hex digits"));
        }
        // A retried opening: the answer already given.
        let retried = self.store().session_by_request(counter, rid)?;
        if let Some(row) = retried {
            if row.next_seq == 1 && row.state == SessionState::Open {
                return self.stored_reply(&row);
            }
            return Err(ApiError::new(
                409,
                "relay_out_of_sequence",
                "this opening was answered and the session went on",
            ));
        }
        let target = wire::parse_target(&body.target).ok_or_else(|| ApiError::bad("unknown target"))?;
        let chip_auth_info = hex::decode(&body.chip_auth_info);
        let card_hash: Option<[u8; 32]> = chip_auth_info
            .as_ref()
            .ok()
            .and_then(|b| ChipAuthInfo::parse(b).ok())
            .map(|i| *i.card_number_hash())
            .or_else(|| body.card_number_sha256.as_deref().and_then(|h| hex::decode(h).ok()?.try_into().ok()));
        let mut sid = [0u8; 16];
        OsRandom.fill(&mut sid);
        let sid = hex::encode(sid);
        let record: NewAddress = body.record.clone().into();
        let mut t = Template {
            session: sid.clone(),
            counter_id: counter.to_owned(),
            operator_id: body.operator_id.clone(),
            card: card_hash.map(|h| hex::encode(self.keys.card_hash(&h))),
            target: target.name().to_owned(),
            municipality_code: record.municipality_code.clone(),
            address: record.address.clone(),
            new_content_sha256: None,
        };
        let Ok(chip_auth_info) = chip_auth_info else {
            return Err(self.refuse(&t, None, ApiError::bad("chip_auth_info is not hex")));
        };
        let card_number_hash = match &body.card_number_sha256 {
            None => None,
            Some(h) => match hex::decode(h).ok().and_then(|v| <[u8; 32]>::try_from(v).ok()) {
                Some(h) => Some(h),
                None => return Err(self.refuse(&t, None, ApiError::bad("card_number_sha256 is not 32 bytes of hex"))),
            },
        };
        // 1. Policy.
        if let Err(p) = self.policy.check(counter, &record.municipality_code) {
            return Err(self.refuse(&t, None, ApiError::new(403, p.code(), p.to_string())));
        }
        // 2. Rate.
        let now = now();
        if let Some(max) = self.policy.max_sessions_per_minute(counter) {
            let n = self.store().sessions_since(counter, now.saturating_sub(59))?;
            if n >= u64::from(max) {
                let e = ApiError::new(
                    429,
                    "rate_limited",
                    format!("counter {counter:?} opened {n} sessions in the last minute (limit {max})"),
                );
                return Err(self.refuse(&t, None, e));
            }
        }
        // 3. The record, rendered for the second generation.
        let content = match target {
            WriteTarget::Df2Ef01 => {
                NewContent::df2_ef01(&record).map_err(|e| ApiError::new(422, "record_invalid", e.to_string()))
            }
            WriteTarget::Df1Ef04 => match &self.renderer {
                Ok(r) => r.content(&record).map_err(|e| match e {
                    RenderError::Record(e) => ApiError::new(422, "record_invalid", e.to_string()),
                    other => ApiError::new(422, other.code(), other.to_string()),
                }),
                Err(e) => Err(ApiError::new(422, e.code(), e.to_string())),
            },
        };
        let content = match content {
            Ok(c) => c,
            Err(e) => return Err(self.refuse(&t, None, e)),
        };
        let new_hash = sha256(content.bytes());
        t.new_content_sha256 = Some(hex::encode(new_hash));
        // 4. Core's checks; the first batch.
        let request =
            WriteRequest { content, chip_auth_info, limits: body.limits.into(), now_unix: now, card_number_hash };
        let (session, batch) = match self.authority.begin(request, &mut OsRandom) {
            Ok(x) => x,
            Err(e) => return Err(self.refuse(&t, Some(new_hash), ApiError::new(422, e.code(), e.to_string()))),
        };
        let reply = StepReply {
            version: API_VERSION,
            session_id: sid.clone(),
            seq: 0,
            next: WireNext::Batch { commands: wire::batch_to_wire(&batch) },
        };
        let reply_json = serde_json::to_vec(&reply).map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        let sealed = self.keys.seal(&sid, 1, &pack(&session.export(), &reply_json, &t));
        let row = SessionRow {
            id: sid,
            counter_id: counter.to_owned(),
            request_id: rid.clone(),
            created_unix: now,
            expires_unix: now + self.session_timeout,
            state: SessionState::Open,
            next_seq: 1,
            last_request_sha256: None,
            sealed,
        };
        self.store().insert_session(&row, &t.record(AuditResult::Opened))?;
        Ok(reply)
    }

    fn unseal(&self, row: &SessionRow) -> Result<Unpacked, ApiError> {
        let plain = self.keys.open(&row.id, row.next_seq, &row.sealed).map_err(|e| {
            log::error!("session {}: {e}", row.id);
            ApiError::new(500, "session_state_unreadable", "the session's stored state does not open")
        })?;
        unpack(&plain).ok_or_else(|| ApiError::new(500, "session_state_unreadable", "malformed session state"))
    }

    fn stored_reply(&self, row: &SessionRow) -> Result<StepReply, ApiError> {
        let u = self.unseal(row)?;
        serde_json::from_slice(&u.reply)
            .map_err(|_| ApiError::new(500, "session_state_unreadable", "the stored answer is unreadable"))
    }

    /// Ends an open session as `state` with a refusal record `code`; the sealed
    /// state keeps no secret.
    fn end(&self, row: &SessionRow, state: SessionState, code: &str, message: &str) -> Result<bool, ApiError> {
        let template = match self.unseal(row) {
            Ok(u) => u.template,
            Err(_) => Template {
                session: row.id.clone(),
                counter_id: row.counter_id.clone(),
                operator_id: String::new(),
                card: None,
                target: String::new(),
                municipality_code: String::new(),
                address: String::new(),
                new_content_sha256: None,
            },
        };
        let rec = template.record(AuditResult::Refused { code: code.to_owned(), message: message.to_owned() });
        let to =
            Advance { state, next_seq: row.next_seq, last_request_sha256: row.last_request_sha256, audit: Some(&rec) };
        let sealed = self.keys.seal(&row.id, row.next_seq, &pack(&[], b"", &template));
        Ok(self.store().advance(&row.id, SessionState::Open, row.next_seq, &to, |_| (sealed, ()))?.is_some())
    }

    /// `POST /v1/sessions/{id}/responses`.
    pub fn respond(&self, counter: &str, id: &str, body: ResponsesBody) -> Result<StepReply, ApiError> {
        self.served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if body.version != API_VERSION {
            return Err(ApiError::new(400, "api_version", format!("API version {} is not supported", body.version)));
        }
        let not_found = || ApiError::new(404, "session_not_found", "no such write session");
        let row = self.store().session(id)?.ok_or_else(not_found)?;
        // Another counter's session does not exist for this one.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(row.counter_id.as_bytes(), counter.as_bytes())) {
            return Err(not_found());
        }
        let mut responses = Vec::with_capacity(body.responses.len());
        for r in &body.responses {
            responses.push(hex::decode(r).map_err(|_| ApiError::bad("a response is not hex"))?);
        }
        let hash = message_hash(body.seq, &responses);
        let is_retry = |row: &SessionRow| {
            body.seq.checked_add(1) == Some(row.next_seq)
                && row.last_request_sha256.is_some_and(|h| bool::from(subtle::ConstantTimeEq::ct_eq(&h[..], &hash[..])))
        };
        // The same message again: the stored answer, nothing processed twice.
        if matches!(row.state, SessionState::Open | SessionState::Finished) && is_retry(&row) {
            return self.stored_reply(&row);
        }
        match row.state {
            SessionState::Open => {}
            SessionState::Finished => return Err(ApiError::new(409, "session_over", "the write session is over")),
            SessionState::Expired => return Err(ApiError::new(410, "session_expired", "the write session timed out")),
            SessionState::Aborted => {
                return Err(ApiError::new(409, "session_aborted", "the write session was ended by a relay violation"));
            }
        }
        if now() >= row.expires_unix {
            self.end(&row, SessionState::Expired, "session_expired", "the write session timed out")?;
            return Err(ApiError::new(410, "session_expired", "the write session timed out"));
        }
        if body.seq != row.next_seq {
            let msg = format!("message {} where {} was expected: replayed or reordered", body.seq, row.next_seq);
            self.end(&row, SessionState::Aborted, "relay_out_of_sequence", &msg)?;
            return Err(ApiError::new(409, "relay_out_of_sequence", msg));
        }
        let u = self.unseal(&row)?;
        let next = match self.authority.restore(&u.export) {
            Ok(mut session) => {
                let next = session.resume(&responses);
                let export = if matches!(next, Next::Batch(_)) { session.export() } else { Zeroizing::new(Vec::new()) };
                (next, export)
            }
            Err(e) => (
                Next::Refused(match e {
                    zairyu::write::authority::SessionImportError::Authority(a) => a,
                    _ => zairyu::write::authority::AuthorityError::SessionOver,
                }),
                Zeroizing::new(Vec::new()),
            ),
        };
        let (next, export) = next;
        let template = u.template;
        let (state, audit) = match &next {
            Next::Batch(_) => (SessionState::Open, None),
            Next::Done(receipt) => {
                let mut r = template.record(AuditResult::Written);
                r.old_content_sha256 = receipt
                    .old_content_sha256
                    .as_deref()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|v| v.try_into().ok());
                (SessionState::Finished, Some(r))
            }
            Next::Refused(e) => (
                SessionState::Finished,
                Some(template.record(AuditResult::Refused { code: e.code().to_owned(), message: e.to_string() })),
            ),
        };
        let new_seq = row.next_seq + 1;
        let to = Advance { state, next_seq: new_seq, last_request_sha256: Some(hash), audit: audit.as_ref() };
        let keys = &self.keys;
        let make = |head: Option<AuditHead>| {
            let wnext = match &next {
                Next::Batch(b) => WireNext::Batch { commands: wire::batch_to_wire(b) },
                Next::Done(r) => {
                    let head = head.unwrap_or(AuditHead::EMPTY);
                    WireNext::Receipt {
                        receipt: WireReceipt {
                            target: r.target.name().to_owned(),
                            content_sha256: r.content_sha256.clone(),
                            old_content_sha256: r.old_content_sha256.clone(),
                            card_number_sha256: r.card_number_sha256.clone(),
                            terminal: r.terminal.clone(),
                            chip_auth_info_signer: r.chip_auth_info_signer.clone(),
                            time_unix: r.time_unix,
                            round_trips: r.round_trips,
                            audit_seq: head.seq,
                            audit_hash: hex::encode(head.hash),
                        },
                    }
                }
                Next::Refused(e) => WireNext::Refused { code: e.code().to_owned(), message: e.to_string() },
            };
            let reply = StepReply { version: API_VERSION, session_id: row.id.clone(), seq: body.seq, next: wnext };
            let json = serde_json::to_vec(&reply).unwrap_or_default();
            (keys.seal(&row.id, new_seq, &pack(&export, &json, &template)), reply)
        };
        // Bound first: the connection goes back before the arms may take one again.
        let advanced = self.store().advance(&row.id, SessionState::Open, row.next_seq, &to, make)?;
        match advanced {
            Some(reply) => Ok(reply),
            None => {
                // Another instance processed a message of this session meanwhile.
                let now_row = self.store().session(id)?.ok_or_else(not_found)?;
                if is_retry(&now_row) {
                    self.stored_reply(&now_row)
                } else {
                    Err(ApiError::new(409, "relay_out_of_sequence", "the session moved on"))
                }
            }
        }
    }

    /// Expires the open sessions whose time is up, each with a `session_expired`
    /// audit record. Returns how many this call expired.
    pub fn sweep(&self) -> Result<usize, ApiError> {
        let rows = self.store().expired_open(now())?;
        let mut n = 0;
        for row in rows {
            if self.end(&row, SessionState::Expired, "session_expired", "the write session timed out")? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The shared handle of an instance.
pub type SharedService = Arc<Service>;

/// Audit entries with their breaks, for `audit verify` and `audit export`.
pub fn audit_entries(
    store: &mut Store,
) -> Result<Vec<Result<zairyu_authority_core::audit::AuditEntry, BreakKind>>, StoreError> {
    store.audit_entries()
}
