//! Trust anchors: the Ministry of Justice root certificates, pinned by SHA-256
//! fingerprint, and opt-in test anchors.
//!
//! Facts copied from the first-generation notes §6 and the second-generation notes
//! §5.4 (which cite the MOJ download page):
//!
//! * All four first-generation roots share one subject,
//!   `C=JP, O=Japanese Government, OU=The Ministry of Justice, CN=ZairyuCard CA`
//!   (RSA-2048, sha256WithRSAEncryption).
//! * The second-generation production root `CN=ZairyuCard CA2` (EC P-384,
//!   ecdsa-with-SHA256) and the Ministry's *test* CA2 for sample cards share one
//!   subject as well.
//!
//! So an anchor is never chosen by name: the chain anchor is the one whose key
//! verifies the card certificate. Production anchors are accepted only if their
//! fingerprint is pinned here; the test CA2 is known but never production.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::cert::{PublicKey, X509};
use crate::error::VerifyError;

/// SHA-256 fingerprints of the four first-generation production roots
/// `CN=ZairyuCard CA` (first-generation notes §6; second-generation notes §5.4),
/// in order of issue:
///
/// 1. serial `2A`, 2015-06-05 → 2025-09-05 (expired), official file `930001756.crt`
/// 2. serial `4B`, 2018-04-06 → 2028-07-06, `930001757.crt`
/// 3. serial `74`, 2021-05-27 → 2031-08-27, `001353372.crt`
/// 4. serial `93`, 2024-05-08 → 2034-08-08, `001421582.crt`
pub const PINNED_GEN1_ROOTS: [[u8; 32]; 4] = [
    [
        0x97, 0xF3, 0x7C, 0x59, 0x67, 0xAF, 0x5F, 0x3C, 0xD8, 0x4E, 0x6E, 0xD6, 0x94, 0xB0, 0x95, 0x39, 0xAB, 0xB7,
        0xF8, 0xE7, 0xE7, 0x6B, 0x6F, 0x74, 0x96, 0xA0, 0x60, 0x00, 0x89, 0x82, 0x98, 0x3D,
    ],
    [
        0xFF, 0x02, 0x32, 0x3C, 0xEA, 0x7B, 0x8C, 0x3D, 0xFC, 0x0D, 0xC2, 0xDE, 0x79, 0xD4, 0x6E, 0x78, 0x51, 0x4A,
        0xF5, 0x87, 0x36, 0x85, 0x23, 0x08, 0x6B, 0x18, 0x8E, 0x96, 0x90, 0xAE, 0xC8, 0x61,
    ],
    [
        0x6F, 0x50, 0x16, 0x1A, 0xA8, 0x0F, 0x7F, 0xF7, 0xC6, 0x30, 0x50, 0x5F, 0xAF, 0x47, 0x29, 0x06, 0xF7, 0xB1,
        0x01, 0xD5, 0x08, 0x3E, 0x32, 0x7A, 0x61, 0x82, 0xC8, 0x2C, 0xD7, 0x98, 0x5E, 0x67,
    ],
    [
        0xBF, 0x85, 0x44, 0x66, 0xED, 0x9A, 0xBF, 0x61, 0xF5, 0x59, 0xC3, 0x9B, 0xF8, 0x79, 0x05, 0x46, 0xF8, 0xAC,
        0xDA, 0xB9, 0x9B, 0x51, 0xFD, 0x23, 0x30, 0x56, 0x36, 0x69, 0xCE, 0x4A, 0x71, 0xB2,
    ],
];

/// SHA-256 fingerprint of the second-generation production root
/// `CN=ZairyuCard CA2`, serial `01`, 2026-04-20 → 2039-07-20, official file
/// `ec_cacert_20260420.crt` (second-generation notes §5.4). It also anchors the
/// specified cards (types `07`/`08`).
pub const PINNED_GEN2_ROOTS: [[u8; 32]; 1] = [[
    0x11, 0xE6, 0xAD, 0x8B, 0x8E, 0x64, 0xF0, 0xCD, 0xB1, 0xD8, 0xBA, 0x9E, 0x36, 0x89, 0x92, 0x6C, 0x80, 0xE8, 0x47,
    0x9A, 0x2F, 0x09, 0x86, 0x16, 0xF6, 0x74, 0xA2, 0x35, 0x82, 0xBE, 0xC1, 0x3B,
]];

