//! The host's tools in real headless Chromium, against the real server: the
//! host link puts the page in host mode; the host removes a message, mutes,
//! kicks and bans from the page, and sets a room read-only; what everyone
//! else's page shows. Screenshots of host mode on a desktop and a phone.
//! Skips loudly when Chromium is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::Server;
use common::host::{SECRET, flags};
use serde_json::json;
use webdriver::{Chrome, Page};

/// The host link, as the banner prints it.
fn host_link(server: &Server) -> String {
    format!("{}#host={}", server.url, SECRET.replace(' ', "%20"))
}

/// Waits until the page is in host mode: the Host button shows.
fn wait_host_mode(page: &Page) {
    page.wait_for(
        "the Host button",
        "!document.getElementById('host-open').hidden",
    );
}

/// Opens the host's dialog.
fn open_host_dialog(page: &Page) {
    page.click("#host-open");
    page.wait_for(
        "the host's dialog",
        "document.getElementById('host-dialog').open",
    );
}

/// Reloads `page` in Spanish on a phone in the dark, in host mode, and opens
/// the host's dialog.
fn open_host_dialog_on_a_dark_phone_in_spanish(page: &Page, server: &Server) {
    page.goto(&format!("{}?lang=es", server.url));
    wait_connected(page);
    wait_host_mode(page);
    use_phone(page);
    use_scheme(page, "dark");
    open_host_dialog(page);
}

/// Picks `name` and presses the dialog's `act` button (kick, mute, ban).
fn act_on(page: &Page, name: &str, reason: &str, minutes: &str, act: &str) {
    page.eval(
        "const [name, reason, minutes] = arguments;
         document.getElementById('host-name').value = name;
         document.getElementById('host-reason').value = reason;
         document.getElementById('host-duration').value = minutes;",
        json!([name, reason, minutes]),
    );
    page.click(&format!("#host-dialog button[data-host-act='{act}']"));
    page.wait_eq(
        "the host's action done",
        "document.getElementById('host-status').textContent",
        json!("Done."),
    );
}

/// The texts of the host's lines (system events) in the room on screen.
fn system_lines(page: &Page) -> Vec<String> {
    let value = page.js(
        "[...document.querySelectorAll('#timeline .notice.system')].map(n => n.firstChild.textContent)",
    );
    serde_json::from_value(value).expect("list of strings")
}

fn wait_system_line(page: &Page, text: &str) {
    page.wait_for(
        &format!("the line {text:?}"),
        &format!(
            "[...document.querySelectorAll('#timeline .notice.system')]
                .some(n => n.firstChild.textContent === {})",
            json!(text)
        ),
    );
}

