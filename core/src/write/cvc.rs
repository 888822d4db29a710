//! Card-verifiable certificates (AWP §2; the layout of BSI TR-03110 Part 3 C.1,
//! restricted to what AWP v1 uses). `docs/write-profile.md` §3 gives the bytes.
//!
//! ```text
//! 7F21 CV certificate
//!   7F4E certificate body (the signed bytes: tag, length and value)
//!     5F29 01  profile identifier 00
//!     42   CAR certification authority reference, 8–16 letters/digits
//!     7F49 public key { 06 0A id-TA-ECDSA-SHA-256, 86 41 04 ‖ X ‖ Y (P-256) }
//!     5F20 CHR certificate holder reference, 8–16 letters/digits
//!     7F4C CHAT { 06 role OID, 53 01 rights }
//!     5F25 06  effective date YYMMDD, one digit per byte
//!     5F24 06  expiry date, the same
//!   5F37 40  ECDSA P-256/SHA-256 signature r ‖ s over the encoded 7F4E object
//! ```
//!
//! The rights byte `53`: bits 8–7 the role (`11` CVCA, `10` DV, `00` terminal; `01`
//! is refused), bits 6–2 reserved (zero), bit 1 ([`RIGHT_WRITE_ADDRESS`]) "write
//! the residence address". As in TR-03110 Part 3 C.4, a terminal's effective rights
//! are the bitwise AND of the rights of every certificate of its chain.
//!
//! Parsing is strict (one encoding per certificate, so `encode(parse(b)) == b`) and
//! separate from verification ([`verify_with_card_date`], [`verify_at`],
//! [`verify_link`]). Keys that sign live behind [`Signer`].

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::elliptic_curve::sec1::ToSec1Point;
use zeroize::Zeroizing;

use super::ber::{self, BerError, Reader};
use super::{CvDate, OID_TA_ECDSA_SHA256};
use crate::auth::RandomSource;

/// Rights bit 1 (the lowest): "write the residence address" (AWP §2).
pub const RIGHT_WRITE_ADDRESS: u8 = 0x01;
/// The rights bits that AWP v1 defines; the others must be zero.
const RIGHTS_DEFINED: u8 = RIGHT_WRITE_ADDRESS;

/// Certificate failures: malformed encodings and every refusal of verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvcError {
    /// The TLV structure is wrong.
    #[error("certificate encoding: {0}")]
    Encoding(#[from] BerError),
    /// The profile identifier `5F29` is not `00`.
    #[error("unsupported certificate profile identifier")]
    Profile,
    /// The public key is not for id-TA-ECDSA-SHA-256.
    #[error("public key algorithm is not id-TA-ECDSA-SHA-256")]
    Algorithm,
    /// The `86` object is not an uncompressed point of P-256.
    #[error("public key is not an uncompressed P-256 point")]
    PublicKey,
    /// The CAR or CHR is not 8–16 ASCII letters and digits.
    #[error("certificate reference is not 8-16 ASCII letters and digits")]
    Reference,
    /// The CHAT is malformed (role `01`, reserved rights bits set, a length other than 1).
    #[error("malformed certificate holder authorisation template")]
    Chat,
    /// A date is not six BCD digits of a real day of 2000–2099.
    #[error("certificate date is not a valid YYMMDD")]
    Date,
    /// The expiry date is before the effective date.
    #[error("certificate expires before it becomes effective")]
    DateOrder,
    /// The signature is not 64 bytes.
    #[error("signature is {0} bytes, not 64")]
    SignatureLength(usize),
    /// The CAR names a key other than the one expected (the card's CVCA, or the
    /// holder of the previous certificate).
    #[error("certificate {chr} is issued by {car}, expected {expected}")]
    UnknownAuthority {
        /// The certificate's holder.
        chr: String,
        /// Its CAR.
        car: String,
        /// The reference of the key that should have issued it.
        expected: String,
    },
    /// The signature does not verify under the issuer's key.
    #[error("signature of certificate {chr} does not verify")]
    BadSignature {
        /// The certificate's holder.
        chr: String,
    },
    /// The CHAT's role OID is not the one the chain requires.
    #[error("certificate {chr} has a role OID of another PKI")]
    RoleOid {
        /// The certificate's holder.
        chr: String,
    },
    /// The roles do not form CVCA → (DV) → terminal (or an empty chain).
    #[error("certificate chain shape: {0}")]
    ChainShape(&'static str),
    /// The certificate expired before the card date (or today).
    #[error("certificate {chr} expired on {expiry}, before {date}")]
    Expired {
        /// The certificate's holder.
        chr: String,
        /// Its expiry date.
        expiry: CvDate,
        /// The card date it was checked against.
        date: CvDate,
    },
    /// The certificate is not yet effective (checked by the authority, which knows the time).
    #[error("certificate {chr} is effective only from {effective}, after {date}")]
    NotYetEffective {
        /// The certificate's holder.
        chr: String,
        /// Its effective date.
        effective: CvDate,
        /// Today.
        date: CvDate,
    },
    /// The chain does not grant the right to write the residence address.
    #[error("certificate chain of {chr} does not grant the write right")]
    NoWriteRight {
        /// The terminal's holder reference.
        chr: String,
    },
    /// A certificate offered as a trust anchor is not a self-signed CVCA certificate.
    #[error("not a self-signed CVCA certificate")]
    NotSelfSigned,
    /// The issuer's signer failed while signing a certificate.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// A certificate reference (CAR, CHR): TR-03110 Part 3 A.6.1's country code,
/// holder mnemonic and sequence number, here 8–16 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertRef(String);

impl CertRef {
    /// Checks and wraps a reference.
    pub fn new(s: &str) -> Result<Self, CvcError> {
        Self::from_bytes(s.as_bytes())
    }

    /// Checks and wraps a reference in its wire form.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CvcError> {
        if !(8..=16).contains(&b.len()) || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(CvcError::Reference);
        }
        Ok(CertRef(String::from_utf8_lossy(b).into_owned()))
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference's bytes, as in `42`, `5F20` and `83`.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl core::fmt::Display for CertRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The role a certificate's CHAT gives its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The root (`11`).
    Cvca,
    /// A document verifier (`10`).
    Dv,
    /// A terminal, or any other leaf (`00`).
    Terminal,
}

impl Role {
    const fn bits(self) -> u8 {
        match self {
            Role::Cvca => 0xC0,
            Role::Dv => 0x80,
            Role::Terminal => 0x00,
        }
    }
}

/// The certificate holder authorisation template (`7F4C`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chat {
    /// The role OID's DER content octets ([`super::OID_ROLE_WRITE`] or
    /// [`super::OID_ROLE_ISSUER`]).
    pub role_oid: Vec<u8>,
    /// The role.
    pub role: Role,
    /// The rights bits (only [`RIGHT_WRITE_ADDRESS`] is defined).
    pub rights: u8,
}

