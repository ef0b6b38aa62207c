//! HTTPS (`--tls`): the local CA (`ca.rs`), the names a server certificate
//! is for and whether it covers a URL's host (`names.rs`), a brought certificate (`own.rs`), the certificate
//! every handshake gets, swapped without a restart, and the acceptor the
//! accept loop wraps connections in (`stream.rs`: one connection, holding
//! no buffer while idle). The plain port's trust page is `trust_port.rs`.
//!
//! rustls on ring, with no OpenSSL anywhere, so the binary stays static.

pub mod ca;
mod names;
mod own;
mod stream;
pub mod trust_port;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use ca::{CERT_FILE, KEY_FILE, LocalCa, fingerprint};
pub use names::{ServerNames, host_name};
pub use stream::Acceptor;

use crate::sync::lock;

/// A server certificate is issued again when it has less than this left.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// How often the certificate's dates (or a brought pair's files) are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Where the certificate comes from, as the configuration says.
#[derive(Debug, Clone)]
pub enum Source {
    /// The local CA in this folder (made there if missing); `None` for a
    /// CA that lives only as long as the process (`--memory`).
    LocalCa(Option<PathBuf>),
    /// `--tls-cert` and `--tls-key`.
    Own { cert: PathBuf, key: PathBuf },
}

/// HTTPS for the server: a cheap handle to share.
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    acceptor: Acceptor,
    current: Arc<CurrentCert>,
    provider: Arc<CryptoProvider>,
    issuing: Issuing,
}

/// What makes the next certificate.
enum Issuing {
    LocalCa {
        ca: Box<LocalCa>,
        /// Whether the CA is kept on disk (not with `--memory`).
        kept: bool,
        /// The names the current certificate is for, and when it ends.
        state: Mutex<(ServerNames, OffsetDateTime)>,
    },
    Own {
        cert: PathBuf,
        key: PathBuf,
        /// The files' modification time when they were read.
        read_at: Mutex<Option<SystemTime>>,
    },
}

/// The certificate handshakes get. Replaced whole when it is issued again,
/// so a handshake sees either the old one or the new, never a mix; a
/// connection keeps the one it started with.
#[derive(Debug)]
struct CurrentCert(Mutex<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(lock(&self.0).clone())
    }
}

impl Tls {
    /// Sets up HTTPS: loads or makes the local CA and issues a certificate
    /// for this machine's addresses and names and `local_names` (the mDNS
    /// names), or loads a brought pair. Every refusal is one line.
    pub fn start(source: &Source, local_names: &[String]) -> anyhow::Result<Tls> {
        let provider = Arc::new(provider());
        let (issuing, first) = match source {
            Source::LocalCa(dir) => {
                let host = host_name();
                let ca = match dir {
                    Some(dir) => LocalCa::open_or_create(dir, host.as_deref())?,
                    None => LocalCa::ephemeral(host.as_deref())?,
                };
                let names = ServerNames::of_this_machine(local_names);
                let issued = ca.issue(&names)?;
                let first = CertifiedKey::from_der(vec![issued.cert], issued.key, &provider)
                    .context("rustls refused the server certificate")?;
                let issuing = Issuing::LocalCa {
                    ca: Box::new(ca),
                    kept: dir.is_some(),
                    state: Mutex::new((names, issued.not_after)),
                };
                (issuing, first)
            }
            Source::Own { cert, key } => {
                let first = own::load(cert, key, &provider)?;
                let issuing = Issuing::Own {
                    cert: cert.clone(),
                    key: key.clone(),
                    read_at: Mutex::new(modified(cert, key)),
                };
                (issuing, first)
            }
        };
        let current = Arc::new(CurrentCert(Mutex::new(Arc::new(first))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("rustls has no protocol version to offer")?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // We serve HTTP/1.1 only (WebSockets upgrade from it).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            inner: Arc::new(Inner {
                acceptor: Acceptor::new(Arc::new(config)),
                current,
                provider,
                issuing,
            }),
        })
    }

    pub fn acceptor(&self) -> Acceptor {
        self.inner.acceptor.clone()
    }

    /// The local CA, unless the certificate was brought.
    pub fn local_ca(&self) -> Option<&LocalCa> {
        match &self.inner.issuing {
            Issuing::LocalCa { ca, .. } => Some(ca.as_ref()),
            Issuing::Own { .. } => None,
        }
    }

    /// Whether the local CA is new at every start (`--memory`).
    pub fn ca_is_ephemeral(&self) -> bool {
        matches!(&self.inner.issuing, Issuing::LocalCa { kept: false, .. })
    }

    /// What the certificate handshakes get now vouches for: a URL whose
    /// host it does not [cover](ServerNames::covers) gets a browser warning.
    pub fn names(&self) -> ServerNames {
        let current = lock(&self.inner.current.0).clone();
        current
            .end_entity_cert()
            .map(|der| ServerNames::of_certificate(der))
            .unwrap_or_default()
    }

    /// The certificate handshakes get now (its first is the server's).
    #[cfg(test)]
    fn current_chain(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        lock(&self.inner.current.0).cert.clone()
    }

    /// Issues the certificate again with one more name (say the mDNS name
    /// taken at run time, `lanchat-2.local`) and swaps it in: connections
    /// from then on get it. Does nothing for a brought certificate, or a
    /// name already covered.
    pub fn add_name(&self, name: &str) -> anyhow::Result<()> {
        let Issuing::LocalCa { state, .. } = &self.inner.issuing else {
            return Ok(());
        };
        let mut names = lock(state).0.clone();
        let before = names.dns.len();
        names.add_name(name);
        if names.dns.len() == before {
            return Ok(());
        }
        self.issue(names)
    }

    /// Issues a new certificate for `names` and swaps it in.
    fn issue(&self, names: ServerNames) -> anyhow::Result<()> {
        let Issuing::LocalCa { ca, state, .. } = &self.inner.issuing else {
            return Ok(());
        };
        let issued = ca.issue(&names)?;
        let certified = CertifiedKey::from_der(vec![issued.cert], issued.key, &self.inner.provider)
            .context("rustls refused the server certificate")?;
        *lock(state) = (names, issued.not_after);
        *lock(&self.inner.current.0) = Arc::new(certified);
        log::info!(
            "issued a new server certificate, valid until {}",
            issued.not_after.date()
        );
        Ok(())
    }

    /// Once an hour until `stop`: [`Tls::renew_if_due`].
    pub async fn renew_until(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(CHECK_EVERY);
        every.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let tls = self.clone();
            let now = OffsetDateTime::now_utc();
            let checked = tokio::task::spawn_blocking(move || tls.renew_if_due(now)).await;
            if let Ok(Err(err)) = checked {
                log::warn!("could not renew the server certificate: {err:#}");
            }
        }
    }

    /// Issues the certificate again if less than 30 days are left at `now`;
    /// reads a brought pair again if its files changed (a renewal). Says
    /// whether the certificate changed.
    pub fn renew_if_due(&self, now: OffsetDateTime) -> anyhow::Result<bool> {
        match &self.inner.issuing {
            Issuing::LocalCa { state, .. } => {
                let (names, not_after) = lock(state).clone();
                if not_after - now > RENEW_BEFORE {
                    return Ok(false);
                }
                self.issue(names)?;
                Ok(true)
            }
            Issuing::Own { cert, key, read_at } => {
                let changed = modified(cert, key);
                if changed == *lock(read_at) {
                    if let Some(end) = own::not_after(&lock(&self.inner.current.0))
                        && end - now < RENEW_BEFORE
                    {
                        log::warn!(
                            "--tls-cert {} ends on {}: renew it",
                            cert.display(),
                            end.date()
                        );
                    }
                    return Ok(false);
                }
                let certified = own::load(cert, key, &self.inner.provider)?;
                *lock(&self.inner.current.0) = Arc::new(certified);
                *lock(read_at) = changed;
                log::info!("read --tls-cert {} again: it changed", cert.display());
                Ok(true)
            }
        }
    }
}

