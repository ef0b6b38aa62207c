//! Event mode (`--event "HackNight 2026"`): a chat for one occasion. It
//! shows the event's name (and its end, with `--event-duration`), and at the
//! end (that time, or the host's "End event") every page is offered its own
//! archive and the chat turns read-only. After `--event-grace-seconds` the
//! server closes every connection, stops, and deletes its history file and
//! its files folder, unless started with `--keep`. It says so at start (the
//! banner), in the page, and when it is done.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_millis;
use crate::protocol::{ErrorCode, Refusal, ServerFrame, encode};
use crate::sync::lock;

/// What `--event` and its flags set.
#[derive(Debug, Clone)]
pub struct EventConfig {
    pub name: String,
    /// How long after start it ends by itself; `None`: when the host ends it.
    pub duration: Option<Duration>,
    /// How long after the end the data is deleted (or the server stops,
    /// with `keep`).
    pub grace: Duration,
    /// Keep the data at the end.
    pub keep: bool,
}

/// The event, as the server runs it. Cheap to clone.
#[derive(Clone)]
pub struct Event {
    inner: Arc<Inner>,
}

struct Inner {
    config: EventConfig,
    /// When it ends by itself (ms), if it does.
    ends: Option<i64>,
    /// When it ended (ms).
    ended: Mutex<Option<i64>>,
    /// Cancelled when it ends.
    ending: CancellationToken,
}

impl Event {
    pub fn new(config: EventConfig) -> Event {
        let ends = config
            .duration
            .map(|duration| now_millis() + duration.as_millis() as i64);
        Event {
            inner: Arc::new(Inner {
                config,
                ends,
                ended: Mutex::new(None),
                ending: CancellationToken::new(),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// Ends it now, if it has not ended; whether this call ended it.
    pub fn end(&self) -> bool {
        let mut ended = lock(&self.inner.ended);
        if ended.is_some() {
            return false;
        }
        *ended = Some(now_millis());
        self.inner.ending.cancel();
        true
    }

    pub fn has_ended(&self) -> bool {
        lock(&self.inner.ended).is_some()
    }

    /// Refuses a post once the event is over: the chat is read-only.
    pub fn check_post(&self) -> Result<(), Refusal> {
        if self.has_ended() {
            Err(Refusal::new(
                ErrorCode::EventOver,
                "the event is over: the chat is read-only",
            ))
        } else {
            Ok(())
        }
    }

    /// When the data goes (ms): the end plus the grace, unless kept.
    fn wipe_at(&self, ended: i64) -> Option<i64> {
        let config = &self.inner.config;
        (!config.keep).then(|| ended + config.grace.as_millis() as i64)
    }

    /// The `event` frame: the name, the end, and once ended, when the data
    /// goes.
    pub fn frame(&self) -> String {
        let ended = *lock(&self.inner.ended);
        encode(&ServerFrame::Event {
            name: &self.inner.config.name,
            ends: self.inner.ends,
            ended,
            keep: self.inner.config.keep,
            wipe_at: ended.and_then(|ended| self.wipe_at(ended)),
            grace_ms: self.inner.config.grace.as_millis() as u64,
        })
    }

    /// What the banner says of it.
    pub fn describe(&self) -> String {
        let config = &self.inner.config;
        let end = match config.duration {
            Some(duration) => format!("ends in {}", minutes(duration)),
            None => "ends when the host ends it".to_owned(),
        };
        let after = if config.keep {
            "the chat then turns read-only and everything is kept (--keep)".to_owned()
        } else {
            format!(
                "the chat then turns read-only, and {} later its history and files are deleted \
                 from this machine (--keep keeps them)",
                minutes(config.grace)
            )
        };
        format!("{}, {end}; {after}", config.name)
    }

    /// Waits for the end (by itself or the host's), tells every page, then
    /// waits the grace; returns when the server should stop.
    pub async fn run(&self, tell: impl Fn(String)) {
        let ending = self.inner.ending.clone();
        match self.inner.ends {
            Some(ends) => {
                let wait = Duration::from_millis((ends - now_millis()).max(0) as u64);
                tokio::select! {
                    () = tokio::time::sleep(wait) => { self.end(); }
                    () = ending.cancelled() => {}
                }
            }
            None => ending.cancelled().await,
        }
        log::info!("the event {:?} is over; the chat is read-only", self.name());
        tell(self.frame());
        tokio::time::sleep(self.inner.config.grace).await;
    }

    /// Whether the data goes when the server stops.
    pub fn wipes(&self) -> bool {
        !self.inner.config.keep
    }
}

/// A duration as the banner says it: "90 minutes", "45 seconds".
fn minutes(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 120 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// What an event's end deletes from this machine.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// The history file; `None` in memory or on PostgreSQL.
    pub history: Option<PathBuf>,
    /// The files folder.
    pub files: Option<PathBuf>,
    /// The local CA's certificate and key (with `--tls`).
    pub certificates: Vec<PathBuf>,
}

/// Deletes the history file (with its write-ahead log and shared memory),
/// the files folder and the local CA; returns what was deleted.
pub fn wipe(leftovers: &Leftovers) -> std::io::Result<Vec<PathBuf>> {
    let mut deleted = Vec::new();
    if let Some(db) = &leftovers.history {
        let mut names = vec![db.to_owned()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            names.push(PathBuf::from(name));
        }
        remove_files(names, &mut deleted)?;
    }
    remove_files(leftovers.certificates.iter().cloned(), &mut deleted)?;
    if let Some(files) = &leftovers.files
        && files.exists()
    {
        std::fs::remove_dir_all(files)?;
        deleted.push(files.to_owned());
    }
    Ok(deleted)
}

/// Removes each of `paths` there is, adding it to `deleted`.
fn remove_files(
    paths: impl IntoIterator<Item = PathBuf>,
    deleted: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for path in paths {
        match std::fs::remove_file(&path) {
            Ok(()) => deleted.push(path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Parses a duration like `90m`, `3h`, `45s` or `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like 90m, 3h or 1h30m"))?;
        number.clear();
        total += match c {
            's' => value,
            'm' => value * 60,
            'h' => value * 3600,
            _ => return Err(format!("{text:?}: use s, m or h, like 90m or 3h")),
        };
    }
    if !number.is_empty() {
        return Err(format!("{text:?}: say the unit, like 90m or 3h"));
    }
    if total == 0 {
        return Err("a duration is at least a second".to_owned());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("0m").is_err());
    }

    #[test]
    fn an_event_ends_once_and_turns_read_only() {
        let event = Event::new(EventConfig {
            name: "HackNight".into(),
            duration: None,
            grace: Duration::from_secs(600),
            keep: false,
        });
        assert!(event.check_post().is_ok());
        assert!(event.end());
        assert!(!event.end(), "once");
        assert_eq!(event.check_post().unwrap_err().code, ErrorCode::EventOver);
        let frame: serde_json::Value = serde_json::from_str(&event.frame()).unwrap();
        assert_eq!(
            frame["wipe_at"].as_i64().unwrap() - frame["ended"].as_i64().unwrap(),
            600_000
        );
        assert!(event.describe().contains("10 minutes later"));
    }

    #[test]
    fn a_wipe_deletes_the_history_the_files_and_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["chat.db", "chat.db-wal", "chat.db-shm", "ca.pem", "ca.key"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("files/blobs")).unwrap();
        let deleted = wipe(&Leftovers {
            history: Some(dir.path().join("chat.db")),
            files: Some(dir.path().join("files")),
            certificates: vec![dir.path().join("ca.pem"), dir.path().join("ca.key")],
        })
        .unwrap();
        assert_eq!(deleted.len(), 6);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
