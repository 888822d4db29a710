//! End to end at the byte level: the relay, the in-process authority and a small
//! in-test card built only from the card-side halves ([`TerminalAuthCard`],
//! [`ChipAuthentication::respond`], [`CardSide`], [`TaResult::authorises`]). The
//! simulator's write application is a later step; this card shows the halves fit.

use super::authority::tests::{NOW, authority, chip_auth_info_file};
use super::authority::{AuthorityError, Next};
use super::chip_auth_info::card_number_hash;
use super::chip_auth_info::tests::{chip_key, number};
use super::cvc::TrustAnchor;
use super::cvc::tests::{date, pki};
use super::eac::{self, ChipAuthKey, ChipAuthentication, TaResult, TerminalAuthCard, ta};
use super::record::{NewAddress, NewContent, WriteIntent, WriteTarget};
use super::relay::{AuthorityLink, InProcessLink, LinkError, OpenRequest, RelayError, RelayRequest, relay_write};
use super::sm::{CardSide, SmError, TerminalSide};
use super::{CvDate, WRITE_AID, sha256};
use crate::apdu::{Command, Le, ParsedCommand};
use crate::auth::{FixedRandom, RandomSource};
use crate::error::TransportError;
use crate::files::gen1::AddressRecord;
use crate::layout::Df;
use crate::transport::{Limits, Transport};

/// A card with the write application, as small as the protocol allows.
struct TestCard {
    limits: Limits,
    access_granted: bool,
    chip_auth_info: Vec<u8>,
    anchor: TrustAnchor,
    card_date: CvDate,
    chip: ChipAuthKey,
    df2_ef01: Vec<u8>,
    df1_ef04: Vec<u8>,
    rng: FixedRandom,
    ta: Option<TerminalAuthCard>,
    ta_result: Option<TaResult>,
    sm: Option<CardSide>,
    df: Option<Df>,
    current: Option<WriteTarget>,
    chain: Vec<u8>,
    apdus: Vec<(usize, usize)>,
}

fn old_record() -> NewAddress {
    NewAddress {
        date: "20200401".into(),
        municipality_code: "271276".into(),
        address: "大阪府大阪市北区梅田１－１".into(),
    }
}

fn new_record() -> NewAddress {
    NewAddress {
        date: "20260430".into(),
        municipality_code: "131016".into(),
        address: "東京都千代田区霞が関１－１－１".into(),
    }
}

impl TestCard {
    fn new(limits: Limits) -> Self {
        let p = pki();
        let mut cai = chip_auth_info_file();
        cai.resize(1024, 0);
        TestCard {
            limits,
            access_granted: true,
            chip_auth_info: cai,
            anchor: TrustAnchor::from_self_signed(&p.cvca).unwrap(),
            card_date: date(2026, 1, 15),
            chip: chip_key(),
            df2_ef01: NewContent::df2_ef01(&old_record()).unwrap().bytes().to_vec(),
            df1_ef04: vec![0; 2505],
            rng: FixedRandom::new(&[0x3C, 0x91, 0x07, 0xE2, 0x55]),
            ta: None,
            ta_result: None,
            sm: None,
            df: None,
            current: None,
            chain: Vec::new(),
            apdus: Vec::new(),
        }
    }

    fn file(&mut self, t: WriteTarget) -> &mut Vec<u8> {
        match t {
            WriteTarget::Df2Ef01 => &mut self.df2_ef01,
            WriteTarget::Df1Ef04 => &mut self.df1_ef04,
        }
    }

