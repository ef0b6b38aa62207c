//! Rooms, private rooms and direct messages: isolation, privacy, invitations
//! and unread counts, over real WebSockets against the real binary.

mod common;

use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use tempfile::TempDir;

fn room_in<'a>(welcome: &'a Value, room: &str) -> Option<&'a Value> {
    welcome["rooms"]
        .as_array()?
        .iter()
        .find(|r| r["room"] == room)
}

/// Messages in a room reach its members only, with the room's own seq, and
/// history and resume are per room.
#[tokio::test]
async fn rooms_stay_isolated() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;

    alice
        .send(json!({"type":"create_room","room":"#Random"}))
        .await;
    let created = alice.client.recv_type("room").await;
    assert_eq!(created["room"], "random");
    assert_eq!(created["kind"], "public");
    bob.send(json!({"type":"join_room","room":"random"})).await;
    let joined = bob.client.recv_type("room").await;
    let mut members: Vec<&str> = joined["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, ["alice", "bob"]);

    // Alice, already in, sees the new member list.
    let update = alice.client.recv_type("room").await;
    assert_eq!(update["members"].as_array().unwrap().len(), 2);
    let first = alice.say_in("random", "only for random").await;
    assert_eq!(first["seq"], 1);
    assert_eq!(first["room"], "random");
    let seen = bob.client.recv_type("message").await;
    assert_eq!(seen["message"], "only for random");
    alice.say_in("lobby", "for everyone").await;
    assert_eq!(bob.client.recv_type("message").await["room"], "lobby");

    let carol_saw = carol.heard("message").await;
    assert_eq!(
        carol_saw.len(),
        1,
        "carol only hears the lobby: {carol_saw:?}"
    );
    assert_eq!(carol_saw[0]["room"], "lobby");

    // Per-room history and resume.
    alice.say_in("random", "second").await;
    bob.client.recv_type("message").await;
    bob.send(json!({"type":"history","room":"random","since":1}))
        .await;
    let resumed = bob.client.recv_type("history").await;
    assert_eq!(resumed["room"], "random");
    let texts: Vec<&str> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["second"]);

    // Typing in a room reaches its members only.
    alice
        .send(json!({"type":"typing","room":"random","active":true}))
        .await;
    assert_eq!(bob.client.recv_type("typing").await["room"], "random");
    assert!(carol.heard("typing").await.is_empty());

    // Non-members cannot write, read or page a room.
    carol
        .expect_error(
            json!({"type":"message","room":"random","message":"hi","cid":"x"}),
            "not_found",
        )
        .await;
    carol
        .expect_error(
            json!({"type":"history","room":"random","before":5}),
            "not_found",
        )
        .await;
    // Carol may join a public room, and then hears it.
    carol
        .send(json!({"type":"join_room","room":"random"}))
        .await;
    carol.client.recv_type("room").await;
    alice.say_in("random", "third").await;
    assert_eq!(carol.client.recv_type("message").await["message"], "third");

    carol.send(json!({"type":"list_rooms"})).await;
    let list = carol.client.recv_type("room_list").await;
    assert!(
        list["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["room"] == "random")
    );

    // When Carol leaves, Alice sees her go from the member list.
    carol
        .send(json!({"type":"leave_room","room":"random"}))
        .await;
    assert_eq!(carol.client.recv_type("room_left").await["room"], "random");
    loop {
        let update = alice.client.recv_type("room").await;
        if update["members"].as_array().unwrap().len() == 2 {
            break;
        }
    }
    carol
        .expect_error(json!({"type":"create_room","room":"random"}), "room_exists")
        .await;
    carol
        .expect_error(
            json!({"type":"create_room","room":"no spaces"}),
            "invalid_room",
        )
        .await;
    carol
        .expect_error(json!({"type":"leave_room","room":"lobby"}), "forbidden")
        .await;
}

