//! Address write (AWP v1, issue 12) end to end: core's relay
//! ([`relay_write`] + [`InProcessLink`]) against the simulator's write application
//! on a real [`SimCard`], after the normal card-number access (`read_card`). One
//! test per security property of `docs/write-profile.md` §11 (AWP §6) that a card
//! can show; each fails if the card (or the relay) breaks the property.
//!
//! ## The relay exposes no key (AWP §6.8)
//!
//! The argument is by API shape, checked at compile time by
//! [`the_relay_api_carries_bytes_and_records_only`]: everything that crosses the
//! relay — [`RelayRequest`], [`OpenRequest`], [`Batch`] / [`BatchCommand`], the
//! card's answers (`Vec<u8>`), [`Next`], [`Receipt`], [`RelayOutcome`] — is
//! destructured there field by field, without `..`, with each field's type
//! written out: byte vectors, strings, numbers, the target and the record. If any
//! of them gained a field (a key, a session secret), that test would stop
//! compiling. The terminal key lives in the authority's `AuthorityConfig`, behind
//! the [`AuthorityLink`] trait object, and the session keys live inside the
//! authority's `WriteSession` and the card; [`AuthorityLink`]'s two methods take and
//! return only those byte-carrying types.

use zairyu::CardNumber;
use zairyu::apdu::{Command, Le};
use zairyu::auth::OsRandom;
use zairyu::error::TransportError;
use zairyu::files::CardType;
use zairyu::sequence::{CardRead, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::transport::{Limits, Transport};
use zairyu::write::authority::{Authority, AuthorityError, Batch, BatchCommand, Next, Receipt};
use zairyu::write::chip_auth_info::{ChipAuthInfo, card_number_hash};
use zairyu::write::cvc::{Chat, Cvc, CvcBody, Role, Signer, SoftwareSigner};
use zairyu::write::eac::{self, ChipAuthTerminal, ta};
use zairyu::write::record::{NewAddress, NewContent, WriteTarget};
use zairyu::write::relay::{
    AuthorityLink, InProcessLink, LinkError, OpenRequest, RelayError, RelayOutcome, RelayRequest, relay_write,
};
use zairyu::write::sm::{SmError, TerminalSide};
use zairyu::write::{CvDate, OID_ROLE_WRITE, WRITE_AID, sha256};
use zairyu_sim::write::CommitStage;
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{Drbg, Fault, IssueOptions, IssuedCard, SimCard};
use zairyu_tests::sim_trust;

/// 2026-04-30 00:00 UTC: the authority's clock.
const NOW: u64 = 1_777_507_200;
const NUMBER: &str = "AB12345678CD";

fn day(y: u16, m: u8, d: u8) -> CvDate {
    CvDate::new(y, m, d).unwrap()
}

/// The test write PKI `seed`, valid from 2026-04-01 (terminal until 2028-04-01).
fn pki(seed: u64) -> WritePki {
    WritePki::generate_with(&mut Drbg::new(seed), day(2026, 4, 1))
}

fn issued(t: CardType, pki: &WritePki, card_date: Option<CvDate>) -> IssuedCard {
    let mut w = pki.write_issue();
    if let Some(d) = card_date {
        w.card_date = d;
    }
    IssuedCard::issue(&IssueOptions { card_type: t, write: Some(w), ..IssueOptions::default() })
}

fn read(sim: SimCard) -> (CardRead, SimCard) {
    let mut c = Card::new(sim);
    let r =
        read_card(&mut c, &CardNumber::parse(NUMBER).unwrap(), &sim_trust(), &mut OsRandom, &ReadOptions::default())
            .expect("the normal read");
    (r, c.into_transport())
}

/// The normal card-number access: a whole read, leaving the card authenticated.
fn accessed(sim: SimCard) -> SimCard {
    read(sim).1
}

fn link(pki: &WritePki) -> InProcessLink<Drbg> {
    InProcessLink::new(Authority::new(pki.authority_config()), Drbg::new(9)).at_time(NOW)
}

fn stand_in_tiff(r: &NewAddress) -> Vec<u8> {
    [b"II*\0".as_slice(), r.address.as_bytes(), &[0x42; 1200]].concat()
}

fn link_for(pki: &WritePki, t: CardType) -> InProcessLink<Drbg> {
    let l = link(pki);
    if t.generation() == 2 { l.with_renderer(Box::new(|r| NewContent::df1_ef04(&stand_in_tiff(r)))) } else { l }
}

fn record(n: u8) -> NewAddress {
    match n {
        1 => NewAddress {
            date: "20260430".into(),
            municipality_code: "131016".into(),
            address: "東京都千代田区霞が関１－１－１".into(),
        },
        _ => NewAddress {
            date: "20260501".into(),
            municipality_code: "131041".into(),
            address: "東京都新宿区西新宿２－８－１".into(),
        },
    }
}

fn target(t: CardType) -> WriteTarget {
    if t.generation() == 1 { WriteTarget::Df2Ef01 } else { WriteTarget::Df1Ef04 }
}

fn content(t: CardType, r: &NewAddress) -> NewContent {
    match target(t) {
        WriteTarget::Df2Ef01 => NewContent::df2_ef01(r).unwrap(),
        WriteTarget::Df1Ef04 => NewContent::df1_ef04(&stand_in_tiff(r)).unwrap(),
    }
}

fn request(t: CardType, r: NewAddress) -> RelayRequest {
    RelayRequest {
        target: target(t),
        record: r,
        operator_id: "clerk-007".into(),
        card_number_hash: Some(card_number_hash(&CardNumber::parse(NUMBER).unwrap())),
    }
}

fn file(sim: &SimCard, t: CardType) -> Vec<u8> {
    let ef = target(t).ef();
    sim.issued().file(ef.df, ef.sfi).unwrap().to_vec()
}

/// A card of type `t`, optionally on a short-APDU link.
fn sim_card(c: &IssuedCard, short: bool) -> SimCard {
    let s = SimCard::new(c.clone());
    if short { s.with_fault(Fault::ShortApdusOnly) } else { s }
}

fn ok_write(sim: &mut SimCard, pki: &WritePki, t: CardType, r: NewAddress) -> RelayOutcome {
    relay_write(sim, &mut link_for(pki, t), request(t, r)).expect("the write")
}

#[test]
fn a_first_generation_address_written_through_the_relay_reads_back_unchanged() {
    let p = pki(1);
    for t in [CardType::ResidenceCard, CardType::SpecialPermanentResident] {
        for short in [false, true] {
            // Issued with an older card date: verifying the chain advances it.
            let mut sim = accessed(sim_card(&issued(t, &p, Some(day(2025, 1, 1))), short));
            let old = file(&sim, t);
            let out = ok_write(&mut sim, &p, t, record(1));
            assert_eq!(out.round_trips, 4);
            let want = content(t, &record(1));
            assert_eq!(file(&sim, t), want.bytes(), "{t:?} short={short}");
            assert_eq!(out.receipt.content_sha256, hex::encode(sha256(want.bytes())));
            assert_eq!(out.receipt.old_content_sha256, Some(hex::encode(sha256(&old))));
            assert_eq!(out.receipt.terminal, "JPTESTTERM00001");
            assert_eq!(out.receipt.chip_auth_info_signer, "JPTESTDS00001");
            assert_eq!(sim.issued().write_card_date(), Some(day(2026, 4, 1)));
            // The normal read (new session, new card-number access) shows the record.
            let (r, _) = read(sim);
            let a = &r.gen1().unwrap().address;
            assert_eq!(a.address.as_ref().unwrap().text, record(1).address);
            assert_eq!(a.date.as_deref(), Some("20260430"));
            assert_eq!(a.municipality_code.as_deref(), Some("131016"));
            assert!(record(1).matches(a));
            // Nothing else changed: the signature over the images still verifies.
            assert_eq!(r.verification.signature, zairyu::verify::SignatureStatus::Valid, "{t:?}");
        }
    }
}

#[test]
fn a_second_generation_address_image_is_written_whole() {
    let p = pki(1);
    for t in [CardType::Gen2ResidenceCard, CardType::Gen2SpecialPermanentResident] {
        for short in [false, true] {
            let mut sim = accessed(sim_card(&issued(t, &p, None), short));
            let out = ok_write(&mut sim, &p, t, record(1));
            assert_eq!(out.receipt.target, WriteTarget::Df1Ef04);
            assert_eq!(file(&sim, t), content(t, &record(1)).bytes());
            let (r, _) = read(sim);
            let img = r.gen2().unwrap().address_image.as_ref().unwrap();
            let tiff = stand_in_tiff(&record(1));
            assert_eq!(&img.value[..tiff.len()], &tiff[..], "{t:?} short={short}");
            assert!(img.value[tiff.len()..].iter().all(|&b| b == 0));
        }
    }
    // A first-generation card has no DF1/EF04 to write (its DF1 SFI 06 is the face).
    let mut sim = accessed(SimCard::new(issued(CardType::ResidenceCard, &p, None)));
    let face = sim.issued().file(zairyu::layout::Df::Df1, 0x06).unwrap().to_vec();
    let e = relay_write(
        &mut sim,
        &mut link_for(&p, CardType::Gen2ResidenceCard),
        request(CardType::Gen2ResidenceCard, record(1)),
    )
    .unwrap_err();
    assert!(matches!(e, RelayError::Refused(AuthorityError::CardRefused { sw: Some(0x6A82), .. })), "{e:?}");
    assert_eq!(sim.issued().file(zairyu::layout::Df::Df1, 0x06).unwrap(), &face[..]);
}

#[test]
fn a_card_without_the_write_application_answers_as_such() {
    let p = pki(1);
    let mut sim = accessed(SimCard::new(IssuedCard::issue(&IssueOptions::default())));
    let e = ok_write_err(&mut sim, &p);
    assert_eq!(e, RelayError::CardStatus { step: "SELECT write application", sw: 0x6A82 });
}

fn ok_write_err(sim: &mut SimCard, p: &WritePki) -> RelayError {
    let t = CardType::ResidenceCard;
    relay_write(sim, &mut link_for(p, t), request(t, record(1))).unwrap_err()
}

/// A rogue holder of a terminal key drives the card by hand: TA with `chain` and
/// `key`, signing the intent for `signed`, CA, then an SM UPDATE BINARY of
/// `write`. Returns the status word of the first command that was not `90 00`
/// (under SM, the unwrapped one). EF.ChipAuthInfo is taken from the card's memory,
/// as a rogue that read it in an earlier session would know it.
fn rogue_write(
    sim: &mut SimCard,
    p: &WritePki,
    chain: &[Cvc],
    key: &SoftwareSigner,
    signed: &NewContent,
    write: &[u8],
) -> (&'static str, u16) {
    let info = ChipAuthInfo::parse(sim.issued().chip_auth_info().unwrap())
        .unwrap()
        .verify(&p.issuer_anchor(), day(2026, 4, 30))
        .unwrap();
    let mut tx = |apdu: &[u8]| sim.transmit(apdu).unwrap();
    let sw = |r: &[u8]| u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
    let mut sel = vec![0x00, 0xA4, 0x04, 0x0C, WRITE_AID.len() as u8];
    sel.extend_from_slice(&WRITE_AID);
    assert_eq!(tx(&sel), [0x90, 0x00]);
    for c in chain {
        assert_eq!(tx(&ta::mse_set_dst(c.car()).encode()), [0x90, 0x00]);
        let r = tx(&ta::pso_verify_certificate(c).encode());
        if sw(&r) != 0x9000 {
            return ("PSO:VERIFY CERTIFICATE", sw(&r));
        }
    }
    let eph = ChipAuthTerminal::generate(&mut Drbg::new(77));
    let aux = eac::encode_aux(&signed.intent());
    let term = chain.last().unwrap();
    assert_eq!(tx(&ta::mse_set_at(term.chr(), &eph.comp(), &aux).encode()), [0x90, 0x00]);
    let r = tx(&ta::get_challenge().encode());
    let msg = eac::ta_message(&info.card_number_hash, &r[..8].try_into().unwrap(), &eph.comp(), &aux);
    let r = tx(&ta::external_authenticate(&key.sign(&msg).unwrap()).encode());
    if sw(&r) != 0x9000 {
        return ("EXTERNAL AUTHENTICATE", sw(&r));
    }
    assert_eq!(tx(&eac::ca_mse_set_at().encode()), [0x90, 0x00]);
    let ga = tx(&eac::ca_general_authenticate(&eph.public_key()).encode());
    let keys = eph.finish(&info.chip_key, &ga[..ga.len() - 2]).unwrap();
    let mut sm = TerminalSide::new(keys);
    let aid = signed.target().df().aid().unwrap();
    let r = tx(&sm.wrap(&Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(&aid)).unwrap());
    assert_eq!(sm.unwrap(&r).unwrap().sw, 0x9000);
    let ef = signed.target().ef();
    let r = tx(&sm.wrap(&Command::new(0x00, 0xD6, ef.p1(), 0x00).with_data(write).extended()).unwrap());
    ("SM UPDATE BINARY", sm.unwrap(&r).unwrap().sw)
}

/// The PKI with its terminal certificate re-issued by the DV with `rights` and `expiry`.
fn with_terminal(p: &WritePki, rights: u8, expiry: Option<CvDate>) -> WritePki {
    let b = p.terminal.body();
    let body = CvcBody {
        chat: Chat { role_oid: OID_ROLE_WRITE.to_vec(), role: Role::Terminal, rights },
        expiry: expiry.unwrap_or(b.expiry),
        ..b.clone()
    };
    WritePki { terminal: body.sign(&p.dv_key).unwrap(), ..p.clone() }
}

#[test]
fn no_write_right_no_write() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let no_right = with_terminal(&p, 0, None);
    let base = issued(t, &p, None);
    let a = content(t, &record(1));
    // The authority refuses its own chain before anything reaches the card.
    let mut sim = accessed(SimCard::new(base.clone()));
    let old = file(&sim, t);
    let e = relay_write(&mut sim, &mut link(&no_right), request(t, record(1))).unwrap_err();
    assert!(matches!(e, RelayError::Link(LinkError::Refused(AuthorityError::TerminalChain(_)))), "{e:?}");
    // The card refuses it too: TA succeeds (the chain is the card's), the UPDATE does not.
    let mut sim = accessed(SimCard::new(base.clone()));
    let r = rogue_write(&mut sim, &no_right, &no_right.terminal_chain(), &no_right.terminal_key, &a, a.bytes());
    assert_eq!(r, ("SM UPDATE BINARY", 0x6982));
    assert_eq!(file(&sim, t), old);
    // The same rogue path with the write right writes: the refusal is the right's.
    let mut sim = accessed(SimCard::new(base));
    assert_eq!(
        rogue_write(&mut sim, &p, &p.terminal_chain(), &p.terminal_key, &a, a.bytes()),
        ("SM UPDATE BINARY", 0x9000)
    );
    assert_eq!(file(&sim, t), a.bytes());
}

