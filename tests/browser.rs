//! The web page in real headless Chromium, against the real server: people
//! chat, reload, lose the server and get it back, and never see a message
//! lost or twice. Skips loudly when Chromium is not installed (fails instead
//! with `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::{Client, Server};
use serde_json::{Value, json};
use tempfile::TempDir;
use webdriver::{BACKSPACE, Chrome, ENTER, SHIFT};

/// Two people in two browsers chat both ways and see each other online.
#[test]
fn two_users_chat_both_ways_and_see_each_other() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    record_csp_violations(&alice);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");

    for page in [&alice, &bob] {
        page.wait_eq(
            "both people online",
            "document.getElementById('people-count').textContent",
            json!("2"),
        );
        assert_eq!(people(page).as_array().unwrap().len(), 2);
    }
    assert_eq!(people(&bob), json!(["bob", "alice"]), "yourself first");
    alice.wait_for(
        "a notice that bob joined",
        "[...document.querySelectorAll('.notice')].some(n => n.textContent.startsWith('bob joined'))",
    );

    say(&alice, "hi bob");
    wait_delivered(&bob, "hi bob");
    wait_delivered(&alice, "hi bob");
    assert_styled(&alice, "hi bob", "own");
    assert_styled(&bob, "hi bob", "other");

    // Shift+Enter is a line break; Enter sends.
    bob.type_into("#message-input", "hello alice");
    bob.type_into("#message-input", &format!("{SHIFT}{ENTER}{SHIFT}"));
    say(&bob, "how are you?");
    wait_delivered(&alice, "hello alice\nhow are you?");
    assert_eq!(texts(&alice), ["hi bob", "hello alice\nhow are you?"]);
    assert_eq!(texts(&bob), texts(&alice));
    assert_eq!(
        bob.js("document.getElementById('message-input').value"),
        json!("")
    );

    // Sender and time (full date on hover) on others' messages.
    let meta = alice.js(
        "(() => { const row = [...document.querySelectorAll('.msg.other')].pop();
                  const time = row.querySelector('time');
                  return [row.querySelector('.author').textContent,
                          time.title.includes(String(new Date().getFullYear()))]; })()",
    );
    assert_eq!(
        meta,
        json!(["bob", true]),
        "sender, and the full date on hover"
    );

    // bob leaves: alice sees it.
    drop(bob);
    alice.wait_eq(
        "only alice online",
        "document.getElementById('people-count').textContent",
        json!("1"),
    );
    alice.wait_for(
        "a notice that bob left",
        "[...document.querySelectorAll('.notice')].some(n => n.textContent.startsWith('bob left'))",
    );

    // The page ran under the server's strict CSP without breaking it, and
    // the policy is enforced (an inline style attribute is refused).
    assert_eq!(alice.js("window.cspViolations"), json!([]));
    alice.js("document.body.setAttribute('style', 'color: red')");
    alice.wait_for(
        "the CSP to refuse an inline style",
        "window.cspViolations.length > 0",
    );
}

/// Reloading keeps the name and the history, each message once.
#[test]
fn reload_keeps_history_and_name_without_duplicates() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    runtime().block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        carol.say("first from carol", "c-1").await;
        carol.recv_type("message").await;
    });
    let alice = chrome.open();
    join(&alice, &server, "alice");
    wait_delivered(&alice, "first from carol");
    say(&alice, "mine, before the reload");
    wait_delivered(&alice, "mine, before the reload");

    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js("document.getElementById('join').hidden"),
        json!(true),
        "no join form"
    );
    assert_eq!(
        alice.js("document.getElementById('me-name').textContent"),
        json!("alice")
    );
    wait_delivered(&alice, "mine, before the reload");
    assert_eq!(
        texts(&alice),
        ["first from carol", "mine, before the reload"]
    );
    assert_styled(&alice, "mine, before the reload", "own");
    assert_no_duplicate_seqs(&alice);

    // And once more, with a message arriving in between.
    say(&alice, "after the reload");
    wait_delivered(&alice, "after the reload");
    alice.refresh();
    wait_connected(&alice);
    wait_delivered(&alice, "after the reload");
    assert_eq!(
        texts(&alice),
        [
            "first from carol",
            "mine, before the reload",
            "after the reload"
        ]
    );
    assert_no_duplicate_seqs(&alice);
}

