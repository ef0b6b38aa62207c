//! The web page: every file under `web/` but its documentation, embedded in
//! the binary (debug builds too, so the tests run the same self-contained
//! binary people download) as `build.rs` (beside it) left it at build time:
//! a gzip and a brotli copy of each file they make smaller, the file as it
//! is of the others. Cargo rebuilds when a file in `web/` changes.
//!
//! At start the files become one table, [`Assets`]: each file's copies, each
//! with its own ETag, and the file as it is, inflated from its gzip copy for
//! the rare client that takes neither encoding (every browser takes gzip, so
//! embedding it too would only make the binary larger). `sw.js`, the service
//! worker, goes out stamped with the version of the whole set and the list
//! of files to keep: a binary with other files has another worker, so the
//! browser fetches the new set and drops the old one by itself.
//! `--web-overlay DIR` lays the files of a folder over the embedded ones,
//! to try a change to the page without a rebuild (the tests use it for a
//! page that changed).

mod encoding;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use bytes::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use warp::http::HeaderValue;

pub use encoding::Encoding;

/// What `build.rs` made of `web/`: `gzip/<path>` and `br/<path>` for the
/// files they make smaller, `identity/<path>` for the others. Each file
/// has a gzip copy or an identity one, never both.
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/page/"]
struct Page;

/// The service worker, which is served stamped (see [`stamp_worker`]).
const SERVICE_WORKER: &str = "sw.js";

/// Paths that routes of their own answer first. No file of the page may
/// have one (it could never be fetched), so the service worker, which
/// keeps exactly the page's files, never keeps anything under them.
const ROUTED: &[&str] = &["api/", "ws/", "files/", "thumbs/", "healthz", "metrics"];

/// The page's files, ready to serve. Made once at start.
pub struct Assets {
    files: HashMap<String, Asset>,
}

/// One file of the page.
pub struct Asset {
    pub content_type: HeaderValue,
    /// The compressed copies that exist (brotli, gzip), then the file as
    /// it is, in that order of preference.
    copies: Vec<Encoded>,
}

/// A file in one encoding.
pub struct Encoded {
    pub encoding: Encoding,
    pub body: Bytes,
    /// A strong validator: the first half of this copy's SHA-256, quoted.
    pub etag: HeaderValue,
}

impl Assets {
    /// The embedded page, with the files under `overlay` (if any) laid over
    /// it: in place of embedded files of the same path, or beside them.
    pub fn load(overlay: Option<&Path>) -> anyhow::Result<Assets> {
        let started = std::time::Instant::now();
        let mut files = HashMap::new();
        for name in Page::iter() {
            let Some((kept, path)) = name.split_once('/') else {
                continue;
            };
            let kept = match kept {
                "gzip" => Encoding::Gzip,
                "identity" => Encoding::Identity,
                _ => continue,
            };
            files.insert(path.to_owned(), Asset::new(path, embedded(kept, path)));
        }
        if let Some(dir) = overlay {
            for (path, data) in read_overlay(dir)? {
                let copy = Encoded::hashed(Cow::Owned(data));
                files.insert(path.clone(), Asset::new(&path, vec![copy]));
            }
        }
        let version = version_of(&files);
        stamp_worker(&mut files, &version);
        log::debug!(
            "the page: {} files, version {version}, ready in {:?}",
            files.len(),
            started.elapsed()
        );
        Ok(Assets { files })
    }

    /// The file at `path` (relative to `web/`, no leading slash).
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }
}

impl Asset {
    fn new(path: &str, copies: Vec<Encoded>) -> Asset {
        Asset {
            content_type: content_type(path),
            copies,
        }
    }

    /// The copy to send for a request's `Accept-Encoding`.
    pub fn negotiate(&self, accept_encoding: Option<&str>) -> &Encoded {
        let available = self.copies.iter().map(|copy| copy.encoding);
        let chosen = encoding::negotiate(accept_encoding, available);
        self.copies
            .iter()
            .find(|copy| copy.encoding == chosen)
            .unwrap_or(self.identity())
    }

    /// Whether the response depends on `Accept-Encoding` (so caches must
    /// be told with `Vary`).
    pub fn varies(&self) -> bool {
        self.copies.len() > 1
    }

    /// The file as it is: the last copy, whatever copies it has.
    fn identity(&self) -> &Encoded {
        &self.copies[self.copies.len() - 1]
    }
}

