//! First-generation suite: two-key Triple-DES CBC (IV 0) and the Retail MAC
//! (ISO/IEC 9797-1 MAC algorithm 3, padding method 2). SPEC15 Annex 1, Table 1.

use cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
use des::{Des, TdesEde2};
use retail_mac::{KeyInit, Mac, RetailMac};

use super::{Key16, Suite, pad_iso};
use crate::error::SmError;

/// 2-key 3DES (K1‖K2, EDE) in CBC mode with a zero IV, and Retail MAC.
#[derive(Debug, Clone, Copy)]
pub enum TdesSuite {}

impl Suite for TdesSuite {
    const NAME: &'static str = "3des";
    const BLOCK: usize = 8;

    fn cbc_encrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError> {
        let len = data.len();
        let enc = cbc::Encryptor::<TdesEde2>::new(key.expose().into(), &[0u8; 8].into());
        enc.encrypt_padded::<NoPadding>(data, len).map_err(|_| SmError::BlockAlignment)?;
        Ok(())
    }

    fn cbc_decrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError> {
        let dec = cbc::Decryptor::<TdesEde2>::new(key.expose().into(), &[0u8; 8].into());
        dec.decrypt_padded::<NoPadding>(data).map_err(|_| SmError::BlockAlignment)?;
        Ok(())
    }

    /// Retail MAC over `data` with padding method 2 always appended: a 32-byte
    /// cryptogram is MACed as 40 bytes (SPEC15 Annex 1; the Annex 2 M_IFD only
    /// reproduces with the padding).
    fn auth_mac(key: &Key16, data: &[u8]) -> [u8; 8] {
        let padded = pad_iso(data, Self::BLOCK);
        let mut mac = RetailMac::<Des>::new_from_slice(key.expose()).expect("Retail MAC takes a 16-byte key");
        mac.update(&padded);
        mac.finalize().into_bytes().into()
    }
}
