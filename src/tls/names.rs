//! The names and addresses a server certificate is for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
}
