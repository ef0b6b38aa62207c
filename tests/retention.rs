//! Each room's retention, set by the host: messages past it are deleted for
//! real (from the database, the search index, the change log and the
//! write-ahead log, with their files collected) at start-up and on its
//! schedule, on SQLite and (`LANCHAT_TEST_BACKEND=postgres`) PostgreSQL.

mod common;

use std::path::Path;

use common::host::{self, act};
use common::owner::Owner;
use common::tus::Tus;
use common::{Client, Server, alter_history};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A claimed name in host mode.
async fn host_mode(server: &Server) -> Owner {
    let mut ana = Owner::claim(server, "ana").await;
    act(&mut ana.client, json!({"action":"hello"})).await;
    ana
}

/// Sends a message with its own cid (not the text, which `say_in` puts in
/// the cid) and returns the stored copy.
async fn post(owner: &mut Owner, frame: Value, cid: &str) -> Value {
    let mut frame = frame;
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

/// Every row of the history's tables, as text: the SQLite file's, or the
/// PostgreSQL database's it stands for.
fn every_row(db: &Path) -> String {
    if common::postgres::scenarios_on_postgres() {
        let tables = common::postgres::psql_for(
            db,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        );
        return tables
            .lines()
            .map(|table| common::postgres::psql_for(db, &format!("SELECT t::text FROM {table} t")))
            .collect();
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'search%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all = String::new();
    for table in tables {
        let mut rows = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = rows.column_count();
        let mut rows = rows.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for column in 0..columns {
                if let Ok(Some(text)) = row.get::<_, Option<String>>(column) {
                    all.push_str(&text);
                    all.push('\n');
                }
            }
        }
    }
    all
}

/// Whether `needle` is anywhere in the SQLite file or its write-ahead log.
fn in_file_bytes(db: &Path, needle: &str) -> bool {
    [db.to_owned(), db.with_extension("db-wal")]
        .iter()
        .any(|file| {
            let bytes = std::fs::read(file).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
}

/// A message older than the lobby's "keep 2 days", with a file, an edit,
/// a reaction and a reply to it, is deleted when the server starts: gone
/// from history and search, from every row of the database (its log
/// entries too), from the SQLite file's bytes and its log, its file's
/// record and blob collected; a newer message stays, and seqs go on from
/// where they were.
#[tokio::test]
async fn expired_messages_are_gone_at_start_up_from_every_place() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    // Named, so the files are in one place on both backends.
    let files = dir.path().join("lanchat-files");
    let mut args = host::flags().to_vec();
    args.extend_from_slice(&[
        "--retention-check-seconds",
        "3600",
        "--files",
        files.to_str().unwrap(),
    ]);
    let mut server = Server::start_on_db(&db, &args);
    let mut ana = host_mode(&server).await;
    let mut bob = Owner::claim(&server, "bob").await;
    let bytes = b"an old picture nobody should keep 7H2M";
    let tus = Tus {
        addr: server.addr,
        token: bob.token.trim_start_matches("token.").to_owned(),
    };
    let file = tus.upload("old-notes.txt", "lobby", bytes);
    let old = post(
        &mut bob,
        json!({"type":"message","message":"old secret 4Q7J","files":[file]}),
        "m1",
    )
    .await;
    let old_seq = old["seq"].as_u64().unwrap();
    post(
        &mut bob,
        json!({"type":"edit","target":old_seq,"message":"old secret 4Q7J, edited P9KD"}),
        "e1",
    )
    .await;
    post(
        &mut ana,
        json!({"type":"react","target":old_seq,"emoji":"👍","on":true}),
        "r1",
    )
    .await;
    let reply = post(
        &mut ana,
        json!({"type":"message","message":"fresh reply","reply_to":old_seq}),
        "m2",
    )
    .await;
    act(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","keep":{"days":2}}),
    )
    .await;
    let bob_token = bob.token.clone();
    drop((ana, bob));
    assert!(server.terminate().success());
    // Ten days ago, as far as the history knows.
    alter_history(
        &db,
        &format!("UPDATE messages SET ts = ts - 864000000 WHERE seq = {old_seq}"),
    );
    let blob = files
        .join("blobs")
        .join(&hex(&Sha256::digest(bytes))[..2])
        .join(hex(&Sha256::digest(bytes)));
    assert!(blob.exists(), "{}", blob.display());

    let server = Server::start_on_db(&db, &args);
    let (_, welcome, history) = Client::join(&server, "guest").await;
    let messages = history["messages"].as_array().unwrap();
    assert!(messages.iter().all(|m| m["seq"] != old_seq), "{history}");
    assert!(
        messages.iter().any(|m| m["seq"] == reply["seq"]),
        "the fresh reply stays: {history}"
    );
    assert!(welcome["seq"].as_u64().unwrap() >= reply["seq"].as_u64().unwrap());
    let (mut guest, _, _) = Client::join(&server, "guest2").await;
    guest
        .send_json(json!({"type":"search","query":"secret"}))
        .await;
    assert_eq!(
        guest.recv_type("search_results").await["results"],
        json!([])
    );
    guest
        .send_json(json!({"type":"history","before":old_seq + 1,"limit":10}))
        .await;
    let page = guest.recv_type("history").await;
    assert_eq!(page["messages"], json!([]));
    assert_eq!(page["has_more"], false);
    let rows = every_row(&db);
    for gone in ["4Q7J", "P9KD", &file, "👍"] {
        assert!(!rows.contains(gone), "{gone:?} is still in the database");
    }
    if !common::postgres::scenarios_on_postgres() {
        for gone in ["4Q7J", "P9KD", "7H2M"] {
            assert!(!in_file_bytes(&db, gone), "{gone:?} is still in the file");
        }
    }
    assert!(!blob.exists(), "the file's blob was collected");
    let fresh = Tus {
        addr: server.addr,
        token: String::new(),
    }
    .get(&format!("/files/{file}/old-notes.txt"), &[]);
    assert_eq!(fresh.status, 404);

    // Seqs go on from where they were, whatever was cut.
    let mut bob = Owner::with_token(&server, "bob", &bob_token).await;
    let next = post(
        &mut bob,
        json!({"type":"message","message":"after the cut"}),
        "m3",
    )
    .await;
    assert!(next["seq"].as_u64().unwrap() > reply["seq"].as_u64().unwrap());
}

/// With "keep the last 3 messages" and a round every second, older ones go
/// on the schedule, with no restart: the room's pages hear `expired`
/// through the last one gone, and history holds the newest three.
#[tokio::test]
async fn retention_runs_on_its_schedule_and_pages_hear_it() {
    let mut args = host::flags().to_vec();
    args.extend_from_slice(&["--retention-check-seconds", "1"]);
    let server = Server::start_with(&args);
    let mut ana = host_mode(&server).await;
    let (mut watcher, _, _) = Client::join(&server, "watcher").await;
    act(
        &mut ana.client,
        json!({"action":"rules","room":"lobby","keep":{"messages":3}}),
    )
    .await;
    let mut seqs = Vec::new();
    for n in 0..5 {
        let sent = post(
            &mut ana,
            json!({"type":"message","message":format!("number {n}")}),
            &format!("n{n}"),
        )
        .await;
        seqs.push(sent["seq"].as_u64().unwrap());
    }
    // The rules' own line is a message too: the newest three are 2, 3, 4.
    let expired = watcher.recv_type("expired").await;
    assert_eq!(expired["room"], "lobby");
    let through = expired["through"].as_u64().unwrap();
    assert!(through >= seqs[1] && through < seqs[2], "{expired}");
    let (_, _, history) = Client::join(&server, "late").await;
    let left: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["number 2", "number 3", "number 4"]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
