//! Behaviour of the simulated chip against SPEC15 §4.2 and Annex 2.

mod common;

use common::*;

use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, PublicKey};
use sha2::{Digest, Sha256};
use zairyu::CardNumber;
use zairyu::auth::{FixedRandom, TerminalRandom, finish_mutual_authentication, terminal_cryptogram};
use zairyu::crypto::{Key16, TdesSuite, derive_base_key};
use zairyu::files::CardType;
use zairyu::layout::{self, Df};
use zairyu::sm::SecureMessaging;
use zairyu::transport::Transport;
use zairyu::vectors::{annex2, hex};
use zairyu_sim::*;

type Sm = SecureMessaging<TdesSuite>;

#[test]
fn annex2_trace_byte_for_byte() {
    let opts = IssueOptions {
        card_number: annex2::CARD_NUMBER.into(),
        randomness: SimRandomness::Annex2,
        ..Default::default()
    };
    let mut c = card(opts);
    let (rnd, s) = sendh(&mut c, "00 84 00 00 08");
    assert_eq!((rnd.clone(), s), (hex(annex2::RND_ICC), OK));
    let rnd_icc: [u8; 8] = rnd.try_into().unwrap();
    let mut rng = FixedRandom::new(&[hex(annex2::RND_IFD), hex(annex2::K_IFD)].concat());
    let t = TerminalRandom::generate(&mut rng);
    let base = derive_base_key(annex2::CARD_NUMBER.as_bytes());
    let mut ma = hex("00 82 00 00 28");
    ma.extend_from_slice(&terminal_cryptogram::<TdesSuite>(&base, &rnd_icc, &t)[..]);
    ma.push(0);
    assert_eq!(ma, hex(annex2::MUTUAL_AUTH_COMMAND));
    let raw = c.transmit(&ma).unwrap();
    let expected = [hex(annex2::E_ICC), hex(annex2::M_ICC), vec![0x90, 0x00]].concat();
    assert_eq!(raw, expected);
    let ks = finish_mutual_authentication::<TdesSuite>(&base, &rnd_icc, &t, &raw[..40]).unwrap();
    assert_eq!(ks, Key16::from_bytes(hex(annex2::KS_ENC).try_into().unwrap()));
    let sm = Sm::new(ks);
    let v = sm.verify_command(&CardNumber::parse(annex2::CARD_NUMBER).unwrap()).unwrap();
    assert_eq!(&v.encode()[..], &hex(annex2::VERIFY_COMMAND)[..]);
    assert_eq!(send(&mut c, &v.encode()).1, OK);
    assert!(c.is_authenticated());
    // Annex 2 then selects DF1 and DF3 under the same session.
    assert_eq!(select_df(&mut c, Df::Df1), OK);
    assert_eq!(sm_read(&mut c, &sm, 0x85).1, OK);
    assert_eq!(select_df(&mut c, Df::Df3), OK);
    assert_eq!(plain_read(&mut c, 0x82).1, OK);
}

