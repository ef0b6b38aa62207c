//! Calls' signalling over real WebSockets against the real binary: who may
//! start, join and signal in a room's call, what the room hears, the limits,
//! and the events a call leaves in the history. (Media: tests/calls_interop.rs
//! with aiortc, and tests/browser_calls.rs in Chromium.)

mod common;

use common::Server;
use common::owner::Owner;
use serde_json::{Value, json};

/// A direct message between `a` and `b`; returns its room id.
async fn direct(a: &mut Owner, b: &mut Owner, peer: &str) -> String {
    a.send(json!({"type":"dm","username":peer})).await;
    let room = a.client.recv_type("room").await;
    b.client.recv_type("room").await;
    room["room"].as_str().unwrap().to_owned()
}

/// Reads `owner`'s frames until a `call` frame for `room` whose
/// participants are `who`.
async fn call_with(owner: &mut Owner, room: &str, who: &[&str]) -> Value {
    loop {
        let frame = owner.client.recv_type("call").await;
        if frame["room"] == room && names(&frame) == who {
            return frame;
        }
    }
}

fn names(call: &Value) -> Vec<&str> {
    call["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap())
        .collect()
}

/// Someone who is not a member gets `not_found` for every call frame about
/// the room, exactly as for a room that does not exist, and hears nothing
/// of its call.
#[tokio::test]
async fn an_outsider_gets_not_found_and_hears_nothing() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut eve = Owner::claim(&server, "eve").await;
    let room = direct(&mut alice, &mut bob, "bob").await;
    alice.send(json!({"type":"call_start","room":room})).await;
    alice.client.recv_type("call_joined").await;
    call_with(&mut bob, &room, &["alice"]).await;

    let frames = [
        json!({"type":"call_start","room":room}),
        json!({"type":"call_join","room":room}),
        json!({"type":"call_leave","room":room}),
        json!({"type":"call_decline","room":room}),
        json!({"type":"call_offer","room":room,"sdp":"v=0\r\n","tracks":{"0":"camera"}}),
        json!({"type":"call_answer","room":room,"sdp":"v=0\r\n"}),
        json!({"type":"call_candidate","room":room,"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}),
        json!({"type":"call_media","room":room,"audio":true,"video":true,"screen":true}),
    ];
    for frame in &frames {
        eve.expect_error(frame.clone(), "not_found").await;
        let mut nowhere = frame.clone();
        nowhere["room"] = json!("dm:0000000000000000");
        eve.expect_error(nowhere, "not_found").await;
    }
    let heard = eve.heard("call").await;
    assert!(heard.is_empty(), "an outsider heard {heard:?}");
    // A member who is not in the call cannot signal in it either.
    bob.expect_error(
        json!({"type":"call_offer","room":room,"sdp":"v=0\r\n","tracks":{}}),
        "not_found",
    )
    .await;
}

/// A call started in a direct message is announced to both, joined, left,
/// and leaves "started" and "ended, N people" in the history, which nobody
/// can edit or delete.
#[tokio::test]
async fn a_call_is_announced_and_recorded() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let room = direct(&mut alice, &mut bob, "bob").await;

    alice.send(json!({"type":"call_start","room":room})).await;
    let joined = alice.client.recv_type("call_joined").await;
    assert!(joined["id"].as_u64().unwrap() > 0);
    let call = call_with(&mut bob, &room, &["alice"]).await;
    assert_eq!(call["started_by"], "alice");

    bob.send(json!({"type":"call_join","room":room})).await;
    bob.client.recv_type("call_joined").await;
    call_with(&mut alice, &room, &["alice", "bob"]).await;
    bob.send(json!({"type":"call_media","room":room,"audio":true,"video":true,"screen":false}))
        .await;
    let call = loop {
        let call = call_with(&mut alice, &room, &["alice", "bob"]).await;
        if call["participants"][1]["video"] == true {
            break call;
        }
    };

    bob.send(json!({"type":"call_leave","room":room})).await;
    assert_eq!(bob.client.recv_type("call_left").await["reason"], "left");
    alice.send(json!({"type":"call_leave","room":room})).await;
    let over = call_with(&mut bob, &room, &[]).await;
    assert_eq!(over["call"], call["call"]);
    // Members hear the events as they are stored, like messages.
    loop {
        let message = bob.client.recv_type("message").await;
        if message["system"]["event"] == "call_ended" {
            break;
        }
    }

    bob.send(json!({"type":"history","room":room,"limit":10}))
        .await;
    let history = bob.client.recv_type("history").await;
    let events: Vec<&Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("system"))
        .collect();
    assert_eq!(events.len(), 2, "{history}");
    assert_eq!(events[0]["event"], "call_started");
    assert_eq!(events[0]["username"], "alice", "who started it");
    assert_eq!(events[1]["event"], "call_ended");
    assert_eq!(events[1]["username"], "alice");
    assert_eq!(events[1]["people"], 2);
    assert_eq!(events[1]["call"], events[0]["call"]);
    // Like a host action: from `system`, in English for clients that do
    // not know `system` (the page words it in the reader's language).
    let first = &history["messages"][0];
    assert_eq!(first["username"], "system");
    assert_eq!(first["message"], "alice started a call");

    let seq = first["seq"].clone();
    alice
        .expect_error(
            json!({"type":"edit","room":room,"target":seq,"message":"rewritten","cid":"e1"}),
            "forbidden",
        )
        .await;
    alice
        .expect_error(
            json!({"type":"delete","room":room,"target":seq,"cid":"d1"}),
            "forbidden",
        )
        .await;
}

