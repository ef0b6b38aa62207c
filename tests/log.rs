//! Each room's history is a log of changes: new messages, edits, deletions
//! and reactions, each with its own seq. Live clients hear every entry; a
//! client that was away catches up exactly, from the resulting state.

mod common;

use std::collections::BTreeMap;

use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A client's view of a room, built only from what the server sent.
#[derive(Debug, Default, PartialEq)]
struct View {
    /// By message seq: the fields that make up what a page shows.
    messages: BTreeMap<u64, Value>,
    /// The highest entry seq applied.
    seq: u64,
}

impl View {
    /// Applies one frame, as a page does.
    fn apply(&mut self, frame: &Value) {
        match frame["type"].as_str() {
            Some("history") => {
                for message in frame["messages"].as_array().unwrap() {
                    self.put(message);
                }
            }
            Some("message") => {
                self.put(frame);
                self.seq = self.seq.max(frame["version"].as_u64().unwrap());
            }
            Some("edit") => {
                let seq = frame["seq"].as_u64().unwrap();
                let target = self.target(frame);
                for key in ["message", "html"] {
                    target[key] = frame[key].clone();
                }
                target["edited"] = frame["edited"].clone();
                target["version"] = json!(seq);
                self.seq = self.seq.max(seq);
            }
            Some("delete") => {
                let seq = frame["seq"].as_u64().unwrap();
                let target = self.target(frame);
                target["deleted"] = json!(true);
                target["message"] = json!("message deleted");
                target["html"] = json!("");
                target["reactions"] = json!([]);
                target["version"] = json!(seq);
                self.seq = self.seq.max(seq);
            }
            Some("react") => {
                let seq = frame["seq"].as_u64().unwrap();
                let (emoji, user, on) = (
                    frame["emoji"].clone(),
                    frame["username"].clone(),
                    frame["on"].as_bool().unwrap(),
                );
                let target = self.target(frame);
                let mut reactions = target["reactions"].as_array().cloned().unwrap_or_default();
                match reactions.iter_mut().position(|r| r["emoji"] == emoji) {
                    Some(at) => {
                        let users = reactions[at]["users"].as_array_mut().unwrap();
                        users.retain(|u| *u != user);
                        if on {
                            users.push(user);
                        }
                        if users.is_empty() {
                            reactions.remove(at);
                        }
                    }
                    None if on => reactions.push(json!({"emoji": emoji, "users": [user]})),
                    None => {}
                }
                target["reactions"] = json!(reactions);
                target["version"] = json!(seq);
                self.seq = self.seq.max(seq);
            }
            _ => {}
        }
    }

    fn put(&mut self, message: &Value) {
        let shown = json!({
            "username": message["username"],
            "message": message["message"],
            "html": message["html"],
            "edited": message.get("edited").cloned().unwrap_or(Value::Null),
            "deleted": message["deleted"].as_bool().unwrap_or(false),
            "reactions": message.get("reactions").cloned().unwrap_or(json!([])),
            "version": message["version"],
        });
        self.messages
            .insert(message["seq"].as_u64().unwrap(), shown);
    }

    fn target(&mut self, frame: &Value) -> &mut Value {
        let seq = frame["target"].as_u64().unwrap();
        self.messages.get_mut(&seq).expect("the target is known")
    }
}

/// Sends `frame` with `cid` and returns the entry that acknowledges it.
async fn entry(owner: &mut Owner, mut frame: Value, cid: &str) -> Value {
    frame["cid"] = json!(cid);
    owner.send(frame).await;
    loop {
        let got = owner.client.recv().await;
        assert_ne!(got["type"], "error", "{got}");
        if got["cid"] == cid {
            return got;
        }
    }
}

async fn refused(owner: &mut Owner, frame: Value) -> Value {
    owner.send(frame).await;
    owner.client.recv_type("error").await
}