#[test]
fn a_chain_from_another_cvca_is_refused() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    // Another write PKI, with the same write issuer (so EF.ChipAuthInfo verifies).
    let other = WritePki {
        issuer_root: p.issuer_root.clone(),
        issuer_root_key: p.issuer_root_key.clone(),
        document_signer: p.document_signer.clone(),
        document_signer_key: p.document_signer_key.clone(),
        ..pki(2)
    };
    let mut sim = accessed(SimCard::new(issued(t, &p, None)));
    let old = file(&sim, t);
    let e = relay_write(&mut sim, &mut link(&other), request(t, record(1))).unwrap_err();
    assert_eq!(
        e,
        RelayError::Refused(AuthorityError::CardRefused { step: "PSO:VERIFY CERTIFICATE", sw: Some(0x6300) })
    );
    assert_eq!(file(&sim, t), old);
    // The same authority writes to a card that trusts its CVCA.
    let mut sim = accessed(SimCard::new(issued(t, &other, None)));
    ok_write(&mut sim, &other, t, record(1));
}

#[test]
fn an_expired_terminal_is_refused_against_the_card_date() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    // The terminal expires 2028-04-01; the authority's clock says 2026-04-30.
    let mut sim = accessed(SimCard::new(issued(t, &p, Some(day(2028, 4, 2)))));
    let old = file(&sim, t);
    let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
    assert_eq!(
        e,
        RelayError::Refused(AuthorityError::CardRefused { step: "PSO:VERIFY CERTIFICATE", sw: Some(0x6300) })
    );
    assert_eq!(file(&sim, t), old);
    // On its last day it is still valid.
    let mut sim = accessed(SimCard::new(issued(t, &p, Some(day(2028, 4, 1)))));
    ok_write(&mut sim, &p, t, record(1));
    // The card date only moves forward: a card that verified a newer certificate
    // refuses a terminal that expired before it, whatever the authority's clock.
    let short = with_terminal(&p, 1, Some(day(2026, 5, 1)));
    let mut sim = accessed(SimCard::new(issued(t, &p, Some(day(2026, 5, 2)))));
    let e = relay_write(&mut sim, &mut link(&short), request(t, record(1))).unwrap_err();
    assert_eq!(
        e,
        RelayError::Refused(AuthorityError::CardRefused { step: "PSO:VERIFY CERTIFICATE", sw: Some(0x6300) })
    );
    assert_eq!(sim.issued().write_card_date(), Some(day(2026, 5, 2)));
}