    fn plain(&mut self, c: &ParsedCommand) -> (Vec<u8>, u16) {
        let d = &c.data[..];
        let ta_err = |e: eac::EacError| (Vec::new(), e.status_word());
        match c.header {
            [0x00, 0xA4, 0x04, 0x0C] if d == WRITE_AID => {
                self.ta = Some(TerminalAuthCard::new(self.anchor.clone(), self.card_date, card_number_hash(&number())));
                self.ta_result = None;
                self.sm = None;
                (Vec::new(), 0x9000)
            }
            [0x00, 0xB0, p1, p2] => {
                if !self.access_granted {
                    return (Vec::new(), 0x6982);
                }
                let off = if p1 & 0x80 != 0 { usize::from(p2) } else { usize::from(u16::from_be_bytes([p1, p2])) };
                let n = c.ne.unwrap_or(256).min(self.chip_auth_info.len().saturating_sub(off));
                (self.chip_auth_info[off..off + n].to_vec(), 0x9000)
            }
            [0x00, 0x22, 0x81, 0xB6] => match self.ta.as_mut().map(|t| t.mse_set_dst(d)) {
                Some(Ok(())) => (Vec::new(), 0x9000),
                Some(Err(e)) => ta_err(e),
                None => (Vec::new(), 0x6985),
            },
            [0x00, 0x2A, 0x00, 0xBE] => match self.ta.as_mut().map(|t| t.pso_verify_certificate(d)) {
                Some(Ok(())) => {
                    self.card_date = self.ta.as_ref().unwrap().card_date();
                    (Vec::new(), 0x9000)
                }
                Some(Err(e)) => ta_err(e),
                None => (Vec::new(), 0x6985),
            },
            [0x00, 0x22, 0x81, 0xA4] => match self.ta.as_mut().map(|t| t.mse_set_at(d)) {
                Some(Ok(())) => (Vec::new(), 0x9000),
                Some(Err(e)) => ta_err(e),
                None => (Vec::new(), 0x6985),
            },
            [0x00, 0x84, 0x00, 0x00] => {
                let rng = &mut self.rng;
                match self.ta.as_mut().map(|t| t.get_challenge(rng)) {
                    Some(Ok(r)) => (r.to_vec(), 0x9000),
                    Some(Err(e)) => ta_err(e),
                    None => (Vec::new(), 0x6985),
                }
            }
            [0x00, 0x82, 0x00, 0x00] => match self.ta.as_mut().map(|t| t.external_authenticate(d)) {
                Some(Ok(r)) => {
                    self.ta_result = Some(r);
                    (Vec::new(), 0x9000)
                }
                Some(Err(e)) => ta_err(e),
                None => (Vec::new(), 0x6985),
            },
            [0x00, 0x22, 0x41, 0xA4] => match (&self.ta_result, ChipAuthentication::check_set_at(d)) {
                (Some(_), Ok(())) => (Vec::new(), 0x9000),
                (None, _) => (Vec::new(), 0x6985),
                (_, Err(e)) => ta_err(e),
            },
            [0x00, 0x86, 0x00, 0x00] => {
                let Some(tr) = self.ta_result.clone() else { return (Vec::new(), 0x6985) };
                match ChipAuthentication::respond(&self.chip, &tr.eph_comp, d, &mut self.rng) {
                    Ok((resp, keys)) => {
                        self.sm = Some(CardSide::new(keys));
                        (resp, 0x9000)
                    }
                    Err(e) => ta_err(e),
                }
            }
            _ => (Vec::new(), 0x6D00),
        }
    }

    fn protected(&mut self, cmd: &Command) -> (Vec<u8>, u16) {
        let d = &cmd.data[..];
        let target_of = |sfi: u8| match sfi {
            0x01 => Some(WriteTarget::Df2Ef01),
            0x06 => Some(WriteTarget::Df1Ef04),
            _ => None,
        };
        match (cmd.cla & !0x10, cmd.ins, cmd.p1) {
            (0x00, 0xA4, 0x04) => match Df::from_aid(d) {
                Some(df @ (Df::Df1 | Df::Df2)) => {
                    self.df = Some(df);
                    (Vec::new(), 0x9000)
                }
                _ => (Vec::new(), 0x6A82),
            },
            (0x00, 0xB0, p1) => {
                let t = if p1 & 0x80 != 0 { target_of(p1 & 0x1F) } else { self.current };
                let Some(t) = t.filter(|t| Some(t.df()) == self.df) else { return (Vec::new(), 0x6A82) };
                self.current = Some(t);
                let off =
                    if p1 & 0x80 != 0 { usize::from(cmd.p2) } else { usize::from(u16::from_be_bytes([p1, cmd.p2])) };
                let want = match cmd.le {
                    Some(Le::Short(0)) => 256,
                    Some(Le::Short(n)) => usize::from(n),
                    Some(Le::Extended(n)) => usize::from(n),
                    None => 0,
                };
                let f = self.file(t);
                let n = want.min(f.len().saturating_sub(off));
                (f[off..off + n].to_vec(), 0x9000)
            }
            (0x00, 0xD6, p1) => {
                let Some(t) = target_of(p1 & 0x1F).filter(|t| Some(t.df()) == self.df) else {
                    return (Vec::new(), 0x6A82);
                };
                self.current = Some(t);
                self.chain.extend_from_slice(d);
                if cmd.cla & 0x10 != 0 {
                    return (Vec::new(), 0x9000);
                }
                let content = core::mem::take(&mut self.chain);
                // The write gate of AWP §4.3d: card-number access, TA with the write
                // right and this exact intent, CA (we are under its channel).
                let ok = self.access_granted && self.ta_result.as_ref().is_some_and(|r| r.authorises(t, &content));
                if !ok || content.len() != t.content_len() {
                    return (Vec::new(), 0x6982);
                }
                *self.file(t) = content;
                (Vec::new(), 0x9000)
            }
            _ => (Vec::new(), 0x6D00),
        }
    }
}

