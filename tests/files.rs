//! Files: tus uploads to the real binary, sharing them in a room, fetching
//! them as a member, and everything a hostile or unlucky client can do.

mod common;

use common::owner::Owner;
use common::tus::Tus;
use common::{Client, Server};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Someone who owns a name, with a tus client for its token.
async fn owner(server: &Server, name: &str) -> (Owner, Tus) {
    let owner = Owner::claim(server, name).await;
    let tus = Tus {
        addr: server.addr,
        token: owner.token.trim_start_matches("token.").to_owned(),
    };
    (owner, tus)
}

/// Shares uploaded file `id` in `room` and returns the acknowledged message.
async fn share(owner: &mut Owner, room: &str, caption: &str, ids: &[&str]) -> Value {
    let cid = format!("share-{}", ids.join("-"));
    owner
        .send(json!({"type":"message","room":room,"message":caption,"cid":cid,"files":ids}))
        .await;
    loop {
        let frame = owner.client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["cid"] == cid.as_str() {
            return frame;
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole path: OPTIONS, POST, HEAD, PATCH in two parts, the message
/// that shares it, and a member fetching it whole and by range.
#[tokio::test]
async fn an_upload_is_shared_and_fetched() {
    let server = Server::start();
    let (mut alice, uploader) = owner(&server, "alice").await;
    let (mut bob, reader) = owner(&server, "bob").await;

    let options = uploader.request("OPTIONS", "/api/uploads", &[], &[]);
    assert_eq!(options.status, 204);
    assert_eq!(options.header("tus-version"), Some("1.0.0"));
    assert_eq!(
        options.header("tus-extension"),
        Some("creation,termination,expiration")
    );
    assert_eq!(options.header("tus-max-size"), Some("4294967296"));

    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let path = uploader.start("notes.bin", "lobby", content.len() as u64);
    assert!(path.starts_with("/api/uploads/"), "{path}");
    let created = uploader.head(&path);
    assert_eq!(created.header("upload-offset"), Some("0"));
    assert_eq!(created.header("upload-length"), Some("200000"));
    assert!(created.header("upload-expires").is_some());
    assert_eq!(created.header("tus-resumable"), Some("1.0.0"));

    let first = uploader.patch(&path, 0, &content[..70_000]);
    assert_eq!(first.status, 204, "{}", first.text());
    assert_eq!(first.header("upload-offset"), Some("70000"));
    assert_eq!(uploader.offset(&path), 70_000);
    let last = uploader.patch(&path, 70_000, &content[70_000..]);
    assert_eq!(last.status, 204, "{}", last.text());
    assert_eq!(last.header("upload-offset"), Some("200000"));
    let id = path.rsplit('/').next().unwrap();
    // A client that lost track of it finds it complete.
    let done = uploader.head(&path);
    assert_eq!(done.header("upload-offset"), Some("200000"));

    let sent = share(&mut alice, "lobby", "", &[id]).await;
    assert_eq!(sent["generated"], true);
    assert_eq!(sent["message"], "shared notes.bin (200 KB)");
    let file = &sent["files"][0];
    assert_eq!(file["id"], id);
    assert_eq!(file["name"], "notes.bin");
    assert_eq!(file["size"], 200_000);
    assert_eq!(file["type"], "application/octet-stream");
    let url = file["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/files/{id}/notes.bin"));
    assert_eq!(bob.client.recv_type("message").await["files"][0]["id"], id);

    let fetched = reader.get(&url, &[]);
    assert_eq!(fetched.status, 200);
    assert_eq!(sha256(&fetched.body), sha256(&content), "byte for byte");
    assert_eq!(
        fetched.header("etag"),
        Some(format!("\"{}\"", sha256(&content)).as_str())
    );
    assert_eq!(fetched.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(fetched.header("content-security-policy"), Some("sandbox"));
    assert!(
        fetched
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"notes.bin\"")
    );
    assert!(
        fetched
            .header("cache-control")
            .unwrap()
            .contains("immutable")
    );

    let part = reader.get(&url, &[("Range", "bytes=1000-1999".to_owned())]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/200000"));
    assert_eq!(part.body, content[1000..2000]);
    let tail = reader.get(&url, &[("Range", "bytes=-10".to_owned())]);
    assert_eq!(tail.body, content[199_990..]);
    let past = reader.get(&url, &[("Range", "bytes=300000-".to_owned())]);
    assert_eq!(past.status, 416);
    let etag = fetched.header("etag").unwrap().to_owned();
    let cached = reader.get(&url, &[("If-None-Match", etag)]);
    assert_eq!(cached.status, 304);

    // A v1 client, which knows nothing of files, reads the description.
    let (_, _, history) = Client::join(&server, "oldtimer").await;
    let last = history["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["message"], "shared notes.bin (200 KB)");
}

/// Refusals come with a status and a reason, before any body is read.
#[tokio::test]
async fn uploads_are_refused_with_reasons_before_the_body() {
    let server = Server::start_with(&[
        "--max-file-size",
        "1MB",
        "--files-quota",
        "3MB",
        "--max-uploads-per-user",
        "2",
    ]);
    let (mut alice, uploader) = owner(&server, "alice").await;
    let stranger = Tus {
        addr: server.addr,
        token: "0".repeat(64),
    };
    let unsigned = stranger.create("a.txt", "lobby", 10);
    assert_eq!(unsigned.status, 401);
    assert!(
        unsigned.text().contains("owned name"),
        "{}",
        unsigned.text()
    );
    assert_eq!(unsigned.header("tus-resumable"), Some("1.0.0"));

    let old = common::http_send(
        server.addr,
        &format!(
            "POST /api/uploads HTTP/1.1\r\nHost: x\r\nConnection: close\r\nLanchat-Token: {}\r\n\
             Tus-Resumable: 0.2.2\r\nUpload-Length: 10\r\n\r\n",
            uploader.token
        ),
        &[],
    );
    assert_eq!(old.status, 412);
    assert_eq!(old.header("tus-version"), Some("1.0.0"));

    let too_big = uploader.create("big.iso", "lobby", 1_000_001);
    assert_eq!(too_big.status, 413);
    assert!(too_big.text().contains("largest"), "{}", too_big.text());
    // The page words it itself, in its reader's language, from the refusal as data.
    let refusal: Value =
        serde_json::from_str(too_big.header("lanchat-refusal").unwrap_or("null")).unwrap();
    assert_eq!(
        refusal,
        json!({"code": "too_big", "size": 1_000_001, "max": 1_000_000})
    );

    let nowhere = uploader.create("a.txt", "payroll", 10);
    assert_eq!(nowhere.status, 403);
    assert!(nowhere.text().contains("#payroll"), "{}", nowhere.text());

    let cross_site = uploader.request(
        "POST",
        "/api/uploads",
        &[
            ("Upload-Length", "10".to_owned()),
            (
                "Upload-Metadata",
                format!("filename {}", common::tus::b64("a")),
            ),
            ("Origin", "http://evil.example".to_owned()),
        ],
        &[],
    );
    assert_eq!(cross_site.status, 403);

    let first = uploader.start("one.bin", "lobby", 900_000);
    let second = uploader.start("two.bin", "lobby", 900_000);
    let third = uploader.create("three.bin", "lobby", 10);
    assert_eq!(third.status, 429, "{}", third.text());
    assert!(third.text().contains("2 uploads going"), "{}", third.text());
    let gone = uploader.request("DELETE", &second, &[], &[]);
    assert_eq!(gone.status, 204);
    assert_eq!(uploader.head(&second).status, 404);
    // Reserved: 900 KB now; 2.2 MB more would pass the 3 MB quota.
    let quota = Tus {
        addr: server.addr,
        token: owner(&server, "bob").await.1.token,
    };
    let _bob_first = quota.start("b1.bin", "lobby", 1_000_000);
    let over = quota.create("b2.bin", "lobby", 1_000_000);
    assert_eq!(over.status, 201, "1.9 MB of 3 MB: still fits");
    let full = uploader.create("c.bin", "lobby", 1_000_000);
    assert_eq!(full.status, 507, "{}", full.text());
    assert!(
        full.text().contains("space for files is full"),
        "{}",
        full.text()
    );

    // The PATCH rules.
    let wrong_offset = uploader.patch(&first, 5, b"hello");
    assert_eq!(wrong_offset.status, 409);
    let wrong_type = uploader.request(
        "PATCH",
        &first,
        &[
            ("Upload-Offset", "0".to_owned()),
            ("Content-Type", "text/plain".to_owned()),
        ],
        b"hello",
    );
    assert_eq!(wrong_type.status, 415);
    let overflow = uploader.patch(&first, 0, &vec![0u8; 900_001]);
    assert_eq!(overflow.status, 413);
    assert_eq!(uploader.offset(&first), 0, "nothing was kept");
    let someone_else = quota.head(&first);
    assert_eq!(someone_else.status, 404, "only the uploader sees an upload");

    // A message may share only finished uploads of its sender's, here.
    let unfinished = first.rsplit('/').next().unwrap();
    alice
        .send(json!({"type":"message","message":"","cid":"c1","files":[unfinished]}))
        .await;
    let error = alice.client.recv_type("error").await;
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["cid"], "c1");
    alice
        .send(json!({"type":"message","message":"  ","cid":"c2"}))
        .await;
    assert_eq!(alice.client.recv_type("error").await["code"], "empty");
}

/// A private room's file is for its members: anyone else, with or without
/// a name, gets 404, as for an id that does not exist.
#[tokio::test]
async fn a_private_rooms_files_are_for_its_members() {
    let server = Server::start();
    let (mut alice, uploader) = owner(&server, "alice").await;
    let (_carol, outsider) = owner(&server, "carol").await;
    alice
        .send(json!({"type":"create_room","room":"plans","private":true}))
        .await;
    let room = alice.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = uploader.upload("plan.txt", &room, b"the secret plan");
    let sent = share(&mut alice, &room, "the plan", &[&id]).await;
    assert_eq!(sent["generated"], Value::Null, "a caption is not generated");
    let url = sent["files"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(uploader.get(&url, &[]).body, b"the secret plan");

    let nobody = common::http_get(server.addr, &url);
    let guessed = outsider.get(&format!("/files/{}/plan.txt", "f".repeat(32)), &[]);
    let member_of_other_rooms = outsider.get(&url, &[]);
    for response in [&nobody, &guessed, &member_of_other_rooms] {
        assert_eq!(response.status, 404);
        assert_eq!(response.body, b"not found\n");
    }
    // Not even the upload: another user's upload id is not theirs.
    assert_eq!(outsider.head(&format!("/api/uploads/{id}")).status, 404);
}

/// Types are sniffed from the bytes; HTML and SVG come back as attachments
/// that the browser may neither render nor sniff.
#[tokio::test]
async fn html_and_svg_are_served_as_attachments() {
    let server = Server::start();
    let (mut alice, uploader) = owner(&server, "alice").await;
    let html = b"<!doctype html><script>alert(1)</script>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
    for (name, bytes) in [
        ("page.html", &html[..]),
        ("pic.svg", &svg[..]),
        ("photo.jpg", &html[..]),
    ] {
        let id = uploader.upload(name, "lobby", bytes);
        let sent = share(&mut alice, "lobby", name, &[&id]).await;
        let url = sent["files"][0]["url"].as_str().unwrap().to_owned();
        let fetched = uploader.get(&url, &[]);
        assert_eq!(fetched.status, 200);
        assert_eq!(
            fetched.header("content-type"),
            Some("application/octet-stream"),
            "{name}"
        );
        assert!(
            fetched
                .header("content-disposition")
                .unwrap()
                .starts_with("attachment;"),
            "{name}"
        );
        assert_eq!(fetched.header("content-security-policy"), Some("sandbox"));
        assert_eq!(fetched.header("x-content-type-options"), Some("nosniff"));
    }
}

/// The same bytes uploaded twice are stored once.
#[tokio::test]
async fn identical_uploads_share_one_blob() {
    // Named, so the files are in one place on both backends (with
    // --postgres and no --db the data folder is ./lanchat-data).
    let dir = tempfile::TempDir::new().unwrap();
    let files = dir.path().join("lanchat-files");
    let server = Server::start_on_db(
        &dir.path().join("lanchat.db"),
        &["--files", files.to_str().unwrap()],
    );
    let (_alice, uploader) = owner(&server, "alice").await;
    let content = vec![7u8; 300_000];
    let first = uploader.upload("a.bin", "lobby", &content);
    let second = uploader.upload("copy of a.bin", "lobby", &content);
    assert_ne!(first, second, "two files");
    let blobs = files.join("blobs");
    let stored: Vec<_> = walk(&blobs);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::metadata(&stored[0]).unwrap().len(), 300_000);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A JPEG of `width` × `height` with an EXIF block saying "rotate 90°"
/// (orientation 6), as phones write them.
fn phone_photo(width: u32, height: u32) -> Vec<u8> {
    let pixels =
        image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 256) as u8, 90, 160]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    pixels
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    // TIFF, little-endian: one IFD entry, Orientation (0x0112) SHORT = 6.
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An image gets its shown size and a thumbnail without the EXIF of the
/// original (which a photo's location would be in).
#[tokio::test]
async fn images_get_a_thumbnail_without_exif() {
    let server = Server::start();
    let (mut alice, uploader) = owner(&server, "alice").await;
    let photo = phone_photo(1200, 400);
    assert!(photo.windows(4).any(|w| w == b"Exif"));
    let id = uploader.upload("IMG_0001.jpg", "lobby", &photo);
    let sent = share(&mut alice, "lobby", "the view", &[&id]).await;
    let file = &sent["files"][0];
    assert_eq!(file["type"], "image/jpeg");
    assert_eq!(
        (file["width"].as_u64(), file["height"].as_u64()),
        (Some(400), Some(1200)),
        "turned upright"
    );
    let thumb = uploader.get(file["thumb"].as_str().unwrap(), &[]);
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert!(
        !thumb.body.windows(4).any(|w| w == b"Exif"),
        "no EXIF in the thumbnail"
    );
    let small = image::load_from_memory(&thumb.body).unwrap();
    assert_eq!((small.width(), small.height()), (213, 640));
    let original = uploader.get(file["url"].as_str().unwrap(), &[]);
    assert_eq!(
        original
            .header("content-disposition")
            .map(|d| d.starts_with("inline")),
        Some(true)
    );
    assert_eq!(original.body, photo, "the original is kept as it was sent");
}

/// A PNG whose header claims 50,000 × 50,000 pixels is refused with a clear
/// reason when it finishes, never decoded, and the server carries on.
#[tokio::test]
async fn a_decompression_bomb_is_refused() {
    let server = Server::start();
    let (mut alice, uploader) = owner(&server, "alice").await;
    let bomb = bomb_png(50_000, 50_000);
    let path = uploader.start("huge.png", "lobby", bomb.len() as u64);
    let refused = uploader.patch(&path, 0, &bomb);
    assert_eq!(refused.status, 422);
    assert!(
        refused.text().contains("50000 × 50000"),
        "{}",
        refused.text()
    );
    assert_eq!(uploader.head(&path).status, 404, "the upload is gone");
    let id = path.rsplit('/').next().unwrap();
    alice
        .send(json!({"type":"message","message":"","cid":"bomb","files":[id]}))
        .await;
    assert_eq!(alice.client.recv_type("error").await["code"], "not_found");
    let fine = uploader.upload("fine.txt", "lobby", b"still here");
    assert_eq!(
        share(&mut alice, "lobby", "ok", &[&fine]).await["files"][0]["name"],
        "fine.txt"
    );
}

/// A 1 × 1 PNG whose header says `width` × `height`, with a correct CRC.
fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1, 1)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let mut bytes = png.into_inner();
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// kill -9 in the middle of an upload: after a restart the upload is at its
/// last acknowledged offset, and continuing from there gives the same bytes.
#[tokio::test]
async fn an_upload_survives_kill_9() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let (alice, uploader) = owner(&server, "alice").await;
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let path = uploader.start("video.mp4", "lobby", content.len() as u64);
    assert_eq!(uploader.patch(&path, 0, &content[..1_000_000]).status, 204);
    // A PATCH cut off mid-body, then the crash.
    let mut cut = std::net::TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nLanchat-Token: {}\r\n\
         Upload-Offset: 1000000\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: 2000000\r\n\r\n",
        uploader.token
    );
    std::io::Write::write_all(&mut cut, head.as_bytes()).unwrap();
    std::io::Write::write_all(&mut cut, &content[1_000_000..1_500_000]).unwrap();
    server.kill_hard();
    drop((cut, alice));

    let server = Server::start_on_db(&db, &[]);
    let uploader = Tus {
        addr: server.addr,
        ..uploader
    };
    let offset = uploader.offset(&path);
    assert!(
        (1_000_000..=1_500_000).contains(&offset),
        "resumes at an acknowledged or synced point: {offset}"
    );
    let done = uploader.patch(&path, offset, &content[offset as usize..]);
    assert_eq!(done.status, 204, "{}", done.text());
    let id = path.rsplit('/').next().unwrap();
    let token = format!("token.{}", uploader.token);
    let mut alice = Owner::with_token(&server, "alice", &token).await;
    let sent = share(&mut alice, "lobby", "", &[id]).await;
    let fetched = uploader.get(sent["files"][0]["url"].as_str().unwrap(), &[]);
    assert_eq!(sha256(&fetched.body), sha256(&content), "byte-identical");
}

