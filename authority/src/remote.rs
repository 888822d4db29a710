//! The counter's HTTPS link to a `zairyu-authority` service (feature `remote`): an
//! [`AuthorityLink`] over mutual TLS (rustls, the `ring` provider; no OpenSSL).
//!
//! * **Identity.** The counter presents its client certificate and key (PEM); the
//!   service takes the certificate's common name as the counter identity that its
//!   policy names.
//! * **Pinning.** The authority's certificate must chain to the one CA given
//!   (`--authority-ca`), never to the system's roots.
//! * **Time-outs.** Connecting, and every read and write, are bounded
//!   ([`RemoteOptions`]).
//! * **Retries that never replay a write.** Each message carries the session's
//!   sequence number ([`crate::wire`]); on a failure of the connection (refused,
//!   reset, timed out) or an answer `503`, the *same* message — same number, same
//!   bytes — is sent again, to the next endpoint in turn (instances sharing one
//!   database serve the same session). The service answers a message it has already
//!   processed with the answer it stored, so a retry never makes the authority sign
//!   again or the card receive a second batch. An opening carries a random
//!   `request_id` for the same purpose.
//!
//! Errors: a refusal of the service (its stable code) is
//! [`LinkError::RemoteRefused`]; a refusal inside a session (the card refused, a
//! bad MAC, …) too, with core's code; an unreachable service, or answers out of
//! protocol, [`LinkError::Unavailable`].
//!
//! HTTP/1.1, one request per connection (`Connection: close`): four exchanges per
//! write, each a fresh TLS 1.3 handshake on the municipal WAN.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use zairyu::auth::{OsRandom, RandomSource};
use zairyu::write::authority::{Batch, Next};
use zairyu::write::relay::{AuthorityLink, LinkError, OpenRequest};

use crate::audit::AuditHead;
use crate::wire::{
    self, API_VERSION, ErrorReply, OpenBody, ResponsesBody, StepReply, WireLimits, WireNext, WireRecord,
};

/// The largest answer the link reads (a batch of the second generation is about
/// 6 KB of hex; this leaves room).
pub const MAX_REPLY: usize = 1 << 20;

/// The code of a link whose client certificate the authority refused in the TLS
/// handshake (unknown CA, expired, revoked, or none): a refusal, not an unreachable
/// authority (`zairyu write-address` exits 20, not 23).
pub const CLIENT_CERTIFICATE_REFUSED: &str = "client_certificate_refused";

/// Why one attempt failed.
#[derive(Debug)]
struct Failure {
    message: String,
    /// The server answered the handshake with an alert about our certificate.
    certificate_refused: bool,
}

impl Failure {
    fn other(message: &str) -> Self {
        Failure { message: message.to_owned(), certificate_refused: false }
    }

    /// A failure of the TLS stream in `step`; rustls reports an alert the server
    /// sent as the stream's inner error.
    fn io(step: &str, e: &std::io::Error) -> Self {
        use rustls::AlertDescription as A;
        let alert = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).and_then(|t| match t {
            rustls::Error::AlertReceived(a) => Some(*a),
            _ => None,
        });
        let certificate_refused = matches!(
            alert,
            Some(
                A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::AccessDenied
                    | A::CertificateRequired
                    // rustls's answer to a certificate whose issuer's name matches the
                    // service's CA but whose signature does not verify under its key
                    // (another deployment's CA of the same name); also a broken
                    // Finished, which only a corrupted or tampered handshake makes.
                    | A::DecryptError
            )
        );
        Failure { message: format!("{step}: {e}"), certificate_refused }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, certificate_refused: false }
    }
}

