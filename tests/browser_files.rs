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
    let card = bob
        .js("[...document.querySelectorAll('.file-card')].map(card => card.textContent).join('|')");
    assert!(
        card.as_str().unwrap().contains("50 MB"),
        "the card says its size: {card}"
    );
    let moving =
        alice.js("window.progressSeen.filter(([value, max]) => value > 0 && value < max).length");
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
    assert!(
        patches
            .iter()
            .all(|p| p["bytes"].as_u64().unwrap() <= CHUNK)
    );

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
        "document.querySelector('#tray-list .upload')?.dataset.status",
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

/// alice sends a 50 MB file over a link held to 10 MB/s (a proxy between
/// her browser and the server counts every byte she sends) and reloads the
/// page half way. The page reads the file back from IndexedDB, asks the
/// server how far it got, and goes on from there: bob gets it whole, and
/// alice sent less than 1.5 times the file (starting over would be 1.5
/// or more).
#[test]
fn a_reload_half_way_resumes_the_upload_instead_of_starting_over() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let proxy = Proxy::start(server.addr);
    proxy.set_rate(10_000_000);
    let dir = TempDir::new().unwrap();
    let path = noise_file(dir.path(), "backup.tar", FIFTY_MB);
    let expected = sha256_hex(&std::fs::read(&path).unwrap());
    let alice = chrome.open();
    record_requests(&alice);
    let bob = chrome.open();
    join_at(&alice, &proxy.url(), "alice");
    join(&bob, &server, "bob");

    pick_files(&alice, &[&path]);
    say(&alice, "last night's backup");
    wait_message_progress(&alice, 0.5);
    let before = proxy.bytes_up();
    alice.refresh();
    wait_connected(&alice);
    alice.wait_for(
        "the message still waiting for its file after the reload",
        "document.querySelector('#timeline .msg.pending .upload')",
    );

    let shown = wait_shared(&bob, "backup.tar");
    assert_eq!(shown["text"], "last night's backup");
    let fetched = fetch_in_page(&bob, shown["url"].as_str().unwrap());
    assert_eq!(fetched["sha256"], json!(expected), "byte for byte");
    let sent = proxy.bytes_up();
    let ratio = sent as f64 / FIFTY_MB as f64;
    // The reloaded page's requests: it asked where the upload was, and went on from there.
    assert_eq!(
        requests(&alice, "POST"),
        Vec::<Value>::new(),
        "a new upload"
    );
    let resumed_from = requests(&alice, "PATCH")[0]["offset"].as_u64().unwrap();
    eprintln!(
        "resume after a reload: {sent} bytes sent for a {FIFTY_MB}-byte file ({ratio:.3}×), \
         {before} of them before the reload; the reloaded page went on from {resumed_from}"
    );
    // Half way, the third chunk was on its way: two were on the server's disk.
    assert!(
        resumed_from >= 2 * CHUNK,
        "the reloaded page went on from {resumed_from}, not from where the server was"
    );
    assert!(
        ratio < 1.5,
        "it started over: {ratio:.3}× the file was sent"
    );
    // The page's bar counts what Chromium took; the proxy, what reached
    // the server: the socket buffers between them hold a few megabytes.
    assert!(
        before as f64 >= 0.3 * FIFTY_MB as f64,
        "the reload came about half way: {before} bytes"
    );
}

/// The server is killed while alice's upload is half way, and started
/// again on the same port and files. The page pauses the upload, says it
/// waits for the connection, and once it is back goes on where the server
/// has it (less than 1.5 times the file sent in all); the file arrives whole.
#[test]
fn a_server_restart_mid_upload_resumes_where_it_stopped() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = serve(dir.path(), "0", &[]);
    let port = server.addr.port().to_string();
    let proxy = Proxy::start(server.addr);
    proxy.set_rate(10_000_000);
    let files = TempDir::new().unwrap();
    let path = noise_file(files.path(), "dataset.csv", FIFTY_MB);
    let expected = sha256_hex(&std::fs::read(&path).unwrap());
    let alice = chrome.open();
    join_at(&alice, &proxy.url(), "alice");

    pick_files(&alice, &[&path]);
    say(&alice, "the dataset");
    wait_message_progress(&alice, 0.4);
    server.kill_hard();
    alice.wait_for(
        "the upload paused, waiting for the connection",
        "(() => { const row = document.querySelector('#timeline .msg.pending .upload');
                  return row?.dataset.status === 'paused'
                      && row.querySelector('.upload-status').textContent.startsWith('Waiting for the connection'); })()",
    );
    let _server = serve(dir.path(), &port, &[]);
    retry_now(&alice);

    let shown = wait_shared(&alice, "dataset.csv");
    let fetched = fetch_in_page(&alice, shown["url"].as_str().unwrap());
    assert_eq!(fetched["sha256"], json!(expected), "byte for byte");
    let ratio = proxy.bytes_up() as f64 / FIFTY_MB as f64;
    eprintln!("resume after a server restart: {ratio:.3}× the file sent");
    assert!(
        ratio < 1.5,
        "it started over: {ratio:.3}× the file was sent"
    );
}

