//! Sharing files from the page, in real headless Chromium against the real
//! server: a 50 MB file chosen in the file picker, a pasted screenshot, an
//! upload that survives a reload and a server restart (measured by a
//! counting proxy: the file is sent about once), a private room's file that
//! nobody else can learn of or fetch, hostile files that never run, and a
//! file too big for the server, refused before a byte of it is sent.
//! Skips loudly when Chromium is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use std::path::Path;

use browser_support::files::*;
use browser_support::proxy::Proxy;
use browser_support::*;
use common::Server;
use serde_json::{Value, json};
use tempfile::TempDir;
use webdriver::{Chrome, ENTER, ESCAPE, Page};

/// The page's chunk: each PATCH carries at most this much.
const CHUNK: u64 = 8 * 1024 * 1024;
const FIFTY_MB: usize = 50_000_000;

/// Starts the server on `dir` (history and files) and `port` (0: any).
fn serve(dir: &Path, port: &str, extra: &[&str]) -> Server {
    let db = dir.join("lanchat.db");
    let mut args = vec![
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--no-qr",
        "--rate-limit",
        "0",
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::spawn(&args, dir)
}

/// The page's address of a file, made absolute for a browser to open.
fn absolute(server_url: &str, path: &str) -> String {
    format!("{}{path}", server_url.trim_end_matches('/'))
}

/// The first progress bar of a message waiting for its files reads at
/// least `fraction` of its file.
fn wait_message_progress(page: &Page, fraction: f64) {
    page.wait_for(
        &format!("the upload past {:.0} %", fraction * 100.0),
        &format!(
            "(() => {{ const bar = document.querySelector('#timeline .msg.pending progress');
                       return bar !== null && bar.value >= bar.max * {fraction}; }})()"
        ),
    );
}

/// alice picks a real 50 MB file with the paperclip's file picker and
/// sends it with a caption. Its progress bar moves chunk by chunk (8 MiB
/// PATCHes), bob's page shows it as a card with the caption, and the file
/// bob downloads has the same SHA-256 as the one on alice's disk.
#[test]
fn a_50_mb_file_from_the_picker_uploads_with_progress_and_arrives_byte_for_byte() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let dir = TempDir::new().unwrap();
    let path = noise_file(dir.path(), "footage.mov", FIFTY_MB);
    let expected = sha256_hex(&std::fs::read(&path).unwrap());
    let alice = chrome.open();
    record_requests(&alice);
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");

    pick_files(&alice, &[&path]);
    alice.wait_for(
        "the file in the tray",
        "document.querySelector('#tray-list .upload')",
    );
    assert_eq!(tray(&alice)[0]["name"], "footage.mov");
    say(&alice, "the raw footage");
    alice.wait_eq(
        "the tray empty: the file waits with its message",
        "document.getElementById('tray').hidden",
        json!(true),
    );

    let shown = wait_shared(&bob, "footage.mov");
    assert_eq!(shown["kind"], "card", "{shown}");
    assert_eq!(shown["text"], "the raw footage");
    let card = bob.js(
        "[...document.querySelectorAll('.file-card')].map(card => card.textContent).join('|')",
    );
    assert!(
        card.as_str().unwrap().contains("50 MB"),
        "the card says its size: {card}"
    );
    let moving = alice.js("window.progressSeen.filter(([value, max]) => value > 0 && value < max).length");
    assert!(
        moving.as_u64().unwrap() >= 3,
        "the progress bar moved on its way: {moving}"
    );
    let patches = requests(&alice, "PATCH");
    assert_eq!(
        patches.len() as u64,
        (FIFTY_MB as u64).div_ceil(CHUNK),
        "8 MiB chunks: {patches:?}"
    );
    assert!(patches.iter().all(|p| p["bytes"].as_u64().unwrap() <= CHUNK));

    let fetched = fetch_in_page(&bob, shown["url"].as_str().unwrap());
    assert_eq!(fetched["status"], 200, "{fetched}");
    assert_eq!(fetched["sha256"], json!(expected), "byte for byte");
    assert_eq!(
        alice.js("JSON.stringify(localStorage).includes('footage')"),
        json!(false),
        "the sent message left the outbox"
    );
}

/// A screenshot pasted into the composer shows in the tray, goes with
/// Enter alone, and shows inline in bob's page from its thumbnail, its
/// space reserved from the server's width and height (so nothing moves when
/// it loads), without the server's generated text. A click opens it whole
/// in the lightbox; Escape closes it and focus goes back to the picture.
#[test]
fn a_pasted_picture_shows_inline_from_its_thumbnail_and_opens_whole() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");

    paste_png(&alice, "sunset.png", 1600, 1000);
    alice.wait_for(
        "the pasted picture in the tray, previewed",
        "document.querySelector('#tray-list .upload-thumb img')?.src.startsWith('blob:')",
    );
    alice.wait_eq(
        "the picture uploaded",
        "document.querySelector('#tray-list .upload').dataset.status",
        json!("done"),
    );
    alice.type_into("#message-input", ENTER);

    let shown = wait_shared(&bob, "sunset.png");
    assert_eq!(shown["kind"], "picture", "{shown}");
    assert!(shown["thumb"].as_str().unwrap().starts_with("/thumbs/"));
    assert_eq!(shown["text"], Value::Null, "no generated text: {shown}");
    assert_eq!(
        (shown["width"].clone(), shown["height"].clone()),
        (json!(320), json!(200)),
        "1600 × 1000 fits 320 × 200"
    );
    let reserved = bob.js(
        "(() => { const r = document.querySelector('.picture-open img').getBoundingClientRect();
                  return [Math.round(r.width), Math.round(r.height)]; })()",
    );
    bob.wait_for(
        "the thumbnail loaded",
        "(() => { const img = document.querySelector('.picture-open img');
                  return img.complete && img.naturalWidth > 0; })()",
    );
    let thumb = bob.js(
        "(() => { const img = document.querySelector('.picture-open img');
                  const r = img.getBoundingClientRect();
                  return [img.naturalWidth, img.naturalHeight, Math.round(r.width), Math.round(r.height)]; })()",
    );
    assert_eq!(thumb[0], json!(640), "a thumbnail, not the whole picture");
    assert_eq!(
        json!([thumb[2], thumb[3]]),
        reserved,
        "its space was reserved"
    );

    bob.click(".picture-open");
    bob.wait_for(
        "the lightbox with the whole picture",
        "(() => { const img = document.getElementById('lightbox-image');
                  return document.getElementById('lightbox').open && img.complete && img.naturalWidth === 1600; })()",
    );
    assert_eq!(
        bob.js("document.getElementById('lightbox-name').textContent"),
        "sunset.png"
    );
    bob.type_into("#lightbox button[data-close]", ESCAPE);
    bob.wait_for(
        "the lightbox closed, focus back on the picture",
        "!document.getElementById('lightbox').open
            && document.activeElement === document.querySelector('.picture-open')",
    );
}
