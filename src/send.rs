//! `lanchat send --url http://host:port --token <bot token> --room <room>
//! "text"`: posts one message as a bot from a shell (a build machine, a
//! sensor), through `POST /api/rooms/<room>/messages`. No text, or `-`,
//! reads it from standard input. An `https://` server (`--tls`) is trusted
//! through its local CA: `--ca`, or `lanchat-ca.pem` in the data folder when
//! this runs beside the server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Connecting and the answer together take at most this long.
const TIMEOUT: Duration = Duration::from_secs(15);

/// What `lanchat send` was asked to post.
pub struct BotMessage {
    pub url: String,
    pub token: String,
    pub room: String,
    /// `None` or `-`: standard input.
    pub text: Option<String>,
    pub idempotency_key: Option<String>,
    /// The CA to trust for `https://`.
    pub ca: PathBuf,
}

/// Where the server is.
#[derive(Debug, PartialEq, Eq)]
struct Server {
    tls: bool,
    host: String,
    port: u16,
}

/// Posts it; returns a line saying where it was stored, or the server's
/// refusal as the error.
pub async fn send_as_bot(request: BotMessage) -> anyhow::Result<String> {
    let text = match request.text.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("cannot read the message from standard input")?;
            text
        }
        Some(text) => text.to_owned(),
    };
    let server = parse_url(&request.url)?;
    let answer = tokio::time::timeout(TIMEOUT, post(&server, &request, text))
        .await
        .unwrap_or_else(|_| {
            bail!(
                "{} did not answer within {} s",
                request.url,
                TIMEOUT.as_secs()
            )
        })?;
    let (status, body) = answer;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !status.is_success() {
        let reason = value["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        let code = value["error"].as_str().unwrap_or("refused");
        bail!("the server refused the message ({status}, {code}): {reason}");
    }
    Ok(format!(
        "sent to {} as message {} (id {})",
        request.room,
        value["seq"],
        value["id"].as_str().unwrap_or("?")
    ))
}

async fn post(
    server: &Server,
    request: &BotMessage,
    text: String,
) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let shown = format!("{}:{}", server.host, server.port);
    let tcp = TcpStream::connect((server.host.as_str(), server.port))
        .await
        .with_context(|| format!("cannot reach {shown}"))?;
    if server.tls {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(&request.ca)?));
        let name = ServerName::try_from(server.host.clone())
            .with_context(|| format!("{:?} is not a server name", server.host))?;
        let stream = connector.connect(name, tcp).await.with_context(|| {
            format!(
                "{shown}: the HTTPS handshake failed (is its certificate from the CA in {}?)",
                request.ca.display()
            )
        })?;
        exchange(stream, server, request, text).await
    } else {
        exchange(tcp, server, request, text).await
    }
}

/// One request and its answer over `stream`.
async fn exchange(
    stream: impl AsyncRead + AsyncWrite + Unpin + std::marker::Send + 'static,
    server: &Server,
    request: &BotMessage,
    text: String,
) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("the server does not speak HTTP")?;
    tokio::spawn(connection);
    let room =
        percent_encoding::utf8_percent_encode(&request.room, percent_encoding::NON_ALPHANUMERIC);
    let host = if server.host.contains(':') {
        format!("[{}]:{}", server.host, server.port)
    } else {
        format!("{}:{}", server.host, server.port)
    };
    let mut http_request = http::Request::post(format!("/api/rooms/{room}/messages"))
        .header(http::header::HOST, host)
        .header(http::header::CONNECTION, "close")
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {}", request.token.trim()),
        )
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some(key) = &request.idempotency_key {
        http_request = http_request.header("idempotency-key", key);
    }
    let response = sender
        .send_request(
            http_request
                .body(Full::new(Bytes::from(text)))
                .context("the token or the key is not a valid header")?,
        )
        .await
        .context("the server closed the connection without answering")?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Trusts the CA in `ca` alone: lanchat's HTTPS comes from its local CA.
fn client_config(ca: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let cert = CertificateDer::from_pem_file(ca).with_context(|| {
        format!(
            "cannot read the server's CA from {} (give it with --ca, or run this \
             where the server's data folder is)",
            ca.display()
        )
    })?;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert)
        .with_context(|| format!("{} is not a CA certificate", ca.display()))?;
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(crate::tls::provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The scheme, host and port of `url`.
fn parse_url(url: &str) -> anyhow::Result<Server> {
    let trimmed = url.trim();
    let (tls, rest) = if let Some(rest) = trimmed.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = trimmed.strip_prefix("https://") {
        (true, rest)
    } else {
        bail!("{url:?} is not a server's URL, like http://192.168.1.23:8080");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .with_context(|| format!("{url:?}: the IPv6 address has no closing ]"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, parse_port(url, port)?),
            None if after.is_empty() => (host, default_port),
            None => bail!("{url:?}: {after:?} after the address"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, parse_port(url, port)?),
            None => (authority, default_port),
        }
    };
    if host.is_empty() {
        bail!("{url:?} names no server");
    }
    Ok(Server {
        tls,
        host: host.to_owned(),
        port,
    })
}

fn parse_port(url: &str, port: &str) -> anyhow::Result<u16> {
    port.parse()
        .with_context(|| format!("{url:?}: {port:?} is not a port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(tls: bool, host: &str, port: u16) -> Server {
        Server {
            tls,
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn urls_give_their_scheme_host_and_port() {
        assert_eq!(
            parse_url("http://192.168.1.23:8080/").unwrap(),
            server(false, "192.168.1.23", 8080)
        );
        assert_eq!(
            parse_url("http://chat.lan").unwrap(),
            server(false, "chat.lan", 80)
        );
        assert_eq!(
            parse_url("https://chat.local:8081").unwrap(),
            server(true, "chat.local", 8081)
        );
        assert_eq!(
            parse_url("http://[::1]:9000").unwrap(),
            server(false, "::1", 9000)
        );
        assert_eq!(
            parse_url("https://[fe80::1]").unwrap(),
            server(true, "fe80::1", 443)
        );
        assert!(parse_url("ftp://chat.lan").is_err());
        assert!(parse_url("chat.lan:8080").is_err());
        assert!(parse_url("http://host:port").is_err());
        assert!(parse_url("http://:8080").is_err());
    }
}
