//! The exports the server hands out: the host's (`GET /api/export`, with
//! the host secret in a `Lanchat-Host` header: the lobby and public rooms,
//! in any format) and each participant's (`GET /api/export/mine`, with
//! their name's token: what they can read, direct messages included, as
//! HTML).

use std::io::Read as _;

use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::{Archive, Format, RoomArchive, render};
use crate::clock::now_millis;
use crate::protocol::{ChatMessage, FileInfo, LOBBY};
use crate::session::Context;
use crate::store::{Backwards, Kind};

/// The header the host's export carries the host secret in.
pub const HOST_HEADER: &str = "lanchat-host";
/// Messages read from the store at a time.
const PAGE: usize = 200;

/// A refused export: a status and a reason in plain words.
pub type Refused = (StatusCode, String);

/// The host's export: `room`, or the lobby and every public room; a
/// private room or a direct message is refused.
pub async fn host(
    context: &Context,
    secret: Option<&str>,
    room: Option<&str>,
    format: Format,
) -> Result<Response, Refused> {
    if secret
        .and_then(|secret| context.host.verify(secret))
        .is_none()
    {
        return Err((
            StatusCode::FORBIDDEN,
            "the host's export needs the host link's secret".to_owned(),
        ));
    }
    let rooms = context.rooms.every_room();
    let chosen: Vec<_> = match room {
        Some(wanted) => {
            let found = rooms
                .into_iter()
                .find(|info| info.id == wanted)
                .ok_or_else(|| (StatusCode::NOT_FOUND, format!("there is no room {wanted}")))?;
            if found.kind != Kind::Public {
                return Err((
                    StatusCode::FORBIDDEN,
                    "the host does not export private rooms or direct messages: \
                     their members can export what they can read themselves"
                        .to_owned(),
                ));
            }
            vec![found]
        }
        None => rooms
            .into_iter()
            .filter(|info| info.kind == Kind::Public)
            .collect(),
    };
    let title = room.unwrap_or("everything").to_owned();
    let mut archive = Archive {
        title,
        made: now_millis(),
        rooms: Vec::new(),
    };
    for info in chosen {
        let messages = all_messages(context, &info.id).await?;
        archive.rooms.push(RoomArchive {
            title: format!("#{}", info.name),
            room: info.id,
            messages,
        });
    }
    log::info!(
        "host: exported {} rooms as {}",
        archive.rooms.len(),
        format.extension()
    );
    download(context, archive, format).await
}

/// A participant's export, as HTML: `room`, or the lobby and every room
/// they belong to, direct messages included; without a token, the lobby
/// (what anyone can read).
pub async fn mine(
    context: &Context,
    token: Option<&str>,
    room: Option<&str>,
) -> Result<Response, Refused> {
    // A name nobody owns reads the lobby alone.
    let owner = token.and_then(|token| context.identity.user_by_token(token));
    if token.is_some() && owner.is_none() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "that token is no name's (any more)".to_owned(),
        ));
    }
    let (user, name) = owner.unzip();
    let memberships = user
        .map(|user| context.rooms.memberships(&user))
        .unwrap_or_default();
    let mut rooms: Vec<(String, String)> = memberships
        .iter()
        .map(|membership| {
            let title = match membership.kind {
                Kind::Direct => format!(
                    "Direct messages: {}",
                    context.identity.names_of(&membership.members).join(" & ")
                ),
                Kind::Private => format!("#{} (private)", membership.name),
                Kind::Public => format!("#{}", membership.name),
            };
            (membership.room.clone(), title)
        })
        .collect();
    // The lobby first.
    rooms.sort_by_key(|(id, _)| (id != LOBBY, id.starts_with("dm:")));
    if !rooms.iter().any(|(id, _)| id == LOBBY) {
        rooms.insert(0, (LOBBY.to_owned(), "#lobby".to_owned()));
    }
    if let Some(wanted) = room {
        rooms.retain(|(id, _)| id == wanted);
        if rooms.is_empty() {
            return Err((
                StatusCode::NOT_FOUND,
                format!("there is no room {wanted} you can read"),
            ));
        }
    }
    let mut archive = Archive {
        title: name.unwrap_or_else(|| LOBBY.to_owned()),
        made: now_millis(),
        rooms: Vec::new(),
    };
    for (id, title) in rooms {
        let messages = all_messages(context, &id).await?;
        archive.rooms.push(RoomArchive {
            room: id,
            title,
            messages,
        });
    }
    download(context, archive, Format::Html).await
}

/// Every message of `room`, oldest first, in its current state.
async fn all_messages(context: &Context, room: &str) -> Result<Vec<ChatMessage>, Refused> {
    let mut walk = Backwards::new();
    loop {
        let page = context
            .store
            .page(room, walk.before(), PAGE)
            .await
            .map_err(|err| {
                log::warn!("cannot read {room} to export it: {err:#}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the history cannot be read right now; try again".to_owned(),
                )
            })?;
        if !walk.take(page) {
            return Ok(walk.messages());
        }
    }
}

/// The archive as a download. Made on a blocking thread: it reads the
/// pictures it embeds from disk.
async fn download(
    context: &Context,
    archive: Archive,
    format: Format,
) -> Result<Response, Refused> {
    let files = context.files.clone();
    tokio::task::spawn_blocking(move || made(&files, &archive, format))
        .await
        .map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export could not be made".to_owned(),
            )
        })
}

fn made(files: &crate::files::Files, archive: &Archive, format: Format) -> Response {
    let blobs = move |file: &FileInfo, thumb: bool| -> Option<Vec<u8>> {
        let record = files.get(&file.id)?;
        let sha = if thumb {
            record.thumb.as_deref()?
        } else {
            record.sha256.as_str()
        };
        let mut bytes = Vec::new();
        files.open_blob(sha).ok()?.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    };
    let body = render(format, archive, &blobs);
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        super::file_name(archive, format)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
