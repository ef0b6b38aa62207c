//! Files shared in the chat: resumable uploads, the finished files, and who
//! may fetch them.
//!
//! - [`tus`]: the tus 1.0 upload protocol at `/api/uploads`;
//! - [`upload`]: one unfinished upload on disk;
//! - [`gate`]: who may upload and fetch;
//! - [`blobs`]: finished files by content (SHA-256), behind an interface;
//! - [`thumbnail`]: image sizes and thumbnails, with limits;
//! - [`serve`]: `GET /files/<id>/<name>` and `/thumbs/<id>`, for members only.
//!
//! An upload names its room when it is created, and only that room's
//! members may fetch the finished file. A finished upload is stored (as a
//! [`FileRecord`]) before the last PATCH is acknowledged, and a message may
//! then share it; a file no message shares within the upload expiry is
//! collected, and its blob with it once no file uses it.

mod blobs;
mod gate;
pub mod serve;
mod thumbnail;
pub mod tus;
mod upload;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use warp::http::StatusCode;

use crate::clock::now_millis;
use crate::ids::{UserId, hex, random_bytes};
use crate::protocol::{ErrorCode, Refusal};
use crate::store::{Change, FileRecord, Store};
use crate::sync::lock;
pub use blobs::read_blob;
use blobs::{Blobs, DirBlobs};
pub use gate::FileAccess;
use upload::{Meta, Upload};

/// Most files one message may share.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// Bytes of a file's start read to sniff its type.
const SNIFF_BYTES: usize = 8192;

/// Where files go and how much they may take.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The files folder: `blobs/` and `uploads/` go inside.
    pub dir: PathBuf,
    /// Largest file, in bytes.
    pub max_file: u64,
    /// Most bytes all files together may take, unfinished uploads included.
    pub quota: u64,
    /// Uploads are refused while the disk has less free than this.
    pub min_free: u64,
    /// Unfinished uploads one user may have at once.
    pub uploads_per_user: usize,
    /// How long an unfinished upload, or a finished file no message
    /// shares, is kept.
    pub expiry: Duration,
}

/// A request refused with a status and a reason in plain (English) words,
/// and for a page that says it in its reader's language, a stable `code`
/// with the numbers its words need (sent as the `Lanchat-Refusal` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub status: StatusCode,
    pub reason: String,
    pub code: Option<&'static str>,
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl FileError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> FileError {
        FileError {
            status,
            reason: reason.into(),
            code: None,
            params: serde_json::Map::new(),
        }
    }

    /// Says which refusal this is, stably (`too_big`, `quota_full`...).
    pub fn code(mut self, code: &'static str) -> FileError {
        self.code = Some(code);
        self
    }

    /// A number or a name the refusal's words need.
    pub fn param(mut self, name: &str, value: impl Into<serde_json::Value>) -> FileError {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// The `Lanchat-Refusal` header's value: `{"code":"too_big","size":..}`.
    pub fn refusal_json(&self) -> Option<String> {
        let code = self.code?;
        let mut object = self.params.clone();
        object.insert("code".to_owned(), code.into());
        Some(serde_json::Value::Object(object).to_string())
    }

    fn disk(err: &io::Error) -> FileError {
        if err.kind() == io::ErrorKind::StorageFull {
            FileError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "the server's disk is full; the upload stopped where it was",
            )
            .code("disk_full")
        } else {
            log::error!("files: {err}");
            FileError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server could not write the file",
            )
            .code("write_failed")
        }
    }
}

/// Handle to the files. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    uploads_dir: PathBuf,
    blobs: Box<dyn Blobs>,
    store: Store,
    /// Held for map lookups and updates only, never across I/O.
    state: Mutex<State>,
    /// A `--memory` server's folder, removed when the server stops.
    _temp: Option<tempfile::TempDir>,
}

#[derive(Default)]
struct State {
    uploads: HashMap<String, Arc<Upload>>,
    records: HashMap<String, Arc<FileRecord>>,
    /// Each blob's size and how many records (files or thumbnails) use it.
    blobs: HashMap<String, (u64, usize)>,
    /// Bytes promised to unfinished uploads, counted against the quota from
    /// the moment they are created.
    reserved: u64,
}

impl State {
    fn used(&self) -> u64 {
        self.reserved + self.blobs.values().map(|(size, _)| size).sum::<u64>()
    }

    fn use_blob(&mut self, sha: &str, size: u64) {
        self.blobs.entry(sha.to_owned()).or_insert((size, 0)).1 += 1;
    }

