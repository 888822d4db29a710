//! `zairyu counter`, the clerk's page, tested as the clerk uses it: in Debian's
//! Chromium (headless) driven through WebDriver (`chromedriver`, package
//! `chromium-driver`), with the card simulator served on vsmartcard's virtual reader
//! of a real pcscd (`zairyu sim serve --vpcd-port 35963`, reader "Virtual PCD 00 00").
//!
//! The browser tests are `#[ignore]`d because they need pcscd with vpcd; scripts/test-all
//! runs them (`cargo test -p zairyu-cli --test counter -- --ignored --test-threads=1`,
//! under `flock /tmp/zairyu-pcsc.lock` when run by hand beside other PC/SC tests). A
//! missing Chromium or chromedriver fails them, naming the package. They save
//! screenshots of the main states to `docs/images/counter-*.png` (the README shows
//! them).
//!
//! The security tests (token, session, Host, Origin, headers) speak plain HTTP over a
//! TCP stream and need no reader: they run in every `cargo test`.
#![cfg(feature = "counter")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

#[path = "../../pcsc/tests/common/pcscd.rs"]
#[allow(dead_code)]
mod pcscd;

use crate::pcscd::wait_card;

const READER: &str = "Virtual PCD 00 00";
const PORT: &str = "35963";
const NUMBER: &str = "AB12345678CD";
/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

fn zairyu() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zairyu"));
    c.env_remove("ZAIRYU_CARD_NUMBER");
    c
}

/// Kills and reaps a child process.
fn end(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A `zairyu sim serve` card in the virtual reader; removed (killed) on drop.
struct Served(Child);

impl Served {
    fn start(extra: &[&str]) -> Served {
        let child = zairyu()
            .args(["sim", "serve", "--vpcd-port", PORT])
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let served = Served(child);
        wait_card(READER, true, Duration::from_secs(15));
        served
    }

    /// Pulls the card after `delay`, from another thread (the browser may be blocked
    /// in a request meanwhile).
    fn pull_after(&self, delay: Duration) -> std::thread::JoinHandle<()> {
        let pid = self.0.id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").args(["-9", &pid]).status();
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        end(&mut self.0);
        wait_card(READER, false, Duration::from_secs(15));
    }
}

/// A `zairyu counter` process and its URL; killed on drop.
struct Counter {
    child: Child,
    url: String,
    /// The printed URL's host: `<32 hex>.localhost:PORT`.
    host: String,
    /// Where it listens: `127.0.0.1:PORT`.
    addr: String,
}

impl Counter {
    fn start(extra: &[&str]) -> Counter {
        Counter::start_on(READER, extra)
    }

    fn start_on(reader: &str, extra: &[&str]) -> Counter {
        let mut args = vec!["--reader", reader, "--trust-sim-ca"];
        args.extend_from_slice(extra);
        Counter::launch(&args)
    }

    /// `zairyu counter --listen 127.0.0.1:0` + `args`.
    fn launch(args: &[&str]) -> Counter {
        let mut child = zairyu()
            .args(["counter", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("counter starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("http://") {
                    let _ = tx.send(line);
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => url,
            Err(_) => {
                end(&mut child);
                panic!("zairyu counter printed no URL in 20 s");
            }
        };
        assert!(url.contains("/?token=") && url.len() > 64, "{url}");
        let host = url["http://".len()..].split('/').next().unwrap().to_owned();
        // A random name of the run under `.localhost`, not the loopback address:
        // the session cookie is bound to it, not to 127.0.0.1 (of every port).
        let (name, port) = host.rsplit_once(':').unwrap();
        let label = name.strip_suffix(".localhost").unwrap_or_else(|| panic!("a .localhost name: {url}"));
        assert!(label.len() == 32 && label.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
        let addr = format!("127.0.0.1:{port}");
        Counter { child, url, host, addr }
    }

    /// `--sim` with a card of `card_type` that has the write application, the
    /// in-process authority of `pki`, and the operator `clerk-007`.
    fn sim_writing(pki: &WriteDir, card_type: &str) -> Counter {
        let dir = pki.path();
        Counter::launch(&[
            "--sim",
            "--sim-card-type",
            card_type,
            "--write-pki",
            dir,
            "--authority-dir",
            dir,
            "--operator",
            "clerk-007",
        ])
    }

    fn token(&self) -> &str {
        self.url.split("token=").nth(1).unwrap()
    }

    /// `http://HOST` + `path`.
    fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        end(&mut self.child);
    }
}

/// A reader name pcscd does not have, of this test process: a counter page locks its
/// reader on the whole machine, so two test runs at once must not share names.
fn absent_reader(n: &str) -> String {
    format!("No Such Reader {} 00 {n}", std::process::id())
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `chromedriver` on a free port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Driver {
        for (tool, package) in [("/usr/bin/chromedriver", "chromium-driver"), ("/usr/bin/chromium", "chromium")] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: install the Debian package {package} (scripts/setup does)"
            );
        }
        let port = free_port();
        // Its own process group, so that the Chromium it starts goes with it.
        let child = Command::new("/usr/bin/chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!("zairyu-counter-chromium-{}-{port}", std::process::id()));
        let driver = Driver { child, port, profile };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen in 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    /// A headless Chromium session.
    async fn browser(&self) -> Client {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars", "--window-size=1280,1100", "--lang=ja",
                    format!("--user-data-dir={}", self.profile.display()),
                ]
            }
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session through chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver's process group (Chromium included), then any process left
        // that runs on this session's own profile directory (a test that failed
        // before closing its session leaves its browser running).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        end(&mut self.child);
        let profile = self.profile.to_string_lossy().into_owned();
        let leftovers: Vec<String> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
            .filter(|e| {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&profile))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if !leftovers.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&leftovers).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Runs an async test body on its own runtime, with a deadline.
fn run<F: std::future::Future<Output = ()>>(limit: Duration, f: F) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        tokio::time::timeout(limit, f).await.expect("the test ran past its deadline");
    });
}

