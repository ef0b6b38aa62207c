//! Frames from a client, and how raw text becomes one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ErrorCode, HostAction, HostSecret, LOBBY, Refusal, TrackRole};

/// Longest client id we store; a uuid needs 36.
pub const MAX_CID_CHARS: usize = 64;

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a chat message (to `lobby` unless `room` says otherwise).
    /// `cid` makes retries idempotent.
    Message {
        /// The text; may be empty (`""`) when the message shares files.
        message: String,
        #[serde(default)]
        cid: Option<String>,
        #[serde(default)]
        room: Option<String>,
        /// Ids of finished uploads to share (see `/api/uploads`).
        #[serde(default)]
        files: Vec<String>,
        /// The seq of the message this one answers.
        #[serde(default)]
        reply_to: Option<u64>,
    },
    /// Change the text of one's own message `target` (its seq).
    Edit {
        target: u64,
        message: String,
        #[serde(default)]
        cid: Option<String>,
        #[serde(default)]
        room: Option<String>,
    },
    /// Delete one's own message `target`; a tombstone stays.
    Delete {
        target: u64,
        #[serde(default)]
        cid: Option<String>,
        #[serde(default)]
        room: Option<String>,
    },
    /// Add (`on`) or take back one's reaction `emoji` on message `target`.
    React {
        target: u64,
        emoji: String,
        on: bool,
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
    /// `limit` of them; with `after`, the oldest `limit` with `seq > after`
    /// (paging forward from a jump); or, with `since`, every change after
    /// it (a resume).
    History {
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        after: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        since: Option<u64>,
        /// The page around message `around` (a jump to a search result), or
        /// around the first message at or after `at` (ms; a jump to a date):
        /// half before it, half from it on.
        #[serde(default)]
        around: Option<u64>,
        #[serde(default)]
        at: Option<i64>,
    },
    /// Search what this user can read now (see src/protocol/README.md for the query
    /// language). `before` continues from a `next` cursor.
    Search {
        query: String,
        #[serde(default)]
        before: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
        /// The searcher's time zone, minutes east of UTC, for dates.
        #[serde(default)]
        offset: Option<i32>,
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
    /// Mark every room read up to its latest message.
    ReadAll,
    /// Change this user's notification settings for a room: `muted` (no
    /// badge, no sound) and `notify` ("all", "mentions" or "nothing").
    /// What is left out stays as it was.
    RoomSettings {
        room: String,
        #[serde(default)]
        muted: Option<bool>,
        #[serde(default)]
        notify: Option<String>,
    },
    /// List the public rooms.
    ListRooms,
    /// Online names starting with `prefix` (any letter case): how a client
    /// finds people once the lobby is too big to list everyone.
    Who {
        #[serde(default)]
        prefix: Option<String>,
    },
    /// Start a call in a room or direct message, or join the one going on.
    CallStart {
        room: String,
    },
    /// Join the call going on in a room.
    CallJoin {
        room: String,
    },
    CallLeave {
        room: String,
    },
    /// Not answering a call: the others hear who declined.
    CallDecline {
        room: String,
    },
    /// This connection's WebRTC offer (SDP), and what each of its m-lines
    /// sends, by mid.
    CallOffer {
        room: String,
        sdp: String,
        #[serde(default)]
        tracks: BTreeMap<String, TrackRole>,
    },
    /// The answer to the server's offer.
    CallAnswer {
        room: String,
        sdp: String,
    },
    /// One of this connection's ICE candidates (`candidate:...`).
    CallCandidate {
        room: String,
        candidate: String,
    },
    /// What this participant sends now: microphone, camera, screen.
    CallMedia {
        room: String,
        audio: bool,
        video: bool,
        screen: bool,
    },
    /// Raise (`up`) or lower one's hand in a room (the lobby unless `room`
    /// says).
    Hand {
        up: bool,
        #[serde(default)]
        room: Option<String>,
    },
    /// A host action; without the host secret it is `forbidden`. A
    /// refusal carries `cid`, so the page knows which action it answers.
    Host {
        #[serde(default)]
        secret: Option<HostSecret>,
        #[serde(default)]
        cid: Option<String>,
        #[serde(flatten)]
        action: HostAction,
    },
}

impl ClientFrame {
    /// The room a frame is about, if any (`lobby` when a frame that may
    /// name one does not).
    pub fn room(&self) -> Option<&str> {
        match self {
            ClientFrame::Message { room, .. }
            | ClientFrame::Edit { room, .. }
            | ClientFrame::Delete { room, .. }
            | ClientFrame::React { room, .. }
            | ClientFrame::Typing { room, .. }
            | ClientFrame::History { room, .. }
            | ClientFrame::Hand { room, .. } => Some(room.as_deref().unwrap_or(LOBBY)),
            ClientFrame::CreateRoom { room, .. }
            | ClientFrame::JoinRoom { room, .. }
            | ClientFrame::LeaveRoom { room }
            | ClientFrame::Invite { room, .. }
            | ClientFrame::InviteLink { room }
            | ClientFrame::Read { room, .. }
            | ClientFrame::RoomSettings { room, .. }
            | ClientFrame::CallStart { room }
            | ClientFrame::CallJoin { room }
            | ClientFrame::CallLeave { room }
            | ClientFrame::CallDecline { room }
            | ClientFrame::CallOffer { room, .. }
            | ClientFrame::CallAnswer { room, .. }
            | ClientFrame::CallCandidate { room, .. }
            | ClientFrame::CallMedia { room, .. } => Some(room),
            _ => None,
        }
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
    let checked = match &frame {
        ClientFrame::Message {
            message,
            cid,
            files,
            ..
        } => check_message(message, cid.as_deref(), !files.is_empty(), max_chars)
            .map_err(|refusal| refusal.with_cid(cid.clone())),
        // An edit cannot empty a message: that is what delete is for.
        ClientFrame::Edit { message, cid, .. } => {
            check_message(message, cid.as_deref(), false, max_chars)
                .map_err(|refusal| refusal.with_cid(cid.clone()))
        }
        ClientFrame::Delete { cid, .. }
        | ClientFrame::React { cid, .. }
        | ClientFrame::Host { cid, .. } => {
            check_cid(cid.as_deref()).map_err(|refusal| refusal.with_cid(cid.clone()))
        }
        _ => Ok(()),
    };
    checked.map(|()| frame)
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

fn check_cid(cid: Option<&str>) -> Result<(), Refusal> {
    if cid.is_some_and(|cid| cid.is_empty() || cid.chars().count() > MAX_CID_CHARS) {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("cid must be 1 to {MAX_CID_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_message(
    message: &str,
    cid: Option<&str>,
    shares_files: bool,
    max_chars: usize,
) -> Result<(), Refusal> {
    check_cid(cid)?;
    if message.trim().is_empty() && !shares_files {
        return Err(Refusal::new(ErrorCode::Empty, "message is empty"));
    }
    let chars = message.chars().count();
    if chars > max_chars {
        return Err(Refusal::new(
            ErrorCode::TooLong,
            format!("message is {chars} characters; the limit is {max_chars}"),
        )
        .detail("too_many_chars")
        .param("chars", chars)
        .param("max", max_chars));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_MESSAGE_CHARS;
    use serde_json::json;

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
                files: Vec::new(),
                reply_to: None,
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
                after: None,
                limit: Some(5),
                room: None,
                since: None,
                around: None,
                at: None,
            })
        );
    }

    #[test]
    fn parses_call_frames() {
        let offer = parse(
            r#"{"type":"call_offer","room":"dm:ab","sdp":"v=0","tracks":{"0":"mic","1":"camera","2":"screen","3":"screen_audio"}}"#,
        )
        .unwrap();
        let ClientFrame::CallOffer { room, sdp, tracks } = offer else {
            panic!("not an offer");
        };
        assert_eq!((room.as_str(), sdp.as_str()), ("dm:ab", "v=0"));
        assert_eq!(tracks["1"], TrackRole::Camera);
        assert_eq!(tracks["3"], TrackRole::ScreenAudio);
        assert_eq!(
            parse(r#"{"type":"call_media","room":"x","audio":true,"video":false,"screen":true}"#)
                .unwrap()
                .room(),
            Some("x")
        );
        let refusal =
            parse(r#"{"type":"call_offer","room":"x","sdp":"v=0","tracks":{"0":"webcam"}}"#)
                .unwrap_err();
        assert_eq!(refusal.code, ErrorCode::BadRequest);
        assert!(
            parse(r#"{"type":"call_join"}"#).is_err(),
            "a call is in a room"
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
                Ok(ClientFrame::Message { message, files, .. }) => {
                    assert!(!message.trim().is_empty() || !files.is_empty());
                    assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
                }
                Ok(_) => {}
                Err(refusal) => assert!(!refusal.message.is_empty()),
            }
        }
    }

    #[test]
    fn host_frames_carry_their_action_and_hide_the_secret() {
        let frame = parse(
            r#"{"type":"host","secret":"s3cr3t","cid":"h1","action":"kick","username":"bob"}"#,
        )
        .unwrap();
        assert_eq!(
            frame,
            ClientFrame::Host {
                secret: Some(HostSecret("s3cr3t".into())),
                cid: Some("h1".into()),
                action: HostAction::Kick {
                    username: "bob".into(),
                    reason: String::new(),
                },
            }
        );
        assert!(!format!("{frame:?}").contains("s3cr3t"));
        let bare = parse(r#"{"type":"host","action":"hello"}"#).unwrap();
        assert!(matches!(bare, ClientFrame::Host { secret: None, .. }));
        let refusal = parse(r#"{"type":"host","secret":"s3cr3t","action":"dance"}"#).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::BadRequest);
        assert!(!refusal.message.contains("s3cr3t"), "{}", refusal.message);
    }

    #[test]
    fn a_message_sharing_files_may_have_no_text() {
        let frame = parse(r#"{"type":"message","message":"","files":["f1"]}"#).unwrap();
        assert!(matches!(frame, ClientFrame::Message { files, .. } if files == ["f1"]));
        let refusal = parse(r#"{"type":"message","message":" ","files":[]}"#).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::Empty);
    }

    #[test]
    fn refusal_of_malformed_frame_keeps_its_cid() {
        let refusal = parse(r#"{"type":"message","message":7,"cid":"abc"}"#).unwrap_err();
        assert_eq!(refusal.cid.as_deref(), Some("abc"));
    }
}