/// A private room is invisible and closed to non-members; an invitation by
/// name, or the invite link's secret, lets someone in.
#[tokio::test]
async fn private_rooms_need_an_invitation() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;

    alice
        .send(json!({"type":"create_room","room":"secret","private":true}))
        .await;
    let created = alice.client.recv_type("room").await;
    assert_eq!(created["kind"], "private");
    assert_eq!(created["name"], "secret");
    // Its own id, which no room name can be.
    let id = created["room"].as_str().unwrap().to_owned();
    assert!(id.starts_with("p:") && id.len() == 18, "{id}");
    alice.say_in(&id, "plans").await;

    bob.expect_error(json!({"type":"join_room","room":"secret"}), "not_found")
        .await;
    bob.expect_error(json!({"type":"join_room","room":id}), "not_found")
        .await;
    bob.expect_error(
        json!({"type":"join_room","room":id,"invite":"guess"}),
        "not_found",
    )
    .await;
    bob.send(json!({"type":"list_rooms"})).await;
    let list = bob.client.recv_type("room_list").await;
    assert!(
        !list["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["room"] == id.as_str() || r["room"] == "secret")
    );

    alice
        .send(json!({"type":"invite","room":id,"username":"bob"}))
        .await;
    let invited = bob.client.recv_type("invited").await;
    assert_eq!(
        invited,
        json!({"type":"invited","room":id,"name":"secret","by":"alice"})
    );
    bob.send(json!({"type":"join_room","room":id})).await;
    let joined = bob.client.recv_type("room").await;
    assert_eq!(joined["unread"], 1, "the plan is waiting");
    alice.say_in(&id, "welcome bob").await;
    assert_eq!(
        bob.client.recv_type("message").await["message"],
        "welcome bob"
    );

    alice.send(json!({"type":"invite_link","room":id})).await;
    let link = alice.client.recv_type("invite_link").await;
    let secret = link["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    carol
        .send(json!({"type":"join_room","room":id,"invite":secret}))
        .await;
    assert_eq!(carol.client.recv_type("room").await["room"], id.as_str());

    // An invitation survives a reconnect, shown in welcome.
    let mut dave = Owner::claim(&server, "dave").await;
    alice
        .send(json!({"type":"invite","room":id,"username":"dave"}))
        .await;
    dave.client.recv_type("invited").await;
    let dave = dave.again(&server, "dave").await;
    assert_eq!(
        dave.welcome["invitations"],
        json!([{"room":id,"name":"secret"}])
    );
}

/// Creating a room never tells anyone that a private room of that name
/// exists: private rooms have ids of their own, so the same name can be
/// taken again, privately or publicly, and a private room's id answers
/// exactly like one that does not exist.
#[tokio::test]
async fn private_room_names_cannot_be_found_by_guessing() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"payroll","private":true}))
        .await;
    let hers = alice.client.recv_type("room").await;
    let hers = hers["room"].as_str().unwrap().to_owned();

    for private in [true, false] {
        bob.send(json!({"type":"create_room","room":"payroll","private":private}))
            .await;
        let mine = bob.client.recv_type("room").await;
        assert_eq!(mine["name"], "payroll", "private: {private}");
        assert_ne!(mine["room"], hers.as_str(), "private: {private}");
        assert_eq!(mine["members"], json!(["bob"]), "private: {private}");
    }
    // Public names are public: the second public "payroll" is refused.
    alice
        .expect_error(
            json!({"type":"create_room","room":"payroll"}),
            "room_exists",
        )
        .await;

    // Her room's id and an id nobody has answer alike.
    let nobody = "p:0123456789abcdef";
    let mut answers = Vec::new();
    for room in [hers.as_str(), nobody] {
        for frame in [
            json!({"type":"join_room","room":room}),
            json!({"type":"history","room":room,"before":5}),
            json!({"type":"message","room":room,"message":"hi","cid":"x"}),
        ] {
            bob.send(frame).await;
            let error = bob.client.recv_type("error").await;
            assert_eq!(error["code"], "not_found", "{error}");
            let message = error["message"].as_str().unwrap().replace(room, "<id>");
            answers.push((error["room"].is_string(), message));
        }
    }
    assert_eq!(answers[..3], answers[3..], "{answers:?}");
}