/// The host link puts the page in host mode (and the secret leaves the
/// address bar); from the page the host removes bob's message (everyone
/// sees "The host removed this message."), mutes him (his page refuses to
/// send, with why), makes the lobby read-only (his composer locks, the
/// host still writes) and removes him from the chat (his page says why).
/// Screenshots of the host's dialog on a desktop (light) and a phone
/// (dark, in Spanish), and of bob's page.
#[test]
fn the_host_runs_the_room_from_the_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let ana = chrome.open();
    let bob = chrome.open();
    use_desktop(&ana);
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    assert_eq!(
        ana.js("location.hash"),
        json!(""),
        "the secret left the address"
    );
    join(&bob, &server, "bob");
    assert_eq!(
        bob.js("document.getElementById('host-open').hidden"),
        json!(true)
    );

    say(&bob, "buy cheap pills at evil.example");
    wait_delivered(&ana, "buy cheap pills at evil.example");
    // The host's delete, from the message's action bar, after the dialog.
    ana.eval(
        "[...document.querySelectorAll('#timeline .msg')]
            .find(r => r.querySelector('.text')?.textContent.startsWith('buy cheap'))
            .querySelector(\"button[data-msg-action='host-delete']\").click();",
        json!([]),
    );
    ana.wait_for(
        "the delete dialog",
        "document.getElementById('delete-dialog').open",
    );
    ana.click("#delete-confirm");
    for page in [&ana, &bob] {
        page.wait_for(
            "the host's tombstone",
            "[...document.querySelectorAll('#timeline .msg.deleted .text')]
                .some(t => t.textContent === 'The host removed this message.')",
        );
        let kept = store_value(
            page,
            "[...state.rooms.values()].some(room => room.timeline.some(
                entry => entry.kind === 'message' && entry.frame.message.includes('cheap pills')))",
        );
        assert_eq!(kept, json!(false), "the text is gone from the page's rooms");
        assert!(texts(page).iter().all(|text| !text.contains("cheap pills")));
    }

    // A mute: bob's message is refused, and says why.
    open_host_dialog(&ana);
    act_on(&ana, "bob", "", "10", "mute");
    bob.wait_for(
        "the mute shown in the lobby",
        "[...document.querySelectorAll('#timeline .notice.system')]
            .some(n => n.firstChild.textContent.startsWith('The host muted bob until'))",
    );
    say(&bob, "let me talk");
    bob.wait_for(
        "the refused message",
        "document.querySelector('#timeline .msg.failed') !== null",
    );
    ana.wait_for(
        "bob listed as muted",
        "document.getElementById('host-mutes').textContent.includes('bob')",
    );
    ana.click("#host-mutes button[data-lift='mute']");
    wait_system_line(&bob, "The host unmuted bob.");

    // Read-only: the host writes, bob's composer locks and says why.
    ana.click("#host-rooms input[data-rule='read_only'][data-room='lobby']");
    bob.wait_eq(
        "the room's rules over the composer",
        "document.getElementById('room-rules').textContent",
        json!("Only the host writes in this room."),
    );
    assert_eq!(
        bob.js("document.getElementById('message-input').disabled"),
        json!(true)
    );
    wait_system_line(&bob, "The host set this room: only the host writes.");
    ana.wait_eq(
        "the host's own note",
        "document.getElementById('room-rules').textContent",
        json!("Read-only for everyone but you."),
    );

    // Pictures: the host's dialog and bob's page.
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    use_scheme(&ana, "light");
    ana.screenshot(&dir.join("host-dialog-desktop-light.png"));
    ana.click("#host-dialog [data-close]");
    ana.wait_for(
        "the dialog closed",
        "!document.getElementById('host-dialog').open",
    );
    say(
        &ana,
        "Only I write here for a while. Questions after the talk!",
    );
    wait_delivered(
        &bob,
        "Only I write here for a while. Questions after the talk!",
    );
    use_desktop(&bob);
    use_scheme(&bob, "dark");
    bob.screenshot(&dir.join("host-events-desktop-dark.png"));

    // A kick: bob's page says why.
    open_host_dialog(&ana);
    act_on(&ana, "bob", "please take a break", "10", "kick");
    bob.wait_eq(
        "why the host removed bob",
        "document.getElementById('host-removed').textContent",
        json!(
            "The host removed you from the chat: “please take a break” You can come back in a minute."
        ),
    );
    bob.screenshot(&dir.join("host-removed-desktop-dark.png"));
    wait_system_line(&ana, "The host removed bob from the chat.");

    // The host's dialog on a phone, in the dark and in Spanish.
    open_host_dialog_on_a_dark_phone_in_spanish(&ana, &server);
    ana.wait_eq(
        "the dialog in Spanish",
        "document.getElementById('host-title').textContent",
        json!("Herramientas del anfitrión"),
    );
    ana.screenshot(&dir.join("host-dialog-phone-dark-es.png"));
    // Nothing in it is wider than the dialog: a phone would scroll it
    // sideways. Names what sticks out, if anything does.
    assert_eq!(
        ana.js("((dialog) => [...dialog.querySelectorAll('*')]
               .filter((e) => e.getClientRects().length
                 && e.getBoundingClientRect().right
                   > dialog.getBoundingClientRect().left + dialog.clientWidth + 1)
               .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)
             )(document.getElementById('host-dialog'))"),
        json!([]),
        "the host's dialog scrolls sideways on a phone"
    );
    ana.click("#host-dialog [data-close]");
    let lines = system_lines(&ana);
    assert!(
        lines.contains(&"El anfitrión expulsó a bob del chat.".to_owned()),
        "the host's lines in Spanish: {lines:?}"
    );
}

