//! One WebSocket connection, from welcome to goodbye.
//!
//! A session runs as one task. It admits the connection (its name, and the
//! claim on it), sends `welcome` and the history replay, then loops: it
//! writes what the hub queued for it, reads the client's frames and hands
//! each to its command ([`crate::commands`]), pings, and ends typing that
//! went quiet. It leaves the hub however it ends. The parts:
//! - [`socket`]: writing frames, and closing without losing the close frame;
//! - [`flood`]: how fast the connection may talk;
//! - [`typing`]: its typing indicator;
//! - [`summary`]: rooms as its user sees them.

mod flood;
mod socket;
mod summary;
mod typing;

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use futures_util::{FutureExt as _, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

pub use summary::announce as announce_room;

use crate::audience::Audience;
use crate::calls::Calls;
use crate::files::Files;
use crate::host::{Host, Proof};
use crate::hub::{Backlog, Hub, Joined, Outbound};
use crate::identity::{Credential, Identity, Standing};
use crate::ids::{ConnId, UserId};
use crate::limits::{Admission, RateLimiter};
use crate::metrics;
use crate::protocol::{
    ClientFrame, ErrorCode, Frame, Invitation, LOBBY, Limits, PROTOCOL_VERSION, Refusal,
    ServerFrame, encode, history_frame, parse_client_frame, with_users,
};
use crate::rooms::{RoomError, Rooms};
use crate::store::{Page, Store};
use crate::upgrade::Socket;
use crate::username::parse_username;
use flood::Flood;
use typing::Typing;

/// Tunables a session needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Messages replayed on a plain connect.
    pub history: usize,
    /// Most messages replayed on a resume with `since`.
    pub resume_cap: usize,
    pub ping_interval: Duration,
    /// A connection silent this long (no frame, not even a pong) is closed.
    pub idle_timeout: Duration,
    /// A write that makes no progress this long closes the connection.
    pub write_timeout: Duration,
    pub max_message_chars: usize,
    /// How long after sending a message may be edited; `None`: always.
    pub edit_window: Option<Duration>,
    /// What `welcome` announces: the rate, message and frame limits.
    pub limits: Limits,
}

/// Everything a session shares with the rest of the server.
#[derive(Clone)]
pub struct Context {
    pub hub: Hub,
    pub store: Store,
    pub identity: Identity,
    pub rooms: Rooms,
    pub files: Files,
    /// Who is in which room's call, and the SFU.
    pub calls: Calls,
    /// The host's rules, and who is in host mode.
    pub host: Host,
    /// Event mode, if the server runs an event.
    pub event: Option<crate::event::Event>,
    /// Woken after each batch of the rooms' logs reaches the hub: what a
    /// bot's long poll waits on.
    pub logged: Arc<tokio::sync::Notify>,
    pub settings: Arc<Settings>,
    /// Message rate per username, shared so reconnecting does not reset it.
    pub rate_limiter: Arc<RateLimiter>,
    /// Cancelled when the server shuts down; sessions then close with 1001.
    pub shutdown: CancellationToken,
    /// Every live session holds a token, so shutdown can wait for them.
    pub sessions: TaskTracker,
}

