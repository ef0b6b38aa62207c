//! Who gets in: the Origin check that stops other sites' pages from opening
//! our WebSocket in a visitor's browser, and the optional access key.

use std::net::IpAddr;

use warp::http::{HeaderMap, header};

use crate::identity::Credential;

/// The WebSocket subprotocol the page asks for; the server selects it.
pub const SUBPROTOCOL: &str = "lanchat";
/// The page offers the key as a second subprotocol, `key.<hex of the key>`,
/// because a browser's WebSocket can send no other header, and a query
/// string would put the key in logs.
const KEY_PROTOCOL_PREFIX: &str = "key.";

/// Where plain HTTP requests carry an owned name's token and the access
/// key. The page sets the cookies (`SameSite=Strict`, so other sites'
/// requests never carry them).
pub const TOKEN_HEADER: &str = "lanchat-token";
const TOKEN_COOKIE: &str = "lanchat_token";
const KEY_COOKIE: &str = "lanchat_key";

/// An origin reduced to what decides "same site": scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]`. Only http and https pages can be ours.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, authority) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = authority.trim_end_matches('/');
        let (host, port) = split_host_port(authority)?;
        Some(Origin {
            scheme,
            host,
            port: port.unwrap_or(default_port),
        })
    }
}

/// Splits `host[:port]` (with `[v6]` brackets) into a lowercased host and
/// an optional port.
fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    if authority.is_empty() || authority.contains(['/', '@', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        (format!("[{host}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port.parse().ok()?)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// Whether a WebSocket request with these headers may proceed. A request
/// without `Origin` is not from a browser page and is allowed; a browser's
/// must name the same host and port it is talking to, or an allowed origin.
pub fn check_origin(headers: &HeaderMap, allowed: &[Origin]) -> Result<(), String> {
    let Some(origin_header) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin_text = origin_header.to_str().unwrap_or("(not text)");
    let refused = || format!("cross-site WebSocket refused: origin {origin_text} is not allowed");
    let origin = Origin::parse(origin_text).ok_or_else(refused)?;
    if allowed.contains(&origin) {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(split_host_port)
        .ok_or_else(refused)?;
    let same_host = host.0 == origin.host;
    let same_port = host.1.unwrap_or(match origin.scheme.as_str() {
        "https" => 443,
        _ => 80,
    }) == origin.port;
    if same_host && same_port {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Who the client is: `peer`, or, when `peer` is a trusted proxy, the
/// address nearest to it in `X-Forwarded-For` that is not a trusted proxy
/// too. Only the trusted hops' own additions are believed: a client can
/// put anything at the start of the header.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // What came before an unreadable hop cannot be trusted.
            Err(_) => break,
        }
    }
    client
}

/// Whether the request offers a subprotocol we can select.
pub fn wants_subprotocol(headers: &HeaderMap) -> bool {
    offered_protocols(headers).any(|p| p == SUBPROTOCOL)
}

fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

/// What the client offers to prove it owns its name, from its subprotocols:
/// `token.<token>`, `code.<transfer code>`, or `claim` to claim a free name.
pub fn credential(headers: &HeaderMap) -> Credential {
    let mut credential = Credential::None;
    for protocol in offered_protocols(headers) {
        if let Some(token) = protocol.strip_prefix("token.") {
            return Credential::Token(token.to_owned());
        } else if let Some(code) = protocol.strip_prefix("code.") {
            credential = Credential::TransferCode(code.to_owned());
        } else if protocol == "claim" && credential == Credential::None {
            credential = Credential::Claim;
        }
    }
    credential
}

/// The browser the page says it is, from its `browser.<id>` subprotocol
/// (a random id it keeps in its storage), as the id's SHA-256 in hex: all a
/// ban by browser needs, and all the server keeps.
pub fn browser(headers: &HeaderMap) -> Option<String> {
    let id = offered_protocols(headers).find_map(|p| p.strip_prefix("browser."))?;
    let plausible = (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit());
    plausible.then(|| crate::host::secret::hash_hex(&id.to_ascii_lowercase()))
}

/// Whether the request carries `key`: as `Authorization: Bearer <key>`, as
/// the `key.<hex>` subprotocol, or (for the page's images and downloads,
/// which cannot set headers) as the `lanchat_key` cookie.
pub fn has_key(headers: &HeaderMap, key: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::to_vec);
    let from_protocol = || {
        offered_protocols(headers)
            .find_map(|p| p.strip_prefix(KEY_PROTOCOL_PREFIX))
            .and_then(decode_hex)
    };
    let from_cookie = || {
        cookie(headers, KEY_COOKIE)
            .map(|value| percent_encoding::percent_decode_str(value).collect::<Vec<u8>>())
    };
    bearer
        .or_else(from_protocol)
        .or_else(from_cookie)
        .is_some_and(|offered| constant_time_eq(&offered, key.as_bytes()))
}

/// An owned name's token on a plain HTTP request: the `Lanchat-Token`
/// header (tus clients), or the `lanchat_token` cookie (the page).
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(TOKEN_HEADER)
        .and_then(|value| value.to_str().ok())
        .or_else(|| cookie(headers, TOKEN_COOKIE))
        .filter(|token| !token.is_empty())
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compares without stopping at the first difference, so timing does not
/// reveal how much of a guess was right. (The length can leak; a key's
/// length is not the secret.)
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value.as_bytes()).unwrap());
        }
        map
    }

    #[test]
    fn the_client_is_whom_the_trusted_proxies_name() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 192.168.1.7")]);
        // Straight from a client: the header means nothing.
        assert_eq!(
            client_ip(ip("192.168.1.9"), &forwarded, &[proxy]),
            ip("192.168.1.9")
        );
        // From the proxy: the hop it added, not what the client wrote first.
        assert_eq!(client_ip(proxy, &forwarded, &[proxy]), ip("192.168.1.7"));
        // Through two trusted proxies.
        let twice = headers(&[
            ("x-forwarded-for", "6.6.6.6, 192.168.1.7"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(client_ip(proxy, &twice, &[proxy, inner]), ip("192.168.1.7"));
        // No header, or one that is not an address: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
        let garbled = headers(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(client_ip(proxy, &garbled, &[proxy]), proxy);
    }

    fn origin_ok(origin: &str, host: &str) -> bool {
        check_origin(&headers(&[("origin", origin), ("host", host)]), &[]).is_ok()
    }

    #[test]
    fn same_origin_is_allowed() {
        assert!(origin_ok("http://192.168.1.5:8080", "192.168.1.5:8080"));
        assert!(origin_ok("http://Chat.Local", "chat.local:80"));
        assert!(origin_ok("https://chat.example", "chat.example"));
        assert!(origin_ok("http://[::1]:8080", "[::1]:8080"));
        assert!(
            check_origin(&headers(&[("host", "x:1")]), &[]).is_ok(),
            "no Origin: not a browser"
        );
    }

    #[test]
    fn other_origins_are_refused() {
        assert!(!origin_ok(
            "http://192.168.1.5.evil.example:8080",
            "192.168.1.5:8080"
        ));
        assert!(!origin_ok("http://evil.example", "192.168.1.5:8080"));
        assert!(!origin_ok("null", "192.168.1.5:8080"));
        assert!(!origin_ok("https://192.168.1.5:8080", "192.168.1.5:8081"));
        assert!(!origin_ok("http://192.168.1.5:9090", "192.168.1.5:8080"));
        assert!(!origin_ok("ftp://192.168.1.5:8080", "192.168.1.5:8080"));
        assert!(!origin_ok(
            "http://192.168.1.5:8080",
            "192.168.1.5:8080@evil"
        ));
        assert!(!origin_ok("http://a@192.168.1.5:8080", "192.168.1.5:8080"));
    }

    #[test]
    fn allowed_origins_are_let_in() {
        let allowed = [Origin::parse("https://chat.example.org").unwrap()];
        let request = headers(&[
            ("origin", "https://chat.example.org"),
            ("host", "10.0.0.2:8080"),
        ]);
        assert!(check_origin(&request, &allowed).is_ok());
        let other = headers(&[
            ("origin", "http://chat.example.org"),
            ("host", "10.0.0.2:8080"),
        ]);
        assert!(check_origin(&other, &allowed).is_err(), "scheme matters");
    }

    #[test]
    fn key_is_read_from_bearer_or_subprotocol() {
        let key = "pa55 wörd";
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(has_key(
            &headers(&[("authorization", "Bearer pa55 wörd")]),
            key
        ));
        let offered = format!("lanchat, key.{hex}");
        assert!(has_key(
            &headers(&[("sec-websocket-protocol", &offered)]),
            key
        ));
        assert!(!has_key(
            &headers(&[("sec-websocket-protocol", "lanchat, key.00")]),
            key
        ));
        assert!(!has_key(&headers(&[("authorization", "Bearer nope")]), key));
        assert!(!has_key(&headers(&[]), key));
        assert!(wants_subprotocol(&headers(&[(
            "sec-websocket-protocol",
            &offered
        )])));
    }

    #[test]
    fn files_read_the_token_and_key_from_headers_or_cookies() {
        let from = |pairs: &[(&'static str, &str)]| token(&headers(pairs)).map(str::to_owned);
        assert_eq!(from(&[("lanchat-token", "ab12")]).as_deref(), Some("ab12"));
        assert_eq!(
            from(&[("cookie", "theme=dark; lanchat_token=cd34")]).as_deref(),
            Some("cd34")
        );
        assert_eq!(from(&[("cookie", "lanchat_token=")]), None);
        assert_eq!(from(&[]), None);
        let cookie = headers(&[("cookie", "lanchat_key=pa55%20w%C3%B6rd")]);
        assert!(has_key(&cookie, "pa55 wörd"));
        assert!(!has_key(&cookie, "pa55"));
    }

    #[test]
    fn the_browser_is_kept_as_a_hash_of_its_id() {
        let offered = |value: &str| browser(&headers(&[("sec-websocket-protocol", value)]));
        let id = "00112233445566778899aabbccddeeff";
        let hashed = offered(&format!("lanchat, browser.{id}")).expect("a browser");
        assert_eq!(hashed.len(), 64);
        assert!(!hashed.contains(id));
        assert_eq!(
            offered(&format!("lanchat, browser.{}", id.to_uppercase())),
            Some(hashed)
        );
        assert_eq!(offered("lanchat, browser.xyz"), None);
        assert_eq!(offered("lanchat"), None);
    }

    #[test]
    fn credentials_come_from_subprotocols() {
        let offered = |value: &str| credential(&headers(&[("sec-websocket-protocol", value)]));
        assert_eq!(credential(&headers(&[])), Credential::None);
        assert_eq!(offered("lanchat"), Credential::None);
        assert_eq!(offered("lanchat, claim"), Credential::Claim);
        assert_eq!(
            offered("lanchat, token.ab12"),
            Credential::Token("ab12".into())
        );
        assert_eq!(
            offered("lanchat, claim, token.ab12"),
            Credential::Token("ab12".into())
        );
        assert_eq!(
            offered("lanchat, code.ABCD-EFGH"),
            Credential::TransferCode("ABCD-EFGH".into())
        );
    }
}
