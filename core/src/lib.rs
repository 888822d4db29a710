//! # zairyu
//!
//! Reads and verifies the IC chip of Japan's residence card (在留カード) and special
//! permanent resident certificate (特別永住者証明書): the first generation (card types
//! `1`, `2`; 3DES, RSA-2048) after SPEC15 and the second generation (`05`, `06`;
//! AES, ECDSA P-384) after GEN2. The specified cards (`07`, `08`) are recognised and
//! refused.
//!
//! The crate never talks to a card itself: a backend implements
//! [`transport::Transport`] (PC/SC in `zairyu-pcsc`, the simulator in `zairyu-sim`, a
//! host's own NFC stack through the C library). It does use the operating system in
//! three places: it **reads files** when asked to load trust anchors
//! ([`verify::TrustStore::load_production_dir`],
//! [`verify::TrustStore::add_test_anchors_dir`],
//! [`verify::TrustStore::add_test_anchors_file`]) or a code table
//! ([`files::codes::CodeTable::load`]); it **reads the clock** for the time of
//! verification ([`verify::unix_now`], unless [`options::ReadOptions::now_unix`] is
//! set); and [`auth::OsRandom`] draws the terminal's random numbers from the OS.
//!
//! ## Modules
//!
//! Bottom up. "Spec" is the section the module implements; "facts" the section of
//! `docs/spec-facts.md` that restates what it relies on.
//!
//! | module | spec | facts | what |
//! |---|---|---|---|
//! | [`apdu`] | SPEC15 §4.1, Table 4-5 | §4.1 | command and response APDUs, short and extended; status words |
//! | [`tlv`] | SPEC15 §3.2.3.1; GEN2 §3.2.3.1 | §1.3, §2.5 | BER-TLV as on the card: 1- and 2-byte tags, three length forms, zero fill |
//! | [`crypto`] | SPEC15 Annex 1; GEN2 Appendix 1 | §6.1 | the two suites: 3DES + Retail MAC, AES + CMAC; base-key and session-key derivation |
//! | [`card_number`] | SPEC15 §3.4.1 | §12 | the 在留カード等番号, the secret that opens the chip; zeroized, never printed |
//! | [`checks`] | SPEC15 §3.3.4.5; GEN2 §3.3.4 | §11 | value checks (dates, municipality check digit, codes) that warn and never stop a read |
//! | [`auth`] | SPEC15 §3.4.1, §4.2.3–4.2.4, Annex 1 | §6.3 | the terminal's side of GET CHALLENGE and MUTUAL AUTHENTICATE, as pure functions |
//! | [`sm`] | SPEC15 §3.4.2, §4.2.2, §4.2.5; GEN2 §4.2.5 | §7, §4.5 | secure messaging: VERIFY, SM READ BINARY (extended and short forms), strict unwrapping |
//! | [`transport`] | — | — | the one trait a backend implements, and its limits |
//! | [`layout`] | SPEC15 Tables 3-1 to 3-5, §4.2.5; GEN2 §3.3 | §1, §2 | the layout table: DFs and AIDs, every EF with SFI, capacity, access rule, section |
//! | [`session`] | SPEC15 §3.5, §4.2 | §4, §5.4 | a card session as a typestate: exchange (GET RESPONSE), reads, short-APDU fallbacks, authentication |
//! | [`files`] | SPEC15 §3.3.4; GEN2 §3.3.4 | §1.3, §2.4, §11 | the data model: one parser per EF of both generations, and the code tables |
//! | [`options`] | — | — | read policy, access flow, read options; the one parser and name of each option |
//! | [`sequence`] | SPEC15 §3.5.1; GEN2 §3.5.1 | §5 | the read sequence: card type, dispatch, authenticate, read and parse, verify |
//! | [`verify`] | SPEC15 §3.4.3, Fig. 3-4; GEN2 §3.4.3.1 | §3, §8, §9, §10 | check code, certificate chain, trust store, the verdict |
//! | [`warning`] | — | — | warnings with stable codes (`card_number_shape`, `short_apdu_fallback`, …) |
//! | [`error`] | — | — | one error type; every stable code in [`error::ErrorCode`] |
//! | [`report`] | — | — | the JSON report shared by the CLI, the C library and the Python package |
//! | [`write`](mod@write) | AWP v1 (`docs/write-profile.md`); BSI TR-03110 EAC2; ICAO 9303 | — | address write: certificates, Terminal and Chip Authentication, AES secure messaging, the authority state machine, the counter's relay |
//! | [`vectors`] | SPEC15 Annex 2; GEN2 Appendix 2 | §13 | the official test vectors, and the synthetic SM vectors, as hex |
//!
//! ## Citations
//!
//! Doc comments across the workspace cite their sources with these names:
//!
//! | citation | meaning |
//! |---|---|
//! | SPEC15 | 在留カード等仕様書（一般公開用）Ver 1.5 (出入国在留管理庁, March 2024), the first-generation specification; `§` numbers, Tables and Figures are its own |
//! | SPEC15 Annex 1, Annex 2 | its 別添 1 (key exchange, algorithms) and 別添 2 (worked read sequence with test values) |
//! | SPEC13 | the earlier Ver 1.3 (2016) |
//! | GEN2 | 第２世代在留カード等仕様書（一般公開用）Ver 1.1 (2026), the second-generation specification, known to this project through a public restatement (ERI) |
//! | GEN2 Appendix 1, Appendix 2 | its cryptography appendix and worked example with test values |
//! | SPEC-SC | 特定在留カード等仕様書 Ver 1.1, the specified cards (`07`, `08`); not implemented |
//! | first-generation notes §X, second-generation notes §X, "the notes" | the project's research notes on SPEC15 and GEN2; they are not in the repository: `docs/spec-facts.md` restates every fact the code uses, and its Appendix B maps each notes section to its own |
//! | ERI | `eringoio/zairyu-card-reader`, a public Python reader; the source of the GEN2 restatement and of the only real-card observations |
//! | RMP | `dadachi/readmynumber-plus`, a public Swift (CoreNFC) reader |
//! | PYZ | a public Python `ZairyuCardReader` of unknown repository (unreliable) |
//! | JEID | `osstech-jp/libjeid-android-app`, sample app of a closed reader library |
//! | JAVA-AID | a public Java table of the DF names, repository unknown (gives a wrong DF3 name) |
//! | ZM | `GodStorm91/zairyumate`, a public parser with invented first-generation tags |
//! | SHIGYO | a third-party summary of the GEN2 publication |
//! | MOJ | the Ministry of Justice (its Immigration Services Agency publishes the specifications and the root certificates) |
//! | ISO/IEC 7816-4, 14443, 9797-1, 15444-1; RFC 5280, 8017, 5480, 6979, 4514, 7468; ISO 3166-1; ICAO 9303; JIS X 0213 | the standards of those numbers (listed in `docs/spec-facts.md`, Appendix A) |
//!
//! `docs/spec-facts.md` defines them in full, with addresses.

pub mod apdu;
pub mod auth;
pub mod card_number;
pub mod checks;
pub mod crypto;
pub mod error;
pub mod files;
pub mod layout;
pub mod options;
pub mod report;
pub mod sequence;
pub mod session;
pub mod sm;
pub mod tlv;
pub mod transport;
pub mod vectors;
pub mod verify;
pub mod warning;
pub mod write;

pub use card_number::CardNumber;
pub use error::{Error, Result};
