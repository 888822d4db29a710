//! The counter page's HTTP side: routes, and the guard every request passes.
//!
//! The guard, in order: the Host header must be the one host of the printed URL — on
//! loopback a random name of the run, `<32 hex>.localhost:PORT`, so that the session
//! cookie (host-only; cookies are not bound to a port) goes to no other local
//! program, and a page of another site that rebinds its name to 127.0.0.1 sends its
//! own name; a POST must carry exactly the page's own Origin (the page's
//! `Referrer-Policy: same-origin` lets the browser send it): no cross-site form
//! posts; the first visit brings the
//! per-run token in the URL (`/?token=…`, compared in constant time), which starts
//! the one clerk session — an HttpOnly, SameSite=Strict cookie, and a redirect that
//! takes the token out of the address bar — and every other request must carry that
//! session's cookie. A second browser is refused while the session lives (an open
//! event stream, or a request within [`SESSION_IDLE`](super::SESSION_IDLE)). Every
//! answer, refusals included, carries the strict Content-Security-Policy (no inline
//! script, no framing), `Cache-Control: no-store`, `nosniff` and `Referrer-Policy: same-origin`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use subtle::ConstantTimeEq;
use zairyu::CardNumber;
use zairyu::write::record::NewAddress;
use zeroize::{Zeroize, Zeroizing};

use super::{App, CardState, LOG, Notice, PendingWrite, SESSION_IDLE, Session, WriteForm};

/// The session cookie.
const COOKIE: &str = "zairyu_counter";

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; \
                       object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SCRIPT: &str = include_str!("assets/counter.js");
const STYLE: &str = include_str!("assets/counter.css");

/// The app's routes behind the guard.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/events", get(events))
        .route("/read", post(read))
        .route("/write/check", post(write_check))
        .route("/write/confirm", post(write_confirm))
        .route("/write/cancel", post(write_cancel))
        .route("/sim/insert", post(sim_insert))
        .route("/sim/remove", post(sim_remove))
        .route("/evidence.json", get(evidence))
        .route("/export.csv", get(export_csv))
        .route("/export.json", get(export_json))
        .route(
            "/static/counter.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT) }),
        )
        .route("/static/counter.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
        .route(
            "/static/verdict.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], zairyu_evidence::VERDICT_CSS) }),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&app), guard))
        .with_state(app)
}

/// A refusal: a short text in both languages.
fn refuse(status: StatusCode, code: &str, ja: &str, en: &str) -> Response {
    log::info!(target: LOG, "request refused: {code}");
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{ja}\n{en}\n[{code}]\n")).into_response()
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The value of the session cookie.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The `token` query parameter.
fn query_token(req: &Request) -> Option<&str> {
    req.uri().query()?.split('&').find_map(|p| p.strip_prefix("token="))
}

/// Sets the headers every answer carries.
fn secure(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
}

async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let mut resp = check(&app, req, next).await;
    secure(resp.headers_mut());
    resp
}

async fn check(app: &App, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if host != app.host {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "counter_bad_host",
            "このアドレスでは開けません。表示されたURLを使ってください。",
            "Wrong Host: open the page with the URL zairyu counter printed.",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("");
        if origin.strip_prefix("http://") != Some(app.host.as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "counter_bad_origin",
                "他のページからの送信は受け付けません。",
                "Refused: the request does not come from the counter page (Origin).",
            );
        }
    }
    if req.uri().path() == "/"
        && let Some(token) = query_token(&req)
    {
        return start_session(app, token, cookie(req.headers()));
    }
    let Some(sid) = cookie(req.headers()) else {
        return no_session();
    };
    {
        let mut st = app.lock();
        match st.session.as_mut() {
            Some(s) if ct_eq(sid, &s.id) => s.last_seen = Instant::now(),
            _ => return no_session(),
        }
    }
    next.run(req).await
}

fn no_session() -> Response {
    refuse(
        StatusCode::FORBIDDEN,
        "counter_token_required",
        "このページを開くには、zairyu counter が表示したURL（トークン付き）が必要です。",
        "Refused: open the page with the URL (with its token) that zairyu counter printed.",
    )
}

