//! Card personalisation: [`IssuedCard`] holds every EF of a first-generation card
//! (SPEC15 §3.3) or a second-generation card (GEN2 §3.3, restated in the
//! second-generation notes §4), built from [`IssueOptions`] with the check code
//! signed by the test card signer of that generation (SPEC15 §3.4.3, Fig. 3-4;
//! GEN2 §3.4.3.1, second-generation notes §4.4-§5).
//!
//! Where each file lives (DF, SFI) and how large it is comes from
//! [`zairyu::layout`] only; what each file holds is built by [`gen1`] and
//! [`gen2`] with the encoders of [`encode`].

mod encode;
mod gen1;
mod gen2;

use zairyu::files::CardType;
use zairyu::layout::{self, Df, mf, value_len};

use self::encode::{Files, fixed_ascii, insert, tlv, zero_padded};
use crate::fixtures::{FACE_JP2, GEN1_CARD_SIGNER_DER, GEN1_TEST_CA_DER, GEN2_CARD_SIGNER_DER, GEN2_TEST_CA_DER};
use crate::options::{IssueError, IssueOptions};
use crate::rng::SimRandomness;

/// A personalised card: the contents of every EF, keyed by (DF, SFI).
#[derive(Clone)]
pub struct IssuedCard {
    card_type: CardType,
    card_number: String,
    randomness: SimRandomness,
    files: Files,
    write: Option<crate::write::WriteNvm>,
}

impl core::fmt::Debug for IssuedCard {
    /// Card type and file sizes; never the card number or file contents.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let sizes: Vec<_> = self.files.iter().map(|((df, s), v)| format!("{df:?}/{s:02X}:{}", v.len())).collect();
        write!(f, "IssuedCard({:?}, files=[{}]", self.card_type, sizes.join(", "))?;
        match &self.write {
            Some(w) => write!(f, ", {w:?})"),
            None => f.write_str(")"),
        }
    }
}

/// The `D1` face value of both generations: the synthetic face zero-padded to
/// 3000 bytes, or all `00` on an under-16 card (SPEC15 §3.3.5; for gen2 see
/// [`IssueOptions::under_16`]).
fn face_image(under_16: bool) -> Result<Vec<u8>, IssueError> {
    if under_16 {
        Ok(vec![0u8; value_len::FACE_IMAGE])
    } else {
        zero_padded("face image", FACE_JP2, value_len::FACE_IMAGE)
    }
}

impl IssuedCard {
    /// Personalises a card; panics if the options are invalid (see [`IssuedCard::try_issue`]).
    pub fn issue(opts: &IssueOptions) -> IssuedCard {
        match Self::try_issue(opts) {
            Ok(c) => c,
            Err(e) => panic!("invalid IssueOptions: {e}"),
        }
    }

    /// Personalises a card: every EF per SPEC15 §3.3.4 (gen1) or GEN2 §3.3
    /// (gen2, second-generation notes §4) with fixed-length, zero-padded values,
    /// and the check code signed with the test card signer of that generation.
    pub fn try_issue(opts: &IssueOptions) -> Result<IssuedCard, IssueError> {
        if layout::files(opts.card_type).is_empty() {
            return Err(IssueError::InvalidOption {
                field: "card_type",
                reason: "the simulator issues types 1, 2, 05 and 06 only (the layout of 07/08 is not public)",
            });
        }
        let mut files = Files::new();
        // MF/EF01 C0 (SPEC15 §3.3.4.1), MF/EF02 C1 (§3.3.4.2): `C1 01 3x` in gen1,
        // `C1 02 30 3x` in gen2 (second-generation notes §1.1).
        let version = fixed_ascii("spec_version", &opts.spec_version, value_len::SPEC_VERSION)?;
        insert(&mut files, &mf::EF01, tlv(&[(0xC0, version)]));
        let card_type = tlv(&[(0xC1, opts.card_type.code())]);
        if opts.card_type.generation() == 1 {
            insert(&mut files, &layout::gen1::MF_EF02, card_type);
            gen1::build(opts, &mut files)?;
        } else {
            insert(&mut files, &layout::gen2::MF_EF02, card_type);
            gen2::build(opts, &mut files)?;
        }
        let write = match &opts.write {
            Some(w) => Some(crate::write::issue(w, &opts.card_number, opts.randomness)?),
            None => None,
        };
        Ok(IssuedCard {
            card_type: opts.card_type,
            card_number: opts.card_number.clone(),
            randomness: opts.randomness,
            files,
            write,
        })
    }

    /// The contents of the EF that READ BINARY addresses as `SFI` in `df`.
    pub fn file(&self, df: Df, sfi: u8) -> Option<&[u8]> {
        self.files.get(&(df, sfi)).map(Vec::as_slice)
    }

    /// Every EF, keyed by (DF, SFI).
    pub fn files(&self) -> impl Iterator<Item = ((Df, u8), &[u8])> {
        self.files.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Replaces the contents of one EF (for malformed-data tests); the check code is
    /// not recomputed.
    pub fn set_file(&mut self, df: Df, sfi: u8, contents: Vec<u8>) {
        self.files.insert((df, sfi), contents);
    }

    /// Removes one EF (the chip then answers `6A 82`).
    pub fn remove_file(&mut self, df: Df, sfi: u8) -> Option<Vec<u8>> {
        self.files.remove(&(df, sfi))
    }

    /// Whether the card carries the address-write application.
    pub fn has_write_application(&self) -> bool {
        self.write.is_some()
    }

    /// The write application's card date (`None` without the application).
    pub fn write_card_date(&self) -> Option<zairyu::write::CvDate> {
        self.write.as_ref().map(|w| w.card_date)
    }

    /// Whether a commit is pending in the write application's journal (a power loss
    /// cut it; the next power up finishes or drops it).
    pub fn has_pending_commit(&self) -> bool {
        self.write.as_ref().is_some_and(|w| w.journal.is_some())
    }

    /// The write application's EF.ChipAuthInfo (`None` without the application).
    pub fn chip_auth_info(&self) -> Option<&[u8]> {
        self.write.as_ref().map(|w| w.chip_auth_info.as_slice())
    }

    pub(crate) fn write_nvm(&self) -> Option<&crate::write::WriteNvm> {
        self.write.as_ref()
    }

    pub(crate) fn write_nvm_mut(&mut self) -> Option<&mut crate::write::WriteNvm> {
        self.write.as_mut()
    }

    /// The test root CA certificate (DER), the trust anchor for these cards.
    pub fn test_ca_der() -> &'static [u8] {
        GEN1_TEST_CA_DER
    }

