//! Several instances sharing one PostgreSQL: a client on any of them sees
//! the same chat, rooms, names and presence; an instance killed under load
//! loses nothing its clients were told was stored; PostgreSQL restarting
//! costs `unavailable` answers, not messages; the PostgreSQL guide's nginx example
//! works.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::nginx::Nginx;
use common::owner::{Owner, first_frame};
use common::postgres::Cluster;
use common::tus::Tus;
use common::{Client, Server};

fn start(url: &str) -> Server {
    Server::start_with(&["--postgres", url])
}

/// Tries `attempt` until it gives an answer, failing the test after 20 s
/// with what the last try saw. Each try is a round trip to the servers:
/// other instances' news takes a moment to arrive.
async fn eventually<T>(what: &str, mut attempt: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match attempt().await {
            Ok(done) => return done,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}: {seen}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks `client` who is online until `done` holds for the answer's names.
async fn who_until(client: &mut Client, what: &str, done: impl Fn(&[String]) -> bool) {
    eventually(what, async || {
        client.send_json(json!({"type":"who","prefix":""})).await;
        let who = client.recv_type("who").await;
        let names: Vec<String> = who["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect();
        if done(&names) {
            Ok(())
        } else {
            Err(format!("{names:?}"))
        }
    })
    .await;
}

/// Alice and carol on one instance, bob on another: chat goes both ways
/// with one seq for everyone, typing crosses, a direct message between
/// alice and bob reaches only them, a room made on one is joined on the
/// other, unread counts and read marks follow bob to his tabs on either,
/// an owned name cannot be taken on the other instance, a search on one
/// finds what was said on the other, and leaving shows on both.
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

    // A room made on A, joined on B: both hear its members, and its
    // messages reach both.
    alice
        .send(json!({"type":"create_room","room":"#plans"}))
        .await;
    alice.client.recv_type("room").await;
    // B hears of the room a moment later: bob finds it in the list first,
    // as a user would.
    eventually("B lists #plans", async || {
        bob.send(json!({"type":"list_rooms"})).await;
        let list = bob.client.recv_type("room_list").await;
        let rooms = list["rooms"].as_array().unwrap();
        match rooms.iter().any(|r| r["room"] == "plans") {
            true => Ok(()),
            false => Err(list.to_string()),
        }
    })
    .await;
    bob.send(json!({"type":"join_room","room":"plans"})).await;
    let joined = next_of(&mut bob.client, &["room", "error"]).await;
    assert_eq!(
        joined["members"].as_array().map(Vec::len),
        Some(2),
        "{joined}"
    );
    let update = alice.client.recv_type("room").await;
    assert_eq!(update["members"].as_array().unwrap().len(), 2, "{update}");
    alice.say_in("plans", "picnic friday?").await;
    alice.say_in("plans", "bring food").await;
    assert_eq!(bob.client.recv_type("message").await["room"], "plans");

    // Unread counts and read marks: bob's tab on A counts what was said,
    // and a read on B reaches it.
    let mut bob_on_a = bob.again(&a, "bob").await;
    let plans = |welcome: &Value| {
        welcome["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|room| room["room"] == "plans")
            .cloned()
            .unwrap_or_else(|| panic!("plans in {welcome}"))
    };
    assert_eq!(plans(&bob_on_a.welcome)["unread"], 2);
    let last = alice.say_in("plans", "3 pm").await;
    // bob marks read what he has seen, as the page does.
    while bob.client.recv_type("message").await["seq"] != last["seq"] {}
    bob.send(json!({"type":"read","room":"plans","seq":last["seq"]}))
        .await;
    let read = bob_on_a.client.recv_type("read").await;
    assert_eq!(
        (read["room"].as_str(), read["unread"].as_u64()),
        (Some("plans"), Some(0))
    );
    let bob_again = bob.again(&a, "bob").await;
    assert_eq!(
        plans(&bob_again.welcome)["unread"],
        0,
        "A knows bob's read mark"
    );

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

/// The same new name claimed on two instances at the same moment: one
/// claim stands, and soon both instances agree which: its token works on
/// either, the other's on neither.
#[tokio::test]
async fn a_name_claimed_on_two_instances_at_once_ends_with_one_owner() {
    let Some(cluster) =
        Cluster::shared("a_name_claimed_on_two_instances_at_once_ends_with_one_owner")
    else {
        return;
    };
    let url = cluster.create_database();
    let servers = [start(&url), start(&url)];
    let (on_a, on_b) = tokio::join!(
        first_frame(&servers[0], "zed", &["claim"]),
        first_frame(&servers[1], "zed", &["claim"]),
    );
    let tokens: Vec<String> = [on_a, on_b]
        .into_iter()
        .filter(|(_, first)| first["type"] == "welcome")
        .map(|(_, welcome)| format!("token.{}", welcome["token"].as_str().unwrap()))
        .collect();
    assert!(!tokens.is_empty(), "one of them got the name");
    eventually("the instances agree", async || {
        let mut works = Vec::new();
        for token in &tokens {
            for server in &servers {
                let (_, first) = first_frame(server, "zed", &[token]).await;
                works.push(first["type"] == "welcome");
            }
        }
        let owners = works.chunks(2).filter(|both| both == &[true, true]).count();
        let refused = works
            .chunks(2)
            .filter(|both| both == &[false, false])
            .count();
        match owners == 1 && refused == tokens.len() - 1 {
            true => Ok(()),
            false => Err(format!("{works:?}")),
        }
    })
    .await;
}

/// Bob marks a room read on B, message by message, while alice on A keeps
/// changing her settings in that room (each change makes B read the room
/// again): B never trades a read mark of bob's that is on its way to the
/// database for the older one it reads back, so his unread count on B ends
/// at 0 and agrees with what is stored.
#[tokio::test]
async fn a_room_read_again_never_undoes_this_instances_own_changes() {
    const MESSAGES: u64 = 40;
    let Some(cluster) =
        Cluster::shared("a_room_read_again_never_undoes_this_instances_own_changes")
    else {
        return;
    };
    let url = cluster.create_database();
    let (a, b) = (start(&url), start(&url));
    let mut alice = Owner::claim(&a, "alice").await;
    let mut bob = Owner::claim(&b, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"#plans"}))
        .await;
    alice.client.recv_type("room").await;
    eventually("bob is in #plans", async || {
        bob.send(json!({"type":"join_room","room":"plans"})).await;
        let joined = next_of(&mut bob.client, &["room", "error"]).await;
        match joined["type"] == "room" {
            true => Ok(()),
            false => Err(joined.to_string()),
        }
    })
    .await;
    let mut last = 0;
    for n in 0..MESSAGES {
        let sent = alice.say_in("plans", &format!("note {n}")).await;
        alice
            .send(json!({"type":"room_settings","room":"plans","muted": n % 2 == 0}))
            .await;
        loop {
            let heard = next_of(&mut bob.client, &["message"]).await;
            if heard["seq"] == sent["seq"] {
                break;
            }
        }
        last = sent["seq"].as_u64().unwrap();
        bob.send(json!({"type":"read","room":"plans","seq":last}))
            .await;
    }
    let db = Cluster::db_of(&url);
    eventually("bob's last read mark is stored", async || {
        let stored = cluster.psql(
            db,
            "SELECT last_read FROM members m JOIN claims c ON c.user_id = m.user_id
             WHERE m.room = 'plans' AND c.name = 'bob'",
        );
        match stored.trim() == last.to_string() {
            true => Ok(()),
            false => Err(stored),
        }
    })
    .await;
    // B's memory agrees, whatever it read again meanwhile.
    eventually("bob's tab on B shows nothing unread", async || {
        let tab = bob.again(&b, "bob").await;
        let plans = tab.welcome["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|room| room["room"] == "plans")
            .cloned()
            .unwrap();
        match plans["last_read"] == last {
            true => Ok(()),
            false => Err(plans.to_string()),
        }
    })
    .await;
}

/// Two instances sharing a files folder: a file uploaded (tus) and shared on
/// one is announced on the other and downloads from it byte for byte.
#[tokio::test]
async fn a_file_shared_on_one_instance_downloads_from_the_other() {
    let Some(cluster) = Cluster::shared("a_file_shared_on_one_instance_downloads_from_the_other")
    else {
        return;
    };
    let url = cluster.create_database();
    let files = tempfile::TempDir::new().unwrap();
    let files_dir = files.path().to_str().unwrap();
    let a = Server::start_with(&["--postgres", &url, "--files", files_dir]);
    let b = Server::start_with(&["--postgres", &url, "--files", files_dir]);
    let mut alice = Owner::claim(&a, "alice").await;
    let mut bob = Owner::claim(&b, "bob").await;
    let token_of = |owner: &Owner| owner.token.trim_start_matches("token.").to_owned();
    let uploader = Tus {
        addr: a.addr,
        token: token_of(&alice),
    };
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let id = uploader.upload("notes.bin", "lobby", &content);
    alice
        .send(json!({"type":"message","room":"lobby","message":"","cid":"f1","files":[id]}))
        .await;
    let sent = next_of(&mut alice.client, &["message", "error"]).await;
    assert_eq!(sent["type"], "message", "{sent}");
    let heard = bob.client.recv_type("message").await;
    assert_eq!(heard["files"][0]["id"], id.as_str());
    let url = heard["files"][0]["url"].as_str().unwrap();
    let reader = Tus {
        addr: b.addr,
        token: token_of(&bob),
    };
    let fetched = reader.get(url, &[]);
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert!(fetched.body == content, "byte for byte");
}

/// Four instances on one database, a sender on each, all writing to the
/// lobby at once: every message is acknowledged with a seq of its own, the
/// room's stored log (messages and changes) is 1, 2, 3.. with no gap and no
/// message stored twice, and every sender heard the whole log in that one
/// order.
#[tokio::test]
async fn four_instances_writing_at_once_leave_no_gap_and_agree_on_the_order() {
    const EACH: usize = 100;
    const INSTANCES: usize = 4;
    let Some(cluster) =
        Cluster::shared("four_instances_writing_at_once_leave_no_gap_and_agree_on_the_order")
    else {
        return;
    };
    let url = cluster.create_database();
    let servers: Vec<Server> = (0..INSTANCES).map(|_| start(&url)).collect();
    // Everyone joins before anyone writes, so each hears all 400 live: a
    // message sent while another still joined came in that one's history
    // instead, and its count stopped one short.
    let mut clients = Vec::new();
    for (n, server) in servers.iter().enumerate() {
        let (client, _, history) = Client::join(server, &format!("sender{n}")).await;
        assert_eq!(history["messages"], json!([]));
        clients.push(client);
    }
    let senders: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(n, client)| tokio::spawn(send_all(client, n, EACH, INSTANCES * EACH)))
        .collect();
    let mut heard = Vec::new();
    for sender in senders {
        heard.push(sender.await.unwrap());
    }
    let db = Cluster::db_of(&url);
    let stored = cluster.psql(
        db,
        "SELECT seq, cid FROM messages WHERE room = 'lobby'
         UNION ALL SELECT seq, cid FROM changes WHERE room = 'lobby' ORDER BY seq",
    );
    let stored: Vec<(u64, String)> = stored
        .lines()
        .map(|line| {
            let (seq, cid) = line.split_once('|').unwrap();
            (seq.parse().unwrap(), cid.to_owned())
        })
        .collect();
    let seqs: Vec<u64> = stored.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=(INSTANCES * EACH) as u64).collect::<Vec<_>>(),
        "gap-free, each seq once"
    );
    let mut cids: Vec<&String> = stored.iter().map(|(_, cid)| cid).collect();
    cids.sort();
    cids.dedup();
    assert_eq!(cids.len(), INSTANCES * EACH, "every cid stored once");
    for (n, heard) in heard.iter().enumerate() {
        assert_eq!(
            heard, &stored,
            "sender{n} heard the log in the stored order"
        );
    }
}

