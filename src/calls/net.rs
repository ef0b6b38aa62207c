//! The RTC port: which of this machine's addresses calls advertise to
//! browsers, and one UDP socket on each, all on the same port.
//!
//! The server is ICE-lite: it gathers nothing and never connects out.
//! Browsers connect to the addresses in its answer, so they only need to
//! reach the server, never each other. A socket per address (rather than
//! one on the wildcard) lets each datagram's destination be known, which
//! ICE needs, and sends each reply from the address it was asked on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use anyhow::Context as _;

/// Times the RTC port is chosen again when a free port is taken on one
/// address and busy on another.
const PORT_TRIES: usize = 10;

/// The addresses to advertise: those given, or for a server listening on
/// every interface, each interface's (as the banner lists them) and
/// loopback, for a browser on this machine; for one listening on one
/// address, that address.
pub fn advertised(bind: IpAddr, given: &[IpAddr]) -> Vec<IpAddr> {
    if !given.is_empty() {
        let mut given = given.to_vec();
        given.dedup();
        return given;
    }
    if !bind.is_unspecified() {
        return vec![bind];
    }
    let mut addresses = crate::banner::interface_addresses(bind.is_ipv6());
    addresses.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if bind.is_ipv6() {
        addresses.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
    addresses
}

/// Sockets bound on `port` at each of `addresses`. A `port` the operator
/// chose must be free everywhere; the default (the HTTP port) falls back to
/// a free one, and the note says so.
pub fn bind(
    addresses: &[IpAddr],
    port: u16,
    chosen: bool,
) -> anyhow::Result<(Vec<UdpSocket>, Option<String>)> {
    anyhow::ensure!(
        !addresses.is_empty(),
        "calls have no address to listen on; give one with --rtc-address"
    );
    match bind_all(addresses, port) {
        Ok(sockets) => return Ok((sockets, None)),
        Err((at, err)) if chosen || err.kind() != std::io::ErrorKind::AddrInUse => {
            return Err(err).with_context(|| {
                format!(
                    "cannot listen for calls on UDP {}; pick another port with --rtc-port, \
                     or turn calls off with --no-calls",
                    SocketAddr::new(at, port)
                )
            });
        }
        Err(_) => {}
    }
    for _ in 0..PORT_TRIES {
        let first = UdpSocket::bind(SocketAddr::new(addresses[0], 0))
            .with_context(|| format!("cannot listen for calls on {}", addresses[0]))?;
        let free = first.local_addr()?.port();
        if let Ok(mut rest) = bind_all(&addresses[1..], free) {
            rest.insert(0, first);
            let note = format!("UDP port {port} is busy, so calls took port {free}");
            return Ok((rest, Some(note)));
        }
    }
    anyhow::bail!(
        "cannot find a UDP port free on every address for calls; give one with --rtc-port"
    )
}

fn bind_all(addresses: &[IpAddr], port: u16) -> Result<Vec<UdpSocket>, (IpAddr, std::io::Error)> {
    addresses
        .iter()
        .map(|ip| {
            let socket = UdpSocket::bind(SocketAddr::new(*ip, port)).map_err(|err| (*ip, err))?;
            socket.set_nonblocking(true).map_err(|err| (*ip, err))?;
            Ok(socket)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_addresses_win_and_a_specific_bind_is_its_own() {
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(
            advertised(IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[lan]),
            vec![lan]
        );
        assert_eq!(advertised(loopback, &[]), vec![loopback]);
        let every = advertised(IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[]);
        assert_eq!(
            every.last(),
            Some(&loopback),
            "a browser here reaches loopback"
        );
    }

    #[test]
    fn a_busy_default_port_falls_back_and_a_chosen_one_does_not() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let err = bind(&loopback, port, true).unwrap_err();
        assert!(format!("{err:#}").contains("--rtc-port"), "{err:#}");
        let (sockets, note) = bind(&loopback, port, false).unwrap();
        assert_ne!(sockets[0].local_addr().unwrap().port(), port);
        assert!(note.unwrap().contains("busy"));
    }
}
