//! The side-by-side report: one self-contained HTML page for the clerk at the
//! counter (窓口) and for the file.
//!
//! The verdict comes first, in words a clerk understands, with colour **and** text
//! (and a symbol, for readers who do not tell the colours apart); then the chip's
//! card-face image (first generation) or name image (second) and the photo, large,
//! beside the clerk's checklist; every field with its signed / not-signed mark (the
//! core's [`bound_fields`]); the certificate chain; the warnings; the read details.
//! Labels are Japanese and English. Images are embedded as `data:` URIs of PNGs, so
//! the page needs nothing else; its Content-Security-Policy allows nothing but those
//! images and its own style (no script, no request). All card text is HTML-escaped,
//! and control and bidirectional-override characters are shown as `\u{…}`: a forged
//! chip may hold markup. A print stylesheet lays it out on A4.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use zairyu::files::gen2::Coded;
use zairyu::files::{Flag, RenewalStatus, Text, is_unsafe_char};
use zairyu::report::Report;
use zairyu::sequence::{CardData, CardRead};
use zairyu::verify::{Verdict, bound_fields};

use crate::image::{ImageError, image_png};

/// A chip image for the report: its name (`front`, `face`, `name`, `address`) and
/// its PNG, or why there is none.
#[derive(Debug, Clone)]
pub struct PngImage {
    /// The report's name of the image.
    pub name: &'static str,
    /// The PNG bytes, or the decoding error.
    pub png: Result<Vec<u8>, ImageError>,
}

/// Every image of the read as PNG (an image that does not decode keeps its error).
pub fn png_images(read: &CardRead) -> Vec<PngImage> {
    read.images().into_iter().map(|(name, image)| PngImage { name, png: image_png(image) }).collect()
}

/// HTML-escapes text; control and bidirectional-override characters become
/// `\u{XXXX}`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The verdict for a clerk: (class, symbol, Japanese, English).
pub fn verdict_words(v: Verdict) -> (&'static str, &'static str, &'static str, &'static str) {
    match v {
        Verdict::Production => (
            "production",
            "✔",
            "本物です。ICチップの署名と法務省の証明書を確認しました。",
            "Genuine: the chip's signature is valid and its certificate chains to the Ministry's root.",
        ),
        Verdict::Test => (
            "test",
            "▲",
            "テスト用のカードです。本物の在留カードではありません。",
            "Test card: valid only under a test certificate. This is NOT a genuine card.",
        ),
        Verdict::Untrusted => (
            "untrusted",
            "✖",
            "本物と確認できません。署名した証明書が法務省のものではありません。",
            "Untrusted: the signature is valid, but its certificate is not the Ministry's. Do not accept it as genuine.",
        ),
        Verdict::Invalid => (
            "invalid",
            "✖",
            "偽造・改ざんの疑いがあります。ICチップの署名が一致しません。",
            "Invalid: the chip's signature does not match. Possible forgery or alteration.",
        ),
        Verdict::Absent => (
            "absent",
            "●",
            "ICチップに署名がありません（16歳未満のカードなど）。ICチップでは本物と確認できません。",
            "No signature on the chip (for example a card of a holder under 16): the chip cannot confirm the card is genuine.",
        ),
        Verdict::NotChecked => (
            "not-checked",
            "●",
            "署名を確認していません（文字情報だけを読み取りました）。",
            "Signature not checked (only the text was read).",
        ),
    }
}