/// SHA-256 fingerprint of the Ministry's official **test** CA2 for sample cards,
/// serial `01`, 2026-03-19 → 2039-06-19, with the same subject as the production
/// CA2 (second-generation notes §5.4). Known so that tools can recognise it; it is
/// never a production root: [`TrustStore::add_production_der`] rejects it, and it
/// can only be added with [`TrustStore::add_test_anchor_der`].
pub const KNOWN_MOJ_TEST_CA2: [u8; 32] = [
    0x18, 0x46, 0xB8, 0x15, 0xD3, 0x1F, 0x04, 0xFE, 0x93, 0xD5, 0x74, 0x50, 0xA6, 0xD8, 0xA8, 0xC3, 0x51, 0xEA, 0xC3,
    0xD8, 0xC4, 0x44, 0xA2, 0x37, 0x5D, 0x95, 0x73, 0x4D, 0xF7, 0xDD, 0x10, 0x57,
];

/// The synthetic "production" roots of the test builds
/// (`sim/fixtures/gen1-synthetic-production-ca.der`, `gen2-…`), pinned **only** when
/// the core is built with the cargo feature `test-production-root`, so that tests
/// can reach the production verdict end to end. Release builds of the CLI, the C
/// library and the wheel never enable it, and `scripts/check-release-artefacts`
/// checks that these bytes are in none of them.
#[cfg(feature = "test-production-root")]
pub const TEST_BUILD_PINNED_ROOTS: [[u8; 32]; 2] = [
    [
        0x72, 0xF0, 0x0F, 0x2D, 0xF1, 0xBD, 0x4D, 0x98, 0x4D, 0x22, 0xA9, 0xBA, 0x3E, 0xB7, 0xFF, 0x30, 0x68, 0xDF,
        0xCB, 0x9D, 0xB0, 0x91, 0x72, 0x77, 0xAB, 0x7F, 0xBD, 0x45, 0xB1, 0xD9, 0x98, 0x55,
    ],
    [
        0xB3, 0x48, 0x27, 0xEC, 0x4F, 0x51, 0xA2, 0x2E, 0x74, 0xBC, 0xEE, 0x70, 0x10, 0xCD, 0x0E, 0xE8, 0x13, 0xE3,
        0xC5, 0xAF, 0xED, 0x50, 0x47, 0xF2, 0x00, 0xB1, 0x68, 0x10, 0x17, 0x95, 0x4B, 0xF6,
    ],
];

/// True if `fingerprint` is one of [`PINNED_GEN1_ROOTS`] or [`PINNED_GEN2_ROOTS`]
/// (first-generation notes §6; second-generation notes §5.4), or, in a test build
/// with the feature `test-production-root` only, one of the synthetic test roots.
pub fn is_pinned_production_root(fingerprint: &[u8; 32]) -> bool {
    // Through `black_box`, so a test build holds the 32 bytes as they are and the
    // release-artefact check can tell that a release build does not.
    #[cfg(feature = "test-production-root")]
    if core::hint::black_box(&TEST_BUILD_PINNED_ROOTS).contains(fingerprint) {
        return true;
    }
    PINNED_GEN1_ROOTS.iter().chain(PINNED_GEN2_ROOTS.iter()).any(|p| p == fingerprint)
}

/// Which trust profile an anchor belongs to (second-generation notes §5.4: keep test
/// roots in a separate, opt-in set so that a sample card is never reported as
/// genuine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorProfile {
    /// A pinned Ministry root (first-generation notes §6, second-generation notes §5.4).
    Production,
    /// Anything the caller chose to trust for testing (simulator PKI, MOJ sample cards).
    Test,
}

/// One trusted root certificate (first-generation notes §6; second-generation
/// notes §5.4).
#[derive(Clone)]
pub struct TrustAnchor {
    x509: X509,
    fingerprint: [u8; 32],
    profile: AnchorProfile,
    subject: String,
    not_before: i64,
    not_after: i64,
    key: PublicKey,
    origin: String,
}

