//! Chat scenarios over real WebSockets against the real binary: messages,
//! presence, typing, history, resume, idempotent retries and bad input.

mod common;

use std::time::Duration;

use common::{Client, Event, Server, wait_until};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Sends `count` messages from `client` and waits for each echo.
async fn say_many(client: &mut Client, prefix: &str, count: usize) -> Vec<Value> {
    let mut echoes = Vec::new();
    for i in 0..count {
        let cid = format!("{prefix}-{i}");
        client.say(&format!("{prefix} {i}"), &cid).await;
        let echo = client.recv_type("message").await;
        assert_eq!(echo["cid"], cid.as_str());
        echoes.push(echo);
    }
    echoes
}

fn seqs(messages: &Value) -> Vec<u64> {
    messages
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["seq"].as_u64().expect("seq"))
        .collect()
}

/// Two clients chat: both get the message with seq and timestamp, and the
/// sender's copy carries its cid.
#[tokio::test]
async fn two_clients_chat() {
    let server = Server::start();
    let (mut alice, welcome, history) = Client::join(&server, "alice").await;
    assert_eq!(welcome["protocol"], 1);
    assert_eq!(welcome["username"], "alice");
    assert_eq!(welcome["users"], json!(["alice"]));
    assert_eq!(welcome["seq"], 0);
    assert_eq!(history["messages"], json!([]));
    assert_eq!(history["has_more"], false);

    let (mut bob, welcome, _) = Client::join(&server, "bob").await;
    assert_eq!(welcome["users"], json!(["alice", "bob"]));
    alice.recv_type("join").await;

    alice.say("hi bob", "c-1").await;
    let mine = alice.recv_type("message").await;
    let theirs = bob.recv_type("message").await;
    assert_eq!(mine, theirs, "one encoding for everyone");
    assert_eq!(theirs["message"], "hi bob");
    assert_eq!(theirs["username"], "alice");
    assert_eq!(theirs["room"], "lobby");
    assert_eq!(theirs["seq"], 1);
    assert_eq!(mine["cid"], "c-1");
    assert!(theirs["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(theirs["id"].as_str().unwrap().len(), 36);

    bob.say("hello alice", "c-2").await;
    assert_eq!(alice.recv_type("message").await["seq"], 2);
}

/// join, leave, rename and typing events arrive; two tabs with one name give
/// one join and one leave.
#[tokio::test]
async fn presence_and_typing_events() {
    let server = Server::start();
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;

    let (tab1, _, _) = Client::join(&server, "alice").await;
    let join = watcher.recv().await;
    assert_eq!(join["type"], "join");
    assert_eq!(join["username"], "alice");
    let (mut tab2, welcome, _) = Client::join(&server, "alice").await;
    assert_eq!(welcome["users"], json!(["alice", "watcher"]), "listed once");

    tab2.send_json(json!({"type":"typing","active":true})).await;
    let typing = watcher.recv().await;
    assert_eq!(
        typing,
        json!({"type":"typing","room":"lobby","username":"alice","active":true})
    );
    tab2.send_json(json!({"type":"typing","active":false}))
        .await;
    assert_eq!(watcher.recv().await["active"], false);

    tab2.send_json(json!({"type":"rename","username":"alicia"}))
        .await;
    let rename = watcher.recv().await;
    assert_eq!(rename["type"], "rename");
    assert_eq!(rename["from"], "alice");
    assert_eq!(rename["to"], "alicia");
    assert_eq!(tab2.recv_type("rename").await["to"], "alicia");

    drop(tab1);
    wait_until("the first tab is gone", || {
        server.get("/healthz").json()["connections"] == 2
    });
    let heard = watcher.caught_up().await;
    assert!(heard.is_empty(), "no leave while a tab stays: {heard:?}");
    drop(tab2);
    let leave = watcher.recv().await;
    assert_eq!(leave["type"], "leave");
    assert_eq!(leave["username"], "alicia", "both tabs were renamed");
}

/// `ping` is answered with `pong`, for pages that cannot see WebSocket pings.
#[tokio::test]
async fn ping_gets_pong() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    alice.send_json(json!({"type":"ping"})).await;
    assert_eq!(alice.recv().await, json!({"type":"pong"}));
}

/// A typing indicator that is not refreshed ends by itself.
#[tokio::test]
async fn typing_ends_by_itself() {
    let server = Server::start();
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    watcher.recv_type("join").await;
    alice
        .send_json(json!({"type":"typing","active":true}))
        .await;
    assert_eq!(watcher.recv_type("typing").await["active"], true);
    let started = std::time::Instant::now();
    assert_eq!(watcher.recv_type("typing").await["active"], false);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(4), "ended after {waited:?}");
}

/// Renaming to a name someone else holds is refused; an invalid name too.
#[tokio::test]
async fn rename_refusals() {
    let server = Server::start();
    let (_bob, _, _) = Client::join(&server, "bob").await;
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    alice
        .send_json(json!({"type":"rename","username":"bob"}))
        .await;
    assert_eq!(alice.recv_type("error").await["code"], "name_taken");
    alice
        .send_json(json!({"type":"rename","username":"System"}))
        .await;
    assert_eq!(alice.recv_type("error").await["code"], "invalid_username");
    alice.say("still here", "c").await;
    assert_eq!(alice.recv_type("message").await["username"], "alice");
}

