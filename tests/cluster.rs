//! Several instances sharing one PostgreSQL: a client on any of them sees
//! the same chat, rooms, names and presence; an instance killed under load
//! loses nothing its clients were told was stored; PostgreSQL restarting
//! costs `unavailable` answers, not messages.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::owner::Owner;
use common::postgres::Cluster;
use common::{Client, Server};

fn start(url: &str) -> Server {
    Server::start_with(&["--postgres", url])
}

/// Asks `client` who is online until `done` holds for the answer's names
/// (each answer is an event; other instances' news takes a moment).
async fn who_until(client: &mut Client, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        client.send_json(json!({"type":"who","prefix":""})).await;
        let who = client.recv_type("who").await;
        let names: Vec<String> = who["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect();
        if done(&names) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Alice and carol on one instance, bob on another: chat goes both ways
/// with one seq for everyone, typing crosses, a direct message between
/// alice and bob reaches only them, an owned name cannot be taken on the
/// other instance, a search on one finds what was said on the other, and
/// leaving shows on both.
#[tokio::test]
async fn two_instances_share_chat_rooms_names_and_presence() {
    let Some(cluster) = Cluster::shared("two_instances_share_chat_rooms_names_and_presence") else {
        return;
    };
    let url = cluster.create_database();
    let a = start(&url);
    let b = start(&url);
    let mut alice = Owner::claim(&a, "alice").await;
    let mut carol = Owner::claim(&a, "carol").await;
    let mut bob = Owner::claim(&b, "bob").await;
    who_until(&mut bob.client, "bob sees alice and carol", |names| {
        names.iter().any(|n| n == "alice") && names.iter().any(|n| n == "carol")
    })
    .await;
    who_until(&mut alice.client, "alice sees bob", |names| {
        names.iter().any(|n| n == "bob")
    })
    .await;

    // The lobby, both ways, one seq.
    let sent = alice.say_in("lobby", "hello from a").await;
    let heard = bob.client.recv_type("message").await;
    assert_eq!(heard["message"], "hello from a");
    assert_eq!(heard["seq"], sent["seq"]);
    let sent = bob.say_in("lobby", "hello from b").await;
    let heard = alice.client.recv_type("message").await;
    assert_eq!(heard["message"], "hello from b");
    assert_eq!(heard["seq"], sent["seq"]);
    carol.client.recv_type("message").await;
    carol.client.recv_type("message").await;

    // Typing crosses too.
    bob.send(json!({"type":"typing","active":true})).await;
    let typing = alice.client.recv_type("typing").await;
    assert_eq!(typing["username"], "bob");
    assert_eq!(typing["active"], true);

    // A direct message made on A with a user on B.
    alice.send(json!({"type":"dm","username":"bob"})).await;
    let mine = alice.client.recv_type("room").await;
    let theirs = bob.client.recv_type("room").await;
    assert_eq!(mine["room"], theirs["room"]);
    assert_eq!(theirs["peer"], "alice");
    let dm = mine["room"].as_str().unwrap().to_owned();
    let sent = bob.say_in(&dm, "psst, alice").await;
    let heard = alice.client.recv_type("message").await;
    assert_eq!(heard["message"], "psst, alice");
    assert_eq!(heard["room"], dm.as_str());
    assert_eq!(heard["seq"], sent["seq"]);
    let carol_heard = carol.heard("message").await;
    assert!(
        carol_heard.is_empty(),
        "carol heard nothing: {carol_heard:?}"
    );
    carol
        .expect_error(json!({"type":"history","room":dm,"since":0}), "not_found")
        .await;

    // alice's name is hers on B too.
    let mut impostor = Client::connect(&b, "alice").await;
    assert_eq!(impostor.recv().await["code"], "name_taken");

    // A search on B finds what was said on A.
    bob.send(json!({"type":"search","query":"hello from a"}))
        .await;
    let found = bob.client.recv_type("search_results").await;
    assert_eq!(found["total"], 1, "{found}");

    // Leaving shows on the other instance.
    drop(carol);
    let leave = bob.client.recv_type("leave").await;
    assert_eq!(leave["username"], "carol");
}

/// One instance is killed with kill -9 while its users and another
/// instance's are sending. Those on it come back on the other with
/// `since` and send again what was not acknowledged: every acknowledged
/// message is stored once, every client ends with the room's whole log in
/// order, the one who moved never shows as offline, and the one who did
/// not come back shows offline within about 10 s.
#[tokio::test]
async fn an_instance_killed_under_load_loses_nothing() {
    const EACH: usize = 60;
    let Some(cluster) = Cluster::shared("an_instance_killed_under_load_loses_nothing") else {
        return;
    };
    let url = cluster.create_database();
    let a = start(&url);
    let mut b = start(&url);
    let (mut ann, _, _) = Client::join(&a, "ann").await;
    let (mut bea, _, _) = Client::join(&b, "bea").await;
    let (mut gone, _, _) = Client::join(&b, "gone").await;
    who_until(&mut ann, "ann sees bea and gone", |names| {
        names.iter().any(|n| n == "bea") && names.iter().any(|n| n == "gone")
    })
    .await;
    // A watcher on A records everything it hears.
    let (mut watcher, _, _) = Client::join(&a, "watcher").await;

    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut bea_seen: BTreeMap<u64, String> = BTreeMap::new();
    // Half of each sender's messages before the kill, unacknowledged ones
    // in flight when it comes.
    for i in 0..EACH / 2 {
        ann.say(&format!("ann {i}"), &format!("ann-{i}")).await;
        bea.say(&format!("bea {i}"), &format!("bea-{i}")).await;
    }
    let mut bea_acked = 0;
    while bea_acked < EACH / 4 {
        let frame = bea.recv().await;
        if frame["type"] == "message" {
            let seq = frame["seq"].as_u64().unwrap();
            bea_seen.insert(seq, frame["cid"].as_str().unwrap_or("").to_owned());
            if frame["username"] == "bea" {
                acked.insert(frame["cid"].as_str().unwrap().to_owned(), seq);
                bea_acked += 1;
            }
        }
    }
    b.kill_hard();
    let killed = Instant::now();
    // bea reads what reached her before the cut.
    while let common::Event::Frame(frame) = bea.next_event().await {
        if frame["type"] == "message" {
            let seq = frame["seq"].as_u64().unwrap();
            bea_seen.insert(seq, frame["cid"].as_str().unwrap_or("").to_owned());
            if frame["username"] == "bea" {
                acked.insert(frame["cid"].as_str().unwrap().to_owned(), seq);
            }
        }
    }
    drop(gone.ws.close(None).await);
    let since = bea_seen.keys().next_back().copied().unwrap_or(0);
    let mut bea = Client::connect(&a, &format!("bea?since={since}")).await;
    bea.recv_type("welcome").await;
    let replay = bea.recv_type("history").await;
    for message in replay["messages"].as_array().unwrap() {
        let seq = message["seq"].as_u64().unwrap();
        bea_seen.insert(seq, message["cid"].as_str().unwrap_or("").to_owned());
        if message["username"] == "bea" {
            acked.insert(message["cid"].as_str().unwrap().to_owned(), seq);
        }
    }
    // bea sends again all she has no acknowledgement for, then the rest.
    for i in 0..EACH {
        let cid = format!("bea-{i}");
        if !acked.contains_key(&cid) {
            bea.say(&format!("bea {i}"), &cid).await;
        }
    }
    for i in EACH / 2..EACH {
        ann.say(&format!("ann {i}"), &format!("ann-{i}")).await;
    }
    // Everyone's acknowledgements arrive.
    let mut ann_acked = 0;
    while ann_acked < EACH {
        let frame = ann.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["username"] == "ann" {
            acked.insert(
                frame["cid"].as_str().unwrap().to_owned(),
                frame["seq"].as_u64().unwrap(),
            );
            ann_acked += 1;
        }
    }
    while acked.keys().filter(|cid| cid.starts_with("bea-")).count() < EACH {
        let frame = bea.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" {
            let seq = frame["seq"].as_u64().unwrap();
            bea_seen.insert(seq, frame["cid"].as_str().unwrap_or("").to_owned());
            if frame["username"] == "bea" {
                acked.insert(frame["cid"].as_str().unwrap().to_owned(), seq);
            }
        }
    }
    assert_eq!(acked.len(), 2 * EACH);

    // Stored once each, gap-free.
    let db = Cluster::db_of(&url);
    let stored = cluster.psql(
        db,
        "SELECT cid, seq FROM messages WHERE room = 'lobby' ORDER BY seq",
    );
    let stored: Vec<(String, u64)> = stored
        .lines()
        .map(|line| {
            let (cid, seq) = line.split_once('|').unwrap();
            (cid.to_owned(), seq.parse().unwrap())
        })
        .collect();
    assert_eq!(stored.len(), 2 * EACH, "each message once");
    let seqs: Vec<u64> = stored.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(seqs, (1..=2 * EACH as u64).collect::<Vec<_>>(), "gap-free");
    for (cid, seq) in &stored {
        assert_eq!(
            acked.get(cid),
            Some(seq),
            "{cid} was acknowledged as stored"
        );
    }
    // bea saw the whole log, live or replayed.
    let bea_seqs: Vec<u64> = bea_seen.keys().copied().collect();
    assert_eq!(bea_seqs, seqs, "bea missed nothing across the move");

    // The watcher heard every message in order, and gone leave, bea not.
    let mut watched = Vec::new();
    let mut left = Vec::new();
    while watched.len() < 2 * EACH || left.is_empty() {
        let frame = watcher.recv().await;
        match frame["type"].as_str() {
            Some("message") => watched.push(frame["seq"].as_u64().unwrap()),
            Some("leave") => left.push(frame["username"].as_str().unwrap().to_owned()),
            _ => {}
        }
    }
    assert_eq!(
        watched, seqs,
        "the watcher heard every message once, in order"
    );
    assert_eq!(left, ["gone"], "bea moved without showing offline");
    assert!(
        killed.elapsed() < Duration::from_secs(15),
        "gone showed offline {:?} after the kill",
        killed.elapsed()
    );
    let late = watcher.caught_up().await;
    assert!(
        late.iter().all(|f| f["type"] != "leave"),
        "no leave for bea: {late:?}"
    );
}

/// PostgreSQL restarts while users on two instances chat: a message sent
/// meanwhile is answered `unavailable` with its cid, the same message sent
/// again afterwards is stored once, and the instances hear each other
/// again without being restarted.
#[tokio::test]
async fn postgres_restarting_costs_unavailable_answers_not_messages() {
    // A cluster of its own: the other tests share theirs.
    let Some(cluster) =
        Cluster::start("postgres_restarting_costs_unavailable_answers_not_messages")
    else {
        return;
    };
    let url = cluster.create_database();
    let a = start(&url);
    let b = start(&url);
    let (mut ann, _, _) = Client::join(&a, "ann").await;
    let (mut bob, _, _) = Client::join(&b, "bob").await;
    ann.say("before", "c0").await;
    assert_eq!(bob.recv_type("message").await["message"], "before");

    cluster.stop_server(false);
    ann.say("during", "c1").await;
    let error = ann.recv_type("error").await;
    assert_eq!(error["code"], "unavailable", "{error}");
    assert_eq!(error["cid"], "c1");

    cluster.start_server();
    // The sender's outbox tries again until it is acknowledged.
    let deadline = Instant::now() + Duration::from_secs(30);
    let acked = loop {
        ann.say("during", "c1").await;
        let frame = next_of(&mut ann, &["message", "error"]).await;
        if frame["type"] == "message" {
            break frame;
        }
        assert_eq!(frame["code"], "unavailable", "{frame}");
        assert!(Instant::now() < deadline, "PostgreSQL did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(acked["cid"], "c1");
    assert_eq!(bob.recv_type("message").await["message"], "during");
    bob.say("after", "c2").await;
    let heard = next_of(&mut ann, &["message"]).await;
    assert_eq!(heard["message"], "after", "B's news reaches A again");
    let db = Cluster::db_of(&url);
    assert_eq!(
        cluster
            .psql(db, "SELECT string_agg(cid, ',' ORDER BY seq) FROM messages")
            .trim(),
        "c0,c1,c2",
        "each stored once, in order"
    );
}

async fn next_of(client: &mut Client, kinds: &[&str]) -> Value {
    loop {
        let frame = client.recv().await;
        if kinds.iter().any(|kind| frame["type"] == *kind) {
            return frame;
        }
    }
}