/// Sends `count` messages as fast as the server takes them, 50 in flight
/// at most, and returns every message heard, (seq, cid), in the order
/// heard, once `total` have been.
async fn send_all(
    mut client: Client,
    sender: usize,
    count: usize,
    total: usize,
) -> Vec<(u64, String)> {
    let me = format!("sender{sender}");
    let mut heard = Vec::with_capacity(total);
    let (mut sent, mut acked) = (0, 0);
    while heard.len() < total {
        while sent < count && sent - acked < 50 {
            client
                .say(&format!("{me} says {sent}"), &format!("{me}-{sent}"))
                .await;
            sent += 1;
        }
        let next = tokio::time::timeout(Duration::from_secs(9), client.next_event()).await;
        let frame = match next {
            Ok(common::Event::Frame(frame)) => frame,
            Ok(common::Event::Closed(close)) => panic!("{me} was closed: {close:?}"),
            Err(_) => panic!(
                "{me} heard nothing for 9 s: {} of {total} heard, the last {:?}, {acked} of {sent} acknowledged",
                heard.len(),
                heard.last()
            ),
        };
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" {
            acked += usize::from(frame["username"] == me);
            heard.push((
                frame["seq"].as_u64().unwrap(),
                frame["cid"].as_str().unwrap().to_owned(),
            ));
        }
    }
    heard
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

    let mut ledger = Ledger::default();
    // Half of each sender's messages before the kill, unacknowledged ones
    // in flight when it comes.
    for i in 0..EACH / 2 {
        ann.say(&format!("ann {i}"), &format!("ann-{i}")).await;
        bea.say(&format!("bea {i}"), &format!("bea-{i}")).await;
    }
    while ledger.acked_of("bea") < EACH / 4 {
        ledger.note(&bea.recv().await, "bea");
    }
    b.kill_hard();
    let killed = Instant::now();
    // bea reads what reached her before the cut.
    while let common::Event::Frame(frame) = bea.next_event().await {
        ledger.note(&frame, "bea");
    }
    drop(gone.ws.close(None).await);
    let since = ledger.bea_seen.keys().next_back().copied().unwrap_or(0);
    let mut bea = Client::connect(&a, &format!("bea?since={since}")).await;
    bea.recv_type("welcome").await;
    let replay = bea.recv_type("history").await;
    for message in replay["messages"].as_array().unwrap() {
        ledger.note(message, "bea");
    }
    // bea sends again all she has no acknowledgement for, then the rest.
    for i in 0..EACH {
        let cid = format!("bea-{i}");
        if !ledger.acked.contains_key(&cid) {
            bea.say(&format!("bea {i}"), &cid).await;
        }
    }
    for i in EACH / 2..EACH {
        ann.say(&format!("ann {i}"), &format!("ann-{i}")).await;
    }
    // Everyone's acknowledgements arrive.
    while ledger.acked_of("ann") < EACH {
        let frame = ann.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        ledger.note(&frame, "ann");
    }
    while ledger.acked_of("bea") < EACH {
        let frame = bea.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        ledger.note(&frame, "bea");
    }
    assert_eq!(ledger.acked.len(), 2 * EACH);

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
            ledger.acked.get(cid),
            Some(seq),
            "{cid} was acknowledged as stored"
        );
    }
    // bea saw the whole log, live or replayed (the last of ann's may still
    // be on the way to her).
    while ledger.bea_seen.keys().next_back() < seqs.last() {
        ledger.note(&bea.recv().await, "bea");
    }
    let bea_seqs: Vec<u64> = ledger.bea_seen.keys().copied().collect();
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