/// Why the link cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteSetupError {
    /// The URL is not `https://HOST:PORT`.
    #[error("authority URL {0:?} is not https://HOST:PORT")]
    Url(String),
    /// A file cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A PEM file holds no certificate or key, or a malformed one.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the configuration (a key that does not fit the certificate, …).
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl RemoteSetupError {
    /// A stable name.
    pub fn code(&self) -> &'static str {
        match self {
            RemoteSetupError::Url(_) => "remote_url_invalid",
            RemoteSetupError::Io { .. } => "remote_file_unreadable",
            RemoteSetupError::Pem(_) => "remote_pem_invalid",
            RemoteSetupError::Tls(_) => "remote_tls_config",
        }
    }
}

/// Time-outs and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Connecting (TCP) to one endpoint.
    pub connect_timeout: Duration,
    /// Every read and write on a connection (the TLS handshake included).
    pub io_timeout: Duration,
    /// How many times a message is sent again after a failed attempt (over all
    /// endpoints in turn).
    pub retries: u32,
    /// The pause before each retry.
    pub retry_pause: Duration,
    /// Send each message to the next endpoint in turn (spreading one session over
    /// the instances), not only after a failure.
    pub round_robin: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(30),
            retries: 2,
            retry_pause: Duration::from_millis(200),
            round_robin: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, RemoteSetupError> {
        let bad = || RemoteSetupError::Url(url.to_owned());
        let rest = url.strip_prefix("https://").ok_or_else(bad)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) || port == 0 {
            return Err(bad());
        }
        Ok(Endpoint { host: host.to_owned(), port })
    }
}

/// The HTTPS link to a write authority service.
pub struct RemoteAuthority {
    tls: Arc<ClientConfig>,
    endpoints: Vec<Endpoint>,
    current: usize,
    options: RemoteOptions,
    session: Option<(String, u64)>,
    identity: Option<String>,
    last_audit_head: Option<AuditHead>,
    rng: Box<dyn RandomSource + Send>,
}

