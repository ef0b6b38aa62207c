//! Calls in real headless Chromium, with its fake camera, microphone and
//! screen (`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`),
//! through the server's SFU on loopback: a direct message's call played both
//! ways, a room's call of three that goes on when one leaves, a screen share
//! seen at its size, an outsider who gets nothing, and the server killed in
//! the middle of a call. Screenshots of a call go to
//! `target/screenshots/calls-*.png`.
//!
//! The server runs with `--tls` and the browser trusts its local CA (in its
//! NSS database, as a person who installed it from the trust page), so the
//! pages are on HTTPS, the secure context a browser gives its devices to
//! on a LAN. Chromium does not gather candidates on loopback unless
//! told (`--allow-loopback-in-peer-connection`); the server is told to
//! advertise loopback only (`--rtc-address 127.0.0.1`), so no packet leaves
//! the machine.

mod browser_support;
mod common;
mod webdriver;

use browser_support::tls::chrome_trusting;
use browser_support::{
    create_room, join, join_at, record_sent_frames, retry_now, screenshot_dir, sent_frames,
    use_desktop, use_phone, use_scheme, wait_in_room,
};
use common::Server;
use common::tls::fetch_ca;
use serde_json::{Value, json};
use std::sync::{Mutex, MutexGuard, PoisonError};
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

/// This binary's calls take turns. Each test is a call of two or three
/// people, each a browser encoding and decoding live video, so two at once
/// put six devices' work on the test machine. On 2 cores that starved the
/// browsers' own WebRTC threads: their ICE checks came back after 4-14 s
/// and a call was declared lost (`getStats` in the pages), while the
/// server's SFU used 1-3 CPU-seconds a test. A call on a LAN has a device
/// per person, so this is the machine's limit, not the product's.
static CALLS: Mutex<()> = Mutex::new(());

/// Waits for this test's turn; the turn ends when the guard is dropped.
fn one_call_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed holding the turn poisons it; the next still runs.
    CALLS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A server on HTTPS from its local CA, and a chromedriver whose browsers
/// trust that CA (keep the folder as long as the browser); `None` where
/// Chromium is missing (see [`Chrome::start`]).
fn start_server() -> Option<(Server, Chrome, tempfile::TempDir)> {
    let server = Server::start_with(&["--tls", "--rtc-address", "127.0.0.1"]);
    let (chrome, home) = chrome_trusting(&fetch_ca(&server))?;
    Some((server, chrome, home))
}

