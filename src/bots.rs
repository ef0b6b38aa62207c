//! Bots and scripts on the LAN: `POST /api/rooms/<room>/messages` posts a
//! message under a bot's name (JSON `{"text": ".."}`, or any other body as
//! the text itself), marked as a bot's, with the same size limit, rate
//! limit, room rules and markdown as a person's, once per
//! `Idempotency-Key`; `GET /api/rooms/<room>/messages?since=<seq>
//! &timeout=<s>` reads what came after `since`, waiting up to `timeout` for
//! something new. Both need `Authorization: Bearer <bot token>`, made by the
//! host (`commands::host::bots`), for one of the bot's rooms. A revoked
//! token stops at once. Refusals are JSON with a stable code.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use serde::Deserialize;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::host::Bot;
use crate::ids::{hex, random_bytes};
use crate::protocol::{ChatMessage, ErrorCode, LOBBY, MAX_CID_CHARS, Refusal};
use crate::session::Context;
use crate::store::{Entry, Kind, NewMessage, Sender};

/// The longest long poll, and the one when none is asked.
const MAX_WAIT: Duration = Duration::from_secs(60);
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// Most messages one read answers with.
const READ_PAGE: usize = 200;
/// Bytes a body may have past the message limit's worst case (every
/// character escaped in JSON as `\uXXXX`, six bytes), for the JSON around it.
const BODY_SLACK: usize = 4096;

/// A refused request: its status, a stable code (`error`) and plain words
/// (`message`).
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For 429: when a retry would be let in.
    pub retry_after: Option<Duration>,
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        code,
        message: message.into(),
        retry_after: None,
    }
}

impl From<Refusal> for Refused {
    /// A room rule's or the event's refusal, as the WebSocket gives it.
    fn from(refusal: Refusal) -> Refused {
        let status = match refusal.code {
            ErrorCode::SlowMode | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::FORBIDDEN,
        };
        Refused {
            status,
            code: refusal.code.as_str(),
            message: refusal.message,
            retry_after: refusal.retry_after_ms.map(Duration::from_millis),
        }
    }
}

/// A JSON body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Posted {
    text: String,
}

/// The bot whose token the request carries, if it may use `room`: `401`
/// without a (live) token, `404` for a room that is not there for bots (a
/// private room or a direct message is not, whatever the bot was given),
/// `403` for a room that is not the bot's.
fn bot_for(context: &Context, headers: &HeaderMap, room: &str) -> Result<Bot, Refused> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a bot token is needed: Authorization: Bearer <token>",
        ));
    };
    let Some(bot) = context.host.bot_by_token(token) else {
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this token is not a bot's, or the host revoked it",
        ));
    };
    if !is_open(context, room) {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no room {room:?} a bot can use (the lobby or a public room)"),
        ));
    }
    if !bot.rooms.iter().any(|allowed| allowed == room) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the host did not give the bot {} the room {room}", bot.name),
        ));
    }
    Ok(bot)
}

/// Whether `room` is one bots may be given: the lobby or a public room.
/// Never a private room or a direct message: their members wrote to each
/// other, and a token the host holds must not read them.
pub fn is_open(context: &Context, room: &str) -> bool {
    room == LOBBY || context.rooms.kind_of(room) == Some(Kind::Public)
}

/// The body, read up to `limit` bytes: `413` past it.
pub async fn read_body(
    mut body: impl Stream<Item = Result<impl bytes::Buf, warp::Error>> + Unpin,
    limit: usize,
) -> Result<Bytes, Refused> {
    let mut read = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|err| {
            refused(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body could not be read: {err}"),
            )
        })?;
        if read.len() + chunk.remaining() > limit {
            return Err(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_long",
                format!("the body is over {limit} bytes"),
            ));
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            read.extend_from_slice(piece);
            let taken = piece.len();
            chunk.advance(taken);
        }
    }
    Ok(read.freeze())
}

/// The largest body a message of `max_chars` characters can come in.
pub fn body_limit(max_chars: usize) -> usize {
    max_chars * 6 + BODY_SLACK
}

