//! The outbox and the connection's end, in real headless Chromium against
//! the real server: messages written while the server is away are paced
//! into its rate limit and all stored, once each, in order; the tabs of one
//! browser share one outbox and never send a message twice; and a server
//! that closes the page for breaking a rule is explained, not hammered.
//! Skips loudly when Chromium is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use std::path::Path;

use browser_support::*;
use common::Server;
use serde_json::json;
use tempfile::TempDir;
use webdriver::Chrome;

/// The server's rate limit in these tests: 5 messages a second after a
/// burst of 10, its defaults.
const RATE: [&str; 4] = ["--rate-limit", "5", "--rate-burst", "10"];

/// Starts the server on `db` and `port` (0: any), with `extra` flags.
fn serve(dir: &Path, port: &str, extra: &[&str]) -> Server {
    let db = dir.join("lanchat.db");
    let mut args = vec![
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--no-qr",
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::spawn(&args, dir)
}

/// Wi-Fi drops and alice keeps typing: 30 short messages. When the server
/// is back (5/s, burst 10), the page paces the outbox to the limits its
/// welcome announced, and all 30 are stored exactly once, in order, without
/// a refusal for rate, a failed row, or a 1008 close.
#[test]
fn thirty_messages_written_offline_are_paced_into_the_rate_limit_and_all_stored() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = serve(dir.path(), "0", &RATE);
    let port = server.addr.port().to_string();
    let alice = chrome.open();
    record_sockets(&alice);
    join(&alice, &server, "alice");

    assert!(server.terminate().success());
    alice.wait_for(
        "the header to say it is reconnecting",
        "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
    );
    let expected: Vec<String> = (1..=30).map(|n| format!("offline {n:02}")).collect();
    for text in &expected {
        say(&alice, text);
    }
    alice.wait_eq(
        "30 messages waiting",
        "document.querySelectorAll('#timeline .msg.pending').length",
        json!(30),
    );
    assert_eq!(outbox_texts(&alice), expected);

    let server = serve(dir.path(), &port, &RATE);
    retry_now(&alice);
    alice.wait_for(
        "every message stored",
        "document.querySelectorAll('#timeline .msg[data-seq]').length === 30
            && !document.querySelector('#timeline .msg.pending')",
    );
    assert_eq!(texts(&alice), expected);
    assert_no_duplicate_seqs(&alice);
    assert_eq!(
        stored_texts(&server),
        expected,
        "stored once each, in order"
    );
    assert_eq!(alice.js("window.sawFailed"), json!(false), "a failed row");
    assert_eq!(
        alice.js("window.rateLimited"),
        json!(0),
        "paced below the limit"
    );
    assert_eq!(
        alice.js("window.closes.filter(([code]) => code === 1008)"),
        json!([])
    );
    assert!(outbox_texts(&alice).is_empty());
}

/// Two tabs of one browser, the server down: tab 1 writes A, tab 2 writes
/// B, tab 1 writes C. The outbox keeps all three (no tab overwrites the
/// other's), both tabs show them waiting, and once the server is back each
/// is stored exactly once, in the order written.
#[test]
fn two_tabs_share_one_outbox_and_each_message_is_stored_once() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = serve(dir.path(), "0", &["--rate-limit", "0"]);
    let port = server.addr.port().to_string();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    let tab1 = alice.window_handle();
    let tab2 = alice.new_tab();
    alice.switch_to_window(&tab2);
    alice.goto(&server.url);
    wait_connected(&alice);

    assert!(server.terminate().success());
    for (tab, text) in [(&tab1, "A"), (&tab2, "B"), (&tab1, "C")] {
        alice.switch_to_window(tab);
        alice.wait_for(
            "the header to say it is reconnecting",
            "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
        );
        say(&alice, text);
        alice.wait_for(
            &format!("{text} waiting"),
            &format!(
                "[...document.querySelectorAll('#timeline .msg.pending .text')]
                    .some(t => t.textContent === {})",
                json!(text)
            ),
        );
    }
    assert_eq!(outbox_texts(&alice), ["A", "B", "C"]);
    for tab in [&tab1, &tab2] {
        alice.switch_to_window(tab);
        alice.wait_eq(
            "all three waiting in this tab",
            "[...document.querySelectorAll('#timeline .msg.pending .text')].map(t => t.textContent)",
            json!(["A", "B", "C"]),
        );
    }

    let server = serve(dir.path(), &port, &["--rate-limit", "0"]);
    for tab in [&tab2, &tab1] {
        alice.switch_to_window(tab);
        retry_now(&alice);
    }
    for tab in [&tab1, &tab2] {
        alice.switch_to_window(tab);
        for text in ["A", "B", "C"] {
            wait_delivered(&alice, text);
        }
        assert_eq!(texts(&alice), ["A", "B", "C"]);
        assert_no_duplicate_seqs(&alice);
    }
    assert_eq!(stored_texts(&server), ["A", "B", "C"]);
    assert!(outbox_texts(&alice).is_empty());
}

