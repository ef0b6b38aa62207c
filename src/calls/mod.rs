//! Calls: who is in which room's call, what they send, and the SFU that
//! forwards their media.
//!
//! A call belongs to a room or a direct message, and only its members may
//! start, join or signal in it (the commands check, in
//! `commands/calls.rs`). Each participant is one connection (a tab); the
//! same person joining from another tab or device moves there. Everyone in
//! the room hears a `call` frame whenever the call changes, so pages show
//! who is in it and ring for a direct message.
//!
//! The parts:
//! - [`sfu`]: the thread that owns the WebRTC sessions and the RTC port's
//!   sockets, and forwards media;
//! - [`peer`]: one participant's session inside it;
//! - [`net`]: the addresses advertised and the sockets bound;
//! - [`crypto`]: DTLS, SRTP and the rest of WebRTC's crypto, in Rust.
//!
//! Media never touches the disk. What the history keeps is that a call
//! started and that it ended, how long it lasted and how many took part,
//! as system events (see [`crate::protocol::SystemEvent`]).

mod crypto;
mod net;
mod peer;
mod sfu;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Mid;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::audience::Audience;
use crate::clock::now_millis;
use crate::hub::{Hub, Outbound};
use crate::ids::{ConnId, UserId};
use crate::protocol::{
    CallLimits, CallSummary, ErrorCode, Participant, Refusal, ServerFrame, SystemEvent, TrackRole,
    encode,
};
use crate::rooms::Rooms;
use crate::store::{Entry, NewMessage, Store};
use crate::sync::lock;
use peer::{Allowed, Gone, Pid};
use sfu::{Command, Sfu, SfuEvent};

/// How calls are set up, from the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The RTC port; `None`: the HTTP port.
    pub port: Option<u16>,
    /// Addresses to advertise; empty: this machine's own (see [`net`]).
    pub addresses: Vec<IpAddr>,
    pub limits: CallLimits,
}

/// Where the SFU listens, for the banner.
pub struct Listening {
    pub port: u16,
    pub addresses: Vec<IpAddr>,
    /// Set when the port asked for was busy and another was taken.
    pub note: Option<String>,
}

/// Handle to the calls. Cheap to clone.
#[derive(Clone)]
pub struct Calls {
    inner: Arc<Inner>,
}

struct Inner {
    /// Who is in which call. Held for lookups and updates only, never
    /// across `.await` or a send to the SFU.
    state: Mutex<State>,
    /// Signalling for the SFU thread; unset until it started (and forever
    /// with calls off). Bounded, see [`sfu::COMMAND_QUEUE`]: a sender finding
    /// it full waits for room (see [`Calls::tell_sfu`]).
    sfu: OnceLock<mpsc::Sender<Command>>,
    settings: Option<Settings>,
    hub: Hub,
    rooms: Rooms,
    store: Store,
}

#[derive(Default)]
struct State {
    /// Each room's call.
    calls: HashMap<String, Call>,
    /// The call each participating connection is in (its room).
    by_conn: HashMap<ConnId, String>,
    /// The connection behind each participant.
    by_pid: HashMap<Pid, ConnId>,
    /// Numbers participants and calls; never reused while running.
    next: u64,
}

struct Call {
    id: peer::CallId,
    /// Names the call in its history events.
    name: String,
    started: i64,
    started_at: Instant,
    /// Who started it: its events say so.
    started_by: String,
    members: Vec<Member>,
    /// Everyone who took part, for "5 people".
    people: HashSet<UserId>,
}

struct Member {
    pid: Pid,
    conn: ConnId,
    user: UserId,
    username: Arc<str>,
    audio: bool,
    video: bool,
    screen: bool,
}

impl Member {
    fn allowed(&self) -> Allowed {
        Allowed {
            camera: self.video,
            screen: self.screen,
        }
    }
}

/// Who asks, as the commands know it.
pub struct Caller<'a> {
    pub conn: ConnId,
    pub user: &'a UserId,
    pub username: &'a Arc<str>,
}