/// `POST /api/rooms/<room>/messages`: 201 with the stored message's id and
/// seq (the same for a replay of its `Idempotency-Key`).
pub async fn post(
    context: &Context,
    room: &str,
    headers: &HeaderMap,
    body: Result<Bytes, Refused>,
) -> Result<Response, Refused> {
    let bot = bot_for(context, headers, room)?;
    let text = message_text(headers, &body?)?;
    let limit = context.settings.max_message_chars;
    let chars = text.chars().count();
    if text.trim().is_empty() {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "empty",
            "the message is empty",
        ));
    }
    if chars > limit {
        return Err(refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_long",
            format!("the message is {chars} characters; the limit is {limit}"),
        ));
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if !key.is_empty() && key.chars().count() <= MAX_CID_CHARS => {
                Some(key.to_owned())
            }
            _ => {
                return Err(refused(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("an Idempotency-Key is 1 to {MAX_CID_CHARS} visible ASCII characters"),
                ));
            }
        },
    };
    if let Some(event) = &context.event {
        event.check_post()?;
    }
    // A bot is not the host: a read-only room refuses it, as a closed one.
    let host = &context.host;
    host.check_room(room, false)?;
    if let Err(wait) = context.rate_limiter.allow(&bot.name, Instant::now()) {
        return Err(Refused {
            retry_after: Some(wait),
            ..refused(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "slow down: too many messages",
            )
        });
    }
    host.check_slow(room, None, &bot.name, false)?;
    let cid = key.unwrap_or_else(|| format!("bot-{}", hex(&random_bytes::<12>())));
    let entry = Entry::Message(NewMessage {
        sender: Sender {
            room: room.to_owned(),
            username: bot.name.clone(),
            user_id: None,
            cid: Some(cid),
            // No connection: a duplicate's frame goes nowhere.
            conn: 0,
        },
        text: crate::commands::render(context, room, &text),
        files: Vec::new(),
        generated: false,
        reply_to: None,
        system: None,
        bot: true,
    });
    let Some(logged) = context.store.append_and_wait(entry).await else {
        return Err(refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot save messages right now; try again with the same Idempotency-Key",
        ));
    };
    if logged.duplicate {
        log::debug!("bot {} replayed {} in {room}", bot.name, logged.seq);
    } else {
        log::debug!("bot {} posted {} in {room}", bot.name, logged.seq);
    }
    let body = serde_json::json!({"id": logged.id, "seq": logged.seq, "room": room});
    Ok(json_response(StatusCode::CREATED, &body.to_string()))
}

/// The message a body carries: `{"text": ".."}` as JSON, any other type
/// (plain text, or curl's default form type) as it is.
fn message_text(headers: &HeaderMap, body: &Bytes) -> Result<String, Refused> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| {
            kind.split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"))
        });
    if json {
        let posted: Posted = serde_json::from_slice(body).map_err(|err| {
            refused(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not {{\"text\": \"..\"}}: {err}"),
            )
        })?;
        Ok(posted.text)
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| {
            refused(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the body is not UTF-8 text",
            )
        })
    }
}

/// `GET /api/rooms/<room>/messages?since=<seq>&timeout=<s>`: the messages
/// after `since` (in their current state), waiting for one if there are
/// none yet.
pub async fn read(
    context: &Context,
    room: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, Refused> {
    bot_for(context, headers, room)?;
    let since = number(query, "since")?.unwrap_or(0);
    let wait = number(query, "timeout")?;
    let wait = wait.map_or(DEFAULT_WAIT, Duration::from_secs).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Registered before the read, so a commit in between wakes it.
        let logged = context.logged.notified();
        tokio::pin!(logged);
        logged.as_mut().enable();
        let page = context
            .store
            .after(room, since, READ_PAGE)
            .await
            .map_err(|_| {
                refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the history cannot be read right now",
                )
            })?;
        let timed_out = tokio::time::Instant::now() >= deadline;
        if !page.messages.is_empty() || timed_out {
            let messages: Vec<&ChatMessage> = page.messages.iter().map(|m| &m.message).collect();
            let body = serde_json::json!({
                "room": room,
                "messages": messages,
                "seq": context.store.latest_seq(room),
                "has_more": page.has_newer.unwrap_or(false),
            });
            return Ok(json_response(StatusCode::OK, &body.to_string()));
        }
        tokio::select! {
            () = &mut logged => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
        // A token revoked while it waited stops here (revoking wakes it).
        bot_for(context, headers, room)?;
    }
}

/// The query's `name`, a whole number if given.
fn number(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Refused> {
    query
        .get(name)
        .map(|value| {
            value.parse().map_err(|_| {
                refused(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("{name}={value:?} is not a whole number"),
                )
            })
        })
        .transpose()
}

fn json_response(status: StatusCode, body: &str) -> Response {
    let mut response = Response::new(body.to_owned().into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The refusal as a response: `{"error": "<code>", "message": ".."}`, and
/// `Retry-After` (whole seconds) with `retry_after_ms` for a 429.
pub fn refusal_response(refused: Refused) -> Response {
    let mut body = serde_json::json!({"error": refused.code, "message": refused.message});
    if let Some(wait) = refused.retry_after {
        body["retry_after_ms"] = (wait.as_millis() as u64).into();
    }
    let mut response = json_response(refused.status, &body.to_string());
    if let Some(wait) = refused.retry_after {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if refused.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"lanchat\""),
        );
    }
    response
}
