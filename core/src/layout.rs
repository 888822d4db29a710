//! The card's file layout, once: every DF and EF of both generations with its DF
//! name (AID), short EF identifier, capacity, access rule and spec section.
//!
//! The read sequence, parse errors ([`crate::error::ParseError::file`]), the raw
//! files of a read and the simulator all take their facts from here. Sources:
//! SPEC15 Tables 3-1 to 3-5 and §4.2.5 for the first generation; for the second
//! generation the GEN2 tables as restated in `docs/spec-facts.md` §2 (the
//! second-generation notes §3.3, §4.2).
//!
//! Traps the table encodes (`docs/spec-facts.md` §1):
//!
//! * SFIs are not the EF numbers: MF/EF01 is SFI `0B`, MF/EF02 `0A`, DF3/EF01 `02`.
//! * The same SFI holds different files in each generation (DF1 SFI 6 is the face
//!   in gen1, the address image in gen2): always choose the table by card type.
//! * The single DF2 file of a type-06 card is read as SFI 3, then SFI 1 on `6A 82`
//!   ([`gen2::DF2_SPRC_SFIS`]).

use crate::files::CardType;

/// A directory file (SPEC15 §3.1, §3.3.1; the same AIDs in both generations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Df {
    /// The master file, current after activation.
    #[default]
    Mf,
    /// DF1: card-face data (券面事項), secure messaging only.
    Df1,
    /// DF2: back-side entries (裏面記載事項).
    Df2,
    /// DF3: check code and certificate (電子署名).
    Df3,
}

impl Df {
    /// Every directory file, in read order.
    pub const ALL: [Df; 4] = [Df::Mf, Df::Df1, Df::Df2, Df::Df3];

    /// The 16-byte DF name used by SELECT FILE (SPEC15 §4.2.1, Table 3-3); `None`
    /// for the MF (selected by its file identifier `3F 00`). DF3 is `…4F 04…`,
    /// not `…4F 05…` as one public source has it.
    pub const fn aid(self) -> Option<[u8; 16]> {
        let last = match self {
            Df::Mf => return None,
            Df::Df1 => 0x02,
            Df::Df2 => 0x03,
            Df::Df3 => 0x04,
        };
        Some([0xD3, 0x92, 0xF0, 0x00, 0x4F, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// The DF with this full 16-byte name, if any.
    pub fn from_aid(aid: &[u8]) -> Option<Df> {
        Df::ALL.into_iter().find(|d| d.aid().is_some_and(|a| a[..] == *aid))
    }

    /// Name for logs and errors (`"DF1"`).
    pub const fn name(self) -> &'static str {
        match self {
            Df::Mf => "MF",
            Df::Df1 => "DF1",
            Df::Df2 => "DF2",
            Df::Df3 => "DF3",
        }
    }
}

/// How an EF may be read (SPEC15 Tables 3-4/3-5; second-generation notes §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Readable before authentication, in plain.
    Free,
    /// After 在留カード等番号による認証, in plain (the SM form is also allowed).
    Authenticated,
    /// After authentication, and only by a secure-messaging READ BINARY.
    SecureMessaging,
}

/// One elementary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ef {
    /// Display name, also the name in parse errors and raw files (`"DF1/EF01"`).
    pub name: &'static str,
    /// The DF that holds it.
    pub df: Df,
    /// Short EF identifier: READ BINARY P1 = `80 | sfi` (SPEC15 §4.2.5).
    pub sfi: u8,
    /// Capacity in bytes; for a file of variable fill, its maximum.
    pub capacity: usize,
    /// The access rule.
    pub access: Access,
    /// What it holds.
    pub contents: &'static str,
    /// The spec section that defines it.
    pub spec: &'static str,
}

impl Ef {
    /// READ BINARY P1 addressing this file by SFI.
    pub const fn p1(&self) -> u8 {
        0x80 | (self.sfi & 0x1F)
    }
}

