//! `--tls`: the chat over HTTPS with a certificate from the local CA, the
//! plain port's trust page and downloads, the certificate's contents, a
//! brought certificate, and every bad certificate, key and CA file refused
//! with one line. Real TLS clients (rustls) against the real binary.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::json;
use sha2::{Digest, Sha256};

use common::netns::Lan;
use common::tls::{
    client_config, connect, fetch_ca, https_get, sans, serial, server_certificate, wss_connect,
};
use common::{Server, WAIT, binary, http_get};

fn start_tls(dir: &Path, extra: &[&str]) -> Server {
    let db = dir.join("lanchat.db");
    let mut args = vec![
        "--tls",
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--no-qr",
        "--rate-limit",
        "0",
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::spawn(&args, dir)
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A client that pins the local CA joins over wss and chats; one that
/// trusts nothing is refused in the handshake, and plain ws to the HTTPS
/// port gets no WebSocket.
#[test]
fn a_client_that_pins_the_ca_chats_and_one_without_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.banner
    );
    let ca = fetch_ca(&server);
    runtime().block_on(async {
        let mut ana = wss_connect(&server, "ana", std::slice::from_ref(&ca))
            .await
            .expect("wss with the CA");
        ana.recv_type("welcome").await;
        ana.recv_type("history").await;
        let mut bob = wss_connect(&server, "bob", std::slice::from_ref(&ca))
            .await
            .expect("wss with the CA");
        bob.recv_type("history").await;
        ana.say("over TLS", "c1").await;
        let heard = bob.recv_type("message").await;
        assert_eq!(heard["message"], "over TLS");

        let refused = wss_connect(&server, "eve", &[]).await;
        let err = refused.err().expect("refused without the CA").to_string();
        assert!(
            err.contains("UnknownIssuer") || err.contains("invalid peer certificate"),
            "{err}"
        );
        let plain = tokio_tungstenite::connect_async(format!("ws://{}/ws/eve", server.addr)).await;
        assert!(plain.is_err(), "plain ws to the HTTPS port");
    });
}

/// Frames larger than a TLS record cross intact both ways: a 64 KiB frame
/// in (a message padded with JSON whitespace, so it spans four records and
/// more reads), and a history frame of over 100 KB out to a client that
/// joins later.
/// The server keeps no buffer between reads, so every one of these is
/// put back together from pieces.
#[test]
fn frames_larger_than_a_record_cross_tls_intact() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    let ca = fetch_ca(&server);
    runtime().block_on(async {
        let mut ana = wss_connect(&server, "ana", std::slice::from_ref(&ca))
            .await
            .expect("wss with the CA");
        ana.recv_type("history").await;
        let long = "€".repeat(4000);
        for i in 0..5 {
            let frame = json!({"type": "message", "message": long, "cid": format!("big{i}")});
            let frame = frame.to_string();
            // The limit exactly: JSON whitespace before the closing brace.
            let pad = " ".repeat(64 * 1024 - frame.len());
            let padded = format!("{}{pad}}}", &frame[..frame.len() - 1]);
            assert_eq!(padded.len(), 64 * 1024);
            ana.send_raw(tokio_tungstenite::tungstenite::Message::text(padded))
                .await;
            let echoed = ana.recv_type("message").await;
            assert_eq!(echoed["message"], long.as_str());
        }
        let mut bob = wss_connect(&server, "bob", std::slice::from_ref(&ca))
            .await
            .expect("wss with the CA");
        let history = bob.recv_type("history").await;
        let said: Vec<_> = history["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["message"] == long.as_str())
            .collect();
        assert_eq!(said.len(), 5, "the five long messages in the history");
    });
}