/// Every kind of change reaches the others live, with its own seq in the
/// room's one sequence, and is in the history after.
#[tokio::test]
async fn every_change_is_an_entry_live_and_in_history() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let said = alice.say_in("lobby", "**hello** world").await;
    assert_eq!(said["seq"], 1);
    assert_eq!(said["version"], 1);
    assert_eq!(said["html"], "<p><strong>hello</strong> world</p>\n");
    assert_eq!(
        said["message"], "**hello** world",
        "the source stays, for v1"
    );
    assert_eq!(bob.client.recv_type("message").await["seq"], 1);

    let edited = entry(
        &mut alice,
        json!({"type":"edit","target":1,"message":"hello _there_"}),
        "e1",
    )
    .await;
    assert_eq!(edited["type"], "edit");
    assert_eq!(
        (edited["seq"].as_u64(), edited["target"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(edited["html"], "<p>hello <em>there</em></p>\n");
    let reacted = entry(
        &mut bob,
        json!({"type":"react","target":1,"emoji":"🎉","on":true}),
        "r1",
    )
    .await;
    assert_eq!(
        (reacted["seq"].as_u64(), reacted["username"].as_str()),
        (Some(3), Some("bob"))
    );
    let second = alice.say_in("lobby", "to be deleted").await;
    assert_eq!(second["seq"], 4);
    let deleted = entry(&mut alice, json!({"type":"delete","target":4}), "d1").await;
    assert_eq!(deleted["seq"], 5);
    // Bob read the edit while waiting for his own reaction's answer.
    for kind in ["message", "delete"] {
        bob.client.recv_type(kind).await;
    }

    let (_, welcome, history) = Client::join(&server, "carol").await;
    assert_eq!(welcome["seq"], 5, "the lobby's latest entry");
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let first = &messages[0];
    assert_eq!(first["message"], "hello _there_");
    assert_eq!(first["version"], 3);
    assert!(first["edited"].as_i64().is_some());
    assert_eq!(first["reactions"], json!([{"emoji":"🎉","users":["bob"]}]));
    assert_eq!(messages[1]["deleted"], true);
    assert_eq!(messages[1]["message"], "message deleted");
    assert_eq!(messages[1]["html"], "");
}

/// A client that was away across edits, deletions and reactions resumes
/// with `since` and ends with exactly the state of a client that just came:
/// no gap, no duplicate, and not every reaction toggle replayed.
#[tokio::test]
async fn a_resume_ends_in_exactly_the_servers_state() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    for i in 1..=6 {
        alice.say_in("lobby", &format!("message {i}")).await;
    }
    // Bob's view, from the history he got and what he heard.
    let mut away = bob.again(&server, "bob").await;
    let mut before = View::default();
    away.send(json!({"type":"history","before":100})).await;
    before.apply(&away.client.recv_type("history").await);
    before.seq = away.welcome["seq"].as_u64().unwrap();
    drop(away);

    // While he is away: edits, a deletion, reactions toggled many times, and
    // one more message.
    entry(
        &mut alice,
        json!({"type":"edit","target":2,"message":"message 2, fixed"}),
        "e2",
    )
    .await;
    entry(&mut alice, json!({"type":"delete","target":3}), "d3").await;
    for i in 0..40 {
        entry(
            &mut bob,
            json!({"type":"react","target":4,"emoji":"👍","on": i % 2 == 0}),
            &format!("t{i}"),
        )
        .await;
    }
    entry(
        &mut bob,
        json!({"type":"react","target":5,"emoji":"🔥","on":true}),
        "f5",
    )
    .await;
    let seventh = alice.say_in("lobby", "message 7").await["seq"]
        .as_u64()
        .unwrap();
    entry(
        &mut alice,
        json!({"type":"edit","target":seventh,"message":"message 7, fixed"}),
        "e7",
    )
    .await;

    let mut back =
        Client::connect_offering(&server, &format!("bob?since={}", before.seq), &[&bob.token])
            .await;
    let welcome = back.recv_type("welcome").await;
    let replay = back.recv_type("history").await;
    let changed: Vec<u64> = replay["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        changed,
        [2, 3, 4, 5, seventh],
        "the resulting state, not 44 entries"
    );
    before.apply(&replay);
    before.seq = welcome["seq"].as_u64().unwrap();

    let (_, fresh_welcome, fresh_history) = Client::join(&server, "carol").await;
    let mut fresh = View::default();
    fresh.apply(&fresh_history);
    fresh.seq = fresh_welcome["seq"].as_u64().unwrap();
    assert_eq!(before, fresh);
    assert_eq!(fresh.seq, 6 + 2 + 40 + 1 + 1 + 1);
}

/// Live, a client that applies every entry it hears ends where a fresh one
/// starts; and a v1 client, which knows only `message`, still chats.
#[tokio::test]
async fn live_entries_keep_a_client_exact_and_v1_clients_work() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let (mut watcher, welcome, history) = Client::join(&server, "watcher").await;
    let mut live = View::default();
    live.apply(&history);
    live.seq = welcome["seq"].as_u64().unwrap();
    alice.say_in("lobby", "one").await;
    alice.say_in("lobby", "two").await;
    entry(
        &mut alice,
        json!({"type":"react","target":1,"emoji":"❤️","on":true}),
        "h",
    )
    .await;
    entry(
        &mut alice,
        json!({"type":"edit","target":2,"message":"two!"}),
        "x",
    )
    .await;
    entry(&mut alice, json!({"type":"delete","target":1}), "y").await;
    // The v1 watcher chats on regardless.
    watcher.say("plain old message", "v1").await;
    let mut frames = Vec::new();
    while frames.iter().all(|f: &Value| f["cid"] != "v1") {
        frames.push(watcher.recv().await);
    }
    for frame in &frames {
        live.apply(frame);
    }
    let (_, fresh_welcome, fresh_history) = Client::join(&server, "late").await;
    let mut fresh = View::default();
    fresh.apply(&fresh_history);
    fresh.seq = fresh_welcome["seq"].as_u64().unwrap();
    assert_eq!(live, fresh);
}