/// On connect the client gets the newest --history messages, oldest first,
/// and `history` with `before` pages older ones.
#[tokio::test]
async fn history_replay_and_paging() {
    let server = Server::start_with(&["--history", "10"]);
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    say_many(&mut alice, "m", 25).await;

    let (mut bob, welcome, history) = Client::join(&server, "bob").await;
    assert_eq!(welcome["seq"], 25);
    assert_eq!(seqs(&history["messages"]), (16..=25).collect::<Vec<_>>());
    assert_eq!(history["has_more"], true);
    assert_eq!(history["messages"][0]["message"], "m 15");

    bob.send_json(json!({"type":"history","before":16,"limit":10}))
        .await;
    let page = bob.recv_type("history").await;
    assert_eq!(seqs(&page["messages"]), (6..=15).collect::<Vec<_>>());
    assert_eq!(page["has_more"], true);

    bob.send_json(json!({"type":"history","before":6,"limit":10}))
        .await;
    let page = bob.recv_type("history").await;
    assert_eq!(seqs(&page["messages"]), (1..=5).collect::<Vec<_>>());
    assert_eq!(page["has_more"], false);
}

/// Paging reaches past what the server keeps in memory, into the file.
#[tokio::test]
async fn paging_reads_old_history_from_disk() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    // The server keeps the newest 1000 per room in memory.
    for i in 0..1030 {
        alice.say(&format!("n {i}"), &format!("n-{i}")).await;
    }
    let mut last = 0;
    while last < 1030 {
        last = alice.recv_type("message").await["seq"].as_u64().unwrap();
    }
    alice
        .send_json(json!({"type":"history","before":21,"limit":20}))
        .await;
    let page = alice.recv_type("history").await;
    assert_eq!(seqs(&page["messages"]), (1..=20).collect::<Vec<_>>());
    assert_eq!(page["messages"][0]["message"], "n 0");
    assert_eq!(page["has_more"], false);
}

/// `?since=N` replays exactly the messages after N: no gap, no duplicate.
#[tokio::test]
async fn since_returns_exactly_the_missed_messages() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    say_many(&mut alice, "a", 5).await;

    let mut bob = Client::connect(&server, "bob?since=3").await;
    bob.recv_type("welcome").await;
    let history = bob.recv_type("history").await;
    assert_eq!(seqs(&history["messages"]), vec![4, 5]);
    assert_eq!(history["has_more"], false);

    alice.say("live", "live").await;
    let live = bob.recv_type("message").await;
    assert_eq!(
        live["seq"], 6,
        "the live stream continues right after the replay"
    );

    let mut carol = Client::connect(&server, "carol?since=6").await;
    carol.recv_type("welcome").await;
    assert_eq!(carol.recv_type("history").await["messages"], json!([]));

    let bad = server.get("/ws/dave?since=abc");
    assert_eq!(bad.status, 400);
}

/// Messages committed while a client connects arrive exactly once, either in
/// the replay or live.
#[tokio::test]
async fn connecting_during_traffic_sees_each_message_once() {
    let server = Server::start_with(&["--history", "1000"]);
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    let sender = tokio::spawn(async move {
        for i in 0..300 {
            alice.say(&format!("t {i}"), &format!("t-{i}")).await;
        }
        alice
    });
    let mut seen = Vec::new();
    let mut clients = Vec::new();
    for name in ["b1", "b2", "b3", "b4", "b5"] {
        tokio::time::sleep(Duration::from_millis(10)).await;
        clients.push(Client::connect(&server, name).await);
    }
    let _alice = sender.await.unwrap();
    for mut client in clients {
        client.recv_type("welcome").await;
        let history = client.recv_type("history").await;
        let mut got = seqs(&history["messages"]);
        while got.last().copied().unwrap_or(0) < 300 {
            got.push(client.recv_type("message").await["seq"].as_u64().unwrap());
        }
        assert_eq!(got, (1..=300).collect::<Vec<_>>());
        seen.push(got.len());
    }
    assert_eq!(seen.len(), 5);
}

/// A retry with a cid already stored is not stored again; the sender gets
/// the stored copy back and nobody else hears it twice.
#[tokio::test]
async fn retry_with_same_cid_is_stored_once() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    let (mut bob, _, _) = Client::join(&server, "bob").await;
    alice.recv_type("join").await;

    alice.say("once", "same").await;
    let first = alice.recv_type("message").await;
    alice.say("once", "same").await;
    let again = alice.recv_type("message").await;
    assert_eq!(first, again, "the stored copy comes back");

    assert_eq!(bob.recv_type("message").await["seq"], 1);
    let heard = bob.caught_up().await;
    assert!(
        heard.iter().all(|f| f["type"] != "message"),
        "bob heard the retry: {heard:?}"
    );

    // Another user may use the same cid: it is theirs.
    bob.say("mine", "same").await;
    assert_eq!(bob.recv_type("message").await["seq"], 2);

    let (_, _, history) = Client::join(&server, "carol").await;
    assert_eq!(seqs(&history["messages"]), vec![1, 2]);
}