impl core::fmt::Debug for RemoteAuthority {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RemoteAuthority")
            .field("endpoints", &self.endpoints)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, RemoteSetupError> {
    std::fs::read(path).map_err(|e| RemoteSetupError::Io { path: path.display().to_string(), reason: e.to_string() })
}

impl RemoteAuthority {
    /// A link to the service at `urls` (`https://HOST:PORT`; more than one for
    /// instances sharing a database, tried in turn), presenting `client_cert_pem`
    /// (the certificate, then any intermediates) with `client_key_pem`, and
    /// trusting only `authority_ca_pem` for the service's certificate.
    pub fn new(
        urls: &[&str],
        client_cert_pem: &[u8],
        client_key_pem: &[u8],
        authority_ca_pem: &[u8],
    ) -> Result<Self, RemoteSetupError> {
        if urls.is_empty() {
            return Err(RemoteSetupError::Url(String::new()));
        }
        let endpoints = urls.iter().map(|u| Endpoint::parse(u)).collect::<Result<Vec<_>, _>>()?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(authority_ca_pem) {
            let c = c.map_err(|e| RemoteSetupError::Pem(format!("authority CA: {e}")))?;
            roots.add(c).map_err(|e| RemoteSetupError::Pem(format!("authority CA: {e}")))?;
        }
        if roots.is_empty() {
            return Err(RemoteSetupError::Pem("authority CA: no certificate".into()));
        }
        let chain = CertificateDer::pem_slice_iter(client_cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RemoteSetupError::Pem(format!("client certificate: {e}")))?;
        if chain.is_empty() {
            return Err(RemoteSetupError::Pem("client certificate: none".into()));
        }
        let identity = common_name(&chain[0]);
        let key = PrivateKeyDer::from_pem_slice(client_key_pem)
            .map_err(|_| RemoteSetupError::Pem("client key: no PKCS#8, SEC1 or PKCS#1 private key".into()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| RemoteSetupError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| RemoteSetupError::Tls(e.to_string()))?;
        Ok(RemoteAuthority {
            tls: Arc::new(tls),
            endpoints,
            current: 0,
            options: RemoteOptions::default(),
            session: None,
            identity,
            last_audit_head: None,
            rng: Box::new(OsRandom),
        })
    }

    /// As [`RemoteAuthority::new`], reading the three PEM files.
    pub fn from_files(
        urls: &[&str],
        client_cert: &Path,
        client_key: &Path,
        authority_ca: &Path,
    ) -> Result<Self, RemoteSetupError> {
        let key = zeroize::Zeroizing::new(read_file(client_key)?);
        Self::new(urls, &read_file(client_cert)?, &key, &read_file(authority_ca)?)
    }

    /// Sets the time-outs and retries.
    pub fn with_options(mut self, options: RemoteOptions) -> Self {
        self.options = options;
        self
    }

    /// The open session's id and the sequence number of the next message, if any.
    pub fn session(&self) -> Option<(&str, u64)> {
        self.session.as_ref().map(|(id, seq)| (id.as_str(), *seq))
    }

    /// The counter identity this link presents: the common name of its client
    /// certificate (what the service's policy and audit log name), if it has one.
    pub fn counter_identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The service's audit head (`seq`, `hash`) of the `written` record of the last
    /// write that ended in a receipt through this link, if any: keep it with the
    /// receipt, away from the authority (`zairyu-authority audit verify --head`).
    pub fn last_audit_head(&self) -> Option<AuditHead> {
        self.last_audit_head
    }

    /// One attempt: connect, TLS, send, read the whole answer.
    fn attempt(&self, ep: &Endpoint, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), Failure> {
        let addrs = (ep.host.as_str(), ep.port).to_socket_addrs().map_err(|e| format!("resolve {}: {e}", ep.host))?;
        let mut last = format!("{}: no address", ep.host);
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.options.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = format!("connect {a}: {e}"),
            }
        }
        let tcp = tcp.ok_or(last)?;
        tcp.set_read_timeout(Some(self.options.io_timeout)).map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(self.options.io_timeout)).map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let name = ServerName::try_from(ep.host.clone()).map_err(|e| format!("server name: {e}"))?;
        let conn = ClientConnection::new(Arc::clone(&self.tls), name).map_err(|e| format!("TLS: {e}"))?;
        let mut tls = StreamOwned::new(conn, tcp);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            ep.host,
            ep.port,
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        tls.write_all(&req).map_err(|e| Failure::io("send", &e))?;
        tls.flush().map_err(|e| Failure::io("send", &e))?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.len() > MAX_REPLY {
                        return Err(Failure::other("answer too large"));
                    }
                    if let Some(done) = complete(&raw) {
                        raw.truncate(done);
                        break;
                    }
                }
                // A peer that closes without close_notify after a complete answer.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && complete(&raw).is_some() => break,
                Err(e) => return Err(Failure::io("receive", &e)),
            }
        }
        parse_response(&raw).ok_or_else(|| Failure::other("malformed HTTP answer"))
    }

    /// Sends `body` to `path`, retrying the same bytes on connection failures and
    /// `503`s, endpoint after endpoint.
    ///
    /// An endpoint that refuses this counter's certificate in the handshake is not
    /// asked again; when no endpoint answered and one of them refused the
    /// certificate, the failure is that refusal ([`CLIENT_CERTIFICATE_REFUSED`]),
    /// not an unreachable authority: retrying later will not help.
    fn post(&mut self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), LinkError> {
        let mut errors = Vec::new();
        let mut refused: Vec<usize> = Vec::new();
        for attempt in 0..=self.options.retries {
            if attempt > 0 {
                std::thread::sleep(self.options.retry_pause);
            }
            let at = self.current % self.endpoints.len();
            if refused.len() == self.endpoints.len() {
                break;
            }
            if refused.contains(&at) {
                self.current = (self.current + 1) % self.endpoints.len();
                continue;
            }
            let ep = &self.endpoints[at];
            match self.attempt(ep, path, body) {
                Ok((503, b)) => errors.push(format!("{}:{}: 503 {}", ep.host, ep.port, error_code(&b))),
                Ok(r) => {
                    if self.options.round_robin {
                        self.current = (self.current + 1) % self.endpoints.len();
                    }
                    return Ok(r);
                }
                Err(e) => {
                    if e.certificate_refused {
                        refused.push(at);
                    }
                    errors.push(format!("{}:{}: {}", ep.host, ep.port, e.message));
                }
            }
            log::debug!("authority link: attempt {} failed: {}", attempt + 1, errors.last().map_or("", |s| s));
            self.current = (self.current + 1) % self.endpoints.len();
        }
        if !refused.is_empty() {
            return Err(LinkError::RemoteRefused {
                code: CLIENT_CERTIFICATE_REFUSED.into(),
                message: format!("the authority refused this counter's certificate: {}", errors.join("; ")),
            });
        }
        Err(LinkError::Unavailable(errors.join("; ")))
    }

    fn step(&mut self, status: u16, body: &[u8], expect: u16) -> Result<StepReply, LinkError> {
        if status != expect {
            return Err(refusal(status, body));
        }
        let reply: StepReply = serde_json::from_slice(body)
            .map_err(|e| LinkError::Unavailable(format!("authority answered out of protocol: {e}")))?;
        if reply.version != API_VERSION {
            return Err(LinkError::Unavailable(format!("authority API version {}", reply.version)));
        }
        Ok(reply)
    }

    fn next(&mut self, reply: StepReply) -> Result<Next, LinkError> {
        let proto = |m: &str| LinkError::Unavailable(format!("authority answered out of protocol: {m}"));
        match reply.next {
            WireNext::Batch { commands } => {
                let batch = wire::batch_from_wire(&commands).ok_or_else(|| proto("an APDU is not hex"))?;
                self.session = Some((reply.session_id, reply.seq + 1));
                Ok(Next::Batch(batch))
            }
            WireNext::Receipt { receipt } => {
                self.session = None;
                let done = wire::receipt_from_wire(&receipt).ok_or_else(|| proto("receipt target"))?;
                let hash = hex::decode(&receipt.audit_hash).ok().and_then(|h| <[u8; 32]>::try_from(h).ok());
                self.last_audit_head = hash.map(|hash| AuditHead { seq: receipt.audit_seq, hash });
                Ok(Next::Done(done))
            }
            WireNext::Refused { code, message } => {
                self.session = None;
                Err(LinkError::RemoteRefused { code, message })
            }
        }
    }
}

