//! The card's write application, AWP v1 (`docs/write-profile.md`; issue 12 point 4).
//!
//! A card issued with [`IssueOptions::write`](crate::IssueOptions::write) carries, besides
//! its normal files, the write application (`F0 "ZAIRYUAWP" 01`,
//! [`zairyu::write::WRITE_AID`]) with:
//!
//! * EF.ChipAuthInfo (SFI `01`), signed at issuance by the write issuer's document
//!   signer ([`ChipAuthInfo::issue`]); readable in plain, **only after card-number
//!   access** in this card session (the card-number hash in it has little entropy:
//!   `docs/write-profile.md` §4, §12.7);
//! * the write CVCA's key (the trust anchor of Terminal Authentication);
//! * a per-card chip-authentication key ([`ChipAuthKey`]), drawn at issuance;
//! * the card date, set at issuance and advanced by every certificate verified
//!   (TR-03110 §2.5), kept in non-volatile memory;
//! * a commit journal (shadow copy + commit flag) that makes an UPDATE atomic.
//!
//! Every command of the profile runs on core's card-side halves
//! ([`TerminalAuthCard`](zairyu::write::eac::TerminalAuthCard),
//! [`ChipAuthentication`](zairyu::write::eac::ChipAuthentication),
//! [`CardSide`](zairyu::write::sm::CardSide),
//! [`TaResult::authorises`](zairyu::write::eac::TaResult::authorises)); nothing
//! cryptographic is written here.
//!
//! ## Access rules (`docs/write-profile.md` §9)
//!
//! | command | rule |
//! |---|---|
//! | plain SELECT of the write AID | always; starts a fresh write session (TA, CA and SM state cleared) |
//! | plain READ BINARY of EF.ChipAuthInfo | card-number access in this card session, else `69 82` |
//! | TA (MSE:SET DST, PSO:VERIFY CERTIFICATE, MSE:SET AT, GET CHALLENGE, EXTERNAL AUTHENTICATE) | core's [`TerminalAuthCard`]; errors map to [`EacError::status_word`](zairyu::write::eac::EacError::status_word) |
//! | CA (MSE:SET AT `41 A4`, GENERAL AUTHENTICATE) | after a successful TA (`69 85` otherwise); opens the SM channel |
//! | SM SELECT (DF name), SM READ BINARY | under the CA channel; reads need card-number access |
//! | SM UPDATE BINARY | under the CA channel, card-number access, TA's effective rights with the write right, and SHA-256 of the *whole* content equal to the signed intent for that file; otherwise `69 82` (under SM) |
//!
//! Any plain command ends the SM channel; an SM error ends it too (and the TA
//! result) and is answered `69 88` in plain. A command chain (CLA bit `10`) of
//! UPDATE BINARY segments is assembled and checked only at its last segment; any
//! other command in between drops the chain.
//!
//! Only the file of the card's generation is writable: DF2/EF01 on a first-generation
//! card, DF1/EF04 on a second-generation one (on a first-generation card DF1 SFI
//! `06` is the face image, which is never writable).
//!
//! ## Atomic commit
//!
//! [`commit`] writes the new content to a shadow slot, sets the commit flag, copies
//! the shadow into the file and clears the journal. [`recover`] (run at every power
//! up) finishes a flagged commit and drops an unflagged one, so after a power loss
//! at any point the file holds the old or the new content, whole.
//! [`CommitStage`] names the points where [`Fault::PowerLossInCommit`](crate::Fault::PowerLossInCommit)
//! cuts the power.

mod app;

pub(crate) use app::{Outcome, WriteSession};

use zairyu::auth::{OsRandom, RandomSource};
use zairyu::files::CardType;
use zairyu::layout::Df;
use zairyu::write::CvDate;
use zairyu::write::chip_auth_info::ChipAuthInfo;
use zairyu::write::cvc::{Cvc, SoftwareSigner, TrustAnchor};
use zairyu::write::eac::ChipAuthKey;
use zairyu::write::record::WriteTarget;

use crate::options::IssueError;
use crate::rng::{Drbg, SimRandomness};

