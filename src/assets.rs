//! The web page, embedded in the binary.
//!
//! Every build, debug included, carries every file under `web/`, so the
//! tests run the same self-contained binary people download. Cargo rebuilds
//! when a file in `web/` changes.

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

/// One file of the page, ready to serve.
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    /// A strong validator: the file's SHA-256, quoted.
    pub etag: String,
}

/// Looks up `path` (relative to `web/`, no leading slash).
pub fn get(path: &str) -> Option<Asset> {
    let file = Web::get(path)?;
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let content_type = mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned();
    let content_type = if content_type.starts_with("text/")
        || content_type == "application/javascript"
        || content_type == "application/json"
        || content_type == "image/svg+xml"
    {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type
    };
    Some(Asset {
        body: file.data,
        content_type,
        etag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_page_with_types_and_etags() {
        let index = get("index.html").expect("index.html is embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.etag.starts_with('"') && index.etag.len() == 34);
        let script = get("script.js").expect("script.js is embedded");
        assert!(script.content_type.contains("javascript"));
        assert!(get("nope.txt").is_none());
        assert!(get("../Cargo.toml").is_none());
    }
}
