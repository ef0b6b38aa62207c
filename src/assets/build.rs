//! Compresses the page once, at build time: every file under `web/` that
//! gets smaller is written to `$OUT_DIR/compressed/br/` (brotli, quality 11)
//! and `$OUT_DIR/compressed/gzip/` (gzip, level 9), under its own path.
//! `src/assets/mod.rs` embeds both folders beside `web/` and serves whichever
//! the browser accepts.
//!
//! Why at build time: brotli's best quality takes about a second for the
//! whole page, too slow for every start, and the binary then carries no
//! compressor. A file that compresses to more than 90 % of itself (a PNG) is
//! left out and always sent as it is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Documentation lives beside the page but is neither embedded nor served
/// (`src/assets/mod.rs` excludes the same files).
const DOCS_EXTENSION: &str = "md";
/// A compressed copy is kept only when it is at most this share of the file.
const WORTH_IT: f64 = 0.9;

fn main() {
    println!("cargo::rerun-if-changed=web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let compressed = out.join("compressed");
    // Start empty, so a file removed from web/ leaves no copy behind.
    if compressed.exists() {
        fs::remove_dir_all(&compressed).expect("clear the old compressed copies");
    }
    for encoding in ["br", "gzip"] {
        fs::create_dir_all(compressed.join(encoding)).expect("make the compressed folders");
    }
    let web = Path::new("web");
    let mut files = Vec::new();
    list_files(web, &mut files);
    for file in files {
        let relative = file.strip_prefix(web).expect("under web/");
        let data = fs::read(&file).unwrap_or_else(|err| panic!("read {}: {err}", file.display()));
        let limit = (data.len() as f64 * WORTH_IT) as usize;
        for (encoding, bytes) in [("br", brotli(&data)), ("gzip", gzip(&data))] {
            if bytes.len() <= limit {
                let target = compressed.join(encoding).join(relative);
                fs::create_dir_all(target.parent().expect("a folder"))
                    .expect("make a compressed folder");
                fs::write(&target, bytes)
                    .unwrap_or_else(|err| panic!("write {}: {err}", target.display()));
            }
        }
    }
}

/// Every file under `dir` but documentation.
fn list_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|err| panic!("read {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            list_files(&path, files);
        } else if path.extension().is_none_or(|ext| ext != DOCS_EXTENSION) {
            files.push(path);
        }
    }
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        // 11: the best quality; 22: a 4 MiB window, far more than any file.
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(data).expect("brotli into memory");
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    // The header's time stays 0, so the same file always gives the same bytes.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}
