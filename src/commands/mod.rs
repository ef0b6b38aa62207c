//! What each client frame does, one file per kind: [`chat`] (messages,
//! typing, history), [`edits`] (editing, deleting, reactions), [`rooms`]
//! (rooms, invitations, direct messages, read marks), [`notify`] (what a
//! member hears about a room, marking all read), [`names`] (renames, moving
//! a name, finding people), [`search`], [`hands`] (raising a hand),
//! [`host`] (the host's actions, each with the host secret) and [`calls`]
//! (calls and their signalling).
//!
//! A command acts on its [`Session`] and the shared state, sends whatever
//! others should hear through the hub, and answers the connection that
//! sent it with at most one frame, or a refusal. The session writes the
//! answer; a new kind of frame is a new function here, not a new arm in the
//! session.

mod calls;
mod chat;
mod edits;
mod hands;
mod host;
mod names;
mod notify;
mod rooms;
mod search;

pub use chat::render;

use crate::protocol::{ClientFrame, Refusal};
use crate::session::Session;

/// A command's answer to the connection that sent it: a frame, nothing, or
/// a refusal (which the session sends as an `error`).
pub type Reply = Result<Option<String>, Refusal>;

/// Runs `frame` for `session`.
pub async fn apply(frame: ClientFrame, session: &mut Session) -> Reply {
    match frame {
        ClientFrame::Message {
            message,
            cid,
            room,
            files,
            reply_to,
        } => chat::message(
            session,
            chat::NewFrame {
                message,
                cid,
                room,
                files,
                reply_to,
            },
        ),
        ClientFrame::Edit {
            target,
            message,
            cid,
            room,
        } => edits::edit(session, target, message, cid, room),
        ClientFrame::Delete { target, cid, room } => edits::delete(session, target, cid, room),
        ClientFrame::React {
            target,
            emoji,
            on,
            cid,
            room,
        } => edits::react(session, target, emoji, on, cid, room),
        ClientFrame::Typing { active, room } => chat::typing(session, active, room),
        ClientFrame::History {
            before,
            after,
            limit,
            room,
            since,
            around,
            at,
        } => {
            let request = chat::HistoryFrame {
                before,
                after,
                limit,
                room,
                since,
                around,
                at,
            };
            chat::history(session, request).await
        }
        ClientFrame::Search {
            query,
            before,
            limit,
            offset,
        } => search::search(session, &query, before, limit, offset).await,
        ClientFrame::Ping => chat::ping(session),
        ClientFrame::CreateRoom { room, private } => rooms::create(session, &room, private),
        ClientFrame::JoinRoom { room, invite } => rooms::join(session, &room, invite.as_deref()),
        ClientFrame::LeaveRoom { room } => rooms::leave(session, &room),
        ClientFrame::Invite { room, username } => rooms::invite(session, &room, &username),
        ClientFrame::InviteLink { room } => rooms::invite_link(session, &room),
        ClientFrame::Direct { username } => rooms::direct(session, &username),
        ClientFrame::Read { room, seq } => rooms::read(session, &room, seq),
        ClientFrame::ReadAll => notify::read_all(session),
        ClientFrame::RoomSettings {
            room,
            muted,
            notify,
        } => notify::settings(session, &room, muted, notify.as_deref()),
        ClientFrame::ListRooms => rooms::list(session),
        ClientFrame::Rename { username } => names::rename(session, &username),
        ClientFrame::TransferCode => names::transfer_code(session),
        ClientFrame::Who { prefix } => names::who(session, prefix),
        ClientFrame::CallStart { room } => calls::start(session, &room).await,
        ClientFrame::CallJoin { room } => calls::join(session, &room).await,
        ClientFrame::CallLeave { room } => calls::leave(session, &room).await,
        ClientFrame::CallDecline { room } => calls::decline(session, &room),
        ClientFrame::CallOffer { room, sdp, tracks } => {
            calls::offer(session, &room, &sdp, tracks).await
        }
        ClientFrame::CallAnswer { room, sdp } => calls::answer(session, &room, &sdp).await,
        ClientFrame::CallCandidate { room, .. } => calls::candidate(session, &room),
        ClientFrame::CallMedia {
            room,
            audio,
            video,
            screen,
        } => calls::media(session, &room, audio, video, screen).await,
        ClientFrame::Host {
            secret,
            cid,
            action,
        } => host::apply(session, secret, action)
            .await
            .map_err(|refusal| refusal.with_cid(cid)),
        ClientFrame::Hand { up, room } => hands::hand(session, up, room),
    }
}
