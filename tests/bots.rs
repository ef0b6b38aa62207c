//! Bots and scripts on the LAN against the real binary: the host makes a
//! bot (its token shown once); a curl-style client posts with it
//! (`POST /api/rooms/<room>/messages`), is refused without it, with a
//! revoked one, and in a room it was not given; a replay with the same
//! `Idempotency-Key` stores once; the host's room rules and a person's rate
//! hold; it reads with a long poll; and `lanchat send` does the same from a
//! shell, over HTTPS too. On PostgreSQL too (`LANCHAT_TEST_BACKEND`).

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::host::{self, act};
use common::owner::Owner;
use common::{Client, HttpResponse, Server, http_send};
use serde_json::{Value, json};

/// A request to the bot API, the way `curl` makes one.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    http_send(server.addr, &head, body.as_bytes())
}

/// `curl -H "Authorization: Bearer $TOKEN" --data-binary "$text" .../api/rooms/<room>/messages`
/// (curl's default type, a form's, is taken as the text too).
fn post(server: &Server, token: &str, room: &str, text: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    request(
        server,
        "POST",
        &format!("/api/rooms/{room}/messages"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        text,
    )
}

/// The refusal's status and stable code, checking it says why in words.
fn refusal(answer: &HttpResponse) -> (u16, String) {
    let body = answer.json();
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    (answer.status, body["error"].as_str().unwrap().to_owned())
}

/// The host makes bot `name` for `rooms`; returns its token and id.
async fn make_bot(host: &mut Client, name: &str, rooms: Value) -> (String, String) {
    host.send_json(host::action(
        Some(host::SECRET),
        json!({"action":"create_bot","name":name,"rooms":rooms}),
    ))
    .await;
    let made = host.recv_type("bot_token").await;
    assert_eq!(made["name"], name);
    let token = made["token"].as_str().unwrap().to_owned();
    (token, made["id"].as_str().unwrap().to_owned())
}

/// How many messages of `room`'s history (as a new page reads it) say
/// `text`.
async fn stored(server: &Server, room: &str, text: &str) -> usize {
    static READERS: AtomicUsize = AtomicUsize::new(0);
    let name = format!("auditor{}", READERS.fetch_add(1, Ordering::Relaxed));
    let mut reader = Owner::claim(server, &name).await;
    if room != "lobby" {
        reader.send(json!({"type":"join_room","room":room})).await;
        reader.client.recv_type("room").await;
    }
    reader
        .send(json!({"type":"history","room":room,"after":0,"limit":200}))
        .await;
    let history = reader.client.recv_type("history").await;
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message"] == text)
        .count()
}

/// A bot posts with its token: 201 with the stored message's id and seq;
/// the room hears it marked as a bot's, rendered from markdown; JSON works
/// too, and a replay of its Idempotency-Key stores once; no token, a wrong
/// one, a room it was not given, a room that is not there, a bad, empty or
/// too long message are refused with a code and words; the host sees the
/// bot (never its token); a person cannot take its name; once revoked, its
/// token stops at once.
#[tokio::test]
async fn a_bot_posts_with_its_token_and_only_there() {
    let server = host::start(&["--max-message-chars", "500"]);
    let mut ana = Owner::claim(&server, "ana").await;
    let view = act(&mut ana.client, json!({"action":"hello"})).await;
    assert_eq!(view["bots"], json!([]));
    ana.send(json!({"type":"create_room","room":"projects"}))
        .await;
    ana.client.recv_type("room").await;
    let (token, id) = make_bot(&mut ana.client, "buildbot", json!(["lobby"])).await;
    assert!(token.len() >= 40, "a long random token: {token}");
    let view = ana.client.recv_type("host_state").await;
    assert_eq!(
        view["bots"],
        json!([{"id":id,"name":"buildbot","rooms":["lobby"]}])
    );
    assert!(!view.to_string().contains(&token), "never the token again");
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;

    let posted = post(&server, &token, "lobby", "build **#42** passed");
    assert_eq!(posted.status, 201, "{}", posted.text());
    let answer = posted.json();
    assert_eq!(answer["room"], "lobby");
    let heard = watcher.recv_type("message").await;
    assert_eq!(heard["seq"], answer["seq"]);
    assert_eq!(heard["id"], answer["id"]);
    assert_eq!(heard["username"], "buildbot");
    assert_eq!(heard["bot"], true);
    assert!(
        heard["html"]
            .as_str()
            .unwrap()
            .contains("<strong>#42</strong>"),
        "{heard}"
    );
    let person = ana.say_in("lobby", "thanks").await;
    assert!(person.get("bot").is_none(), "a person's is not a bot's");

    // JSON, and a replay of its key, stored once.
    let auth = format!("Bearer {token}");
    let json_post = |key: &str| {
        request(
            &server,
            "POST",
            "/api/rooms/lobby/messages",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json; charset=utf-8"),
                ("Idempotency-Key", key),
            ],
            r#"{"text":"deploy started"}"#,
        )
    };
    let first = json_post("deploy-7");
    let again = json_post("deploy-7");
    assert_eq!((first.status, again.status), (201, 201), "{}", again.text());
    assert_eq!(first.json()["seq"], again.json()["seq"]);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(stored(&server, "lobby", "deploy started").await, 1);
    let other = json_post("deploy-8");
    assert_ne!(other.json()["seq"], first.json()["seq"], "a new key is new");

    // Refusals: a status, a stable code and words.
    let wrong_json = request(
        &server,
        "POST",
        "/api/rooms/lobby/messages",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"message":"the wrong field"}"#,
    );
    let cases = [
        (post(&server, "", "lobby", "hi"), 401, "unauthorized"),
        (
            post(&server, "not-a-token", "lobby", "hi"),
            401,
            "unauthorized",
        ),
        (post(&server, &token, "projects", "hi"), 403, "forbidden"),
        (post(&server, &token, "nowhere", "hi"), 404, "not_found"),
        (post(&server, &token, "lobby", "   "), 400, "empty"),
        (
            post(&server, &token, "lobby", &"x".repeat(501)),
            413,
            "too_long",
        ),
        (wrong_json, 400, "bad_request"),
    ];
    for (answer, status, code) in cases {
        assert_eq!(
            refusal(&answer),
            (status, code.to_owned()),
            "{}",
            answer.text()
        );
    }
    let unauthorized = post(&server, "", "lobby", "hi");
    assert!(unauthorized.header("www-authenticate").is_some());
    let (mut posing, first) = common::owner::first_frame(&server, "BuildBot", &[]).await;
    assert_eq!(
        first["code"], "name_taken",
        "a person cannot take a bot's name"
    );
    posing.expect_close().await;
    let taken = host::refused(
        &mut ana.client,
        json!({"action":"create_bot","name":"ana","rooms":["lobby"]}),
    )
    .await;
    assert_eq!(taken["code"], "name_taken", "nor a bot a person's");

    // Revoked: its token stops at once.
    act(&mut ana.client, json!({"action":"revoke_bot","bot":id})).await;
    let revoked = post(&server, &token, "lobby", "still here?");
    assert_eq!(refusal(&revoked), (401, "unauthorized".to_owned()));
    assert_eq!(stored(&server, "lobby", "still here?").await, 0);
}

