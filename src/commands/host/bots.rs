//! Bots: the host makes a bot (a name, the rooms it may post in) and gets
//! its token once; revoking it stops the token at once. Scripts and devices
//! use the token with `POST /api/rooms/<room>/messages` (`crate::bots`).

use crate::protocol::{ErrorCode, Refusal, ServerFrame, encode};
use crate::session::Session;
use crate::username::parse_username;

/// Most rooms one bot may be given.
const MAX_BOT_ROOMS: usize = 50;

/// `create_bot`: answered with `bot_token` to this connection alone.
pub fn create(session: &Session, name: &str, rooms: Vec<String>) -> Result<String, Refusal> {
    let name = parse_username(name, false).map_err(|bad| bad.refusal())?;
    let context = &session.context;
    if context.identity.user_of(&name).is_some()
        || context.hub.find_online(&name).is_some()
        || context.host.is_bot_name(&name)
    {
        return Err(Refusal::new(
            ErrorCode::NameTaken,
            format!("\"{name}\" is someone's (or a bot's) already; pick another name"),
        ));
    }
    if rooms.is_empty() || rooms.len() > MAX_BOT_ROOMS {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("a bot posts in 1 to {MAX_BOT_ROOMS} rooms"),
        ));
    }
    let mut checked = Vec::with_capacity(rooms.len());
    for room in rooms {
        let room = room.trim().to_owned();
        // Never a private room or a direct message: the host's token must
        // not read what their members wrote to each other.
        if !crate::bots::is_open(context, &room) {
            return Err(Refusal::new(
                ErrorCode::NotFound,
                format!("there is no room {room} a bot can post in (the lobby or a public room)"),
            ));
        }
        if !checked.contains(&room) {
            checked.push(room);
        }
    }
    let (bot, token) = context.host.create_bot(&name, checked);
    log::info!("host: made the bot {name} for {:?}", bot.rooms);
    Ok(encode(&ServerFrame::BotToken {
        id: &bot.id,
        name: &bot.name,
        token: &token,
    }))
}

/// `revoke_bot`.
pub fn revoke(session: &Session, id: &str) -> Result<(), Refusal> {
    let Some(bot) = session.context.host.revoke_bot(id) else {
        return Err(Refusal::new(ErrorCode::NotFound, "there is no such bot"));
    };
    log::info!("host: revoked the bot {}", bot.name);
    // Its long polls stop now, not at their timeout.
    session.context.logged.notify_waiters();
    Ok(())
}
