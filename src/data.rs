//! The data folder: the one folder that holds everything lanchat keeps (the
//! SQLite history, the shared files and, with TLS, the certificates), so a
//! person can back it up, move it or mount it as one.
//!
//! Inside it, the history is `lanchat.db` and the files are
//! `lanchat-files/`: the names earlier versions used in the folder they were
//! started from. So an old layout *is* a data folder, and is used where it
//! is, without moving anything.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The data folder when none is given, in the folder lanchat starts from.
pub const DEFAULT_DIR: &str = "lanchat-data";
/// The SQLite history, inside the data folder.
pub const HISTORY_FILE: &str = "lanchat.db";
/// Shared files, inside the data folder.
pub const FILES_DIR: &str = "lanchat-files";

/// Where the data folder is, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    pub path: PathBuf,
    pub chosen: Chosen,
}

/// How the data folder was chosen, which decides whether lanchat may create
/// it and how the banner names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// `--data`, or `LANCHAT_DATA`.
    Given,
    /// `lanchat-data` in the starting folder.
    Default,
    /// The folder of the history file `--db` names: the files go beside it,
    /// as they always have.
    BesideHistory,
    /// The starting folder, which holds a history (or files) from before
    /// the data folder existed: used where it is.
    EarlierLayout,
}

/// What the flags said about where things go.
#[derive(Debug, Default)]
pub struct Wanted<'a> {
    pub data: Option<&'a Path>,
    pub db: Option<&'a Path>,
    pub files_given: bool,
    pub memory: bool,
    pub postgres: bool,
}

/// Chooses the data folder, relative to `start` (the folder lanchat was
/// started from). The only thing it looks at on disk is whether `start`
/// holds an earlier layout, and no `lanchat-data` yet.
pub fn locate(wanted: &Wanted, start: &Path) -> DataDir {
    if let Some(dir) = wanted.data {
        return DataDir {
            path: start.join(dir),
            chosen: Chosen::Given,
        };
    }
    if let Some(db) = wanted.db {
        let db = start.join(db);
        let folder = db.parent().map(Path::to_owned).unwrap_or_default();
        return DataDir {
            path: folder,
            chosen: Chosen::BesideHistory,
        };
    }
    let default = start.join(DEFAULT_DIR);
    let earlier = if wanted.memory || default.exists() {
        false
    } else if wanted.postgres {
        !wanted.files_given && start.join(FILES_DIR).is_dir()
    } else {
        start.join(HISTORY_FILE).is_file()
    };
    if earlier {
        DataDir {
            path: start.to_owned(),
            chosen: Chosen::EarlierLayout,
        }
    } else {
        DataDir {
            path: default,
            chosen: Chosen::Default,
        }
    }
}

impl DataDir {
    /// The history file in it.
    pub fn history_file(&self) -> PathBuf {
        self.path.join(HISTORY_FILE)
    }

    /// The files folder in it.
    pub fn files_dir(&self) -> PathBuf {
        self.path.join(FILES_DIR)
    }

    /// Makes the folder if lanchat chose or was given it, and checks that it
    /// can write there, so an unusable folder is one clear line at start
    /// rather than a failure on the first message or upload. A folder taken
    /// from `--db` is left as it is: the history file's own errors say more.
    pub fn prepare(&self) -> anyhow::Result<()> {
        if self.chosen == Chosen::BesideHistory {
            return Ok(());
        }
        let shown = self.path.display();
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("cannot make the data folder {shown}"))?;
        tempfile::Builder::new()
            .prefix(".lanchat-write-check-")
            .tempfile_in(&self.path)
            .with_context(|| format!("cannot write in the data folder {shown}"))?;
        Ok(())
    }

    /// The banner's "History:" line when the history is in this folder
    /// (and the files too, if `with_files`).
    pub fn describe(&self, with_files: bool) -> String {
        let shown = self.path.display();
        match (self.chosen, with_files) {
            (Chosen::EarlierLayout, true) => format!(
                "{shown} ({HISTORY_FILE} and {FILES_DIR}, where earlier versions kept them)"
            ),
            (Chosen::EarlierLayout, false) => {
                format!("{shown} ({HISTORY_FILE}, where earlier versions kept it)")
            }
            (_, true) => format!("{shown} (SQLite, with the shared files)"),
            (_, false) => format!("{shown} (SQLite)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(wanted: Wanted, start: &Path) -> (PathBuf, Chosen) {
        let dir = locate(&wanted, start);
        (dir.path, dir.chosen)
    }

    #[test]
    fn a_fresh_start_gets_lanchat_data() {
        let start = tempfile::TempDir::new().unwrap();
        let start = start.path();
        assert_eq!(
            located(Wanted::default(), start),
            (start.join("lanchat-data"), Chosen::Default)
        );
    }

    #[test]
    fn data_wins_and_db_alone_keeps_its_folder() {
        let start = Path::new("/home/ana");
        let wanted = Wanted {
            data: Some(Path::new("chat")),
            db: Some(Path::new("/srv/x.db")),
            ..Wanted::default()
        };
        assert_eq!(
            located(wanted, start),
            (PathBuf::from("/home/ana/chat"), Chosen::Given)
        );
        let wanted = Wanted {
            db: Some(Path::new("/srv/chat/history.db")),
            ..Wanted::default()
        };
        assert_eq!(
            located(wanted, start),
            (PathBuf::from("/srv/chat"), Chosen::BesideHistory)
        );
    }

    #[test]
    fn an_earlier_layout_is_used_where_it_is() {
        let start = tempfile::TempDir::new().unwrap();
        let start = start.path();
        std::fs::write(start.join("lanchat.db"), b"").unwrap();
        assert_eq!(
            located(Wanted::default(), start),
            (start.to_owned(), Chosen::EarlierLayout)
        );
        // With --memory nothing of it is used.
        let memory = Wanted {
            memory: true,
            ..Wanted::default()
        };
        assert_eq!(located(memory, start).1, Chosen::Default);
        // Once lanchat-data exists, it is the one.
        std::fs::create_dir(start.join("lanchat-data")).unwrap();
        assert_eq!(located(Wanted::default(), start).1, Chosen::Default);
    }

    #[test]
    fn with_postgres_an_earlier_files_folder_is_the_layout() {
        let start = tempfile::TempDir::new().unwrap();
        let start = start.path();
        let postgres = || Wanted {
            postgres: true,
            ..Wanted::default()
        };
        assert_eq!(located(postgres(), start).1, Chosen::Default);
        std::fs::create_dir(start.join("lanchat-files")).unwrap();
        assert_eq!(located(postgres(), start).1, Chosen::EarlierLayout);
    }
}