/// Bots are given the lobby and public rooms only: a private room is not
/// there for them (the host's token must not read its members' words).
#[tokio::test]
async fn a_bot_is_never_given_a_private_room() {
    let server = host::start(&[]);
    let mut ana = Owner::claim(&server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    ana.send(json!({"type":"create_room","room":"secret","private":true}))
        .await;
    let room = ana.client.recv_type("room").await;
    let private = room["room"].as_str().unwrap().to_owned();
    assert!(private.starts_with("p:"), "{room}");
    let refused = host::refused(
        &mut ana.client,
        json!({"action":"create_bot","name":"spy","rooms":["lobby", private]}),
    )
    .await;
    assert_eq!(refused["code"], "not_found");
    let refused = host::refused(
        &mut ana.client,
        json!({"action":"create_bot","name":"idle","rooms":[]}),
    )
    .await;
    assert_eq!(refused["code"], "bad_request", "at least one room");
    let (token, _) = make_bot(&mut ana.client, "lobbyist", json!(["lobby"])).await;
    let path = format!("/api/rooms/{}/messages", private.replace(':', "%3A"));
    let auth = format!("Bearer {token}");
    let read = request(&server, "GET", &path, &[("Authorization", &auth)], "");
    assert_eq!(refusal(&read), (404, "not_found".to_owned()));
}

/// Sets a room's rules and waits until the host's view shows them (an
/// earlier action's view may come first).
async fn set_rules(host: &mut Client, rules: Value) {
    let mut action = rules.clone();
    action["action"] = json!("rules");
    let mut view = act(host, action).await;
    loop {
        let room = view["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|room| room["room"] == rules["room"])
            .expect("the room in the host's view");
        let shown = rules
            .as_object()
            .unwrap()
            .iter()
            .all(|(key, value)| &room[key] == value);
        if shown {
            return;
        }
        view = host.recv_type("host_state").await;
    }
}

/// The host's rules hold for a bot as for a person: a read-only room and a
/// closed one refuse it (403), slow mode and a person's rate make it wait
/// (429 with Retry-After).
#[tokio::test]
async fn a_bot_keeps_the_rooms_rules_and_a_persons_rate() {
    let server = host::start(&["--rate-limit", "0.01", "--rate-burst", "3"]);
    let mut ana = Owner::claim(&server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    for room in ["news", "quiet"] {
        ana.send(json!({"type":"create_room","room":room})).await;
        ana.client.recv_type("room").await;
    }
    let (token, _) = make_bot(&mut ana.client, "sensor", json!(["lobby", "news", "quiet"])).await;
    set_rules(&mut ana.client, json!({"room":"news","read_only":true})).await;
    set_rules(&mut ana.client, json!({"room":"quiet","closed":true})).await;
    let read_only = post(&server, &token, "news", "21.5 °C");
    assert_eq!(refusal(&read_only), (403, "read_only".to_owned()));
    let closed = post(&server, &token, "quiet", "21.5 °C");
    assert_eq!(refusal(&closed), (403, "closed".to_owned()));

    set_rules(
        &mut ana.client,
        json!({"room":"news","read_only":false,"slow":600}),
    )
    .await;
    let first = post(&server, &token, "news", "21.6 °C");
    assert_eq!(first.status, 201, "{}", first.text());
    let slowed = post(&server, &token, "news", "21.7 °C");
    assert_eq!(refusal(&slowed), (429, "slow_mode".to_owned()));
    let wait: u64 = slowed.header("retry-after").unwrap().parse().unwrap();
    assert!((590..=600).contains(&wait), "Retry-After: {wait}");

    // Its burst of 3 (one spent above, one refused by slow mode), then one
    // message each 100 s: 429.
    assert_eq!(post(&server, &token, "lobby", "21.8 °C").status, 201);
    let limited = post(&server, &token, "lobby", "21.9 °C");
    assert_eq!(refusal(&limited), (429, "rate_limited".to_owned()));
    assert!(limited.header("retry-after").is_some());
    assert!(limited.json()["retry_after_ms"].as_u64().unwrap() > 0);
}

/// A bot reads what came after a seq; with nothing new it waits (a long
/// poll), answers as soon as something is said, or empty at its timeout;
/// only in its rooms.
#[tokio::test]
async fn a_bot_reads_with_a_long_poll() {
    let server = host::start(&[]);
    let mut ana = Owner::claim(&server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    ana.send(json!({"type":"create_room","room":"elsewhere"}))
        .await;
    ana.client.recv_type("room").await;
    let (token, _) = make_bot(&mut ana.client, "reader", json!(["lobby"])).await;
    let said = ana.say_in("lobby", "before").await;
    let auth = format!("Bearer {token}");
    let read = |query: &str| {
        request(
            &server,
            "GET",
            &format!("/api/rooms/lobby/messages?{query}"),
            &[("Authorization", &auth)],
            "",
        )
    };
    let all = read("since=0&timeout=0");
    assert_eq!(all.status, 200, "{}", all.text());
    let all = all.json();
    let texts: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before"]);
    let latest = said["seq"].as_u64().unwrap();
    assert_eq!(all["seq"], latest);

    let started = Instant::now();
    let empty = read(&format!("since={latest}&timeout=1")).json();
    assert_eq!(empty["messages"], json!([]));
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited");
    assert_eq!(
        refusal(&read("since=soon")),
        (400, "bad_request".to_owned())
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let addr = server.addr;
    let head = format!(
        "GET /api/rooms/lobby/messages?since={latest}&timeout=60 HTTP/1.1\r\nHost: {addr}\r\n\
         Connection: close\r\nAuthorization: {auth}\r\n\r\n"
    );
    std::thread::spawn(move || {
        let _ = tx.send(http_send(addr, &head, b"").json());
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing new: the poll waits"
    );
    let started = Instant::now();
    ana.say_in("lobby", "after").await;
    let woke = tokio::task::spawn_blocking(move || rx.recv_timeout(common::WAIT))
        .await
        .unwrap()
        .expect("the long poll answered");
    assert_eq!(woke["messages"][0]["message"], "after");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "woken by the message, not its 60 s timeout"
    );

    let elsewhere = request(
        &server,
        "GET",
        "/api/rooms/elsewhere/messages",
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(refusal(&elsewhere), (403, "forbidden".to_owned()));
    let anonymous = request(&server, "GET", "/api/rooms/lobby/messages", &[], "");
    assert_eq!(refusal(&anonymous), (401, "unauthorized".to_owned()));

    // Revoked while it waits: the poll stops then, not at its timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    let latest = woke["seq"].as_u64().unwrap();
    let head = format!(
        "GET /api/rooms/lobby/messages?since={latest}&timeout=60 HTTP/1.1\r\nHost: {addr}\r\n\
         Connection: close\r\nAuthorization: {auth}\r\n\r\n"
    );
    std::thread::spawn(move || {
        let _ = tx.send(http_send(addr, &head, b""));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing new: the poll waits"
    );
    let view = act(&mut ana.client, json!({"action":"hello"})).await;
    let id = view["bots"][0]["id"].clone();
    let started = Instant::now();
    act(&mut ana.client, json!({"action":"revoke_bot","bot":id})).await;
    let stopped = tokio::task::spawn_blocking(move || rx.recv_timeout(common::WAIT))
        .await
        .unwrap()
        .expect("the long poll answered");
    assert_eq!(refusal(&stopped), (401, "unauthorized".to_owned()));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "at once, not at 60 s"
    );
}

/// Runs `lanchat send` with `args`, giving it `stdin`.
fn lanchat_send(args: &[&str], stdin: &str) -> Output {
    lanchat(&[], args, stdin)
}

/// Runs `lanchat <global> send <args>`, giving it `stdin`.
fn lanchat(global: &[&str], args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(common::binary())
        .args(global)
        .arg("send")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lanchat send");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `lanchat send` posts from a shell (the text as an argument, or on
/// standard input), and exits non-zero with the server's reason when it is
/// refused.
#[tokio::test]
async fn lanchat_send_posts_from_a_shell() {
    let server = host::start(&[]);
    let mut ana = Owner::claim(&server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    ana.send(json!({"type":"create_room","room":"build-log"}))
        .await;
    ana.client.recv_type("room").await;
    let (token, _) = make_bot(&mut ana.client, "ci", json!(["lobby", "build-log"])).await;
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    let base = ["--url", &server.url, "--token", &token];

    let sent = lanchat_send(&[&base[..], &["nightly build: **green**"]].concat(), "");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let heard = watcher.recv_type("message").await;
    assert_eq!(heard["username"], "ci");
    assert_eq!(heard["bot"], true);
    assert_eq!(heard["room"], "lobby");
    let said = String::from_utf8_lossy(&sent.stdout);
    assert!(
        said.contains(&format!("message {}", heard["seq"])),
        "{said}"
    );

    // From standard input, into a room whose name needs no escaping but
    // gets it (`-`).
    let piped = lanchat_send(
        &[
            &base[..],
            &["--room", "build-log", "--idempotency-key", "run-9"],
        ]
        .concat(),
        "tests: 812 passed\n",
    );
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let again = lanchat_send(
        &[
            &base[..],
            &["--room", "build-log", "--idempotency-key", "run-9", "-"],
        ]
        .concat(),
        "tests: 812 passed\n",
    );
    assert!(again.status.success());
    assert_eq!(piped.stdout, again.stdout, "the same message, once");
    assert_eq!(stored(&server, "build-log", "tests: 812 passed\n").await, 1);

    let refused = lanchat_send(&["--url", &server.url, "--token", "wrong", "hello"], "");
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("401") && said.contains("unauthorized"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one clear line: {said}");
    let unreachable = lanchat_send(&["--url", "http://127.0.0.1:1", "--token", &token, "x"], "");
    assert!(!unreachable.status.success());
    let said = String::from_utf8_lossy(&unreachable.stderr);
    assert!(said.contains("cannot reach 127.0.0.1:1"), "{said}");
}

/// With `--tls`, `lanchat send` trusts the server's local CA: from the
/// data folder (`--data`, as the server was started with), or a copy given
/// with `--ca`; without it the handshake fails and it says so.
#[tokio::test]
async fn lanchat_send_speaks_https_with_the_local_ca() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let server = host::start(&["--tls", "--data", data_dir]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let ca = common::tls::fetch_ca(&server);
    let mut ana = common::tls::wss_connect(&server, "ana", &[ca])
        .await
        .expect("wss with the CA");
    ana.recv_type("history").await;
    act(&mut ana, json!({"action":"hello"})).await;
    let (token, _) = make_bot(&mut ana, "probe", json!(["lobby"])).await;
    let base = ["--url", &server.url, "--token", &token];

    let sent = lanchat(
        &["--data", data_dir],
        &[&base[..], &["over https"]].concat(),
        "",
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let heard = ana.recv_type("message").await;
    assert_eq!(
        (heard["username"].as_str(), heard["bot"].as_bool()),
        (Some("probe"), Some(true))
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("ca.pem");
    std::fs::copy(data.path().join("lanchat-ca.pem"), &copy).unwrap();
    let with_ca = lanchat_send(
        &[&base[..], &["--ca", copy.to_str().unwrap(), "with --ca"]].concat(),
        "",
    );
    assert!(
        with_ca.status.success(),
        "{}",
        String::from_utf8_lossy(&with_ca.stderr)
    );

    // Not trusting it: an error, not a message.
    let other = tempfile::tempdir().unwrap();
    let untrusted = Command::new(common::binary())
        .args(["send", "--url", &server.url, "--token", &token, "blind"])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert!(!untrusted.status.success());
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert!(said.contains("CA"), "{said}");
}
