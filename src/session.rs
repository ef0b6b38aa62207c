//! One WebSocket connection, from welcome to goodbye.
//!
//! A session runs as one task. It replays history, then loops: it writes what
//! the hub queued for it (all that is waiting, then one flush), reads and
//! answers the client's frames, pings, and ends typing that went quiet. It
//! leaves the hub however it ends.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::{Backlog, ConnId, Hub, Joined, Outbound};
use crate::identity::{self, Credential, Identity, Standing};
use crate::limits::{Bucket, Rate, RateLimiter};
use crate::protocol::{
    ClientFrame, ErrorCode, Frame, LOBBY, Limits, PROTOCOL_VERSION, PublicRoom, Refusal,
    RoomSummary, ServerFrame, encode, history_frame, parse_client_frame, with_users,
};
use crate::rooms::{Kind, Membership, RoomError, Rooms, UserId};
use crate::store::{NewMessage, Page, Store};
use crate::upgrade::Socket;
use crate::username::{MAX_USERNAME_CHARS, parse_username};
use crate::wire;

/// Most frames written at once.
const MAX_FRAMES_PER_FLUSH: usize = 256;
/// How long a closing connection may take to finish its last frame and
/// send its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long, after our close frame, we read what the client still sends
/// while waiting for it to close its side (see [`close`]).
pub const CLOSE_DRAIN: Duration = Duration::from_secs(2);
/// A typing indicator ends by itself after this long without a refresh.
const TYPING_TIMEOUT: Duration = Duration::from_secs(5);
/// Typing refreshes are passed on at most this often per connection.
const TYPING_REFRESH: Duration = Duration::from_secs(2);
/// Default and largest page for a `history` request.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Frames of any kind (typing, paging, bad frames) a connection may send,
/// as a multiple of the message rate: room for a person, not for a flood.
const FRAMES_PER_MESSAGE: f64 = 4.0;
/// Refusals for rate within `STRIKE_WINDOW` after which a connection is
/// closed: it is not a person typing fast.
const MAX_STRIKES: u32 = 20;
const STRIKE_WINDOW: Duration = Duration::from_secs(10);

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