    /// Counts in a stored file and the blobs it uses.
    fn add(&mut self, record: FileRecord, blobs: &dyn Blobs) {
        self.use_blob(&record.sha256, record.size);
        if let Some(thumb) = &record.thumb {
            let size = blobs
                .open(thumb)
                .and_then(|f| f.metadata())
                .map_or(0, |m| m.len());
            self.use_blob(thumb, size);
        }
        self.records.insert(record.id.clone(), Arc::new(record));
    }

    /// Forgets a stored file and its uses of blobs.
    fn forget(&mut self, id: &str) -> Option<Arc<FileRecord>> {
        let record = self.records.remove(id)?;
        self.release_blob(&record.sha256);
        if let Some(thumb) = &record.thumb {
            self.release_blob(thumb);
        }
        Some(record)
    }

    /// Drops one use of a blob; true if nothing uses it any more.
    fn release_blob(&mut self, sha: &str) -> bool {
        match self.blobs.get_mut(sha) {
            Some((_, users)) if *users > 1 => {
                *users -= 1;
                false
            }
            Some(_) => {
                self.blobs.remove(sha);
                true
            }
            None => false,
        }
    }
}

impl Files {
    /// Opens the files folder, reads back unfinished uploads, and counts
    /// what the stored files take. `temp` keeps a temporary folder alive.
    pub fn open(
        settings: Settings,
        store: Store,
        records: Vec<FileRecord>,
        temp: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Files> {
        let shown = settings.dir.display().to_string();
        let uploads_dir = settings.dir.join("uploads");
        std::fs::create_dir_all(&uploads_dir)
            .with_context(|| format!("cannot create the files folder {shown}"))?;
        let blobs = DirBlobs::new(settings.dir.join("blobs"))
            .with_context(|| format!("cannot create the files folder {shown}"))?;
        let mut state = State::default();
        for record in records {
            state.add(record, &blobs);
        }
        let now = now_millis();
        for entry in std::fs::read_dir(&uploads_dir)
            .with_context(|| format!("cannot read {}", uploads_dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            match Upload::load(&uploads_dir, &path) {
                Ok(upload) if upload.meta.expires > now => {
                    state.reserved += upload.meta.length;
                    state
                        .uploads
                        .insert(upload.meta.id.clone(), Arc::new(upload));
                }
                Ok(upload) => upload.remove(),
                Err(err) => log::warn!("skipping the unreadable upload {}: {err}", path.display()),
            }
        }
        Ok(Files {
            inner: Arc::new(Inner {
                settings,
                uploads_dir,
                blobs: Box::new(blobs),
                store,
                state: Mutex::new(state),
                _temp: temp,
            }),
        })
    }

    /// Takes in what another instance changed: the files in `only` (every
    /// file when `None`) become what `records` says. Their blobs are in the
    /// folder every instance shares; the instance that removes a file
    /// removes its blobs. A file `may_replace` refuses (one this instance
    /// changed meanwhile) is left as it is and returned, to be read again.
    pub fn refresh(
        &self,
        only: Option<&[String]>,
        records: Vec<FileRecord>,
        may_replace: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut state = self.state();
        let (gone, skipped): (Vec<String>, Vec<String>) = match only {
            Some(only) => only.iter().cloned().partition(|id| may_replace(id)),
            None => (state.records.keys().cloned().collect(), Vec::new()),
        };
        for id in &gone {
            state.forget(id);
        }
        for record in records {
            if !skipped.contains(&record.id) {
                state.add(record, self.inner.blobs.as_ref());
            }
        }
        skipped
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Starts an upload of `length` bytes of `name` for `room`, if every
    /// limit allows it.
    pub fn create(
        &self,
        owner: &UserId,
        name: &str,
        room: &str,
        length: u64,
    ) -> Result<Arc<Upload>, FileError> {
        let settings = &self.inner.settings;
        if length > settings.max_file {
            return Err(FileError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the file is {}; the largest this server takes is {}",
                    human_size(length),
                    human_size(settings.max_file)
                ),
            )
            .code("too_big")
            .param("size", length)
            .param("max", settings.max_file));
        }
        let free = fs4::available_space(&settings.dir).map_err(|err| FileError::disk(&err))?;
        if free < settings.min_free.saturating_add(length) {
            return Err(FileError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "the server's disk is nearly full ({} free); ask whoever runs it to make room",
                    human_size(free)
                ),
            )
            .code("disk_nearly_full")
            .param("free", free));
        }
        let mut state = self.state();
        if state.used().saturating_add(length) > settings.quota {
            return Err(FileError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "the space for files is full ({} of {}); ask whoever runs it to make room",
                    human_size(state.used()),
                    human_size(settings.quota)
                ),
            )
            .code("quota_full")
            .param("used", state.used())
            .param("quota", settings.quota));
        }
        let mine = state
            .uploads
            .values()
            .filter(|upload| *upload.meta.owner == **owner)
            .count();
        if mine >= settings.uploads_per_user {
            return Err(FileError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "you have {mine} uploads going; finish or cancel one first (the limit is {})",
                    settings.uploads_per_user
                ),
            )
            .code("too_many_uploads")
            .param("count", mine)
            .param("max", settings.uploads_per_user));
        }
        let now = now_millis();
        let meta = Meta {
            id: hex(&random_bytes::<16>()),
            owner: owner.to_string(),
            name: name.to_owned(),
            room: room.to_owned(),
            length,
            created: now,
            expires: now + settings.expiry.as_millis() as i64,
            offset: 0,
        };
        let upload = Arc::new(
            Upload::create(&self.inner.uploads_dir, meta).map_err(|err| FileError::disk(&err))?,
        );
        state.reserved += length;
        state.uploads.insert(upload.meta.id.clone(), upload.clone());
        Ok(upload)
    }

    /// How many uploads are unfinished (not yet finished, cancelled or
    /// collected at expiry).
    pub fn uploads_in_progress(&self) -> usize {
        self.state().uploads.len()
    }

    /// `owner`'s unfinished upload `id`, if it has not expired. To anyone
    /// else it does not exist.
    pub fn upload(&self, id: &str, owner: &UserId) -> Option<Arc<Upload>> {
        let upload = self.state().uploads.get(id).cloned()?;
        if *upload.meta.owner != **owner {
            return None;
        }
        if upload.meta.expires <= now_millis() {
            self.cancel(&upload);
            return None;
        }
        Some(upload)
    }

    /// Drops an unfinished upload and its bytes.
    pub fn cancel(&self, upload: &Upload) {
        let mut state = self.state();
        if state.uploads.remove(&upload.meta.id).is_some() {
            state.reserved -= upload.meta.length;
            upload.remove();
        }
    }

    /// Turns a complete upload into a stored file: sniffs its type, makes
    /// a thumbnail of an image, moves the bytes to their blob and stores
    /// the record, all before the last PATCH is acknowledged.
    pub async fn finish(&self, upload: &Upload, sha256: [u8; 32]) -> Result<(), FileError> {
        let part = upload.part_path();
        let sha = hex(&sha256);
        let files = self.clone();
        let adopted = tokio::task::spawn_blocking(move || files.store_bytes(&part, &sha))
            .await
            .map_err(|err| FileError::disk(&io::Error::other(err)))?;
        let (mime, image) = match adopted {
            Ok(adopted) => adopted,
            Err(err) => {
                self.cancel(upload);
                return Err(err);
            }
        };
        let meta = &upload.meta;
        let record = FileRecord {
            id: meta.id.clone(),
            sha256: hex(&sha256),
            name: meta.name.clone(),
            size: meta.length,
            mime,
            width: image.as_ref().map(|image| image.width),
            height: image.as_ref().map(|image| image.height),
            thumb: image.as_ref().map(|image| image.thumb.clone()),
            room: meta.room.clone(),
            uploader: meta.owner.clone(),
            created: now_millis(),
        };
        if !self
            .inner
            .store
            .save_now(Change::File(record.clone()))
            .await
        {
            return Err(FileError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server cannot save the file right now; try again",
            )
            .code("unavailable"));
        }
        upload.forget();
        let mut state = self.state();
        if state.uploads.remove(&meta.id).is_some() {
            state.reserved -= meta.length;
        }
        state.use_blob(&record.sha256, record.size);
        if let Some(image) = &image {
            state.use_blob(&image.thumb, image.thumb_size);
        }
        state.records.insert(record.id.clone(), Arc::new(record));
        Ok(())
    }

    /// Blocking: sniffs and probes the finished bytes at `part`, stores a
    /// thumbnail, and moves the bytes into their blob. Returns the type and,
    /// for an image, its size and thumbnail.
    fn store_bytes(
        &self,
        part: &std::path::Path,
        sha: &str,
    ) -> Result<(String, Option<Image>), FileError> {
        let mime = sniff(part).map_err(|err| FileError::disk(&err))?;
        let probed = match thumbnail::format_of(&mime) {
            Some(format) => {
                let probed = thumbnail::probe(part, format).map_err(|refused| {
                    FileError::new(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string())
                        .code("picture_too_large")
                })?;
                let thumb = hex(&Sha256::digest(&probed.thumb));
                self.inner
                    .blobs
                    .put(&probed.thumb, &thumb)
                    .map_err(|err| FileError::disk(&err))?;
                Some(Image {
                    width: probed.width,
                    height: probed.height,
                    thumb,
                    thumb_size: probed.thumb.len() as u64,
                })
            }
            None => None,
        };
        self.inner
            .blobs
            .adopt(part, sha)
            .map_err(|err| FileError::disk(&err))?;
        Ok((mime, probed))
    }

    /// A stored file.
    pub fn get(&self, id: &str) -> Option<Arc<FileRecord>> {
        self.state().records.get(id).cloned()
    }

    /// A blob's bytes, for reading.
    pub fn open_blob(&self, sha256: &str) -> io::Result<std::fs::File> {
        self.inner.blobs.open(sha256)
    }

    /// The files a message from `user` in `room` shares: each must be that
    /// user's finished upload for that room.
    pub fn for_message(
        &self,
        ids: &[String],
        user: &UserId,
        room: &str,
    ) -> Result<Vec<Arc<FileRecord>>, Refusal> {
        if ids.len() > MAX_FILES_PER_MESSAGE {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                format!("a message shares at most {MAX_FILES_PER_MESSAGE} files"),
            )
            .detail("too_many_files")
            .param("max", MAX_FILES_PER_MESSAGE));
        }
        let state = self.state();
        ids.iter()
            .map(|id| {
                state
                    .records
                    .get(id)
                    .filter(|file| *file.uploader == **user && file.room == room)
                    .cloned()
                    .ok_or_else(|| {
                        Refusal::new(
                            ErrorCode::NotFound,
                            format!("there is no finished upload {id} of yours for this room"),
                        )
                        .detail("no_upload")
                    })
            })
            .collect()
    }

    /// Drops uploads past their expiry, and files no message shared in
    /// that time, with their blobs once nothing uses them.
    pub async fn sweep(&self) {
        let now = now_millis();
        let expired: Vec<Arc<Upload>> = self
            .state()
            .uploads
            .values()
            .filter(|upload| upload.meta.expires <= now)
            .cloned()
            .collect();
        for upload in expired {
            log::info!("upload {} expired unfinished", upload.meta.id);
            self.cancel(&upload);
        }
        let cutoff = now - self.inner.settings.expiry.as_millis() as i64;
        let unshared = match self.inner.store.unshared_files(cutoff).await {
            Ok(ids) => ids,
            Err(err) => return log::warn!("cannot look for unshared files: {err:#}"),
        };
        self.collect(&unshared).await;
    }

    /// Removes the stored files `ids`, which no message shares any more,
    /// with their blobs once nothing uses them.
    pub async fn collect(&self, ids: &[String]) {
        for id in ids {
            if !self
                .inner
                .store
                .save_now(Change::DeleteFile(id.clone()))
                .await
            {
                continue;
            }
            let Some(record) = self.state().records.remove(id) else {
                continue;
            };
            log::info!(
                "collected {} ({}), which no message shares",
                record.name,
                id
            );
            let shas = std::iter::once(&record.sha256).chain(record.thumb.as_ref());
            for sha in shas {
                if self.state().release_blob(sha)
                    && let Err(err) = self.inner.blobs.remove(sha)
                {
                    log::warn!("cannot remove blob {sha}: {err}");
                }
            }
        }
    }
}

/// What a finished image adds to its record.
struct Image {
    width: u32,
    height: u32,
    /// The thumbnail's blob.
    thumb: String,
    thumb_size: u64,
}

/// The type of the file at `path`, from its first bytes.
fn sniff(path: &std::path::Path) -> io::Result<String> {
    use std::io::Read as _;
    let mut start = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut start)?;
    Ok(match infer::get(&start) {
        Some(kind) => kind.mime_type().to_owned(),
        None if std::str::from_utf8(&start).is_ok() => "text/plain".to_owned(),
        None => "application/octet-stream".to_owned(),
    })
}

/// Sizes as people read them, in the decimal units file managers show:
/// "2.1 MB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ if value < 10.0 => format!("{value:.1} {}", UNITS[unit]),
        _ => format!("{value:.0} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(2_100_000), "2.1 MB");
        assert_eq!(human_size(52_428_800), "52 MB");
        assert_eq!(human_size(4 << 30), "4.3 GB");
    }
}
