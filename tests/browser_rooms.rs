//! Rooms, private rooms, direct messages and the access key in real headless
//! Chromium, against the real server: what one browser may see, another may
//! not. Skips loudly when Chromium is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::{Client, Server};
use serde_json::json;
use webdriver::{Chrome, ENTER};

/// Two rooms keep their messages apart, the address names the room on
/// screen, and a link to a public room joins it.
#[test]
fn two_rooms_stay_separate() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");

    create_room(&alice, "projects", false);
    assert_eq!(alice.js("location.hash"), json!("#projects"));
    assert_eq!(sidebar_rooms(&alice), json!(["lobby", "projects"]));

    // A link to the room: bob opens it and is in.
    bob.goto(&format!("{}#projects", server.url));
    wait_in_room(&bob, "projects");
    bob.wait_eq(
        "both listed as members",
        "document.getElementById('room-info').textContent",
        json!("Public room · 2 members"),
    );

    say(&alice, "only in projects");
    wait_delivered(&bob, "only in projects");
    say(&bob, "bob in projects");
    wait_delivered(&alice, "bob in projects");
    alice.wait_eq(
        "bob online in the room's people list",
        "[...document.querySelectorAll('#people-list .person')].map(e => e.textContent)",
        json!(["alice", "bob"]),
    );
    open_room(&bob, "lobby");
    say(&bob, "only in the lobby");
    wait_delivered(&bob, "only in the lobby");
    assert_eq!(texts(&bob), ["only in the lobby"]);
    say(&alice, "only in projects, again");

    // alice stays in #projects: the lobby's message is not there, and the
    // lobby shows it unread.
    wait_badge(&alice, "lobby", "1");
    wait_delivered(&alice, "only in projects, again");
    assert_eq!(
        texts(&alice),
        [
            "only in projects",
            "bob in projects",
            "only in projects, again"
        ]
    );
    open_room(&alice, "lobby");
    wait_delivered(&alice, "only in the lobby");
    assert_eq!(texts(&alice), ["only in the lobby"]);
    wait_badge(&alice, "lobby", "");

    // Typing shows only in its room.
    alice.type_into("#message-input", "typing in the lobby");
    open_room(&bob, "projects");
    bob.type_into("#message-input", "x");
    alice.wait_eq(
        "nobody typing in the lobby for alice",
        "document.getElementById('typing').textContent",
        json!(""),
    );

    // Back and forth through the browser's history, and a reload, keep the
    // room in the address.
    alice.command("POST", "/back", Some(json!({})));
    wait_in_room(&alice, "projects");
    let projects = [
        "only in projects",
        "bob in projects",
        "only in projects, again",
    ];
    assert_eq!(texts(&alice), projects);
    alice.refresh();
    wait_connected(&alice);
    wait_in_room(&alice, "projects");
    wait_delivered(&alice, "only in projects, again");
    assert_eq!(texts(&alice), projects);
    assert_no_duplicate_seqs(&alice);

    // bob leaves #projects: it goes from his sidebar and he is back in the lobby.
    bob.click("#room-leave");
    wait_in_room(&bob, "lobby");
    assert_eq!(sidebar_rooms(&bob), json!(["lobby"]));
    assert_eq!(bob.js("location.hash"), json!(""));
}

