//! Exports against the real binary: the host's (`/api/export` with the
//! host secret, and `lanchat export`), which holds the lobby and public
//! rooms and never a private room or a direct message; a participant's
//! (`/api/export/mine`), which holds what they can read, direct messages
//! included. HTML, Markdown and JSON lines, whose lines are exactly the
//! messages the WebSocket gives.

mod common;

use std::path::Path;
use std::process::Command;

use common::host::{self, SECRET};
use common::owner::Owner;
use common::tus::Tus;
use common::{Client, HttpResponse, Server, http_request};
use serde_json::{Value, json};
use tempfile::TempDir;

/// GET `path` with extra header lines.
fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut raw = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        server.addr
    );
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    http_request(server.addr, &raw)
}

/// A small picture: 16×8 pixels, a PNG.
fn png() -> Vec<u8> {
    let picture =
        image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 16, y as u8 * 32, 200]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

/// The messages of `room` as the WebSocket gives them.
async fn history(server: &Server, owner: &mut Owner, room: &str) -> Vec<Value> {
    owner
        .send(json!({"type":"history","room":room,"before":1_000_000,"limit":200}))
        .await;
    let _ = server;
    loop {
        let frame = owner.client.recv_type("history").await;
        if frame["room"] == room {
            return frame["messages"].as_array().unwrap().clone();
        }
    }
}

struct Scene {
    server: Server,
    dir: TempDir,
    alice: Owner,
    bob: Owner,
    private: String,
    dm: String,
}

/// The lobby with a picture, a public room, a private room and a direct
/// message, each with words of its own.
async fn scene() -> Scene {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let server = Server::start_on_db(&db, &host::flags());
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let tus = Tus {
        addr: server.addr,
        token: alice.token.trim_start_matches("token.").to_owned(),
    };
    let file = tus.upload("sunset.png", "lobby", &png());
    alice
        .send(json!({"type":"message","message":"look at **this**","files":[file],"cid":"p1"}))
        .await;
    alice.client.recv_type("message").await;
    bob.say_in("lobby", "lovely").await;
    alice
        .send(json!({"type":"create_room","room":"projects"}))
        .await;
    alice.client.recv_type("room").await;
    alice.say_in("projects", "public plans").await;
    bob.send(json!({"type":"create_room","room":"hideout","private":true}))
        .await;
    let private = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in(&private, "private words XK3").await;
    bob.send(json!({"type":"dm","username":"alice"})).await;
    let dm = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in(&dm, "dm words ZQ9").await;
    Scene {
        server,
        dir,
        alice,
        bob,
        private,
        dm,
    }
}

/// The host's export: the lobby and public rooms in all three forms, the
/// JSON lines exactly the WebSocket's messages; never a private room's or a
/// direct message's words, nor the host secret; refused without the secret
/// and for a private room or a direct message.
#[tokio::test]
async fn the_hosts_export_holds_public_rooms_only() {
    let mut scene = scene().await;
    let server = &scene.server;
    let host = [("Lanchat-Host", SECRET)];
    let jsonl = get(server, "/api/export?format=jsonl", &host);
    assert_eq!(jsonl.status, 200, "{}", jsonl.text());
    assert_eq!(jsonl.header("content-type"), Some("application/x-ndjson"));
    assert!(
        jsonl
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"lanchat-everything-")),
    );
    let lines: Vec<Value> = jsonl
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let mut expected = Vec::new();
    for room in ["lobby", "projects"] {
        for message in history(server, &mut scene.alice, room).await {
            let mut frame = json!({"type":"message"});
            for (key, value) in message.as_object().unwrap() {
                frame[key] = value.clone();
            }
            expected.push(frame);
        }
    }
    assert_eq!(
        lines, expected,
        "the lines round-trip to the WebSocket's messages"
    );
    let html = get(server, "/api/export", &host);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = html.text();
    assert!(page.contains("<strong>this</strong>"));
    assert!(page.contains("data:image/png;base64,"));
    let markdown = get(server, "/api/export?format=markdown&room=lobby", &host).text();
    assert!(markdown.contains("look at **this**") && markdown.contains("sunset.png"));
    assert!(!markdown.contains("public plans"), "one room asked for");
    for export in [jsonl.text(), page, markdown] {
        for never in ["XK3", "ZQ9", SECRET] {
            assert!(!export.contains(never), "{never:?} in the host's export");
        }
    }
    assert_eq!(get(server, "/api/export", &[]).status, 403);
    assert_eq!(
        get(server, "/api/export", &[("Lanchat-Host", "wrong")]).status,
        403
    );
    for room in [&scene.private, &scene.dm] {
        let refused = get(server, &format!("/api/export?room={room}"), &host);
        assert_eq!(refused.status, 403, "{room}");
        assert!(!refused.text().contains("XK3"));
    }
}

