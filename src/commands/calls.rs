//! Calls: starting, joining, leaving and declining one, and its signalling
//! (offers, answers, candidates, what a participant sends).
//!
//! Every frame names its room, and nothing is relayed or forwarded before
//! the sender is found to be a member: to anyone else the room's call is
//! `not_found`, exactly as a room that does not exist. Calls need an owned
//! name, like rooms. The lobby, where everyone on the network is, has no
//! call: a call is for the people of a room or a direct message.

use std::collections::BTreeMap;

use super::Reply;
use crate::calls::Caller;
use crate::protocol::{ErrorCode, LOBBY, Refusal, ServerFrame, TrackRole, encode};
use crate::session::Session;

/// Checks that the session may take part in `room`'s call, and says who
/// it is.
fn caller<'a>(session: &'a Session, room: &str) -> Result<Caller<'a>, Refusal> {
    let user = session
        .user_id
        .as_ref()
        .ok_or_else(|| Refusal::new(ErrorCode::NotClaimed, "calls need a claimed name"))?;
    if room == LOBBY {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "the lobby has no calls: call from a room or a direct message",
        ));
    }
    session.room_for(Some(room.to_owned()))?;
    Ok(Caller {
        conn: session.id,
        user,
        username: &session.username,
    })
}

/// `call_start`: a new call, or the one going on.
pub async fn start(session: &mut Session, room: &str) -> Reply {
    let caller = caller(session, room)?;
    session.context.calls.start_call(&caller, room).await?;
    Ok(None)
}

/// `call_join`: the call going on.
pub async fn join(session: &mut Session, room: &str) -> Reply {
    let caller = caller(session, room)?;
    session.context.calls.join(&caller, room).await?;
    Ok(None)
}

/// `call_leave`.
pub async fn leave(session: &mut Session, room: &str) -> Reply {
    caller(session, room)?;
    session.context.calls.leave(session.id, room).await?;
    Ok(None)
}

/// `call_decline`: everyone in the room hears who declined.
pub fn decline(session: &mut Session, room: &str) -> Reply {
    caller(session, room)?;
    session.context.calls.decline(&session.username, room)?;
    Ok(None)
}

/// `call_offer`: answered with `call_answer`.
pub async fn offer(
    session: &mut Session,
    room: &str,
    sdp: &str,
    tracks: BTreeMap<String, TrackRole>,
) -> Reply {
    caller(session, room)?;
    let calls = session.context.calls.clone();
    let answer = calls.offer(session.id, room, sdp, tracks).await?;
    Ok(Some(encode(&ServerFrame::CallAnswer {
        room,
        sdp: &answer,
    })))
}

/// `call_answer`: the page's answer to the server's offer.
pub async fn answer(session: &mut Session, room: &str, sdp: &str) -> Reply {
    caller(session, room)?;
    session.context.calls.answer(session.id, room, sdp).await?;
    Ok(None)
}

/// `call_candidate`: checked, and not needed (see [`crate::calls::Calls::candidate`]).
pub fn candidate(session: &mut Session, room: &str) -> Reply {
    caller(session, room)?;
    session.context.calls.candidate(session.id, room)?;
    Ok(None)
}

/// `call_media`: what this participant sends now.
pub async fn media(
    session: &mut Session,
    room: &str,
    audio: bool,
    video: bool,
    screen: bool,
) -> Reply {
    caller(session, room)?;
    let calls = session.context.calls.clone();
    calls.media(session.id, room, audio, video, screen).await?;
    Ok(None)
}