/// A client that only answers the server's pings stays connected through
/// several idle timeouts over TLS: each ping goes out while the connection
/// is otherwise idle (no buffer held), and each pong is read and counts as
/// heard from.
#[test]
fn an_idle_client_answering_pings_outlives_the_idle_timeout() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &["--ping-interval", "1", "--idle-timeout", "2"]);
    let ca = fetch_ca(&server);
    runtime().block_on(async {
        let mut ana = wss_connect(&server, "ana", std::slice::from_ref(&ca))
            .await
            .expect("wss with the CA");
        ana.recv_type("history").await;
        // Five pings: over two idle timeouts in which ana sent only pongs
        // (tungstenite answers each as it reads the next frame).
        let mut pings = 0;
        while pings < 5 {
            let next = tokio::time::timeout(WAIT, ana.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no frame after {pings} pings"));
            match next {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Close(frame))) => panic!("closed after {pings} pings: {frame:?}"),
                Some(Ok(_)) => {}
                other => panic!("connection ended after {pings} pings: {other:?}"),
            }
        }
        ana.say("still here", "c1").await;
        assert_eq!(ana.recv_type("message").await["message"], "still here");
    });
}

/// Plain HTTP sent to the HTTPS port is answered with a fatal TLS alert,
/// not a silent close, and the port goes on serving TLS.
#[test]
fn plain_http_to_the_https_port_gets_a_tls_alert() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    let ca = fetch_ca(&server);
    let mut tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: lanchat\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    tcp.read_to_end(&mut reply).expect("the server closes");
    // A record of type alert (21), two bytes long, level fatal (2).
    assert!(reply.len() >= 7, "an alert record, got {reply:?}");
    assert_eq!(reply[0], 21, "an alert record, got {reply:?}");
    assert_eq!(&reply[3..6], &[0, 2, 2], "one fatal alert, got {reply:?}");
    let page = runtime().block_on(https_get(server.addr, "/", std::slice::from_ref(&ca)));
    assert_eq!(page.status, 200);
}

/// The plain port serves the trust page, the CA as DER, PEM and an Apple
/// profile, and its fingerprint; every other path is a temporary redirect
/// to the same path on HTTPS. No response on either port sets HSTS.
#[test]
fn the_plain_port_offers_the_ca_and_sends_everything_else_to_https() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    let trust = server.trust_addr.expect("a Trust: line");
    let https_port = server.addr.port();

    let page = http_get(trust, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("trust.js"), "the trust page");
    for file in [
        "/trust.js",
        "/trust.css",
        "/css/base.css",
        "/i18n.js",
        "/i18n/pt-BR.json",
    ] {
        assert_eq!(http_get(trust, file).status, 200, "{file}");
    }

    let pem_file = std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap();
    let der = CertificateDer::from_pem_slice(&pem_file).unwrap();
    let crt = http_get(trust, "/ca.crt");
    assert_eq!(crt.status, 200);
    assert_eq!(
        crt.header("content-type"),
        Some("application/x-x509-ca-cert")
    );
    assert!(
        crt.header("content-disposition")
            .unwrap()
            .contains("lanchat-ca.crt")
    );
    assert_eq!(crt.body, der.as_ref());
    let pem = http_get(trust, "/ca.pem");
    assert_eq!(pem.body, pem_file);
    let profile = http_get(trust, "/lanchat.mobileconfig");
    assert_eq!(
        profile.header("content-type"),
        Some("application/x-apple-aspen-config")
    );
    assert!(profile.text().contains("com.apple.security.root"));
    use base64::Engine as _;
    assert!(
        profile
            .text()
            .contains(&base64::engine::general_purpose::STANDARD.encode(&der))
    );

    let info = http_get(trust, "/api/trust").json();
    assert_eq!(
        info,
        json!({"fingerprint": fingerprint(&der), "https_port": https_port, "trust_port": trust.port()})
    );
    assert!(
        server.banner.contains(&fingerprint(&der)),
        "the banner shows it"
    );
    // The key never leaves the folder.
    for path in ["/lanchat-ca.key", "/ca.key", "/../lanchat-ca.key"] {
        let response = http_get(trust, path);
        assert_ne!(response.status, 200, "{path}");
        assert!(!response.text().contains("PRIVATE KEY"));
    }

    for path in ["/index.html", "/ws/ana?since=3", "/metrics", "/nowhere"] {
        let response = http_get(trust, path);
        assert_eq!(response.status, 307, "{path}");
        assert_eq!(
            response.header("location"),
            Some(format!("https://127.0.0.1:{https_port}{path}").as_str())
        );
        assert_eq!(response.header("strict-transport-security"), None);
    }
    runtime().block_on(async {
        let ca = [der.clone()];
        let info = https_get(server.addr, "/api/trust", &ca).await;
        assert_eq!(info.json()["trust_port"], trust.port());
        let page = https_get(server.addr, "/", &ca).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("script.js"), "the chat on HTTPS");
        assert_eq!(page.header("strict-transport-security"), None, "no HSTS");
    });
}