/// A ban from the page: bob's page says he is banned and stops
/// reconnecting; a reload (the same browser) is kept out too.
#[test]
fn a_banned_page_says_so_and_stays_out() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let ana = chrome.open();
    let bob = chrome.open();
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    open_host_dialog(&ana);
    act_on(&ana, "bob", "spam", "", "ban");
    bob.wait_eq(
        "why bob is out",
        "document.getElementById('host-removed').textContent",
        json!("The host banned you from this chat: “spam”"),
    );
    bob.wait_eq(
        "no reconnecting",
        "document.getElementById('conn-text').textContent",
        json!("Not connected"),
    );
    ana.wait_for(
        "bob listed as banned, with his browser",
        "document.getElementById('host-bans').textContent.includes('1 browser')",
    );
    bob.refresh();
    bob.wait_eq(
        "kept out after a reload",
        "document.getElementById('host-removed').textContent",
        json!("The host banned you from this chat: “spam”"),
    );
    use_phone(&bob);
    use_scheme(&bob, "light");
    bob.screenshot(&screenshot_dir().join("host-banned-phone-light.png"));
}

/// The texts of the pinned announcements over the room on screen.
fn pins(page: &Page) -> Vec<String> {
    let value =
        page.js("[...document.querySelectorAll('#pins .pin-text')].map(p => p.textContent)");
    serde_json::from_value(value).expect("list of strings")
}

/// The host pins an announcement for everyone from the dialog: it shows
/// over every room in every page, rendered; the host's count of readers
/// follows their read marks across browsers (bob, away in another room,
/// has not read it until he opens the lobby); a reader dismisses it for
/// good in that browser. Hands go up in order, the host lowers one.
/// Screenshots of the pin and the hands on a desktop and a phone.
#[test]
fn announcements_and_raised_hands_in_the_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let ana = chrome.open();
    let bob = chrome.open();
    let carol = chrome.open();
    use_desktop(&ana);
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    join(&carol, &server, "carol");
    create_room(&bob, "projects", false);

    open_host_dialog(&ana);
    ana.wait_eq(
        "the announcement's places",
        "[...document.getElementById('host-announce-room').options].map(o => o.textContent)",
        json!(["Everyone, in every room", "#projects"]),
    );
    ana.type_into("#host-announce-text", "**Quiz** at 3 pm, in room B");
    ana.click("#host-announce button[type='submit']");
    ana.wait_eq(
        "the host's action done",
        "document.getElementById('host-status').textContent",
        json!("Done."),
    );
    ana.click("#host-dialog [data-close]");
    for page in [&ana, &bob, &carol] {
        page.wait_for(
            "the pinned announcement",
            "document.querySelector('#pins .pin-text strong')?.textContent === 'Quiz'",
        );
    }
    assert_eq!(
        pins(&bob),
        ["Quiz at 3 pm, in room B"],
        "over #projects too"
    );
    // Ana and carol have the lobby's end on screen; bob is in #projects.
    let read = "document.querySelector('#pins .pin-read')?.textContent";
    ana.wait_eq("read by ana and carol", read, json!("Read by 2 of 3"));
    assert_eq!(
        bob.js("document.querySelector('#pins .pin-read')"),
        json!(null)
    );
    open_room(&bob, "lobby");
    ana.wait_eq("read by all three", read, json!("Read by 3 of 3"));
    wait_system_line_announcement(&carol);

    // Dismissed, for good in this browser.
    carol.click("#pins button[data-pin='dismiss']");
    carol.wait_for("the pin gone", "document.getElementById('pins').hidden");
    carol.refresh();
    wait_connected(&carol);
    assert!(pins(&carol).is_empty());

    // Hands, in order; the host lowers bob's.
    bob.click("#hand-toggle");
    carol.click("#hand-toggle");
    let hands = "[...document.querySelectorAll('#hands-list li span')].map(s => s.textContent)";
    ana.wait_eq("two hands up, in order", hands, json!(["bob", "carol"]));
    assert_eq!(
        bob.js("document.getElementById('hand-toggle').getAttribute('aria-pressed')"),
        json!("true")
    );
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    use_scheme(&ana, "light");
    ana.screenshot(&dir.join("host-pin-hands-desktop-light.png"));
    ana.click("#hands-list button[data-lower='bob']");
    bob.wait_eq(
        "bob's hand down",
        "document.getElementById('hand-toggle').getAttribute('aria-pressed')",
        json!("false"),
    );
    carol.wait_eq("carol's still up", hands, json!(["carol"]));
    use_phone(&bob);
    use_scheme(&bob, "dark");
    bob.screenshot(&dir.join("host-pin-phone-dark.png"));
}

