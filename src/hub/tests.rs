//! The hub's own tests: presence, renames, large lobbies and backlogs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::presence::{ONLINE_INTERVAL, PRESENCE_BURST, PRESENCE_WINDOW};
use super::*;

fn hub(frames: usize) -> Hub {
    Hub::new(
        BacklogLimit {
            bytes: 1 << 20,
            frames,
        },
        100,
    )
}

fn drain(joined: &mut Joined) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(item) = joined.outbound.try_recv() {
        match item {
            Outbound::Messages(run) => {
                out.extend(run.messages.iter().map(|(_, frame)| frame.to_string()))
            }
            Outbound::Event(frame) => out.push(frame.to_string()),
            Outbound::Renamed { to } => out.push(format!("renamed:{to}")),
            Outbound::Close(reason) => out.push(format!("close:{reason}")),
        }
    }
    out
}

#[test]
fn presence_counts_a_name_once() {
    let hub = hub(100);
    let mut watcher = hub.join("watcher", None, &[]);
    let tab1 = hub.join("alice", None, &[]);
    let tab2 = hub.join("alice", None, &[]);
    assert_eq!(tab2.users, r#"["alice","watcher"]"#);
    let joins = drain(&mut watcher);
    assert_eq!(joins.len(), 1, "{joins:?}");
    assert!(joins[0].contains("\"join\""));
    hub.leave(tab1.id, true, &[]);
    assert!(drain(&mut watcher).is_empty());
    hub.leave(tab2.id, true, &[]);
    let leaves = drain(&mut watcher);
    assert_eq!(leaves.len(), 1);
    assert!(leaves[0].contains("\"leave\""));
    assert_eq!(hub.user_count(), 1);
}

#[test]
fn rename_moves_every_tab_and_refuses_taken_names() {
    let hub = hub(100);
    let tab1 = hub.join("alice", None, &[]);
    let mut tab2 = hub.join("alice", None, &[]);
    let _bob = hub.join("bob", None, &[]);
    drain(&mut tab2);
    assert_eq!(
        hub.rename(tab1.id, "bob").unwrap_err().code,
        ErrorCode::NameTaken
    );
    assert_eq!(&*hub.rename(tab1.id, "carol").unwrap(), "carol");
    let seen = drain(&mut tab2);
    assert_eq!(seen[0], "renamed:carol");
    assert!(seen[1].contains("\"rename\""));
    assert_eq!(hub.user_count(), 2);
    assert_eq!(hub.join("Bob", None, &[]).users, r#"["Bob","bob","carol"]"#);
}

/// What the hub adds to a backlog, the session takes off again: a
/// rename in one tab leaves the other tab's backlog at zero.
#[test]
fn a_rename_keeps_the_backlog_count_exact() {
    let hub = hub(100);
    let tab1 = hub.join("alice", None, &[]);
    let mut tab2 = hub.join("alice", None, &[]);
    hub.rename(tab1.id, "carol").unwrap();
    while let Ok(item) = tab2.outbound.try_recv() {
        tab2.backlog.taken(item.size());
    }
    assert_eq!(tab2.backlog.pending(), (0, 0));
}

#[test]
fn a_connect_storm_sends_presence_in_one_frame_per_window() {
    let hub = hub(1000);
    let mut watcher = hub.join("watcher", None, &[]);
    // A fresh window, after the one the watcher's own join opened.
    let start = Instant::now() + PRESENCE_WINDOW;
    let mut state = hub.state();
    // As `join` and `leave` do: the window that is over ends first.
    hub.end_presence_window(&mut state, start, false);
    let users: Vec<Arc<str>> = (0..PRESENCE_BURST + 3)
        .map(|i| Arc::from(format!("u{i:02}")))
        .collect();
    for name in &users {
        state.names.insert(name.clone(), 1);
        hub.presence_changed(&mut state, name, true, start);
    }
    // The last one leaves again within the window.
    let gone = users.last().unwrap();
    state.names.remove(gone);
    hub.presence_changed(&mut state, gone, false, start);
    drop(state);
    let joins = drain(&mut watcher);
    assert_eq!(joins.len(), PRESENCE_BURST);
    assert!(joins.iter().all(|f| f.contains("\"join\"")));

    hub.end_presence_window(&mut hub.state(), start + PRESENCE_WINDOW / 2, false);
    assert!(drain(&mut watcher).is_empty(), "held until the window ends");
    hub.end_presence_window(&mut hub.state(), start + PRESENCE_WINDOW, false);
    let held = drain(&mut watcher);
    assert_eq!(held.len(), 1);
    let frame: serde_json::Value = serde_json::from_str(&held[0]).unwrap();
    assert_eq!(frame["type"], "presence");
    assert_eq!(frame["joined"], serde_json::json!(["u16", "u17"]));
    assert_eq!(frame["left"], serde_json::json!(["u18"]));
}

/// A change that falls just as its window ends is told once. A name held
/// in the window, whose last connection goes when the window is over but
/// not yet sent, is listed in the window's `presence` frame as it is then;
/// it must not also get a `leave` of its own ("abrupt2 left twice" in
/// `tests/hostile.rs`'s churn test).
#[test]
fn a_change_as_the_window_ends_is_told_once() {
    let hub = hub(1000);
    let mut watcher = hub.join("watcher", None, &[]);
    let start = Instant::now() + PRESENCE_WINDOW;
    let mut state = hub.state();
    hub.end_presence_window(&mut state, start, false);
    for i in 0..=PRESENCE_BURST {
        let name: Arc<str> = Arc::from(format!("u{i:02}"));
        state.names.insert(name.clone(), 1);
        hub.presence_changed(&mut state, &name, true, start);
    }
    // The last of them, held, goes as the window ends: its count first,
    // then its announcement, as `leave` does.
    let late: Arc<str> = Arc::from(format!("u{PRESENCE_BURST:02}"));
    let end = start + PRESENCE_WINDOW;
    hub.end_presence_window(&mut state, end - Duration::from_micros(1), false);
    state.names.remove(&late);
    hub.presence_changed(&mut state, &late, false, end);
    hub.end_presence_window(&mut state, end + PRESENCE_WINDOW, true);
    drop(state);

    let mut online = std::collections::HashSet::new();
    for frame in drain(&mut watcher) {
        let frame: serde_json::Value = serde_json::from_str(&frame).unwrap();
        let name = frame["username"].as_str().unwrap_or_default().to_owned();
        match frame["type"].as_str() {
            Some("join") => assert!(online.insert(name.clone()), "{name} joined twice"),
            Some("leave") => assert!(online.remove(&name), "{name} left twice"),
            Some("presence") => {
                for name in frame["joined"].as_array().unwrap() {
                    online.insert(name.as_str().unwrap().to_owned());
                }
                for name in frame["left"].as_array().unwrap() {
                    online.remove(name.as_str().unwrap());
                }
            }
            _ => {}
        }
    }
    assert!(!online.contains(&*late), "{late} still shown online");
}

#[test]
fn past_the_roster_limit_names_go_only_to_neighbours() {
    let hub = Hub::new(
        BacklogLimit {
            bytes: 1 << 20,
            frames: 100,
        },
        2,
    );
    let (ua, uc): (Arc<str>, Arc<str>) = (Arc::from("ua"), Arc::from("uc"));
    let mut a = hub.join("a", Some(ua.clone()), std::slice::from_ref(&uc));
    let mut b = hub.join("b", None, &[]);
    assert!(b.complete);
    assert_eq!(b.users, r#"["a","b"]"#);
    drain(&mut a);
    let mut c = hub.join("c", Some(uc.clone()), std::slice::from_ref(&ua));
    assert!(!c.complete);
    assert_eq!((c.online, c.users.as_str()), (3, r#"["a","c"]"#));
    let to_a = drain(&mut a);
    assert_eq!(to_a.len(), 2, "{to_a:?}");
    assert_eq!(to_a[0], r#"{"type":"roster","complete":false,"online":3}"#);
    assert!(to_a[1].contains(r#""type":"join""#) && to_a[1].contains(r#""c""#));
    let to_b = drain(&mut b);
    assert_eq!(to_b, [r#"{"type":"roster","complete":false,"online":3}"#]);

    assert!(hub.who("").contains(r#""users":["a","b","c"]"#));
    assert!(hub.who("B").contains(r#""users":["b"]"#));
    assert!(hub.who("d").contains(r#""users":[]"#));

    // Nobody shares a room with b: its leave goes to no one, and the
    // count follows once per interval.
    hub.leave(b.id, true, &[]);
    assert!(drain(&mut a).is_empty() && drain(&mut c).is_empty());
    let later = Instant::now() + ONLINE_INTERVAL;
    hub.announce_online(&mut hub.state(), later);
    let count = drain(&mut a);
    assert_eq!(count.len(), 1);
    assert!(count[0].starts_with(r#"{"type":"online","online":2,"#));
    hub.announce_online(&mut hub.state(), later + ONLINE_INTERVAL);
    assert!(drain(&mut a).is_empty(), "unchanged counts are not resent");

    // Down to 3/4 of the limit: everyone is listed again.
    hub.leave(c.id, true, std::slice::from_ref(&ua));
    let to_a = drain(&mut a);
    assert_eq!(to_a.len(), 2, "{to_a:?}");
    assert!(to_a[0].contains(r#""type":"leave""#));
    assert_eq!(
        to_a[1],
        r#"{"type":"roster","complete":true,"online":1,"users":["a"]}"#
    );
}

#[test]
fn overflowing_backlog_stops_delivery_and_signals() {
    let hub = hub(3);
    let joined = hub.join("slow", None, &[]);
    for seq in 0..10 {
        let run = MessageRun::new(LOBBY.to_owned(), vec![(seq, Frame::from("x"))]);
        hub.send(&Audience::Everyone, Outbound::Messages(Arc::new(run)));
    }
    assert!(joined.backlog.has_overflowed());
    assert_eq!(joined.outbound.len(), 3);
}
