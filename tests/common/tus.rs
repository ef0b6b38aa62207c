//! A tus 1.0 client by hand, to test the upload server request by request.
//! (The interop tests use real third-party clients.)

use std::net::SocketAddr;

use base64::Engine as _;

use super::{HttpResponse, http_send};

/// Uploads as the owner of `token` (the bare hex token).
pub struct Tus {
    pub addr: SocketAddr,
    pub token: String,
}

impl Tus {
    /// A request with the tus and token headers, plus `extra` lines.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, String)],
        body: &[u8],
    ) -> HttpResponse {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\
             Lanchat-Token: {}\r\nContent-Length: {}\r\n",
            self.addr,
            self.token,
            body.len()
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        http_send(self.addr, &head, body)
    }

    /// POST /api/uploads; the response, whose Location names the upload.
    pub fn create(&self, name: &str, room: &str, length: u64) -> HttpResponse {
        let metadata = format!("filename {},room {}", b64(name), b64(room));
        self.request(
            "POST",
            "/api/uploads",
            &[
                ("Upload-Length", length.to_string()),
                ("Upload-Metadata", metadata),
            ],
            &[],
        )
    }

    /// Creates an upload and returns its path, failing the test otherwise.
    pub fn start(&self, name: &str, room: &str, length: u64) -> String {
        let created = self.create(name, room, length);
        assert_eq!(created.status, 201, "{}", created.text());
        created.header("location").expect("a Location").to_owned()
    }

    pub fn head(&self, path: &str) -> HttpResponse {
        self.request("HEAD", path, &[], &[])
    }

    /// The upload's offset, from HEAD.
    pub fn offset(&self, path: &str) -> u64 {
        let head = self.head(path);
        assert_eq!(head.status, 200, "HEAD {path}");
        head.header("upload-offset").unwrap().parse().unwrap()
    }

    pub fn patch(&self, path: &str, offset: u64, bytes: &[u8]) -> HttpResponse {
        self.request(
            "PATCH",
            path,
            &[
                ("Upload-Offset", offset.to_string()),
                ("Content-Type", "application/offset+octet-stream".to_owned()),
            ],
            bytes,
        )
    }

    /// Uploads `bytes` whole; returns the file id.
    pub fn upload(&self, name: &str, room: &str, bytes: &[u8]) -> String {
        let path = self.start(name, room, bytes.len() as u64);
        let done = self.patch(&path, 0, bytes);
        assert_eq!(done.status, 204, "{}", done.text());
        assert_eq!(
            done.header("upload-offset"),
            Some(bytes.len().to_string().as_str())
        );
        path.rsplit('/').next().unwrap().to_owned()
    }

    /// GET with this owner's token.
    pub fn get(&self, path: &str, extra: &[(&str, String)]) -> HttpResponse {
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nLanchat-Token: {}\r\n",
            self.addr, self.token
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        http_send(self.addr, &head, &[])
    }
}

pub fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}
