//! Warnings: things a clerk should know about a completed read that are not
//! errors. Each has a stable code (in the JSON report as `{"code", "message"}`)
//! so that registry systems can act on them without matching English text.

use serde::Serialize;

/// The stable code of a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningCode {
    /// The card number typed is not 2 letters + 8 digits + 2 letters (the card
    /// accepted it all the same).
    CardNumberShape,
    /// The reader could not carry extended APDUs; the read used a short-APDU
    /// fallback the spec does not describe.
    ShortApduFallback,
    /// A first-generation address is not UTF-8 and was decoded as Shift_JIS.
    AddressNotUtf8,
    /// A second-generation note text is not UTF-8 and was decoded lossily.
    NoteNotUtf8,
    /// A text field holds control characters (C0, C1, DEL) or bidirectional
    /// overrides, which could change how the text around it is shown.
    UnsafeCharacters,
    /// A date is not a calendar date `YYYYMMDD`; shown as read.
    DateInvalid,
    /// A municipality code is not 6 digits or its check digit is wrong; shown as read.
    MunicipalityCodeInvalid,
    /// A code or flag value is outside the known set; shown as read.
    CodeUnknown,
    /// A period of stay is neither `YYMM`, `DDD` nor `0000`; shown as read.
    PeriodOfStayUnusual,
}

impl WarningCode {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            WarningCode::CardNumberShape => "card_number_shape",
            WarningCode::ShortApduFallback => "short_apdu_fallback",
            WarningCode::AddressNotUtf8 => "address_not_utf8",
            WarningCode::NoteNotUtf8 => "note_not_utf8",
            WarningCode::UnsafeCharacters => "unsafe_characters",
            WarningCode::DateInvalid => "date_invalid",
            WarningCode::MunicipalityCodeInvalid => "municipality_code_invalid",
            WarningCode::CodeUnknown => "code_unknown",
            WarningCode::PeriodOfStayUnusual => "period_of_stay_unusual",
        }
    }
}

impl core::fmt::Display for WarningCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning: a stable code and a message for people. Messages never contain
/// the card number, keys or images; a value check may quote the offending value of
/// the field it names (escaped with `{:?}`), which the report carries anyway. The
/// library never logs warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What kind of warning.
    pub code: WarningCode,
    /// What happened, in English.
    pub message: String,
}

impl Warning {
    /// A warning with this code and message.
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning { code, message: message.into() }
    }
}

impl core::fmt::Display for Warning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_code_and_message() {
        let w = Warning::new(WarningCode::ShortApduFallback, "m");
        assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"code":"short_apdu_fallback","message":"m"}"#);
        assert_eq!(serde_json::to_value(w.code).unwrap(), WarningCode::ShortApduFallback.as_str());
    }
}
