//! Second-generation cards (types `05`/`06`, AES): GEN2 Appendix 2 and the layout,
//! access rules and check code of the second-generation notes §1-§5.

mod common;

use common::*;

use p384::ecdsa::signature::hazmat::PrehashVerifier;
use p384::ecdsa::{Signature, VerifyingKey};
use p384::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use zairyu::CardNumber;
use zairyu::auth::{FixedRandom, TerminalRandom, finish_mutual_authentication, terminal_cryptogram};
use zairyu::crypto::{Aes128Suite, Key16, TdesSuite, derive_base_key};
use zairyu::files::CardType;
use zairyu::layout::{self, Df};
use zairyu::sm::SecureMessaging;
use zairyu::tlv;
use zairyu::transport::Transport;
use zairyu::vectors::{appendix2, gen2_synthetic, hex};
use zairyu_sim::*;

type Sm = SecureMessaging<Aes128Suite>;

const NOT_FOUND: [u8; 2] = [0x6A, 0x82];
const DENIED: [u8; 2] = [0x69, 0x82];
const GEN2_TYPES: [CardType; 2] = [CardType::Gen2ResidenceCard, CardType::Gen2SpecialPermanentResident];

fn gen2(card_type: CardType) -> IssueOptions {
    IssueOptions { card_type, ..Default::default() }
}

fn card(opts: IssueOptions) -> SimCard {
    SimCard::new(IssuedCard::issue(&opts))
}

#[test]
fn card_types() {
    assert_eq!(CardType::Gen2ResidenceCard.code(), "05");
    assert_eq!(CardType::Gen2SpecialPermanentResident.code(), "06");
    assert_eq!(CardType::Gen2ResidenceCard.generation(), 2);
    assert_eq!(CardType::Gen2SpecialPermanentResident.generation(), 2);
    assert_eq!(CardType::ResidenceCard.generation(), 1);
    assert_eq!(CardType::SpecialPermanentResident.generation(), 1);
    assert!(CardType::Gen2SpecialPermanentResident.is_special_permanent());
    assert!(!CardType::Gen2SpecialPermanentResident.has_permission_files());
    assert!(CardType::Gen2ResidenceCard.has_permission_files());
    assert_eq!(IssuedCard::test_ca2_der(), GEN2_TEST_CA_DER);
    assert_ne!(IssuedCard::test_ca2_der(), IssuedCard::test_ca_der());
}

