//! Owned names: claiming one, coming back with its token, and being
//! refused.

use serde_json::{Value, json};

use super::{Client, Server};

/// Connects as `name` offering `protocols` (beside `lanchat`); returns the
/// first frame: `welcome`, or the `error` of a refusal.
pub async fn first_frame(server: &Server, name: &str, protocols: &[&str]) -> (Client, Value) {
    let mut client = Client::connect_offering(server, name, protocols).await;
    let first = client.recv().await;
    (client, first)
}

/// Connecting as `name` offering `protocols` is refused with `code`, then
/// closed with 1008.
pub async fn expect_refused(server: &Server, name: &str, protocols: &[&str], code: &str) {
    let (mut client, first) = first_frame(server, name, protocols).await;
    assert_eq!(first["type"], "error", "{name} {protocols:?}: {first}");
    assert_eq!(first["code"], code, "{name} {protocols:?}");
    let close = client.expect_close().await.expect("close frame");
    assert_eq!(u16::from(close.code), 1008);
}

/// A user who owns their name, with the token to come back.
pub struct Owner {
    pub client: Client,
    /// The subprotocol that proves it: `token.<token>`.
    pub token: String,
    pub welcome: Value,
}

impl Owner {
    /// Claims `name` and reads past welcome and the lobby history.
    pub async fn claim(server: &Server, name: &str) -> Owner {
        let (client, welcome) = first_frame(server, name, &["claim"]).await;
        let token = format!("token.{}", welcome["token"].as_str().expect("a token"));
        Owner::past_history(client, welcome, token).await
    }

    /// Connects as `name` with `token` (`token.<hex>`).
    pub async fn with_token(server: &Server, name: &str, token: &str) -> Owner {
        let (client, welcome) = first_frame(server, name, &[token]).await;
        Owner::past_history(client, welcome, token.to_owned()).await
    }

    /// Reconnects with the token (a reload, another tab).
    pub async fn again(&self, server: &Server, name: &str) -> Owner {
        Owner::with_token(server, name, &self.token).await
    }

    async fn past_history(mut client: Client, welcome: Value, token: String) -> Owner {
        assert_eq!(welcome["claimed"], true, "{welcome}");
        client.recv_type("history").await;
        Owner {
            client,
            token,
            welcome,
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.client.send_json(frame).await;
    }

    /// Says `text` in `room` and returns the acknowledgement.
    pub async fn say_in(&mut self, room: &str, text: &str) -> Value {
        let cid = format!("{room}-{text}");
        self.send(json!({"type":"message","room":room,"message":text,"cid":cid}))
            .await;
        loop {
            let frame = self.client.recv().await;
            if frame["type"] == "message" && frame["cid"] == cid.as_str() {
                return frame;
            }
            assert_ne!(frame["type"], "error", "{frame}");
        }
    }

    /// The frames of `kind` queued for this user so far (see
    /// [`Client::caught_up`]).
    pub async fn heard(&mut self, kind: &str) -> Vec<Value> {
        let frames = self.client.caught_up().await;
        frames.into_iter().filter(|f| f["type"] == kind).collect()
    }

    /// Sends `frame` and expects an `error` with `code`, naming the frame's
    /// room when it has one.
    pub async fn expect_error(&mut self, frame: Value, code: &str) {
        self.send(frame.clone()).await;
        let error = self.client.recv_type("error").await;
        assert_eq!(error["code"], code, "{frame}");
        if let Some(room) = frame["room"].as_str() {
            assert_eq!(error["room"], room, "the error names the request's room");
        }
    }
}
