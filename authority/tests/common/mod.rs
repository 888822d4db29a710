//! A test write PKI written as an authority directory, and a small card with the write
//! application built only from core's card-side halves (adapted from core's own
//! end-to-end test card; the simulator's card is tested with the CLI).

#![allow(dead_code)]

use std::path::Path;

use p256::pkcs8::EncodePrivateKey;
use zairyu::apdu::{Command, Le, ParsedCommand};
use zairyu::auth::{FixedRandom, RandomSource};
use zairyu::error::TransportError;
use zairyu::layout::Df;
use zairyu::transport::{Limits, Transport};
use zairyu::write::chip_auth_info::ChipAuthInfo;
use zairyu::write::cvc::{CertRef, Chat, Cvc, CvcBody, RIGHT_WRITE_ADDRESS, Role, SoftwareSigner, TrustAnchor};
use zairyu::write::eac::{ChipAuthKey, ChipAuthentication, TaResult, TerminalAuthCard};
use zairyu::write::record::{NewAddress, NewContent, WriteTarget};
use zairyu::write::sm::CardSide;
use zairyu::write::{CvDate, OID_ROLE_ISSUER, OID_ROLE_WRITE, WRITE_AID, sha256};
use zairyu_authority_core::layout;

/// 2026-04-30 00:00 UTC.
pub const NOW: u64 = 1_777_507_200;
pub const CARD_NUMBER: &[u8; 12] = b"AB12345678CD";

pub fn date(y: u16, m: u8, d: u8) -> CvDate {
    CvDate::new(y, m, d).unwrap()
}

pub fn card_hash() -> [u8; 32] {
    sha256(CARD_NUMBER)
}

pub struct Pki {
    pub cvca: Cvc,
    pub dv: Cvc,
    pub terminal: Cvc,
    pub terminal_key: SoftwareSigner,
    pub issuer_root: Cvc,
    pub ds: Cvc,
    pub ds_key: SoftwareSigner,
}

fn key(seed: u8) -> SoftwareSigner {
    SoftwareSigner::generate(&mut FixedRandom::new(&[seed, 0x5C, 0x21]))
}

fn body(car: &str, chr: &str, k: &SoftwareSigner, oid: &[u8], role: Role, rights: u8) -> CvcBody {
    CvcBody {
        car: CertRef::new(car).unwrap(),
        public_key: k.public_key(),
        chr: CertRef::new(chr).unwrap(),
        chat: Chat { role_oid: oid.to_vec(), role, rights },
        effective: date(2026, 1, 1),
        expiry: date(2027, 12, 31),
    }
}

impl Pki {
    pub fn new() -> Self {
        let (ck, dk, tk, rk, sk) = (key(1), key(2), key(3), key(4), key(5));
        let w = RIGHT_WRITE_ADDRESS;
        let cvca = body("JPTESTCVCA00001", "JPTESTCVCA00001", &ck, &OID_ROLE_WRITE, Role::Cvca, w).sign(&ck).unwrap();
        let dv = body("JPTESTCVCA00001", "JPTESTDV00001", &dk, &OID_ROLE_WRITE, Role::Dv, w).sign(&ck).unwrap();
        let terminal =
            body("JPTESTDV00001", "JPTESTTERM00001", &tk, &OID_ROLE_WRITE, Role::Terminal, w).sign(&dk).unwrap();
        let issuer_root =
            body("JPTESTISSUER001", "JPTESTISSUER001", &rk, &OID_ROLE_ISSUER, Role::Cvca, 0).sign(&rk).unwrap();
        let ds = body("JPTESTISSUER001", "JPTESTDS00001", &sk, &OID_ROLE_ISSUER, Role::Terminal, 0).sign(&rk).unwrap();
        Pki { cvca, dv, terminal, terminal_key: tk, issuer_root, ds, ds_key: sk }
    }