#[test]
fn appendix2_trace_byte_for_byte() {
    let number = "AA12345678BB";
    let mut c = card(IssueOptions {
        card_type: CardType::Gen2ResidenceCard,
        card_number: number.into(),
        randomness: SimRandomness::Appendix2,
        ..Default::default()
    });
    let (rnd, s) = sendh(&mut c, "00 84 00 00 08");
    assert_eq!((rnd.clone(), s), (hex(appendix2::RND_ICC), OK));
    assert_eq!(rnd, APPENDIX2_RND_ICC);
    let rnd_icc: [u8; 8] = rnd.try_into().unwrap();
    let mut rng = FixedRandom::new(&hex("11 22 33 44 55 66 77 88 40 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F"));
    let t = TerminalRandom::generate(&mut rng);
    let base = derive_base_key(number.as_bytes());
    let mut ma = hex("00 82 00 00 28");
    ma.extend_from_slice(&terminal_cryptogram::<Aes128Suite>(&base, &rnd_icc, &t)[..]);
    ma.push(0);
    let expected_ma = [hex("00 82 00 00 28"), hex(appendix2::E_IFD), hex(appendix2::M_IFD), vec![0]].concat();
    assert_eq!(ma, expected_ma);
    let raw = c.transmit(&ma).unwrap();
    let expected = hex("28 9A 96 B1 DA 6A E3 DA 87 77 04 19 BF D1 4F 0B DA D1 5F 36 43 2B 5A 94 6C 18 8C 72 \
         21 75 9A 62 FA 94 2E C5 1E 62 FF 5F 90 00");
    assert_eq!(raw, expected);
    assert_eq!(raw, [hex(appendix2::E_ICC), hex(appendix2::M_ICC), vec![0x90, 0x00]].concat());
    let ks = finish_mutual_authentication::<Aes128Suite>(&base, &rnd_icc, &t, &raw[..40]).unwrap();
    assert_eq!(ks, Key16::from_bytes(hex(appendix2::KS_ENC).try_into().unwrap()));
    let sm = Sm::new(ks);
    let v = sm.verify_command(&CardNumber::parse(number).unwrap()).unwrap();
    assert_eq!(&v.encode()[..], &hex(appendix2::VERIFY_COMMAND)[..]);
    assert_eq!(send(&mut c, &v.encode()).1, OK);
    assert!(c.is_authenticated());

    // Appendix 2 reads DF1/EF03 under SM (`86 82 15 91 01` + 5520), then DF3 plain.
    assert_eq!(select_df(&mut c, Df::Df1), OK);
    // The notes' synthetic SM vectors (§3.5) follow from the same KSenc and the
    // default printed entries.
    let read = |c: &mut SimCard, p1| send(c, &Sm::read_binary_command(p1, 0, 0).encode());
    assert_eq!(read(&mut c, 0x81), (hex(gen2_synthetic::SM_EF01_RESPONSE), OK));
    assert_eq!(read(&mut c, 0x83), (hex(gen2_synthetic::SM_EF02_RESPONSE), OK));
    let (ef03, s) = sendh(&mut c, "08 B0 84 00 00 00 04 96 02 00 00 00 00");
    assert_eq!((s, ef03.len()), (OK, 5525));
    assert_eq!(&ef03[..5], &[0x86, 0x82, 0x15, 0x91, 0x01]);
    let plain = sm.unwrap_read(&ef03).unwrap();
    assert_eq!(plain.len(), 5508);
    assert_eq!(&plain[..4], &[0xD0, 0x82, 0x09, 0xC4]);
    assert_eq!(&plain[2504..2508], &[0xD1, 0x82, 0x0B, 0xB8]);
    assert_eq!(select_df(&mut c, Df::Df3), OK);
    let (df3, s) = sendh(&mut c, "00 B0 82 00 00 00 00");
    assert_eq!((df3.len(), s), (704, OK));
    assert_eq!(&df3[..2], &[0xDC, 0x60]);
}

/// Length of an SM READ BINARY answer carrying `n` plain bytes under AES:
/// `86 L 01 ‖ cryptogram`, the plaintext padded `80 00…` to a multiple of 16
/// (second-generation notes §2.1).
fn sm_response_len(n: usize) -> usize {
    let value = 1 + (n / 16 + 1) * 16;
    let length_field = match value {
        0..0x80 => 1,
        0x80..0x100 => 2,
        _ => 3,
    };
    1 + length_field + value
}