impl Chat {
    fn encode(&self) -> Vec<u8> {
        let mut v = ber::encode(0x06, &self.role_oid);
        ber::push(&mut v, 0x53, &[self.role.bits() | self.rights]);
        ber::encode(0x7F4C, &v)
    }

    fn parse(object: &ber::Object<'_>) -> Result<Self, CvcError> {
        let mut r = Reader::inside(object);
        let oid = r.expect(0x06)?;
        let rights = r.expect(0x53)?;
        r.finish()?;
        if oid.value.is_empty() || rights.value.len() != 1 {
            return Err(CvcError::Chat);
        }
        let b = rights.value[0];
        let role = match b & 0xC0 {
            0xC0 => Role::Cvca,
            0x80 => Role::Dv,
            0x00 => Role::Terminal,
            _ => return Err(CvcError::Chat),
        };
        if b & 0x3F & !RIGHTS_DEFINED != 0 {
            return Err(CvcError::Chat);
        }
        Ok(Chat { role_oid: oid.value.to_vec(), role, rights: b & RIGHTS_DEFINED })
    }
}

/// A P-256 public key in its uncompressed SEC 1 form (`04 ‖ X ‖ Y`), checked to be
/// on the curve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(p256::PublicKey);

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(&self.to_uncompressed()[1..9]))
    }
}

impl PublicKey {
    /// Parses a 65-byte uncompressed point; refuses compressed forms, the identity
    /// and points off the curve.
    pub fn from_uncompressed(b: &[u8]) -> Option<Self> {
        if b.len() != 65 || b[0] != 0x04 {
            return None;
        }
        p256::PublicKey::from_sec1_bytes(b).ok().map(PublicKey)
    }

    /// The 65-byte uncompressed point.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let p = self.0.to_sec1_point(false);
        let mut out = [0u8; 65];
        out.copy_from_slice(p.as_bytes());
        out
    }

    /// `Comp(PK)` of TR-03110 Part 3 A.2.2.3 for ECDH keys: the x-coordinate, 32 bytes.
    pub fn x_coordinate(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.to_uncompressed()[1..33]);
        out
    }

    /// The RustCrypto key.
    pub fn as_p256(&self) -> &p256::PublicKey {
        &self.0
    }

    /// Wraps a RustCrypto key.
    pub fn from_p256(k: p256::PublicKey) -> Self {
        PublicKey(k)
    }

    /// Verifies an ECDSA P-256/SHA-256 signature `r ‖ s` over `msg`.
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
            return false;
        };
        if signature.len() != 64 {
            return false;
        }
        let vk = p256::ecdsa::VerifyingKey::from(&self.0);
        vk.verify(msg, &sig).is_ok()
    }
}

/// A `7F49` public-key object with the given algorithm OID and point.
pub(crate) fn encode_public_key(oid: &[u8], key: &PublicKey) -> Vec<u8> {
    let mut v = ber::encode(0x06, oid);
    ber::push(&mut v, 0x86, &key.to_uncompressed());
    ber::encode(0x7F49, &v)
}

/// Parses a `7F49` object: `06` OID equal to `oid`, then `86` uncompressed point.
pub(crate) fn parse_public_key(object: &ber::Object<'_>, oid: &[u8]) -> Result<PublicKey, CvcError> {
    let mut r = Reader::inside(object);
    let o = r.expect(0x06)?;
    let p = r.expect(0x86)?;
    r.finish()?;
    if o.value != oid {
        return Err(CvcError::Algorithm);
    }
    PublicKey::from_uncompressed(p.value).ok_or(CvcError::PublicKey)
}

