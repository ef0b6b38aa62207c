//! The tus 1.0.0 resumable upload protocol at `/api/uploads`: core, with
//! the creation, termination and expiration extensions
//! (<https://tus.io/protocols/resumable-upload>), so existing clients
//! (tus-js-client, tuspy) upload with nothing but the URL and headers.
//!
//! Every request is checked (protocol version, origin, access key, owned
//! name, room, limits) before any body is read, and every answer, refusals
//! included, carries `Tus-Resumable`.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Buf;
use futures_util::Stream;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::FileError;
use super::gate::FileAccess;
use super::upload::{AppendError, Upload};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,expiration";
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 255;

/// Every tus route.
pub fn routes(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    options(gate.clone())
        .or(create(gate.clone()))
        .unify()
        .or(status(gate.clone()))
        .unify()
        .or(append(gate.clone()))
        .unify()
        .or(terminate(gate))
        .unify()
}

fn with_gate(
    gate: FileAccess,
) -> impl Filter<Extract = (FileAccess,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || gate.clone())
}

/// OPTIONS /api/uploads: what this server speaks.
fn options(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "uploads")
        .and(warp::options())
        .and(with_gate(gate))
        .map(|gate: FileAccess| {
            let mut response = tus(StatusCode::NO_CONTENT);
            let headers = response.headers_mut();
            headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
            headers.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
            insert(headers, "tus-max-size", gate.files.settings().max_file);
            response
        })
}

/// POST /api/uploads: starts an upload (`Upload-Length`, and
/// `Upload-Metadata` with `filename`, `room`, optionally `filetype`).
fn create(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "uploads")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(with_gate(gate))
        .map(|headers: HeaderMap, gate: FileAccess| {
            answer(start(&gate, &headers).map(|upload| {
                let mut response = tus(StatusCode::CREATED);
                let location = format!("/api/uploads/{}", upload.meta.id);
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&location) {
                    headers.insert(header::LOCATION, value);
                }
                insert_expiry(headers, &upload);
                response
            }))
        })
}

fn start(gate: &FileAccess, headers: &HeaderMap) -> Result<std::sync::Arc<Upload>, FileError> {
    check_version(headers)?;
    gate.check_origin(headers)?;
    gate.check_key(headers)?;
    let owner = gate.owner(headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(bad("this server needs Upload-Length when an upload starts"));
    }
    let length =
        number(headers, "upload-length")?.ok_or_else(|| bad("Upload-Length is missing"))?;
    let metadata = Metadata::parse(headers)?;
    if !gate.may_read(Some(&owner), &metadata.room) {
        return Err(FileError::new(
            StatusCode::FORBIDDEN,
            format!("there is no room #{} you can share files in", metadata.room),
        )
        .code("no_room")
        .param("room", format!("#{}", metadata.room)));
    }
    gate.files
        .create(&owner, &metadata.filename, &metadata.room, length)
}

/// HEAD /api/uploads/<id>: how far an upload got. A finished one reports
/// itself complete, so a client that lost track of it does not start over.
fn status(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "uploads" / String)
        .and(warp::head())
        .and(warp::header::headers_cloned())
        .and(with_gate(gate))
        .then(
            |id: String, headers: HeaderMap, gate: FileAccess| async move {
                let found = async {
                    check_version(&headers)?;
                    gate.check_key(&headers)?;
                    let owner = gate.owner(&headers)?;
                    if let Some(upload) = gate.files.upload(&id, &owner) {
                        // Every byte arrived but the file was not stored
                        // (say the history could not be written): store it
                        // now, or say why not, rather than report complete
                        // an upload no message can share.
                        let complete = upload.sha256_if_complete().await;
                        if let Some(sha256) = complete.map_err(|err| FileError::disk(&err))? {
                            gate.files.finish(&upload, sha256).await?;
                            let length = upload.meta.length;
                            return Ok((length, length, None));
                        }
                        return Ok((upload.offset().await, upload.meta.length, Some(upload)));
                    }
                    match gate.files.get(&id) {
                        Some(file) if *file.uploader == *owner => Ok((file.size, file.size, None)),
                        _ => Err(not_found()),
                    }
                };
                answer(found.await.map(|(offset, length, upload)| {
                    let mut response = tus(StatusCode::OK);
                    let headers = response.headers_mut();
                    insert(headers, "upload-offset", offset);
                    insert(headers, "upload-length", length);
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    if let Some(upload) = upload {
                        insert_expiry(headers, &upload);
                    }
                    response
                }))
            },
        )
}

/// PATCH /api/uploads/<id>: appends the body at `Upload-Offset`. The bytes
/// are on disk before the new offset is acknowledged; the last PATCH also
/// stores the finished file.
fn append(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "uploads" / String)
        .and(warp::patch())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(with_gate(gate))
        .then(
            |id: String, headers: HeaderMap, body, gate: FileAccess| async move {
                answer(patch(&gate, &id, &headers, body).await)
            },
        )
}

