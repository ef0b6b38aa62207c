//! The `.local` name: on a LAN of two network namespaces the test makes
//! (see `common/netns.rs`), an `mdns-sd` browser on one host resolves the
//! name a server on the other announces, finds its web service and opens
//! the page there; the server's goodbye withdraws both when it stops; and a
//! second server that wants a name already taken takes `NAME-2.local` and
//! says so; with `--tls`, that name is announced with the HTTPS port and
//! its certificate covers it.

mod common;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use mdns_sd::{HostnameResolutionEvent, IfKind, Receiver, ServiceDaemon, ServiceEvent};
use rustls::pki_types::CertificateDer;
use tempfile::TempDir;

use common::netns::{Host, Lan};
use common::tls::{sans, server_certificate};
use common::{Server, WAIT, http_get};

/// Starts lanchat on `host`, in `dir`, with `args`.
fn start_on(host: &Host, dir: &Path, args: &[&str]) -> Server {
    let mut command = host.command(common::binary());
    command
        .args(["--port", "0", "--memory", "--no-qr"])
        .args(args);
    command.current_dir(dir);
    Server::launch(command, dir)
}

/// Starts lanchat on `host`, in `dir`, listening on every interface, with
/// `extra`.
fn start_lan_server(host: &Host, dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--bind", "0.0.0.0"];
    args.extend_from_slice(extra);
    start_on(host, dir, &args)
}

/// The banner's `label:` line, trimmed.
fn banner_line<'a>(server: &'a Server, label: &str) -> Option<&'a str> {
    server
        .banner
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(str::trim)
}

/// An mDNS querier on the host it was made on (inside [`Host::run`]).
fn browser() -> ServiceDaemon {
    let daemon = ServiceDaemon::new().expect("start an mDNS browser");
    daemon
        .disable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])
        .unwrap();
    daemon
}

/// Asks for `name`'s addresses until they include `expected`.
fn resolves_to(daemon: &ServiceDaemon, name: &str, expected: IpAddr) -> HashSet<IpAddr> {
    let events = daemon
        .resolve_hostname(name, Some(WAIT.as_millis() as u64))
        .unwrap();
    let mut found = HashSet::new();
    let deadline = Instant::now() + WAIT;
    while !found.contains(&expected) {
        match next(&events, deadline) {
            Some(HostnameResolutionEvent::AddressesFound(_, addrs)) => {
                found.extend(addrs.iter().map(|addr| addr.to_ip_addr()));
            }
            Some(HostnameResolutionEvent::SearchTimeout(_)) | None => {
                panic!("{name} did not resolve to {expected}; found {found:?}")
            }
            Some(_) => {}
        }
    }
    daemon.stop_resolve_hostname(name).unwrap();
    found
}