/// alice shares a picture in a private room. carol, who owns her name but
/// is not a member, is online all along: her page never hears of the file
/// (not on screen, not in storage, not in any timeline it keeps), and
/// fetching its address or its thumbnail with her cookies gets 404, the
/// same as for no file at all; so does a request with no credentials.
#[test]
fn a_stranger_to_a_private_room_never_learns_of_its_file_nor_can_fetch_it() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let carol = chrome.open();
    join(&alice, &server, "alice");
    join(&carol, &server, "carol");
    create_room(&alice, "plans", true);

    paste_png(&alice, "floorplan.png", 900, 600);
    alice.wait_eq(
        "the picture uploaded",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("done"),
    );
    say(&alice, "the new office");
    let shown = wait_shared(&alice, "floorplan.png");
    let url = shown["url"].as_str().unwrap();
    let thumb = shown["thumb"].as_str().unwrap();
    assert_eq!(
        fetch_in_page(&alice, url)["status"],
        200,
        "a member fetches it"
    );
    // Anything the server sent carol about it came before her own echo.
    say(&carol, "anyone around?");
    wait_delivered(&carol, "anyone around?");

    for text in [
        "floorplan",
        "the new office",
        url.rsplit('/').nth(1).unwrap(),
    ] {
        assert!(!page_knows(&carol, text), "carol's page learned {text:?}");
    }
    assert_eq!(fetch_in_page(&carol, url)["status"], 404);
    assert_eq!(fetch_in_page(&carol, thumb)["status"], 404);
    assert_eq!(server.get(url).status, 404, "no credentials");
    assert_eq!(server.get(thumb).status, 404, "no credentials");
}

/// A web page and an SVG with script in them, shared in the lobby, are
/// cards with a download link (never shown inline), served as attachments
/// of type application/octet-stream under `Content-Security-Policy:
/// sandbox`, and opening their addresses in Chromium runs nothing: no
/// dialog opens, and no flag they would set is set.
#[test]
fn an_html_file_and_an_svg_with_script_download_and_never_run() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let dir = TempDir::new().unwrap();
    let html = dir.path().join("invitation.html");
    std::fs::write(
        &html,
        "<!doctype html><title>hi</title><script>alert('the page ran');
         localStorage.setItem('ran', 'html'); document.cookie = 'ran=html; Path=/';</script>",
    )
    .unwrap();
    let svg = dir.path().join("logo.svg");
    std::fs::write(
        &svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert('the svg ran')\" width=\"10\" height=\"10\">\
         <script>localStorage.setItem('ran', 'svg'); document.cookie = 'ran=svg; Path=/';</script>\
         <rect width=\"10\" height=\"10\"/></svg>",
    )
    .unwrap();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");

    pick_files(&alice, &[&html, &svg]);
    alice.wait_for(
        "both in the tray, uploaded",
        "(() => { const rows = [...document.querySelectorAll('#tray-list .upload')];
                  return rows.length === 2 && rows.every(row => row.dataset.status === 'done'); })()",
    );
    alice.type_into("#message-input", ENTER);
    for name in ["invitation.html", "logo.svg"] {
        let shown = wait_shared(&bob, name);
        assert_eq!(shown["kind"], "card", "{name} is a card: {shown}");
        let url = shown["url"].as_str().unwrap().to_owned();
        let fetched = fetch_in_page(&bob, &url);
        assert_eq!(fetched["type"], "application/octet-stream", "{name}");
        assert!(
            fetched["disposition"]
                .as_str()
                .unwrap()
                .starts_with("attachment"),
            "{name}: {fetched}"
        );
        assert_eq!(fetched["csp"], "sandbox", "{name}");
        assert_eq!(
            bob.js("document.querySelectorAll('#timeline img[src*=\"/files/\"]').length"),
            json!(0),
            "nothing shown inline from the file itself"
        );

        bob.goto(&absolute(&server.url, &url));
        assert_eq!(bob.dialog_text(), None, "{name} opened a dialog");
        bob.goto(&server.url);
        wait_connected(&bob);
        assert_eq!(
            bob.js("[localStorage.getItem('ran'), document.cookie.includes('ran=')]"),
            json!([null, false]),
            "{name} ran"
        );
    }
}