/// An upload nobody shares is collected after the expiry, bytes and all,
/// while a shared file stays.
#[tokio::test]
async fn files_nobody_shares_are_collected() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let (mut alice, uploader) = owner(&server, "alice").await;
    let kept = uploader.upload("kept.txt", "lobby", b"shared, so kept");
    share(&mut alice, "lobby", "", &[&kept]).await;
    let orphan = uploader.upload("orphan.txt", "lobby", b"never shared");
    let unfinished = uploader.start("half.bin", "lobby", 1000);
    assert_eq!(uploader.patch(&unfinished, 0, &[1u8; 500]).status, 204);
    drop(alice);
    assert!(server.terminate().success());

    // Two days later.
    let two_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 2 * 86_400_000;
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE files SET created = ?1", [two_days_ago])
        .unwrap();
    drop(conn);
    let uploads = dir.path().join("lanchat-files").join("uploads");
    for entry in std::fs::read_dir(&uploads).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            meta["expires"] = json!(two_days_ago);
            std::fs::write(&path, meta.to_string()).unwrap();
        }
    }

    let server = Server::start_on_db(&db, &[]);
    let uploader = Tus {
        addr: server.addr,
        ..uploader
    };
    common::wait_until("the orphan is collected", || {
        uploader
            .get(&format!("/files/{orphan}/orphan.txt"), &[])
            .status
            == 404
    });
    assert_eq!(
        uploader.get(&format!("/files/{kept}/kept.txt"), &[]).body,
        b"shared, so kept"
    );
    assert_eq!(
        uploader.head(&unfinished).status,
        404,
        "the expired upload is gone"
    );
    let left = walk(&dir.path().join("lanchat-files"));
    assert_eq!(
        left.len(),
        1,
        "only the shared file's blob is left: {left:?}"
    );
}

