//! The wire protocol: every JSON frame a client and the server exchange.
//!
//! Pure types and encoding, no I/O. The README's "Protocol" section documents
//! the same frames; keep the two in step.

use serde::{Deserialize, Serialize};

/// Version announced in `welcome`. Bump only for incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// The only room until rooms arrive; the data model is already keyed by room.
pub const LOBBY: &str = "lobby";

/// An encoded server frame. Cloning shares the bytes, so a broadcast is
/// encoded once and every recipient gets the same buffer.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// Longest chat text, in characters, unless configured otherwise.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Longest client id we store; a uuid needs 36.
pub const MAX_CID_CHARS: usize = 64;

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a chat message (to `lobby` unless `room` says otherwise).
    /// `cid` makes retries idempotent.
    Message {
        message: String,
        #[serde(default)]
        cid: Option<String>,
        #[serde(default)]
        room: Option<String>,
    },
    /// Change this user's name, on every connection that holds it.
    Rename {
        username: String,
    },
    /// The user started or stopped typing (in `lobby` unless `room` says).
    Typing {
        active: bool,
        #[serde(default)]
        room: Option<String>,
    },
    /// Ask for a single-use code that moves this (claimed) name to another
    /// device.
    TransferCode,
    /// Is the connection alive? Answered with `pong`; browsers cannot see
    /// WebSocket pings.
    Ping,
    /// Page older messages of a room: those with `seq < before`, newest
    /// `limit` of them; or, with `since`, those after it (a resume).
    History {
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        since: Option<u64>,
    },
    /// Create a room; `private` rooms are seen only by members.
    CreateRoom {
        room: String,
        #[serde(default)]
        private: bool,
    },
    /// Join a public room, or a private one with an invitation or the
    /// secret from an invite link.
    JoinRoom {
        room: String,
        #[serde(default)]
        invite: Option<String>,
    },
    LeaveRoom {
        room: String,
    },
    /// Invite a user (by name) to a room.
    Invite {
        room: String,
        username: String,
    },
    /// Ask for an invite link secret for a room.
    InviteLink {
        room: String,
    },
    /// Open the direct-message room with a user.
    #[serde(rename = "dm")]
    Direct {
        username: String,
    },
    /// Mark a room read up to `seq`.
    Read {
        room: String,
        seq: u64,
    },
    /// List the public rooms.
    ListRooms,
    /// Online names starting with `prefix` (any letter case): how a client
    /// finds people once the lobby is too big to list everyone.
    Who {
        #[serde(default)]
        prefix: Option<String>,
    },
}

impl ClientFrame {
    /// The room a frame is about, if any (`lobby` when a frame that may
    /// name one does not).
    pub fn room(&self) -> Option<&str> {
        match self {
            ClientFrame::Message { room, .. }
            | ClientFrame::Typing { room, .. }
            | ClientFrame::History { room, .. } => Some(room.as_deref().unwrap_or(LOBBY)),
            ClientFrame::CreateRoom { room, .. }
            | ClientFrame::JoinRoom { room, .. }
            | ClientFrame::LeaveRoom { room }
            | ClientFrame::Invite { room, .. }
            | ClientFrame::InviteLink { room }
            | ClientFrame::Read { room, .. } => Some(room),
            _ => None,
        }
    }
}

/// Why a client frame was refused. The `code` strings are part of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Empty,
    TooLong,
    InvalidUsername,
    NameTaken,
    InvalidCode,
    RateLimited,
    NotClaimed,
    InvalidRoom,
    RoomExists,
    NotFound,
    Forbidden,
    Unavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Empty => "empty",
            ErrorCode::TooLong => "too_long",
            ErrorCode::InvalidUsername => "invalid_username",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::NotClaimed => "not_claimed",
            ErrorCode::InvalidRoom => "invalid_room",
            ErrorCode::RoomExists => "room_exists",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// A refused frame: the code a program matches on and words a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub cid: Option<String>,
    /// The room the refused frame was about, so a client can tell which
    /// request failed.
    pub room: Option<String>,
    /// For `rate_limited`: when a retry would be allowed.
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            cid: None,
            room: None,
            retry_after_ms: None,
        }
    }

    pub fn with_room(mut self, room: Option<String>) -> Self {
        self.room = self.room.or(room);
        self
    }

    pub fn with_cid(mut self, cid: Option<String>) -> Self {
        self.cid = cid;
        self
    }

    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        // Rounded up, so a client that waits exactly this long is let in.
        self.retry_after_ms = Some(wait.as_nanos().div_ceil(1_000_000) as u64);
        self
    }
}

