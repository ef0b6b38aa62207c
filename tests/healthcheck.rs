//! `lanchat healthcheck`, the container's HEALTHCHECK: exit 0 when a lanchat
//! answers `/healthz` on the port, 1 when nothing does, something else does,
//! or it does not answer in time.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use common::{Server, binary};

/// Runs `lanchat healthcheck` against `addr`, with `env` set; returns the
/// exit code, stdout and stderr.
fn healthcheck(addr: SocketAddr, env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(["healthcheck", "--port", &addr.port().to_string()])
        .args(["--bind", &addr.ip().to_string()])
        .env_remove("LANCHAT_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("run lanchat healthcheck");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Failure is exit 1 with one line that says why.
fn assert_unhealthy(addr: SocketAddr, env: &[(&str, &str)], why: &str) {
    let (code, _, stderr) = healthcheck(addr, env);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("lanchat: "), "{stderr}");
    assert!(stderr.contains(&format!("{addr}/healthz")), "{stderr}");
    assert!(stderr.contains(why), "wanted {why:?} in {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// Against a running server: 0, with a line saying what answered. Against
/// the same server once it has stopped: 1.
#[test]
fn a_running_server_is_healthy_and_a_stopped_one_is_not() {
    let mut server = Server::start_with(&["--memory"]);
    let (code, stdout, stderr) = healthcheck(server.addr, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "lanchat {} at {} is serving",
            env!("CARGO_PKG_VERSION"),
            server.addr
        )),
        "{stdout}"
    );
    let addr = server.addr;
    assert!(server.terminate().success());
    assert_unhealthy(addr, &[], "Connection refused");
}

/// The port and address come from LANCHAT_PORT and LANCHAT_BIND as the
/// server's do, and a wildcard bind is asked on loopback: what a container
/// whose environment sets them runs.
#[test]
fn it_reads_the_servers_environment() {
    let server = Server::start_with(&["--memory"]);
    let output = Command::new(binary())
        .arg("healthcheck")
        .env("LANCHAT_PORT", server.addr.port().to_string())
        .env("LANCHAT_BIND", "0.0.0.0")
        .output()
        .expect("run lanchat healthcheck");
    assert!(output.status.success(), "{output:?}");
}

/// With an access key, the check needs it (from LANCHAT_PASSWORD, as the
/// server takes it): without it the server says 401 and the check fails.
#[test]
fn with_a_key_it_needs_the_key() {
    let server = Server::start_with(&["--memory", "--password", "sesame ñ"]);
    let (code, _, stderr) = healthcheck(server.addr, &[("LANCHAT_PASSWORD", "sesame ñ")]);
    assert_eq!(code, 0, "{stderr}");
    assert_unhealthy(server.addr, &[], "401");
    assert_unhealthy(server.addr, &[("LANCHAT_PASSWORD", "wrong")], "401");
}

/// With HTTPS on, a container asks the plain port (its `LANCHAT_PORT`),
/// which answers the check itself rather than redirecting it to a
/// certificate the check does not trust; it needs no key and tells no
/// figures there.
#[test]
fn with_tls_the_plain_port_answers_the_check() {
    let server = Server::start_with(&["--memory", "--tls", "--password", "sesame"]);
    let trust = server.trust_addr.expect("a plain port beside HTTPS");
    let (code, stdout, stderr) = healthcheck(trust, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("is serving"), "{stdout}");
    let answer = common::http_get(trust, "/healthz");
    assert_eq!(answer.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

/// A wrong port: another program's HTTP server answering 200 is not a
/// healthy lanchat, and neither is one that speaks no HTTP.
#[test]
fn another_program_on_the_port_is_not_healthy() {
    let http =
        serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    assert_unhealthy(http, &[], "not lanchat's /healthz");
    let not_http = serve_once(b"SSH-2.0-OpenSSH_9.2\r\n");
    assert_unhealthy(not_http, &[], "is not healthy");
}

/// A server that accepts but never answers is unhealthy once the check's
/// time is up, not waited on for ever.
#[test]
fn a_server_that_never_answers_is_not_healthy() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    assert_unhealthy(addr, &[], "no answer within 5 s");
    drop(silent);
}

/// A listener on a free port that reads one request and writes `answer`.
fn serve_once(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer);
        }
    });
    addr
}
