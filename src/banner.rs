//! What the server prints once it is listening: the URLs to open (by IP,
//! and by the `.local` name), the host link, where history is kept, and a QR
//! code for phones; with `--tls`, the trust page and the local CA's
//! fingerprint, and the trust page's QR code. The QR code carries an IP URL:
//! older Android does not resolve `.local` names. Over HTTPS it offers only
//! hosts the served certificate covers, and names in a note those it left
//! out: a URL the certificate does not cover gets a name warning even on a
//! device that trusts the CA.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use qrcode::{Color, QrCode};

use crate::calls::Listening;
use crate::mdns::Announcement;
use crate::tls::ServerNames;

/// What the banner shows.
pub struct Banner<'a> {
    /// The chat's address (HTTPS with `--tls`).
    pub chat: SocketAddr,
    pub tls: Option<TlsBanner>,
    pub key: Option<&'a str>,
    pub history: &'a str,
    pub notes: &'a [String],
    /// Calls' UDP port; `None` with `--no-calls`.
    pub calls: Option<&'a Listening>,
    pub show_qr: bool,
    /// The `.local` name announced over mDNS, if any.
    pub name: Option<&'a Announcement>,
    /// Where `/metrics` is served, when on an address of its own.
    pub metrics: Option<SocketAddr>,
    /// For the host link.
    pub host_secret: &'a str,
    /// The event's name and end, with `--event`.
    pub event: Option<&'a str>,
}

/// What the banner says of HTTPS.
pub struct TlsBanner {
    /// The plain port: the trust page, or only a redirect.
    pub trust: SocketAddr,
    /// The local CA's SHA-256; `None` with a brought certificate.
    pub fingerprint: Option<String>,
    /// The CA is new at every start (`--memory`).
    pub ephemeral: bool,
    /// What the served certificate vouches for: the banner offers no
    /// HTTPS URL outside it.
    pub names: ServerNames,
}

/// The hosts of a server bound to `ip`: the one this machine opens, then
/// one per non-loopback interface address reachable through the bind address.
fn hosts(ip: IpAddr) -> (IpAddr, Vec<IpAddr>) {
    let lan = if ip.is_unspecified() {
        interface_addresses(ip.is_ipv6())
    } else if ip.is_loopback() {
        Vec::new()
    } else {
        vec![ip]
    };
    (this_machine(ip), lan)
}

/// URLs for `local` (the bound address): one to open on this machine, then
/// one per LAN address (see [`hosts`]).
fn urls(local: SocketAddr, scheme: &str) -> (String, Vec<String>) {
    let port = local.port();
    let (this_machine, lan) = hosts(local.ip());
    let lan = lan
        .into_iter()
        .map(|ip| url_for(scheme, &host_of(ip), port))
        .collect();
    (url_for(scheme, &host_of(this_machine), port), lan)
}

/// The address this machine reaches a server bound to `ip` at.
fn this_machine(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

/// `ip` as a URL's host: IPv6 in brackets.
fn host_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn url_for(scheme: &str, host: &str, port: u16) -> String {
    format!("{scheme}://{host}:{port}/")
}

/// What the banner offers over HTTPS: only hosts the served certificate
/// covers, since a URL it does not cover gets a name-mismatch warning even
/// on a device that trusts the CA.
struct Offered {
    /// What this machine opens: its address, or `localhost` when only that
    /// is covered; its address all the same when neither is (`local_covered`
    /// false), since the host link and `--open` need one.
    local: String,
    local_covered: bool,
    /// The LAN addresses covered.
    lan: Vec<String>,
    /// Names to offer: the `.local` name if covered, and a brought
    /// certificate's own names (not wildcards: they name no host).
    names: Vec<String>,
    /// Addresses and names left out: not covered.
    left_out: Vec<String>,
    /// Whether there was any LAN address before leaving some out.
    any_lan: bool,
}

impl Offered {
    /// For a server bound to `ip`, announced as `local_name`; with `tls`,
    /// only what its certificate covers.
    fn of(ip: IpAddr, local_name: Option<&str>, tls: Option<&TlsBanner>) -> Offered {
        let (this_machine, lan) = hosts(ip);
        let covers = |host: &str| tls.is_none_or(|tls| tls.names.covers(host));
        let mut offered = Offered {
            local: host_of(this_machine),
            local_covered: true,
            lan: Vec::new(),
            names: Vec::new(),
            left_out: Vec::new(),
            any_lan: !lan.is_empty(),
        };
        if !covers(&offered.local) {
            if this_machine.is_loopback() && covers("localhost") {
                offered.local = "localhost".to_owned();
            } else {
                offered.local_covered = false;
            }
        }
        for host in lan.into_iter().map(host_of) {
            if covers(&host) {
                offered.lan.push(host);
            } else {
                offered.left_out.push(host);
            }
        }
        if let Some(name) = local_name {
            if covers(name) {
                offered.names.push(name.to_owned());
            } else {
                offered.left_out.push(name.to_owned());
            }
        }
        if let Some(tls) = tls.filter(|tls| tls.fingerprint.is_none()) {
            let own: Vec<String> = tls
                .names
                .dns
                .iter()
                .filter(|name| {
                    !name.starts_with("*.") && *name != "localhost" && !offered.names.contains(name)
                })
                .cloned()
                .collect();
            offered.names.extend(own);
        }
        offered
    }
}

/// Non-loopback addresses other machines could use. An IPv6 wildcard also
/// accepts IPv4 on most systems, so it lists both; link-local IPv6 addresses
/// are left out because a URL cannot carry their zone.
pub(crate) fn interface_addresses(include_v6: bool) -> Vec<IpAddr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut addrs: Vec<IpAddr> = interfaces
        .iter()
        .map(|iface| iface.ip())
        .filter(|ip| !ip.is_loopback())
        .filter(|ip| match ip {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => include_v6 && !v6.is_unicast_link_local(),
        })
        .collect();
    addrs.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    addrs.dedup();
    addrs
}

