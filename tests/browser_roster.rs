//! The lobby past the server's roster limit, in real headless Chromium
//! against the real server: the page counts who is online, finds people by
//! the start of their name instead of listing everyone, keeps its room
//! members' online state, and lists everyone again once the crowd thins.
//! Skips loudly when Chromium is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::{Client, Server};
use serde_json::{Value, json};
use webdriver::{BACKSPACE, Chrome, Page};

/// Small, so a test reaches it with a handful of people: past 4 online the
/// lobby is searched; at 3 (three quarters of it) it is listed again.
const ROSTER_LIMIT: &str = "4";

/// Past the limit (five online) alice's lobby shows the count and a search
/// that finds names by their start, ignores answers the field has moved on
/// from, and says when nobody matches. In her room, bob still shows online,
/// dave shows online as he joins it, and bob offline once he goes. At three
/// online the full list is back. Switching adds no join or leave lines.
#[test]
fn lobby_past_the_roster_limit_is_searched_then_listed_again() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--roster-limit", ROSTER_LIMIT]);
    let rt = runtime();
    let alice = chrome.open();
    record_csp_violations(&alice);
    record_sent_frames(&alice);
    join(&alice, &server, "alice");
    create_room(&alice, "projects", false);
    open_room(&alice, "lobby");

    // Four online: everyone listed, as always.
    let (mut bob, mut carlos, carol) = rt.block_on(async {
        let mut bob = Client::connect_offering(&server, "bob", &["claim"]).await;
        bob.recv_type("history").await;
        bob.send_json(json!({"type": "join_room", "room": "projects"}))
            .await;
        bob.recv_type("room").await;
        let (carlos, _, _) = Client::join(&server, "carlos").await;
        let (carol, _, _) = Client::join(&server, "carol").await;
        (bob, carlos, carol)
    });
    wait_people(&alice, json!(["alice", "bob", "carlos", "carol"]));
    assert_eq!(count(&alice), "4");
    assert_eq!(lobby_info(&alice), "Everyone on this network · 4 online");
    assert_eq!(search_shown(&alice), json!(false));
    let before = notices(&alice);

    // A fifth: the lobby is searched. Coming on, the search asks for
    // everyone (an empty prefix) and lists what the server found.
    let mut dave = rt.block_on(async {
        let mut dave = Client::connect_offering(&server, "dave", &["claim"]).await;
        dave.recv_type("history").await;
        dave
    });
    alice.wait_eq(
        "the search field",
        "!document.getElementById('people-search').hidden",
        json!(true),
    );
    alice.wait_eq(
        "the count of five",
        "document.getElementById('people-count').textContent",
        json!("5"),
    );
    assert_eq!(lobby_info(&alice), "Everyone on this network · 5 online");
    assert_eq!(
        alice.js("document.getElementById('people-search-hint').textContent"),
        json!("5 online: too many to list. Type the start of a name.")
    );
    assert_eq!(
        alice.js("document.getElementById('people-search-input').placeholder"),
        json!("Find someone online")
    );
    wait_people(&alice, json!(["alice", "bob", "carlos", "carol", "dave"]));
    assert_eq!(who_prefixes(&alice), ["".to_owned()]);
    // The page keeps as online only itself and bob, its room's member.
    assert_eq!(
        store_value(&alice, "[...state.users].sort()"),
        json!(["alice", "bob"])
    );

    // Typing searches once it pauses, not once per key.
    alice.type_into("#people-search-input", "car");
    wait_people(&alice, json!(["carlos", "carol"]));
    alice.wait_for(
        "the search for car sent",
        "window.sentFrames.some(f => f.type === 'who' && f.prefix === 'car')",
    );
    let sent = who_prefixes(&alice);
    assert!(sent.len() <= 3, "one search per key or more: {sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("car"));
    alice.type_into("#people-search-input", "o");
    wait_people(&alice, json!(["carol"]));
    assert_eq!(
        alice.js("document.querySelectorAll('#people-list button[data-dm=carol]').length"),
        json!(1),
        "a found person opens a direct message, as in the full list"
    );

    // An answer to an older search changes nothing.
    feed_frame(
        &alice,
        json!({"type": "who", "prefix": "b", "users": ["bob"], "online": 5}),
    );
    assert_eq!(people(&alice), json!(["carol"]));

    alice.type_into("#people-search-input", "x");
    alice.wait_eq(
        "nobody found",
        "document.getElementById('people-search-status').textContent",
        json!("No one online matches “carox”."),
    );
    assert_eq!(people(&alice), json!([]));
    alice.type_into("#people-search-input", &BACKSPACE.repeat(5));
    wait_people(&alice, json!(["alice", "bob", "carlos", "carol", "dave"]));

    // In the room, bob shows online; dave, who joins it, too: no join
    // reaches alice (he was online already), but the room frame lists him
    // among the members online.
    open_room(&alice, "projects");
    wait_people(&alice, json!(["alice", "bob"]));
    rt.block_on(async {
        dave.send_json(json!({"type": "join_room", "room": "projects"}))
            .await;
        dave.recv_type("room").await;
    });
    wait_people(&alice, json!(["alice", "bob", "dave"]));

    // bob goes: offline in the room.
    rt.block_on(async {
        bob.ws.close(None).await.expect("close");
    });
    wait_people(&alice, json!(["alice", "dave"]));
    assert_eq!(
        alice.js("[...document.querySelectorAll('#offline-list .person')].map(e => e.textContent)"),
        json!(["bob"])
    );
    open_room(&alice, "lobby");
    alice.wait_eq(
        "the count of four",
        "document.getElementById('people-count').textContent",
        json!("4"),
    );
    assert_eq!(
        search_shown(&alice),
        json!(true),
        "4 is past 3/4 of the limit"
    );
    let during = notices(&alice);

    // Three online: everyone listed again.
    rt.block_on(async {
        carlos.ws.close(None).await.expect("close");
    });
    alice.wait_eq(
        "the search field gone",
        "document.getElementById('people-search').hidden",
        json!(true),
    );
    wait_people(&alice, json!(["alice", "carol", "dave"]));
    assert_eq!(count(&alice), "3");
    assert_eq!(lobby_info(&alice), "Everyone on this network · 3 online");
    assert_eq!(
        alice.js("document.getElementById('people-search-status').textContent"),
        json!("")
    );

    // The switches themselves told of nobody coming or going: the only
    // lines are for people who did (dave's arrival, bob's and carlos's
    // leaving, as far as the server tells alice of them).
    let after = notices(&alice);
    let new: Vec<&String> = after[before.len()..].iter().collect();
    for line in &new {
        assert!(
            ["dave joined", "bob left", "carlos left"].contains(&line.as_str()),
            "a line nobody's coming or going explains: {line:?} in {new:?}"
        );
    }
    assert!(during.contains(&"bob left".to_owned()), "{during:?}");
    assert_eq!(alice.js("window.cspViolations"), json!([]));
    drop((carol, dave));
}