/// The certificate names localhost, lanchat.local, the host name and every
/// loopback and private address of this machine, and lasts at most 397
/// days; the CA stays the same file, byte for byte, across restarts, while
/// the server certificate is new at each start.
#[test]
fn the_certificate_covers_this_machine_and_the_ca_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_tls(dir.path(), &[]);
    let ca = fetch_ca(&server);
    let ca_files = (
        std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap(),
        std::fs::read(dir.path().join("lanchat-ca.key")).unwrap(),
    );
    let first = runtime().block_on(server_certificate(
        server.addr,
        "localhost",
        std::slice::from_ref(&ca),
    ));
    let (ips, names) = sans(&first);
    assert!(names.contains(&"localhost".into()), "{names:?}");
    assert!(names.contains(&"lanchat.local".into()), "{names:?}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        names.contains(&host.trim().to_ascii_lowercase()),
        "{names:?}"
    );
    let private = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    };
    for ip in ["127.0.0.1", "::1"] {
        assert!(ips.contains(&ip.parse().unwrap()), "{ips:?}");
    }
    for interface in if_addrs::get_if_addrs().unwrap() {
        let ip = interface.ip();
        if private(&ip) && !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()) {
            assert!(
                ips.contains(&ip),
                "{ip} of {} is missing: {ips:?}",
                interface.name
            );
        }
    }
    assert!(
        ips.iter().all(private),
        "only addresses the CA may vouch for: {ips:?}"
    );
    let (_, parsed) = x509_parser::parse_x509_certificate(&first).unwrap();
    let validity = parsed.validity();
    let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400;
    assert!(days <= 397, "{days} days");

    assert!(server.terminate().success());
    let server = start_tls(dir.path(), &[]);
    assert_eq!(
        (
            std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap(),
            std::fs::read(dir.path().join("lanchat-ca.key")).unwrap(),
        ),
        ca_files,
        "the CA is made once"
    );
    assert_eq!(fetch_ca(&server), ca);
    let second = runtime().block_on(server_certificate(server.addr, "127.0.0.1", &[ca]));
    assert_ne!(
        serial(&second),
        serial(&first),
        "a new certificate at each start"
    );
}

/// The certificate covers the `.local` name asked for: a client that
/// trusts the CA and asks for `party.local` (`--name Party`, as SNI) gets
/// through the handshake; `lanchat.local`, not asked for, is refused. With
/// `--no-mdns` no `.local` name is asked for, and none is covered.
#[test]
fn the_certificate_covers_the_local_name_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &["--name", "Party"]);
    let ca = fetch_ca(&server);
    let runtime = runtime();
    let cert = runtime.block_on(server_certificate(
        server.addr,
        "party.local",
        std::slice::from_ref(&ca),
    ));
    let (_, names) = sans(&cert);
    assert!(names.contains(&"party.local".into()), "{names:?}");
    let other = runtime.block_on(connect(
        server.addr,
        "lanchat.local",
        client_config(std::slice::from_ref(&ca)),
    ));
    assert!(other.is_err(), "lanchat.local is not this server's name");
    drop(server);

    let off = start_tls(dir.path(), &["--no-mdns"]);
    let cert = runtime.block_on(server_certificate(off.addr, "localhost", &[ca]));
    let (_, names) = sans(&cert);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim().to_ascii_lowercase();
    assert!(
        !names
            .iter()
            .any(|name| name.ends_with(".local") && *name != host),
        "{names:?}"
    );
}

