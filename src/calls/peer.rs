//! One participant inside the SFU: its WebRTC session (a str0m `Rtc`), what
//! it sends, and the other participants' tracks forwarded to it.
//!
//! A page offers once, with one m-line per role (microphone, camera,
//! screen, the screen's sound) and says which mid is which. The server
//! answers, and from then on only the server offers: each track of another
//! participant that starts sending becomes an m-line of this peer's
//! (`sendonly` from the server), and goes again when that participant
//! leaves. One offer is outstanding at a time; what changes meanwhile waits
//! for the answer.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::net::Transmit;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcError};

use crate::protocol::TrackRole;

/// A participant, as the SFU knows it.
pub type Pid = u64;
/// A call: the participants whose media reach each other.
pub type CallId = u64;

/// New viewers and lossy links ask a sender for keyframes; a sender asked
/// more often than this sends one at the end of the gap instead. A keyframe
/// of a shared screen is many times the size of the frames between, so
/// thirty viewers joining at once must not each cost one.
pub const KEYFRAME_GAP: Duration = Duration::from_secs(1);
/// A peer whose media has not reached the server this long after its offer
/// never will (a firewall, a wrong address): it is told so.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// ICE-lite calls a peer disconnected after 15 s without a check from it,
/// and connected again at the next. One still disconnected this much later
/// is gone (a closed laptop, a network left).
pub const LOST_AFTER: Duration = Duration::from_secs(15);

/// One track a participant sends, by the mid of its m-line with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    pub pid: Pid,
    pub mid: Mid,
}

/// Which of its media the server forwards: at most so many cameras and
/// one screen per call, decided by [`super::Calls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allowed {
    pub camera: bool,
    pub screen: bool,
}

impl Allowed {
    pub fn role(self, role: TrackRole) -> bool {
        match role {
            TrackRole::Mic => true,
            TrackRole::Camera => self.camera,
            TrackRole::Screen | TrackRole::ScreenAudio => self.screen,
        }
    }
}

/// Why a peer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Its media stopped arriving (the tab closed, the network went).
    Lost,
    /// Its media never reached the server.
    Unreachable,
}

/// What polling a peer brought up, for the SFU to act on. Nearly every one
/// is `Media`, so boxing it would only add an allocation per frame.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Happened {
    /// Media it sent, to forward to the others in its call.
    Media(TrackRole, MediaData),
    /// It wants a keyframe of a track it receives: of this source.
    Keyframe(Source, KeyframeRequestKind),
    Gone(Gone),
}

/// Where a forwarded track stands in this peer's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forward {
    /// Wanted; in the next offer.
    ToOpen,
    /// In the outstanding offer.
    Negotiating(Mid),
    Open(Mid),
    /// Its sender left; stopped in the next offer.
    ToStop(Mid),
    Stopping(Mid),
}

#[derive(Debug)]
struct Outgoing {
    role: TrackRole,
    kind: MediaKind,
    state: Forward,
}

/// Keyframe requests to one of this peer's own tracks.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    /// One that came within the gap, sent when it ends.
    waiting: Option<KeyframeRequestKind>,
}

pub struct Peer {
    pub pid: Pid,
    pub call: CallId,
    pub rtc: Rtc,
    /// What the page said each of its m-lines sends.
    roles: HashMap<Mid, TrackRole>,
    /// Its tracks that have sent media: the others receive them.
    pub sending: HashMap<Mid, (TrackRole, MediaKind)>,
    /// The others' tracks forwarded to it.
    outgoing: HashMap<Source, Outgoing>,
    pending: Option<SdpPendingOffer>,
    pub allowed: Allowed,
    created: Instant,
    connected: bool,
    /// Since when ICE has called it disconnected.
    disconnected: Option<Instant>,
    /// When it next needs `Input::Timeout`.
    pub timeout: Instant,
    keyframes: HashMap<Mid, Throttle>,
}

