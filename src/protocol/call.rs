//! What calls put on the wire besides their frames: who is in a call, what
//! each of a participant's tracks carries, the limits a page keeps to, and
//! the events a call leaves in its room's history.

use serde::{Deserialize, Serialize};

/// What one of a participant's sending tracks carries. A page offers one
/// m-line of each and says which is which by mid, so turning a camera or a
/// screen share on or off never needs a new offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackRole {
    Mic,
    Camera,
    Screen,
    /// The sound of a shared screen or tab (a game, a video).
    ScreenAudio,
}

impl TrackRole {
    /// The stream a forwarded track is part of, as receivers see it in its
    /// `msid`: a participant's microphone and camera play together as one
    /// stream, its screen and the screen's sound as another.
    pub fn stream(self) -> &'static str {
        match self {
            TrackRole::Mic | TrackRole::Camera => "main",
            TrackRole::Screen | TrackRole::ScreenAudio => "screen",
        }
    }
}

/// One person in a call, as everyone in the room sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Stands for this participant in the calls' media: a forwarded track's
    /// stream id is `p<id>.main` or `p<id>.screen`.
    pub id: u64,
    pub username: String,
    /// Whether the microphone, camera and screen share are on.
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

/// A room's call as its members see it. With no participants the call is
/// over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSummary {
    pub room: String,
    /// Names this call; its history events carry the same.
    pub call: String,
    /// When it started, ms since the epoch.
    pub started: i64,
    pub started_by: String,
    pub participants: Vec<Participant>,
}

/// What calls on this server allow, announced in `welcome`'s `limits`, so a
/// page caps what it sends before the server has to refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallLimits {
    /// Most cameras on at once in one call.
    pub cameras: u32,
    /// Most a camera may send, in kbit/s.
    pub camera_kbps: u32,
    /// Most a screen share may send, in kbit/s, and frames a second.
    pub screen_kbps: u32,
    pub screen_fps: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_participant_s_camera_and_mic_share_a_stream() {
        assert_eq!(TrackRole::Mic.stream(), TrackRole::Camera.stream());
        assert_ne!(TrackRole::Camera.stream(), TrackRole::Screen.stream());
        assert_eq!(TrackRole::Screen.stream(), TrackRole::ScreenAudio.stream());
    }
}
