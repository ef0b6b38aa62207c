//! The host's tools over real WebSockets against the real binary: the host
//! secret, kicking, muting, banning, deleting any message, and each room's
//! rules (slow mode, read-only, locked, closed), enforced on the server.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::host::{self, SECRET, act, claim_from, refused};
use common::owner::{Owner, first_frame};
use common::{Client, Event, Server, WAIT};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The host's connection: a claimed name in host mode.
async fn host_mode(server: &Server, name: &str) -> (Owner, Value) {
    let mut owner = Owner::claim(server, name).await;
    let view = act(&mut owner.client, json!({"action":"hello"})).await;
    (owner, view)
}

/// Waits for a message from `system` carrying `event` in `room`.
async fn system_event(client: &mut Client, room: &str, event: &str) -> Value {
    loop {
        let frame = client.recv_type("message").await;
        if frame["room"] == room && frame["system"]["event"] == event {
            assert_eq!(frame["username"], "system");
            return frame;
        }
    }
}

/// Waits for the stored copy of our message `cid`; panics on an error.
async fn acknowledged(client: &mut Client, cid: &str) -> Value {
    loop {
        let frame = client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["cid"] == cid {
            return frame;
        }
    }
}

/// Reads until the server closes, returning every frame before the close
/// and the close's code and reason.
async fn until_closed(client: &mut Client) -> (Vec<Value>, u16, String) {
    let mut frames = Vec::new();
    loop {
        match client.next_event().await {
            Event::Frame(frame) => frames.push(frame),
            Event::Closed(close) => {
                let close = close.expect("a close frame");
                return (frames, u16::from(close.code), close.reason.to_string());
            }
        }
    }
}

/// Every host action without the host secret, or with a wrong one, is
/// refused with `forbidden`, and nothing changes: nobody is kicked, muted
/// or banned, nothing is deleted, no rule is set, and the asker hears no
/// host view.
#[tokio::test]
async fn host_actions_need_the_host_secret() {
    let server = host::start(&[]);
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let first = bob.say_in("lobby", "hello").await;
    let actions = [
        json!({"action":"hello"}),
        json!({"action":"kick","username":"bob","reason":"no"}),
        json!({"action":"mute","username":"bob","minutes":5}),
        json!({"action":"unmute","username":"bob"}),
        json!({"action":"ban","username":"bob","reason":"no"}),
        json!({"action":"unban","ban":"0011"}),
        json!({"action":"delete","room":"lobby","target":first["seq"]}),
        json!({"action":"rules","room":"lobby","slow":60,"read_only":true}),
    ];
    for secret in [None, Some("not the host secret"), Some("")] {
        for action in &actions {
            alice.send(host::action(secret, action.clone())).await;
            let error = alice.client.recv_type("error").await;
            assert_eq!(error["code"], "forbidden", "{secret:?} {action}");
        }
    }
    assert!(alice.heard("host_state").await.is_empty());
    // Bob is still here, may post at once, twice (no slow mode, not
    // read-only), and his message stands.
    bob.say_in("lobby", "still here").await;
    bob.say_in("lobby", "and again").await;
    bob.send(json!({"type":"history","room":"lobby","before":100}))
        .await;
    let history = bob.client.recv_type("history").await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m["deleted"].is_null()), "{history}");
    assert!(
        messages.iter().all(|m| m["system"].is_null()),
        "no host action showed: {history}"
    );
}

/// A kick closes every tab of the name, each told the host's reason first,
/// and the lobby hears that the host removed them. The name may come back.
#[tokio::test]
async fn a_kick_closes_every_tab_with_the_reason() {
    let server = host::start(&[]);
    let (mut ana, view) = host_mode(&server, "ana").await;
    assert_eq!(view["rooms"][0]["room"], "lobby");
    let bob = Owner::claim(&server, "bob").await;
    let mut tabs = vec![bob.again(&server, "bob").await, bob];
    let mut carol = Owner::claim(&server, "carol").await;
    act(
        &mut ana.client,
        json!({"action":"kick","username":"BOB","reason":"please take a break"}),
    )
    .await;
    for tab in &mut tabs {
        let (frames, code, reason) = until_closed(&mut tab.client).await;
        let removed = frames
            .iter()
            .find(|f| f["type"] == "removed")
            .unwrap_or_else(|| panic!("no removed frame: {frames:?}"));
        assert_eq!(removed["reason"], "please take a break");
        assert_eq!(removed["banned"], false);
        assert_eq!(code, 1008);
        assert_eq!(reason, "removed by the host");
    }
    let event = system_event(&mut carol.client, "lobby", "kicked").await;
    assert_eq!(event["system"]["username"], "bob");
    assert!(event["message"].as_str().unwrap().contains("bob"));
    let back = tabs[0].again(&server, "bob").await;
    assert_eq!(back.welcome["type"], "welcome", "a kick is not a ban");
}