/// Opens the direct message with `peer` from the people list; returns its id.
fn open_dm(page: &Page, peer: &str) -> String {
    let button = format!("#people-list button[data-dm={peer}]");
    page.wait_for(
        &format!("{peer} in the people list"),
        &format!("document.querySelector('{button}')"),
    );
    page.click(&button);
    page.wait_for(
        "the direct message on screen",
        "document.body.dataset.room.startsWith('dm:')",
    );
    page.js("document.body.dataset.room")
        .as_str()
        .unwrap()
        .to_owned()
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
        &format!(
            "{name}'s {} to have a picture",
            if screen { "screen" } else { "camera" }
        ),
        &format!("(() => {{ const v = {video}; return v && !v.hidden && v.videoWidth > 0; }})()"),
    );
    let first = page.js(&format!("{video}.currentTime"));
    page.wait_for(
        &format!("{name}'s video to play on"),
        &format!("{video}.currentTime > {first}"),
    );
    page.js(&format!(
        "(() => {{ const v = {video}; return [v.videoWidth, v.videoHeight]; }})()"
    ))
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
        assert!(
            std::time::Instant::now() < deadline,
            "no audio bytes from {name}: {now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Waits until the call panel lists exactly `names` (sorted).
fn wait_participants(page: &Page, names: &[&str]) {
    page.wait_eq(
        &format!("the call to hold {names:?}"),
        "[...document.querySelectorAll('#call .tile:not(.screen)')].map(t => t.dataset.username).sort()",
        json!(names),
    );
}

/// Waits for the ring, and answers it.
fn answer(page: &Page) {
    page.wait_for(
        "the ring",
        "(() => { const r = document.querySelector('.call-ring'); return r && !r.hidden; })()",
    );
    page.click(".call-ring [data-call=accept]");
}

/// Fails if the page threw anything.
fn assert_no_page_errors(page: &Page) {
    assert_eq!(page.js("window.pageErrors"), json!([]));
}

/// A video call in a direct message: bob's page rings, he answers and turns
/// his camera on, and each page plays the other's picture and sound. Dave,
/// who is not in their direct message, sends every call frame about it from
/// his page: each is refused with `not_found`, as for a room that does not
/// exist, he hears nothing of the call and gets no answer to his offer, so
/// no media. Then screenshots, and alice hangs up: the call ends for both,
/// and the history says it ended, with how many took part.
#[test]
fn a_direct_message_call_plays_both_ways_and_not_to_an_outsider() {
    let _turn = one_call_at_a_time();
    let Some((server, chrome, _home)) = start_server() else {
        return;
    };
    let alice = caller(&chrome);
    let bob = caller(&chrome);
    let dave = caller(&chrome);
    record_frames(&dave);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    join(&dave, &server, "dave");
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
    answer(&bob);
    wait_in_room(&bob, &dm);
    wait_participants(&alice, &["alice", "bob"]);
    wait_participants(&bob, &["alice", "bob"]);
    bob.click("#call [data-call=camera]");

    plays_video_of(&bob, "alice", false);
    plays_video_of(&alice, "bob", false);
    hears(&bob, "alice");
    hears(&alice, "bob");
    outsider_refused(&dave, &dm);

    let dir = screenshot_dir();
    for scheme in ["dark", "light"] {
        use_scheme(&alice, scheme);
        alice.screenshot(&dir.join(format!("calls-dm-desktop-{scheme}.png")));
    }
    use_phone(&bob);
    plays_video_of(&bob, "alice", false);
    bob.wait_for(
        "the phone to say it cannot share its screen instead of offering to",
        "document.querySelector('#call [data-call=screen]').hidden
         && !document.querySelector('.call-phone-note').hidden",
    );
    bob.screenshot(&dir.join("calls-dm-phone-light.png"));
    use_desktop(&bob);

    alice.click("#call [data-call=leave]");
    // The two of them: when alice hangs up, it is over for bob too.
    bob.wait_eq(
        "bob's page to say alice hung up",
        "document.querySelector('#call .call-card-text')?.textContent",
        json!("alice hung up."),
    );
    for page in [&alice, &bob] {
        page.wait_for(
            "the call to be over",
            "[...document.querySelectorAll('#timeline .call-event .system-text')].some(e => e.textContent.startsWith('Call ended'))",
        );
    }
    assert_eq!(
        bob.js("[...document.querySelectorAll('#timeline .call-event .system-text')].map(e => e.textContent)[0]"),
        json!("alice started a call")
    );
    assert!(
        bob.js(
            "[...document.querySelectorAll('#timeline .call-event .system-text')].pop().textContent"
        )
        .as_str()
        .unwrap()
        .ends_with("2 people")
    );
    assert_no_page_errors(&alice);
    assert_no_page_errors(&bob);
}

/// Opens public room `room` by its address (which joins it).
fn enter_room(page: &Page, server: &Server, room: &str) {
    page.goto(&format!("{}#{room}", server.url));
    wait_in_room(page, room);
}

/// The size of the screen `page` shares, as its capture reports it.
fn shared_size(page: &Page) -> Value {
    page.eval_async(
        "const done = arguments[arguments.length - 1];
         import('/calls/state.js').then(({ calls }) => {
           const track = calls.local.screenStream?.getVideoTracks()[0];
           const { width, height } = track ? track.getSettings() : {};
           done([width, height]);
         });",
        json!([]),
    )
}

/// A call of three in a room: each sees the other two's cameras; alice
/// shares her screen, shown large at its size to both others with the
/// people below (screenshots); carol leaves, and alice and bob go on.
#[test]
fn a_room_call_of_three_with_a_screen_share() {
    let _turn = one_call_at_a_time();
    let Some((server, chrome, _home)) = start_server() else {
        return;
    };
    let alice = caller(&chrome);
    let bob = caller(&chrome);
    let carol = caller(&chrome);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    join(&carol, &server, "carol");
    create_room(&alice, "standup", false);
    enter_room(&bob, &server, "standup");
    enter_room(&carol, &server, "standup");

    alice.click("#chat [data-call=video]");
    for page in [&bob, &carol] {
        page.wait_for(
            "the card saying a call is going on",
            "(() => { const b = document.querySelector('#call .call-card [data-call=join]');
                      return b && !document.getElementById('call').hidden && !b.hidden && !b.disabled; })()",
        );
        page.click("#call .call-card [data-call=join]");
    }
    for page in [&alice, &bob, &carol] {
        wait_participants(page, &["alice", "bob", "carol"]);
    }
    bob.click("#call [data-call=camera]");
    carol.click("#call [data-call=camera]");
    for (page, others) in [
        (&alice, ["bob", "carol"]),
        (&bob, ["alice", "carol"]),
        (&carol, ["alice", "bob"]),
    ] {
        for other in others {
            plays_video_of(page, other, false);
        }
    }

    alice.click("#call [data-call=screen]");
    alice.wait_for(
        "alice's own screen tile",
        &format!("document.querySelector('{}')", tile("alice", true)),
    );
    let size = shared_size(&alice);
    assert!(size[0].as_u64().unwrap_or(0) > 0, "a shared screen: {size}");
    for page in [&bob, &carol] {
        assert_eq!(
            plays_video_of(page, "alice", true),
            size,
            "the viewer sees the screen's size"
        );
        assert_eq!(
            page.js("document.getElementById('call').classList.contains('presenting')"),
            json!(true)
        );
        // One screen at a time: the others' share button says who presents.
        assert_eq!(
            page.js("document.querySelector('#call [data-call=screen]').disabled"),
            json!(true)
        );
    }
    let dir = screenshot_dir();
    use_scheme(&bob, "light");
    bob.screenshot(&dir.join("calls-presenter-desktop-light.png"));
    use_phone(&carol);
    plays_video_of(&carol, "alice", true);
    carol.screenshot(&dir.join("calls-presenter-phone-light.png"));

    carol.click("#call [data-call=leave]");
    wait_participants(&alice, &["alice", "bob"]);
    wait_participants(&bob, &["alice", "bob"]);
    plays_video_of(&alice, "bob", false);
    plays_video_of(&bob, "alice", true);
    hears(&bob, "alice");
    carol.wait_for(
        "carol's stage to show the call going on without her",
        "!document.getElementById('call').hidden && document.querySelector('#call .call-card [data-call=join]')?.hidden === false",
    );
    for page in [&alice, &bob, &carol] {
        assert_no_page_errors(page);
    }
}

