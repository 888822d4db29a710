//! Second-generation personalisation (types `05`/`06`): every EF below the MF of
//! GEN2 §3.3 (restated in the second-generation notes §4), placed where
//! [`zairyu::layout::gen2`] puts it, and the check code signed with the gen2 test
//! card signer (GEN2 §3.4.3.1, second-generation notes §4.4-§5).
//!
//! | EF | contents |
//! |---|---|
//! | DF1/EF01 | `C2 0C` card number (SM) |
//! | DF1/EF02 | printed entries `C5 C6 C7 C8 C9 CE [CA CB CC CD]` (SM; the bracketed four on type 05 only) |
//! | DF1/EF03 | `D0 82 09 C4` name image 2500 ‖ `D1 82 0B B8` face 3000 (SM) |
//! | DF1/EF04 | `DF D1 82 09 C4` address image 2500 (SM) |
//! | DF2/EF01 (05) | `D5 07` code + 6 × `00`, `D6 08` deadline, `D7 01` |
//! | DF2/EF02 (05) | `D8 01` renewal application |
//! | DF2/EF03 (05) | `D9 01` note flag, `DE 82 00 C8` text 200 |
//! | DF2 single file (06) | as DF2/EF03 of type 05, at the SFI of [`IssueOptions::sprc_df2_sfi`] |
//! | DF3/EF01 | `DC 60` r‖s (or DER), `DD 82 LL LL` certificate, `00` fill |

use sha2::{Digest, Sha256};
use zairyu::files::CardType;
use zairyu::layout::{Ef, gen2, value_len};

use super::encode::{Files, ascii_char, ascii_padded, filled, fixed_ascii, flag, insert, tlv, zero_file, zero_padded};
use super::face_image;
use crate::fixtures::{ADDRESS_TIF, NAME_TIF};
use crate::options::{IssueError, IssueOptions, PrintedEntries};

/// Value lengths of the second-generation data objects, from the core's layout.
mod len {
    pub use zairyu::layout::value_len::{
        COMPREHENSIVE_PERMISSION as COMPREHENSIVE, DATE, NATIONALITY, PERIOD_OF_STAY as PERIOD, PERMISSION_TYPE,
        STATUS_CODE as STATUS,
    };
}

