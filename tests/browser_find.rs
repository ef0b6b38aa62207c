//! Finding and noticing, in real headless Chromium against the real server:
//! searching and jumping to a result 5,000 messages back, then paging older
//! and newer and back to live; jumping to a date; the tab's title and icon
//! while it is hidden; a muted room (unmuted from another tab); desktop
//! notifications on localhost, one for two tabs; and what the page says
//! where it is not a secure context.
//!
//! A tab is hidden the way a person hides one: another tab of the same
//! window in front. WebDriver runs scripts only in the current tab, so a
//! hidden tab reports what it shows through `localStorage`, which the tab in
//! front reads.

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use webdriver::{Chrome, ENTER, Page};

/// Frames sent before their echoes are read: quick, and never so many that
/// the server's queue for us fills.
const PIPELINE: usize = 500;

/// Writes `texts` to `room` as `owner` through the WebSocket, pipelined.
async fn write_all(owner: &mut Owner, room: &str, texts: &[String]) {
    for (chunk_index, chunk) in texts.chunks(PIPELINE).enumerate() {
        for (index, text) in chunk.iter().enumerate() {
            let cid = format!("{room}-{chunk_index}-{index}");
            owner
                .send(json!({"type":"message","room":room,"message":text,"cid":cid}))
                .await;
        }
        let last = format!("{room}-{chunk_index}-{}", chunk.len() - 1);
        loop {
            let frame = owner.client.recv().await;
            assert_ne!(frame["type"], "error", "{frame}");
            if frame["type"] == "message" && frame["cid"] == last.as_str() {
                break;
            }
        }
    }
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("{prefix} {n}")).collect()
}

/// Whether the timeline on screen has a message reading `text`.
fn shows(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#timeline .msg .text')].some(e => e.textContent === {})",
        json!(text)
    )
}

/// Scrolls the timeline to its top (or bottom) on every poll until
/// `condition` holds: the page fetches a page each time it gets there.
fn scroll_until(page: &Page, what: &str, top: bool, condition: &str) {
    let to = if top { "0" } else { "1e9" };
    page.wait_for(
        what,
        &format!(
            "(() => {{ const ok = {condition};
                      if (!ok) document.getElementById('messages').scrollTop = {to};
                      return ok; }})()"
        ),
    );
}

/// The seqs of the messages on screen, in order.
fn seqs(page: &Page) -> Vec<u64> {
    let value = page
        .js("[...document.querySelectorAll('#timeline .msg[data-seq]')].map(e => Number(e.dataset.seq))");
    serde_json::from_value(value).expect("list of seqs")
}

fn assert_in_order(page: &Page) {
    let seqs = seqs(page);
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "messages out of order or twice: {seqs:?}"
    );
}

/// The message jumped to is highlighted and wholly inside the view.
const JUMPED_IN_VIEW: &str = "(() => {
    const row = document.querySelector('#timeline .msg.jumped');
    if (!row) return false;
    const view = document.getElementById('messages').getBoundingClientRect();
    const box = row.getBoundingClientRect();
    return box.top >= view.top && box.bottom <= view.bottom ? row.querySelector('.text').textContent : false;
})()";

fn shot(page: &Page, name: &str) {
    page.screenshot(&screenshot_dir().join(format!("{name}.png")));
}