impl Peer {
    /// A peer for `offer`, reachable at `candidates` (the server's
    /// addresses on the RTC port), with the answer to send back.
    pub fn accept(
        pid: Pid,
        call: CallId,
        offer: SdpOffer,
        roles: HashMap<Mid, TrackRole>,
        allowed: Allowed,
        candidates: &[Candidate],
        now: Instant,
    ) -> Result<(Peer, SdpAnswer), RtcError> {
        // VP8 and Opus only: every browser and aiortc speaks them, and an
        // SFU can only forward a codec every receiver decodes.
        let mut rtc = Rtc::builder()
            .set_crypto_provider(super::crypto::provider())
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        for candidate in candidates {
            rtc.add_local_candidate(candidate.clone());
        }
        let answer = rtc.sdp_api().accept_offer(offer)?;
        let peer = Peer {
            pid,
            call,
            rtc,
            roles,
            sending: HashMap::new(),
            outgoing: HashMap::new(),
            pending: None,
            allowed,
            created: now,
            connected: false,
            disconnected: None,
            timeout: now,
            keyframes: HashMap::new(),
        };
        Ok((peer, answer))
    }

    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), RtcError> {
        self.rtc.handle_input(input)
    }

    /// Drives the session until it has nothing more to say: datagrams go to
    /// `transmit`, what the SFU must act on comes back.
    pub fn poll(&mut self, now: Instant, transmit: &mut impl FnMut(Transmit)) -> Vec<Happened> {
        let mut happened = Vec::new();
        if !self.connected && now.duration_since(self.created) > CONNECT_TIMEOUT {
            happened.push(Happened::Gone(Gone::Unreachable));
            return happened;
        }
        if self
            .disconnected
            .is_some_and(|since| now.duration_since(since) > LOST_AFTER)
        {
            happened.push(Happened::Gone(Gone::Lost));
            return happened;
        }
        loop {
            if !self.rtc.is_alive() {
                happened.push(Happened::Gone(Gone::Lost));
                return happened;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.timeout = at.min(self.keyframe_deadline().unwrap_or(at));
                    return happened;
                }
                Ok(Output::Transmit(datagram)) => transmit(datagram),
                Ok(Output::Event(event)) => self.event(event, &mut happened),
                Err(err) => {
                    log::debug!("call peer {}: {err}", self.pid);
                    self.rtc.disconnect();
                }
            }
        }
    }

    fn event(&mut self, event: Event, happened: &mut Vec<Happened>) {
        match event {
            Event::Connected => self.connected = true,
            Event::IceConnectionStateChange(state) => {
                self.disconnected = match state {
                    IceConnectionState::Disconnected => {
                        Some(self.disconnected.unwrap_or_else(Instant::now))
                    }
                    _ => None,
                };
            }
            Event::MediaData(data) => {
                let Some(&role) = self.roles.get(&data.mid) else {
                    return;
                };
                if !self.allowed.role(role) {
                    return;
                }
                if !data.contiguous {
                    // Frames were lost on the way in: everyone downstream
                    // needs a fresh start.
                    self.request_keyframe(data.mid, KeyframeRequestKind::Pli, Instant::now());
                }
                let kind = if matches!(role, TrackRole::Mic | TrackRole::ScreenAudio) {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                self.sending.entry(data.mid).or_insert((role, kind));
                happened.push(Happened::Media(role, data));
            }
            Event::KeyframeRequest(request) => {
                let source = self.outgoing.iter().find_map(|(source, out)| {
                    matches!(out.state, Forward::Open(mid) if mid == request.mid).then_some(*source)
                });
                if let Some(source) = source {
                    happened.push(Happened::Keyframe(source, request.kind));
                }
            }
            _ => {}
        }
    }

    /// Forwards `data` of `source` if its track is open here; a source not
    /// seen before is added to the next offer. Returns whether anything was
    /// written (then the peer needs polling).
    pub fn forward(&mut self, source: Source, role: TrackRole, data: &MediaData) -> bool {
        let kind = if matches!(role, TrackRole::Mic | TrackRole::ScreenAudio) {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        let out = self.outgoing.entry(source).or_insert(Outgoing {
            role,
            kind,
            state: Forward::ToOpen,
        });
        let Forward::Open(mid) = out.state else {
            return false;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return false;
        };
        let writer = match (data.ext_vals.audio_level, data.ext_vals.voice_activity) {
            // Kept, so a receiving page can see who is speaking.
            (Some(level), Some(voice)) => writer.audio_level(level, voice),
            _ => writer,
        };
        if let Err(err) = writer.write(pt, data.network_time, data.time, data.data.clone()) {
            log::debug!("call peer {}: cannot forward: {err}", self.pid);
        }
        true
    }

    /// Tracks of `sources` this peer should receive (a newcomer catching up
    /// with those already sending).
    pub fn want(&mut self, sources: impl IntoIterator<Item = (Source, TrackRole, MediaKind)>) {
        for (source, role, kind) in sources {
            self.outgoing.entry(source).or_insert(Outgoing {
                role,
                kind,
                state: Forward::ToOpen,
            });
        }
    }

    /// Stops receiving whatever `pid` sent: it left.
    pub fn forget(&mut self, pid: Pid) {
        self.outgoing.retain(|source, out| {
            if source.pid != pid {
                return true;
            }
            match out.state {
                Forward::ToOpen => false,
                Forward::Negotiating(mid) | Forward::Open(mid) => {
                    out.state = Forward::ToStop(mid);
                    true
                }
                Forward::ToStop(_) | Forward::Stopping(_) => true,
            }
        });
    }

    /// The next offer, if tracks are waiting to open or stop and no offer
    /// is outstanding.
    pub fn negotiate(&mut self) -> Option<SdpOffer> {
        if self.pending.is_some() {
            return None;
        }
        let mut change = self.rtc.sdp_api();
        for (source, out) in &mut self.outgoing {
            match out.state {
                Forward::ToOpen => {
                    let stream = format!("p{}.{}", source.pid, out.role.stream());
                    let track = format!("p{}.{}", source.pid, role_name(out.role));
                    let mid = change.add_media(
                        out.kind,
                        Direction::SendOnly,
                        Some(stream),
                        Some(track),
                        None,
                    );
                    out.state = Forward::Negotiating(mid);
                }
                Forward::ToStop(mid) => {
                    change.stop_media(mid);
                    out.state = Forward::Stopping(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return None;
        }
        let (offer, pending) = change.apply()?;
        self.pending = Some(pending);
        Some(offer)
    }

    /// The page's answer to our offer.
    pub fn accept_answer(&mut self, answer: SdpAnswer) -> Result<Vec<Source>, RtcError> {
        let Some(pending) = self.pending.take() else {
            return Ok(Vec::new());
        };
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        let mut opened = Vec::new();
        for (source, out) in &mut self.outgoing {
            if let Forward::Negotiating(mid) = out.state {
                out.state = Forward::Open(mid);
                if out.kind == MediaKind::Video {
                    opened.push(*source);
                }
            }
        }
        self.outgoing
            .retain(|_, out| !matches!(out.state, Forward::Stopping(_)));
        Ok(opened)
    }

    /// Asks this peer for a keyframe of its track `mid`, at most once per
    /// [`KEYFRAME_GAP`].
    pub fn request_keyframe(&mut self, mid: Mid, kind: KeyframeRequestKind, now: Instant) {
        let throttle = self.keyframes.entry(mid).or_default();
        if throttle.last.is_some_and(|last| now < last + KEYFRAME_GAP) {
            throttle.waiting = Some(kind);
            return;
        }
        throttle.last = Some(now);
        throttle.waiting = None;
        if let Some(mut writer) = self.rtc.writer(mid) {
            let _ = writer.request_keyframe(None, kind);
        }
    }

    /// Sends the keyframe requests whose gap has ended.
    pub fn flush_keyframes(&mut self, now: Instant) {
        let due: Vec<(Mid, KeyframeRequestKind)> = self
            .keyframes
            .iter()
            .filter_map(|(mid, throttle)| {
                let kind = throttle.waiting?;
                let last = throttle.last?;
                (now >= last + KEYFRAME_GAP).then_some((*mid, kind))
            })
            .collect();
        for (mid, kind) in due {
            self.request_keyframe(mid, kind, now);
        }
    }

    fn keyframe_deadline(&self) -> Option<Instant> {
        self.keyframes
            .values()
            .filter(|throttle| throttle.waiting.is_some())
            .filter_map(|throttle| throttle.last.map(|last| last + KEYFRAME_GAP))
            .min()
    }

    /// When the peer must be given up if its media has not arrived, or has
    /// not come back.
    pub fn connect_deadline(&self) -> Option<Instant> {
        let margin = Duration::from_millis(1);
        match self.disconnected {
            Some(since) => Some(since + LOST_AFTER + margin),
            None => (!self.connected).then_some(self.created + CONNECT_TIMEOUT + margin),
        }
    }
}

/// A forwarded track's id, as its `msid` carries it.
fn role_name(role: TrackRole) -> &'static str {
    match role {
        TrackRole::Mic => "mic",
        TrackRole::Camera => "camera",
        TrackRole::Screen => "screen",
        TrackRole::ScreenAudio => "screen_audio",
    }
}