    /// Writes the authority directory (certificates, the key with mode 0600, `policy`).
    pub fn write_dir(&self, dir: &Path, policy: &str) {
        let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
        put(layout::CVCA, &self.cvca.encode());
        put(layout::DV, &self.dv.encode());
        put(layout::TERMINAL, &self.terminal.encode());
        put(layout::ISSUER_ROOT, &self.issuer_root.encode());
        let sk = p256::SecretKey::from_slice(&self.terminal_key.to_scalar()[..]).unwrap();
        put(layout::TERMINAL_KEY, sk.to_pkcs8_der().unwrap().as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(layout::TERMINAL_KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        put(layout::POLICY_TOML, policy.as_bytes());
    }

    pub fn chip_auth_info(&self, chip: &ChipAuthKey, number_hash: [u8; 32]) -> Vec<u8> {
        ChipAuthInfo::issue(number_hash, &chip.public_key(), self.ds.clone(), &self.ds_key).unwrap().encode()
    }
}

pub const POLICY: &str = r#"
version = 1
[[counter]]
id = "window-1"
municipalities = ["131016", "27*"]
[[counter]]
id = "window-2"
municipalities = ["131091"]
"#;

pub fn old_record() -> NewAddress {
    NewAddress {
        date: "20200401".into(),
        municipality_code: "271276".into(),
        address: "大阪府大阪市北区梅田１－１".into(),
    }
}

pub fn new_record() -> NewAddress {
    NewAddress {
        date: "20260430".into(),
        municipality_code: "131016".into(),
        address: "東京都千代田区霞が関１－１－１".into(),
    }
}

/// A card with the write application.
pub struct TestCard {
    pub limits: Limits,
    pub access_granted: bool,
    chip_auth_info: Vec<u8>,
    anchor: TrustAnchor,
    pub card_date: CvDate,
    chip: ChipAuthKey,
    pub df2_ef01: Vec<u8>,
    pub df1_ef04: Vec<u8>,
    rng: FixedRandom,
    ta: Option<TerminalAuthCard>,
    pub ta_result: Option<TaResult>,
    sm: Option<CardSide>,
    df: Option<Df>,
    current: Option<WriteTarget>,
    chain: Vec<u8>,
    /// Every command APDU received.
    pub apdus: Vec<Vec<u8>>,
}

impl TestCard {
    pub fn new(pki: &Pki, limits: Limits) -> Self {
        let chip = ChipAuthKey::generate(&mut FixedRandom::new(&[0x77, 0x31]));
        let mut cai = pki.chip_auth_info(&chip, card_hash());
        cai.resize(1024, 0);
        TestCard {
            limits,
            access_granted: true,
            chip_auth_info: cai,
            anchor: TrustAnchor::from_self_signed(&pki.cvca).unwrap(),
            card_date: date(2026, 1, 15),
            chip,
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
        let e = |e: zairyu::write::eac::EacError| (Vec::new(), e.status_word());
        let ok = (Vec::new(), 0x9000);
        let order = (Vec::new(), 0x6985);
        match c.header {
            [0x00, 0xA4, 0x04, 0x0C] if d == WRITE_AID => {
                self.ta = Some(TerminalAuthCard::new(self.anchor.clone(), self.card_date, card_hash()));
                self.ta_result = None;
                self.sm = None;
                ok
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
                Some(Ok(())) => ok,
                Some(Err(x)) => e(x),
                None => order,
            },
            [0x00, 0x2A, 0x00, 0xBE] => match self.ta.as_mut().map(|t| t.pso_verify_certificate(d)) {
                Some(Ok(())) => {
                    self.card_date = self.ta.as_ref().unwrap().card_date();
                    ok
                }
                Some(Err(x)) => e(x),
                None => order,
            },
            [0x00, 0x22, 0x81, 0xA4] => match self.ta.as_mut().map(|t| t.mse_set_at(d)) {
                Some(Ok(())) => ok,
                Some(Err(x)) => e(x),
                None => order,
            },
            [0x00, 0x84, 0x00, 0x00] => {
                let rng = &mut self.rng;
                match self.ta.as_mut().map(|t| t.get_challenge(rng)) {
                    Some(Ok(r)) => (r.to_vec(), 0x9000),
                    Some(Err(x)) => e(x),
                    None => order,
                }
            }
            [0x00, 0x82, 0x00, 0x00] => match self.ta.as_mut().map(|t| t.external_authenticate(d)) {
                Some(Ok(r)) => {
                    self.ta_result = Some(r);
                    ok
                }
                Some(Err(x)) => e(x),
                None => order,
            },
            [0x00, 0x22, 0x41, 0xA4] => match (&self.ta_result, ChipAuthentication::check_set_at(d)) {
                (Some(_), Ok(())) => ok,
                (None, _) => order,
                (_, Err(x)) => e(x),
            },
            [0x00, 0x86, 0x00, 0x00] => {
                let Some(tr) = self.ta_result.clone() else { return order };
                match ChipAuthentication::respond(&self.chip, &tr.eph_comp, d, &mut self.rng) {
                    Ok((resp, keys)) => {
                        self.sm = Some(CardSide::new(keys));
                        (resp, 0x9000)
                    }
                    Err(x) => e(x),
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
        self.apdus.push(apdu.to_vec());
        let c = ParsedCommand::parse(apdu).ok_or(TransportError::Other("bad APDU".into()))?;
        let data = if c.header[0] & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else { return Ok(vec![0x69, 0x82]) };
            match sm.unwrap_command(apdu) {
                Ok(cmd) => {
                    let (d, sw) = self.protected(&cmd);
                    self.sm.as_mut().expect("channel open").wrap_response(&d, sw).expect("in turn")
                }
                Err(_) => {
                    self.sm = None;
                    vec![0x69, 0x88]
                }
            }
        } else {
            let (mut d, sw) = self.plain(&c);
            d.extend_from_slice(&sw.to_be_bytes());
            d
        };
        Ok(data)
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

/// A deterministic random source that differs per seed.
pub struct Counter(pub u8);

impl RandomSource for Counter {
    fn fill(&mut self, d: &mut [u8]) {
        for b in d {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
    }
}
