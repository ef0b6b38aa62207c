//! One instance on PostgreSQL (`--postgres`): it starts on a fresh
//! database, keeps what it acknowledged across a restart, keeps each
//! room's seqs gap-free, and refuses a database it cannot reach in one
//! clear line, without printing a password, and a SQLite history moves in
//! with `lanchat migrate`. Several instances: `tests/cluster.rs`. The existing scenarios also run on PostgreSQL with
//! `LANCHAT_TEST_BACKEND=postgres` (see `.ci/run`).

mod common;

use std::process::Command;

use common::owner::Owner;
use common::postgres::{Cluster, USER};
use common::{Client, Server};
use serde_json::json;

fn start(url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--postgres", url];
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

#[tokio::test]
async fn messages_are_kept_in_postgres_across_a_restart() {
    let Some(cluster) = Cluster::shared("messages_are_kept_in_postgres_across_a_restart") else {
        return;
    };
    let url = cluster.create_database();
    let mut server = start(&url, &[]);
    assert!(server.banner.contains("(PostgreSQL)"), "{}", server.banner);
    let (mut ann, welcome, _) = Client::join(&server, "ann").await;
    let history_id = welcome["history_id"].clone();
    for i in 1..=3 {
        ann.say(&format!("hello {i}"), &format!("c{i}")).await;
        let echo = ann.recv_type("message").await;
        assert_eq!(echo["seq"], i);
    }
    server.terminate();
    let server = start(&url, &[]);
    let (_, welcome, history) = Client::join(&server, "bob").await;
    assert_eq!(welcome["history_id"], history_id);
    assert_eq!(welcome["seq"], 3);
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello 1", "hello 2", "hello 3"]);
    let db = Cluster::db_of(&url);
    assert_eq!(
        cluster.psql(db, "SELECT count(*) FROM messages").trim(),
        "3"
    );
    assert_eq!(
        cluster
            .psql(db, "SELECT latest FROM room_seqs WHERE room = 'lobby'")
            .trim(),
        "3"
    );
}

/// A URL lanchat cannot use (nothing listening, a database that does not
/// exist, not a URL at all), given as a flag or in the environment: one
/// line that says what is wrong, a non-zero exit, and the password never
/// shown.
#[test]
fn an_unusable_url_is_one_clear_line_without_its_password() {
    let Some(cluster) = Cluster::shared("an_unusable_url_is_one_clear_line_without_its_password")
    else {
        return;
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::TempDir::new().unwrap();
    let cases = [
        (
            format!("postgres://ann:s3cret@127.0.0.1:{closed}/chat"),
            "Connection refused",
        ),
        (
            format!(
                "postgres://{USER}:s3cret@127.0.0.1:{}/nosuchdb",
                cluster.port
            ),
            r#"database "nosuchdb" does not exist"#,
        ),
        (
            "postgres://ann:s3cret@[::1/chat".to_owned(),
            "is not a PostgreSQL connection URL",
        ),
    ];
    for (url, words) in &cases {
        for by_env in [false, true] {
            let mut command = Command::new(common::binary());
            command
                .args(["--port", "0", "--no-qr"])
                .current_dir(dir.path());
            if by_env {
                command.env("LANCHAT_POSTGRES", url);
            } else {
                command.args(["--postgres", url]);
            }
            let output = command.output().expect("run lanchat");
            let (stdout, stderr) = (
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
            assert!(!output.status.success(), "{url}: {stderr}");
            assert!(stderr.starts_with("lanchat: "), "{stderr}");
            assert!(stderr.contains(words), "{stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
            assert!(
                !stderr.contains("s3cret") && !stdout.contains("s3cret"),
                "{stderr}"
            );
        }
    }
}

/// `lanchat migrate` moves a SQLite history with rooms, a direct message,
/// owned names and read marks into an empty PostgreSQL database and says
/// what it moved; a server on PostgreSQL then carries on where the SQLite
/// one stopped: same history id, same rooms and unread counts, names that
/// still need their tokens, searches that find the old messages, and seqs
/// that go on from the last. Migrating into a database that has a history
/// is refused.
#[tokio::test]
async fn a_sqlite_history_moves_into_postgres_whole() {
    let Some(cluster) = Cluster::shared("a_sqlite_history_moves_into_postgres_whole") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("lanchat.db");
    let db_arg = db.to_str().unwrap();
    let on_sqlite = [
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
    let mut server = Server::spawn(&on_sqlite, dir.path());
    let (_, welcome, _) = Client::join(&server, "guest").await;
    let history_id = welcome["history_id"].clone();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"#plans"}))
        .await;
    alice.client.recv_type("room").await;
    bob.send(json!({"type":"join_room","room":"plans"})).await;
    bob.client.recv_type("room").await;
    let first = alice.say_in("lobby", "hello lobby").await;
    alice.say_in("lobby", "anyone there?").await;
    alice.say_in("plans", "a picnic on friday").await;
    alice.send(json!({"type":"dm","username":"bob"})).await;
    let dm = alice.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in(&dm, "psst").await;
    bob.send(json!({"type":"read","room":"lobby","seq":first["seq"]}))
        .await;
    assert_eq!(bob.client.recv_type("read").await["room"], "lobby");
    assert!(server.terminate().success());

    let url = cluster.create_database();
    let migrate = |url: &str| {
        Command::new(common::binary())
            .args(["migrate", "--from", db_arg, "--to", url])
            .output()
            .expect("run lanchat migrate")
    };
    let output = migrate(&url);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    for moved in ["2 claims", "4 messages", "every count checked"] {
        assert!(stdout.contains(moved), "{moved}: {stdout}");
    }
    let again = migrate(&url);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds a history"), "{stderr}");

    let server = start(&url, &[]);
    let mut bob = bob.again(&server, "bob").await;
    assert_eq!(bob.welcome["history_id"], history_id);
    let rooms = bob.welcome["rooms"].as_array().unwrap();
    let room = |id: &str| {
        rooms
            .iter()
            .find(|room| room["room"] == id)
            .unwrap_or_else(|| panic!("{id} in {rooms:?}"))
    };
    assert_eq!(room("lobby")["unread"], 1, "bob's read mark moved");
    assert_eq!(room("plans")["unread"], 1);
    assert_eq!(room(&dm)["peer"], "alice");
    bob.send(json!({"type":"history","room":dm,"since":0}))
        .await;
    let history = bob.client.recv_type("history").await;
    assert_eq!(history["messages"][0]["message"], "psst");
    bob.send(json!({"type":"search","query":"picnic"})).await;
    let found = bob.client.recv_type("search_results").await;
    assert_eq!(found["total"], 1, "{found}");
    let next = bob.say_in("lobby", "back again").await;
    assert_eq!(next["seq"], 3, "seqs go on from the last");
    let mut impostor = Client::connect(&server, "alice").await;
    assert_eq!(impostor.recv().await["code"], "name_taken");
}
