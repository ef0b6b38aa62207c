//! The local certificate authority: made once, kept in the data folder as
//! `lanchat-ca.pem` (the certificate, which the trust page hands out) and
//! `lanchat-ca.key` (its key: 0600, never served, never logged), and the
//! server certificates it signs.
//!
//! A device that trusts this CA trusts whatever it signs, so it is made to
//! sign as little as it can: name constraints limit it to private, loopback
//! and link-local addresses, `.local`, `localhost` and this machine's name,
//! and a path length of 0 keeps it from making other CAs. Even a stolen key
//! cannot then vouch for a bank's website on the phones that installed it.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;

use super::names::ServerNames;

pub const CERT_FILE: &str = "lanchat-ca.pem";
pub const KEY_FILE: &str = "lanchat-ca.key";

/// The subject's organisation marks a CA as lanchat's.
const ORGANISATION: &str = "lanchat";
/// What the CA is called in a device's list of certificates.
const COMMON_NAME: &str = "lanchat local CA";
/// Long, so the devices that installed it need not do so again.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
/// At most 397 days: what browsers accept for a server certificate.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(397 * 86_400);
/// Validity starts this much before now, for devices whose clock is behind.
const CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// Address ranges the CA may sign for: private (RFC 1918), shared (RFC
/// 6598, as Tailscale uses), loopback and link-local IPv4; unique-local,
/// link-local and loopback IPv6.
const PERMITTED_V4: [([u8; 4], u8); 6] = [
    ([10, 0, 0, 0], 8),
    ([172, 16, 0, 0], 12),
    ([192, 168, 0, 0], 16),
    ([100, 64, 0, 0], 10),
    ([169, 254, 0, 0], 16),
    ([127, 0, 0, 0], 8),
];
const PERMITTED_V6: [(u128, u8); 3] = [(0xfc00 << 112, 7), (0xfe80 << 112, 10), (1, 128)];
/// Names the CA may sign for, besides this machine's own.
const PERMITTED_NAMES: [&str; 2] = ["local", "localhost"];

/// The CA, loaded or just made.
pub struct LocalCa {
    der: CertificateDer<'static>,
    pem: String,
    key: KeyPair,
    /// The names and ranges its certificate allows, read back from it.
    permitted: Permitted,
}

/// A server certificate and its key, as rustls takes them.
pub struct Issued {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    pub not_after: OffsetDateTime,
}

