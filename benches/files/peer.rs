//! The peer: dufs, a plain file server a person might run instead to share
//! a file on the LAN. It is installed once with `cargo install dufs --locked
//! --root target/bench-tools`, and started fresh on an ephemeral loopback
//! port over a folder of its own on the same disk as lanchat's files.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::content::Content;
use crate::http::{self, Connection};

/// How long dufs may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `target/bench-tools/bin/dufs`, installed first if it is not there yet.
/// `None` (with the reason printed) if it cannot be had: the run goes on
/// without the peer.
pub fn binary(target: &Path) -> Option<PathBuf> {
    let root = target.join("bench-tools");
    let bin = root.join("bin/dufs");
    if bin.exists() {
        return Some(bin);
    }
    eprintln!(
        "installing the peer, dufs, into {} (a one-time compile of a few minutes) ...",
        root.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["install", "dufs", "--locked", "--root"])
        .arg(&root)
        .status();
    match status {
        Ok(status) if status.success() && bin.exists() => Some(bin),
        Ok(status) => {
            eprintln!("cargo install dufs failed ({status}); the peer is missing from this run");
            None
        }
        Err(err) => {
            eprintln!("cannot run cargo install dufs ({err}); the peer is missing from this run");
            None
        }
    }
}

/// A running dufs, killed when dropped.
pub struct Dufs {
    pub addr: SocketAddr,
    child: Child,
}

impl Dufs {
    /// Serves `dir` (uploads allowed) on 127.0.0.1; its output goes to `log`.
    pub fn start(bin: &Path, dir: &Path, log: &Path) -> anyhow::Result<Dufs> {
        // dufs takes a port number; take a free one from the kernel.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(bin)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--allow-upload",
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut dufs = Dufs {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        };
        let started = Instant::now();
        while TcpStream::connect(dufs.addr).is_err() {
            if let Some(status) = dufs.child.try_wait()? {
                bail!("dufs exited ({status}); see {}", log.display());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "dufs did not listen within {START_TIMEOUT:?}; see {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(dufs)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Uploads `size` bytes of `content` as `name` in one PUT.
    pub async fn put(&self, content: &Content, name: &str, size: u64) -> anyhow::Result<()> {
        let mut conn = Connection::open(self.addr).await?;
        let length = [("Content-Length", size.to_string())];
        conn.send_head("PUT", &format!("/{name}"), &length).await?;
        for slice in content.slices(0, size) {
            conn.write(slice).await?;
        }
        let answer = conn.response(false).await?;
        if !matches!(answer.head.status, 200 | 201 | 204) {
            bail!("PUT /{name}: {} {}", answer.head.status, answer.text.trim());
        }
        Ok(())
    }

    /// Downloads `name`, counting its bytes.
    pub async fn get(&self, name: &str) -> anyhow::Result<http::Response> {
        http::get(self.addr, &format!("/{name}"), &[]).await
    }
}

impl Drop for Dufs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
