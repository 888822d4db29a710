//! Terminal Authentication and Chip Authentication of AWP v1 (AWP §4.3a–b), after
//! BSI TR-03110 Part 3 §3.3–3.4 (TA v2, CA v2) and its Appendix B (the commands).
//! `docs/write-profile.md` §5–§6 give every byte.
//!
//! The terminal's side (the authority) is a set of APDU builders and response
//! parsers ([`ta`], [`ChipAuthTerminal`]); the card's side is
//! [`TerminalAuthCard`] and [`ChipAuthentication::respond`], pure state machines
//! that the simulator's write application drives.
//!
//! | command | APDU |
//! |---|---|
//! | MSE:SET DST | `00 22 81 B6 Lc 83 L CAR` |
//! | PSO:VERIFY CERTIFICATE | `00 2A 00 BE Lc 7F4E … 5F37 40 …` |
//! | MSE:SET AT (TA) | `00 22 81 A4 Lc 80 0A id-TA-ECDSA-SHA-256 83 L CHR 91 20 Comp(ePK) 67 L aux` |
//! | GET CHALLENGE | `00 84 00 00 08` → r_card (8 bytes) |
//! | EXTERNAL AUTHENTICATE | `00 82 00 00 40 r‖s` over `ID_card ‖ r_card ‖ Comp(ePK) ‖ 67-object` |
//! | MSE:SET AT (CA) | `00 22 41 A4 0C 80 0A id-CA-ECDH-AES-CBC-CMAC-128` |
//! | GENERAL AUTHENTICATE | `00 86 00 00 45 7C 43 80 41 ePK 00` → `7C 14 81 08 nonce 82 08 token` |
//!
//! `ID_card` is the card-number hash of EF.ChipAuthInfo (32 bytes), `Comp(ePK)` the
//! x-coordinate of the terminal's ephemeral key. Keys: `K_enc = SHA-256(S ‖ nonce ‖
//! 00 00 00 01)[0..16]`, `K_mac = SHA-256(S ‖ nonce ‖ 00 00 00 02)[0..16]`, S the
//! x-coordinate of the ECDH point; token = `AES-CMAC(K_mac, 7F49 4F 06 0A
//! id-CA-ECDH-AES-CBC-CMAC-128 86 41 ePK)[0..8]`.

