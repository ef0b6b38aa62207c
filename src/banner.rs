//! What the server prints once it is listening: the URLs to open, where
//! history is kept, and a QR code for phones.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};

use qrcode::{Color, QrCode};

/// URLs for `local` (the bound address): one to open on this machine, then
/// one per non-loopback interface address reachable through the bind address.
fn urls(local: SocketAddr) -> (String, Vec<String>) {
    let port = local.port();
    let ip = local.ip();
    let this_machine = if ip.is_unspecified() || ip.is_loopback() {
        match ip {
            IpAddr::V6(_) => format!("http://[::1]:{port}/"),
            IpAddr::V4(_) => format!("http://127.0.0.1:{port}/"),
        }
    } else {
        url_for(ip, port)
    };
    let lan = if ip.is_unspecified() {
        interface_addresses(ip.is_ipv6())
            .into_iter()
            .map(|addr| url_for(addr, port))
            .collect()
    } else if ip.is_loopback() {
        Vec::new()
    } else {
        vec![url_for(ip, port)]
    };
    (this_machine, lan)
}

fn url_for(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}/"),
    }
}

/// Non-loopback addresses other machines could use. An IPv6 wildcard also
/// accepts IPv4 on most systems, so it lists both; link-local IPv6 addresses
/// are left out because a URL cannot carry their zone.
fn interface_addresses(include_v6: bool) -> Vec<IpAddr> {
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

/// The URL to open on this machine, for a server listening on `addr`,
/// with the access key if any (what `--open` opens).
pub fn local_url(addr: SocketAddr, key: Option<&str>) -> String {
    with_key(&urls(addr).0, key)
}

/// Prints where to connect, now that the server listens on `addr`: the
/// URLs (carrying the access key, if any) and a QR code of the first LAN
/// one.
pub fn print_banner(
    addr: SocketAddr,
    key: Option<&str>,
    history: &str,
    note: Option<&str>,
    show_qr: bool,
) {
    let (local_url, lan_urls) = urls(addr);
    let lan_urls: Vec<String> = lan_urls.iter().map(|url| with_key(url, key)).collect();
    print(
        &with_key(&local_url, key),
        &lan_urls,
        history,
        note,
        show_qr,
    );
}

/// Prints the start-up banner to stdout.
fn print(local_url: &str, lan_urls: &[String], history: &str, note: Option<&str>, show_qr: bool) {
    let mut out = String::new();
    out.push_str(&format!(
        "lanchat {} is running\n",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(note) = note {
        out.push_str(&format!("  Note:    {note}\n"));
    }
    out.push_str(&format!("  Local:   {local_url}\n"));
    for url in lan_urls {
        out.push_str(&format!("  Network: {url}\n"));
    }
    if lan_urls.is_empty() {
        out.push_str(
            "  Network: none (listening on this machine only; use --bind 0.0.0.0 to share)\n",
        );
    }
    out.push_str(&format!("  History: {history}\n"));
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal();
    if show_qr && let Some(url) = lan_urls.first() {
        out.push_str(&format!("\nScan to open {url} on a phone:\n"));
        out.push_str(&qr_code(url, colour));
    }
    out.push_str("\nPress Ctrl-C to stop.\n");
    let mut stdout = stdout.lock();
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
        let (local, lan) = urls("127.0.0.1:4000".parse().unwrap());
        assert_eq!(local, "http://127.0.0.1:4000/");
        assert!(lan.is_empty());
    }

    #[test]
    fn specific_bind_is_its_own_lan_url() {
        let (_, lan) = urls("192.168.1.5:80".parse().unwrap());
        assert_eq!(lan, vec!["http://192.168.1.5:80/"]);
        let (_, lan) = urls("[fd00::1]:80".parse().unwrap());
        assert_eq!(lan, vec!["http://[fd00::1]:80/"]);
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
