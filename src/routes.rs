//! The HTTP routes, as warp filters, and the one place rejections become
//! responses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Instant;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::path::Tail;
use warp::{Filter, Rejection, Reply};

use std::sync::Arc;

use crate::access::{self, Origin};
use crate::assets::{Assets, Encoding};
use crate::bots;
use crate::export;
use crate::files::{FileAccess, serve, tus};
use crate::identity::Credential;
use crate::limits::{Admission, Gate};
use crate::metrics::{self, Exporter};
use crate::server::PeerAddr;
use crate::session::{self, Context};
use crate::text::emoji;
use crate::tls::trust_port::{self, TrustInfo};
use crate::upgrade::{self, BadHandshake, Upgrade};

/// Sent with every response but files. The page has no inline script or
/// style, so the policy can forbid both; `blob:` lets it show a picked or
/// pasted image before it is uploaded.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Who may use the WebSocket and the API.
#[derive(Clone)]
pub struct Policy {
    pub gate: Arc<Gate>,
    pub allowed_origins: Arc<[Origin]>,
    /// Proxies whose X-Forwarded-For says who the client is.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The access key, if one is set.
    pub key: Option<Arc<str>>,
}

/// A request refused with a status and a reason in plain words.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    reason: String,
}

impl warp::reject::Reject for Refused {}

fn refused(status: StatusCode, reason: impl Into<String>) -> Rejection {
    warp::reject::custom(Refused {
        status,
        reason: reason.into(),
    })
}

/// Every route, with rejections handled and security headers added.
/// `/metrics` is among them when `metrics` is given (no `--metrics-bind`).
pub fn routes(
    context: Context,
    policy: Policy,
    ws_config: WebSocketConfig,
    trust: Option<TrustInfo>,
    assets: Arc<Assets>,
    metrics: Option<Exporter>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let started = Instant::now();
    let gate = FileAccess {
        files: context.files.clone(),
        identity: context.identity.clone(),
        rooms: context.rooms.clone(),
        key: policy.key.clone(),
        allowed_origins: policy.allowed_origins.clone(),
    };
    healthz(context.clone(), policy.clone(), started)
        .or(metrics_route(metrics, policy.clone()))
        .or(access_check(policy.clone()))
        .or(export_host(context.clone(), policy.clone()))
        .or(export_mine(context.clone(), policy.clone()))
        .or(bot_post(context.clone()))
        .or(bot_read(context.clone()))
        .or(websocket(context, policy, ws_config))
        .or(emoji())
        .or(trust_port::trust_info(trust))
        .or(tus::routes(gate.clone()))
        .or(serve::routes(gate))
        .or(page_files(assets, "index.html", |_| true))
        .recover(handle_rejection)
        .map(with_security_headers)
}

/// Passes requests that carry the access key (or all, when none is set).
fn with_key(policy: Policy) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and_then(move |headers: HeaderMap| {
            let allowed = policy
                .key
                .as_deref()
                .is_none_or(|key| access::has_key(&headers, key));
            async move {
                if allowed {
                    Ok(())
                } else {
                    Err(refused(StatusCode::UNAUTHORIZED, "access key required"))
                }
            }
        })
        .untuple_one()
}

/// GET /healthz
fn healthz(
    context: Context,
    policy: Policy,
    started: Instant,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("healthz")
        .and(warp::get())
        .and(with_key(policy))
        .map(move || {
            warp::reply::json(&serde_json::json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_seconds": started.elapsed().as_secs(),
                "connections": context.hub.connection_count(),
                "users": context.hub.user_count(),
            }))
        })
}

/// `/metrics` alone, for `--metrics-bind`'s own address.
pub fn metrics_only(
    exporter: Exporter,
    policy: Policy,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    metrics_route(Some(exporter), policy)
        .recover(handle_rejection)
        .map(with_security_headers)
}

/// GET /metrics: the Prometheus text format; 404 where it is not served.
fn metrics_route(
    exporter: Option<Exporter>,
    policy: Policy,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and_then(move || {
            let exporter = exporter.clone();
            async move { exporter.ok_or_else(warp::reject::not_found) }
        })
        .and(with_key(policy))
        .map(|exporter: Exporter| {
            let mut response = warp::reply::Response::new(exporter.render().into());
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        })
}

