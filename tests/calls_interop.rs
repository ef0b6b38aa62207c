//! Interop: a screen share in a room's call watched by thirty real WebRTC
//! clients. Headless Chromium is too heavy for thirty on two cores, so the
//! peers are aiortc's (pinned in `tests/python/requirements.txt`, installed
//! in `target/interop-venv` by `.ci/run`), all in one Python process
//! (`tests/interop/call_peers.py`): each claims a name, joins the room and
//! the call over the WebSocket, offers, answers the server's offers, and
//! decodes the VP8 the SFU forwards.
//!
//! Without aiortc the test prints a loud `SKIPPING` notice and passes; with
//! `LANCHAT_REQUIRE_INTEROP=1` (set by `.ci/run`) it fails instead.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;
use common::interop::{python_with, repo};
use serde_json::Value;

/// A Python with aiortc, or `None` (skipping) when there is none and none
/// is required.
fn aiortc() -> Option<PathBuf> {
    python_with("aiortc, websockets", "aiortc")
}

/// The presenter shares a 640×360 "screen" at 15 frames a second, each
/// frame's number painted on it; every one of thirty viewers decodes at
/// least 30 frames of that size, the presenter's own (numbers it sent, in
/// the order it sent them), with no refusal.
#[test]
fn a_screen_share_reaches_thirty_viewers() {
    let Some(python) = aiortc() else { return };
    let server = Server::start();
    let output = Command::new(python)
        .arg(repo("tests/interop/call_peers.py"))
        .arg(format!("ws://{}", server.addr))
        // Until each has decoded 30 frames (two seconds' worth). The
        // 300 s are a ceiling for a stuck run, not a pace: thirty
        // decoders in one Python process join slowly on a loaded machine.
        .args(["class", "30", "30", "300"])
        .output()
        .expect("start the aiortc peers");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the aiortc peers failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("the peers printed {stdout:?}: {err}"));
    assert_eq!(
        result["presenter_errors"],
        serde_json::json!([]),
        "{result}"
    );
    let sent = result["sent"].as_u64().unwrap();
    let viewers = result["viewers"].as_array().unwrap();
    assert_eq!(viewers.len(), 30);
    for viewer in viewers {
        let name = &viewer["name"];
        assert_eq!(viewer["errors"], serde_json::json!([]), "{viewer}");
        assert_eq!(viewer["size"], serde_json::json!([640, 360]), "{viewer}");
        let frames = viewer["frames"].as_u64().unwrap();
        assert!(frames >= 30, "{name} decoded {frames} frames: {viewer}");
        // What it decoded is what the presenter painted: numbers from 1
        // to the last sent, each above the one before (the SFU neither
        // invents, repeats nor reorders frames).
        let first = viewer["first"].as_u64().unwrap();
        let last = viewer["last"].as_u64().unwrap();
        assert!(first >= 1, "{name} decoded a frame numbered 0: {viewer}");
        assert!(
            last <= sent && last - first + 1 >= frames,
            "{name} decoded {frames} frames numbered {first} to {last}, of {sent} sent"
        );
        assert_eq!(viewer["ordered"], true, "{name}: frames out of order");
    }
}