/// Waits until the announcement shows in the lobby's timeline too.
fn wait_system_line_announcement(page: &Page) {
    page.wait_for(
        "the announcement in the timeline",
        "document.querySelector('#timeline .announcement .text strong')?.textContent === 'Quiz'",
    );
}

/// The host sets a room's retention in the dialog: every page says how
/// long messages are kept there, and a page drops the messages the
/// server's `expired` says are gone.
#[test]
fn retention_in_the_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let ana = chrome.open();
    let bob = chrome.open();
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    say(&bob, "first words");
    say(&bob, "second words");
    wait_delivered(&bob, "second words");
    open_host_dialog(&ana);
    ana.eval(
        "const keep = document.querySelector(\"#host-rooms select[data-rule='keep'][data-room='lobby']\");
         keep.value = 'messages:100';
         keep.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([]),
    );
    bob.wait_eq(
        "the retention over the composer",
        "document.getElementById('room-rules').textContent",
        json!("Only the newest 100 messages are kept here."),
    );
    wait_system_line(
        &bob,
        "The host set this room: only the newest 100 messages kept.",
    );
    let first = bob.js("[...document.querySelectorAll('#timeline .msg')]
            .find(r => r.querySelector('.text')?.textContent === 'first words').dataset.seq");
    let through: u64 = first.as_str().unwrap().parse().unwrap();
    feed_frame(
        &bob,
        json!({"type":"expired","room":"lobby","through":through}),
    );
    assert_eq!(texts(&bob), ["second words"]);
}

/// The host's export from the dialog (JSON lines, fetched with the host
/// secret and handed to the browser as a file) holds the lobby; a
/// participant's "Download what I can read" holds their direct messages.
/// The HTML export, opened from disk in Chromium, shows every message and
/// picture with no network request and nothing the page's CSP refused.
#[test]
fn exports_in_the_page_and_offline() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let ana = chrome.open();
    let bob = chrome.open();
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    say(&bob, "hello from bob");
    wait_delivered(&ana, "hello from bob");
    // A direct message, and a picture in the lobby (through the server, as
    // the page's upload would).
    let picture = {
        let picture = image::RgbImage::from_fn(64, 32, |x, _| image::Rgb([x as u8 * 4, 90, 160]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut bytes, image::ImageFormat::Png)
            .unwrap();
        bytes.into_inner()
    };
    runtime().block_on(async {
        let mut carol = common::owner::Owner::claim(&server, "carol").await;
        let tus = common::tus::Tus {
            addr: server.addr,
            token: carol.token.trim_start_matches("token.").to_owned(),
        };
        let file = tus.upload("waves.png", "lobby", &picture);
        carol
            .send(json!({"type":"message","message":"the sea","files":[file],"cid":"c1"}))
            .await;
        carol.client.recv_type("message").await;
        carol.send(json!({"type":"dm","username":"bob"})).await;
        let dm = carol.client.recv_type("room").await["room"]
            .as_str()
            .unwrap()
            .to_owned();
        carol.say_in(&dm, "just between us").await;
    });
    wait_delivered(&ana, "the sea");

    // The host's export, as the dialog downloads it.
    ana.eval(
        "const original = URL.createObjectURL;
         URL.createObjectURL = (blob) => { window.exported = blob; return original(blob); };",
        json!([]),
    );
    open_host_dialog(&ana);
    ana.eval(
        "document.getElementById('host-export-format').value = 'jsonl';",
        json!([]),
    );
    ana.click("#host-export button[type='submit']");
    ana.wait_for("the export made", "window.exported !== undefined");
    let exported = ana.eval_async(
        "const done = arguments[arguments.length - 1]; window.exported.text().then(done);",
        json!([]),
    );
    let lines: Vec<serde_json::Value> = exported
        .as_str()
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines.iter().any(|m| m["message"] == "hello from bob"));
    assert!(lines.iter().all(|m| m["message"] != "just between us"));

    // Bob's own archive, with his direct message.
    bob.wait_for(
        "the archive link",
        "!document.getElementById('my-archive').hidden",
    );
    let mine = bob.eval_async(
        "const done = arguments[arguments.length - 1];
         fetch(document.getElementById('my-archive').href).then(r => r.text()).then(done);",
        json!([]),
    );
    assert!(mine.as_str().unwrap().contains("just between us"));

    // The HTML export, opened from disk.
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("archive.html");
    let raw = format!(
        "GET /api/export HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nLanchat-Host: {SECRET}\r\n\r\n",
        server.addr
    );
    std::fs::write(&file, common::http_request(server.addr, &raw).body).unwrap();
    let reader = chrome.open();
    record_csp_violations(&reader);
    reader.goto(&format!("file://{}", file.display()));
    reader.wait_for(
        "the picture loaded",
        "[...document.images].length === 1 && [...document.images].every(i => i.complete && i.naturalWidth === 64)",
    );
    let shown = reader.js("document.body.innerText");
    for words in ["hello from bob", "the sea", "waves.png"] {
        assert!(shown.as_str().unwrap().contains(words), "{words:?} missing");
    }
    assert_eq!(
        reader.js("performance.getEntriesByType('resource').length"),
        json!(0),
        "no network request"
    );
    assert_eq!(reader.js("window.cspViolations"), json!([]));
    use_desktop(&reader);
    reader.screenshot(&screenshot_dir().join("host-export-html.png"));
}