#[test]
fn full_manual_read_of_both_types() {
    for t in GEN2_TYPES {
        let mut c = card(gen2(t));
        assert_eq!(sendh(&mut c, "00 A4 00 00 02 3F 00").1, OK);
        assert_eq!(plain_read(&mut c, 0x8B), (b"\xC0\x040001".to_vec(), OK));
        let ef02 = [b"\xC1\x02".as_slice(), t.code().as_bytes()].concat();
        assert_eq!(plain_read(&mut c, 0x8A), (ef02.clone(), OK));
        // Header-first read (notes §1.2): a short Le is honoured exactly.
        assert_eq!(sendh(&mut c, "00 B0 8A 00 02").0, &ef02[..2]);
        assert_eq!(sendh(&mut c, "00 B0 8A 00 03").0, &ef02[..3]);
        let sm = open::<Aes128Suite>(&mut c);

        // Every EF below the MF, where and as large as the layout says.
        assert_eq!((sm_response_len(5508), sm_response_len(14)), (5525, 19), "Appendix 2: 86 82 15 91 01");
        for ef in layout::files(t).iter().filter(|ef| ef.df != Df::Mf) {
            let (df, p1) = (ef.df, ef.p1());
            assert_eq!(select_df(&mut c, df), OK);
            let (data, s) = sm_read(&mut c, &sm, p1);
            let raw_len = c.trace().last().unwrap().response_len;
            assert_eq!(s, OK, "{t:?} {}", ef.name);
            assert_eq!(data.len(), ef.capacity, "{t:?} {}", ef.name);
            assert_eq!(raw_len, sm_response_len(ef.capacity), "{t:?} {} SM response", ef.name);
            if df == Df::Df1 {
                assert_eq!(plain_read(&mut c, p1).1, DENIED, "DF1 needs SM");
            } else {
                assert_eq!(plain_read(&mut c, p1), (data.clone(), OK));
            }
            assert_eq!(c.issued().file(df, ef.sfi).unwrap(), &data[..]);
        }
        assert_eq!(c.issued().files().count(), layout::files(t).len(), "{t:?}: no other EF");

        // Contents.
        assert_eq!(select_df(&mut c, Df::Df1), OK);
        let (ef01, _) = sm_read(&mut c, &sm, 0x81);
        assert_eq!(ef01, b"\xC2\x0CAB12345678CD");
        let (printed, _) = sm_read(&mut c, &sm, 0x83);
        let objs = tlv::parse_all("DF1/EF02", &printed).unwrap();
        let tags: Vec<u16> = objs.iter().map(|o| o.tag).collect();
        let mut want = vec![0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCE];
        if !t.is_special_permanent() {
            want.extend([0xCA, 0xCB, 0xCC, 0xCD]);
            assert_eq!(printed, hex(gen2_synthetic::SM_EF02_PLAIN), "notes §3.5 example");
        } else {
            assert_eq!(printed[..], hex(gen2_synthetic::SM_EF02_PLAIN)[..46]);
        }
        assert_eq!(tags, want);
        let (images, _) = sm_read(&mut c, &sm, 0x84);
        assert_eq!(&images[4..4 + NAME_TIF.len()], NAME_TIF);
        assert!(images[4 + NAME_TIF.len()..2504].iter().all(|&b| b == 0));
        assert_eq!(&images[2508..2508 + FACE_JP2.len()], FACE_JP2);
        let (addr, _) = sm_read(&mut c, &sm, 0x86);
        assert_eq!(&addr[..5], &[0xDF, 0xD1, 0x82, 0x09, 0xC4]);
        assert_eq!(&addr[5..5 + ADDRESS_TIF.len()], ADDRESS_TIF);
        let objs = tlv::parse_all("DF1/EF04", &addr).unwrap();
        assert_eq!((objs.len(), objs[0].tag), (1, 0xDFD1));

        assert_eq!(select_df(&mut c, Df::Df2), OK);
        if t.is_special_permanent() {
            for p1 in [0x81, 0x82, 0x84] {
                assert_eq!(plain_read(&mut c, p1).1, NOT_FOUND, "{p1:02X}");
            }
        } else {
            let (ef01, _) = plain_read(&mut c, 0x81);
            assert_eq!(ef01, hex("D5 07 31 00 00 00 00 00 00 D6 08 00 00 00 00 00 00 00 00 D7 01 30"));
            assert_eq!(plain_read(&mut c, 0x82).0, b"\xD8\x010");
        }
        let (note, _) = plain_read(&mut c, 0x83);
        assert_eq!(&note[..7], &hex("D9 01 30 DE 82 00 C8")[..]);
        assert!(note[7..].iter().all(|&b| b == 0));

        assert_eq!(select_df(&mut c, Df::Df3), OK);
        let (df3, _) = plain_read(&mut c, 0x82);
        assert_eq!(&df3[..2], &[0xDC, 0x60]);
        assert_eq!(&df3[98..102], &[0xDD, 0x82, 0x02, 0x38]);
        assert_eq!(&df3[102..102 + 568], GEN2_CARD_SIGNER_DER);
        assert!(df3[670..].iter().all(|&b| b == 0));
        assert_eq!(plain_read(&mut c, 0x81).1, NOT_FOUND);
    }
}

