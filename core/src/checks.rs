//! Value checks that never stop a read. A date that is not a calendar date, a
//! municipality code with a wrong check digit, a code outside the known set or an
//! unusual period of stay is reported as read, with a coded [`Warning`]: the clerk
//! still needs the card, and for unsigned fields nothing proves the value anyway.
//! Only a structural failure of signed data makes the signature invalid
//! ([`crate::verify`]).

use crate::files::gen2::{BackEntries, Coded, PeriodOfStay, PrintedEntries};
use crate::files::{AddressRecord, Flag, RenewalStatus, is_calendar_date, municipality_check_digit_ok};
use crate::warning::{Warning, WarningCode};

fn date(out: &mut Vec<Warning>, name: &str, d: Option<&String>) {
    if let Some(d) = d.filter(|d| !is_calendar_date(d)) {
        out.push(Warning::new(WarningCode::DateInvalid, format!("{name} {d:?} is not a calendar date YYYYMMDD")));
    }
}

fn code(out: &mut Vec<Warning>, name: &str, c: Option<&Coded>) {
    if let Some(c) = c.filter(|c| c.ja.is_none()) {
        out.push(Warning::new(WarningCode::CodeUnknown, format!("{name} code {:?} is not a known value", c.code)));
    }
}

fn flag(out: &mut Vec<Warning>, name: &str, f: Option<&Flag>) {
    if let Some(Flag::Unknown(v)) = f {
        out.push(Warning::new(WarningCode::CodeUnknown, format!("{name} value {v:?} is neither 0 nor 1")));
    }
}

/// The first generation's DF2/EF01 (SPEC15 §3.3.4.5) and DF2/EF04 (§3.3.4.8).
pub fn gen1(address: &AddressRecord, renewal: Option<&RenewalStatus>) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(RenewalStatus::Unknown(v)) = renewal {
        out.push(Warning::new(
            WarningCode::CodeUnknown,
            format!("DF2/EF04 D7 renewal application value {v:?} is neither 0 nor 1"),
        ));
    }
    date(&mut out, "DF2/EF01 D2 address date", address.date.as_ref());
    if let Some(c) = address.municipality_code.as_ref().filter(|c| !municipality_check_digit_ok(c)) {
        out.push(Warning::new(
            WarningCode::MunicipalityCodeInvalid,
            format!("DF2/EF01 D3 municipality code {c:?} is not 6 digits with a valid check digit"),
        ));
    }
    out
}

/// The second generation's printed entries and DF2 (GEN2 §3.3.4). The
/// status-of-residence and nationality codes have open sets (a user table, ISO
/// 3166 plus extras) and are not checked here.
pub fn gen2(printed: &PrintedEntries, back: &BackEntries) -> Vec<Warning> {
    let mut out = Vec::new();
    for (name, d) in [
        ("DF1/EF02 C5 card expiry", &printed.card_expiry),
        ("DF1/EF02 C6 birth date", &printed.birth_date),
        ("DF1/EF02 CB permission date", &printed.permission_date),
        ("DF1/EF02 CD stay expiry", &printed.stay_expiry),
        ("DF2 D6 permission deadline", &back.comprehensive_permission_deadline),
    ] {
        date(&mut out, name, d.as_ref());
    }
    code(&mut out, "DF1/EF02 C7 sex", printed.sex.as_ref());
    code(&mut out, "DF1/EF02 CC work restriction", printed.work_restriction.as_ref());
    code(&mut out, "DF2 D5 comprehensive permission", back.comprehensive_permission.as_ref());
    flag(&mut out, "DF2 D7 individual permission", back.individual_permission.as_ref());
    flag(&mut out, "DF2 D8 renewal application", back.renewal_application_pending.as_ref());
    flag(&mut out, "DF2 D9 note recorded", back.note_recorded.as_ref());
    if let Some(PeriodOfStay::Raw { value }) = &printed.period_of_stay {
        out.push(Warning::new(
            WarningCode::PeriodOfStayUnusual,
            format!("DF1/EF02 CE period of stay {value:?} is neither YYMM, DDD nor 0000"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates() {
        for ok in ["20240229", "20000229", "19991231", "20260101"] {
            assert!(is_calendar_date(ok), "{ok}");
        }
        for bad in ["20230229", "19000229", "20241301", "20240431", "20240100", "2024011", "2024O101", ""] {
            assert!(!is_calendar_date(bad), "{bad}");
        }
    }

    #[test]
    fn gen1_address_problems_are_warnings() {
        let a =
            AddressRecord { date: Some("20240231".into()), municipality_code: Some("131017".into()), address: None };
        let codes: Vec<_> = gen1(&a, None).iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::DateInvalid, WarningCode::MunicipalityCodeInvalid]);
        let odd = RenewalStatus::Unknown("7".into());
        let w = gen1(&a, Some(&odd));
        assert_eq!(w[0].code, WarningCode::CodeUnknown);
        assert!(w[0].message.contains("\"7\""), "{}", w[0].message);
        let ok =
            AddressRecord { date: Some("20240229".into()), municipality_code: Some("131016".into()), address: None };
        assert!(gen1(&ok, Some(&RenewalStatus::Pending)).is_empty());
    }
}