/// A failure of a [`Signer`] (a PKCS#11 token, a key file). The message must not
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signer failed: {0}")]
pub struct SignerError(pub String);

/// Something that signs with a P-256 key: ECDSA over SHA-256 of `msg`, the signature
/// as `r ‖ s` (64 bytes). The in-memory [`SoftwareSigner`] here; the authority crate
/// adds a PKCS#11 one.
pub trait Signer {
    /// Signs `msg` (the signer hashes it with SHA-256).
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError>;
}

impl<S: Signer + ?Sized> Signer for &S {
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        (**self).sign(msg)
    }
}

/// A P-256 private key in memory (tests, the demo, a key file). Wiped on drop
/// (the RustCrypto key zeroizes itself); never printed. Signatures are
/// deterministic (RFC 6979).
#[derive(Clone)]
pub struct SoftwareSigner {
    key: p256::ecdsa::SigningKey,
}

impl core::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SoftwareSigner(<redacted>)")
    }
}

impl SoftwareSigner {
    /// A key from its 32-byte scalar; `None` for zero or a value not below the order.
    pub fn from_scalar(bytes: &[u8; 32]) -> Option<Self> {
        p256::ecdsa::SigningKey::from_slice(bytes).ok().map(|key| SoftwareSigner { key })
    }

    /// A fresh key from `rng`.
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        let secret = random_secret(rng);
        SoftwareSigner { key: p256::ecdsa::SigningKey::from(&secret) }
    }

    /// The key's 32-byte scalar, for writing a key file.
    pub fn to_scalar(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        let mut b = self.key.to_bytes();
        out.copy_from_slice(&b);
        zeroize::Zeroize::zeroize(&mut b[..]);
        out
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(p256::PublicKey::from(self.key.verifying_key()))
    }
}

impl Signer for SoftwareSigner {
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        let sig: p256::ecdsa::Signature =
            self.key.try_sign(msg).map_err(|_| SignerError("ECDSA signing failed".into()))?;
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        Ok(out)
    }
}

/// A P-256 secret key drawn from `rng` (retrying the rare values that are not a
/// valid scalar).
pub(crate) fn random_secret(rng: &mut dyn RandomSource) -> p256::SecretKey {
    let mut buf = Zeroizing::new([0u8; 32]);
    loop {
        rng.fill(&mut buf[..]);
        if let Ok(k) = p256::SecretKey::from_slice(&buf[..]) {
            return k;
        }
    }
}

/// The certificate body (`7F4E`): everything the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvcBody {
    /// Certification authority reference: the CHR of the issuer's key.
    pub car: CertRef,
    /// The holder's public key.
    pub public_key: PublicKey,
    /// Certificate holder reference.
    pub chr: CertRef,
    /// Role and rights.
    pub chat: Chat,
    /// First day of validity.
    pub effective: CvDate,
    /// Last day of validity.
    pub expiry: CvDate,
}

impl CvcBody {
    /// The encoded `7F4E` object (tag, length, value): the bytes that are signed.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = ber::encode(0x5F29, &[0x00]);
        ber::push(&mut v, 0x42, self.car.as_bytes());
        v.extend(encode_public_key(&OID_TA_ECDSA_SHA256, &self.public_key));
        ber::push(&mut v, 0x5F20, self.chr.as_bytes());
        v.extend(self.chat.encode());
        ber::push(&mut v, 0x5F25, &self.effective.to_digits());
        ber::push(&mut v, 0x5F24, &self.expiry.to_digits());
        ber::encode(0x7F4E, &v)
    }

    /// Signs the body with the issuer's key. Refuses a body whose dates are out of order.
    pub fn sign(self, issuer: &dyn Signer) -> Result<Cvc, CvcError> {
        if self.expiry < self.effective {
            return Err(CvcError::DateOrder);
        }
        let raw = self.encode();
        let signature = issuer.sign(&raw)?;
        Ok(Cvc { body: self, body_raw: raw, signature })
    }

    fn parse(object: &ber::Object<'_>) -> Result<Self, CvcError> {
        let mut r = Reader::inside(object);
        if r.expect(0x5F29)?.value != [0x00] {
            return Err(CvcError::Profile);
        }
        let car = CertRef::from_bytes(r.expect(0x42)?.value)?;
        let public_key = parse_public_key(&r.expect(0x7F49)?, &OID_TA_ECDSA_SHA256)?;
        let chr = CertRef::from_bytes(r.expect(0x5F20)?.value)?;
        let chat = Chat::parse(&r.expect(0x7F4C)?)?;
        let effective = CvDate::from_digits(r.expect(0x5F25)?.value).ok_or(CvcError::Date)?;
        let expiry = CvDate::from_digits(r.expect(0x5F24)?.value).ok_or(CvcError::Date)?;
        r.finish()?;
        if expiry < effective {
            return Err(CvcError::DateOrder);
        }
        Ok(CvcBody { car, public_key, chr, chat, effective, expiry })
    }
}

/// A card-verifiable certificate: body, its exact encoding, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cvc {
    body: CvcBody,
    body_raw: Vec<u8>,
    signature: [u8; 64],
}