#[test]
fn access_rules_before_and_after_authentication() {
    let mut c = card(gen2(CardType::Gen2ResidenceCard));
    for (df, p1) in [(Df::Df1, 0x81), (Df::Df2, 0x81), (Df::Df3, 0x82)] {
        assert_eq!(select_df(&mut c, df), OK);
        assert_eq!(plain_read(&mut c, p1).1, DENIED);
    }
    // Session, no VERIFY: refused under SM too.
    let (s, sm) = mutual_auth::<Aes128Suite>(&mut c, "AB12345678CD", 4);
    assert_eq!(s, OK);
    let sm = sm.unwrap();
    assert_eq!(select_df(&mut c, Df::Df1), OK);
    assert_eq!(sm_read(&mut c, &sm, 0x84).1, DENIED);
    // Wrong number at VERIFY: 63 00.
    assert_eq!(verify(&mut c, &sm, "AB12345678CE"), [0x63, 0x00]);
    assert_eq!(verify(&mut c, &sm, "AB12345678CD"), OK);
    assert_eq!(sm_read(&mut c, &sm, 0x84).1, OK);
    // The gen1 DF1 P1 85 does not exist in gen2.
    assert_eq!(sm_read(&mut c, &sm, 0x85).1, NOT_FOUND);
    // Chunked SM read: each chunk padded and encrypted on its own.
    let (data, s) = send(&mut c, &Sm::read_binary_command(0x84, 0, 0x100).encode());
    assert_eq!(s, OK);
    let first = sm.unwrap_read(&data).unwrap();
    assert_eq!(first.len(), 256);
    assert_eq!(&first[..4], &[0xD0, 0x82, 0x09, 0xC4]);
}

#[test]
fn wrong_generation_mutual_authenticate_gets_63_00() {
    // A gen1 3DES MUTUAL AUTHENTICATE sent to a gen2 card (notes §1.3, §8.2).
    for t in GEN2_TYPES {
        let mut c = card(gen2(t));
        let (s, ks) = mutual_auth::<TdesSuite>(&mut c, "AB12345678CD", 1);
        assert_eq!((s, ks.is_none()), ([0x63, 0x00], true), "{t:?}");
        assert!(!c.has_session());
        // The right suite still works afterwards.
        let (s, ks) = mutual_auth::<Aes128Suite>(&mut c, "AB12345678CD", 1);
        assert_eq!((s, ks.is_some()), (OK, true));
    }
    // And an AES MUTUAL AUTHENTICATE sent to a gen1 card.
    for t in [CardType::ResidenceCard, CardType::SpecialPermanentResident] {
        let mut c = card(gen2(t));
        let (s, ks) = mutual_auth::<Aes128Suite>(&mut c, "AB12345678CD", 1);
        assert_eq!((s, ks.is_none()), ([0x63, 0x00], true), "{t:?}");
        let (s, _) = mutual_auth::<TdesSuite>(&mut c, "AB12345678CD", 1);
        assert_eq!(s, OK);
    }
    // Wrong card number on a gen2 card: also 63 00.
    let mut c = card(gen2(CardType::Gen2ResidenceCard));
    assert_eq!(mutual_auth::<Aes128Suite>(&mut c, "ZZ99999999ZZ", 2).0, [0x63, 0x00]);
}

