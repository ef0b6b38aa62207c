//! SRTP's ciphers for [`super::provider`]: AES-128 in counter mode with
//! HMAC-SHA1-80, and AES-GCM (128 and 256), in RustCrypto.
//!
//! Adapted from `str0m-rust-crypto` 0.6.0's `src/srtp.rs` (MIT OR
//! Apache-2.0, © Martin Algesten), whose crate we cannot depend on (see the
//! parent module): the two key sizes of each cipher share one generic body.

use std::fmt;

use aes::cipher::consts::U16;
use aes::cipher::{BlockEncrypt, BlockSizeUser, KeyInit};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use ctr::cipher::{KeyIvInit, StreamCipher};

use str0m::crypto::CryptoError;
use str0m::crypto::{AeadAes128Gcm, AeadAes128GcmCipher};
use str0m::crypto::{AeadAes256Gcm, AeadAes256GcmCipher, Aes128CmSha1_80Cipher};
use str0m::crypto::{SrtpProvider, SupportedAeadAes128Gcm};
use str0m::crypto::{SupportedAeadAes256Gcm, SupportedAes128CmSha1_80};

/// AES-128 in counter mode.
type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// AES-128-CM: the key, a keystream made per packet from its IV.
struct CounterMode {
    key: [u8; 16],
}

impl fmt::Debug for CounterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CounterMode")
    }
}

impl Aes128CmSha1_80Cipher for CounterMode {
    fn encrypt(
        &mut self,
        iv: &[u8; 16],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let mut cipher = Aes128Ctr::new(&self.key.into(), iv.into());
        output[..input.len()].copy_from_slice(input);
        cipher.apply_keystream(&mut output[..input.len()]);
        Ok(())
    }

    fn decrypt(
        &mut self,
        iv: &[u8; 16],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        // Counter mode is its own inverse.
        self.encrypt(iv, input, output)
    }
}

/// AES-GCM with a 128- or 256-bit key: SRTP's two AEAD profiles differ only
/// in the key.
struct Gcm<C>(C);

impl<C> fmt::Debug for Gcm<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gcm")
    }
}

impl<C: Aead> Gcm<C> {
    fn seal(
        &self,
        iv: &[u8],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(iv), Payload { msg: input, aad })
            .map_err(|e| CryptoError::Other(format!("AES-GCM encrypt failed: {e:?}")))?;
        output[..sealed.len()].copy_from_slice(&sealed);
        Ok(())
    }

    fn open(
        &self,
        iv: &[u8],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        let joined;
        let aad = match aads {
            [one] => one,
            _ => {
                joined = aads.concat();
                &joined[..]
            }
        };
        let opened = self
            .0
            .decrypt(Nonce::from_slice(iv), Payload { msg: input, aad })
            .map_err(|e| CryptoError::Other(format!("AES-GCM decrypt failed: {e:?}")))?;
        output[..opened.len()].copy_from_slice(&opened);
        Ok(opened.len())
    }
}

impl AeadAes128GcmCipher for Gcm<Aes128Gcm> {
    fn encrypt(
        &mut self,
        iv: &[u8; AeadAes128Gcm::IV_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.seal(iv, aad, input, output)
    }

    fn decrypt(
        &mut self,
        iv: &[u8; AeadAes128Gcm::IV_LEN],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.open(iv, aads, input, output)
    }
}

impl AeadAes256GcmCipher for Gcm<Aes256Gcm> {
    fn encrypt(
        &mut self,
        iv: &[u8; AeadAes256Gcm::IV_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.seal(iv, aad, input, output)
    }

    fn decrypt(
        &mut self,
        iv: &[u8; AeadAes256Gcm::IV_LEN],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.open(iv, aads, input, output)
    }
}

/// The profiles' factories, and the provider that lists them.
#[derive(Debug)]
pub(super) struct RustCryptoSrtpProvider;

impl SupportedAes128CmSha1_80 for RustCryptoSrtpProvider {
    fn create_cipher(&self, key: [u8; 16], _encrypt: bool) -> Box<dyn Aes128CmSha1_80Cipher> {
        Box::new(CounterMode { key })
    }
}

impl SupportedAeadAes128Gcm for RustCryptoSrtpProvider {
    fn create_cipher(&self, key: [u8; 16], _encrypt: bool) -> Box<dyn AeadAes128GcmCipher> {
        Box::new(Gcm(Aes128Gcm::new(GenericArray::from_slice(&key))))
    }
}

impl SupportedAeadAes256Gcm for RustCryptoSrtpProvider {
    fn create_cipher(&self, key: [u8; 32], _encrypt: bool) -> Box<dyn AeadAes256GcmCipher> {
        Box::new(Gcm(Aes256Gcm::new(GenericArray::from_slice(&key))))
    }
}

impl SrtpProvider for RustCryptoSrtpProvider {
    fn aes_128_cm_sha1_80(&self) -> &'static dyn SupportedAes128CmSha1_80 {
        &RustCryptoSrtpProvider
    }