/// The CA's name constraints hold: a certificate it signs for a public
/// name or address is refused by a verifier that trusts it (rustls's
/// webpki), while one for a private address passes. A stolen CA key is
/// then no way into other websites on the devices that installed it.
#[test]
fn the_ca_cannot_vouch_for_other_websites() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    let ca = fetch_ca(&server);
    drop(server);
    let key =
        KeyPair::from_pem(&std::fs::read_to_string(dir.path().join("lanchat-ca.key")).unwrap())
            .unwrap();
    let issuer = Issuer::from_ca_cert_der(&ca, &key).unwrap();
    let leaf = |names: &[&str]| {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        params.signed_by(&leaf_key, &issuer).unwrap().der().clone()
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        provider,
    )
    .build()
    .unwrap();
    let verify = |cert: &CertificateDer<'static>, name: &str| {
        verifier.verify_server_cert(
            cert,
            &[],
            &ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            UnixTime::now(),
        )
    };
    assert!(verify(&leaf(&["192.168.7.7"]), "192.168.7.7").is_ok());
    assert!(verify(&leaf(&["chat.lanchat.local"]), "chat.lanchat.local").is_ok());
    let bank = verify(&leaf(&["bank.example"]), "bank.example").unwrap_err();
    assert!(bank.to_string().to_lowercase().contains("name"), "{bank}");
    assert!(verify(&leaf(&["8.8.8.8"]), "8.8.8.8").is_err());
}

