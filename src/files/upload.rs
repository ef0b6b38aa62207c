//! One unfinished upload: what it is, its bytes so far, and appending to
//! them.
//!
//! Each upload is two files in the uploads folder: `<id>.part` (the bytes)
//! and `<id>.json` (who, where, how long, and the offset known to be on
//! disk). An offset is acknowledged only after the bytes before it were
//! synced and the `.json` says so, so an acknowledged offset survives a
//! crash; at start-up a `.part` is cut back to its `.json` offset. The
//! SHA-256 that names the finished blob is computed as the bytes arrive
//! (after a restart, by reading back what is on disk once). A request's
//! bytes are written, hashed and checkpointed on three threads at once.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::thread;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};

use super::blobs::sync_dir;
use crate::metrics;

/// Bytes handed to the disk writer at once.
const WRITE_CHUNK: usize = 256 * 1024;
/// Chunks in flight between the request and the disk writer: what a fast
/// sender may have in memory.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Bytes after which a long request makes its progress durable, so a crash
/// in the middle of a large PATCH loses little. Small, because each
/// checkpoint's sync commits ext4's journal, and chat's SQLite commits wait
/// behind the data it flushes: beside 10 uploads sharing 1 Gb/s, 32 MiB
/// gave chat a p99 of 68 ms, 4 MiB 12-28 ms (1 December); on a slower disk
/// (8 December), 4 MiB 314-340 ms and 1 MiB 136-227, with uploads as fast
/// (benches/README.md, files). A PATCH also ends by waiting for its last
/// checkpoint, which is shorter for it. On a thread of its own, and at
/// most one at a time, a small checkpoint costs the writer little; on a
/// slow disk they simply come further apart.
const CHECKPOINT: u64 = 1024 * 1024;

/// What an upload is, as its `.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub id: String,
    /// The uploader's user id.
    pub owner: String,
    pub name: String,
    pub room: String,
    /// The whole size, from `Upload-Length`.
    pub length: u64,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub expires: i64,
    /// Bytes known to be on disk.
    pub offset: u64,
}

pub struct Upload {
    /// As created or loaded; the live offset is in `state`.
    pub meta: Meta,
    dir: PathBuf,
    /// Held by the request appending to it, so two never interleave.
    state: Mutex<State>,
}

struct State {
    offset: u64,
    /// The hash of the bytes so far; `None` until read back after a restart.
    hasher: Option<Sha256>,
}

/// Why an append stopped.
#[derive(Debug)]
pub enum AppendError {
    /// The request's offset is not the upload's.
    Conflict { offset: u64 },
    /// The body goes past `Upload-Length`.
    TooLong,
    /// The disk refused: full, or failing.
    Disk(io::Error),
}

/// Where an append left the upload.
pub struct Appended {
    pub offset: u64,
    /// The content's SHA-256, once the upload is complete.
    pub sha256: Option<[u8; 32]>,
}

impl Upload {
    /// Creates the upload's files, synced, before anyone hears of it.
    pub fn create(dir: &Path, meta: Meta) -> io::Result<Upload> {
        let part = File::create(part_path(dir, &meta.id))?;
        part.sync_all()?;
        save_meta(dir, &meta)?;
        sync_dir(dir)?;
        Ok(Upload {
            state: Mutex::new(State {
                offset: 0,
                hasher: Some(Sha256::new()),
            }),
            meta,
            dir: dir.to_owned(),
        })
    }

    /// Reads back an upload found at start-up, cutting its bytes back to
    /// the offset its `.json` vouches for.
    pub fn load(dir: &Path, json: &Path) -> io::Result<Upload> {
        let meta: Meta = serde_json::from_slice(&std::fs::read(json)?)?;
        let part = OpenOptions::new()
            .write(true)
            .open(part_path(dir, &meta.id))?;
        if part.metadata()?.len() != meta.offset {
            part.set_len(meta.offset)?;
            part.sync_all()?;
        }
        Ok(Upload {
            state: Mutex::new(State {
                offset: meta.offset,
                hasher: None,
            }),
            meta,
            dir: dir.to_owned(),
        })
    }

