//! The `host` frame: every host action carries the host secret. Without
//! it, or with a wrong one, the answer is `forbidden` and nothing changes.
//! With it, the connection is in host mode (its messages pass read-only
//! rooms and slow mode), the action runs, and every host connection hears
//! the host's view again. Actions are logged by name and target, never
//! with the secret. One file per kind: [`moderation`] (kick, mute, ban),
//! [`rooms`] (deleting any message, a room's rules), [`announce`]
//! (announcements, raised hands), [`bots`] (bot tokens), [`view`] (what the
//! host sees, and how host actions show in rooms).

mod announce;
mod bots;
mod moderation;
mod rooms;
mod view;

pub use announce::send_hands;
pub use view::read_moved;

use super::Reply;
use crate::protocol::{ErrorCode, HostAction, HostSecret, Refusal};
use crate::session::Session;

/// `end_event`: the event is over now; every page hears it (see
/// `crate::event`).
fn end_event(session: &Session) -> Result<(), Refusal> {
    let Some(event) = &session.context.event else {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            "this server runs no event (start it with --event)",
        ));
    };
    if event.end() {
        log::info!("host: ended the event {:?}", event.name());
    }
    Ok(())
}

/// Runs a host action, if `secret` is the host secret.
pub async fn apply(session: &mut Session, secret: Option<HostSecret>, action: HostAction) -> Reply {
    let host = &session.context.host;
    let Some(proof) = secret.and_then(|secret| host.verify(&secret.0)) else {
        log::info!(
            "conn {}: host action \"{}\" refused: not the host secret",
            session.id,
            action.name()
        );
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "that needs the host link, and this is not it (or it was replaced)",
        ));
    };
    if session.host.is_none() {
        log::info!("conn {}: {} is in host mode", session.id, session.username);
    }
    session.host = Some(proof);
    host.enter_host_mode(session.id);
    let mut reply = None;
    match action {
        HostAction::Hello => {}
        HostAction::Kick { username, reason } => moderation::kick(session, &username, &reason)?,
        HostAction::Mute { username, minutes } => moderation::mute(session, &username, minutes)?,
        HostAction::Unmute { username } => moderation::unmute(session, &username)?,
        HostAction::Ban {
            username,
            minutes,
            reason,
        } => moderation::ban(session, &username, minutes, &reason)?,
        HostAction::Unban { ban } => moderation::unban(session, &ban)?,
        HostAction::Delete { room, target } => rooms::delete(session, &room, target)?,
        HostAction::Announce { room, message } => {
            announce::announce(session, room, &message).await?
        }
        HostAction::Unpin { room } => announce::unpin(session, &room)?,
        HostAction::EndEvent => end_event(session)?,
        HostAction::CreateBot { name, rooms } => reply = Some(bots::create(session, &name, rooms)?),
        HostAction::RevokeBot { bot } => bots::revoke(session, &bot)?,
        HostAction::LowerHand { room, username } => {
            announce::lower_hand(session, &room, &username)?
        }
        HostAction::Rules {
            room,
            slow,
            read_only,
            locked,
            closed,
            keep,
        } => {
            rooms::rules(
                session,
                &room,
                rooms::RuleChange {
                    slow,
                    read_only,
                    locked,
                    closed,
                    keep,
                },
            )?;
            if keep.is_some() {
                // What is past the new keep goes at once, not at the next round.
                crate::retention::sweep(&session.context).await;
            }
        }
    }
    view::show_hosts(&session.context);
    Ok(reply)
}