/// The common name of a certificate, if it has a printable one.
fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(cert.as_ref()).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    let cn = cn.value().into_owned();
    (!cn.is_empty() && !cn.chars().any(char::is_control)).then_some(cn)
}

/// The code of an error answer, or `?`.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorReply>(body).map_or_else(|_| "?".to_owned(), |e| e.error.code)
}

/// A non-success answer as a typed error: the service's code, or one named after
/// the HTTP status when the body is not the service's error JSON.
fn refusal(status: u16, body: &[u8]) -> LinkError {
    match serde_json::from_slice::<ErrorReply>(body) {
        Ok(e) if status < 500 => LinkError::RemoteRefused { code: e.error.code, message: e.error.message },
        Ok(e) => LinkError::Unavailable(format!("authority failed [{}]: {}", e.error.code, e.error.message)),
        Err(_) if status == 413 => {
            LinkError::RemoteRefused { code: "request_too_large".into(), message: "request too large".into() }
        }
        Err(_) => LinkError::Unavailable(format!("authority answered HTTP {status}")),
    }
}

/// The length of a complete HTTP answer in `raw` (headers and `Content-Length`
/// bytes of body), if it is complete.
fn complete(raw: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = resp.parse(raw).ok()? else { return None };
    let len = content_length(resp.headers)?;
    (raw.len() >= head + len).then_some(head + len)
}

fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| core::str::from_utf8(h.value).ok())
        .and_then(|v| v.trim().parse().ok())
}

fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = resp.parse(raw).ok()? else { return None };
    let status = resp.code?;
    let body = &raw[head..];
    let body = match content_length(resp.headers) {
        Some(n) => body.get(..n)?,
        None => body,
    };
    Some((status, body.to_vec()))
}

