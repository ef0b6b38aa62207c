//! A private nginx in front of lanchat instances, configured with the
//! PostgreSQL guide's example itself (src/store/postgres/README.md), so the example is what the tests prove.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::WAIT;

/// Where Debian's package puts it.
const NGINX: &str = "/usr/sbin/nginx";
/// The example's stand-ins, replaced by the test's addresses.
const EXAMPLE_INSTANCES: [&str; 2] = ["10.0.0.11:8080", "10.0.0.12:8080"];
const EXAMPLE_LISTEN: &str = "listen 80;";

pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn required() -> bool {
    std::env::var_os("LANCHAT_REQUIRE_NGINX").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The ```nginx block of the PostgreSQL guide (src/store/postgres/README.md).
fn readme_example() -> String {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/store/postgres/README.md"
    ))
    .expect("read src/store/postgres/README.md");
    let start = readme
        .find("```nginx\n")
        .expect("the PostgreSQL guide has an nginx example")
        + 9;
    let end = start + readme[start..].find("```").expect("the example ends");
    readme[start..end].to_owned()
}

impl Nginx {
    /// nginx on a free loopback port with the README's example pointing at
    /// `instances`, or `None` (after a loud notice) where nginx is not
    /// installed and not required.
    pub fn start(test: &str, instances: [SocketAddr; 2]) -> Option<Nginx> {
        if !std::path::Path::new(NGINX).exists() {
            assert!(
                !required(),
                "LANCHAT_REQUIRE_NGINX is set but nginx is not installed (apt-get install nginx)"
            );
            eprintln!("SKIPPING {test}: nginx is not installed (apt-get install nginx)");
            return None;
        }
        let mut example = readme_example();
        for (stand_in, addr) in EXAMPLE_INSTANCES.iter().zip(instances) {
            assert!(example.contains(stand_in), "the example names {stand_in}");
            example = example.replace(stand_in, &addr.to_string());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(
            example.contains(EXAMPLE_LISTEN),
            "the example listens on 80"
        );
        let example = example.replace(EXAMPLE_LISTEN, &format!("listen 127.0.0.1:{port};"));
        let dir = tempfile::Builder::new()
            .prefix("lanchat-nginx-")
            .tempdir()
            .unwrap();
        let path = |name: &str| -> PathBuf { dir.path().join(name) };
        // Workers run as nobody under root: they only need the temp paths.
        let user = if super::postgres::is_root() {
            "user nobody nogroup;"
        } else {
            ""
        };
        let config = format!(
            "{user}
daemon off;
worker_processes 1;
pid {pid};
error_log {log} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{example}
}}
",
            pid = path("nginx.pid").display(),
            log = path("error.log").display(),
            tmp = dir.path().display(),
        );
        std::fs::write(path("nginx.conf"), config).unwrap();
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(path("nginx.conf"))
            .arg("-e")
            .arg(path("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                error_log(&path("error.log"))
            );
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Some(Nginx {
            child,
            addr,
            _dir: dir,
        })
    }

    /// What nginx logged, for a failure's message.
    pub fn log(&self) -> String {
        error_log(&self._dir.path().join("error.log"))
    }
}

fn error_log(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
