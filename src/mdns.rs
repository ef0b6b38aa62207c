//! A name instead of an IP: lanchat announces `NAME.local` (`lanchat.local`
//! unless `--name` says otherwise) and its web service (`_http._tcp`, and
//! `_https._tcp` when it serves HTTPS) over multicast DNS, with `mdns-sd`,
//! on every interface with a LAN address it listens on, and withdraws them
//! when it stops.
//!
//! Before answering for a name, `mdns-sd` probes for it (RFC 6762 §8): when
//! another host on the network already has `lanchat.local`, this one takes
//! `lanchat-2.local` (then `-3`, ...). [`Announcement::start`] waits for
//! that, so the name it reports, which the banner prints and a certificate
//! must cover, is the one others will find.
//!
//! Addresses are the interfaces' own, kept current by `mdns-sd` as they come
//! and go; each interface answers with its own address. Loopback is never
//! announced, nor an address family the server does not listen on.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context as _;
use mdns_sd::{DaemonEvent, IfKind, RRType, ServiceDaemon, ServiceInfo};

/// The name announced unless `--name` gives another.
pub const DEFAULT_NAME: &str = "lanchat";
/// The longest start-up waits for the name to be probed and announced.
/// Probing takes about a second (three probes 250 ms apart, after a random
/// delay), and a second more for each name found taken; a busy machine
/// takes longer. Past this, the name is reported as asked.
const SETTLE: Duration = Duration::from_secs(10);
/// How often the daemon is woken while the name settles (see
/// [`settled_name`]); probes go out 250 ms apart.
const NUDGE: Duration = Duration::from_millis(100);
/// How long shutdown waits for each goodbye to go out.
const GOODBYE: Duration = Duration::from_secs(1);

/// The ports the services are announced on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The plain HTTP port.
    pub http: u16,
    /// The HTTPS port, when the server serves HTTPS.
    pub https: Option<u16>,
}

/// The name and services this server announces; withdrawn by
/// [`Announcement::withdraw`].
pub struct Announcement {
    daemon: ServiceDaemon,
    /// The services' full names, as registered.
    services: Vec<String>,
    /// The name asked for, like `lanchat.local`.
    wanted: String,
    /// The name announced, like `lanchat-2.local` when `lanchat.local` was
    /// taken.
    name: String,
}

impl Announcement {
    /// Announces `label.local` and the services on `ports`, on the
    /// interfaces a server bound to `bind` listens on, and waits until the
    /// name is settled. `None` for a server that listens on loopback only:
    /// nobody else could reach it.
    pub async fn start(label: &str, bind: IpAddr, ports: Ports) -> anyhow::Result<Option<Self>> {
        if bind.is_loopback() {
            return Ok(None);
        }
        let daemon = ServiceDaemon::new().context("cannot start mDNS")?;
        let monitor = daemon.monitor().context("cannot start mDNS")?;
        daemon
            .disable_interface(interfaces_left_out(bind))
            .context("cannot choose mDNS's interfaces")?;
        if !bind.is_unspecified() {
            daemon
                .enable_interface(IfKind::Addr(bind))
                .context("cannot choose mDNS's interfaces")?;
        }
        let wanted = format!("{label}.local");
        let host = format!("{wanted}.");
        let mut services = Vec::new();
        let https = ports.https.map(|port| ("_https._tcp.local.", port));
        for (kind, port) in std::iter::once(("_http._tcp.local.", ports.http)).chain(https) {
            let info = ServiceInfo::new(kind, label, &host, (), port, [("path", "/")].as_slice())
                .with_context(|| format!("cannot describe {kind} for mDNS"))?
                .enable_addr_auto();
            services.push(info.get_fullname().to_owned());
            daemon
                .register(info)
                .with_context(|| format!("cannot announce {wanted}"))?;
        }
        let name = if has_lan_address(bind) {
            settled_name(&daemon, &monitor, &wanted).await
        } else {
            log::info!(
                "mDNS: no interface has a LAN address yet; \
                 {wanted} will be announced when one comes up"
            );
            wanted.clone()
        };
        Ok(Some(Announcement {
            daemon,
            services,
            wanted,
            name,
        }))
    }

    /// The name announced, like `lanchat.local` or `lanchat-2.local`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name asked for, when another host had it and this one took
    /// [`Announcement::name`] instead.
    pub fn taken(&self) -> Option<&str> {
        (self.name != self.wanted).then_some(self.wanted.as_str())
    }

    /// Says goodbye for the name and every service, so others forget them
    /// now rather than when their records expire, and stops mDNS.
    pub async fn withdraw(self) {
        for service in &self.services {
            if let Ok(done) = self.daemon.unregister(service) {
                let _ = tokio::time::timeout(GOODBYE, done.recv_async()).await;
            }
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = tokio::time::timeout(GOODBYE, done.recv_async()).await;
        }
        log::debug!("mDNS: {} withdrawn", self.name);
    }
}