/// A retried edit, deletion or reaction (same cid) is applied once; the
/// retry's answer goes to the sender alone.
#[tokio::test]
async fn retries_apply_once() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice.say_in("lobby", "hi").await;
    alice.say_in("lobby", "bye").await;
    for frame in [
        json!({"type":"edit","target":1,"message":"hi!"}),
        json!({"type":"react","target":1,"emoji":"👋","on":true}),
        json!({"type":"delete","target":2}),
    ] {
        let kind = frame["type"].as_str().unwrap().to_owned();
        let first = entry(&mut alice, frame.clone(), &kind).await;
        let again = entry(&mut alice, frame, &kind).await;
        assert_eq!(first["seq"], again["seq"], "{kind}: the same entry");
        assert_eq!(first["type"], again["type"]);
    }
    let heard: Vec<Value> = bob
        .client
        .caught_up()
        .await
        .into_iter()
        .filter(|f| ["edit", "react", "delete"].contains(&f["type"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(heard.len(), 3, "each once: {heard:?}");
    let (_, welcome, _) = Client::join(&server, "carol").await;
    assert_eq!(welcome["seq"], 5);
}

/// Only the author edits or deletes; reactions need a room one is in and a
/// real emoji; each refusal has its code and the connection stays open.
#[tokio::test]
async fn authorship_and_bad_changes_are_refused() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice.say_in("lobby", "mine").await;
    for frame in [
        json!({"type":"edit","target":1,"message":"yours now","cid":"e"}),
        json!({"type":"delete","target":1,"cid":"d"}),
    ] {
        let error = refused(&mut bob, frame.clone()).await;
        assert_eq!(error["code"], "forbidden", "{frame}");
        assert_eq!(error["cid"], frame["cid"]);
    }
    let error = refused(&mut alice, json!({"type":"edit","target":99,"message":"x"})).await;
    assert_eq!(error["code"], "not_found");
    let error = refused(
        &mut bob,
        json!({"type":"react","target":1,"emoji":"not an emoji","on":true}),
    )
    .await;
    assert_eq!(error["code"], "invalid_emoji");
    alice
        .send(json!({"type":"create_room","room":"plans","private":true}))
        .await;
    let room = alice.client.recv_type("room").await["room"].clone();
    alice.say_in(room.as_str().unwrap(), "secret").await;
    let error = refused(
        &mut bob,
        json!({"type":"react","room":room,"target":1,"emoji":"👀","on":true}),
    )
    .await;
    assert_eq!(error["code"], "not_found");
    let error = refused(
        &mut alice,
        json!({"type":"message","message":"re","reply_to":42}),
    )
    .await;
    assert_eq!(error["code"], "not_found");
    // A v1 client (no owned name) cannot edit anything.
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    guest.say("guest says", "g").await;
    guest.recv_type("message").await;
    guest
        .send_json(json!({"type":"edit","target":2,"message":"changed"}))
        .await;
    assert_eq!(guest.recv_type("error").await["code"], "not_claimed");
    // Still chatting.
    assert_eq!(bob.say_in("lobby", "all fine").await["message"], "all fine");
}

/// At most 20 different reactions on a message; one person's reaction counts
/// once, from any of their tabs.
#[tokio::test]
async fn reactions_have_a_cap_and_count_people_once() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut tab2 = alice.again(&server, "alice").await;
    alice.say_in("lobby", "react to me").await;
    let emoji = [
        "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍",
        "🤩", "😘", "😗", "😚", "😙",
    ];
    for (i, e) in emoji.iter().enumerate() {
        entry(
            &mut alice,
            json!({"type":"react","target":1,"emoji":e,"on":true}),
            &format!("r{i}"),
        )
        .await;
    }
    let error = refused(
        &mut alice,
        json!({"type":"react","target":1,"emoji":"🥲","on":true}),
    )
    .await;
    assert_eq!(error["code"], "forbidden");
    assert!(error["message"].as_str().unwrap().contains("20"));
    assert_eq!(error["detail"], "too_many_reactions");
    assert_eq!(error["params"], json!({"max": 20}));
    // The other tab adds the same one: nothing new is logged.
    let same = entry(
        &mut tab2,
        json!({"type":"react","target":1,"emoji":"😀","on":true}),
        "again",
    )
    .await;
    assert_eq!(same["seq"], 21, "the message's version: no new entry");
    let (_, welcome, history) = Client::join(&server, "carol").await;
    assert_eq!(welcome["seq"], 21);
    let reactions = history["messages"][0]["reactions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(reactions.len(), 20);
    assert_eq!(reactions[0], json!({"emoji":"😀","users":["alice"]}));
}

/// A deleted message's text, and an edited one's old text, are gone from the
/// history file (or every row of the PostgreSQL database), not just hidden.
#[tokio::test]
async fn a_deleted_text_is_gone_from_the_file() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::claim(&server, "alice").await;
    // A cid of its own: `say_in` would put the text in it. (A cid outlives a
    // deletion on purpose: a retry of the original must not bring it back.)
    entry(
        &mut alice,
        json!({"type":"message","message":"my bank pin is 7Q9X"}),
        "m1",
    )
    .await;
    entry(
        &mut alice,
        json!({"type":"edit","target":1,"message":"my bank pin is W3KZ"}),
        "e",
    )
    .await;
    entry(&mut alice, json!({"type":"delete","target":1}), "d").await;
    drop(alice);
    assert!(server.terminate().success());
    let secrets = ["7Q9X", "W3KZ", "bank pin"];
    if common::postgres::scenarios_on_postgres() {
        // Gone from every row. PostgreSQL's own files keep old row versions
        // until they are vacuumed and reused, which the README says.
        let tables = common::postgres::psql_for(
            &db,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        );
        for table in tables.lines() {
            let rows = common::postgres::psql_for(&db, &format!("SELECT t::text FROM {table} t"));
            for secret in secrets {
                assert!(!rows.contains(secret), "{secret:?} is in {table}: {rows}");
            }
        }
        return;
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        let mut rows = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = rows.column_count();
        let mut rows = rows.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for column in 0..columns {
                if let Ok(Some(text)) = row.get::<_, Option<String>>(column) {
                    for secret in secrets {
                        assert!(!text.contains(secret), "{secret:?} is in {table}: {text}");
                    }
                }
            }
        }
    }
    drop(conn);
    // Nor in a free page of the file as the server left it.
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        !db.with_extension("db-wal").exists(),
        "the WAL was folded in at shutdown"
    );
    for secret in secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} is still in the file"
        );
    }
}