/// Parses a text frame, allowing chat messages up to `max_chars` characters.
/// On failure the refusal carries the frame's `cid` when one can be found, so
/// the client can tell which message failed.
pub fn parse_client_frame(text: &str, max_chars: usize) -> Result<ClientFrame, Refusal> {
    let frame = serde_json::from_str::<ClientFrame>(text).map_err(|err| {
        Refusal::new(ErrorCode::BadRequest, describe_parse_error(text, &err))
            .with_cid(cid_of_unparsed(text))
    })?;
    if let ClientFrame::Message { message, cid, .. } = &frame {
        check_message(message, cid.as_deref(), max_chars)
            .map_err(|refusal| refusal.with_cid(cid.clone()))?;
    }
    Ok(frame)
}

fn describe_parse_error(text: &str, err: &serde_json::Error) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(_) => "frame is not valid JSON".to_owned(),
        Ok(value) if value.get("type").and_then(|t| t.as_str()).is_none() => {
            "frame has no \"type\" string".to_owned()
        }
        Ok(_) => format!("malformed frame: {err}"),
    }
}

fn cid_of_unparsed(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let cid = value.get("cid")?.as_str()?;
    (cid.chars().count() <= MAX_CID_CHARS).then(|| cid.to_owned())
}

fn check_message(message: &str, cid: Option<&str>, max_chars: usize) -> Result<(), Refusal> {
    if cid.is_some_and(|cid| cid.is_empty() || cid.chars().count() > MAX_CID_CHARS) {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("cid must be 1 to {MAX_CID_CHARS} characters"),
        ));
    }
    if message.trim().is_empty() {
        return Err(Refusal::new(ErrorCode::Empty, "message is empty"));
    }
    let chars = message.chars().count();
    if chars > max_chars {
        return Err(Refusal::new(
            ErrorCode::TooLong,
            format!("message is {chars} characters; the limit is {max_chars}"),
        ));
    }
    Ok(())
}

/// A stored chat message, as sent live and in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub seq: u64,
    pub room: String,
    pub username: String,
    pub message: String,
    /// Milliseconds since the Unix epoch, taken by the server.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// A room as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomSummary {
    pub room: String,
    /// "public", "private" or "dm".
    pub kind: &'static str,
    /// The room's latest seq.
    pub seq: u64,
    pub last_read: u64,
    pub unread: u64,
    /// Member names (empty for the lobby, where everyone is).
    pub members: Vec<String>,
    /// The members online now, so a client that is not told of everyone's
    /// comings and goings (see `roster`) still knows these.
    pub online: Vec<String>,
    /// For a direct-message room, the other person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// The limits a client must keep to, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Messages per second per user; 0 means no limit.
    pub rate: f64,
    /// Messages a user may send at once before `rate` applies.
    pub burst: u32,
    /// Longest message, in characters.
    pub message_chars: usize,
    /// Largest WebSocket frame, in bytes.
    pub frame_bytes: usize,
}

/// A public room in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct PublicRoom<'a> {
    pub room: &'a str,
    pub members: usize,
}

