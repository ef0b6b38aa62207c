//! Where finished files live, by content.
//!
//! A blob is named by the SHA-256 of its bytes, so the same file uploaded
//! twice is stored once. Today blobs are files in a directory; several
//! instances will share one (an NFS mount), or another store behind
//! [`Blobs`].

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub trait Blobs: Send + Sync + 'static {
    /// Moves `file` (complete and synced to disk) into place as `sha256`.
    /// If that blob exists already, `file` is removed instead. True if the
    /// blob is new.
    fn adopt(&self, file: &Path, sha256: &str) -> io::Result<bool>;

    /// Stores `bytes` as `sha256` (if it is not there yet).
    fn put(&self, bytes: &[u8], sha256: &str) -> io::Result<()>;

    /// The blob's bytes, for reading.
    fn open(&self, sha256: &str) -> io::Result<File>;

    fn remove(&self, sha256: &str) -> io::Result<()>;
}

/// Blobs as files under one directory, two levels deep (`ab/abcd…`) so no
/// directory grows huge.
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    pub fn new(root: PathBuf) -> io::Result<DirBlobs> {
        std::fs::create_dir_all(&root)?;
        Ok(DirBlobs { root })
    }

    fn path(&self, sha256: &str) -> io::Result<PathBuf> {
        // Names come from our own hashing, but a bad one must never walk
        // out of the directory.
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    /// Makes `path`'s directory, and makes its entry durable.
    fn prepare(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().expect("blob paths have a parent");
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            sync_dir(&self.root)?;
        }
        Ok(())
    }
}

impl Blobs for DirBlobs {
    fn adopt(&self, file: &Path, sha256: &str) -> io::Result<bool> {
        let path = self.path(sha256)?;
        if path.exists() {
            std::fs::remove_file(file)?;
            return Ok(false);
        }
        self.prepare(&path)?;
        // Atomic within one file system: the blob is whole or absent.
        std::fs::rename(file, &path)?;
        sync_dir(path.parent().expect("blob paths have a parent"))?;
        Ok(true)
    }

    fn put(&self, bytes: &[u8], sha256: &str) -> io::Result<()> {
        let path = self.path(sha256)?;
        if path.exists() {
            return Ok(());
        }
        self.prepare(&path)?;
        let temp = path.with_extension("part");
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        sync_dir(path.parent().expect("blob paths have a parent"))
    }

    fn open(&self, sha256: &str) -> io::Result<File> {
        File::open(self.path(sha256)?)
    }

    fn remove(&self, sha256: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(sha256)?) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// The bytes of blob `sha256` in the files folder `dir`, read from outside
/// a running server (`lanchat export`): nothing is created or changed.
pub fn read_blob(dir: &Path, sha256: &str) -> io::Result<Vec<u8>> {
    let blobs = DirBlobs {
        root: dir.join("blobs"),
    };
    std::fs::read(blobs.path(sha256)?)
}

/// Makes a directory's entries (a rename, a new file) survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn adopting_the_same_content_twice_keeps_one_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DirBlobs::new(dir.path().join("blobs")).unwrap();
        for expected_new in [true, false] {
            let upload = dir.path().join("upload");
            std::fs::write(&upload, b"hello").unwrap();
            assert_eq!(blobs.adopt(&upload, SHA).unwrap(), expected_new);
            assert!(!upload.exists(), "the upload was moved or dropped");
        }
        let mut content = String::new();
        io::Read::read_to_string(&mut blobs.open(SHA).unwrap(), &mut content).unwrap();
        assert_eq!(content, "hello");
        blobs.remove(SHA).unwrap();
        blobs.remove(SHA).unwrap();
        assert!(blobs.open(SHA).is_err());
        assert!(blobs.open("../../etc/passwd").is_err());
    }
}
