//! A small HTTP/1.1 client on one keep-alive connection: a request head,
//! a body written as the caller streams it, and a response whose body is
//! read to the end (kept when short, counted and dropped when long). That is
//! all tus, a PUT and a download need, with nothing between the bench and
//! the socket.

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time while a body is dropped.
const READ_BUFFER: usize = 1 << 20;
/// How long an answer may take once the server stopped reading a body.
const ANSWER_AFTER_CLOSE: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest response head, and the most of a body kept as text.
const MAX_HEAD: usize = 64 * 1024;

/// One connection to a server on this machine.
pub struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

/// A response's status line and headers.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    /// The first header called `name` (any letter case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.parse().ok()
    }
}

/// A response with its body, if short; a long one's bytes are counted.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub text: String,
    pub body_bytes: u64,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let tcp = crate::client::loopback_tcp(addr).await?;
        Ok(Connection {
            stream: BufReader::with_capacity(MAX_HEAD, tcp),
            host: addr.to_string(),
        })
    }

    /// Writes a request head; `headers` should say how long the body is,
    /// and the caller then writes it with [`Connection::write`].
    pub async fn send_head(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
    ) -> anyhow::Result<()> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.write(head.as_bytes()).await
    }

    /// Writes part of a request. If the server stopped reading, its
    /// answer (a refusal sent before the whole body) is the error.
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let Err(err) = self.stream.get_mut().write_all(bytes).await else {
            return Ok(());
        };
        match tokio::time::timeout(ANSWER_AFTER_CLOSE, self.read_head()).await {
            Ok(Ok(head)) => bail!(
                "the server answered {} before the body was sent",
                head.status
            ),
            _ => Err(err).context("the server stopped reading"),
        }
    }

    /// Reads a response to the end. A body longer than [`MAX_HEAD`] is
    /// counted, not kept. `head_request` says the request was a HEAD.
    pub async fn response(&mut self, head_request: bool) -> anyhow::Result<Response> {
        let head = self.read_head().await?;
        let mut text = Vec::new();
        let no_body = head_request || head.status == 204 || head.status == 304;
        let body_bytes = if no_body {
            0
        } else if head
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            self.chunked_body(&mut text).await?
        } else {
            let len = head
                .content_length()
                .context("a response with neither Content-Length nor chunks")?;
            self.body(len, &mut text).await?
        };
        Ok(Response {
            head,
            text: String::from_utf8_lossy(&text).into_owned(),
            body_bytes,
        })
    }

    /// Sends a request with a short body (or none) and reads the response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut all = headers.to_vec();
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            all.push(("Content-Length", body.len().to_string()));
        }
        self.send_head(method, path, &all).await?;
        self.write(body).await?;
        self.response(method == "HEAD").await
    }

    async fn read_head(&mut self) -> anyhow::Result<Head> {
        let mut line = String::new();
        let mut read = 0;
        self.head_line(&mut line, &mut read).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            self.head_line(&mut line, &mut read).await?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(Head { status, headers })
    }

    /// One line of a response head into `line`; `read` counts the head's
    /// bytes so far.
    async fn head_line(&mut self, line: &mut String, read: &mut usize) -> anyhow::Result<()> {
        line.clear();
        let n = self.stream.read_line(line).await.context("no response")?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        *read += n;
        if *read > MAX_HEAD {
            bail!("the response head is over {MAX_HEAD} bytes");
        }
        Ok(())
    }

    /// Reads `len` body bytes, keeping them in `kept` while it is short.
    async fn body(&mut self, len: u64, kept: &mut Vec<u8>) -> anyhow::Result<u64> {
        let mut buffer = vec![0u8; READ_BUFFER.min(len as usize).max(1)];
        let mut left = len;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = self.stream.read(&mut buffer[..want]).await?;
            if n == 0 {
                bail!("the body ended {left} bytes short of {len}");
            }
            if kept.len() + n <= MAX_HEAD {
                kept.extend_from_slice(&buffer[..n]);
            }
            left -= n as u64;
        }
        Ok(len)
    }

    async fn chunked_body(&mut self, kept: &mut Vec<u8>) -> anyhow::Result<u64> {
        let mut total = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let size = line.trim().split(';').next().unwrap_or_default();
            let size = u64::from_str_radix(size, 16)
                .with_context(|| format!("a bad chunk size: {line:?}"))?;
            if size > 0 {
                total += self.body(size, kept).await?;
            }
            line.clear();
            self.stream.read_line(&mut line).await?;
            if size == 0 {
                // No trailers are sent to us; the empty line ends the body.
                return Ok(total);
            }
        }
    }
}

/// GETs `path` on a fresh connection, dropping the body once counted and
/// checked against `Content-Length`.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
) -> anyhow::Result<Response> {
    let mut conn = Connection::open(addr).await?;
    let got = conn.request("GET", path, headers, b"").await?;
    if got.head.status != 200 {
        bail!("GET {path}: {} {}", got.head.status, got.text.trim());
    }
    if got
        .head
        .content_length()
        .is_some_and(|len| len != got.body_bytes)
    {
        bail!(
            "GET {path}: {} bytes, not its Content-Length",
            got.body_bytes
        );
    }
    Ok(got)
}
