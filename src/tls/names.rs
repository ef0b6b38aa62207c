//! The names and addresses a server certificate is for, and whether a URL's
//! host is one of them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use x509_parser::extensions::GeneralName;

/// What the certificate's SANs list: addresses and DNS names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerNames {
    pub ips: Vec<IpAddr>,
    pub dns: Vec<String>,
}

impl ServerNames {
    /// Every address of this machine's interfaces (loopback too), its host
    /// name, `localhost`, and `local_names` (the mDNS names, like
    /// `lanchat.local`).
    pub fn of_this_machine(local_names: &[String]) -> ServerNames {
        let mut ips = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        ips.extend(crate::banner::interface_addresses(true));
        let mut names = ServerNames {
            ips,
            dns: vec!["localhost".to_owned()],
        };
        if let Some(host) = host_name() {
            names.add_name(&host);
        }
        for name in local_names {
            names.add_name(name);
        }
        names
    }

    /// What the certificate `der` vouches for: its SANs (browsers read
    /// nothing else, not the common name). Nothing if it cannot be read.
    pub fn of_certificate(der: &[u8]) -> ServerNames {
        let mut names = ServerNames::default();
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            return names;
        };
        let Ok(Some(san)) = cert.subject_alternative_name() else {
            return names;
        };
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(name) => names.add_name(name),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.ips.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        names.ips.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
        names
    }

    /// Whether a browser opening a URL with this `host` (an address, IPv6
    /// in brackets or not, or a name) accepts a certificate with these
    /// names: an address only by an address SAN, a name by the same name or
    /// a wildcard for its first label (`*.example.org` covers
    /// `chat.example.org`, not `example.org` nor `a.chat.example.org`).
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.ips.contains(&ip);
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.dns.iter().any(|name| match name.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == parent),
            None => *name == host,
        })
    }

    /// Adds `name` unless it is there already (names compare without case).
    pub fn add_name(&mut self, name: &str) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !self.dns.contains(&name) {
            self.dns.push(name);
        }
    }
}

/// This machine's name, if it has one that can be a DNS name.
pub fn host_name() -> Option<String> {
    let name = gethostname::gethostname().into_string().ok()?;
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (valid && name != "localhost").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_loopback_localhost_and_the_local_names() {
        let names = ServerNames::of_this_machine(&["lanchat.local".into(), "LANCHAT.local".into()]);
        assert!(names.ips.contains(&"127.0.0.1".parse().unwrap()));
        assert!(names.ips.contains(&"::1".parse().unwrap()));
        assert!(names.dns.contains(&"localhost".into()));
        assert_eq!(
            names.dns.iter().filter(|n| *n == "lanchat.local").count(),
            1
        );
    }

    fn certificate(sans: &[&str]) -> Vec<u8> {
        let names = sans.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let pair = rcgen::generate_simple_self_signed(names).unwrap();
        pair.cert.der().to_vec()
    }

    #[test]
    fn covers_what_the_certificate_names_and_nothing_else() {
        let names = ServerNames::of_certificate(&certificate(&[
            "192.168.1.5",
            "fd00::1",
            "Lanchat.local",
            "*.example.org",
        ]));
        assert_eq!(
            names.ips,
            [
                "192.168.1.5".parse::<IpAddr>().unwrap(),
                "fd00::1".parse().unwrap()
            ]
        );
        for host in [
            "192.168.1.5",
            "[fd00::1]",
            "fd00::1",
            "lanchat.local",
            "LANCHAT.local.",
            "chat.example.org",
        ] {
            assert!(names.covers(host), "{host}");
        }
        for host in [
            "192.168.1.6",
            "[fd00::2]",
            "10.0.0.1",
            "lanchat-2.local",
            "example.org",
            "a.chat.example.org",
            ".example.org",
            "localhost",
        ] {
            assert!(!names.covers(host), "{host}");
        }
    }

    #[test]
    fn an_address_is_covered_only_by_an_address() {
        // A name SAN that spells an address is not how browsers match one.
        let names = ServerNames {
            ips: Vec::new(),
            dns: vec!["192.168.1.5".into(), "*.168.1.5".into()],
        };
        assert!(!names.covers("192.168.1.5"));
        assert!(!ServerNames::of_certificate(b"not a certificate").covers("localhost"));
    }
}