/// The interfaces a server bound to `bind` does not listen on: loopback
/// always; IPv6 when it listens on IPv4 only; all of them but the one
/// address when it is bound to one (that one is enabled again).
fn interfaces_left_out(bind: IpAddr) -> Vec<IfKind> {
    let mut left_out = vec![IfKind::LoopbackV4, IfKind::LoopbackV6];
    if !bind.is_unspecified() {
        left_out.push(IfKind::All);
    } else if bind.is_ipv4() {
        left_out.push(IfKind::IPv6);
    }
    left_out
}

/// Whether an interface has an address, not loopback, that a server bound
/// to `bind` listens on: one the name can be announced on now.
fn has_lan_address(bind: IpAddr) -> bool {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return false;
    };
    interfaces.iter().map(|iface| iface.ip()).any(|ip| {
        !ip.is_loopback()
            && match bind {
                IpAddr::V4(_) if bind.is_unspecified() => ip.is_ipv4(),
                IpAddr::V6(_) if bind.is_unspecified() => true,
                _ => ip == bind,
            }
    })
}

/// The host name the daemon announces once probing is over: `wanted`, or
/// the name it took because another host had `wanted`. If nothing is
/// announced within [`SETTLE`], `wanted`.
async fn settled_name(
    daemon: &ServiceDaemon,
    monitor: &mdns_sd::Receiver<DaemonEvent>,
    wanted: &str,
) -> String {
    // mdns-sd (0.21.7) schedules no wake-up for a probe it starts while
    // announcing a service whose records were renamed apart (the SRV
    // first, the TXT a moment later): that probe waited for the daemon's
    // next interface check, 5 s on, and the name settled after 5-10 s
    // instead of about 2. Any command wakes the daemon, and each wake runs
    // the probes that are due; a metrics snapshot changes nothing.
    let mut nudge = tokio::time::interval(NUDGE);
    let waiting = async {
        loop {
            let event = tokio::select! {
                event = monitor.recv_async() => event,
                _ = nudge.tick() => {
                    let _ = daemon.get_metrics();
                    continue;
                }
            };
            match event {
                // After probing, the second part is "host.local.:interface".
                Ok(DaemonEvent::Announce(_, host_and_interface)) => {
                    if let Some((host, _)) = host_and_interface.split_once(".local.:") {
                        return format!("{host}.local");
                    }
                }
                Ok(DaemonEvent::NameChange(change))
                    if matches!(change.rr_type, RRType::A | RRType::AAAA) =>
                {
                    log::info!(
                        "mDNS: {} is taken on {}; trying {}",
                        change.original.trim_end_matches('.'),
                        change.intf_name,
                        change.new_name.trim_end_matches('.')
                    );
                }
                Ok(DaemonEvent::Error(err)) => log::debug!("mDNS: {err}"),
                Ok(_) => {}
                Err(_) => return wanted.to_owned(),
            }
        }
    };
    match tokio::time::timeout(SETTLE, waiting).await {
        Ok(name) => name,
        Err(_) => {
            log::warn!(
                "mDNS: {wanted} is not announced yet after {}s; \
                 the name printed may change",
                SETTLE.as_secs()
            );
            wanted.to_owned()
        }
    }
}

/// Checks a `--name`: a DNS label (letters, digits and hyphens, at most 63,
/// no hyphen at either end), lowercased; a trailing `.local` is allowed.
pub fn parse_name(text: &str) -> Result<String, String> {
    let label = text.trim().trim_end_matches('.');
    let label = label
        .strip_suffix(".local")
        .unwrap_or(label)
        .to_ascii_lowercase();
    let valid = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if valid {
        Ok(label)
    } else {
        Err(format!(
            "{text:?} cannot be a .local name: use letters, digits and hyphens \
             (at most 63, no hyphen first or last), like lanchat or room-12"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(parse_name("lanchat"), Ok("lanchat".into()));
        assert_eq!(parse_name("Sala-3"), Ok("sala-3".into()));
        assert_eq!(parse_name("party.local"), Ok("party".into()));
        assert_eq!(parse_name("party.local."), Ok("party".into()));
        for bad in [
            "",
            "-x",
            "x-",
            "a b",
            "sala_3",
            "café",
            "a.b",
            &"x".repeat(64),
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_name(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn only_the_interfaces_listened_on_are_announced() {
        let kinds = |bind: &str| -> Vec<String> {
            interfaces_left_out(bind.parse().unwrap())
                .iter()
                .map(|kind| format!("{kind:?}"))
                .collect()
        };
        assert_eq!(kinds("0.0.0.0"), ["LoopbackV4", "LoopbackV6", "IPv6"]);
        assert_eq!(kinds("::"), ["LoopbackV4", "LoopbackV6"]);
        assert_eq!(kinds("192.168.1.5"), ["LoopbackV4", "LoopbackV6", "All"]);
    }
}
