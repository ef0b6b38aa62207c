//! The host's frames: what the host asks for (every `host` frame carries
//! the host secret), what the host sees, and how host actions show in
//! rooms, as typed events the page words itself.

use serde::{Deserialize, Serialize};

/// The host secret as a frame carries it. Its `Debug` never shows it, so
/// no log line can.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct HostSecret(pub String);

impl std::fmt::Debug for HostSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostSecret(..)")
    }
}

/// How long a room keeps its messages (the host's retention).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Everything, for good.
    #[default]
    All,
    /// What was sent in the last this many days.
    Days(u32),
    /// The newest this many messages.
    Messages(u32),
}

/// What a `host` frame asks for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HostAction {
    /// Enter host mode; the answer is the host's view (`host_state`).
    Hello,
    /// Close every connection of a name, telling it `reason`.
    Kick {
        username: String,
        #[serde(default)]
        reason: String,
    },
    /// The name may read but not post, for `minutes` or until unmuted.
    Mute {
        username: String,
        #[serde(default)]
        minutes: Option<u32>,
    },
    Unmute {
        username: String,
    },
    /// Keep a name, its user and its browsers out, for `minutes` or for
    /// good; its connections close with `reason`.
    Ban {
        username: String,
        #[serde(default)]
        minutes: Option<u32>,
        #[serde(default)]
        reason: String,
    },
    /// Lift ban `ban` (its id in `host_state`).
    Unban {
        ban: String,
    },
    /// Delete any message, as its author's own delete does.
    Delete {
        room: String,
        target: u64,
    },
    /// Post an announcement in `room` (the lobby, for everyone, when left
    /// out) and pin it there, replacing the room's pinned one.
    Announce {
        #[serde(default)]
        room: Option<String>,
        message: String,
    },
    /// Take down `room`'s pinned announcement.
    Unpin {
        room: String,
    },
    /// Lower someone's raised hand in `room`.
    LowerHand {
        room: String,
        username: String,
    },
    /// End the event now (event mode only).
    EndEvent,
    /// Make a bot that may post in `rooms`; its token comes back once, in
    /// `bot_token`.
    CreateBot {
        name: String,
        rooms: Vec<String>,
    },
    /// Revoke bot `bot` (its id in `host_state`): its token stops at once.
    RevokeBot {
        bot: String,
    },
    /// Change a room's rules; what is left out stays as it was.
    Rules {
        room: String,
        #[serde(default)]
        slow: Option<u32>,
        #[serde(default)]
        read_only: Option<bool>,
        #[serde(default)]
        locked: Option<bool>,
        #[serde(default)]
        closed: Option<bool>,
        #[serde(default)]
        keep: Option<Keep>,
    },
}

impl HostAction {
    /// Its name, for the log.
    pub fn name(&self) -> &'static str {
        match self {
            HostAction::Hello => "hello",
            HostAction::Kick { .. } => "kick",
            HostAction::Mute { .. } => "mute",
            HostAction::Unmute { .. } => "unmute",
            HostAction::Ban { .. } => "ban",
            HostAction::Unban { .. } => "unban",
            HostAction::Delete { .. } => "delete",
            HostAction::Announce { .. } => "announce",
            HostAction::Unpin { .. } => "unpin",
            HostAction::LowerHand { .. } => "lower_hand",
            HostAction::EndEvent => "end_event",
            HostAction::CreateBot { .. } => "create_bot",
            HostAction::RevokeBot { .. } => "revoke_bot",
            HostAction::Rules { .. } => "rules",
        }
    }
}

/// What the host sees: every room with its members (private rooms and
/// direct messages too, but never their messages) and rules, and who is
/// muted or banned.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostView {
    pub rooms: Vec<HostRoom>,
    pub mutes: Vec<HostMute>,
    pub bans: Vec<HostBan>,
    pub bots: Vec<HostBot>,
}

