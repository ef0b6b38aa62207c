//! Compresses the page once, at build time, into `$OUT_DIR/page/`: every
//! file under `web/` that gzip makes smaller is written to `gzip/` (level 9)
//! and, if brotli makes it smaller too, to `br/` (quality 11), under its own
//! path; a file that does not get smaller (a PNG) is copied as it is to
//! `identity/`. `src/assets/mod.rs` embeds that folder alone and serves
//! whichever copy the browser accepts.
//!
//! Why at build time: brotli's best quality takes about a second for the
//! whole page, too slow for every start, and the binary then carries no
//! compressor. Why not the file as it is beside its copies: every browser
//! takes gzip, so it would be sent only to the rare client that takes
//! neither encoding; for that one the server inflates the gzip copy at
//! start, and the binary is the page's size smaller.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Documentation lives beside the page but is neither embedded nor served.
const DOCS_EXTENSION: &str = "md";
/// A compressed copy is kept only when it is at most this share of the file.
const WORTH_IT: f64 = 0.9;

fn main() {
    println!("cargo::rerun-if-changed=web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let page = out.join("page");
    // Start empty, so a file removed from web/ leaves no copy behind.
    if page.exists() {
        fs::remove_dir_all(&page).expect("clear the old page");
    }
    let web = Path::new("web");
    let mut files = Vec::new();
    list_files(web, &mut files);
    for file in files {
        let relative = file.strip_prefix(web).expect("under web/");
        let data = fs::read(&file).unwrap_or_else(|err| panic!("read {}: {err}", file.display()));
        let limit = (data.len() as f64 * WORTH_IT) as usize;
        let gzipped = gzip(&data);
        if gzipped.len() > limit {
            write(&page.join("identity").join(relative), &data);
            continue;
        }
        write(&page.join("gzip").join(relative), &gzipped);
        let brotli = brotli(&data);
        if brotli.len() <= limit {
            write(&page.join("br").join(relative), &brotli);
        }
    }
}

fn write(target: &Path, bytes: &[u8]) {
    fs::create_dir_all(target.parent().expect("a folder")).expect("make a folder of the page");
    fs::write(target, bytes).unwrap_or_else(|err| panic!("write {}: {err}", target.display()));
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
