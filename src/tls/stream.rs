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
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
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
            let state = match state {
                Ok(state) => state,
                Err(err) => {
                    self.incoming.drain(..discard);
                    return Err(self.fail(err));
                }
            };
            match state {
                ConnectionState::ReadTraffic(mut records) => {
                    let mut failed = None;
                    while let Some(record) = records.next_record() {
                        match record {
                            Ok(record) => {
                                discard += record.discard;
                                self.plaintext.extend_from_slice(record.payload);
                            }
                            Err(err) => {
                                failed = Some(err);
                                break;
                            }
                        }
                    }
                    if let Some(err) = failed {
                        self.incoming.drain(..discard);
                        return Err(self.fail(err));
                    }
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    encode_into(&mut self.outgoing, |out| encode.encode(out))?;
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

    /// After rustls reports an error it has queued the alert that tells the
    /// peer why: encodes it into `outgoing`, for the caller's last-gasp
    /// send. The error is returned as it was; the alert is best effort.
    ///
    /// One call only: rustls hands out what it queued before it reads any
    /// further, and reading on past an error would fail a second time.
    fn fail(&mut self, err: rustls::Error) -> io::Error {
        let UnbufferedStatus { discard, state } = self.conn.process_tls_records(&mut self.incoming);
        if let Ok(ConnectionState::EncodeTlsData(mut encode)) = state {
            let _ = encode_into(&mut self.outgoing, |out| encode.encode(out));
        }
        self.incoming.drain(..discard);
        invalid(err)
    }

    /// Reads what the socket has into `incoming`; an EOF without the
    /// peer's close_notify is an error.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Uninitialised: zeroing 16 KiB on every wake-up was measurable.
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_SIZE];
        let mut chunk = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut self.tcp).poll_read(cx, &mut chunk))?;
        if chunk.filled().is_empty() {
            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
        }
        self.incoming.extend_from_slice(chunk.filled());
        Poll::Ready(Ok(()))
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
        match data {
            Some(data) => encode_into(&mut self.outgoing, |out| traffic.encrypt(data, out))?,
            None => encode_into(&mut self.outgoing, |out| traffic.queue_close_notify(out))?,
        }
        self.incoming.drain(..discard);
        Ok(())
    }

    /// Seals as much of `bufs` as one record holds, in one piece (a frame's
    /// header and its payload in the same record), and starts sending it.
    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.closing {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        // What was sealed before goes first: a slow reader slows the writer.
        ready!(self.poll_send(cx))?;
        let total = bufs
            .iter()
            .map(|buf| buf.len())
            .sum::<usize>()
            .min(WRITE_SIZE);
        let first = bufs.iter().find(|buf| !buf.is_empty());
        let gathered;
        let data: &[u8] = match first {
            None => return Poll::Ready(Ok(0)),
            Some(first) if first.len() >= total => &first[..total],
            Some(_) => {
                let mut joined = Vec::with_capacity(total);
                for buf in bufs {
                    let take = buf.len().min(total - joined.len());
                    joined.extend_from_slice(&buf[..take]);
                }
                gathered = joined;
                &gathered
            }
        };
        self.seal(Some(data))?;
        // Sent now if the socket takes it; otherwise before the next write,
        // with this task woken when there is room.
        if let Poll::Ready(Err(err)) = self.poll_send(cx) {
            return Poll::Ready(Err(err));
        }
        Poll::Ready(Ok(data.len()))
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
            if let Err(err) = this.process() {
                // The alert, if the socket takes it; the error is what counts.
                let _ = this.send_now();
                return Poll::Ready(Err(err));
            }
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
        self.get_mut().poll_write_slices(cx, &[IoSlice::new(buf)])
    }

    /// Sessions write each frame as a header and a payload (`wire.rs`):
    /// without this, every header would be a record of its own.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send(cx)
    }

    /// Says close_notify, sends it, then shuts the socket's writing half.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            // Fails only if the connection is closed or broken already:
            // then there is no close_notify to say, and the socket is
            // shut all the same.
            if let Err(err) = this.seal(None) {
                log::debug!("TLS close_notify not sent: {err}");
            }
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

/// Runs one of rustls's encoders into the end of `out`, growing it to the
/// size rustls asks for.
fn encode_into<E>(
    out: &mut Vec<u8>,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
) -> io::Result<()>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>> + SizeHint,
{
    let start = out.len();
    loop {
        match encode(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(err) => match err.required_size() {
                Some(required) if required > out.len() - start => out.resize(start + required, 0),
                _ => {
                    out.truncate(start);
                    return Err(invalid(err));
                }
            },
        }
    }
}

/// The buffer size an encoder error asks for, if that is what it is.
trait SizeHint {
    fn required_size(&self) -> Option<usize>;
}

impl SizeHint for EncodeError {
    fn required_size(&self) -> Option<usize> {
        match self {
            EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Some(*required_size)
            }
            _ => None,
        }
    }
}

impl SizeHint for EncryptError {
    fn required_size(&self) -> Option<usize> {
        match self {
            EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Some(*required_size)
            }
            _ => None,
        }
    }
}

fn invalid(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}