    pub fn part_path(&self) -> PathBuf {
        part_path(&self.dir, &self.meta.id)
    }

    /// The offset known to be on disk, once no request is writing.
    pub async fn offset(&self) -> u64 {
        self.state.lock().await.offset
    }

    /// Appends `body` at `offset`, as a PATCH asks. What arrived before the
    /// body ended (or broke off) is kept and made durable.
    pub async fn append<S, B, E>(&self, offset: u64, body: S) -> Result<Appended, AppendError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
    {
        let mut state = self.state.lock().await;
        if offset != state.offset {
            return Err(AppendError::Conflict {
                offset: state.offset,
            });
        }
        let hasher = match state.hasher.take() {
            Some(hasher) => hasher,
            None => self.rehash(state.offset).await.map_err(AppendError::Disk)?,
        };
        let (chunks, received) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
        let writer = Writer {
            part: self.part_path(),
            dir: self.dir.clone(),
            meta: Meta {
                offset: state.offset,
                ..self.meta.clone()
            },
            hasher,
        };
        let writing = tokio::task::spawn_blocking(move || writer.run(received));
        let too_long = forward(body, chunks, self.meta.length - state.offset).await;
        let written = writing
            .await
            .map_err(|err| AppendError::Disk(io::Error::other(err)))?;
        metrics::get()
            .upload_bytes
            .inc_by(written.offset.saturating_sub(state.offset));
        state.offset = written.offset;
        state.hasher = Some(written.hasher.clone());
        written
            .error
            .map_or(Ok(()), |err| Err(AppendError::Disk(err)))?;
        if too_long {
            return Err(AppendError::TooLong);
        }
        let sha256 = (state.offset == self.meta.length).then(|| written.hasher.finalize().into());
        Ok(Appended {
            offset: state.offset,
            sha256,
        })
    }

    /// The hash of all the bytes, if all have arrived.
    pub async fn sha256_if_complete(&self) -> io::Result<Option<[u8; 32]>> {
        let mut state = self.state.lock().await;
        if state.offset != self.meta.length {
            return Ok(None);
        }
        let hasher = match &state.hasher {
            Some(hasher) => hasher.clone(),
            None => {
                let hasher = self.rehash(state.offset).await?;
                state.hasher = Some(hasher.clone());
                hasher
            }
        };
        Ok(Some(hasher.finalize().into()))
    }

    /// The hash of the first `offset` bytes on disk.
    async fn rehash(&self, offset: u64) -> io::Result<Sha256> {
        let part = self.part_path();
        tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            let mut file = File::open(part)?.take(offset);
            let mut buffer = vec![0u8; WRITE_CHUNK];
            loop {
                let read = file.read(&mut buffer)?;
                if read == 0 {
                    return Ok(hasher);
                }
                hasher.update(&buffer[..read]);
            }
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Removes the upload's files.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(self.part_path());
        let _ = std::fs::remove_file(json_path(&self.dir, &self.meta.id));
    }

    /// Removes only the `.json`, once the bytes have become a blob.
    pub fn forget(&self) {
        let _ = std::fs::remove_file(json_path(&self.dir, &self.meta.id));
    }
}

/// Sends the body on in chunks of [`WRITE_CHUNK`], at most `room` bytes.
/// True if the body had more than that.
async fn forward<S, B, E>(mut body: S, chunks: mpsc::Sender<Bytes>, mut room: u64) -> bool
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
{
    let mut pending = Vec::with_capacity(WRITE_CHUNK);
    let mut too_long = false;
    // A body that breaks off (the client went away) ends like a whole one:
    // what came is kept.
    'body: while let Some(Ok(mut data)) = body.next().await {
        while data.has_remaining() {
            if room == 0 {
                too_long = true;
                break 'body;
            }
            let chunk = data.chunk();
            let n = chunk
                .len()
                .min(WRITE_CHUNK - pending.len())
                .min(usize::try_from(room).unwrap_or(usize::MAX));
            pending.extend_from_slice(&chunk[..n]);
            data.advance(n);
            room -= n as u64;
            if pending.len() == WRITE_CHUNK {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(WRITE_CHUNK));
                if chunks.send(Bytes::from(full)).await.is_err() {
                    // The writer stopped on a disk error; it reports it.
                    return too_long;
                }
            }
        }
    }
    if !pending.is_empty() {
        let _ = chunks.send(Bytes::from(pending)).await;
    }
    too_long
}

