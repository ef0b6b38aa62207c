//! The host's rules as they are stored: one row each in `host_state`, keyed
//! by what the rule is about, its value the rule as JSON. Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::protocol::Keep;

/// One stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// The host secret's SHA-256, in hex; the secret itself is never kept.
    Secret { hash: String },
    /// A name (or, when owned, its user) that may read but not post.
    Mute(Mute),
    /// A name, its user and the browsers it came from, kept out.
    Ban(Ban),
    /// A room's rules.
    Room {
        room: String,
        #[serde(flatten)]
        rules: RoomRules,
    },
    /// A room's pinned announcement.
    Pin(Pin),
    /// A bot: a name and a token (kept as its hash) that may post in rooms.
    Bot(Bot),
}

/// A bot the host made: scripts and devices on the LAN post under its
/// name, with its token, in its rooms only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bot {
    /// Random: how the host revokes it.
    pub id: String,
    pub name: String,
    /// The token's SHA-256, in hex.
    pub hash: String,
    /// The rooms it may post in and read.
    pub rooms: Vec<String>,
    /// When it was made (ms).
    pub created: i64,
}

/// An announcement pinned in a room: its message's seq, and what it says,
/// so a page can show it without that message in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub room: String,
    pub seq: u64,
    /// The host's markdown, and it rendered and sanitized.
    pub message: String,
    pub html: String,
    /// When it was posted (ms).
    pub at: i64,
}

/// Who a mute or a ban is about: an owned name by its user id (so a rename
/// does not escape it), or a name nobody owns, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    User(String),
    Name(String),
}

impl Target {
    pub fn key(&self) -> String {
        match self {
            Target::User(user) => format!("u:{user}"),
            Target::Name(name) => format!("n:{name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    pub target: Target,
    /// The name as the host saw it, to list.
    pub name: String,
    /// When it ends (ms since the epoch); `None` until the host lifts it.
    pub until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Random: how the host lifts it.
    pub id: String,
    pub target: Target,
    pub name: String,
    /// SHA-256 (hex) of the browser ids seen under the name: the page's
    /// random id, kept in its storage and offered on every connect. One
    /// seen later under the banned name is added, so the browser cannot
    /// come back under another name.
    pub browsers: Vec<String>,
    pub until: Option<i64>,
    /// The host's words, shown to whoever is kept out.
    pub reason: String,
}

/// What the host decided for one room. The default is no rule at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRules {
    /// One message per this many seconds per person; 0: no slow mode.
    #[serde(default)]
    pub slow: u32,
    /// Only the host posts.
    #[serde(default)]
    pub read_only: bool,
    /// Nobody new may join (members stay).
    #[serde(default)]
    pub locked: bool,
    /// Over: nobody posts or joins, and it is not listed; members can
    /// still read it.
    #[serde(default)]
    pub closed: bool,
    /// How long its messages are kept (see `crate::retention`).
    #[serde(default)]
    pub keep: Keep,
}

impl Rule {
    /// The key it is stored under: one row per thing a rule is about.
    pub fn key(&self) -> String {
        match self {
            Rule::Secret { .. } => SECRET_KEY.to_owned(),
            Rule::Mute(mute) => mute_key(&mute.target),
            Rule::Ban(ban) => format!("ban:{}", ban.id),
            Rule::Room { room, .. } => room_key(room),
            Rule::Pin(pin) => pin_key(&pin.room),
            Rule::Bot(bot) => format!("bot:{}", bot.id),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("rules serialize")
    }
}

/// Where the secret's hash is kept.
pub const SECRET_KEY: &str = "secret";

pub fn mute_key(target: &Target) -> String {
    format!("mute:{}", target.key())
}

pub fn room_key(room: &str) -> String {
    format!("room:{room}")
}

pub fn pin_key(room: &str) -> String {
    format!("pin:{room}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_through_their_json() {
        let rules = [
            Rule::Secret { hash: "ab".into() },
            Rule::Mute(Mute {
                target: Target::User("u1".into()),
                name: "Bob".into(),
                until: Some(5),
            }),
            Rule::Ban(Ban {
                id: "b1".into(),
                target: Target::Name("eve".into()),
                name: "eve".into(),
                browsers: vec!["cd".into()],
                until: None,
                reason: "spam".into(),
            }),
            Rule::Room {
                room: "plans".into(),
                rules: RoomRules {
                    slow: 30,
                    read_only: true,
                    locked: false,
                    closed: false,
                    keep: Keep::Days(30),
                },
            },
        ];
        for rule in rules {
            let back: Rule = serde_json::from_str(&rule.to_json()).unwrap();
            assert_eq!(back, rule);
        }
        assert_eq!(
            serde_json::from_str::<Rule>(r#"{"kind":"room","room":"a","slow":5}"#).unwrap(),
            Rule::Room {
                room: "a".into(),
                rules: RoomRules {
                    slow: 5,
                    ..RoomRules::default()
                }
            },
            "rules left out are off"
        );
    }

    #[test]
    fn keys_name_what_a_rule_is_about() {
        let mute = Rule::Mute(Mute {
            target: Target::Name("bob".into()),
            name: "bob".into(),
            until: None,
        });
        assert_eq!(mute.key(), "mute:n:bob");
        let room = Rule::Room {
            room: "plans".into(),
            rules: RoomRules::default(),
        };
        assert_eq!(room.key(), "room:plans");
    }
}
