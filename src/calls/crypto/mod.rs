//! The SFU's WebRTC crypto: str0m's "RustCrypto" backend, but with its DTLS
//! certificate made by rcgen on ring, as the HTTPS certificates are.
//!
//! str0m's own backends all bring a C library: `aws-lc-rs` and `openssl`
//! are one, and `rust-crypto` (`str0m-rust-crypto`) asks dimpl for its
//! `rcgen` feature, which turns on dimpl's `aws-lc-rs`. That would put
//! aws-lc (C, built by cc, with its own assembler step) in a binary kept
//! free of it so it builds static anywhere. So str0m is built with no
//! backend, and [`provider`] gives each session this one: DTLS by dimpl
//! with RustCrypto, SRTP, SHA-1 HMAC (STUN) and SHA-256 (fingerprints) by
//! RustCrypto, the certificate by [`certificate`]. Everything but that
//! function is `str0m-rust-crypto` 0.6.0's code (MIT OR Apache-2.0).

mod srtp;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use hmac::{Hmac, Mac};
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256};
use sha2::Digest;
use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
};
use str0m::crypto::{CryptoError, CryptoProvider, Sha1HmacProvider, Sha256Provider};

/// The provider every session of the SFU is built with.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    static SRTP: srtp::RustCryptoSrtpProvider = srtp::RustCryptoSrtpProvider;
    static SHA1_HMAC: Sha1Hmac = Sha1Hmac;
    static SHA256: Sha256 = Sha256;
    static DTLS: Dtls = Dtls;
    PROVIDER
        .get_or_init(|| {
            Arc::new(CryptoProvider {
                srtp_provider: &SRTP,
                sha1_hmac_provider: &SHA1_HMAC,
                sha256_provider: &SHA256,
                dtls_provider: &DTLS,
            })
        })
        .clone()
}

/// A session's DTLS certificate: self-signed ECDSA P-256, as browsers
/// expect, a year long, with a random serial (Firefox refuses two
/// certificates with one serial, even from different servers). The same
/// as dimpl's `generate_self_signed_certificate`, with rcgen on ring.
pub fn certificate() -> Result<DtlsCert, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "DTLS");
    name.push(DnType::CommonName, "DTLS Peer");
    params.distinguished_name = name;
    params.is_ca = IsCa::NoCa;
    params.not_before = time::OffsetDateTime::now_utc();
    params.not_after = params.not_before + time::Duration::days(365);
    params.serial_number = Some(uuid::Uuid::new_v4().into_bytes().to_vec().into());
    let cert = params.self_signed(&key)?;
    Ok(DtlsCert {
        certificate: cert.der().to_vec(),
        private_key: key.serialize_der(),
    })
}

#[derive(Debug)]
struct Sha1Hmac;

impl Sha1HmacProvider for Sha1Hmac {
    fn sha1_hmac(&self, key: &[u8], payloads: &[&[u8]]) -> [u8; 20] {
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes a key of any size");
        for payload in payloads {
            mac.update(payload);
        }
        mac.finalize().into_bytes().into()
    }
}

#[derive(Debug)]
struct Sha256;

impl Sha256Provider for Sha256 {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }
}

#[derive(Debug)]
struct Dtls;

impl DtlsProvider for Dtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        certificate()
            .inspect_err(|err| log::error!("calls: no DTLS certificate: {err}"))
            .ok()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        // ICE has checked the peer's address before DTLS starts, so a
        // server cookie would add a round trip for nothing.
        let mut builder = dimpl::Config::builder().use_server_cookie(false);
        if let Some(mtu) = mtu {
            builder = builder.mtu(mtu);
        }
        let config = Arc::new(
            builder
                .build()
                .map_err(|err| CryptoError::Other(format!("dimpl config: {err}")))?,
        );
        let cert = cert.clone();
        let dtls = match version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
            _ => {
                return Err(CryptoError::Other(format!(
                    "unsupported DTLS version: {version}"
                )));
            }
        };
        Ok(Box::new(Session(dtls)))
    }
}

/// One peer's DTLS, as str0m drives it.
struct Session(dimpl::Dtls);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish()
    }
}

impl DtlsInstance for Session {
    fn set_active(&mut self, active: bool) {
        self.0.set_active(active);
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.0.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        self.0.poll_output(buf)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.0.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsImplError> {
        self.0.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.0.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.0.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.0.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate the DTLS layer takes, with a fresh serial each time.
    #[test]
    fn certificates_are_made_without_aws_lc() {
        let (a, b) = (certificate().unwrap(), certificate().unwrap());
        assert_ne!(a.certificate, b.certificate);
        let provider = provider();
        provider
            .dtls_provider
            .new_dtls(&a, Instant::now(), DtlsVersion::Auto, None)
            .unwrap();
        assert_eq!(provider.sha256_provider.sha256(b"").len(), 32);
    }
}