use aes::Aes128;
use cmac::{Cmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ber::{self, BerError, Reader};
use super::cvc::{
    CertRef, Cvc, CvcError, PublicKey, RIGHT_WRITE_ADDRESS, Role, TrustAnchor, VerifiedKey, random_secret, verify_link,
};
use super::record::{WriteIntent, WriteTarget};
use super::sm::SessionKeys;
use super::{CvDate, OID_CA_ECDH_AES128, OID_TA_ECDSA_SHA256, OID_WRITE_INTENT};
use crate::apdu::{Command, Le};
use crate::auth::RandomSource;
use crate::crypto::Key16;

/// Failures of Terminal or Chip Authentication, on either side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EacError {
    /// A data field is not the TLV structure the command requires.
    #[error("authentication data objects: {0}")]
    Encoding(#[from] BerError),
    /// A value has the wrong length or form.
    #[error("malformed authentication data: {0}")]
    Malformed(&'static str),
    /// A certificate failed to parse or verify.
    #[error(transparent)]
    Certificate(#[from] CvcError),
    /// MSE:SET DST or MSE:SET AT names a key the card has not verified in this session.
    #[error("unknown key reference {0}")]
    UnknownKey(String),
    /// The mechanism OID is not the one AWP v1 uses.
    #[error("unsupported authentication mechanism")]
    Mechanism,
    /// A command out of order (a certificate with no key selected, EXTERNAL
    /// AUTHENTICATE without a challenge, a second use of a challenge, CA before TA).
    #[error("authentication command out of order: {0}")]
    OutOfOrder(&'static str),
    /// The terminal's signature does not verify.
    #[error("terminal authentication signature does not verify")]
    BadSignature,
    /// A public key is not a valid P-256 point.
    #[error("invalid public key")]
    PublicKey,
    /// The ephemeral key of GENERAL AUTHENTICATE is not the one Terminal
    /// Authentication bound (TR-03110 Part 3 §3.4.1).
    #[error("ephemeral key differs from the one authenticated by Terminal Authentication")]
    EphemeralKeyMismatch,
    /// The card's authentication token does not verify: not the chip whose key
    /// EF.ChipAuthInfo carries.
    #[error("chip authentication token does not verify")]
    TokenMismatch,
}

impl EacError {
    /// The status word a card answers for this error (TR-03110 Part 3 B.11):
    /// `63 00` for a verification failure, `69 85` for a command out of order,
    /// `6A 88` for an unknown key, `6A 80` for malformed data.
    pub fn status_word(&self) -> u16 {
        match self {
            EacError::Certificate(CvcError::Encoding(_))
            | EacError::Encoding(_)
            | EacError::Malformed(_)
            | EacError::PublicKey => 0x6A80,
            EacError::Certificate(_)
            | EacError::BadSignature
            | EacError::EphemeralKeyMismatch
            | EacError::TokenMismatch => 0x6300,
            EacError::UnknownKey(_) => 0x6A88,
            EacError::Mechanism => 0x6A80,
            EacError::OutOfOrder(_) => 0x6985,
        }
    }
}

/// The TA auxiliary data `67` carrying the write intent (AWP §4.3a):
/// `67 3C 73 3A 06 15 id-AWP-write-intent 53 21 target ‖ SHA-256(content)`.
pub fn encode_aux(intent: &WriteIntent) -> Vec<u8> {
    let mut ddt = ber::encode(0x06, &OID_WRITE_INTENT);
    ber::push(&mut ddt, 0x53, &intent.to_bytes());
    ber::encode(0x67, &ber::encode(0x73, &ddt))
}

/// Parses the `67` object; exactly one discretionary-data template, the write intent.
pub fn parse_aux(data: &[u8]) -> Result<WriteIntent, EacError> {
    let mut r = Reader::new(data);
    let aux = r.expect(0x67)?;
    r.finish()?;
    let mut r = Reader::inside(&aux);
    let ddt = r.expect(0x73)?;
    r.finish()?;
    let mut r = Reader::inside(&ddt);
    let oid = r.expect(0x06)?;
    let value = r.expect(0x53)?;
    r.finish()?;
    if oid.value != OID_WRITE_INTENT {
        return Err(EacError::Malformed("auxiliary data is not a write intent"));
    }
    WriteIntent::from_bytes(value.value).ok_or(EacError::Malformed("write intent is not target ‖ SHA-256"))
}

/// The message the terminal signs in EXTERNAL AUTHENTICATE (TR-03110 Part 3 §3.3):
/// `ID_card ‖ r_card ‖ Comp(ePK) ‖ aux` (aux: the encoded `67` object).
pub fn ta_message(id_card: &[u8; 32], r_card: &[u8; 8], eph_comp: &[u8; 32], aux: &[u8]) -> Vec<u8> {
    [&id_card[..], r_card, eph_comp, aux].concat()
}

/// The terminal's (authority's) Terminal Authentication commands.
pub mod ta {
    use super::*;

    /// MSE:SET DST naming the key that verifies the next certificate (its CAR).
    pub fn mse_set_dst(car: &CertRef) -> Command {
        Command::new(0x00, 0x22, 0x81, 0xB6).with_data(&ber::encode(0x83, car.as_bytes()))
    }

    /// PSO:VERIFY CERTIFICATE with the certificate's body and signature.
    pub fn pso_verify_certificate(cert: &Cvc) -> Command {
        Command::new(0x00, 0x2A, 0x00, 0xBE).with_data(&cert.contents())
    }

    /// MSE:SET AT for Terminal Authentication.
    pub fn mse_set_at(chr: &CertRef, eph_comp: &[u8; 32], aux: &[u8]) -> Command {
        let mut d = ber::encode(0x80, &OID_TA_ECDSA_SHA256);
        ber::push(&mut d, 0x83, chr.as_bytes());
        ber::push(&mut d, 0x91, eph_comp);
        d.extend_from_slice(aux);
        Command::new(0x00, 0x22, 0x81, 0xA4).with_data(&d)
    }

    /// GET CHALLENGE for 8 bytes.
    pub fn get_challenge() -> Command {
        Command::new(0x00, 0x84, 0x00, 0x00).with_le(Le::Short(8))
    }

    /// EXTERNAL AUTHENTICATE with the signature `r ‖ s`.
    pub fn external_authenticate(signature: &[u8; 64]) -> Command {
        Command::new(0x00, 0x82, 0x00, 0x00).with_data(signature)
    }

    /// The card's challenge from the GET CHALLENGE response data.
    pub fn parse_challenge(data: &[u8]) -> Result<[u8; 8], EacError> {
        data.try_into().map_err(|_| EacError::Malformed("challenge is not 8 bytes"))
    }
}

/// The ephemeral public key as a public-key data object, the token's input.
pub fn ephemeral_key_object(eph: &PublicKey) -> Vec<u8> {
    super::cvc::encode_public_key(&OID_CA_ECDH_AES128, eph)
}

/// `K = SHA-256(S ‖ nonce ‖ counter)[0..16]` (AWP §4.3b; TR-03110 Part 3 A.2.3).
pub fn kdf(shared: &[u8], nonce: &[u8; 8], counter: u32) -> Key16 {
    let mut h = Sha256::new();
    h.update(shared);
    h.update(nonce);
    h.update(counter.to_be_bytes());
    let mut digest = Zeroizing::new([0u8; 32]);
    digest.copy_from_slice(&h.finalize());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    let key = Key16::from_bytes(k);
    zeroize::Zeroize::zeroize(&mut k);
    key
}

/// K_enc (counter 1) and K_mac (counter 2).
pub fn derive_keys(shared: &[u8], nonce: &[u8; 8]) -> SessionKeys {
    SessionKeys::new(kdf(shared, nonce, 1), kdf(shared, nonce, 2))
}

/// The authentication token: `AES-CMAC(K_mac, ephemeral key object)[0..8]`.
pub fn token(k_mac: &Key16, eph: &PublicKey) -> [u8; 8] {
    let mut m = <Cmac<Aes128> as KeyInit>::new(k_mac.expose().into());
    m.update(&ephemeral_key_object(eph));
    let full = m.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// MSE:SET AT for Chip Authentication.
pub fn ca_mse_set_at() -> Command {
    Command::new(0x00, 0x22, 0x41, 0xA4).with_data(&ber::encode(0x80, &OID_CA_ECDH_AES128))
}

/// GENERAL AUTHENTICATE with the ephemeral public key (`7C { 80 ePK }`, Le 00).
pub fn ca_general_authenticate(eph: &PublicKey) -> Command {
    let inner = ber::encode(0x80, &eph.to_uncompressed());
    Command::new(0x00, 0x86, 0x00, 0x00).with_data(&ber::encode(0x7C, &inner)).with_le(Le::Short(0))
}

/// The terminal's ephemeral key for one write session: its `Comp` goes into TA,
/// its public key into CA; it computes the shared secret and checks the token.
pub struct ChipAuthTerminal {
    secret: p256::SecretKey,
}

impl core::fmt::Debug for ChipAuthTerminal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChipAuthTerminal(<redacted>)")
    }
}

impl ChipAuthTerminal {
    /// A fresh ephemeral key.
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        ChipAuthTerminal { secret: random_secret(rng) }
    }

    /// The ephemeral public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_p256(self.secret.public_key())
    }

    /// `Comp(ePK)`: its x-coordinate.
    pub fn comp(&self) -> [u8; 32] {
        self.public_key().x_coordinate()
    }

    /// Finishes Chip Authentication with the GENERAL AUTHENTICATE response data:
    /// derives the keys from ECDH with the chip's static key (from EF.ChipAuthInfo)
    /// and the nonce, and checks the token in constant time. Consumes the ephemeral key.
    pub fn finish(self, chip_key: &PublicKey, response: &[u8]) -> Result<SessionKeys, EacError> {
        let (nonce, tok) = parse_general_authenticate_response(response)?;
        let shared = self.secret.diffie_hellman(chip_key.as_p256());
        let keys = derive_keys(shared.raw_secret_bytes(), &nonce);
        let expect = token(keys.k_mac(), &self.public_key());
        if !bool::from(expect.ct_eq(&tok)) {
            return Err(EacError::TokenMismatch);
        }
        Ok(keys)
    }
}

/// Parses `7C { 81 08 nonce, 82 08 token }`.
pub fn parse_general_authenticate_response(data: &[u8]) -> Result<([u8; 8], [u8; 8]), EacError> {
    let mut r = Reader::new(data);
    let dad = r.expect(0x7C)?;
    r.finish()?;
    let mut r = Reader::inside(&dad);
    let n = r.expect(0x81)?;
    let t = r.expect(0x82)?;
    r.finish()?;
    let nonce = n.value.try_into().map_err(|_| EacError::Malformed("nonce is not 8 bytes"))?;
    let tok = t.value.try_into().map_err(|_| EacError::Malformed("token is not 8 bytes"))?;
    Ok((nonce, tok))
}

/// The card's static chip-authentication key (AWP §2). Never leaves the card; wiped
/// on drop; never printed.
#[derive(Clone)]
pub struct ChipAuthKey {
    secret: p256::SecretKey,
}

impl core::fmt::Debug for ChipAuthKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChipAuthKey(<redacted>)")
    }
}