/// A history from before private rooms had ids of their own keeps them:
/// the room moves to a new id with its name, members and messages.
#[tokio::test]
async fn an_older_history_keeps_its_private_rooms() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::claim(&server, "alice").await;
    alice
        .send(json!({"type":"create_room","room":"secret","private":true}))
        .await;
    let id = alice.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.say_in(&id, "kept").await;
    let token = alice.token.clone();
    drop(alice);
    assert!(server.terminate().success());

    // Back to version 3, where a private room's id was its name.
    let conn = rusqlite::Connection::open(&db).unwrap();
    for table in ["rooms", "members", "invites", "messages"] {
        conn.execute(
            &format!("UPDATE {table} SET room = 'secret' WHERE room = ?1"),
            [&id],
        )
        .unwrap();
    }
    // Without what later versions added: room names (4), files (5), the
    // log (6), search and notification settings (7), the host's rules (8), bots' messages (9).
    conn.execute_batch(
        "DROP TABLE host_state; DROP TABLE expired; ALTER TABLE messages DROP COLUMN system;
         ALTER TABLE messages DROP COLUMN removed; ALTER TABLE messages DROP COLUMN bot;
         DROP TABLE search; DROP INDEX messages_by_ts; DROP INDEX messages_by_search;
         DROP INDEX messages_by_author; DROP INDEX messages_with_links;
         DROP INDEX messages_with_files; DROP INDEX messages_with_mentions;
         ALTER TABLE messages DROP COLUMN search_id; ALTER TABLE messages DROP COLUMN links;
         ALTER TABLE messages DROP COLUMN shares_files;
         ALTER TABLE members DROP COLUMN muted; ALTER TABLE members DROP COLUMN notify;
         ALTER TABLE rooms DROP COLUMN name;
         DROP TABLE message_files; DROP TABLE files;
         ALTER TABLE messages DROP COLUMN generated;
         DROP INDEX messages_by_version; DROP TABLE reactions; DROP TABLE changes;
         ALTER TABLE messages DROP COLUMN html; ALTER TABLE messages DROP COLUMN version;
         ALTER TABLE messages DROP COLUMN edited; ALTER TABLE messages DROP COLUMN deleted;
         ALTER TABLE messages DROP COLUMN reply_to; ALTER TABLE messages DROP COLUMN mentions;
         ALTER TABLE messages DROP COLUMN big; ALTER TABLE messages DROP COLUMN user_id;
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);

    let server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::with_token(&server, "alice", &token).await;
    let room = alice.welcome["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "secret")
        .expect("the private room is still hers")
        .clone();
    let moved = room["room"].as_str().unwrap().to_owned();
    assert!(moved.starts_with("p:") && moved != id, "{moved}");
    assert_eq!(room["kind"], "private");
    alice
        .send(json!({"type":"history","room":moved,"before":10}))
        .await;
    let history = alice.client.recv_type("history").await;
    assert_eq!(history["messages"][0]["message"], "kept");
    assert_eq!(history["messages"][0]["room"], moved.as_str());
    // The index was built from the messages already there.
    alice.send(json!({"type":"search","query":"kept"})).await;
    let found = alice.client.recv_type("search_results").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["results"][0]["room"], moved.as_str());
}