impl Encoded {
    fn new(encoding: Encoding, data: Cow<'static, [u8]>, sha256: [u8; 32]) -> Encoded {
        let etag = format!("\"{}\"", hex(&sha256[..16]));
        Encoded {
            encoding,
            body: match data {
                Cow::Borrowed(bytes) => Bytes::from_static(bytes),
                Cow::Owned(bytes) => Bytes::from(bytes),
            },
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header value"),
        }
    }

    /// A file as it is, made at start (not embedded), so hashed here.
    fn hashed(data: Cow<'static, [u8]>) -> Encoded {
        let sha256 = Sha256::digest(&data).into();
        Encoded::new(Encoding::Identity, data, sha256)
    }
}

/// The copies of the file at `path` that `build.rs` kept in the encoding
/// `kept` (gzip or identity), in order of preference: brotli if it made
/// one, then `kept`, then (after gzip) the file as it is, inflated here.
fn embedded(kept: Encoding, path: &str) -> Vec<Encoded> {
    let copy = |encoding: Encoding| {
        let file = Page::get(&format!("{}/{path}", encoding.token()))?;
        let hash = file.metadata.sha256_hash();
        Some(Encoded::new(encoding, file.data, hash))
    };
    let mut copies = Vec::with_capacity(3);
    copies.extend(copy(Encoding::Brotli));
    copies.extend(copy(kept));
    if kept == Encoding::Gzip {
        let mut plain = Vec::new();
        let gzip = &copies[copies.len() - 1].body;
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut plain)
            .expect("build.rs's gzip copies inflate");
        copies.push(Encoded::hashed(Cow::Owned(plain)));
    }
    copies
}

/// Names a set of files: each file's path and hash as it is, in order,
/// hashed. The same files give the same version, and a change in any file
/// another.
fn version_of(files: &HashMap<String, Asset>) -> String {
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    let mut hasher = Sha256::new();
    for path in paths {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(files[path].identity().etag.as_bytes());
    }
    hex(&hasher.finalize()[..8])
}

/// Puts `const BUILD = {version, files}` on top of the service worker's
/// script: the version names its cache, and the files are what it keeps
/// (every file of the page but itself). Browsers compare a worker's script
/// byte for byte to see whether the page changed. A few KiB, made here, so
/// it goes uncompressed.
fn stamp_worker(files: &mut HashMap<String, Asset>, version: &str) {
    let mut kept: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|path| *path != SERVICE_WORKER)
        .collect();
    kept.sort_unstable();
    let build = serde_json::json!({ "version": version, "files": kept });
    let Some(worker) = files.get(SERVICE_WORKER) else {
        return;
    };
    let template = String::from_utf8_lossy(&worker.identity().body);
    let script = format!("const BUILD = {build};\n{template}");
    let stamped = Asset::new(
        SERVICE_WORKER,
        vec![Encoded::hashed(Cow::Owned(script.into_bytes()))],
    );
    files.insert(SERVICE_WORKER.to_owned(), stamped);
}

/// Every file under `dir`, by its path below it, documentation excepted
/// (as for `web/`).
fn read_overlay(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot read the web overlay {}", folder.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot read the web overlay {}", folder.display()))?
                .path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .ok()
                .and_then(Path::to_str)
                .with_context(|| format!("{}: not a UTF-8 name", path.display()))?
                .replace(std::path::MAIN_SEPARATOR, "/");
            if relative.ends_with(".md") {
                continue;
            }
            if ROUTED.iter().any(|routed| relative.starts_with(routed)) {
                anyhow::bail!(
                    "the web overlay's {relative} would never be served: the server has a route of its own there"
                );
            }
            let data =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            found.push((relative, data));
        }
    }
    Ok(found)
}

