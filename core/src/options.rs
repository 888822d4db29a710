//! The options of a read, each with the one parser ([`FromStr`]) and name
//! ([`Display`](core::fmt::Display)) that the CLI, the C library and the Python
//! module all use, so the bindings cannot drift apart on spelling.

use std::str::FromStr;
use std::sync::Arc;

use crate::error::{InputError, Result, UnsupportedError};
use crate::files::CardType;
use crate::files::gen2::CodeTable;

/// Which files to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReadPolicy {
    /// Everything, and verify the signature (the default).
    #[default]
    Full,
    /// A privacy option: no face or name image, no card-face or address image, no
    /// signature file. The text entries (first generation: DF2; second generation: the
    /// card number, the printed entries and DF2) are read; the signature covers the
    /// images, so it is reported as `not_checked`.
    TextOnly,
}

/// An access flow: the cryptography and file layout of one card generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Flow {
    /// First generation: 3DES and Retail MAC (SPEC15), types "1" and "2".
    #[serde(rename = "gen1-3des")]
    Gen1,
    /// Second generation: AES and AES-CMAC (GEN2), types "05" and "06".
    #[serde(rename = "gen2-aes")]
    Gen2,
}

impl Flow {
    /// The flow for a card type, or the reason it has none.
    pub fn for_card_type(t: CardType) -> Result<Flow> {
        match t {
            CardType::ResidenceCard | CardType::SpecialPermanentResident => Ok(Flow::Gen1),
            CardType::Gen2ResidenceCard | CardType::Gen2SpecialPermanentResident => Ok(Flow::Gen2),
            _ => Err(UnsupportedError::CardType {
                card_type: t,
                description: "specified card (特定在留カード等, My Number integrated): not supported",
            }
            .into()),
        }
    }
}

/// Options of a read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Which files to read.
    pub policy: ReadPolicy,
    /// Verification time (Unix seconds); `None` = now.
    pub now_unix: Option<i64>,
    /// Force an access flow instead of choosing it from the card type (diagnostics).
    /// If it does not match the card, the card answers `63 00` and the read fails with
    /// [`crate::Error::WrongGeneration`].
    pub force_flow: Option<Flow>,
    /// Names for status-of-residence codes (second generation), supplied by the user.
    pub status_table: Option<Arc<CodeTable>>,
}

/// Implements `Display` (the stable name) and `FromStr` (the stable name or one of
/// the listed aliases, case-sensitive) for an option enum.
macro_rules! option_names {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal $(| $alias:literal)*),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The stable name, as in the JSON report.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = crate::Error;

            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($name $(| $alias)* => Ok($ty::$variant),)*
                    _ => Err(InputError::BadOption { option: $what, value: s.chars().take(16).collect() }.into()),
                }
            }
        }
    };
}

option_names!(ReadPolicy, "read policy", {
    Full => "full",
    TextOnly => "text_only" | "text-only",
});

option_names!(Flow, "access flow", {
    Gen1 => "gen1-3des" | "gen1",
    Gen2 => "gen2-aes" | "gen2",
});

option_names!(CardType, "card type", {
    ResidenceCard => "1",
    SpecialPermanentResident => "2",
    Gen2ResidenceCard => "05" | "5",
    Gen2SpecialPermanentResident => "06" | "6",
    SpecifiedResidenceCard => "07" | "7",
    SpecifiedSpecialPermanentResident => "08" | "8",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ReadPolicy::ALL {
            assert_eq!(p.to_string().parse::<ReadPolicy>().unwrap(), *p);
        }
        for f in Flow::ALL {
            assert_eq!(f.to_string().parse::<Flow>().unwrap(), *f);
        }
        for t in CardType::ALL {
            assert_eq!(t.to_string().parse::<CardType>().unwrap(), *t);
            assert_eq!(t.to_string(), t.code());
        }
    }

    #[test]
    fn aliases_and_refusals() {
        assert_eq!("5".parse::<CardType>().unwrap(), CardType::Gen2ResidenceCard);
        assert_eq!("text-only".parse::<ReadPolicy>().unwrap(), ReadPolicy::TextOnly);
        assert_eq!("gen2".parse::<Flow>().unwrap(), Flow::Gen2);
        for bad in ["", "3", "005", "Full", " 1"] {
            let e = bad.parse::<CardType>().and(bad.parse::<ReadPolicy>().map(|_| CardType::ResidenceCard));
            assert_eq!(e.unwrap_err().code(), "input_bad_option", "{bad:?}");
        }
    }
}