#[test]
fn sprc_df2_sfi_option() {
    for (sfi, other) in [(None, 0x01u8), (Some(0x01u8), 0x03u8)] {
        let mut opts = gen2(CardType::Gen2SpecialPermanentResident);
        if let Some(s) = sfi {
            opts.sprc_df2_sfi = s;
        }
        opts.gen2_note_flag = true;
        let mut c = card(opts);
        open::<Aes128Suite>(&mut c);
        assert_eq!(select_df(&mut c, Df::Df2), OK);
        let configured = 0x80 | sfi.unwrap_or(0x03);
        let (note, s) = plain_read(&mut c, configured);
        assert_eq!((note.len(), s), (207, OK));
        assert_eq!(&note[..3], b"\xD9\x011");
        assert_eq!(plain_read(&mut c, 0x80 | other).1, NOT_FOUND);
        assert_eq!(plain_read(&mut c, 0x82).1, NOT_FOUND, "SFI 2");
    }
    for bad in [0u8, 0x1F, 0x40] {
        let opts = IssueOptions { sprc_df2_sfi: bad, ..gen2(CardType::Gen2SpecialPermanentResident) };
        assert!(matches!(IssuedCard::try_issue(&opts), Err(IssueError::InvalidOption { .. })));
    }
}

/// What a verifier reads: the signed data rebuilt from the EFs (notes §4.4-§4.5)
/// and the `DC` value.
fn signature_parts(card: &IssuedCard) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let printed = card.file(Df::Df1, 0x03).unwrap();
    let mut target: Vec<u8> =
        tlv::parse_all("DF1/EF02", printed).unwrap().iter().flat_map(|o| o.value.iter().copied()).collect();
    let expected_len = if card.card_type().is_special_permanent() { 34 } else { 53 };
    assert_eq!(target.len(), expected_len);
    target.resize(53, 0);
    let images = tlv::parse_all("DF1/EF03", card.file(Df::Df1, 0x04).unwrap()).unwrap();
    let name = tlv::find(&images, 0xD0).unwrap().value;
    let face = tlv::find(&images, 0xD1).unwrap().value;
    assert_eq!((name.len(), face.len()), (2500, 3000));
    let signed = [&target[..], face, name].concat();
    assert_eq!(signed.len(), 5553);
    let df3 = tlv::parse_all("DF3/EF01", card.file(Df::Df3, 0x02).unwrap()).unwrap();
    let dc = tlv::find(&df3, 0xDC).unwrap().value.to_vec();
    let dd = tlv::find(&df3, 0xDD).unwrap().value.to_vec();
    (signed, dc, dd)
}

fn signer_key(cert_der: &[u8]) -> VerifyingKey {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().unwrap();
    VerifyingKey::from_public_key_der(&spki).unwrap()
}

fn verifies(signed: &[u8], dc: &[u8], dd: &[u8]) -> bool {
    let sig = if dc.len() == 96 { Signature::from_slice(dc).unwrap() } else { Signature::from_der(dc).unwrap() };
    signer_key(dd).verify_prehash(&Sha256::digest(signed), &sig).is_ok()
}

#[test]
fn check_code_verifies_raw_and_der() {
    for t in GEN2_TYPES {
        let raw = IssuedCard::issue(&gen2(t));
        let (signed, dc, dd) = signature_parts(&raw);
        assert_eq!(dc.len(), 96);
        assert_eq!(dd, GEN2_CARD_SIGNER_DER);
        assert_eq!(dd, IssuedCard::gen2_signer_cert_der());
        assert!(verifies(&signed, &dc, &dd), "{t:?} raw");
        // The order matters: name before face does not verify.
        let swapped = [&signed[..53], &signed[3053..], &signed[53..3053]].concat();
        assert!(!verifies(&swapped, &dc, &dd));

        let der = IssuedCard::issue(&IssueOptions { gen2_signature_der: true, ..gen2(t) });
        let (signed_der, dc_der, _) = signature_parts(&der);
        assert_eq!(signed_der, signed);
        assert_eq!(dc_der[0], 0x30);
        assert!((100..=104).contains(&dc_der.len()), "{}", dc_der.len());
        let df3 = der.file(Df::Df3, 0x02).unwrap();
        assert_eq!(df3.len(), 704);
        assert_eq!(usize::from(df3[1]), dc_der.len());
        assert!(verifies(&signed, &dc_der, &dd), "{t:?} DER");
        // RFC 6979: same r ‖ s in both encodings.
        assert_eq!(Signature::from_der(&dc_der).unwrap().to_bytes().to_vec(), dc);
    }
}

