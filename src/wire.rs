//! Text frames written straight to the socket.
//!
//! tungstenite copies every outgoing frame into its write buffer, and the
//! buffer keeps its largest size for the life of the connection. A broadcast
//! is the same bytes for every recipient, so a session instead writes each
//! frame as a two-to-ten-byte header plus the shared payload, everything
//! queued in one vectored write: no copy, and no buffer left behind.
//! Control frames (ping, pong, close) still go through tungstenite, which is
//! flushed first so the two never interleave.

use std::io::{self, IoSlice};

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::protocol::Frame;

/// The longest header: FIN and opcode, a length marker, and a 64-bit length.
const MAX_HEADER: usize = 10;

/// The header of one unmasked, final text frame (a server's) of `len` bytes.
fn header(len: usize) -> ([u8; MAX_HEADER], usize) {
    const FIN_TEXT: u8 = 0x81;
    let mut out = [0; MAX_HEADER];
    out[0] = FIN_TEXT;
    let used = if len < 126 {
        out[1] = len as u8;
        2
    } else if let Ok(len) = u16::try_from(len) {
        out[1] = 126;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (out, used)
}

/// Writes `frames` as text frames, in order, and flushes.
///
/// If this is cancelled or fails part way, the stream may end inside a
/// frame, and nothing more may be written to it.
pub async fn write_text_frames<W>(io: &mut W, frames: &[&Frame]) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let headers: Vec<_> = frames.iter().map(|frame| header(frame.len())).collect();
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(frames.len() * 2);
    for ((bytes, used), frame) in headers.iter().zip(frames) {
        slices.push(IoSlice::new(&bytes[..*used]));
        slices.push(IoSlice::new(frame.as_bytes()));
    }
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let written = io.write_vectored(rest).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    #[test]
    fn headers_use_the_shortest_length_form() {
        assert_eq!(header(0), ([0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2));
        assert_eq!(header(125).0[..2], [0x81, 125]);
        assert_eq!(header(126), ([0x81, 126, 0, 126, 0, 0, 0, 0, 0, 0], 4));
        assert_eq!(header(65_535).0[..4], [0x81, 126, 0xff, 0xff]);
        assert_eq!(
            header(65_536),
            ([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0], MAX_HEADER)
        );
    }

    /// Frames of every length form, through a pipe too small to take them
    /// in one write, read back by tungstenite as a client.
    #[tokio::test]
    async fn a_websocket_client_reads_what_we_write() {
        let (mut server, client) = tokio::io::duplex(1000);
        let sizes = [0, 5, 125, 126, 4000, 65_535, 65_536, 200_000];
        let frames: Vec<Frame> = sizes
            .iter()
            .map(|&n| Frame::from("é".repeat(n / 2) + &"x".repeat(n % 2)))
            .collect();
        let expected = frames.clone();
        let writer = tokio::spawn(async move {
            let refs: Vec<&Frame> = frames.iter().collect();
            write_text_frames(&mut server, &refs).await.unwrap();
            server
        });
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        for frame in expected {
            match client.next().await {
                Some(Ok(Message::Text(text))) => assert_eq!(text, frame),
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
        writer.await.unwrap();
    }
}