fn content_type(path: &str) -> HeaderValue {
    let essence = mime_guess::from_path(path).first_or_octet_stream();
    let essence = essence.essence_str();
    let text = essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if text {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn page() -> Assets {
        Assets::load(None).expect("the embedded page")
    }

    #[test]
    fn serves_the_page_with_types_and_etags() {
        let assets = page();
        let index = assets.get("index.html").expect("index.html is embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        let plain = index.negotiate(None);
        assert_eq!(plain.encoding, Encoding::Identity);
        assert_eq!(plain.body, std::fs::read("web/index.html").unwrap());
        let etag = plain.etag.to_str().unwrap();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let script = assets.get("script.js").expect("script.js is embedded");
        assert!(script.content_type.to_str().unwrap().contains("javascript"));
        assert!(assets.get("nope.txt").is_none());
        assert!(assets.get("../Cargo.toml").is_none());
    }

    #[test]
    fn documentation_is_not_served() {
        let assets = page();
        assert!(Path::new("web/README.md").exists());
        assert!(assets.get("README.md").is_none());
        assert!(assets.files.keys().all(|path| !path.ends_with(".md")));
    }

    #[test]
    fn no_file_of_the_page_is_under_a_route_of_its_own() {
        for path in page().files.keys() {
            assert!(
                !ROUTED.iter().any(|routed| path.starts_with(routed)),
                "{path} would be hidden by a route (and the service worker would keep it)"
            );
        }
    }

    #[test]
    fn each_copy_decodes_to_the_file_and_has_its_own_etag() {
        let assets = page();
        let index = assets.get("index.html").unwrap();
        assert!(index.varies());
        let original = std::fs::read("web/index.html").unwrap();
        let br = index.negotiate(Some("br"));
        let gzip = index.negotiate(Some("gzip"));
        assert_eq!(
            (br.encoding, gzip.encoding),
            (Encoding::Brotli, Encoding::Gzip)
        );
        let mut decoded = Vec::new();
        brotli_decompressor::Decompressor::new(&br.body[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, original);
        decoded.clear();
        flate2::read::GzDecoder::new(&gzip.body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, original);
        assert!(br.body.len() < gzip.body.len() && gzip.body.len() < original.len() / 2);
        let plain = index.negotiate(None);
        assert_ne!(br.etag, gzip.etag);
        assert_ne!(gzip.etag, plain.etag);
        // A PNG does not get smaller: it has no copies, and no Vary.
        let icon = assets.get("icons/icon-192.png").expect("the icon");
        assert!(!icon.varies());
        assert_eq!(
            icon.negotiate(Some("br, gzip")).encoding,
            Encoding::Identity
        );
    }

    /// The worker's stamp: `const BUILD = {...};` on its first line.
    fn stamp(assets: &Assets) -> serde_json::Value {
        let worker = assets.get(SERVICE_WORKER).expect("the service worker");
        let script = String::from_utf8(worker.negotiate(Some("br")).body.to_vec()).unwrap();
        let first = script.lines().next().unwrap();
        let json = first
            .strip_prefix("const BUILD = ")
            .unwrap()
            .trim_end_matches(';');
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_worker_carries_the_version_and_every_other_file() {
        let assets = page();
        let build = stamp(&assets);
        assert_eq!(build["version"].as_str().unwrap().len(), 16);
        let files: Vec<&str> = build["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(files.len(), assets.files.len() - 1);
        assert!(files.contains(&"index.html") && files.contains(&"manifest.json"));
        assert!(!files.contains(&SERVICE_WORKER));
        // The same files, the same version: it is not random.
        assert_eq!(stamp(&page())["version"], build["version"]);
    }

    #[test]
    fn an_overlay_changes_the_version_and_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("extra")).unwrap();
        std::fs::write(dir.path().join("extra/note.txt"), "hello").unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<!doctype html><title>v2</title>",
        )
        .unwrap();
        std::fs::write(dir.path().join("NOTES.md"), "not served").unwrap();
        let base = page();
        let changed = Assets::load(Some(dir.path())).unwrap();
        assert_ne!(stamp(&changed)["version"], stamp(&base)["version"]);
        let note = changed.get("extra/note.txt").expect("an added file");
        assert_eq!(note.negotiate(Some("gzip")).body, "hello");
        let index = changed.get("index.html").unwrap();
        assert!(!index.varies(), "a replaced file goes as it is");
        assert_eq!(
            index.negotiate(Some("br")).body,
            "<!doctype html><title>v2</title>"
        );
        assert!(changed.get("NOTES.md").is_none());
        let worker = |assets: &Assets| {
            assets
                .get(SERVICE_WORKER)
                .unwrap()
                .negotiate(None)
                .body
                .clone()
        };
        assert_ne!(worker(&changed), worker(&base));
        assert!(String::from_utf8_lossy(&worker(&changed)).contains("extra/note.txt"));
    }

    #[test]
    fn an_overlay_cannot_shadow_a_route() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("api")).unwrap();
        std::fs::write(dir.path().join("api/emoji"), "[]").unwrap();
        let error = Assets::load(Some(dir.path())).err().expect("refused");
        assert!(format!("{error:#}").contains("api/emoji"), "{error:#}");
        let missing = Assets::load(Some(&dir.path().join("nowhere")))
            .err()
            .expect("refused");
        assert!(format!("{missing:#}").contains("cannot read the web overlay"));
    }
}
