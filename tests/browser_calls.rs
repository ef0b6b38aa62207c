//! Calls in real headless Chromium, with its fake camera, microphone and
//! screen (`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`),
//! through the server's SFU on loopback: a direct message's call played both
//! ways, a room's call of three that goes on when one leaves, a screen share
//! seen at its size, an outsider who gets nothing, and the server killed in
//! the middle of a call. Screenshots of a call go to
//! `target/screenshots/calls-*.png`.
//!
//! The pages are on `http://127.0.0.1`, a secure context, so the browser
//! gives them its devices. Chromium does not gather candidates on loopback
//! unless told (`--allow-loopback-in-peer-connection`); the server is told
//! to advertise loopback only (`--rtc-address 127.0.0.1`), so no packet
//! leaves the machine.

mod browser_support;
mod common;
mod webdriver;

use browser_support::{
    create_room, join, screenshot_dir, use_desktop, use_phone, use_scheme, wait_in_room,
};
use common::Server;
use serde_json::{Value, json};
use webdriver::{Chrome, Page};

/// What a browser in a call needs: fake devices, no permission prompts,
/// loopback candidates, and sound that may play without a click.
const MEDIA_FLAGS: &[&str] = &[
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--auto-select-desktop-capture-source=Entire screen",
];

/// A browser for a call: a user of its own, with fake devices.
fn caller(chrome: &Chrome) -> Page {
    chrome.open_with(MEDIA_FLAGS)
}

fn start_server() -> Server {
    Server::start_with(&["--rtc-address", "127.0.0.1"])
}

/// Opens the direct message with `peer` from the people list; returns its id.
fn open_dm(page: &Page, peer: &str) -> String {
    let button = format!("#people-list button[data-dm={peer}]");
    page.wait_for(&format!("{peer} in the people list"), &format!("document.querySelector('{button}')"));
    page.click(&button);
    page.wait_for(
        "the direct message on screen",
        "document.body.dataset.room.startsWith('dm:')",
    );
    page.js("document.body.dataset.room").as_str().unwrap().to_owned()
}

/// The selector of `name`'s camera tile (or their screen's).
fn tile(name: &str, screen: bool) -> String {
    let kind = if screen { ".screen" } else { ":not(.screen)" };
    format!("#call .tile{kind}[data-username=\"{name}\"]")
}

/// Waits until `page` plays `name`'s video: it has a size, and its time
/// moves on.
fn plays_video_of(page: &Page, name: &str, screen: bool) -> Value {
    let video = format!("document.querySelector('{} video')", tile(name, screen));
    page.wait_for(
        &format!("{name}'s {} to have a picture", if screen { "screen" } else { "camera" }),
        &format!("(() => {{ const v = {video}; return v && !v.hidden && v.videoWidth > 0; }})()"),
    );
    let first = page.js(&format!("{video}.currentTime"));
    page.wait_for(
        &format!("{name}'s video to play on"),
        &format!("{video}.currentTime > {first}"),
    );
    page.js(&format!("(() => {{ const v = {video}; return [v.videoWidth, v.videoHeight]; }})()"))
}

/// Bytes of audio received so far, over every received microphone.
fn audio_bytes(page: &Page) -> u64 {
    let value = page.eval_async(
        "const done = arguments[arguments.length - 1];
         import('/calls/peer.js').then(async ({ peerStats }) => {
           const report = await peerStats();
           let bytes = 0;
           report?.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived; });
           done(bytes);
         });",
        json!([]),
    );
    value.as_u64().unwrap_or(0)
}

/// Waits until `page` hears `name`: their audio track is live, and the
/// audio bytes received keep rising.
fn hears(page: &Page, name: &str) {
    let audio = format!("document.querySelector('{} audio')", tile(name, false));
    page.wait_for(
        &format!("{name}'s audio track to be live"),
        &format!(
            "(() => {{ const a = {audio}; const t = a?.srcObject?.getAudioTracks()[0];
                       return Boolean(t && t.readyState === 'live' && !a.paused); }})()"
        ),
    );
    let before = audio_bytes(page);
    let deadline = std::time::Instant::now() + webdriver::PAGE_WAIT;
    loop {
        let now = audio_bytes(page);
        if now > before {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no audio bytes from {name}: {now}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Waits until the call panel lists exactly `names`.
fn wait_participants(page: &Page, names: &[&str]) {
    page.wait_eq(
        &format!("the call to hold {names:?}"),
        "[...document.querySelectorAll('#call .tile:not(.screen)')].map(t => t.dataset.username)",
        json!(names),
    );
}

/// Fails if the page threw anything.
fn assert_no_page_errors(page: &Page) {
    assert_eq!(page.js("window.pageErrors"), json!([]));
}

/// A video call in a direct message: bob's page rings, he answers and turns
/// his camera on, and each page plays the other's picture and sound. Then
/// screenshots, and alice hangs up: the call ends for both, and the history
/// says it ended, with how many took part.
#[test]
fn a_direct_message_call_plays_both_ways() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = start_server();
    let alice = caller(&chrome);
    let bob = caller(&chrome);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    let dm = open_dm(&alice, "bob");

    alice.click("#chat [data-call=video]");
    bob.wait_for(
        "the ring",
        "(() => { const r = document.querySelector('.call-ring'); return r && !r.hidden; })()",
    );
    assert_eq!(
        bob.js("document.querySelector('.call-ring-text').textContent"),
        json!("alice is calling you")
    );
    bob.click(".call-ring [data-call=accept]");
    wait_in_room(&bob, &dm);
    wait_participants(&alice, &["alice", "bob"]);
    wait_participants(&bob, &["alice", "bob"]);
    bob.click("#call [data-call=camera]");

    plays_video_of(&bob, "alice", false);
    plays_video_of(&alice, "bob", false);
    hears(&bob, "alice");
    hears(&alice, "bob");

    let dir = screenshot_dir();
    for scheme in ["dark", "light"] {
        use_scheme(&alice, scheme);
        alice.screenshot(&dir.join(format!("calls-dm-desktop-{scheme}.png")));
    }
    use_phone(&bob);
    plays_video_of(&bob, "alice", false);
    assert!(
        bob.js("document.querySelector('#call [data-call=screen]').hidden") == json!(true)
            && bob.js("document.querySelector('.call-phone-note').hidden") == json!(false),
        "a phone says it cannot share its screen instead of offering to"
    );
    bob.screenshot(&dir.join("calls-dm-phone-light.png"));
    use_desktop(&bob);

    alice.click("#call [data-call=leave]");
    for page in [&alice, &bob] {
        page.wait_for(
            "the call to be over",
            "[...document.querySelectorAll('#timeline .call-event-text')].some(e => e.textContent.startsWith('Call ended'))",
        );
    }
    assert_eq!(
        bob.js("[...document.querySelectorAll('#timeline .call-event-text')].map(e => e.textContent)[0]"),
        json!("alice started a call")
    );
    assert!(
        bob.js("[...document.querySelectorAll('#timeline .call-event-text')].pop().textContent")
            .as_str()
            .unwrap()
            .ends_with("2 people")
    );
    assert_no_page_errors(&alice);
    assert_no_page_errors(&bob);
}
