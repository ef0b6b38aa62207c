//! What the browser tests share: joining through the page, typing, and
//! reading what is on screen. Used by `tests/browser.rs` (the lobby),
//! `tests/browser_rooms.rs` (rooms, direct messages, the access key) and
//! `tests/browser_roster.rs` (the lobby past the roster limit).
#![allow(dead_code)] // not every test file uses every helper

pub mod axe;
pub mod files;
pub mod proxy;
pub mod rich;
pub mod tls;

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::{Client, Server};
use crate::webdriver::{ENTER, Page};

/// Opens the page and joins as `name` through the join form.
pub fn join(page: &Page, server: &Server, name: &str) {
    join_at(page, &server.url, name);
}

/// Opens the page at `url` (the server, or a proxy in front of it) and
/// joins as `name` through the join form.
pub fn join_at(page: &Page, url: &str, name: &str) {
    page.goto(url);
    page.wait_for("the join form", "!document.getElementById('join').hidden");
    page.type_into("#join-name", name);
    page.type_into("#join-name", ENTER);
    wait_connected(page);
    page.wait_eq(
        "our name in the people panel",
        "document.getElementById('me-name').textContent",
        json!(name),
    );
}

/// Waits until the header shows the page connected (in any language: its dot).
pub fn wait_connected(page: &Page) {
    page.wait_eq(
        "the header to say Connected",
        "document.getElementById('conn-dot').dataset.state",
        json!("connected"),
    );
}

/// Types a message and presses Enter.
pub fn say(page: &Page, text: &str) {
    page.type_into("#message-input", text);
    page.type_into("#message-input", ENTER);
}

/// The texts of the messages on screen, top to bottom, pending ones included.
pub fn texts(page: &Page) -> Vec<String> {
    let value =
        page.js("[...document.querySelectorAll('#timeline .msg .text')].map(e => e.textContent)");
    serde_json::from_value(value).expect("list of strings")
}

/// Waits until exactly one acknowledged (not pending) message reads `text`.
pub fn wait_delivered(page: &Page, text: &str) {
    page.wait_for(
        &format!("{text:?} to show once, delivered"),
        &format!(
            "(() => {{
                const rows = [...document.querySelectorAll('#timeline .msg')]
                    .filter(row => row.querySelector('.text')?.textContent === {text});
                return rows.length === 1 && rows[0].dataset.seq !== undefined;
            }})()",
            text = json!(text)
        ),
    );
}

/// Fails if a seq shows twice.
pub fn assert_no_duplicate_seqs(page: &Page) {
    let seqs = page
        .js("[...document.querySelectorAll('#timeline .msg[data-seq]')].map(e => e.dataset.seq)");
    let seqs: Vec<String> = serde_json::from_value(seqs).unwrap();
    let mut unique = seqs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seqs.len(), unique.len(), "a message shows twice: {seqs:?}");
}

/// Asserts the message reading `text` is styled `class` (own or other).
pub fn assert_styled(page: &Page, text: &str, class: &str) {
    let has = page.eval(
        "return [...document.querySelectorAll('#timeline .msg')]
             .find(r => r.querySelector('.text')?.textContent === arguments[0])
             ?.classList.contains(arguments[1]) ?? null;",
        json!([text, class]),
    );
    assert_eq!(has, json!(true), "{text:?} should be styled {class}");
}

pub fn people(page: &Page) -> Value {
    page.js("[...document.querySelectorAll('#people-list .person')].map(e => e.textContent)")
}

/// Waits until the people panel lists exactly `expected`, in order.
pub fn wait_people(page: &Page, expected: Value) {
    page.wait_eq(
        &format!("the people list to be {expected}"),
        "[...document.querySelectorAll('#people-list .person')].map(e => e.textContent)",
        expected,
    );
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("tokio runtime")
}

