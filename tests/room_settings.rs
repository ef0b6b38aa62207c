//! What a member hears about a room: mute and "notify me about" kept on the
//! server for every tab and device, and marking every room read at once.

mod common;

use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use tempfile::TempDir;

fn room_in<'a>(welcome: &'a Value, room: &str) -> &'a Value {
    welcome["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == room)
        .unwrap_or_else(|| panic!("{room} is not in {welcome}"))
}

/// Waits for the `room` frame about `room`.
async fn room_frame(client: &mut Client, room: &str) -> Value {
    loop {
        let frame = client.recv_type("room").await;
        if frame["room"] == room {
            return frame;
        }
    }
}

/// A setting changed in one tab reaches the user's other tabs at once, and
/// comes back in `welcome` after a restart; the default is unmuted, and
/// notifying of mentions (every message, in a DM).
#[tokio::test]
async fn room_settings_follow_the_user_across_tabs_and_restarts() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut laptop = Owner::claim(&server, "alice").await;
    laptop
        .send(json!({"type":"create_room","room":"projects"}))
        .await;
    let created = room_frame(&mut laptop.client, "projects").await;
    assert_eq!(
        (created["muted"].clone(), created["notify"].clone()),
        (json!(false), json!("mentions"))
    );
    let mut phone = laptop.again(&server, "alice").await;

    laptop
        .send(json!({"type":"room_settings","room":"projects","muted":true}))
        .await;
    for tab in [&mut laptop, &mut phone] {
        let seen = room_frame(&mut tab.client, "projects").await;
        assert_eq!(seen["muted"], true);
        assert_eq!(seen["notify"], "mentions", "what is left out stays");
    }
    phone
        .send(json!({"type":"room_settings","room":"projects","notify":"all"}))
        .await;
    for tab in [&mut laptop, &mut phone] {
        let seen = room_frame(&mut tab.client, "projects").await;
        assert_eq!(
            (seen["muted"].clone(), seen["notify"].clone()),
            (json!(true), json!("all"))
        );
    }

    let token = laptop.token.clone();
    drop((laptop, phone));
    assert!(server.terminate().success());
    server = Server::start_on_db(&db, &[]);
    let mut back = Owner::with_token(&server, "alice", &token).await;
    let room = room_in(&back.welcome, "projects");
    assert_eq!(
        (room["muted"].clone(), room["notify"].clone()),
        (json!(true), json!("all"))
    );

    // Back to the default, which is stored as no setting at all.
    back.send(json!({"type":"room_settings","room":"projects","muted":false,"notify":"mentions"}))
        .await;
    let seen = room_frame(&mut back.client, "projects").await;
    assert_eq!(
        (seen["muted"].clone(), seen["notify"].clone()),
        (json!(false), json!("mentions"))
    );
    drop(back);
    assert!(server.terminate().success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM members WHERE muted != 0 OR notify != 'mentions'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(kept, 0);
}

/// Bad settings are refused with a code that names the room, and the
/// connection stays open.
#[tokio::test]
async fn bad_settings_are_refused() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    bob.send(json!({"type":"create_room","room":"bobs"})).await;
    room_frame(&mut bob.client, "bobs").await;

    alice
        .expect_error(
            json!({"type":"room_settings","room":"lobby","notify":"sometimes"}),
            "bad_request",
        )
        .await;
    alice
        .expect_error(
            json!({"type":"room_settings","room":"bobs","muted":true}),
            "not_found",
        )
        .await;
    alice
        .expect_error(
            json!({"type":"room_settings","room":"nowhere","muted":true}),
            "not_found",
        )
        .await;
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    guest
        .send_json(json!({"type":"room_settings","room":"lobby","muted":true}))
        .await;
    assert_eq!(guest.recv_type("error").await["code"], "not_claimed");
    assert!(
        alice.heard("error").await.is_empty(),
        "alice is still connected"
    );
    let bobs = room_in(&bob.welcome, "lobby");
    assert_eq!(bobs["muted"], false, "bob's settings are his own");
}

/// `read_all` moves every room's read mark to its end: each of the user's
/// tabs hears a `read` frame per room that had unread messages, with no
/// unread and no mentions left, and so does the next `welcome`.
#[tokio::test]
async fn read_all_marks_every_room_read() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"projects"}))
        .await;
    room_frame(&mut alice.client, "projects").await;
    bob.send(json!({"type":"join_room","room":"projects"}))
        .await;
    room_frame(&mut bob.client, "projects").await;
    bob.send(json!({"type":"dm","username":"alice"})).await;
    let dm = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in("projects", "@alice look at this").await;
    bob.say_in("projects", "and this").await;
    bob.say_in(&dm, "psst").await;
    bob.say_in("lobby", "hello all").await;
    alice.say_in("lobby", "hi bob").await;

    let mut tab = alice.again(&server, "alice").await;
    let projects = room_in(&tab.welcome, "projects");
    assert_eq!(
        (projects["unread"].clone(), projects["mentions"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(room_in(&tab.welcome, &dm)["mentions"], 1, "a DM mentions");

    tab.send(json!({"type":"read_all"})).await;
    for who in [&mut tab, &mut alice] {
        let mut reads: Vec<Value> = who.heard("read").await;
        reads.sort_by(|a, b| a["room"].as_str().cmp(&b["room"].as_str()));
        let rooms: Vec<&str> = reads.iter().map(|r| r["room"].as_str().unwrap()).collect();
        let mut wanted = vec![dm.as_str(), "projects"];
        wanted.sort();
        // The lobby too, if alice keeps a mark there.
        let rooms: Vec<&str> = rooms.into_iter().filter(|r| *r != "lobby").collect();
        assert_eq!(rooms, wanted);
        for read in &reads {
            assert_eq!(
                (read["unread"].clone(), read["mentions"].clone()),
                (json!(0), json!(0)),
                "{read}"
            );
        }
    }
    let again = alice.again(&server, "alice").await;
    for room in again.welcome["rooms"].as_array().unwrap() {
        assert_eq!(room["unread"], 0, "{room}");
        assert_eq!(room["mentions"], 0, "{room}");
    }
    // Nothing moves twice.
    tab.send(json!({"type":"read_all"})).await;
    assert!(tab.heard("read").await.is_empty());
}