impl ChipAuthKey {
    /// A fresh key (issuance).
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        ChipAuthKey { secret: random_secret(rng) }
    }

    /// A key from its 32-byte scalar (a stored card).
    pub fn from_scalar(b: &[u8; 32]) -> Option<Self> {
        p256::SecretKey::from_slice(b).ok().map(|secret| ChipAuthKey { secret })
    }

    /// The scalar, for storing a simulated card.
    pub fn to_scalar(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        let mut b = self.secret.to_bytes();
        out.copy_from_slice(&b);
        zeroize::Zeroize::zeroize(&mut b[..]);
        out
    }

    /// The public key that EF.ChipAuthInfo carries.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_p256(self.secret.public_key())
    }
}

/// The card's half of Chip Authentication.
#[derive(Debug)]
pub enum ChipAuthentication {}

impl ChipAuthentication {
    /// Checks MSE:SET AT for CA: exactly `80 0A id-CA-ECDH-AES-CBC-CMAC-128`.
    pub fn check_set_at(data: &[u8]) -> Result<(), EacError> {
        let mut r = Reader::new(data);
        let m = r.expect(0x80)?;
        r.finish()?;
        if m.value != OID_CA_ECDH_AES128 { Err(EacError::Mechanism) } else { Ok(()) }
    }