/// The stored history, as a fresh client sees it on connect.
pub fn stored_texts(server: &Server) -> Vec<String> {
    runtime().block_on(async {
        let (_client, _welcome, history) = Client::join(server, "auditor").await;
        history["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["message"].as_str().unwrap().to_owned())
            .collect()
    })
}

/// `target/screenshots/`, beside the build output.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Waits until `room` is the room on screen (`lobby`, `projects`, `dm:…`).
pub fn wait_in_room(page: &Page, room: &str) {
    page.wait_eq(
        &format!("#{room} on screen"),
        "document.body.dataset.room",
        json!(room),
    );
}

/// Creates a room through the rooms dialog, waits to be in it, and returns
/// its id: the name for a public room, the id the server gave a private one.
pub fn create_room(page: &Page, room: &str, private: bool) -> String {
    page.click("#room-add");
    page.wait_for(
        "the rooms dialog",
        "document.getElementById('room-dialog').open",
    );
    page.type_into("#create-name", room);
    if private {
        page.click("#create-private");
    }
    page.type_into("#create-name", ENTER);
    page.wait_eq(
        &format!("#{room} on screen"),
        "document.getElementById('room-name').textContent",
        json!(room),
    );
    page.wait_for(
        "the rooms dialog to close",
        "!document.getElementById('room-dialog').open",
    );
    let id = page.js("document.body.dataset.room");
    let id = id.as_str().expect("the room's id").to_owned();
    if private {
        assert!(
            id.starts_with("p:"),
            "a private room has an id of its own: {id}"
        );
    } else {
        assert_eq!(id, room);
    }
    id
}

/// Opens a room (or direct message) from the sidebar.
pub fn open_room(page: &Page, room: &str) {
    page.click(&format!("#sidebar a[data-room='{room}']"));
    wait_in_room(page, room);
}

/// The unread badge beside `room` in the sidebar: "" when there is none.
pub fn badge(page: &Page, room: &str) -> String {
    let value = page.eval(
        "const badge = document.querySelector(`#sidebar a[data-room='${arguments[0]}'] .badge`);
         return badge ? badge.firstChild.textContent : '';",
        json!([room]),
    );
    value.as_str().unwrap_or_default().to_owned()
}

/// Waits until the badge beside `room` reads `expected` ("" for none).
pub fn wait_badge(page: &Page, room: &str, expected: &str) {
    page.wait_eq(
        &format!("the badge of {room} to read {expected:?}"),
        &format!(
            "(() => {{ const b = document.querySelector(`#sidebar a[data-room='{room}'] .badge`);
                       return b ? b.firstChild.textContent : ''; }})()"
        ),
        json!(expected),
    );
}

/// The names of the rooms in the sidebar's room list, top to bottom.
pub fn sidebar_rooms(page: &Page) -> Value {
    page.js("[...document.querySelectorAll('#room-list a')].map(a => a.dataset.room)")
}

/// Whether the page has `text` anywhere: on screen, in the timelines it
/// keeps of rooms not on screen, or in its storage.
pub fn page_knows(page: &Page, text: &str) -> bool {
    let expression = format!(
        "(() => {{ const text = {text};
             return document.body.innerText.includes(text)
                 || JSON.stringify(localStorage).includes(text)
                 || [...state.rooms.values()].some(room => room.timeline.some(
                        entry => entry.kind === 'message' && entry.frame.message.includes(text))); }})()",
        text = json!(text)
    );
    store_value(page, &expression) == json!(true)
}

/// Evaluates `expression` with the page's store in scope as `state` (the
/// page is ES modules, so nothing of it is global: this imports the same
/// module instance the page uses).
pub fn store_value(page: &Page, expression: &str) -> Value {
    page.eval_async(
        &format!(
            "const done = arguments[arguments.length - 1];
             import('/state.js').then(({{ state }}) => done({expression}),
                 error => done({{ error: String(error) }}));"
        ),
        json!([]),
    )
}

/// Hands the page `frame` as if the server had sent it, and returns once
/// the page has rendered it.
pub fn feed_frame(page: &Page, frame: Value) {
    let result = page.eval_async(
        "const [frame, done] = arguments;
         Promise.all([import('/connection.js'), import('/render/index.js')])
             .then(([connection, render]) => {
                 connection.receive(JSON.stringify(frame));
                 return render.rendered();
             })
             .then(() => done(null), error => done(String(error)));",
        json!([frame]),
    );
    assert_eq!(result, Value::Null, "feeding {frame} to the page");
}

/// Records Content-Security-Policy violations in `window.cspViolations`,
/// from the first byte of every page this browser opens.
pub fn record_csp_violations(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.cspViolations = [];
            document.addEventListener('securitypolicyviolation',
                e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));" }),
    );
}

/// Records every frame the page sends on its WebSocket, parsed, in
/// `window.sentFrames`, from the first byte of every page this browser opens.
pub fn record_sent_frames(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        // In a function, so its names stay out of the page's global scope.
        json!({ "source": "(() => {
            window.sentFrames = [];
            const original = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) {
                try { window.sentFrames.push(JSON.parse(data)); } catch {}
                return original.call(this, data);
            };
        })();" }),
    );
}

