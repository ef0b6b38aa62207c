//! Stopping a troublemaker: kick (every connection of a name closes, with
//! the host's reason), mute (reads, cannot post) and ban (kept out: the
//! name, its owner under any name, and the browsers it came from). Each
//! shows in the lobby as a system event.

use super::view::post_event;
use crate::clock::now_millis;
use crate::host::target_of;
use crate::protocol::{ErrorCode, LOBBY, Refusal, ServerFrame, SystemEvent, encode};
use crate::session::Session;
use crate::username::parse_username;

/// Longest mute or ban with an end: a year, in minutes.
const MAX_MINUTES: u32 = 525_600;
/// Longest reason the host may give, in characters.
const MAX_REASON_CHARS: usize = 300;

/// `kick`: every connection of the name closes, told `reason`.
pub fn kick(session: &Session, username: &str, reason: &str) -> Result<(), Refusal> {
    let reason = check_reason(reason)?;
    let context = &session.context;
    let Some(name) = context.hub.find_online(username.trim()) else {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            format!("nobody called \"{}\" is online", username.trim()),
        ));
    };
    let closed = remove(session, &name, reason, false, None);
    log::info!("host: kicked {name} ({closed} connections)");
    post_event(
        session,
        LOBBY,
        SystemEvent::Kicked {
            username: name.to_string(),
        },
    );
    Ok(())
}

/// `mute`: the name (its owner, under any name) reads but cannot post, for
/// `minutes` or until unmuted.
pub fn mute(session: &Session, username: &str, minutes: Option<u32>) -> Result<(), Refusal> {
    let (name, user) = resolve(session, username)?;
    let until = until(minutes)?;
    let context = &session.context;
    context.host.mute(target_of(user, &name), &name, until);
    log::info!("host: muted {name} {}", lasting(minutes));
    post_event(
        session,
        LOBBY,
        SystemEvent::Muted {
            username: name,
            until,
        },
    );
    Ok(())
}

/// `unmute`.
pub fn unmute(session: &Session, username: &str) -> Result<(), Refusal> {
    let (name, user) = resolve(session, username)?;
    let context = &session.context;
    if context.host.unmute(&target_of(user, &name)).is_none() {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            format!("\"{name}\" is not muted"),
        ));
    }
    log::info!("host: unmuted {name}");
    post_event(session, LOBBY, SystemEvent::Unmuted { username: name });
    Ok(())
}

/// `ban`: keeps out the name (its owner under any name) and the browsers
/// it is connected from, for `minutes` or for good; its connections close
/// with `reason`.
pub fn ban(
    session: &Session,
    username: &str,
    minutes: Option<u32>,
    reason: &str,
) -> Result<(), Refusal> {
    let reason = check_reason(reason)?;
    let (name, user) = resolve(session, username)?;
    let until = until(minutes)?;
    let context = &session.context;
    let online = context.hub.find_online(&name);
    let connections = online
        .as_ref()
        .map(|online| context.hub.connections_named(online))
        .unwrap_or_default();
    let browsers = context.host.browsers_of(&connections);
    let ban = context
        .host
        .ban(target_of(user, &name), &name, browsers, until, reason);
    let closed = match &online {
        Some(online) => remove(session, online, reason, true, until),
        None => 0,
    };
    log::info!(
        "host: banned {name} {} ({closed} connections, {} browsers)",
        lasting(minutes),
        ban.browsers.len()
    );
    post_event(
        session,
        LOBBY,
        SystemEvent::Banned {
            username: name,
            until,
        },
    );
    Ok(())
}

/// `unban`: lifts one ban, by its id.
pub fn unban(session: &Session, id: &str) -> Result<(), Refusal> {
    let Some(ban) = session.context.host.unban(id) else {
        return Err(Refusal::new(ErrorCode::NotFound, "there is no such ban"));
    };
    log::info!("host: lifted the ban on {}", ban.name);
    post_event(session, LOBBY, SystemEvent::Unbanned { username: ban.name });
    Ok(())
}

/// Tells every connection of `name` why it is removed, then closes it.
fn remove(session: &Session, name: &str, reason: &str, banned: bool, until: Option<i64>) -> usize {
    let frame = encode(&ServerFrame::Removed {
        reason,
        banned,
        until,
    });
    let close = if banned {
        &"banned by the host"
    } else {
        &"removed by the host"
    };
    session.context.hub.remove_name(name, frame.into(), close)
}

/// The name as it is known (its owner's spelling, or as online), and its
/// owner, if someone owns it.
fn resolve(
    session: &Session,
    username: &str,
) -> Result<(String, Option<crate::ids::UserId>), Refusal> {
    let name = parse_username(username, false).map_err(|bad| bad.refusal())?;
    let context = &session.context;
    let user = context.identity.user_of(&name);
    let known = context
        .identity
        .owned_name(&name)
        .or_else(|| context.hub.find_online(&name).map(|name| name.to_string()))
        .unwrap_or(name);
    Ok((known, user))
}

fn until(minutes: Option<u32>) -> Result<Option<i64>, Refusal> {
    match minutes {
        None => Ok(None),
        Some(minutes) if (1..=MAX_MINUTES).contains(&minutes) => {
            Ok(Some(now_millis() + i64::from(minutes) * 60_000))
        }
        Some(_) => Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("minutes is 1 to {MAX_MINUTES}, or left out for good"),
        )),
    }
}

fn lasting(minutes: Option<u32>) -> String {
    match minutes {
        Some(minutes) => format!("for {minutes} minutes"),
        None => "until lifted".to_owned(),
    }
}

fn check_reason(reason: &str) -> Result<&str, Refusal> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::new(
            ErrorCode::TooLong,
            format!("a reason is at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason)
}