/// A direct message reaches only its two users, live, in history and in
/// paging; a third user, or someone using the recipient's name without its
/// token, gets none of it.
#[tokio::test]
async fn direct_messages_are_private() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;

    alice.send(json!({"type":"dm","username":"bob"})).await;
    let mine = alice.client.recv_type("room").await;
    let theirs = bob.client.recv_type("room").await;
    assert_eq!(mine["kind"], "dm");
    assert_eq!(mine["room"], theirs["room"]);
    assert_eq!(mine["peer"], "bob");
    assert_eq!(theirs["peer"], "alice");
    let dm = mine["room"].as_str().unwrap().to_owned();

    let sent = alice.say_in(&dm, "psst, bob").await;
    assert_eq!(sent["seq"], 1);
    assert_eq!(
        bob.client.recv_type("message").await["message"],
        "psst, bob"
    );
    assert!(
        carol.heard("message").await.is_empty(),
        "carol heard nothing"
    );
    carol
        .expect_error(json!({"type":"history","room":dm,"before":10}), "not_found")
        .await;
    carol
        .expect_error(json!({"type":"history","room":dm,"since":0}), "not_found")
        .await;
    carol
        .expect_error(
            json!({"type":"message","room":dm,"message":"me too","cid":"c"}),
            "not_found",
        )
        .await;
    carol
        .expect_error(json!({"type":"join_room","room":dm}), "not_found")
        .await;

    // Someone using bob's name without his token is refused outright.
    let mut impostor = Client::connect(&server, "bob").await;
    let refused = impostor.recv().await;
    assert_eq!(refused["code"], "name_taken");

    // Anonymous (v1) users cannot use rooms at all.
    let (mut anon, _, _) = Client::join(&server, "guest").await;
    anon.send_json(json!({"type":"history","room":dm,"before":10}))
        .await;
    assert_eq!(anon.recv_type("error").await["code"], "not_claimed");
    anon.send_json(json!({"type":"dm","username":"alice"}))
        .await;
    assert_eq!(anon.recv_type("error").await["code"], "not_claimed");

    // Bob, back with his token, finds the conversation.
    let bob_again = bob.again(&server, "bob").await;
    let room = room_in(&bob_again.welcome, &dm).expect("the dm is listed");
    assert_eq!(room["peer"], "alice");
    assert_eq!(room["unread"], 1);
}

/// Unread counts follow the user across reconnects and tabs, and survive a
/// server restart.
#[tokio::test]
async fn unread_counts_follow_the_user() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"projects"}))
        .await;
    alice.client.recv_type("room").await;
    bob.send(json!({"type":"join_room","room":"projects"}))
        .await;
    bob.client.recv_type("room").await;
    let token = bob.token.clone();
    drop(bob);

    for text in ["one", "two", "three"] {
        alice.say_in("projects", text).await;
    }
    let mut bob = Owner::with_token(&server, "bob", &token).await;
    let projects = room_in(&bob.welcome, "projects").expect("listed").clone();
    assert_eq!(
        (projects["seq"].as_u64(), projects["unread"].as_u64()),
        (Some(3), Some(3))
    );

    // Reading in one tab clears the count in every tab.
    let mut other_tab = Owner::with_token(&server, "bob", &token).await;
    bob.send(json!({"type":"read","room":"projects","seq":2}))
        .await;
    let read = other_tab.client.recv_type("read").await;
    assert_eq!(
        read,
        json!({"type":"read","room":"projects","seq":2,"unread":1,"mentions":0})
    );
    // Read marks never move backwards.
    bob.send(json!({"type":"read","room":"projects","seq":1}))
        .await;
    assert_eq!(bob.client.recv_type("read").await["seq"], 2);
    drop((bob, other_tab));

    alice.say_in("projects", "four").await;
    drop(alice);
    assert!(server.terminate().success());
    let server = Server::start_on_db(&db, &[]);
    let bob = Owner::with_token(&server, "bob", &token).await;
    let projects = room_in(&bob.welcome, "projects").expect("listed after restart");
    assert_eq!(projects["last_read"], 2);
    assert_eq!(projects["unread"], 2);
    let lobby = room_in(&bob.welcome, "lobby").expect("the lobby has a read mark too");
    assert_eq!(lobby["kind"], "public");
}

/// A v1 client that knows nothing of rooms still chats in the lobby, next
/// to users who use rooms.
#[tokio::test]
async fn v1_clients_still_work_in_the_lobby() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    alice
        .send(json!({"type":"create_room","room":"side"}))
        .await;
    alice.client.recv_type("room").await;
    let (mut old, welcome, _) = Client::join(&server, "old-timer").await;
    assert_eq!(welcome["claimed"], false);
    assert!(welcome.get("rooms").is_none());
    alice.say_in("side", "not for the lobby").await;
    alice.say_in("lobby", "hello lobby").await;
    let heard = old.recv_type("message").await;
    assert_eq!(
        heard["message"], "hello lobby",
        "the side room never reached a v1 client"
    );
    old.say("hi!", "v1").await;
    assert_eq!(old.recv_type("message").await["room"], "lobby");
}