#[test]
fn an_intent_for_content_a_cannot_write_content_b() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let (a, b) = (content(t, &record(1)), content(t, &record(2)));
    let mut sim = accessed(SimCard::new(issued(t, &p, None)));
    let old = file(&sim, t);
    assert_eq!(
        rogue_write(&mut sim, &p, &p.terminal_chain(), &p.terminal_key, &a, b.bytes()),
        ("SM UPDATE BINARY", 0x6982)
    );
    assert_eq!(file(&sim, t), old);
    // Content A with one byte changed, and A cut short, are not A either.
    let mut a2 = a.bytes().to_vec();
    a2[341] ^= 1;
    for bad in [&a2[..], &a.bytes()[..200]] {
        let mut sim = accessed(SimCard::new(issued(t, &p, None)));
        assert_eq!(
            rogue_write(&mut sim, &p, &p.terminal_chain(), &p.terminal_key, &a, bad),
            ("SM UPDATE BINARY", 0x6982)
        );
        assert_eq!(file(&sim, t), old);
    }
}

/// Records the batches; optionally replaces the EXTERNAL AUTHENTICATE of the second.
struct Recording<L> {
    inner: L,
    batches: Vec<Batch>,
    replace_ea: Option<Vec<u8>>,
}

impl<L: AuthorityLink> AuthorityLink for Recording<L> {
    fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError> {
        let b = self.inner.open(request)?;
        self.batches.push(b.clone());
        Ok(b)
    }
    fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError> {
        let mut next = self.inner.send(responses)?;
        if let Next::Batch(b) = &mut next {
            self.batches.push(b.clone());
            if let (Some(ea), Some(c)) =
                (&self.replace_ea, b.commands.iter_mut().find(|c| c.label == "EXTERNAL AUTHENTICATE"))
            {
                c.apdu = ea.clone();
            }
        }
        Ok(next)
    }
}

