//! Hostile networks: every limit holds, intruders stay out, bad input gets a
//! clear answer, and through it all a healthy client is still served.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::raw::{CONTINUATION, PING, RawSocket, TEXT, masked_frame};
use common::tmpfs::Tmpfs;
use common::{Client, Server, process_usage, wait_until};
use serde_json::{Value, json};

/// Asserts a fresh client can still join and chat.
async fn still_serves(server: &Server) {
    let (mut probe, _, _) = Client::join(server, "probe").await;
    probe.say("still alive?", "probe").await;
    assert_eq!(probe.recv_type("message").await["message"], "still alive?");
}

/// Bad frames at the WebSocket layer: each row sends bytes and expects a
/// close code; afterwards the server still serves a healthy client.
#[tokio::test]
async fn bad_frames_close_with_the_right_code() {
    let server = Server::start();
    let big = vec![b'a'; 70 * 1024];
    let fragment = vec![b'b'; 30 * 1024];
    let mut fragmented = masked_frame(TEXT, false, &fragment);
    fragmented.extend(masked_frame(CONTINUATION, false, &fragment));
    fragmented.extend(masked_frame(CONTINUATION, true, &fragment));
    let rows: Vec<(&str, Vec<u8>, u16)> = vec![
        ("oversized frame", masked_frame(TEXT, true, &big), 1009),
        ("fragmented, oversized in total", fragmented, 1009),
        (
            "invalid UTF-8 text",
            masked_frame(TEXT, true, &[0x66, 0xFF, 0xFE]),
            1007,
        ),
        ("126-byte ping", masked_frame(PING, true, &[0u8; 126]), 1002),
        ("unmasked frame", vec![0x81, 0x02, b'h', b'i'], 1002),
    ];
    for (what, bytes, code) in rows {
        let mut socket = RawSocket::join(server.addr, "mallory");
        socket.write(&bytes).unwrap();
        assert_eq!(socket.close_code(), Some(code), "{what}");
    }
    still_serves(&server).await;
}

/// An oversized frame is refused from its header, before its body arrives:
/// the server closes while we are still sending.
#[tokio::test]
async fn oversized_frame_is_refused_without_buffering_it() {
    let server = Server::start();
    let mut socket = RawSocket::join(server.addr, "mallory");
    // Announce a 1 GiB frame and send only its header.
    let mut head = vec![0x81, 0x80 | 127];
    head.extend_from_slice(&(1u64 << 30).to_be_bytes());
    head.extend_from_slice(&[0, 0, 0, 0]);
    socket.write(&head).unwrap();
    assert_eq!(socket.close_code(), Some(1009));
    still_serves(&server).await;
}

/// Bad input at the chat layer: each row's frame gets its error code and the
/// connection stays usable; bad usernames are refused.
#[tokio::test]
async fn bad_input_table() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    let rows: Vec<(&str, Value, &str)> = vec![
        (
            "unknown type",
            json!({"type":"shout","message":"x"}),
            "bad_request",
        ),
        (
            "wrong field type",
            json!({"type":"message","message":["x"]}),
            "bad_request",
        ),
        ("missing field", json!({"type":"rename"}), "bad_request"),
        (
            "too long",
            json!({"type":"message","message":"x".repeat(4001)}),
            "too_long",
        ),
        (
            "only spaces",
            json!({"type":"message","message":"\u{3000} \t"}),
            "empty",
        ),
        (
            "rename to system",
            json!({"type":"rename","username":"System"}),
            "invalid_username",
        ),
        (
            "rename to zero-width",
            json!({"type":"rename","username":"a\u{200B}"}),
            "invalid_username",
        ),
    ];
    for (what, frame, code) in rows {
        alice.send_json(frame).await;
        let error = alice.recv_type("error").await;
        assert_eq!(error["code"], code, "{what}");
    }
    alice.say("after all that", "fine").await;
    assert_eq!(
        alice.recv_type("message").await["message"],
        "after all that"
    );

    let long_name = "n".repeat(10_000);
    let names: Vec<(&str, &str, Option<&str>)> = vec![
        ("empty after trim", "%20%09", None),
        ("NUL", "%00", None),
        ("path", "..%2f", None),
        ("zero-width", "%E2%80%8B", None),
        ("RTL override", "abc%E2%80%AEgpj.exe", None),
        ("reserved", "sYsTeM", None),
        ("10,000 characters", long_name.as_str(), None),
        // Markup is just characters: accepted and echoed verbatim, never run.
        (
            "HTML",
            "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
            Some("<img src=x onerror=alert(1)>"),
        ),
    ];
    for (what, raw, accepted) in names {
        let mut client = Client::connect(&server, raw).await;
        let first = client.recv().await;
        match accepted {
            Some(name) => assert_eq!(first["username"], name, "{what}"),
            None => {
                assert_eq!(first["code"], "invalid_username", "{what}");
                let close = client.expect_close().await.expect("close frame");
                assert_eq!(u16::from(close.code), 1008, "{what}");
            }
        }
    }
    still_serves(&server).await;
}