/// An instance stopped cleanly (SIGTERM): its users hear 1001; the one who
/// reconnects to the other instance at once never shows as gone there,
/// and the one who does not shows offline within about 5 s.
#[tokio::test]
async fn an_instance_stopping_cleanly_lets_its_users_move_without_a_flap() {
    let Some(cluster) =
        Cluster::shared("an_instance_stopping_cleanly_lets_its_users_move_without_a_flap")
    else {
        return;
    };
    let url = cluster.create_database();
    let a = start(&url);
    let mut b = start(&url);
    let (mut watcher, _, _) = Client::join(&a, "watcher").await;
    let (mut mover, _, _) = Client::join(&b, "mover").await;
    let (_stayer, _, _) = Client::join(&b, "stayer").await;
    who_until(&mut watcher, "the watcher sees both", |names| {
        names.iter().any(|n| n == "mover") && names.iter().any(|n| n == "stayer")
    })
    .await;
    assert!(b.terminate().success());
    let stopped = Instant::now();
    let close = mover.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    let (_mover, _, _) = Client::join(&a, "mover").await;
    let leave = next_of(&mut watcher, &["leave"]).await;
    assert_eq!(leave["username"], "stayer", "the mover did not flap");
    assert!(
        stopped.elapsed() < Duration::from_secs(12),
        "offline {:?} after the stop",
        stopped.elapsed()
    );
    let late = watcher.caught_up().await;
    assert!(
        late.iter()
            .all(|f| f["type"] != "leave" && f["type"] != "join"),
        "{late:?}"
    );
}