/// rustls on ring, as the project chose (no C toolchain for aws-lc, a
/// static binary everywhere). rustls 0.23.48 marks ring's provider
/// deprecated because ring has no post-quantum key exchange; X25519 and
/// the NIST curves are what LAN browsers get from it.
#[allow(deprecated)]
pub fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The later of the two files' modification times.
fn modified(cert: &Path, key: &Path) -> Option<SystemTime> {
    let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    time(cert).max(time(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sans(tls: &Tls) -> Vec<String> {
        let chain = tls.current_chain();
        let (_, cert) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        san.value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(name) => Some(name.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn takes_a_name_at_run_time_and_swaps_the_certificate() {
        let tls = Tls::start(&Source::LocalCa(None), &["lanchat.local".into()]).unwrap();
        let before = tls.current_chain();
        assert!(sans(&tls).contains(&"lanchat.local".into()));
        tls.add_name("lanchat-2.local").unwrap();
        assert_ne!(tls.current_chain(), before);
        assert!(sans(&tls).contains(&"lanchat-2.local".into()));
        assert!(sans(&tls).contains(&"lanchat.local".into()));
        let again = tls.current_chain();
        tls.add_name("LANCHAT-2.local").unwrap();
        assert_eq!(tls.current_chain(), again, "a name it has changes nothing");
    }

    #[test]
    fn reads_a_brought_pair_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let write = |name: &str| {
            let pair = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
            std::fs::write(&cert, pair.cert.pem()).unwrap();
            std::fs::write(&key, pair.signing_key.serialize_pem()).unwrap();
        };
        write("first.example");
        let tls = Tls::start(
            &Source::Own {
                cert: cert.clone(),
                key: key.clone(),
            },
            &[],
        )
        .unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(!tls.renew_if_due(now).unwrap(), "unchanged files");
        let first = tls.current_chain();
        write("renewed.example");
        let later = SystemTime::now() + Duration::from_secs(60);
        for path in [&cert, &key] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(later)
                .unwrap();
        }
        assert!(tls.renew_if_due(now).unwrap());
        assert_ne!(tls.current_chain(), first);
        assert!(sans(&tls).contains(&"renewed.example".into()));
    }

    #[test]
    fn renews_thirty_days_before_the_end() {
        let tls = Tls::start(&Source::LocalCa(None), &[]).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(!tls.renew_if_due(now).unwrap());
        let first = tls.current_chain();
        assert!(
            tls.renew_if_due(now + Duration::from_secs(370 * 86_400))
                .unwrap()
        );
        assert_ne!(tls.current_chain(), first);
        assert!(
            !tls.renew_if_due(now).unwrap(),
            "the new one has a year left"
        );
    }
}
