//! The installable app, in real headless Chromium against the real server
//! (`http://127.0.0.1` is a secure context, so service workers run there):
//! Chromium finds the page installable; the service worker keeps the page,
//! which opens with the server stopped and says it is reconnecting, shows
//! nothing of the chat as if it were live, and sends what was written
//! meanwhile once the server is back; and a server with other files (a
//! new binary, made here with `--web-overlay`) replaces the kept page at
//! the next load, without anyone clearing a cache. Skips loudly when
//! Chromium is not installed (fails instead with `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use std::path::Path;
use std::time::Instant;

use browser_support::*;
use common::Server;
use serde_json::{Value, json};
use tempfile::TempDir;
use webdriver::{Chrome, PAGE_WAIT, Page};

/// Starts the server on `dir`'s history and `port` (0: any), with `extra` flags.
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

/// What the server stamps on its service worker: the version of its
/// files, and the files the worker keeps.
fn served_build(server: &Server) -> (String, usize) {
    let script = server.get("/sw.js").text();
    let stamp = script.lines().next().unwrap_or_default();
    let build: Value = serde_json::from_str(
        stamp
            .strip_prefix("const BUILD = ")
            .and_then(|rest| rest.strip_suffix(';'))
            .unwrap_or_else(|| panic!("not a stamped worker: {stamp}")),
    )
    .unwrap();
    let files = build["files"].as_array().expect("files").len();
    (
        build["version"].as_str().expect("version").to_owned(),
        files,
    )
}

/// What the page knows of its service worker: whether one controls it,
/// the caches there are, and how many files the newest holds.
fn worker_state(page: &Page) -> Value {
    page.eval_async(
        "const done = arguments[arguments.length - 1];
         (async () => {
             const names = (await caches.keys()).filter(name => name.startsWith('lanchat-'));
             const kept = names.length ? (await (await caches.open(names[0])).keys()).length : 0;
             return { controlled: Boolean(navigator.serviceWorker.controller), caches: names, kept };
         })().then(done, error => done({ error: String(error) }));",
        json!([]),
    )
}

