//! A certificate and key brought with `--tls-cert` and `--tls-key` (from an
//! organisation's CA, or ACME on a real domain), checked before serving:
//! readable, a pair, and valid now.

use std::path::Path;

use anyhow::{Context as _, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

/// Loads the pair, refusing it with one line that says what is wrong.
pub fn load(
    cert_path: &Path,
    key_path: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let cert_text = std::fs::read(cert_path)
        .with_context(|| format!("cannot read --tls-cert {}", cert_path.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_text)
        .collect::<Result<_, _>>()
        .ok()
        .filter(|chain: &Vec<_>| !chain.is_empty())
        .with_context(|| {
            format!(
                "--tls-cert {} holds no PEM certificate",
                cert_path.display()
            )
        })?;
    let key_text = std::fs::read(key_path)
        .with_context(|| format!("cannot read --tls-key {}", key_path.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_text).map_err(|_| {
        anyhow::anyhow!("--tls-key {} holds no PEM private key", key_path.display())
    })?;
    check_dates(&chain[0], cert_path)?;
    let key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|err| anyhow::anyhow!("--tls-key {} cannot be used: {err}", key_path.display()))?;
    let certified = CertifiedKey::new(chain, key);
    if certified.keys_match().is_err() {
        bail!(
            "--tls-key {} is not the key of --tls-cert {}",
            key_path.display(),
            cert_path.display()
        );
    }
    Ok(certified)
}

/// Refuses a certificate that has expired or is not valid yet.
fn check_dates(cert: &CertificateDer<'_>, path: &Path) -> anyhow::Result<()> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|_| anyhow::anyhow!("--tls-cert {} is not a certificate", path.display()))?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let validity = parsed.validity();
    if validity.not_after.timestamp() < now {
        bail!(
            "--tls-cert {} expired on {}",
            path.display(),
            validity.not_after
        );
    }
    if validity.not_before.timestamp() > now {
        bail!(
            "--tls-cert {} is not valid until {}",
            path.display(),
            validity.not_before
        );
    }
    Ok(())
}

/// When the brought certificate stops being valid, to warn ahead of it.
pub fn not_after(cert: &CertifiedKey) -> Option<OffsetDateTime> {
    let der = cert.end_entity_cert().ok()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(der).ok()?;
    OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp()).ok()
}