/// Runs one connection for `raw_username` (still percent-encoded), resuming
/// after `since` if given.
pub async fn run(
    mut socket: Socket,
    context: Context,
    raw_username: String,
    credential: Credential,
    since: Option<u64>,
) {
    let _alive = context.sessions.token();
    let username = match parse_username(&raw_username, true) {
        Ok(name) => name,
        Err(reason) => {
            let refusal = Refusal::new(ErrorCode::InvalidUsername, reason);
            return refuse_and_close(socket, &refusal, "invalid username").await;
        }
    };
    let standing = match context.identity.check(&username, &credential) {
        Ok(standing) => standing,
        Err(refused) => {
            let code = match refused {
                identity::Refused::Owned(_) => ErrorCode::NameTaken,
                identity::Refused::BadCode => ErrorCode::InvalidCode,
            };
            let refusal = Refusal::new(code, refused.to_string());
            return refuse_and_close(socket, &refusal, "name not available").await;
        }
    };
    if context.shutdown.is_cancelled() {
        close(&mut socket, CloseCode::Away, "server shutting down").await;
        return;
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
    let id = joined.id;
    let mut session = Session {
        socket,
        id,
        username: Arc::from(username.as_str()),
        context: context.clone(),
        backlog: joined.backlog.clone(),
        replayed_upto: 0,
        typing: None,
        last_typing_sent: None,
        last_heard: Instant::now(),
        message_bucket: Bucket::full(context.rate_limiter.rate(), std::time::Instant::now()),
        frame_bucket: Bucket::full(
            frame_rate(context.rate_limiter.rate()),
            std::time::Instant::now(),
        ),
        strikes: 0,
        strikes_since: Instant::now(),
        user_id,
        typing_room: LOBBY.to_owned(),
        torn: false,
    };
    log::debug!("conn {id}: {username} connected");
    let end = match session.welcome(&joined, issued.as_deref(), since).await {
        Ok(()) => session.serve(joined.outbound).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end
        && !session.torn
    {
        close(&mut session.socket, code, reason).await;
    }
    session.stop_typing();
    if session.user_id.is_some() {
        context.identity.touch(&session.username);
    }
    // At shutdown nobody is leaving; everyone is about to reconnect.
    let announce = !context.shutdown.is_cancelled();
    let neighbours = neighbours_of(&context, session.user_id.as_ref());
    context.hub.leave(id, announce, &neighbours);
    log::debug!("conn {id}: {} disconnected", session.username);
}

struct Session {
    socket: Socket,
    id: ConnId,
    username: Arc<str>,
    context: Context,
    backlog: Arc<Backlog>,
    /// The room's latest `seq` when history was replayed; live copies of
    /// messages up to here were already sent.
    replayed_upto: u64,
    /// When this user's typing indicator expires, if it is on.
    typing: Option<Instant>,
    last_typing_sent: Option<Instant>,
    last_heard: Instant,
    /// This connection's own message allowance, on top of its user's, so a
    /// rename does not buy a fresh one.
    message_bucket: Bucket,
    frame_bucket: Bucket,
    /// Rate refusals since `strikes_since`.
    strikes: u32,
    strikes_since: Instant,
    /// Set when this connection proved it owns its name.
    user_id: Option<UserId>,
    /// The room `typing` refers to.
    typing_room: String,
    /// A write of ours stopped part way through a frame.
    torn: bool,
}

impl Session {
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
        let (page, latest) = self.context.store.replay(LOBBY, since, limit);
        self.replayed_upto = latest;
        let invitations = match &self.user_id {
            Some(user) => self.context.rooms.invitations(user),
            None => Vec::new(),
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
            rooms: self.user_rooms(),
            invitations: invitations.iter().map(String::as_str).collect(),
        };
        let welcome = with_users(&welcome, &joined.users);
        self.write_now(welcome).await?;
        self.write_now(page_frame(LOBBY, &page)).await
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
            let typing_deadline = self.typing.unwrap_or(far_future);
            tokio::select! {
                stopped = &mut stop => return self.stopped(stopped),
                item = outbound.recv() => {
                    let Some(item) = item else { return End::Gone };
                    if let Err(end) = self.write_queued(item, &mut outbound, stop.as_mut()).await {
                        return end;
                    }
                }
                incoming = self.socket.next() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(err)) => return end_for_read_error(self.id, err),
                        None => return End::Gone,
                    };
                    self.last_heard = Instant::now();
                    if let Err(end) = self.handle(message).await {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if self.last_heard.elapsed() >= settings.idle_timeout {
                        log::debug!("conn {}: silent for {:?}; closing", self.id, settings.idle_timeout);
                        return End::Close(CloseCode::Away, "idle timeout");
                    }
                    if let Err(end) = self.write(Message::Ping(Default::default())).await {
                        return end;
                    }
                }
                _ = sleep_until(typing_deadline), if self.typing.is_some() => self.stop_typing(),
            }
        }
    }

    fn stopped(&self, stop: Stop) -> End {
        match stop {
            Stop::Shutdown => End::Close(CloseCode::Away, "server shutting down"),
            Stop::TooSlow => too_slow(self.id, &self.username),
        }
    }

    /// Writes `first` and whatever else is queued, in one vectored write.
    async fn write_queued(
        &mut self,
        first: Outbound,
        outbound: &mut tokio::sync::mpsc::UnboundedReceiver<Outbound>,
        stop: Pin<&mut impl Future<Output = Stop>>,
    ) -> Result<(), End> {
        let write_timeout = self.context.settings.write_timeout;
        let mut items = Vec::new();
        let mut count = 0;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            let size = item.size();
            self.backlog.taken(size);
            count += size.1;
            if let Outbound::Renamed { to } = &item {
                self.username = to.clone();
            }
            items.push(item);
            if count < MAX_FRAMES_PER_FLUSH {
                next = outbound.try_recv().ok();
            }
        }
        let replayed_upto = self.replayed_upto;
        let mut frames: Vec<&Frame> = Vec::with_capacity(count);
        for item in &items {
            match item {
                Outbound::Messages(run) => frames.extend(
                    run.messages
                        .iter()
                        .filter(|(seq, _)| *seq > replayed_upto)
                        .map(|(_, frame)| frame),
                ),
                Outbound::Event(frame) => frames.push(frame),
                Outbound::Renamed { .. } => {}
            }
        }
        if frames.is_empty() {
            return Ok(());
        }
        let id = self.id;
        let stopped = {
            let mut writing = pin!(self.write_frames(&frames));
            // A client that stops reading stalls this write; the backlog
            // limit, the write timeout and shutdown each end the wait.
            let stopped = tokio::select! {
                result = within(write_timeout, writing.as_mut()) => return match result {
                    Some(Ok(())) => Ok(()),
                    Some(Err(_)) => Err(End::Gone),
                    None => {
                        log::info!("conn {id}: write stalled for {write_timeout:?}; closing");
                        Err(End::Gone)
                    }
                },
                stopped = stop => stopped,
            };
            // A client still reading gets the rest of the frame, so the
            // close frame that follows starts on a frame boundary.
            let _ = timeout(CLOSE_GRACE, writing).await;
            stopped
        };
        Err(self.stopped(stopped))
    }

    async fn handle(&mut self, message: Message) -> Result<(), End> {
        let counts = matches!(message, Message::Text(_) | Message::Binary(_));
        let rate = frame_rate(self.context.rate_limiter.rate());
        let now = std::time::Instant::now();
        if counts && !self.frame_bucket.take(rate, now) {
            let wait = self.frame_bucket.wait(rate, now);
            return self.rate_limited(None, wait).await;
        }
        match message {
            Message::Text(text) => {
                match parse_client_frame(&text, self.context.settings.max_message_chars) {
                    Ok(frame) => self.handle_frame(frame).await,
                    Err(refusal) => {
                        log::debug!("conn {}: refused frame: {}", self.id, refusal.message);
                        self.refuse(&refusal).await
                    }
                }
            }
            Message::Binary(_) => {
                let refusal = Refusal::new(
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                );
                self.refuse(&refusal).await
            }
            Message::Close(_) => Err(End::Gone),
            // tungstenite answers pings itself; a pong only proves liveness.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn handle_frame(&mut self, frame: ClientFrame) -> Result<(), End> {
        // Every refusal below names the frame's room.
        let scope = frame.room().map(str::to_owned);
        match frame {
            ClientFrame::Message { message, cid, room } => {
                if let Err(wait) = self.allow_message() {
                    return self.rate_limited(cid, wait).await;
                }
                let room = match self.room_for(room) {
                    Ok(room) => room,
                    Err(refusal) => {
                        return self.refuse(&refusal.with_cid(cid).with_room(scope)).await;
                    }
                };
                self.stop_typing();
                self.context.store.append(NewMessage {
                    room,
                    username: self.username.to_string(),
                    message,
                    cid,
                    conn: self.id,
                });
                Ok(())
            }
            ClientFrame::Rename { username } => {
                if let Err(wait) = self.allow_message() {
                    return self.rate_limited(None, wait).await;
                }
                let renamed = parse_username(&username, false)
                    .map_err(|reason| Refusal::new(ErrorCode::InvalidUsername, reason))
                    .and_then(|name| {
                        self.stop_typing();
                        self.rename_to(&name)
                    });
                match renamed {
                    Ok(name) => {
                        self.username = name;
                        Ok(())
                    }
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::Ping => self.write_now(encode(&ServerFrame::Pong)).await,
            ClientFrame::TransferCode => {
                match self
                    .user_id
                    .is_some()
                    .then(|| self.context.identity.transfer_code(&self.username))
                    .flatten()
                {
                    Some((code, expires)) => {
                        let shown = format!("{}-{}", &code[..4], &code[4..]);
                        self.write_now(encode(&ServerFrame::TransferCode {
                            code: &shown,
                            expires,
                        }))
                        .await
                    }
                    None => {
                        let refusal = Refusal::new(
                            ErrorCode::BadRequest,
                            "only a claimed name can move to another device",
                        );
                        self.refuse(&refusal.with_room(scope)).await
                    }
                }
            }
            ClientFrame::Typing { active, room } => {
                let room = match self.room_for(room) {
                    Ok(room) => room,
                    Err(refusal) => return self.refuse(&refusal.with_room(scope)).await,
                };
                if room != self.typing_room {
                    self.stop_typing();
                    self.typing_room = room;
                }
                if !active {
                    self.stop_typing();
                    return Ok(());
                }
                let now = Instant::now();
                self.typing = Some(now + TYPING_TIMEOUT);
                let due = self
                    .last_typing_sent
                    .is_none_or(|sent| now.duration_since(sent) >= TYPING_REFRESH);
                if due {
                    self.last_typing_sent = Some(now);
                    self.announce_typing(true);
                }
                Ok(())
            }
            ClientFrame::History {
                before,
                limit,
                room,
                since,
            } => {
                let room = match self.room_for(room) {
                    Ok(room) => room,
                    Err(refusal) => return self.refuse(&refusal.with_room(scope)).await,
                };
                let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
                let page = match since {
                    Some(since) => {
                        let cap = self.context.settings.resume_cap;
                        Ok(self.context.store.replay(&room, Some(since), cap).0)
                    }
                    None => {
                        let before = before.unwrap_or(u64::MAX);
                        self.context.store.page(&room, before, limit).await
                    }
                };
                match page {
                    Ok(page) => self.write_now(page_frame(&room, &page)).await,
                    Err(err) => {
                        log::warn!("conn {}: cannot page history: {err:#}", self.id);
                        let refusal = Refusal::new(
                            ErrorCode::Unavailable,
                            "history is unavailable right now",
                        );
                        self.refuse(&refusal.with_room(scope)).await
                    }
                }
            }
            ClientFrame::CreateRoom { room, private } => {
                let result = self
                    .owner()
                    .and_then(|user| room_result(self.context.rooms.create(&user, &room, private)));
                self.answer_membership(result, scope).await
            }
            ClientFrame::JoinRoom { room, invite } => {
                let result = self.owner().and_then(|user| {
                    room_result(self.context.rooms.join(&user, &room, invite.as_deref()))
                });
                self.answer_membership(result, scope).await
            }
            ClientFrame::LeaveRoom { room } => {
                let result = self.owner().and_then(|user| {
                    room_result(self.context.rooms.leave(&user, &room)).map(|()| user)
                });
                match result {
                    Ok(user) => {
                        let frame = encode(&ServerFrame::RoomLeft { room: &room });
                        self.context
                            .hub
                            .send_to_users(&[user], &Frame::from(frame), None);
                        // Those who stay see the shorter member list.
                        for member in self.context.rooms.members(&room).unwrap_or_default() {
                            self.announce_room(&room, &member);
                        }
                        Ok(())
                    }
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::Invite { room, username } => {
                let result = self.owner().and_then(|user| {
                    let invitee = self.owned_user(&username)?;
                    let new = room_result(self.context.rooms.invite(&user, &room, &invitee))?;
                    Ok((invitee, new))
                });
                match result {
                    Ok((invitee, true)) => {
                        let frame = encode(&ServerFrame::Invited {
                            room: &room,
                            by: &self.username,
                        });
                        self.context
                            .hub
                            .send_to_users(&[invitee], &Frame::from(frame), None);
                        Ok(())
                    }
                    Ok((_, false)) => Ok(()),
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::InviteLink { room } => {
                let secret = crate::identity::new_secret();
                let result = self.owner().and_then(|user| {
                    room_result(self.context.rooms.invite_link(&user, &room, &secret))
                });
                match result {
                    Ok(()) => {
                        let frame = encode(&ServerFrame::InviteLink {
                            room: &room,
                            secret: &secret,
                        });
                        self.write_now(frame).await
                    }
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::Direct { username } => {
                let result = self.owner().and_then(|user| {
                    let peer = self.owned_user(&username)?;
                    if peer == user {
                        return Err(Refusal::new(ErrorCode::Forbidden, "that is you"));
                    }
                    Ok((user, peer))
                });
                match result {
                    Ok((user, peer)) => {
                        let membership = self.context.rooms.direct(&user, &peer);
                        for member in [&user, &peer] {
                            self.announce_room(&membership.room, member);
                        }
                        Ok(())
                    }
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::Read { room, seq } => {
                let result = self.owner().and_then(|user| {
                    let latest = self.context.store.latest_seq(&room);
                    let mark =
                        room_result(self.context.rooms.mark_read(&user, &room, seq.min(latest)))?;
                    Ok((user, mark, latest))
                });
                match result {
                    Ok((user, mark, latest)) => {
                        let frame = encode(&ServerFrame::Read {
                            room: &room,
                            seq: mark,
                            unread: latest.saturating_sub(mark),
                        });
                        self.context
                            .hub
                            .send_to_users(&[user], &Frame::from(frame), None);
                        Ok(())
                    }
                    Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
                }
            }
            ClientFrame::Who { prefix } => {
                let prefix = prefix.unwrap_or_default();
                if prefix.chars().count() > MAX_USERNAME_CHARS {
                    let refusal = Refusal::new(
                        ErrorCode::BadRequest,
                        format!("names are at most {MAX_USERNAME_CHARS} characters"),
                    );
                    return self.refuse(&refusal).await;
                }
                let frame = self.context.hub.who(&prefix);
                self.write_now(frame).await
            }
            ClientFrame::ListRooms => {
                let rooms = self.context.rooms.public_rooms();
                let frame = encode(&ServerFrame::RoomList {
                    rooms: rooms
                        .iter()
                        .map(|(room, members)| PublicRoom {
                            room,
                            members: *members,
                        })
                        .collect(),
                });
                self.write_now(frame).await
            }
        }
    }

    /// The room a frame names: the lobby unless it says otherwise. Any other
    /// room needs an owned name and membership; to anyone else it does not
    /// exist.
    fn room_for(&self, room: Option<String>) -> Result<String, Refusal> {
        let room = room.unwrap_or_else(|| LOBBY.to_owned());
        if room == LOBBY {
            return Ok(room);
        }
        let user = self.owner()?;
        if self.context.rooms.is_member(&user, &room) {
            Ok(room)
        } else {
            room_result(Err(RoomError::NotFound(room)))
        }
    }

    /// This connection's user id, if it owns its name.
    fn owner(&self) -> Result<UserId, Refusal> {
        self.user_id.clone().ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotClaimed,
                "rooms and direct messages need a claimed name",
            )
        })
    }

    /// The user who owns `name`.
    fn owned_user(&self, name: &str) -> Result<UserId, Refusal> {
        self.context.identity.user_of(name.trim()).ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotFound,
                format!("nobody owns the name \"{}\"", name.trim()),
            )
        })
    }

    async fn answer_membership(
        &mut self,
        result: Result<Membership, Refusal>,
        scope: Option<String>,
    ) -> Result<(), End> {
        match result {
            Ok(membership) => {
                // Every member sees the new member list (and the newcomer
                // the room).
                for member in &membership.members {
                    self.announce_room(&membership.room, member);
                }
                Ok(())
            }
            Err(refusal) => self.refuse(&refusal.with_room(scope)).await,
        }
    }

    /// Sends `user` (on all its connections) `room` as it sees it.
    fn announce_room(&self, room: &str, user: &UserId) {
        if let Some(mine) = self.context.rooms.membership(room, user) {
            let summary = self.summary(&mine, user);
            let frame = encode(&ServerFrame::Room(&summary));
            self.context
                .hub
                .send_to_users(std::slice::from_ref(user), &Frame::from(frame), None);
        }
    }

    /// Every room this connection's user belongs to, summarised.
    fn user_rooms(&self) -> Vec<RoomSummary> {
        let Some(user) = &self.user_id else {
            return Vec::new();
        };
        self.context
            .rooms
            .memberships(user)
            .iter()
            .map(|membership| self.summary(membership, user))
            .collect()
    }

    fn summary(&self, membership: &Membership, user: &UserId) -> RoomSummary {
        let seq = self.context.store.latest_seq(&membership.room);
        let (members, online) = if membership.room == LOBBY {
            (Vec::new(), Vec::new())
        } else {
            (
                self.context.identity.names_of(&membership.members),
                self.context.hub.online_names(&membership.members),
            )
        };
        let peer = (membership.kind == Kind::Direct)
            .then(|| {
                let others: Vec<UserId> = membership
                    .members
                    .iter()
                    .filter(|m| *m != user)
                    .cloned()
                    .collect();
                self.context.identity.names_of(&others).into_iter().next()
            })
            .flatten();
        RoomSummary {
            room: membership.room.clone(),
            kind: membership.kind.as_str(),
            seq,
            last_read: membership.last_read,
            unread: seq.saturating_sub(membership.last_read),
            members,
            online,
            peer,
        }
    }

    /// Renames this user: its claim (if any) moves first, then presence. A
    /// name someone owns, or someone online holds, is refused.
    fn rename_to(&mut self, name: &str) -> Result<Arc<str>, Refusal> {
        let from = self.username.clone();
        self.context
            .identity
            .rename(&from, name)
            .map_err(|refused| Refusal::new(ErrorCode::NameTaken, refused.to_string()))?;
        self.context.hub.rename(self.id, name).inspect_err(|_| {
            // Give the claim back; nobody can have taken the old key while
            // we still hold it online.
            let _ = self.context.identity.rename(name, &from);
        })
    }

    /// Takes a message token from both this connection and its user, or
    /// says how long until both have one.
    fn allow_message(&mut self) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let rate = self.context.rate_limiter.rate();
        if !self.message_bucket.take(rate, now) {
            return Err(self.message_bucket.wait(rate, now));
        }
        self.context.rate_limiter.allow(&self.username, now)
    }

    /// Refuses a frame for rate, saying when to retry; closes with 1008
    /// after too many refusals.
    async fn rate_limited(&mut self, cid: Option<String>, wait: Duration) -> Result<(), End> {
        let now = Instant::now();
        if now.duration_since(self.strikes_since) > STRIKE_WINDOW {
            self.strikes = 0;
            self.strikes_since = now;
        }
        self.strikes += 1;
        if self.strikes > MAX_STRIKES {
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
        let refusal = Refusal::new(
            ErrorCode::RateLimited,
            "slow down: too many messages; try again in a moment",
        )
        .with_cid(cid)
        .retry_after(wait);
        self.refuse(&refusal).await
    }

    fn stop_typing(&mut self) {
        if self.typing.take().is_some() {
            self.last_typing_sent = None;
            self.announce_typing(false);
        }
    }

    fn announce_typing(&self, active: bool) {
        let frame = Frame::from(encode(&ServerFrame::Typing {
            room: &self.typing_room,
            username: &self.username,
            active,
        }));
        match self.context.rooms.members(&self.typing_room) {
            None => self
                .context
                .hub
                .broadcast_event(frame, Some(&self.username)),
            Some(members) => self
                .context
                .hub
                .send_to_users(&members, &frame, Some(&self.username)),
        }
    }

    async fn refuse(&mut self, refusal: &Refusal) -> Result<(), End> {
        self.write_now(encode(&ServerFrame::error(refusal))).await
    }

    async fn write_now(&mut self, text: String) -> Result<(), End> {
        let frame = Frame::from(text);
        match within(
            self.context.settings.write_timeout,
            self.write_frames(&[&frame]),
        )
        .await
        {
            Some(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    /// Writes text frames past tungstenite (see [`wire`]). Until it
    /// finishes, the stream may end inside a frame: `torn` stays set, and
    /// no close frame is sent after it.
    async fn write_frames(&mut self, frames: &[&Frame]) -> std::io::Result<()> {
        self.torn = true;
        // Whatever tungstenite holds (an automatic pong) goes out whole first.
        self.socket.flush().await.map_err(std::io::Error::other)?;
        wire::write_text_frames(self.socket.get_mut(), frames).await?;
        self.torn = false;
        Ok(())
    }

    async fn write(&mut self, message: Message) -> Result<(), End> {
        match within(
            self.context.settings.write_timeout,
            self.socket.send(message),
        )
        .await
        {
            Some(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }
}

/// What ends a session from outside.
enum Stop {
    Shutdown,
    TooSlow,
}

/// Runs `work` for at most `limit`; `None` if it took longer. Most writes
/// finish at their first poll, so the timer is set only for those that wait.
async fn within<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let mut work = pin!(work);
    match poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await {
        Poll::Ready(done) => Some(done),
        Poll::Pending => timeout(limit, work).await.ok(),
    }
}

/// The users `user` shares a room with; nobody for an unowned name.
fn neighbours_of(context: &Context, user: Option<&UserId>) -> Vec<UserId> {
    user.map(|user| context.rooms.neighbours(user))
        .unwrap_or_default()
}

fn frame_rate(message_rate: Rate) -> Rate {
    Rate {
        per_second: message_rate.per_second * FRAMES_PER_MESSAGE,
        burst: message_rate.burst * FRAMES_PER_MESSAGE,
    }
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

fn too_slow(id: ConnId, username: &str) -> End {
    log::info!("conn {id}: {username} is not reading; closing");
    End::Close(CloseCode::Policy, "too slow: unsent backlog over limit")
}

/// Maps a rooms error to the refusal a client sees.
fn room_result<T>(result: Result<T, RoomError>) -> Result<T, Refusal> {
    result.map_err(|err| {
        let code = match err {
            RoomError::InvalidName => ErrorCode::InvalidRoom,
            RoomError::Exists(_) => ErrorCode::RoomExists,
            RoomError::NotFound(_) => ErrorCode::NotFound,
            RoomError::Forbidden(_) => ErrorCode::Forbidden,
        };
        Refusal::new(code, err.to_string())
    })
}

fn page_frame(room: &str, page: &Page) -> String {
    history_frame(
        room,
        page.messages.iter().map(|stored| stored.frame.as_str()),
        page.has_more,
    )
}

/// Sends `refusal` and closes with 1008.
async fn refuse_and_close(mut socket: Socket, refusal: &Refusal, reason: &'static str) {
    let frame = encode(&ServerFrame::error(refusal));
    let _ = timeout(CLOSE_GRACE, socket.send(Message::text(frame))).await;
    close(&mut socket, CloseCode::Policy, reason).await;
}

/// Sends a close frame, then ends the connection without a reset.
///
/// A client may still be sending when we close (a flood, an oversized
/// frame). Dropping a socket with unread input makes the kernel answer with
/// a TCP reset, and a reset makes the client's kernel throw away what it has
/// not read yet: our last `error` frames and the close frame with them. So
/// after the close frame we half-close (FIN) and read and discard whatever
/// still comes until the client closes its side too, or [`CLOSE_DRAIN`]
/// passes. A client that does not read at all gets [`CLOSE_GRACE`] to take
/// the close frame and is then cut off.
async fn close(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if !matches!(
        timeout(CLOSE_GRACE, socket.close(Some(frame))).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let io = socket.get_mut();
    if timeout(CLOSE_GRACE, io.shutdown()).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_DRAIN, discard_until_eof(io)).await;
}

/// Reads and drops bytes until the peer closes its side.
async fn discard_until_eof(io: &mut (impl AsyncRead + Unpin)) {
    let mut sink = [0u8; 4096];
    while let Ok(1..) = io.read(&mut sink).await {}
}

/// Builds a `history` frame for `Store::replay`'s caller; used by tests.
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
