//! The wire protocol: every JSON frame a client and the server exchange.
//!
//! Pure types and encoding, no I/O: [`client`] frames and how they are
//! parsed, [`server`] frames and the records they carry, [`call`], what
//! calls add to both, [`error`], the refusals, and [`host`], the host's
//! frames and the events shown in rooms. The reference below (this folder's `README.md`) documents
//! the same frames; change both in one commit.
#![doc = include_str!("README.md")]

mod call;
mod client;
mod error;
mod host;
mod server;

pub use call::{CallLimits, CallSummary, Participant, TrackRole};
pub use client::{ClientFrame, MAX_CID_CHARS, parse_client_frame};
pub use error::{ErrorCode, Refusal};
pub use host::{
    HostAction, HostBan, HostBot, HostMute, HostPin, HostRoom, HostSecret, HostView, Keep,
    SystemEvent,
};
pub use server::{
    ChatMessage, FileInfo, Invitation, Limits, PublicRoom, Reaction, RoomSummary, SearchResult,
    ServerFrame, SnippetPart,
};

/// Version announced in `welcome`. Bump only for incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// The room everyone is in; every other room has members.
pub const LOBBY: &str = "lobby";

/// An encoded server frame. Cloning shares the bytes, so a broadcast is
/// encoded once and every recipient gets the same buffer.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// Longest chat text, in characters, unless configured otherwise.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Encodes a server frame as JSON text.
pub fn encode(frame: &ServerFrame<'_>) -> String {
    // Serializing these types cannot fail: every key is a string and no value
    // is a map with non-string keys.
    serde_json::to_string(frame).expect("server frames always serialize")
}

/// Encodes a `welcome`, `roster` or `who` frame with `users`, a JSON array
/// of names the hub keeps encoded, spliced in, so listing who is online
/// does not encode every name again.
pub fn with_users(frame: &ServerFrame<'_>, users: &str) -> String {
    debug_assert!(matches!(
        frame,
        ServerFrame::Welcome { .. } | ServerFrame::Roster { .. } | ServerFrame::Who { .. }
    ));
    let mut out = encode(frame);
    // `encode` ends every object with its closing brace.
    out.pop();
    out.push_str(",\"users\":");
    out.push_str(users);
    out.push('}');
    out
}

/// Builds a `history` frame from messages already encoded as `message`
/// frames, so replaying history does not encode them again.
/// `has_newer` is there only on a page around a message or a date, which
/// may end before the room's latest.
pub fn history_frame<'a>(
    room: &str,
    encoded_messages: impl IntoIterator<Item = &'a str>,
    has_more: bool,
    has_newer: Option<bool>,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"type\":\"history\",\"room\":");
    out.push_str(&serde_json::to_string(room).expect("strings serialize"));
    out.push_str(",\"messages\":[");
    for (i, message) in encoded_messages.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(message);
    }
    out.push_str("],\"has_more\":");
    out.push_str(if has_more { "true" } else { "false" });
    if let Some(has_newer) = has_newer {
        out.push_str(",\"has_newer\":");
        out.push_str(if has_newer { "true" } else { "false" });
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn roster_and_who_carry_the_spliced_names() {
        let roster = ServerFrame::Roster {
            complete: true,
            online: 1,
        };
        let value: Value = serde_json::from_str(&with_users(&roster, r#"["bob"]"#)).unwrap();
        assert_eq!(
            value,
            json!({"type":"roster","complete":true,"online":1,"users":["bob"]})
        );
        let who = ServerFrame::Who {
            prefix: "b",
            online: 9,
        };
        let value: Value = serde_json::from_str(&with_users(&who, "[]")).unwrap();
        assert_eq!(
            value,
            json!({"type":"who","prefix":"b","online":9,"users":[]})
        );
    }

    #[test]
    fn history_frame_is_valid_json_around_encoded_messages() {
        let frame = history_frame("lobby", [r#"{"seq":1}"#, r#"{"seq":2}"#], true, None);
        let value: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            value,
            json!({"type":"history","room":"lobby","messages":[{"seq":1},{"seq":2}],"has_more":true})
        );
        let empty: Value = serde_json::from_str(&history_frame("lobby", [], false, None)).unwrap();
        assert_eq!(empty["messages"], json!([]));
        let around: Value =
            serde_json::from_str(&history_frame("lobby", [], false, Some(true))).unwrap();
        assert_eq!(around["has_newer"], true);
    }
}