/// What a card needs at issuance to carry the write application: the write PKI's
/// CVCA (trust anchor of Terminal Authentication), the write issuer's document
/// signer (certificate and key) that signs EF.ChipAuthInfo, and the card date.
///
/// Made by [`WritePki::write_issue`](crate::write_pki::WritePki::write_issue) for the
/// test PKI. Its `Debug` never shows the signer's key.
#[derive(Debug, Clone)]
pub struct WriteIssue {
    /// The write CVCA the card trusts.
    pub cvca: TrustAnchor,
    /// The document signer's certificate (it travels in EF.ChipAuthInfo).
    pub document_signer: Cvc,
    /// The document signer's key (signs EF.ChipAuthInfo at issuance only).
    pub document_signer_key: SoftwareSigner,
    /// The card date at issuance.
    pub card_date: CvDate,
}

/// Points inside the commit of an UPDATE BINARY where an injected power loss
/// ([`Fault::PowerLossInCommit`](crate::Fault::PowerLossInCommit)) cuts the power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitStage {
    /// Before anything is written: the old content survives.
    BeforeShadow,
    /// The shadow copy is written, the commit flag is not: recovery drops the shadow (old content).
    AfterShadow,
    /// The commit flag is set: recovery copies the shadow into the file (new content).
    AfterFlag,
    /// The file holds the new content, the journal is not yet cleared: recovery
    /// finishes (new content).
    AfterCopy,
}

impl CommitStage {
    /// Every stage, in commit order.
    pub const ALL: [CommitStage; 4] =
        [CommitStage::BeforeShadow, CommitStage::AfterShadow, CommitStage::AfterFlag, CommitStage::AfterCopy];

    /// The stage's text form (`before-shadow`, `after-shadow`, `after-flag`, `after-copy`).
    pub const fn name(self) -> &'static str {
        match self {
            CommitStage::BeforeShadow => "before-shadow",
            CommitStage::AfterShadow => "after-shadow",
            CommitStage::AfterFlag => "after-flag",
            CommitStage::AfterCopy => "after-copy",
        }
    }

    /// Parses [`CommitStage::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        CommitStage::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether the file holds the new content after a power loss at this stage and recovery.
    pub const fn survives(self) -> bool {
        matches!(self, CommitStage::AfterFlag | CommitStage::AfterCopy)
    }
}

/// The commit journal in non-volatile memory: a shadow copy of one file's new
/// content and the commit flag.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Journal {
    pub df: Df,
    pub sfi: u8,
    pub content: Vec<u8>,
    pub committed: bool,
}

/// The write application's non-volatile memory (besides the files it writes,
/// which live with the card's other files).
#[derive(Clone)]
pub(crate) struct WriteNvm {
    pub anchor: TrustAnchor,
    pub chip_key: ChipAuthKey,
    pub chip_auth_info: Vec<u8>,
    pub id_card: [u8; 32],
    pub card_date: CvDate,
    pub journal: Option<Journal>,
}

impl core::fmt::Debug for WriteNvm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "WriteNvm(cvca={}, card_date={}, pending={})",
            self.anchor.chr,
            self.card_date,
            self.journal.as_ref().map_or("none", |j| if j.committed { "flagged" } else { "shadow" })
        )
    }
}

/// A randomness source for the write application: a [`Drbg`] over a seed derived
/// from the card's, or the operating system's generator.
#[derive(Debug, Clone)]
pub(crate) enum WriteRng {
    Os,
    Drbg(Drbg),
}

impl WriteRng {
    /// The generator of domain `domain` for a card with randomness `r`.
    pub(crate) fn new(r: SimRandomness, domain: &[u8]) -> Self {
        match r {
            SimRandomness::Seeded(seed) => {
                use sha2::{Digest, Sha256};
                let mut h = Sha256::new();
                h.update(b"zairyu-sim/write/");
                h.update(domain);
                h.update(seed.to_be_bytes());
                let d = h.finalize();
                let mut s = [0u8; 8];
                s.copy_from_slice(&d[..8]);
                WriteRng::Drbg(Drbg::new(u64::from_be_bytes(s)))
            }
            _ => WriteRng::Os,
        }
    }
}

