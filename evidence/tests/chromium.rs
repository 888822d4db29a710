//! The report page in a real browser: Debian's Chromium, headless (installed by
//! scripts/setup; as root it runs with `--no-sandbox`). For each report the test
//! loads the page in a harness page (an iframe: the report itself allows no
//! script), and fails unless the page renders, the verdict text is there, every
//! image has loaded (`naturalWidth > 0`), no card text became markup, and a
//! screenshot PNG is produced. A missing Chromium fails the test, it never skips.
//! The screenshots are kept in `target/zairyu-evidence/` (for the README).

use std::path::{Path, PathBuf};
use std::process::Command;

use zairyu::files::CardType;
use zairyu::sequence::CardRead;
use zairyu_evidence::{png_images, report_html};

mod common;

fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("Chromium not found: install the Debian package `chromium` (scripts/setup does)");
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/zairyu-evidence");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Runs headless Chromium with `args` then `url`, at most 90 seconds.
fn run_chromium(args: &[&str], url: &str) -> String {
    // One profile per run: tests run in parallel, and Chromium locks its profile.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("zairyu-chromium-{}-{n}", std::process::id()));
    let out = Command::new("timeout")
        .arg("90")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--allow-file-access-from-files",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HARNESS: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="REPORT" style="width:1280px;height:2400px"></iframe>
<pre id="result">pending</pre>
<script>
window.addEventListener('load', function () {
  var r = document.getElementById('result');
  var d = document.getElementById('f').contentDocument;
  if (!d) { r.textContent = 'no-access'; return; }
  var v = d.getElementById('verdict');
  var out = {
    title: d.title,
    verdict: v ? v.getAttribute('data-verdict') : null,
    verdictText: v ? v.textContent : null,
    verdictColour: v ? getComputedStyle(v).backgroundColor : null,
    images: Array.prototype.map.call(d.images, function (i) {
      return { id: i.id, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight };
    }),
    scripts: d.scripts.length,
    fields: d.querySelectorAll('#fields tr[data-field]').length,
    checklist: d.querySelectorAll('#checklist li').length,
    address: (d.querySelector('tr[data-field="address"] td.value') || {}).textContent || null
  };
  r.textContent = JSON.stringify(out);
});
</script></body></html>"#;

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

fn check_in_browser(name: &str, read: &CardRead) -> serde_json::Value {
    let dir = out_dir();
    let images = png_images(read);
    let html = report_html(read, &images);
    let report = dir.join(format!("report-{name}.html"));
    std::fs::write(&report, &html).unwrap();
    let harness = dir.join(format!("harness-{name}.html"));
    std::fs::write(&harness, HARNESS.replace("REPORT", &format!("report-{name}.html"))).unwrap();

    let dom = run_chromium(&["--virtual-time-budget=10000", "--dump-dom"], &format!("file://{}", harness.display()));
    let start = dom.find("<pre id=\"result\">").expect("harness rendered") + "<pre id=\"result\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let result = unescape(&dom[start..end]);
    let v: serde_json::Value =
        serde_json::from_str(&result).unwrap_or_else(|_| panic!("{name}: the page did not render: {result}"));

    let want = read.verification.verdict();
    let (_, _, ja, en) = zairyu_evidence::html::verdict_words(want);
    assert_eq!(v["verdict"], want.as_str(), "{name}");
    let text = v["verdictText"].as_str().unwrap();
    assert!(text.contains(ja) && text.contains(en), "{name}: verdict text {text}");
    assert_eq!(v["title"], "在留カード等 読取結果 / Residence card read report");
    assert_eq!(v["scripts"], 0, "{name}: no script in the report");
    let shown = v["images"].as_array().unwrap();
    let decodable = images.iter().filter(|i| i.png.is_ok()).count();
    assert_eq!(shown.len(), decodable, "{name}: {shown:?}");
    assert!(decodable > 0, "{name}");
    for i in shown {
        assert!(i["complete"] == true && i["w"].as_u64().unwrap() > 0 && i["h"].as_u64().unwrap() > 0, "{name}: {i}");
    }
    assert!(v["fields"].as_u64().unwrap() >= 8 && v["checklist"].as_u64().unwrap() >= 3, "{name}: {v}");

    let shot = dir.join(format!("report-{name}.png"));
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &["--window-size=1280,2000", &format!("--screenshot={}", shot.display())],
        &format!("file://{}", report.display()),
    );
    let png = std::fs::read(&shot).unwrap_or_else(|_| panic!("{name}: no screenshot"));
    let p = zairyu_evidence::image::decode_png(&png).expect("screenshot is a PNG");
    assert_eq!((p.width, p.height), (1280, 2000), "{name}");
    let distinct: std::collections::BTreeSet<&[u8]> = p.data.chunks(usize::from(p.channels)).collect();
    assert!(distinct.len() > 50, "{name}: the screenshot is nearly blank ({} colours)", distinct.len());
    v
}

#[test]
fn reports_render_in_headless_chromium() {
    for (name, t) in [
        ("1", CardType::ResidenceCard),
        ("2", CardType::SpecialPermanentResident),
        ("05", CardType::Gen2ResidenceCard),
        ("06", CardType::Gen2SpecialPermanentResident),
    ] {
        let v = check_in_browser(name, &common::read(t));
        eprintln!("{name}: {v}");
    }
}

#[test]
fn markup_on_a_forged_chip_stays_text() {
    let hostile = "<img src=x onerror=alert(1)><script>document.title='pwned'</script>&amp;\u{202E}";
    let read = common::read_with(zairyu_sim::IssueOptions {
        card_type: CardType::ResidenceCard,
        card_number: common::NUMBER.into(),
        address: Some(zairyu_sim::Address {
            date: "20240401".into(),
            municipality_code: "131016".into(),
            text: hostile.into(),
        }),
        tamper_front_image: true,
        ..Default::default()
    });
    let html = report_html(&read, &png_images(&read));
    assert!(!html.contains("<script") && !html.contains("<img src=x"), "markup escaped in the HTML");
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&amp;amp;\\u{202E}"));
    let v = check_in_browser("forged-markup", &read);
    assert_eq!(v["verdict"], "invalid");
    // Shown as the text it is, the override character made visible.
    assert_eq!(v["address"], "<img src=x onerror=alert(1)><script>document.title='pwned'</script>&amp;\\u{202E}");
}

#[test]
fn a_bad_image_is_shown_as_an_error_not_a_failure() {
    let mut read = common::read(CardType::Gen2ResidenceCard);
    if let zairyu::sequence::CardData::Gen2(d) = &mut read.data {
        d.face_image = Some(zairyu::files::Image::from_value(&[0xFF, 0x4F, 0xFF, 0x51, 1, 2, 3]));
    }
    let images = png_images(&read);
    assert!(images.iter().any(|i| i.name == "face" && i.png.is_err()));
    let html = report_html(&read, &images);
    assert!(html.contains("id=\"image-face\"") && html.contains("Image cannot be shown"));
    check_in_browser("bad-face", &read);
}