/// A search 5,000 messages back finds the message with its match marked;
/// the result opens the lobby at it, highlighted and in view; the page pages
/// older and newer from there, not live meanwhile; "Jump to latest" brings
/// the latest back, and live messages show again.
#[test]
fn search_finds_a_message_5000_back_and_the_jump_pages_both_ways_back_to_live() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let rt = runtime();
    let mut bob = rt.block_on(async {
        let mut bob = Owner::claim(&server, "bob").await;
        let mut texts = numbered("early talk", 100);
        texts.push("where is the needle in the haystack?".into());
        texts.extend(numbered("filler message", 5000));
        write_all(&mut bob, "lobby", &texts).await;
        bob
    });
    let alice = chrome.open();
    join(&alice, &server, "alice");
    alice.wait_for("the latest messages", &shows("filler message 5000"));

    // Ctrl+K from the composer opens the search.
    alice.type_into("#message-input", "\u{E009}k\u{E009}");
    alice.wait_for(
        "the search dialog",
        "document.getElementById('search-dialog').open && document.activeElement.id === 'search-input'",
    );
    alice.type_into("#search-input", "NEEDLE");
    alice.type_into("#search-input", ENTER);
    alice.wait_eq(
        "one result",
        "document.querySelectorAll('#search-results .search-result').length",
        json!(1),
    );
    assert_eq!(
        alice.js("[...document.querySelectorAll('#search-results mark')].map(m => m.textContent)"),
        json!(["needle"]),
        "the match is marked, in the message's own case"
    );
    assert_eq!(
        alice.js("document.querySelector('.search-result .result-snippet').textContent"),
        json!("where is the needle in the haystack?")
    );
    assert_eq!(
        alice.js("[...document.querySelectorAll('.search-result .result-meta > :not(time)')].map(e => e.textContent)"),
        json!(["#lobby", "bob"])
    );
    assert_eq!(
        alice.js("document.getElementById('search-status').textContent"),
        json!("1 message matches.")
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        shot(&alice, &format!("find-search-desktop-{scheme}"));
        use_phone(&alice);
        shot(&alice, &format!("find-search-phone-{scheme}"));
    }
    use_scheme(&alice, "light");
    use_desktop(&alice);

    // A query the server cannot take is refused, in the page's words.
    alice.js("document.getElementById('search-input').value = 'needle on:2026-13-01'");
    alice.click("#search-form button[type=submit]");
    alice.wait_eq(
        "the refusal",
        "[document.getElementById('search-status').textContent,
          document.getElementById('search-status').classList.contains('error'),
          document.querySelectorAll('#search-results li').length]",
        json!([
            // The page's words, from the refusal's detail (query_bad_date) and its value.
            "“2026-13-01” is not a date; write it like 2026-12-01",
            true,
            0
        ]),
    );
    alice.js("document.getElementById('search-input').value = 'needle'");
    alice.click("#search-form button[type=submit]");
    alice.wait_eq(
        "the result again",
        "document.querySelectorAll('#search-results .search-result').length",
        json!(1),
    );
    alice.click(".search-result");
    let jumped = alice.wait_for("the message jumped to, in view", JUMPED_IN_VIEW);
    assert_eq!(jumped, json!("where is the needle in the haystack?"));
    assert_eq!(
        alice.js("document.getElementById('jump-latest').hidden"),
        json!(false)
    );
    assert_eq!(
        alice.js(&shows("filler message 5000")),
        json!(false),
        "the latest are not shown beside a page of the past"
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        shot(&alice, &format!("find-jump-desktop-{scheme}"));
        use_phone(&alice);
        // The narrower rows moved it; back to where the jump put it, for the picture.
        alice.js("document.querySelector('.msg.jumped').scrollIntoView({ block: 'center' })");
        shot(&alice, &format!("find-jump-phone-{scheme}"));
        use_desktop(&alice);
        alice.js("document.querySelector('.msg.jumped').scrollIntoView({ block: 'center' })");
    }
    use_scheme(&alice, "light");

    // A live message now does not land below the past.
    rt.block_on(bob.say_in("lobby", "said while alice reads the past"));
    scroll_until(
        &alice,
        "older pages, to the start",
        true,
        &shows("early talk 1"),
    );
    alice.wait_for(
        "the beginning of the chat",
        "!document.getElementById('history-start').hidden",
    );
    scroll_until(&alice, "newer pages", false, &shows("filler message 150"));
    assert_eq!(
        alice.js(&shows("said while alice reads the past")),
        json!(false)
    );
    assert_eq!(
        alice.js("document.getElementById('jump-latest').hidden"),
        json!(false)
    );
    assert_in_order(&alice);

    alice.click("#jump-latest");
    alice.wait_for(
        "the latest messages again",
        &format!(
            "{} && document.getElementById('jump-latest').hidden",
            shows("said while alice reads the past")
        ),
    );
    rt.block_on(bob.say_in("lobby", "live again"));
    wait_delivered(&alice, "live again");
    assert_in_order(&alice);
    assert_eq!(
        alice.js("document.querySelectorAll('#timeline .msg.jumped').length"),
        json!(0)
    );
}

