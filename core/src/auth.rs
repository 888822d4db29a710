//! 在留カード等番号による認証: the terminal's side of GET CHALLENGE and MUTUAL
//! AUTHENTICATE (SPEC15 §3.4.1, §4.2.3, §4.2.4, Annex 1 steps 1–5), as pure
//! functions over a [`Suite`]. The card's side lives in the simulator and uses the
//! same suite.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::{Key16, Suite, derive_session_key};
use crate::error::{AuthError, Step};

/// A source of random bytes for RND.IFD and K.IFD.
pub trait RandomSource {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        getrandom::fill(dest).expect("the operating system random generator failed");
    }
}

/// Fixed bytes, for known-answer tests (e.g. the Annex 2 trace). Repeats its
/// pattern if asked for more.
#[derive(Debug, Clone)]
pub struct FixedRandom(pub Vec<u8>, pub usize);

impl FixedRandom {
    /// Serves `bytes` in order.
    pub fn new(bytes: &[u8]) -> Self {
        FixedRandom(bytes.to_vec(), 0)
    }
}

impl RandomSource for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for d in dest {
            *d = self.0[self.1 % self.0.len()];
            self.1 += 1;
        }
    }
}

/// The terminal's random values for one MUTUAL AUTHENTICATE (Annex 1 step 1).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct TerminalRandom {
    /// RND.IFD, 8 bytes.
    pub rnd_ifd: [u8; 8],
    /// K.IFD, 16 bytes.
    pub k_ifd: [u8; 16],
}

impl TerminalRandom {
    /// Draws RND.IFD then K.IFD from `rng`.
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        let mut t = TerminalRandom { rnd_ifd: [0; 8], k_ifd: [0; 16] };
        rng.fill(&mut t.rnd_ifd);
        rng.fill(&mut t.k_ifd);
        t
    }
}

impl core::fmt::Debug for TerminalRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TerminalRandom(<redacted>)")
    }
}

/// Annex 1 step 3: `E_IFD = e[Kenc](RND.IFD ‖ RND.ICC ‖ K.IFD)`,
/// `M_IFD = m[Kmac](E_IFD)`; returns the 40-byte MUTUAL AUTHENTICATE data.
pub fn terminal_cryptogram<S: Suite>(base: &Key16, rnd_icc: &[u8; 8], t: &TerminalRandom) -> Zeroizing<[u8; 40]> {
    let mut out = Zeroizing::new([0u8; 40]);
    out[..8].copy_from_slice(&t.rnd_ifd);
    out[8..16].copy_from_slice(rnd_icc);
    out[16..32].copy_from_slice(&t.k_ifd);
    S::cbc_encrypt(base, &mut out[..32]).expect("32 bytes is a whole number of blocks");
    let mac = S::auth_mac(base, &out[..32]);
    out[32..].copy_from_slice(&mac);
    out
}

/// Annex 1 steps 4–5 on the terminal: checks M_ICC (constant time), decrypts
/// E_ICC, checks that it carries RND.ICC ‖ RND.IFD, and derives KSenc.
pub fn finish_mutual_authentication<S: Suite>(
    base: &Key16,
    rnd_icc: &[u8; 8],
    t: &TerminalRandom,
    response: &[u8],
) -> Result<Key16, AuthError> {
    if response.len() != 40 {
        return Err(AuthError::BadLength { step: Step::MutualAuthenticate, got: response.len(), expected: 40 });
    }
    let mac = S::auth_mac(base, &response[..32]);
    if !bool::from(mac.ct_eq(&response[32..40])) {
        return Err(AuthError::CardMacMismatch);
    }
    let mut plain = Zeroizing::new([0u8; 32]);
    plain.copy_from_slice(&response[..32]);
    S::cbc_decrypt(base, &mut plain[..]).expect("32 bytes is a whole number of blocks");
    let rnd_ok = plain[..8].ct_eq(rnd_icc) & plain[8..16].ct_eq(&t.rnd_ifd);
    if !bool::from(rnd_ok) {
        return Err(AuthError::RandomMismatch);
    }
    let mut k_icc = Zeroizing::new([0u8; 16]);
    k_icc.copy_from_slice(&plain[16..32]);
    Ok(derive_session_key(&t.k_ifd, &k_icc))
}