    /// The card-signer certificate (DER) stored in `DB`.
    pub fn signer_cert_der() -> &'static [u8] {
        GEN1_CARD_SIGNER_DER
    }

    /// The gen2 test root CA certificate (DER, P-384), the trust anchor for
    /// second-generation simulated cards.
    pub fn test_ca2_der() -> &'static [u8] {
        GEN2_TEST_CA_DER
    }

    /// The gen2 card-signer certificate (DER) stored in `DD`.
    pub fn gen2_signer_cert_der() -> &'static [u8] {
        GEN2_CARD_SIGNER_DER
    }

    /// The card number this card was issued with.
    pub fn card_number(&self) -> &str {
        &self.card_number
    }

    /// The card type.
    pub fn card_type(&self) -> CardType {
        self.card_type
    }

    /// The randomness the chip will use.
    pub fn randomness(&self) -> SimRandomness {
        self.randomness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORTED: [CardType; 4] = [
        CardType::ResidenceCard,
        CardType::SpecialPermanentResident,
        CardType::Gen2ResidenceCard,
        CardType::Gen2SpecialPermanentResident,
    ];

    /// Every EF of the layout is present at its address with its capacity, and no
    /// other EF (SPEC15 Tables 3-1/3-2; second-generation notes §3.3, §4.2).
    fn assert_layout(c: &IssuedCard) {
        let t = c.card_type();
        let expected = layout::files(t);
        assert!(!expected.is_empty(), "{t:?}");
        for ef in expected {
            assert_eq!(c.file(ef.df, ef.sfi).map(<[u8]>::len), Some(ef.capacity), "{t:?} {}", ef.name);
        }
        assert_eq!(c.files().count(), expected.len(), "{t:?}: {c:?}");
    }

    #[test]
    fn sizes_match_the_capacities() {
        // MF/EF02: `C1 01 3x` in gen1, `C1 02 30 3x` in gen2 (second-generation notes §1.1).
        for (t, ef02) in [
            (CardType::ResidenceCard, &b"\xC1\x011"[..]),
            (CardType::SpecialPermanentResident, b"\xC1\x012"),
            (CardType::Gen2ResidenceCard, b"\xC1\x0205"),
            (CardType::Gen2SpecialPermanentResident, b"\xC1\x0206"),
        ] {
            let c = IssuedCard::issue(&IssueOptions { card_type: t, ..Default::default() });
            assert_layout(&c);
            assert_eq!(c.file(Df::Mf, 0x0A), Some(ef02), "{t:?}");
        }
        // Optional entries absent: the files stay, all zero, at full size.
        let c = IssuedCard::issue(&IssueOptions {
            address: None,
            comprehensive_permission: None,
            individual_permission: None,
            ..Default::default()
        });
        assert_layout(&c);
        for ef in [&layout::gen1::DF2_EF01, &layout::gen1::DF2_EF02, &layout::gen1::DF2_EF03] {
            assert!(c.file(ef.df, ef.sfi).unwrap().iter().all(|&b| b == 0), "{}", ef.name);
        }
    }

    #[test]
    fn gen2_sizes_match_the_capacities() {
        // A DER signature is longer than r ‖ s (up to 104 bytes): DF3/EF01 keeps its size.
        for t in [CardType::Gen2ResidenceCard, CardType::Gen2SpecialPermanentResident] {
            let c = IssuedCard::issue(&IssueOptions { card_type: t, gen2_signature_der: true, ..Default::default() });
            assert_layout(&c);
            let df3 = c.file(Df::Df3, layout::gen2::DF3_EF01.sfi).unwrap();
            assert_eq!(df3[0], 0xDC);
            assert!(usize::from(df3[1]) > value_len::RAW_SIGNATURE, "DER: {}", df3[1]);
        }
    }

    #[test]
    fn under_16_cards_keep_the_layout() {
        for t in SUPPORTED {
            assert_layout(&IssuedCard::issue(&IssueOptions { card_type: t, under_16: true, ..Default::default() }));
        }
    }

    #[test]
    fn bad_options_are_errors() {
        let o = IssueOptions { spec_version: "01".into(), ..Default::default() };
        assert!(matches!(IssuedCard::try_issue(&o), Err(IssueError::BadFixedField { .. })));
        let o = IssueOptions { comprehensive_permission: Some("あ".repeat(41)), ..Default::default() };
        assert!(matches!(IssuedCard::try_issue(&o), Err(IssueError::TooLong { got: 123, .. })));
        let o = IssueOptions { card_type: CardType::SpecifiedResidenceCard, ..Default::default() };
        assert!(matches!(IssuedCard::try_issue(&o), Err(IssueError::InvalidOption { field: "card_type", .. })));
        assert!(!format!("{:?}", IssuedCard::issue(&IssueOptions::default())).contains("AB12345678CD"));
    }
}
