//! The counter page, rendered on the server from the state: Japanese first, English
//! alongside; native forms and buttons only, so that the keyboard alone does
//! everything (Tab, Enter). The one script (`/static/counter.js`) reloads the page on
//! a state change heard over Server-Sent Events and shows the progress of a read; the
//! page works without it, save for the live updates.
//!
//! Card text comes only from the evidence crate's report (escaped there) and is
//! escaped here wherever the page shows a value of its own; the card number is never
//! rendered.

use zairyu::write::record::NewAddress;
use zairyu_evidence::html::escape;

use super::{App, CardState, CounterState, Notice, ReaderView};

/// `ja` with `en` beside it.
fn both(ja: &str, en: &str) -> String {
    format!("{ja} <span class=\"en\">{en}</span>")
}

fn notice_html(id: &str, n: &Notice) -> String {
    format!(
        "<div id=\"{id}\" class=\"notice\" role=\"alert\" data-code=\"{}\"><p>{}</p><p class=\"en\">{}</p></div>\n",
        escape(&n.code),
        escape(&n.ja),
        escape(&n.en)
    )
}

/// The whole page for the state now.
pub fn render(app: &App, st: &mut CounterState) -> String {
    let live = st.live();
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>在留カード 窓口確認 / Residence card counter check</title>\n");
    h.push_str("<link rel=\"stylesheet\" href=\"/static/verdict.css\">\n");
    h.push_str("<link rel=\"stylesheet\" href=\"/static/counter.css\">\n");
    h.push_str("<script src=\"/static/counter.js\" defer></script>\n</head>\n");
    h.push_str(&format!("<body data-version=\"{}\" data-state=\"{live}\">\n", st.version));
    h.push_str(&format!(
        "<header class=\"bar noprint\"><strong>{}</strong> <span class=\"reader\">{} {}</span> <span id=\"live-state\" class=\"live live-{live}\" role=\"status\">{}</span></header>\n<main>\n",
        both("在留カード 窓口確認", "Residence card counter check"),
        both("リーダー", "reader"),
        escape(app.reader()),
        live_words(live)
    ));
    if let Some(n) = &st.notice {
        h.push_str(&notice_html("notice", n));
    }
    let reading = st.reading;
    match st.reader {
        ReaderView::NoReader => h.push_str(&format!(
            "<section id=\"no-reader\" class=\"prompt\"><p class=\"big\">{}</p><p class=\"en\">{}</p></section>\n",
            "カードリーダーが見つかりません。接続を確認してください。",
            "No card reader: check that the reader is connected."
        )),
        ReaderView::Empty => {
            let (ja, en) = if st.removed {
                (
                    "カードが取り外されました。読み取り結果は消去しました。次のカードを置いてください。",
                    "The card was removed and its result dropped. Place the next card on the reader.",
                )
            } else {
                ("在留カードをカードリーダーに置いてください。", "Place the residence card on the reader.")
            };
            h.push_str(&format!(
                "<section id=\"waiting\" class=\"prompt\"><p class=\"big\">{ja}</p><p class=\"en\">{en}</p></section>\n"
            ));
        }
        ReaderView::Present { .. } => {
            let can_write = app.can_write();
            match st.current_card() {
                Some(card) => result(&mut h, card, can_write, app.default_operator()),
                None => number_form(&mut h, reading),
            }
        }
    }
    if app.is_sim() {
        let (action, id, ja, en) = match st.reader {
            ReaderView::Present { .. } => {
                ("/sim/remove", "sim-remove", "模擬カードを取り外す", "Remove the simulated card")
            }
            _ => ("/sim/insert", "sim-insert", "模擬カードを置く", "Place the simulated card"),
        };
        h.push_str(&format!(
            "<aside id=\"sim\" class=\"sim noprint\"><p>{}</p><form method=\"post\" action=\"{action}\" class=\"inline\"><button type=\"submit\" id=\"{id}\">{}</button></form></aside>\n",
            both(
                "模擬カード（テスト用・本物ではありません）。番号は zairyu counter が表示しています。",
                "Simulated card (for testing, not a real card); zairyu counter printed its number."
            ),
            both(ja, en)
        ));
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn live_words(live: &str) -> String {
    let (ja, en) = match live {
        "no-reader" => ("リーダーなし", "no reader"),
        "removed" => ("カードが取り外されました", "card removed"),
        "empty" => ("カード待ち", "waiting for a card"),
        "reading" => ("読み取り中", "reading"),
        "writing" => ("書き込み中", "writing"),
        "result" => ("読み取り済み", "read"),
        _ => ("カードあり", "card present"),
    };
    both(ja, en)
}

fn number_form(h: &mut String, reading: bool) {
    h.push_str(&format!(
        "<section id=\"number\" class=\"prompt\">\n<form id=\"read-form\" method=\"post\" action=\"/read\" autocomplete=\"off\">\n\
<label for=\"card-number\" class=\"big\">{}</label>\n\
<input id=\"card-number\" name=\"number\" type=\"text\" inputmode=\"text\" autocomplete=\"off\" autocapitalize=\"characters\" \
spellcheck=\"false\" minlength=\"12\" maxlength=\"12\" size=\"14\" pattern=\"[A-Za-z]{{2}}[0-9]{{8}}[A-Za-z]{{2}}\" required autofocus \
aria-describedby=\"number-hint\"{}>\n\
<p id=\"number-hint\">{}</p>\n\
<button type=\"submit\" id=\"read-button\"{}>{}</button>\n</form>\n\
<p id=\"progress\" class=\"progress\" role=\"status\"{}><span class=\"spinner\" aria-hidden=\"true\"></span>{}</p>\n</section>\n",
        both("カードに印字された在留カード等番号を入力してください", "Type the card number printed on the card"),
        if reading { " disabled" } else { "" },
        both(
            "12文字：英字2桁＋数字8桁＋英字2桁（例：AB 12345678 CD の形）。入力した番号は画面に表示されず、保存もされません。",
            "12 characters: 2 letters + 8 digits + 2 letters. The number is never shown or stored."
        ),
        if reading { " disabled" } else { "" },
        both("読み取る", "Read"),
        if reading { "" } else { " hidden" },
        both("読み取り中です。カードを動かさないでください…", "Reading: do not move the card…"),
    ));
}

fn result(h: &mut String, card: &mut CardState, can_write: bool, default_operator: &str) {
    // A record export only of a card whose signature verifies to a trusted root;
    // the evidence file of any read.
    let exports = if super::exportable(&card.read) {
        format!(
            " <a id=\"export-csv\" class=\"button\" href=\"/export.csv\" download=\"record.csv\">{}</a> \
<a id=\"export-json\" class=\"button\" href=\"/export.json\" download=\"record.json\">{}</a>",
            both("記録を出力 CSV", "Export record (CSV)"),
            both("記録を出力 JSON", "Export record (JSON)"),
        )
    } else {
        String::new()
    };
    h.push_str(&format!(
        "<nav id=\"actions\" class=\"actions noprint\" aria-label=\"操作 / actions\">\
<button type=\"button\" id=\"print\">{}</button> \
<a id=\"save-evidence\" class=\"button\" href=\"/evidence.json\" download=\"evidence.json\">{}</a>{exports}</nav>\n",
        both("印刷", "Print"),
        both("証拠を保存", "Save evidence (evidence.json)"),
    ));
    if card.written.is_some() {
        // The report (and the exports) are of the read before the write; the
        // write's own re-read is in the receipt. The card read again shows it all.
        h.push_str(&format!(
            "<div id=\"before-write\" class=\"notice before-write\" role=\"note\"><p>{}</p><p class=\"en\">{}</p></div>\n",
            "以下は書き込み前の読み取り結果です。書き込んだ内容は下の「書き込みました」の記録を確認してください（カードを置き直して読み取ると、書き込み後の内容が表示されます）。",
            "Shown below: the read from BEFORE the write. What was written is in the receipt below; place the card again and read it to see the card as it is now."
        ));
    }
    h.push_str("<article id=\"report\">\n");
    h.push_str(&card.report_body);
    h.push_str("</article>\n");
    if can_write {
        write_section(h, card, default_operator);
    }
}

fn write_section(h: &mut String, card: &CardState, default_operator: &str) {
    let gen2 = card.read.card_type.generation() == 2;
    h.push_str(&format!(
        "<section id=\"write\" class=\"noprint\">\n<h2>{}</h2>\n",
        both("住居地の書き込み", "Write the new address")
    ));
    if let Some(n) = &card.write_error {
        h.push_str(&notice_html("write-error", n));
    }
    if let Some(receipt) = &card.written {
        h.push_str(&format!(
            "<div id=\"write-receipt\" class=\"receipt\"><p class=\"ok\">{}</p><pre>{}</pre></div>\n</section>\n",
            both(
                "書き込みました。新しいセッションで読み直し、内容が一致することを確認しました。",
                "Written, and confirmed by a re-read on a new card session."
            ),
            receipt.lines().map(escape).collect::<Vec<_>>().join("\n")
        ));
        return;
    }
    if let Some(p) = &card.pending {
        let target = if gen2 { "DF1/EF04（住居地の画像）" } else { "DF2/EF01（追記書き込み欄）" };
        h.push_str(&format!(
            "<div id=\"write-confirm\" class=\"confirm\"><p class=\"big\">{}</p>\n<table>\n\
<tr><th>{}</th><td id=\"confirm-date\">{}</td></tr>\n<tr><th>{}</th><td id=\"confirm-code\">{}</td></tr>\n\
<tr><th>{}</th><td id=\"confirm-address\">{}</td></tr>\n<tr><th>{}</th><td>{}</td></tr>\n<tr><th>{}</th><td>{}</td></tr>\n</table>\n\
<form method=\"post\" action=\"/write/confirm\" class=\"inline\" data-progress=\"write\"><input type=\"hidden\" name=\"nonce\" value=\"{}\"><button type=\"submit\" id=\"write-confirm-button\" autofocus>{}</button></form>\n\
<form method=\"post\" action=\"/write/cancel\" class=\"inline\"><button type=\"submit\" id=\"write-cancel\">{}</button></form>\n\
<p id=\"write-progress\" class=\"progress\" role=\"status\" hidden><span class=\"spinner\" aria-hidden=\"true\"></span>{}</p></div>\n</section>\n",
            both("次の内容をICチップに書き込みます。よろしいですか。", "This will be written to the chip. Confirm?"),
            both("追記書き込み年月日", "Date"),
            escape(&p.record.date),
            both("市町村コード", "Municipality code"),
            escape(&p.record.municipality_code),
            both("住居地", "Address"),
            escape(&p.record.address),
            both("操作者", "Operator"),
            escape(&p.operator),
            both("書き込み先", "Written to"),
            target,
            escape(&p.nonce),
            both("書き込む", "Write"),
            both("修正する", "Back to the form"),
            both("書き込み中です。カードを動かさないでください…", "Writing: do not move the card…"),
        ));
        return;
    }
    let empty = NewAddress { date: String::new(), municipality_code: String::new(), address: String::new() };
    let record = card.form.record.as_ref().unwrap_or(&empty);
    let operator = if card.form.record.is_some() { card.form.operator.as_str() } else { default_operator };
    if let Some(n) = &card.form.error {
        h.push_str(&notice_html("write-form-error", n));
    }
    h.push_str(&format!(
        "<form id=\"write-form\" method=\"post\" action=\"/write/check\" autocomplete=\"off\">\n\
<p><label for=\"write-date\">{}</label><br><input id=\"write-date\" name=\"date\" inputmode=\"numeric\" maxlength=\"8\" size=\"10\" required value=\"{}\"> <span class=\"hint\">YYYYMMDD</span></p>\n\
<p><label for=\"write-code\">{}</label><br><input id=\"write-code\" name=\"municipality_code\" inputmode=\"numeric\" maxlength=\"6\" size=\"8\" required value=\"{}\"> <span class=\"hint\">{}</span></p>\n\
<p><label for=\"write-address\">{}</label><br><input id=\"write-address\" name=\"address\" maxlength=\"80\" size=\"60\" required value=\"{}\"> <span class=\"hint\">{}</span></p>\n\
<p><label for=\"write-operator\">{}</label><br><input id=\"write-operator\" name=\"operator\" maxlength=\"128\" size=\"20\" required value=\"{}\"></p>\n\
<button type=\"submit\" id=\"write-check\">{}</button>\n</form>\n</section>\n",
        both("追記書き込み年月日", "Date of the entry"),
        escape(&record.date),
        both("市町村コード", "Municipality code"),
        escape(&record.municipality_code),
        both("6桁（検査数字を含む）", "6 digits with the check digit"),
        both("新しい住居地", "New address"),
        escape(&record.address),
        both("80文字以内", "at most 80 characters"),
        both("操作者ID", "Operator id"),
        escape(operator),
        both("確認へ", "Check and confirm"),
    ));
}