/// With --edit-window-minutes, an old message can no longer be edited.
#[tokio::test]
async fn the_edit_window_closes() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &["--edit-window-minutes", "5"]);
    let mut alice = Owner::claim(&server, "alice").await;
    alice.say_in("lobby", "fresh").await;
    alice.say_in("lobby", "old").await;
    let token = alice.token.clone();
    drop(alice);
    assert!(server.terminate().success());
    common::alter_history(&db, "UPDATE messages SET ts = ts - 600000 WHERE seq = 2");
    let server = Server::start_on_db(&db, &["--edit-window-minutes", "5"]);
    let mut alice = Owner::with_token(&server, "alice", &token).await;
    // The page learns the window from welcome, to offer editing only within it.
    assert_eq!(alice.welcome["limits"]["edit_window_ms"], 300_000);
    entry(
        &mut alice,
        json!({"type":"edit","target":1,"message":"fresh, edited"}),
        "ok",
    )
    .await;
    let error = refused(
        &mut alice,
        json!({"type":"edit","target":2,"message":"too late"}),
    )
    .await;
    assert_eq!(error["code"], "forbidden");
    assert!(
        error["message"].as_str().unwrap().contains("5 minutes"),
        "{error}"
    );
    // A page says it in its own words, from the detail and its params.
    assert_eq!(error["detail"], "edit_window", "{error}");
    assert_eq!(error["params"], json!({"count": 5}), "{error}");
}

