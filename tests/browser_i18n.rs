//! The page in the reader's language, in real headless Chromium against the
//! real server: a browser set to Brazilian Portuguese (`--lang=pt-BR`) and
//! one set to Spanish (`--lang=es`) see the join card, the chat, the rooms
//! and notifications dialogs, the search, the emoji picker (searched in
//! their language), a typing line and the errors in it, each screen
//! audited with axe-core and saved as `i18n-<language>-*.png`; the picker
//! switches the language live (on the join card and in the chat) and the
//! choice survives a reload; a timeline over several days shows its day
//! dividers in each language's own words; the pseudo-locale (`?lang=en-XA`)
//! walks every screen on a desktop and a phone and fails on any text that
//! did not go through the catalogs and on anything cut off or overflowing;
//! and a chat in Arabic, Hebrew and English reads each message in its own
//! direction (`i18n-rtl-*.png`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::axe::{audit, axe_source};
use browser_support::files::{noise_file, pick_files};
use browser_support::*;
use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use webdriver::{Chrome, ENTER, ESCAPE, Page};

/// A browser whose language is `language`, as a person's would be.
fn browser(chrome: &Chrome, language: &str) -> Page {
    chrome.open_with(&[
        &format!("--lang={language}"),
        &format!("--accept-lang={language}"),
    ])
}

fn text(page: &Page, css: &str) -> String {
    let value = page.js(&format!(
        "document.querySelector({})?.textContent.trim() ?? null",
        json!(css)
    ));
    value.as_str().unwrap_or_default().to_owned()
}

fn wait_text(page: &Page, what: &str, css: &str, expected: &str) {
    page.wait_eq(
        what,
        &format!("document.querySelector({})?.textContent.trim()", json!(css)),
        json!(expected),
    );
}

/// Picks `language` in the language picker `select` (by its id), as a
/// person choosing from it would: the page switches at once.
fn choose_language(page: &Page, select: &str, language: &str) {
    page.js(&format!(
        "(() => {{ const picker = document.getElementById({});
            picker.value = {}; picker.dispatchEvent(new Event('change', {{ bubbles: true }})); }})()",
        json!(select),
        json!(language)
    ));
    page.wait_eq(
        "the page's language",
        "document.documentElement.lang",
        json!(language),
    );
}

fn day_dividers(page: &Page) -> Value {
    page.js("[...document.querySelectorAll('#timeline .day')].map(row => row.textContent)")
}

fn shot(page: &Page, name: &str) {
    // A drawer still sliding is not yet where it goes.
    page.wait_for(
        "the page to settle",
        "document.getAnimations().every((animation) => animation.playState !== 'running')",
    );
    page.screenshot(&screenshot_dir().join(format!("i18n-{name}.png")));
}

/// What a person using the page in Portuguese or Spanish reads, screen by
/// screen, in the catalogs' words (and the grammar and chat vocabulary of
/// each language: "sala", "mensagem direta", "digitando…").
struct Expected {
    language: &'static str,
    join_submit: &'static str,
    reserved: &'static str,
    lobby_info: &'static str,
    typing: &'static str,
    directs: &'static str,
    rooms_title: &'static str,
    public_room: &'static str,
    search_count: &'static str,
    picker_group: &'static str,
    heart: &'static str,
    notify_title: &'static str,
    notify_level: &'static str,
    rename_taken: &'static str,
    send: &'static str,
}

const PORTUGUESE: Expected = Expected {
    language: "pt-BR",
    join_submit: "Entrar no chat",
    reserved: "“system” é reservado; escolha outro nome.",
    lobby_info: "Todos nesta rede · 2 online",
    typing: "bruno está digitando…",
    directs: "Mensagens diretas",
    rooms_title: "Salas",
    public_room: "Sala pública · 1 membro",
    search_count: "1 mensagem encontrada.",
    picker_group: "Carinhas e emoções",
    heart: "coração",
    notify_title: "Notificações",
    notify_level: "Notificar sobre",
    rename_taken: "Esse nome já está em uso; escolha outro.",
    send: "Enviar",
};