/// Under `--max-file-size 1MB`, a 2 MB file is refused in the tray with
/// the server's reason in plain words, and not one PATCH (nor a byte of
/// the file) is sent.
#[test]
fn a_file_over_the_size_limit_is_refused_with_the_reason_before_a_byte_is_sent() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--max-file-size", "1MB"]);
    let dir = TempDir::new().unwrap();
    let path = noise_file(dir.path(), "holiday.mp4", 2_000_000);
    let alice = chrome.open();
    record_requests(&alice);
    join(&alice, &server, "alice");

    pick_files(&alice, &[&path]);
    alice.wait_eq(
        "the file refused in the tray",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("failed"),
    );
    let words = tray(&alice)[0]["words"].as_str().unwrap().to_owned();
    assert!(words.starts_with("Too big to share here"), "{words}");
    assert!(words.contains("1.0 MB"), "the server's limit: {words}");
    assert_eq!(
        alice.js("document.getElementById('announcer').textContent.includes('Too big')"),
        json!(true),
        "said to screen readers too"
    );
    assert_eq!(requests(&alice, "POST").len(), 1);
    assert_eq!(requests(&alice, "PATCH"), Vec::<Value>::new());

    // Enter sends nothing: the refused file stays, with its reason, until removed.
    alice.type_into("#message-input", ENTER);
    assert!(
        alice
            .js("document.querySelector('#timeline .msg')")
            .is_null()
    );
    alice.click("#tray-list .upload-cancel");
    alice.wait_eq(
        "the tray gone",
        "document.getElementById('tray').hidden",
        json!(true),
    );
}

/// Screenshots, desktop 1280×800 and phone 360×740, light and dark: a room
/// with a picture, a video and a card (from the picture, and from the
/// end), files dropped on the room (the overlay), the tray with an upload
/// on its way, and the lightbox. They go to `target/screenshots/files-*.png`.
#[test]
fn screenshots_of_files_in_light_and_dark_on_desktop_and_phone() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let proxy = Proxy::start(server.addr);
    let dir = TempDir::new().unwrap();
    let pdf = pdf_file(dir.path(), "route-and-huts.pdf", "Day 2: the ridge");
    let zip = noise_file(dir.path(), "all-the-photos.zip", 30_000_000);
    let bob = chrome.open();
    let alice = chrome.open();
    join(&bob, &server, "bob");
    join_at(&alice, &proxy.url(), "alice");

    paste_png(&bob, "ridge-sunset.png", 1600, 1000);
    bob.wait_eq(
        "the picture uploaded",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("done"),
    );
    say(&bob, "Sunset from the ridge last night");
    wait_shared(&alice, "ridge-sunset.png");
    say(&alice, "Wow. Did you film the climb too?");
    wait_delivered(&bob, "Wow. Did you film the climb too?");
    assert!(
        drop_files(&bob, &recorded_video("the-climb.webm")),
        "the drop overlay showed"
    );
    bob.wait_for(
        "the video in the tray",
        "document.querySelector('#tray-list .upload')",
    );
    bob.wait_eq(
        "the drop overlay gone",
        "document.getElementById('drop-overlay').hidden",
        json!(true),
    );
    say(&bob, "Only a bit of it");
    pick_files(&bob, &[&pdf]);
    bob.wait_eq(
        "the PDF uploaded",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("done"),
    );
    bob.type_into("#message-input", ENTER);
    let video = wait_shared(&alice, "the-climb.webm");
    assert_eq!(video["kind"], "video", "{video}");
    assert_eq!(wait_shared(&alice, "route-and-huts.pdf")["kind"], "card");
    alice.wait_for(
        "the video's first frame",
        "document.querySelector('.file-video video').readyState >= 3",
    );

    // alice's own upload, held to 1 MB/s: the tray shows its progress.
    proxy.set_rate(1_000_000);
    pick_files(&alice, &[&zip]);
    alice.type_into("#message-input", "Here are all of mine");
    alice.wait_for(
        "the upload on its way",
        "(() => { const bar = document.querySelector('#tray-list progress');
                  return bar !== null && bar.value > bar.max * 0.05; })()",
    );
    let shots = screenshot_dir();
    alice.wait_for(
        "the pictures loaded",
        "[...document.querySelectorAll('#timeline img')].every(img => img.complete && img.naturalWidth > 0)",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            if layout == "phone" {
                use_phone(&alice);
            } else {
                use_desktop(&alice);
            }
            alice.js("document.querySelector('.picture-open').scrollIntoView({ block: 'start' })");
            alice.screenshot(&shots.join(format!("files-{layout}-{scheme}.png")));
            alice.js("document.getElementById('messages').scrollTop = 1e9");
            alice.screenshot(&shots.join(format!("files-{layout}-{scheme}-end.png")));
        }
    }

    use_desktop(&alice);
    use_scheme(&alice, "light");
    let make_png = "(() => { const c = new OffscreenCanvas(4, 4); c.getContext('2d'); return c.convertToBlob(); })().then(blob => [new File([blob], 'x.png', { type: 'image/png' })])";
    alice.eval_async(
        &format!(
            "const done = arguments[arguments.length - 1];
             Promise.resolve({make_png}).then(files => {{
                 const data = new DataTransfer();
                 for (const file of files) data.items.add(file);
                 document.getElementById('messages').dispatchEvent(new DragEvent('dragenter',
                     {{ dataTransfer: data, bubbles: true, cancelable: true }}));
                 requestAnimationFrame(() => setTimeout(done, 100));
             }});"
        ),
        json!([]),
    );
    alice.screenshot(&shots.join("files-drop-desktop-light.png"));
    alice.js(
        "(() => { const data = new DataTransfer(); data.items.add(new File(['x'], 'x.png'));
                  document.getElementById('messages').dispatchEvent(new DragEvent('dragleave',
                      { dataTransfer: data, bubbles: true })); })()",
    );
    alice.wait_eq(
        "the drop overlay gone when the files leave",
        "document.getElementById('drop-overlay').hidden",
        json!(true),
    );

    alice.click(".picture-open");
    alice.wait_for(
        "the whole picture in the lightbox",
        "(() => { const img = document.getElementById('lightbox-image');
                  return document.getElementById('lightbox').open && img.complete && img.naturalWidth === 1600; })()",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            if layout == "phone" {
                use_phone(&alice);
            } else {
                use_desktop(&alice);
            }
            alice.screenshot(&shots.join(format!("files-lightbox-{layout}-{scheme}.png")));
        }
    }
}