/// Waits until a service worker controls the page and keeps exactly the
/// server's version, with every one of its files in its cache.
fn wait_kept(page: &Page, server: &Server) -> String {
    let (version, files) = served_build(server);
    let deadline = Instant::now() + PAGE_WAIT;
    let expected =
        json!({ "controlled": true, "caches": [format!("lanchat-{version}")], "kept": files });
    loop {
        let state = worker_state(page);
        if state == expected {
            return version;
        }
        assert!(
            Instant::now() < deadline,
            "the service worker never kept version {version}: {state} (wanted {expected})"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Chromium's installability check (`Page.getInstallabilityErrors`, over
/// chromedriver's CDP endpoint) finds nothing wrong with the page, and its
/// manifest parses without errors, with icons for Android's launcher
/// (maskable) and 192 and 512 px PNGs.
#[test]
fn chromium_finds_the_page_installable() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let server = serve(dir.path(), "0", &[]);
    let page = chrome.open();
    join(&page, &server, "alice");
    wait_kept(&page, &server);
    let manifest = page.cdp("Page.getAppManifest", json!({}));
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    assert!(
        manifest["url"]
            .as_str()
            .unwrap()
            .ends_with("/manifest.json")
    );
    let parsed: Value = serde_json::from_str(manifest["data"].as_str().unwrap()).unwrap();
    let icons = parsed["icons"].as_array().unwrap();
    for (size, purpose) in [
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    ] {
        let icon = icons
            .iter()
            .find(|icon| icon["sizes"] == size && icon["purpose"] == purpose)
            .unwrap_or_else(|| panic!("no {purpose} icon of {size}"));
        let src = icon["src"].as_str().unwrap();
        let png = server.get(&format!("/{src}"));
        assert_eq!(png.status, 200, "{src}");
        assert_eq!(png.header("content-type"), Some("image/png"), "{src}");
        let side: u32 = size.split('x').next().unwrap().parse().unwrap();
        assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n", "{src}");
        let width = u32::from_be_bytes(png.body[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png.body[20..24].try_into().unwrap());
        assert_eq!((width, height), (side, side), "{src}");
    }
    let errors = page.cdp("Page.getInstallabilityErrors", json!({}));
    assert_eq!(errors["installabilityErrors"], json!([]), "{errors}");
}

/// Alice has the page open and the service worker keeps it. The server
/// stops; she reloads: the page opens from the device, says it is
/// reconnecting, and shows no message and nobody online as if the chat
/// were live. She writes a message, which waits; when the server is back
/// the page reconnects and the message is stored, once.
#[test]
fn the_kept_page_opens_offline_and_sends_what_was_written_when_back() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = serve(dir.path(), "0", &[]);
    let port = server.addr.port().to_string();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    say(&alice, "before the break");
    wait_delivered(&alice, "before the break");
    wait_kept(&alice, &server);

    assert!(server.terminate().success());
    alice.refresh();
    wait_reconnecting(&alice);
    assert_eq!(
        alice.js("document.getElementById('app').hidden"),
        json!(false)
    );
    assert_eq!(
        alice.js("document.querySelectorAll('#timeline .msg').length"),
        json!(0),
        "no message shows while nothing is live"
    );
    assert!(!page_knows(&alice, "before the break"));
    assert_eq!(
        alice.js("document.querySelectorAll('#people-list .person').length"),
        json!(0)
    );
    assert_eq!(
        alice.js("document.getElementById('people-count').hidden"),
        json!(true),
        "how many are online is not known, not 0"
    );
    alice.wait_for(
        "the banner to say the server cannot be reached",
        "document.getElementById('conn-banner').textContent.startsWith('lanchat can’t reach the chat server')",
    );
    offline_screenshots(&alice, &server.url);

    say(&alice, "written offline");
    alice.wait_for(
        "the message to wait in the outbox",
        "document.querySelector('#timeline .msg.pending') !== null",
    );
    assert_eq!(outbox_texts(&alice), ["written offline"]);

    let server = serve(dir.path(), &port, &[]);
    retry_now(&alice);
    wait_delivered(&alice, "written offline");
    assert_eq!(
        stored_texts(&server),
        ["before the break", "written offline"]
    );
    assert!(outbox_texts(&alice).is_empty());
}

/// The page opened from the device, on a desktop in light and a phone in
/// dark, and in Portuguese and Spanish (`?lang=`: the worker answers for
/// the page whatever its query), for a person to look at.
fn offline_screenshots(page: &Page, url: &str) {
    let dir = screenshot_dir();
    use_desktop(page);
    use_scheme(page, "light");
    page.screenshot(&dir.join("app-offline-desktop-light.png"));
    use_phone(page);
    use_scheme(page, "dark");
    page.screenshot(&dir.join("app-offline-phone-dark.png"));
    for (language, words) in [
        ("pt-BR", "O lanchat não está conseguindo"),
        ("es", "lanchat no logra"),
    ] {
        page.goto(&format!("{url}?lang={language}"));
        page.wait_for(
            &format!("the banner in {language}"),
            &format!(
                "document.getElementById('conn-banner').textContent.startsWith({})",
                json!(words)
            ),
        );
        page.screenshot(&dir.join(format!("app-offline-phone-dark-{language}.png")));
    }
    page.goto(url);
    use_desktop(page);
    use_scheme(page, "light");
    wait_reconnecting(page);
}

/// Waits until the page says it is reconnecting (in any language: the
/// header's dot, and "Retry now" offered).
fn wait_reconnecting(page: &Page) {
    page.wait_for(
        "the page to say it is reconnecting",
        "document.getElementById('conn-dot')?.dataset.state === 'waiting'
            && !document.getElementById('retry-now').hidden",
    );
}

/// Alice's page is kept. The server is replaced by one with another page
/// (a marker in `index.html`, laid over the built-in files with
/// `--web-overlay`, as a new binary's files would be): her next load shows
/// the new page, the worker replaces the kept copy with the new set and
/// drops the old one, and with the server stopped again the page that
/// opens from the device is the new one.
#[test]
fn a_new_server_page_replaces_the_kept_one_at_the_next_load() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut old = serve(dir.path(), "0", &[]);
    let port = old.addr.port().to_string();
    let alice = chrome.open();
    join(&alice, &old, "alice");
    let old_version = wait_kept(&alice, &old);
    const MARKER: &str =
        "document.querySelector('meta[name=lanchat-test-build]')?.content ?? 'built-in'";
    assert_eq!(alice.js(MARKER), json!("built-in"));
    assert!(old.terminate().success());

    let overlay = dir.path().join("new-page");
    std::fs::create_dir(&overlay).unwrap();
    let index = built_in_index();
    let changed = index.replacen(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n  <meta name=\"lanchat-test-build\" content=\"2\">",
        1,
    );
    assert_ne!(changed, index, "the marker went in");
    std::fs::write(overlay.join("index.html"), changed).unwrap();
    let mut new = serve(
        dir.path(),
        &port,
        &["--web-overlay", overlay.to_str().unwrap()],
    );
    assert_ne!(served_build(&new).0, old_version);

    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js(MARKER),
        json!("2"),
        "the next load is the new page"
    );
    wait_kept(&alice, &new);

    assert!(new.terminate().success());
    alice.refresh();
    wait_reconnecting(&alice);
    assert_eq!(alice.js(MARKER), json!("2"), "the kept page is the new one");
}

/// The built-in `index.html`, as the server serves it.
fn built_in_index() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("web/index.html")).unwrap()
}