    /// Answers GENERAL AUTHENTICATE: checks that the ephemeral key is the one whose
    /// `Comp` Terminal Authentication bound, draws the nonce, derives the keys and
    /// returns the response data `7C 14 81 08 nonce 82 08 token` with the keys.
    pub fn respond(
        key: &ChipAuthKey,
        ta_eph_comp: &[u8; 32],
        command_data: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<(Vec<u8>, SessionKeys), EacError> {
        let mut r = Reader::new(command_data);
        let dad = r.expect(0x7C)?;
        r.finish()?;
        let mut r = Reader::inside(&dad);
        let pk = r.expect(0x80)?;
        r.finish()?;
        let eph = PublicKey::from_uncompressed(pk.value).ok_or(EacError::PublicKey)?;
        if !bool::from(eph.x_coordinate().ct_eq(ta_eph_comp)) {
            return Err(EacError::EphemeralKeyMismatch);
        }
        let mut nonce = [0u8; 8];
        rng.fill(&mut nonce);
        let shared = key.secret.diffie_hellman(eph.as_p256());
        let keys = derive_keys(shared.raw_secret_bytes(), &nonce);
        let tok = token(keys.k_mac(), &eph);
        let mut inner = ber::encode(0x81, &nonce);
        ber::push(&mut inner, 0x82, &tok);
        Ok((ber::encode(0x7C, &inner), keys))
    }
}

/// What a successful Terminal Authentication establishes on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaResult {
    /// The terminal's reference.
    pub terminal_chr: CertRef,
    /// Its effective rights (the AND over its chain).
    pub rights: u8,
    /// The write intent the terminal signed.
    pub intent: WriteIntent,
    /// `Comp` of the terminal's ephemeral key, which Chip Authentication must use.
    pub eph_comp: [u8; 32],
}

impl TaResult {
    /// Whether the terminal has the write right and signed this exact write: the
    /// card's check before it commits an UPDATE BINARY (AWP §4.3d).
    pub fn authorises(&self, target: WriteTarget, content: &[u8]) -> bool {
        self.rights & RIGHT_WRITE_ADDRESS != 0 && self.intent.authorises(target, content)
    }
}

/// The card's half of Terminal Authentication, one command at a time (TR-03110 Part
/// 3 §3.3, B.11): certificates under MSE:SET DST + PSO:VERIFY CERTIFICATE, then
/// MSE:SET AT, GET CHALLENGE, EXTERNAL AUTHENTICATE. Each challenge serves one
/// EXTERNAL AUTHENTICATE only, so a signature from another session never verifies.
#[derive(Debug)]
pub struct TerminalAuthCard {
    anchor: TrustAnchor,
    card_date: CvDate,
    id_card: [u8; 32],
    known: Vec<VerifiedKey>,
    selected: Option<usize>,
    terminal: Option<usize>,
    eph_comp: Option<[u8; 32]>,
    aux: Option<(Vec<u8>, WriteIntent)>,
    challenge: Option<[u8; 8]>,
}

impl TerminalAuthCard {
    /// Starts TA on a card that trusts `anchor` (its write CVCA), with its stored
    /// card date, and `id_card` (the card-number hash of its EF.ChipAuthInfo).
    pub fn new(anchor: TrustAnchor, card_date: CvDate, id_card: [u8; 32]) -> Self {
        let root = VerifiedKey::anchor(&anchor);
        TerminalAuthCard {
            anchor,
            card_date,
            id_card,
            known: vec![root],
            selected: None,
            terminal: None,
            eph_comp: None,
            aux: None,
            challenge: None,
        }
    }