impl Transport for TestCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if apdu.len() > self.limits.max_command {
            return Err(TransportError::CommandTooLong { len: apdu.len(), max: self.limits.max_command });
        }
        let c = ParsedCommand::parse(apdu).ok_or(TransportError::Other("bad APDU".into()))?;
        let data = if c.header[0] & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else { return Ok(vec![0x69, 0x82]) };
            match sm.unwrap_command(apdu) {
                Ok(cmd) => {
                    let (d, sw) = self.protected(&cmd);
                    // wrap_response appends the status word.
                    self.sm.as_mut().expect("channel open").wrap_response(&d, sw).expect("in turn")
                }
                Err(_) => {
                    // TR-03110 Part 3 F.2: an SM error ends the channel; the answer is plain.
                    self.sm = None;
                    vec![0x69, 0x88]
                }
            }
        } else {
            let (mut d, sw) = self.plain(&c);
            d.extend_from_slice(&sw.to_be_bytes());
            d
        };
        if data.len() > self.limits.max_response {
            return Err(TransportError::Other("answer too long for the link".into()));
        }
        self.apdus.push((apdu.len(), data.len()));
        Ok(data)
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

fn link() -> InProcessLink<FixedRandom> {
    InProcessLink::new(authority(), FixedRandom::new(&[0xA1, 0x0B, 0x5E])).at_time(NOW)
}

fn relay_request(target: WriteTarget) -> RelayRequest {
    RelayRequest {
        target,
        record: new_record(),
        operator_id: "clerk-007".into(),
        card_number_hash: Some(card_number_hash(&number())),
    }
}

fn fake_tiff(r: &NewAddress) -> Vec<u8> {
    [b"II*\0".as_slice(), r.address.as_bytes(), &[0x42; 1200]].concat()
}

#[test]
fn a_write_takes_four_exchanges_and_proves_itself() {
    for limits in [Limits::FULL, Limits::SHORT] {
        let mut card = TestCard::new(limits);
        let old = card.df2_ef01.clone();
        let out = relay_write(&mut card, &mut link(), relay_request(WriteTarget::Df2Ef01)).unwrap();
        let expected = NewContent::df2_ef01(&new_record()).unwrap();
        // The card holds the new content, which the normal reader reads as the record.
        assert_eq!(card.df2_ef01, expected.bytes());
        assert!(new_record().matches(&AddressRecord::parse(&card.df2_ef01).unwrap()));
        // Four exchanges with the authority.
        assert_eq!((out.round_trips, out.receipt.round_trips), (4, 4));
        let r = &out.receipt;
        assert_eq!(r.target, WriteTarget::Df2Ef01);
        assert_eq!(r.content_sha256, hex::encode(sha256(expected.bytes())));
        assert_eq!(r.old_content_sha256, Some(hex::encode(sha256(&old))));
        assert_eq!(r.card_number_sha256, hex::encode(sha256(b"AB12345678CD")));
        assert_eq!((r.terminal.as_str(), r.time_unix), ("JPAWPTERM00001", NOW));
        // Every APDU fits the link.
        assert!(card.apdus.iter().all(|&(c, r)| c <= limits.max_command && r <= limits.max_response));
        // SELECT + 2 reads of EF.ChipAuthInfo, 4 + 2 TA, 3 CA, then under SM: SELECT,
        // the old content, UPDATE, the new content (in 2 chunks and 2 chained
        // segments on a short link).
        let sm_apdus = if limits.extended_length { 1 + 1 + 1 + 1 } else { 1 + 2 + 2 + 2 };
        assert_eq!(out.apdus, 1 + 2 + 6 + 3 + sm_apdus, "{limits:?}");
        // The card date advanced to the terminal certificate's effective date.
        assert_eq!(card.card_date, date(2026, 4, 1));
    }
}