impl Cvc {
    /// Parses a whole certificate (`7F21 …`); nothing may follow it.
    pub fn parse(data: &[u8]) -> Result<Self, CvcError> {
        let mut r = Reader::new(data);
        let outer = r.expect(0x7F21)?;
        r.finish()?;
        Self::parse_from(Reader::inside(&outer))
    }

    /// Parses the certificate's contents, `7F4E … 5F37 …`: the data field of PSO:VERIFY
    /// CERTIFICATE (TR-03110 Part 3 B.11.5).
    pub fn parse_contents(data: &[u8]) -> Result<Self, CvcError> {
        Self::parse_from(Reader::new(data))
    }

    fn parse_from(mut r: Reader<'_>) -> Result<Self, CvcError> {
        let body_obj = r.expect(0x7F4E)?;
        let sig = r.expect(0x5F37)?;
        r.finish()?;
        let body = CvcBody::parse(&body_obj)?;
        let signature: [u8; 64] = sig.value.try_into().map_err(|_| CvcError::SignatureLength(sig.value.len()))?;
        Ok(Cvc { body, body_raw: body_obj.raw.to_vec(), signature })
    }

    /// The contents `7F4E … ‖ 5F37 40 …` (PSO:VERIFY CERTIFICATE data).
    pub fn contents(&self) -> Vec<u8> {
        let mut v = self.body_raw.clone();
        ber::push(&mut v, 0x5F37, &self.signature);
        v
    }

    /// The whole certificate, `7F21 …`.
    pub fn encode(&self) -> Vec<u8> {
        ber::encode(0x7F21, &self.contents())
    }

    /// The body.
    pub fn body(&self) -> &CvcBody {
        &self.body
    }

    /// The signed bytes (the encoded `7F4E` object).
    pub fn body_bytes(&self) -> &[u8] {
        &self.body_raw
    }

    /// The signature `r ‖ s`.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Holder reference.
    pub fn chr(&self) -> &CertRef {
        &self.body.chr
    }

    /// Authority reference.
    pub fn car(&self) -> &CertRef {
        &self.body.car
    }

    /// Whether the signature verifies under `issuer`.
    pub fn signature_valid(&self, issuer: &PublicKey) -> bool {
        issuer.verify(&self.body_raw, &self.signature)
    }
}

/// A root the verifier trusts: the write CVCA's key as the card stores it (AWP §2),
/// or the write-issuer root of EF.ChipAuthInfo. Holds the CHR that certificates
/// name as their CAR, and the role OID of its PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The root's reference.
    pub chr: CertRef,
    /// The root's key.
    pub key: PublicKey,
    /// The role OID every certificate under it must carry.
    pub role_oid: Vec<u8>,
}

impl TrustAnchor {
    /// An anchor from its parts.
    pub fn new(chr: CertRef, key: PublicKey, role_oid: &[u8]) -> Self {
        TrustAnchor { chr, key, role_oid: role_oid.to_vec() }
    }

    /// An anchor from a self-signed root certificate: role CVCA, CAR = CHR, and a
    /// signature that verifies under its own key.
    pub fn from_self_signed(cert: &Cvc) -> Result<Self, CvcError> {
        let b = cert.body();
        if b.chat.role != Role::Cvca || b.car != b.chr || !cert.signature_valid(&b.public_key) {
            return Err(CvcError::NotSelfSigned);
        }
        Ok(TrustAnchor { chr: b.chr.clone(), key: b.public_key, role_oid: b.chat.role_oid.clone() })
    }
}

/// A key the verifier has accepted: the anchor, or the holder of a verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    /// Its reference.
    pub chr: CertRef,
    /// The key.
    pub key: PublicKey,
    /// Its role.
    pub role: Role,
    /// The rights in effect for it: the AND of its own and its issuers' rights.
    pub rights: u8,
}

impl VerifiedKey {
    /// The anchor as the start of a chain (all rights).
    pub fn anchor(anchor: &TrustAnchor) -> Self {
        VerifiedKey { chr: anchor.chr.clone(), key: anchor.key, role: Role::Cvca, rights: RIGHTS_DEFINED }
    }
}

/// Verifies one link, as the card does for each PSO:VERIFY CERTIFICATE (TR-03110
/// Part 3 §2.5): the CAR names `issuer`; the role OID is the anchor's; the roles go
/// down (CVCA → DV or terminal, DV → terminal); the signature verifies under the
/// issuer's key; the certificate has not expired before `card_date`. Returns the
/// holder's key with its effective rights.
pub fn verify_link(
    issuer: &VerifiedKey,
    cert: &Cvc,
    role_oid: &[u8],
    card_date: CvDate,
) -> Result<VerifiedKey, CvcError> {
    let b = cert.body();
    let chr = || b.chr.0.clone();
    if b.car != issuer.chr {
        return Err(CvcError::UnknownAuthority { chr: chr(), car: b.car.0.clone(), expected: issuer.chr.0.clone() });
    }
    if b.chat.role_oid != role_oid {
        return Err(CvcError::RoleOid { chr: chr() });
    }
    match (issuer.role, b.chat.role) {
        (Role::Cvca, Role::Dv | Role::Terminal) | (Role::Dv, Role::Terminal) => {}
        (Role::Terminal, _) => return Err(CvcError::ChainShape("a terminal certificate cannot issue certificates")),
        (_, Role::Cvca) => return Err(CvcError::ChainShape("CVCA link certificates are not supported")),
        (Role::Dv, Role::Dv) => return Err(CvcError::ChainShape("at most one DV level")),
    }
    if !cert.signature_valid(&issuer.key) {
        return Err(CvcError::BadSignature { chr: chr() });
    }
    if b.expiry < card_date {
        return Err(CvcError::Expired { chr: chr(), expiry: b.expiry, date: card_date });
    }
    Ok(VerifiedKey { chr: b.chr.clone(), key: b.public_key, role: b.chat.role, rights: issuer.rights & b.chat.rights })
}

