//! One instance on PostgreSQL (`--postgres`): it starts on a fresh
//! database, keeps what it acknowledged across a restart, keeps each
//! room's seqs gap-free, and refuses a database it cannot reach in one
//! clear line, without printing a password. The existing scenarios also run on PostgreSQL with
//! `LANCHAT_TEST_BACKEND=postgres` (see `.ci/run`).

mod common;

use std::process::Command;

use common::postgres::{Cluster, USER};
use common::{Client, Server};

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

/// Two instances on one database, two senders on each, all writing to the
/// lobby at once: every message is acknowledged with a seq of its own, and
/// the room's stored log (messages and changes) is 1, 2, 3.. with no gap
/// and no message stored twice.
#[tokio::test]
async fn concurrent_writers_leave_no_gap_in_a_rooms_seqs() {
    const EACH: usize = 150;
    let Some(cluster) = Cluster::shared("concurrent_writers_leave_no_gap_in_a_rooms_seqs") else {
        return;
    };
    let url = cluster.create_database();
    // The first creates the schema, so the second starts on a ready one.
    let first = start(&url, &[]);
    let second = start(&url, &[]);
    let mut senders = Vec::new();
    for (n, server) in [&first, &second, &first, &second].into_iter().enumerate() {
        let (client, _, _) = Client::join(server, &format!("sender{n}")).await;
        senders.push(tokio::spawn(send_all(client, n, EACH)));
    }
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(sender.await.unwrap());
    }
    acked.sort_unstable();
    acked.dedup();
    assert_eq!(
        acked.len(),
        4 * EACH,
        "every acknowledgement has a seq of its own"
    );
    let db = Cluster::db_of(&url);
    let seqs = cluster.psql(
        db,
        "SELECT seq FROM messages WHERE room = 'lobby'
         UNION ALL SELECT seq FROM changes WHERE room = 'lobby' ORDER BY seq",
    );
    let seqs: Vec<u64> = seqs.lines().map(|seq| seq.parse().unwrap()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "gap-free, each seq once");
    assert_eq!(seqs.len(), 4 * EACH);
    let cids = cluster.psql(
        db,
        "SELECT count(DISTINCT cid), count(*) FROM messages WHERE room = 'lobby'",
    );
    assert_eq!(cids.trim(), format!("{0}|{0}", 4 * EACH));
}

/// Sends `count` messages as fast as the server takes them, 50 in flight
/// at most, and returns the seqs they were acknowledged with.
async fn send_all(mut client: Client, sender: usize, count: usize) -> Vec<u64> {
    let me = format!("sender{sender}");
    let mut seqs = Vec::with_capacity(count);
    let mut sent = 0;
    while seqs.len() < count {
        while sent < count && sent - seqs.len() < 50 {
            client
                .say(&format!("{me} says {sent}"), &format!("{me}-{sent}"))
                .await;
            sent += 1;
        }
        let frame = client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["username"] == me {
            seqs.push(frame["seq"].as_u64().unwrap());
        }
    }
    seqs
}
