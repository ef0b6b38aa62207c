//! Fetching files: `GET /files/<id>/<name>` and `GET /thumbs/<id>`.
//!
//! Membership of the file's room is checked on every request; to anyone
//! else a file answers 404, exactly like one that does not exist. The type
//! is the one sniffed at upload. Only a short list of types that browsers
//! show safely is served inline; everything else, SVG and HTML included, is
//! an attachment, and every response forbids sniffing and sandboxes
//! whatever the browser does render. `Range` requests seek in videos and
//! resume downloads; the content never changes, so the ETag is its SHA-256
//! and caching is immutable.

use std::io::SeekFrom;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::gate::FileAccess;
use crate::store::FileRecord;

/// Types a browser may show in the page: pictures, sound, video and PDF,
/// nothing that runs script.
const INLINE_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/x-wav",
    "audio/wav",
    "application/pdf",
];
/// What a file response allows: nothing (scripts, forms, plugins are off).
const SANDBOX: &str = "sandbox";
/// Bytes read from disk at a time while sending.
const READ_CHUNK: usize = 256 * 1024;

/// The file routes for fetching.
pub fn routes(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_gate = warp::any().map(move || gate.clone());
    let file = warp::path!("files" / String / String)
        .and(warp::get())
        .map(|id: String, _name: String| (id, false))
        .untuple_one();
    let thumb = warp::path!("thumbs" / String)
        .and(warp::get())
        .map(|id: String| (id, true))
        .untuple_one();
    file.or(thumb)
        .unify()
        .and(warp::header::headers_cloned())
        .and(with_gate)
        .then(
            |id: String, thumb: bool, headers: HeaderMap, gate: FileAccess| async move {
                match fetch(&gate, &id, thumb, &headers).await {
                    Ok(response) => response,
                    Err(status) => refusal(status),
                }
            },
        )
}

async fn fetch(
    gate: &FileAccess,
    id: &str,
    thumb: bool,
    headers: &HeaderMap,
) -> Result<Response, StatusCode> {
    gate.check_key(headers).map_err(|err| err.status)?;
    let file = gate.files.get(id).ok_or(StatusCode::NOT_FOUND)?;
    if !gate.may_read(gate.requester(headers).as_ref(), &file.room) {
        return Err(StatusCode::NOT_FOUND);
    }
    let sha = if thumb {
        file.thumb.as_deref().ok_or(StatusCode::NOT_FOUND)?
    } else {
        file.sha256.as_str()
    };
    let etag = format!("\"{sha}\"");
    let mut blob = gate.files.open_blob(sha).map_err(|err| {
        log::error!("file {id}: blob {sha} cannot be read: {err}");
        StatusCode::INTERNAL_SERVER_ERROR
    })?;
    let thumb_type;
    let mime = if thumb {
        thumb_type = sniff_thumb(&mut blob).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        thumb_type.as_str()
    } else {
        file.mime.as_str()
    };
    let mut response = Response::default();
    let out = response.headers_mut();
    if if_none_match(headers, &etag) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        describe(response.headers_mut(), &file, mime, &etag, thumb);
        return Ok(response);
    }
    let size = blob
        .metadata()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .len();
    let range = match requested_range(headers, &etag, size) {
        Ok(range) => range,
        Err(()) => {
            insert(out, header::CONTENT_RANGE, &format!("bytes */{size}"));
            return Err(StatusCode::RANGE_NOT_SATISFIABLE);
        }
    };
    let (start, end) = range.unwrap_or((0, size));
    let mut blob = tokio::fs::File::from_std(blob);
    if start > 0 {
        blob.seek(SeekFrom::Start(start))
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    }
    let body = ReaderStream::with_capacity(blob.take(end - start), READ_CHUNK);
    let mut response = warp::reply::stream(body).into_response();
    let out = response.headers_mut();
    describe(out, &file, mime, &etag, thumb);
    insert(out, header::CONTENT_LENGTH, &(end - start).to_string());
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = format!("bytes {start}-{}/{size}", end - 1);
        insert(
            response.headers_mut(),
            header::CONTENT_RANGE,
            &content_range,
        );
    }
    Ok(response)
}

