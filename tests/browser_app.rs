//! The installable app, in real headless Chromium against the real server,
//! both ways a browser gets a secure context from lanchat: plain HTTP on
//! `127.0.0.1` (the host's own machine) and `--tls` with the local CA
//! trusted (installed in the browser's NSS database, as a person on the LAN
//! does; see `browser_support::tls::chrome_trusting`). Chromium finds the
//! page installable; the service worker keeps the page, which opens with
//! the server stopped and says it is reconnecting, shows nothing of the
//! chat as if it were live, and sends what was written meanwhile once the
//! server is back; and a server with other files (a new binary, made here
//! with `--web-overlay`) replaces the kept page at the next load, without
//! anyone clearing a cache. Skips loudly when Chromium is not installed
//! (fails instead with `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use std::path::Path;
use std::time::Instant;

use browser_support::tls::chrome_trusting;
use browser_support::*;
use common::tls::{fetch_ca, https_get, wss_connect};
use common::{Client, HttpResponse, Server};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use tempfile::TempDir;
use webdriver::{Chrome, PAGE_WAIT, Page};

/// How the browser reaches the server.
#[derive(Clone, Copy, PartialEq)]
enum Over {
    /// `http://127.0.0.1`: a secure context on the host's own machine.
    Http,
    /// `--tls`, with the local CA trusted by the browser.
    Https,
}

/// A test's server, as many times as it is started on the same history
/// (and, with `--tls`, the same local CA, kept beside it), and how the test
/// and the browser reach it.
struct Site {
    over: Over,
    dir: TempDir,
    /// The local CA, once a server with `--tls` has handed it out.
    ca: Option<CertificateDer<'static>>,
}

impl Site {
    fn new(over: Over) -> Site {
        Site {
            over,
            dir: TempDir::new().unwrap(),
            ca: None,
        }
    }

    /// Starts the server with `extra` flags, the chat on `port` (0: any;
    /// with `--tls` the HTTPS port, which is the page's origin).
    fn serve(&mut self, port: u16, extra: &[&str]) -> Server {
        let db = self.dir.path().join("lanchat.db");
        let port = port.to_string();
        let mut args = vec![
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--rate-limit",
            "0",
            "--db",
            db.to_str().unwrap(),
        ];
        match self.over {
            Over::Http => args.extend_from_slice(&["--port", &port]),
            Over::Https => args.extend_from_slice(&["--tls", "--port", "0", "--tls-port", &port]),
        }
        args.extend_from_slice(extra);
        let server = Server::spawn(&args, self.dir.path());
        if self.over == Over::Https {
            let ca = fetch_ca(&server);
            assert!(
                self.ca.as_ref().is_none_or(|known| *known == ca),
                "the CA stays the same across starts"
            );
            self.ca = Some(ca);
        }
        server
    }

    /// Chromium, trusting the CA with `--tls` (and the `HOME` that holds
    /// that trust); `None` where Chromium is missing.
    fn browser(&self) -> Option<(Chrome, Option<TempDir>)> {
        match &self.ca {
            None => Chrome::start().map(|chrome| (chrome, None)),
            Some(ca) => chrome_trusting(ca).map(|(chrome, home)| (chrome, Some(home))),
        }
    }

    fn get(&self, server: &Server, path: &str) -> HttpResponse {
        match &self.ca {
            None => server.get(path),
            Some(ca) => runtime().block_on(https_get(server.addr, path, std::slice::from_ref(ca))),
        }
    }