/// The first visit: the token starts the one clerk session.
fn start_session(app: &App, token: &str, cookie: Option<&str>) -> Response {
    if !ct_eq(token, &app.token) {
        return refuse(
            StatusCode::FORBIDDEN,
            "counter_bad_token",
            "トークンが違います。zairyu counter が表示したURLを使ってください。",
            "Wrong token: use the URL zairyu counter printed.",
        );
    }
    let mut st = app.lock();
    let own = matches!((&st.session, cookie), (Some(s), Some(c)) if ct_eq(c, &s.id));
    let live = st
        .session
        .as_ref()
        .is_some_and(|s| app.streams.load(Ordering::SeqCst) > 0 || s.last_seen.elapsed() < SESSION_IDLE);
    if live && !own {
        return refuse(
            StatusCode::CONFLICT,
            "counter_session_busy",
            "このカードリーダーは別の画面で使用中です。そちらを閉じてから開き直してください。",
            "This reader is in use by another browser session: close that one first.",
        );
    }
    let Ok(id) = super::random_hex(32) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "counter_random_failed", "内部エラー", "No randomness.");
    };
    let set_cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", id.as_str());
    st.session = Some(Session { id, last_seen: Instant::now() });
    log::info!(target: LOG, "clerk session started");
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn back() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let mut st = app.lock();
    html(super::page::render(&app, &mut st))
}

/// Counts an open event stream of the session; it lives as long as the stream.
struct StreamGuard(Arc<App>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
        if let Some(s) = self.0.lock().session.as_mut() {
            s.last_seen = Instant::now();
        }
    }
}

