//! Address write, AWP v1: the write protocol as a sans-I/O library (issue 12).
//!
//! The Ministry has never published its own write commands, so the project writes the
//! residence address (住居地) after its own open design, AWP v1, modelled on BSI
//! TR-03110 EAC 2 (Terminal Authentication v2, Chip Authentication v2) with NIST
//! P-256 and AES-128, and on ICAO 9303's AES secure messaging. `docs/write-profile.md`
//! is the normative byte-level description; it cites the design's sections as
//! "AWP §N" and restates everything this module relies on.
//!
//! The trust model in one sentence: the only key that can authorise a write (the
//! terminal key, certified by the write CVCA that every card trusts) lives at the
//! **write authority**, and the secure channel that carries the write runs end to
//! end between the authority and the card; the counter terminal only relays APDU
//! bytes ([`relay`]), so a stand-alone terminal can never write.
//!
//! | module | AWP | what |
//! |---|---|---|
//! | [`ber`] | — | strict BER-TLV for the protocol's own objects (one encoding per value) |
//! | [`cvc`] | §2 | card-verifiable certificates (TR-03110 Part 3 layout): parse, encode, sign ([`cvc::Signer`]), verify a chain against a CVCA and a card date |
//! | [`eac`] | §4.3a–b | Terminal and Chip Authentication: APDU builders for the authority, the card's halves, key derivation, the token |
//! | [`sm`] | §4.3c | ICAO 9303 AES secure messaging for both sides ([`sm::TerminalSide`], [`sm::CardSide`]) |
//! | [`chip_auth_info`] | §2, §3 | EF.ChipAuthInfo: the card's chip-authentication key, signed by the write issuer |
//! | [`record`] | §3, §4.2 | the new EF content (DF2/EF01; DF1/EF04) and its write intent |
//! | [`authority`] | §4.2–4.3 | the write authority as a state machine: `begin` → batches → receipt |
//! | [`relay`] | §4.1–4.3, §5 | the counter side: [`relay::AuthorityLink`], the relay driver, the in-process link |
//! | [`counter`] | §4.1–4.5 | the counter's whole write: access, relay, a new session's re-read compared with the record |
//!
//! Nothing here performs I/O: the authority and the card halves are pure state
//! machines fed with bytes; randomness comes in through [`crate::auth::RandomSource`],
//! time as a number.

pub mod authority;
pub mod ber;
pub mod chip_auth_info;
pub mod counter;
pub mod cvc;
pub mod eac;
pub mod record;
pub mod relay;
pub mod sm;

#[cfg(test)]
mod tests;

/// The write application's DF name (AID), a proprietary (`F`-category, ISO/IEC
/// 7816-4 §8.2.1.2) name: `F0 ‖ "ZAIRYUAWP" ‖ 01`. Not one of the Ministry's
/// `D3 92 F0 00 4F 0x` names (AWP §3).
pub const WRITE_AID: [u8; 11] = [0xF0, 0x5A, 0x41, 0x49, 0x52, 0x59, 0x55, 0x41, 0x57, 0x50, 0x01];

/// Short EF identifier of EF.ChipAuthInfo in the write application (AWP §3).
pub const CHIP_AUTH_INFO_SFI: u8 = 0x01;

/// Largest EF.ChipAuthInfo the relay reads (bytes).
pub const CHIP_AUTH_INFO_MAX: usize = 1024;

/// The project's private OID arc, `2.25.73206338463867601815969421057318630631`: a
/// UUID-derived arc (ITU-T X.667 / ISO/IEC 9834-8), which anyone may use without
/// registration. Its DER content octets.
pub const AWP_ARC: [u8; 19] =
    [0x69, 0xEE, 0x93, 0x83, 0xC9, 0xDB, 0xB3, 0xD2, 0x98, 0xBD, 0x8C, 0xAA, 0x98, 0xD3, 0xEA, 0xB9, 0xFA, 0xE9, 0x67];

const fn arc_oid(a: u8, b: u8) -> [u8; 21] {
    let mut out = [0u8; 21];
    let mut i = 0;
    while i < 19 {
        out[i] = AWP_ARC[i];
        i += 1;
    }
    out[19] = a;
    out[20] = b;
    out
}

/// `id-AWP-role-write` = arc.1.1: the CHAT role OID of the write PKI (CVCA, DV and
/// terminal certificates). Content octets of the DER OID.
pub const OID_ROLE_WRITE: [u8; 21] = arc_oid(1, 1);

/// `id-AWP-role-issuer` = arc.1.2: the CHAT role OID of the write-issuer PKI (root
/// and document signer of EF.ChipAuthInfo).
pub const OID_ROLE_ISSUER: [u8; 21] = arc_oid(1, 2);