#[test]
fn second_generation_image_is_written_whole() {
    for limits in [Limits::FULL, Limits::SHORT] {
        let mut card = TestCard::new(limits);
        let mut l = link().with_renderer(Box::new(|r| NewContent::df1_ef04(&fake_tiff(r))));
        let out = relay_write(&mut card, &mut l, relay_request(WriteTarget::Df1Ef04)).unwrap();
        let expected = NewContent::df1_ef04(&fake_tiff(&new_record())).unwrap();
        assert_eq!(card.df1_ef04, expected.bytes());
        assert_eq!(out.round_trips, 4);
        assert_eq!(out.receipt.old_content_sha256, Some(hex::encode(sha256(&[0u8; 2505]))));
    }
    // Without a renderer the write is refused before any TA command.
    let mut card = TestCard::new(Limits::FULL);
    let e = relay_write(&mut card, &mut link(), relay_request(WriteTarget::Df1Ef04)).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Refused(AuthorityError::Record(_)))), "{e:?}");
    assert!(card.ta_result.is_none());
}

#[test]
fn refused_records_never_reach_the_card() {
    for bad in [
        NewAddress { municipality_code: "131017".into(), ..new_record() },
        NewAddress { address: "東京都\u{1B}[2J".into(), ..new_record() },
        NewAddress { address: "あ".repeat(81), ..new_record() },
    ] {
        let mut card = TestCard::new(Limits::FULL);
        let n_before = card.apdus.len();
        let e =
            relay_write(&mut card, &mut link(), RelayRequest { record: bad, ..relay_request(WriteTarget::Df2Ef01) })
                .unwrap_err();
        assert!(matches!(e, RelayError::Link(LinkError::Refused(AuthorityError::Record(_)))), "{e:?}");
        // Only the relay's own SELECT and reads of EF.ChipAuthInfo reached the card.
        assert_eq!(card.apdus.len() - n_before, 1 + 2);
        assert!(card.ta_result.is_none());
    }
}

/// Flips one bit of the `index`-th APDU (command or response) through the link.
struct Tamper<'a> {
    card: &'a mut TestCard,
    command: Option<usize>,
    response: Option<usize>,
    n: usize,
}

impl Transport for Tamper<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let i = self.n;
        self.n += 1;
        let mut a = apdu.to_vec();
        if self.command == Some(i) {
            let k = a.len() / 2;
            a[k] ^= 0x01;
        }
        let mut r = self.card.transmit(&a)?;
        // The byte before the status word: the MAC's last under SM, the token's in
        // the GENERAL AUTHENTICATE answer.
        if self.response == Some(i) && r.len() > 2 {
            let k = r.len() - 3;
            r[k] ^= 0x01;
        }
        Ok(r)
    }
    fn limits(&self) -> Limits {
        self.card.limits
    }
}

#[test]
fn a_modified_command_or_response_under_sm_is_detected_on_each_side() {
    // APDU indices on the full link: 0 SELECT, 1–2 EF.ChipAuthInfo, 3–8 TA, 9–11
    // CA, 12 SM SELECT, 13 old read, 14 UPDATE, 15 new read.
    let mut card = TestCard::new(Limits::FULL);
    let old = card.df2_ef01.clone();
    let e = relay_write(
        &mut Tamper { card: &mut card, command: Some(14), response: None, n: 0 },
        &mut link(),
        relay_request(WriteTarget::Df2Ef01),
    )
    .unwrap_err();
    // The card met a bad MAC, closed the channel and answered 69 88 in plain.
    assert_eq!(e, RelayError::Refused(AuthorityError::Sm(SmError::PlainResponse(0x6988))));
    assert_eq!(card.df2_ef01, old);
    assert!(card.sm.is_none());

    // The card's 90 00 to the UPDATE altered on the way back: the write happened,
    // but the authority has no proof of it and issues no receipt.
    let mut card = TestCard::new(Limits::FULL);
    let e = relay_write(
        &mut Tamper { card: &mut card, command: None, response: Some(14), n: 0 },
        &mut link(),
        relay_request(WriteTarget::Df2Ef01),
    )
    .unwrap_err();
    assert_eq!(e, RelayError::Refused(AuthorityError::Sm(SmError::BadMac)));
    // An altered read-back.
    let mut card = TestCard::new(Limits::FULL);
    let e = relay_write(
        &mut Tamper { card: &mut card, command: None, response: Some(15), n: 0 },
        &mut link(),
        relay_request(WriteTarget::Df2Ef01),
    )
    .unwrap_err();
    assert_eq!(e, RelayError::Refused(AuthorityError::Sm(SmError::BadMac)));
    // An altered GENERAL AUTHENTICATE answer: the token check fails, nothing is written.
    let mut card = TestCard::new(Limits::FULL);
    let e = relay_write(
        &mut Tamper { card: &mut card, command: None, response: Some(11), n: 0 },
        &mut link(),
        relay_request(WriteTarget::Df2Ef01),
    )
    .unwrap_err();
    assert_eq!(e, RelayError::Refused(AuthorityError::Eac(eac::EacError::TokenMismatch)));
    // An altered EXTERNAL AUTHENTICATE: the card refuses with 63 00 and the relay stops.
    let mut card = TestCard::new(Limits::FULL);
    let old = card.df2_ef01.clone();
    let e = relay_write(
        &mut Tamper { card: &mut card, command: Some(9), response: None, n: 0 },
        &mut link(),
        relay_request(WriteTarget::Df2Ef01),
    )
    .unwrap_err();
    assert_eq!(e, RelayError::Refused(AuthorityError::CardRefused { step: "EXTERNAL AUTHENTICATE", sw: Some(0x6300) }));
    assert_eq!(card.df2_ef01, old);
}