const fn ef(
    name: &'static str,
    df: Df,
    sfi: u8,
    capacity: usize,
    access: Access,
    contents: &'static str,
    spec: &'static str,
) -> Ef {
    Ef { name, df, sfi, capacity, access, contents, spec }
}

/// Value lengths of the fixed-length data objects.
pub mod value_len {
    /// `C0` spec version (SPEC15 §3.3.4.1).
    pub const SPEC_VERSION: usize = 4;
    /// gen1 `D0` front image (SPEC15 §3.3.4.3), covered by the check code.
    pub const FRONT_IMAGE: usize = 7000;
    /// `D1` face image, both generations (SPEC15 §3.3.4.4; GEN2 DF1/EF03).
    pub const FACE_IMAGE: usize = 3000;
    /// gen1 `D2` address date `YYYYMMDD` (SPEC15 §3.3.4.5).
    pub const DATE: usize = 8;
    /// gen1 `D3` municipality code, 6 digits with the check digit.
    pub const MUNICIPALITY: usize = 6;
    /// gen1 `D4` address text.
    pub const ADDRESS: usize = 320;
    /// gen1 `D5`/`D6` permission texts (SPEC15 §3.3.4.6-7).
    pub const PERMISSION: usize = 120;
    /// gen1 `DA` check code: one RSA-2048 block (SPEC15 §3.3.4.9).
    pub const CHECK_CODE: usize = 256;
    /// gen1 `DB` certificate field (zero-filled).
    pub const CERTIFICATE: usize = 1200;
    /// gen2 `C2` card number.
    pub const CARD_NUMBER: usize = 12;
    /// gen2 printed-entries part of the signed data (values, type 06 zero-filled).
    pub const PRINTED_SIGNED: usize = 53;
    /// gen2 `C8` nationality/region (alpha-3).
    pub const NATIONALITY: usize = 3;
    /// gen2 `C9` status-of-residence code.
    pub const STATUS_CODE: usize = 10;
    /// gen2 `CE` period of stay.
    pub const PERIOD_OF_STAY: usize = 4;
    /// gen2 `CA` permission type.
    pub const PERMISSION_TYPE: usize = 2;
    /// gen2 `D5` comprehensive permission: one code character and six `00`.
    pub const COMPREHENSIVE_PERMISSION: usize = 7;
    /// gen2 `D0` name image.
    pub const NAME_IMAGE: usize = 2500;
    /// gen2 `DF D1` address image (not signed).
    pub const ADDRESS_IMAGE: usize = 2500;
    /// gen2 `DE` note text.
    pub const NOTE_TEXT: usize = 200;
    /// gen2 `DC` raw `r ‖ s` signature (P-384).
    pub const RAW_SIGNATURE: usize = 96;
    /// gen2 `DD` certificate, at most.
    pub const GEN2_CERTIFICATE_MAX: usize = 602;
}

/// MF files, the same two in both generations (MF/EF02 holds 3 bytes in gen1,
/// 4 in gen2: [`gen1::MF_EF02`], [`gen2::MF_EF02`]).
pub mod mf {
    use super::*;
    /// 共通データ要素 `C0` (SPEC15 §3.3.4.1; GEN2 likewise).
    pub const EF01: Ef = ef("MF/EF01", Df::Mf, 0x0B, 6, Access::Free, "spec version C0", "SPEC15 §3.3.4.1");
}