/// Past the rate, messages get rate_limited with their cid and are neither
/// stored nor broadcast; reconnecting does not reset the bucket; a flood is
/// closed with 1008.
#[tokio::test]
async fn rate_limit_per_user_survives_reconnects() {
    let server = Server::start_with(&["--rate-limit", "5", "--rate-burst", "10"]);
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    for i in 0..15 {
        alice.say(&format!("burst {i}"), &format!("b{i}")).await;
    }
    let (mut acked, mut limited) = (0, Vec::new());
    while acked + limited.len() < 15 {
        let frame = alice.recv().await;
        match frame["type"].as_str() {
            Some("message") => acked += 1,
            Some("error") => {
                assert_eq!(frame["code"], "rate_limited");
                limited.push(frame["cid"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    assert!((10..=11).contains(&acked), "{acked} allowed");
    assert!(limited.contains(&"b14".to_owned()));

    drop(alice);
    let (mut alice, _, history) = Client::join(&server, "alice").await;
    let stored = history["messages"].as_array().unwrap().len();
    assert_eq!(stored, acked, "refused messages were not stored");
    alice.say("again", "again").await;
    assert_eq!(
        alice.recv_type("error").await["code"],
        "rate_limited",
        "no fresh bucket"
    );

    // Each acknowledged message reached the watcher's queue before its
    // sender's copy was written, so all of them are queued by now.
    let heard = watcher.caught_up().await;
    let broadcast = heard.iter().filter(|f| f["type"] == "message").count();
    assert_eq!(broadcast, acked, "refused messages were not broadcast");

    for i in 0..40 {
        alice.say("flood", &format!("f{i}")).await;
    }
    let close = alice.expect_close().await.expect("close frame");
    assert_eq!(u16::from(close.code), 1008);
    still_serves(&server).await;
}

/// Connection caps refuse before the upgrade with 429 per address and 503 in
/// total, with a reason, and free their places when connections close.
#[tokio::test]
async fn connection_caps_refuse_before_upgrade() {
    let server = Server::start_with(&["--max-connections", "3", "--max-connections-per-ip", "2"]);
    let first = Client::connect(&server, "a").await;
    let _second = Client::connect(&server, "b").await;
    let (head, mut socket) = RawSocket::upgrade(server.addr, "/ws/c", &[]);
    assert_eq!(head.status, 429);
    let mut body = String::new();
    let _ = socket.stream.read_to_string(&mut body);
    assert!(body.contains("too many connections"), "{body}");

    // Another loopback address is another client.
    let other = connect_from("127.0.0.2", server.addr);
    let (status, _, _open) = upgrade_on(other, server.addr, "/ws/d");
    assert_eq!(status, 101);
    let third = connect_from("127.0.0.3", server.addr);
    let (status, body, _) = upgrade_on(third, server.addr, "/ws/e");
    assert_eq!(status, 503);
    assert!(body.contains("server is full"), "{body}");

    drop(first);
    wait_until("a place frees up", || {
        let (status, _, _) =
            upgrade_on(connect_from("127.0.0.4", server.addr), server.addr, "/ws/f");
        status == 101
    });
}

fn connect_from(source: &str, to: std::net::SocketAddr) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let source: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&source.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(common::WAIT)).unwrap();
    stream
}

/// A handshake on an existing stream; returns status, the body of a refusal
/// and the stream (kept open for a 101).
fn upgrade_on(
    stream: std::net::TcpStream,
    addr: std::net::SocketAddr,
    path: &str,
) -> (u16, String, std::net::TcpStream) {
    let (head, mut socket) = RawSocket::upgrade_on(stream, addr, path, &[]);
    let mut body = String::new();
    if head.status != 101 {
        let _ = socket.stream.read_to_string(&mut body);
    }
    (head.status, body, socket.stream)
}

/// A client that stops reading is closed within seconds by the write
/// timeout, while the sender and everyone else carry on.
#[tokio::test]
async fn stalled_reader_is_closed_by_the_write_timeout() {
    let server = Server::start_with(&[
        "--write-timeout",
        "1",
        "--max-backlog-bytes",
        "1000000000",
        "--max-backlog-frames",
        "1000000",
        "--history",
        "0",
    ]);
    let (mut sender, _, _) = Client::join(&server, "sender").await;
    let stalled = Client::join(&server, "stalled").await;
    let big = "s".repeat(3900);
    let started = Instant::now();
    let mut i = 0;
    let mut slowest = Duration::ZERO;
    loop {
        let sent = Instant::now();
        sender.say(&big, &format!("s{i}")).await;
        sender.recv_type("message").await;
        slowest = slowest.max(sent.elapsed());
        i += 1;
        if i % 50 == 0 && server.get("/healthz").json()["connections"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stalled client never cut off"
        );
    }
    assert!(
        slowest < Duration::from_secs(1),
        "the sender stalled for {slowest:?}"
    );
    drop(stalled);
}

/// A connection that goes silent (no pongs) is closed after the idle
/// timeout, and its leave is broadcast exactly once.
#[tokio::test]
async fn half_open_connection_is_closed_and_leaves_once() {
    let server = Server::start_with(&["--ping-interval", "1", "--idle-timeout", "3"]);
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    // Never reads, so never answers a ping.
    let (_ghost, _, _) = Client::join(&server, "ghost").await;
    assert_eq!(watcher.recv_type("join").await["username"], "ghost");
    let started = Instant::now();
    let leave = watcher.recv_type("leave").await;
    assert_eq!(leave["username"], "ghost");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "closed too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(7),
        "closed too late: {waited:?}"
    );
    // The watcher answers pings (it reads), so it stays; no second leave.
    let mut leaves = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(frame) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        watcher.recv(),
    )
    .await
    {
        leaves += usize::from(frame["type"] == "leave");
    }
    assert_eq!(leaves, 0);
}

/// Requests whose headers never finish are dropped after the header timeout.
#[test]
fn slow_http_headers_are_dropped() {
    let server = Server::start_with(&["--header-timeout", "1"]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: slow").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "held for {waited:?}");
    let text = String::from_utf8_lossy(&rest);
    assert!(!text.contains("200 OK"), "{text}");
    assert_eq!(server.get("/healthz").status, 200);
}

/// Origin check: same-origin and non-browser clients get in; other sites,
/// look-alikes, `null`, other ports and schemes get 403; --allow-origin adds.
#[test]
fn cross_site_websockets_are_refused() {
    let server = Server::start_with(&["--allow-origin", "https://chat.example.org"]);
    let port = server.addr.port();
    let same = format!("http://127.0.0.1:{port}");
    let lookalike = format!("http://127.0.0.1.evil.example:{port}");
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let wrong_scheme = format!("ftp://127.0.0.1:{port}");
    let https_same = format!("https://127.0.0.1:{port}");
    let rows: Vec<(Option<&str>, u16)> = vec![
        (None, 101),
        (Some(same.as_str()), 101),
        (Some("https://chat.example.org"), 101),
        (Some("http://evil.example"), 403),
        (Some(lookalike.as_str()), 403),
        (Some("null"), 403),
        (Some(other_port.as_str()), 403),
        (Some(wrong_scheme.as_str()), 403),
        (Some(https_same.as_str()), 101),
        (Some("http://chat.example.org"), 403),
    ];
    for (origin, expected) in rows {
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("Origin", *o)).collect();
        let (head, _) = RawSocket::upgrade(server.addr, "/ws/visitor", &headers);
        assert_eq!(head.status, expected, "origin {origin:?}");
    }
}

/// With an access key, the WebSocket and the API refuse without it; the page
/// itself loads (to ask for the key); the printed URL carries it in the
/// fragment.
#[test]
fn access_key_guards_websocket_and_api() {
    let server = Server::start_with(&["--password", "s3cret key"]);
    let local = server
        .banner
        .lines()
        .find(|l| l.contains("Local:"))
        .unwrap();
    assert!(local.ends_with("/#key=s3cret%20key"), "{local}");

    assert_eq!(server.get("/").status, 200);
    assert_eq!(server.get("/healthz").status, 401);
    assert_eq!(server.get("/api/access").status, 401);
    let with_bearer = |path: &str, key: &str| {
        common::http_request(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"),
        )
        .status
    };
    assert_eq!(with_bearer("/api/access", "s3cret key"), 204);
    assert_eq!(with_bearer("/api/access", "s3cret kez"), 401);
    assert_eq!(with_bearer("/healthz", "s3cret key"), 200);

    let (head, _) = RawSocket::upgrade(server.addr, "/ws/alice", &[]);
    assert_eq!(head.status, 401);
    let (head, _) = RawSocket::upgrade(
        server.addr,
        "/ws/alice",
        &[("Sec-WebSocket-Protocol", "lanchat, key.00")],
    );
    assert_eq!(head.status, 401);
    let hex: String = "s3cret key".bytes().map(|b| format!("{b:02x}")).collect();
    let offered = format!("lanchat, key.{hex}");
    let (head, _) = RawSocket::upgrade(
        server.addr,
        "/ws/alice",
        &[("Sec-WebSocket-Protocol", &offered)],
    );
    assert_eq!(head.status, 101);
    assert_eq!(
        head.header("sec-websocket-protocol"),
        Some("lanchat"),
        "selects our protocol, never echoes the key"
    );
}

/// Many connections with one name at once: one join, listed once; a rename
/// race has one winner.
#[tokio::test]
async fn duplicate_name_races() {
    let server = Server::start_with(&["--max-connections-per-ip", "0"]);
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    let joins = (0..40).map(|_| Client::join(&server, "twin"));
    let tabs = futures_util::future::join_all(joins).await;
    // Every tab was welcomed, so every join it caused is queued by now.
    let heard = watcher.caught_up().await;
    let seen_joins = heard.iter().filter(|f| f["type"] == "join").count();
    assert_eq!(seen_joins, 1, "{heard:?}");
    assert_eq!(server.get("/healthz").json()["users"], 2);

    let (mut a, _, _) = Client::join(&server, "racer-a").await;
    let (mut b, _, _) = Client::join(&server, "racer-b").await;
    let rename = json!({"type":"rename","username":"winner"});
    futures_util::join!(a.send_json(rename.clone()), b.send_json(rename));
    let mut outcomes = Vec::new();
    for (client, me) in [(&mut a, "racer-a"), (&mut b, "racer-b")] {
        loop {
            let frame = client.recv().await;
            if frame["type"] == "error" {
                outcomes.push(frame["code"].as_str().unwrap().to_owned());
                break;
            }
            if frame["type"] == "rename" && frame["to"] == "winner" && frame["from"] == me {
                outcomes.push("won".to_owned());
                break;
            }
        }
    }
    outcomes.sort();
    assert_eq!(outcomes, ["name_taken", "won"]);
    drop(tabs);
}

/// Thousands of connections opened and dropped (some mid-frame) leave the
/// counts, open files and memory back near where they started, with each
/// leave announced once.
#[tokio::test]
async fn churn_returns_to_baseline() {
    let server = Server::start_with(&["--max-connections-per-ip", "0"]);
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    still_serves(&server).await;
    watcher.recv_type("leave").await; // the probe's
    let (rss_before, fds_before) = process_usage(server.pid());

    for round in 0..10 {
        let batch = (0..200)
            .map(|i| Client::connect(&server, if i % 2 == 0 { "churn-a" } else { "churn-b" }));
        let clients = futures_util::future::join_all(batch).await;
        drop(clients);
        // Some leave mid-frame: half a header, then gone.
        for _ in 0..20 {
            let mut socket = RawSocket::join(server.addr, &format!("abrupt{round}"));
            socket
                .write(&masked_frame(TEXT, true, b"{\"type\":\"message\"")[..9])
                .unwrap();
        }
    }
    wait_until("every churned connection is gone", || {
        let health = server.get("/healthz").json();
        health["connections"] == 1 && health["users"] == 1
    });
    // Replaying what the watcher heard must give the truth: nobody left
    // online, no join for someone already online, no leave for someone
    // not. (In a storm the server sends `presence` frames instead of one
    // join or leave each.)
    // Held presence goes out when its window ends, so the watcher asks
    // until its view settles, failing after WAIT.
    let mut online = std::collections::HashSet::<String>::new();
    let mut events = 0;
    let deadline = Instant::now() + common::WAIT;
    loop {
        for frame in watcher.caught_up().await {
            let name = frame["username"].as_str().unwrap_or_default().to_owned();
            let names = |key: &str| -> Vec<String> {
                frame[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            match frame["type"].as_str() {
                Some("join") => assert!(online.insert(name.clone()), "{name} joined twice"),
                Some("leave") => assert!(online.remove(&name), "{name} left twice"),
                Some("presence") => {
                    online.extend(names("joined"));
                    for gone in names("left") {
                        online.remove(&gone);
                    }
                }
                _ => continue,
            }
            events += 1;
        }
        if events > 0 && online.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {events} events, still shown online: {online:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (rss_after, fds_after) = process_usage(server.pid());
    assert!(
        fds_after <= fds_before + 4,
        "open files {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after < rss_before + 32 * 1024,
        "RSS {rss_before} KiB -> {rss_after} KiB"
    );
    still_serves(&server).await;
}

/// Filling the disk under the history file: senders get `unavailable`,
/// nothing acknowledged is lost, and sending works again once space returns.
#[tokio::test]
async fn full_disk_gives_unavailable_and_recovers() {
    let Some(mount) = Tmpfs::mount("4m", "full_disk_gives_unavailable_and_recovers") else {
        return;
    };
    let db = mount.path.join("chat.db");
    let server = Server::start_on_db(&db, &[]);
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    alice.say("before the disk fills", "before").await;
    alice.recv_type("message").await;

    let filler = mount.fill();

    let mut acked = vec!["before".to_owned()];
    let mut unavailable = 0;
    for i in 0..200 {
        let cid = format!("full-{i}");
        alice.say(&"payload ".repeat(400), &cid).await;
        let reply = alice.recv().await;
        match reply["type"].as_str() {
            Some("message") => acked.push(cid),
            Some("error") => {
                assert_eq!(reply["code"], "unavailable");
                assert_eq!(reply["cid"], cid.as_str());
                unavailable += 1;
                if unavailable >= 3 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(unavailable >= 3, "the disk never filled");

    drop(filler);
    let mut recovered = false;
    for i in 0..20 {
        let cid = format!("after-{i}");
        alice.say("space is back", &cid).await;
        if alice.recv().await["type"] == "message" {
            acked.push(cid);
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "sending never worked again");

    let (_, _, history) = Client::join(&server, "bob").await;
    let stored: Vec<String> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["cid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, acked, "exactly the acknowledged messages, in order");
    drop(server);
    drop(alice);
    // Checked by the file itself after the server is gone.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
