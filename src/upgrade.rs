//! The WebSocket handshake, as a warp filter.
//!
//! warp's own `ws()` gives every connection tungstenite's default buffers and
//! exposes no setting for them. This filter answers the RFC 6455 handshake
//! itself and builds the stream with our [`WebSocketConfig`], so we choose the
//! buffer sizes and the message and frame limits.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::{Filter, Rejection, Reply};

use crate::access;

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A valid upgrade request, not yet answered.
pub struct Upgrade {
    accept_key: String,
    on_upgrade: OnUpgrade,
    /// The client offered our subprotocol, so the answer must select it.
    subprotocol: bool,
}

/// Why a request is not a valid WebSocket handshake.
#[derive(Debug)]
pub struct BadHandshake {
    pub status: StatusCode,
    pub reason: &'static str,
}

impl warp::reject::Reject for BadHandshake {}

/// Matches a WebSocket upgrade request; anything else that claims to be one is
/// rejected with [`BadHandshake`].
pub fn websocket() -> impl Filter<Extract = (Upgrade,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and_then(
            |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| async move {
                check_handshake(&headers)
                    .and_then(|accept_key| {
                        let on_upgrade = on_upgrade.ok_or(BadHandshake {
                            status: StatusCode::BAD_REQUEST,
                            reason: "connection cannot be upgraded",
                        })?;
                        Ok(Upgrade {
                            accept_key,
                            on_upgrade,
                            subprotocol: access::wants_subprotocol(&headers),
                        })
                    })
                    .map_err(warp::reject::custom)
            },
        )
}

/// Checks the handshake headers and returns the `Sec-WebSocket-Accept` value.
fn check_handshake(headers: &HeaderMap) -> Result<String, BadHandshake> {
    let bad = |reason| BadHandshake {
        status: StatusCode::BAD_REQUEST,
        reason,
    };
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(bad("expected \"Connection: upgrade\""));
    }
    if !header_has_token(headers, header::UPGRADE, "websocket") {
        return Err(bad("expected \"Upgrade: websocket\""));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13")) {
        return Err(BadHandshake {
            status: StatusCode::UPGRADE_REQUIRED,
            reason: "only WebSocket version 13 is supported",
        });
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(bad("missing Sec-WebSocket-Key"))?;
    // A key is 16 random bytes in base64: 24 characters ending in "==".
    let key_bytes = key.as_bytes();
    if key_bytes.len() != 24 || !key_bytes.ends_with(b"==") {
        return Err(bad("malformed Sec-WebSocket-Key"));
    }
    Ok(derive_accept_key(key_bytes))
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

impl Upgrade {
    /// Answers `101 Switching Protocols` and runs `session` on the upgraded
    /// connection once hyper hands it over.
    pub fn on_upgrade<F, Fut>(self, config: WebSocketConfig, session: F) -> impl Reply + use<F, Fut>
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Upgrade {
            accept_key,
            on_upgrade,
            subprotocol,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let io = TokioIo::new(upgraded);
                    let socket =
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                    // A task of its own, so what the upgrade needed is not
                    // kept for the session's life (part of each idle
                    // connection's memory).
                    tokio::spawn(session(socket));
                }
                Err(err) => log::debug!("websocket upgrade failed: {err}"),
            }
        });
        let mut response = warp::reply().into_response();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(value) = HeaderValue::from_str(&accept_key) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
        }
        if subprotocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(access::SUBPROTOCOL),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn accepts_the_rfc_example() {
        assert_eq!(
            check_handshake(&headers(&GOOD)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn refuses_bad_handshakes() {
        for (drop, status) in [
            ("connection", StatusCode::BAD_REQUEST),
            ("upgrade", StatusCode::BAD_REQUEST),
            ("sec-websocket-version", StatusCode::UPGRADE_REQUIRED),
            ("sec-websocket-key", StatusCode::BAD_REQUEST),
        ] {
            let pairs: Vec<_> = GOOD.iter().copied().filter(|(n, _)| *n != drop).collect();
            assert_eq!(
                check_handshake(&headers(&pairs)).unwrap_err().status,
                status,
                "{drop}"
            );
        }
        let mut old = GOOD;
        old[2] = ("sec-websocket-version", "8");
        assert_eq!(
            check_handshake(&headers(&old)).unwrap_err().status,
            StatusCode::UPGRADE_REQUIRED
        );
        let mut short = GOOD;
        short[3] = ("sec-websocket-key", "abc");
        assert!(check_handshake(&headers(&short)).is_err());
    }
}