/// First generation, types "1" and "2" (SPEC15 Tables 3-1/3-2, 3-4/3-5, §4.2.5).
pub mod gen1 {
    pub use super::mf::EF01 as MF_EF01;
    use super::*;
    /// カード種別 `C1 01 3x`.
    pub const MF_EF02: Ef = ef("MF/EF02", Df::Mf, 0x0A, 3, Access::Free, "card type C1", "SPEC15 §3.3.4.2");
    /// 券面（表）イメージ `D0` 7000.
    pub const DF1_EF01: Ef =
        ef("DF1/EF01", Df::Df1, 0x05, 7004, Access::SecureMessaging, "front image D0", "SPEC15 §3.3.4.3");
    /// 顔画像 `D1` 3000.
    pub const DF1_EF02: Ef =
        ef("DF1/EF02", Df::Df1, 0x06, 3004, Access::SecureMessaging, "face image D1", "SPEC15 §3.3.4.4");
    /// 住居地 `D2 D3 D4`.
    pub const DF2_EF01: Ef =
        ef("DF2/EF01", Df::Df2, 0x01, 342, Access::Authenticated, "address D2 D3 D4", "SPEC15 §3.3.4.5");
    /// 資格外活動包括許可 `D5` (residence card only).
    pub const DF2_EF02: Ef =
        ef("DF2/EF02", Df::Df2, 0x02, 122, Access::Authenticated, "comprehensive permission D5", "SPEC15 §3.3.4.6");
    /// 資格外活動個別許可 `D6` (residence card only).
    pub const DF2_EF03: Ef =
        ef("DF2/EF03", Df::Df2, 0x03, 122, Access::Authenticated, "individual permission D6", "SPEC15 §3.3.4.7");
    /// 在留期間等更新申請 `D7` (residence card only).
    pub const DF2_EF04: Ef =
        ef("DF2/EF04", Df::Df2, 0x04, 3, Access::Authenticated, "renewal application D7", "SPEC15 §3.3.4.8");
    /// チェックコード `DA` + 公開鍵証明書 `DB`: SFI 2 although the file is EF01.
    pub const DF3_EF01: Ef =
        ef("DF3/EF01", Df::Df3, 0x02, 1464, Access::Authenticated, "check code DA, certificate DB", "SPEC15 §3.3.4.9");
}