/// The server stops while alice writes: her message waits as "sending…",
/// the page reconnects by itself when the server is back, and the message
/// is delivered exactly once. A second outage, during which alice closes the
/// page and opens it again later, shows the outbox survives a reload.
#[test]
fn message_written_while_server_is_down_is_delivered_once_after_restart() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("lanchat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let port = server.addr.port().to_string();
    let restart = || {
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--db",
            db.to_str().unwrap(),
        ];
        Server::spawn(&args, dir.path())
    };
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    say(&alice, "before the restart");
    wait_delivered(&bob, "before the restart");

    assert!(server.terminate().success());
    for page in [&alice, &bob] {
        page.wait_for(
            "the header to say it is reconnecting",
            "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
        );
    }
    // Between attempts ("Reconnecting in N s", not "Reconnecting…" while
    // one is under way) the page offers to retry at once.
    alice.wait_for(
        "Retry now beside the countdown",
        "document.getElementById('conn-text').textContent.startsWith('Reconnecting in')
            && !document.getElementById('retry-now').hidden",
    );
    say(&alice, "written while the server was down");
    alice.wait_for(
        "the message to show as sending…",
        "[...document.querySelectorAll('#timeline .msg.pending')].some(r =>
            r.querySelector('.text').textContent === 'written while the server was down'
            && r.querySelector('.status').textContent === 'sending…')",
    );

    alice.screenshot(&screenshot_dir().join("desktop-reconnecting-light.png"));

    let mut server = restart();
    wait_connected(&alice);
    wait_connected(&bob);
    wait_delivered(&alice, "written while the server was down");
    wait_delivered(&bob, "written while the server was down");
    alice.wait_for(
        "no message left pending",
        "!document.querySelector('.msg.pending')",
    );
    let expected = ["before the restart", "written while the server was down"];
    assert_eq!(texts(&alice), expected);
    assert_eq!(texts(&bob), expected);
    assert_eq!(stored_texts(&server), expected);

    // Again, but alice leaves the page while the server is down and opens it
    // again once it is back: the outbox in localStorage sends the message.
    assert!(server.terminate().success());
    alice.wait_for(
        "the header to say it is reconnecting",
        "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
    );
    say(&alice, "written, then the page reloaded");
    alice.wait_for(
        "the message to be pending",
        "document.querySelector('.msg.pending')",
    );
    alice.goto("about:blank");
    let server = restart();
    alice.goto(&server.url);
    wait_delivered(&alice, "written, then the page reloaded");
    wait_delivered(&bob, "written, then the page reloaded");
    let expected = [
        "before the restart",
        "written while the server was down",
        "written, then the page reloaded",
    ];
    assert_eq!(texts(&alice), expected);
    assert_eq!(texts(&bob), expected);
    assert_eq!(stored_texts(&server), expected);
    assert_no_duplicate_seqs(&alice);
    assert_no_duplicate_seqs(&bob);
}

/// "alice is typing…" appears while alice types and clears when she stops;
/// two and more typers are worded too.
#[test]
fn typing_indicator_appears_and_clears() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    let typing = "document.getElementById('typing').textContent";

    alice.type_into("#message-input", "hel");
    bob.wait_eq("alice typing", typing, json!("alice is typing…"));
    assert_eq!(alice.js(typing), json!(""), "nobody sees themselves typing");

    let rt = runtime();
    let mut carol = rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        carol
            .send_json(json!({"type": "typing", "active": true}))
            .await;
        carol
    });
    bob.wait_eq("two typing", typing, json!("alice and carol are typing…"));

    // Emptying the box ends alice's indicator at once.
    alice.type_into("#message-input", &BACKSPACE.repeat(3));
    bob.wait_eq("only carol typing", typing, json!("carol is typing…"));

    // Sending a message ends it too.
    rt.block_on(carol.say("done", "c-done"));
    bob.wait_eq("nobody typing", typing, json!(""));
    wait_delivered(&bob, "done");
}