/// A mute refuses the name's messages, edits and reactions with `muted`
/// (while others post), follows an owned name through a rename, and ends
/// when lifted. The host's view lists it meanwhile.
#[tokio::test]
async fn a_mute_refuses_posts_with_an_error_code() {
    let server = host::start(&[]);
    let (mut ana, _) = host_mode(&server, "ana").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;
    let said = bob.say_in("lobby", "before the mute").await;
    let view = act(
        &mut ana.client,
        json!({"action":"mute","username":"bob","minutes":10}),
    )
    .await;
    assert_eq!(view["mutes"][0]["username"], "bob");
    let until = view["mutes"][0]["until"].as_i64().unwrap();
    let event = system_event(&mut carol.client, "lobby", "muted").await;
    assert_eq!(event["system"]["until"], until);
    let frames = [
        json!({"type":"message","message":"let me talk","cid":"m1"}),
        json!({"type":"edit","target":said["seq"],"message":"changed","cid":"e1"}),
        json!({"type":"react","target":said["seq"],"emoji":"👍","on":true,"cid":"r1"}),
    ];
    for frame in frames {
        bob.send(frame.clone()).await;
        let error = bob.client.recv_type("error").await;
        assert_eq!(error["code"], "muted", "{frame}");
        assert_eq!(error["cid"], frame["cid"]);
        let wait = error["retry_after_ms"].as_u64().unwrap();
        assert!(wait > 9 * 60_000 && wait <= 10 * 60_000, "{error}");
    }
    carol.say_in("lobby", "I can still talk").await;
    bob.send(json!({"type":"rename","username":"robert"})).await;
    bob.client.recv_type("rename").await;
    bob.send(json!({"type":"message","message":"a new name","cid":"m2"}))
        .await;
    assert_eq!(bob.client.recv_type("error").await["code"], "muted");
    act(
        &mut ana.client,
        json!({"action":"unmute","username":"robert"}),
    )
    .await;
    system_event(&mut carol.client, "lobby", "unmuted").await;
    bob.say_in("lobby", "free again").await;
}

/// A ban closes the name's connections with a clear reason, and keeps out
/// the name with its token, the same browser under a new name (even after
/// the ban, a browser first seen under the banned name), and lets in
/// another browser under another name: what a ban does not stop.
#[tokio::test]
async fn a_ban_survives_reconnect_and_rename_from_the_same_browser() {
    let server = host::start(&[]);
    let browser = "0123456789abcdef0123456789abcdef";
    let (mut ana, _) = host_mode(&server, "ana").await;
    let mut bob = claim_from(&server, "bob", browser).await;
    let token = bob.token.clone();
    let view = act(
        &mut ana.client,
        json!({"action":"ban","username":"bob","reason":"spamming links"}),
    )
    .await;
    let ban = &view["bans"][0];
    assert_eq!(ban["username"], "bob");
    assert_eq!(ban["browsers"], 1, "the browser bob came from");
    assert!(ban["until"].is_null(), "for good");
    let (frames, code, reason) = until_closed(&mut bob.client).await;
    assert!(
        frames.iter().any(|f| f["type"] == "removed"
            && f["banned"] == true
            && f["reason"] == "spamming links"),
        "{frames:?}"
    );
    assert_eq!((code, reason.as_str()), (1008, "banned by the host"));

    let kept_out = |protocols: Vec<String>, name: &'static str| {
        let server = &server;
        async move {
            let offered: Vec<&str> = protocols.iter().map(String::as_str).collect();
            let (mut client, first) = first_frame(server, name, &offered).await;
            assert_eq!(first["type"], "removed", "{name} {protocols:?}: {first}");
            assert_eq!(first["banned"], true);
            let (_, code, reason) = until_closed(&mut client).await;
            assert_eq!((code, reason.as_str()), (1008, "banned by the host"));
        }
    };
    let from_browser = format!("browser.{browser}");
    kept_out(vec![token.clone(), from_browser.clone()], "bob").await;
    kept_out(vec![token.clone()], "bob").await;
    kept_out(vec!["claim".into(), from_browser.clone()], "robert").await;
    kept_out(vec![from_browser.clone()], "anon").await;
    // A browser that tries the banned name joins the ban.
    let second = "fedcba9876543210fedcba9876543210";
    kept_out(vec![token.clone(), format!("browser.{second}")], "bob").await;
    kept_out(vec!["claim".into(), format!("browser.{second}")], "zed").await;
    // Another browser (a new private window, another device) under another
    // name is not stopped.
    let elsewhere = claim_from(&server, "carol", "00000000000000000000000000000000").await;
    assert_eq!(elsewhere.welcome["type"], "welcome");

    // Lifted, bob is back.
    let id = ban["id"].as_str().unwrap();
    let view = act(&mut ana.client, json!({"action":"unban","ban":id})).await;
    assert_eq!(view["bans"], json!([]));
    let back = Owner::with_token(&server, "bob", &token).await;
    assert_eq!(back.welcome["claimed"], true);
}