/// A private room is invisible to others; alice invites bob by name and he
/// accepts from his sidebar; carol gets in only with an invite link.
#[test]
fn private_room_invitation_accepted() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    let carol = chrome.open();
    record_csp_violations(&alice);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    join(&carol, &server, "carol");

    let secret = create_room(&alice, "secret", true);
    assert_eq!(
        alice.js("document.getElementById('room-info').textContent"),
        json!("Private room · 1 member, by invitation")
    );
    say(&alice, "before anyone came");
    wait_delivered(&alice, "before anyone came");

    // By name: bob sees the invitation and accepts it.
    alice.click("#room-invite");
    alice.wait_for(
        "the invite dialog",
        "document.getElementById('invite-dialog').open",
    );
    alice.type_into("#invite-name", "bob");
    alice.type_into("#invite-name", ENTER);
    alice.wait_for(
        "the invitation confirmed",
        "document.getElementById('invite-status').textContent.startsWith('Invited bob')",
    );
    let invitation = format!("#invitation-list button[data-join='{secret}']");
    bob.wait_for(
        "the invitation in bob's sidebar",
        &format!("document.querySelector({})", json!(invitation)),
    );
    assert_eq!(
        bob.js("document.getElementById('invitation-list').textContent"),
        json!("#secret from aliceJoin"),
        "named, not by its id"
    );
    bob.click(&invitation);
    wait_in_room(&bob, &secret);
    wait_delivered(&bob, "before anyone came");
    assert_eq!(
        bob.js("document.getElementById('invitations').hidden"),
        json!(true)
    );
    say(&bob, "thanks for the invite");
    wait_delivered(&alice, "thanks for the invite");

    // carol does not see it, and a guessed link does not open it.
    carol.click("#room-add");
    carol.wait_eq(
        "the list of public rooms, without the private one",
        "document.getElementById('public-empty').textContent",
        json!("No public rooms yet. Create one above."),
    );
    carol.js("document.getElementById('room-dialog').close()");
    for guess in ["secret", secret.as_str()] {
        carol.goto(&format!("{}#{guess}", server.url));
        carol.wait_for(
            "a refusal",
            &format!(
                "[...document.querySelectorAll('.notice.error')].some(n =>
                    n.textContent.includes('There is no room #{guess} you can open'))"
            ),
        );
        wait_in_room(&carol, "lobby");
    }
    assert!(!page_knows(&carol, "before anyone came"));

    // With an invite link from alice, carol gets in.
    alice.click("#link-make");
    let link = alice.wait_for(
        "an invite link",
        "document.getElementById('link-input').value",
    );
    let link = link.as_str().unwrap().to_owned();
    let encoded = secret.replace(':', "%3A");
    assert!(link.contains(&format!("#join={encoded}:")), "{link}");
    alice.click("#link-copy");
    alice.wait_for(
        "the copy confirmed",
        "document.getElementById('link-status').textContent.startsWith('Copied')",
    );
    carol.goto(&link);
    wait_in_room(&carol, &secret);
    wait_delivered(&carol, "thanks for the invite");
    assert_eq!(
        carol.js("location.hash"),
        json!(format!("#{secret}")),
        "the secret is gone from the address"
    );
    assert_eq!(
        carol.js("document.getElementById('room-name').textContent"),
        json!("secret")
    );
    assert_eq!(
        texts(&carol),
        ["before anyone came", "thanks for the invite"]
    );
    // Dialogs, invitations and links, all within the strict CSP.
    assert_eq!(alice.js("window.cspViolations"), json!([]));
}

/// A direct message reaches the two people only: not a third browser, and
/// not a fourth that takes the recipient's name without its token. The name
/// then moves to a new device with a code, messages included.
#[test]
fn direct_message_is_seen_by_the_two_only() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    let carol = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    join(&carol, &server, "carol");

    // From the people list.
    alice.wait_for(
        "bob in the people list",
        "document.querySelector('#people-list button[data-dm=bob]')",
    );
    alice.click("#people-list button[data-dm=bob]");
    alice.wait_for(
        "the direct message on screen",
        "document.body.dataset.room.startsWith('dm:')",
    );
    let dm = alice.js("document.body.dataset.room");
    let dm = dm.as_str().unwrap().to_owned();
    assert_eq!(alice.js("location.hash"), json!(format!("#{dm}")));
    assert_eq!(
        alice.js("document.getElementById('room-name').textContent"),
        json!("bob")
    );
    say(&alice, "psst, bob: lunch at noon?");
    wait_delivered(&alice, "psst, bob: lunch at noon?");

    // bob finds it under Direct messages, unread.
    wait_badge(&bob, &dm, "1");
    assert_eq!(
        bob.js(&format!(
            "document.querySelector(\"#dm-list a[data-room='{dm}'] .room-label\").textContent"
        )),
        json!("alice")
    );
    open_room(&bob, &dm);
    wait_delivered(&bob, "psst, bob: lunch at noon?");
    wait_badge(&bob, &dm, "");
    say(&bob, "yes!");
    wait_delivered(&alice, "yes!");

    // carol has nothing of it, and its link shows her nothing.
    assert_eq!(
        carol.js("document.querySelectorAll('#dm-list a').length"),
        json!(0)
    );
    carol.goto(&format!("{}#{dm}", server.url));
    carol.wait_for("a refusal", "document.querySelector('.notice.error')");
    wait_in_room(&carol, "lobby");
    for text in ["psst", "yes!"] {
        assert!(!page_knows(&carol, text), "carol's page has {text:?}");
    }

    // mallory tries bob's name without its token: refused, with a way to
    // move the name if it were hers.
    let mallory = chrome.open();
    mallory.goto(&server.url);
    mallory.wait_for("the join form", "!document.getElementById('join').hidden");
    mallory.type_into("#join-name", "bob");
    mallory.type_into("#join-name", ENTER);
    mallory.wait_for(
        "the name refused",
        "document.getElementById('join-error').textContent.includes('belongs to someone else')",
    );
    assert_eq!(
        mallory.js("document.getElementById('join-code-box').open"),
        json!(true)
    );
    assert!(!page_knows(&mallory, "psst"));
    drop(mallory);

    // bob moves his name to a new device with a code from his page.
    bob.click("#move-open");
    let code = bob.wait_for(
        "a transfer code",
        "document.getElementById('move-code').textContent",
    );
    let code = code.as_str().unwrap().to_owned();
    let phone = chrome.open();
    phone.goto(&server.url);
    phone.wait_for("the join form", "!document.getElementById('join').hidden");
    phone.type_into("#join-name", "bob");
    phone.click("#join-code-box summary");
    phone.type_into("#join-code", &code.to_lowercase());
    phone.type_into("#join-name", ENTER);
    wait_connected(&phone);
    open_room(&phone, &dm);
    wait_delivered(&phone, "psst, bob: lunch at noon?");
    assert_eq!(
        phone.js("localStorage.getItem('lanchat.token.bob') !== null"),
        json!(true)
    );
}