async fn events(State(app): State<Arc<App>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    app.streams.fetch_add(1, Ordering::SeqCst);
    let guard = StreamGuard(Arc::clone(&app));
    let rx = app.events.subscribe();
    let stream = futures_util::stream::unfold((rx, guard, true), |(mut rx, guard, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let data = rx.borrow_and_update().clone();
        Some((Ok(Event::default().data(data)), (rx, guard, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Takes the `number` field out of an urlencoded body into a zeroizing buffer, and
/// wipes the body where it can.
fn take_number(body: Bytes) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(16));
    for field in body.split(|&b| b == b'&') {
        if let Some(value) = field.strip_prefix(b"number=") {
            let mut i = 0;
            while i < value.len() && out.len() < 64 {
                match value[i] {
                    b'+' => out.push(b' '),
                    b'%' if i + 2 < value.len() => {
                        let hex = |c: u8| (c as char).to_digit(16);
                        match (hex(value[i + 1]), hex(value[i + 2])) {
                            (Some(h), Some(l)) => {
                                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                                i += 2;
                            }
                            _ => out.push(b'%'),
                        }
                    }
                    b => out.push(b),
                }
                i += 1;
            }
        }
    }
    if let Ok(mut owned) = body.try_into_mut() {
        owned.zeroize();
    }
    out
}

/// Takes the number for the current card and marks the read as running; `None`
/// when there is nothing to read (or the number is malformed: then a notice).
fn begin_read(app: &App, typed: Zeroizing<Vec<u8>>) -> Option<(u64, u32, CardNumber)> {
    let mut st = app.lock();
    let (insertion, count) = st.insertion()?;
    if st.reading || st.current_card().is_some() {
        return None;
    }
    let parsed = CardNumber::parse(std::str::from_utf8(&typed).unwrap_or("").trim());
    drop(typed);
    match parsed {
        Ok(number) => {
            st.reading = true;
            st.notice = None;
            app.publish(&mut st);
            Some((insertion, count, number))
        }
        Err(e) => {
            st.notice = Some(super::read_notice(&e.into()));
            app.publish(&mut st);
            None
        }
    }
}

/// Keeps the outcome of a read of insertion `insertion`.
fn end_read(
    app: &App,
    insertion: u64,
    count: u32,
    result: Result<(Result<zairyu::sequence::CardRead, zairyu::Error>, CardNumber), tokio::task::JoinError>,
) {
    let mut st = app.lock();
    st.reading = false;
    match result {
        Ok((Ok(read), number)) => {
            if st.insertion() == Some((insertion, count)) {
                log::info!(target: LOG, "insertion {insertion}: read, verdict {}", read.verification.verdict().as_str());
                let report_body = super::report_body(&read);
                st.card = Some(CardState {
                    insertion,
                    number: Arc::new(number),
                    read: Box::new(read),
                    report_body,
                    form: WriteForm::default(),
                    pending: None,
                    written: None,
                    write_error: None,
                    writing: false,
                });
            } else {
                st.notice = Some(super::read_notice(&zairyu::error::TransportError::CardRemoved.into()));
            }
        }
        Ok((Err(e), _number)) => {
            log::info!(target: LOG, "insertion {insertion}: read failed: {}", e.code());
            st.notice = Some(super::read_notice(&e));
        }
        Err(_) => {
            st.notice =
                Some(Notice::new("counter_internal", "内部エラーです。", "Internal error: the read task failed."));
        }
    }
    app.publish(&mut st);
}

async fn read(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Some((insertion, count, number)) = begin_read(&app, take_number(body)) else {
        return back();
    };
    let app2 = Arc::clone(&app);
    let result = tokio::task::spawn_blocking(move || {
        let r = super::read_now(&app2, count, &number);
        (r, number)
    })
    .await;
    end_read(&app, insertion, count, result);
    back()
}

/// The write form's fields.
#[derive(serde::Deserialize)]
struct WriteFields {
    date: String,
    municipality_code: String,
    address: String,
    operator: String,
}

async fn write_check(State(app): State<Arc<App>>, Form(f): Form<WriteFields>) -> Response {
    if !app.can_write() {
        return not_configured();
    }
    let record = NewAddress {
        date: f.date.trim().to_owned(),
        municipality_code: f.municipality_code.trim().to_owned(),
        address: f.address.clone(),
    };
    let operator = f.operator.trim().to_owned();
    let checked = super::check_write(&app, &record, &operator);
    let mut st = app.lock();
    let Some(card) = st.current_card() else {
        return back();
    };
    if card.writing || card.written.is_some() {
        return back();
    }
    card.write_error = None;
    match checked {
        Ok(()) => match super::random_hex(16) {
            Ok(nonce) => {
                card.form = WriteForm { record: Some(record.clone()), operator: operator.clone(), error: None };
                card.pending = Some(PendingWrite { record, operator, nonce });
            }
            Err(_) => {
                let notice = Notice::new("counter_random_failed", "内部エラーです。", "Internal error: no randomness.");
                card.form = WriteForm { record: Some(record), operator, error: Some(notice) };
                card.pending = None;
            }
        },
        Err(notice) => {
            card.form = WriteForm { record: Some(record), operator, error: Some(notice) };
            card.pending = None;
        }
    }
    app.publish(&mut st);
    back()
}

async fn write_cancel(State(app): State<Arc<App>>) -> Response {
    let mut st = app.lock();
    if let Some(card) = st.current_card() {
        card.pending = None;
    }
    app.publish(&mut st);
    back()
}

fn not_configured() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "write_not_configured",
        "この画面では住居地の書き込みはできません（書き込み機関が設定されていません）。",
        "The address write is not available: no write authority is configured.",
    )
}

/// The `nonce` field of the confirmation form (hex: no decoding).
fn form_nonce(body: &[u8]) -> &[u8] {
    body.split(|&b| b == b'&').find_map(|f| f.strip_prefix(b"nonce=")).unwrap_or(b"")
}

async fn write_confirm(State(app): State<Arc<App>>, body: Bytes) -> Response {
    if !app.can_write() {
        return not_configured();
    }
    let nonce = form_nonce(&body);
    let (count, number, pending) = {
        let mut st = app.lock();
        let Some((_, count)) = st.insertion() else {
            return back();
        };
        let Some(card) = st.current_card() else {
            return back();
        };
        if card.writing || card.written.is_some() {
            return back();
        }
        let Some(pending) = card.pending.clone() else {
            return back();
        };
        // The record confirmed must be the one shown with this form: a later check
        // (another tab) replaced it, and the clerk has not seen that one.
        if !bool::from(nonce.ct_eq(pending.nonce.as_bytes())) {
            log::info!(target: LOG, "write refused: the confirmation is not of the pending record");
            card.write_error = Some(Notice::new(
                "write_confirm_stale",
                "確認した内容は最新ではありません（書き込んでいません）。表示されている内容を確かめて、もう一度「書き込む」を押してください。",
                "Not written: the confirmation was for another record than the one now pending. Check what is shown and confirm again.",
            ));
            app.publish(&mut st);
            return back();
        }
        card.writing = true;
        let number = Arc::clone(&card.number);
        app.publish(&mut st);
        (count, number, pending)
    };
    let app2 = Arc::clone(&app);
    let result = tokio::task::spawn_blocking(move || super::write_now(&app2, count, &number, &pending)).await;
    let mut st = app.lock();
    if let Some(card) = st.current_card() {
        card.writing = false;
        card.pending = None;
        match result {
            Ok(Ok(receipt)) => {
                log::info!(target: LOG, "address written and confirmed by a re-read");
                // The page then marks the report as the read before the write.
                card.written = Some(receipt);
            }
            Ok(Err(notice)) => {
                log::info!(target: LOG, "write not confirmed: {}", notice.code);
                card.write_error = Some(notice);
            }
            Err(_) => {
                card.write_error =
                    Some(Notice::new("counter_internal", "内部エラーです。", "Internal error: the write task failed."));
            }
        }
    }
    app.publish(&mut st);
    back()
}

/// `--sim`: the simulated card goes in.
async fn sim_insert(State(app): State<Arc<App>>) -> Response {
    if app.sim_set(true) { back() } else { not_sim() }
}

/// `--sim`: the simulated card comes out.
async fn sim_remove(State(app): State<Arc<App>>) -> Response {
    if app.sim_set(false) { back() } else { not_sim() }
}

fn not_sim() -> Response {
    refuse(StatusCode::NOT_FOUND, "counter_not_sim", "模擬カードはありません。", "There is no simulated card (--sim).")
}

/// A download of the current card's read.
fn download(
    app: &App,
    name: &str,
    content_type: &'static str,
    record: bool,
    make: impl FnOnce(&CardState) -> Vec<u8>,
) -> Response {
    let mut st = app.lock();
    let Some(card) = st.current_card() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "counter_no_result",
            "読み取り結果がありません（カードが取り外されると結果は消去されます）。",
            "No read result: results are dropped when the card is removed.",
        );
    };
    if record && !super::exportable(&card.read) {
        return refuse(
            StatusCode::FORBIDDEN,
            "counter_export_not_genuine",
            "署名が確認できないカードの記録は出力できません（証拠の保存はできます）。",
            "No record export for a card whose signature does not verify to a trusted root (save the evidence instead).",
        );
    }
    let body = make(card);
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut resp = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn evidence(State(app): State<Arc<App>>) -> Response {
    download(&app, "evidence.json", "application/json", false, |card| {
        let opts = zairyu_evidence::EvidenceOptions {
            card_number: zairyu_evidence::CardNumberPolicy::RedactTyped(&card.number),
            ..Default::default()
        };
        zairyu_evidence::evidence_json(&card.read, &opts)
    })
}

async fn export_csv(State(app): State<Arc<App>>) -> Response {
    download(&app, "record.csv", "text/csv; charset=utf-8", true, |card| {
        let row = zairyu_evidence::export_row(&card.read, &zairyu_evidence::ExportOptions::default());
        // For a spreadsheet: card text (the first generation's address is unsigned)
        // starting with `=`, `+`, `-`, `@` is not run as a formula.
        let opts = zairyu_evidence::CsvOptions { guard_formulas: true, ..Default::default() };
        zairyu_evidence::write_csv(&[row], &opts).into_bytes()
    })
}

async fn export_json(State(app): State<Arc<App>>) -> Response {
    download(&app, "record.json", "application/json", true, |card| {
        let row = zairyu_evidence::export_row(&card.read, &zairyu_evidence::ExportOptions::default());
        zairyu_evidence::write_jsonl(&[row]).into_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_is_taken_from_the_body() {
        assert_eq!(&take_number(Bytes::from_static(b"number=AB12345678CD"))[..], b"AB12345678CD");
        assert_eq!(&take_number(Bytes::from_static(b"x=1&number=ab%31%322"))[..], b"ab122");
        assert_eq!(&take_number(Bytes::from_static(b"number=%4"))[..], b"%4");
        assert_eq!(&take_number(Bytes::from_static(b"other=AB12345678CD"))[..], b"");
        assert_eq!(take_number(Bytes::from(vec![b'A'; 500]).slice(..)).len(), 0);
    }

    #[test]
    fn the_nonce_is_taken_from_the_confirm_form() {
        assert_eq!(form_nonce(b"nonce=00ff"), b"00ff");
        assert_eq!(form_nonce(b"a=1&nonce=ab&nonce=cd"), b"ab");
        assert_eq!(form_nonce(b"nonces=ab"), b"");
        assert_eq!(form_nonce(b""), b"");
    }

    #[test]
    fn cookies_and_tokens_are_found() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; zairyu_counter=abc; c=d"));
        assert_eq!(cookie(&h), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("zairyu_counterx=abc"));
        assert_eq!(cookie(&h), None);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
    }
}
