//! What an eavesdropper who knows the card number learns from one MUTUAL
//! AUTHENTICATE exchange: K.IFD, K.ICC and the session key. Tests use it to look for
//! these keys where they must never be (logs, freed memory) without reaching into
//! the terminal's state.

use zairyu::crypto::{Aes128Suite, Key16, Suite, TdesSuite, derive_base_key, derive_session_key};

/// The keys of one session.
pub struct SessionKeys {
    /// Kenc = Kmac, derived from the card number.
    pub kenc: Key16,
    /// The terminal's key share.
    pub k_ifd: [u8; 16],
    /// The chip's key share.
    pub k_icc: [u8; 16],
    /// KSenc.
    pub ks_enc: Key16,
}

/// Whether `command` is a MUTUAL AUTHENTICATE with its 40 data bytes.
fn is_mutual_authenticate(command: &[u8]) -> bool {
    command.len() >= 5 + 40 && command[1] == 0x82 && command[4] == 40
}

/// Learns the session keys from a MUTUAL AUTHENTICATE `command` and its successful
/// `response` (E_ICC ‖ M_ICC ‖ 90 00), given the card number and the generation
/// (1: 3DES, 2: AES). `None` for any other exchange.
pub fn session_keys(card_number: &[u8], generation: u8, command: &[u8], response: &[u8]) -> Option<SessionKeys> {
    if !is_mutual_authenticate(command) || response.len() != 42 || response[40..] != [0x90, 0x00] {
        return None;
    }
    let kenc = derive_base_key(card_number);
    let decrypt = |cryptogram: &[u8]| {
        let mut plain = [0u8; 32];
        plain.copy_from_slice(&cryptogram[..32]);
        let r = if generation == 1 {
            TdesSuite::cbc_decrypt(&kenc, &mut plain)
        } else {
            Aes128Suite::cbc_decrypt(&kenc, &mut plain)
        };
        r.ok().map(|()| plain)
    };
    // E_IFD = RND.IFD ‖ RND.ICC ‖ K.IFD, E_ICC = RND.ICC ‖ RND.IFD ‖ K.ICC (SPEC15 Annex 1).
    let e_ifd = decrypt(&command[5..37])?;
    let e_icc = decrypt(&response[..32])?;
    let mut k_ifd = [0u8; 16];
    let mut k_icc = [0u8; 16];
    k_ifd.copy_from_slice(&e_ifd[16..]);
    k_icc.copy_from_slice(&e_icc[16..]);
    let ks_enc = derive_session_key(&k_ifd, &k_icc);
    Some(SessionKeys { kenc, k_ifd, k_icc, ks_enc })
}