#[test]
fn a_replayed_external_authenticate_is_refused() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let base = issued(t, &p, None);
    let mut sim = accessed(SimCard::new(base));
    let mut l = Recording { inner: link(&p), batches: Vec::new(), replace_ea: None };
    relay_write(&mut sim, &mut l, request(t, record(1))).unwrap();
    let ea = l.batches[1].commands.iter().find(|c| c.label == "EXTERNAL AUTHENTICATE").unwrap().apdu.clone();
    // A second session with the same ephemeral key and intent (the authority's
    // generator restarted): only the card's challenge differs, and the recorded
    // signature over the old one is refused.
    let mut sim = accessed(sim);
    let mut l = Recording { inner: link(&p), batches: Vec::new(), replace_ea: Some(ea.clone()) };
    let e = relay_write(&mut sim, &mut l, request(t, record(1))).unwrap_err();
    assert_eq!(e, RelayError::Refused(AuthorityError::CardRefused { step: "EXTERNAL AUTHENTICATE", sw: Some(0x6300) }));
    // The first batch of that session was byte for byte the first session's.
    // (Without the replacement the same session writes.)
    let mut l = Recording { inner: link(&p), batches: Vec::new(), replace_ea: None };
    let mut sim = accessed(sim);
    relay_write(&mut sim, &mut l, request(t, record(2))).unwrap();
    assert_eq!(file(&sim, t), content(t, &record(2)).bytes());
    // After a power cycle the challenge does not repeat either.
    sim.power_cycle();
    let mut sim = accessed(sim);
    let mut l = Recording { inner: link(&p), batches: Vec::new(), replace_ea: Some(ea) };
    assert!(relay_write(&mut sim, &mut l, request(t, record(1))).is_err());
    assert_eq!(file(&sim, t), content(t, &record(2)).bytes());
}