/// Past --max-cameras a camera is refused, as is a second screen share;
/// a page that connects during a call hears of it; a second tab of the same
/// person takes the call over from the first.
#[tokio::test]
async fn limits_late_comers_and_a_second_tab() {
    let server = Server::start_with(&["--max-cameras", "1"]);
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let limits = &alice.welcome["limits"]["calls"];
    assert_eq!(limits["cameras"], 1, "{limits}");
    assert_eq!(limits["screen_fps"], 15);
    alice
        .send(json!({"type":"create_room","room":"class"}))
        .await;
    alice.client.recv_type("room").await;
    bob.send(json!({"type":"join_room","room":"class"})).await;
    bob.client.recv_type("room").await;

    alice
        .send(json!({"type":"call_start","room":"class"}))
        .await;
    alice.client.recv_type("call_joined").await;
    bob.send(json!({"type":"call_join","room":"class"})).await;
    bob.client.recv_type("call_joined").await;
    alice
        .send(json!({"type":"call_media","room":"class","audio":true,"video":true,"screen":true}))
        .await;
    let call = loop {
        let call = call_with(&mut bob, "class", &["alice", "bob"]).await;
        if call["participants"][0]["screen"] == true {
            break call;
        }
    };
    bob.expect_error(
        json!({"type":"call_media","room":"class","audio":true,"video":true,"screen":false}),
        "cameras_full",
    )
    .await;
    bob.expect_error(
        json!({"type":"call_media","room":"class","audio":true,"video":false,"screen":true}),
        "screen_taken",
    )
    .await;

    // Another tab of bob's: it hears the call on connecting, and joining
    // there moves bob out of the first tab.
    let mut tab = bob.again(&server, "bob").await;
    call_with(&mut tab, "class", &["alice", "bob"]).await;
    tab.send(json!({"type":"call_join","room":"class"})).await;
    tab.client.recv_type("call_joined").await;
    assert_eq!(
        bob.client.recv_type("call_left").await["reason"],
        "elsewhere"
    );
    // Bob moved: a new participant id, in the call once.
    let first_bob = call["participants"][1]["id"].clone();
    loop {
        let call = call_with(&mut alice, "class", &["alice", "bob"]).await;
        if call["participants"][1]["id"] != first_bob {
            break;
        }
    }

    // Leaving the room takes bob out of its call.
    tab.send(json!({"type":"leave_room","room":"class"})).await;
    assert_eq!(tab.client.recv_type("call_left").await["reason"], "removed");
    call_with(&mut alice, "class", &["alice"]).await;
}

/// Calls need an owned name and a room; with --no-calls there are none, and
/// the banner says where calls' media goes.
#[tokio::test]
async fn calls_need_a_room_and_can_be_turned_off() {
    let server = Server::start();
    assert!(
        server.banner.contains(&format!(
            "Calls:   UDP port {} on 127.0.0.1",
            server.addr.port()
        )),
        "{}",
        server.banner
    );
    let mut alice = Owner::claim(&server, "alice").await;
    alice
        .expect_error(json!({"type":"call_start","room":"lobby"}), "forbidden")
        .await;
    let (mut anonymous, _, _) = common::Client::join(&server, "guest").await;
    anonymous
        .send_json(json!({"type":"call_start","room":"dm:0000000000000000"}))
        .await;
    assert_eq!(anonymous.recv_type("error").await["code"], "not_claimed");

    let off = Server::start_with(&["--no-calls"]);
    assert!(off.banner.contains("Calls:   off"), "{}", off.banner);
    let mut alice = Owner::claim(&off, "alice").await;
    assert!(alice.welcome["limits"].get("calls").is_none());
    alice
        .send(json!({"type":"create_room","room":"class"}))
        .await;
    alice.client.recv_type("room").await;
    alice
        .expect_error(json!({"type":"call_start","room":"class"}), "unavailable")
        .await;
}