const SPANISH: Expected = Expected {
    language: "es",
    join_submit: "Entrar al chat",
    reserved: "“system” está reservado; elige otro nombre.",
    lobby_info: "Todos en esta red · 2 en línea",
    typing: "bruno está escribiendo…",
    directs: "Mensajes directos",
    rooms_title: "Salas",
    public_room: "Sala pública · 1 miembro",
    search_count: "1 mensaje coincide.",
    picker_group: "Caritas y emociones",
    heart: "corazón",
    notify_title: "Notificaciones",
    notify_level: "Notificarme sobre",
    rename_taken: "Ese nombre ya está en uso; elige otro.",
    send: "Enviar",
};

/// A browser set to Brazilian Portuguese, then one set to Spanish, sees
/// every screen in its language, and each passes the accessibility audit.
#[test]
fn a_browser_in_portuguese_or_spanish_sees_the_page_in_its_language() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let mut violations = Vec::new();
    for expected in [PORTUGUESE, SPANISH] {
        let language = expected.language;
        let server = Server::start();
        let rt = runtime();
        let mut bruno = rt.block_on(Owner::claim(&server, "bruno"));
        let page = browser(&chrome, language);
        page.goto(&server.url);
        page.wait_for("the join form", "!document.getElementById('join').hidden");
        assert_eq!(page.js("navigator.language"), json!(language));
        assert_eq!(page.js("document.documentElement.lang"), json!(language));
        assert_eq!(
            text(&page, "#join button[type=submit]"),
            expected.join_submit
        );
        assert_eq!(
            page.js("document.getElementById('join-language').value"),
            json!(language)
        );
        shot(&page, &format!("{language}-join"));
        violations.extend(audit(&page, &axe, &format!("{language}: join")));

        // A name the page refuses before asking, in its words.
        page.type_into("#join-name", "system");
        page.type_into("#join-name", ENTER);
        wait_text(&page, "the refusal", "#join-error", expected.reserved);
        shot(&page, &format!("{language}-join-error"));
        page.js("document.getElementById('join-name').value = ''");
        join(&page, &server, "ana");

        rt.block_on(bruno.say_in("lobby", "Oi, tudo bem? ¿Qué tal?"));
        page.wait_for(
            "bruno's message",
            "document.querySelectorAll('#timeline .msg').length === 1",
        );
        say(&page, "Tudo ótimo!");
        wait_delivered(&page, "Tudo ótimo!");
        wait_text(&page, "the lobby's line", "#room-info", expected.lobby_info);
        assert_eq!(text(&page, "#dm-heading"), expected.directs);
        assert_eq!(
            page.js("document.getElementById('send').getAttribute('aria-label')"),
            json!(expected.send)
        );
        rt.block_on(bruno.send(json!({"type": "typing", "active": true})));
        wait_text(&page, "bruno typing", "#typing", expected.typing);
        shot(&page, &format!("{language}-chat"));
        violations.extend(audit(&page, &axe, &format!("{language}: chat")));
        rt.block_on(bruno.send(json!({"type": "typing", "active": false})));

        // A refusal the server words as a code, said in the page's words.
        page.click("#rename-open");
        page.js("document.getElementById('rename-input').value = ''");
        page.type_into("#rename-input", "bruno");
        page.type_into("#rename-input", ENTER);
        wait_text(
            &page,
            "the server's refusal",
            "#rename-error",
            expected.rename_taken,
        );
        shot(&page, &format!("{language}-rename-error"));
        page.type_into("#rename-input", ESCAPE);

        // The rooms dialog, and a new room with its count of members.
        page.click("#room-add");
        page.wait_for(
            "the rooms dialog",
            "document.getElementById('room-dialog').open",
        );
        assert_eq!(text(&page, "#room-dialog-title"), expected.rooms_title);
        shot(&page, &format!("{language}-rooms-dialog"));
        violations.extend(audit(&page, &axe, &format!("{language}: rooms dialog")));
        page.type_into("#create-name", "projetos");
        page.type_into("#create-name", ENTER);
        wait_text(&page, "the new room", "#room-name", "projetos");
        wait_text(&page, "its line", "#room-info", expected.public_room);
        open_room(&page, "lobby");

        // The search, with its count.
        page.click("#search-open");
        page.wait_for(
            "the search",
            "document.getElementById('search-dialog').open",
        );
        page.type_into("#search-input", "ótimo");
        page.type_into("#search-input", ENTER);
        wait_text(&page, "the count", "#search-status", expected.search_count);
        page.js("document.querySelector('.search-help').open = true");
        shot(&page, &format!("{language}-search"));
        violations.extend(audit(&page, &axe, &format!("{language}: search")));
        page.click("#search-dialog [data-close]");
        page.wait_for(
            "the search closed",
            "!document.getElementById('search-dialog').open",
        );

        // The emoji picker: its groups named, and searched, in the language.
        page.click("#emoji-button");
        page.wait_eq(
            "the first group",
            "document.querySelector('#picker-grid .picker-heading')?.textContent",
            json!(expected.picker_group),
        );
        page.wait_for(
            "the names in the language",
            &format!(
                "document.querySelector('#picker-grid [data-emoji=\"❤️\"]')?.title.includes({})",
                json!(expected.heart)
            ),
        );
        page.type_into("#picker-search", expected.heart);
        page.wait_for(
            "the red heart found by its name in the language",
            "[...document.querySelectorAll('#picker-grid [role=option]')].some(o => o.dataset.emoji === '❤️')",
        );
        shot(&page, &format!("{language}-picker"));
        violations.extend(audit(&page, &axe, &format!("{language}: picker")));
        page.type_into("#picker-search", ESCAPE);

        // The notifications dialog.
        page.click("#room-notify");
        page.wait_for(
            "the notifications",
            "document.getElementById('notify-dialog').open",
        );
        assert_eq!(text(&page, "#notify-title"), expected.notify_title);
        assert_eq!(text(&page, "#room-level legend"), expected.notify_level);
        shot(&page, &format!("{language}-notifications"));
        violations.extend(audit(&page, &axe, &format!("{language}: notifications")));
        page.type_into("#room-muted", ESCAPE);

        // On a phone too.
        use_phone(&page);
        shot(&page, &format!("{language}-chat-phone"));
        violations.extend(audit(&page, &axe, &format!("{language}: chat, phone")));
        assert_eq!(page.js("window.pageErrors"), json!([]));
    }
    assert!(
        violations.is_empty(),
        "accessibility violations (WCAG 2.1 A/AA):\n{}",
        violations.join("\n")
    );
}