/// Picking a day opens the room at its first message, highlighted; paging
/// down reaches the latest, and the room is live again.
#[test]
fn a_date_opens_the_room_at_that_day_and_paging_down_gets_back_to_live() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let rt = runtime();
    let token = rt.block_on(async {
        let mut bob = Owner::claim(&server, "bob").await;
        let mut texts = numbered("march ten", 60);
        texts.extend(numbered("march eleven", 60));
        texts.extend(numbered("today", 10));
        write_all(&mut bob, "lobby", &texts).await;
        bob.token.clone()
    });
    assert!(server.terminate().success());
    // Back-date the first 120: noon (UTC) on 10 and 11 March 2025, a second apart.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tenth: i64 = 1_741_608_000_000;
    conn.execute(
        "UPDATE messages SET ts = ?1 + seq * 1000 WHERE room = 'lobby' AND seq <= 60",
        [tenth],
    )
    .unwrap();
    conn.execute(
        "UPDATE messages SET ts = ?1 + seq * 1000 WHERE room = 'lobby' AND seq > 60 AND seq <= 120",
        [tenth + 86_400_000],
    )
    .unwrap();
    drop(conn);
    let server = Server::start_on_db(&db, &[]);
    let mut bob = rt.block_on(Owner::with_token(&server, "bob", &token));

    let alice = chrome.open();
    join(&alice, &server, "alice");
    alice.wait_for("the latest messages", &shows("today 10"));
    // "/" opens the search when not typing.
    alice.type_into("#messages", "/");
    alice.wait_for(
        "the search dialog",
        "document.getElementById('search-dialog').open",
    );
    assert_eq!(
        alice.js("document.getElementById('date-label').textContent"),
        json!("Day in #lobby")
    );
    // A date field's typing order depends on the locale; its value does not.
    alice.js("document.getElementById('date-input').value = '2025-03-11'");
    alice.click("#date-form button[type=submit]");
    let jumped = alice.wait_for("the day's first message, in view", JUMPED_IN_VIEW);
    assert_eq!(jumped, json!("march eleven 1"));
    assert_eq!(
        alice.js("document.getElementById('search-dialog').open"),
        json!(false)
    );
    assert_eq!(alice.js(&shows("today 10")), json!(false));
    let days = alice.js("[...document.querySelectorAll('#timeline .day')].map(d => d.textContent)");
    assert_eq!(
        days,
        json!(["Monday, March 10, 2025", "Tuesday, March 11, 2025"])
    );

    scroll_until(
        &alice,
        "newer pages until the room is live",
        false,
        "document.getElementById('jump-latest').hidden",
    );
    alice.wait_for("the latest message", &shows("today 10"));
    assert_in_order(&alice);
    rt.block_on(bob.say_in("lobby", "after the jump"));
    wait_delivered(&alice, "after the jump");
}

/// Makes the chat tab report its visibility, title and icon badge to
/// `localStorage` (`test.seen`) on every change, for the tab in front.
fn report_title(page: &Page) {
    page.js(
        "(() => {
            const icon = document.querySelector('link[rel=icon]');
            const report = () => localStorage.setItem('test.seen', JSON.stringify([
                document.visibilityState, document.title, icon.dataset.badge || '',
                icon.href.slice(0, 22)]));
            document.addEventListener('visibilitychange', report);
            new MutationObserver(report).observe(document.querySelector('title'), { childList: true });
            new MutationObserver(report).observe(icon, { attributes: true });
            report();
        })()",
    );
}

