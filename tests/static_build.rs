//! The static Linux build needs nothing beside it. `.ci/run` builds it with
//! `-C target-feature=+crt-static` and the release profile, into
//! `target/x86_64-unknown-linux-gnu/release/lanchat` (or set
//! `LANCHAT_STATIC_BINARY`); these tests copy it alone into an empty folder
//! and run it there under `chroot`: no `/lib`, no `/etc`, no `/proc`, no
//! `/tmp`. It starts, serves the page and a chat over a WebSocket, answers
//! `/healthz` and `lanchat healthcheck`, and stops cleanly; and given only an
//! `/etc/hosts`, it finds a `--postgres` server by host name.
//!
//! Without the build, or without root (for chroot), they are skipped with
//! a notice, unless `LANCHAT_REQUIRE_STATIC` is set (as `.ci/run` does),
//! which fails them (see [`common::static_build`]).

mod common;

use std::path::Path;
use std::process::Command;

use common::postgres::Cluster;
use common::{Client, Server};

/// An empty folder holding only the binary, as `/lanchat`.
fn empty_root(binary: &Path) -> tempfile::TempDir {
    let root = tempfile::TempDir::new().unwrap();
    std::fs::copy(binary, root.path().join("lanchat")).unwrap();
    root
}

/// `lanchat ARGS` run inside the chroot at `root`.
fn in_chroot(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("chroot");
    command.arg(root).arg("/lanchat").args(args);
    // Nothing of this environment but where to find chroot itself.
    let path = std::env::var_os("PATH").unwrap_or_default();
    command
        .env_clear()
        .env("PATH", path)
        .env("RUST_LOG", "warn");
    command
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Alone in an empty root: start, page, chat, /healthz, healthcheck, stop.
#[tokio::test]
async fn it_runs_alone_in_an_empty_chroot() {
    let Some(binary) = common::static_build::binary("it_runs_alone_in_an_empty_chroot") else {
        return;
    };
    let root = empty_root(&binary);
    assert_eq!(names_in(root.path()), ["lanchat"]);
    let mut server = Server::launch(
        in_chroot(
            root.path(),
            &[
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--no-qr",
                "--data",
                "/data",
            ],
        ),
        root.path(),
    );
    assert!(
        server.banner.contains("History: /data (SQLite"),
        "{}",
        server.banner
    );

    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<html"), "{}", page.text());
    assert_eq!(server.get("/healthz").json()["status"], "ok");

    let (mut alice, _, _) = Client::join(&server, "alice").await;
    let (mut bob, _, _) = Client::join(&server, "bob").await;
    alice.say("hello from a chroot", "c1").await;
    assert_eq!(alice.recv_type("message").await["seq"], 1);
    let heard = bob.recv_type("message").await;
    assert_eq!(heard["message"], "hello from a chroot");
    assert_eq!(heard["username"], "alice");

    let port = server.addr.port().to_string();
    let check = in_chroot(
        root.path(),
        &["healthcheck", "--port", &port, "--bind", "127.0.0.1"],
    )
    .output()
    .unwrap();
    assert!(check.status.success(), "{check:?}");

    assert!(server.terminate().success(), "a clean stop");
    assert_eq!(names_in(root.path()), ["data", "lanchat"]);
    assert!(root.path().join("data/lanchat.db").is_file());
    assert!(root.path().join("data/lanchat-files").is_dir());
}

/// `--postgres` with a host name, in a root that has nothing but the binary
/// and an `/etc/hosts` naming the database's machine: the static build
/// resolves it (glibc's own files and dns lookups, which it carries
/// built in) and keeps a message there.
#[tokio::test]
async fn it_finds_a_postgres_host_by_name() {
    let Some(binary) = common::static_build::binary("it_finds_a_postgres_host_by_name") else {
        return;
    };
    let Some(cluster) = Cluster::shared("it_finds_a_postgres_host_by_name") else {
        return;
    };
    let url = cluster
        .create_database()
        .replace("@127.0.0.1:", "@chat-db.lan:");
    assert!(url.contains("@chat-db.lan:"), "{url}");
    let root = empty_root(&binary);
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/hosts"), "127.0.0.1 chat-db.lan\n").unwrap();
    let server = Server::launch(
        in_chroot(
            root.path(),
            &[
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--no-qr",
                "--postgres",
                &url,
            ],
        ),
        root.path(),
    );
    assert!(
        server.banner.contains("chat-db.lan") && server.banner.contains("(PostgreSQL)"),
        "{}",
        server.banner
    );
    let (mut alice, _, _) = Client::join(&server, "alice").await;
    alice.say("stored by name", "c1").await;
    assert_eq!(alice.recv_type("message").await["seq"], 1);
    let db = Cluster::db_of(&url);
    let stored = cluster.psql(db, "SELECT count(*) FROM messages");
    assert_eq!(stored.trim(), "1");
}