#[test]
fn without_card_number_access_nothing_is_read_or_written() {
    let mut card = TestCard::new(Limits::FULL);
    card.access_granted = false;
    let old = card.df2_ef01.clone();
    let e = relay_write(&mut card, &mut link(), relay_request(WriteTarget::Df2Ef01)).unwrap_err();
    assert_eq!(e, RelayError::CardStatus { step: "READ BINARY EF.ChipAuthInfo", sw: 0x6982 });
    assert_eq!(card.df2_ef01, old);
}

/// Drives the card by hand as a rogue authority that holds the terminal key: TA
/// with the intent for content A, CA, then an UPDATE with `write`.
fn rogue_write(card: &mut TestCard, signed: &NewContent, write: &[u8]) -> u16 {
    let p = pki();
    let mut tx = |apdu: &[u8]| card.transmit(apdu).unwrap();
    let mut sel = vec![0x00, 0xA4, 0x04, 0x0C, WRITE_AID.len() as u8];
    sel.extend_from_slice(&WRITE_AID);
    tx(&sel);
    for c in [&p.dv, &p.term] {
        assert_eq!(tx(&ta::mse_set_dst(c.car()).encode()), [0x90, 0x00]);
        assert_eq!(tx(&ta::pso_verify_certificate(c).encode()), [0x90, 0x00]);
    }
    let eph = eac::ChipAuthTerminal::generate(&mut FixedRandom::new(&[0x17]));
    let aux = eac::encode_aux(&signed.intent());
    tx(&ta::mse_set_at(p.term.chr(), &eph.comp(), &aux).encode());
    let r = tx(&ta::get_challenge().encode());
    let msg = eac::ta_message(&card_number_hash(&number()), &r[..8].try_into().unwrap(), &eph.comp(), &aux);
    let sig = super::cvc::Signer::sign(&p.term_key, &msg).unwrap();
    assert_eq!(tx(&ta::external_authenticate(&sig).encode()), [0x90, 0x00]);
    tx(&eac::ca_mse_set_at().encode());
    let ga = tx(&eac::ca_general_authenticate(&eph.public_key()).encode());
    let keys = eph.finish(&chip_key().public_key(), &ga[..ga.len() - 2]).unwrap();
    let mut sm = TerminalSide::new(keys);
    let aid = Df::Df2.aid().unwrap();
    let r = tx(&sm.wrap(&Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&aid)).unwrap());
    assert_eq!(sm.unwrap(&r).unwrap().sw, 0x9000);
    let r = tx(&sm.wrap(&Command::new(0x00, 0xD6, 0x81, 0x00).with_data(write).extended()).unwrap());
    sm.unwrap(&r).unwrap().sw
}

