//! What the server prints once it is listening: the URLs to open (by IP,
//! and by the `.local` name), the host link, where history is kept, and a QR
//! code for phones; with `--tls`, the trust page and the local CA's
//! fingerprint, and the trust page's QR code. The QR code carries an IP URL:
//! older Android does not resolve `.local` names.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use qrcode::{Color, QrCode};

use crate::calls::Listening;
use crate::mdns::Announcement;

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
}

/// URLs for `local` (the bound address): one to open on this machine, then
/// one per non-loopback interface address reachable through the bind address.
fn urls(local: SocketAddr, scheme: &str) -> (String, Vec<String>) {
    let port = local.port();
    let ip = local.ip();
    let this_machine = url_for(scheme, this_machine(ip), port);
    let lan = if ip.is_unspecified() {
        interface_addresses(ip.is_ipv6())
            .into_iter()
            .map(|addr| url_for(scheme, addr, port))
            .collect()
    } else if ip.is_loopback() {
        Vec::new()
    } else {
        vec![url_for(scheme, ip, port)]
    };
    (this_machine, lan)
}

/// The address this machine reaches a server bound to `ip` at.
fn this_machine(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

fn url_for(scheme: &str, ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}/"),
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
/// (over HTTPS with `https`), with the access key if any (what `--open`
/// opens).
pub fn local_url(addr: SocketAddr, https: bool, key: Option<&str>) -> String {
    with_key(&urls(addr, if https { "https" } else { "http" }).0, key)
}

/// Prints where to connect, now that the server listens: the URLs
/// (carrying the access key, if any) and a QR code of the first LAN one;
/// with `--tls`, the trust page and the CA's fingerprint, and a QR code of
/// the trust page instead; and the host link (carrying the host secret).
pub fn print_banner(banner: &Banner) {
    let scheme = if banner.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let (local_url, lan_urls) = urls(banner.chat, scheme);
    let lan_urls: Vec<String> = lan_urls
        .iter()
        .map(|url| with_key(url, banner.key))
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
        "  Local:   {}\n",
        with_key(&local_url, banner.key)
    ));
    for url in &lan_urls {
        out.push_str(&format!("  Network: {url}\n"));
    }
    if lan_urls.is_empty() {
        out.push_str(
            "  Network: none (listening on this machine only; use --bind 0.0.0.0 to share)\n",
        );
    }
    if let Some(name) = banner.name {
        let url = format!("{scheme}://{}:{}/", name.name(), banner.chat.port());
        out.push_str(&format!("  Name:    {}\n", with_key(&url, banner.key)));
        if let Some(taken) = name.taken() {
            out.push_str(&format!(
                "  Note:    {taken} is taken on this network, so this server is {}\n",
                name.name()
            ));
        }
    }
    // What a phone scans: the trust page with the local CA, else the chat.
    let mut scan = lan_urls
        .first()
        .map(|url| (url.clone(), "open", url.clone()));
    match &banner.tls {
        None => out.push_str(
            "  HTTPS:   off, so others on the network can read the chat; --tls turns it on\n",
        ),
        Some(TlsBanner {
            trust,
            fingerprint: Some(fingerprint),
            ephemeral,
        }) => {
            let trust_url = trust_url(*trust);
            out.push_str(&format!(
                "  Trust:   {trust_url} (the certificate to install, and how)\n"
            ));
            if let Some(name) = banner.name {
                let url = format!("http://{}:{}/", name.name(), trust.port());
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
        let url = url_for("http", this_machine(addr.ip()), addr.port());
        out.push_str(&format!("  Metrics: {url}metrics\n"));
    }
    // The host's tools: a link for whoever runs lanchat, and nobody else.
    let host_link =
        crate::host::secret::link(&with_key(&local_url, banner.key), banner.host_secret);
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

/// The trust page's address for other devices: the first LAN address, or
/// this machine's when there is none.
fn trust_url(trust: SocketAddr) -> String {
    let (local, lan) = urls(trust, "http");
    lan.into_iter().next().unwrap_or(local)
}

/// `lanchat trust`: the trust page's address, the fingerprint and the QR
/// code, and `note` if something is off.
pub fn print_trust(trust: SocketAddr, key: Option<&str>, fingerprint: &str, note: Option<String>) {
    let url = trust_url(trust);
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
