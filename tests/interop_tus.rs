//! Interop: real third-party tus clients upload to the real server with
//! nothing but the endpoint URL and the `Lanchat-Token` header, the file is
//! shared in a room over the WebSocket, and fetched back byte for byte:
//! `tus-js-client` under Node (pinned in `tests/npm`), including a resume
//! from the stored upload URL after an abort half way, and `tuspy` (pinned
//! in `tests/python/requirements.txt`, installed in `target/interop-venv`).
//!
//! Without Node, tus-js-client or tuspy the tests print a loud `SKIPPING`
//! notice and pass; with `LANCHAT_REQUIRE_INTEROP=1` (set by `.ci/run`)
//! they fail instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Server;
use common::interop::{missing, python_with, repo};
use common::owner::Owner;
use common::tus::Tus;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// `node` (or `LANCHAT_NODE`) and the tus-js-client package folder.
fn tus_js_client() -> Option<(PathBuf, PathBuf)> {
    let node = std::env::var_os("LANCHAT_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let package = repo("tests/npm/node_modules/tus-js-client");
    let runs = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !runs {
        missing(
            "Node",
            "Install it (apt-get install nodejs npm), or set LANCHAT_NODE.",
        )?;
    }
    if !package.join("package.json").is_file() {
        missing(
            "tus-js-client",
            "Install it with `npm ci --prefix tests/npm`.",
        )?;
    }
    Some((node, package))
}

/// A Python with tuspy.
fn tuspy() -> Option<PathBuf> {
    python_with("tusclient", "tuspy")
}

/// Runs a client to the end and returns the JSON line it printed.
fn run(mut command: Command) -> Value {
    let output = command.output().expect("start the tus client");
    assert!(
        output.status.success(),
        "the tus client failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("the client printed {stdout:?}: {err}"))
}

fn noise(dir: &Path, name: &str, size: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// The upload's id: the last segment of its URL.
fn upload_id(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// Shares upload `id` in `room` over the WebSocket, fetches the file from
/// the URL the message gives, and checks it is `bytes`, byte for byte.
async fn share_and_fetch(owner: &mut Owner, tus: &Tus, room: &str, id: &str, bytes: &[u8]) {
    let cid = format!("interop-{id}");
    owner
        .send(json!({"type":"message","room":room,"message":"","cid":cid,"files":[id]}))
        .await;
    let stored = loop {
        let frame = owner.client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["cid"] == cid.as_str() {
            break frame;
        }
    };
    let file = &stored["files"][0];
    assert_eq!(file["id"], id);
    assert_eq!(file["size"], bytes.len());
    let fetched = tus.get(file["url"].as_str().unwrap(), &[]);
    assert_eq!(fetched.status, 200);
    assert_eq!(
        Sha256::digest(&fetched.body),
        Sha256::digest(bytes),
        "byte for byte"
    );
}

async fn owner(server: &Server, name: &str) -> (Owner, Tus) {
    let owner = Owner::claim(server, name).await;
    let tus = Tus {
        addr: server.addr,
        token: owner.token.trim_start_matches("token.").to_owned(),
    };
    (owner, tus)
}

/// tus-js-client under Node uploads 5 MB in 1 MiB chunks to a room its
/// owner created; shared there, it comes back byte for byte.
#[tokio::test]
async fn tus_js_client_uploads_a_file_that_is_shared_and_fetched_whole() {
    let Some((node, package)) = tus_js_client() else {
        return;
    };
    let server = Server::start();
    let (mut alice, tus) = owner(&server, "alice").await;
    alice
        .send(json!({"type":"create_room","room":"interop","private":false}))
        .await;
    alice.client.recv_type("room").await;
    let dir = TempDir::new().unwrap();
    let (path, bytes) = noise(dir.path(), "from-node.bin", 5_000_000);

    let mut command = Command::new(node);
    command
        .arg(repo("tests/interop/tus_js_client.cjs"))
        .arg(format!("http://{}/api/uploads", server.addr))
        .arg(&tus.token)
        .arg(&path)
        .arg("interop")
        .env("TUS_JS_CLIENT", &package);
    let done = run(command);
    let url = done["url"].as_str().expect("the upload's URL");
    share_and_fetch(&mut alice, &tus, "interop", &upload_id(url), &bytes).await;
}

/// tus-js-client aborts at half way and starts again with the upload URL
/// it stored: it asks the server (HEAD) and sends from where the server
/// has it, not from 0; the file comes back whole.
#[tokio::test]
async fn tus_js_client_resumes_an_interrupted_upload_from_its_url() {
    let Some((node, package)) = tus_js_client() else {
        return;
    };
    let server = Server::start();
    let (mut alice, tus) = owner(&server, "alice").await;
    let dir = TempDir::new().unwrap();
    let size = 8_000_000;
    let (path, bytes) = noise(dir.path(), "resumed.bin", size);

    let mut command = Command::new(node);
    command
        .arg(repo("tests/interop/tus_js_client.cjs"))
        .arg(format!("http://{}/api/uploads", server.addr))
        .arg(&tus.token)
        .arg(&path)
        .arg("lobby")
        .env("TUS_JS_CLIENT", &package)
        .env("RESUME", "1");
    let done = run(command);
    let from = done["resumedFrom"]
        .as_u64()
        .expect("a PATCH after the restart");
    assert!(
        from >= size as u64 / 2,
        "the second start resumed from {from}, not half way or more"
    );
    let url = done["url"].as_str().unwrap();
    share_and_fetch(&mut alice, &tus, "lobby", &upload_id(url), &bytes).await;
}

/// tuspy uploads 3 MB in 1 MiB chunks; shared in the lobby, it comes back
/// byte for byte.
#[tokio::test]
async fn tuspy_uploads_a_file_that_is_shared_and_fetched_whole() {
    let Some(python) = tuspy() else {
        return;
    };
    let server = Server::start();
    let (mut alice, tus) = owner(&server, "alice").await;
    let dir = TempDir::new().unwrap();
    let (path, bytes) = noise(dir.path(), "from-python.bin", 3_000_000);

    let mut command = Command::new(python);
    command
        .arg(repo("tests/interop/tuspy_client.py"))
        .arg(format!("http://{}/api/uploads", server.addr))
        .arg(&tus.token)
        .arg(&path)
        .arg("lobby");
    let done = run(command);
    let url = done["url"].as_str().expect("the upload's URL");
    share_and_fetch(&mut alice, &tus, "lobby", &upload_id(url), &bytes).await;
}