/// Places every second-generation EF below the MF.
pub(super) fn build(opts: &IssueOptions, files: &mut Files) -> Result<(), IssueError> {
    // DF1/EF01 C2 card number (second-generation notes §4.3).
    let number = fixed_ascii("card_number", &opts.card_number, value_len::CARD_NUMBER)?;
    insert(files, &gen2::DF1_EF01, tlv(&[(0xC2, number)]));

    // DF1/EF02 printed entries; the signed target is the values only, in file
    // order, zero-padded to 53 bytes (type 06: 34 + 19 × 00; notes §4.4).
    let mut printed = printed_objects(&opts.printed, opts.card_type)?;
    let mut target: Vec<u8> = printed.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    target.resize(value_len::PRINTED_SIGNED, 0);

    // DF1/EF03 D0 name image 2500, D1 face 3000 (none under 16: all zero).
    let name = zero_padded("name image", NAME_TIF, value_len::NAME_IMAGE)?;
    let mut face = face_image(opts.under_16)?;

    // DF3/EF01: DC signature, DD certificate at its actual length, 00 fill to the
    // capacity (notes §3.4, §4.2). Signed data = printed 53 ‖ face 3000 ‖ name
    // 2500: the face comes first (notes §4.5). Under 16: all zero (our choice,
    // see `IssueOptions::under_16`).
    let df3 = if opts.under_16 {
        zero_file(&gen2::DF3_EF01)
    } else {
        let signed = [&target[..], &face, &name].concat();
        let (cert, key) = opts.pki.signer(2);
        let sig = sign(key, &signed, opts.gen2_signature_der)?;
        if cert.len() > value_len::GEN2_CERTIFICATE_MAX {
            return Err(IssueError::TooLong {
                field: "certificate",
                got: cert.len(),
                max: value_len::GEN2_CERTIFICATE_MAX,
            });
        }
        filled(&gen2::DF3_EF01, tlv(&[(0xDC, &sig[..]), (0xDD, cert)]))?
    };
    insert(files, &gen2::DF3_EF01, df3);

    // Tampering happens after signing.
    if opts.tamper_printed_entries
        && let Some(b) = printed.get_mut(1).and_then(|(_, v)| v.last_mut())
    {
        // Last digit of C6: '0'↔'1' … '8'↔'9', still a parseable date.
        *b ^= 0x01;
    }
    if opts.tamper_front_image
        && let Some(b) = face.last_mut()
    {
        *b ^= 0xFF;
    }
    insert(files, &gen2::DF1_EF02, tlv(&printed));
    insert(files, &gen2::DF1_EF03, tlv(&[(0xD0, name), (0xD1, face)]));
    // DF1/EF04 DF D1 address image 2500 (not signed).
    let address = zero_padded("address image", ADDRESS_TIF, value_len::ADDRESS_IMAGE)?;
    insert(files, &gen2::DF1_EF04, tlv(&[(0xDFD1, address)]));

    // DF2 (notes §3.3, §4.2, §6.2).
    let note = note_file(opts.gen2_note_flag, opts.gen2_note_text.as_deref())?;
    if opts.card_type.has_permission_files() {
        let mut d5 = vec![ascii_char("gen2_comprehensive", opts.gen2_comprehensive)?];
        d5.resize(len::COMPREHENSIVE, 0);
        let d6 = match &opts.gen2_comprehensive_deadline {
            Some(d) => fixed_ascii("gen2_comprehensive_deadline", d, len::DATE)?,
            None => vec![0u8; len::DATE],
        };
        let d7 = vec![flag(opts.gen2_individual)];
        insert(files, &gen2::DF2_EF01, tlv(&[(0xD5, d5), (0xD6, d6), (0xD7, d7)]));
        insert(files, &gen2::DF2_EF02, tlv(&[(0xD8, [flag(opts.renewal_pending)])]));
        insert(files, &gen2::DF2_EF03, note);
    } else {
        if !(0x01..=0x1E).contains(&opts.sprc_df2_sfi) {
            return Err(IssueError::InvalidOption { field: "sprc_df2_sfi", reason: "an SFI must be 1..=30" });
        }
        insert(files, &Ef { sfi: opts.sprc_df2_sfi, ..gen2::DF2_SPRC }, note);
    }
    Ok(())
}

/// The DF1/EF02 data objects in file order (second-generation notes §4.3, §3.5):
/// `C5 C6 C7 C8 C9 CE`, then `CA CB CC CD` on a residence card (05) only.
fn printed_objects(p: &PrintedEntries, card_type: CardType) -> Result<Vec<(u16, Vec<u8>)>, IssueError> {
    let mut v = vec![
        (0xC5, fixed_ascii("printed.expiry", &p.expiry, len::DATE)?),
        (0xC6, fixed_ascii("printed.birth_date", &p.birth_date, len::DATE)?),
        (0xC7, vec![ascii_char("printed.sex", p.sex)?]),
        (0xC8, ascii_padded("printed.nationality", &p.nationality, len::NATIONALITY)?),
        (0xC9, ascii_padded("printed.status_code", &p.status_code, len::STATUS)?),
        (0xCE, ascii_padded("printed.period_of_stay", &p.period_of_stay, len::PERIOD)?),
    ];
    if !card_type.is_special_permanent() {
        v.extend([
            (0xCA, ascii_padded("printed.permission_type", &p.permission_type, len::PERMISSION_TYPE)?),
            (0xCB, fixed_ascii("printed.permission_date", &p.permission_date, len::DATE)?),
            (0xCC, vec![ascii_char("printed.work_restriction", p.work_restriction)?]),
            (0xCD, fixed_ascii("printed.stay_expiry", &p.stay_expiry, len::DATE)?),
        ]);
    }
    Ok(v)
}