    /// The messages the server has stored, as a new client's history.
    fn stored_texts(&self, server: &Server) -> Vec<String> {
        let Some(ca) = &self.ca else {
            return stored_texts(server);
        };
        runtime().block_on(async {
            let mut client: Client = wss_connect(server, "auditor", std::slice::from_ref(ca))
                .await
                .expect("wss");
            client.recv_type("welcome").await;
            let history = client.recv_type("history").await;
            history["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| m["message"].as_str().unwrap().to_owned())
                .collect()
        })
    }

    /// What the server stamps on its service worker: the version of its
    /// files, and how many files the worker keeps.
    fn served_build(&self, server: &Server) -> (String, usize) {
        let script = self.get(server, "/sw.js").text();
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

    /// Waits until a service worker controls the page and keeps exactly
    /// the server's version, with every one of its files in its cache.
    /// Over HTTPS the page says nothing of an untrusted certificate: the
    /// browser took the worker.
    fn wait_kept(&self, page: &Page, server: &Server) -> String {
        let (version, files) = self.served_build(server);
        let deadline = Instant::now() + PAGE_WAIT;
        let expected =
            json!({ "controlled": true, "caches": [format!("lanchat-{version}")], "kept": files });
        loop {
            let state = worker_state(page);
            if state == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the service worker never kept version {version}: {state} (wanted {expected})"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(
            page.js("document.getElementById('trust-hint').hidden"),
            json!(true),
            "no word of an untrusted certificate"
        );
        version
    }

    /// Screenshot names: `app-offline-…`, `app-offline-https-…`.
    fn screenshot_prefix(&self) -> &'static str {
        match self.over {
            Over::Http => "app-offline",
            Over::Https => "app-offline-https",
        }
    }
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

/// Chromium's installability check (`Page.getInstallabilityErrors`, over
/// chromedriver's CDP endpoint) finds nothing wrong with the page on
/// `http://127.0.0.1`, and its manifest parses without errors, with icons
/// for Android's launcher (maskable) and 192 and 512 px PNGs.
#[test]
fn chromium_finds_the_page_installable() {
    installable(Over::Http);
}

/// The same over HTTPS from the local CA, trusted: how a phone on the LAN
/// installs the chat.
#[test]
fn chromium_finds_the_page_installable_over_https() {
    installable(Over::Https);
}

fn installable(over: Over) {
    let mut site = Site::new(over);
    let server = site.serve(0, &[]);
    let Some((chrome, _home)) = site.browser() else {
        return;
    };
    let page = chrome.open();
    join(&page, &server, "alice");
    site.wait_kept(&page, &server);
    let manifest = page.cdp("Page.getAppManifest", json!({}));
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    assert_eq!(
        manifest["url"].as_str().unwrap(),
        format!("{}manifest.json", server.url)
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
        let png = site.get(&server, &format!("/{src}"));
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

/// Alice has the page open on `http://127.0.0.1` and the service worker
/// keeps it. The server stops; she reloads: the page opens from the
/// device, says it is reconnecting, and shows no message and nobody online
/// as if the chat were live. She writes a message, which waits; when the
/// server is back the page reconnects and the message is stored, once.
#[test]
fn the_kept_page_opens_offline_and_sends_what_was_written_when_back() {
    kept_page_offline(Over::Http);
}

/// The same over HTTPS from the local CA, trusted; the server comes back
/// with a new certificate from the same CA.
#[test]
fn the_kept_page_opens_offline_and_sends_what_was_written_when_back_over_https() {
    kept_page_offline(Over::Https);
}

fn kept_page_offline(over: Over) {
    let mut site = Site::new(over);
    let mut server = site.serve(0, &[]);
    let port = server.addr.port();
    let Some((chrome, _home)) = site.browser() else {
        return;
    };
    let alice = chrome.open();
    join(&alice, &server, "alice");
    say(&alice, "before the break");
    wait_delivered(&alice, "before the break");
    site.wait_kept(&alice, &server);

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
    offline_screenshots(&alice, &server.url, site.screenshot_prefix());

    say(&alice, "written offline");
    alice.wait_for(
        "the message to wait in the outbox",
        "document.querySelector('#timeline .msg.pending') !== null",
    );
    assert_eq!(outbox_texts(&alice), ["written offline"]);

    let server = site.serve(port, &[]);
    retry_now(&alice);
    wait_delivered(&alice, "written offline");
    assert_eq!(
        site.stored_texts(&server),
        ["before the break", "written offline"]
    );
    assert!(outbox_texts(&alice).is_empty());
}

/// The page opened from the device, on a desktop in light and a phone in
/// dark, and in Portuguese and Spanish (`?lang=`: the worker answers for
/// the page whatever its query), for a person to look at.
fn offline_screenshots(page: &Page, url: &str, prefix: &str) {
    let dir = screenshot_dir();
    use_desktop(page);
    use_scheme(page, "light");
    page.screenshot(&dir.join(format!("{prefix}-desktop-light.png")));
    use_phone(page);
    use_scheme(page, "dark");
    page.screenshot(&dir.join(format!("{prefix}-phone-dark.png")));
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
        page.screenshot(&dir.join(format!("{prefix}-phone-dark-{language}.png")));
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
    new_page_replaces_kept(Over::Http);
}

/// The same over HTTPS from the local CA, trusted.
#[test]
fn a_new_server_page_replaces_the_kept_one_at_the_next_load_over_https() {
    new_page_replaces_kept(Over::Https);
}

fn new_page_replaces_kept(over: Over) {
    let mut site = Site::new(over);
    let mut old = site.serve(0, &[]);
    let port = old.addr.port();
    let Some((chrome, _home)) = site.browser() else {
        return;
    };
    let alice = chrome.open();
    join(&alice, &old, "alice");
    let old_version = site.wait_kept(&alice, &old);
    const MARKER: &str =
        "document.querySelector('meta[name=lanchat-test-build]')?.content ?? 'built-in'";
    assert_eq!(alice.js(MARKER), json!("built-in"));
    assert!(old.terminate().success());

    let overlay = site.dir.path().join("new-page");
    std::fs::create_dir(&overlay).unwrap();
    let index = built_in_index();
    let changed = index.replacen(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n  <meta name=\"lanchat-test-build\" content=\"2\">",
        1,
    );
    assert_ne!(changed, index, "the marker went in");
    std::fs::write(overlay.join("index.html"), changed).unwrap();
    let mut new = site.serve(port, &["--web-overlay", overlay.to_str().unwrap()]);
    assert_ne!(site.served_build(&new).0, old_version);

    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js(MARKER),
        json!("2"),
        "the next load is the new page"
    );
    site.wait_kept(&alice, &new);

    assert!(new.terminate().success());
    alice.refresh();
    wait_reconnecting(&alice);
    assert_eq!(alice.js(MARKER), json!("2"), "the kept page is the new one");
}

/// The built-in `index.html`, as the server serves it.
fn built_in_index() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("web/index.html")).unwrap()
}