/// Markup in a message is shown as text: no element, no script, no dialog.
/// Only http(s) URLs become links, and they open safely.
#[test]
fn html_in_a_message_is_shown_as_text() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    let payload = "<img src=x onerror=alert(1)>";
    say(&alice, payload);
    runtime().block_on(async {
        let (mut mallory, _, _) = Client::join(&server, "mallory").await;
        mallory
            .say(
                "<b>bold</b> javascript:alert(2) https://example.com/a?b=1.",
                "m-1",
            )
            .await;
        mallory.recv_type("message").await;
    });
    wait_delivered(&alice, payload);
    wait_delivered(
        &alice,
        "<b>bold</b> javascript:alert(2) https://example.com/a?b=1.",
    );

    assert_eq!(
        alice.js("document.querySelectorAll('#timeline img, #timeline b').length"),
        json!(0)
    );
    let links = alice.js(
        "[...document.querySelectorAll('#timeline a')].map(a => [a.href, a.target, a.rel, a.textContent])",
    );
    assert_eq!(
        links,
        json!([[
            "https://example.com/a?b=1",
            "_blank",
            "noopener noreferrer nofollow",
            "https://example.com/a?b=1"
        ]])
    );
    assert_eq!(alice.dialog_text(), None, "a dialog fired");
    assert_eq!(alice.js("document.title"), json!("lanchat"));
}

/// Scrolling to the top loads older messages, keeps the view where it was,
/// and stops at the beginning.
#[test]
fn scrolling_to_the_top_loads_older_messages() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--history", "30"]);
    let rt = runtime();
    let mut carol = rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        for n in 1..=80 {
            carol.say(&format!("message {n}"), &format!("c-{n}")).await;
            carol.recv_type("message").await;
        }
        carol
    });
    let alice = chrome.open();
    join(&alice, &server, "alice");
    wait_delivered(&alice, "message 80");
    let count = "document.querySelectorAll('#timeline .msg').length";
    assert_eq!(alice.js(count), json!(30));
    assert_eq!(texts(&alice)[0], "message 51");
    assert_eq!(
        alice.js("document.getElementById('load-older').hidden"),
        json!(false)
    );

    // Scroll to the top and remember where the text of "message 51" is on
    // screen. (Its row loses its sender line once "message 50" is above it.)
    let top_of_51 = "[...document.querySelectorAll('#timeline .msg .text')]
        .find(t => t.textContent === 'message 51')
        .getBoundingClientRect().top";
    alice.js("document.getElementById('messages').scrollTop = 0");
    let before = alice.js(top_of_51).as_f64().unwrap();
    alice.wait_for("older messages", &format!("{count} === 80"));
    let after = alice.js(top_of_51).as_f64().unwrap();
    assert!(
        (after - before).abs() < 2.0,
        "the view jumped: {before} -> {after}"
    );

    let expected: Vec<String> = (1..=80).map(|n| format!("message {n}")).collect();
    assert_eq!(texts(&alice), expected);
    assert_no_duplicate_seqs(&alice);
    alice.js("document.getElementById('messages').scrollTop = 0");
    alice.wait_for(
        "the start of the chat",
        "!document.getElementById('history-start').hidden && document.getElementById('load-older').hidden",
    );

    // Scrolled up, a new message does not move the view; a pill offers it.
    let scroll_top = "document.getElementById('messages').scrollTop";
    let before = alice.js(scroll_top);
    rt.block_on(async {
        carol.say("message 81", "c-81").await;
        carol.recv_type("message").await;
    });
    wait_delivered(&alice, "message 81");
    alice.wait_eq(
        "the new-messages pill",
        "document.getElementById('new-pill').hidden ? '' : document.getElementById('new-pill-text').textContent",
        json!("1 new message"),
    );
    assert_eq!(alice.js(scroll_top), before, "the view moved");
    alice.click("#new-pill");
    alice.wait_for(
        "the view at the bottom, without the pill",
        "(() => { const m = document.getElementById('messages');
                  return m.scrollHeight - m.scrollTop - m.clientHeight < 2
                      && document.getElementById('new-pill').hidden; })()",
    );
}