/// GET /api/access: 204 if the request carries the access key (or none is
/// set), 401 if not. The page asks before it connects, since a browser
/// cannot see why a WebSocket was refused.
fn access_check(policy: Policy) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "access")
        .and(warp::get())
        .and(with_key(policy))
        .map(|| warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT))
}

/// GET /api/export?room=<id>&format=html|markdown|jsonl: the host's
/// export, with the host secret in the `Lanchat-Host` header.
fn export_host(
    context: Context,
    policy: Policy,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("api" / "export")
        .and(warp::get())
        .and(with_key(policy))
        .and(warp::query::<HashMap<String, String>>())
        .and(warp::header::optional::<String>(
            export::routes::HOST_HEADER,
        ))
        .and_then(
            move |query: HashMap<String, String>, secret: Option<String>| {
                let context = context.clone();
                async move {
                    let format = match query.get("format") {
                        None => export::Format::Html,
                        Some(text) => export::Format::parse(text).ok_or_else(|| {
                            refused(StatusCode::BAD_REQUEST, "format is html, markdown or jsonl")
                        })?,
                    };
                    let room = query.get("room").map(String::as_str);
                    export::routes::host(&context, secret.as_deref(), room, format)
                        .await
                        .map_err(|(status, reason)| refused(status, reason))
                }
            },
        )
}

/// GET /api/export/mine?room=<id>: a participant's export, as HTML, with
/// their name's token (the `Lanchat-Token` header or the page's cookie).
fn export_mine(
    context: Context,
    policy: Policy,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("api" / "export" / "mine")
        .and(warp::get())
        .and(with_key(policy))
        .and(warp::query::<HashMap<String, String>>())
        .and(warp::header::headers_cloned())
        .and_then(move |query: HashMap<String, String>, headers: HeaderMap| {
            let context = context.clone();
            async move {
                let room = query.get("room").map(String::as_str);
                export::routes::mine(&context, access::token(&headers), room)
                    .await
                    .map_err(|(status, reason)| refused(status, reason))
            }
        })
}

/// POST /api/rooms/:room/messages: a bot posts, with its token. The token
/// is the host's own credential, so the access key is not asked for.
fn bot_post(
    context: Context,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("api" / "rooms" / String / "messages")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(move |room: String, headers: HeaderMap, body| {
            let context = context.clone();
            async move {
                let limit = bots::body_limit(context.settings.max_message_chars);
                let body = bots::read_body(Box::pin(body), limit).await;
                bots::post(&context, &room_segment(&room), &headers, body)
                    .await
                    .unwrap_or_else(bots::refusal_response)
            }
        })
}

/// GET /api/rooms/:room/messages?since=N&timeout=S: a bot reads, waiting up
/// to `timeout` seconds for something new.
fn bot_read(
    context: Context,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("api" / "rooms" / String / "messages")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::query::<HashMap<String, String>>())
        .then(
            move |room: String, headers: HeaderMap, query: HashMap<String, String>| {
                let context = context.clone();
                async move {
                    bots::read(&context, &room_segment(&room), &headers, &query)
                        .await
                        .unwrap_or_else(bots::refusal_response)
                }
            },
        )
}

/// A room's id from its path segment, percent-decoded (`p%3A1f0c` is
/// `p:1f0c`).
fn room_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// GET /ws/:username?since=N
fn websocket(
    context: Context,
    policy: Policy,
    ws_config: WebSocketConfig,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("ws" / String)
        .and(since())
        .and(admit(policy))
        .and(
            warp::header::headers_cloned().map(|headers: HeaderMap| {
                (access::credential(&headers), access::browser(&headers))
            }),
        )
        .and(upgrade::websocket())
        .map(
            move |username: String,
                  since: Option<u64>,
                  admission: Admission,
                  (credential, browser): (Credential, Option<String>),
                  upgrade: Upgrade| {
                let context = context.clone();
                let arrival = session::Arrival {
                    credential,
                    browser,
                    since,
                };
                upgrade.on_upgrade(ws_config, move |socket| {
                    session::run(socket, context, username, arrival, admission)
                })
            },
        )
}

/// GET /api/emoji: every emoji by group, with names, shortcodes and skin
/// tones, for the page's picker: the same list the server checks
/// reactions and shortcodes against.
fn emoji() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "emoji").and(warp::get()).map(|| {
        let mut response = warp::reply::Response::new(emoji::picker_json().into());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        // It changes only with the binary.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        );
        response
    })
}