/// A man in the middle between the relay and the card: flips one bit of the
/// `cmd`-th (or the answer to the `resp`-th) secure-messaging command.
struct Mitm<'a> {
    card: &'a mut SimCard,
    cmd: Option<usize>,
    resp: Option<usize>,
    sm: usize,
    /// SM index of the last UPDATE BINARY segment.
    last_update: Option<usize>,
}

impl Transport for Mitm<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let protected = apdu[0] & 0x0C == 0x0C;
        let i = self.sm;
        let mut a = apdu.to_vec();
        if protected {
            self.sm += 1;
            if apdu[1] == 0xD6 && apdu[0] & 0x10 == 0 {
                self.last_update = Some(i);
            }
            if self.cmd == Some(i) {
                let k = a.len() / 2;
                a[k] ^= 0x01;
            }
        }
        let mut r = self.card.transmit(&a)?;
        if protected && self.resp == Some(i) && r.len() > 2 {
            let k = r.len() - 3;
            r[k] ^= 0x01;
        }
        Ok(r)
    }
    fn limits(&self) -> Limits {
        self.card.limits()
    }
}

#[test]
fn a_modified_command_or_response_under_sm_is_detected_on_each_side() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let base = issued(t, &p, None);
    let new = content(t, &record(1));
    for short in [false, true] {
        // A clean run counts the SM commands and finds the last UPDATE segment.
        let mut sim = accessed(sim_card(&base, short));
        let mut m = Mitm { card: &mut sim, cmd: None, resp: None, sm: 0, last_update: None };
        relay_write(&mut m, &mut link(&p), request(t, record(1))).unwrap();
        let (count, last_update) = (m.sm, m.last_update.unwrap());
        assert_eq!(count, if short { 7 } else { 4 });
        for i in 0..count {
            // The card sees a bad MAC, ends the channel, answers 69 88 in plain.
            let mut sim = accessed(sim_card(&base, short));
            let old = file(&sim, t);
            let mut m = Mitm { card: &mut sim, cmd: Some(i), resp: None, sm: 0, last_update: None };
            let e = relay_write(&mut m, &mut link(&p), request(t, record(1))).unwrap_err();
            assert_eq!(e, RelayError::Refused(AuthorityError::Sm(SmError::PlainResponse(0x6988))), "cmd {i}");
            let want = if i > last_update { new.bytes() } else { &old[..] };
            assert_eq!(file(&sim, t), want, "cmd {i} short={short}");
            // An altered answer: the authority sees a bad MAC and issues no receipt.
            // The relay forwards the whole batch (the status word after the MAC is
            // untouched), so the card, whose commands were all genuine, has written
            // the authorised content, whole; the write is unproven, not corrupt.
            let mut sim = accessed(sim_card(&base, short));
            let mut m = Mitm { card: &mut sim, cmd: None, resp: Some(i), sm: 0, last_update: None };
            let e = relay_write(&mut m, &mut link(&p), request(t, record(1))).unwrap_err();
            assert_eq!(e, RelayError::Refused(AuthorityError::Sm(SmError::BadMac)), "resp {i}");
            assert_eq!(file(&sim, t), new.bytes(), "resp {i} short={short}");
        }
    }
}