/// How a session ended, for the close frame.
enum End {
    /// The client closed or vanished; nothing more to send.
    Gone,
    Close(CloseCode, &'static str),
}

/// What ends a session from outside.
enum Stop {
    Shutdown,
    TooSlow,
}

/// What a connection offers when it arrives, besides its name.
pub struct Arrival {
    /// Its proof of owning the name, if any.
    pub credential: Credential,
    /// The hash of the browser's id, if it offered one.
    pub browser: Option<String>,
    /// Resume after this seq.
    pub since: Option<u64>,
}

/// Runs one connection for `raw_username` (still percent-encoded), or turns
/// it away. The connection holds its `admission` (its place in the
/// connection limits) until it ends.
///
/// The connection is admitted and joins the hub here, before the future
/// is made, so the future holds the session alone: an `async fn` would keep
/// the arguments the session is made from beside it for the session's whole
/// life, part of every idle connection's memory.
pub fn run(
    socket: Socket,
    context: Context,
    raw_username: String,
    arrival: Arrival,
    admission: Admission,
) -> impl Future<Output = ()> + Send + 'static {
    let alive = context.sessions.token();
    let Arrival {
        credential,
        browser,
        since,
    } = arrival;
    let (username, standing) = match admit(&context, &raw_username, &credential) {
        Ok(admitted) => admitted,
        Err((refusal, reason)) => {
            let away = TurnedAway {
                socket,
                first: Some(encode(&ServerFrame::error(&refusal))),
                code: CloseCode::Policy,
                reason,
                _held: (admission, alive),
            };
            return Either::Right(Box::pin(away.close()));
        }
    };
    let owner = match &standing {
        Standing::Owner { user_id, .. } => Some(user_id),
        Standing::Anonymous => None,
    };
    if let Some(ban) = context.host.ban_on(&username, owner, browser.as_deref()) {
        log::info!("{username} was kept out: banned by the host");
        let removed = encode(&ServerFrame::Removed {
            reason: &ban.reason,
            banned: true,
            until: ban.until,
        });
        let away = TurnedAway {
            socket,
            first: Some(removed),
            code: CloseCode::Policy,
            reason: "banned by the host",
            _held: (admission, alive),
        };
        return Either::Right(Box::pin(away.close()));
    }
    if context.shutdown.is_cancelled() {
        let away = TurnedAway {
            socket,
            first: None,
            code: CloseCode::Away,
            reason: "server shutting down",
            _held: (admission, alive),
        };
        return Either::Right(Box::pin(away.close()));
    }
    let (user_id, issued) = match standing {
        Standing::Owner { user_id, issued } => (Some(user_id), issued),
        Standing::Anonymous => (None, None),
    };
    if let Some(user) = &user_id {
        // Owners keep a read mark in the lobby like in any room.
        let _ = context.rooms.join(user, LOBBY, None);
    }
    let joined = context.hub.join(
        &username,
        user_id.clone(),
        &neighbours_of(&context, user_id.as_ref()),
    );
    context.host.connected(joined.id, browser);
    log::debug!("conn {}: {username} connected", joined.id);
    let session = Session {
        socket,
        id: joined.id,
        username: Arc::from(username.as_str()),
        user_id,
        host: None,
        backlog: joined.backlog.clone(),
        replayed_upto: 0,
        last_heard: Instant::now(),
        flood: Flood::new(context.rate_limiter.rate(), std::time::Instant::now()),
        typing: Typing::new(),
        torn: false,
        context,
        _held: (admission, alive),
    };
    Either::Left(session.live(joined, issued, since))
}

/// A connection refused, banned or come as the server stops, with what it
/// holds until it is closed. Its future is boxed: it is rare, and inline it
/// would set the size of every session's.
struct TurnedAway {
    socket: Socket,
    /// Sent before the close, if any: an `error` or `removed` frame.
    first: Option<String>,
    code: CloseCode,
    reason: &'static str,
    _held: (Admission, TaskTrackerToken),
}

impl TurnedAway {
    async fn close(mut self) {
        match self.first.take() {
            Some(frame) => socket::send_and_close(self.socket, frame, self.code, self.reason).await,
            None => socket::close(&mut self.socket, self.code, self.reason).await,
        }
    }
}

/// Checks the name and the claim on it; a refusal comes with the reason for
/// its close frame.
fn admit(
    context: &Context,
    raw_username: &str,
    credential: &Credential,
) -> Result<(String, Standing), (Refusal, &'static str)> {
    let username =
        parse_username(raw_username, true).map_err(|bad| (bad.refusal(), "invalid username"))?;
    context
        .hub
        .check_look_alike(&username)
        .map_err(|refusal| (refusal, "name not available"))?;
    if context.host.is_bot_name(&username) {
        let refusal = Refusal::new(
            ErrorCode::NameTaken,
            format!("\"{username}\" is a bot's name; pick another name"),
        );
        return Err((refusal, "name not available"));
    }
    let standing = context
        .identity
        .check(&username, credential)
        .map_err(|refused| (refused.refusal(), "name not available"))?;
    Ok((username, standing))
}

