//! Second-generation suite: AES-128-CBC (IV 0) and AES-CMAC truncated to 8 bytes,
//! with no explicit padding before the MAC (GEN2 Appendix 1; second-generation notes §2.1).

use aes::Aes128;
use cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
use cmac::{Cmac, KeyInit, Mac};

use super::{Key16, Suite};
use crate::error::SmError;

/// AES-128 in CBC mode with a zero IV, and AES-CMAC truncated to its first 8 bytes.
#[derive(Debug, Clone, Copy)]
pub enum Aes128Suite {}

impl Suite for Aes128Suite {
    const NAME: &'static str = "aes128";
    const BLOCK: usize = 16;

    fn cbc_encrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError> {
        let len = data.len();
        let enc = cbc::Encryptor::<Aes128>::new(key.expose().into(), &[0u8; 16].into());
        enc.encrypt_padded::<NoPadding>(data, len).map_err(|_| SmError::BlockAlignment)?;
        Ok(())
    }

    fn cbc_decrypt(key: &Key16, data: &mut [u8]) -> Result<(), SmError> {
        let dec = cbc::Decryptor::<Aes128>::new(key.expose().into(), &[0u8; 16].into());
        dec.decrypt_padded::<NoPadding>(data).map_err(|_| SmError::BlockAlignment)?;
        Ok(())
    }

    fn auth_mac(key: &Key16, data: &[u8]) -> [u8; 8] {
        let mut mac = Cmac::<Aes128>::new_from_slice(key.expose()).expect("AES-CMAC takes a 16-byte key");
        mac.update(data);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 8];
        out.copy_from_slice(&full[..8]);
        out
    }
}