impl LocalCa {
    /// Loads the CA kept in `dir`, or makes one there if there is none. A
    /// CA file that is not lanchat's, or half of a pair, is refused and left
    /// as it is; so is a key others can read.
    pub fn open_or_create(dir: &Path, host: Option<&str>) -> anyhow::Result<LocalCa> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => LocalCa::load(&cert_path, &key_path),
            (false, false) => {
                let ca = LocalCa::generate(host)?;
                ca.save(dir, &cert_path, &key_path)?;
                log::info!("made a new local CA in {}", cert_path.display());
                Ok(ca)
            }
            (true, false) => bail!(
                "{} is there without its key {}; lanchat leaves both alone: \
                 put the key back, or move the certificate away to make a new CA",
                cert_path.display(),
                key_path.display()
            ),
            (false, true) => bail!(
                "{} is there without its certificate {}; lanchat leaves both alone: \
                 put the certificate back, or move the key away to make a new CA",
                key_path.display(),
                cert_path.display()
            ),
        }
    }

    /// A CA kept nowhere, for `--memory`: gone when the server stops.
    pub fn ephemeral(host: Option<&str>) -> anyhow::Result<LocalCa> {
        LocalCa::generate(host)
    }

    fn generate(host: Option<&str>) -> anyhow::Result<LocalCa> {
        let key = KeyPair::generate().context("cannot make a key for the local CA")?;
        let mut params = CertificateParams::default();
        let now = OffsetDateTime::now_utc();
        params.not_before = now - CLOCK_SKEW;
        params.not_after = now + CA_LIFETIME;
        params.serial_number = Some(random_serial()?);
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, ORGANISATION);
        name.push(
            DnType::CommonName,
            match host {
                Some(host) => format!("{COMMON_NAME} ({host})"),
                None => COMMON_NAME.to_owned(),
            },
        );
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut permitted: Vec<GeneralSubtree> = PERMITTED_V4
            .iter()
            .map(|(addr, prefix)| {
                GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix(*addr, *prefix))
            })
            .chain(PERMITTED_V6.iter().map(|(addr, prefix)| {
                GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(addr.to_be_bytes(), *prefix))
            }))
            .collect();
        permitted.extend(
            PERMITTED_NAMES
                .iter()
                .map(|name| name.to_string())
                .chain(host.map(str::to_owned))
                .map(GeneralSubtree::DnsName),
        );
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: Vec::new(),
        });
        let cert = params
            .self_signed(&key)
            .context("cannot make the local CA's certificate")?;
        LocalCa::from_parts(cert.der().clone(), key)
    }

    fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<LocalCa> {
        check_private(key_path)?;
        let not_ours = |why: &str| {
            anyhow::anyhow!(
                "{} is not lanchat's CA ({why}); lanchat never overwrites it: move it \
                 (and {}) away to make a new one, or bring your own with --tls-cert and --tls-key",
                cert_path.display(),
                key_path.display()
            )
        };
        let pem_text = std::fs::read_to_string(cert_path)
            .with_context(|| format!("cannot read {}", cert_path.display()))?;
        let der = CertificateDer::from_pem_slice(pem_text.as_bytes())
            .map_err(|_| not_ours("not a PEM certificate"))?;
        let key_text = std::fs::read_to_string(key_path)
            .with_context(|| format!("cannot read {}", key_path.display()))?;
        let key = KeyPair::from_pem(&key_text).map_err(|_| not_ours("its key is not a key"))?;
        {
            let (_, cert) = x509_parser::parse_x509_certificate(&der)
                .map_err(|_| not_ours("not a certificate"))?;
            let organisation = cert
                .subject()
                .iter_organization()
                .next()
                .and_then(|o| o.as_str().ok());
            if organisation != Some(ORGANISATION) || !cert.is_ca() {
                return Err(not_ours("made by something else"));
            }
            if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
                return Err(not_ours("the key is not the certificate's"));
            }
            if cert.validity().not_after.timestamp() < OffsetDateTime::now_utc().unix_timestamp() {
                bail!(
                    "the local CA {} expired on {}; move it and its key away to make a new one \
                     (every device must then install the new one)",
                    cert_path.display(),
                    cert.validity().not_after
                );
            }
        }
        LocalCa::from_parts(der, key)
    }

    fn from_parts(der: CertificateDer<'static>, key: KeyPair) -> anyhow::Result<LocalCa> {
        let permitted = Permitted::of(&der)?;
        let pem = to_pem("CERTIFICATE", &der);
        Ok(LocalCa {
            der,
            pem,
            key,
            permitted,
        })
    }

    /// Writes the key (0600) and then the certificate, each whole or not
    /// at all, never over a file that appeared meanwhile.
    fn save(&self, dir: &Path, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the data folder {}", dir.display()))?;
        write_new(key_path, self.key.serialize_pem().as_bytes(), true)?;
        write_new(cert_path, self.pem.as_bytes(), false)
    }

    /// The certificate, as devices install it.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The SHA-256 of the certificate, as `AB:CD:…`, the way devices show it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }

    /// Signs a new server certificate, with a new key, for those of
    /// `names` the CA may vouch for (the others are logged and left out).
    pub fn issue(&self, names: &ServerNames) -> anyhow::Result<Issued> {
        let key = KeyPair::generate().context("cannot make a key for the server certificate")?;
        let mut params = CertificateParams::default();
        let now = OffsetDateTime::now_utc();
        params.not_before = now - CLOCK_SKEW;
        params.not_after = params.not_before + SERVER_LIFETIME;
        params.serial_number = Some(random_serial()?);
        // No common name: the names are the SANs, which is all browsers read.
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, ORGANISATION);
        params.distinguished_name = subject;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        for ip in &names.ips {
            if self.permitted.ip(*ip) {
                params.subject_alt_names.push(SanType::IpAddress(*ip));
            } else {
                log::warn!(
                    "the certificate cannot cover {ip}: the local CA vouches only for private \
                     addresses, so devices must use another address or name (or bring a \
                     certificate with --tls-cert)"
                );
            }
        }
        for name in &names.dns {
            let allowed = self.permitted.name(name);
            match name.as_str().try_into() {
                Ok(dns) if allowed => params.subject_alt_names.push(SanType::DnsName(dns)),
                _ => log::info!("the certificate leaves out the name {name:?}"),
            }
        }
        let issuer = Issuer::from_ca_cert_der(&self.der, &self.key)
            .context("cannot read the local CA back")?;
        let cert = params
            .signed_by(&key, &issuer)
            .context("cannot sign the server certificate")?;
        Ok(Issued {
            cert: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            not_after: params.not_after,
        })
    }
}

/// Whether the CA `der` may vouch for `ip` (its name constraints allow
/// it): what `lanchat trust`, with no server certificate at hand, offers.
pub fn may_vouch_for(der: &CertificateDer<'_>, ip: IpAddr) -> bool {
    Permitted::of(der).is_ok_and(|permitted| permitted.ip(ip))
}

/// What a CA's name constraints permit.
struct Permitted {
    nets: Vec<(IpAddr, u8)>,
    names: Vec<String>,
}