/// The cookies that let `<img>` and download links fetch files follow the
/// connection: with `--password`, the key goes in `lanchat_key`
/// (percent-encoded) and the owned name's token in `lanchat_token`, so a
/// shared picture's thumbnail loads; a rename keeps the token (it moves
/// with the name), and another name brings its own token.
#[test]
fn the_file_cookies_carry_the_key_and_follow_the_name() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let key = "open sesame; é";
    let server = Server::start_with(&["--password", key]);
    let alice = chrome.open();
    let url = format!("{}#key={}", server.url, "open%20sesame%3B%20%C3%A9");
    join_at(&alice, &url, "alice");
    let cookies = "Object.fromEntries(document.cookie.split('; ').map(pair => pair.split('=')))";
    let token_is_stored = |name: &str| {
        format!(
            "(() => {{ const c = {cookies};
                       return c.lanchat_token === localStorage.getItem('lanchat.token.{name}'); }})()"
        )
    };
    alice.wait_for("alice's token in the cookie", &token_is_stored("alice"));
    assert_eq!(
        alice.js(&format!("{cookies}.lanchat_key")),
        json!("open%20sesame%3B%20%C3%A9")
    );

    paste_png(&alice, "key.png", 300, 200);
    alice.wait_eq(
        "the picture uploaded",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("done"),
    );
    alice.type_into("#message-input", ENTER);
    wait_shared(&alice, "key.png");
    alice.wait_for(
        "the thumbnail fetched with the cookies",
        "(() => { const img = document.querySelector('.picture-open img');
                  return img.complete && img.naturalWidth > 0; })()",
    );

    alice.click("#rename-open");
    alice.type_into("#rename-input", "\u{E009}a\u{E009}alicia");
    alice.type_into("#rename-input", ENTER);
    alice.wait_eq(
        "renamed",
        "document.getElementById('me-name').textContent",
        json!("alicia"),
    );
    alice.wait_for(
        "the token moved, the cookie too",
        &token_is_stored("alicia"),
    );

    alice.js("localStorage.setItem('lanchat.name', 'bea')");
    alice.refresh();
    wait_connected(&alice);
    alice.wait_eq(
        "in as bea",
        "document.getElementById('me-name').textContent",
        json!("bea"),
    );
    alice.wait_for("bea's own token in the cookie", &token_is_stored("bea"));
    assert_ne!(
        alice.js("localStorage.getItem('lanchat.token.bea')"),
        alice.js("localStorage.getItem('lanchat.token.alicia')")
    );
}
