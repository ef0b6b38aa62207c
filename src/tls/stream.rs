//! One server-side TLS connection over TCP, on rustls's unbuffered API, so
//! an idle connection holds no buffer.
//!
//! rustls's buffered `ServerConnection` (what tokio-rustls wraps) keeps a
//! 4 KiB buffer for incoming records for as long as the connection lives:
//! at 10,000 idle WebSockets that was 40 MiB, more than half of what TLS
//! added per connection (the heap profile is in `benches/README.md`). Here
//! the three buffers are ours: ciphertext read and not yet decrypted,
//! plaintext not yet read, ciphertext not yet sent. Each holds bytes only
//! while they are in flight and is released when it empties.
//!
//! rustls still does every part of TLS (handshake, records, alerts, key
//! updates, close_notify); this file only moves bytes between it and the
//! socket. An EOF without the peer's close_notify is an error, as in
//! rustls's buffered API, so a cut connection never passes for a whole one.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rustls::ServerConfig;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes taken from the socket in one read: a whole TLS record (16 KiB of
/// payload and its header and tag). On the stack, not kept.
const READ_SIZE: usize = 16 * 1024 + 256;

/// Plaintext encrypted per write: one full record.
const WRITE_SIZE: usize = 16 * 1024;

/// Accepts TLS connections with one server configuration.
#[derive(Clone)]
pub struct Acceptor(Arc<ServerConfig>);

impl Acceptor {
    pub fn new(config: Arc<ServerConfig>) -> Acceptor {
        Acceptor(config)
    }

    /// Runs the handshake on `tcp` up to the client's Finished.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let conn = UnbufferedServerConnection::new(self.0.clone()).map_err(invalid)?;
        let mut stream = TlsStream {
            tcp,
            conn,
            incoming: Vec::new(),
            plaintext: Vec::new(),
            read_at: 0,
            outgoing: Vec::new(),
            written: 0,
            peer_closed: false,
            closing: false,
        };
        poll_fn(|cx| stream.poll_handshake(cx)).await?;
        Ok(stream)
    }
}

/// A TLS connection after its handshake: plaintext in and out.
pub struct TlsStream {
    tcp: TcpStream,
    conn: UnbufferedServerConnection,
    /// Ciphertext read and not yet processed: at most part of one record
    /// between reads.
    incoming: Vec<u8>,
    /// Decrypted bytes the reader has not taken yet, from `read_at` on.
    plaintext: Vec<u8>,
    read_at: usize,
    /// Ciphertext to send, from `written` on.
    outgoing: Vec<u8>,
    written: usize,
    /// The peer sent close_notify: reads end here.
    peer_closed: bool,
    /// We sealed our close_notify.
    closing: bool,
}