/// While the tab is hidden, a mention puts "(1)" in its title and a count
/// on its icon; a plain message is counted apart; seeing the tab clears both.
#[test]
fn a_mention_while_the_tab_is_hidden_counts_in_the_title_and_the_icon() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    report_title(&alice);
    let seen = "JSON.parse(localStorage.getItem('test.seen'))";
    let chat_tab = alice.window_handle();
    let front = alice.new_tab();
    alice.switch_to_window(&front);
    alice.goto(&format!("{}healthz", server.url));
    alice.wait_eq(
        "the chat tab hidden",
        &format!("{seen}.slice(0, 3)"),
        json!(["hidden", "lanchat", ""]),
    );

    let rt = runtime();
    let mut carol = rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        carol.say("@alice are you there?", "c-1").await;
        carol.recv_type("message").await;
        carol
    });
    alice.wait_eq(
        "the mention in the title and on the icon",
        seen,
        json!(["hidden", "(1) lanchat", "1", "data:image/png;base64,"]),
    );
    rt.block_on(async {
        carol.say("lunch is ready", "c-2").await;
        carol.recv_type("message").await;
    });
    alice.wait_eq(
        "the plain message counted apart",
        &format!("{seen}.slice(0, 3)"),
        json!(["hidden", "(1) 1 new · lanchat", "1"]),
    );

    alice.switch_to_window(&chat_tab);
    alice.wait_eq(
        "the title and icon cleared once seen",
        "[document.visibilityState, document.title, document.querySelector('link[rel=icon]').getAttribute('href')]",
        json!(["visible", "lanchat", "favicon.svg"]),
    );
}

/// Opens the notifications dialog of the room on screen.
fn open_settings(page: &Page) {
    page.click("#room-notify");
    page.wait_for(
        "the notifications dialog",
        "document.getElementById('notify-dialog').open",
    );
}

fn close_settings(page: &Page) {
    page.click("#notify-dialog button[data-close]");
    page.wait_for(
        "the notifications dialog closed",
        "!document.getElementById('notify-dialog').open",
    );
}

/// A muted room gets no badge (a room beside it does); unmuted from another
/// tab, the first tab counts it again, and the setting came from the server.
#[test]
fn a_muted_room_adds_no_badge_and_unmuting_in_another_tab_shows_there() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    create_room(&alice, "loud", false);
    create_room(&alice, "quiet", false);
    open_settings(&alice);
    assert_eq!(
        alice.js("document.getElementById('room-settings-heading').textContent"),
        json!("#quiet")
    );
    alice.click("#room-muted");
    alice.wait_for(
        "the bell struck through",
        "document.getElementById('room-notify').classList.contains('is-muted')",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        shot(&alice, &format!("find-settings-desktop-{scheme}"));
        use_phone(&alice);
        shot(&alice, &format!("find-settings-phone-{scheme}"));
    }
    use_scheme(&alice, "light");
    use_desktop(&alice);
    close_settings(&alice);
    open_room(&alice, "lobby");

    let rt = runtime();
    let mut bob = rt.block_on(async {
        let mut bob = Owner::claim(&server, "bob").await;
        for room in ["loud", "quiet"] {
            bob.send(json!({"type":"join_room","room":room})).await;
            bob.client.recv_type("room").await;
        }
        // Its muting was the server's: bob's own settings are not alice's.
        bob.say_in("quiet", "you will not hear of this").await;
        bob.say_in("loud", "but of this").await;
        bob
    });
    wait_badge(&alice, "loud", "1");
    assert_eq!(badge(&alice, "quiet"), "", "a muted room shows no badge");
    assert_eq!(
        alice.js("!!document.querySelector(\"#sidebar a[data-room='quiet'] .muted-icon\")"),
        json!(true)
    );
    use_phone(&alice);
    alice.wait_eq(
        "the menu button counts only the room not muted",
        "document.getElementById('rooms-toggle-badge').textContent",
        json!("1"),
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        alice.click("#rooms-toggle");
        alice.wait_for(
            "the rooms drawer",
            "getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'",
        );
        shot(&alice, &format!("find-muted-drawer-{scheme}"));
        alice.click("#sidebar-close");
        alice.wait_for(
            "the rooms drawer closed",
            "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'",
        );
    }
    use_scheme(&alice, "light");
    use_desktop(&alice);

    // Another tab of the same person unmutes it.
    let first = alice.window_handle();
    let second = alice.new_tab();
    alice.switch_to_window(&second);
    alice.goto(&format!("{}#quiet", server.url));
    wait_connected(&alice);
    wait_in_room(&alice, "quiet");
    open_settings(&alice);
    alice.wait_eq(
        "the muted setting, from the server",
        "document.getElementById('room-muted').checked",
        json!(true),
    );
    alice.click("#room-muted");
    alice.wait_for(
        "the bell back",
        "!document.getElementById('room-notify').classList.contains('is-muted')",
    );
    close_settings(&alice);
    open_room(&alice, "lobby");
    rt.block_on(bob.say_in("quiet", "now you hear of it"));
    wait_badge(&alice, "quiet", "1");

    alice.switch_to_window(&first);
    wait_badge(&alice, "quiet", "1");
    assert_eq!(
        alice.js("!!document.querySelector(\"#sidebar a[data-room='quiet'] .muted-icon\")"),
        json!(false)
    );
}