/// PostgreSQL restarts while senders on two instances are sending: what
/// is sent meanwhile is answered `unavailable` with its cid, each sender
/// sends those again (as the page's outbox does), and in the end every
/// message is stored once, gap-free, with the seq its sender was told; the
/// instances hear each other again without being restarted.
#[tokio::test]
async fn postgres_restarting_under_load_costs_unavailable_answers_not_messages() {
    const EACH: usize = 80;
    // A cluster of its own: the other tests share theirs.
    let Some(cluster) =
        Cluster::start("postgres_restarting_under_load_costs_unavailable_answers_not_messages")
    else {
        return;
    };
    let cluster = std::sync::Arc::new(cluster);
    let url = cluster.create_database();
    let a = start(&url);
    let b = start(&url);
    let (ann, _, _) = Client::join(&a, "ann").await;
    let (bob, _, _) = Client::join(&b, "bob").await;
    let progress = std::sync::Arc::new(Progress::default());
    let senders = [(ann, "ann"), (bob, "bob")].map(|(client, name)| {
        tokio::spawn(send_through_outages(client, name, EACH, progress.clone()))
    });
    // Restart once the senders are well under way.
    while progress.acked.load(Ordering::Relaxed) < EACH / 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restarting = cluster.clone();
    tokio::task::spawn_blocking(move || {
        restarting.stop_server(false);
        restarting.start_server();
    })
    .await
    .unwrap();
    let mut acked = BTreeMap::new();
    let mut clients = Vec::new();
    for sender in senders {
        let (client, mine) = sender.await.unwrap();
        acked.extend(mine);
        clients.push(client);
    }
    assert!(
        progress.unavailable.load(Ordering::Relaxed) > 0,
        "the restart was felt"
    );
    let db = Cluster::db_of(&url);
    let stored = cluster.psql(db, "SELECT cid, seq FROM messages ORDER BY seq");
    let stored: BTreeMap<String, u64> = stored
        .lines()
        .map(|line| {
            let (cid, seq) = line.split_once('|').unwrap();
            (cid.to_owned(), seq.parse().unwrap())
        })
        .collect();
    assert_eq!(stored.len(), 2 * EACH, "each message stored once");
    assert_eq!(stored, acked, "stored with the seq its sender was told");
    let mut seqs: Vec<u64> = stored.values().copied().collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=2 * EACH as u64).collect::<Vec<_>>(), "gap-free");

    let [mut ann, mut bob] = <[Client; 2]>::try_from(clients).ok().unwrap();
    ann.say("after", "after").await;
    loop {
        let frame = next_of(&mut bob, &["message"]).await;
        if frame["message"] == "after" {
            break;
        }
    }
}