/// From `page` (not a member of `room`): a real offer and every other call
/// frame about the room are each refused with `not_found`, and nothing of
/// its call reaches the page.
fn outsider_refused(page: &Page, room: &str) {
    let sent = page.eval_async(
        "const [room, done] = [arguments[0], arguments[arguments.length - 1]];
         (async () => {
           const pc = new RTCPeerConnection();
           pc.addTransceiver('audio', { direction: 'sendonly' });
           await pc.setLocalDescription(await pc.createOffer());
           const socket = window.liveSockets.at(-1);
           const frames = [
             { type: 'call_join', room },
             { type: 'call_start', room },
             { type: 'call_offer', room, sdp: pc.localDescription.sdp, tracks: { 0: 'mic' } },
             { type: 'call_media', room, audio: true, video: true, screen: true },
           ];
           for (const frame of frames) socket.send(JSON.stringify(frame));
           done(frames.length);
         })();",
        json!([room]),
    );
    assert_eq!(sent, json!(4));
    page.wait_eq(
        "four refusals",
        &format!("window.callFrames.filter(f => f.type === 'error' && f.room === '{room}').map(f => f.code)"),
        json!(["not_found", "not_found", "not_found", "not_found"]),
    );
    let heard = page.js(&format!(
        "window.callFrames.filter(f => f.type.startsWith('call') || f.room === '{room}' && f.type !== 'error').map(f => f.type)"
    ));
    assert_eq!(heard, json!([]), "an outsider heard of the call");
    assert_eq!(
        page.js("document.querySelector('.call-ring')?.hidden ?? true"),
        json!(true)
    );
}

