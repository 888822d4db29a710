//! The human summary, with Japanese and English labels.

use std::fmt::Write;

use zairyu::files::gen2::Coded;
use zairyu::files::{Flag, Image, RenewalStatus, Text, TextEncoding, is_unsafe_char};
use zairyu::sequence::{CardData, CardRead};
use zairyu::verify::{AnchorProfile, ChainStatus, SignatureStatus, bound_fields};

/// Card text for a terminal: control and bidirectional-override characters (which
/// could rewrite the screen or reorder what the clerk sees) shown as `\u{…}`.
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe_char(c) { format!("\\u{{{:04X}}}", u32::from(c)) } else { c.to_string() })
        .collect()
}

fn text(t: &Option<Text>) -> String {
    match t {
        None => "（なし / none）".to_owned(),
        Some(t) if t.encoding == TextEncoding::Utf8 => escaped(&t.text),
        Some(t) => format!("{} [decoded as {:?}]", escaped(&t.text), t.encoding),
    }
}

fn coded(c: &Option<Coded>) -> String {
    match c {
        None => "-".to_owned(),
        Some(Coded { code, ja: Some(ja), en: Some(en) }) if !en.is_empty() => format!("{code} {ja} / {en}"),
        Some(Coded { code, ja: Some(ja), .. }) => format!("{code} {ja}"),
        Some(Coded { code, .. }) => format!("{code} (code table not loaded)"),
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn flag(b: Option<&Flag>, yes: &str, no: &str) -> String {
    match b {
        None => "-".to_owned(),
        Some(Flag::Yes) => yes.to_owned(),
        Some(Flag::No) => no.to_owned(),
        Some(Flag::Unknown(v)) => format!("{v} (不明な値 / unknown value)"),
    }
}

/// Terminal columns of a label: CJK and full-width characters take two.
fn columns(text: &str) -> usize {
    text.chars().map(|c| if matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6) { 2 } else { 1 }).sum()
}

/// A line of card data, marked when no valid signature binds it (`signed`: the
/// report names that the signature binds on this card, `verify::bound_fields`).
fn field(s: &mut String, signed: &[&str], key: &str, label: &str, value: impl std::fmt::Display) {
    if signed.contains(&key) {
        line(s, label, value);
    } else {
        line(s, label, format!("{value}  [未署名 / not signed]"));
    }
}

fn line(s: &mut String, label: &str, value: impl std::fmt::Display) {
    let pad = 36usize.saturating_sub(columns(label));
    let _ = writeln!(s, "{label}{:pad$}: {value}", "");
}

fn image(i: &Option<Image>) -> String {
    match i {
        None => "not read (policy)".to_owned(),
        Some(i) if !i.is_present() => "none stored".to_owned(),
        Some(i) => format!("{:?}, {} bytes", i.format, i.bytes().len()),
    }
}

/// Renders the summary of a read.
pub fn render(r: &CardRead) -> String {
    let mut s = String::new();
    let signed = bound_fields(r.card_type, &r.verification).signed;
    let (ja, en) = r.card_type.names();
    field(&mut s, &signed, "card_type", "カード種別 / Card type", format!("{} {ja} / {en}", r.card_type.code()));
    line(&mut s, "世代 / Generation", format!("{} ({})", r.card_type.generation(), r.flow.name()));
    field(&mut s, &signed, "card_number", "カード番号 / Card number", &r.card_number_redacted);
    field(&mut s, &signed, "spec_version", "仕様バージョン / Spec version", &r.common.spec_version);
    match &r.data {
        CardData::Gen1(d) => {
            field(&mut s, &signed, "address", "住居地 / Address", text(&d.address.address));
            field(
                &mut s,
                &signed,
                "municipality_code",
                "市町村コード / Municipality code",
                opt(&d.address.municipality_code),
            );
            field(&mut s, &signed, "address_written_on", "追記日 / Address written on", opt(&d.address.date));
            if let Some(p) = &d.comprehensive_permission {
                field(&mut s, &signed, "comprehensive_permission", "資格外活動 包括 / Work (general)", text(p));
            }
            if let Some(p) = &d.individual_permission {
                field(&mut s, &signed, "individual_permission", "資格外活動 個別 / Work (individual)", text(p));
            }
            if let Some(rn) = &d.renewal {
                let label = match rn {
                    RenewalStatus::Pending => "申請中 / application pending".to_owned(),
                    RenewalStatus::None => "なし / none".to_owned(),
                    RenewalStatus::Empty => "（空）/ empty".to_owned(),
                    RenewalStatus::Unknown(v) => format!("{v} (不明な値 / unknown value)"),
                };
                field(&mut s, &signed, "renewal_application", "更新申請 / Renewal application", &label);
            }
            field(&mut s, &signed, "front", "券面画像 / Front image", image(&d.front_image));
            field(&mut s, &signed, "face", "顔写真 / Face photo", image(&d.face_image));
        }
        CardData::Gen2(d) => {
            let p = &d.printed;
            field(&mut s, &signed, "name", "氏名 / Name", "image only (see dump: name.tif)");
            field(&mut s, &signed, "birth_date", "生年月日 / Date of birth", opt(&p.birth_date));
            field(&mut s, &signed, "sex", "性別 / Sex", coded(&p.sex));
            field(&mut s, &signed, "nationality", "国籍・地域 / Nationality", coded(&p.nationality));
            field(
                &mut s,
                &signed,
                "status_of_residence",
                "在留資格 / Status of residence",
                coded(&p.status_of_residence),
            );
            let period = p.period_of_stay.as_ref().map(|x| x.japanese()).unwrap_or_else(|| "-".into());
            field(&mut s, &signed, "period_of_stay", "在留期間 / Period of stay", period);
            field(&mut s, &signed, "stay_expiry", "在留期間満了日 / Stay expires", opt(&p.stay_expiry));
            field(&mut s, &signed, "permission_type", "許可の種類 / Permission type", opt(&p.permission_type));
            field(&mut s, &signed, "permission_date", "許可年月日 / Permission date", opt(&p.permission_date));
            field(&mut s, &signed, "work_restriction", "就労制限 / Work restriction", coded(&p.work_restriction));
            field(&mut s, &signed, "card_expiry", "カード有効期限 / Card expires", opt(&p.card_expiry));
            let b = &d.back;
            if b.comprehensive_permission.is_some() {
                field(
                    &mut s,
                    &signed,
                    "comprehensive_permission",
                    "資格外活動 包括 / Work (general)",
                    coded(&b.comprehensive_permission),
                );
                field(
                    &mut s,
                    &signed,
                    "comprehensive_permission_deadline",
                    "包括許可期限 / General until",
                    opt(&b.comprehensive_permission_deadline),
                );
            }
            if b.individual_permission.is_some() {
                field(
                    &mut s,
                    &signed,
                    "individual_permission",
                    "資格外活動 個別 / Work (individual)",
                    flag(b.individual_permission.as_ref(), "あり / yes", "なし / none"),
                );
            }
            if b.renewal_application_pending.is_some() {
                field(
                    &mut s,
                    &signed,
                    "renewal_application_pending",
                    "更新申請 / Renewal application",
                    flag(b.renewal_application_pending.as_ref(), "申請中 / pending", "なし / none"),
                );
            }
            field(
                &mut s,
                &signed,
                "note_recorded",
                "長官記録事項 / Note recorded",
                flag(b.note_recorded.as_ref(), "あり / yes", "なし / no"),
            );
            if let Some(t) = &b.note_text {
                field(&mut s, &signed, "note_text", "記録 / Note", &t.text);
            }
            field(&mut s, &signed, "address", "住居地 / Address", "image only (see dump: address.tif)");
            field(&mut s, &signed, "name", "氏名画像 / Name image", image(&d.name_image));
            field(&mut s, &signed, "face", "顔写真 / Face photo", image(&d.face_image));
            field(&mut s, &signed, "address", "住居地画像 / Address image", image(&d.address_image));
        }
    }
    let v = &r.verification;
    let sig = match v.signature {
        SignatureStatus::Valid => "有効 / VALID",
        SignatureStatus::Invalid => "無効 / INVALID — possible forgery or alteration",
        SignatureStatus::Absent => "なし / absent (no photo or signature on this card)",
        SignatureStatus::NotChecked => "未検証 / not checked",
    };
    line(&mut s, "署名 / Signature", sig);
    if let Some(reason) = &v.reason {
        line(&mut s, "  理由 / reason", reason);
    }
    let chain = match (v.chain, v.anchor_profile) {
        (ChainStatus::Verified, Some(AnchorProfile::Production)) => {
            "法務省ルート / Ministry production root".to_owned()
        }
        (ChainStatus::Verified, Some(AnchorProfile::Test)) => "テスト用 / TEST anchor (not the Ministry)".to_owned(),
        (c, _) => format!("{c:?}"),
    };
    line(&mut s, "証明書チェーン / Chain", chain);
    if let Some(a) = &v.anchor {
        line(&mut s, "  アンカー / anchor SHA-256", a);
    }
    if let Some(ok) = v.certificate_valid_now {
        line(&mut s, "  証明書有効期間 / cert valid now", if ok { "yes" } else { "NO (outside validity period)" });
    }
    line(
        &mut s,
        "通信 / Exchange",
        format!(
            "{} APDUs, {} bytes sent, {} bytes received",
            r.metrics.apdus, r.metrics.bytes_sent, r.metrics.bytes_received
        ),
    );
    for w in &r.warnings {
        line(&mut s, "注意 / Warning", w);
    }
    s
}

#[cfg(test)]
mod tests {
    use zairyu::CardNumber;
    use zairyu::auth::OsRandom;
    use zairyu::files::CardType;
    use zairyu::sequence::{ReadOptions, read_card};
    use zairyu::session::Card;
    use zairyu_sim::{Address, IssueOptions, IssuedCard, SimCard};

    fn summary(opts: &IssueOptions) -> String {
        let mut card = Card::new(SimCard::new(IssuedCard::issue(opts)));
        let number = CardNumber::parse(&opts.card_number).unwrap();
        let trust = zairyu_sim::test_trust_store();
        super::render(&read_card(&mut card, &number, &trust, &mut OsRandom, &ReadOptions::default()).unwrap())
    }

    fn line<'a>(s: &'a str, label: &str) -> &'a str {
        s.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label} in\n{s}"))
    }

    #[test]
    fn unsigned_lines_are_marked_and_signed_ones_are_not() {
        const MARK: &str = "[未署名 / not signed]";
        let s = summary(&IssueOptions::default());
        for unsigned in ["住居地 / Address", "カード種別 / Card type", "カード番号 / Card number"] {
            assert!(line(&s, unsigned).ends_with(MARK), "{unsigned}");
        }
        for signed in ["券面画像 / Front image", "顔写真 / Face photo"] {
            assert!(!line(&s, signed).contains(MARK), "{signed}");
        }
        let s = summary(&IssueOptions { card_type: CardType::Gen2ResidenceCard, ..IssueOptions::default() });
        assert!(!line(&s, "生年月日 / Date of birth").contains(MARK));
        assert!(line(&s, "住居地画像 / Address image").ends_with(MARK));
        // No valid signature: every data line is marked.
        let s = summary(&IssueOptions { tamper_front_image: true, ..IssueOptions::default() });
        assert!(line(&s, "顔写真 / Face photo").ends_with(MARK));
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        let opts = IssueOptions {
            address: Some(Address {
                date: "20240401".into(),
                municipality_code: "131016".into(),
                text: "東京都\u{202E}区\u{1b}[2J".into(),
            }),
            ..IssueOptions::default()
        };
        let s = summary(&opts);
        assert!(line(&s, "住居地 / Address").contains("東京都\\u{202E}区\\u{001B}[2J"));
        assert!(!s.contains('\u{202E}') && !s.contains('\u{1b}'));
    }
}