#[test]
fn tampering_breaks_the_check_code() {
    for t in GEN2_TYPES {
        let good = IssuedCard::issue(&gen2(t));
        let printed = IssuedCard::issue(&IssueOptions { tamper_printed_entries: true, ..gen2(t) });
        let face = IssuedCard::issue(&IssueOptions { tamper_front_image: true, ..gen2(t) });
        for bad in [&printed, &face] {
            let (signed, dc, dd) = signature_parts(bad);
            assert!(!verifies(&signed, &dc, &dd), "{t:?}");
            assert_eq!(bad.file(Df::Df3, 2), good.file(Df::Df3, 2), "signed before");
        }
        // Exactly one value byte differs, and the file still parses.
        let diff: Vec<usize> = (0..good.file(Df::Df1, 3).unwrap().len())
            .filter(|&i| good.file(Df::Df1, 3).unwrap()[i] != printed.file(Df::Df1, 3).unwrap()[i])
            .collect();
        assert_eq!(diff, vec![19], "last C6 digit");
        assert_eq!(&printed.file(Df::Df1, 3).unwrap()[12..20], b"20000103");
        let diff = (0..5508)
            .filter(|&i| good.file(Df::Df1, 4).unwrap()[i] != face.file(Df::Df1, 4).unwrap()[i])
            .collect::<Vec<_>>();
        assert_eq!(diff, vec![5507], "inside the D1 value");
    }
}

#[test]
fn under_16_gen2_layout() {
    for t in GEN2_TYPES {
        let c = IssuedCard::issue(&IssueOptions { under_16: true, ..gen2(t) });
        assert_eq!(c.file(Df::Df3, 2).unwrap(), &[0u8; 704][..]);
        let ef03 = c.file(Df::Df1, 4).unwrap();
        assert_eq!(ef03.len(), 5508);
        assert_eq!(&ef03[2504..2508], &[0xD1, 0x82, 0x0B, 0xB8]);
        assert!(ef03[2508..].iter().all(|&b| b == 0), "no face");
        assert_eq!(&ef03[4..4 + NAME_TIF.len()], NAME_TIF);
    }
}