/// The host deletes anyone's message through the log, as its author
/// would: every client hears the deletion, history and a resume show a
/// tombstone the host made, search finds nothing, and the text is in no
/// row of the database, nor (SQLite) anywhere in the file or its log.
#[tokio::test]
async fn a_message_the_host_deletes_is_gone_everywhere() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let server = Server::start_on_db(&db, &host::flags());
    let (mut ana, _) = host_mode(&server, "ana").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;
    // A cid of its own: `say_in` would put the text in it.
    bob.send(json!({"type":"message","message":"my locker code is 8R2Z","cid":"m1"}))
        .await;
    let said = acknowledged(&mut bob.client, "m1").await;
    let seq = said["seq"].as_u64().unwrap();
    carol.client.recv_type("message").await;
    act(
        &mut ana.client,
        json!({"action":"delete","room":"lobby","target":seq}),
    )
    .await;
    let deletion = carol.client.recv_type("delete").await;
    assert_eq!(deletion["target"], seq);
    assert_eq!(deletion["username"], "system");
    // History, and a resume from before it.
    carol
        .send(json!({"type":"history","room":"lobby","before":100}))
        .await;
    let history = carol.client.recv_type("history").await;
    let tombstone = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"] == seq)
        .unwrap()
        .clone();
    assert_eq!(tombstone["deleted"], true);
    assert_eq!(tombstone["removed"], true);
    assert_eq!(tombstone["html"], "");
    assert!(!history.to_string().contains("8R2Z"));
    let (_, _, resumed) = Client::join(&server, &format!("dave?since={}", seq - 1)).await;
    assert!(!resumed.to_string().contains("8R2Z"));
    assert!(
        resumed["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["seq"] == seq && m["removed"] == true),
        "{resumed}"
    );
    // Search.
    carol.send(json!({"type":"search","query":"locker"})).await;
    let found = carol.client.recv_type("search_results").await;
    assert_eq!(found["results"], json!([]), "{found}");
    // The database.
    if common::postgres::scenarios_on_postgres() {
        let rows = common::postgres::psql_for(&db, "SELECT m::text FROM messages m");
        assert!(!rows.contains("8R2Z"), "{rows}");
        return;
    }
    for file in [db.clone(), db.with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(4).any(|w| w == b"8R2Z"),
            "the text is still in {}",
            file.display()
        );
    }
}

