//! HTTPS with mutual TLS in front of [`Service`]: rustls (ring provider) accepts
//! only counters whose client certificate chains to the configured CA, is within
//! its validity and not on a configured CRL — anything else fails the handshake,
//! before a byte of HTTP. The certificate's common name is the counter identity
//! the handlers get.
//!
//! axum routes ([`router`]): thin handlers that run [`Service`]'s blocking calls
//! (database, signing) on tokio's blocking pool; one error type turned into JSON
//! answers in one place; a body limit and a per-request time limit as layers.
//! A background task per instance expires abandoned sessions ([`Service::sweep`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use zairyu_authority_core::wire::{API_VERSION, ErrorReply, OpenBody, ResponsesBody, WireError};

use crate::config::Config;
use crate::service::{ApiError, Service, SetupError};

/// The counter identity of a connection: its client certificate's common name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterId(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorReply { version: API_VERSION, error: WireError { code: self.code, message: self.message } };
        (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    }
}

fn json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(413, "request_too_large", "the request body is larger than the service accepts")
        } else {
            ApiError::new(400, "bad_request", e.body_text())
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiError::new(400, "bad_request", format!("JSON: {e}")))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| ApiError::new(500, "internal", "the request failed"))?
}

fn reply<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(v)).into_response()
}

async fn open(
    State(svc): State<Arc<Service>>,
    Extension(id): Extension<CounterId>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body: OpenBody = json(body)?;
    let r = blocking(move || svc.open(&id.0, body)).await?;
    Ok(reply(StatusCode::CREATED, &r))
}

async fn respond(
    State(svc): State<Arc<Service>>,
    Extension(id): Extension<CounterId>,
    Path(session): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body: ResponsesBody = json(body)?;
    let r = blocking(move || svc.respond(&id.0, &session, body)).await?;
    Ok(reply(StatusCode::OK, &r))
}

async fn not_found() -> ApiError {
    ApiError::new(404, "not_found", "no such endpoint")
}

async fn time_limit(State(limit): State<Duration>, req: Request<Body>, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(503, "request_timeout", "the request took too long").into_response(),
    }
}

/// The routes of API version 1.
pub fn router(svc: Arc<Service>, max_body: usize, request_timeout: Duration) -> Router {
    Router::new()
        .route("/v1/sessions", post(open))
        .route("/v1/sessions/{id}/responses", post(respond))
        .fallback(not_found)
        .with_state(svc)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(request_timeout, time_limit))
}

/// The server's TLS configuration: its certificate, client certificates required
/// and verified against the counter CA (and CRLs).
pub fn tls_config(config: &Config) -> Result<rustls::ServerConfig, SetupError> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| SetupError(format!("{}: {e}", p.display())));
    let chain = CertificateDer::pem_slice_iter(&read(&config.tls_cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SetupError(format!("{}: {e}", config.tls_cert.display())))?;
    let key_pem = zeroize::Zeroizing::new(read(&config.tls_key)?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| SetupError(format!("{}: {e}", config.tls_key.display())))?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&read(&config.client_ca)?) {
        let c = c.map_err(|e| SetupError(format!("{}: {e}", config.client_ca.display())))?;
        roots.add(c).map_err(|e| SetupError(format!("{}: {e}", config.client_ca.display())))?;
    }
    let mut crls = Vec::new();
    for p in &config.client_crls {
        for c in CertificateRevocationListDer::pem_slice_iter(&read(p)?) {
            crls.push(c.map_err(|e| SetupError(format!("{}: {e}", p.display())))?);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .with_crls(crls)
        .build()
        .map_err(|e| SetupError(format!("client verifier: {e}")))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| SetupError(format!("server certificate: {e}")))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// The common name of a client's end-entity certificate.
pub fn counter_identity(certs: Option<&[CertificateDer<'_>]>) -> Option<CounterId> {
    use der::Decode;
    let der = certs?.first()?;
    let cert = x509_cert::Certificate::from_der(der.as_ref()).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    let cn = cn.value().into_owned();
    (!cn.is_empty() && !cn.chars().any(char::is_control)).then_some(CounterId(cn))
}

/// Serves `app` over TLS on `listener` until the task is dropped; each
/// connection's counter identity is put into its requests.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, app: Router, handshake_timeout: Duration) {
    let acceptor = TlsAcceptor::from(tls);
    // Connections live in this set: dropping the server drops them all.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        conns.spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    log::info!("TLS handshake with {peer} refused: {e}");
                    return;
                }
                Err(_) => {
                    log::info!("TLS handshake with {peer} timed out");
                    return;
                }
            };
            let Some(id) = counter_identity(tls.get_ref().1.peer_certificates()) else {
                log::info!("client certificate of {peer} has no usable common name");
                return;
            };
            log::debug!("connection from {peer}: counter {:?}", id.0);
            let svc = TowerToHyperService::new(app.layer(Extension(id)));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(handshake_timeout)
                .serve_connection(TokioIo::new(tls), svc);
            if let Err(e) = conn.await {
                log::debug!("connection from {peer}: {e}");
            }
        });
    }
}

/// A running instance (tests, `serve`): its own tokio runtime; dropping or
/// [`RunningServer::kill`]ing it stops everything at once, connections included.
pub struct RunningServer {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    service: Arc<Service>,
}

impl core::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RunningServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Starts an instance of `config`'s service (listening on `config.listen`;
    /// port 0 picks one).
    pub fn start(config: &Config) -> Result<Self, SetupError> {
        let service = Arc::new(Service::from_config(config)?);
        let tls = Arc::new(tls_config(config)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .enable_all()
            .build()
            .map_err(|e| SetupError(format!("runtime: {e}")))?;
        let listener = runtime
            .block_on(TcpListener::bind(config.listen))
            .map_err(|e| SetupError(format!("listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(|e| SetupError(e.to_string()))?;
        let timeout = Duration::from_secs(config.request_timeout_secs);
        let app = router(Arc::clone(&service), config.max_body_bytes, timeout);
        runtime.spawn(serve(listener, tls, app, timeout));
        let sweeper = Arc::clone(&service);
        let every = Duration::from_secs(config.sweep_interval_secs);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let s = Arc::clone(&sweeper);
                match tokio::task::spawn_blocking(move || s.sweep()).await {
                    Ok(Ok(n)) if n > 0 => log::info!("expired {n} abandoned write sessions"),
                    Ok(Err(e)) => log::warn!("sweep: {e}"),
                    _ => {}
                }
            }
        });
        Ok(RunningServer { addr, runtime: Some(runtime), service })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The instance's service (tests: sweep now).
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Stops the instance at once, as a crash would: open connections are cut,
    /// nothing is finished.
    pub fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Blocks until Ctrl-C / SIGTERM.
    pub fn wait_for_shutdown(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.block_on(async {
                #[cfg(unix)]
                {
                    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                        Ok(t) => t,
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {},
                        _ = term.recv() => {},
                    }
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
            });
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