/// A verified chain ending in a terminal certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// The terminal's key, reference and effective rights.
    pub terminal: VerifiedKey,
    /// The card date after the chain: the newest of the old card date and the
    /// effective dates of the chain's certificates (AWP §3).
    pub card_date: CvDate,
}

impl VerifiedChain {
    /// Whether the chain grants the write right.
    pub fn may_write(&self) -> bool {
        self.terminal.rights & RIGHT_WRITE_ADDRESS != 0
    }

    /// Refuses a chain without the write right ([`CvcError::NoWriteRight`]).
    pub fn require_write(&self) -> Result<(), CvcError> {
        if self.may_write() { Ok(()) } else { Err(CvcError::NoWriteRight { chr: self.terminal.chr.0.clone() }) }
    }
}

/// The card's verification of a chain CVCA → (DV) → terminal (AWP §2, §3): every
/// link as [`verify_link`], against the card date, which is then advanced to the
/// newest effective date seen. A certificate not yet effective by the card's
/// date is accepted (the card has no clock; TR-03110 Part 3 §2.5).
pub fn verify_with_card_date(
    chain: &[Cvc],
    anchor: &TrustAnchor,
    card_date: CvDate,
) -> Result<VerifiedChain, CvcError> {
    verify_chain(chain, anchor, card_date, false)
}

/// The authority's check of its own chain on `today`: as the card's, and a
/// certificate must also be effective by `today`.
pub fn verify_at(chain: &[Cvc], anchor: &TrustAnchor, today: CvDate) -> Result<VerifiedChain, CvcError> {
    verify_chain(chain, anchor, today, true)
}