impl core::fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrustAnchor")
            .field("fingerprint", &self.fingerprint_hex())
            .field("profile", &self.profile)
            .field("subject", &self.subject)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl TrustAnchor {
    fn from_der(der: &[u8], origin: &str, profile: AnchorProfile) -> Result<Self, VerifyError> {
        let bad = |reason: String| VerifyError::BadAnchorFile { path: origin.to_string(), reason };
        let x509 = X509::from_exact_der(der)
            .map_err(|(offset, what)| bad(format!("not a DER certificate: {what} at offset {offset}")))?;
        let key = x509.public_key().map_err(bad)?;
        let fingerprint: [u8; 32] = Sha256::digest(der).into();
        Ok(TrustAnchor {
            subject: x509.subject(),
            not_before: x509.not_before_unix(),
            not_after: x509.not_after_unix(),
            x509,
            fingerprint,
            profile,
            key,
            origin: origin.to_string(),
        })
    }

    /// The certificate's DER, exactly as loaded.
    pub fn der(&self) -> &[u8] {
        self.x509.der()
    }

    /// SHA-256 of the DER (the form the Ministry's fingerprints use, notes §5.4).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// SHA-256 fingerprint of the DER, lowercase hex, no colons (notes §5.4).
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    /// Production (pinned Ministry root) or test (second-generation notes §5.4).
    pub fn profile(&self) -> AnchorProfile {
        self.profile
    }

    /// Subject in RFC 4514 form. Not unique: several Ministry roots share one
    /// (second-generation notes §5.4), so never use it to pick an anchor.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `notBefore` as Unix seconds (RFC 5280 §4.1.2.5).
    pub fn not_before_unix(&self) -> i64 {
        self.not_before
    }

    /// `notAfter` as Unix seconds (RFC 5280 §4.1.2.5). The first production
    /// `ZairyuCard CA` expired on 2025-09-05 (notes §5.4); whether an expired root
    /// still counts is the caller's policy, so validity is reported separately.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after
    }

    /// `notBefore <= now_unix <= notAfter`.
    pub fn is_valid_at(&self, now_unix: i64) -> bool {
        self.x509.valid_at(now_unix)
    }

    /// The public-key algorithm, `"rsa-2048"` (first generation) or `"ecdsa-p384"`
    /// (second generation).
    pub fn key_algorithm(&self) -> String {
        self.key.algorithm_name()
    }

    /// Where the anchor came from (a file path or the caller's label), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// The set of trust anchors used for the chain check of the card certificate
/// (SPEC15 §3.4.3; first-generation notes §6; second-generation notes §5.4).
///
/// Holds production anchors (each pinned by fingerprint) and test anchors (any
/// certificate the caller chooses) side by side, each tagged with its
/// [`AnchorProfile`]; a verification reports which profile the chain ended in.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor>,
    signed_by: SignedByCache,
}

/// How many (certificate, anchor) results [`SignedByCache`] keeps before it starts
/// over: cards share a few hundred signer certificates, so this holds them all.
const SIGNED_BY_CACHE_MAX: usize = 4096;

/// Remembered answers to "does this anchor's key verify this certificate's
/// signature", keyed by SHA-256 of the certificate exactly as stored and the
/// anchor's fingerprint. The answer is a pure function of those bytes (the
/// signature, its algorithm and the TBSCertificate all come from the stored bytes,
/// the key from the anchor's), so a hit answers exactly what verifying again would;
/// a changed byte anywhere in the certificate is another key. Re-verifying stored
/// reads (`verify-evidence`) checks the same few signer certificates over and over,
/// and this saves one RSA or P-384 verification per card.
///
/// Clones of a store share one cache (the C library and the Python module take a
/// snapshot of their store for each call). That is sound whatever anchors each
/// clone holds afterwards: an entry says something about one certificate and one
/// anchor key, never which anchors a store trusts.
#[derive(Default, Clone)]
struct SignedByCache(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<CertAnchor, bool>>>);

/// SHA-256 of a certificate as stored, and an anchor's fingerprint.
type CertAnchor = ([u8; 32], [u8; 32]);