/// Slow mode, read-only, locked and closed hold on the server, for a raw
/// WebSocket client as for the page: refused with their codes, the host
/// exempt where the rule says so, and each change shown in the room.
#[tokio::test]
async fn room_rules_are_enforced_on_the_server() {
    let server = host::start(&[]);
    let (mut ana, _) = host_mode(&server, "ana").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;
    let (mut raw, _, _) = Client::join(&server, "raw").await;

    // Slow mode in the lobby: one message per 30 s per person.
    act(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","slow":30}),
    )
    .await;
    let event = system_event(&mut raw, "lobby", "rules").await;
    assert_eq!(event["system"]["slow"], 30);
    raw.say("first", "r1").await;
    acknowledged(&mut raw, "r1").await;
    raw.say("second", "r2").await;
    let error = raw.recv_type("error").await;
    assert_eq!(error["code"], "slow_mode");
    assert_eq!(error["cid"], "r2");
    let wait = error["retry_after_ms"].as_u64().unwrap();
    assert!(wait > 25_000 && wait <= 30_000, "{error}");
    // A page that connects now hears the lobby's rules after its welcome.
    let (mut late, _, _) = Client::join(&server, "late").await;
    assert_eq!(
        late.recv_type("rules").await,
        json!({"type":"rules","room":"lobby","slow":30,"read_only":false,"locked":false,"closed":false,"keep":"all"})
    );
    bob.say_in("lobby", "one each").await;
    ana.say_in("lobby", "the host is not slowed").await;
    ana.say_in("lobby", "at all").await;

    // Read-only: only the host posts.
    act(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","slow":0,"read_only":true}),
    )
    .await;
    raw.say("may I?", "r3").await;
    assert_eq!(raw.recv_type("error").await["code"], "read_only");
    ana.say_in("lobby", "only me now").await;
    act(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","read_only":false}),
    )
    .await;
    raw.say("thanks", "r4").await;
    acknowledged(&mut raw, "r4").await;

    // Locked: members stay and post, nobody new joins.
    bob.send(json!({"type":"create_room","room":"class"})).await;
    bob.client.recv_type("room").await;
    let view = act(
        &mut ana.client,
        json!({"action":"rules","room":"class","locked":true}),
    )
    .await;
    let class = view["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "class")
        .unwrap();
    assert_eq!(class["locked"], true);
    assert_eq!(class["members"], json!(["bob"]));
    carol
        .expect_error(json!({"type":"join_room","room":"class"}), "locked")
        .await;
    bob.expect_error(
        json!({"type":"invite","room":"class","username":"carol"}),
        "locked",
    )
    .await;
    bob.say_in("class", "still mine").await;

    // Closed: nobody posts, not even the host, and it is not listed.
    act(
        &mut ana.client,
        json!({"action":"rules","room":"class","closed":true}),
    )
    .await;
    bob.send(json!({"type":"message","room":"class","message":"hello?","cid":"c1"}))
        .await;
    assert_eq!(bob.client.recv_type("error").await["code"], "closed");
    bob.send(json!({"type":"list_rooms"})).await;
    let listed = bob.client.recv_type("room_list").await;
    assert_eq!(listed["rooms"], json!([{"room":"lobby","members":3}]));
    // The lobby cannot be locked or closed.
    let error = refused(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","closed":true}),
    )
    .await;
    assert_eq!(error["code"], "bad_request");
}

/// The host sees every room's members, private rooms and direct messages
/// included, and who is online; never their messages.
#[tokio::test]
async fn the_host_sees_who_is_where() {
    let server = host::start(&[]);
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;
    bob.send(json!({"type":"create_room","room":"secret-plans","private":true}))
        .await;
    let private = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.send(json!({"type":"dm","username":"carol"})).await;
    let dm = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in(&private, "the surprise party is on friday")
        .await;
    bob.say_in(&dm, "psst").await;
    carol.client.recv_type("message").await;
    let (mut ana, view) = host_mode(&server, "ana").await;
    let rooms = view["rooms"].as_array().unwrap();
    let find = |id: &str| rooms.iter().find(|r| r["room"] == id).unwrap().clone();
    let plans = find(&private);
    assert_eq!(plans["kind"], "private");
    assert_eq!(plans["name"], "secret-plans");
    assert_eq!(plans["members"], json!(["bob"]));
    assert_eq!(plans["online"], json!(["bob"]));
    let direct = find(&dm);
    assert_eq!(direct["kind"], "dm");
    let mut members: Vec<&str> = direct["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, ["bob", "carol"]);
    let heard = format!("{view}{:?}", ana.client.caught_up().await);
    assert!(!heard.contains("surprise") && !heard.contains("psst"));
    ana.send(json!({"type":"history","room":dm})).await;
    assert_eq!(ana.client.recv_type("error").await["code"], "not_found");
}

/// Without `--host-secret`, the banner prints a host link with a new
/// secret; it works, the history keeps only its hash, and no log line or
/// frame shows it. `lanchat host-link` prints a new link and the old one
/// stops working; a fixed `--host-secret` holds across restarts.
#[tokio::test]
async fn the_host_link_is_printed_kept_as_a_hash_and_replaced() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let log = dir.path().join("server.log");
    let db_arg = db.to_str().unwrap();
    let args = [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--no-qr",
        "--rate-limit",
        "0",
        "--db",
        db_arg,
    ];
    let mut server = Server::spawn_logged(&args, dir.path(), &log);
    let line = server
        .banner
        .lines()
        .find(|line| line.trim_start().starts_with("Host:"))
        .unwrap_or_else(|| panic!("no host link in:\n{}", server.banner));
    let link = line.split_whitespace().nth(1).unwrap();
    assert!(link.starts_with(&format!("{}#host=", server.url)), "{line}");
    let secret = link.split("#host=").nth(1).unwrap().to_owned();
    assert_eq!(secret.len(), 64);

    let mut ana = Owner::claim(&server, "ana").await;
    let mut bob = Owner::claim(&server, "bob").await;
    ana.send(host::action(Some(&secret), json!({"action":"hello"})))
        .await;
    ana.client.recv_type("host_state").await;
    ana.send(host::action(
        Some(&secret),
        json!({"action":"mute","username":"bob","minutes":1}),
    ))
    .await;
    ana.client.recv_type("host_state").await;
    ana.send(host::action(Some("wrong"), json!({"action":"hello"})))
        .await;
    ana.client.recv_type("error").await;
    let heard = format!(
        "{:?}{:?}",
        ana.client.caught_up().await,
        bob.client.caught_up().await
    );
    assert!(!heard.contains(&secret));

    // A new link retires the old one.
    let output = Command::new(common::binary())
        .args(["--db", db_arg, "--port"])
        .arg(server.addr.port().to_string())
        .arg("host-link")
        .output()
        .expect("run lanchat host-link");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new_secret = stdout
        .split("#host=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no link in {stdout}"))
        .to_owned();
    assert_ne!(new_secret, secret);
    let deadline = Instant::now() + WAIT;
    loop {
        ana.send(host::action(Some(&secret), json!({"action":"hello"})))
            .await;
        let answer = ana.client.recv().await;
        if answer["type"] == "error" {
            assert_eq!(answer["code"], "forbidden");
            break;
        }
        assert!(Instant::now() < deadline, "the old link still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ana.send(host::action(Some(&new_secret), json!({"action":"hello"})))
        .await;
    ana.client.recv_type("host_state").await;
    drop((ana, bob));
    assert!(server.terminate().success());

    for (what, bytes) in [
        ("the history file", std::fs::read(&db).unwrap()),
        ("the log", std::fs::read(&log).unwrap()),
    ] {
        for secret in [&secret, &new_secret] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the secret is in {what}"
            );
        }
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("host: muted bob"), "{logged}");
    assert!(logged.contains("refused: not the host secret"), "{logged}");

    // A fixed secret holds across restarts.
    let mut fixed: Vec<&str> = args.to_vec();
    fixed.extend_from_slice(&host::flags());
    for _ in 0..2 {
        let mut server = Server::spawn(&fixed, dir.path());
        let link = format!("#host={}", SECRET.replace(' ', "%20"));
        assert!(server.banner.contains(&link), "{}", server.banner);
        let (mut someone, _, _) = Client::join(&server, "someone").await;
        act(&mut someone, json!({"action":"hello"})).await;
        drop(someone);
        assert!(server.terminate().success());
    }
}