/// Second generation, types "05" and "06" (GEN2 §3.3; `docs/spec-facts.md` §2).
pub mod gen2 {
    pub use super::mf::EF01 as MF_EF01;
    use super::*;
    /// カード種別 `C1 02 30 3x`.
    pub const MF_EF02: Ef = ef("MF/EF02", Df::Mf, 0x0A, 4, Access::Free, "card type C1", "GEN2 §3.3.4.2");
    /// 在留カード等番号 `C2` 12.
    pub const DF1_EF01: Ef =
        ef("DF1/EF01", Df::Df1, 0x01, 14, Access::SecureMessaging, "card number C2", "GEN2 §3.3.4");
    /// 券面記載事項 `C5`–`CD`: 73 bytes on type 05 (10 TLVs), 46 on type 06 (6 TLVs).
    pub const DF1_EF02: Ef =
        ef("DF1/EF02", Df::Df1, 0x03, 73, Access::SecureMessaging, "printed entries C5-CD", "GEN2 §3.3.4");
    /// The printed entries of DF1/EF02 in file order with their fixed widths: all ten
    /// on a type-05 card (53 value bytes), the first six on a type-06 card (34). The
    /// signature covers the values without their tags, so this exact layout is part
    /// of what the verifier checks (`docs/spec-facts.md` §2, §3).
    pub const PRINTED_ENTRIES: [(u16, usize); 10] = [
        (0xC5, value_len::DATE),
        (0xC6, value_len::DATE),
        (0xC7, 1),
        (0xC8, value_len::NATIONALITY),
        (0xC9, value_len::STATUS_CODE),
        (0xCE, value_len::PERIOD_OF_STAY),
        (0xCA, value_len::PERMISSION_TYPE),
        (0xCB, value_len::DATE),
        (0xCC, 1),
        (0xCD, value_len::DATE),
    ];
    /// How many of [`PRINTED_ENTRIES`] a type-06 card holds.
    pub const PRINTED_ENTRIES_SPRC: usize = 6;
    /// Capacity of DF1/EF02 on a type-06 card.
    pub const DF1_EF02_SPRC_CAPACITY: usize = 46;
    /// 氏名画像 `D0` 2500 + 顔画像 `D1` 3000.
    pub const DF1_EF03: Ef =
        ef("DF1/EF03", Df::Df1, 0x04, 5508, Access::SecureMessaging, "name image D0, face D1", "GEN2 §3.3.4");
    /// 住居地画像 `DF D1` 2500 (not signed).
    pub const DF1_EF04: Ef =
        ef("DF1/EF04", Df::Df1, 0x06, 2505, Access::SecureMessaging, "address image DF D1", "GEN2 §3.3.4");
    /// 資格外活動 `D5 D6 D7` (type 05 only).
    pub const DF2_EF01: Ef =
        ef("DF2/EF01", Df::Df2, 0x01, 22, Access::Authenticated, "permissions D5 D6 D7", "GEN2 §3.3.4");
    /// 在留期間等更新申請 `D8` (type 05 only).
    pub const DF2_EF02: Ef =
        ef("DF2/EF02", Df::Df2, 0x02, 3, Access::Authenticated, "renewal application D8", "GEN2 §3.3.4");
    /// 長官記録事項 `D9 DE` (type 05).
    pub const DF2_EF03: Ef = ef("DF2/EF03", Df::Df2, 0x03, 207, Access::Authenticated, "note D9 DE", "GEN2 §3.3.4");
    /// The single DF2 file of a type-06 card, `D9 DE`, named "EF01".
    pub const DF2_SPRC: Ef = ef("DF2/EF01", Df::Df2, 0x03, 207, Access::Authenticated, "note D9 DE", "GEN2 §3.3.4");
    /// SFIs tried for [`DF2_SPRC`], in order: 3 (what a public reader uses), then 1
    /// (what the name "EF01" suggests) on `6A 82`. Not confirmed on hardware.
    pub const DF2_SPRC_SFIS: [u8; 2] = [0x03, 0x01];
    /// 電子署名 `DC` + `DD`: SFI 2, as in gen1.
    pub const DF3_EF01: Ef =
        ef("DF3/EF01", Df::Df3, 0x02, 704, Access::Authenticated, "signature DC, certificate DD", "GEN2 §3.4.3");
}

