//! Where the simulated chip gets its random numbers (RND.ICC for GET CHALLENGE,
//! SPEC15 §4.2.3 / GEN2 §4.2.3, and K.ICC for MUTUAL AUTHENTICATE, SPEC15 Annex 1
//! step 4 / GEN2 Appendix 1).
//!
//! No cipher is written here: the deterministic generator is SHA-256 in counter
//! mode over the seed, which is enough for reproducible tests and is not meant to
//! be a cryptographic DRBG.

use sha2::{Digest, Sha256};
use zairyu::auth::RandomSource;

/// The chip's source of randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimRandomness {
    /// The operating system's generator (`getrandom`).
    Os,
    /// Deterministic: [`Drbg`] over this seed. The same seed and the same command
    /// sequence give the same challenges and keys.
    Seeded(u64),
    /// Reproduces SPEC15 Annex 2: every GET CHALLENGE answers
    /// RND.ICC = `5A 6E 7E 38 51 62 B7 A3` and every MUTUAL AUTHENTICATE uses
    /// K.ICC = `19 D0 49 49 0F FF 52 EE DB FC B9 30 BC 81 0E D0`.
    Annex2,
    /// Reproduces GEN2 Appendix 2 (second generation, AES; second-generation notes
    /// §2.4): every GET CHALLENGE answers RND.ICC = `92 1C E2 77 32 3D A0 57` and
    /// every MUTUAL AUTHENTICATE uses
    /// K.ICC = `2C C6 AF 9B 8B 60 7C 66 2F DC AD 27 B4 01 D0 8B`.
    Appendix2,
}

/// GEN2 Appendix 2 RND.ICC (second-generation notes §2.4).
pub const APPENDIX2_RND_ICC: [u8; 8] = [0x92, 0x1C, 0xE2, 0x77, 0x32, 0x3D, 0xA0, 0x57];
/// GEN2 Appendix 2 K.ICC (from DEC(E_ICC), second-generation notes §2.4).
pub const APPENDIX2_K_ICC: [u8; 16] =
    [0x2C, 0xC6, 0xAF, 0x9B, 0x8B, 0x60, 0x7C, 0x66, 0x2F, 0xDC, 0xAD, 0x27, 0xB4, 0x01, 0xD0, 0x8B];

/// SPEC15 Annex 2 RND.ICC.
pub const ANNEX2_RND_ICC: [u8; 8] = [0x5A, 0x6E, 0x7E, 0x38, 0x51, 0x62, 0xB7, 0xA3];
/// SPEC15 Annex 2 K.ICC (from DEC(E_ICC)).
pub const ANNEX2_K_ICC: [u8; 16] =
    [0x19, 0xD0, 0x49, 0x49, 0x0F, 0xFF, 0x52, 0xEE, 0xDB, 0xFC, 0xB9, 0x30, 0xBC, 0x81, 0x0E, 0xD0];

/// A deterministic byte generator: block *i* is
/// `SHA-256("zairyu-sim/drbg/v1" ‖ seed (8 bytes, big endian) ‖ i (8 bytes, big endian))`,
/// and bytes are served from consecutive blocks in order.
///
/// Also usable as a terminal-side [`RandomSource`] and as a test-input generator.
#[derive(Clone)]
pub struct Drbg {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl core::fmt::Debug for Drbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Drbg(seed={}, counter={})", self.seed, self.counter)
    }
}

impl Drbg {
    const DOMAIN: &'static [u8] = b"zairyu-sim/drbg/v1";

    /// A generator over `seed`.
    pub fn new(seed: u64) -> Self {
        Drbg { seed, counter: 0, block: [0; 32], used: 32 }
    }

    /// Fills `dest` with the next bytes of the stream.
    pub fn fill(&mut self, dest: &mut [u8]) {
        for d in dest {
            if self.used == self.block.len() {
                let mut h = Sha256::new();
                h.update(Self::DOMAIN);
                h.update(self.seed.to_be_bytes());
                h.update(self.counter.to_be_bytes());
                self.block.copy_from_slice(&h.finalize());
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *d = self.block[self.used];
            self.used += 1;
        }
    }

    /// The next 8 bytes as a big-endian number.
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_be_bytes(b)
    }

    /// A number in `0..bound` (`0` if `bound` is 0). Slightly biased; for tests only.
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 { 0 } else { (self.next_u64() % bound as u64) as usize }
    }
}

impl RandomSource for Drbg {
    fn fill(&mut self, dest: &mut [u8]) {
        Drbg::fill(self, dest);
    }
}

/// The chip-side generator built from [`SimRandomness`].
#[derive(Debug, Clone)]
pub(crate) enum CardRng {
    Os,
    Drbg(Drbg),
    /// Fixed values: (RND.ICC, K.ICC) of SPEC15 Annex 2 or GEN2 Appendix 2.
    Fixed([u8; 8], [u8; 16]),
}

/// The operating system generator failed; the chip answers `6F 00`.
#[derive(Debug)]
pub(crate) struct RngFailure;

impl CardRng {
    pub(crate) fn new(r: SimRandomness) -> Self {
        match r {
            SimRandomness::Os => CardRng::Os,
            SimRandomness::Seeded(seed) => CardRng::Drbg(Drbg::new(seed)),
            SimRandomness::Annex2 => CardRng::Fixed(ANNEX2_RND_ICC, ANNEX2_K_ICC),
            SimRandomness::Appendix2 => CardRng::Fixed(APPENDIX2_RND_ICC, APPENDIX2_K_ICC),
        }
    }

    /// RND.ICC (SPEC15 §4.2.3; GEN2 §4.2.3).
    pub(crate) fn challenge(&mut self) -> Result<[u8; 8], RngFailure> {
        match self {
            CardRng::Fixed(rnd, _) => Ok(*rnd),
            _ => self.next(),
        }
    }

    /// K.ICC (SPEC15 Annex 1 step 4).
    pub(crate) fn k_icc(&mut self) -> Result<[u8; 16], RngFailure> {
        match self {
            CardRng::Fixed(_, k) => Ok(*k),
            _ => self.next(),
        }
    }

    /// The next `N` bytes of the generator.
    fn next<const N: usize>(&mut self) -> Result<[u8; N], RngFailure> {
        let mut b = [0u8; N];
        match self {
            CardRng::Os => getrandom::fill(&mut b).map_err(|_| RngFailure)?,
            CardRng::Drbg(d) => d.fill(&mut b),
            // The worked examples define RND.ICC and K.ICC only, answered above;
            // no other random bytes are drawn today.
            CardRng::Fixed(..) => {}
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drbg_is_deterministic_and_seed_dependent() {
        let mut a = Drbg::new(7);
        let mut b = Drbg::new(7);
        let mut c = Drbg::new(8);
        let (mut x, mut y, mut z) = ([0u8; 70], [0u8; 70], [0u8; 70]);
        a.fill(&mut x[..5]);
        a.fill(&mut x[5..]);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        // Block 0 is SHA-256(domain || seed || 0).
        let mut h = Sha256::new();
        h.update(b"zairyu-sim/drbg/v1");
        h.update(7u64.to_be_bytes());
        h.update(0u64.to_be_bytes());
        assert_eq!(&x[..32], &h.finalize()[..]);
    }
}