/// Mentions are marked, counted per room as badges apart from unread, and
/// cleared by reading; in a direct message every message counts.
#[tokio::test]
async fn mentions_are_counted_for_the_mentioned() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let bob = Owner::claim(&server, "bob").await;
    let token = bob.token.clone();
    drop(bob);
    let said = alice.say_in("lobby", "hey @bob, and @nobody").await;
    assert_eq!(said["mentions"], json!(["bob"]));
    assert!(
        said["html"]
            .as_str()
            .unwrap()
            .contains(r#"<span class="mention">@bob</span>"#)
    );
    alice.say_in("lobby", "no mention here").await;
    alice.say_in("lobby", "@room time for lunch").await;
    alice.send(json!({"type":"dm","username":"bob"})).await;
    let dm = alice.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.say_in(&dm, "psst").await;

    let mut bob = Owner::with_token(&server, "bob", &token).await;
    let rooms = bob.welcome["rooms"].as_array().unwrap().clone();
    let lobby = rooms.iter().find(|r| r["room"] == "lobby").unwrap();
    assert_eq!(
        (lobby["unread"].as_u64(), lobby["mentions"].as_u64()),
        (Some(3), Some(2))
    );
    let direct = rooms.iter().find(|r| r["room"] == dm.as_str()).unwrap();
    assert_eq!(
        (direct["unread"].as_u64(), direct["mentions"].as_u64()),
        (Some(1), Some(1))
    );
    bob.send(json!({"type":"read","room":"lobby","seq":1}))
        .await;
    let read = bob.client.recv_type("read").await;
    assert_eq!(
        (read["unread"].as_u64(), read["mentions"].as_u64()),
        (Some(2), Some(1))
    );
}
