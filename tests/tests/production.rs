//! The verdict that matters most, `production`, exercised end to end with the
//! synthetic production roots that the core pins only in test builds (cargo
//! feature `test-production-root`, enabled by this crate alone; release
//! artefacts are checked not to contain them by scripts/check-release-artefacts).

use std::path::PathBuf;

use zairyu::error::{Error, VerifyError};
use zairyu::files::CardType;
use zairyu::verify::{AnchorProfile, ChainStatus, TEST_BUILD_PINNED_ROOTS, TrustStore, Verdict};
use zairyu_sim::{
    GEN1_SYNTHETIC_PRODUCTION_CA_DER, GEN1_TEST_CA_DER, GEN2_SYNTHETIC_PRODUCTION_CA_DER, IssueOptions, IssuedCard,
    SimCard, SimPki,
};
use zairyu_tests::{read_with, sim_trust};

const TYPES: [CardType; 4] = [
    CardType::ResidenceCard,
    CardType::SpecialPermanentResident,
    CardType::Gen2ResidenceCard,
    CardType::Gen2SpecialPermanentResident,
];

/// A fresh directory under the target directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn with(name: &str, files: &[(&str, &[u8])]) -> Dir {
        let d = std::env::temp_dir().join(format!("zairyu-production-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for (f, bytes) in files {
            std::fs::write(d.join(f), bytes).unwrap();
        }
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn production_store() -> TrustStore {
    let dir = Dir::with(
        "roots",
        &[("gen1.der", GEN1_SYNTHETIC_PRODUCTION_CA_DER), ("gen2.der", GEN2_SYNTHETIC_PRODUCTION_CA_DER)],
    );
    let mut store = TrustStore::new();
    assert_eq!(store.load_production_dir(&dir.0).unwrap(), 2);
    store
}

fn synthetic(card_type: CardType) -> SimCard {
    SimCard::new(IssuedCard::issue(&IssueOptions { card_type, pki: SimPki::SyntheticProduction, ..Default::default() }))
}

#[test]
fn the_synthetic_roots_are_pinned_in_this_build() {
    use sha2_free_fingerprint as fp;
    assert_eq!(TEST_BUILD_PINNED_ROOTS, [fp(GEN1_SYNTHETIC_PRODUCTION_CA_DER), fp(GEN2_SYNTHETIC_PRODUCTION_CA_DER)]);
}

/// The fingerprint as the trust store computes it.
fn sha2_free_fingerprint(der: &[u8]) -> [u8; 32] {
    let mut t = TrustStore::new();
    t.add_test_anchor_der(der, "fp").unwrap();
    *t.anchors()[0].fingerprint()
}

#[test]
fn a_card_under_a_pinned_root_is_production_valid() {
    let store = production_store();
    for t in TYPES {
        let r = read_with(synthetic(t), "AB12345678CD", &store).0.unwrap();
        let v = &r.verification;
        assert_eq!(v.verdict(), Verdict::Production, "{t:?}: {:?}", v.reason);
        assert!(v.is_production_valid());
        assert_eq!(v.anchor_profile, Some(AnchorProfile::Production));
    }
}

#[test]
fn production_is_preferred_over_the_same_root_as_a_test_anchor() {
    let mut store = TrustStore::new();
    store.add_test_anchor_der(GEN1_SYNTHETIC_PRODUCTION_CA_DER, "test first").unwrap();
    zairyu_sim::add_test_anchors(&mut store);
    store.add_production_der(GEN1_SYNTHETIC_PRODUCTION_CA_DER, "production second").unwrap();
    let r = read_with(synthetic(CardType::ResidenceCard), "AB12345678CD", &store).0.unwrap();
    assert_eq!(r.verification.verdict(), Verdict::Production);
    // The same card under the root as a test anchor only: test, never production.
    let mut test_only = TrustStore::new();
    test_only.add_test_anchor_der(GEN1_SYNTHETIC_PRODUCTION_CA_DER, "test").unwrap();
    let r = read_with(synthetic(CardType::ResidenceCard), "AB12345678CD", &test_only).0.unwrap();
    assert_eq!(r.verification.verdict(), Verdict::Test);
}

#[test]
fn cards_of_the_other_pki_do_not_chain() {
    // A test-PKI card under the production roots, and the reverse: untrusted.
    let r = read_with(SimCard::new(IssuedCard::issue(&IssueOptions::default())), "AB12345678CD", &production_store());
    let v = r.0.unwrap().verification;
    assert_eq!((v.verdict(), v.chain), (Verdict::Untrusted, ChainStatus::NoMatchingAnchor));
    let r = read_with(synthetic(CardType::Gen2ResidenceCard), "AB12345678CD", &sim_trust()).0.unwrap();
    assert_eq!(r.verification.verdict(), Verdict::Untrusted);
}

#[test]
fn an_unpinned_root_in_the_production_directory_is_refused_whole() {
    let dir = Dir::with("unpinned", &[("a.der", GEN1_SYNTHETIC_PRODUCTION_CA_DER), ("b.der", GEN1_TEST_CA_DER)]);
    let mut store = TrustStore::new();
    let e = store.load_production_dir(&dir.0).unwrap_err();
    assert!(matches!(e, VerifyError::UnpinnedProductionRoot { .. }), "{e}");
    assert_eq!(Error::from(e).code(), "verify_unpinned_production_root");
    assert!(store.anchors().is_empty(), "all or nothing");
}
