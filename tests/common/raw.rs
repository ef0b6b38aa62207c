//! WebSocket and HTTP by hand, for tests that must send what no well-behaved
//! client would (bad frames, floods, half a header) or see what a client
//! library hides (how the TCP connection ended).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;

use super::WAIT;

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;

/// A response's status line and headers, names lowercased.
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// Parses the text before the blank line of an HTTP response.
    pub fn parse(text: &str) -> Head {
        let mut lines = text.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Head { status, headers }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A client-to-server frame, masked with a zero key (valid, and readable).
pub fn masked_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![if fin { 0x80 | opcode } else { opcode }];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// One frame from the server (servers do not mask).
pub struct ServerFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).expect("server sent JSON")
    }

    /// The code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// How a server's side of a connection ended, after its close frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// A FIN: everything sent arrived.
    Fin,
    /// A reset: the kernel may have dropped what it had not delivered yet.
    Reset,
    /// Still open after [`WAIT`].
    Open,
    /// More data came after the close frame.
    Data,
}

/// A WebSocket connection driven byte by byte.
pub struct RawSocket {
    pub stream: TcpStream,
}

impl RawSocket {
    /// Upgrades `path` with extra `headers`; returns the response head and,
    /// for a 101, the socket. A refusal's body stays unread in the stream.
    pub fn upgrade(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (Head, RawSocket) {
        let stream = TcpStream::connect(addr).expect("connect");
        RawSocket::upgrade_on(stream, addr, path, headers)
    }

    /// The same handshake over a stream the caller connected (from a chosen
    /// source address, say).
    pub fn upgrade_on(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (Head, RawSocket) {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        // Byte by byte, so no frame bytes after the head are swallowed.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            head.push(byte[0]);
        }
        (
            Head::parse(&String::from_utf8_lossy(&head)),
            RawSocket { stream },
        )
    }

    /// Connects as `name` and reads past `welcome` and `history`.
    pub fn join(addr: SocketAddr, name: &str) -> RawSocket {
        let (head, mut socket) = RawSocket::upgrade(addr, &format!("/ws/{name}"), &[]);
        assert_eq!(head.status, 101);
        for expected in ["welcome", "history"] {
            let frame = socket.read_frame().expect("a frame");
            assert_eq!(frame.json()["type"], expected);
        }
        socket
    }

    /// Whatever bytes the test wants on the wire.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.write(&masked_frame(TEXT, true, text.as_bytes()))
    }

    /// The next whole frame.
    pub fn read_frame(&mut self) -> io::Result<ServerFrame> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head)?;
        let mut len = u64::from(head[1] & 0x7F);
        if len == 126 {
            let mut ext = [0u8; 2];
            self.stream.read_exact(&mut ext)?;
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            self.stream.read_exact(&mut ext)?;
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; len as usize];
        self.stream.read_exact(&mut payload)?;
        Ok(ServerFrame {
            opcode: head[0] & 0x0F,
            payload,
        })
    }

    /// Reads until a close frame; returns the text frames before it and the
    /// close code, or `None` if the connection ended without one.
    pub fn read_until_close(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut texts = Vec::new();
        loop {
            match self.read_frame() {
                Ok(frame) if frame.opcode == CLOSE => return (texts, frame.close_code()),
                Ok(frame) if frame.opcode == TEXT => texts.push(frame.json()),
                Ok(_) => {}
                Err(_) => return (texts, None),
            }
        }
    }

    /// The close code, skipping everything before it.
    pub fn close_code(&mut self) -> Option<u16> {
        self.read_until_close().1
    }

    /// How the connection ends once the close frame has been read.
    pub fn ending(&mut self) -> Ending {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => Ending::Fin,
            Ok(_) => Ending::Data,
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => Ending::Reset,
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ending::Open
            }
            Err(err) => panic!("reading past the close frame: {err}"),
        }
    }
}