#[derive(Default)]
struct Progress {
    acked: AtomicUsize,
    unavailable: AtomicUsize,
}

/// Sends `count` messages, up to 10 in flight, sending again after a
/// moment each one answered `unavailable`, until all are acknowledged;
/// returns each cid's acknowledged seq.
async fn send_through_outages(
    mut client: Client,
    me: &str,
    count: usize,
    progress: std::sync::Arc<Progress>,
) -> (Client, BTreeMap<String, u64>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = BTreeMap::new();
    let mut waiting: Vec<usize> = (0..count).rev().collect();
    let mut in_flight = 0;
    while acked.len() < count {
        assert!(
            Instant::now() < deadline,
            "{me}: {} of {count} stored",
            acked.len()
        );
        while in_flight < 10
            && let Some(n) = waiting.pop()
        {
            client.say(&format!("{me} {n}"), &format!("{me}-{n}")).await;
            in_flight += 1;
        }
        let frame = client.recv().await;
        match frame["type"].as_str() {
            Some("message") if frame["username"] == me => {
                let cid = frame["cid"].as_str().unwrap().to_owned();
                acked.insert(cid, frame["seq"].as_u64().unwrap());
                in_flight -= 1;
                progress.acked.fetch_add(1, Ordering::Relaxed);
            }
            Some("error") => {
                assert_eq!(frame["code"], "unavailable", "{frame}");
                let cid = frame["cid"].as_str().expect("the cid comes back");
                let n = cid
                    .strip_prefix(&format!("{me}-"))
                    .unwrap()
                    .parse()
                    .unwrap();
                waiting.push(n);
                in_flight -= 1;
                progress.unavailable.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => {}
        }
    }
    (client, acked)
}

/// What the killed-instance test saw: each acknowledged cid's seq, and
/// every seq bea saw, live or replayed.
#[derive(Default)]
struct Ledger {
    acked: BTreeMap<String, u64>,
    bea_seen: BTreeMap<u64, ()>,
}

impl Ledger {
    /// Notes a message frame (or replayed message) that `reader` got.
    fn note(&mut self, frame: &Value, reader: &str) {
        if frame["type"] != "message" && frame.get("type").is_some() {
            return;
        }
        let seq = frame["seq"].as_u64().unwrap();
        if reader == "bea" {
            self.bea_seen.insert(seq, ());
        }
        if frame["username"] == reader {
            self.acked
                .insert(frame["cid"].as_str().unwrap().to_owned(), seq);
        }
    }

    fn acked_of(&self, sender: &str) -> usize {
        let prefix = format!("{sender}-");
        self.acked
            .keys()
            .filter(|cid| cid.starts_with(&prefix))
            .count()
    }
}

/// The PostgreSQL guide's nginx example, in a real nginx in front of two instances
/// (trusting it as the guide says): the page and the WebSocket go through
/// it, the per-IP cap counts the clients behind it rather than nginx, and
/// when the instance a client was on is killed, the client reconnects
/// through nginx to the other, resumes with `since`, and is heard by users
/// of that instance.
#[tokio::test]
async fn the_readmes_nginx_example_moves_clients_off_a_dead_instance() {
    let Some(cluster) =
        Cluster::shared("the_readmes_nginx_example_moves_clients_off_a_dead_instance")
    else {
        return;
    };
    let url = cluster.create_database();
    let flags = [
        "--postgres",
        &url,
        "--trusted-proxy",
        "127.0.0.1",
        "--max-connections-per-ip",
        "1",
    ];
    let mut servers = [Server::start_with(&flags), Server::start_with(&flags)];
    let Some(nginx) = Nginx::start(
        "the_readmes_nginx_example_moves_clients_off_a_dead_instance",
        [servers[0].addr, servers[1].addr],
    ) else {
        return;
    };
    let page = common::http_get(nginx.addr, "/");
    assert!(
        page.text().contains("<html"),
        "the page comes through nginx"
    );

    let ann_ip = "127.0.0.2".parse().unwrap();
    let mut ann = Client::connect_from(nginx.addr, "ann", ann_ip)
        .await
        .unwrap_or_else(|err| panic!("{err}: {}", nginx.log()));
    ann.recv_type("welcome").await;
    let mut bob = Client::connect_from(nginx.addr, "bob", "127.0.0.3".parse().unwrap())
        .await
        .expect("another client address is not capped by ann's");
    bob.recv_type("welcome").await;
    match Client::connect_from(nginx.addr, "ann2", ann_ip).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429, "ann's address is at its cap");
        }
        Err(err) => panic!("refused with {err}"),
        Ok(_) => panic!("a second connection from ann's address got in"),
    }
    let connections = |server: &Server| server.get("/healthz").json()["connections"].clone();
    let here = usize::from(connections(&servers[0]) != 2);
    assert_eq!(
        connections(&servers[here]),
        2,
        "ip_hash keeps one network on one instance"
    );
    let there = 1 - here;
    let (mut watcher, _, _) = Client::join(&servers[there], "watcher").await;

    ann.say("one", "c1").await;
    let acked = next_of(&mut ann, &["message"]).await;
    assert_eq!(next_of(&mut watcher, &["message"]).await["message"], "one");

    servers[here].kill_hard();
    while let common::Event::Frame(_) = ann.next_event().await {}
    let mut ann = Client::connect_from(nginx.addr, &format!("ann?since={}", acked["seq"]), ann_ip)
        .await
        .unwrap_or_else(|err| panic!("nginx moved ann on: {err}: {}", nginx.log()));
    ann.recv_type("welcome").await;
    let replay = ann.recv_type("history").await;
    assert_eq!(replay["messages"], json!([]), "nothing was missed");
    assert_eq!(
        connections(&servers[there]),
        2,
        "ann is on the live instance"
    );
    ann.say("two", "c2").await;
    assert_eq!(next_of(&mut ann, &["message"]).await["seq"], 2);
    assert_eq!(next_of(&mut watcher, &["message"]).await["message"], "two");
}

async fn next_of(client: &mut Client, kinds: &[&str]) -> Value {
    loop {
        let frame = client.recv().await;
        if kinds.iter().any(|kind| frame["type"] == *kind) {
            return frame;
        }
    }
}