    /// The card date: the stored one advanced by every certificate verified so far
    /// (the card persists it).
    pub fn card_date(&self) -> CvDate {
        self.card_date
    }

    /// MSE:SET DST: selects the key named by `83` (the anchor or a certificate
    /// verified in this session).
    pub fn mse_set_dst(&mut self, data: &[u8]) -> Result<(), EacError> {
        self.selected = None;
        let mut r = Reader::new(data);
        let car = r.expect(0x83)?;
        r.finish()?;
        let car = CertRef::from_bytes(car.value)?;
        let i = self.known.iter().position(|k| k.chr == car).ok_or_else(|| EacError::UnknownKey(car.to_string()))?;
        self.selected = Some(i);
        Ok(())
    }

    /// PSO:VERIFY CERTIFICATE under the selected key, against the card date; on
    /// success the holder's key becomes known and the card date advances.
    pub fn pso_verify_certificate(&mut self, data: &[u8]) -> Result<(), EacError> {
        let i = self.selected.take().ok_or(EacError::OutOfOrder("no key selected by MSE:SET DST"))?;
        let cert = Cvc::parse_contents(data)?;
        let holder = verify_link(&self.known[i], &cert, &self.anchor.role_oid, self.card_date)?;
        self.card_date = self.card_date.max(cert.body().effective);
        self.known.retain(|k| k.chr != holder.chr);
        self.known.push(holder);
        Ok(())
    }

    /// MSE:SET AT for TA: `80` id-TA-ECDSA-SHA-256, `83` a verified terminal's CHR,
    /// `91` Comp(ePK), `67` the write intent. Any earlier challenge is void.
    pub fn mse_set_at(&mut self, data: &[u8]) -> Result<(), EacError> {
        self.terminal = None;
        self.eph_comp = None;
        self.aux = None;
        self.challenge = None;
        let mut r = Reader::new(data);
        let mech = r.expect(0x80)?;
        let chr = r.expect(0x83)?;
        let comp = r.expect(0x91)?;
        let aux = r.expect(0x67)?;
        r.finish()?;
        if mech.value != OID_TA_ECDSA_SHA256 {
            return Err(EacError::Mechanism);
        }
        let chr = CertRef::from_bytes(chr.value)?;
        let i = self
            .known
            .iter()
            .position(|k| k.chr == chr && k.role == Role::Terminal)
            .ok_or_else(|| EacError::UnknownKey(chr.to_string()))?;
        let comp: [u8; 32] = comp.value.try_into().map_err(|_| EacError::Malformed("Comp(ePK) is not 32 bytes"))?;
        let intent = parse_aux(aux.raw)?;
        self.terminal = Some(i);
        self.eph_comp = Some(comp);
        self.aux = Some((aux.raw.to_vec(), intent));
        Ok(())
    }

    /// GET CHALLENGE: draws and remembers a fresh r_card (after MSE:SET AT).
    pub fn get_challenge(&mut self, rng: &mut dyn RandomSource) -> Result<[u8; 8], EacError> {
        if self.terminal.is_none() {
            return Err(EacError::OutOfOrder("GET CHALLENGE before MSE:SET AT"));
        }
        let mut r = [0u8; 8];
        rng.fill(&mut r);
        self.challenge = Some(r);
        Ok(r)
    }