/// Runs the binary until it exits (killing it after `WAIT`); returns its
/// exit code and stderr.
fn run_to_exit(args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("lanchat {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

/// Asserts lanchat refused to start with exactly one line saying `says`.
fn assert_refused(args: &[&str], cwd: &Path, says: &str) {
    let mut all = vec!["--port", "0", "--bind", "127.0.0.1", "--no-qr"];
    all.extend_from_slice(args);
    let (code, stderr) = run_to_exit(&all, cwd);
    assert_eq!(code, Some(1), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line for {args:?}: {stderr}");
    assert!(lines[0].starts_with("lanchat: "), "{stderr}");
    assert!(
        lines[0].contains(says),
        "{args:?} should say {says:?}: {stderr}"
    );
}

/// A certificate and key signed by a CA of the test's, for `names`, valid
/// from `from` to `until` days from now.
fn own_pair(
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    from: i64,
    until: i64,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from);
    params.not_after = now + time::Duration::days(until);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn test_ca() -> (CertificateDer<'static>, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "an organisation's CA");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.der().clone(), Issuer::new(params, key))
}

/// A brought certificate (an organisation's CA) is served, and read again;
/// nothing is offered to install: the plain port sends everything to HTTPS.
#[test]
fn a_brought_certificate_is_served_and_the_plain_port_only_redirects() {
    let dir = tempfile::tempdir().unwrap();
    let (org_ca, issuer) = test_ca();
    let (cert, key) = own_pair(&issuer, &["chat.example.org", "127.0.0.1"], -1, 90);
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let server = start_tls(
        dir.path(),
        &["--tls-cert", "cert.pem", "--tls-key", "key.pem"],
    );
    assert!(server.url.starts_with("https://"));
    assert!(!server.banner.contains("CA:"), "{}", server.banner);
    assert!(
        !dir.path().join("lanchat-ca.pem").exists(),
        "no local CA is made"
    );
    runtime().block_on(async {
        let mut ana = wss_connect(&server, "ana", std::slice::from_ref(&org_ca))
            .await
            .expect("wss");
        ana.recv_type("welcome").await;
    });
    let plain = server.trust_addr.expect("a Plain: line");
    for path in ["/", "/ca.crt", "/api/trust"] {
        assert_eq!(http_get(plain, path).status, 307, "{path}");
    }
}

/// Each bad certificate or key: one line saying what is wrong, exit 1.
#[test]
fn bad_certificates_and_keys_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (_, issuer) = test_ca();
    let (good_cert, good_key) = own_pair(&issuer, &["127.0.0.1"], -1, 90);
    let (_, other_key) = own_pair(&issuer, &["127.0.0.1"], -1, 90);
    let (expired, expired_key) = own_pair(&issuer, &["127.0.0.1"], -400, -10);
    let (early, early_key) = own_pair(&issuer, &["127.0.0.1"], 10, 90);
    for (name, text) in [
        ("good.pem", good_cert.as_str()),
        ("good.key", good_key.as_str()),
        ("other.key", other_key.as_str()),
        ("expired.pem", expired.as_str()),
        ("expired.key", expired_key.as_str()),
        ("early.pem", early.as_str()),
        ("early.key", early_key.as_str()),
        ("garbage.pem", "hello"),
    ] {
        std::fs::write(at(name), text).unwrap();
    }
    let cases = [
        ("missing.pem", "good.key", "cannot read --tls-cert"),
        ("good.pem", "missing.key", "cannot read --tls-key"),
        ("garbage.pem", "good.key", "holds no PEM certificate"),
        ("good.pem", "garbage.pem", "holds no PEM private key"),
        ("good.pem", "other.key", "is not the key of --tls-cert"),
        ("expired.pem", "expired.key", "expired on"),
        ("early.pem", "early.key", "is not valid until"),
    ];
    for (cert, key, says) in cases {
        assert_refused(
            &["--memory", "--tls-cert", &at(cert), "--tls-key", &at(key)],
            dir.path(),
            says,
        );
    }
}

/// A CA file in the folder that is not lanchat's, or half of a pair, is
/// refused and never overwritten; a CA key others can read is refused with
/// the chmod that fixes it.
#[test]
fn a_ca_that_is_not_ours_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanchat.db");
    let db = db.to_str().unwrap();
    let cert_path = dir.path().join("lanchat-ca.pem");
    let key_path = dir.path().join("lanchat-ca.key");
    let private = |path: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };

    // Someone else's CA, with its key.
    let (other_ca, issuer) = test_ca();
    let other_pem = common::tls::to_pem(&other_ca);
    std::fs::write(&cert_path, &other_pem).unwrap();
    std::fs::write(&key_path, issuer.key().serialize_pem()).unwrap();
    private(&key_path);
    assert_refused(&["--tls", "--db", db], dir.path(), "is not lanchat's CA");
    assert_eq!(
        std::fs::read_to_string(&cert_path).unwrap(),
        other_pem,
        "left alone"
    );

    // Not a certificate at all.
    std::fs::write(&cert_path, "my notes").unwrap();
    assert_refused(&["--tls", "--db", db], dir.path(), "is not lanchat's CA");
    assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), "my notes");

    // Half a pair.
    std::fs::remove_file(&key_path).unwrap();
    assert_refused(&["--tls", "--db", db], dir.path(), "without its key");
    assert!(!key_path.exists(), "no key is made beside a certificate");
    std::fs::remove_file(&cert_path).unwrap();

    // Our own CA, once its key is readable by others.
    drop(start_tls(dir.path(), &[]));
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
        0o600,
        "the key is made 0600"
    );
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_refused(
        &["--tls", "--db", db],
        dir.path(),
        &format!("chmod 600 {}", key_path.display()),
    );
    private(&key_path);
    drop(start_tls(dir.path(), &[]));
}

