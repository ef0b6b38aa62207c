//! HTTPS for the tests: a rustls client that trusts what the test says
//! (the server's local CA, fetched from its trust page, or nothing), TLS
//! connections, WebSockets over them, and reading a certificate's names.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::MaybeTlsStream;
use x509_parser::extensions::GeneralName;

use super::{Client, HttpResponse, Server, WAIT, http_get, raw};

/// rustls on ring, as the server uses (see `src/tls/mod.rs`).
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The server's local CA as its trust page hands it out (`/ca.crt`).
pub fn fetch_ca(server: &Server) -> CertificateDer<'static> {
    let trust = server
        .trust_addr
        .expect("a trust port (started with --tls)");
    let response = http_get(trust, "/ca.crt");
    assert_eq!(response.status, 200, "GET /ca.crt");
    CertificateDer::from(response.body)
}

/// A client that trusts `roots` and nothing else.
pub fn client_config(roots: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).expect("a root certificate");
    }
    let config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS connection to `addr`, checking the certificate for `name` (a DNS
/// name or an address).
pub async fn connect(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))?;
    let tcp = TcpStream::connect(addr).await?;
    let connecting = TlsConnector::from(config).connect(server_name, tcp);
    tokio::time::timeout(WAIT, connecting)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake"))?
}

/// The certificate the server presents to a client that trusts `roots`.
pub async fn server_certificate(
    addr: SocketAddr,
    name: &str,
    roots: &[CertificateDer<'static>],
) -> CertificateDer<'static> {
    let stream = connect(addr, name, client_config(roots))
        .await
        .expect("TLS handshake with the CA trusted");
    let (_, connection) = stream.get_ref();
    connection.peer_certificates().expect("a certificate")[0].clone()
}

/// Opens `/ws/<path>` over TLS, trusting `roots`.
pub async fn wss_connect(
    server: &Server,
    path: &str,
    roots: &[CertificateDer<'static>],
) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    let stream = connect(
        server.addr,
        &server.addr.ip().to_string(),
        client_config(roots),
    )
    .await?;
    let url = format!("wss://{}/ws/{path}", server.addr);
    let connecting = tokio_tungstenite::client_async(url, MaybeTlsStream::Rustls(stream));
    let (ws, _) = tokio::time::timeout(WAIT, connecting)
        .await
        .expect("WebSocket handshake timed out")?;
    Ok(Client { ws })
}

/// GET `path` over TLS, trusting `roots`.
pub async fn https_get(
    addr: SocketAddr,
    path: &str,
    roots: &[CertificateDer<'static>],
) -> HttpResponse {
    let mut stream = connect(addr, &addr.ip().to_string(), client_config(roots))
        .await
        .expect("TLS handshake");
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut bytes = Vec::new();
    // A server that closes without close_notify is fine here: the body ends
    // the response either way.
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut bytes)).await;
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = raw::Head::parse(&String::from_utf8_lossy(&bytes[..split]));
    HttpResponse {
        status: head.status,
        headers: head.headers,
        body: bytes[split + 4..].to_vec(),
    }
}

/// What a certificate is for: its addresses and DNS names.
pub fn sans(der: &[u8]) -> (Vec<IpAddr>, Vec<String>) {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a certificate");
    let san = cert
        .subject_alternative_name()
        .expect("readable SANs")
        .expect("SANs");
    let mut ips = Vec::new();
    let mut names = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::IPAddress(bytes) if bytes.len() == 4 => {
                ips.push(IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()));
            }
            GeneralName::IPAddress(bytes) if bytes.len() == 16 => {
                ips.push(IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()));
            }
            GeneralName::DNSName(name) => names.push(name.to_string()),
            other => panic!("an unexpected SAN {other:?}"),
        }
    }
    (ips, names)
}

/// `der` as a PEM certificate.
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// The certificate's serial number, to tell two issues apart.
pub fn serial(der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("a certificate");
    cert.raw_serial().to_vec()
}
