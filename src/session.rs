//! One WebSocket connection, from welcome to goodbye.
//!
//! A session runs as one task. It replays history, then loops: it writes what
//! the hub queued for it (all that is waiting, then one flush), reads and
//! answers the client's frames, pings, and ends typing that went quiet. It
//! leaves the hub however it ends.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::{Backlog, ConnId, Hub, Outbound};
use crate::identity::{self, Credential, Identity, Standing};
use crate::limits::{Bucket, Rate, RateLimiter};
use crate::protocol::{
    ClientFrame, ErrorCode, Frame, LOBBY, PROTOCOL_VERSION, Refusal, ServerFrame, encode,
    history_frame, parse_client_frame,
};
use crate::store::{NewMessage, Page, Store};
use crate::upgrade::Socket;
use crate::username::parse_username;

/// Most frames written before one flush.
const MAX_FRAMES_PER_FLUSH: usize = 256;
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
}

/// Everything a session shares with the rest of the server.
#[derive(Clone)]
pub struct Context {
    pub hub: Hub,
    pub store: Store,
    pub identity: Identity,
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
    let joined = context.hub.join(&username);
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
        owner: matches!(standing, Standing::Owner { .. }),
    };
    log::debug!("conn {id}: {username} connected");
    let issued = match &standing {
        Standing::Owner { issued } => issued.as_deref(),
        Standing::Anonymous => None,
    };
    let end = match session.welcome(joined.users, issued, since).await {
        Ok(()) => session.serve(joined.outbound).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        close(&mut session.socket, code, reason).await;
    }
    session.stop_typing();
    if session.owner {
        context.identity.touch(&session.username);
    }
    context.hub.leave(id);
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
    /// This connection proved it owns its name.
    owner: bool,
}