fn verify_chain(
    chain: &[Cvc],
    anchor: &TrustAnchor,
    date: CvDate,
    effective_by_date: bool,
) -> Result<VerifiedChain, CvcError> {
    if chain.is_empty() {
        return Err(CvcError::ChainShape("no certificate"));
    }
    let mut current = VerifiedKey::anchor(anchor);
    let mut card_date = date;
    for cert in chain {
        let b = cert.body();
        if effective_by_date && b.effective > date {
            return Err(CvcError::NotYetEffective { chr: b.chr.0.clone(), effective: b.effective, date });
        }
        current = verify_link(&current, cert, &anchor.role_oid, date)?;
        card_date = card_date.max(b.effective);
    }
    if current.role != Role::Terminal {
        return Err(CvcError::ChainShape("the chain does not end in a terminal certificate"));
    }
    Ok(VerifiedChain { terminal: current, card_date })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::FixedRandom;
    use crate::write::{OID_ROLE_ISSUER, OID_ROLE_WRITE};

    pub(crate) fn signer(seed: u8) -> SoftwareSigner {
        SoftwareSigner::generate(&mut FixedRandom::new(&[seed, 0x5A, seed ^ 0x33, 0x01]))
    }

    pub(crate) fn date(y: u16, m: u8, d: u8) -> CvDate {
        CvDate::new(y, m, d).unwrap()
    }

    /// A test write PKI: CVCA (self-signed), DV, terminal.
    pub(crate) struct Pki {
        pub cvca_key: SoftwareSigner,
        pub cvca: Cvc,
        pub dv_key: SoftwareSigner,
        pub dv: Cvc,
        pub term_key: SoftwareSigner,
        pub term: Cvc,
    }

    pub(crate) fn body(
        car: &str,
        chr: &str,
        key: &SoftwareSigner,
        role: Role,
        rights: u8,
        from: CvDate,
        to: CvDate,
    ) -> CvcBody {
        CvcBody {
            car: CertRef::new(car).unwrap(),
            public_key: key.public_key(),
            chr: CertRef::new(chr).unwrap(),
            chat: Chat { role_oid: OID_ROLE_WRITE.to_vec(), role, rights },
            effective: from,
            expiry: to,
        }
    }

    pub(crate) fn pki() -> Pki {
        let cvca_key = signer(1);
        let dv_key = signer(2);
        let term_key = signer(3);
        let (from, to) = (date(2026, 1, 1), date(2028, 12, 31));
        let cvca = body("JPAWPCVCA00001", "JPAWPCVCA00001", &cvca_key, Role::Cvca, 1, from, date(2035, 1, 1))
            .sign(&cvca_key)
            .unwrap();
        let dv = body("JPAWPCVCA00001", "JPAWPDV000001", &dv_key, Role::Dv, 1, from, to).sign(&cvca_key).unwrap();
        let term =
            body("JPAWPDV000001", "JPAWPTERM00001", &term_key, Role::Terminal, 1, date(2026, 4, 1), date(2026, 6, 30))
                .sign(&dv_key)
                .unwrap();
        Pki { cvca_key, cvca, dv_key, dv, term_key, term }
    }

    fn anchor(p: &Pki) -> TrustAnchor {
        TrustAnchor::from_self_signed(&p.cvca).unwrap()
    }

    #[test]
    fn round_trip_is_byte_exact_and_layout_is_the_documented_one() {
        let p = pki();
        let enc = p.term.encode();
        let back = Cvc::parse(&enc).unwrap();
        assert_eq!(back, p.term);
        assert_eq!(back.encode(), enc);
        assert_eq!(Cvc::parse_contents(&p.term.contents()).unwrap(), p.term);
        // 7F21 81 xx 7F4E 81 yy 5F29 01 00 42 0D "JPAWPDV000001" 7F49 …
        assert_eq!(&enc[..2], &[0x7F, 0x21]);
        let body = p.term.body_bytes();
        assert_eq!(&body[..2], &[0x7F, 0x4E]);
        assert_eq!(body[2], 0x81);
        let inner = &body[4..];
        assert_eq!(&inner[..4], &[0x5F, 0x29, 0x01, 0x00]);
        assert_eq!(&inner[4..6], &[0x42, 13]);
        assert_eq!(&inner[6..19], b"JPAWPDV000001");
        assert_eq!(&inner[19..25], &[0x7F, 0x49, 0x4F, 0x06, 0x0A, 0x04]);
        // The dates, one digit per byte, close the body.
        assert_eq!(&body[body.len() - 18..], &[0x5F, 0x25, 6, 2, 6, 0, 4, 0, 1, 0x5F, 0x24, 6, 2, 6, 0, 6, 3, 0]);
        // The signature is the last object, 64 bytes, and verifies under the DV key.
        assert_eq!(&enc[enc.len() - 67..enc.len() - 64], &[0x5F, 0x37, 0x40]);
        assert!(p.term.signature_valid(&p.dv_key.public_key()));
        assert!(!p.term.signature_valid(&p.cvca_key.public_key()));
    }

    #[test]
    fn malformed_certificates_are_typed_errors() {
        let p = pki();
        let good = p.term.encode();
        // Every truncation is an error, never a panic.
        for n in 0..good.len() {
            assert!(Cvc::parse(&good[..n]).is_err(), "{n}");
        }
        // Trailing byte.
        let mut t = good.clone();
        t.push(0);
        assert!(matches!(Cvc::parse(&t), Err(CvcError::Encoding(BerError::TrailingData { .. }))));
        // Each body field altered.
        let mut b =
            body("JPAWPDV000001", "JPAWPTERM00001", &p.term_key, Role::Terminal, 1, date(2026, 1, 1), date(2026, 2, 1));
        let reencode = |b: &CvcBody| {
            let raw = b.encode();
            let mut v = raw.clone();
            ber::push(&mut v, 0x5F37, &[0u8; 64]);
            ber::encode(0x7F21, &v)
        };
        assert!(Cvc::parse(&reencode(&b)).is_ok());
        b.chat.rights = 0x02;
        assert_eq!(Cvc::parse(&reencode(&b)), Err(CvcError::Chat));
        // Role bits 01 are refused.
        let mut raw = reencode(&body(
            "JPAWPDV000001",
            "JPAWPTERM00001",
            &p.term_key,
            Role::Terminal,
            1,
            date(2026, 1, 1),
            date(2026, 2, 1),
        ));
        let pos = raw.windows(3).position(|w| w == [0x53, 0x01, 0x01]).unwrap();
        raw[pos + 2] = 0x41;
        assert_eq!(Cvc::parse(&raw), Err(CvcError::Chat));
        // Profile 01.
        let mut raw = p.term.encode();
        let pos = raw.windows(3).position(|w| w == [0x5F, 0x29, 0x01]).unwrap();
        raw[pos + 3] = 0x01;
        assert_eq!(Cvc::parse(&raw), Err(CvcError::Profile));
        // Another key algorithm OID.
        let mut raw = p.term.encode();
        let pos = raw.windows(10).position(|w| w == OID_TA_ECDSA_SHA256).unwrap();
        raw[pos + 9] = 0x04;
        assert_eq!(Cvc::parse(&raw), Err(CvcError::Algorithm));
        // A point off the curve.
        let mut raw = p.term.encode();
        let pos = raw.windows(3).position(|w| w == [0x86, 0x41, 0x04]).unwrap();
        raw[pos + 40] ^= 1;
        assert_eq!(Cvc::parse(&raw), Err(CvcError::PublicKey));
        // A date that is not a day.
        let mut raw = p.term.encode();
        let pos = raw.windows(3).position(|w| w == [0x5F, 0x24, 0x06]).unwrap();
        raw[pos + 5] = 1; // month 13
        assert_eq!(Cvc::parse(&raw), Err(CvcError::Date));
        // Expiry before effective.
        let b =
            body("JPAWPDV000001", "JPAWPTERM00001", &p.term_key, Role::Terminal, 1, date(2026, 2, 1), date(2026, 1, 1));
        assert_eq!(Cvc::parse(&reencode(&b)), Err(CvcError::DateOrder));
        assert_eq!(b.sign(&p.dv_key), Err(CvcError::DateOrder));
        // A bad reference.
        assert_eq!(CertRef::new("SHORT"), Err(CvcError::Reference));
        assert_eq!(CertRef::new("JP AWP TERM 01"), Err(CvcError::Reference));
        assert_eq!(CertRef::new("JPAWPTERM000000001"), Err(CvcError::Reference));
        // A short signature.
        let mut v = p.term.body_bytes().to_vec();
        ber::push(&mut v, 0x5F37, &[0u8; 63]);
        assert_eq!(Cvc::parse_contents(&v), Err(CvcError::SignatureLength(63)));
    }

    #[test]
    fn a_valid_chain_verifies_with_and_without_dv() {
        let p = pki();
        let a = anchor(&p);
        let v = verify_with_card_date(&[p.dv.clone(), p.term.clone()], &a, date(2026, 3, 1)).unwrap();
        assert_eq!(v.terminal.chr.as_str(), "JPAWPTERM00001");
        assert_eq!(v.terminal.key, p.term_key.public_key());
        assert!(v.may_write());
        v.require_write().unwrap();
        // The card date advances to the newest effective date.
        assert_eq!(v.card_date, date(2026, 4, 1));
        // An older card date is kept when it is newer than every effective date.
        let v = verify_with_card_date(&[p.dv.clone(), p.term.clone()], &a, date(2026, 5, 1)).unwrap();
        assert_eq!(v.card_date, date(2026, 5, 1));
        // Directly under the CVCA.
        let t2 = body(
            "JPAWPCVCA00001",
            "JPAWPTERM00002",
            &p.term_key,
            Role::Terminal,
            1,
            date(2026, 1, 1),
            date(2026, 12, 31),
        )
        .sign(&p.cvca_key)
        .unwrap();
        verify_with_card_date(&[t2], &a, date(2026, 3, 1)).unwrap().require_write().unwrap();
    }

    #[test]
    fn wrong_car_is_refused() {
        let p = pki();
        let a = anchor(&p);
        // The terminal alone: its CAR is the DV, not the CVCA.
        let e = verify_with_card_date(std::slice::from_ref(&p.term), &a, date(2026, 3, 1)).unwrap_err();
        assert!(
            matches!(e, CvcError::UnknownAuthority { ref car, ref expected, .. } if car == "JPAWPDV000001" && expected == "JPAWPCVCA00001"),
            "{e:?}"
        );
        // Another CVCA with the same name: the CAR matches, the signature does not.
        let rogue = signer(9);
        let rogue_dv =
            body("JPAWPCVCA00001", "JPAWPDV000001", &p.dv_key, Role::Dv, 1, date(2026, 1, 1), date(2028, 1, 1))
                .sign(&rogue)
                .unwrap();
        let e = verify_with_card_date(&[rogue_dv, p.term.clone()], &a, date(2026, 3, 1)).unwrap_err();
        assert_eq!(e, CvcError::BadSignature { chr: "JPAWPDV000001".into() });
    }

    #[test]
    fn bad_signature_is_refused() {
        let p = pki();
        let a = anchor(&p);
        let mut raw = p.term.encode();
        let n = raw.len();
        raw[n - 1] ^= 0x01;
        let forged = Cvc::parse(&raw).unwrap();
        let e = verify_with_card_date(&[p.dv.clone(), forged], &a, date(2026, 3, 1)).unwrap_err();
        assert_eq!(e, CvcError::BadSignature { chr: "JPAWPTERM00001".into() });
        // A body altered after signing (rights raised from 0 to write).
        let weak = body(
            "JPAWPDV000001",
            "JPAWPTERM00001",
            &p.term_key,
            Role::Terminal,
            0,
            date(2026, 4, 1),
            date(2026, 6, 30),
        )
        .sign(&p.dv_key)
        .unwrap();
        let mut raw = weak.encode();
        let pos = raw.windows(3).position(|w| w == [0x53, 0x01, 0x00]).unwrap();
        raw[pos + 2] = 0x01;
        let raised = Cvc::parse(&raw).unwrap();
        assert!(matches!(
            verify_with_card_date(&[p.dv.clone(), raised], &a, date(2026, 3, 1)),
            Err(CvcError::BadSignature { .. })
        ));
    }

    #[test]
    fn expiry_is_checked_against_the_card_date() {
        let p = pki();
        let a = anchor(&p);
        let chain = [p.dv.clone(), p.term.clone()];
        // Valid on its last day.
        verify_with_card_date(&chain, &a, date(2026, 6, 30)).unwrap();
        // Expired the day after.
        let e = verify_with_card_date(&chain, &a, date(2026, 7, 1)).unwrap_err();
        assert_eq!(
            e,
            CvcError::Expired { chr: "JPAWPTERM00001".into(), expiry: date(2026, 6, 30), date: date(2026, 7, 1) }
        );
        // The DV expires too, later.
        let e = verify_with_card_date(&chain, &a, date(2029, 1, 1)).unwrap_err();
        assert!(matches!(e, CvcError::Expired { ref chr, .. } if chr == "JPAWPDV000001"));
        // Not yet effective: accepted by the card (no clock), refused by the authority.
        verify_with_card_date(&chain, &a, date(2026, 3, 1)).unwrap();
        let e = verify_at(&chain, &a, date(2026, 3, 1)).unwrap_err();
        assert_eq!(
            e,
            CvcError::NotYetEffective {
                chr: "JPAWPTERM00001".into(),
                effective: date(2026, 4, 1),
                date: date(2026, 3, 1)
            }
        );
        verify_at(&chain, &a, date(2026, 4, 1)).unwrap();
    }

    #[test]
    fn the_write_right_is_the_and_of_the_chain() {
        let p = pki();
        let a = anchor(&p);
        let from = date(2026, 1, 1);
        let to = date(2026, 12, 31);
        // Terminal without the right.
        let t0 =
            body("JPAWPDV000001", "JPAWPTERM00001", &p.term_key, Role::Terminal, 0, from, to).sign(&p.dv_key).unwrap();
        let v = verify_with_card_date(&[p.dv.clone(), t0], &a, from).unwrap();
        assert!(!v.may_write());
        assert_eq!(v.require_write(), Err(CvcError::NoWriteRight { chr: "JPAWPTERM00001".into() }));
        // DV without the right: its terminal with the bit set still cannot write.
        let dv0 = body("JPAWPCVCA00001", "JPAWPDV000002", &p.dv_key, Role::Dv, 0, from, to).sign(&p.cvca_key).unwrap();
        let t1 =
            body("JPAWPDV000002", "JPAWPTERM00003", &p.term_key, Role::Terminal, 1, from, to).sign(&p.dv_key).unwrap();
        let v = verify_with_card_date(&[dv0, t1], &a, from).unwrap();
        assert!(v.require_write().is_err());
    }

    #[test]
    fn chain_shape_and_role_oid() {
        let p = pki();
        let a = anchor(&p);
        let from = date(2026, 1, 1);
        let to = date(2026, 12, 31);
        assert_eq!(verify_with_card_date(&[], &a, from), Err(CvcError::ChainShape("no certificate")));
        // A chain that stops at the DV.
        assert!(matches!(verify_with_card_date(std::slice::from_ref(&p.dv), &a, from), Err(CvcError::ChainShape(_))));
        // Two DV levels.
        let dv2 = body("JPAWPDV000001", "JPAWPDV000002", &p.dv_key, Role::Dv, 1, from, to).sign(&p.dv_key).unwrap();
        let t =
            body("JPAWPDV000002", "JPAWPTERM00001", &p.term_key, Role::Terminal, 1, from, to).sign(&p.dv_key).unwrap();
        assert_eq!(
            verify_with_card_date(&[p.dv.clone(), dv2, t], &a, from),
            Err(CvcError::ChainShape("at most one DV level"))
        );
        // A certificate issued by a terminal.
        let t2 = body("JPAWPTERM00001", "JPAWPTERM00002", &p.term_key, Role::Terminal, 1, from, to)
            .sign(&p.term_key)
            .unwrap();
        assert!(matches!(
            verify_with_card_date(&[p.dv.clone(), p.term.clone(), t2], &a, from),
            Err(CvcError::ChainShape(_))
        ));
        // A DV of the issuer PKI under the write CVCA.
        let mut b = body("JPAWPCVCA00001", "JPAWPDV000001", &p.dv_key, Role::Dv, 1, from, to);
        b.chat.role_oid = OID_ROLE_ISSUER.to_vec();
        let dv_other = b.sign(&p.cvca_key).unwrap();
        assert_eq!(
            verify_with_card_date(&[dv_other, p.term.clone()], &a, from),
            Err(CvcError::RoleOid { chr: "JPAWPDV000001".into() })
        );
        // Self-signed anchors only.
        assert_eq!(TrustAnchor::from_self_signed(&p.dv), Err(CvcError::NotSelfSigned));
    }

    /// A signature made by another implementation (Python `cryptography`, random k,
    /// DER converted to r ‖ s) with the scalar 03…03 verifies here: the wire form and
    /// the hash agree.
    #[test]
    fn foreign_signature_verifies() {
        let key = SoftwareSigner::from_scalar(&[3u8; 32]).unwrap().public_key();
        let sig = hex::decode(
            "7ef4e2881a6ad314e4fb5cf608505297d31a76e757348b7fb332174d8d4f4848\
             73b5bd6524d0f4f775afbfa5c962d47b84ff65a7ed14b60af447c6856a249db8",
        )
        .unwrap();
        assert!(key.verify(b"7F4E body bytes", &sig));
        assert!(!key.verify(b"7F4E body byteS", &sig));
    }

    #[test]
    fn signer_is_redacted_and_round_trips_its_scalar() {
        let s = signer(7);
        assert_eq!(format!("{s:?}"), "SoftwareSigner(<redacted>)");
        let again = SoftwareSigner::from_scalar(&s.to_scalar()).unwrap();
        assert_eq!(again.public_key(), s.public_key());
        assert!(SoftwareSigner::from_scalar(&[0u8; 32]).is_none());
        assert!(SoftwareSigner::from_scalar(&[0xFF; 32]).is_none());
        let sig = s.sign(b"abc").unwrap();
        assert!(s.public_key().verify(b"abc", &sig));
        assert!(!s.public_key().verify(b"abd", &sig));
        assert!(!s.public_key().verify(b"abc", &sig[..63]));
    }
}