#[test]
fn without_card_number_access_in_this_session_nothing_is_read_or_written() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let base = issued(t, &p, None);
    let a = content(t, &record(1));
    // No access at all.
    let mut sim = SimCard::new(base.clone());
    let old = file(&sim, t);
    let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
    assert_eq!(e, RelayError::CardStatus { step: "READ BINARY EF.ChipAuthInfo", sw: 0x6982 });
    // Access in an earlier card session does not count.
    let mut sim = accessed(SimCard::new(base.clone()));
    sim.power_cycle();
    let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
    assert_eq!(e, RelayError::CardStatus { step: "READ BINARY EF.ChipAuthInfo", sw: 0x6982 });
    // A rogue that knows EF.ChipAuthInfo and holds the terminal key still cannot
    // write without access: TA and CA succeed, the UPDATE does not.
    assert_eq!(
        rogue_write(&mut sim, &p, &p.terminal_chain(), &p.terminal_key, &a, a.bytes()),
        ("SM UPDATE BINARY", 0x6982)
    );
    assert_eq!(file(&sim, t), old);
    // A wrong card number gives no access either.
    let mut c = Card::new(SimCard::new(base));
    let wrong = CardNumber::parse("AB12345678CE").unwrap();
    assert!(read_card(&mut c, &wrong, &sim_trust(), &mut OsRandom, &ReadOptions::default()).is_err());
    let mut sim = c.into_transport();
    let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
    assert_eq!(e, RelayError::CardStatus { step: "READ BINARY EF.ChipAuthInfo", sw: 0x6982 });
}

/// After the power loss: boots, checks the file is `want` whole, then a second
/// write (new access, record 2) succeeds and the normal read shows it.
fn reboot_and_write_again(mut sim: SimCard, p: &WritePki, t: CardType, want: &[u8], what: &str) {
    assert!(!sim.is_powered(), "{what}");
    sim.power_cycle();
    assert!(!sim.issued().has_pending_commit(), "{what}");
    assert_eq!(file(&sim, t), want, "{what}");
    let mut sim = accessed(sim);
    ok_write(&mut sim, p, t, record(2));
    let (r, _) = read(sim);
    assert!(record(2).matches(&r.gen1().unwrap().address), "{what}");
}