/// Signs the check code with the test card-signer key (GEN2 §3.4.3.1,
/// second-generation notes §5.3): ECDSA P-384 over SHA-256(`signed_data`),
/// deterministic (RFC 6979). The 32-byte digest is shorter than the P-384 group
/// order and is used as is (standard "SHA256withECDSA"). Returns the raw
/// 96-byte `r ‖ s`, or the DER `ECDSA-Sig-Value` when `der` is set.
fn sign(key: &[u8], signed_data: &[u8], der: bool) -> Result<Vec<u8>, IssueError> {
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use p384::ecdsa::{Signature, SigningKey};
    use p384::pkcs8::DecodePrivateKey;

    let key = SigningKey::from_pkcs8_der(key).map_err(|e| IssueError::Signing(e.to_string()))?;
    let digest = Sha256::digest(signed_data);
    let sig: Signature = key.sign_prehash(&digest).map_err(|e| IssueError::Signing(e.to_string()))?;
    Ok(if der { sig.to_der().as_bytes().to_vec() } else { sig.to_bytes().to_vec() })
}

/// `D9 01` flag, then `DE` with the non-minimal length `82 00 C8` that the card
/// uses (second-generation notes §4.1: the 207-byte capacity is `D9 01 x` +
/// `DE 82 00 C8` + 200). The TLV encoder would write `DE 81 C8`, so this one
/// header is written by hand.
fn note_file(set: bool, text: Option<&str>) -> Result<Vec<u8>, IssueError> {
    const DE_HEADER: [u8; 4] = [0xDE, 0x82, 0x00, 0xC8];
    let text = zero_padded("gen2_note_text", text.map_or(&[][..], str::as_bytes), value_len::NOTE_TEXT)?;
    let mut out = tlv(&[(0xD9, [flag(set)])]);
    out.extend_from_slice(&DE_HEADER);
    out.extend_from_slice(&text);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lengths_add_up_to_the_layout() {
        // Printed entries: the values of type 05 are the 53-byte signed target, and
        // with ten 2-byte headers they fill DF1/EF02; type 06 holds the first six.
        // C7 and CC are one character each.
        let rc = [len::DATE, len::DATE, 1, len::NATIONALITY, len::STATUS, len::PERIOD];
        let rc_only = [len::PERMISSION_TYPE, len::DATE, 1, len::DATE];
        let sprc: usize = rc.iter().sum();
        let all = sprc + rc_only.iter().sum::<usize>();
        assert_eq!(all, value_len::PRINTED_SIGNED);
        assert_eq!(all + 2 * 10, gen2::DF1_EF02.capacity);
        assert_eq!(sprc + 2 * 6, gen2::DF1_EF02_SPRC_CAPACITY);
        // DF2/EF01 D5 D6 D7 and DF2/EF02 D8.
        assert_eq!(len::COMPREHENSIVE + len::DATE + 1 + 3 * 2, gen2::DF2_EF01.capacity);
        assert_eq!(1 + 2, gen2::DF2_EF02.capacity);
    }

    #[test]
    fn note_file_fills_its_capacity_with_the_long_length_form() {
        let f = note_file(true, Some("ab")).unwrap();
        assert_eq!(f.len(), gen2::DF2_EF03.capacity);
        assert_eq!(&f[..9], b"\xD9\x011\xDE\x82\x00\xC8ab");
        assert_eq!(usize::from(u16::from_be_bytes([f[5], f[6]])), value_len::NOTE_TEXT);
        let long = "x".repeat(value_len::NOTE_TEXT + 1);
        assert_eq!(
            note_file(false, Some(&long)),
            Err(IssueError::TooLong { field: "gen2_note_text", got: 201, max: 200 })
        );
    }
}