/// A frame from the server. Encode with [`encode`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// Encode with [`with_users`].
    Welcome {
        protocol: u32,
        username: &'a str,
        room: &'a str,
        /// The room's latest `seq`, 0 when it is empty.
        seq: u64,
        /// Changes only when the history starts over (new file, or a
        /// restarted `--memory` server): then old seqs mean nothing.
        history_id: &'a str,
        /// How many names are online, this one included.
        online: usize,
        /// Whether `users` lists everyone online. Past the roster limit it
        /// lists only this user and the people sharing a room with them.
        complete: bool,
        /// Whether this connection owns its name.
        claimed: bool,
        /// A newly issued token for the name; the client must keep it.
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<&'a str>,
        /// What this server allows, so a client can pace itself.
        limits: Limits,
        /// Owners only: every room they belong to, and pending invitations.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        rooms: Vec<RoomSummary>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        invitations: Vec<&'a str>,
    },
    /// A room this user now belongs to (or its current state).
    Room(&'a RoomSummary),
    RoomLeft {
        room: &'a str,
    },
    Invited {
        room: &'a str,
        by: &'a str,
    },
    InviteLink {
        room: &'a str,
        secret: &'a str,
    },
    /// This user's read mark for a room moved (from any of its tabs).
    Read {
        room: &'a str,
        seq: u64,
        unread: u64,
    },
    RoomList {
        rooms: Vec<PublicRoom<'a>>,
    },
    Pong,
    TransferCode {
        code: &'a str,
        /// When the code stops working, in ms since the epoch.
        expires: i64,
    },
    Message(&'a ChatMessage),
    Join {
        room: &'a str,
        username: &'a str,
        timestamp: i64,
    },
    Leave {
        room: &'a str,
        username: &'a str,
        timestamp: i64,
    },
    /// Several presence changes at once, sent instead of one `join` or
    /// `leave` each during a connect storm (see `hub`). A client applies it
    /// as a set: add `joined`, remove `left`.
    Presence {
        room: &'a str,
        joined: Vec<&'a str>,
        left: Vec<&'a str>,
        timestamp: i64,
    },
    /// The lobby passed the roster limit (`complete: false`: names are no
    /// longer listed) or fell back under it (`complete: true`, encoded with
    /// [`with_users`] listing everyone).
    Roster {
        complete: bool,
        online: usize,
    },
    /// How many are online, while the roster is incomplete.
    Online {
        online: usize,
        timestamp: i64,
    },
    /// The answer to `who`; encode with [`with_users`].
    Who {
        prefix: &'a str,
        online: usize,
    },
    Rename {
        room: &'a str,
        from: &'a str,
        to: &'a str,
        timestamp: i64,
    },
    Typing {
        room: &'a str,
        username: &'a str,
        active: bool,
    },
    Error {
        code: &'static str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl<'a> ServerFrame<'a> {
    pub fn error(refusal: &'a Refusal) -> Self {
        ServerFrame::Error {
            code: refusal.code.as_str(),
            message: &refusal.message,
            cid: refusal.cid.as_deref(),
            room: refusal.room.as_deref(),
            retry_after_ms: refusal.retry_after_ms,
        }
    }
}

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
pub fn history_frame<'a>(
    room: &str,
    encoded_messages: impl IntoIterator<Item = &'a str>,
    has_more: bool,
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
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(text: &str) -> Result<ClientFrame, Refusal> {
        parse_client_frame(text, MAX_MESSAGE_CHARS)
    }

    #[test]
    fn parses_every_client_frame() {
        assert_eq!(
            parse(r#"{"type":"message","message":"hi","cid":"c1"}"#),
            Ok(ClientFrame::Message {
                message: "hi".into(),
                cid: Some("c1".into()),
                room: None,
            })
        );
        assert_eq!(
            parse(r#"{"type":"rename","username":"bob"}"#),
            Ok(ClientFrame::Rename {
                username: "bob".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"typing","active":true}"#),
            Ok(ClientFrame::Typing {
                active: true,
                room: None
            })
        );
        assert_eq!(
            parse(r#"{"type":"history","before":10,"limit":5}"#),
            Ok(ClientFrame::History {
                before: Some(10),
                limit: Some(5),
                room: None,
                since: None,
            })
        );
    }

    #[test]
    fn refuses_bad_frames_with_codes() {
        let cases = [
            ("not json", ErrorCode::BadRequest),
            (r#"{"message":"hi"}"#, ErrorCode::BadRequest),
            (r#"{"type":"dance"}"#, ErrorCode::BadRequest),
            (r#"{"type":"message","message":5}"#, ErrorCode::BadRequest),
            (r#"{"type":"typing","active":"yes"}"#, ErrorCode::BadRequest),
            (r#"{"type":"message","message":"   \n"}"#, ErrorCode::Empty),
            (r#"{"type":"message","message":""}"#, ErrorCode::Empty),
            (
                r#"{"type":"message","message":"x","cid":""}"#,
                ErrorCode::BadRequest,
            ),
        ];
        for (text, code) in cases {
            assert_eq!(parse(text).unwrap_err().code, code, "{text}");
        }
    }

    #[test]
    fn message_length_counts_characters_not_bytes() {
        let at_limit = "é".repeat(MAX_MESSAGE_CHARS);
        let frame = json!({"type":"message","message":at_limit}).to_string();
        assert!(parse(&frame).is_ok());
        let over = "a".repeat(MAX_MESSAGE_CHARS + 1);
        let frame = json!({"type":"message","message":over,"cid":"c9"}).to_string();
        let refusal = parse(&frame).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::TooLong);
        assert_eq!(refusal.cid.as_deref(), Some("c9"));
    }

    /// A cheap stand-in for the fuzz target (`fuzz/`), run with every
    /// `cargo test`: mangled frames never panic, and whatever is accepted as
    /// a message obeys the limits.
    #[test]
    fn mangled_frames_never_panic() {
        let seeds = [
            r#"{"type":"message","message":"hi","cid":"c"}"#,
            r#"{"type":"history","before":3,"limit":2}"#,
            r#"{"type":"rename","username":"bob"}"#,
            r#"{"type":"typing","active":true}"#,
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = seeds[(state % 4) as usize].as_bytes().to_vec();
            for k in 0..(state >> 60) {
                let at = ((state >> (8 * (k % 7))) as usize) % bytes.len();
                bytes[at] = (state >> (k * 3)) as u8 % 128;
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            match parse(text) {
                Ok(ClientFrame::Message { message, .. }) => {
                    assert!(!message.trim().is_empty());
                    assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
                }
                Ok(_) => {}
                Err(refusal) => assert!(!refusal.message.is_empty()),
            }
        }
    }

    #[test]
    fn refusal_of_malformed_frame_keeps_its_cid() {
        let refusal = parse(r#"{"type":"message","message":7,"cid":"abc"}"#).unwrap_err();
        assert_eq!(refusal.cid.as_deref(), Some("abc"));
    }

    #[test]
    fn server_frames_have_the_documented_shape() {
        let message = ChatMessage {
            id: "u".into(),
            seq: 3,
            room: LOBBY.into(),
            username: "alice".into(),
            message: "hi".into(),
            timestamp: 42,
            cid: Some("c".into()),
        };
        let value: Value = serde_json::from_str(&encode(&ServerFrame::Message(&message))).unwrap();
        assert_eq!(
            value,
            json!({"type":"message","id":"u","seq":3,"room":"lobby","username":"alice",
                   "message":"hi","timestamp":42,"cid":"c"})
        );
        let refusal = Refusal::new(ErrorCode::TooLong, "long").with_cid(Some("c".into()));
        let value: Value = serde_json::from_str(&encode(&ServerFrame::error(&refusal))).unwrap();
        assert_eq!(
            value,
            json!({"type":"error","code":"too_long","message":"long","cid":"c"})
        );
        let refusal = Refusal::new(ErrorCode::RateLimited, "slow")
            .retry_after(std::time::Duration::from_micros(150_001));
        let value: Value = serde_json::from_str(&encode(&ServerFrame::error(&refusal))).unwrap();
        assert_eq!(
            value,
            json!({"type":"error","code":"rate_limited","message":"slow","retry_after_ms":151})
        );
    }

    #[test]
    fn welcome_has_the_documented_shape() {
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            username: "al\"ice",
            room: LOBBY,
            seq: 7,
            history_id: "h",
            online: 2,
            complete: true,
            claimed: false,
            token: None,
            limits: Limits {
                rate: 5.0,
                burst: 10,
                message_chars: 4000,
                frame_bytes: 65536,
            },
            rooms: Vec::new(),
            invitations: Vec::new(),
        };
        let value: Value =
            serde_json::from_str(&with_users(&welcome, r#"["al\"ice","bob"]"#)).unwrap();
        assert_eq!(
            value,
            json!({"type":"welcome","protocol":1,"username":"al\"ice","room":"lobby",
                   "users":["al\"ice","bob"],"seq":7,"history_id":"h","online":2,
                   "complete":true,"claimed":false,
                   "limits":{"rate":5.0,"burst":10,"message_chars":4000,"frame_bytes":65536}})
        );
    }

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
        let frame = history_frame("lobby", [r#"{"seq":1}"#, r#"{"seq":2}"#], true);
        let value: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            value,
            json!({"type":"history","room":"lobby","messages":[{"seq":1},{"seq":2}],"has_more":true})
        );
        let empty: Value = serde_json::from_str(&history_frame("lobby", [], false)).unwrap();
        assert_eq!(empty["messages"], json!([]));
    }
}