/// A timeline spanning several days shows its dividers in each language's
/// own words and order; the picker on the join card and the one in the
/// chat switch the page live (no reload), and the choice survives a reload.
#[test]
fn dividers_follow_the_language_and_the_picker_switches_it_live_and_for_good() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let rt = runtime();
    let token = rt.block_on(async {
        let mut bruno = Owner::claim(&server, "bruno").await;
        for text in ["long ago", "yesterday", "today"] {
            bruno.say_in("lobby", text).await;
        }
        bruno.token.clone()
    });
    assert!(server.terminate().success());
    // Noon (UTC) on Monday 10 March 2025, and this time yesterday.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    common::alter_history(
        &db,
        &format!(
            "UPDATE messages SET ts = 1741608000000 WHERE room = 'lobby' AND seq = 1;
             UPDATE messages SET ts = {} WHERE room = 'lobby' AND seq = 2;",
            now - 86_400_000
        ),
    );
    let server = Server::start_on_db(&db, &[]);
    let _bruno = rt.block_on(Owner::with_token(&server, "bruno", &token));

    let page = browser(&chrome, "pt-BR");
    page.goto(&server.url);
    page.wait_for("the join form", "!document.getElementById('join').hidden");
    assert_eq!(text(&page, "#join button[type=submit]"), "Entrar no chat");
    // The join card's picker: Spanish, before joining.
    choose_language(&page, "join-language", "es");
    wait_text(
        &page,
        "the join card in Spanish",
        "#join button[type=submit]",
        "Entrar al chat",
    );
    assert_eq!(text(&page, "#join label[for=join-name]"), "Tu nombre");
    shot(&page, "picker-join-es");
    join(&page, &server, "ana");
    page.wait_for(
        "three days",
        "document.querySelectorAll('#timeline .day').length === 3",
    );
    assert_eq!(
        day_dividers(&page),
        json!(["Lunes, 10 de marzo de 2025", "Ayer", "Hoy"])
    );
    shot(&page, "days-es");

    // The chat's picker: live, the page not reloaded.
    page.js("window.notReloaded = true");
    choose_language(&page, "app-language", "pt-BR");
    page.wait_eq(
        "the dividers in Portuguese",
        "[...document.querySelectorAll('#timeline .day')].map(row => row.textContent)",
        json!(["Segunda-feira, 10 de março de 2025", "Ontem", "Hoje"]),
    );
    assert_eq!(
        page.js("document.getElementById('message-input').placeholder"),
        json!("Mensagem para #lobby…")
    );
    assert_eq!(text(&page, "#rooms-heading"), "Salas");
    shot(&page, "days-pt-BR");
    choose_language(&page, "app-language", "en");
    page.wait_eq(
        "the dividers in English",
        "[...document.querySelectorAll('#timeline .day')].map(row => row.textContent)",
        json!(["Monday, March 10, 2025", "Yesterday", "Today"]),
    );
    assert_eq!(text(&page, "#rooms-heading"), "Rooms");
    shot(&page, "days-en");
    choose_language(&page, "app-language", "es");
    wait_text(
        &page,
        "the sidebar in Spanish",
        "#dm-heading",
        "Mensajes directos",
    );
    assert_eq!(page.js("window.notReloaded"), json!(true));

    // Remembered in this browser: a reload comes back in Spanish.
    page.refresh();
    wait_connected(&page);
    page.wait_for(
        "three days",
        "document.querySelectorAll('#timeline .day').length === 3",
    );
    assert_eq!(page.js("document.documentElement.lang"), json!("es"));
    assert_eq!(
        page.js("localStorage.getItem('lanchat.language')"),
        json!("es")
    );
    assert_eq!(
        day_dividers(&page),
        json!(["Lunes, 10 de marzo de 2025", "Ayer", "Hoy"])
    );
    assert_eq!(
        page.js("document.getElementById('app-language').value"),
        json!("es")
    );
    assert_eq!(page.js("window.pageErrors"), json!([]));
}