/// Adds the access key to `url` as a fragment, which browsers never send to
/// the server, so the key stays out of logs while a scanned QR code just works.
fn with_key(url: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!(
            "{url}#key={}",
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => url.to_owned(),
    }
}

/// The URL to open on this machine, for a server listening on `addr`
/// (over HTTPS with `tls`, by a host its certificate covers if it can),
/// with the access key if any (what `--open` opens and the host link uses).
pub fn local_url(addr: SocketAddr, tls: Option<&TlsBanner>, key: Option<&str>) -> String {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let local = Offered::of(addr.ip(), None, tls).local;
    with_key(&url_for(scheme, &local, addr.port()), key)
}

/// Prints where to connect, now that the server listens: the URLs
/// (carrying the access key, if any) and a QR code of the first LAN one;
/// with `--tls`, the trust page and the CA's fingerprint, and a QR code of
/// the trust page instead; and the host link (carrying the host secret).
/// With `--tls` it offers only hosts the certificate covers, and says in
/// one line which it left out.
pub fn print_banner(banner: &Banner) {
    let scheme = if banner.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let port = banner.chat.port();
    let offered = Offered::of(
        banner.chat.ip(),
        banner.name.map(Announcement::name),
        banner.tls.as_ref(),
    );
    let local_url = local_url(banner.chat, banner.tls.as_ref(), banner.key);
    let lan_urls: Vec<String> = offered
        .lan
        .iter()
        .map(|host| with_key(&url_for(scheme, host, port), banner.key))
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "lanchat {} is running{}\n",
        env!("CARGO_PKG_VERSION"),
        if banner.tls.is_some() {
            ", over HTTPS"
        } else {
            ""
        }
    ));
    for note in banner.notes {
        out.push_str(&format!("  Note:    {note}\n"));
    }
    out.push_str(&format!(
        "  Local:   {local_url}{}\n",
        if offered.local_covered {
            ""
        } else {
            " (not in the certificate: the browser will warn)"
        }
    ));
    for url in &lan_urls {
        out.push_str(&format!("  Network: {url}\n"));
    }
    if !offered.any_lan {
        out.push_str(
            "  Network: none (listening on this machine only; use --bind 0.0.0.0 to share)\n",
        );
    }
    let name_urls: Vec<String> = offered
        .names
        .iter()
        .map(|name| with_key(&url_for(scheme, name, port), banner.key))
        .collect();
    for url in &name_urls {
        out.push_str(&format!("  Name:    {url}\n"));
    }
    if let Some(name) = banner.name
        && let Some(taken) = name.taken()
    {
        out.push_str(&format!(
            "  Note:    {taken} is taken on this network, so this server is {}\n",
            name.name()
        ));
    }
    if let Some(tls) = &banner.tls
        && !offered.left_out.is_empty()
    {
        out.push_str(&format!(
            "  Note:    not in the certificate, so not offered: {} ({})\n",
            offered.left_out.join(", "),
            if tls.fingerprint.is_some() {
                "the local CA covers the private addresses it saw at start-up"
            } else {
                "--tls-cert does not name them"
            }
        ));
    }
    // What a phone scans: the trust page with the local CA, else the chat.
    let mut scan = lan_urls
        .first()
        .or(name_urls.first())
        .map(|url| (url.clone(), "open", url.clone()));
    match &banner.tls {
        None => out.push_str(
            "  HTTPS:   off, so others on the network can read the chat; --tls turns it on\n",
        ),
        Some(TlsBanner {
            trust,
            fingerprint: Some(fingerprint),
            ephemeral,
            ..
        }) => {
            // The trust page sends on to HTTPS at the same host, so it is
            // offered at a host the certificate covers too.
            let trust_host = offered.lan.first().unwrap_or(&offered.local);
            let trust_url = url_for("http", trust_host, trust.port());
            out.push_str(&format!(
                "  Trust:   {trust_url} (the certificate to install, and how)\n"
            ));
            if let Some(name) = banner.name
                && offered.names.iter().any(|offered| offered == name.name())
            {
                let url = url_for("http", name.name(), trust.port());
                out.push_str(&format!("           {url}\n"));
            }
            out.push_str(&format!(
                "  CA:      SHA-256 {fingerprint}{}\n",
                if *ephemeral {
                    " (new at every start with --memory)"
                } else {
                    ""
                }
            ));
            scan = Some((
                with_key(&trust_url, banner.key),
                "install the certificate, then chat",
                trust_url,
            ));
        }
        Some(TlsBanner { trust, .. }) => {
            let (local, _) = urls(*trust, "http");
            out.push_str(&format!(
                "  Plain:   port {} redirects to HTTPS ({local} and the like)\n",
                trust.port()
            ));
        }
    }
    out.push_str(&format!("  Calls:   {}\n", calls_line(banner.calls)));
    if let Some(addr) = banner.metrics {
        let url = url_for("http", &host_of(this_machine(addr.ip())), addr.port());
        out.push_str(&format!("  Metrics: {url}metrics\n"));
    }
    // The host's tools: a link for whoever runs lanchat, and nobody else.
    let host_link = crate::host::secret::link(&local_url, banner.host_secret);
    out.push_str(&format!("  Host:    {host_link} (yours alone)\n"));
    if let Some(event) = banner.event {
        out.push_str(&format!("  Event:   {event}\n"));
    }
    out.push_str(&format!("  History: {}\n", banner.history));
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal();
    if banner.show_qr
        && let Some((url, what, shown)) = scan
    {
        out.push_str(&format!("\nScan on a phone to {what}: {shown}\n"));
        out.push_str(&qr_code(&url, colour));
    }
    out.push_str("\nPress Ctrl-C to stop.\n");
    let mut stdout = stdout.lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Where calls' media goes, so whoever runs a firewall knows what to open.
