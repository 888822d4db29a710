//! Known-answer tests: every vector of SPEC15 Annex 2 (first generation) and of
//! GEN2 Appendix 2 (second generation), copied into `crate::vectors`.

use super::*;
use crate::auth::{FixedRandom, TerminalRandom, finish_mutual_authentication, terminal_cryptogram};
use crate::card_number::CardNumber;
use crate::sm::SecureMessaging;
use crate::vectors::{annex2 as v1, appendix2 as v2, gen2_synthetic};

fn h(s: &str) -> Vec<u8> {
    crate::vectors::hex(s)
}

/// The per-generation values of an Appendix-2 style trace.
struct Trace {
    rnd_icc: &'static str,
    e_ifd: &'static str,
    m_ifd: &'static str,
    e_icc: &'static str,
    m_icc: &'static str,
    k_icc: &'static str,
    ks_enc: &'static str,
    verify_cmd: &'static str,
}

fn check_suite<S: Suite>(t: Trace) {
    let Trace { rnd_icc, e_ifd, m_ifd, e_icc, m_icc, k_icc, ks_enc, verify_cmd } = t;
    let number = CardNumber::parse(v1::CARD_NUMBER).unwrap();
    let base = derive_base_key(number.expose());
    assert_eq!(base.expose().to_vec(), h(v1::KENC));

    let rnd_icc: [u8; 8] = h(rnd_icc).try_into().unwrap();
    let mut rng = FixedRandom::new(&[h(v1::RND_IFD), h(v1::K_IFD)].concat());
    let t = TerminalRandom::generate(&mut rng);
    let cryptogram = terminal_cryptogram::<S>(&base, &rnd_icc, &t);
    assert_eq!(cryptogram[..32].to_vec(), h(e_ifd), "E_IFD");
    assert_eq!(cryptogram[32..].to_vec(), h(m_ifd), "M_IFD");

    // The card's answer decrypts to RND.ICC ‖ RND.IFD ‖ K.ICC.
    let mut dec = h(e_icc);
    S::cbc_decrypt(&base, &mut dec).unwrap();
    assert_eq!(dec, [rnd_icc.to_vec(), h(v1::RND_IFD), h(k_icc)].concat());
    assert_eq!(S::auth_mac(&base, &h(e_icc)).to_vec(), h(m_icc), "M_ICC");

    let response = [h(e_icc), h(m_icc)].concat();
    let ks = finish_mutual_authentication::<S>(&base, &rnd_icc, &t, &response).unwrap();
    assert_eq!(ks.expose().to_vec(), h(ks_enc), "KSenc");

    let sm = SecureMessaging::<S>::new(ks);
    let verify = sm.verify_command(&number).unwrap();
    assert_eq!(verify.encode().to_vec(), h(verify_cmd), "VERIFY");

    // A flipped MAC byte or a wrong random is rejected.
    let mut bad = response.clone();
    bad[39] ^= 1;
    assert_eq!(
        finish_mutual_authentication::<S>(&base, &rnd_icc, &t, &bad).unwrap_err(),
        crate::error::AuthError::CardMacMismatch
    );
    let other = [0u8; 8];
    assert_eq!(
        finish_mutual_authentication::<S>(&base, &other, &t, &response).unwrap_err(),
        crate::error::AuthError::RandomMismatch
    );
}

#[test]
fn annex2_first_generation() {
    assert_eq!(sha1::Sha1::digest(v1::CARD_NUMBER.as_bytes()).to_vec(), h(v1::SHA1_CARD_NUMBER));
    check_suite::<TdesSuite>(Trace {
        rnd_icc: v1::RND_ICC,
        e_ifd: v1::E_IFD,
        m_ifd: v1::M_IFD,
        e_icc: v1::E_ICC,
        m_icc: v1::M_ICC,
        k_icc: v1::K_ICC,
        ks_enc: v1::KS_ENC,
        verify_cmd: v1::VERIFY_COMMAND,
    });
    let xor: Vec<u8> = h(v1::K_IFD).iter().zip(h(v1::K_ICC)).map(|(a, b)| a ^ b).collect();
    assert_eq!(xor, h(v1::K_XOR));
}

#[test]
fn annex2_mac_needs_padding() {
    // Without the 80… padding the Retail MAC differs (first-generation notes §3.6).
    use retail_mac::{KeyInit, Mac, RetailMac};
    let mut mac = RetailMac::<des::Des>::new_from_slice(&h(v1::KENC)).unwrap();
    mac.update(&h(v1::E_IFD));
    assert_eq!(mac.finalize().into_bytes().to_vec(), h("4C AC 73 20 67 31 BB 73"));
}

#[test]
fn appendix2_second_generation() {
    check_suite::<Aes128Suite>(Trace {
        rnd_icc: v2::RND_ICC,
        e_ifd: v2::E_IFD,
        m_ifd: v2::M_IFD,
        e_icc: v2::E_ICC,
        m_icc: v2::M_ICC,
        k_icc: v2::K_ICC,
        ks_enc: v2::KS_ENC,
        verify_cmd: v2::VERIFY_COMMAND,
    });
}

#[test]
fn appendix2_cmac_has_no_explicit_padding() {
    let base = Key16::from_bytes(h(v1::KENC).try_into().unwrap());
    let padded = pad_iso(&h(v2::E_IFD), 16);
    assert_eq!(Aes128Suite::auth_mac(&base, &padded).to_vec(), h("FE A4 80 86 CC AE 03 5D"));
}

#[test]
fn second_generation_sm_vectors() {
    // Synthetic vectors from the second-generation notes §3.5 (KSenc of Appendix 2).
    let ks = Key16::from_bytes(h(v2::KS_ENC).try_into().unwrap());
    let sm = SecureMessaging::<Aes128Suite>::new(ks);
    let plain = sm.unwrap_read(&h(gen2_synthetic::SM_EF01_RESPONSE)).unwrap();
    assert_eq!(plain.to_vec(), h(gen2_synthetic::SM_EF01_PLAIN));
    assert_eq!(sm.encrypt_object(&h(gen2_synthetic::SM_EF01_PLAIN)).unwrap(), h(gen2_synthetic::SM_EF01_RESPONSE));
    let plain = sm.unwrap_read(&h(gen2_synthetic::SM_EF02_RESPONSE)).unwrap();
    assert_eq!(plain.to_vec(), h(gen2_synthetic::SM_EF02_PLAIN));
}

#[test]
fn strict_unpadding() {
    assert_eq!(unpad_iso(&[1, 2, 0x80, 0, 0, 0, 0, 0], 8), Ok(2));
    assert_eq!(unpad_iso(&[1, 0, 0, 0, 0, 0, 0, 0x80], 8), Ok(7));
    assert_eq!(unpad_iso(&[0, 0, 0, 0, 0, 0, 0, 0], 8), Err(crate::error::SmError::BadPadding));
    assert_eq!(unpad_iso(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0], 8), Err(crate::error::SmError::BadPadding));
    assert_eq!(unpad_iso(&[1, 2, 3, 4, 5, 6, 7, 0x81], 8), Err(crate::error::SmError::BadPadding));
    // Data ending in 00 runs keeps them.
    assert_eq!(unpad_iso(&[0, 0, 0, 0x80, 0, 0, 0, 0], 8), Ok(3));
}

#[test]
fn keys_never_print() {
    let k = derive_base_key(b"AA12345678BB");
    assert_eq!(format!("{k:?}"), "Key16(<redacted>)");
    let sm = SecureMessaging::<TdesSuite>::new(k);
    assert!(!format!("{sm:?}").contains("65"));
}