/// Evaluates `script` (a function body returning a value) in the page.
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script {script}: {e}"))
}

/// Waits until `script` returns `true` in the page (reloads in between are fine).
async fn wait_js(c: &Client, script: &str, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Value::Bool(true)) = c.execute(script, vec![]).await {
            return;
        }
        if Instant::now() > deadline {
            let state = c.execute("return document.body ? document.body.outerHTML.slice(0, 3000) : ''", vec![]).await;
            panic!("{what}: not reached in {limit:?}; page: {state:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page's body shows live state `state`.
async fn wait_state(c: &Client, state: &str) {
    let script = format!("return document.body && document.body.getAttribute('data-state') === '{state}';");
    wait_js(c, &script, Duration::from_secs(30), &format!("state {state}")).await;
}

/// Saves a screenshot of the page as `docs/images/counter-NAME.png`.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/images");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("counter-{name}.png")), png).unwrap();
}

/// The id of the focused element.
async fn focused(c: &Client) -> String {
    js(c, "return document.activeElement ? document.activeElement.id : '';").await.as_str().unwrap_or("").to_owned()
}

/// Types `text` into the focused element (the clerk's keyboard).
async fn type_keys(c: &Client, text: &str) {
    c.active_element().await.expect("a focused element").send_keys(text).await.expect("typed");
}

/// The status and body of a GET of `path` from inside the page (with its cookie).
async fn fetch(c: &Client, path: &str) -> (u64, String) {
    let script = format!(
        "var done = arguments[0]; fetch('{path}').then(function (r) {{ return r.text().then(function (t) {{ done([r.status, t]); }}); }}).catch(function (e) {{ done([0, String(e)]); }});"
    );
    let v = c.execute_async(&script, vec![]).await.expect("fetch ran");
    (v[0].as_u64().unwrap(), v[1].as_str().unwrap().to_owned())
}

/// Opens the counter's URL: the token becomes the session cookie and leaves the URL.
async fn open(c: &Client, counter: &Counter) {
    c.goto(&counter.url).await.expect("page opens");
    let url = c.current_url().await.unwrap();
    assert_eq!(url.as_str(), counter.at("/"), "the token is taken out of the URL");
    let cookie = js(c, "return document.cookie;").await;
    assert_eq!(cookie, "", "the session cookie is HttpOnly: {cookie}");
}

/// Types the card number and presses Enter, as the clerk does.
async fn enter_number(c: &Client, number: &str) {
    wait_state(c, "present").await;
    wait_js(
        c,
        "return !!document.getElementById('card-number') && document.activeElement === document.getElementById('card-number');",
        Duration::from_secs(10),
        "the number field has the focus",
    )
    .await;
    let field = c.find(Locator::Id("card-number")).await.unwrap();
    assert_eq!(field.attr("autocomplete").await.unwrap().as_deref(), Some("off"));
    assert_eq!(field.attr("maxlength").await.unwrap().as_deref(), Some("12"));
    type_keys(c, number).await;
    type_keys(c, ENTER).await;
}

/// Waits for the clerk's message with this code; its text.
async fn notice(c: &Client, code: &str) -> String {
    wait_js(
        c,
        &format!("var n = document.getElementById('notice'); return !!n && n.getAttribute('data-code') === '{code}';"),
        Duration::from_secs(30),
        &format!("the message {code}"),
    )
    .await;
    let text = js(c, "return document.getElementById('notice').textContent;").await;
    text.as_str().unwrap_or_default().to_owned()
}

/// Checks a shown verdict: its class, its words in both languages, the images.
async fn check_verdict(c: &Client, verdict: &str, images: &[&str]) {
    wait_js(c, "return !!document.getElementById('verdict');", Duration::from_secs(60), "a verdict").await;
    let shown = js(c, "return document.getElementById('verdict').getAttribute('data-verdict');").await;
    assert_eq!(shown, verdict);
    let text = js(c, "return document.getElementById('verdict').textContent;").await;
    let text = text.as_str().unwrap();
    let words = match verdict {
        "test" => zairyu_verdict_words(zairyu::verify::Verdict::Test),
        "invalid" => zairyu_verdict_words(zairyu::verify::Verdict::Invalid),
        "production" => zairyu_verdict_words(zairyu::verify::Verdict::Production),
        other => panic!("verdict {other} not expected here"),
    };
    assert!(text.contains(words.0) && text.contains(words.1), "verdict text: {text}");
    for id in images {
        let w = js(
            c,
            &format!("var i = document.getElementById('image-{id}'); return i && i.complete ? i.naturalWidth : 0;"),
        )
        .await;
        assert!(w.as_u64().unwrap_or(0) > 0, "image {id} shown: {w}");
    }
    let fields = js(c, "return document.querySelectorAll('#fields tr[data-field]').length;").await;
    assert!(fields.as_u64().unwrap() > 3, "fields: {fields}");
    let signed = js(c, "return document.querySelectorAll('#fields .signed').length;").await;
    // A signature that does not verify binds no field.
    assert_eq!(signed.as_u64().unwrap() > 0, verdict != "invalid", "signed marks: {signed}");
    let checklist = js(c, "return document.querySelectorAll('#checklist li').length;").await;
    assert!(checklist.as_u64().unwrap() >= 3, "checklist: {checklist}");
    let html = js(c, "return document.documentElement.outerHTML;").await;
    assert!(!html.as_str().unwrap().contains(NUMBER), "the page never shows the card number");
    for id in ["print", "save-evidence"] {
        c.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("button {id}"));
    }
    // A record export only of a card that verifies to a trusted root.
    for id in ["export-csv", "export-json"] {
        assert_eq!(c.find(Locator::Id(id)).await.is_ok(), verdict != "invalid", "button {id}");
    }
}