impl Session {
    /// Sends `welcome` and the history replay. Runs after joining the hub, so
    /// anything committed from here on is in the queue: no gap, and the
    /// overlap is dropped by `replayed_upto`.
    async fn welcome(
        &mut self,
        users: Vec<String>,
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
        let welcome = encode(&ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            username: &self.username,
            room: LOBBY,
            users: users.iter().map(String::as_str).collect(),
            seq: latest,
            claimed: self.owner,
            token,
        });
        self.write_now(welcome).await?;
        self.write_now(page_frame(&page)).await
    }

    async fn serve(&mut self, mut outbound: tokio::sync::mpsc::UnboundedReceiver<Outbound>) -> End {
        let settings = self.context.settings.clone();
        let shutdown = self.context.shutdown.clone();
        let backlog = self.backlog.clone();
        let mut ping = interval(settings.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.tick().await;
        let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
        loop {
            let typing_deadline = self.typing.unwrap_or(far_future);
            tokio::select! {
                _ = shutdown.cancelled() => return End::Close(CloseCode::Away, "server shutting down"),
                _ = backlog.overflow.notified() => return too_slow(self.id, &self.username),
                item = outbound.recv() => {
                    let Some(item) = item else { return End::Gone };
                    if let Err(end) = self.write_queued(item, &mut outbound).await {
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

    /// Writes `first` and whatever else is queued, then flushes once.
    async fn write_queued(
        &mut self,
        first: Outbound,
        outbound: &mut tokio::sync::mpsc::UnboundedReceiver<Outbound>,
    ) -> Result<(), End> {
        let write_timeout = self.context.settings.write_timeout;
        let backlog = self.backlog.clone();
        let shutdown = self.context.shutdown.clone();
        let mut next = Some(first);
        let mut fed = 0;
        let writing = async {
            while let Some(item) = next.take() {
                let size = match item {
                    Outbound::Message { seq, frame } => {
                        let size = frame.len();
                        if seq > self.replayed_upto {
                            self.socket.feed(Message::Text(frame)).await?;
                            fed += 1;
                        }
                        size
                    }
                    Outbound::Event(frame) => {
                        let size = frame.len();
                        self.socket.feed(Message::Text(frame)).await?;
                        fed += 1;
                        size
                    }
                    Outbound::Renamed { to } => {
                        let size = to.len();
                        self.username = to;
                        size
                    }
                };
                self.backlog.written(size);
                if fed < MAX_FRAMES_PER_FLUSH {
                    next = outbound.try_recv().ok();
                }
            }
            self.socket.flush().await
        };
        // A client that stops reading stalls this write; the backlog limit,
        // the write timeout and shutdown each end the wait.
        tokio::select! {
            result = timeout(write_timeout, writing) => match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(End::Gone),
                Err(_) => {
                    log::info!("conn {}: write stalled for {write_timeout:?}; closing", self.id);
                    Err(End::Gone)
                }
            },
            _ = backlog.overflow.notified() => Err(too_slow(self.id, &self.username)),
            _ = shutdown.cancelled() => Err(End::Close(CloseCode::Away, "server shutting down")),
        }
    }

    async fn handle(&mut self, message: Message) -> Result<(), End> {
        let counts = matches!(message, Message::Text(_) | Message::Binary(_));
        let rate = frame_rate(self.context.rate_limiter.rate());
        if counts && !self.frame_bucket.take(rate, std::time::Instant::now()) {
            return self.rate_limited(None).await;
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
        match frame {
            ClientFrame::Message { message, cid } => {
                if !self.allow_message() {
                    return self.rate_limited(cid).await;
                }
                self.stop_typing();
                self.context.store.append(NewMessage {
                    room: LOBBY.to_owned(),
                    username: self.username.to_string(),
                    message,
                    cid,
                    conn: self.id,
                });
                Ok(())
            }
            ClientFrame::Rename { username } => {
                if !self.allow_message() {
                    return self.rate_limited(None).await;
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
                    Err(refusal) => self.refuse(&refusal).await,
                }
            }
            ClientFrame::TransferCode => {
                match self
                    .owner
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
                        self.refuse(&refusal).await
                    }
                }
            }
            ClientFrame::Typing { active: true } => {
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
            ClientFrame::Typing { active: false } => {
                self.stop_typing();
                Ok(())
            }
            ClientFrame::History { before, limit } => {
                let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
                let before = before.unwrap_or(u64::MAX);
                match self.context.store.page(LOBBY, before, limit).await {
                    Ok(page) => self.write_now(page_frame(&page)).await,
                    Err(err) => {
                        log::warn!("conn {}: cannot page history: {err:#}", self.id);
                        let refusal = Refusal::new(
                            ErrorCode::Unavailable,
                            "history is unavailable right now",
                        );
                        self.refuse(&refusal).await
                    }
                }
            }
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

    /// Takes a message token from both this connection and its user.
    fn allow_message(&mut self) -> bool {
        let now = std::time::Instant::now();
        let rate = self.context.rate_limiter.rate();
        self.message_bucket.take(rate, now) && self.context.rate_limiter.allow(&self.username, now)
    }

    /// Refuses a frame for rate; closes with 1008 after too many refusals.
    async fn rate_limited(&mut self, cid: Option<String>) -> Result<(), End> {
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
        .with_cid(cid);
        self.refuse(&refusal).await
    }

    fn stop_typing(&mut self) {
        if self.typing.take().is_some() {
            self.last_typing_sent = None;
            self.announce_typing(false);
        }
    }

    fn announce_typing(&self, active: bool) {
        let frame = encode(&ServerFrame::Typing {
            room: LOBBY,
            username: &self.username,
            active,
        });
        self.context
            .hub
            .broadcast_event(Frame::from(frame), Some(&self.username));
    }

    async fn refuse(&mut self, refusal: &Refusal) -> Result<(), End> {
        self.write_now(encode(&ServerFrame::error(refusal))).await
    }

    async fn write_now(&mut self, text: String) -> Result<(), End> {
        self.write(Message::text(text)).await
    }

    async fn write(&mut self, message: Message) -> Result<(), End> {
        match timeout(
            self.context.settings.write_timeout,
            self.socket.send(message),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }
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

fn page_frame(page: &Page) -> String {
    history_frame(
        LOBBY,
        page.messages.iter().map(|stored| stored.frame.as_str()),
        page.has_more,
    )
}

/// Sends `refusal` and closes with 1008.
async fn refuse_and_close(mut socket: Socket, refusal: &Refusal, reason: &'static str) {
    let frame = encode(&ServerFrame::error(refusal));
    let _ = timeout(Duration::from_secs(1), socket.send(Message::text(frame))).await;
    close(&mut socket, CloseCode::Policy, reason).await;
}

/// Sends a close frame, giving a client that is not reading a moment, not
/// forever.
async fn close(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}

/// Builds a `history` frame for `Store::replay`'s caller; used by tests.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_page_frame_is_valid() {
        let value: serde_json::Value = serde_json::from_str(&page_frame(&Page::default())).unwrap();
        assert_eq!(value["messages"], serde_json::json!([]));
        assert_eq!(value["has_more"], false);
    }
}