#[test]
fn full_manual_read_sequence() {
    let mut c = card(IssueOptions::default());
    assert_eq!(sendh(&mut c, "00 A4 00 00 02 3F 00").1, OK);
    assert_eq!(plain_read(&mut c, 0x8B), (b"\xC0\x040001".to_vec(), OK));
    // short Le works for the MF files too
    assert_eq!(sendh(&mut c, "00 B0 8A 00 03"), (b"\xC1\x011".to_vec(), OK));
    let sm = open::<TdesSuite>(&mut c);

    assert_eq!(select_df(&mut c, Df::Df1), OK);
    let (front, s) = sm_read(&mut c, &sm, 0x85);
    assert_eq!(s, OK);
    assert_eq!(front.len(), 7004);
    assert_eq!(&front[..4], &[0xD0, 0x82, 0x1B, 0x58]);
    assert_eq!(&front[4..4 + FRONT_TIF.len()], FRONT_TIF);
    let raw_len = c.trace().last().unwrap().response_len;
    assert_eq!(raw_len, 7013, "86 82 1B 61 01 + 7008");
    let (face, s) = sm_read(&mut c, &sm, 0x86);
    assert_eq!(s, OK);
    assert_eq!(&face[..4], &[0xD1, 0x82, 0x0B, 0xB8]);
    assert_eq!(&face[4..4 + FACE_JP2.len()], FACE_JP2);
    assert_eq!(face.len(), 3004);

    assert_eq!(select_df(&mut c, Df::Df2), OK);
    let (addr, s) = plain_read(&mut c, 0x81);
    assert_eq!(s, OK);
    assert_eq!(addr.len(), 342);
    assert_eq!(&addr[..10], b"\xD2\x0820240401");
    assert_eq!(&addr[10..18], b"\xD3\x06131016");
    assert_eq!(&addr[18..22], &[0xD4, 0x82, 0x01, 0x40]);
    let text = "東京都千代田区霞が関１丁目１番１号".as_bytes();
    assert_eq!(&addr[22..22 + text.len()], text);
    assert!(addr[22 + text.len()..].iter().all(|&b| b == 0));
    let (d5, s) = plain_read(&mut c, 0x82);
    assert_eq!((&d5[..2], d5.len(), s), (&[0xD5, 0x78][..], 122, OK));
    let (d6, s) = plain_read(&mut c, 0x83);
    assert_eq!((&d6[..2], d6.len(), s), (&[0xD6, 0x78][..], 122, OK));
    assert_eq!(plain_read(&mut c, 0x84), (b"\xD7\x010".to_vec(), OK));
    // SM reads of DF2 are permitted too (SPEC15 §4.2.5).
    assert_eq!(sm_read(&mut c, &sm, 0x81).0, addr);

    assert_eq!(select_df(&mut c, Df::Df3), OK);
    let (df3, s) = plain_read(&mut c, 0x82);
    assert_eq!(s, OK);
    assert_eq!(df3.len(), 1464);
    assert_eq!(&df3[..4], &[0xDA, 0x82, 0x01, 0x00]);
    assert_eq!(&df3[260..264], &[0xDB, 0x82, 0x04, 0xB0]);
    assert_eq!(&df3[264..264 + GEN1_CARD_SIGNER_DER.len()], GEN1_CARD_SIGNER_DER);
    // Chunked plain read: SFI then current-EF offset (P1 b8 = 0).
    let (a, s) = sendh(&mut c, "00 B0 82 00 00 01 00");
    assert_eq!((a.len(), s), (256, OK));
    let (b, s) = sendh(&mut c, "00 B0 01 00 00 00 00");
    assert_eq!(s, OK);
    assert_eq!([a, b].concat(), df3);
    assert_eq!(sendh(&mut c, "00 B0 05 B8 00 00 00").1, [0x6B, 0x00], "offset 1464 = end");
}

#[test]
fn wrong_card_number_fails_at_mutual_authenticate() {
    let mut c = card(IssueOptions::default());
    let (s, sm) = mutual_auth::<TdesSuite>(&mut c, "ZZ99999999ZZ", 5);
    assert_eq!(s, [0x63, 0x00]);
    assert!(sm.is_none());
    assert!(!c.has_session());
    // VERIFY without a session
    assert_eq!(
        sendh(&mut c, "08 20 00 86 13 86 11 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00").1,
        [0x69, 0x85]
    );
}

#[test]
fn wrong_number_at_verify_drops_authentication() {
    let mut c = card(IssueOptions::default());
    let sm = open::<TdesSuite>(&mut c);
    assert_eq!(select_df(&mut c, Df::Df2), OK);
    assert_eq!(plain_read(&mut c, 0x81).1, OK);
    // Same session, different number: 63 00, and the earlier success is overwritten.
    assert_eq!(verify(&mut c, &sm, "AB12345678CE"), [0x63, 0x00]);
    assert!(!c.is_authenticated());
    assert_eq!(plain_read(&mut c, 0x81).1, [0x69, 0x82]);
    // Retries are unlimited.
    for _ in 0..20 {
        assert_eq!(verify(&mut c, &sm, "AB12345678CE"), [0x63, 0x00]);
    }
    assert_eq!(verify(&mut c, &sm, "AB12345678CD"), OK);
    assert_eq!(plain_read(&mut c, 0x81).1, OK);
    // A malformed SM object is 69 88.
    assert_eq!(sendh(&mut c, "08 20 00 86 05 86 03 02 00 00").1, [0x69, 0x88]);
    assert_eq!(plain_read(&mut c, 0x81).1, [0x69, 0x82]);
}

#[test]
fn sprc_has_no_permission_files() {
    let mut c = card(IssueOptions { card_type: CardType::SpecialPermanentResident, ..Default::default() });
    assert_eq!(plain_read(&mut c, 0x8A), (b"\xC1\x012".to_vec(), OK));
    open::<TdesSuite>(&mut c);
    assert_eq!(select_df(&mut c, Df::Df2), OK);
    assert_eq!(plain_read(&mut c, 0x81).1, OK);
    for p1 in [0x82, 0x83, 0x84] {
        assert_eq!(plain_read(&mut c, p1).1, [0x6A, 0x82], "{p1:02X}");
    }
}