/// A tab closed while the server was down leaves its message in the
/// browser's outbox: the other tab shows it waiting and sends it once the
/// server is back, exactly once, and a tab opened afterwards sends nothing
/// again.
#[test]
fn a_message_from_a_tab_closed_while_the_server_was_down_is_sent_by_the_other() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = serve(dir.path(), "0", &["--rate-limit", "0"]);
    let port = server.addr.port().to_string();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    let tab1 = alice.window_handle();
    let tab2 = alice.new_tab();
    alice.switch_to_window(&tab2);
    alice.goto(&server.url);
    wait_connected(&alice);

    assert!(server.terminate().success());
    alice.wait_for(
        "the header to say it is reconnecting",
        "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
    );
    say(&alice, "from the tab that closed");
    alice.wait_for(
        "the message waiting",
        "document.querySelector('#timeline .msg.pending')",
    );
    alice.close_tab();
    alice.switch_to_window(&tab1);
    alice.wait_eq(
        "the closed tab's message waiting here",
        "[...document.querySelectorAll('#timeline .msg.pending .text')].map(t => t.textContent)",
        json!(["from the tab that closed"]),
    );
    say(&alice, "from the tab still open");

    let server = serve(dir.path(), &port, &["--rate-limit", "0"]);
    retry_now(&alice);
    wait_delivered(&alice, "from the tab that closed");
    wait_delivered(&alice, "from the tab still open");
    let expected = ["from the tab that closed", "from the tab still open"];
    assert_eq!(texts(&alice), expected);
    assert_eq!(stored_texts(&server), expected);

    // A tab opened later finds nothing left to send.
    let tab3 = alice.new_tab();
    alice.switch_to_window(&tab3);
    alice.goto(&server.url);
    wait_connected(&alice);
    wait_delivered(&alice, "from the tab still open");
    assert_eq!(texts(&alice), expected);
    assert_eq!(stored_texts(&server), expected);
    assert!(outbox_texts(&alice).is_empty());
}

/// Flooded past the rate limit (60 raw frames on the page's own socket),
/// the server closes with 1008 and its reason. The page says so in plain
/// words, says it waits a minute, does not reconnect meanwhile, and
/// reconnects at once on "Retry now".
#[test]
fn a_policy_close_is_explained_and_not_retried_in_a_loop() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let server = serve(dir.path(), "0", &RATE);
    let alice = chrome.open();
    record_sockets(&alice);
    join(&alice, &server, "alice");
    alice.js("(() => { const socket = window.sockets.at(-1);
                  for (let n = 0; n < 60; n++) socket.send(JSON.stringify(
                      { type: 'message', message: `flood ${n}`, cid: `flood-${n}` })); })()");
    alice.wait_eq(
        "the server's close",
        "window.closes",
        json!([[1008, "rate limit exceeded repeatedly"]]),
    );
    let banner = "document.getElementById('conn-banner')";
    alice.wait_for(
        "the reason on screen",
        &format!(
            "!{banner}.hidden && {banner}.textContent.includes('sent too many messages too fast')"
        ),
    );
    let words = alice.js(&format!("{banner}.textContent"));
    assert!(
        words.as_str().unwrap().contains("waits a minute"),
        "says what it will do: {words}"
    );
    let seconds = alice.js(
        "Number(document.getElementById('conn-text').textContent.match(/Reconnecting in (\\d+) s/)?.[1])",
    );
    assert!(seconds.as_f64().unwrap() >= 50.0, "retrying in {seconds} s");
    assert_eq!(
        alice.js("document.getElementById('retry-now').hidden"),
        json!(false)
    );

    let dir = screenshot_dir();
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        alice.screenshot(&dir.join(format!("desktop-closed-1008-{scheme}.png")));
        use_phone(&alice);
        alice.screenshot(&dir.join(format!("phone-closed-1008-{scheme}.png")));
    }

    // No reconnecting in a loop: the next try is scheduled a minute out
    // (the countdown above), and after the screenshots there is still only
    // the one connection.
    assert_eq!(alice.js("window.sockets.length"), json!(1));

    alice.click("#retry-now");
    wait_connected(&alice);
    assert_eq!(alice.js("window.sockets.length"), json!(2));
    assert_eq!(alice.js(&format!("{banner}.hidden")), json!(true));
}