/// Event mode in the page: the bar says what the event is and what its end
/// does; the host ends it from the dialog (two presses); every page offers
/// its archive once, and the composer locks.
#[test]
fn an_event_in_the_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let mut args = flags().to_vec();
    args.extend_from_slice(&["--event", "Game night"]);
    let server = Server::start_with(&args);
    let ana = chrome.open();
    let bob = chrome.open();
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    bob.wait_eq(
        "the event's bar",
        "document.getElementById('event-bar').textContent",
        json!(
            "Game night. When it ends, the chat turns read-only, and 10 minutes later everything \
             here is deleted from the host's computer. You can download your archive then."
        ),
    );
    say(&bob, "good game!");
    wait_delivered(&ana, "good game!");
    open_host_dialog(&ana);
    ana.click("#host-end-event");
    ana.wait_eq(
        "the second press asked for",
        "document.getElementById('host-end-event').textContent",
        json!("Press again: the chat turns read-only for everyone"),
    );
    ana.click("#host-end-event");
    bob.wait_for(
        "the archive offered",
        "document.getElementById('event-over').open",
    );
    assert!(
        bob.js("document.getElementById('event-over-text').textContent")
            .as_str()
            .unwrap()
            .starts_with("The chat is read-only now. Everything here is deleted at ")
    );
    assert!(
        bob.js("document.getElementById('event-archive').href")
            .as_str()
            .unwrap()
            .ends_with("/api/export/mine")
    );
    assert_eq!(
        bob.js("document.getElementById('message-input').disabled"),
        json!(true)
    );
    use_phone(&bob);
    use_scheme(&bob, "light");
    bob.screenshot(&screenshot_dir().join("host-event-over-phone-light.png"));
    bob.click("#event-over [data-close]");
    bob.wait_eq(
        "the room says it is over",
        "document.getElementById('room-rules').textContent",
        json!("The event is over: the chat is read-only."),
    );
    use_desktop(&bob);
    use_scheme(&bob, "dark");
    bob.screenshot(&screenshot_dir().join("host-event-over-desktop-dark.png"));
}