async fn patch<S, B, E>(
    gate: &FileAccess,
    id: &str,
    headers: &HeaderMap,
    body: S,
) -> Result<Response, FileError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
{
    check_version(headers)?;
    gate.check_origin(headers)?;
    gate.check_key(headers)?;
    let owner = gate.owner(headers)?;
    let upload = gate.files.upload(id, &owner).ok_or_else(not_found)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some(OFFSET_CONTENT_TYPE) {
        return Err(FileError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("a PATCH body must be {OFFSET_CONTENT_TYPE}"),
        ));
    }
    let offset =
        number(headers, "upload-offset")?.ok_or_else(|| bad("Upload-Offset is missing"))?;
    if let Some(length) = number(headers, header::CONTENT_LENGTH.as_str())?
        && offset.saturating_add(length) > upload.meta.length
    {
        return Err(too_long());
    }
    let appended = upload.append(offset, body).await.map_err(|err| match err {
        AppendError::Conflict { offset } => FileError::new(
            StatusCode::CONFLICT,
            format!("this upload is at offset {offset}; send from there"),
        )
        .code("wrong_offset")
        .param("offset", offset),
        AppendError::TooLong => too_long(),
        AppendError::Disk(err) => FileError::disk(&err),
    })?;
    if let Some(sha256) = appended.sha256 {
        gate.files.finish(&upload, sha256).await?;
    }
    let mut response = tus(StatusCode::NO_CONTENT);
    insert(response.headers_mut(), "upload-offset", appended.offset);
    insert_expiry(response.headers_mut(), &upload);
    Ok(response)
}

/// DELETE /api/uploads/<id>: gives an unfinished upload up; its bytes go.
fn terminate(gate: FileAccess) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "uploads" / String)
        .and(warp::delete())
        .and(warp::header::headers_cloned())
        .and(with_gate(gate))
        .map(|id: String, headers: HeaderMap, gate: FileAccess| {
            let cancelled = (|| {
                check_version(&headers)?;
                gate.check_origin(&headers)?;
                gate.check_key(&headers)?;
                let owner = gate.owner(&headers)?;
                let upload = gate.files.upload(&id, &owner).ok_or_else(not_found)?;
                gate.files.cancel(&upload);
                Ok(tus(StatusCode::NO_CONTENT))
            })();
            answer(cancelled)
        })
}

/// What `Upload-Metadata` says: `key base64, key base64, ...`.
#[derive(Debug)]
struct Metadata {
    filename: String,
    room: String,
}

impl Metadata {
    fn parse(headers: &HeaderMap) -> Result<Metadata, FileError> {
        let text = headers
            .get("upload-metadata")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let mut filename = None;
        let mut room = None;
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad(format!("Upload-Metadata {key} is not base64 UTF-8")))?;
            match key {
                "filename" | "name" => filename = Some(decoded),
                "room" => room = Some(decoded),
                _ => {} // filetype and others: the type is sniffed from the bytes
            }
        }
        let filename = clean_name(&filename.unwrap_or_default())
            .ok_or_else(|| bad("Upload-Metadata needs a filename"))?;
        Ok(Metadata {
            filename,
            room: room.unwrap_or_else(|| crate::protocol::LOBBY.to_owned()),
        })
    }
}

/// A file name that is safe to show and to send back in a header: no
/// folders, no control characters, at most [`MAX_NAME_CHARS`].
fn clean_name(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim();
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_owned())
}

fn check_version(headers: &HeaderMap) -> Result<(), FileError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(FileError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("this server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}"),
        )),
    }
}

/// A header holding a whole number, if present.
fn number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, FileError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .ok_or_else(|| bad(format!("{name} must be a whole number")))
        })
        .transpose()
}

fn bad(reason: impl Into<String>) -> FileError {
    FileError::new(StatusCode::BAD_REQUEST, reason)
}

fn not_found() -> FileError {
    FileError::new(StatusCode::NOT_FOUND, "there is no such upload of yours").code("no_upload")
}

fn too_long() -> FileError {
    FileError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body goes past Upload-Length",
    )
    .code("past_length")
}

/// An empty answer with `Tus-Resumable`.
fn tus(status: StatusCode) -> Response {
    let mut response = warp::reply().into_response();
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    response
}

/// A refusal as tus clients expect it: the status, the reason as text, and
/// `Tus-Resumable` (with `Tus-Version` when the version was the problem);
/// for the page, `Lanchat-Refusal` says it as data.
fn answer(result: Result<Response, FileError>) -> Response {
    result.unwrap_or_else(|err| {
        let mut response = tus(err.status);
        *response.body_mut() = format!("{}\n", err.reason).into();
        let headers = response.headers_mut();
        if let Some(value) = err
            .refusal_json()
            .and_then(|json| HeaderValue::from_str(&json).ok())
        {
            headers.insert("lanchat-refusal", value);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if err.status == StatusCode::PRECONDITION_FAILED {
            headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        }
        response
    })
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: u64) {
    headers.insert(name, HeaderValue::from(value));
}

fn insert_expiry(headers: &mut HeaderMap, upload: &Upload) {
    let expires = UNIX_EPOCH + Duration::from_millis(upload.meta.expires.max(0) as u64);
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(expires)) {
        headers.insert("upload-expires", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(clean_name("photo.jpg").as_deref(), Some("photo.jpg"));
        assert_eq!(
            clean_name("C:\\Users\\ana\\cv.pdf").as_deref(),
            Some("cv.pdf")
        );
        assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("a\nb\u{0}.txt").as_deref(), Some("ab.txt"));
        assert_eq!(clean_name("dir/").as_deref(), None);
        assert_eq!(clean_name("..").as_deref(), None);
        assert_eq!(clean_name(&"é".repeat(300)).unwrap().chars().count(), 255);
    }

    #[test]
    fn metadata_is_base64_pairs() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "upload-metadata",
            HeaderValue::from_static(
                "filename cGhvdG8uanBn,filetype aW1hZ2UvanBlZw==,room cGxhbnM=",
            ),
        );
        let metadata = Metadata::parse(&headers).unwrap();
        assert_eq!(metadata.filename, "photo.jpg");
        assert_eq!(metadata.room, "plans");
        headers.insert("upload-metadata", HeaderValue::from_static("filename %%%"));
        assert_eq!(
            Metadata::parse(&headers).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