/// A browser's first offer as str0m accepts it: one audio m-line to
/// receive on (what a viewer offers), its own ICE credentials.
fn offer_sdp(n: usize) -> String {
    let fingerprint = (0..32)
        .map(|i| format!("{:02X}", (i * 7 + n) % 256))
        .collect::<Vec<_>>()
        .join(":");
    [
        "v=0",
        &format!("o=- {} 2 IN IP4 127.0.0.1", 1000 + n),
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        &format!("a=ice-ufrag:v{n:03}"),
        &format!("a=ice-pwd:viewer{n:03}passwordpassword"),
        "a=ice-options:trickle",
        &format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=setup:actpass",
        "a=mid:0",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "",
    ]
    .join("\r\n")
}

/// Thirty people join a call at once, each offering and trickling its
/// candidates without waiting, as thirty pages opening a shared screen do:
/// every one is answered and none refused. (Once, the last of thirty
/// viewers was refused `unavailable`: the SFU, busy with the others,
/// had not answered its offer within a fixed wait.) Then one page floods
/// candidates, and the call goes on answering.
#[tokio::test]
async fn thirty_joining_at_once_all_get_in() {
    const VIEWERS: usize = 30;
    const CANDIDATES: usize = 20;
    let server = Server::start();
    let mut teacher = Owner::claim(&server, "teacher").await;
    teacher
        .send(json!({"type":"create_room","room":"class"}))
        .await;
    teacher.client.recv_type("room").await;
    teacher
        .send(json!({"type":"call_start","room":"class"}))
        .await;
    teacher.client.recv_type("call_joined").await;
    let mut viewers = Vec::new();
    for n in 0..VIEWERS {
        let mut viewer = Owner::claim(&server, &format!("viewer{n}")).await;
        viewer
            .send(json!({"type":"join_room","room":"class"}))
            .await;
        viewer.client.recv_type("room").await;
        viewers.push(viewer);
    }

    // All at once: nobody waits for anything before sending everything.
    let joining = viewers.into_iter().enumerate().map(|(n, mut viewer)| {
        tokio::spawn(async move {
            viewer
                .send(json!({"type":"call_join","room":"class"}))
                .await;
            viewer
                .send(json!({"type":"call_offer","room":"class","sdp":offer_sdp(n),"tracks":{}}))
                .await;
            for c in 0..CANDIDATES {
                let candidate = format!(
                    "candidate:{c} 1 udp 2122260223 10.{}.{}.{} {} typ host generation 0",
                    n / 250,
                    n % 250,
                    c + 1,
                    50_000 + c
                );
                viewer
                    .send(json!({"type":"call_candidate","room":"class","candidate":candidate}))
                    .await;
            }
            viewer.send(json!({"type":"ping"})).await;
            // Joined, answered, and every candidate taken (the pong answers
            // the frame after them), with no error on the way. `call_joined`
            // comes through the hub, so it may pass the direct replies.
            let (mut joined, mut answered, mut ponged) = (false, false, false);
            while !(joined && answered && ponged) {
                let frame = viewer.client.recv().await;
                match frame["type"].as_str().unwrap_or_default() {
                    "error" => panic!("viewer{n}: {frame}"),
                    "call_joined" => joined = true,
                    "call_answer" => {
                        assert!(!ponged, "viewer{n}: the answer came after the pong");
                        let sdp = frame["sdp"].as_str().unwrap();
                        assert!(sdp.contains("a=ice-lite"), "viewer{n}: {sdp}");
                        answered = true;
                    }
                    "pong" => ponged = true,
                    _ => {}
                }
            }
            viewer
        })
    });
    let mut viewers = Vec::new();
    for joined in futures_util::future::join_all(joining).await {
        viewers.push(joined.expect("a viewer's task"));
    }
    let call = loop {
        let call = teacher.client.recv_type("call").await;
        if call["participants"].as_array().unwrap().len() == VIEWERS + 1 {
            break call;
        }
    };
    assert_eq!(names(&call)[0], "teacher");

    // One page floods candidates: it is not refused, and the call still
    // answers a newcomer's offer.
    let flooder = &mut viewers[0];
    for c in 0..2_000 {
        let candidate = format!(
            "candidate:{c} 1 udp 2122260223 10.9.{}.{} 9 typ host",
            c / 250,
            c % 250 + 1
        );
        flooder
            .send(json!({"type":"call_candidate","room":"class","candidate":candidate}))
            .await;
    }
    flooder.send(json!({"type":"ping"})).await;
    loop {
        let frame = flooder.client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "pong" {
            break;
        }
    }
    let mut late = Owner::claim(&server, "late").await;
    late.send(json!({"type":"join_room","room":"class"})).await;
    late.client.recv_type("room").await;
    late.send(json!({"type":"call_join","room":"class"})).await;
    late.client.recv_type("call_joined").await;
    late.send(json!({"type":"call_offer","room":"class","sdp":offer_sdp(VIEWERS),"tracks":{}}))
        .await;
    late.client.recv_type("call_answer").await;
}