/// Screenshots of desktop and phone, light and dark, for people to look at.
#[test]
fn screenshots_desktop_and_phone_light_and_dark() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let rt = runtime();
    let (mut bob, mut carol) = rt.block_on(async {
        let (mut bob, _, _) = Client::join(&server, "bob").await;
        let (carol, _, _) = Client::join(&server, "carol").await;
        bob.say("Morning! Anyone up for lunch at 12:30?", "b-1")
            .await;
        bob.recv_type("message").await;
        (bob, carol)
    });
    let dir = screenshot_dir();
    let alice = chrome.open();
    alice.goto(&server.url);
    alice.wait_for("the join form", "!document.getElementById('join').hidden");
    use_phone(&alice);
    alice.screenshot(&dir.join("phone-join-light.png"));
    use_desktop(&alice);
    alice.type_into("#join-name", "alice");
    alice.type_into("#join-name", ENTER);
    wait_connected(&alice);

    rt.block_on(async {
        carol
            .say(
                "Yes! The new place by the station?\nMenu: https://example.com/menu",
                "c-1",
            )
            .await;
        carol.recv_type("message").await;
    });
    say(&alice, "Count me in.");
    wait_delivered(&alice, "Count me in.");
    rt.block_on(async {
        let (_dave, _, _) = Client::join(&server, "dave").await;
        bob.say("Great, I'll book a table for four.", "b-2").await;
        bob.recv_type("message").await;
        carol
            .send_json(json!({"type": "typing", "active": true}))
            .await;
    });
    wait_delivered(&alice, "Great, I'll book a table for four.");
    alice.wait_eq(
        "carol typing",
        "document.getElementById('typing').textContent",
        json!("carol is typing…"),
    );
    alice.type_into("#message-input", "See you");

    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        alice.screenshot(&dir.join(format!("desktop-{scheme}.png")));
        use_phone(&alice);
        alice.js("document.getElementById('messages').scrollTop = 1e9");
        alice.screenshot(&dir.join(format!("phone-{scheme}.png")));
        alice.click("#people-toggle");
        alice.wait_for(
            "the people drawer",
            "getComputedStyle(document.getElementById('people')).visibility === 'visible'",
        );
        alice.screenshot(&dir.join(format!("phone-people-{scheme}.png")));
        alice.click("#people-close");
    }
    // On a phone the page fits: nothing wider than the screen.
    assert_eq!(alice.js("document.documentElement.scrollWidth"), json!(360));
    for name in ["desktop-light", "desktop-dark", "phone-light", "phone-dark"] {
        let size = std::fs::metadata(dir.join(format!("{name}.png")))
            .unwrap()
            .len();
        assert!(size > 10_000, "{name}.png looks empty ({size} bytes)");
    }
}

/// A message the server refuses shows as failed, with the reason and retry
/// and discard actions; discarding removes it for good.
#[test]
fn refused_message_shows_failed_with_reason_retry_and_discard() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    // The message box stops at 4000 characters, so put an over-long message
    // straight into the outbox, as if it had been written before a reload.
    alice.js(
        "localStorage.setItem('lanchat.outbox', JSON.stringify([{ cid: 'too-long-1',
            text: 'x'.repeat(4001), createdAt: Date.now(), sentAs: 'alice', status: 'pending' }]))",
    );
    alice.refresh();
    wait_connected(&alice);
    let reason = "document.querySelector('.msg.failed .reason')?.textContent";
    alice.wait_for(
        "the refusal",
        &format!("{reason}?.includes('the limit is 4,000')"),
    );
    alice.screenshot(&screenshot_dir().join("desktop-failed-light.png"));

    // Retry sends it again (same cid), and it is refused again: the reason is
    // shown anew.
    alice.js("document.querySelector('.msg.failed .reason').classList.add('seen-before')");
    alice.click(".msg.failed button[data-action=retry]");
    alice.wait_for(
        "the retry to be refused",
        "document.querySelector('.msg.failed .reason:not(.seen-before)')",
    );
    assert_eq!(
        alice.js("document.querySelectorAll('#timeline .msg').length"),
        json!(1)
    );

    alice.click(".msg.failed button[data-action=discard]");
    alice.wait_for(
        "the message to go",
        "document.querySelectorAll('#timeline .msg').length === 0",
    );
    assert_eq!(
        alice.js("localStorage.getItem('lanchat.outbox')"),
        Value::Null
    );
    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js("document.querySelectorAll('#timeline .msg').length"),
        json!(0)
    );
    assert!(stored_texts(&server).is_empty());
}