/// Frames `client` receives up to and including the first of `kind`.
async fn frames_until(client: &mut Client, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let frame = client.recv().await;
        let done = frame["type"] == kind;
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

fn types(frames: &[Value]) -> Vec<&str> {
    frames.iter().map(|f| f["type"].as_str().unwrap()).collect()
}

/// Past `--roster-limit` the lobby stops listing everyone to everyone: a
/// newcomer learns the count and the people it shares rooms with, comings
/// and goings reach only those people, and `who` finds anyone online.
#[tokio::test]
async fn a_large_lobby_lists_only_room_peers_and_answers_who() {
    let server = Server::start_with(&["--roster-limit", "2"]);
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    assert_eq!(bob.welcome["complete"], true, "{}", bob.welcome);
    assert_eq!(bob.welcome["online"], 2);
    alice.send(json!({"type":"dm","username":"bob"})).await;
    alice.client.recv_type("room").await;
    bob.client.recv_type("room").await;

    let (mut carol, welcome, _) = Client::join(&server, "carol").await;
    assert_eq!(welcome["complete"], false, "{welcome}");
    assert_eq!(welcome["online"], 3);
    assert_eq!(welcome["users"], json!(["carol"]));
    for owner in [&mut alice, &mut bob] {
        let roster = owner.client.recv_type("roster").await;
        assert_eq!(roster, json!({"type":"roster","complete":false,"online":3}));
    }

    // dave shares no room with anyone: only the count tells of him.
    let (dave, _, _) = Client::join(&server, "dave").await;
    let seen = frames_until(&mut alice.client, "online").await;
    assert_eq!(types(&seen), ["online"], "{seen:?}");
    assert_eq!(seen[0]["online"], 4);

    // bob is alice's DM peer: she hears him go and come back, carol does not.
    let bob_token = bob.token.clone();
    drop(bob);
    assert_eq!(alice.client.recv_type("leave").await["username"], "bob");
    let bob = Owner::with_token(&server, "bob", &bob_token).await;
    assert_eq!(bob.welcome["complete"], false);
    assert_eq!(bob.welcome["users"], json!(["alice", "bob"]));
    assert_eq!(alice.client.recv_type("join").await["username"], "bob");

    carol.send_json(json!({"type":"who","prefix":"A"})).await;
    let seen = frames_until(&mut carol, "who").await;
    assert!(
        types(&seen).iter().all(|t| *t == "online" || *t == "who"),
        "carol hears of no one by name: {seen:?}"
    );
    assert_eq!(
        seen.last().unwrap(),
        &json!({"type":"who","prefix":"A","online":4,"users":["alice"]})
    );
    carol.send_json(json!({"type":"who"})).await;
    let who = carol.recv_type("who").await;
    assert_eq!(who["users"], json!(["alice", "bob", "carol", "dave"]));
    carol
        .send_json(json!({"type":"who","prefix":"x".repeat(33)}))
        .await;
    assert_eq!(carol.recv_type("error").await["code"], "bad_request");

    // People who start sharing a room learn from its frame who is online.
    let mut erin = Owner::claim(&server, "erin").await;
    alice.send(json!({"type":"dm","username":"erin"})).await;
    let room = alice.client.recv_type("room").await;
    assert_eq!(room["online"], json!(["alice", "erin"]), "{room}");
    assert_eq!(
        erin.client.recv_type("room").await["online"],
        room["online"]
    );

    // Back down to three quarters of the limit (1): everyone is listed again.
    drop((carol, dave, bob, erin));
    let roster = alice.client.recv_type("roster").await;
    assert_eq!(
        roster,
        json!({"type":"roster","complete":true,"online":1,"users":["alice"]})
    );
}
