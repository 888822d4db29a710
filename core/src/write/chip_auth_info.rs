//! EF.ChipAuthInfo (AWP §2, §3): the card's chip-authentication public key, the
//! SHA-256 of its card number and its write-application version, signed by the
//! write issuer's document signer, whose certificate (a CV certificate of the
//! issuer PKI) travels in the file and chains to the write-issuer root the
//! authority trusts. `docs/write-profile.md` §4 gives the bytes:
//!
//! ```text
//! E1 L                                 EF.ChipAuthInfo (zero fill may follow)
//!   E2 L                               the signed content
//!     C1 01 version                    write-application version, 01
//!     C2 20 SHA-256(card number)       the 12 ASCII characters of the 在留カード等番号
//!     7F49 4F { 06 0A id-CA-ECDH-AES-CBC-CMAC-128, 86 41 04 ‖ X ‖ Y }
//!   7F21 L …                           the document signer's CV certificate
//!   5F37 40 r ‖ s                      ECDSA P-256/SHA-256 over the encoded E2 object
//! ```
//!
//! The card-number hash identifies the card to the authority without the number
//! itself, and is the `ID_card` of Terminal Authentication. Because the number has
//! little entropy (about 2^45), the file is readable only after card-number access
//! (AWP §3 as refined in `docs/write-profile.md` §4).

use super::ber::{self, BerError, Reader};
use super::cvc::{Cvc, CvcError, PublicKey, Role, Signer, TrustAnchor, VerifiedKey, parse_public_key, verify_link};
use super::{CvDate, OID_CA_ECDH_AES128, OID_ROLE_ISSUER};
use crate::card_number::CardNumber;

/// The write-application version this library speaks.
pub const WRITE_APP_VERSION: u8 = 0x01;

/// Failures of EF.ChipAuthInfo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChipAuthInfoError {
    /// The TLV structure is wrong.
    #[error("EF.ChipAuthInfo encoding: {0}")]
    Encoding(#[from] BerError),
    /// A field has the wrong length or form, or non-zero bytes follow the object.
    #[error("EF.ChipAuthInfo malformed: {0}")]
    Malformed(&'static str),
    /// A write-application version this library does not speak.
    #[error("write-application version {0} is not supported")]
    Version(u8),
    /// The document signer's certificate, or the chip key, is malformed or does not
    /// chain to the write-issuer root.
    #[error("EF.ChipAuthInfo document signer: {0}")]
    Certificate(#[from] CvcError),
    /// The issuer's signature does not verify.
    #[error("EF.ChipAuthInfo signature does not verify")]
    BadSignature,
    /// The trust anchor given is not a write-issuer root.
    #[error("the trust anchor is not a write-issuer root")]
    NotIssuerRoot,
    /// The card-number hash differs from the number the clerk typed.
    #[error("EF.ChipAuthInfo belongs to another card number")]
    CardNumberMismatch,
}

/// SHA-256 of the card number's 12 ASCII characters.
pub fn card_number_hash(number: &CardNumber) -> [u8; 32] {
    super::sha256(number.expose())
}

/// A parsed EF.ChipAuthInfo (not yet verified: see [`ChipAuthInfo::verify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthInfo {
    version: u8,
    card_number_hash: [u8; 32],
    chip_key: PublicKey,
    signer: Cvc,
    signed: Vec<u8>,
    signature: [u8; 64],
}

/// EF.ChipAuthInfo after its signature and chain verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChipAuthInfo {
    /// Write-application version.
    pub version: u8,
    /// SHA-256 of the card number.
    pub card_number_hash: [u8; 32],
    /// The chip's static key for Chip Authentication.
    pub chip_key: PublicKey,
    /// The document signer's reference.
    pub signer: String,
}

impl ChipAuthInfo {
    /// Builds and signs the file content at issuance.
    pub fn issue(
        card_number_hash: [u8; 32],
        chip_key: &PublicKey,
        signer_cert: Cvc,
        signer: &dyn Signer,
    ) -> Result<Self, ChipAuthInfoError> {
        let mut v = ber::encode(0xC1, &[WRITE_APP_VERSION]);
        ber::push(&mut v, 0xC2, &card_number_hash);
        v.extend(super::cvc::encode_public_key(&OID_CA_ECDH_AES128, chip_key));
        let signed = ber::encode(0xE2, &v);
        let signature = signer.sign(&signed).map_err(CvcError::from)?;
        Ok(ChipAuthInfo {
            version: WRITE_APP_VERSION,
            card_number_hash,
            chip_key: *chip_key,
            signer: signer_cert,
            signed,
            signature,
        })
    }

