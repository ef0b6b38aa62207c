//! One instance on PostgreSQL (`--postgres`): it starts on a fresh
//! database, keeps what it acknowledged across a restart, and refuses a
//! database it cannot reach in one clear line, without printing a
//! password. The existing scenarios also run on PostgreSQL with
//! `LANCHAT_TEST_BACKEND=postgres` (see `.ci/run`).

mod common;

use common::postgres::Cluster;
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
    let _ = json!({});
}