/// Records every Notification the page constructs and every sound it
/// plays (the real constructor and `play` still run) in `localStorage`, one
/// key each, for the tab in front; the tab's notifications are also kept in
/// `window.made`. CDP scripts are per tab: call it in each tab before it
/// loads the page.
fn record_alerts(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "(() => {
            const key = kind => `test.${kind}.${Math.random().toString(36).slice(2)}`;
            window.made = [];
            const play = HTMLMediaElement.prototype.play;
            HTMLMediaElement.prototype.play = function () {
                localStorage.setItem(key('played'), this.src);
                return play.call(this);
            };
            const Native = window.Notification;
            if (!Native) return;
            window.Notification = class extends Native {
                constructor(title, options) {
                    super(title, options);
                    window.made.push(this);
                    localStorage.setItem(key('notification'),
                        JSON.stringify({ title, body: options && options.body }));
                }
            };
        })();" }),
    );
}

/// What the tab in front heard the chat tabs say to each other, for the
/// message `id` (or the one they said `kind` of): how many said each kind.
fn heard_count(page: &Page, kind: &str) -> Value {
    page.eval(
        "return window.heard.filter(m => m.kind === arguments[0]).length;",
        json!([kind]),
    )
}

/// The values of the `localStorage` keys `test.<kind>.*`.
fn recorded(page: &Page, kind: &str) -> Vec<String> {
    let value = page.eval(
        "return Object.keys(localStorage).filter(k => k.startsWith(`test.${arguments[0]}.`))
             .map(k => localStorage.getItem(k));",
        json!([kind]),
    );
    serde_json::from_value(value).expect("list of strings")
}

fn notifications(page: &Page) -> Vec<Value> {
    recorded(page, "notification")
        .iter()
        .map(|text| serde_json::from_str(text).expect("JSON"))
        .collect()
}