#[test]
fn power_loss_at_every_apdu_index_leaves_the_old_or_the_new_content_whole() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let base = issued(t, &p, None);
    let new = content(t, &record(1));
    for short in [false, true] {
        // A clean run: the APDU indices of the write and of its last UPDATE segment.
        let mut sim = accessed(sim_card(&base, short));
        let old = file(&sim, t);
        let first = sim.apdu_count();
        ok_write(&mut sim, &p, t, record(1));
        let end = sim.apdu_count();
        let commit_at =
            first + sim.trace()[first..].iter().position(|e| e.header[1] == 0xD6 && e.header[0] & 0x10 == 0).unwrap();
        for k in first..end {
            let mut sim = accessed(sim_card(&base, short)).with_fault(Fault::PowerLossAtApdu(k));
            assert_eq!(sim.apdu_count(), first);
            let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
            assert_eq!(e, RelayError::Transport(TransportError::CardRemoved), "apdu {k}");
            // The power fails as APDU k arrives: the UPDATE took effect only if it came before.
            let want = if k > commit_at { new.bytes() } else { &old[..] };
            reboot_and_write_again(sim, &p, t, want, &format!("apdu {k} short={short}"));
        }
    }
}

#[test]
fn power_loss_inside_the_commit_recovers_to_the_old_or_the_new_content() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let base = issued(t, &p, None);
    let new = content(t, &record(1));
    for short in [false, true] {
        for stage in CommitStage::ALL {
            let mut sim = accessed(sim_card(&base, short)).with_fault(Fault::PowerLossInCommit(stage));
            let old = file(&sim, t);
            let e = relay_write(&mut sim, &mut link(&p), request(t, record(1))).unwrap_err();
            assert_eq!(e, RelayError::Transport(TransportError::CardRemoved), "{stage:?}");
            let want = if stage.survives() { new.bytes() } else { &old[..] };
            // The memory as the power left it, through a state file: a card restored
            // from it recovers the same way at its power up.
            let saved = zairyu_sim::state::encode(sim.issued());
            let mut restored = base.clone();
            zairyu_sim::state::apply(&mut restored, &saved).unwrap();
            assert_eq!(restored.has_pending_commit(), stage != CommitStage::BeforeShadow, "{stage:?}");
            let restored = SimCard::new(restored);
            assert_eq!(file(&restored, t), want, "restored {stage:?}");
            assert!(!restored.issued().has_pending_commit());
            reboot_and_write_again(sim, &p, t, want, &format!("{stage:?} short={short}"));
        }
    }
}