impl AuthorityLink for RemoteAuthority {
    fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError> {
        self.session = None;
        self.last_audit_head = None;
        let mut rid = [0u8; 16];
        self.rng.fill(&mut rid);
        let body = OpenBody {
            version: API_VERSION,
            request_id: hex::encode(rid),
            target: request.target.name().to_owned(),
            record: WireRecord::from(&request.record),
            operator_id: request.operator_id.clone(),
            chip_auth_info: hex::encode(&request.chip_auth_info),
            limits: WireLimits::from(request.limits),
            card_number_sha256: request.card_number_hash.map(hex::encode),
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| LinkError::Unavailable(e.to_string()))?;
        let (status, answer) = self.post("/v1/sessions", &bytes)?;
        let reply = self.step(status, &answer, 201)?;
        if reply.seq != 0 {
            return Err(LinkError::Unavailable("authority answered the opening with another sequence number".into()));
        }
        match self.next(reply)? {
            Next::Batch(b) => Ok(b),
            _ => Err(LinkError::Unavailable("authority answered the opening without a batch".into())),
        }
    }

    fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError> {
        let (id, seq) = self.session.clone().ok_or_else(|| LinkError::Unavailable("no open write session".into()))?;
        let body = ResponsesBody { version: API_VERSION, seq, responses: responses.iter().map(hex::encode).collect() };
        let bytes = serde_json::to_vec(&body).map_err(|e| LinkError::Unavailable(e.to_string()))?;
        let path = format!("/v1/sessions/{id}/responses");
        let result = self.post(&path, &bytes).and_then(|(status, answer)| self.step(status, &answer, 200));
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                self.session = None;
                return Err(e);
            }
        };
        if reply.seq != seq || reply.session_id != id {
            self.session = None;
            return Err(LinkError::Unavailable("authority answered another message".into()));
        }
        self.next(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_host_port() {
        assert_eq!(
            Endpoint::parse("https://127.0.0.1:8443").unwrap(),
            Endpoint { host: "127.0.0.1".into(), port: 8443 }
        );
        assert_eq!(Endpoint::parse("https://[::1]:8443/").unwrap(), Endpoint { host: "::1".into(), port: 8443 });
        assert_eq!(Endpoint::parse("https://authority.example:443").unwrap().host, "authority.example");
        for bad in ["http://h:1", "https://h", "https://h:0", "https://h:x", "https://:1", "https://u@h:1", "h:1"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_parsed_whole_or_not_at_all() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(complete(ok), Some(ok.len()));
        assert_eq!(parse_response(ok), Some((200, b"{}".to_vec())));
        assert_eq!(complete(&ok[..ok.len() - 1]), None);
        assert_eq!(parse_response(&ok[..ok.len() - 1]), None);
        assert_eq!(parse_response(b"garbage"), None);
        let e = refusal(403, br#"{"version":1,"error":{"code":"policy_unknown_counter","message":"m"}}"#);
        assert_eq!(e, LinkError::RemoteRefused { code: "policy_unknown_counter".into(), message: "m".into() });
        assert!(matches!(refusal(502, b"<html>"), LinkError::Unavailable(_)));
        assert!(
            matches!(refusal(413, b"too big"), LinkError::RemoteRefused { code, .. } if code == "request_too_large")
        );
    }

    #[test]
    fn setup_refuses_bad_inputs() {
        let e = RemoteAuthority::new(&["https://h:1"], b"", b"", b"").unwrap_err();
        assert_eq!(e.code(), "remote_pem_invalid");
        let e = RemoteAuthority::new(&["http://h:1"], b"", b"", b"").unwrap_err();
        assert_eq!(e.code(), "remote_url_invalid");
        assert_eq!(RemoteAuthority::new(&[], b"", b"", b"").unwrap_err().code(), "remote_url_invalid");
    }
}