#[test]
fn an_authorisation_for_content_a_cannot_write_content_b() {
    let a = NewContent::df2_ef01(&new_record()).unwrap();
    let b = NewContent::df2_ef01(&NewAddress {
        address: "東京都新宿区西新宿２－８－１".into(),
        municipality_code: "131041".into(),
        ..new_record()
    })
    .unwrap();
    let mut card = TestCard::new(Limits::FULL);
    let old = card.df2_ef01.clone();
    assert_eq!(rogue_write(&mut card, &a, b.bytes()), 0x6982);
    assert_eq!(card.df2_ef01, old);
    let mut card = TestCard::new(Limits::FULL);
    assert_eq!(rogue_write(&mut card, &a, a.bytes()), 0x9000);
    assert_eq!(card.df2_ef01, a.bytes());
    // The intent binds the file too.
    assert!(!WriteIntent::of(WriteTarget::Df1Ef04, a.bytes()).authorises(WriteTarget::Df2Ef01, a.bytes()));
}

/// Records the batches of one session and replays its EXTERNAL AUTHENTICATE in another.
#[test]
fn an_external_authenticate_from_another_session_is_refused() {
    let mut card = TestCard::new(Limits::FULL);
    let mut l = link();
    let mut cai_reads = 0;
    let cai = super::relay::read_chip_auth_info(&mut card, &mut cai_reads).unwrap();
    let open = OpenRequest {
        target: WriteTarget::Df2Ef01,
        record: new_record(),
        operator_id: "clerk-007".into(),
        chip_auth_info: cai,
        limits: Limits::FULL,
        card_number_hash: None,
    };
    let b1 = l.open(&open).unwrap();
    let answers: Vec<_> = b1.commands.iter().map(|c| card.transmit(&c.apdu).unwrap()).collect();
    let Next::Batch(b2) = l.send(&answers).unwrap() else { panic!() };
    let recorded_ea = b2.commands[0].apdu.clone();
    // A new session on the card: certificates, SET AT, a fresh challenge, then the old EA.
    let mut sel = vec![0x00, 0xA4, 0x04, 0x0C, WRITE_AID.len() as u8];
    sel.extend_from_slice(&WRITE_AID);
    card.transmit(&sel).unwrap();
    for c in &b1.commands {
        card.transmit(&c.apdu).unwrap();
    }
    assert_eq!(card.transmit(&recorded_ea).unwrap(), [0x63, 0x00]);
    assert!(card.ta_result.is_none());
}

#[test]
fn the_relay_stops_a_batch_at_the_first_unexpected_status() {
    // A card that does not trust the authority's CVCA: the first PSO:VERIFY
    // CERTIFICATE fails and nothing after it is sent.
    let mut card = TestCard::new(Limits::FULL);
    let rogue = super::cvc::tests::signer(99);
    let mut b = pki().cvca.body().clone();
    b.public_key = rogue.public_key();
    card.anchor = TrustAnchor::from_self_signed(&b.sign(&rogue).unwrap()).unwrap();
    let e = relay_write(&mut card, &mut link(), relay_request(WriteTarget::Df2Ef01)).unwrap_err();
    assert_eq!(
        e,
        RelayError::Refused(AuthorityError::CardRefused { step: "PSO:VERIFY CERTIFICATE", sw: Some(0x6300) })
    );
    // SELECT + 2 EF.ChipAuthInfo reads + MSE:SET DST + PSO:VERIFY CERTIFICATE.
    assert_eq!(card.apdus.len(), 1 + 2 + 2);
}

#[test]
fn an_expired_terminal_is_refused_by_the_card_date() {
    // The card has seen a certificate effective after the terminal's expiry.
    let mut card = TestCard::new(Limits::FULL);
    card.card_date = date(2026, 7, 1);
    let e = relay_write(&mut card, &mut link(), relay_request(WriteTarget::Df2Ef01)).unwrap_err();
    assert_eq!(
        e,
        RelayError::Refused(AuthorityError::CardRefused { step: "PSO:VERIFY CERTIFICATE", sw: Some(0x6300) })
    );
    // The DV verifies; the terminal certificate does not.
    assert_eq!(card.apdus.len(), 1 + 2 + 4);
}

#[test]
fn a_random_source_is_all_the_authority_needs() {
    // Two sessions with different randomness give different ephemeral keys.
    struct Counter(u8);
    impl RandomSource for Counter {
        fn fill(&mut self, d: &mut [u8]) {
            for b in d {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }
    let mut card = TestCard::new(Limits::FULL);
    let mut l = InProcessLink::new(authority(), Counter(7)).at_time(NOW);
    relay_write(&mut card, &mut l, relay_request(WriteTarget::Df2Ef01)).unwrap();
}