fn zairyu_verdict_words(v: zairyu::verify::Verdict) -> (&'static str, &'static str) {
    let (_, _, ja, en) = zairyu_evidence::html::verdict_words(v);
    (ja, en)
}

/// The whole flow for a card of `card_type`, with screenshots named `shots`.
fn whole_flow(card_type: &str, images: &[&'static str], shot: Option<&'static str>) {
    let counter = Counter::start(&[]);
    let driver = Driver::start();
    let card_type = card_type.to_owned();
    let images: Vec<&str> = images.to_vec();
    run(Duration::from_secs(180), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        wait_state(&c, "empty").await;
        c.find(Locator::Id("waiting")).await.expect("the waiting prompt");
        if shot.is_some() {
            screenshot(&c, "waiting").await;
        }
        // The card arrives: the page hears it and asks for the number.
        let card = Served::start(&["--card-type", &card_type]);
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "test", &images).await;
        if let Some(name) = shot {
            screenshot(&c, name).await;
        }
        assert_eq!(js(&c, "return document.body.getAttribute('data-state');").await, "result");
        // No write without an authority.
        assert!(c.find(Locator::Id("write-form")).await.is_err(), "no write form without an authority");
        // Evidence and export, with the session's cookie.
        let (status, evidence) = fetch(&c, "/evidence.json").await;
        assert_eq!(status, 200);
        let evidence: Value = serde_json::from_str(&evidence).expect("evidence.json is JSON");
        assert!(evidence.to_string().contains("zairyu-evidence"), "an evidence file");
        assert!(!evidence.to_string().contains(NUMBER));
        let (status, csv) = fetch(&c, "/export.csv").await;
        assert_eq!(status, 200);
        assert!(csv.starts_with("schema_version,") && csv.contains("AB********CD"), "{csv}");
        let (status, jsonl) = fetch(&c, "/export.json").await;
        assert_eq!(status, 200);
        let row: Value = serde_json::from_str(jsonl.trim()).expect("a JSON row");
        assert_eq!(row["card_type"], card_type.as_str());
        assert_eq!(row["verdict"], "test");
        // The card leaves: its result is gone, the page waits for the next one.
        drop(card);
        wait_state(&c, "removed").await;
        c.find(Locator::Id("waiting")).await.expect("the waiting prompt again");
        let (status, _) = fetch(&c, "/evidence.json").await;
        assert_eq!(status, 404, "the result is dropped with the card");
        c.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn whole_flow_first_generation() {
    whole_flow("1", &["front", "face"], Some("verdict-test"));
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn whole_flow_second_generation() {
    whole_flow("05", &["name", "face"], None);
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn wrong_number_then_the_right_one() {
    let _card = Served::start(&["--card-type", "1"]);
    let counter = Counter::start(&[]);
    let driver = Driver::start();
    run(Duration::from_secs(120), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        enter_number(&c, "ZZ00000000ZZ").await;
        let text = notice(&c, "wrong_card_number").await;
        assert!(text.contains("カード番号が違います"), "{text}");
        screenshot(&c, "wrong-number").await;
        // The page is ready again: an empty field with the focus.
        assert_eq!(focused(&c).await, "card-number");
        assert_eq!(js(&c, "return document.getElementById('card-number').value;").await, "");
        let html = js(&c, "return document.documentElement.outerHTML;").await;
        assert!(!html.as_str().unwrap().contains("ZZ00000000ZZ"), "the typed number is never echoed");
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "test", &["front", "face"]).await;
        c.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn an_unsupported_card_is_refused_and_the_page_is_ready_for_the_next() {
    // A card whose EF02 says "07" (a specified card): refused before authentication.
    let card = Served::start(&["--tamper", "specified-card-type"]);
    let counter = Counter::start(&[]);
    let driver = Driver::start();
    run(Duration::from_secs(120), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        enter_number(&c, NUMBER).await;
        let text = notice(&c, "unsupported_card_type").await;
        assert!(text.contains("このカードには対応していません") && text.contains("not supported"), "{text}");
        assert!(c.find(Locator::Id("verdict")).await.is_err(), "no verdict for a card that was not read");
        assert_eq!(fetch(&c, "/evidence.json").await.0, 404, "no evidence of a card that was not read");
        drop(card);
        wait_state(&c, "removed").await;
        let _next = Served::start(&["--card-type", "05"]);
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "test", &["name", "face", "address"]).await;
        c.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn card_pulled_during_the_read() {
    let card = Served::start(&["--card-type", "05", "--link", "106k"]);
    let counter = Counter::start(&[]);
    let driver = Driver::start();
    run(Duration::from_secs(180), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        wait_state(&c, "present").await;
        wait_js(
            &c,
            "return document.activeElement === document.getElementById('card-number');",
            Duration::from_secs(10),
            "focus",
        )
        .await;
        type_keys(&c, NUMBER).await;
        // The read at 106 kbit/s takes seconds: the card goes a moment after Enter.
        let pulled = card.pull_after(Duration::from_millis(700));
        type_keys(&c, ENTER).await;
        pulled.join().unwrap();
        wait_js(
            &c,
            "var n = document.getElementById('notice'); return !!n && n.getAttribute('data-code').indexOf('transport_') === 0;",
            Duration::from_secs(60),
            "the card-removed message",
        )
        .await;
        wait_state(&c, "removed").await;
        let text = js(&c, "return document.getElementById('notice').textContent;").await;
        assert!(text.as_str().unwrap().contains("取り外されました"), "{text}");
        assert!(c.find(Locator::Id("verdict")).await.is_err(), "no result of a pulled card");
        screenshot(&c, "removed-mid-read").await;
        drop(card);
        // Ready for the next card.
        let _next = Served::start(&["--card-type", "1"]);
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "test", &["front", "face"]).await;
        c.close().await.unwrap();
    });
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn a_tampered_card_is_shown_invalid() {
    for (card_type, tamper, shot) in [("1", "front-image", true), ("05", "printed-entries", false)] {
        let _card = Served::start(&["--card-type", card_type, "--tamper", tamper]);
        let counter = Counter::start(&[]);
        let driver = Driver::start();
        run(Duration::from_secs(120), async {
            let c = driver.browser().await;
            open(&c, &counter).await;
            enter_number(&c, NUMBER).await;
            check_verdict(&c, "invalid", &[]).await;
            // The evidence of the forgery is kept; no record is exported of it.
            assert_eq!(fetch(&c, "/evidence.json").await.0, 200);
            for path in ["/export.csv", "/export.json"] {
                let (status, body) = fetch(&c, path).await;
                assert_eq!(status, 403, "{path}: {body}");
                assert!(body.contains("counter_export_not_genuine"), "{body}");
            }
            let colour = js(&c, "return getComputedStyle(document.getElementById('verdict')).backgroundColor;").await;
            assert_eq!(colour, "rgb(253, 231, 230)", "the invalid colour");
            if shot {
                screenshot(&c, "invalid").await;
            }
            c.close().await.unwrap();
        });
    }
}

/// The production verdict, on the in-process simulated card signed under the
/// synthetic production roots that only builds with the feature
/// `test-production-root` pin (scripts/test-all runs this with that feature). Needs
/// no pcscd.
#[cfg(feature = "test-production-root")]
#[test]
fn the_production_verdict_in_the_browser() {
    let roots = std::env::temp_dir().join(format!("zairyu-counter-roots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&roots);
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::write(roots.join("gen1.der"), zairyu_sim::GEN1_SYNTHETIC_PRODUCTION_CA_DER).unwrap();
    std::fs::write(roots.join("gen2.der"), zairyu_sim::GEN2_SYNTHETIC_PRODUCTION_CA_DER).unwrap();
    let dir = roots.to_str().unwrap();
    let counter =
        Counter::launch(&["--sim", "--sim-pki", "synthetic-production", "--no-sim-test-ca", "--trust-dir", dir]);
    let _ = std::fs::remove_dir_all(&roots);
    let driver = Driver::start();
    run(Duration::from_secs(120), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "production", &["front", "face"]).await;
        let colour = js(&c, "return getComputedStyle(document.getElementById('verdict')).backgroundColor;").await;
        assert_eq!(colour, "rgb(230, 244, 234)", "the genuine colour");
        screenshot(&c, "verdict-production").await;
        c.close().await.unwrap();
    });
}

/// A `zairyu pki init` directory, removed on drop.
struct WriteDir(PathBuf);

impl WriteDir {
    fn init() -> WriteDir {
        WriteDir::init_named("pcscd")
    }

    fn init_named(name: &str) -> WriteDir {
        let dir = std::env::temp_dir().join(format!("zairyu-counter-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = zairyu().args(["pki", "init", "--out", dir.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        WriteDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for WriteDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sets an input's value from the keyboard.
async fn fill(c: &Client, id: &str, text: &str) {
    let el = c.find(Locator::Id(id)).await.unwrap_or_else(|_| panic!("field {id}"));
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

#[test]
#[ignore = "needs pcscd with vsmartcard-vpcd and Chromium: run by scripts/test-all"]
fn the_address_is_written_after_confirmation() {
    let pki = WriteDir::init();
    let _card = Served::start(&["--card-type", "1", "--write-pki", pki.path()]);
    let counter = Counter::start(&["--authority-dir", pki.path(), "--operator", "clerk-007"]);
    let driver = Driver::start();
    const ADDRESS: &str = "大阪府大阪市北区中之島１－３－２０";
    run(Duration::from_secs(180), async {
        let c = driver.browser().await;
        open(&c, &counter).await;
        enter_number(&c, NUMBER).await;
        check_verdict(&c, "test", &["front", "face"]).await;
        // A record the authority would refuse: its municipality check digit is wrong.
        fill(&c, "write-date", "20260430").await;
        fill(&c, "write-code", "271270").await;
        fill(&c, "write-address", ADDRESS).await;
        c.find(Locator::Id("write-check")).await.unwrap().click().await.unwrap();
        wait_js(
            &c,
            "var n = document.getElementById('write-form-error'); return !!n && n.getAttribute('data-code') === 'record_invalid';",
            Duration::from_secs(20),
            "the record refusal",
        )
        .await;
        assert!(c.find(Locator::Id("write-confirm")).await.is_err(), "no confirmation of a refused record");
        // The typed values stay; the code is corrected.
        assert_eq!(js(&c, "return document.getElementById('write-address').value;").await, ADDRESS);
        fill(&c, "write-code", "271276").await;
        c.find(Locator::Id("write-check")).await.unwrap().click().await.unwrap();
        wait_js(&c, "return !!document.getElementById('write-confirm');", Duration::from_secs(20), "the confirmation")
            .await;
        for (id, want) in [("confirm-date", "20260430"), ("confirm-code", "271276"), ("confirm-address", ADDRESS)] {
            assert_eq!(js(&c, &format!("return document.getElementById('{id}').textContent;")).await, want, "{id}");
        }
        c.find(Locator::Id("write-confirm")).await.unwrap();
        wait_js(
            &c,
            "return document.activeElement === document.getElementById('write-confirm-button');",
            Duration::from_secs(5),
            "the confirm button has the focus",
        )
        .await;
        js(&c, "document.getElementById('write-confirm').scrollIntoView(); return true;").await;
        screenshot(&c, "write-confirm").await;
        // Enter on the focused confirm button writes.
        type_keys(&c, ENTER).await;
        wait_js(&c, "return !!document.getElementById('write-receipt');", Duration::from_secs(90), "the receipt").await;
        let receipt = js(&c, "return document.getElementById('write-receipt').textContent;").await;
        let receipt = receipt.as_str().unwrap();
        assert!(receipt.contains("確認しました") && receipt.contains(ADDRESS), "{receipt}");
        assert!(receipt.contains("DF2/EF01") && receipt.contains("clerk-007"), "{receipt}");
        assert!(!receipt.contains("\\u{"), "the receipt's lines are lines: {receipt}");
        // The report above is the read from before the write, and says so.
        let note = js(&c, "var n = document.getElementById('before-write'); return n ? n.textContent : '';").await;
        assert!(note.as_str().unwrap().contains("書き込み前"), "{note}");
        js(&c, "document.getElementById('write-receipt').scrollIntoView(); return true;").await;
        screenshot(&c, "write-receipt").await;
        c.close().await.unwrap();
    });
}

// ---- plain HTTP: the token, the session, Host, Origin, headers (no reader needed)

/// One HTTP/1.1 request over a fresh connection: status, headers (lower-case names),
/// body.
fn http(
    counter: &Counter,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(&counter.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {}\r\n", counter.host));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Every answer carries the strict headers.
fn assert_strict(headers: &[(String, String)]) {
    let csp = header(headers, "content-security-policy").expect("a CSP");
    for part in ["default-src 'self'", "img-src 'self' data:", "script-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(headers, "cache-control"), Some("no-store"));
    assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"));
    // `same-origin`: the browser sends the page's real Origin on its own posts.
    assert_eq!(header(headers, "referrer-policy"), Some("same-origin"));
}

/// Starts a session: the session cookie (`name=value`).
fn session(counter: &Counter) -> String {
    let (status, headers, _) = http(counter, "GET", &format!("/?token={}", counter.token()), &[], "");
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/"), "the token leaves the URL");
    let set = header(&headers, "set-cookie").expect("a session cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    assert!(!set.contains(counter.token()), "the cookie is not the token");
    assert!(!set.to_ascii_lowercase().contains("domain="), "a host-only cookie: {set}");
    set.split(';').next().unwrap().to_owned()
}

#[test]
fn requests_without_the_token_or_from_elsewhere_are_refused() {
    // A reader that does not exist: the page says so; no pcscd is needed.
    let counter = Counter::start_on(&absent_reader("00"), &[]);
    for path in ["/", "/events", "/evidence.json", "/export.csv", "/static/counter.js", "/?token=", "/?token=00"] {
        let (status, headers, body) = http(&counter, "GET", path, &[], "");
        assert_eq!(status, 403, "{path}: {body}");
        assert_strict(&headers);
        assert!(!body.contains("<form"), "{path}");
    }
    let cookie = session(&counter);
    let (status, headers, page) = http(&counter, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert_strict(&headers);
    assert!(page.contains("<script src=\"/static/counter.js\""), "one external script");
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    assert!(!page.contains(" style=") && !page.contains("<style"), "no inline style");
    assert!(!page.contains("write-form"), "no write form without an authority");
    let (status, headers, js) = http(&counter, "GET", "/static/counter.js", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").unwrap().starts_with("text/javascript"));
    assert!(js.contains("EventSource"));
    // The reader is unknown: the page says so.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, page) = http(&counter, "GET", "/", &[("Cookie", &cookie)], "");
        if page.contains("id=\"no-reader\"") {
            break;
        }
        assert!(Instant::now() < deadline, "the page never said the reader is missing: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A wrong cookie, a wrong Host (DNS rebinding), a foreign or missing Origin.
    let (status, _, _) = http(&counter, "GET", "/", &[("Cookie", "zairyu_counter=00")], "");
    assert_eq!(status, 403);
    let port = counter.addr.rsplit_once(':').unwrap().1;
    let (name, _) = counter.host.rsplit_once(':').unwrap();
    let other_port = format!("{name}:1");
    let other_name = format!("{}.localhost:{port}", "0".repeat(32));
    let localhost = format!("localhost:{port}");
    for host in
        ["evil.example", "evil.example:80", "127.0.0.1", "127.0.0.2:1", name, &other_port, &other_name, &localhost]
            .map(|h| h.to_owned())
    {
        let (status, headers, _) = http(&counter, "GET", "/", &[("Host", &host), ("Cookie", &cookie)], "");
        assert_eq!(status, 421, "Host {host}");
        assert_strict(&headers);
    }
    let form = "number=AB12345678CD";
    let own = counter.at("");
    let loopback = format!("http://{}", counter.addr);
    let origins = [
        Some("http://evil.example"),
        Some("null"),
        Some("https://127.0.0.1"),
        Some(loopback.as_str()),
        Some(&own[..own.len() - 1]),
        None,
    ];
    for origin in origins {
        let mut headers = vec![("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(o) = origin {
            headers.push(("Origin", o));
        }
        let (status, _, body) = http(&counter, "POST", "/read", &headers, form);
        assert_eq!(status, 403, "Origin {origin:?}: {body}");
        assert!(body.contains("counter_bad_origin"), "{body}");
    }
    // `Origin: null` never counts, whatever else the request says.
    for site in ["same-origin", "cross-site", "same-site", "none"] {
        let headers = [("Cookie", cookie.as_str()), ("Origin", "null"), ("Sec-Fetch-Site", site)];
        let (status, _, _) = http(&counter, "POST", "/read", &headers, form);
        assert_eq!(status, 403, "Sec-Fetch-Site {site}");
    }
    let same =
        [("Cookie", cookie.as_str()), ("Origin", own.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, _, _) = http(&counter, "POST", "/read", &same, form);
    assert_eq!(status, 303, "the page's own post is taken");
    // Without an authority the write endpoints refuse.
    for path in ["/write/check", "/write/confirm"] {
        let body = "date=20260430&municipality_code=271276&address=x&operator=y";
        let (status, _, text) = http(&counter, "POST", path, &same, body);
        assert_eq!(status, 404, "{path}");
        assert!(text.contains("write_not_configured"), "{text}");
    }

    // One clerk session at a time: a second browser is refused while the first lives.
    let (status, _, body) = http(&counter, "GET", &format!("/?token={}", counter.token()), &[], "");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("counter_session_busy"), "{body}");
    // The first browser coming back with the token keeps its place.
    let (status, _, _) = http(&counter, "GET", &format!("/?token={}", counter.token()), &[("Cookie", &cookie)], "");
    assert_eq!(status, 303);
}

#[test]
fn a_non_loopback_address_needs_the_explicit_flag() {
    let out =
        zairyu().args(["counter", "--reader", READER, "--listen", "0.0.0.0:0"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("counter_listen_not_loopback") && err.contains("--allow-non-loopback"), "{err}");
    // An unspecified address would be reached under names the page cannot know.
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let out = zairyu()
            .args(["counter", "--reader", READER, "--listen", listen, "--allow-non-loopback"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{listen}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("counter_listen_unspecified"), "{listen}: {err}");
    }
}

/// The session cookie of the printed host, sent to the listen address by its
/// number (what a browser sends when another local program on 127.0.0.1 makes it
/// come back to this port): refused, the page is only under its random name.
#[test]
fn the_loopback_address_itself_is_refused_even_with_the_cookie() {
    let counter = Counter::start_on(&absent_reader("02"), &[]);
    let cookie = session(&counter);
    let (status, _, _) = http(&counter, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "the printed host works");
    let numeric = counter.addr.clone();
    let origin = format!("http://{numeric}");
    for path in ["/", "/events", "/evidence.json"] {
        let (status, headers, body) = http(&counter, "GET", path, &[("Host", &numeric), ("Cookie", &cookie)], "");
        assert_eq!(status, 421, "{path}: {body}");
        assert!(body.contains("counter_bad_host"), "{body}");
        assert_strict(&headers);
    }
    let headers = [("Host", numeric.as_str()), ("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
    let (status, _, _) = http(&counter, "POST", "/read", &headers, "number=AB12345678CD");
    assert_eq!(status, 421);
    // Nor does the token start a session there.
    let (status, headers, _) =
        http(&counter, "GET", &format!("/?token={}", counter.token()), &[("Host", &numeric)], "");
    assert_eq!(status, 421);
    assert!(header(&headers, "set-cookie").is_none());
}

/// The page's state word and the whole page, over plain HTTP.
fn get_page(counter: &Counter, cookie: &str) -> (String, String) {
    let (status, _, page) = http(counter, "GET", "/", &[("Cookie", cookie)], "");
    assert_eq!(status, 200, "{page}");
    let state = page.split("data-state=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_owned();
    (state, page)
}

/// A POST from the page itself (its cookie and Origin).
fn post(counter: &Counter, cookie: &str, path: &str, body: &str) -> u16 {
    let origin = counter.at("");
    let headers =
        [("Cookie", cookie), ("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, _, text) = http(counter, "POST", path, &headers, body);
    assert!(status == 303 || status == 404, "{path}: {status} {text}");
    status
}

#[test]
fn the_simulated_card_is_read_and_written_in_process() {
    let pki = WriteDir::init_named("sim");
    let counter = Counter::sim_writing(&pki, "05");
    let cookie = session(&counter);
    // The simulated card starts in the reader.
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "present", "{page}");
    assert!(page.contains("id=\"card-number\"") && page.contains("id=\"sim-remove\""), "{page}");
    // A wrong number, then the right one.
    assert_eq!(post(&counter, &cookie, "/read", "number=ZZ00000000ZZ"), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "present");
    assert!(page.contains("data-code=\"wrong_card_number\"") && !page.contains("ZZ00000000ZZ"), "{page}");
    assert_eq!(post(&counter, &cookie, "/read", &format!("number={}", NUMBER.to_lowercase())), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "result", "{page}");
    assert!(page.contains("data-verdict=\"test\"") && !page.contains(NUMBER), "{page}");
    assert!(page.contains("id=\"image-face\" src=\"data:image/png;base64,"), "the photo as PNG");
    // The write: checked, confirmed, written, re-read.
    let record = "date=20260430&municipality_code=131016&address=%E6%9D%B1%E4%BA%AC%E9%83%BD%E5%8D%83%E4%BB%A3%E7%94%B0%E5%8C%BA%E9%9C%9E%E3%81%8C%E9%96%A2%EF%BC%91%EF%BC%8D%EF%BC%91&operator=clerk-007";
    assert_eq!(post(&counter, &cookie, "/write/confirm", ""), 303, "nothing to confirm yet");
    assert!(!page_has(&counter, &cookie, "write-receipt"));
    // Record A checked, then record B (another tab): the confirmation form of A
    // does not write B, nor A.
    assert_eq!(post(&counter, &cookie, "/write/check", &record.replace("%EF%BC%91&", "%EF%BC%92&")), 303);
    let (_, page) = get_page(&counter, &cookie);
    assert!(page.contains("東京都千代田区霞が関１－２"), "{page}");
    let nonce_a = nonce(&page);
    assert_eq!(post(&counter, &cookie, "/write/check", record), 303);
    let (_, page) = get_page(&counter, &cookie);
    assert!(page.contains("id=\"write-confirm\"") && page.contains("東京都千代田区霞が関１－１"), "{page}");
    assert!(page.contains("DF1/EF04"), "the second generation's address image");
    let nonce_b = nonce(&page);
    assert_ne!(nonce_a, nonce_b);
    for stale in [format!("nonce={nonce_a}"), String::new(), "nonce=".into(), format!("nonce={}", &nonce_b[1..])] {
        assert_eq!(post(&counter, &cookie, "/write/confirm", &stale), 303);
        let (_, page) = get_page(&counter, &cookie);
        assert!(page.contains("data-code=\"write_confirm_stale\""), "{stale}: {page}");
        assert!(!page.contains("id=\"write-receipt\""), "{stale}: nothing written");
        assert_eq!(nonce(&page), nonce_b, "B still waits for its confirmation");
    }
    assert_eq!(post(&counter, &cookie, "/write/confirm", &format!("nonce={nonce_b}")), 303);
    let (_, page) = get_page(&counter, &cookie);
    assert!(page.contains("id=\"write-receipt\"") && page.contains("clerk-007"), "{page}");
    let receipt = page.split("id=\"write-receipt\"").nth(1).unwrap();
    assert!(receipt.contains("霞が関１－１") && !receipt.contains("霞が関１－２"), "B written: {receipt}");
    // The report shown is the read from before the write, and says so.
    assert!(page.contains("id=\"before-write\"") && page.contains("書き込み前の読み取り結果"), "{page}");
    assert!(page.contains("BEFORE the write"), "{page}");
    // Out goes the card, and its result with it.
    assert_eq!(post(&counter, &cookie, "/sim/remove", ""), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "removed");
    assert!(page.contains("id=\"waiting\"") && page.contains("id=\"sim-insert\""), "{page}");
    let (status, _, _) = http(&counter, "GET", "/evidence.json", &[("Cookie", &cookie)], "");
    assert_eq!(status, 404);
    // In again: a new insertion that waits for its number.
    assert_eq!(post(&counter, &cookie, "/sim/insert", ""), 303);
    assert_eq!(get_page(&counter, &cookie).0, "present");
}

/// The nonce of the confirmation form on `page`.
fn nonce(page: &str) -> String {
    let field = page.split("name=\"nonce\" value=\"").nth(1).unwrap_or_else(|| panic!("a nonce: {page}"));
    let nonce = field.split('"').next().unwrap().to_owned();
    assert_eq!(nonce.len(), 32, "{nonce}");
    nonce
}

/// A first-generation address is unsigned chip text: a forged card (here, one
/// written so) can carry a formula; the CSV export keeps a spreadsheet from running
/// it.
#[test]
fn an_address_that_is_a_formula_is_exported_inert() {
    let pki = WriteDir::init_named("formula");
    let counter = Counter::sim_writing(&pki, "1");
    let cookie = session(&counter);
    assert_eq!(post(&counter, &cookie, "/read", &format!("number={NUMBER}")), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "result", "{page}");
    assert!(!page.contains("id=\"before-write\""), "no write yet");
    // `=HYPERLINK("http://evil.example/x")`
    let formula = "%3DHYPERLINK%28%22http%3A%2F%2Fevil.example%2Fx%22%29";
    let record = format!("date=20260430&municipality_code=131016&address={formula}&operator=clerk-007");
    assert_eq!(post(&counter, &cookie, "/write/check", &record), 303);
    let page = get_page(&counter, &cookie).1;
    assert_eq!(post(&counter, &cookie, "/write/confirm", &format!("nonce={}", nonce(&page))), 303);
    let (_, page) = get_page(&counter, &cookie);
    assert!(page.contains("id=\"write-receipt\"") && page.contains("id=\"before-write\""), "{page}");
    // The card again, read afresh: its address is the formula.
    assert_eq!(post(&counter, &cookie, "/sim/remove", ""), 303);
    assert_eq!(post(&counter, &cookie, "/sim/insert", ""), 303);
    assert_eq!(post(&counter, &cookie, "/read", &format!("number={NUMBER}")), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "result", "{page}");
    assert!(page.contains("data-verdict=\"test\"") && !page.contains("id=\"before-write\""), "{page}");
    let report = page.split("id=\"report\"").nth(1).unwrap();
    assert!(report.contains("=HYPERLINK(&quot;http://evil.example/x&quot;)"), "{report}");
    let (status, _, csv) = http(&counter, "GET", "/export.csv", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "{csv}");
    assert!(csv.contains("'=HYPERLINK("), "the formula is guarded: {csv}");
    assert!(!csv.contains(",=") && !csv.contains(",\"=") && !csv.contains("\n="), "no cell starts with =: {csv}");
}

/// A card whose signature does not verify to a trusted root (here the simulator's
/// test CA is not trusted: "untrusted") has no record export; its evidence stays.
#[test]
fn only_a_trusted_card_is_exported_as_a_record() {
    let counter = Counter::launch(&["--sim", "--no-sim-test-ca"]);
    let cookie = session(&counter);
    assert_eq!(post(&counter, &cookie, "/read", &format!("number={NUMBER}")), 303);
    let (state, page) = get_page(&counter, &cookie);
    assert_eq!(state, "result", "{page}");
    assert!(!page.contains("data-verdict=\"test\"") && !page.contains("data-verdict=\"production\""), "{page}");
    assert!(page.contains("id=\"save-evidence\""), "{page}");
    assert!(!page.contains("id=\"export-csv\"") && !page.contains("id=\"export-json\""), "{page}");
    for path in ["/export.csv", "/export.json"] {
        let (status, headers, body) = http(&counter, "GET", path, &[("Cookie", &cookie)], "");
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("counter_export_not_genuine"), "{body}");
        assert!(header(&headers, "content-disposition").is_none());
    }
    let (status, _, body) = http(&counter, "GET", "/evidence.json", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "the evidence of any read: {body}");
}

fn page_has(counter: &Counter, cookie: &str, id: &str) -> bool {
    get_page(counter, cookie).1.contains(&format!("id=\"{id}\""))
}

#[test]
fn the_simulator_controls_exist_only_with_sim() {
    let counter = Counter::start_on(&absent_reader("01"), &[]);
    let cookie = session(&counter);
    assert!(!get_page(&counter, &cookie).1.contains("id=\"sim"));
    assert_eq!(post(&counter, &cookie, "/sim/insert", ""), 404);
}

#[test]
fn one_counter_page_per_reader() {
    let reader = absent_reader("03");
    let first = Counter::start_on(&reader, &[]);
    // A second page for the same reader is refused, and names the reader (one that
    // started instead would serve until killed: it is, and the test fails).
    let mut second = zairyu()
        .args(["counter", "--listen", "127.0.0.1:0", "--reader", &reader, "--trust-sim-ca"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while second.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            end(&mut second);
            panic!("a second counter page for {reader:?} started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = second.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("counter_reader_in_use") && err.contains(&reader), "{err}");
    assert!(out.stdout.is_empty(), "no URL printed");
    // Another reader is free; and once the first ends (killed), its reader is free too.
    let other = Counter::start_on(&format!("{reader} B"), &[]);
    drop(first);
    let again = Counter::start_on(&reader, &[]);
    drop((other, again));
}