/// Unread badges count messages in rooms not on screen, clear when the
/// room is read, and follow the user across reloads (the server keeps them).
#[test]
fn unread_badges_count_clear_and_survive_a_reload() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    create_room(&alice, "random", false);
    open_room(&alice, "lobby");

    let rt = runtime();
    let mut bob = rt.block_on(async {
        let mut bob = Client::connect_offering(&server, "bob", &["claim"]).await;
        bob.recv_type("history").await;
        bob.send_json(json!({"type": "join_room", "room": "random"}))
            .await;
        bob.recv_type("room").await;
        for n in 1..=3 {
            bob.send_json(json!({"type": "message", "room": "random",
                "message": format!("random {n}"), "cid": format!("r-{n}")}))
                .await;
            bob.recv_type("message").await;
        }
        bob
    });
    wait_badge(&alice, "random", "3");
    assert_eq!(badge(&alice, "lobby"), "");
    // An edit and a reaction take seqs of their own, but are not unread
    // messages: one more message makes four, not six.
    rt.block_on(async {
        bob.send_json(json!({"type": "edit", "room": "random", "target": 1,
            "message": "random one", "cid": "e-1"}))
            .await;
        bob.recv_type("edit").await;
        bob.send_json(json!({"type": "react", "room": "random", "target": 2,
            "emoji": "🎉", "on": true, "cid": "x-1"}))
            .await;
        bob.recv_type("react").await;
        bob.send_json(json!({"type": "message", "room": "random",
            "message": "random 4", "cid": "r-4"}))
            .await;
        bob.recv_type("message").await;
    });
    wait_badge(&alice, "random", "4");

    // The count comes back from the server after a reload.
    alice.refresh();
    wait_connected(&alice);
    wait_badge(&alice, "random", "4");

    open_room(&alice, "random");
    wait_delivered(&alice, "random 4");
    assert_eq!(
        texts(&alice),
        ["random one", "random 2", "random 3", "random 4"]
    );
    wait_badge(&alice, "random", "");
    // A sidebar link with the keyboard focus keeps it while badges change.
    alice.js("document.querySelector(\"#sidebar a[data-room='random']\").focus()");
    rt.block_on(async {
        bob.send_json(json!({"type": "message", "room": "lobby",
            "message": "in the lobby", "cid": "l-1"}))
            .await;
        bob.recv_type("message").await;
    });
    wait_badge(&alice, "lobby", "1");
    assert_eq!(
        alice.js("document.activeElement.dataset.room"),
        json!("random")
    );

    alice.refresh();
    wait_connected(&alice);
    wait_in_room(&alice, "random");
    wait_badge(&alice, "lobby", "1");
    assert_eq!(badge(&alice, "random"), "", "read stays read");

    // On a phone the rooms button counts what is unread elsewhere.
    use_phone(&alice);
    alice.wait_eq(
        "the rooms button's badge",
        "document.getElementById('rooms-toggle-badge').hidden ? '' : document.getElementById('rooms-toggle-badge').textContent",
        json!("1"),
    );
}

