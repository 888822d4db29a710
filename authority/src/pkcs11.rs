//! The terminal key in a PKCS#11 token (feature `pkcs11`, the `cryptoki` crate):
//! the private key never leaves the token. Tests use SoftHSM2 (Debian `softhsm2`).
//!
//! * [`generate_key`] makes a P-256 key pair **in** the token: the private key
//!   `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, usable
//!   only to sign; it returns the public key for the terminal certificate.
//! * [`Pkcs11Signer`] is a [`Signer`]: SHA-256 here, `CKM_ECDSA` over the digest in
//!   the token, whose answer is `r ‖ s` (PKCS#11 v2.40 §2.3.1), as AWP wants.
//!
//! The PIN comes from a file or an environment variable ([`PinSource`]), never from
//! the configuration itself; it is kept only as cryptoki's zeroizing secret.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zairyu::write::cvc::{PublicKey, Signer, SignerError};
use zeroize::Zeroizing;

/// DER of the P-256 curve OID (`1.2.840.10045.3.1.7`), the `CKA_EC_PARAMS` of the key.
pub const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Where the token's user PIN comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// The first line of a file (mode 0600 or stricter on unix).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// Which key in which token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Key {
    /// The PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's `CKA_LABEL`.
    pub key_label: String,
    /// The user PIN.
    pub pin: PinSource,
}

/// Why the token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module cannot be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Module {
        /// The module.
        module: PathBuf,
        /// Why.
        reason: String,
    },
    /// No token with this label.
    #[error("no PKCS#11 token labelled {0:?}")]
    NoToken(String),
    /// The PIN cannot be read, or the token refused it.
    #[error("PKCS#11 PIN: {0}")]
    Pin(String),
    /// No key (or more than one) with this label.
    #[error("PKCS#11 key {0:?}: not exactly one private key with this label")]
    Key(String),
    /// The key is not P-256, or its public half is unreadable.
    #[error("PKCS#11 key {0:?} is not a P-256 key")]
    NotP256(String),
    /// A token operation failed.
    #[error("PKCS#11: {0}")]
    Token(String),
}

impl Pkcs11Error {
    /// A stable name.
    pub fn code(&self) -> &'static str {
        match self {
            Pkcs11Error::Module { .. } => "pkcs11_module",
            Pkcs11Error::NoToken(_) => "pkcs11_no_token",
            Pkcs11Error::Pin(_) => "pkcs11_pin",
            Pkcs11Error::Key(_) => "pkcs11_key_not_found",
            Pkcs11Error::NotP256(_) => "pkcs11_key_not_p256",
            Pkcs11Error::Token(_) => "pkcs11_token",
        }
    }
}

fn tok(e: cryptoki::error::Error) -> Pkcs11Error {
    Pkcs11Error::Token(e.to_string())
}

impl PinSource {
    fn read(&self) -> Result<AuthPin, Pkcs11Error> {
        let pin = match self {
            PinSource::Env(var) => {
                Zeroizing::new(std::env::var(var).map_err(|_| Pkcs11Error::Pin(format!("${var} is not set")))?)
            }
            PinSource::File(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta =
                        std::fs::metadata(path).map_err(|e| Pkcs11Error::Pin(format!("{}: {e}", path.display())))?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(Pkcs11Error::Pin(format!("{} is readable by others; chmod 600", path.display())));
                    }
                }
                let text = Zeroizing::new(
                    std::fs::read_to_string(path).map_err(|e| Pkcs11Error::Pin(format!("{}: {e}", path.display())))?,
                );
                Zeroizing::new(text.lines().next().unwrap_or("").to_owned())
            }
        };
        Ok(AuthPin::new(pin.as_str().into()))
    }
}

/// Loads and initialises the module.
pub fn load_module(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
    let m = |reason: String| Pkcs11Error::Module { module: module.to_path_buf(), reason };
    let ctx = Pkcs11::new(module).map_err(|e| m(e.to_string()))?;
    ctx.initialize(CInitializeArgs::OsThreads).map_err(|e| m(e.to_string()))?;
    Ok(ctx)
}

/// The slot of the token labelled `label`.
pub fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    for slot in ctx.get_slots_with_initialized_token().map_err(tok)? {
        if ctx.get_token_info(slot).map_err(tok)?.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(Pkcs11Error::NoToken(label.to_owned()))
}

fn user_session(ctx: &Pkcs11, key: &Pkcs11Key, rw: bool) -> Result<Session, Pkcs11Error> {
    let slot = find_token(ctx, &key.token)?;
    let session = if rw { ctx.open_rw_session(slot) } else { ctx.open_ro_session(slot) }.map_err(tok)?;
    session.login(UserType::User, Some(&key.pin.read()?)).map_err(|e| Pkcs11Error::Pin(e.to_string()))?;
    Ok(session)
}