impl std::fmt::Debug for SignedByCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.len());
        f.debug_struct("SignedByCache").field("entries", &n).finish()
    }
}

/// File extensions [`TrustStore::load_production_dir`] and
/// [`TrustStore::add_test_anchors_dir`] read (compared case-insensitively).
const ANCHOR_EXTENSIONS: [&str; 4] = ["der", "crt", "cer", "pem"];

impl TrustStore {
    /// An empty store: nothing chains until anchors are added.
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Every anchor, in the order added.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// Whether `anchor`'s key verifies `cert`'s signature, remembered per
    /// (certificate bytes, anchor) in [`SignedByCache`].
    pub(crate) fn signed_by(&self, cert: &X509, anchor: &TrustAnchor) -> bool {
        let key = (<[u8; 32]>::from(Sha256::digest(cert.der())), *anchor.fingerprint());
        // A poisoned lock (a panic elsewhere while holding it) only costs the cache.
        let cached = self.signed_by.0.lock().ok().and_then(|m| m.get(&key).copied());
        if let Some(hit) = cached {
            return hit;
        }
        let answer = cert.is_signed_by(anchor.key());
        if let Ok(mut m) = self.signed_by.0.lock() {
            if m.len() >= SIGNED_BY_CACHE_MAX {
                m.clear();
            }
            m.insert(key, answer);
        }
        answer
    }

    /// How many answers the shared cache holds (tests).
    #[cfg(test)]
    pub(crate) fn cached_answers(&self) -> usize {
        self.signed_by.0.lock().map_or(0, |m| m.len())
    }

    /// Loads production roots from `dir` (notes §6, §5.4).
    ///
    /// Reads every regular file named `*.der`, `*.crt`, `*.cer` or `*.pem`
    /// (any case; other files and subdirectories are ignored). A file holds either
    /// one DER certificate or PEM text with one or more `CERTIFICATE` blocks. Every
    /// certificate must have a SHA-256 fingerprint equal to one of
    /// [`PINNED_GEN1_ROOTS`] / [`PINNED_GEN2_ROOTS`], else
    /// [`VerifyError::UnpinnedProductionRoot`]; an unreadable directory or file, or
    /// an unparseable certificate, is [`VerifyError::BadAnchorFile`].
    ///
    /// All or nothing: on error the store is left unchanged. Returns the number of
    /// certificates read (an anchor already in the store as production is not
    /// added twice but is still counted).
    pub fn load_production_dir(&mut self, dir: &Path) -> Result<usize, VerifyError> {
        let mut loaded = Vec::new();
        for (path, ders) in read_anchor_dir(dir)? {
            for der in ders {
                loaded.push(production_anchor(&der, &path)?);
            }
        }
        let n = loaded.len();
        for a in loaded {
            self.push(a);
        }
        Ok(n)
    }

    /// Adds one production root given as DER (notes §6, §5.4). Its SHA-256
    /// fingerprint must be pinned, else [`VerifyError::UnpinnedProductionRoot`]
    /// (this includes [`KNOWN_MOJ_TEST_CA2`]); a certificate that does not decode,
    /// or whose key is neither RSA nor EC P-384, is [`VerifyError::BadAnchorFile`].
    /// `origin` names the source in errors.
    pub fn add_production_der(&mut self, der: &[u8], origin: &str) -> Result<(), VerifyError> {
        let a = production_anchor(der, origin)?;
        self.push(a);
        Ok(())
    }

    /// Adds a test anchor given as DER (second-generation notes §5.4: test roots are
    /// a separate, opt-in set). Any certificate with an RSA or EC P-384 key is
    /// accepted and recorded as [`AnchorProfile::Test`] — **even if its fingerprint
    /// equals a pinned production root**: the caller said "test", and a card
    /// chaining to it is then never reported production-valid through this anchor.
    /// (To trust a pinned root as production, add it with
    /// [`Self::add_production_der`]; when both are present, verification prefers
    /// the production anchor.)
    pub fn add_test_anchor_der(&mut self, der: &[u8], origin: &str) -> Result<(), VerifyError> {
        let a = TrustAnchor::from_der(der, origin, AnchorProfile::Test)?;
        self.push(a);
        Ok(())
    }