/// With `--password` the page asks for the key, refuses a wrong one in plain
/// words, remembers the right one, and a URL carrying `#key=` goes straight
/// in without leaving the key in the address bar.
#[test]
fn access_key_is_asked_for_and_remembered() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--password", "open sesame"]);
    let alice = chrome.open();
    alice.goto(&server.url);
    alice.wait_for(
        "the key prompt",
        "!document.getElementById('key-gate').hidden",
    );
    assert_eq!(
        alice.js("document.getElementById('join').hidden && document.getElementById('app').hidden"),
        json!(true)
    );
    alice.type_into("#key-input", "open sesamE");
    alice.type_into("#key-input", ENTER);
    alice.wait_for(
        "the wrong key refused",
        "document.getElementById('key-error').textContent.startsWith('That key is not right')",
    );
    use_phone(&alice);
    alice.screenshot(&screenshot_dir().join("phone-key-refused-light.png"));
    use_desktop(&alice);
    alice.js("document.getElementById('key-input').value = ''");
    alice.type_into("#key-input", "open sesame");
    alice.type_into("#key-input", ENTER);
    alice.wait_for("the join form", "!document.getElementById('join').hidden");
    alice.type_into("#join-name", "alice");
    alice.type_into("#join-name", ENTER);
    wait_connected(&alice);
    say(&alice, "behind the key");
    wait_delivered(&alice, "behind the key");

    // Remembered: a reload goes straight in.
    alice.refresh();
    wait_connected(&alice);
    assert_eq!(
        alice.js("document.getElementById('key-gate').hidden"),
        json!(true)
    );
    wait_delivered(&alice, "behind the key");

    // The printed URL carries the key after '#'.
    let printed = server
        .banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("Local:"))
        .expect("a Local: line")
        .trim()
        .to_owned();
    assert!(printed.contains("#key="), "{printed}");
    let bob = chrome.open();
    bob.goto(&printed);
    bob.wait_for("the join form", "!document.getElementById('join').hidden");
    assert_eq!(
        bob.js("document.getElementById('key-gate').hidden"),
        json!(true)
    );
    assert_eq!(bob.js("location.href"), json!(server.url));
    bob.type_into("#join-name", "bob");
    bob.type_into("#join-name", ENTER);
    wait_connected(&bob);
    wait_delivered(&bob, "behind the key");
}

/// Screenshots of the sidebar (rooms, an invitation, direct messages,
/// unread badges) on a desktop and in a phone's drawer, light and dark.
#[test]
fn screenshots_of_rooms_desktop_and_phone_light_and_dark() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let rt = runtime();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    create_room(&alice, "design-review", true);
    create_room(&alice, "projects", false);
    say(
        &alice,
        "Kick-off notes are on the wiki: https://example.com/wiki/kickoff",
    );
    wait_delivered(
        &alice,
        "Kick-off notes are on the wiki: https://example.com/wiki/kickoff",
    );

    let _others = rt.block_on(async {
        let mut others = Vec::new();
        for (name, text) in [
            ("bob", "Can you look at the floor plan before Friday?"),
            ("carol", "Running 5 minutes late!"),
        ] {
            let mut client = Client::connect_offering(&server, name, &["claim"]).await;
            client.recv_type("history").await;
            client
                .send_json(json!({"type": "join_room", "room": "projects"}))
                .await;
            client.recv_type("room").await;
            client
                .send_json(json!({"type": "message", "room": "projects",
                    "message": format!("{name} is in"), "cid": format!("{name}-in")}))
                .await;
            client.recv_type("message").await;
            client.send_json(json!({"type": "dm", "username": "alice"})).await;
            let room = client.recv_type("room").await;
            client
                .send_json(json!({"type": "message", "room": room["room"],
                    "message": text, "cid": format!("{name}-dm")}))
                .await;
            client.recv_type("message").await;
            others.push(client);
        }
        let mut dave = Client::connect_offering(&server, "dave", &["claim"]).await;
        dave.recv_type("history").await;
        dave.send_json(json!({"type": "create_room", "room": "lan-party", "private": true}))
            .await;
        let party = dave.recv_type("room").await["room"].clone();
        dave.send_json(json!({"type": "invite", "room": party, "username": "alice"}))
            .await;
        for n in 1..=4 {
            dave.send_json(json!({"type": "message", "message": format!("lobby {n}"), "cid": format!("d-{n}")}))
                .await;
            dave.recv_type("message").await;
        }
        others.push(dave);
        others
    });
    alice.wait_for(
        "the invitation",
        "document.querySelector('#invitation-list button[data-join^=\"p:\"]')",
    );
    alice.wait_eq(
        "two direct messages",
        "document.querySelectorAll('#dm-list a').length",
        json!(2),
    );
    wait_delivered(&alice, "carol is in");
    wait_badge(&alice, "lobby", "4");

    let dir = screenshot_dir();
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        use_desktop(&alice);
        alice.js("document.getElementById('messages').scrollTop = 1e9");
        alice.screenshot(&dir.join(format!("rooms-desktop-{scheme}.png")));
        use_phone(&alice);
        alice.click("#rooms-toggle");
        alice.wait_for(
            "the rooms drawer",
            "getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'",
        );
        alice.screenshot(&dir.join(format!("rooms-phone-drawer-{scheme}.png")));
        alice.click("#sidebar-close");
        alice.wait_for(
            "the rooms drawer closed",
            "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'",
        );
    }
    // The invite dialog with a link, on a phone.
    alice.click("#room-invite");
    alice.click("#link-make");
    alice.wait_for(
        "an invite link",
        "document.getElementById('link-input').value",
    );
    alice.screenshot(&dir.join("rooms-phone-invite-dark.png"));
    assert_eq!(alice.js("document.documentElement.scrollWidth"), json!(360));
}