/// Screenshots of the lobby's search on a desktop and in a phone's people
/// drawer, light and dark, with a five-digit count; opening the drawer
/// searches afresh.
#[test]
fn screenshots_of_the_lobby_search_desktop_and_phone_light_and_dark() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--roster-limit", ROSTER_LIMIT]);
    let rt = runtime();
    let _others = rt.block_on(async {
        let mut others = Vec::new();
        // Percent-encoded, as in the address the page would use.
        for name in [
            "Amara",
            "amir",
            "Ana%20Luc%C3%ADa",
            "andr%C3%A9s",
            "bea",
            "chen",
        ] {
            let (client, _, _) = Client::join(&server, name).await;
            others.push(client);
        }
        let bea = &mut others[4];
        bea.say("Who's bringing the extension cords?", "b-1").await;
        bea.recv_type("message").await;
        others
    });
    let alice = chrome.open();
    record_sent_frames(&alice);
    join(&alice, &server, "alice");
    say(&alice, "I have two, and a power strip.");
    wait_delivered(&alice, "I have two, and a power strip.");
    alice.wait_eq(
        "the search field",
        "!document.getElementById('people-search').hidden",
        json!(true),
    );
    alice.type_into("#people-search-input", "a");
    wait_people(
        &alice,
        json!(["alice", "Amara", "amir", "Ana Lucía", "andrés"]),
    );
    show_crowd(&alice);
    assert_eq!(
        alice.js("document.getElementById('people-toggle-count').textContent"),
        json!("12,345")
    );

    let dir = screenshot_dir();
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        show_crowd(&alice);
        alice.screenshot(&dir.join(format!("roster-desktop-{scheme}.png")));
        use_phone(&alice);
        show_crowd(&alice);
        alice.js("document.getElementById('messages').scrollTop = 1e9");
        alice.screenshot(&dir.join(format!("roster-phone-{scheme}.png")));
        let searches = who_prefixes(&alice).len();
        alice.click("#people-toggle");
        alice.wait_for(
            "the people drawer",
            "getComputedStyle(document.getElementById('people')).visibility === 'visible'",
        );
        alice.wait_for(
            "a search on opening the drawer",
            &format!("window.sentFrames.filter(f => f.type === 'who').length > {searches}"),
        );
        wait_people(
            &alice,
            json!(["alice", "Amara", "amir", "Ana Lucía", "andrés"]),
        );
        show_crowd(&alice);
        alice.screenshot(&dir.join(format!("roster-phone-people-{scheme}.png")));
        assert_eq!(alice.js("document.documentElement.scrollWidth"), json!(360));
        alice.click("#people-close");
        alice.wait_for(
            "the people drawer closed",
            "getComputedStyle(document.getElementById('people')).visibility === 'hidden'",
        );
    }
    // Nobody found, on a phone in the dark.
    alice.click("#people-toggle");
    alice.type_into("#people-search-input", "zz");
    alice.wait_eq(
        "nobody found",
        "document.getElementById('people-search-status').textContent",
        json!("No one online matches “azz”."),
    );
    alice.screenshot(&dir.join("roster-phone-no-match-dark.png"));
    for name in ["roster-desktop-light", "roster-phone-people-dark"] {
        let size = std::fs::metadata(dir.join(format!("{name}.png")))
            .unwrap()
            .len();
        assert!(size > 10_000, "{name}.png looks empty ({size} bytes)");
    }
}

