//! The host: a server started with a known host secret, a host's
//! connection, and host actions that wait for the host's view.

use serde_json::{Value, json};

use super::owner::{Owner, first_frame};
use super::{Client, Server};

/// The host secret the tests give with `--host-secret`.
pub const SECRET: &str = "a host secret for the tests";

/// The flags that fix the host secret.
pub fn flags() -> [&'static str; 2] {
    ["--host-secret", SECRET]
}

/// Starts a server with a fresh history, `extra` flags and [`SECRET`].
pub fn start(extra: &[&str]) -> Server {
    let mut args = flags().to_vec();
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

/// Claims `name` from the browser `browser` (its id, hex), the way the page
/// does: the browser's id beside the claim.
pub async fn claim_from(server: &Server, name: &str, browser: &str) -> Owner {
    let offered = format!("browser.{browser}");
    let (mut client, welcome) = first_frame(server, name, &["claim", &offered]).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let token = format!("token.{}", welcome["token"].as_str().expect("a token"));
    client.recv_type("history").await;
    Owner {
        client,
        token,
        welcome,
    }
}

/// A host action (`action` with its fields) with `secret`, or none.
pub fn action(secret: Option<&str>, action: Value) -> Value {
    let mut frame = json!({"type": "host"});
    if let Some(secret) = secret {
        frame["secret"] = json!(secret);
    }
    for (key, value) in action.as_object().expect("an action object") {
        frame[key] = value.clone();
    }
    frame
}

/// Sends a host action with [`SECRET`] and returns the host's view that
/// answers it; panics on an `error`.
pub async fn act(client: &mut Client, fields: Value) -> Value {
    client.send_json(action(Some(SECRET), fields.clone())).await;
    loop {
        let frame = client.recv().await;
        assert_ne!(frame["type"], "error", "{fields}: {frame}");
        if frame["type"] == "host_state" {
            return frame;
        }
    }
}

/// Sends a host action with [`SECRET`] and returns the `error` it earns.
pub async fn refused(client: &mut Client, fields: Value) -> Value {
    client.send_json(action(Some(SECRET), fields.clone())).await;
    let error = client.recv_type("error").await;
    assert_ne!(error["code"], "forbidden", "{fields}: the secret was good");
    error
}