#[test]
fn reads_before_authentication_are_refused() {
    let mut c = card(IssueOptions::default());
    for (df, p1) in [(Df::Df2, 0x81), (Df::Df3, 0x82), (Df::Df1, 0x85)] {
        assert_eq!(select_df(&mut c, df), OK);
        assert_eq!(plain_read(&mut c, p1).1, [0x69, 0x82]);
    }
    // Session but no VERIFY yet: still refused, also under SM.
    let (s, sm) = mutual_auth::<TdesSuite>(&mut c, "AB12345678CD", 1);
    assert_eq!(s, OK);
    let sm = sm.unwrap();
    assert_eq!(sm_read(&mut c, &sm, 0x85).1, [0x69, 0x82]);
    assert_eq!(verify(&mut c, &sm, "AB12345678CD"), OK);
    // DF1 needs SM: plain read after authentication is still 69 82.
    assert_eq!(plain_read(&mut c, 0x85).1, [0x69, 0x82]);
    assert_eq!(sm_read(&mut c, &sm, 0x85).1, OK);
    // Bad Le object under SM.
    assert_eq!(sendh(&mut c, "08 B0 85 00 00 00 04 97 02 00 00 00 00").1, [0x69, 0x88]);
    // Unknown SFI, bad P1, no current EF after SELECT.
    assert_eq!(plain_read(&mut c, 0x87).1, [0x6A, 0x82]);
    assert_eq!(plain_read(&mut c, 0xC5).1, [0x6A, 0x86]);
    assert_eq!(select_df(&mut c, Df::Df1), OK);
    assert_eq!(sendh(&mut c, "08 B0 00 10 00 00 04 96 02 00 00 00 00").1, [0x69, 0x86]);
    assert_eq!(sendh(&mut c, "00 A4 04 0C 10 D3 92 F0 00 4F 05 00 00 00 00 00 00 00 00 00 00").1, [0x6A, 0x82]);
    assert_eq!(sendh(&mut c, "00 A4 01 00 02 3F 00").1, [0x6A, 0x86]);
    assert_eq!(sendh(&mut c, "00 CA 00 00 00").1, [0x6D, 0x00]);
    assert_eq!(sendh(&mut c, "80 A4 00 00 02 3F 00").1, [0x6E, 0x00]);
    assert_eq!(sendh(&mut c, "00 A4 00").1, [0x67, 0x00]);
}

#[test]
fn mutual_authenticate_needs_an_immediate_challenge() {
    let mut c = card(IssueOptions::default());
    let ma = [hex("00 82 00 00 28"), vec![0u8; 40], vec![0]].concat();
    assert_eq!(send(&mut c, &ma).1, [0x69, 0x85]);
    // Challenge, then another command, then MA: 69 85.
    assert_eq!(sendh(&mut c, "00 84 00 00 08").1, OK);
    assert_eq!(sendh(&mut c, "00 A4 00 00 02 3F 00").1, OK);
    assert_eq!(send(&mut c, &ma).1, [0x69, 0x85]);
    // Challenge, MA (fails: wrong MAC), second MA: 69 85.
    assert_eq!(sendh(&mut c, "00 84 00 00 08").1, OK);
    assert_eq!(send(&mut c, &ma).1, [0x63, 0x00]);
    assert_eq!(send(&mut c, &ma).1, [0x69, 0x85]);
    // A successful MA consumes the challenge as well.
    let (rnd, _) = sendh(&mut c, "00 84 00 00 08");
    let base = derive_base_key(b"AB12345678CD");
    let t = TerminalRandom::generate(&mut Drbg::new(3));
    let good = [
        hex("00 82 00 00 28"),
        terminal_cryptogram::<TdesSuite>(&base, &rnd.try_into().unwrap(), &t).to_vec(),
        vec![0],
    ]
    .concat();
    assert_eq!(send(&mut c, &good).1, OK);
    assert_eq!(send(&mut c, &good).1, [0x69, 0x85]);
    assert!(!c.has_session(), "failed MA clears the session");
}