fn calls_line(calls: Option<&Listening>) -> String {
    let Some(calls) = calls else {
        return "off (--no-calls)".to_owned();
    };
    let addresses: Vec<String> = calls.addresses.iter().map(IpAddr::to_string).collect();
    let mut line = format!("UDP port {} on {}", calls.port, addresses.join(", "));
    if let Some(note) = &calls.note {
        line.push_str(&format!(" ({note})"));
    }
    line
}

/// The trust page's address for other devices: the first LAN address
/// `covers` allows (the trust page sends on to HTTPS at the same host), or
/// this machine's when there is none.
fn trust_url(trust: SocketAddr, covers: impl Fn(IpAddr) -> bool) -> String {
    let (this_machine, lan) = hosts(trust.ip());
    let host = lan
        .into_iter()
        .find(|ip| covers(*ip))
        .unwrap_or(this_machine);
    url_for("http", &host_of(host), trust.port())
}

/// `lanchat trust`: the trust page's address (one `covers` allows), the
/// fingerprint and the QR code, and `note` if something is off.
pub fn print_trust(
    trust: SocketAddr,
    covers: impl Fn(IpAddr) -> bool,
    key: Option<&str>,
    fingerprint: &str,
    note: Option<String>,
) {
    let url = trust_url(trust, covers);
    let mut out = String::new();
    if let Some(note) = note {
        out.push_str(&format!("Note:  {note}\n"));
    }
    out.push_str(&format!("Trust: {url}\n"));
    out.push_str(&format!("CA:    SHA-256 {fingerprint}\n"));
    out.push_str(&format!(
        "\nScan on a phone to install the certificate, then chat: {url}\n"
    ));
    out.push_str(&qr_code(
        &with_key(&url, key),
        std::io::stdout().is_terminal(),
    ));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Renders `text` as a QR code with half-block characters, two modules per
/// character cell. On a terminal it forces black on white, so it scans on
/// dark and light themes alike.
fn qr_code(text: &str, colour: bool) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let width = code.width();
    let colors = code.to_colors();
    const QUIET: usize = 2;
    let size = width + 2 * QUIET;
    let dark = |x: usize, y: usize| -> bool {
        if x < QUIET || y < QUIET || x >= width + QUIET || y >= width + QUIET {
            return false;
        }
        colors[(y - QUIET) * width + (x - QUIET)] == Color::Dark
    };
    let mut out = String::new();
    for row in (0..size).step_by(2) {
        if colour {
            out.push_str("\x1b[30;47m");
        }
        for x in 0..size {
            let top = dark(x, row);
            let bottom = row + 1 < size && dark(x, row + 1);
            out.push(match (top, bottom, colour) {
                // In colour, dark modules are drawn in the foreground (black).
                (true, true, true) => '█',
                (true, false, true) => '▀',
                (false, true, true) => '▄',
                (false, false, true) => ' ',
                // Without colour, assume light text on a dark screen: draw
                // the light modules.
                (true, true, false) => ' ',
                (true, false, false) => '▄',
                (false, true, false) => '▀',
                (false, false, false) => '█',
            });
        }
        if colour {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bind_has_no_lan_urls() {
        let (local, lan) = urls("127.0.0.1:4000".parse().unwrap(), "http");
        assert_eq!(local, "http://127.0.0.1:4000/");
        assert!(lan.is_empty());
    }

    #[test]
    fn specific_bind_is_its_own_lan_url() {
        let (_, lan) = urls("192.168.1.5:80".parse().unwrap(), "http");
        assert_eq!(lan, vec!["http://192.168.1.5:80/"]);
        let (_, lan) = urls("[fd00::1]:443".parse().unwrap(), "https");
        assert_eq!(lan, vec!["https://[fd00::1]:443/"]);
    }

    fn tls(fingerprint: Option<&str>, ips: &[&str], dns: &[&str]) -> TlsBanner {
        TlsBanner {
            trust: "0.0.0.0:8080".parse().unwrap(),
            fingerprint: fingerprint.map(str::to_owned),
            ephemeral: false,
            names: ServerNames {
                ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
                dns: dns.iter().map(|name| name.to_string()).collect(),
            },
        }
    }

    #[test]
    fn offers_over_https_only_what_the_certificate_covers() {
        let ca = tls(
            Some("AB"),
            &["127.0.0.1", "192.168.1.5"],
            &["lanchat.local"],
        );
        let offered = Offered::of(
            "192.168.1.5".parse().unwrap(),
            Some("party.local"),
            Some(&ca),
        );
        assert_eq!(offered.lan, ["192.168.1.5"]);
        assert_eq!(offered.left_out, ["party.local"]);
        assert!(offered.names.is_empty());

        let offered = Offered::of(
            "10.0.0.9".parse().unwrap(),
            Some("lanchat.local"),
            Some(&ca),
        );
        assert!(offered.lan.is_empty() && offered.any_lan);
        assert_eq!(offered.left_out, ["10.0.0.9"]);
        assert_eq!(offered.names, ["lanchat.local"]);
        assert!(!offered.local_covered, "10.0.0.9 is this machine's too");

        let plain = Offered::of("10.0.0.9".parse().unwrap(), Some("lanchat.local"), None);
        assert_eq!(
            (plain.lan, plain.names),
            (vec!["10.0.0.9".into()], vec!["lanchat.local".into()])
        );
    }

    #[test]
    fn a_brought_certificate_offers_its_names_and_localhost_for_loopback() {
        let own = tls(
            None,
            &[],
            &["localhost", "chat.example.org", "*.example.net"],
        );
        let offered = Offered::of("127.0.0.1".parse().unwrap(), None, Some(&own));
        assert_eq!(
            (offered.local.as_str(), offered.local_covered),
            ("localhost", true)
        );
        assert_eq!(offered.names, ["chat.example.org"]);
        let offered = Offered::of(
            "[fd00::1]".trim_matches(['[', ']']).parse().unwrap(),
            None,
            Some(&own),
        );
        assert_eq!(offered.left_out, ["[fd00::1]"]);
        assert!(!offered.local_covered);
    }

    #[test]
    fn key_goes_in_the_fragment() {
        assert_eq!(with_key("http://h:1/", None), "http://h:1/");
        assert_eq!(
            with_key("http://h:1/", Some("a b&c")),
            "http://h:1/#key=a%20b%26c"
        );
    }

    #[test]
    fn qr_code_is_square_and_plain_without_colour() {
        let qr = qr_code("http://192.168.1.5:8080/", false);
        let lines: Vec<&str> = qr.lines().collect();
        let width = lines[0].chars().count();
        assert!(width >= 25);
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!(!qr.contains('\x1b'));
    }
}