/// Checks Origin and the access key, then takes a place under the connection
/// caps, all before the upgrade.
fn admit(policy: Policy) -> impl Filter<Extract = (Admission,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<PeerAddr>())
        .and_then(move |headers: HeaderMap, peer: Option<PeerAddr>| {
            let policy = policy.clone();
            async move {
                access::check_origin(&headers, &policy.allowed_origins)
                    .map_err(|reason| refused(StatusCode::FORBIDDEN, reason))?;
                if let Some(key) = &policy.key
                    && !access::has_key(&headers, key)
                {
                    return Err(refused(StatusCode::UNAUTHORIZED, "access key required"));
                }
                let client = peer.map(|PeerAddr(addr)| {
                    access::client_ip(addr.ip(), &headers, &policy.trusted_proxies)
                });
                policy.gate.admit(client).map_err(|full| {
                    metrics::get().connections_refused.inc();
                    refused(full.status, full.reason)
                })
            }
        })
}

/// The optional `since` query parameter; anything but a number is a 400.
fn since() -> impl Filter<Extract = (Option<u64>,), Error = Rejection> + Clone {
    warp::query::<HashMap<String, String>>().and_then(|query: HashMap<String, String>| async move {
        match query.get("since") {
            None => Ok(None),
            Some(value) => value.parse::<u64>().map(Some).map_err(|_| {
                warp::reject::custom(BadHandshake {
                    status: StatusCode::BAD_REQUEST,
                    reason: "since must be a message seq (a whole number)",
                })
            }),
        }
    })
}

/// GET / (as `index`) and GET /<file in web/> for the files `serves` lets
/// through, in the encoding the browser accepts. The chat's port serves the
/// whole page; the plain port of `--tls` only the trust page's files.
pub(crate) fn page_files(
    assets: Arc<Assets>,
    index: &'static str,
    serves: fn(&str) -> bool,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::path::tail())
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(warp::header::optional::<String>("if-none-match"))
        .and_then(
            move |tail: Tail, accept_encoding: Option<String>, if_none_match: Option<String>| {
                let assets = assets.clone();
                async move {
                    let path = match tail.as_str() {
                        "" => index,
                        path => path,
                    };
                    if !serves(path) {
                        return Err(warp::reject::not_found());
                    }
                    asset_response(
                        &assets,
                        path,
                        accept_encoding.as_deref(),
                        if_none_match.as_deref(),
                    )
                    .ok_or_else(warp::reject::not_found)
                }
            },
        )
}

/// One file of the page in the encoding `accept_encoding` takes best, or
/// 304 if the browser has that copy already.
fn asset_response(
    assets: &Assets,
    path: &str,
    accept_encoding: Option<&str>,
    if_none_match: Option<&str>,
) -> Option<warp::reply::Response> {
    let asset = assets.get(path)?;
    let copy = asset.negotiate(accept_encoding);
    // If-None-Match compares weakly: a proxy may have marked our tag W/.
    let fresh = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || copy.etag == tag.strip_prefix("W/").unwrap_or(tag))
    });
    let mut response = if fresh {
        warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response()
    } else {
        let mut response = warp::reply::Response::new(copy.body.clone().into());
        if copy.encoding != Encoding::Identity {
            response.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(copy.encoding.token()),
            );
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
    headers.insert(header::ETAG, copy.etag.clone());
    if asset.varies() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    // Revalidate every time: the page changes when the binary does.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(response)
}

/// Adds the headers every response carries, unless the route set its own
/// (a file's `Content-Security-Policy: sandbox`).
pub(crate) fn with_security_headers(reply: impl Reply) -> warp::reply::Response {
    let mut response = reply.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

async fn handle_rejection(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    let (status, reason) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "not found")
    } else if let Some(refusal) = rejection.find::<Refused>() {
        (refusal.status, refusal.reason.as_str())
    } else if let Some(bad) = rejection.find::<BadHandshake>() {
        (bad.status, bad.reason)
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        (StatusCode::BAD_REQUEST, "malformed query string")
    } else {
        log::warn!("unhandled rejection: {rejection:?}");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    };
    let mut response = warp::reply::with_status(format!("{reason}\n"), status).into_response();
    // A refused client has no business keeping the connection open.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    if status == StatusCode::UPGRADE_REQUIRED {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
    }
    Ok(response)
}