/// Appends chunks to the `.part` on a blocking thread, with the hash and
/// the checkpoints on two threads of their own beside it: done one after
/// the other on one thread, hash, write and sync left uploads at about half
/// the disk's speed (benches/README.md, "Files levers").
struct Writer {
    part: PathBuf,
    dir: PathBuf,
    /// With the offset the `.json` holds now.
    meta: Meta,
    hasher: Sha256,
}

/// An offset and the hash of the bytes before it.
struct Point {
    offset: u64,
    hasher: Sha256,
}

/// What the hasher thread is sent, in the order of the bytes.
enum ToHasher {
    Chunk(Bytes),
    /// The bytes so far end here: hand their hash to the checkpoint thread.
    Checkpoint(u64),
}

/// Where a writer stopped: the durable offset, the hash up to it, and the
/// error that stopped it, if any.
struct Written {
    offset: u64,
    hasher: Sha256,
    error: Option<io::Error>,
}

impl Writer {
    /// Writes the chunks as they come. A checkpoint starts once
    /// [`CHECKPOINT`] bytes have been written since the last durable point
    /// and none is in flight; when the chunks end, the writer waits for one
    /// that covers them all, so the offset it returns is durable.
    fn run(self, mut chunks: mpsc::Receiver<Bytes>) -> Written {
        let Writer {
            part,
            dir,
            meta,
            hasher,
        } = self;
        let mut checkpoints = Checkpoints {
            durable: Point {
                offset: meta.offset,
                hasher: hasher.clone(),
            },
            in_flight: false,
        };
        let file = match open_at(&part, meta.offset) {
            Ok(file) => file,
            Err(err) => return checkpoints.stopped(err),
        };
        thread::scope(|scope| {
            // Chunks are shared, not copied; the bound keeps a slow hasher
            // from holding more than a few.
            let (to_hasher, hashing) = std_mpsc::sync_channel(CHUNKS_IN_FLIGHT);
            // At most one checkpoint is in flight, so these stay short.
            let (to_syncer, syncing) = std_mpsc::channel();
            let (to_writer, synced) = std_mpsc::channel();
            scope.spawn(move || hash(hasher, hashing, to_syncer));
            let syncer_file = &file;
            let syncer_dir = &dir;
            scope.spawn(move || sync(syncer_file, syncer_dir, meta, syncing, to_writer));

            let mut offset = checkpoints.durable.offset;
            let mut write_all = || -> io::Result<()> {
                while let Some(chunk) = chunks.blocking_recv() {
                    let len = chunk.len() as u64;
                    // The hasher may take a chunk that then fails to be
                    // written: only its hashes at checkpoints are kept.
                    let _ = to_hasher.send(ToHasher::Chunk(chunk.clone()));
                    (&file).write_all(&chunk)?;
                    offset += len;
                    checkpoints.collect(&synced, false)?;
                    if !checkpoints.in_flight && offset - checkpoints.durable.offset >= CHECKPOINT {
                        checkpoints.start(&to_hasher, offset);
                    }
                }
                checkpoints.collect(&synced, true)?;
                if offset != checkpoints.durable.offset {
                    checkpoints.start(&to_hasher, offset);
                    checkpoints.collect(&synced, true)?;
                }
                Ok(())
            };
            match write_all() {
                Ok(()) => checkpoints.done(),
                Err(err) => {
                    // A checkpoint still in flight covers bytes written
                    // before the error; let it finish before cutting back.
                    let _ = checkpoints.collect(&synced, true);
                    checkpoints.cut_back(&file, err)
                }
            }
        })
    }
}

