//! Test vectors, so that the project builds and tests on its own. Hex strings with
//! spaces, exactly as printed. Where they come from (`docs/spec-facts.md`, test
//! vectors):
//!
//! * [`annex2`]: **official**, SPEC15 Annex 2 (first generation, 3DES);
//! * [`appendix2`]: **official**, GEN2 Appendix 2 (second generation, AES), as the
//!   second-generation notes §2.4 restate it;
//! * [`gen2_synthetic`]: **synthetic**, derived by the notes' author from the
//!   Appendix-2 session key (notes §3.5), not printed in any specification. So that
//!   the simulator and the reader cannot agree on a shared mistake, they are
//!   cross-checked with an independent implementation (the `openssl` command line,
//!   `tests/tests/vectors_openssl.rs`).

/// Parses a hex string with optional spaces (test helper).
pub fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ::hex::decode(clean).expect("valid hex in a test vector")
}

/// SPEC15 Annex 2 (読出しシーケンス コマンド例), first generation, 3DES.
pub mod annex2 {
    /// 在留カード等番号.
    pub const CARD_NUMBER: &str = "AA12345678BB";
    /// h(在留カード等番号).
    pub const SHA1_CARD_NUMBER: &str = "65 22 B4 E1 71 19 5B B2 18 22 3A 97 6C 04 01 11 BD C4 AA 25";
    /// Kenc = Kmac.
    pub const KENC: &str = "65 22 B4 E1 71 19 5B B2 18 22 3A 97 6C 04 01 11";
    /// RND.ICC from GET CHALLENGE.
    pub const RND_ICC: &str = "5A 6E 7E 38 51 62 B7 A3";
    /// RND.IFD.
    pub const RND_IFD: &str = "11 22 33 44 55 66 77 88";
    /// K.IFD.
    pub const K_IFD: &str = "40 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F";
    /// E_IFD.
    pub const E_IFD: &str =
        "93 77 45 C2 08 83 A1 BA D1 E0 41 93 72 2A 15 92 37 8F 81 A8 F1 DC 58 91 57 AE B0 F7 54 4F A1 BA";
    /// M_IFD.
    pub const M_IFD: &str = "1A D7 FB 6A 33 89 E0 17";
    /// E_ICC.
    pub const E_ICC: &str =
        "58 60 77 5B 4D 03 2C C5 64 BA 20 4B 8E A8 68 F6 94 A7 4E 74 75 A8 FE F2 40 58 8B DA 1A F4 96 CE";
    /// M_ICC.
    pub const M_ICC: &str = "59 38 8F D6 CD 45 24 8B";
    /// K.ICC (from DEC(E_ICC)).
    pub const K_ICC: &str = "19 D0 49 49 0F FF 52 EE DB FC B9 30 BC 81 0E D0";
    /// K.IFD xor K.ICC.
    pub const K_XOR: &str = "59 91 0B 0A 4B BA 14 A9 93 B5 F3 7B F0 CC 40 9F";
    /// KSenc.
    pub const KS_ENC: &str = "CE 94 93 8E 19 E3 B9 7D F9 6E AB CE DC 17 15 CC";
    /// The VERIFY command.
    pub const VERIFY_COMMAND: &str = "08 20 00 86 13 86 11 01 1A A8 29 73 DB 95 9A 81 1F 97 11 D7 28 F0 EE F6";
    /// The MUTUAL AUTHENTICATE command.
    pub const MUTUAL_AUTH_COMMAND: &str = "00 82 00 00 28 93 77 45 C2 08 83 A1 BA D1 E0 41 93 72 2A 15 92 37 8F 81 A8 F1 DC 58 91 57 AE B0 F7 54 4F A1 BA 1A D7 FB 6A 33 89 E0 17 00";
}

/// GEN2 Appendix 2 (pp.36-38), second generation, AES, as restated in the
/// second-generation notes §2.4 (official).
pub mod appendix2 {
    /// RND.ICC.
    pub const RND_ICC: &str = "92 1C E2 77 32 3D A0 57";
    /// E_IFD.
    pub const E_IFD: &str =
        "4A D3 C7 B6 BB 48 4A 52 77 19 77 DE D6 18 B4 1D F8 41 FA 04 76 A0 5F BE 04 1D EA D6 10 9E 77 3B";
    /// M_IFD.
    pub const M_IFD: &str = "AC 85 46 17 63 4F 53 97";
    /// E_ICC.
    pub const E_ICC: &str =
        "28 9A 96 B1 DA 6A E3 DA 87 77 04 19 BF D1 4F 0B DA D1 5F 36 43 2B 5A 94 6C 18 8C 72 21 75 9A 62";
    /// M_ICC.
    pub const M_ICC: &str = "FA 94 2E C5 1E 62 FF 5F";
    /// K.ICC.
    pub const K_ICC: &str = "2C C6 AF 9B 8B 60 7C 66 2F DC AD 27 B4 01 D0 8B";
    /// KSenc.
    pub const KS_ENC: &str = "C1 9C F1 3D 3D 7F BE E9 EA 29 3D 83 4C 88 95 2F";
    /// The VERIFY command.
    pub const VERIFY_COMMAND: &str = "08 20 00 86 13 86 11 01 EE 0B 31 EF 87 7F 68 D0 71 C5 6D 58 C7 2E 67 48";
}

/// **Synthetic** second-generation SM vectors (second-generation notes §3.5): the
/// card number and printed entries of the notes' example, encrypted under
/// [`appendix2::KS_ENC`] by the notes' author. Not from a specification; checked
/// against `openssl` in `tests/tests/vectors_openssl.rs`.
pub mod gen2_synthetic {
    /// DF1/EF01 plaintext.
    pub const SM_EF01_PLAIN: &str = "C2 0C 41 41 31 32 33 34 35 36 37 38 42 42";
    /// DF1/EF01 SM response (without SW).
    pub const SM_EF01_RESPONSE: &str = "86 11 01 14 3D 16 76 C5 7E D6 59 B4 CA 6D A0 6D 25 15 91";
    /// DF1/EF02 plaintext.
    pub const SM_EF02_PLAIN: &str = "C5 08 32 30 33 31 30 34 30 31 C6 08 32 30 30 30 30 31 30 32 C7 01 31 C8 03 50 41 4B C9 0A 41 42 43 44 45 46 47 48 49 4A CE 04 30 33 30 30 CA 02 30 31 CB 08 32 30 32 36 30 34 30 31 CC 01 32 CD 08 32 30 32 39 30 34 30 31";
    /// DF1/EF02 SM response (without SW).
    pub const SM_EF02_RESPONSE: &str = "86 51 01 21 FB A9 39 83 F8 62 D3 9C 93 C5 8D 2B FF C8 F2 36 D2 35 F6 F5 A5 AE F1 8E 9B C9 BE F2 6E 90 3E EB FF BC F4 96 87 92 6C 94 86 04 28 F6 B8 34 AD EC 5D 63 8F BF 1A 5D 84 11 27 85 A4 6A AD 9E 78 DC 63 A1 57 A6 01 11 2E 10 45 2B D1 07 B9 22 3E";
}
