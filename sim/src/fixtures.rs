//! The simulator's fixed inputs, built into the crate: the synthetic images and
//! the throw-away test PKI of both generations (`fixtures/README.md` says how
//! they were made and gives their fingerprints). Nothing here is real: the keys
//! are published on purpose and must never be trusted outside tests. The two
//! test CAs as a trust store: [`add_test_anchors`], [`test_trust_store`].

/// The synthetic card-front image (TIFF, CCITT G4), `fixtures/front.tif`: the
/// gen1 `D0` value (SPEC15 §3.3.4.3).
pub const FRONT_TIF: &[u8] = include_bytes!("../fixtures/front.tif");
/// The synthetic face (JPEG 2000, JP2 container), `fixtures/face.jp2`: the `D1`
/// value of both generations.
pub const FACE_JP2: &[u8] = include_bytes!("../fixtures/face.jp2");
/// The synthetic name strip (TIFF, CCITT G4), `fixtures/name.tif`: the gen2 `D0`
/// name image (second-generation notes §4.3).
pub const NAME_TIF: &[u8] = include_bytes!("../fixtures/name.tif");
/// The gen2 `DF D1` address image. No separate fixture exists, so the card-front
/// TIFF ([`FRONT_TIF`], 1405 bytes <= 2500) is reused: it is a valid MMR TIFF and
/// differs from the name image, so a reader that mixes them up is caught.
pub const ADDRESS_TIF: &[u8] = FRONT_TIF;

/// The test root CA (not the Ministry's), `fixtures/gen1-test-ca.der`.
pub const GEN1_TEST_CA_DER: &[u8] = include_bytes!("../fixtures/gen1-test-ca.der");
/// The card-signer certificate issued by the test CA, `fixtures/gen1-card-signer.der`.
pub const GEN1_CARD_SIGNER_DER: &[u8] = include_bytes!("../fixtures/gen1-card-signer.der");
/// The card signer's private key (PKCS#8 DER, published on purpose, test only).
pub const GEN1_CARD_SIGNER_KEY_DER: &[u8] = include_bytes!("../fixtures/gen1-card-signer.key.der");
/// An unrelated root with the same subject as the test CA, `fixtures/gen1-other-ca.der`.
pub const GEN1_OTHER_CA_DER: &[u8] = include_bytes!("../fixtures/gen1-other-ca.der");

/// The gen2 test root CA, P-384 (not the Ministry's `ZairyuCard CA2`),
/// `fixtures/gen2-test-ca.der`.
pub const GEN2_TEST_CA_DER: &[u8] = include_bytes!("../fixtures/gen2-test-ca.der");
/// The gen2 card-signer certificate issued by the gen2 test CA (P-384, stored in
/// `DD` at its actual length), `fixtures/gen2-card-signer.der`.
pub const GEN2_CARD_SIGNER_DER: &[u8] = include_bytes!("../fixtures/gen2-card-signer.der");
/// The gen2 card signer's private key (PKCS#8 DER, published on purpose, test only).
pub const GEN2_CARD_SIGNER_KEY_DER: &[u8] = include_bytes!("../fixtures/gen2-card-signer.key.der");

/// The synthetic "production" root, first generation
/// (`fixtures/gen1-synthetic-production-ca.der`, `make-synthetic-production.sh`):
/// pinned by the core only in test builds (cargo feature `test-production-root`).
pub const GEN1_SYNTHETIC_PRODUCTION_CA_DER: &[u8] = include_bytes!("../fixtures/gen1-synthetic-production-ca.der");
/// The first-generation card signer under it.
pub const GEN1_SYNTHETIC_PRODUCTION_SIGNER_DER: &[u8] =
    include_bytes!("../fixtures/gen1-synthetic-production-signer.der");
/// Its private key (PKCS#8 DER, published on purpose, test only).
pub const GEN1_SYNTHETIC_PRODUCTION_SIGNER_KEY_DER: &[u8] =
    include_bytes!("../fixtures/gen1-synthetic-production-signer.key.der");
/// The synthetic "production" root, second generation (P-384).
pub const GEN2_SYNTHETIC_PRODUCTION_CA_DER: &[u8] = include_bytes!("../fixtures/gen2-synthetic-production-ca.der");
/// The second-generation card signer under it.
pub const GEN2_SYNTHETIC_PRODUCTION_SIGNER_DER: &[u8] =
    include_bytes!("../fixtures/gen2-synthetic-production-signer.der");
/// Its private key (PKCS#8 DER, published on purpose, test only).
pub const GEN2_SYNTHETIC_PRODUCTION_SIGNER_KEY_DER: &[u8] =
    include_bytes!("../fixtures/gen2-synthetic-production-signer.key.der");

/// Which throw-away PKI signs a simulated card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SimPki {
    /// The test CAs ([`GEN1_TEST_CA_DER`], [`GEN2_TEST_CA_DER`]): verdict `test`
    /// under [`add_test_anchors`].
    #[default]
    Test,
    /// The synthetic production roots: verdict `production` only in a build of the
    /// core with the feature `test-production-root` that loads them as production
    /// roots; in any other build they are unpinned, like any unknown root.
    SyntheticProduction,
}

impl SimPki {
    /// The card signer's certificate and PKCS#8 key of a generation (1 or 2).
    pub(crate) fn signer(self, generation: u8) -> (&'static [u8], &'static [u8]) {
        match (self, generation) {
            (SimPki::Test, 1) => (GEN1_CARD_SIGNER_DER, GEN1_CARD_SIGNER_KEY_DER),
            (SimPki::Test, _) => (GEN2_CARD_SIGNER_DER, GEN2_CARD_SIGNER_KEY_DER),
            (SimPki::SyntheticProduction, 1) => {
                (GEN1_SYNTHETIC_PRODUCTION_SIGNER_DER, GEN1_SYNTHETIC_PRODUCTION_SIGNER_KEY_DER)
            }
            (SimPki::SyntheticProduction, _) => {
                (GEN2_SYNTHETIC_PRODUCTION_SIGNER_DER, GEN2_SYNTHETIC_PRODUCTION_SIGNER_KEY_DER)
            }
        }
    }
}

/// Adds the simulator's two test CAs (first generation RSA, second generation
/// P-384) to `store` as test anchors: the one place every binding and test gets
/// them from. Cards chaining to them are never production-valid.
pub fn add_test_anchors(store: &mut zairyu::verify::TrustStore) {
    for (der, origin) in [(GEN1_TEST_CA_DER, "simulator test CA"), (GEN2_TEST_CA_DER, "simulator test CA2")] {
        // Both are fixtures of this crate, tested to parse (`test_trust_store_holds_both`).
        if let Err(e) = store.add_test_anchor_der(der, origin) {
            unreachable!("simulator fixture {origin} does not load: {e}");
        }
    }
}

/// A trust store holding only the simulator's two test CAs ([`add_test_anchors`]).
pub fn test_trust_store() -> zairyu::verify::TrustStore {
    let mut store = zairyu::verify::TrustStore::new();
    add_test_anchors(&mut store);
    store
}