/// `lanchat trust` prints the trust page's address, the fingerprint and a
/// QR code again, and says so when no lanchat with that CA answers there.
#[test]
fn lanchat_trust_prints_the_trust_page_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls(dir.path(), &[]);
    let trust = server.trust_addr.unwrap();
    let ca = fetch_ca(&server);
    let db = dir.path().join("lanchat.db");
    let run = || {
        let output = Command::new(binary())
            .args(["--db", db.to_str().unwrap(), "--bind", "127.0.0.1"])
            .args(["--port", &trust.port().to_string(), "trust"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let printed = run();
    assert!(
        printed.contains(&format!("Trust: http://127.0.0.1:{}/", trust.port())),
        "{printed}"
    );
    assert!(printed.contains(&fingerprint(&ca)), "{printed}");
    assert!(printed.contains('█'), "a QR code: {printed}");
    assert!(!printed.contains("Note:"), "{printed}");
    drop(server);
    assert!(run().contains("Note:  no lanchat with this CA answers"));
}

/// Without --tls the banner says, in one line, how to turn it on.
#[test]
fn the_plain_banner_says_how_to_turn_tls_on() {
    let server = Server::start();
    let lines: Vec<&str> = server
        .banner
        .lines()
        .filter(|l| l.contains("--tls"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", server.banner);
    assert!(server.trust_addr.is_none());
}

/// A machine whose addresses changed gets a certificate for the new set at
/// its next start, from the same CA: lanchat runs on one host of a LAN of
/// two network namespaces (`common/netns.rs`), the other host checks the
/// certificate, and an address is added between two starts.
#[test]
fn a_new_address_gets_a_new_certificate_at_the_next_start() {
    let Some(lan) = Lan::create("a_new_address_gets_a_new_certificate_at_the_next_start") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanchat.db");
    let start = || {
        let mut command = lan.b.command(binary());
        command
            .args(["--tls", "--port", "0", "--no-qr", "--no-mdns", "--db"])
            .arg(&db)
            .current_dir(dir.path());
        Server::launch(command, dir.path())
    };
    let server_ip = IpAddr::V4(lan.b.addr);
    let added = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 20));
    // The certificate the server on host b shows to host a, asked for `name`.
    let certificate = |port: u16, name: IpAddr, ca: &CertificateDer<'static>| {
        lan.a.run(|| {
            runtime().block_on(server_certificate(
                SocketAddr::new(name, port),
                &name.to_string(),
                std::slice::from_ref(ca),
            ))
        })
    };

    let mut server = start();
    let ca =
        CertificateDer::from_pem_slice(&std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap())
            .unwrap();
    let first = certificate(server.addr.port(), server_ip, &ca);
    let (ips, _) = sans(&first);
    assert!(ips.contains(&server_ip), "{ips:?}");
    assert!(!ips.contains(&added));
    assert!(server.terminate().success());

    lan.b.add_address(&format!("{added}/24"));
    let server = start();
    let second = certificate(server.addr.port(), added, &ca);
    let (ips, _) = sans(&second);
    assert!(ips.contains(&server_ip) && ips.contains(&added), "{ips:?}");
    assert_eq!(
        CertificateDer::from_pem_slice(&std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap())
            .unwrap(),
        ca,
        "the same CA"
    );
}

/// The URLs a banner offers to other devices: its Network and Name lines,
/// the trust page (which sends on to HTTPS at the same host), and what the
/// QR code carries.
fn offered_urls(banner: &str) -> Vec<String> {
    banner
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = ["Network:", "Name:", "Trust:"]
                .iter()
                .find_map(|label| line.strip_prefix(label))
                .or_else(|| {
                    let scan = line.strip_prefix("Scan on a phone to ")?;
                    scan.split_once(": ").map(|(_, url)| url)
                })?;
            let url = rest.split_whitespace().next()?;
            url.contains("://").then(|| url.to_owned())
        })
        .collect()
}

