//! Event mode against the real binary: the event says what it is, its end
//! (the host's, or its time) offers every page its archive and turns the
//! chat read-only, and after the grace period the server stops and the data
//! folder is empty, unless `--keep`.

mod common;

use std::time::Instant;

use common::host::{self, act};
use common::owner::Owner;
use common::tus::Tus;
use common::{Client, HttpResponse, Server, WAIT, http_request};
use serde_json::json;
use tempfile::TempDir;

/// The flags of a server on `db`, logging to a file of its own.
fn args(db: &str, extra: &[&'static str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--no-qr",
        "--rate-limit",
        "0",
        "--db",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.push(db.to_owned());
    args.extend(host::flags().iter().map(|a| (*a).to_owned()));
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

fn archive(server: &Server, token: &str) -> HttpResponse {
    http_request(
        server.addr,
        &format!(
            "GET /api/export/mine HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nLanchat-Token: {token}\r\n\r\n",
            server.addr
        ),
    )
}

/// The host ends the event: every page hears it with when the data goes,
/// the chat refuses posts (`event_over`), each page can still download its
/// archive; after the grace the server stops by itself, says what it
/// deleted, and the data folder is empty.
#[tokio::test]
async fn the_end_of_an_event_offers_archives_and_empties_the_data_folder() {
    let data = TempDir::new().unwrap();
    let logs = TempDir::new().unwrap();
    let db = data.path().join("chat.db");
    let args = args(
        db.to_str().unwrap(),
        &["--event", "Test night", "--event-grace-seconds", "2"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = logs.path().join("server.log");
    let mut server = Server::spawn_logged(&args, data.path(), &log);
    assert!(
        server.banner.contains(
            "Event:   Test night, ends when the host ends it; the chat then turns read-only, \
             and 2 seconds later its history and files are deleted"
        ),
        "{}",
        server.banner
    );
    let mut ana = Owner::claim(&server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    let mut bob = Owner::claim(&server, "bob").await;
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    let event = guest.recv_type("event").await;
    assert_eq!(event["name"], "Test night");
    assert!(event["ended"].is_null() && event["ends"].is_null());
    let tus = Tus {
        addr: server.addr,
        token: bob.token.trim_start_matches("token.").to_owned(),
    };
    let file = tus.upload("notes.txt", "lobby", b"what we built tonight");
    bob.send(json!({"type":"message","message":"we shipped it","files":[file],"cid":"b1"}))
        .await;
    bob.client.recv_type("message").await;
    assert!(
        data.path()
            .join("lanchat-files/blobs")
            .read_dir()
            .unwrap()
            .count()
            > 0
    );

    act(&mut ana.client, json!({"action":"end_event"})).await;
    for client in [&mut guest, &mut bob.client] {
        let over = client.recv_type("event").await;
        let ended = over["ended"].as_i64().expect("ended");
        assert_eq!(over["wipe_at"].as_i64().unwrap() - ended, 2000);
    }
    guest.say("one more thing", "g1").await;
    assert_eq!(guest.recv_type("error").await["code"], "event_over");
    let bobs = archive(&server, bob.token.trim_start_matches("token."));
    assert_eq!(bobs.status, 200);
    assert!(bobs.text().contains("we shipped it"));

    // The grace passes: the server stops by itself and the data goes.
    let deadline = Instant::now() + WAIT;
    let status = server.wait_exit();
    assert!(status.success(), "{status}");
    assert!(Instant::now() < deadline);
    let left: Vec<_> = data
        .path()
        .read_dir()
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the data folder: {left:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("The event \"Test night\" is over. Deleted from this machine:"),
        "{logged}"
    );
}

/// An event with a duration ends by itself at its time; with `--keep` its
/// data stays.
#[tokio::test]
async fn an_event_ends_at_its_time_and_keep_keeps_the_data() {
    let data = TempDir::new().unwrap();
    let logs = TempDir::new().unwrap();
    let db = data.path().join("chat.db");
    let args = args(
        db.to_str().unwrap(),
        &[
            "--event",
            "Short",
            "--event-duration",
            "2s",
            "--event-grace-seconds",
            "1",
            "--keep",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = logs.path().join("server.log");
    let mut server = Server::spawn_logged(&args, data.path(), &log);
    assert!(
        server.banner.contains("ends in 2 seconds"),
        "{}",
        server.banner
    );
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    let event = guest.recv_type("event").await;
    assert!(event["ends"].as_i64().is_some());
    assert_eq!(event["keep"], true);
    let over = guest.recv_type("event").await;
    assert!(over["ended"].as_i64().is_some());
    assert!(over["wipe_at"].is_null(), "kept");
    assert!(server.wait_exit().success());
    assert!(db.exists(), "--keep keeps the history");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("kept (--keep)")
    );
}
