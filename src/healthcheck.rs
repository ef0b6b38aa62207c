//! `lanchat healthcheck`: asks a running lanchat's `GET /healthz` whether
//! it is serving. A container built `FROM scratch` has no shell and no curl,
//! so its `HEALTHCHECK` runs the binary itself; the exit status is the
//! answer (0 serving, 1 not).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The whole check, connect to answer, takes at most this long: a server
/// too busy to answer in time is not healthy.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where to ask: the address a server with this `--bind` and `--port` can
/// be reached on from the same machine. A wildcard bind is asked on loopback.
fn target(bind: IpAddr, port: u16) -> SocketAddr {
    let ip = match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, port)
}

/// Asks the server listening on `bind` and `port` for `/healthz`, with the
/// access key if one is set. Ok is a line saying what answered; an error
/// says why it is not healthy.
pub async fn healthcheck(bind: IpAddr, port: u16, key: Option<&str>) -> anyhow::Result<String> {
    let addr = target(bind, port);
    let url = format!("http://{addr}/healthz");
    tokio::time::timeout(TIMEOUT, ask(addr, key))
        .await
        .unwrap_or_else(|_| bail!("no answer within {} s", TIMEOUT.as_secs()))
        .with_context(|| format!("{url} is not healthy"))
}

async fn ask(addr: SocketAddr, key: Option<&str>) -> anyhow::Result<String> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = http::Request::get("/healthz")
        .header(http::header::HOST, addr.to_string())
        .header(http::header::CONNECTION, "close");
    if let Some(key) = key {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(key.as_bytes());
        request = request.header(http::header::AUTHORIZATION, value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("it answered {status}");
    }
    let health: serde_json::Value =
        serde_json::from_slice(&body).context("its answer is not lanchat's /healthz")?;
    if health["status"] != "ok" {
        bail!("its answer is not lanchat's /healthz: {health}");
    }
    Ok(format!(
        "lanchat {} at {addr} is serving: up {} s, {} connections",
        health["version"].as_str().unwrap_or("?"),
        health["uptime_seconds"],
        health["connections"],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_bind_is_asked_on_loopback() {
        assert_eq!(
            target("0.0.0.0".parse().unwrap(), 8080),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            target("::".parse().unwrap(), 80),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            target("192.168.1.5".parse().unwrap(), 1),
            "192.168.1.5:1".parse().unwrap()
        );
    }
}