impl RandomSource for WriteRng {
    fn fill(&mut self, dest: &mut [u8]) {
        match self {
            WriteRng::Os => OsRandom.fill(dest),
            WriteRng::Drbg(d) => d.fill(dest),
        }
    }
}

/// The file a card of this type lets the write application update.
pub fn writable_target(card_type: CardType) -> WriteTarget {
    if card_type.generation() == 1 { WriteTarget::Df2Ef01 } else { WriteTarget::Df1Ef04 }
}

/// Builds the write application's memory at issuance.
pub(crate) fn issue(w: &WriteIssue, card_number: &str, randomness: SimRandomness) -> Result<WriteNvm, IssueError> {
    let mut rng = WriteRng::new(randomness, b"chip-auth-key");
    let chip_key = ChipAuthKey::generate(&mut rng);
    let id_card = zairyu::write::sha256(card_number.as_bytes());
    let info = ChipAuthInfo::issue(id_card, &chip_key.public_key(), w.document_signer.clone(), &w.document_signer_key)
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    Ok(WriteNvm {
        anchor: w.cvca.clone(),
        chip_key,
        chip_auth_info: info.encode(),
        id_card,
        card_date: w.card_date,
        journal: None,
    })
}

/// The power failed inside a commit (injected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PowerLost;

/// Commits `content` into the file `(df, sfi)` atomically: shadow copy, commit
/// flag, copy, journal cleared. With `stop`, the power fails at that stage.
pub(crate) fn commit(
    card: &mut crate::IssuedCard,
    df: Df,
    sfi: u8,
    content: Vec<u8>,
    stop: Option<CommitStage>,
) -> Result<(), PowerLost> {
    let cut = |s: CommitStage| if stop == Some(s) { Err(PowerLost) } else { Ok(()) };
    cut(CommitStage::BeforeShadow)?;
    let journal = Journal { df, sfi, content: content.clone(), committed: false };
    card.write_nvm_mut().ok_or(PowerLost)?.journal = Some(journal);
    cut(CommitStage::AfterShadow)?;
    if let Some(j) = card.write_nvm_mut().and_then(|n| n.journal.as_mut()) {
        j.committed = true;
    }
    cut(CommitStage::AfterFlag)?;
    card.set_file(df, sfi, content);
    cut(CommitStage::AfterCopy)?;
    if let Some(n) = card.write_nvm_mut() {
        n.journal = None;
    }
    Ok(())
}

/// Power-up recovery: finishes a flagged commit (copies the shadow into the file),
/// drops an unflagged one. Returns whether anything changed.
pub(crate) fn recover(card: &mut crate::IssuedCard) -> bool {
    let Some(j) = card.write_nvm_mut().and_then(|n| n.journal.take()) else { return false };
    if j.committed {
        card.set_file(j.df, j.sfi, j.content);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IssueOptions, IssuedCard};

    fn card() -> IssuedCard {
        let pki = crate::write_pki::WritePki::generate_with(&mut Drbg::new(5), CvDate::new(2026, 4, 1).unwrap());
        IssuedCard::issue(&IssueOptions { write: Some(pki.write_issue()), ..Default::default() })
    }

    #[test]
    fn every_commit_stage_recovers_to_old_or_new() {
        let (df, sfi) = (Df::Df2, 0x01);
        for stop in [None].into_iter().chain(CommitStage::ALL.map(Some)) {
            let mut c = card();
            let old = c.file(df, sfi).unwrap().to_vec();
            let new = vec![0x5A; old.len()];
            let r = commit(&mut c, df, sfi, new.clone(), stop);
            assert_eq!(r.is_err(), stop.is_some());
            recover(&mut c);
            let want = if stop.is_none_or(CommitStage::survives) { &new } else { &old };
            assert_eq!(c.file(df, sfi).unwrap(), &want[..], "{stop:?}");
            assert!(c.write_nvm().unwrap().journal.is_none());
        }
    }

    #[test]
    fn stage_names_round_trip() {
        for s in CommitStage::ALL {
            assert_eq!(CommitStage::from_name(s.name()), Some(s));
        }
        assert_eq!(CommitStage::from_name("later"), None);
    }
}