/// Strings the pseudo-locale leaves as they are: what people typed (names,
/// messages, rooms), the brand, and the query language and shortcodes,
/// which stay English everywhere.
const AS_TYPED: &[&str] = &[
    "lanchat",
    "K7QM-2XPA",
    "English",
    "Português (Brasil)",
    "Español",
    "alice",
    "bruno",
    "carla",
    "lobby",
    "projects",
    "plans",
    "Morning! Lunch at 12:30?",
    "Count me in.",
    "See you there",
    "an old one",
    "notes.txt",
    "system",
    "nobody-here",
    "Morning",
    "Lunch",
    "at 12:30?",
    "@room",
    "@here",
    "thumbs up",
    "party popper",
];

/// Every text and label of the page (visible, or read by screen readers)
/// that is not pseudo-localised, once `allowed` strings are taken out.
fn not_localised(page: &Page, allowed: &[&str]) -> Vec<String> {
    let found = page.eval(
        "const [allowed] = arguments;
         const strip = (text) => {
           let rest = text.replace(/https?:\\/\\/\\S+/g, ' ').replace(/:[a-z0-9_+-]+:/g, ' ');
           for (const word of allowed) rest = rest.split(word).join(' ');
           return rest;
         };
         const english = (text) => /[A-Za-z]{2,}/.test(strip(text));
         const seen = (element) => element.checkVisibility({ visibilityProperty: true }) &&
           !element.closest('code, #picker-grid, #move-code');
         const where = (element) => element.id ? `#${element.id}`
           : `${element.tagName.toLowerCase()}.${[...element.classList].join('.')} in ${element.closest('[id]')?.id}`;
         const found = [];
         const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
         for (let node = walker.nextNode(); node; node = walker.nextNode()) {
           const element = node.parentElement;
           if (node.data.trim() && element && seen(element) && english(node.data)) {
             found.push(`${where(element)}: ${JSON.stringify(node.data.trim())}`);
           }
         }
         for (const element of document.body.querySelectorAll('*')) {
           if (!seen(element)) continue;
           for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
             const value = element.getAttribute(name);
             if (value && english(value)) found.push(`${where(element)} [${name}]: ${JSON.stringify(value)}`);
           }
         }
         if (english(document.title)) found.push(`the title: ${JSON.stringify(document.title)}`);
         return found;",
        json!([allowed]),
    );
    serde_json::from_value(found).expect("a list")
}