impl Permitted {
    fn of(der: &CertificateDer<'_>) -> anyhow::Result<Permitted> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).context("cannot read the local CA")?;
        let mut permitted = Permitted {
            nets: Vec::new(),
            names: Vec::new(),
        };
        let constraints = cert
            .name_constraints()
            .context("cannot read the local CA's name constraints")?;
        let subtrees = constraints
            .and_then(|ext| ext.value.permitted_subtrees.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for subtree in subtrees {
            match &subtree.base {
                GeneralName::DNSName(name) => permitted.names.push(name.to_ascii_lowercase()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(net) = ip_and_prefix(bytes) {
                        permitted.nets.push(net);
                    }
                }
                _ => {}
            }
        }
        Ok(permitted)
    }

    fn ip(&self, ip: IpAddr) -> bool {
        self.nets
            .iter()
            .any(|(net, prefix)| in_net(ip, *net, *prefix))
    }

    fn name(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.names.iter().any(|allowed| {
            name == *allowed
                || name
                    .strip_suffix(allowed.as_str())
                    .is_some_and(|head| head.ends_with('.'))
        })
    }
}

/// An address and mask, as a name constraint stores them, as (net, prefix).
fn ip_and_prefix(bytes: &[u8]) -> Option<(IpAddr, u8)> {
    let half = bytes.len() / 2;
    let (addr, mask) = bytes.split_at(half);
    let prefix = mask.iter().map(|b| b.count_ones()).sum::<u32>() as u8;
    let addr = match half {
        4 => IpAddr::from(<[u8; 4]>::try_from(addr).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(addr).ok()?),
        _ => return None,
    };
    Some((addr, prefix))
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The SHA-256 of a certificate, as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `der` as PEM: base64 in lines of 64, between BEGIN and END.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).context("the OS gave no random bytes")?;
    // Positive, as DER integers in serials must be.
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Refuses a key file others may read, with the command that fixes it.
fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the local CA's key {} can be read by others (mode {:o}); \
                 make it yours alone with: chmod 600 {}",
                path.display(),
                mode & 0o777,
                shell_quoted(path)
            );
        }
    }
    Ok(())
}

#[cfg(unix)]
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Writes `bytes` to a new file at `path` through a temporary name, so the
/// file is either whole or absent; `private` makes it 0600 from the start.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let temp: PathBuf = path.with_extension("partial");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let write = |file: &mut File| -> std::io::Result<()> {
        file.write_all(bytes)?;
        file.sync_all()
    };
    let mut file = options
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    write(&mut file).with_context(|| format!("cannot write {}", temp.display()))?;
    drop(file);
    if path.exists() {
        let _ = std::fs::remove_file(&temp);
        bail!(
            "{} appeared while lanchat was making it; left alone",
            path.display()
        );
    }
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ips: &[&str], dns: &[&str]) -> ServerNames {
        ServerNames {
            ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
            dns: dns.iter().map(|name| name.to_string()).collect(),
        }
    }

    fn sans(der: &[u8]) -> Vec<String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        san.value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(name) => name.to_string(),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()).to_string(),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()).to_string(),
                },
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn signs_only_what_its_constraints_permit() {
        let ca = LocalCa::ephemeral(Some("ana-laptop")).unwrap();
        let issued = ca
            .issue(&names(
                &[
                    "192.168.1.5",
                    "10.1.2.3",
                    "127.0.0.1",
                    "::1",
                    "fd00::5",
                    "8.8.8.8",
                    "2001:db8::1",
                ],
                &[
                    "localhost",
                    "ana-laptop",
                    "lanchat.local",
                    "lanchat-2.local",
                    "bank.example",
                ],
            ))
            .unwrap();
        assert_eq!(
            sans(&issued.cert),
            [
                "192.168.1.5",
                "10.1.2.3",
                "127.0.0.1",
                "::1",
                "fd00::5",
                "localhost",
                "ana-laptop",
                "lanchat.local",
                "lanchat-2.local"
            ]
        );
        let (_, cert) = x509_parser::parse_x509_certificate(&issued.cert).unwrap();
        let days = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
            / 86_400;
        assert!(days <= 397, "{days} days");
        assert!(!cert.is_ca());
    }

    #[test]
    fn ranges_match_by_prefix() {
        assert!(in_net(
            "172.31.255.1".parse().unwrap(),
            "172.16.0.0".parse().unwrap(),
            12
        ));
        assert!(!in_net(
            "172.32.0.1".parse().unwrap(),
            "172.16.0.0".parse().unwrap(),
            12
        ));
        assert!(in_net(
            "fe80::1".parse().unwrap(),
            "fe80::".parse().unwrap(),
            10
        ));
        assert!(!in_net("::2".parse().unwrap(), "::1".parse().unwrap(), 128));
    }

    #[test]
    fn is_kept_and_read_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let made = LocalCa::open_or_create(dir.path(), None).unwrap();
        let again = LocalCa::open_or_create(dir.path(), None).unwrap();
        assert_eq!(made.der(), again.der());
        assert_eq!(made.fingerprint(), again.fingerprint());
        assert_eq!(made.fingerprint().len(), 32 * 3 - 1);
    }
}