#[test]
fn power_cycle_and_faults() {
    let mut c = card(IssueOptions::default());
    open::<TdesSuite>(&mut c);
    assert_eq!(select_df(&mut c, Df::Df2), OK);
    c.power_cycle();
    assert_eq!(c.current_df(), Df::Mf);
    assert!(!c.has_session() && !c.is_authenticated());

    let mut c = card(IssueOptions::default()).with_fault(Fault::CorruptMacIcc);
    let (s, sm) = mutual_auth::<TdesSuite>(&mut c, "AB12345678CD", 1);
    assert_eq!((s, sm.is_none()), (OK, true), "terminal rejects M_ICC");

    let mut c = card(IssueOptions::default()).with_fault(Fault::BadSmPadding);
    let sm = open::<TdesSuite>(&mut c);
    select_df(&mut c, Df::Df1);
    let (data, s) = send(&mut c, &Sm::read_binary_command(0x86, 0, 0).encode());
    assert_eq!(s, OK);
    assert!(sm.unwrap_read(&data).is_err());

    let mut c = card(IssueOptions::default())
        .with_fault(Fault::StatusWord { ins: 0xA4, p1: Some(0x04), sw: [0x62, 0x83] })
        .with_fault(Fault::TruncateResponse { ins: 0xB0, p1: Some(0x8B), keep: 3 })
        .with_fault(Fault::AppendGarbage { ins: 0xB0, p1: Some(0x8A), bytes: 2 })
        .with_fault(Fault::CorruptResponseByte { ins: 0x84, p1: None, index: 8 })
        .with_fault(Fault::ResetAfter(5))
        .with_fault(Fault::RemoveCardAfter(7));
    assert_eq!(select_df(&mut c, Df::Df1), [0x62, 0x83]);
    assert_eq!(c.transmit(&hex("00 B0 8B 00 00 00 00")).unwrap(), hex("C0 04 30"));
    assert_eq!(plain_read(&mut c, 0x8A), (hex("C1 01 31 A5 A5"), OK));
    assert_eq!(sendh(&mut c, "00 84 00 00 08").1, [0x6F, 0x00]);
    assert_eq!(sendh(&mut c, "00 A4 00 00 02 3F 00").1, OK);
    assert_eq!(c.transmit(&hex("00 A4 00 00 02 3F 00")), Err(zairyu::error::TransportError::CardReset));
    assert_eq!(sendh(&mut c, "00 A4 00 00 02 3F 00").1, OK);
    for _ in 0..3 {
        assert_eq!(c.transmit(&hex("00 A4 00 00 02 3F 00")), Err(zairyu::error::TransportError::CardRemoved));
    }
    assert_eq!(c.trace().len(), 10);
    assert_eq!(c.trace()[1].header, [0x00, 0xB0, 0x8B, 0x00]);
    // The trace reports the wire: the last two bytes of a truncated response.
    assert_eq!((c.trace()[1].response_len, c.trace()[1].sw), (1, Some([0x04, 0x30])));
    assert_eq!(
        (c.trace()[5].sw, c.trace()[6].sw, c.trace()[7].sw),
        (None, Some([0x90, 0x00]), None),
        "reset, ok, removed"
    );
    assert_eq!(c.trace()[2].response_len, 5);

    let mut c = card(IssueOptions::default()).with_fault(Fault::ShortApdusOnly);
    assert!(!c.limits().extended_length);
    assert_eq!(plain_read(&mut c, 0x8B).1, [0x67, 0x00]);
    assert_eq!(sendh(&mut c, "00 B0 8B 00 06").1, OK);
}

#[test]
fn random_apdus_never_panic() {
    let mut rng = Drbg::new(2024);
    let mut c = card(IssueOptions::default());
    // Start some runs authenticated so that the deeper paths are reached.
    let sm = open::<TdesSuite>(&mut c);
    for i in 0..4000 {
        let apdu = random_apdu(&mut rng, false);
        if i % 97 == 0 {
            let _ = verify(&mut c, &sm, "AB12345678CD");
        }
        assert_spec_status(&c.transmit(&apdu).expect("no transport errors without faults"));
    }
}

fn signer_public_key() -> PublicKey {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(IssuedCard::signer_cert_der()).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().unwrap();
    PublicKey::from_public_key_der(&spki).unwrap()
}

fn check_code_parts(card: &IssuedCard) -> (Vec<u8>, [u8; 32]) {
    let df3 = card.file(Df::Df3, layout::gen1::DF3_EF01.sfi).unwrap();
    let sig = df3[4..260].to_vec();
    let mut h = Sha256::new();
    h.update(&card.file(Df::Df1, layout::gen1::DF1_EF01.sfi).unwrap()[4..]);
    h.update(&card.file(Df::Df1, layout::gen1::DF1_EF02.sfi).unwrap()[4..]);
    (sig, h.finalize().into())
}