/// Text that is cut off or runs out of its box or off the screen.
fn cut_off(page: &Page) -> Vec<String> {
    let found = page.js(
        "(() => {
           const width = document.documentElement.clientWidth;
           const found = [];
           if (document.documentElement.scrollWidth > width + 1) {
             found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
           }
           const where = (element) => element.id ? `#${element.id}`
             : `${element.tagName.toLowerCase()}.${[...element.classList].join('.')} in ${element.closest('[id]')?.id}`;
           for (const element of document.body.querySelectorAll('*')) {
             if (!element.checkVisibility({ visibilityProperty: true }) || element.closest('.visually-hidden, #picker-grid')) continue;
             // Hidden on purpose, for screen readers only (1 px, clipped).
             if (element.clientWidth <= 1 || element.clientHeight <= 1) continue;
             if (![...element.childNodes].some((node) => node.nodeType === 3 && node.data.trim())) continue;
             const style = getComputedStyle(element);
             if (style.display === 'inline' || style.display === 'contents') continue;
             const says = JSON.stringify(element.textContent.trim().slice(0, 60));
             const clips = (overflow) => overflow === 'hidden' || overflow === 'clip';
             if (element.scrollWidth > element.clientWidth + 1 && !['auto', 'scroll'].includes(style.overflowX)) {
               found.push(`${where(element)} ${clips(style.overflowX) ? 'is cut off' : 'runs out of its box'} (${element.scrollWidth} > ${element.clientWidth}): ${says}`);
             }
             if (clips(style.overflowY) && element.scrollHeight > element.clientHeight + 1) {
               found.push(`${where(element)} is cut off below (${element.scrollHeight} > ${element.clientHeight}): ${says}`);
             }
             const box = element.getBoundingClientRect();
             const scroller = element.closest('#messages, .picker-grid, .search-results, .room-list, .people-lists, .dialog');
             if (!scroller && box.width > 0 && (box.left < -1 || box.right > width + 1)) {
               found.push(`${where(element)} is off the screen (${Math.round(box.left)} to ${Math.round(box.right)} of ${width}): ${says}`);
             }
           }
           return found;
         })()",
    );
    serde_json::from_value(found).expect("a list")
}

/// Checks the page as it is in the pseudo-locale and saves a picture of it.
fn check(page: &Page, what: &str, problems: &mut Vec<String>) {
    shot(page, &format!("pseudo-{what}"));
    problems.extend(
        not_localised(page, AS_TYPED)
            .into_iter()
            .map(|p| format!("{what}: not localised: {p}")),
    );
    problems.extend(cut_off(page).into_iter().map(|p| format!("{what}: {p}")));
}

/// Opens `room` from the rooms drawer of a phone, opening the drawer first.
fn open_from_drawer(page: &Page, room: &str) {
    if page.js("document.getElementById('app').classList.contains('sidebar-open')") != json!(true) {
        page.click("#rooms-toggle");
        page.wait_for(
            "the rooms drawer",
            "document.getElementById('app').classList.contains('sidebar-open')",
        );
    }
    open_room(page, room);
    page.wait_for(
        "the drawer closed",
        "!document.getElementById('app').classList.contains('sidebar-open')",
    );
}