/// An announcement is a message from `system` in the room's log, pinned:
/// the room hears it and `pinned`, a page connecting later hears `pinned`
/// after its welcome, and the host sees "read by N of M" follow the
/// members' read marks. `unpin` takes it down. In a room, only its members
/// hear it.
#[tokio::test]
async fn an_announcement_is_pinned_and_its_readers_counted() {
    let server = host::start(&[]);
    let (mut ana, _) = host_mode(&server, "ana").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;
    let view = act(
        &mut ana.client,
        json!({"action":"announce","message":"**Lunch** at noon"}),
    )
    .await;
    let lobby = &view["rooms"][0];
    let seq = lobby["pinned"]["seq"].as_u64().unwrap();
    assert_eq!(
        lobby["pinned"]["of"], 3,
        "ana, bob and carol keep lobby read marks"
    );
    // The message (through the log) and `pinned` (once it is logged), in
    // whichever order they come.
    let mut heard = Vec::new();
    while !(heard.iter().any(|f: &Value| f["type"] == "pinned")
        && heard.iter().any(|f| f["system"]["event"] == "announcement"))
    {
        heard.push(bob.client.recv().await);
    }
    let posted = heard
        .iter()
        .find(|f| f["type"] == "message" && f["system"]["event"] == "announcement")
        .unwrap();
    assert_eq!(posted["seq"], seq);
    assert_eq!(posted["username"], "system");
    assert_eq!(posted["message"], "**Lunch** at noon");
    assert!(
        posted["html"]
            .as_str()
            .unwrap()
            .contains("<strong>Lunch</strong>")
    );
    let pinned = heard.iter().find(|f| f["type"] == "pinned").unwrap();
    assert_eq!(pinned["seq"], seq);
    assert_eq!(pinned["message"], "**Lunch** at noon");
    let (mut late, _, _) = Client::join(&server, "late").await;
    assert_eq!(late.recv_type("pinned").await["seq"], seq);

    let read_count = |view: &Value| view["rooms"][0]["pinned"]["read"].clone();
    assert_eq!(read_count(&view), 0);
    for (reader, expected) in [(&mut bob, 1), (&mut carol, 2)] {
        reader
            .send(json!({"type":"read","room":"lobby","seq":seq}))
            .await;
        let view = ana.client.recv_type("host_state").await;
        assert_eq!(read_count(&view), expected, "{view}");
    }

    // In a room, for its members only.
    bob.send(json!({"type":"create_room","room":"class"})).await;
    bob.client.recv_type("room").await;
    let view = act(
        &mut ana.client,
        json!({"action":"announce","room":"class","message":"quiz on friday"}),
    )
    .await;
    let class = view["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "class")
        .unwrap()
        .clone();
    assert_eq!(class["pinned"]["of"], 1);
    assert_eq!(bob.client.recv_type("pinned").await["room"], "class");
    let heard = carol.heard("pinned").await;
    assert!(heard.iter().all(|f| f["room"] == "lobby"), "{heard:?}");

    act(&mut ana.client, json!({"action":"unpin","room":"lobby"})).await;
    assert_eq!(
        carol.client.recv_type("unpinned").await,
        json!({"type":"unpinned","room":"lobby"})
    );
}

/// Raised hands are a queue per room: the room hears it in order as hands
/// go up and down, a page connecting later hears it after its welcome, the
/// host sees it and lowers hands.
#[tokio::test]
async fn raised_hands_queue_in_order() {
    let server = host::start(&[]);
    let (mut ana, _) = host_mode(&server, "ana").await;
    let (mut bob, _, _) = Client::join(&server, "bob").await;
    let (mut carol, _, _) = Client::join(&server, "carol").await;
    let queue = |frame: Value| frame["queue"].clone();
    carol.send_json(json!({"type":"hand","up":true})).await;
    assert_eq!(queue(bob.recv_type("hands").await), json!(["carol"]));
    bob.send_json(json!({"type":"hand","up":true})).await;
    assert_eq!(queue(bob.recv_type("hands").await), json!(["carol", "bob"]));
    bob.send_json(json!({"type":"hand","up":true})).await;
    let (mut late, _, _) = Client::join(&server, "late").await;
    assert_eq!(
        queue(late.recv_type("hands").await),
        json!(["carol", "bob"])
    );
    let view = act(&mut ana.client, json!({"action":"hello"})).await;
    assert_eq!(view["rooms"][0]["hands"], json!(["carol", "bob"]));
    act(
        &mut ana.client,
        json!({"action":"lower_hand","room":"lobby","username":"carol"}),
    )
    .await;
    let heard: Vec<Value> = carol
        .caught_up()
        .await
        .into_iter()
        .filter(|f| f["type"] == "hands")
        .map(queue)
        .collect();
    assert_eq!(
        heard,
        [json!(["carol"]), json!(["carol", "bob"]), json!(["bob"])]
    );
    bob.send_json(json!({"type":"hand","up":false})).await;
    assert_eq!(queue(late.recv_type("hands").await), json!(["bob"]));
    assert_eq!(queue(late.recv_type("hands").await), json!([]));
}

/// With `--tls` the host link is the HTTPS address (the chat's), never the
/// plain port's trust page; `lanchat host-link` with the same flags says the
/// same address.
#[test]
fn with_tls_the_host_link_is_https() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let db_arg = db.to_str().unwrap();
    let server = Server::spawn(
        &[
            "--tls",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--db",
            db_arg,
        ],
        dir.path(),
    );
    assert!(server.url.starts_with("https://"), "{}", server.banner);
    let line = server
        .banner
        .lines()
        .find(|line| line.trim_start().starts_with("Host:"))
        .unwrap_or_else(|| panic!("no host link in:\n{}", server.banner));
    let link = line.split_whitespace().nth(1).unwrap();
    assert!(link.starts_with(&format!("{}#host=", server.url)), "{line}");

    let https_port = server.addr.port().to_string();
    let output = Command::new(common::binary())
        .args([
            "--tls",
            "--tls-port",
            &https_port,
            "--db",
            db_arg,
            "host-link",
        ])
        .output()
        .expect("run lanchat host-link");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("https://127.0.0.1:{https_port}/#host=")),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
