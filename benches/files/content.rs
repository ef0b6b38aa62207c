//! The bytes the bench uploads, and the disk's own speed with them.
//!
//! A file of any size is made on the fly from one 8 MiB pool of
//! pseudo-random bytes: block `i` (1 MiB) is the pool read from an offset
//! that moves with `i`, so no two neighbouring blocks are alike, nothing is
//! held in memory but the pool, and nothing costs CPU while it is sent.
//! Each [`Content::variant`] starts from another block, so two uploads of
//! different variants are different files (lanchat stores an upload of
//! bytes it already has by deleting it, which is not what is measured).

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Bytes of one block, and of each write the bench makes.
pub const BLOCK: usize = 1 << 20;
const POOL: usize = 8 << 20;
/// How far the pool offset moves from one block to the next: odd, so the
/// offsets do not repeat for a long while.
const STRIDE: usize = 65_537;
/// How many blocks each variant starts after the one before.
const VARIANT_STRIDE: usize = 1_000_003;

/// A generated file's bytes, by range. Cheap to clone.
#[derive(Clone)]
pub struct Content {
    pool: Arc<[u8]>,
    /// Added to every block's index: which variant this is.
    shift: usize,
}

impl Content {
    pub fn new() -> Content {
        // xorshift64*: fast, fixed seed, so every run sends the same bytes.
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut pool = Vec::with_capacity(POOL);
        while pool.len() < POOL {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            pool.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        Content {
            pool: pool.into(),
            shift: 0,
        }
    }

    /// The same pool, as file number `n`: other bytes from the first block
    /// on, for every `n` the bench uses.
    pub fn variant(&self, n: usize) -> Content {
        Content {
            pool: self.pool.clone(),
            // A prime, so the variants' starting offsets differ; and more
            // blocks than any file of the bench has (1 TiB), so a variant
            // does not start inside another's first file.
            shift: n * VARIANT_STRIDE,
        }
    }

    /// The bytes from `start` to `end` of the file, in slices of at most
    /// one block.
    pub fn slices(&self, start: u64, end: u64) -> impl Iterator<Item = &[u8]> + '_ {
        let block = BLOCK as u64;
        let mut at = start;
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let index = (at / block) as usize;
            let within = (at % block) as usize;
            let len = (block - within as u64).min(end - at) as usize;
            let base = (index + self.shift).wrapping_mul(STRIDE) % (POOL - BLOCK);
            at += len as u64;
            Some(&self.pool[base + within..base + within + len])
        })
    }
}

/// The disk's speed at what the server does: `size` bytes written to a new
/// file in `dir` one block at a time, then `sync_all`. The file is removed.
pub fn write_loop(content: &Content, dir: &Path, size: u64) -> anyhow::Result<Duration> {
    let path = dir.join("raw-write.bin");
    let started = Instant::now();
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    for slice in content.slices(0, size) {
        file.write_all(slice).context("raw write failed")?;
    }
    file.sync_all().context("raw sync failed")?;
    let elapsed = started.elapsed();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(elapsed)
}

/// `dd if=/dev/zero bs=1M conv=fsync` of `size` (whole MiB) into `dir`,
/// timed from outside; the file is removed.
pub fn dd(dir: &Path, size: u64) -> anyhow::Result<Duration> {
    let path = dir.join("raw-dd.bin");
    let started = Instant::now();
    let output = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", path.display()))
        .args(["bs=1M", "conv=fsync"])
        .arg(format!("count={}", size / BLOCK as u64))
        .output()
        .context("cannot run dd")?;
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    if !output.status.success() {
        bail!(
            "dd failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(elapsed)
}

/// The file system that holds `dir`: its device, type and mount point,
/// from `/proc/mounts`.
pub fn file_system(dir: &Path) -> String {
    let Ok(dir) = dir.canonicalize() else {
        return "unknown".to_owned();
    };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, mount, kind) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(mount)
                .then(|| (mount.len(), format!("{kind} on {device} at {mount}")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, described)| described)
}