impl TlsStream {
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let processed = self.process();
            // Whatever rustls queued goes out first, an alert after an error too.
            let flushed = self.poll_send(cx);
            processed?;
            ready!(flushed)?;
            if !self.conn.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if self.peer_closed {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            ready!(self.poll_receive(cx))?;
        }
    }

    /// Hands rustls every complete record read so far: plaintext is kept
    /// for the reader, records rustls wants sent are queued. Stops when
    /// rustls needs more bytes from the peer.
    fn process(&mut self) -> io::Result<()> {
        loop {
            let UnbufferedStatus { mut discard, state } =
                self.conn.process_tls_records(&mut self.incoming);
            let mut more = true;
            match state.map_err(invalid)? {
                ConnectionState::ReadTraffic(mut records) => {
                    while let Some(record) = records.next_record() {
                        let record = record.map_err(invalid)?;
                        discard += record.discard;
                        self.plaintext.extend_from_slice(record.payload);
                    }
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    let start = self.outgoing.len();
                    loop {
                        match encode.encode(&mut self.outgoing[start..]) {
                            Ok(n) => {
                                self.outgoing.truncate(start + n);
                                break;
                            }
                            Err(EncodeError::InsufficientSize(InsufficientSizeError {
                                required_size,
                            })) => self.outgoing.resize(start + required_size, 0),
                            Err(err) => return Err(invalid(err)),
                        }
                    }
                }
                // The bytes are in `outgoing`, sent in order before anything later.
                ConnectionState::TransmitTlsData(transmit) => transmit.done(),
                ConnectionState::PeerClosed => self.peer_closed = true,
                ConnectionState::Closed => {
                    self.peer_closed = true;
                    more = false;
                }
                ConnectionState::BlockedHandshake | ConnectionState::WriteTraffic(_) => {
                    more = false;
                }
                // Early data is off (`max_early_data_size` is 0).
                other => return Err(invalid(format!("unexpected TLS state {other:?}"))),
            }
            self.incoming.drain(..discard);
            if !more {
                break;
            }
        }
        if self.incoming.is_empty() {
            self.incoming = Vec::new();
        }
        Ok(())
    }

    /// Reads what the socket has into `incoming`; an EOF marks the peer
    /// gone (an error later unless it said close_notify first).
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; READ_SIZE];
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.tcp.try_read(&mut chunk) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    self.incoming.extend_from_slice(&chunk[..n]);
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Writes `outgoing` to the socket; releases it once all is sent.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.outgoing.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.outgoing[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.outgoing = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Writes what of `outgoing` the socket takes now, without waiting:
    /// the reading side must not take the writing task's place as the one
    /// woken when the socket has room.
    fn send_now(&mut self) -> io::Result<()> {
        while self.written < self.outgoing.len() {
            match self.tcp.try_write(&self.outgoing[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) => return Err(err),
            }
        }
        self.outgoing = Vec::new();
        self.written = 0;
        Ok(())
    }

    /// Encrypts `data` into `outgoing` (or a close_notify, with `None`).
    fn seal(&mut self, data: Option<&[u8]>) -> io::Result<()> {
        self.process()?;
        let UnbufferedStatus { discard, state } = self.conn.process_tls_records(&mut self.incoming);
        let ConnectionState::WriteTraffic(mut traffic) = state.map_err(invalid)? else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        let start = self.outgoing.len();
        loop {
            let sealed = match data {
                Some(data) => traffic.encrypt(data, &mut self.outgoing[start..]),
                None => traffic.queue_close_notify(&mut self.outgoing[start..]),
            };
            match sealed {
                Ok(n) => {
                    self.outgoing.truncate(start + n);
                    break;
                }
                Err(EncryptError::InsufficientSize(InsufficientSizeError { required_size })) => {
                    self.outgoing.resize(start + required_size, 0)
                }
                Err(err) => return Err(invalid(err)),
            }
        }
        self.incoming.drain(..discard);
        Ok(())
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.read_at < this.plaintext.len() {
                let n = buf.remaining().min(this.plaintext.len() - this.read_at);
                buf.put_slice(&this.plaintext[this.read_at..this.read_at + n]);
                this.read_at += n;
                if this.read_at == this.plaintext.len() {
                    this.plaintext = Vec::new();
                    this.read_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.peer_closed {
                return Poll::Ready(Ok(()));
            }
            ready!(this.poll_receive(cx))?;
            this.process()?;
            // A reply rustls queued (to a key update) goes out now if the
            // socket takes it, else with our next write.
            this.send_now()?;
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // What was sealed before goes first: a slow reader slows the writer.
        ready!(this.poll_send(cx))?;
        let n = buf.len().min(WRITE_SIZE);
        this.seal(Some(&buf[..n]))?;
        if let Poll::Ready(Err(err)) = this.poll_send(cx) {
            return Poll::Ready(Err(err));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send(cx)
    }

    /// Says close_notify, sends it, then shuts the socket's writing half.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            // An error here means the connection is already gone; shut it anyway.
            let _ = this.seal(None);
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

fn invalid(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}