/// The public key of `CKA_EC_POINT` (a DER OCTET STRING around `04 ‖ X ‖ Y`, or the
/// bare point as some modules give it).
fn point(der: &[u8]) -> Option<PublicKey> {
    let bare = match der {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        _ => der,
    };
    PublicKey::from_uncompressed(bare)
}

/// Generates a P-256 key pair labelled `key.key_label` in the token: the private
/// key sensitive, not extractable, for signing only. Returns its public key.
pub fn generate_key(ctx: &Pkcs11, key: &Pkcs11Key) -> Result<PublicKey, Pkcs11Error> {
    let session = user_session(ctx, key, true)?;
    let label = key.key_label.as_bytes().to_vec();
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Label(label.clone()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Label(label),
    ];
    let (pub_h, _) = session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).map_err(tok)?;
    public_key(&session, pub_h, &key.key_label)
}

fn public_key(session: &Session, h: ObjectHandle, label: &str) -> Result<PublicKey, Pkcs11Error> {
    let attrs = session.get_attributes(h, &[AttributeType::EcPoint]).map_err(tok)?;
    match attrs.first() {
        Some(Attribute::EcPoint(p)) => point(p).ok_or_else(|| Pkcs11Error::NotP256(label.to_owned())),
        _ => Err(Pkcs11Error::NotP256(label.to_owned())),
    }
}

fn one(session: &Session, class: ObjectClass, label: &str) -> Result<ObjectHandle, Pkcs11Error> {
    let found = session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(tok)?;
    match found[..] {
        [h] => Ok(h),
        _ => Err(Pkcs11Error::Key(label.to_owned())),
    }
}

/// A terminal key in a PKCS#11 token, behind core's [`Signer`].
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    public_key: PublicKey,
    label: String,
    // Dropped last: the module stays loaded while the session lives.
    _ctx: Pkcs11,
}

impl core::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Pkcs11Signer({:?})", self.label)
    }
}

impl Pkcs11Signer {
    /// Opens the key: loads the module, finds the token, logs in, finds the one
    /// private EC key with the label and its public key.
    pub fn open(key: &Pkcs11Key) -> Result<Self, Pkcs11Error> {
        let ctx = load_module(&key.module)?;
        let session = user_session(&ctx, key, false)?;
        let private = one(&session, ObjectClass::PRIVATE_KEY, &key.key_label)?;
        let public = one(&session, ObjectClass::PUBLIC_KEY, &key.key_label)?;
        let params = session.get_attributes(private, &[AttributeType::EcParams]).map_err(tok)?;
        if !matches!(params.first(), Some(Attribute::EcParams(p)) if p[..] == P256_PARAMS) {
            return Err(Pkcs11Error::NotP256(key.key_label.clone()));
        }
        let public_key = public_key(&session, public, &key.key_label)?;
        Ok(Pkcs11Signer {
            session: Mutex::new(session),
            key: private,
            public_key,
            label: key.key_label.clone(),
            _ctx: ctx,
        })
    }

    /// The public key, to compare with the terminal certificate.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The private key's `CKA_SENSITIVE`, `CKA_EXTRACTABLE` and
    /// `CKA_NEVER_EXTRACTABLE`, as the token reports them.
    pub fn protection(&self) -> Result<(bool, bool, bool), Pkcs11Error> {
        let s = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let a = s
            .get_attributes(
                self.key,
                &[AttributeType::Sensitive, AttributeType::Extractable, AttributeType::NeverExtractable],
            )
            .map_err(tok)?;
        let (mut sens, mut ext, mut never) = (false, true, false);
        for x in a {
            match x {
                Attribute::Sensitive(v) => sens = v,
                Attribute::Extractable(v) => ext = v,
                Attribute::NeverExtractable(v) => never = v,
                _ => {}
            }
        }
        Ok((sens, ext, never))
    }

    /// Tries to read the private key's value (`CKA_VALUE`); a token keeping its
    /// promise refuses.
    pub fn try_export_private_value(&self) -> Result<Vec<u8>, Pkcs11Error> {
        let s = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match s.get_attributes(self.key, &[AttributeType::Value]).map_err(tok)?.into_iter().next() {
            Some(Attribute::Value(v)) => Ok(v),
            _ => Err(Pkcs11Error::Token("the token did not reveal the private key".into())),
        }
    }
}

impl Signer for Pkcs11Signer {
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        let digest = zairyu::write::sha256(msg);
        let s = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sig = s
            .sign(&Mechanism::Ecdsa, self.key, &digest)
            .map_err(|e| SignerError(format!("PKCS#11 signature with {:?}: {e}", self.label)))?;
        sig.try_into().map_err(|_| SignerError("PKCS#11 signature is not 64 bytes".into()))
    }
}