/// One connection as its commands see it.
pub struct Session {
    socket: Socket,
    pub id: ConnId,
    /// The name it speaks as; another tab's rename changes it.
    pub username: Arc<str>,
    /// Set when this connection proved it owns its name.
    pub user_id: Option<UserId>,
    /// Set once this connection gave the host secret: it is in host mode.
    pub host: Option<Proof>,
    pub context: Context,
    backlog: Arc<Backlog>,
    /// The lobby's latest `seq` when history was replayed; live copies of
    /// lobby messages up to here were already sent.
    replayed_upto: u64,
    last_heard: Instant,
    flood: Flood,
    pub typing: Typing,
    /// A write of ours stopped part way through a frame.
    torn: bool,
    /// The connection's place in the limits, and the token shutdown waits
    /// for, both held until the session ends.
    _held: (Admission, TaskTrackerToken),
}

impl Session {
    /// The session's life: `welcome` and the history replay, then serving
    /// until it ends, then leaving the hub.
    ///
    /// An `async` block rather than an `async fn`: an `async fn` moves its
    /// arguments into locals and keeps both copies, the session twice
    /// (rust-lang/rust#62958).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn holds the session twice"
    )]
    fn live(
        mut self,
        joined: Joined,
        issued: Option<String>,
        since: Option<u64>,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            // The welcome runs once, boxed, so its state is not part of the
            // session's future for the rest of its life; nor is the roster
            // it sent.
            let welcomed = Box::pin(self.welcome(&joined, issued.as_deref(), since)).await;
            let outbound = joined.outbound;
            drop(joined.users);
            let end = match welcomed {
                Ok(()) => self.serve(outbound).await,
                Err(end) => end,
            };
            if let End::Close(code, reason) = end
                && !self.torn
            {
                socket::close(&mut self.socket, code, reason).await;
            }
            self.stop_typing();
            let context = &self.context;
            context.calls.connection_closed(self.id).await;
            if self.user_id.is_some() {
                context.identity.touch(&self.username);
            }
            // At shutdown nobody is leaving; everyone is about to reconnect.
            let announce = !context.shutdown.is_cancelled();
            let neighbours = neighbours_of(context, self.user_id.as_ref());
            context.host.disconnected(self.id);
            context.hub.leave(self.id, announce, &neighbours);
            log::debug!("conn {}: {} disconnected", self.id, self.username);
        }
    }

    /// Sends `welcome` and the history replay. Runs after joining the hub, so
    /// anything committed from here on is in the queue: no gap, and the
    /// overlap is dropped by `replayed_upto`.
    async fn welcome(
        &mut self,
        joined: &Joined,
        token: Option<&str>,
        since: Option<u64>,
    ) -> Result<(), End> {
        let settings = &self.context.settings;
        let limit = if since.is_some() {
            settings.resume_cap
        } else {
            settings.history
        };
        let replayed = self.context.store.replay(LOBBY, since, limit).await;
        let (page, latest) = replayed.map_err(|err| {
            log::warn!("conn {}: cannot replay history: {err:#}", self.id);
            End::Close(CloseCode::Error, "history is unavailable right now")
        })?;
        self.replayed_upto = latest;
        let welcome_rooms: Vec<String> = match &self.user_id {
            Some(user) => self
                .context
                .rooms
                .memberships(user)
                .into_iter()
                .map(|membership| membership.room)
                .collect(),
            None => Vec::new(),
        };
        if since.is_some() {
            metrics::get()
                .resume_messages
                .observe(page.messages.len() as f64);
        }
        let (rooms, invitations) = match &self.user_id {
            Some(user) => (
                summary::rooms_of(&self.context, user),
                self.context.rooms.invitations(user),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            username: &self.username,
            room: LOBBY,
            seq: latest,
            history_id: self.context.store.history_id(),
            online: joined.online,
            complete: joined.complete,
            claimed: self.user_id.is_some(),
            token,
            limits: settings.limits,
            rooms,
            invitations: invitations
                .iter()
                .map(|(room, name)| Invitation { room, name })
                .collect(),
        };
        let welcome = with_users(&welcome, &joined.users);
        self.write_now(welcome).await?;
        self.write_now(page_frame(LOBBY, &page)).await?;
        // The calls going on in its rooms, so its page can offer to join.
        let calls = self
            .context
            .calls
            .frames_for(welcome_rooms.iter().map(String::as_str));
        for frame in calls {
            self.write_now(frame).await?;
        }
        // What the host set in the rooms it can see: rules, pinned
        // announcements, and the hands raised there.
        let host = self.context.host.clone();
        let mut frames = Vec::new();
        for (room, rules) in host.ruled_rooms() {
            frames.push((room.clone(), crate::host::rules_frame(&room, rules)));
        }
        for pin in host.pins() {
            frames.push((pin.room.clone(), crate::host::pinned_frame(&pin)));
        }
        for (room, queue) in host.raised_hands() {
            frames.push((room.clone(), crate::host::hands_frame(&room, &queue)));
        }
        for (room, frame) in frames {
            if self.may_read(&room) {
                self.write_now(frame).await?;
            }
        }
        if let Some(event) = &self.context.event {
            self.write_now(event.frame()).await?;
        }
        Ok(())
    }

    /// Whether this connection may read `room`: the lobby, or a room its
    /// owned name belongs to.
    fn may_read(&self, room: &str) -> bool {
        room == LOBBY
            || self
                .user_id
                .as_ref()
                .is_some_and(|user| self.context.rooms.is_member(user, room))
    }

    async fn serve(&mut self, mut outbound: tokio::sync::mpsc::UnboundedReceiver<Outbound>) -> End {
        let settings = self.context.settings.clone();
        let shutdown = self.context.shutdown.clone();
        let backlog = self.backlog.clone();
        // Registered once for the session's life: a fresh wait per loop
        // turn took the shutdown token's shared lock twice per frame.
        let mut stop = pin!(async {
            tokio::select! {
                _ = shutdown.cancelled() => Stop::Shutdown,
                _ = backlog.overflow.notified() => Stop::TooSlow,
            }
        });
        let mut ping = interval(settings.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.tick().await;
        let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
        loop {
            let typing_deadline = self.typing.deadline().map_or(far_future, Instant::from_std);
            tokio::select! {
                stopped = &mut stop => return self.stopped(stopped),
                item = outbound.recv() => {
                    let Some(item) = item else { return End::Gone };
                    if let Err(end) = self.write_queued(item, &mut outbound, stop.as_mut()).await {
                        return end;
                    }
                }
                incoming = self.socket.next() => {
                    if let Err(end) = self.take(incoming).await {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if self.last_heard.elapsed() >= settings.idle_timeout {
                        // A starved server can wake to this tick and to the
                        // pong that came in time together, and the select
                        // may pick the tick: what has arrived counts first.
                        if let Some(incoming) = self.socket.next().now_or_never() {
                            if let Err(end) = self.take(incoming).await {
                                return end;
                            }
                            continue;
                        }
                        log::debug!("conn {}: silent for {:?}; closing", self.id, settings.idle_timeout);
                        return End::Close(CloseCode::Away, "idle timeout");
                    }
                    if let Err(end) = self.write(Message::Ping(Default::default())).await {
                        return end;
                    }
                }
                _ = sleep_until(typing_deadline), if self.typing.deadline().is_some() => {
                    self.stop_typing();
                }
            }
        }
    }

    /// What the socket gave: a frame is handled, the end of the stream or
    /// an error ends the session.
    async fn take(
        &mut self,
        incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), End> {
        let message = match incoming {
            Some(Ok(message)) => message,
            Some(Err(err)) => return Err(end_for_read_error(self.id, err)),
            None => return Err(End::Gone),
        };
        self.last_heard = Instant::now();
        // Boxed: the commands' futures are large, and inline they would be
        // part of every idle session's memory.
        Box::pin(self.handle(message)).await
    }

    fn stopped(&self, stop: Stop) -> End {
        match stop {
            Stop::Shutdown => End::Close(CloseCode::Away, "server shutting down"),
            Stop::TooSlow => {
                metrics::get().backlog_cutoffs.inc();
                log::info!(
                    "conn {}: {} is not reading; closing",
                    self.id,
                    self.username
                );
                End::Close(CloseCode::Policy, "too slow: unsent backlog over limit")
            }
        }
    }

    async fn handle(&mut self, message: Message) -> Result<(), End> {
        let counts = matches!(message, Message::Text(_) | Message::Binary(_));
        let rate = self.context.rate_limiter.rate();
        if counts && let Err(wait) = self.flood.allow_frame(rate, std::time::Instant::now()) {
            return self.refuse(rate_limited(wait)).await;
        }
        match message {
            Message::Text(text) => {
                match parse_client_frame(&text, self.context.settings.max_message_chars) {
                    Ok(frame) => self.handle_frame(frame).await,
                    Err(refusal) => {
                        log::debug!("conn {}: refused frame: {}", self.id, refusal.message);
                        self.refuse(refusal).await
                    }
                }
            }
            Message::Binary(_) => {
                let refusal = Refusal::new(
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                );
                self.refuse(refusal).await
            }
            Message::Close(_) => Err(End::Gone),
            // tungstenite answers pings itself; a pong only proves liveness.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn handle_frame(&mut self, frame: ClientFrame) -> Result<(), End> {
        // Every refusal names the frame's room.
        let scope = frame.room().map(str::to_owned);
        match crate::commands::apply(frame, self).await {
            Ok(Some(reply)) => self.write_now(reply).await,
            Ok(None) => Ok(()),
            Err(refusal) => self.refuse(refusal.with_room(scope)).await,
        }
    }

    /// Sends the client an `error`. Refusals for rate are counted, and a
    /// connection that keeps earning them is closed with 1008 instead.
    async fn refuse(&mut self, refusal: Refusal) -> Result<(), End> {
        if refusal.code == ErrorCode::RateLimited {
            if self.flood.strike(std::time::Instant::now()) {
                metrics::get().flood_closes.inc();
                log::info!(
                    "conn {}: {} keeps flooding; closing",
                    self.id,
                    self.username
                );
                return Err(End::Close(
                    CloseCode::Policy,
                    "rate limit exceeded repeatedly",
                ));
            }
            metrics::get().rate_limited.inc();
        }
        self.write_now(encode(&ServerFrame::error(&refusal))).await
    }

    /// Takes a message token from both this connection and its user; a
    /// refusal says when to retry.
    pub fn allow_message(&mut self) -> Result<(), Refusal> {
        let now = std::time::Instant::now();
        self.flood
            .allow_message(&self.context.rate_limiter, &self.username, now)
            .map_err(rate_limited)
    }

    /// The room a frame names: the lobby unless it says otherwise. Any other
    /// room needs an owned name and membership; to anyone else it does not
    /// exist.
    pub fn room_for(&self, room: Option<String>) -> Result<String, Refusal> {
        let room = room.unwrap_or_else(|| LOBBY.to_owned());
        if room == LOBBY {
            return Ok(room);
        }
        let user = self.owner()?;
        if self.context.rooms.is_member(&user, &room) {
            Ok(room)
        } else {
            Err(room_refusal(RoomError::NotFound(room)))
        }
    }

    /// Whether this connection is in host mode, with a secret that still
    /// holds.
    pub fn as_host(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|proof| self.context.host.holds(proof))
    }

    /// Refuses a post (a message, an edit) in `room` the host's rules do
    /// not allow: a mute, a closed or read-only room; for a new message,
    /// also slow mode.
    pub fn check_post(&self, room: &str, new: bool) -> Result<(), Refusal> {
        if let Some(event) = &self.context.event {
            event.check_post()?;
        }
        let host = &self.context.host;
        let as_host = self.as_host();
        host.check_mute(self.user_id.as_ref(), &self.username, as_host)?;
        host.check_room(room, as_host)?;
        if new {
            host.check_slow(room, self.user_id.as_ref(), &self.username, as_host)?;
        }
        Ok(())
    }

    /// This connection's user id, if it owns its name.
    pub fn owner(&self) -> Result<UserId, Refusal> {
        self.user_id.clone().ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotClaimed,
                "rooms and direct messages need a claimed name",
            )
        })
    }

    /// Ends this connection's typing indicator, telling those who saw it.
    pub fn stop_typing(&mut self) {
        if self.typing.stop().is_some() {
            self.announce_typing(false);
        }
    }

    /// Tells the typing room's other members whether this user is typing.
    pub fn announce_typing(&self, active: bool) {
        let room = self.typing.room();
        let frame = Frame::from(encode(&ServerFrame::Typing {
            room,
            username: &self.username,
            active,
        }));
        let audience: Audience = self.context.rooms.audience(room);
        self.context
            .hub
            .send_except(&audience, frame, &self.username);
    }
}