/// A URL's host, without brackets.
fn url_host(url: &str) -> &str {
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    let host = authority.rsplit_once(':').unwrap().0;
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The banner offers only URLs the certificate covers, and the QR code
/// carries one of them: on a LAN host that also has a public address (the
/// local CA vouches only for private ones), and with a brought certificate
/// that names one of the host's two private addresses and a domain. Each
/// offered URL passes a handshake from the other host that trusts the CA
/// and asks for the URL's host; what is left out is named in the note.
#[test]
fn the_banner_offers_only_what_the_certificate_covers() {
    let Some(lan) = Lan::create("the_banner_offers_only_what_the_certificate_covers") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lanchat.db");
    let start = |extra: &[&str]| {
        let mut command = lan.b.command(binary());
        command
            .args(["--tls", "--port", "0", "--no-mdns", "--db"])
            .arg(&db)
            .args(extra)
            .current_dir(dir.path());
        Server::launch(command, dir.path())
    };
    // Whether host a, trusting `root`, gets through a handshake with the
    // server on host b when it asks for `host`, as a browser would.
    let handshake = |port: u16, host: &str, root: &CertificateDer<'static>| {
        lan.a.run(|| {
            runtime()
                .block_on(connect(
                    SocketAddr::new(IpAddr::V4(lan.b.addr), port),
                    host,
                    client_config(std::slice::from_ref(root)),
                ))
                .map(drop)
        })
    };
    let public = "198.51.100.7";
    lan.b.add_address(&format!("{public}/24"));

    let server = start(&[]);
    let ca =
        CertificateDer::from_pem_slice(&std::fs::read(dir.path().join("lanchat-ca.pem")).unwrap())
            .unwrap();
    let port = server.addr.port();
    let offered = offered_urls(&server.banner);
    let network = format!("https://{}:{port}/", lan.b.addr);
    assert!(offered.contains(&network), "{}", server.banner);
    assert!(
        offered
            .iter()
            .any(|url| url.starts_with("http://10.77.0.2:")),
        "the QR code carries the trust page: {}",
        server.banner
    );
    for url in &offered {
        let host = url_host(url);
        assert!(
            handshake(port, host, &ca).is_ok(),
            "{url} is offered but the certificate does not cover {host}:\n{}",
            server.banner
        );
    }
    assert!(!offered.iter().any(|url| url.contains(public)));
    let note = server.banner.lines().find(|line| line.contains(public));
    assert!(
        note.is_some_and(|line| line.trim().starts_with("Note:")),
        "the note names what is left out: {}",
        server.banner
    );
    drop(server);

    let (org_ca, issuer) = test_ca();
    let (cert, key) = own_pair(
        &issuer,
        &["10.77.0.20", "chat.example.org", "*.example.net"],
        -1,
        90,
    );
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    lan.b.add_address("10.77.0.20/24");
    let server = start(&["--tls-cert", "cert.pem", "--tls-key", "key.pem"]);
    let port = server.addr.port();
    let offered = offered_urls(&server.banner);
    let covered = format!("https://10.77.0.20:{port}/");
    assert_eq!(
        offered,
        [
            covered.clone(),
            format!("https://chat.example.org:{port}/"),
            covered
        ],
        "{}",
        server.banner
    );
    for url in &offered {
        assert!(handshake(port, url_host(url), &org_ca).is_ok(), "{url}");
    }
    assert!(
        handshake(port, &lan.b.addr.to_string(), &org_ca).is_err(),
        "the address left out is indeed not covered"
    );
    let local = server.banner.lines().find(|line| line.contains("Local:"));
    assert!(
        local.is_some_and(|line| line.contains("not in the certificate")),
        "{}",
        server.banner
    );
    let note = server.banner.lines().find(|line| line.contains(public));
    assert!(
        note.is_some_and(|line| line.contains(&lan.b.addr.to_string())),
        "{}",
        server.banner
    );
}