/// On localhost (a secure context) with the permission granted, a mention
/// while the tabs are hidden makes one notification and one chime, though
/// two tabs of the same person heard it: they elect one. Clicking the
/// notification opens its tab at the message; a mention that tab then shows
/// (focused, at the end) alerts no tab.
#[test]
fn a_mention_makes_one_notification_for_two_hidden_tabs_and_none_when_seen() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let chime = server.get("/chime.wav");
    assert_eq!(chime.status, 200);
    assert_eq!(chime.header("content-type"), Some("audio/wav"));
    let alice = chrome.open();
    record_alerts(&alice);
    alice.goto(&server.url);
    alice.set_permission("notifications", "granted");
    join(&alice, &server, "alice");
    assert_eq!(alice.js("window.isSecureContext"), json!(true));
    open_settings(&alice);
    alice.wait_for(
        "notifications said to be on",
        "document.getElementById('desktop-status').textContent.startsWith('On:')
            && document.getElementById('desktop-enable').hidden",
    );
    assert_eq!(
        alice.js("document.getElementById('sound-on').checked"),
        json!(false),
        "the sound is off until turned on"
    );
    alice.click("#sound-on");
    close_settings(&alice);
    let first = alice.window_handle();

    let second = alice.new_tab();
    alice.switch_to_window(&second);
    record_alerts(&alice);
    alice.goto(&server.url);
    wait_connected(&alice);
    let front = alice.new_tab();
    alice.switch_to_window(&front);
    alice.goto(&format!("{}healthz", server.url));
    // What the tabs say to each other, heard from in front.
    alice.js(
        "(() => { window.heard = [];
                  new BroadcastChannel('lanchat.alerts').onmessage = e => window.heard.push(e.data); })()",
    );

    let rt = runtime();
    let mut carol = rt.block_on(async {
        let (mut carol, _, _) = Client::join(&server, "carol").await;
        carol.say("@alice the build is green", "c-1").await;
        carol.recv_type("message").await;
        carol
    });
    alice.wait_for(
        "both tabs to offer and decide",
        "(() => { const kinds = window.heard.map(m => m.kind);
                  const count = k => kinds.filter(x => x === k).length;
                  return count('offer') === 2 && count('alerted') + count('yielded') === 2; })()",
    );
    assert_eq!(heard_count(&alice, "alerted"), json!(1));
    // The alerting tab records its notification and chime in
    // localStorage, which reaches this tab a moment after its message.
    alice.wait_for(
        "the notification and the chime to be recorded",
        "(() => { const keys = Object.keys(localStorage);
                  return keys.some(k => k.startsWith('test.notification.'))
                      && keys.some(k => k.startsWith('test.played.')); })()",
    );
    assert_eq!(
        notifications(&alice),
        [json!({ "title": "carol in #lobby", "body": "@alice the build is green" })]
    );
    let played = recorded(&alice, "played");
    assert!(
        played.len() == 1 && played[0].ends_with("/chime.wav"),
        "one chime: {played:?}"
    );

    // The notification's click brings its tab forward at the message.
    let mut winner = None;
    for tab in [&first, &second] {
        alice.switch_to_window(tab);
        if alice.js("window.made.length") == json!(1) {
            winner = Some(tab.clone());
            break;
        }
    }
    assert!(winner.is_some(), "a chat tab made the notification");
    alice.js("window.made[0].dispatchEvent(new Event('click'))");
    let jumped = alice.wait_for("the message, highlighted", JUMPED_IN_VIEW);
    assert_eq!(jumped, json!("@alice the build is green"));
    // Headless Chromium gives a tab switched to the keyboard focus only
    // sometimes; a person's click on a tab always does.
    alice.cdp(
        "Emulation.setFocusEmulationEnabled",
        json!({ "enabled": true }),
    );
    alice.wait_for(
        "the tab in front, at the end of the lobby",
        "document.visibilityState === 'visible' && document.hasFocus()",
    );

    // This tab shows the next mention as it comes: no tab alerts.
    rt.block_on(async {
        carol.say("@alice and the tests too", "c-2").await;
        carol.recv_type("message").await;
    });
    wait_delivered(&alice, "@alice and the tests too");
    alice.switch_to_window(&front);
    alice.wait_for(
        "the mention said seen, and the other tab done with it",
        "(() => { const seen = window.heard.filter(m => m.kind === 'seen').map(m => m.id);
                  if (seen.length !== 1) return false;
                  const about = k => window.heard.filter(m => m.kind === k && m.id === seen[0]).length;
                  return about('offer') === about('yielded'); })()",
    );
    assert_eq!(heard_count(&alice, "alerted"), json!(1));
    assert_eq!(notifications(&alice).len(), 1);
    assert_eq!(recorded(&alice, "played").len(), 1);
}

/// Opened by a name that is not this computer's own (as a phone opens the
/// LAN address), the page is not a secure context: the settings say that
/// desktop notifications cannot work here, and what to open instead.
/// (Chromium is pointed at the server on 127.0.0.1 under another host name,
/// so no traffic leaves this machine.)
#[test]
fn on_a_page_that_is_not_secure_the_settings_say_why_and_what_to_do() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let port = server.addr.port();
    let alice = chrome.open_with(&["--host-resolver-rules=MAP lanchat.test 127.0.0.1"]);
    let url = format!("http://lanchat.test:{port}/");
    join_at(&alice, &url, "alice");
    assert_eq!(alice.js("window.isSecureContext"), json!(false));
    open_settings(&alice);
    let status = alice.js("document.getElementById('desktop-status').textContent");
    let status = status.as_str().unwrap_or_default();
    assert!(
        status.contains("plain http") && status.contains(&format!("http://localhost:{port}/")),
        "{status}"
    );
    assert_eq!(
        alice.js("document.getElementById('desktop-enable').hidden"),
        json!(true)
    );
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_phone(&alice);
        shot(&alice, &format!("find-insecure-phone-{scheme}"));
    }
}