/// Makes the page count a crowd no test can gather, as a server with that
/// crowd would: every count it hears from now on (`online`, and the `who`
/// and `roster` answers, which carry one too: a people search or a
/// mention's lookup may answer at any moment) says 12,345. Then checks how
/// the count reads.
fn show_crowd(page: &Page) {
    let installed = page.eval_async(
        "const [done] = arguments;
         import('/handlers/index.js').then(({ handlers }) => {
             if (!window.crowdShown) {
                 for (const type of ['online', 'who', 'roster']) {
                     const real = handlers[type];
                     handlers[type] = (frame) => real({ ...frame, online: 12345 });
                 }
                 window.crowdShown = true;
             }
             done(null);
         }, error => done(String(error)));",
        json!([]),
    );
    assert_eq!(installed, Value::Null, "the crowd installed");
    feed_frame(
        page,
        json!({"type": "online", "online": 12345, "timestamp": 1_764_000_000_000u64}),
    );
    assert_eq!(count(page), "12,345");
    assert_eq!(
        page.js("document.getElementById('people-toggle-count').textContent"),
        json!("12,345")
    );
    assert_eq!(
        page.js("document.getElementById('people-search-hint').textContent"),
        json!("12,345 online: too many to list. Type the start of a name.")
    );
}

/// The count beside "Online" in the people panel.
fn count(page: &Page) -> String {
    let value = page.js("document.getElementById('people-count').textContent");
    value.as_str().unwrap_or_default().to_owned()
}

/// The line under the lobby's name.
fn lobby_info(page: &Page) -> String {
    let value = page.js("document.getElementById('room-info').textContent");
    value.as_str().unwrap_or_default().to_owned()
}

fn search_shown(page: &Page) -> Value {
    page.js("!document.getElementById('people-search').hidden")
}

/// The prefixes of the searches (`who`) the page sent, in order.
fn who_prefixes(page: &Page) -> Vec<String> {
    sent_frames(page, "who")
        .iter()
        .map(|frame| frame["prefix"].as_str().unwrap_or_default().to_owned())
        .collect()
}