/// A bot, as the host sees it (never its token).
#[derive(Debug, Clone, Serialize)]
pub struct HostBot {
    pub id: String,
    pub name: String,
    pub rooms: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRoom {
    pub room: String,
    /// A public room's id, a private room's own name; for a direct
    /// message, empty (its `members` say who).
    pub name: String,
    /// "public", "private" or "dm".
    pub kind: &'static str,
    /// Member names; empty for the lobby, where everyone is.
    pub members: Vec<String>,
    /// Of them, those online now.
    pub online: Vec<String>,
    pub slow: u32,
    pub read_only: bool,
    pub locked: bool,
    pub closed: bool,
    pub keep: Keep,
    /// The pinned announcement, and how many members have read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<HostPin>,
    /// Raised hands, in the order they went up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hands: Vec<String>,
}

/// A pinned announcement as the host sees it: read by `read` of the room's
/// `of` members, counted from their read marks (everyone's in the lobby:
/// every owned name; names nobody owns keep no read mark).
#[derive(Debug, Clone, Serialize)]
pub struct HostPin {
    pub seq: u64,
    pub read: usize,
    pub of: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostMute {
    pub username: String,
    /// When it ends (ms); left out when it lasts until lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostBan {
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    pub reason: String,
    /// How many browsers it keeps out.
    pub browsers: usize,
}

/// Something that happened in a room, not something written: a host
/// action, or a call's start or end. It shows as a message from `system`
/// carrying one of these, which the page words in the reader's language.
/// Its `message` says the same in English for clients that do not know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SystemEvent {
    /// An announcement: the message's text is the host's (markdown).
    Announcement,
    /// The host removed a name from the chat (its connections closed).
    Kicked {
        username: String,
    },
    Muted {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Unmuted {
        username: String,
    },
    Banned {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Unbanned {
        username: String,
    },
    /// The room's rules are now these.
    Rules {
        slow: u32,
        read_only: bool,
        locked: bool,
        closed: bool,
        #[serde(default)]
        keep: Keep,
    },
    /// `username` started a call in the room.
    CallStarted {
        call: String,
        username: String,
    },
    /// The call `username` started ended after `duration_ms`, with `people`
    /// different people in it at one time or another (in a direct message,
    /// one means nobody answered).
    CallEnded {
        call: String,
        username: String,
        duration_ms: u64,
        people: u32,
    },
}

impl SystemEvent {
    /// The event in English, for clients that do not know `system`.
    pub fn describe(&self) -> String {
        let until = |until: &Option<i64>| match until {
            Some(_) => " for a while",
            None => "",
        };
        match self {
            // Its text is the announcement itself.
            SystemEvent::Announcement => String::new(),
            SystemEvent::Kicked { username } => {
                format!("the host removed {username} from the chat")
            }
            SystemEvent::Muted { username, until: u } => {
                format!("the host muted {username}{}", until(u))
            }
            SystemEvent::Unmuted { username } => format!("the host unmuted {username}"),
            SystemEvent::Banned { username, until: u } => {
                format!("the host banned {username}{}", until(u))
            }
            SystemEvent::Unbanned { username } => format!("the host lifted the ban on {username}"),
            SystemEvent::Rules {
                slow,
                read_only,
                locked,
                closed,
                keep,
            } => {
                let mut rules = Vec::new();
                match keep {
                    Keep::All => {}
                    Keep::Days(days) => rules.push(format!("messages kept {days} days")),
                    Keep::Messages(count) => rules.push(format!("the last {count} messages kept")),
                }
                if *closed {
                    rules.push("closed".to_owned());
                }
                if *read_only {
                    rules.push("read-only".to_owned());
                }
                if *locked {
                    rules.push("locked".to_owned());
                }
                if *slow > 0 {
                    rules.push(format!("slow mode ({slow} s)"));
                }
                if rules.is_empty() {
                    "the host lifted this room's rules".to_owned()
                } else {
                    format!("the host set this room: {}", rules.join(", "))
                }
            }
            SystemEvent::CallStarted { username, .. } => format!("{username} started a call"),
            SystemEvent::CallEnded {
                duration_ms,
                people,
                ..
            } => {
                let minutes = duration_ms.div_ceil(60_000);
                let people = match people {
                    1 => "1 person".to_owned(),
                    n => format!("{n} people"),
                };
                format!("a call ended after {minutes} min, with {people} in it")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug() {
        let secret = HostSecret("s3cr3t".into());
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }

    #[test]
    fn events_are_typed_data() {
        let event = SystemEvent::Muted {
            username: "bob".into(),
            until: Some(5),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"event":"muted","username":"bob","until":5})
        );
        assert_eq!(
            serde_json::from_value::<SystemEvent>(serde_json::to_value(&event).unwrap()).unwrap(),
            event
        );
        assert_eq!(event.describe(), "the host muted bob for a while");
    }

    #[test]
    fn a_call_s_events_are_system_events() {
        let ended = SystemEvent::CallEnded {
            call: "c1".into(),
            username: "alice".into(),
            duration_ms: 720_000,
            people: 5,
        };
        let value = serde_json::to_value(&ended).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"event":"call_ended","call":"c1","username":"alice","duration_ms":720000,"people":5})
        );
        assert_eq!(serde_json::from_value::<SystemEvent>(value).unwrap(), ended);
        assert_eq!(
            ended.describe(),
            "a call ended after 12 min, with 5 people in it"
        );
        let started: SystemEvent = serde_json::from_value(
            serde_json::json!({"event":"call_started","call":"c1","username":"alice"}),
        )
        .unwrap();
        assert_eq!(started.describe(), "alice started a call");
    }
}