/// `id-AWP-write-intent` = arc.2.1: the discretionary-data template of the TA
/// auxiliary data that carries the write intent.
pub const OID_WRITE_INTENT: [u8; 21] = arc_oid(2, 1);

/// `id-TA-ECDSA-SHA-256` = 0.4.0.127.0.7.2.2.2.2.3 (TR-03110 Part 3 A.2.1.1).
pub const OID_TA_ECDSA_SHA256: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03];

/// `id-CA-ECDH-AES-CBC-CMAC-128` = 0.4.0.127.0.7.2.2.3.2.2 (TR-03110 Part 3 A.1.1.2).
pub const OID_CA_ECDH_AES128: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02];

/// A calendar date of a certificate or of the card (`YYMMDD` on the wire, years
/// 2000–2099; TR-03110 Part 3 D.2.1.3). Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CvDate {
    year: u16,
    month: u8,
    day: u8,
}

impl CvDate {
    /// A date; `None` unless it is a real calendar day of 2000–2099.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !(2000..=2099).contains(&year) {
            return None;
        }
        let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(CvDate { year, month, day })
    }

    /// Decodes six unpacked BCD digits `Y Y M M D D` (each byte `00`–`09`).
    pub fn from_digits(d: &[u8]) -> Option<Self> {
        if d.len() != 6 || d.iter().any(|&b| b > 9) {
            return None;
        }
        let two = |i: usize| d[i] * 10 + d[i + 1];
        CvDate::new(2000 + u16::from(two(0)), two(2), two(4))
    }

    /// The six digits `Y Y M M D D`, one per byte.
    pub fn to_digits(self) -> [u8; 6] {
        let y = (self.year - 2000) as u8;
        [y / 10, y % 10, self.month / 10, self.month % 10, self.day / 10, self.day % 10]
    }

    /// The UTC calendar date of a Unix time; `None` outside 2000–2099.
    pub fn from_unix(secs: u64) -> Option<Self> {
        // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
        let days = i64::try_from(secs / 86_400).ok()?;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        CvDate::new(u16::try_from(year).ok()?, month as u8, day as u8)
    }

    /// The year (2000–2099).
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month (1–12).
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl core::fmt::Display for CvDate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Lower-case hex, for receipts and logs of public values (hashes, references).
pub(crate) fn hex32(h: &[u8; 32]) -> String {
    hex::encode(h)
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_decode_encode_and_order() {
        let d = CvDate::from_digits(&[2, 6, 0, 4, 3, 0]).unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2026, 4, 30));
        assert_eq!(d.to_digits(), [2, 6, 0, 4, 3, 0]);
        assert_eq!(d.to_string(), "2026-04-30");
        assert!(CvDate::new(2026, 5, 1).unwrap() > d);
        assert!(CvDate::new(2025, 12, 31).unwrap() < d);
        // Digits must be unpacked BCD, the date real.
        assert_eq!(CvDate::from_digits(b"260430"), None);
        assert_eq!(CvDate::from_digits(&[2, 6, 0, 2, 3, 0]), None);
        assert_eq!(CvDate::from_digits(&[2, 6, 1, 3, 0, 1]), None);
        assert!(CvDate::from_digits(&[2, 4, 0, 2, 2, 9]).is_some());
        assert_eq!(CvDate::from_digits(&[2, 5, 0, 2, 2, 9]), None);
        assert_eq!(CvDate::from_digits(&[2, 6, 0, 4, 3]), None);
    }

    #[test]
    fn unix_time_to_date() {
        // Values from `date -u -d @N +%F`.
        assert_eq!(CvDate::from_unix(946_684_800), CvDate::new(2000, 1, 1));
        assert_eq!(CvDate::from_unix(1_709_251_199), CvDate::new(2024, 2, 29));
        assert_eq!(CvDate::from_unix(1_777_507_200), CvDate::new(2026, 4, 30));
        assert_eq!(CvDate::from_unix(0), None);
    }

    #[test]
    fn oids_are_the_documented_arcs() {
        // `openssl asn1parse` of 06 15 ‖ OID_ROLE_WRITE prints
        // 2.25.73206338463867601815969421057318630631.1.1.
        assert_eq!(&OID_ROLE_WRITE[..19], &AWP_ARC);
        assert_eq!(&OID_ROLE_WRITE[19..], &[1, 1]);
        assert_eq!(&OID_ROLE_ISSUER[19..], &[1, 2]);
        assert_eq!(&OID_WRITE_INTENT[19..], &[2, 1]);
    }
}