    /// EXTERNAL AUTHENTICATE: verifies the terminal's signature over `ID_card ‖
    /// r_card ‖ Comp(ePK) ‖ aux`. The challenge is used up whatever the outcome.
    pub fn external_authenticate(&mut self, data: &[u8]) -> Result<TaResult, EacError> {
        let r_card =
            self.challenge.take().ok_or(EacError::OutOfOrder("EXTERNAL AUTHENTICATE without a fresh challenge"))?;
        let (Some(i), Some(comp), Some((aux, intent))) = (self.terminal, self.eph_comp, self.aux.clone()) else {
            return Err(EacError::OutOfOrder("EXTERNAL AUTHENTICATE before MSE:SET AT"));
        };
        if data.len() != 64 {
            return Err(EacError::Malformed("signature is not 64 bytes"));
        }
        let term = &self.known[i];
        if !term.key.verify(&ta_message(&self.id_card, &r_card, &comp, &aux), data) {
            return Err(EacError::BadSignature);
        }
        Ok(TaResult { terminal_chr: term.chr.clone(), rights: term.rights, intent, eph_comp: comp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::FixedRandom;
    use crate::write::cvc::tests::{date, pki};
    use crate::write::cvc::{Signer, SoftwareSigner};

    fn intent() -> WriteIntent {
        WriteIntent { target: WriteTarget::Df2Ef01, content_hash: [0xAB; 32] }
    }

    #[test]
    fn command_layouts() {
        let p = pki();
        let c = ta::mse_set_dst(p.dv.car());
        assert_eq!(&c.encode()[..], [&[0x00, 0x22, 0x81, 0xB6, 0x10, 0x83, 0x0E][..], b"JPAWPCVCA00001"].concat());
        let c = ta::pso_verify_certificate(&p.term);
        assert_eq!(&c.encode()[..4], &[0x00, 0x2A, 0x00, 0xBE]);
        assert_eq!(&c.data[..], &p.term.contents()[..]);
        let aux = encode_aux(&intent());
        assert_eq!(aux.len(), 62);
        assert_eq!(&aux[..6], &[0x67, 0x3C, 0x73, 0x3A, 0x06, 0x15]);
        assert_eq!(&aux[27..30], &[0x53, 0x21, 0x01]);
        let c = ta::mse_set_at(p.term.chr(), &[0x11; 32], &aux);
        let e = c.encode();
        assert_eq!(&e[..5], &[0x00, 0x22, 0x81, 0xA4, (12 + 16 + 34 + 62) as u8]);
        assert_eq!(&e[5..17], &[0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03]);
        assert_eq!(&ta::get_challenge().encode()[..], &[0x00, 0x84, 0x00, 0x00, 0x08]);
        assert_eq!(&ta::external_authenticate(&[7; 64]).encode()[..5], &[0x00, 0x82, 0x00, 0x00, 0x40]);
        assert_eq!(
            &ca_mse_set_at().encode()[..],
            &[0x00, 0x22, 0x41, 0xA4, 0x0C, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02]
        );
        let eph = ChipAuthTerminal::generate(&mut FixedRandom::new(&[9]));
        let e = ca_general_authenticate(&eph.public_key()).encode();
        assert_eq!(&e[..10], &[0x00, 0x86, 0x00, 0x00, 0x45, 0x7C, 0x43, 0x80, 0x41, 0x04]);
        assert_eq!((e.len(), e[e.len() - 1]), (5 + 0x45 + 1, 0x00));
        assert_eq!(parse_aux(&aux), Ok(intent()));
        assert!(parse_aux(&aux[..61]).is_err());
    }

    /// Known answers computed independently with Python's `cryptography` (ECDH on
    /// P-256, SHA-256 KDF, AES-CMAC token): terminal ephemeral scalar 01…01 (32 ×
    /// `01`), chip scalar 02…02, nonce 00 01 … 07.
    #[test]
    fn kdf_and_token_known_answers() {
        let eph = ChipAuthTerminal { secret: p256::SecretKey::from_slice(&[1u8; 32]).unwrap() };
        let chip = ChipAuthKey::from_scalar(&[2u8; 32]).unwrap();
        let nonce = [0u8, 1, 2, 3, 4, 5, 6, 7];
        let shared = chip.secret.diffie_hellman(eph.public_key().as_p256());
        assert_eq!(hex::encode(shared.raw_secret_bytes()), KAT_SHARED);
        let keys = derive_keys(shared.raw_secret_bytes(), &nonce);
        assert_eq!(hex::encode(keys.k_enc().expose()), KAT_KENC);
        assert_eq!(hex::encode(keys.k_mac().expose()), KAT_KMAC);
        let tok = token(keys.k_mac(), &eph.public_key());
        assert_eq!(hex::encode(tok), KAT_TOKEN);
        // The card's response carries that token; the terminal accepts it.
        let (resp, _) = ChipAuthentication::respond(
            &chip,
            &eph.comp(),
            &ca_general_authenticate(&eph.public_key()).data,
            &mut FixedRandom::new(&nonce),
        )
        .unwrap();
        assert_eq!(hex::encode(&resp), format!("7c148108{}8208{}", hex::encode(nonce), KAT_TOKEN));
        eph.finish(&chip.public_key(), &resp).unwrap();
    }
    const KAT_SHARED: &str = "eb459a6b30d70eb4c0ddcd34ea96ed59e8f8d1843c22dd895ab603aa13d9a81d";
    const KAT_KENC: &str = "2af5065ea3ae9864ffae845a6ee28a09";
    const KAT_KMAC: &str = "07b29f9db257bf9887016c53095d07c5";
    const KAT_TOKEN: &str = "9336a5aafd46386a";

    #[test]
    fn wrong_chip_or_tampered_token_is_refused() {
        let chip = ChipAuthKey::generate(&mut FixedRandom::new(&[4, 2]));
        let other = ChipAuthKey::generate(&mut FixedRandom::new(&[5, 3]));
        let mut rng = FixedRandom::new(&[8, 1, 3]);
        let eph = ChipAuthTerminal::generate(&mut rng);
        let ga = ca_general_authenticate(&eph.public_key());
        let (resp, _) = ChipAuthentication::respond(&other, &eph.comp(), &ga.data, &mut rng).unwrap();
        assert_eq!(eph.finish(&chip.public_key(), &resp).unwrap_err(), EacError::TokenMismatch);
        let eph = ChipAuthTerminal::generate(&mut rng);
        let ga = ca_general_authenticate(&eph.public_key());
        let (mut resp, _) = ChipAuthentication::respond(&chip, &eph.comp(), &ga.data, &mut rng).unwrap();
        let n = resp.len();
        resp[n - 1] ^= 1;
        assert_eq!(eph.finish(&chip.public_key(), &resp).unwrap_err(), EacError::TokenMismatch);
        // The card refuses a GA key other than the one TA bound.
        let eph2 = ChipAuthTerminal::generate(&mut rng);
        let e = ChipAuthentication::respond(&chip, &eph2.comp(), &ga.data, &mut rng).unwrap_err();
        assert_eq!(e, EacError::EphemeralKeyMismatch);
        assert_eq!(e.status_word(), 0x6300);
        assert!(ChipAuthentication::check_set_at(&ca_mse_set_at().data).is_ok());
        assert_eq!(
            ChipAuthentication::check_set_at(&ber::encode(0x80, &OID_TA_ECDSA_SHA256)),
            Err(EacError::Mechanism)
        );
        assert!(format!("{chip:?}{eph2:?}").matches("redacted").count() == 2);
    }

    /// Runs TA on the card side with the given chain and signer; returns the card and the result.
    fn run_ta(chain: &[Cvc], signer: &dyn Signer, card_date: CvDate) -> (TerminalAuthCard, Result<TaResult, EacError>) {
        let p = pki();
        let anchor = TrustAnchor::from_self_signed(&p.cvca).unwrap();
        let id = [0x33u8; 32];
        let mut card = TerminalAuthCard::new(anchor, card_date, id);
        for c in chain {
            if let Err(e) = card
                .mse_set_dst(&ta::mse_set_dst(c.car()).data)
                .and_then(|_| card.pso_verify_certificate(&ta::pso_verify_certificate(c).data))
            {
                return (card, Err(e));
            }
        }
        let term = chain.last().unwrap();
        let comp = [0x44u8; 32];
        let aux = encode_aux(&intent());
        if let Err(e) = card.mse_set_at(&ta::mse_set_at(term.chr(), &comp, &aux).data) {
            return (card, Err(e));
        }
        let r = card.get_challenge(&mut FixedRandom::new(&[0x55])).unwrap();
        let sig = signer.sign(&ta_message(&id, &r, &comp, &aux)).unwrap();
        let res = card.external_authenticate(&ta::external_authenticate(&sig).data);
        (card, res)
    }

    #[test]
    fn terminal_authentication_on_the_card() {
        let p = pki();
        let (card, r) = run_ta(&[p.dv.clone(), p.term.clone()], &p.term_key, date(2026, 3, 1));
        let r = r.unwrap();
        assert_eq!(r.terminal_chr.as_str(), "JPAWPTERM00001");
        assert_eq!(r.intent, intent());
        assert_eq!(r.eph_comp, [0x44; 32]);
        assert_eq!(card.card_date(), date(2026, 4, 1));
        let content = b"whatever";
        assert!(!r.authorises(WriteTarget::Df2Ef01, content));
        let real = WriteIntent::of(WriteTarget::Df2Ef01, content);
        let ok = TaResult { intent: real, ..r.clone() };
        assert!(ok.authorises(WriteTarget::Df2Ef01, content));
        assert!(!TaResult { rights: 0, ..ok }.authorises(WriteTarget::Df2Ef01, content));
    }

    #[test]
    fn terminal_authentication_refusals_on_the_card() {
        let p = pki();
        // Signed by another key than the certificate's.
        let (_, r) = run_ta(&[p.dv.clone(), p.term.clone()], &p.dv_key, date(2026, 3, 1));
        assert_eq!(r.unwrap_err(), EacError::BadSignature);
        // Expired against the card date.
        let (_, r) = run_ta(&[p.dv.clone(), p.term.clone()], &p.term_key, date(2026, 7, 1));
        assert!(matches!(r.unwrap_err(), EacError::Certificate(CvcError::Expired { .. })));
        // A chain from another CVCA: the DV's CAR is known, its signature is not.
        let rogue = SoftwareSigner::generate(&mut FixedRandom::new(&[77]));
        let mut b = p.dv.body().clone();
        b.public_key = p.dv_key.public_key();
        let dv_rogue = b.sign(&rogue).unwrap();
        let (_, r) = run_ta(&[dv_rogue, p.term.clone()], &p.term_key, date(2026, 3, 1));
        assert!(matches!(r.unwrap_err(), EacError::Certificate(CvcError::BadSignature { .. })));
        // The terminal certificate without its DV: its CAR names no known key.
        let (_, r) = run_ta(std::slice::from_ref(&p.term), &p.term_key, date(2026, 3, 1));
        assert_eq!(r.unwrap_err(), EacError::UnknownKey("JPAWPDV000001".into()));
    }

    #[test]
    fn a_signature_cannot_be_replayed() {
        let p = pki();
        let anchor = TrustAnchor::from_self_signed(&p.cvca).unwrap();
        let id = [0x33u8; 32];
        let comp = [0x44u8; 32];
        let aux = encode_aux(&intent());
        let mut card = TerminalAuthCard::new(anchor, date(2026, 3, 1), id);
        for c in [&p.dv, &p.term] {
            card.mse_set_dst(&ta::mse_set_dst(c.car()).data).unwrap();
            card.pso_verify_certificate(&ta::pso_verify_certificate(c).data).unwrap();
        }
        let set_at = ta::mse_set_at(p.term.chr(), &comp, &aux);
        card.mse_set_at(&set_at.data).unwrap();
        let mut rng = FixedRandom::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let r1 = card.get_challenge(&mut rng).unwrap();
        let sig = p.term_key.sign(&ta_message(&id, &r1, &comp, &aux)).unwrap();
        card.external_authenticate(&sig).unwrap();
        // The same signature again: the challenge is used up.
        assert!(matches!(card.external_authenticate(&sig), Err(EacError::OutOfOrder(_))));
        // In a new round with a fresh challenge, the old signature does not verify.
        card.mse_set_at(&set_at.data).unwrap();
        let r2 = card.get_challenge(&mut rng).unwrap();
        assert_ne!(r1, r2);
        assert_eq!(card.external_authenticate(&sig), Err(EacError::BadSignature));
        // Nor does a signature over another intent.
        card.mse_set_at(&set_at.data).unwrap();
        let r3 = card.get_challenge(&mut rng).unwrap();
        let other = encode_aux(&WriteIntent { target: WriteTarget::Df2Ef01, content_hash: [0xCD; 32] });
        let sig = p.term_key.sign(&ta_message(&id, &r3, &comp, &other)).unwrap();
        assert_eq!(card.external_authenticate(&sig), Err(EacError::BadSignature));
    }

    #[test]
    fn order_and_form_on_the_card() {
        let p = pki();
        let anchor = TrustAnchor::from_self_signed(&p.cvca).unwrap();
        let mut card = TerminalAuthCard::new(anchor, date(2026, 3, 1), [0; 32]);
        assert!(matches!(card.pso_verify_certificate(&p.dv.contents()), Err(EacError::OutOfOrder(_))));
        assert!(matches!(card.get_challenge(&mut FixedRandom::new(&[1])), Err(EacError::OutOfOrder(_))));
        assert!(matches!(card.external_authenticate(&[0; 64]), Err(EacError::OutOfOrder(_))));
        // SET AT naming a DV (not a terminal) or an unknown terminal.
        card.mse_set_dst(&ta::mse_set_dst(p.dv.car()).data).unwrap();
        card.pso_verify_certificate(&p.dv.contents()).unwrap();
        let aux = encode_aux(&intent());
        assert!(matches!(
            card.mse_set_at(&ta::mse_set_at(p.dv.chr(), &[0; 32], &aux).data),
            Err(EacError::UnknownKey(_))
        ));
        assert!(matches!(
            card.mse_set_at(&ta::mse_set_at(p.term.chr(), &[0; 32], &aux).data),
            Err(EacError::UnknownKey(_))
        ));
        // A set AT without the intent.
        card.mse_set_dst(&ta::mse_set_dst(p.term.car()).data).unwrap();
        card.pso_verify_certificate(&p.term.contents()).unwrap();
        let c = ta::mse_set_at(p.term.chr(), &[0; 32], &[]);
        assert_eq!(card.mse_set_at(&c.data), Err(EacError::Encoding(BerError::Missing { expected: 0x67 })));
        assert_eq!(EacError::OutOfOrder("x").status_word(), 0x6985);
        assert_eq!(EacError::UnknownKey("x".into()).status_word(), 0x6A88);
    }
}