/// The writer's view of the checkpoint thread.
struct Checkpoints {
    /// The last point synced and recorded in the `.json`.
    durable: Point,
    in_flight: bool,
}

impl Checkpoints {
    /// Asks for a checkpoint at `offset`, through the hasher so that it
    /// comes with the hash of exactly the bytes before it.
    fn start(&mut self, to_hasher: &std_mpsc::SyncSender<ToHasher>, offset: u64) {
        let _ = to_hasher.send(ToHasher::Checkpoint(offset));
        self.in_flight = true;
    }

    /// Takes the result of the checkpoint in flight, if it has one (or,
    /// with `wait`, once it has).
    fn collect(
        &mut self,
        synced: &std_mpsc::Receiver<io::Result<Point>>,
        wait: bool,
    ) -> io::Result<()> {
        if !self.in_flight {
            return Ok(());
        }
        let result = if wait {
            synced.recv().map_err(io::Error::other)?
        } else {
            match synced.try_recv() {
                Ok(result) => result,
                Err(std_mpsc::TryRecvError::Empty) => return Ok(()),
                Err(err) => return Err(io::Error::other(err)),
            }
        };
        self.in_flight = false;
        self.durable = result?;
        Ok(())
    }

    fn done(self) -> Written {
        Written {
            offset: self.durable.offset,
            hasher: self.durable.hasher,
            error: None,
        }
    }

    /// After a failed write or checkpoint, drops what came after the last
    /// durable point.
    fn cut_back(self, file: &File, err: io::Error) -> Written {
        let _ = file.set_len(self.durable.offset);
        let _ = file.sync_all();
        self.stopped(err)
    }

    fn stopped(self, err: io::Error) -> Written {
        Written {
            error: Some(err),
            ..self.done()
        }
    }
}

/// The hasher thread: hashes the chunks in order, and passes the hash at
/// each checkpoint's offset on to the checkpoint thread.
fn hash(
    mut hasher: Sha256,
    hashing: std_mpsc::Receiver<ToHasher>,
    to_syncer: std_mpsc::Sender<Point>,
) {
    for message in hashing {
        match message {
            ToHasher::Chunk(chunk) => hasher.update(&chunk),
            ToHasher::Checkpoint(offset) => {
                let point = Point {
                    offset,
                    hasher: hasher.clone(),
                };
                if to_syncer.send(point).is_err() {
                    return;
                }
            }
        }
    }
}

/// The checkpoint thread: syncs the bytes, then records the offset, in
/// that order, so the `.json` never vouches for bytes that are not there.
fn sync(
    file: &File,
    dir: &Path,
    mut meta: Meta,
    syncing: std_mpsc::Receiver<Point>,
    to_writer: std_mpsc::Sender<io::Result<Point>>,
) {
    for point in syncing {
        let result = file.sync_data().and_then(|()| {
            meta.offset = point.offset;
            save_meta(dir, &meta)
        });
        if to_writer.send(result.map(|()| point)).is_err() {
            return;
        }
    }
}

/// Opens the `.part` for writing at `offset`.
fn open_at(part: &Path, offset: u64) -> io::Result<File> {
    let mut file = OpenOptions::new().write(true).open(part)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(file)
}

fn part_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.part"))
}

pub fn json_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

/// Writes the `.json` whole or not at all: a temporary file, synced, then
/// renamed over the old one.
fn save_meta(dir: &Path, meta: &Meta) -> io::Result<()> {
    let path = json_path(dir, &meta.id);
    let temp = path.with_extension("json.tmp");
    let mut file = File::create(&temp)?;
    file.write_all(&serde_json::to_vec(meta)?)?;
    file.sync_all()?;
    std::fs::rename(&temp, &path)
}