#[test]
fn check_code_verifies_in_both_formats() {
    let key = signer_public_key();
    let bare = IssuedCard::issue(&IssueOptions::default());
    let (sig, hash) = check_code_parts(&bare);
    key.verify(Pkcs1v15Sign::new_unprefixed(), &hash, &sig).expect("Fig 3-4 block");
    assert!(key.verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &sig).is_err());
    // The raw block is 00 01 FF*221 00 || hash.
    let block = rsa::hazmat::rsa_encrypt(&key, &rsa::BoxedUint::from_be_slice_vartime(&sig))
        .unwrap()
        .to_be_bytes_trimmed_vartime();
    let mut expected = vec![0x01];
    expected.extend(std::iter::repeat_n(0xFF, 221));
    expected.push(0x00);
    expected.extend_from_slice(&hash);
    assert_eq!(&block[..], &expected[..]);

    let di = IssuedCard::issue(&IssueOptions { check_code_format: CheckCodeFormat::DigestInfo, ..Default::default() });
    let (sig, hash) = check_code_parts(&di);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &sig).expect("DigestInfo");

    let tampered = IssuedCard::issue(&IssueOptions { tamper_front_image: true, ..Default::default() });
    let (sig, hash) = check_code_parts(&tampered);
    assert!(key.verify(Pkcs1v15Sign::new_unprefixed(), &hash, &sig).is_err());
    assert_eq!(tampered.file(Df::Df3, 2), bare.file(Df::Df3, 2), "signed before tampering");
}

#[test]
fn under_16_layout() {
    for (variant, head) in [
        (Under16Df3::DaDbZero, &[0xDA, 0x00, 0xDB, 0x00][..]),
        (Under16Df3::DaOnly, &[0xDA, 0x00, 0x00, 0x00][..]),
        (Under16Df3::AllZero, &[0, 0, 0, 0][..]),
    ] {
        let card =
            IssuedCard::issue(&IssueOptions { under_16: true, under_16_df3_variant: variant, ..Default::default() });
        let df3 = card.file(Df::Df3, 2).unwrap();
        assert_eq!(df3.len(), 1464);
        assert_eq!(&df3[..4], head);
        assert!(df3[4..].iter().all(|&b| b == 0));
        let face = card.file(Df::Df1, 6).unwrap();
        assert_eq!(&face[..4], &[0xD1, 0x82, 0x0B, 0xB8]);
        assert_eq!(face.len(), 3004);
        assert!(face[4..].iter().all(|&b| b == 0));
        assert_eq!(&card.file(Df::Df1, 5).unwrap()[4..4 + FRONT_TIF.len()], FRONT_TIF);
    }
}

#[test]
fn optional_fields_and_encodings() {
    let card = IssuedCard::issue(&IssueOptions {
        address: None,
        comprehensive_permission: None,
        renewal_pending: true,
        address_encoding_sjis: false,
        ..Default::default()
    });
    assert_eq!(card.file(Df::Df2, 1).unwrap(), &[0u8; 342][..]);
    assert_eq!(card.file(Df::Df2, 2).unwrap(), &[0u8; 122][..]);
    assert_eq!(card.file(Df::Df2, 4).unwrap(), b"\xD7\x011");
    let sjis = IssuedCard::issue(&IssueOptions { address_encoding_sjis: true, ..Default::default() });
    let d4 = &sjis.file(Df::Df2, 1).unwrap()[22..];
    let text = zairyu::tlv::trim_zero_fill(d4);
    assert!(std::str::from_utf8(text).is_err());
    let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(text);
    assert!(!bad);
    assert_eq!(decoded, "東京都千代田区霞が関１丁目１番１号");
}

#[test]
fn seeded_randomness_is_reproducible() {
    let challenges = |seed| {
        let mut c = card(IssueOptions { randomness: SimRandomness::Seeded(seed), ..Default::default() });
        (0..3).map(|_| sendh(&mut c, "00 84 00 00 08").0).collect::<Vec<_>>()
    };
    assert_eq!(challenges(7), challenges(7));
    assert_ne!(challenges(7), challenges(8));
    let c = challenges(7);
    assert_ne!(c[0], c[1]);
    let mut os = card(IssueOptions { randomness: SimRandomness::Os, ..Default::default() });
    assert_ne!(sendh(&mut os, "00 84 00 00 08").0, sendh(&mut os, "00 84 00 00 08").0);
}

#[test]
fn test_trust_store_holds_both() {
    let store = test_trust_store();
    assert_eq!(store.anchors().len(), 2);
    assert!(store.anchors().iter().all(|a| a.profile() == zairyu::verify::AnchorProfile::Test));
}
