//! # zairyu-sim
//!
//! A residence-card chip in software, usable as an in-process [`Transport`](zairyu::transport::Transport):
//! first generation (types `1`/`2`, 3DES; 在留カード等仕様書 Ver 1.5, cited as
//! SPEC15) and second generation (types `05`/`06`, AES; 第２世代在留カード等仕様書
//! Ver 1.1, cited as GEN2, as restated in the project's second-generation notes).
//!
//! * [`IssuedCard`] personalises every EF of SPEC15 §3.3 / GEN2 §3.3 from
//!   [`IssueOptions`], with synthetic images and a throw-away test PKI
//!   (`fixtures/README.md`);
//! * [`SimCard`] answers SELECT FILE, GET CHALLENGE, MUTUAL AUTHENTICATE, VERIFY
//!   and READ BINARY (SPEC15 §4.2) with the spec's status words, never panicking
//!   on any input;
//! * [`Fault`]s inject transport and card errors for the error-path tests;
//! * [`vpcd::serve`] puts the chip into a real PC/SC stack as a virtual card
//!   of vsmartcard's `vpcd` reader driver, optionally as slow as a real
//!   ISO/IEC 14443 link ([`airtime`]).
//!
//! With [`SimRandomness::Annex2`] and card number `AA12345678BB` the chip
//! reproduces the SPEC15 Annex 2 trace byte for byte; a gen2 card with
//! [`SimRandomness::Appendix2`] reproduces the GEN2 Appendix 2 trace.
//!
//! ## Second generation
//!
//! The APDUs are identical in both generations (second-generation notes §2.3,
//! §3.1, §9); only the crypto suite differs: AES-128-CBC with a zero IV and
//! AES-CMAC truncated to 8 bytes, with no padding before the MAC, and `80 00…`
//! padding to 16 bytes inside SM (notes §2.1). The same state machine
//! (`Chip<S: Suite>`) runs with [`zairyu::crypto::Aes128Suite`], so every rule
//! below holds for gen2 too. Consequently a gen1 (3DES/Retail-MAC) MUTUAL
//! AUTHENTICATE sent to a gen2 card fails its MAC check and gets `63 00`, as seen
//! on real hardware (notes §1.3, §8), and vice versa. Gen2 access rights
//! (notes §3.3): MF free; DF1 after authentication and only under SM; DF2 and
//! DF3 after authentication, plain or SM (the notes leave SM reads of these
//! open; the chip allows them as gen1 does).
//!
//! Facts copied from the spec (so the build needs no spec file):
//!
//! | command | APDU | SPEC15 |
//! |---|---|---|
//! | SELECT MF | `00 A4 00 00 02 3F 00` | §4.2.1 |
//! | SELECT DF | `00 A4 04 0C 10 D3 92 F0 00 4F 0x 00…00` (x = 2, 3, 4) | §4.2.1, Table 3-3 |
//! | GET CHALLENGE | `00 84 00 00 08` | §4.2.3 |
//! | MUTUAL AUTHENTICATE | `00 82 00 00 28 E_IFD M_IFD 00` | §4.2.4, Annex 1 |
//! | VERIFY | `08 20 00 86 13 86 11 01 C(16)` | §4.2.2 |
//! | READ BINARY | `00 B0 P1 P2 00 XX XX` / `08 B0 P1 P2 00 00 04 96 02 XX XX 00 00` | §4.2.5 |
//!
//! Where the spec is silent the chip chooses, and tests may rely on it:
//!
//! * SELECT FILE keeps the session and the authentication (Annex 2 selects DF1
//!   then DF3 under one KSenc); it clears the current EF.
//! * GET CHALLENGE, MUTUAL AUTHENTICATE and VERIFY work with any DF current.
//! * Any command between GET CHALLENGE and MUTUAL AUTHENTICATE, or a second
//!   MUTUAL AUTHENTICATE, gives `69 85`; any failed MUTUAL AUTHENTICATE clears
//!   the session; a successful one starts an unverified session.
//! * VERIFY in plain (CLA `00`) gives `69 82`; without a session `69 85`; a
//!   malformed SM object `69 88` (and the card is then unauthenticated).
//! * READ BINARY: a plain read of a DF1 file (SM attribute) gives `69 82`; the
//!   offset must lie inside the file (`6B 00` otherwise, also at the end);
//!   an SM read of any file is allowed once its access condition holds, and
//!   encrypts the requested range on its own (fresh zero IV, own padding).
//! * Data longer than Lc is cut to Lc for SELECT, VERIFY and MUTUAL
//!   AUTHENTICATE (SPEC15 §4.2.1(6), §4.2.2(6), §4.2.4(6)); any other
//!   malformed APDU gives `67 00`.
//!
//! ## Modules
//!
//! | module | concern |
//! |---|---|
//! | `options` | [`IssueOptions`] and its parts, [`IssueError`] |
//! | `issue` | [`IssuedCard`]: the files of a card, placed by [`zairyu::layout`]; one builder per generation |
//! | `fixtures` | synthetic images, the test PKI, [`test_trust_store`] |
//! | `chip` | command processing (SELECT … READ BINARY), generic over the crypto suite |
//! | `card` | [`SimCard`]: the chip as a [`zairyu::transport::Transport`], with faults and a trace |
//! | `fault`, `fault_spec` | [`Fault`] and what it does; its text form |
//! | `rng` | [`SimRandomness`], [`Drbg`] |
//! | [`eavesdrop`] | the session keys as an eavesdropper who knows the card number learns them (for tests that hunt for keys) |
//! | [`vpcd`], [`airtime`] | the chip behind a real PC/SC stack, as slow as a real link |
//! | [`write`] | the address-write application (AWP v1): TA, CA, SM, the atomic commit |
//! | [`write_pki`] | a throw-away write PKI (CVCA, DV, terminal, write issuer), on disk |
//! | [`state`] | the card's non-volatile memory in a state file (`sim serve --state`) |

pub mod airtime;
mod card;
mod chip;
pub mod eavesdrop;
mod fault;
mod fault_spec;
mod fixtures;
mod issue;
mod options;
mod rng;
pub mod state;
pub mod vpcd;
pub mod write;
pub mod write_pki;

pub use crate::card::{SimCard, TraceEntry, status_of};
pub use crate::fault::Fault;
pub use crate::fixtures::{
    ADDRESS_TIF, FACE_JP2, FRONT_TIF, GEN1_CARD_SIGNER_DER, GEN1_CARD_SIGNER_KEY_DER, GEN1_OTHER_CA_DER,
    GEN1_SYNTHETIC_PRODUCTION_CA_DER, GEN1_TEST_CA_DER, GEN2_CARD_SIGNER_DER, GEN2_CARD_SIGNER_KEY_DER,
    GEN2_SYNTHETIC_PRODUCTION_CA_DER, GEN2_TEST_CA_DER, NAME_TIF, SimPki, add_test_anchors, test_trust_store,
};
pub use crate::issue::IssuedCard;
pub use crate::options::{Address, CheckCodeFormat, IssueError, IssueOptions, PrintedEntries, Under16Df3};
pub use crate::rng::{ANNEX2_K_ICC, ANNEX2_RND_ICC, APPENDIX2_K_ICC, APPENDIX2_RND_ICC, Drbg, SimRandomness};