/// The headers every answer about a file carries.
fn describe(out: &mut HeaderMap, file: &FileRecord, mime: &str, etag: &str, thumb: bool) {
    let inline = thumb || INLINE_TYPES.contains(&mime);
    let shown_type = if inline {
        mime
    } else {
        "application/octet-stream"
    };
    insert(out, header::CONTENT_TYPE, shown_type);
    let disposition = if inline { "inline" } else { "attachment" };
    insert(
        out,
        header::CONTENT_DISPOSITION,
        &format!("{disposition}; {}", filename_parameters(&file.name)),
    );
    insert(out, header::ETAG, etag);
    insert(out, header::ACCEPT_RANGES, "bytes");
    // Private: whoever may see it depends on who asks.
    insert(
        out,
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    insert(out, header::CONTENT_SECURITY_POLICY, SANDBOX);
    insert(out, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
}

/// `filename="…"` for old browsers (ASCII, quotes dropped) and
/// `filename*=UTF-8''…` (RFC 6266) with the real name.
fn filename_parameters(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A thumbnail's type (JPEG, or PNG where it keeps transparency), from its
/// first bytes; the blob is left at its start.
fn sniff_thumb(blob: &mut std::fs::File) -> std::io::Result<String> {
    use std::io::{Read, Seek};
    let mut start = [0u8; 16];
    let read = blob.read(&mut start)?;
    blob.seek(SeekFrom::Start(0))?;
    Ok(infer::get(&start[..read])
        .map_or("image/jpeg", |kind| kind.mime_type())
        .to_owned())
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

/// The one byte range asked for, as `[start, end)`: `Ok(None)` for the
/// whole file (no `Range`, several ranges, or an `If-Range` that no longer
/// matches), `Err` for a range past the end.
fn requested_range(headers: &HeaderMap, etag: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(if_range) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag
    {
        return Ok(None);
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().map_err(|_| ())?;
            (size.saturating_sub(suffix), size)
        }
        (first, "") => (first.parse().map_err(|_| ())?, size),
        (first, last) => {
            let last: u64 = last.parse().map_err(|_| ())?;
            (
                first.parse().map_err(|_| ())?,
                last.saturating_add(1).min(size),
            )
        }
    };
    if start >= end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// A refusal in plain words. 404 says the same for "no such file" and "not
/// yours to see".
fn refusal(status: StatusCode) -> Response {
    let reason = match status {
        StatusCode::NOT_FOUND => "not found",
        StatusCode::UNAUTHORIZED => "access key required",
        StatusCode::RANGE_NOT_SATISFIABLE => "that range is past the end of the file",
        _ => "the file cannot be read right now",
    };
    let mut response = warp::reply::with_status(format!("{reason}\n"), status).into_response();
    insert(
        response.headers_mut(),
        header::CONTENT_SECURITY_POLICY,
        SANDBOX,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&headers, "\"e\"", size)
    }

    #[test]
    fn ranges_cover_every_form() {
        assert_eq!(range("bytes=0-99", 1000), Ok(Some((0, 100))));
        assert_eq!(range("bytes=900-", 1000), Ok(Some((900, 1000))));
        assert_eq!(range("bytes=-100", 1000), Ok(Some((900, 1000))));
        assert_eq!(range("bytes=500-5000", 1000), Ok(Some((500, 1000))));
        assert_eq!(
            range("bytes=0-1,5-9", 1000),
            Ok(None),
            "several: whole file"
        );
        assert_eq!(range("bytes=1000-", 1000), Err(()));
        assert_eq!(range("bytes=5-2", 1000), Err(()));
        assert_eq!(range("bytes=x-y", 1000), Err(()));
    }

    #[test]
    fn names_survive_in_both_forms() {
        assert_eq!(
            filename_parameters("résumé \"final\".pdf"),
            "filename=\"r_sum_ final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%2Epdf"
        );
    }
}
