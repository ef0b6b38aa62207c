//! A room as a client holds it: its messages by seq, built from `history`
//! pages and resumes (messages in their current state) or from the change
//! frames heard live, and the view of it that two clients must agree on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What a person sees of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub message: String,
    pub html: String,
    pub deleted: bool,
    /// Emoji and who put each there.
    pub reactions: BTreeMap<String, BTreeSet<String>>,
}

/// A room's messages by seq, each as the server last described it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Room {
    pub messages: BTreeMap<u64, Value>,
}

impl Room {
    /// Takes every message of a `history` frame, replacing what it had.
    pub fn absorb(&mut self, history: &Value) {
        for message in history["messages"].as_array().into_iter().flatten() {
            if let Some(seq) = message["seq"].as_u64() {
                self.messages.insert(seq, message.clone());
            }
        }
    }

    /// Applies one change frame as heard live: what a client that replays
    /// the log entry by entry does.
    pub fn apply(&mut self, frame: &Value) {
        let kind = frame["type"].as_str().unwrap_or_default();
        if kind == "message" {
            if let Some(seq) = frame["seq"].as_u64() {
                self.messages.insert(seq, frame.clone());
            }
            return;
        }
        let target = frame["target"].as_u64().unwrap_or_default();
        let Some(message) = self.messages.get_mut(&target) else {
            return;
        };
        match kind {
            "edit" => {
                message["message"] = frame["message"].clone();
                message["html"] = frame["html"].clone();
            }
            "delete" => {
                message["message"] = "message deleted".into();
                message["html"] = "".into();
                message["deleted"] = true.into();
                message["reactions"] = Value::Array(Vec::new());
            }
            "react" => {
                let mut view = reactions(message);
                let users = view
                    .entry(frame["emoji"].as_str().unwrap_or_default().to_owned())
                    .or_default();
                let user = frame["username"].as_str().unwrap_or_default().to_owned();
                if frame["on"] == true {
                    users.insert(user);
                } else {
                    users.remove(&user);
                }
                message["reactions"] = view
                    .into_iter()
                    .filter(|(_, users)| !users.is_empty())
                    .map(|(emoji, users)| serde_json::json!({"emoji": emoji, "users": users}))
                    .collect();
            }
            _ => {}
        }
    }

    /// What a person sees of every message.
    pub fn view(&self) -> BTreeMap<u64, View> {
        self.messages
            .iter()
            .map(|(seq, message)| {
                let text = |key: &str| message[key].as_str().unwrap_or_default().to_owned();
                let view = View {
                    message: text("message"),
                    html: text("html"),
                    deleted: message["deleted"] == true,
                    reactions: reactions(message),
                };
                (*seq, view)
            })
            .collect()
    }
}

fn reactions(message: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = BTreeMap::new();
    for reaction in message["reactions"].as_array().into_iter().flatten() {
        let users: BTreeSet<String> = reaction["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|user| user.as_str().map(str::to_owned))
            .collect();
        if !users.is_empty() {
            all.insert(
                reaction["emoji"].as_str().unwrap_or_default().to_owned(),
                users,
            );
        }
    }
    all
}