    fn aead_aes_128_gcm(&self) -> &'static dyn SupportedAeadAes128Gcm {
        &RustCryptoSrtpProvider
    }

    fn aead_aes_256_gcm(&self) -> &'static dyn SupportedAeadAes256Gcm {
        &RustCryptoSrtpProvider
    }

    fn srtp_aes_128_ecb_round(&self, key: &[u8], input: &[u8], output: &mut [u8]) {
        ecb_round(
            &aes::Aes128::new(GenericArray::from_slice(key)),
            input,
            output,
        );
    }

    fn srtp_aes_256_ecb_round(&self, key: &[u8], input: &[u8], output: &mut [u8]) {
        ecb_round(
            &aes::Aes256::new(GenericArray::from_slice(key)),
            input,
            output,
        );
    }
}

/// SRTP's key derivation round: one 16-byte block encrypted, then the block
/// of PKCS#7 padding a 16-byte input gets (sixteen 0x10 bytes), 32 bytes out.
fn ecb_round<C: BlockEncrypt + BlockSizeUser<BlockSize = U16>>(
    cipher: &C,
    input: &[u8],
    output: &mut [u8],
) {
    assert!(input.len() == 16 && output.len() >= 32);
    let mut block = *GenericArray::from_slice(input);
    cipher.encrypt_block(&mut block);
    output[..16].copy_from_slice(&block);
    let mut padding = GenericArray::from([0x10u8; 16]);
    cipher.encrypt_block(&mut padding);
    output[16..32].copy_from_slice(&padding);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derivation_round_is_aes_then_the_padding_block() {
        // FIPS-197 appendix C.1.
        let key: Vec<u8> = (0..16).collect();
        let input: Vec<u8> = (0..16).map(|i| i * 0x11).collect();
        let mut output = [0u8; 32];
        RustCryptoSrtpProvider.srtp_aes_128_ecb_round(&key, &input, &mut output);
        assert_eq!(
            output[..16],
            [
                0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
                0xc5, 0x5a
            ]
        );
        let mut padding = GenericArray::from([0x10u8; 16]);
        aes::Aes128::new(GenericArray::from_slice(&key)).encrypt_block(&mut padding);
        assert_eq!(output[16..], padding[..]);
    }

    #[test]
    fn gcm_opens_what_it_sealed_with_the_header_in_pieces_and_refuses_a_change() {
        let mut gcm = SupportedAeadAes256Gcm::create_cipher(&RustCryptoSrtpProvider, [7; 32], true);
        let (iv, header, payload) = ([1u8; 12], [2u8; 12], b"a frame of video");
        let mut sealed = [0u8; 64];
        gcm.encrypt(&iv, &header, payload, &mut sealed).unwrap();
        let sealed = &mut sealed[..payload.len() + AeadAes256Gcm::TAG_LEN];
        let mut opened = [0u8; 64];
        let len = gcm
            .decrypt(&iv, &[&header[..4], &header[4..]], sealed, &mut opened)
            .unwrap();
        assert_eq!(&opened[..len], payload);
        sealed[0] ^= 1;
        assert!(gcm.decrypt(&iv, &[&header], sealed, &mut opened).is_err());
    }
}
