//! The human summary, with Japanese and English labels.

use std::fmt::Write;

use zairyu::files::{RenewalStatus, Text, TextEncoding};
use zairyu::reader::CardRead;
use zairyu::verify::{AnchorProfile, ChainStatus, SignatureStatus};

fn text(t: &Option<Text>) -> String {
    match t {
        None => "（なし / none）".to_owned(),
        Some(t) if t.encoding == TextEncoding::Utf8 => t.text.clone(),
        Some(t) => format!("{} [decoded as Shift_JIS]", t.text),
    }
}

/// Renders the summary of a read.
pub fn render(r: &CardRead) -> String {
    let mut s = String::new();
    let (ja, en) = r.card_type.names();
    let d = &r.data;
    let v = &r.verification;
    let _ = writeln!(
        s,
        "カード種別 / Card type         : {} {ja} / {en}",
        r.card_type.code()
    );
    let _ = writeln!(
        s,
        "世代 / Generation              : {} ({})",
        r.card_type.generation(),
        r.flow
    );
    let _ = writeln!(
        s,
        "カード番号 / Card number       : {}",
        r.card_number_redacted
    );
    let _ = writeln!(
        s,
        "仕様バージョン / Spec version  : {}",
        r.common.spec_version
    );
    let _ = writeln!(
        s,
        "住居地 / Address               : {}",
        text(&d.address.address)
    );
    let _ = writeln!(
        s,
        "市町村コード / Municipality    : {}",
        d.address.municipality_code.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        s,
        "追記日 / Written on            : {}",
        d.address.date.as_deref().unwrap_or("-")
    );
    if let Some(p) = &d.comprehensive_permission {
        let _ = writeln!(s, "資格外活動（包括）/ Work perm. : {}", text(p));
    }
    if let Some(p) = &d.individual_permission {
        let _ = writeln!(s, "資格外活動（個別）/ Work perm. : {}", text(p));
    }
    if let Some(rn) = d.renewal {
        let label = match rn {
            RenewalStatus::Pending => "申請中 / application pending",
            RenewalStatus::None => "なし / none",
            RenewalStatus::Empty => "（空）/ empty",
        };
        let _ = writeln!(s, "更新申請 / Renewal application : {label}");
    }
    let _ = writeln!(
        s,
        "券面画像 / Front image         : {:?}, {} bytes",
        d.front_image.format,
        d.front_image.bytes().len()
    );
    let _ = writeln!(
        s,
        "顔写真 / Face photo            : {:?}, {} bytes",
        d.face_image.format,
        d.face_image.bytes().len()
    );
    let sig = match v.signature {
        SignatureStatus::Valid => "有効 / VALID",
        SignatureStatus::Invalid => "無効 / INVALID — possible forgery or alteration",
        SignatureStatus::Absent => "なし / absent (no photo or signature on this card)",
        SignatureStatus::NotChecked => "未検証 / not checked",
    };
    let _ = writeln!(s, "署名 / Signature               : {sig}");
    if let Some(reason) = &v.reason {
        let _ = writeln!(s, "  理由 / reason                : {reason}");
    }
    let chain = match (v.chain, v.anchor_profile) {
        (ChainStatus::Verified, Some(AnchorProfile::Production)) => {
            "法務省ルート / Ministry production root".to_owned()
        }
        (ChainStatus::Verified, Some(AnchorProfile::Test)) => {
            "テスト用 / TEST anchor (not the Ministry)".to_owned()
        }
        (c, _) => format!("{c:?}"),
    };
    let _ = writeln!(s, "証明書チェーン / Chain         : {chain}");
    if let Some(a) = &v.anchor {
        let _ = writeln!(s, "  アンカー / anchor SHA-256    : {a}");
    }
    if let Some(ok) = v.certificate_valid_now {
        let _ = writeln!(
            s,
            "  証明書有効期間 / cert valid  : {}",
            if ok {
                "yes"
            } else {
                "NO (outside validity period)"
            }
        );
    }
    let _ = writeln!(
        s,
        "通信 / Exchange                : {} APDUs, {} bytes sent, {} bytes received",
        r.metrics.apdus, r.metrics.bytes_sent, r.metrics.bytes_received
    );
    for w in &r.warnings {
        let _ = writeln!(s, "注意 / Warning                 : {w}");
    }
    s
}