/// The disk fills in the middle of an upload: a clear 507, nothing partial
/// becomes a file, chat carries on, and the upload resumes once there is
/// room again.
#[tokio::test]
async fn a_full_disk_stops_an_upload_cleanly() {
    let Some(mount) = common::tmpfs::Tmpfs::mount("8m", "a_full_disk_stops_an_upload_cleanly")
    else {
        return;
    };
    let files = mount.path.join("files");
    let files = files.to_str().unwrap();
    let server = Server::start_with(&["--files", files, "--min-free-disk", "0"]);
    let (mut alice, uploader) = owner(&server, "alice").await;
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let path = uploader.start("backup.tar", "lobby", content.len() as u64);
    assert_eq!(uploader.patch(&path, 0, &content[..1_000_000]).status, 204);

    let filler = mount.fill();
    let stopped = uploader.patch(&path, 1_000_000, &content[1_000_000..]);
    assert_eq!(stopped.status, 507, "{}", stopped.text());
    assert!(
        stopped.text().contains("disk is full"),
        "{}",
        stopped.text()
    );
    let offset = uploader.offset(&path);
    assert!((1_000_000..3_000_000).contains(&offset), "{offset}");
    let id = path.rsplit('/').next().unwrap();
    alice
        .send(json!({"type":"message","message":"","cid":"early","files":[id]}))
        .await;
    assert_eq!(alice.client.recv_type("error").await["code"], "not_found");
    let words = alice.say_in("lobby", "chat still works").await;
    assert_eq!(words["message"], "chat still works");

    drop(filler);
    let done = uploader.patch(&path, offset, &content[offset as usize..]);
    assert_eq!(done.status, 204, "{}", done.text());
    let sent = share(&mut alice, "lobby", "", &[id]).await;
    let fetched = uploader.get(sent["files"][0]["url"].as_str().unwrap(), &[]);
    assert_eq!(sha256(&fetched.body), sha256(&content));
}
