//! `lanchat export`: the host's export made from the history directly,
//! beside a running server or not. The same rooms as the host's export in
//! the page: the lobby and public rooms, never a private room or a direct
//! message.

use std::collections::HashMap;
use std::path::Path;

use anyhow::bail;

use super::{Archive, Format, RoomArchive, render};
use crate::clock::now_millis;
use crate::protocol::{FileInfo, LOBBY};
use crate::store::offline::Reader;
use crate::store::{Kind, Location};

/// The export of `room` (or of the lobby and every public room) of the
/// history at `location`, whose files are in `files_dir`; and its file name.
pub async fn export(
    location: &Location,
    files_dir: &Path,
    room: Option<&str>,
    format: Format,
) -> anyhow::Result<(Vec<u8>, String)> {
    let reader = Reader::open(location).await?;
    let mut rooms: Vec<(String, String, Kind)> = reader
        .rooms()
        .await?
        .into_iter()
        .map(|record| (record.room, record.name, record.kind))
        .collect();
    if !rooms.iter().any(|(id, _, _)| id == LOBBY) {
        rooms.push((LOBBY.to_owned(), LOBBY.to_owned(), Kind::Public));
    }
    rooms.sort_by(|a, b| (a.0 != LOBBY, &a.1).cmp(&(b.0 != LOBBY, &b.1)));
    let chosen: Vec<(String, String, Kind)> = match room {
        Some(wanted) => {
            let Some(found) = rooms.into_iter().find(|(id, _, _)| id == wanted) else {
                bail!("there is no room {wanted} in this history");
            };
            if found.2 != Kind::Public {
                bail!(
                    "the host does not export private rooms or direct messages: \
                     their members can export what they can read from the page"
                );
            }
            vec![found]
        }
        None => rooms
            .into_iter()
            .filter(|(_, _, kind)| *kind == Kind::Public)
            .collect(),
    };
    let mut archive = Archive {
        title: room.unwrap_or("everything").to_owned(),
        made: now_millis(),
        rooms: Vec::new(),
    };
    for (id, name, _) in chosen {
        let messages = reader.messages(&id).await?;
        archive.rooms.push(RoomArchive {
            room: id,
            title: format!("#{name}"),
            messages,
        });
    }
    let shas: HashMap<String, (String, Option<String>)> = reader
        .files()
        .await?
        .into_iter()
        .map(|file| (file.id, (file.sha256, file.thumb)))
        .collect();
    let blobs = |file: &FileInfo, thumb: bool| -> Option<Vec<u8>> {
        let (sha, thumbnail) = shas.get(&file.id)?;
        let sha = if thumb { thumbnail.as_deref()? } else { sha };
        crate::files::read_blob(files_dir, sha).ok()
    };
    let name = super::file_name(&archive, format);
    Ok((render(format, &archive, &blobs), name))
}