/// The next event before `deadline`.
fn next<T>(events: &Receiver<T>, deadline: Instant) -> Option<T> {
    events
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// A browser on host b resolves `party.local` (`--name party`) to host a,
/// finds the `_http._tcp` service on the server's port with the page's
/// path, and the page answers at the address it resolved. When the server
/// stops (SIGTERM) its goodbye removes the service at once.
#[test]
fn a_browser_finds_the_name_and_it_is_withdrawn_at_shutdown() {
    let Some(lan) = Lan::create("a_browser_finds_the_name_and_it_is_withdrawn_at_shutdown") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = start_lan_server(&lan.a, dir.path(), &["--name", "Party"]);
    let port = server.addr.port();
    assert_eq!(
        banner_line(&server, "Name:"),
        Some(format!("http://party.local:{port}/").as_str()),
        "{}",
        server.banner
    );
    lan.b.run(|| {
        let daemon = browser();
        let services = daemon.browse("_http._tcp.local.").unwrap();
        let addrs = resolves_to(&daemon, "party.local.", IpAddr::V4(lan.a.addr));
        assert_eq!(addrs.len(), 1, "only host a's LAN address: {addrs:?}");

        let deadline = Instant::now() + WAIT;
        let fullname = loop {
            match next(&services, deadline) {
                Some(ServiceEvent::ServiceResolved(service)) => {
                    assert_eq!(service.get_hostname(), "party.local.");
                    assert_eq!(service.get_port(), port);
                    assert_eq!(service.get_property_val_str("path"), Some("/"));
                    break service.get_fullname().to_owned();
                }
                Some(_) => {}
                None => panic!("no _http._tcp service was found"),
            }
        };
        assert_eq!(fullname, "party._http._tcp.local.");

        let page = http_get(SocketAddr::new(IpAddr::V4(lan.a.addr), port), "/healthz");
        assert_eq!(page.status, 200);
        assert_eq!(page.json()["status"], "ok");

        let stopping = Instant::now();
        assert!(server.terminate().success());
        let deadline = Instant::now() + WAIT;
        loop {
            match next(&services, deadline) {
                Some(ServiceEvent::ServiceRemoved(_, removed)) if removed == fullname => break,
                Some(_) => {}
                None => panic!("the service was not withdrawn"),
            }
        }
        // A goodbye, not its records' two-minute lifetime running out.
        assert!(stopping.elapsed() < Duration::from_secs(5));
        let _ = daemon.shutdown();
    });
}

/// Host a has `lanchat.local`; a server started on host b that wants it
/// too takes `lanchat-2.local`, prints it with a note, and each name
/// resolves to its own host.
#[test]
fn a_second_server_that_wants_the_name_takes_dash_2() {
    let Some(lan) = Lan::create("a_second_server_that_wants_the_name_takes_dash_2") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let first = start_lan_server(&lan.a, dir.path(), &[]);
    assert_eq!(
        banner_line(&first, "Name:"),
        Some(format!("http://lanchat.local:{}/", first.addr.port()).as_str()),
        "{}",
        first.banner
    );
    let second = start_lan_server(&lan.b, dir.path(), &[]);
    assert_eq!(
        banner_line(&second, "Name:"),
        Some(format!("http://lanchat-2.local:{}/", second.addr.port()).as_str()),
        "{}",
        second.banner
    );
    assert!(
        second
            .banner
            .contains("lanchat.local is taken on this network, so this server is lanchat-2.local"),
        "{}",
        second.banner
    );
    lan.b.run(|| {
        let daemon = browser();
        let first_addrs = resolves_to(&daemon, "lanchat.local.", IpAddr::V4(lan.a.addr));
        assert!(!first_addrs.contains(&IpAddr::V4(lan.b.addr)));
        let second_addrs = resolves_to(&daemon, "lanchat-2.local.", IpAddr::V4(lan.b.addr));
        assert!(!second_addrs.contains(&IpAddr::V4(lan.a.addr)));
        let _ = daemon.shutdown();
    });
}

/// The port of the `kind` service (`_https._tcp.local.`) on `host`, as a
/// browser finds it.
fn service_port(daemon: &ServiceDaemon, kind: &str, host: &str) -> u16 {
    let events = daemon.browse(kind).unwrap();
    let deadline = Instant::now() + WAIT;
    let port = loop {
        match next(&events, deadline) {
            Some(ServiceEvent::ServiceResolved(service)) if service.get_hostname() == host => {
                break service.get_port();
            }
            Some(_) => {}
            None => panic!("no {kind} service on {host} was found"),
        }
    };
    let _ = daemon.stop_browse(kind);
    port
}

/// With `--tls`, the name mDNS settles on reaches the certificate: host a
/// has `lanchat.local`, so an HTTPS server on host b takes
/// `lanchat-2.local`. A browser on host a finds b's `_https._tcp` service
/// on the HTTPS port and `_http._tcp` on the trust page's, and a client
/// that trusts b's CA (from that trust page) connects to `lanchat-2.local`
/// at the address the name resolved to.
#[test]
fn with_tls_the_name_taken_is_announced_with_https_and_certified() {
    let Some(lan) = Lan::create("with_tls_the_name_taken_is_announced_with_https_and_certified")
    else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let _first = start_lan_server(&lan.a, dir.path(), &[]);
    let second = start_lan_server(&lan.b, dir.path(), &["--tls"]);
    let https = second.addr.port();
    let trust = second.trust_addr.expect("a Trust: line").port();
    assert_eq!(
        banner_line(&second, "Name:"),
        Some(format!("https://lanchat-2.local:{https}/").as_str()),
        "{}",
        second.banner
    );
    assert!(
        second
            .banner
            .lines()
            .any(|line| line.trim() == format!("http://lanchat-2.local:{trust}/")),
        "the trust page by name: {}",
        second.banner
    );
    lan.a.run(|| {
        let daemon = browser();
        assert_eq!(
            service_port(&daemon, "_https._tcp.local.", "lanchat-2.local."),
            https
        );
        assert_eq!(
            service_port(&daemon, "_http._tcp.local.", "lanchat-2.local."),
            trust
        );
        let b = IpAddr::V4(lan.b.addr);
        resolves_to(&daemon, "lanchat-2.local.", b);
        let ca = CertificateDer::from(http_get(SocketAddr::new(b, trust), "/ca.crt").body);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cert = runtime.block_on(server_certificate(
            SocketAddr::new(b, https),
            "lanchat-2.local",
            &[ca],
        ));
        let (_, names) = sans(&cert);
        assert!(names.contains(&"lanchat-2.local".to_owned()), "{names:?}");
        let _ = daemon.shutdown();
    });
}

/// `--no-mdns`, and a server listening on loopback only, announce nothing
/// and print no name.
#[test]
fn no_name_without_mdns_or_on_loopback() {
    let Some(lan) = Lan::create("no_name_without_mdns_or_on_loopback") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let off = start_lan_server(&lan.a, dir.path(), &["--no-mdns"]);
    assert_eq!(banner_line(&off, "Name:"), None, "{}", off.banner);
    let local = start_on(&lan.a, dir.path(), &["--bind", "127.0.0.1"]);
    assert_eq!(banner_line(&local, "Name:"), None, "{}", local.banner);
    lan.b.run(|| {
        let daemon = browser();
        let events = daemon
            .resolve_hostname("lanchat.local.", Some(2000))
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            match next(&events, deadline) {
                Some(HostnameResolutionEvent::AddressesFound(_, addrs)) => {
                    panic!("lanchat.local resolved to {addrs:?}")
                }
                Some(HostnameResolutionEvent::SearchTimeout(_)) => break,
                Some(_) => {}
                None => panic!("the search never timed out"),
            }
        }
        let _ = daemon.shutdown();
    });
}