/// Name problems are explained beside the field: a reserved name on joining,
/// a taken name on renaming. A rename reaches everyone and is remembered.
#[test]
fn names_are_checked_and_can_be_changed() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let rt = runtime();
    let mut bob = rt.block_on(async { Client::join(&server, "bob").await.0 });
    let alice = chrome.open();
    alice.goto(&server.url);
    alice.wait_for("the join form", "!document.getElementById('join').hidden");
    alice.type_into("#join-name", "System");
    alice.type_into("#join-name", ENTER);
    alice.wait_for(
        "the reserved-name error",
        "document.getElementById('join-error').textContent.includes('reserved')",
    );
    alice.js("document.getElementById('join-name').value = ''");
    alice.type_into("#join-name", "alice");
    alice.type_into("#join-name", ENTER);
    wait_connected(&alice);

    alice.click("#rename-open");
    alice.js("document.getElementById('rename-input').value = ''");
    alice.type_into("#rename-input", "bob");
    alice.type_into("#rename-input", ENTER);
    alice.wait_for(
        "the name-taken error",
        "document.getElementById('rename-error').textContent.includes('already in use')",
    );

    alice.js("document.getElementById('rename-input').value = ''");
    alice.type_into("#rename-input", "alicia");
    alice.type_into("#rename-input", ENTER);
    alice.wait_eq(
        "the new name",
        "document.getElementById('me-name').textContent",
        json!("alicia"),
    );
    assert_eq!(
        alice.js("document.getElementById('rename-form').hidden"),
        json!(true)
    );
    let rename = rt.block_on(bob.recv_type("rename"));
    assert_eq!(
        (&rename["from"], &rename["to"]),
        (&json!("alice"), &json!("alicia"))
    );

    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js("document.getElementById('me-name').textContent"),
        json!("alicia")
    );
}

/// A server restarted with empty history (`--memory`) reuses seqs; the page
/// notices and starts over instead of hiding new messages as duplicates.
#[test]
fn page_starts_over_when_the_server_history_was_reset() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let mut server = Server::spawn(
        &["--port", "0", "--bind", "127.0.0.1", "--no-qr", "--memory"],
        dir.path(),
    );
    let port = server.addr.port().to_string();
    let rt = runtime();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        for n in 1..=3 {
            carol.say(&format!("old {n}"), &format!("old-{n}")).await;
            carol.recv_type("message").await;
        }
    });
    wait_delivered(&alice, "old 3");

    assert!(server.terminate().success());
    let server = Server::spawn(
        &[
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--memory",
        ],
        dir.path(),
    );
    rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        carol.say("after the reset", "new-1").await;
        let echo = carol.recv_type("message").await;
        assert_eq!(echo["seq"], 1, "the new server starts its seqs again");
    });
    wait_delivered(&alice, "after the reset");
    wait_connected(&alice);
    assert_eq!(texts(&alice), ["after the reset"]);
}

/// While the tab is hidden, the title counts messages from others ("2 new";
/// mentions are counted apart, see `browser_find.rs`); it resets when the
/// tab is seen again.
#[test]
fn hidden_tab_counts_unread_messages_in_the_title() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    // The chat tab reports its visibility and title through localStorage, so
    // a second tab on the same origin can watch it while it is in the back.
    alice.js(
        "(() => {
            const report = () => localStorage.setItem('test.seen',
                JSON.stringify([document.hidden, document.title]));
            document.addEventListener('visibilitychange', report);
            new MutationObserver(report).observe(document.querySelector('title'), { childList: true });
        })()",
    );
    let seen = "localStorage.getItem('test.seen')";
    let chat_tab = alice.window_handle();
    let other_tab = alice.new_tab();
    alice.switch_to_window(&other_tab);
    alice.goto(&format!("{}healthz", server.url));
    alice.wait_eq("the chat tab hidden", seen, json!("[true,\"lanchat\"]"));

    let rt = runtime();
    rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        for n in 1..=2 {
            carol.say(&format!("unread {n}"), &format!("u-{n}")).await;
            carol.recv_type("message").await;
        }
    });
    alice.wait_eq("two unread", seen, json!("[true,\"2 new · lanchat\"]"));

    alice.switch_to_window(&chat_tab);
    alice.wait_eq("the title reset", "document.title", json!("lanchat"));
    wait_delivered(&alice, "unread 2");
}

/// The server freezes without closing anything (as when it drops off the
/// network): the unacknowledged message makes the page give up on the dead
/// connection and reconnect, and the message is stored exactly once: the
/// first send still reaches the server when it wakes, and the page may send
/// it again on the new connection with the same cid.
#[test]
fn unacknowledged_message_on_a_dead_connection_is_resent_once() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");

    common::signal(server.pid(), "STOP");
    say(&alice, "sent to a frozen server");
    alice.wait_for(
        "the page to give up on the silent connection",
        "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
    );
    assert_eq!(
        alice.js("document.querySelector('.msg.pending .status')?.textContent"),
        json!("sending…")
    );
    common::signal(server.pid(), "CONT");

    wait_delivered(&alice, "sent to a frozen server");
    wait_connected(&alice);
    assert_eq!(texts(&alice), ["sent to a frozen server"]);
    assert_eq!(stored_texts(&server), ["sent to a frozen server"]);
}