/// The host makes a bot in the dialog: it needs a room; its token shows
/// once, with a `curl` to try; a script posts with it and other pages show
/// the message with a "bot" badge; revoked in the dialog, the token stops.
/// Screenshots: the dialog on a desktop (light) and on a phone (dark, in
/// Spanish), the bot's message on a desktop (dark) and a phone (light, in
/// Brazilian Portuguese).
#[test]
fn bots_in_the_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&flags());
    let dir = screenshot_dir();
    let ana = chrome.open();
    let bob = chrome.open();
    use_desktop(&ana);
    join_at(&ana, &host_link(&server), "ana");
    wait_host_mode(&ana);
    join(&bob, &server, "bob");
    open_host_dialog(&ana);
    ana.type_into("#host-bot-name", "printer");
    // No room: the dialog says one is needed, and asks nothing of the server.
    ana.click("#host-bot-rooms input[value='lobby']");
    ana.click("#host-bots button[type='submit']");
    ana.wait_eq(
        "a bot needs a room",
        "document.getElementById('host-bot-status').textContent",
        json!("Pick at least one room for the bot."),
    );
    ana.click("#host-bot-rooms input[value='lobby']");
    ana.click("#host-bots button[type='submit']");
    ana.wait_for(
        "the token, once",
        "!document.getElementById('host-bot-made').hidden",
    );
    let token = ana.js("document.getElementById('host-bot-token').value");
    let token = token.as_str().unwrap().to_owned();
    assert!(token.starts_with("bot_"), "{token}");
    let curl = ana.js("document.getElementById('host-bot-curl').value");
    let curl = curl.as_str().unwrap();
    assert!(curl.contains(&format!("Bearer {token}")), "{curl}");
    assert!(
        curl.contains(&format!("http://{}/api/rooms/lobby/messages", server.addr)),
        "{curl}"
    );
    ana.wait_eq(
        "its status line clears",
        "document.getElementById('host-bot-status').textContent",
        json!("Done."),
    );
    ana.wait_eq(
        "the bot listed",
        "document.getElementById('host-bot-list').textContent.includes('printer')",
        json!(true),
    );
    use_scheme(&ana, "light");
    ana.js("document.getElementById('host-bots').scrollIntoView()");
    ana.screenshot(&dir.join("host-bots-desktop-light.png"));

    let post = |token: &str| {
        let body = "Paper is low in the **second** tray";
        let head = format!(
            "POST /api/rooms/lobby/messages HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n",
            server.addr,
            body.len()
        );
        common::http_send(server.addr, &head, body.as_bytes()).status
    };
    assert_eq!(post(&token), 201);
    let marked = "[...document.querySelectorAll('#timeline .msg')].some(r =>
        r.querySelector('.author')?.textContent === 'printer'
        && r.querySelector('.bot-badge')?.textContent === 'bot'
        && r.querySelector('.text strong')?.textContent === 'second')";
    bob.wait_for("the bot's message, marked", marked);
    let person = "[...document.querySelectorAll('#timeline .msg')].some(r =>
        r.querySelector('.author')?.textContent === 'ana' && r.querySelector('.bot-badge'))";
    assert_eq!(bob.js(person), json!(false), "a person's has no badge");
    use_desktop(&bob);
    use_scheme(&bob, "dark");
    bob.screenshot(&dir.join("host-bot-message-desktop-dark.png"));
    bob.goto(&format!("{}?lang=pt-BR", server.url));
    wait_connected(&bob);
    bob.wait_for("the bot's message after a reload", marked);
    use_phone(&bob);
    use_scheme(&bob, "light");
    bob.screenshot(&dir.join("host-bot-message-phone-light-pt.png"));

    // The dialog on a phone, in Spanish: the token is gone (shown once),
    // the bot is listed with its room.
    open_host_dialog_on_a_dark_phone_in_spanish(&ana, &server);
    ana.wait_eq(
        "the bot listed in Spanish",
        "document.querySelector('#host-bot-list button[data-revoke]')?.textContent",
        json!("Revocar printer"),
    );
    assert_eq!(
        ana.js("document.getElementById('host-bot-made').hidden"),
        json!(true),
        "the token shows once"
    );
    ana.js("document.getElementById('host-bots').scrollIntoView()");
    ana.screenshot(&dir.join("host-bots-phone-dark-es.png"));

    ana.click("#host-bot-list button[data-revoke]");
    ana.wait_eq(
        "no bots left",
        "document.getElementById('host-bot-list').textContent",
        json!("Aún no hay bots."),
    );
    assert_eq!(post(&token), 401, "revoked: the token stops at once");
}
