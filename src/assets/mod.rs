//! The web page: every file under `web/` but its documentation, embedded in
//! the binary (debug builds too, so the tests run the same self-contained
//! binary people download), with brotli and gzip copies that `build.rs`
//! made at build time. Cargo rebuilds when a file in `web/` changes.
//!
//! At start the files become one table, [`Assets`]: each file as it is and
//! its compressed copies, each copy with its own ETag.

mod encoding;

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use rust_embed::RustEmbed;
use warp::http::HeaderValue;

pub use encoding::Encoding;

#[derive(RustEmbed)]
#[folder = "web/"]
#[exclude = "*.md"]
struct Web;

/// What `build.rs` compressed: `br/<path>` and `gzip/<path>`, for the
/// files it made smaller.
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/compressed/"]
struct Compressed;

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
    /// The embedded page.
    pub fn load() -> Assets {
        let started = std::time::Instant::now();
        let mut files = HashMap::new();
        for path in Web::iter() {
            let Some(file) = Web::get(&path) else {
                continue;
            };
            let mut copies = Vec::with_capacity(3);
            for encoding in [Encoding::Brotli, Encoding::Gzip] {
                let name = format!("{}/{path}", encoding.token());
                if let Some(compressed) = Compressed::get(&name) {
                    let hash = compressed.metadata.sha256_hash();
                    copies.push(Encoded::new(encoding, compressed.data, hash));
                }
            }
            let hash = file.metadata.sha256_hash();
            copies.push(Encoded::new(Encoding::Identity, file.data, hash));
            files.insert(path.to_string(), Asset::new(&path, copies));
        }
        log::debug!(
            "the page: {} files, ready in {:?}",
            files.len(),
            started.elapsed()
        );
        Assets { files }
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
    use std::path::Path;

    use super::*;

    fn page() -> Assets {
        Assets::load()
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
    }
}
