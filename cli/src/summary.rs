//! The human summary, with Japanese and English labels.

use std::fmt::Write;

use zairyu::files::gen2::Coded;
use zairyu::files::{Image, RenewalStatus, Text, TextEncoding};
use zairyu::sequence::{CardData, CardRead};
use zairyu::verify::{AnchorProfile, ChainStatus, SignatureStatus};

fn text(t: &Option<Text>) -> String {
    match t {
        None => "（なし / none）".to_owned(),
        Some(t) if t.encoding == TextEncoding::Utf8 => t.text.clone(),
        Some(t) => format!("{} [decoded as {:?}]", t.text, t.encoding),
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

fn flag(b: Option<bool>, yes: &str, no: &str) -> String {
    match b {
        None => "-".to_owned(),
        Some(true) => yes.to_owned(),
        Some(false) => no.to_owned(),
    }
}

/// Terminal columns of a label: CJK and full-width characters take two.
fn columns(text: &str) -> usize {
    text.chars().map(|c| if matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6) { 2 } else { 1 }).sum()
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
    let (ja, en) = r.card_type.names();
    line(&mut s, "カード種別 / Card type", format!("{} {ja} / {en}", r.card_type.code()));
    line(&mut s, "世代 / Generation", format!("{} ({})", r.card_type.generation(), r.flow.name()));
    line(&mut s, "カード番号 / Card number", &r.card_number_redacted);
    line(&mut s, "仕様バージョン / Spec version", &r.common.spec_version);
    match &r.data {
        CardData::Gen1(d) => {
            line(&mut s, "住居地 / Address", text(&d.address.address));
            line(&mut s, "市町村コード / Municipality code", opt(&d.address.municipality_code));
            line(&mut s, "追記日 / Address written on", opt(&d.address.date));
            if let Some(p) = &d.comprehensive_permission {
                line(&mut s, "資格外活動 包括 / Work (general)", text(p));
            }
            if let Some(p) = &d.individual_permission {
                line(&mut s, "資格外活動 個別 / Work (individual)", text(p));
            }
            if let Some(rn) = d.renewal {
                let label = match rn {
                    RenewalStatus::Pending => "申請中 / application pending",
                    RenewalStatus::None => "なし / none",
                    RenewalStatus::Empty => "（空）/ empty",
                };
                line(&mut s, "更新申請 / Renewal application", label);
            }
            line(&mut s, "券面画像 / Front image", image(&d.front_image));
            line(&mut s, "顔写真 / Face photo", image(&d.face_image));
        }
        CardData::Gen2(d) => {
            let p = &d.printed;
            line(&mut s, "氏名 / Name", "image only (see dump: name.tif)");
            line(&mut s, "生年月日 / Date of birth", opt(&p.birth_date));
            line(&mut s, "性別 / Sex", coded(&p.sex));
            line(&mut s, "国籍・地域 / Nationality", coded(&p.nationality));
            line(&mut s, "在留資格 / Status of residence", coded(&p.status_of_residence));
            let period = p.period_of_stay.as_ref().map(|x| x.japanese()).unwrap_or_else(|| "-".into());
            line(&mut s, "在留期間 / Period of stay", period);
            line(&mut s, "在留期間満了日 / Stay expires", opt(&p.stay_expiry));
            line(&mut s, "許可の種類 / Permission type", opt(&p.permission_type));
            line(&mut s, "許可年月日 / Permission date", opt(&p.permission_date));
            line(&mut s, "就労制限 / Work restriction", coded(&p.work_restriction));
            line(&mut s, "カード有効期限 / Card expires", opt(&p.card_expiry));
            let b = &d.back;
            if b.comprehensive_permission.is_some() {
                line(&mut s, "資格外活動 包括 / Work (general)", coded(&b.comprehensive_permission));
                line(&mut s, "包括許可期限 / General until", opt(&b.comprehensive_permission_deadline));
            }
            if b.individual_permission.is_some() {
                line(
                    &mut s,
                    "資格外活動 個別 / Work (individual)",
                    flag(b.individual_permission, "あり / yes", "なし / none"),
                );
            }
            if b.renewal_application_pending.is_some() {
                line(
                    &mut s,
                    "更新申請 / Renewal application",
                    flag(b.renewal_application_pending, "申請中 / pending", "なし / none"),
                );
            }
            line(&mut s, "長官記録事項 / Note recorded", flag(b.note_recorded, "あり / yes", "なし / no"));
            if let Some(t) = &b.note_text {
                line(&mut s, "記録 / Note", &t.text);
            }
            line(&mut s, "住居地 / Address", "image only (see dump: address.tif)");
            line(&mut s, "氏名画像 / Name image", image(&d.name_image));
            line(&mut s, "顔写真 / Face photo", image(&d.face_image));
            line(&mut s, "住居地画像 / Address image", image(&d.address_image));
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