/// The verdict box's rules: its colour and words per verdict class (`verdict-test`,
/// `verdict-invalid` …). One set for every page that shows a verdict: the report
/// carries it inline, the counter page serves it as a stylesheet of its own.
pub const VERDICT_CSS: &str = r#"
.verdict { border: 4px solid; border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; display: flex; gap: 16px; align-items: center; }
.verdict .symbol { font-size: 3rem; line-height: 1; }
.verdict .word { font-weight: bold; text-transform: uppercase; letter-spacing: 0.05em; }
.verdict p { margin: 2px 0; font-size: 1.15rem; }
.verdict-production { border-color: #1b7f3b; background: #e6f4ea; color: #0d3d1c; }
.verdict-test { border-color: #b36b00; background: #fff4e0; color: #4d2e00; }
.verdict-untrusted, .verdict-invalid { border-color: #b3261e; background: #fde7e6; color: #5c0f0b; }
.verdict-absent, .verdict-not-checked { border-color: #5f6368; background: #f1f3f4; color: #202124; }
"#;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "IPAexGothic", "Noto Sans CJK JP", "Hiragino Sans", "Meiryo", sans-serif; margin: 0; padding: 16px 24px; color: #1a1a1a; background: #fff; line-height: 1.5; }
h1 { font-size: 1.3rem; margin: 0 0 12px; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; border-bottom: 2px solid #ccc; }
.en { color: #555; font-size: 0.9em; }
.side { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; border: 1px solid #ccc; padding: 8px; background: #fafafa; }
figure img { display: block; image-rendering: pixelated; border: 1px solid #999; background: #fff; }
figure.card img { width: 560px; max-width: 100%; height: auto; }
figure.photo img { width: 240px; height: auto; }
figure.address img { width: 560px; max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; margin-top: 4px; }
.noimage { width: 240px; padding: 24px 8px; border: 2px dashed #b3261e; color: #5c0f0b; }
.checklist { list-style: none; padding: 0; margin: 0; min-width: 280px; max-width: 420px; }
.checklist li { border: 1px solid #ccc; border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; }
.checklist li::before { content: "☐ "; font-size: 1.3em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f4; font-weight: normal; width: 14em; }
.signed { color: #1b7f3b; font-weight: bold; white-space: nowrap; }
.unsigned { color: #5f6368; white-space: nowrap; }
.value { word-break: break-all; }
code { font-size: 0.85em; word-break: break-all; }
footer { margin-top: 24px; font-size: 0.8rem; color: #555; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .verdict, figure, tr, .checklist li { break-inside: avoid; }
  figure.card img { width: 110mm; }
  figure.photo img { width: 45mm; }
  h2 { break-after: avoid; }
}
"#;

fn label(ja: &str, en: &str) -> String {
    format!("{} <span class=\"en\">{}</span>", escape(ja), escape(en))
}

fn coded(c: &Option<Coded>) -> Option<String> {
    c.as_ref().map(|c| match (&c.ja, &c.en) {
        (Some(ja), Some(en)) if !en.is_empty() => format!("{} ({ja} / {en})", c.code),
        (Some(ja), _) => format!("{} ({ja})", c.code),
        _ => c.code.clone(),
    })
}

fn date(d: &Option<String>) -> Option<String> {
    d.as_ref().map(|d| match crate::export::iso_date(d) {
        Some(iso) => match crate::export::japanese_era_date(d) {
            Some(era) => format!("{iso} ({era})"),
            None => iso,
        },
        None => d.clone(),
    })
}

fn flag(f: &Option<Flag>) -> Option<String> {
    f.as_ref().map(|f| match f.as_bool() {
        Some(true) => "あり / yes".to_owned(),
        Some(false) => "なし / no".to_owned(),
        None => format!("不明 / unknown ({})", f.code()),
    })
}

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref().map(|t| t.text.clone())
}

/// (report key, Japanese label, English label, value) of every field.
fn field_rows(read: &CardRead) -> Vec<(&'static str, &'static str, &'static str, Option<String>)> {
    let (ja, en) = read.card_type.names();
    let mut rows = vec![
        ("card_type", "カード種別", "Card type", Some(format!("{} ({ja} / {en})", read.card_type.code()))),
        ("card_number", "在留カード等番号", "Card number", Some(read.card_number_redacted.clone())),
        ("spec_version", "仕様バージョン", "Specification version", Some(read.common.spec_version.clone())),
    ];
    match &read.data {
        CardData::Gen1(d) => rows.extend([
            ("name", "氏名", "Name", Some("券面画像のみ / in the card-face image only".to_owned())),
            ("address", "住居地", "Address", text(&d.address.address)),
            ("address_written_on", "住居地の記載年月日", "Address written on", date(&d.address.date)),
            ("municipality_code", "市町村コード", "Municipality code", d.address.municipality_code.clone()),
            (
                "comprehensive_permission",
                "資格外活動許可（包括）",
                "Comprehensive permission",
                d.comprehensive_permission.as_ref().map(|t| text(t).unwrap_or_default()),
            ),
            (
                "individual_permission",
                "資格外活動許可（個別）",
                "Individual permission",
                d.individual_permission.as_ref().map(|t| text(t).unwrap_or_default()),
            ),
            (
                "renewal_application",
                "在留期間更新等許可申請",
                "Renewal application",
                d.renewal.as_ref().map(|r| match r {
                    RenewalStatus::Pending => "申請中 / pending".to_owned(),
                    RenewalStatus::None => "なし / none".to_owned(),
                    RenewalStatus::Empty => String::new(),
                    RenewalStatus::Unknown(v) => format!("不明 / unknown ({v})"),
                }),
            ),
        ]),
        CardData::Gen2(d) => {
            let (p, b) = (&d.printed, &d.back);
            rows.extend([
                ("name", "氏名", "Name", Some("氏名画像のみ / in the name image only".to_owned())),
                ("birth_date", "生年月日", "Date of birth", date(&p.birth_date)),
                ("sex", "性別", "Sex", coded(&p.sex)),
                ("nationality", "国籍・地域", "Nationality / region", coded(&p.nationality)),
                ("status_of_residence", "在留資格", "Status of residence", coded(&p.status_of_residence)),
                ("period_of_stay", "在留期間", "Period of stay", p.period_of_stay.as_ref().map(|p| p.japanese())),
                ("stay_expiry", "在留期間の満了日", "End of period of stay", date(&p.stay_expiry)),
                ("permission_type", "許可の種類", "Kind of permission", p.permission_type.clone()),
                ("permission_date", "許可年月日", "Date of permission", date(&p.permission_date)),
                ("work_restriction", "就労制限の有無", "Work restriction", coded(&p.work_restriction)),
                ("card_expiry", "カードの有効期間の満了日", "Card valid until", date(&p.card_expiry)),
                ("address", "住居地", "Address", Some("住居地画像のみ / in the address image only".to_owned())),
                (
                    "comprehensive_permission",
                    "資格外活動許可（包括）",
                    "Comprehensive permission",
                    coded(&b.comprehensive_permission),
                ),
                (
                    "comprehensive_permission_deadline",
                    "包括許可の期限",
                    "Comprehensive permission until",
                    date(&b.comprehensive_permission_deadline),
                ),
                (
                    "individual_permission",
                    "資格外活動許可（個別）",
                    "Individual permission",
                    flag(&b.individual_permission),
                ),
                (
                    "renewal_application_pending",
                    "在留期間更新等許可申請中",
                    "Renewal application pending",
                    flag(&b.renewal_application_pending),
                ),
                ("note_recorded", "長官記録事項", "Note recorded", flag(&b.note_recorded)),
                ("note_text", "記録事項", "Note", text(&b.note_text)),
            ]);
        }
    }
    rows
}

fn image_caption(name: &str, gen1: bool) -> (&'static str, &'static str, &'static str) {
    match name {
        "front" => ("card", "券面画像", "Card-face image"),
        "face" => ("photo", "顔写真", "Photo"),
        "name" => ("card", "氏名画像", "Name image"),
        "address" => ("address", "住居地画像", "Address image"),
        _ if gen1 => ("card", "画像", "Image"),
        _ => ("card", "画像", "Image"),
    }
}

fn signed_mark(signed: bool) -> &'static str {
    if signed {
        "<span class=\"signed\">✔ 署名あり <span class=\"en\">signed</span></span>"
    } else {
        "<span class=\"unsigned\">— 署名なし <span class=\"en\">not signed</span></span>"
    }
}

fn figure(img: &PngImage, gen1: bool, signed: bool) -> String {
    let (class, ja, en) = image_caption(img.name, gen1);
    let body = match &img.png {
        Ok(png) => format!(
            "<img id=\"image-{name}\" src=\"data:image/png;base64,{b64}\" alt=\"{ja} / {en}\">",
            name = img.name,
            b64 = BASE64.encode(png)
        ),
        Err(e) => format!(
            "<div class=\"noimage\" id=\"image-{}\">画像を表示できません<br><span class=\"en\">Image cannot be shown: {}</span></div>",
            img.name,
            escape(&e.to_string())
        ),
    };
    format!(
        "<figure class=\"{class}\">{body}<figcaption>{} {}</figcaption></figure>\n",
        label(ja, en),
        signed_mark(signed)
    )
}

/// The report page of a read, with its images as PNG ([`png_images`]).
pub fn report_html(read: &CardRead, images: &[PngImage]) -> String {
    let verdict = read.verification.verdict();
    let (class, symbol, v_ja, v_en) = verdict_words(verdict);
    let bound = bound_fields(read.card_type, &read.verification);
    let is_signed = |k: &str| bound.signed.contains(&k);
    let gen1 = read.card_type.generation() == 1;
    let report = Report::from_read(read);
    let v = &report.verification;
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n");
    h.push_str("<title>在留カード等 読取結果 / Residence card read report</title>\n<style>");
    h.push_str(VERDICT_CSS);
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n");
    h.push_str(&format!(
        "<h1>{}</h1>\n",
        label("在留カード等 ICチップ読取結果", "Residence card IC chip: read report")
    ));
    h.push_str(&format!(
        "<section id=\"verdict\" class=\"verdict verdict-{class}\" data-verdict=\"{}\"><div class=\"symbol\" aria-hidden=\"true\">{symbol}</div><div><div class=\"word\">判定 <span class=\"en\">verdict</span>: {}</div><p id=\"verdict-ja\">{v_ja}</p><p id=\"verdict-en\" class=\"en\">{v_en}</p></div></section>\n",
        verdict.as_str(),
        verdict.as_str()
    ));

    h.push_str(&format!("<h2>{}</h2>\n<div class=\"side\">\n", label("画像と確認事項", "Images and checklist")));
    let order: &[&str] = if gen1 { &["front", "face"] } else { &["name", "face", "address"] };
    let mut shown = 0;
    for name in order {
        if let Some(img) = images.iter().find(|i| i.name == *name) {
            h.push_str(&figure(img, gen1, is_signed(name)));
            shown += 1;
        }
    }
    if shown == 0 {
        h.push_str("<p>画像は読み取っていません。<span class=\"en\">No image was read.</span></p>\n");
    }
    h.push_str("<ol class=\"checklist\" id=\"checklist\">\n");
    let mut items = vec![
        label("顔写真と本人を見比べてください。", "Compare the photo with the person in front of you."),
        if gen1 {
            label(
                "券面画像と実物のカードを見比べてください（氏名・写真・記載事項）。",
                "Compare the card-face image with the physical card (name, photo, entries).",
            )
        } else {
            label(
                "氏名画像と記載事項を実物のカードと見比べてください。",
                "Compare the name image and the entries with the physical card.",
            )
        },
        label(
            &format!(
                "カード番号が実物のカードの番号と一致することを確認してください（{}）。",
                read.card_number_redacted
            ),
            "Check that the card number matches the number printed on the card.",
        ),
    ];
    if verdict != Verdict::Production {
        items.push(label(
            "判定が「本物」ではありません。上司に相談してください。",
            "The verdict is not \"genuine\": ask your supervisor before accepting the card.",
        ));
    }
    for item in items {
        h.push_str(&format!("<li>{item}</li>\n"));
    }
    h.push_str("</ol>\n</div>\n");

    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"fields\">\n<tr><th>{}</th><th>{}</th><th>{}</th></tr>\n",
        label("記載事項", "Entries"),
        label("項目", "Field"),
        label("内容", "Value"),
        label("署名", "Signature")
    ));
    for (key, ja, en, value) in field_rows(read) {
        let signed = is_signed(key) || (key == "name" && is_signed(if gen1 { "front" } else { "name" }));
        h.push_str(&format!(
            "<tr data-field=\"{key}\"><th>{}</th><td class=\"value\">{}</td><td>{}</td></tr>\n",
            label(ja, en),
            escape(value.as_deref().unwrap_or("")),
            signed_mark(signed)
        ));
    }
    h.push_str("</table>\n");
    h.push_str(&format!(
        "<p class=\"en\">{}</p>\n",
        escape(
            "署名なしの項目は、ICチップのアクセス制御だけで守られています。 Fields marked \"not signed\" are protected only by the chip's access control: a forged chip can show any value there."
        )
    ));

    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"chain\">\n",
        label("署名と証明書チェーン", "Signature and certificate chain")
    ));
    let opt = |s: &Option<String>| escape(s.as_deref().unwrap_or("—"));
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "はい / yes",
        Some(false) => "いいえ / no",
        None => "—",
    };
    let chain_rows = [
        (label("署名", "Signature"), escape(v.signature)),
        (label("署名形式", "Signature format"), escape(v.signature_format.unwrap_or("—"))),
        (label("理由", "Reason"), opt(&v.reason)),
        (label("チェーン", "Chain"), escape(v.chain)),
        (label("カード証明書", "Card certificate"), opt(&v.certificate_subject)),
        (label("カード証明書の有効期間内", "Card certificate valid now"), yes_no(v.certificate_valid_now).to_owned()),
        (label("トラストアンカー", "Trust anchor"), opt(&v.anchor_subject)),
        (label("アンカーの種類", "Anchor profile"), escape(v.anchor_profile.unwrap_or("—"))),
        (label("アンカー SHA-256", "Anchor SHA-256"), format!("<code>{}</code>", opt(&v.anchor))),
        (label("アンカーの有効期間内", "Anchor valid now"), yes_no(v.anchor_valid_now).to_owned()),
        (label("検証時刻", "Verified at"), escape(&crate::evidence::rfc3339_utc(v.verified_at_unix))),
    ];
    for (k, val) in chain_rows {
        h.push_str(&format!("<tr><th>{k}</th><td class=\"value\">{val}</td></tr>\n"));
    }
    h.push_str("</table>\n");

    if !read.warnings.is_empty() {
        h.push_str(&format!("<h2>{}</h2>\n<ul id=\"warnings\">\n", label("注意", "Warnings")));
        for w in &read.warnings {
            h.push_str(&format!("<li><code>{}</code> {}</li>\n", w.code.as_str(), escape(&w.message)));
        }
        h.push_str("</ul>\n");
    }

    h.push_str(&format!("<h2>{}</h2>\n<table id=\"read\">\n", label("読取情報", "Read details")));
    let details = [
        (label("アクセスフロー", "Access flow"), report.flow.to_owned()),
        (label("読取ポリシー", "Read policy"), report.policy.to_owned()),
        (
            label("APDU 数 / 送受信バイト", "APDUs / bytes sent / received"),
            format!("{} / {} / {}", report.metrics.apdus, report.metrics.bytes_sent, report.metrics.bytes_received),
        ),
        (label("ライブラリ", "Library"), format!("zairyu {}", report.zairyu_version)),
    ];
    for (k, val) in details {
        h.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>\n", escape(&val)));
    }
    h.push_str("</table>\n<footer>zairyu — 在留カード等仕様書 Ver 1.5 / 第２世代 Ver 1.1</footer>\n</body>\n</html>\n");
    h
}