/// A participant's export holds what they can read, direct messages
/// included, as HTML; never a room they are not in.
#[tokio::test]
async fn a_participants_export_holds_what_they_can_read() {
    let scene = scene().await;
    let server = &scene.server;
    let token = |owner: &Owner| owner.token.trim_start_matches("token.").to_owned();
    let bobs = get(
        server,
        "/api/export/mine",
        &[("Lanchat-Token", &token(&scene.bob))],
    );
    assert_eq!(bobs.status, 200, "{}", bobs.text());
    let page = bobs.text();
    for words in ["private words XK3", "dm words ZQ9", "lovely"] {
        assert!(page.contains(words), "{words:?} missing from bob's export");
    }
    let alices = get(
        server,
        "/api/export/mine",
        &[("Lanchat-Token", &token(&scene.alice))],
    )
    .text();
    assert!(alices.contains("dm words ZQ9"), "alice is in the DM");
    assert!(
        !alices.contains("XK3"),
        "alice is not in bob's private room"
    );
    let one = get(
        server,
        &format!("/api/export/mine?room={}", scene.dm),
        &[("Lanchat-Token", &token(&scene.alice))],
    )
    .text();
    assert!(one.contains("ZQ9") && !one.contains("lovely"));
    let outsider = get(
        server,
        &format!("/api/export/mine?room={}", scene.private),
        &[("Lanchat-Token", &token(&scene.alice))],
    );
    assert_eq!(outsider.status, 404);
    // A name nobody owns reads the lobby, and so may export it.
    let anyone = get(server, "/api/export/mine", &[]);
    assert_eq!(anyone.status, 200);
    assert!(anyone.text().contains("lovely") && !anyone.text().contains("ZQ9"));
    assert_eq!(
        get(
            server,
            "/api/export/mine",
            &[("Lanchat-Token", "not-a-token")]
        )
        .status,
        401
    );
    let (_, _, _) = Client::join(server, "guest").await;
}

/// `lanchat export`, beside the running server: the same JSON lines as the
/// host's export in the page, one self-contained HTML file; a private room
/// or a direct message is refused.
#[tokio::test]
async fn lanchat_export_writes_the_same_archive() {
    let scene = scene().await;
    let db = scene.dir.path().join("chat.db");
    let mut target = vec![];
    if common::postgres::scenarios_on_postgres() {
        // Run where the server runs, it finds the same data folder (files).
        target.extend(["--postgres".to_owned(), common::postgres::database_for(&db)]);
    } else {
        target.extend(["--db".to_owned(), db.display().to_string()]);
    }
    let export = |extra: &[&str], out: &Path| {
        Command::new(common::binary())
            .args(&target)
            .arg("export")
            .args(extra)
            .current_dir(scene.dir.path())
            .arg("--out")
            .arg(out)
            .output()
            .expect("run lanchat export")
    };
    let out = scene.dir.path().join("archive.jsonl");
    let done = export(&["--format", "jsonl"], &out);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let from_cli = std::fs::read_to_string(&out).unwrap();
    let from_page = get(
        &scene.server,
        "/api/export?format=jsonl",
        &[("Lanchat-Host", SECRET)],
    )
    .text();
    assert_eq!(from_cli, from_page);
    let html = scene.dir.path().join("archive.html");
    assert!(export(&["--room", "lobby"], &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("data:image/png;base64,") && !page.contains("public plans"));
    // Without --out, into exports/ in the data folder.
    let done = Command::new(common::binary())
        .args(&target)
        .args(["export", "--format", "markdown"])
        .current_dir(scene.dir.path())
        .output()
        .expect("run lanchat export");
    let said = String::from_utf8_lossy(&done.stdout);
    let written = said
        .strip_prefix("wrote ")
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("{said}"));
    let written = Path::new(written);
    assert!(
        written.starts_with(scene.dir.path())
            && written.parent().unwrap().ends_with("exports")
            && std::fs::read_to_string(written)
                .unwrap()
                .contains("look at **this**"),
        "{said}"
    );
    for room in [&scene.private, &scene.dm] {
        let refused = export(&["--room", room], &scene.dir.path().join("no.html"));
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("private rooms or direct messages")
        );
    }
}
