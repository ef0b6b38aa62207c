//! Names: renaming, moving an owned name to another device, and finding
//! who is online.

use std::sync::Arc;

use super::Reply;
use crate::protocol::{ErrorCode, Refusal, ServerFrame, encode};
use crate::session::Session;
use crate::username::{MAX_USERNAME_CHARS, parse_username};

/// `rename`: the claim (if any) moves first, then presence, on every tab.
/// A name someone owns, or someone online holds, is refused.
pub fn rename(session: &mut Session, username: &str) -> Reply {
    session.allow_message()?;
    let name = parse_username(username, false).map_err(|bad| bad.refusal())?;
    session.stop_typing();
    session.username = rename_to(session, &name)?;
    Ok(None)
}

fn rename_to(session: &Session, name: &str) -> Result<Arc<str>, Refusal> {
    let context = &session.context;
    if context.host.is_bot_name(name) {
        return Err(Refusal::new(
            ErrorCode::NameTaken,
            format!("\"{name}\" is a bot's name; pick another name"),
        ));
    }
    let from = &session.username;
    context
        .identity
        .rename(from, name)
        .map_err(|refused| refused.refusal())?;
    context.hub.rename(session.id, name).inspect_err(|_| {
        // Give the claim back; nobody can have taken the old key while we
        // still hold it online.
        let _ = context.identity.rename(name, from);
    })
}

/// `transfer_code`: a single-use code that moves this claimed name to
/// another device.
pub fn transfer_code(session: &mut Session) -> Reply {
    let issued = session
        .user_id
        .is_some()
        .then(|| session.context.identity.transfer_code(&session.username))
        .flatten();
    let Some((code, expires)) = issued else {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            "only a claimed name can move to another device",
        )
        .detail("transfer_unclaimed"));
    };
    let shown = format!("{}-{}", &code[..4], &code[4..]);
    Ok(Some(encode(&ServerFrame::TransferCode {
        code: &shown,
        expires,
    })))
}

/// `who`: online names starting with a prefix, how a client finds people
/// once the lobby is too big to list everyone.
pub fn who(session: &mut Session, prefix: Option<String>) -> Reply {
    let prefix = prefix.unwrap_or_default();
    if prefix.chars().count() > MAX_USERNAME_CHARS {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("names are at most {MAX_USERNAME_CHARS} characters"),
        ));
    }
    Ok(Some(session.context.hub.who(&prefix)))
}