/// See the module documentation: every type that crosses the relay, field by
/// field. A new field (a key) makes this fail to compile.
#[test]
fn the_relay_api_carries_bytes_and_records_only() {
    let t = CardType::ResidenceCard;
    let p = pki(1);
    let mut sim = accessed(SimCard::new(issued(t, &p, None)));
    let req = request(t, record(1));
    let RelayRequest { target, record: rec, operator_id, card_number_hash } = req.clone();
    let _: (WriteTarget, NewAddress, String, Option<[u8; 32]>) = (target, rec, operator_id, card_number_hash);
    let NewAddress { date, municipality_code, address } = record(1);
    let _: (String, String, String) = (date, municipality_code, address);

    struct Shape<L>(L, usize);
    impl<L: AuthorityLink> AuthorityLink for Shape<L> {
        fn open(&mut self, request: &OpenRequest) -> Result<Batch, LinkError> {
            let OpenRequest { target, record, operator_id, chip_auth_info, limits, card_number_hash } = request;
            let _: (&WriteTarget, &NewAddress, &String, &Vec<u8>, &Limits, &Option<[u8; 32]>) =
                (target, record, operator_id, chip_auth_info, limits, card_number_hash);
            let b = self.0.open(request)?;
            self.check(&b);
            Ok(b)
        }
        fn send(&mut self, responses: &[Vec<u8>]) -> Result<Next, LinkError> {
            let next = self.0.send(responses)?;
            match &next {
                Next::Batch(b) => self.check(b),
                Next::Done(r) => {
                    let Receipt {
                        target,
                        content_sha256,
                        old_content_sha256,
                        card_number_sha256,
                        terminal,
                        chip_auth_info_signer,
                        time_unix,
                        round_trips,
                    } = r;
                    let _: (&WriteTarget, &String, &Option<String>, &String, &String, &String, &u64, &u32) = (
                        target,
                        content_sha256,
                        old_content_sha256,
                        card_number_sha256,
                        terminal,
                        chip_auth_info_signer,
                        time_unix,
                        round_trips,
                    );
                }
                Next::Refused(e) => {
                    let _: &AuthorityError = e;
                }
            }
            Ok(next)
        }
    }
    impl<L> Shape<L> {
        fn check(&mut self, b: &Batch) {
            let Batch { commands } = b;
            for c in commands {
                let BatchCommand { apdu, expected_sw, label } = c;
                let _: (&Vec<u8>, &u16, &&'static str) = (apdu, expected_sw, label);
                self.1 += 1;
            }
        }
    }
    let mut l = Shape(link(&p), 0);
    let out = relay_write(&mut sim, &mut l, req).unwrap();
    let RelayOutcome { receipt, round_trips, apdus } = out;
    let _: (Receipt, u32, usize) = (receipt, round_trips, apdus);
    // Every command the card received came from a batch, besides the relay's own
    // SELECT and two reads of EF.ChipAuthInfo.
    assert_eq!(apdus, l.1 + 3);
    // The short-link SM READ BINARY carries an Le, the read-back matched.
    let _ = Le::Short(0);
}

// --- The counter's whole write (core::write::counter): access, relay, re-read.

#[test]
fn write_address_confirms_the_write_on_a_new_session_for_every_card_type() {
    use zairyu::write::counter::{AddressWrite, write_address};
    let pki = pki(41);
    for t in [
        CardType::ResidenceCard,
        CardType::SpecialPermanentResident,
        CardType::Gen2ResidenceCard,
        CardType::Gen2SpecialPermanentResident,
    ] {
        let card = issued(t, &pki, None);
        let number = CardNumber::parse(NUMBER).unwrap();
        let request = AddressWrite { record: record(2), operator_id: "clerk-007".into() };
        let mut sessions = 0;
        let out = write_address(
            SimCard::new(card.clone()),
            |sim: &mut SimCard| {
                sessions += 1;
                sim.power_cycle();
                Ok(())
            },
            &number,
            &sim_trust(),
            &mut OsRandom,
            &mut link_for(&pki, t),
            request,
        )
        .unwrap_or_else(|e| panic!("{t:?}: {e} ({})", e.code()));
        assert_eq!(sessions, 1, "the re-read runs on a new session");
        assert_eq!(out.generation, t.generation());
        assert_eq!(out.round_trips, 4);
        assert_eq!(out.receipt.content_sha256, hex::encode(sha256(content(t, &record(2)).bytes())));
        if let Some(d) = out.reread.gen1() {
            assert!(record(2).matches(&d.address), "{t:?}: {:?}", d.address);
        }
    }
}

#[test]
fn write_address_refuses_a_wrong_number_and_a_card_that_does_not_keep_the_write() {
    use zairyu::write::counter::{AddressWrite, WriteError, write_address};
    let pki = pki(42);
    let t = CardType::ResidenceCard;
    let card = issued(t, &pki, None);
    let request = || AddressWrite { record: record(2), operator_id: "clerk-007".into() };

    // A wrong number fails the access read: nothing is relayed.
    let wrong = CardNumber::parse("ZZ99999999ZZ").unwrap();
    let e = write_address(
        SimCard::new(card.clone()),
        |_: &mut SimCard| Ok(()),
        &wrong,
        &sim_trust(),
        &mut OsRandom,
        &mut link_for(&pki, t),
        request(),
    )
    .unwrap_err();
    assert!(matches!(e, WriteError::Access(_)), "{e}");
    assert_eq!(e.code(), "wrong_card_number");

    // A "new session" that is another card with the old content: the re-read does
    // not match, and the write is not reported as done.
    let number = CardNumber::parse(NUMBER).unwrap();
    let e = write_address(
        SimCard::new(card.clone()),
        |sim: &mut SimCard| {
            *sim = SimCard::new(card.clone());
            Ok(())
        },
        &number,
        &sim_trust(),
        &mut OsRandom,
        &mut link_for(&pki, t),
        request(),
    )
    .unwrap_err();
    assert!(matches!(e, WriteError::ReadBackMismatch), "{e}");
    assert_eq!(e.code(), "readback_mismatch");
}