impl Calls {
    /// The calls of a server; `None` settings turn calls off.
    pub fn new(settings: Option<Settings>, hub: Hub, rooms: Rooms, store: Store) -> Calls {
        Calls {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                sfu: OnceLock::new(),
                settings,
                hub,
                rooms,
                store,
            }),
        }
    }

    /// What calls allow, for `welcome`; `None` with calls off.
    pub fn limits(&self) -> Option<CallLimits> {
        self.inner.settings.as_ref().map(|settings| settings.limits)
    }

    /// Binds the RTC port (the HTTP port unless the settings name one) on
    /// the advertised addresses, and starts the SFU thread. Nothing to do
    /// with calls off.
    pub fn start(
        &self,
        bind: IpAddr,
        http_port: u16,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Option<Listening>> {
        let Some(settings) = &self.inner.settings else {
            return Ok(None);
        };
        let addresses = net::advertised(bind, &settings.addresses);
        let port = settings.port.unwrap_or(http_port);
        let (sockets, note) = net::bind(&addresses, port, settings.port.is_some())?;
        let port = sockets[0].local_addr()?.port();
        let (commands, queue) = mpsc::channel(sfu::COMMAND_QUEUE);
        let (events, heard) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("lanchat-sfu".into())
            .spawn(move || run_sfu(sockets, queue, events, shutdown))?;
        let _ = self.inner.sfu.set(commands);
        tokio::spawn(self.clone().follow(heard));
        Ok(Some(Listening {
            port,
            addresses,
            note,
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    fn sfu(&self) -> Result<&mpsc::Sender<Command>, Refusal> {
        self.inner
            .sfu
            .get()
            .ok_or_else(|| Refusal::new(ErrorCode::Unavailable, "calls are off on this server"))
    }

    /// Starts a call in `room`, or joins the one going on.
    pub async fn start_call(&self, caller: &Caller<'_>, room: &str) -> Result<(), Refusal> {
        self.sfu()?;
        self.enter(caller, room, true).await
    }

    /// Joins the call going on in `room`.
    pub async fn join(&self, caller: &Caller<'_>, room: &str) -> Result<(), Refusal> {
        self.sfu()?;
        self.enter(caller, room, false).await
    }

    async fn enter(&self, caller: &Caller<'_>, room: &str, may_start: bool) -> Result<(), Refusal> {
        // Out of whatever call this connection was in first.
        if let Some(pid) = self.take_out(caller.conn, "left") {
            self.tell_sfu(Command::Leave { pid }).await;
        }
        let mut started = None;
        let (pid, moved) = {
            let mut state = self.state();
            if !state.calls.contains_key(room) {
                if !may_start {
                    return Err(no_call(room));
                }
                state.next += 1;
                let id = state.next;
                let call = Call {
                    id,
                    name: uuid::Uuid::new_v4().simple().to_string(),
                    started: now_millis(),
                    started_at: Instant::now(),
                    started_by: caller.username.to_string(),
                    members: Vec::new(),
                    people: HashSet::new(),
                };
                started = Some(call.name.clone());
                state.calls.insert(room.to_owned(), call);
            }
            state.next += 1;
            let pid = state.next;
            let call = state.calls.get_mut(room).expect("just made sure");
            // The same person from another tab or device: they move here.
            let moved: Vec<Member> = extract(&mut call.members, |m| m.user == *caller.user);
            call.people.insert(caller.user.clone());
            call.members.push(Member {
                pid,
                conn: caller.conn,
                user: caller.user.clone(),
                username: caller.username.clone(),
                audio: false,
                video: false,
                screen: false,
            });
            for member in &moved {
                state.by_conn.remove(&member.conn);
                state.by_pid.remove(&member.pid);
            }
            state.by_conn.insert(caller.conn, room.to_owned());
            state.by_pid.insert(pid, caller.conn);
            (pid, moved)
        };
        if let Some(name) = started {
            let event = SystemEvent::CallStarted {
                call: name,
                username: caller.username.to_string(),
            };
            self.record(room, caller.conn, event);
        }
        for member in moved {
            self.tell_sfu(Command::Leave { pid: member.pid }).await;
            self.send_to(
                member.conn,
                encode(&ServerFrame::CallLeft {
                    room,
                    reason: "elsewhere",
                }),
            );
        }
        self.send_to(
            caller.conn,
            encode(&ServerFrame::CallJoined { room, id: pid }),
        );
        self.announce(room);
        Ok(())
    }

    /// This connection leaves `room`'s call.
    pub async fn leave(&self, conn: ConnId, room: &str) -> Result<(), Refusal> {
        if self.state().by_conn.get(&conn).map(String::as_str) != Some(room) {
            return Err(not_in_call(room));
        }
        if let Some(pid) = self.take_out(conn, "left") {
            self.tell_sfu(Command::Leave { pid }).await;
        }
        Ok(())
    }

    /// `username` does not answer `room`'s call; everyone in the room hears
    /// so (the caller's page stops waiting, the person's other tabs stop
    /// ringing).
    pub fn decline(&self, username: &str, room: &str) -> Result<(), Refusal> {
        if !self.state().calls.contains_key(room) {
            return Err(no_call(room));
        }
        let frame = encode(&ServerFrame::CallDeclined { room, username });
        self.inner
            .hub
            .send(&self.inner.rooms.audience(room), Outbound::event(frame));
        Ok(())
    }

    /// A page's offer: answered by the SFU, however long that takes. (A
    /// deadline here refused the last of thirty viewers joining at once on
    /// a loaded machine, while the SFU was busy with the others' DTLS
    /// handshakes.) The SFU answers every offer it takes; only a stopped
    /// SFU leaves one unanswered.
    pub async fn offer(
        &self,
        conn: ConnId,
        room: &str,
        sdp: &str,
        tracks: BTreeMap<String, TrackRole>,
    ) -> Result<String, Refusal> {
        let (pid, call, allowed) = {
            let state = self.state();
            let (call, member) = member_of(&state, conn, room)?;
            (member.pid, call.id, member.allowed())
        };
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|err| {
            Refusal::new(ErrorCode::BadRequest, format!("not an SDP offer: {err}"))
        })?;
        let roles: HashMap<Mid, TrackRole> = tracks
            .into_iter()
            .map(|(mid, role)| (Mid::from(mid.as_str()), role))
            .collect();
        let (reply, answer) = oneshot::channel();
        self.sfu()?
            .send(Command::Offer {
                pid,
                call,
                offer,
                roles,
                allowed,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        let answer = answer.await.map_err(|_| stopped())?;
        answer.map(|answer| answer.to_sdp_string()).map_err(|err| {
            Refusal::new(
                ErrorCode::BadRequest,
                format!("cannot accept the offer: {err}"),
            )
        })
    }

    /// A page's answer to the server's offer.
    pub async fn answer(&self, conn: ConnId, room: &str, sdp: &str) -> Result<(), Refusal> {
        let pid = self.pid_of(conn, room)?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|err| {
            Refusal::new(ErrorCode::BadRequest, format!("not an SDP answer: {err}"))
        })?;
        self.sfu()?
            .send(Command::Answer { pid, answer })
            .await
            .map_err(|_| stopped())
    }

    /// One of a page's trickled ICE candidates: checked, and not needed.
    /// The server is ICE-lite: it never checks towards a browser, and
    /// learns each browser's address from the browser's own checks (a
    /// peer-reflexive candidate, in str0m). So candidates never reach the
    /// SFU: thirty pages trickling half a dozen each add nothing to its
    /// queue, and a page sending thousands grows nothing.
    pub fn candidate(&self, conn: ConnId, room: &str) -> Result<(), Refusal> {
        self.pid_of(conn, room).map(|_| ())
    }

    /// What a participant sends now. A camera past the call's limit, or a
    /// second screen, is refused, and its media not forwarded.
    pub async fn media(
        &self,
        conn: ConnId,
        room: &str,
        audio: bool,
        video: bool,
        screen: bool,
    ) -> Result<(), Refusal> {
        let cameras = self.limits().map_or(0, |limits| limits.cameras as usize);
        let (pid, allowed) = {
            let mut state = self.state();
            member_of(&state, conn, room)?;
            let call = state.calls.get_mut(room).expect("member_of found it");
            let others = call.members.iter().filter(|m| m.conn != conn);
            if video && others.clone().filter(|m| m.video).count() >= cameras {
                return Err(Refusal::new(
                    ErrorCode::CamerasFull,
                    format!("{cameras} cameras are on in this call already"),
                ));
            }
            if screen && others.clone().any(|m| m.screen) {
                return Err(Refusal::new(
                    ErrorCode::ScreenTaken,
                    "someone else is sharing their screen",
                ));
            }
            let member = call
                .members
                .iter_mut()
                .find(|m| m.conn == conn)
                .expect("member_of found it");
            member.audio = audio;
            member.video = video;
            member.screen = screen;
            (member.pid, member.allowed())
        };
        self.tell_sfu(Command::Allow { pid, allowed }).await;
        self.announce(room);
        Ok(())
    }

    /// The connection closed: out of its call.
    pub async fn connection_closed(&self, conn: ConnId) {
        if let Some(pid) = self.take_out(conn, "left") {
            self.tell_sfu(Command::Leave { pid }).await;
        }
    }

    /// `user` left `room`: out of its call, on every connection. The SFU
    /// hears it from a task of its own, as the room's command does not
    /// wait on it.
    pub fn member_left(&self, room: &str, user: &UserId) {
        let conns: Vec<ConnId> = self
            .state()
            .calls
            .get(room)
            .map(|call| {
                call.members
                    .iter()
                    .filter(|m| m.user == *user)
                    .map(|m| m.conn)
                    .collect()
            })
            .unwrap_or_default();
        let pids: Vec<Pid> = conns
            .into_iter()
            .filter_map(|conn| self.take_out(conn, "removed"))
            .collect();
        if pids.is_empty() {
            return;
        }
        let calls = self.clone();
        tokio::spawn(async move {
            for pid in pids {
                calls.tell_sfu(Command::Leave { pid }).await;
            }
        });
    }

    /// The `call` frames of the calls going on in `rooms`, for a page that
    /// just connected.
    pub fn frames_for<'a>(&self, rooms: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let state = self.state();
        rooms
            .into_iter()
            .filter_map(|room| {
                let call = state.calls.get(room)?;
                Some(encode(&ServerFrame::Call(&summary(room, call))))
            })
            .collect()
    }

    fn pid_of(&self, conn: ConnId, room: &str) -> Result<Pid, Refusal> {
        let state = self.state();
        member_of(&state, conn, room).map(|(_, member)| member.pid)
    }

    /// Takes `conn` out of its call, telling it why; the last one out ends
    /// the call. Returns the participant the SFU must drop.
    fn take_out(&self, conn: ConnId, reason: &'static str) -> Option<Pid> {
        let (room, member, ended) = {
            let mut state = self.state();
            let room = state.by_conn.remove(&conn)?;
            let call = state.calls.get_mut(&room)?;
            let at = call.members.iter().position(|m| m.conn == conn)?;
            let member = call.members.remove(at);
            let ended = call.members.is_empty().then(|| {
                let call = state.calls.remove(&room).expect("just looked");
                let duration = call.started_at.elapsed();
                let summary = CallSummary {
                    room: room.clone(),
                    call: call.name.clone(),
                    started: call.started,
                    started_by: call.started_by.clone(),
                    participants: Vec::new(),
                };
                let event = SystemEvent::CallEnded {
                    call: call.name,
                    username: call.started_by,
                    duration_ms: duration.as_millis() as u64,
                    people: call.people.len() as u32,
                };
                (summary, event)
            });
            state.by_pid.remove(&member.pid);
            (room, member, ended)
        };
        log::debug!(
            "conn {conn}: {} left the call in {room} ({reason})",
            member.username
        );
        self.send_to(
            conn,
            encode(&ServerFrame::CallLeft {
                room: &room,
                reason,
            }),
        );
        match ended {
            Some((summary, event)) => {
                // Nobody in it: the call is over.
                self.broadcast(&room, encode(&ServerFrame::Call(&summary)));
                self.record(&room, conn, event);
            }
            None => self.announce(&room),
        }
        Some(member.pid)
    }

    /// Tells everyone in `room` how its call stands now.
    fn announce(&self, room: &str) {
        let frame = {
            let state = self.state();
            let Some(call) = state.calls.get(room) else {
                return;
            };
            encode(&ServerFrame::Call(&summary(room, call)))
        };
        self.broadcast(room, frame);
    }

    fn broadcast(&self, room: &str, frame: String) {
        let audience = self.inner.rooms.audience(room);
        self.inner.hub.send(&audience, Outbound::event(frame));
    }

    fn send_to(&self, conn: ConnId, frame: String) {
        self.inner
            .hub
            .send(&Audience::Connection(conn), Outbound::event(frame));
    }

    /// Signalling the SFU need not answer. A full queue makes the sender
    /// wait for room, never drops it: a burst of joins gets in, a `leave`
    /// is never lost (the SFU would go on forwarding to a gone peer), and
    /// a page flooding signalling only slows its own connection, whose
    /// next frame is not read until this one is queued. So the queue plus
    /// one command per connection is all signalling can hold.
    async fn tell_sfu(&self, command: Command) {
        if let Some(sfu) = self.inner.sfu.get()
            && sfu.send(command).await.is_err()
        {
            log::debug!("the SFU has stopped");
        }
    }

    /// Puts `event` in `room`'s history: a message from `system`, like a
    /// host action's, with the event in English for clients that do not
    /// know it.
    fn record(&self, room: &str, conn: ConnId, event: SystemEvent) {
        let message = NewMessage::system(room, conn, event);
        self.inner.store.append(Entry::Message(message));
    }

    /// Acts on what the SFU reports, until it stops.
    async fn follow(self, mut heard: mpsc::UnboundedReceiver<SfuEvent>) {
        while let Some(event) = heard.recv().await {
            match event {
                SfuEvent::Offer { pid, sdp } => {
                    let target = {
                        let state = self.state();
                        state
                            .by_pid
                            .get(&pid)
                            .and_then(|conn| Some((*conn, state.by_conn.get(conn)?.clone())))
                    };
                    if let Some((conn, room)) = target {
                        self.send_to(
                            conn,
                            encode(&ServerFrame::CallOffer {
                                room: &room,
                                sdp: &sdp,
                            }),
                        );
                    }
                }
                SfuEvent::Gone { pid, why } => {
                    let conn = self.state().by_pid.get(&pid).copied();
                    if let Some(conn) = conn {
                        let reason = match why {
                            Gone::Lost => "lost",
                            Gone::Unreachable => "unreachable",
                        };
                        // The SFU dropped the peer itself.
                        self.take_out(conn, reason);
                    }
                }
            }
        }
    }
}

/// The call in `room` and `conn`'s place in it, or `not_found`.
fn member_of<'a>(
    state: &'a State,
    conn: ConnId,
    room: &str,
) -> Result<(&'a Call, &'a Member), Refusal> {
    let call = state.calls.get(room).ok_or_else(|| not_in_call(room))?;
    let member = call
        .members
        .iter()
        .find(|m| m.conn == conn)
        .ok_or_else(|| not_in_call(room))?;
    Ok((call, member))
}

fn summary(room: &str, call: &Call) -> CallSummary {
    CallSummary {
        room: room.to_owned(),
        call: call.name.clone(),
        started: call.started,
        started_by: call.started_by.clone(),
        participants: call
            .members
            .iter()
            .map(|m| Participant {
                id: m.pid,
                username: m.username.to_string(),
                audio: m.audio,
                video: m.video,
                screen: m.screen,
            })
            .collect(),
    }
}

/// Removes and returns the items of `list` that `matches`.
fn extract<T>(list: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> Vec<T> {
    let mut taken = Vec::new();
    let mut at = 0;
    while at < list.len() {
        if matches(&list[at]) {
            taken.push(list.remove(at));
        } else {
            at += 1;
        }
    }
    taken
}

fn no_call(room: &str) -> Refusal {
    Refusal::new(ErrorCode::NotFound, format!("there is no call in {room}"))
}

fn not_in_call(room: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NotFound,
        format!("you are not in the call in {room}"),
    )
}

/// The SFU thread ended (the server is stopping, or it could not start).
fn stopped() -> Refusal {
    Refusal::new(ErrorCode::Unavailable, "calls have stopped on this server")
}

/// The SFU thread: its own single-threaded runtime, until the server stops.
fn run_sfu(
    sockets: Vec<std::net::UdpSocket>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<SfuEvent>,
    shutdown: CancellationToken,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            log::error!("cannot start the SFU: {err}");
            return;
        }
    };
    runtime.block_on(async move {
        let sockets = match sockets
            .into_iter()
            .map(tokio::net::UdpSocket::from_std)
            .collect::<std::io::Result<Vec<_>>>()
        {
            Ok(sockets) => sockets,
            Err(err) => {
                log::error!("cannot start the SFU: {err}");
                return;
            }
        };
        let sfu = match Sfu::new(sockets, events) {
            Ok(sfu) => sfu,
            Err(err) => {
                log::error!("cannot start the SFU: {err}");
                return;
            }
        };
        tokio::select! {
            _ = sfu.run(commands) => {}
            _ = shutdown.cancelled() => {}
        }
    });
}