/// Every screen in the pseudo-locale (accented, about 35 % longer), on a
/// desktop and a phone: no text that skipped the catalogs, nothing cut off,
/// nothing running out of its box or off the screen.
#[test]
fn the_pseudo_locale_shows_every_screen_localised_and_nothing_cut_off() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let mut problems = Vec::new();

    // The access key's card, and its refusal.
    {
        let keyed = Server::start_with(&["--password", "open sesame"]);
        let page = chrome.open();
        page.goto(&format!("{}?lang=en-XA", keyed.url));
        page.wait_for(
            "the key card",
            "!document.getElementById('key-gate').hidden",
        );
        for layout in ["desktop", "phone"] {
            if layout == "phone" {
                use_phone(&page);
            } else {
                use_desktop(&page);
            }
            page.js("document.getElementById('key-input').value = ''");
            page.type_into("#key-input", "wrong");
            page.type_into("#key-input", ENTER);
            page.wait_for(
                "the refusal",
                "document.getElementById('key-error').textContent !== ''",
            );
            check(&page, &format!("key-{layout}"), &mut problems);
        }
    }

    let server = Server::start();
    let rt = runtime();
    let mut bruno = rt.block_on(Owner::claim(&server, "bruno"));
    let page = chrome.open();
    page.goto(&format!("{}?lang=en-XA", server.url));
    page.wait_for("the join card", "!document.getElementById('join').hidden");
    assert_eq!(page.js("document.documentElement.lang"), json!("en-XA"));
    for layout in ["desktop", "phone"] {
        if layout == "phone" {
            use_phone(&page);
        } else {
            use_desktop(&page);
        }
        page.js("document.getElementById('join-code-box').open = true");
        page.js("document.getElementById('join-name').value = ''");
        page.type_into("#join-name", "system");
        page.type_into("#join-name", ENTER);
        page.wait_for(
            "the refusal",
            "document.getElementById('join-error').textContent !== ''",
        );
        check(&page, &format!("join-{layout}"), &mut problems);
    }
    page.js("document.getElementById('join-code-box').open = false");
    page.js("document.getElementById('join-name').value = ''");
    use_desktop(&page);
    page.type_into("#join-name", "alice");
    page.type_into("#join-name", ENTER);
    page.wait_eq(
        "connected",
        "document.getElementById('conn-dot').dataset.state",
        json!("connected"),
    );

    // A chat with something of everything: a reply, an edit, a deletion,
    // reactions, notices, a refused message, a file, rooms, an
    // invitation and a direct message.
    rt.block_on(async {
        let first = bruno.say_in("lobby", "an old one").await;
        bruno.say_in("lobby", "Morning! Lunch at 12:30?").await;
        bruno
            .send(json!({"type": "delete", "target": first["seq"], "cid": "d1"}))
            .await;
        let (_carla, _, _) = Client::join(&server, "carla").await;
        bruno
            .send(json!({"type": "create_room", "room": "plans", "private": true}))
            .await;
    });
    say(&page, "Count me in.");
    wait_delivered(&page, "Count me in.");
    let mine = page.js("Number(document.querySelector('#timeline .msg.own').dataset.seq)");
    rt.block_on(async {
        bruno
            .send(json!({"type": "react", "target": mine, "emoji": "👍", "on": true, "cid": "r1"}))
            .await;
        bruno
            .send(json!({"type": "react", "target": mine, "emoji": "🎉", "on": true, "cid": "r2"}))
            .await;
        bruno
            .send(json!({"type": "message", "message": "See you there", "reply_to": mine, "cid": "m3"}))
            .await;
        let plans = loop {
            let frame = bruno.client.recv().await;
            if frame["type"] == "room" && frame["name"] == "plans" {
                break frame["room"].as_str().unwrap().to_owned();
            }
        };
        bruno
            .send(json!({"type": "invite", "room": plans, "username": "alice"}))
            .await;
        bruno.send(json!({"type": "dm", "username": "alice"})).await;
        bruno.send(json!({"type": "typing", "active": true})).await;
    });
    page.wait_for(
        "the reply",
        "document.querySelectorAll('#timeline .reply-quote').length === 1",
    );
    page.wait_for(
        "the invitation",
        "document.querySelectorAll('#invitation-list li').length === 1",
    );
    page.wait_for(
        "the direct message",
        "document.querySelectorAll('#dm-list li').length === 1",
    );
    page.wait_for(
        "two reactions",
        "document.querySelectorAll('#timeline .reaction:not(.add)').length === 2",
    );
    // A message the server refused, as the outbox keeps it.
    page.js(
        "localStorage.setItem('lanchat.outbox.refused-1', JSON.stringify({ cid: 'refused-1',
            text: 'Count me in.', createdAt: Date.now(), sentAs: 'alice', room: 'lobby',
            status: 'failed', reason: { key: 'errors.detail.too_many_chars', params: { chars: 4001, max: 4000 } } }))",
    );
    page.refresh();
    page.wait_for(
        "the refused message",
        "document.querySelector('#timeline .msg.failed') !== null",
    );
    let files = tempfile::TempDir::new().unwrap();
    let file = noise_file(files.path(), "notes.txt", 10_000);
    pick_files(&page, &[&file]);
    page.wait_for("the tray", "!document.getElementById('tray').hidden");

    for layout in ["desktop", "phone"] {
        if layout == "phone" {
            use_phone(&page);
        } else {
            use_desktop(&page);
        }
        rt.block_on(async {
            bruno.send(json!({"type": "typing", "active": false})).await;
            bruno.send(json!({"type": "typing", "active": true})).await;
        });
        page.wait_for(
            "bruno typing",
            "document.getElementById('typing').textContent !== ''",
        );
        // The action bar, as a long press shows it.
        page.js("document.querySelector('#timeline .msg.own[data-seq]').classList.add('touched')");
        check(&page, &format!("chat-{layout}"), &mut problems);
        page.js("document.querySelector('#timeline .msg.touched')?.classList.remove('touched')");

        // Replying, and the suggestions.
        page.js("document.querySelector('#timeline .msg.other[data-seq] [data-msg-action=reply]').click()");
        page.wait_for(
            "the reply bar",
            "!document.getElementById('composer-context').hidden",
        );
        page.type_into("#message-input", "@b");
        page.wait_for(
            "the suggestions",
            "!document.getElementById('suggestions').hidden",
        );
        check(&page, &format!("reply-{layout}"), &mut problems);
        page.type_into("#message-input", ESCAPE);
        page.type_into("#message-input", ESCAPE);
        page.js("document.getElementById('message-input').value = ''");

        // The picker.
        page.click("#emoji-button");
        page.wait_for(
            "the emoji",
            "document.querySelector('#picker-grid [role=option]') !== null",
        );
        check(&page, &format!("picker-{layout}"), &mut problems);
        page.type_into("#picker-search", ESCAPE);

        // The delete dialog.
        page.js("document.querySelector('#timeline .msg.own[data-seq] [data-msg-action=delete]').click()");
        page.wait_for(
            "the delete dialog",
            "document.getElementById('delete-dialog').open",
        );
        check(&page, &format!("delete-{layout}"), &mut problems);
        page.click("#delete-cancel");

        // The people, with the rename form refusing a name and the transfer code.
        if layout == "phone" {
            page.click("#people-toggle");
            page.wait_for(
                "the people drawer",
                "document.getElementById('app').classList.contains('people-open')",
            );
        }
        page.click("#rename-open");
        page.js("document.getElementById('rename-input').value = 'system'");
        page.type_into("#rename-input", ENTER);
        page.wait_for(
            "the refusal",
            "document.getElementById('rename-error').textContent !== ''",
        );
        page.click("#move-open");
        page.wait_for(
            "the code",
            "document.getElementById('move-code').textContent !== ''",
        );
        check(&page, &format!("people-{layout}"), &mut problems);
        page.click("#rename-cancel");
        if layout == "phone" {
            page.click("#people-close");
            page.click("#rooms-toggle");
            page.wait_for(
                "the rooms drawer",
                "document.getElementById('app').classList.contains('sidebar-open')",
            );
            check(&page, "sidebar-phone", &mut problems);
        }

        // The dialogs (on a phone, the rooms dialog opens from the drawer).
        page.click("#room-add");
        page.wait_for(
            "the rooms dialog",
            "document.getElementById('room-dialog').open",
        );
        page.wait_for(
            "the public rooms",
            "document.getElementById('public-empty').textContent !== ''",
        );
        check(&page, &format!("rooms-{layout}"), &mut problems);
        if layout == "desktop" {
            page.type_into("#create-name", "projects");
            page.type_into("#create-name", ENTER);
            page.wait_eq(
                "#projects",
                "document.getElementById('room-name').textContent",
                json!("projects"),
            );
        } else {
            page.type_into("#create-name", ESCAPE);
            page.wait_for(
                "the rooms dialog closed",
                "!document.getElementById('room-dialog').open",
            );
            open_from_drawer(&page, "projects");
        }
        page.click("#room-invite");
        page.wait_for(
            "the invite dialog",
            "document.getElementById('invite-dialog').open",
        );
        page.click("#link-make");
        page.wait_for("the link", "!document.getElementById('link-box').hidden");
        page.type_into("#invite-name", "nobody-here");
        page.type_into("#invite-name", ENTER);
        page.wait_for(
            "the refusal",
            "document.getElementById('invite-status').classList.contains('error')",
        );
        check(&page, &format!("invite-{layout}"), &mut problems);
        page.type_into("#invite-name", ESCAPE);
        page.wait_for(
            "the invite dialog closed",
            "!document.getElementById('invite-dialog').open",
        );
        if layout == "phone" {
            open_from_drawer(&page, "lobby");
        } else {
            open_room(&page, "lobby");
        }

        page.click("#search-open");
        page.wait_for(
            "the search",
            "document.getElementById('search-dialog').open",
        );
        page.js("document.getElementById('search-input').value = ''");
        page.type_into("#search-input", "lunch");
        page.type_into("#search-input", ENTER);
        page.wait_for(
            "a result",
            "document.querySelectorAll('#search-results li').length === 1",
        );
        page.js("document.querySelector('.search-help').open = true");
        check(&page, &format!("search-{layout}"), &mut problems);
        page.click("#search-dialog [data-close]");

        page.click("#room-notify");
        page.wait_for(
            "the notifications",
            "document.getElementById('notify-dialog').open",
        );
        check(&page, &format!("notifications-{layout}"), &mut problems);
        page.type_into("#room-muted", ESCAPE);
    }
    assert_eq!(page.js("window.pageErrors"), json!([]));
    assert!(
        problems.is_empty(),
        "the pseudo-locale found {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Messages in Arabic and Hebrew read right to left, English left to right,
/// each in its own direction, in an English page and in a Spanish one.
#[test]
fn arabic_and_hebrew_messages_read_right_to_left_in_any_language() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let rt = runtime();
    // Names in the address are percent-encoded, as a browser does.
    let encoded = |name: &str| {
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut layla = rt.block_on(Owner::claim(&server, &encoded("ليلى")));
    let mut noa = rt.block_on(Owner::claim(&server, &encoded("נועה")));
    rt.block_on(async {
        layla
            .say_in("lobby", "مرحبا بالجميع! هل الاجتماع في الساعة 3؟")
            .await;
        noa.say_in("lobby", "שלום! כן, ב-15:00 בחדר projects").await;
        layla.say_in("lobby", "ممتاز 👍 lanchat رائع").await;
    });
    for (language, name, written) in [
        ("en", "sam", "Great, see you at 3 (نراكم / נתראה)"),
        ("es", "sol", "¡Genial, nos vemos a las 3! (نراكم / נתראה)"),
    ] {
        let page = browser(&chrome, language);
        join(&page, &server, name);
        say(&page, written);
        wait_delivered(&page, written);
        let directions = page.js(
            "[...document.querySelectorAll('#timeline .msg .text')]
                .map(text => [text.textContent.trim(), text.getAttribute('dir'), getComputedStyle(text).direction])",
        );
        let rows = directions.as_array().expect("a list");
        assert!(rows.len() >= 4, "{directions}");
        for row in rows {
            let text = row[0].as_str().unwrap_or_default();
            let first = text.chars().find(|c| c.is_alphabetic()).unwrap_or(' ');
            let expected = if ('\u{0590}'..='\u{06FF}').contains(&first) {
                "rtl"
            } else {
                "ltr"
            };
            assert_eq!(row[1], "auto", "{row}");
            assert_eq!(row[2], expected, "{row}");
        }
        // The page itself stays left to right; names read whole.
        assert_eq!(page.js("document.documentElement.dir"), json!("ltr"));
        assert_eq!(
            page.js("document.querySelector('#timeline .msg .author').tagName"),
            json!("BDI")
        );
        shot(&page, &format!("rtl-{language}"));
        use_phone(&page);
        shot(&page, &format!("rtl-{language}-phone"));
    }
}
