//! A small tmpfs, for tests of a disk that fills up.

use std::io::Write;
use std::path::PathBuf;

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (like "4m"). Mounting needs root: without
    /// it the test named `test` is skipped with a notice, unless
    /// `LANCHAT_REQUIRE_TMPFS` is set (as in CI), which fails it.
    pub fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        Tmpfs::mount_with(&format!("size={size}"), test)
    }

    /// Mounts a small read-only tmpfs: a folder nobody can write in, root
    /// included (as a read-only disk or share is). Needs root, as above.
    pub fn mount_read_only(test: &str) -> Option<Tmpfs> {
        Tmpfs::mount_with("ro,size=1m", test)
    }

    fn mount_with(options: &str, test: &str) -> Option<Tmpfs> {
        let mounted = (|| {
            let dir = tempfile::TempDir::new().ok()?;
            let status = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", options, "tmpfs"])
                .arg(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .ok()?;
            status.success().then(|| Tmpfs {
                path: dir.path().to_owned(),
                _dir: dir,
            })
        })();
        if mounted.is_none() {
            let required = std::env::var_os("LANCHAT_REQUIRE_TMPFS").is_some();
            assert!(
                !required,
                "LANCHAT_REQUIRE_TMPFS is set but a tmpfs could not be mounted"
            );
            eprintln!("SKIPPED {test}: cannot mount a tmpfs (needs root)");
        }
        mounted
    }

    /// Fills what is left of it; dropping the filler frees the space.
    pub fn fill(&self) -> Filler {
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        Filler { path }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// A file taking all the free space of a [`Tmpfs`], removed when dropped.
pub struct Filler {
    path: PathBuf,
}

impl Drop for Filler {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