    /// The file's bytes (without zero fill).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.signed.clone();
        v.extend(self.signer.encode());
        ber::push(&mut v, 0x5F37, &self.signature);
        ber::encode(0xE1, &v)
    }

    /// The length of the whole object from its first bytes (at least 4), so a
    /// reader knows how much to read; `None` if they do not start an `E1` object.
    pub fn total_len(prefix: &[u8]) -> Option<usize> {
        if prefix.first() != Some(&0xE1) {
            return None;
        }
        match *prefix.get(1)? {
            n @ 0..=0x7F => Some(2 + usize::from(n)),
            0x81 => Some(3 + usize::from(*prefix.get(2)?)),
            0x82 => Some(4 + usize::from(u16::from_be_bytes([*prefix.get(2)?, *prefix.get(3)?]))),
            _ => None,
        }
    }

    /// Parses the file; only `00` fill may follow the object.
    pub fn parse(data: &[u8]) -> Result<Self, ChipAuthInfoError> {
        let mut r = Reader::new(data);
        let outer = r.expect(0xE1)?;
        let end = outer.raw.len();
        if data[end..].iter().any(|&b| b != 0) {
            return Err(ChipAuthInfoError::Malformed("non-zero bytes after the object"));
        }
        let mut r = Reader::inside(&outer);
        let signed = r.expect(0xE2)?;
        let cert = r.expect(0x7F21)?;
        let sig = r.expect(0x5F37)?;
        r.finish()?;
        let mut s = Reader::inside(&signed);
        let version = s.expect(0xC1)?;
        let hash = s.expect(0xC2)?;
        let key = s.expect(0x7F49)?;
        s.finish()?;
        let [version] = version.value else {
            return Err(ChipAuthInfoError::Malformed("version is not one byte"));
        };
        if *version != WRITE_APP_VERSION {
            return Err(ChipAuthInfoError::Version(*version));
        }
        let card_number_hash =
            hash.value.try_into().map_err(|_| ChipAuthInfoError::Malformed("card-number hash is not 32 bytes"))?;
        let chip_key = parse_public_key(&key, &OID_CA_ECDH_AES128)?;
        let signer = Cvc::parse(cert.raw)?;
        let signature = sig.value.try_into().map_err(|_| ChipAuthInfoError::Malformed("signature is not 64 bytes"))?;
        Ok(ChipAuthInfo {
            version: *version,
            card_number_hash,
            chip_key,
            signer,
            signed: signed.raw.to_vec(),
            signature,
        })
    }

    /// The unverified card-number hash.
    pub fn card_number_hash(&self) -> &[u8; 32] {
        &self.card_number_hash
    }

    /// The document signer's certificate.
    pub fn signer_certificate(&self) -> &Cvc {
        &self.signer
    }

    /// Verifies the document signer's certificate under the write-issuer `root`
    /// (issuer role OID, a leaf directly under the root, effective and not expired
    /// on `today`) and the file's signature under it.
    pub fn verify(&self, root: &TrustAnchor, today: CvDate) -> Result<VerifiedChipAuthInfo, ChipAuthInfoError> {
        if root.role_oid != OID_ROLE_ISSUER {
            return Err(ChipAuthInfoError::NotIssuerRoot);
        }
        let b = self.signer.body();
        if b.effective > today {
            return Err(
                CvcError::NotYetEffective { chr: b.chr.to_string(), effective: b.effective, date: today }.into()
            );
        }
        let ds = verify_link(&VerifiedKey::anchor(root), &self.signer, &OID_ROLE_ISSUER, today)?;
        if ds.role != Role::Terminal {
            return Err(CvcError::ChainShape("the document signer must be a leaf certificate").into());
        }
        if !ds.key.verify(&self.signed, &self.signature) {
            return Err(ChipAuthInfoError::BadSignature);
        }
        Ok(VerifiedChipAuthInfo {
            version: self.version,
            card_number_hash: self.card_number_hash,
            chip_key: self.chip_key,
            signer: ds.chr.to_string(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::FixedRandom;
    use crate::write::cvc::tests::{date, signer};
    use crate::write::cvc::{CertRef, Chat, CvcBody, SoftwareSigner};
    use crate::write::eac::ChipAuthKey;

    pub(crate) struct Issuer {
        pub root_key: SoftwareSigner,
        pub root: TrustAnchor,
        pub ds_key: SoftwareSigner,
        pub ds: Cvc,
    }

    pub(crate) fn issuer() -> Issuer {
        let root_key = signer(21);
        let ds_key = signer(22);
        let chat = |role| Chat { role_oid: OID_ROLE_ISSUER.to_vec(), role, rights: 0 };
        let root_cert = CvcBody {
            car: CertRef::new("JPAWPISSROOT1").unwrap(),
            public_key: root_key.public_key(),
            chr: CertRef::new("JPAWPISSROOT1").unwrap(),
            chat: chat(Role::Cvca),
            effective: date(2025, 1, 1),
            expiry: date(2040, 1, 1),
        }
        .sign(&root_key)
        .unwrap();
        let ds = CvcBody {
            car: CertRef::new("JPAWPISSROOT1").unwrap(),
            public_key: ds_key.public_key(),
            chr: CertRef::new("JPAWPDS000001").unwrap(),
            chat: chat(Role::Terminal),
            effective: date(2025, 1, 1),
            expiry: date(2036, 1, 1),
        }
        .sign(&root_key)
        .unwrap();
        Issuer { root: TrustAnchor::from_self_signed(&root_cert).unwrap(), root_key, ds_key, ds }
    }

    pub(crate) fn chip_key() -> ChipAuthKey {
        ChipAuthKey::generate(&mut FixedRandom::new(&[0xC4, 0x1A]))
    }

    pub(crate) fn number() -> CardNumber {
        CardNumber::parse("AB12345678CD").unwrap()
    }

    #[test]
    fn issue_encode_parse_verify() {
        let i = issuer();
        let k = chip_key();
        let info = ChipAuthInfo::issue(card_number_hash(&number()), &k.public_key(), i.ds.clone(), &i.ds_key).unwrap();
        let mut file = info.encode();
        assert_eq!(file[0], 0xE1);
        assert_eq!(ChipAuthInfo::total_len(&file[..4]), Some(file.len()));
        file.resize(1024, 0);
        let back = ChipAuthInfo::parse(&file).unwrap();
        assert_eq!(back, info);
        let v = back.verify(&i.root, date(2026, 4, 30)).unwrap();
        assert_eq!(v.chip_key, k.public_key());
        assert_eq!(v.card_number_hash, crate::write::sha256(b"AB12345678CD"));
        assert_eq!(v.signer, "JPAWPDS000001");
        assert_eq!(v.version, 1);
    }

    #[test]
    fn refusals() {
        let i = issuer();
        let k = chip_key();
        let info = ChipAuthInfo::issue(card_number_hash(&number()), &k.public_key(), i.ds.clone(), &i.ds_key).unwrap();
        let today = date(2026, 4, 30);
        // Signed by a key other than the document signer's.
        let forged =
            ChipAuthInfo::issue(card_number_hash(&number()), &k.public_key(), i.ds.clone(), &i.root_key).unwrap();
        assert_eq!(forged.verify(&i.root, today), Err(ChipAuthInfoError::BadSignature));
        // A chip key swapped after signing.
        let mut file = info.encode();
        let other = ChipAuthKey::generate(&mut FixedRandom::new(&[0x99])).public_key().to_uncompressed();
        let pos = file.windows(3).position(|w| w == [0x86, 0x41, 0x04]).unwrap();
        file[pos + 2..pos + 67].copy_from_slice(&other);
        assert_eq!(ChipAuthInfo::parse(&file).unwrap().verify(&i.root, today), Err(ChipAuthInfoError::BadSignature));
        // A document signer from another root.
        let rogue = signer(66);
        let mut b = i.ds.body().clone();
        b.public_key = rogue.public_key();
        let rogue_ds = b.sign(&rogue).unwrap();
        let bad = ChipAuthInfo::issue(card_number_hash(&number()), &k.public_key(), rogue_ds, &rogue).unwrap();
        assert!(matches!(
            bad.verify(&i.root, today),
            Err(ChipAuthInfoError::Certificate(CvcError::BadSignature { .. }))
        ));
        // The write CVCA is not an issuer root.
        let p = crate::write::cvc::tests::pki();
        let cvca = TrustAnchor::from_self_signed(&p.cvca).unwrap();
        assert_eq!(info.verify(&cvca, today), Err(ChipAuthInfoError::NotIssuerRoot));
        // Expired and not yet effective document signer.
        assert!(matches!(
            info.verify(&i.root, date(2036, 1, 2)),
            Err(ChipAuthInfoError::Certificate(CvcError::Expired { .. }))
        ));
        assert!(matches!(
            info.verify(&i.root, date(2024, 12, 31)),
            Err(ChipAuthInfoError::Certificate(CvcError::NotYetEffective { .. }))
        ));
        // Structure: trailing non-zero bytes, another version, truncation.
        let mut file = info.encode();
        file.push(1);
        assert!(matches!(ChipAuthInfo::parse(&file), Err(ChipAuthInfoError::Malformed(_))));
        let mut file = info.encode();
        let pos = file.windows(3).position(|w| w == [0xC1, 0x01, 0x01]).unwrap();
        file[pos + 2] = 2;
        assert_eq!(ChipAuthInfo::parse(&file), Err(ChipAuthInfoError::Version(2)));
        let file = info.encode();
        for n in 0..file.len() {
            assert!(ChipAuthInfo::parse(&file[..n]).is_err());
        }
        assert_eq!(ChipAuthInfo::total_len(&[0x30, 0x82, 1, 0]), None);
    }
}