/// The refusal for a frame over the rate, saying when to retry.
fn rate_limited(wait: Duration) -> Refusal {
    Refusal::new(
        ErrorCode::RateLimited,
        "slow down: too many messages; try again in a moment",
    )
    .retry_after(wait)
}

/// Maps a rooms error to the refusal a client sees.
pub fn room_refusal(err: RoomError) -> Refusal {
    let refusal = |code| Refusal::new(code, err.to_string());
    match &err {
        RoomError::InvalidName => refusal(ErrorCode::InvalidRoom),
        RoomError::Exists(_) => refusal(ErrorCode::RoomExists),
        RoomError::NotFound(room) => refusal(ErrorCode::NotFound)
            .detail("no_room")
            .param("room", format!("#{room}")),
        RoomError::Forbidden(room) => refusal(ErrorCode::Forbidden)
            .detail("room_forbidden")
            .param("room", format!("#{room}")),
    }
}

/// The users `user` shares a room with; nobody for an unowned name.
fn neighbours_of(context: &Context, user: Option<&UserId>) -> Vec<UserId> {
    user.map(|user| context.rooms.neighbours(user))
        .unwrap_or_default()
}

/// The close for a frame the WebSocket layer refused.
fn end_for_read_error(id: ConnId, err: tokio_tungstenite::tungstenite::Error) -> End {
    use tokio_tungstenite::tungstenite::Error;
    log::debug!("conn {id}: read failed: {err}");
    match err {
        Error::Capacity(_) => End::Close(CloseCode::Size, "message too big"),
        Error::Utf8(_) => End::Close(CloseCode::Invalid, "text frame is not valid UTF-8"),
        Error::Protocol(_) => End::Close(CloseCode::Protocol, "WebSocket protocol error"),
        _ => End::Gone,
    }
}

/// A `history` frame of `page`, from the messages' encoded frames.
pub fn page_frame(room: &str, page: &Page) -> String {
    history_frame(
        room,
        page.messages.iter().map(|stored| stored.frame.as_str()),
        page.has_more,
        page.has_newer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_page_frame_is_valid() {
        let value: serde_json::Value =
            serde_json::from_str(&page_frame(LOBBY, &Page::default())).unwrap();
        assert_eq!(value["messages"], serde_json::json!([]));
        assert_eq!(value["has_more"], false);
    }
}