/// Records the frames a page receives in `window.callFrames`, from its
/// first byte.
fn record_frames(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "(() => {
            window.callFrames = [];
            window.liveSockets = [];
            const Native = window.WebSocket;
            window.WebSocket = class extends Native {
                constructor(...args) {
                    super(...args);
                    window.liveSockets.push(this);
                    this.addEventListener('message', e => {
                        try { window.callFrames.push(JSON.parse(e.data)); } catch {}
                    });
                }
            };
        })();" }),
    );
}

/// The server is killed in the middle of a call: both pages say the call
/// ended with the connection, and once the server is back (same HTTPS port,
/// a new certificate from the same CA in its data folder), the call can be
/// started again and is heard.
#[test]
fn the_server_killed_mid_call_ends_it_and_it_starts_again() {
    let _turn = one_call_at_a_time();
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("lanchat.db");
    let mut server = Server::start_on_db(&db, &["--tls", "--rtc-address", "127.0.0.1"]);
    let Some((chrome, _home)) = chrome_trusting(&fetch_ca(&server)) else {
        return;
    };
    let port = server.addr.port().to_string();
    let alice = caller(&chrome);
    let bob = caller(&chrome);
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    let dm = open_dm(&alice, "bob");
    alice.click("#chat [data-call=voice]");
    answer(&bob);
    hears(&alice, "bob");
    hears(&bob, "alice");

    server.kill_hard();
    for page in [&alice, &bob] {
        page.wait_for(
            "the call to say it ended with the connection",
            "(() => { const c = document.querySelector('#call .call-card'); return c && !c.hidden && c.dataset.reason === 'connection'; })()",
        );
    }
    alice.screenshot(&screenshot_dir().join("calls-ended-desktop-light.png"));
    let _server = Server::spawn(
        &[
            "--port",
            "0",
            "--tls",
            "--tls-port",
            &port,
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--rate-limit",
            "0",
            "--rtc-address",
            "127.0.0.1",
            "--db",
            db.to_str().unwrap(),
        ],
        dir.path(),
    );
    retry_now(&alice);
    retry_now(&bob);
    wait_in_room(&bob, &dm);
    alice.wait_for(
        "Call again",
        "(() => { const b = document.querySelector('#call [data-call=again]'); return b && !b.hidden; })()",
    );
    alice.click("#call [data-call=again]");
    answer(&bob);
    wait_participants(&alice, &["alice", "bob"]);
    hears(&alice, "bob");
    hears(&bob, "alice");
    assert_no_page_errors(&alice);
    assert_no_page_errors(&bob);
}

/// On plain HTTP under a name that is not loopback (as a phone opening
/// `http://192.168.…` sees it), the browser gives no camera or microphone:
/// the call button says calls need the secure address, and without `--tls`
/// there is no trust page to link, so it says the host can turn it on.
#[test]
fn on_plain_http_the_call_button_says_calls_need_the_secure_address() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--rtc-address", "127.0.0.1"]);
    let page = chrome.open_with(&["--host-resolver-rules=MAP lanchat.test 127.0.0.1"]);
    record_sent_frames(&page);
    let url = format!("http://lanchat.test:{}/", server.addr.port());
    join_at(&page, &url, "alice");
    assert_eq!(page.js("window.isSecureContext"), json!(false));
    // The lobby has no calls: a room of her own.
    create_room(&page, "class", false);
    page.click("#chat [data-call=voice]");
    page.wait_for(
        "the card saying calls need the secure address",
        "(() => { const c = document.querySelector('#call .call-card'); return c && !c.hidden && c.dataset.reason === 'insecure'; })()",
    );
    let said = page
        .js("[...document.querySelectorAll('#call .call-card :is(p, a)')].filter(e => !e.hidden).map(e => e.textContent)")
        .to_string();
    assert!(said.contains("Calls need the secure address"), "{said}");
    assert!(said.contains("--tls"), "{said}");
    assert_eq!(
        sent_frames(&page, "call_start"),
        Vec::<Value>::new(),
        "nothing asked of the server"
    );
    use_phone(&page);
    page.screenshot(&screenshot_dir().join("calls-insecure-phone-light.png"));
    assert_no_page_errors(&page);
}