#[test]
fn gen2_optional_fields() {
    let c = IssuedCard::issue(&IssueOptions {
        printed: PrintedEntries {
            period_of_stay: "090".into(),
            sex: '3',
            nationality: "XXX".into(),
            work_restriction: '9',
            status_code: "T41001".into(),
            ..Default::default()
        },
        gen2_comprehensive: '2',
        gen2_comprehensive_deadline: Some("20280331".into()),
        gen2_individual: true,
        renewal_pending: true,
        gen2_note_flag: true,
        gen2_note_text: Some("記録あり".into()),
        ..gen2(CardType::Gen2ResidenceCard)
    });
    let printed = c.file(Df::Df1, 3).unwrap();
    assert_eq!(printed.len(), 73);
    let objs = tlv::parse_all("DF1/EF02", printed).unwrap();
    assert_eq!(tlv::find(&objs, 0xCE).unwrap().value, b"090\0");
    assert_eq!(tlv::find(&objs, 0xC7).unwrap().value, b"3");
    assert_eq!(tlv::find(&objs, 0xC9).unwrap().value, b"T41001\0\0\0\0");
    assert_eq!(tlv::find(&objs, 0xCC).unwrap().value, b"9");
    assert_eq!(
        c.file(Df::Df2, 1).unwrap(),
        &hex("D5 07 32 00 00 00 00 00 00 D6 08 32 30 32 38 30 33 33 31 D7 01 31")[..]
    );
    assert_eq!(c.file(Df::Df2, 2).unwrap(), b"\xD8\x011");
    let note = c.file(Df::Df2, 3).unwrap();
    assert_eq!(note.len(), 207);
    let text = "記録あり".as_bytes();
    assert_eq!(&note[..7], &hex("D9 01 31 DE 82 00 C8")[..]);
    assert_eq!(&note[7..7 + text.len()], text);
    // The core parser accepts the non-minimal length.
    let objs = tlv::parse_all("DF2/EF03", note).unwrap();
    assert_eq!(tlv::find(&objs, 0xDE).unwrap().value.len(), 200);
    assert_eq!(tlv::trim_zero_fill(tlv::find(&objs, 0xDE).unwrap().value), text);

    // Errors.
    let bad = |o: IssueOptions| IssuedCard::try_issue(&o).unwrap_err();
    let base = gen2(CardType::Gen2ResidenceCard);
    assert!(matches!(
        bad(IssueOptions { gen2_note_text: Some("あ".repeat(67)), ..base.clone() }),
        IssueError::TooLong { got: 201, max: 200, .. }
    ));
    assert!(matches!(
        bad(IssueOptions {
            printed: PrintedEntries { expiry: "2031041".into(), ..Default::default() },
            ..base.clone()
        }),
        IssueError::BadFixedField { len: 8, .. }
    ));
    assert!(matches!(
        bad(IssueOptions { printed: PrintedEntries { sex: '男', ..Default::default() }, ..base.clone() }),
        IssueError::BadFixedField { len: 1, .. }
    ));
    assert!(matches!(
        bad(IssueOptions { card_number: "AA1234".into(), ..base }),
        IssueError::BadFixedField { len: 12, .. }
    ));
}

#[test]
fn gen2_faults() {
    let mut c = card(gen2(CardType::Gen2ResidenceCard)).with_fault(Fault::CorruptMacIcc);
    let (s, ks) = mutual_auth::<Aes128Suite>(&mut c, "AB12345678CD", 1);
    assert_eq!((s, ks.is_none()), (OK, true), "terminal rejects M_ICC");

    let mut c = card(gen2(CardType::Gen2ResidenceCard)).with_fault(Fault::BadSmPadding);
    let sm = open::<Aes128Suite>(&mut c);
    select_df(&mut c, Df::Df1);
    let (data, s) = send(&mut c, &Sm::read_binary_command(0x83, 0, 0).encode());
    assert_eq!(s, OK);
    assert!(sm.unwrap_read(&data).is_err());

    let mut c = card(gen2(CardType::Gen2SpecialPermanentResident));
    open::<Aes128Suite>(&mut c);
    c.power_cycle();
    assert!(!c.has_session() && !c.is_authenticated());
    assert_eq!(c.current_df(), Df::Mf);
}

#[test]
fn random_apdus_never_panic_on_gen2_cards() {
    let mut rng = Drbg::new(2026);
    for opts in [
        gen2(CardType::Gen2ResidenceCard),
        IssueOptions { sprc_df2_sfi: 1, gen2_signature_der: true, ..gen2(CardType::Gen2SpecialPermanentResident) },
    ] {
        let mut c = card(opts);
        let sm = open::<Aes128Suite>(&mut c);
        for i in 0..3000 {
            let apdu = random_apdu(&mut rng, true);
            if i % 97 == 0 {
                let _ = verify(&mut c, &sm, "AB12345678CD");
                let df = [Df::Df1, Df::Df2, Df::Df3][rng.below(3)];
                let _ = select_df(&mut c, df);
            }
            assert_spec_status(&c.transmit(&apdu).expect("no transport errors without faults"));
        }
    }
}