/// The elementary files a card of this type holds, in read order (empty for the
/// specified cards "07"/"08", whose layout is not public). Type-06 DF2 appears as
/// [`gen2::DF2_SPRC`] at its first SFI.
pub fn files(card_type: CardType) -> &'static [Ef] {
    use CardType::*;
    const RC1: [Ef; 9] = [
        gen1::MF_EF01,
        gen1::MF_EF02,
        gen1::DF1_EF01,
        gen1::DF1_EF02,
        gen1::DF2_EF01,
        gen1::DF2_EF02,
        gen1::DF2_EF03,
        gen1::DF2_EF04,
        gen1::DF3_EF01,
    ];
    const SPRC1: [Ef; 6] =
        [gen1::MF_EF01, gen1::MF_EF02, gen1::DF1_EF01, gen1::DF1_EF02, gen1::DF2_EF01, gen1::DF3_EF01];
    const RC2: [Ef; 10] = [
        gen2::MF_EF01,
        gen2::MF_EF02,
        gen2::DF1_EF01,
        gen2::DF1_EF02,
        gen2::DF1_EF03,
        gen2::DF1_EF04,
        gen2::DF2_EF01,
        gen2::DF2_EF02,
        gen2::DF2_EF03,
        gen2::DF3_EF01,
    ];
    const SPRC2: [Ef; 8] = [
        gen2::MF_EF01,
        gen2::MF_EF02,
        gen2::DF1_EF01,
        Ef { capacity: gen2::DF1_EF02_SPRC_CAPACITY, ..gen2::DF1_EF02 },
        gen2::DF1_EF03,
        gen2::DF1_EF04,
        gen2::DF2_SPRC,
        gen2::DF3_EF01,
    ];
    match card_type {
        ResidenceCard => &RC1,
        SpecialPermanentResident => &SPRC1,
        Gen2ResidenceCard => &RC2,
        Gen2SpecialPermanentResident => &SPRC2,
        SpecifiedResidenceCard | SpecifiedSpecialPermanentResident => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aids_round_trip_and_df3_is_4f04() {
        for df in [Df::Df1, Df::Df2, Df::Df3] {
            assert_eq!(Df::from_aid(&df.aid().unwrap()), Some(df));
        }
        assert_eq!(Df::Df3.aid().unwrap()[5], 0x04);
        assert_eq!(Df::Mf.aid(), None);
        assert_eq!(Df::from_aid(&[0xD3, 0x92, 0xF0, 0x00, 0x4F, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn sfi_traps() {
        assert_eq!(mf::EF01.p1(), 0x8B);
        assert_eq!(gen1::MF_EF02.p1(), 0x8A);
        assert_eq!(gen1::DF3_EF01.p1(), 0x82);
        assert_eq!(gen2::DF3_EF01.p1(), 0x82);
        // The same P1 means different files per generation.
        assert_eq!(gen1::DF1_EF02.sfi, gen2::DF1_EF04.sfi);
    }

    #[test]
    fn capacities_decompose() {
        use value_len::*;
        assert_eq!(gen1::DF1_EF01.capacity, 4 + FRONT_IMAGE);
        assert_eq!(gen1::DF1_EF02.capacity, 4 + FACE_IMAGE);
        assert_eq!(gen1::DF2_EF01.capacity, 2 + DATE + 2 + MUNICIPALITY + 4 + ADDRESS);
        assert_eq!(gen1::DF2_EF02.capacity, 2 + PERMISSION);
        assert_eq!(gen1::DF3_EF01.capacity, 4 + CHECK_CODE + 4 + CERTIFICATE);
        assert_eq!(gen2::DF1_EF01.capacity, 2 + CARD_NUMBER);
        assert_eq!(gen2::DF1_EF02.capacity, 20 + PRINTED_SIGNED);
        let widths = |n: usize| gen2::PRINTED_ENTRIES[..n].iter().map(|(_, w)| w).sum::<usize>();
        assert_eq!(widths(10), PRINTED_SIGNED);
        assert_eq!(widths(gen2::PRINTED_ENTRIES_SPRC) + 2 * 6, gen2::DF1_EF02_SPRC_CAPACITY);
        assert_eq!(gen2::DF2_EF01.capacity, 2 + COMPREHENSIVE_PERMISSION + 2 + DATE + 2 + 1);
        assert_eq!(gen2::DF1_EF03.capacity, 4 + NAME_IMAGE + 4 + FACE_IMAGE);
        assert_eq!(gen2::DF1_EF04.capacity, 5 + ADDRESS_IMAGE);
        assert_eq!(gen2::DF2_EF03.capacity, 3 + 4 + NOTE_TEXT);
        assert_eq!(gen2::DF3_EF01.capacity, 2 + RAW_SIGNATURE + 4 + GEN2_CERTIFICATE_MAX);
    }

    #[test]
    fn every_supported_type_has_unique_addresses() {
        for t in [
            CardType::ResidenceCard,
            CardType::SpecialPermanentResident,
            CardType::Gen2ResidenceCard,
            CardType::Gen2SpecialPermanentResident,
        ] {
            let fs = files(t);
            assert!(!fs.is_empty());
            for (i, a) in fs.iter().enumerate() {
                assert!(fs[i + 1..].iter().all(|b| (a.df, a.sfi) != (b.df, b.sfi)), "{t:?} {}", a.name);
                assert!(a.name.starts_with(a.df.name()));
            }
        }
        assert!(files(CardType::SpecifiedResidenceCard).is_empty());
    }
}