    /// Adds every certificate in `dir` as a test anchor, with the same file rules
    /// as [`Self::load_production_dir`] but no pinning. All or nothing; returns the
    /// number of certificates read.
    pub fn add_test_anchors_dir(&mut self, dir: &Path) -> Result<usize, VerifyError> {
        self.add_test_files(read_anchor_dir(dir)?)
    }

    /// Adds the certificates of one file (one DER certificate, or PEM text with one
    /// or more `CERTIFICATE` blocks) as test anchors, whatever the file's name. All
    /// or nothing; returns the number of certificates read.
    pub fn add_test_anchors_file(&mut self, path: &Path) -> Result<usize, VerifyError> {
        self.add_test_files(vec![read_anchor_file(path)?])
    }

    fn add_test_files(&mut self, files: Vec<AnchorFile>) -> Result<usize, VerifyError> {
        let mut loaded = Vec::new();
        for (path, ders) in files {
            for der in ders {
                loaded.push(TrustAnchor::from_der(&der, &path, AnchorProfile::Test)?);
            }
        }
        let n = loaded.len();
        for a in loaded {
            self.push(a);
        }
        Ok(n)
    }

    /// Adds an anchor unless the same certificate is already there with the same
    /// profile.
    fn push(&mut self, anchor: TrustAnchor) {
        let dup = self.anchors.iter().any(|a| a.fingerprint == anchor.fingerprint && a.profile == anchor.profile);
        if !dup {
            self.anchors.push(anchor);
        }
    }
}

fn production_anchor(der: &[u8], origin: &str) -> Result<TrustAnchor, VerifyError> {
    let a = TrustAnchor::from_der(der, origin, AnchorProfile::Production)?;
    if !is_pinned_production_root(&a.fingerprint) {
        return Err(VerifyError::UnpinnedProductionRoot { path: origin.to_string(), fingerprint: a.fingerprint_hex() });
    }
    Ok(a)
}

/// One anchor file: its path (for messages) and the DER certificates it holds.
type AnchorFile = (String, Vec<Vec<u8>>);

/// Reads the anchor files of `dir`, sorted by name.
fn read_anchor_dir(dir: &Path) -> Result<Vec<AnchorFile>, VerifyError> {
    let bad = |path: &Path, reason: String| VerifyError::BadAnchorFile { path: path.display().to_string(), reason };
    let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot read directory: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| bad(dir, format!("cannot read directory: {e}")))?;
        let path = entry.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ANCHOR_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
        // `metadata` follows symbolic links, so a link to a certificate counts.
        if wanted && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|p| read_anchor_file(p)).collect()
}

/// Reads one anchor file: its DER certificates.
fn read_anchor_file(path: &Path) -> Result<AnchorFile, VerifyError> {
    let bad = |reason: String| VerifyError::BadAnchorFile { path: path.display().to_string(), reason };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read file: {e}")))?;
    let ders = split_certificates(&bytes).map_err(bad)?;
    Ok((path.display().to_string(), ders))
}

/// One DER certificate, or the `CERTIFICATE` blocks of a PEM file (RFC 7468 §5):
/// the one PEM/DER splitter of every anchor loader.
pub fn split_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let is_pem = bytes.iter().position(|b| !b.is_ascii_whitespace()).is_some_and(|i| bytes[i..].starts_with(BEGIN));
    if !is_pem {
        return Ok(vec![bytes.to_vec()]);
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let end = find(block, END).ok_or("PEM block without an END line")?;
        // The END line runs to its closing "-----".
        let after_end = end + END.len();
        let close = find(&block[after_end..], b"-----").ok_or("PEM END line not terminated")?;
        let block_len = after_end + close + 5;
        let (label, der) = der::pem::decode_vec(&block[..block_len]).map_err(|e| format!("bad PEM block: {e}"))?;
        if label != "CERTIFICATE" {
            return Err(format!("PEM block labelled {label:?}, expected \"CERTIFICATE\""));
        }
        out.push(der);
        rest = &block[block_len..];
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block in PEM file".to_string());
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
