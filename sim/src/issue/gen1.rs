//! First-generation personalisation (types `1`/`2`): every EF below the MF of
//! SPEC15 §3.3.4, placed where [`zairyu::layout::gen1`] puts it, and the check
//! code signed with the test card signer (SPEC15 §3.4.3, Fig. 3-4).
//!
//! | EF | contents |
//! |---|---|
//! | DF1/EF01 | `D0 82 1B 58` front image 7000 (SM) |
//! | DF1/EF02 | `D1 82 0B B8` face 3000, all `00` under 16 (SM) |
//! | DF2/EF01 | `D2 08` date, `D3 06` municipality code, `D4 82 01 40` address 320; all `00` without an address |
//! | DF2/EF02, EF03 (type 1) | `D5 78` / `D6 78` permission text 120; all `00` when withdrawn |
//! | DF2/EF04 (type 1) | `D7 01` renewal application |
//! | DF3/EF01 | `DA 82 01 00` check code 256, `DB 82 04 B0` certificate 1200; under 16 see [`Under16Df3`] |

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha2::{Digest, Sha256};
use zairyu::layout::{gen1, value_len};

use super::encode::{Files, filled, fixed_ascii, flag, insert, tlv, zero_file, zero_padded};
use super::face_image;
use crate::fixtures::FRONT_TIF;
use crate::options::{Address, CheckCodeFormat, IssueError, IssueOptions, Under16Df3};

/// Places every first-generation EF below the MF.
pub(super) fn build(opts: &IssueOptions, files: &mut Files) -> Result<(), IssueError> {
    // DF1/EF01 D0 (§3.3.4.3), DF1/EF02 D1 (§3.3.4.4; no photo under 16, §3.3.5).
    let mut front = zero_padded("front image", FRONT_TIF, value_len::FRONT_IMAGE)?;
    let face = face_image(opts.under_16)?;

    // DF3/EF01 DA + DB (§3.3.4.9, §3.4.3); under 16: none (§3.3.5 *1/*2).
    let df3 = if opts.under_16 {
        filled(&gen1::DF3_EF01, under_16_df3(opts.under_16_df3_variant))?
    } else {
        let (cert, key) = opts.pki.signer(1);
        let sig = sign_check_code(key, &front, &face, opts.check_code_format)?;
        let cert = zero_padded("certificate", cert, value_len::CERTIFICATE)?;
        tlv(&[(0xDA, sig), (0xDB, cert)])
    };
    if opts.tamper_front_image {
        // The last byte of the value lies in the zero fill: the TIFF still
        // decodes, but the signed hash changes.
        if let Some(b) = front.last_mut() {
            *b ^= 0xFF;
        }
    }
    insert(files, &gen1::DF1_EF01, tlv(&[(0xD0, front)]));
    insert(files, &gen1::DF1_EF02, tlv(&[(0xD1, face)]));
    insert(files, &gen1::DF3_EF01, df3);

    // DF2/EF01 D2 D3 D4 (§3.3.4.5).
    let address = match &opts.address {
        None => zero_file(&gen1::DF2_EF01),
        Some(a) => address_file(a, opts.address_encoding_sjis)?,
    };
    insert(files, &gen1::DF2_EF01, address);

    // DF2/EF02-EF04 (§3.3.4.6-8), residence card only.
    if opts.card_type.has_permission_files() {
        for (ef, tag, text) in [
            (&gen1::DF2_EF02, 0xD5, &opts.comprehensive_permission),
            (&gen1::DF2_EF03, 0xD6, &opts.individual_permission),
        ] {
            let file = match text {
                None => zero_file(ef),
                Some(t) => tlv(&[(tag, zero_padded("permission text", t.as_bytes(), value_len::PERMISSION)?)]),
            };
            insert(files, ef, file);
        }
        insert(files, &gen1::DF2_EF04, tlv(&[(0xD7, [flag(opts.renewal_pending)])]));
    }
    Ok(())
}

/// The head of an under-16 DF3/EF01 before its zero fill (SPEC15 §3.3.5).
fn under_16_df3(variant: Under16Df3) -> Vec<u8> {
    match variant {
        Under16Df3::DaDbZero => vec![0xDA, 0x00, 0xDB, 0x00],
        Under16Df3::DaOnly => vec![0xDA, 0x00],
        Under16Df3::AllZero => Vec::new(),
    }
}

/// DF2/EF01 `D2 D3 D4`; `D4` is UTF-8 without BOM (SPEC15 §3.3.4), or Shift_JIS
/// when asked for, to exercise a reader's fallback.
fn address_file(a: &Address, sjis: bool) -> Result<Vec<u8>, IssueError> {
    let date = fixed_ascii("address date", &a.date, value_len::DATE)?;
    let code = fixed_ascii("municipality code", &a.municipality_code, value_len::MUNICIPALITY)?;
    let text: Vec<u8> = if sjis {
        let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&a.text);
        if had_errors {
            return Err(IssueError::NotShiftJis);
        }
        bytes.into_owned()
    } else {
        a.text.as_bytes().to_vec()
    };
    let text = zero_padded("address text", &text, value_len::ADDRESS)?;
    Ok(tlv(&[(0xD2, date), (0xD3, code), (0xD4, text)]))
}

/// Signs SHA-256(`D0` value ‖ `D1` value) with a card-signer key (PKCS#8 DER)
/// (SPEC15 §3.4.3, Fig. 3-4).
fn sign_check_code(key: &[u8], front: &[u8], face: &[u8], format: CheckCodeFormat) -> Result<Vec<u8>, IssueError> {
    let key = PrivateKey::from_pkcs8_der(key).map_err(|e| IssueError::Signing(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(front);
    h.update(face);
    let digest = h.finalize();
    let scheme = match format {
        CheckCodeFormat::BareHash => Pkcs1v15Sign::new_unprefixed(),
        CheckCodeFormat::DigestInfo => Pkcs1v15Sign::new::<Sha256>(),
    };
    let sig = key.sign(scheme, &digest).map_err(|e| IssueError::Signing(e.to_string()))?;
    if sig.len() != value_len::CHECK_CODE {
        return Err(IssueError::Signing(format!("signature is {} bytes", sig.len())));
    }
    Ok(sig)
}