/// Records every frame the page's sockets receive in
/// `window.receivedFrames`, from the first byte of every page.
pub fn record_received_frames(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "(() => {
            window.receivedFrames = [];
            const Original = WebSocket;
            window.WebSocket = class extends Original {
                constructor(...args) {
                    super(...args);
                    this.addEventListener('message', (event) => {
                        try { window.receivedFrames.push(JSON.parse(event.data)); } catch {}
                    });
                }
            };
        })();" }),
    );
}

/// The frames of type `kind` the page sent so far (see `record_sent_frames`).
pub fn sent_frames(page: &Page, kind: &str) -> Vec<Value> {
    let value = page.eval(
        "return window.sentFrames.filter(frame => frame.type === arguments[0]);",
        json!([kind]),
    );
    serde_json::from_value(value).expect("list of frames")
}

/// The texts of the notices (joins, leaves, renames, errors) in the room on
/// screen, top to bottom, without their times.
pub fn notices(page: &Page) -> Vec<String> {
    let value = page.js(
        "[...document.querySelectorAll('#timeline .notice')].map(n => n.firstChild.textContent)",
    );
    serde_json::from_value(value).expect("list of strings")
}

/// The light or dark colour scheme (for screenshots), once the page shows it.
pub fn use_scheme(page: &Page, scheme: &str) {
    const BODY_IS_DARK: &str = "(() => {
        const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
        return r + g + b < 150; })()";
    page.set_color_scheme(scheme);
    page.wait_eq("the colour scheme", BODY_IS_DARK, json!(scheme == "dark"));
}

/// A 1280×800 desktop window, once the layout has followed.
pub fn use_desktop(page: &Page) {
    page.set_viewport(1280, 800, false);
    settle_at_width(page, 1280);
}

/// A 360×740 phone screen, once the layout has followed.
pub fn use_phone(page: &Page) {
    page.set_viewport(360, 740, true);
    settle_at_width(page, 360);
}

/// Waits for the page to be `width` wide and for the transitions the new
/// width started (the drawers sliding away) to end, so a screenshot shows
/// the layout rather than the way to it.
fn settle_at_width(page: &Page, width: u32) {
    page.wait_for(
        &format!("the layout at {width} px"),
        &format!(
            "document.documentElement.clientWidth === {width}
             && document.getAnimations().every(a => !(a instanceof CSSTransition) || a.playState !== 'running')"
        ),
    );
}

/// Keeps every WebSocket the page opens in `window.sockets` (so a test can
/// send on the live one), the close codes and reasons it saw in
/// `window.closes`, the `rate_limited` refusals it got in
/// `window.rateLimited`, and whether a refused ("failed") message ever
/// showed in `window.sawFailed`, from the first byte of every page this
/// browser opens.
pub fn record_sockets(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "(() => {
            window.sockets = [];
            window.closes = [];
            window.rateLimited = 0;
            window.sawFailed = false;
            const Native = window.WebSocket;
            window.WebSocket = class extends Native {
                constructor(...args) {
                    super(...args);
                    window.sockets.push(this);
                    this.addEventListener('close', e => window.closes.push([e.code, e.reason]));
                    this.addEventListener('message', e => {
                        try {
                            const frame = JSON.parse(e.data);
                            if (frame.type === 'error' && frame.code === 'rate_limited') window.rateLimited += 1;
                        } catch {}
                    });
                }
            };
            new MutationObserver(() => {
                if (document.querySelector('.msg.failed')) window.sawFailed = true;
            }).observe(document, { subtree: true, childList: true, attributes: true });
        })();" }),
    );
}

/// The texts of the messages in this browser's outbox, in localStorage
/// (shared by its tabs), sorted.
pub fn outbox_texts(page: &Page) -> Vec<String> {
    let value = page.js(
        "Object.keys(localStorage).filter(k => k.startsWith('lanchat.outbox.'))
            .map(k => JSON.parse(localStorage.getItem(k)).text).sort()",
    );
    serde_json::from_value(value).expect("list of strings")
}

/// Presses "Retry now" whenever the page offers it, until it is connected:
/// the server is back, and the test is not about the backoff.
pub fn retry_now(page: &Page) {
    page.wait_for(
        "the page to reconnect, pressing Retry now",
        "(() => { const retry = document.getElementById('retry-now');
                  if (!retry.hidden) retry.click();
                  return document.getElementById('conn-text').textContent === 'Connected'; })()",
    );
}