/// Each invalid username is refused with invalid_username, then close 1008.
#[tokio::test]
async fn invalid_usernames_are_refused() {
    let server = Server::start();
    let long = "x".repeat(33);
    let cases = [
        "%20",
        "%00",
        long.as_str(),
        "a%E2%80%8Bb",
        "SYSTEM",
        "system",
        "..%2f",
        "%E2%80%AEevil",
    ];
    for raw in cases {
        let mut client = Client::connect(&server, raw).await;
        let error = client.recv().await;
        assert_eq!(error["type"], "error", "{raw}");
        assert_eq!(error["code"], "invalid_username", "{raw}");
        let close = client.expect_close().await.expect("close frame");
        assert_eq!(close.code, CloseCode::Policy, "{raw}");
    }
    // An empty name does not even match the route.
    assert_eq!(server.get("/ws/").status, 404);
    let (_, welcome, _) = Client::join(&server, "Ana%20Lu%C3%ADsa").await;
    assert_eq!(welcome["username"], "Ana Luísa");
}

/// Each bad frame gets its error code, the connection stays open, and the
/// next valid frame works.
#[tokio::test]
async fn bad_frames_get_error_codes() {
    let server = Server::start();
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    let too_long = "y".repeat(4001);
    let cases: Vec<(Message, &str, Option<&str>)> = vec![
        (Message::text("not json"), "bad_request", None),
        (Message::text(r#"{"type":"dance"}"#), "bad_request", None),
        (
            Message::text(r#"{"message":"no type"}"#),
            "bad_request",
            None,
        ),
        (
            Message::text(r#"{"type":"message","message":42,"cid":"w"}"#),
            "bad_request",
            Some("w"),
        ),
        (
            Message::text(r#"{"type":"typing","active":"yes"}"#),
            "bad_request",
            None,
        ),
        (Message::binary(vec![1, 2, 3]), "bad_request", None),
        (
            Message::text(r#"{"type":"message","message":"  \n ","cid":"e"}"#),
            "empty",
            Some("e"),
        ),
        (
            Message::text(json!({"type":"message","message":too_long,"cid":"l"}).to_string()),
            "too_long",
            Some("l"),
        ),
    ];
    for (frame, code, cid) in cases {
        let shown = format!("{frame:?}").chars().take(60).collect::<String>();
        alice.send_raw(frame).await;
        let error = alice.recv().await;
        assert_eq!(error["type"], "error", "{shown}");
        assert_eq!(error["code"], code, "{shown}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(error["cid"].as_str(), cid, "{shown}");
        if code == "too_long" {
            // The page says it in its own words, from the detail and its params.
            assert_eq!(error["detail"], "too_many_chars", "{shown}");
            assert_eq!(
                error["params"],
                json!({"chars": 4001, "max": 4000}),
                "{shown}"
            );
        }
        alice.say("still works", &format!("ok-{code}")).await;
        assert_eq!(alice.recv().await["type"], "message", "after {shown}");
    }
}

/// A client that never reads is cut off once its backlog passes the limit,
/// and the others keep receiving.
#[tokio::test]
async fn a_client_that_never_reads_is_cut_off() {
    let server = Server::start_with(&["--history", "0"]);
    let (sender, _, _) = Client::join(&server, "sender").await;
    let (mut reader, _, _) = Client::join(&server, "reader").await;
    let (mut stalled, _, _) = Client::join(&server, "stalled").await;
    let big = "z".repeat(3900);
    let count = 3000;
    let (mut outgoing, mut incoming) = sender.ws.split();
    // The sender counts its own echoes as it reads them (or it would be a
    // slow reader too), and stays at most 100 messages ahead of them, so
    // the healthy clients never lag far even on a busy machine while the
    // stalled one falls ever further behind.
    let echoed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let echoes = echoed.clone();
    let draining = tokio::spawn(async move {
        while incoming.next().await.is_some() {
            echoes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let sending = tokio::spawn(async move {
        for i in 0..count {
            while i >= echoed.load(std::sync::atomic::Ordering::Relaxed) + 100 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let frame = json!({"type":"message","message":big,"cid":format!("b-{i}")});
            outgoing
                .send(Message::text(frame.to_string()))
                .await
                .unwrap();
        }
        outgoing
    });
    let mut received = 0;
    while received < count {
        if reader.recv().await["type"] == "message" {
            received += 1;
        }
    }
    let _sender = sending.await.unwrap();
    draining.abort();
    wait_until("the stalled client is disconnected", || {
        server.get("/healthz").json()["connections"] == 2
    });
    // What the stalled client finds after its buffered frames: a 1008 close.
    let close = loop {
        match stalled.next_event().await {
            Event::Frame(_) => continue,
            Event::Closed(frame) => break frame,
        }
    };
    if let Some(close) = close {
        assert_eq!(close.code, CloseCode::Policy);
    }
}
