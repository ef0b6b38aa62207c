//! The container (`.github/docker/Dockerfile`), built with podman from the
//! static build as the release workflow lays it out, and run: it starts as
//! an unprivileged user, keeps its history in the `/data` volume, reports
//! healthy through its HEALTHCHECK (`lanchat healthcheck`, no shell in the
//! image), serves a chat on the published port, and stops cleanly.
//!
//! It needs the static build and root (see [`common::static_build`]) and
//! podman; without podman it is skipped with a notice, unless
//! `LANCHAT_REQUIRE_PODMAN` is set (as `.ci/run` does), which fails it.
//!
//! podman runs with runc and explicit `--ulimit`s: crun refuses this
//! machine's mix of cgroup v1 and v2, and podman's default limits are above
//! the ones a test process may set.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use common::{Client, WAIT};

/// `podman ARGS`, which must succeed; its stdout, trimmed.
fn podman(args: &[&str]) -> String {
    let output = podman_output(args);
    assert!(output.status.success(), "podman {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn podman_output(args: &[&str]) -> Output {
    Command::new("podman")
        .arg("--runtime=runc")
        .args(args)
        .output()
        .expect("run podman")
}

/// The image, container and volume of one test, removed when dropped.
struct Names {
    image: String,
    container: String,
    volume: String,
}

impl Drop for Names {
    fn drop(&mut self) {
        let _ = podman_output(&["rm", "--force", "--time", "0", &self.container]);
        let _ = podman_output(&["volume", "rm", "--force", &self.volume]);
        let _ = podman_output(&["rmi", "--force", &self.image]);
    }
}

#[tokio::test]
async fn the_container_runs_healthy_as_a_user_with_its_data_in_a_volume() {
    let test = "the_container_runs_healthy_as_a_user_with_its_data_in_a_volume";
    let Some(binary) = common::static_build::binary(test) else {
        return;
    };
    if !common::have_command("podman", "LANCHAT_REQUIRE_PODMAN", test) {
        return;
    }
    let id = std::process::id();
    let names = Names {
        image: format!("localhost/lanchat-test:{id}"),
        container: format!("lanchat-test-{id}"),
        volume: format!("lanchat-test-{id}"),
    };

    // The build context, as the release workflow makes it.
    let context = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(context.path().join("linux/amd64")).unwrap();
    std::fs::copy(&binary, context.path().join("linux/amd64/lanchat")).unwrap();
    std::fs::create_dir(context.path().join("data")).unwrap();
    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/docker/Dockerfile");
    podman(&[
        "build",
        "--quiet",
        "--format=docker", // OCI images have no HEALTHCHECK
        "--platform=linux/amd64",
        "--file",
        dockerfile.to_str().unwrap(),
        "--tag",
        &names.image,
        context.path().to_str().unwrap(),
    ]);
    assert_eq!(
        podman(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}",
            &names.image
        ]),
        "65532:65532"
    );

    podman(&[
        "run",
        "--detach",
        "--name",
        &names.container,
        "--ulimit=nofile=4096:4096",
        "--ulimit=nproc=4096:4096",
        "--publish=127.0.0.1::8080",
        "--volume",
        &format!("{}:/data", names.volume),
        &names.image,
    ]);

    // Healthy once its own check passes: `lanchat healthcheck`, inside.
    let deadline = Instant::now() + WAIT * 3;
    while !podman_output(&["healthcheck", "run", &names.container])
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "never healthy; its output:\n{}",
            podman(&["logs", &names.container])
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let logs = podman(&["logs", &names.container]);
    assert!(logs.contains("History: /data (SQLite"), "{logs}");

    let published = podman(&["port", &names.container, "8080/tcp"]);
    let addr: std::net::SocketAddr = published.parse().expect("an address");
    let health = common::http_get(addr, "/healthz");
    assert_eq!(health.status, 200);
    let url = format!("ws://{addr}/ws/alice");
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let mut alice = Client { ws };
    alice.recv_type("welcome").await;
    alice.say("hello from the container", "c1").await;
    assert_eq!(alice.recv_type("message").await["seq"], 1);

    // Not root, and the history is in the volume, owned by that user.
    let user = podman(&["top", &names.container, "huser"]);
    assert!(
        user.lines().skip(1).all(|line| line.trim() == "65532"),
        "{user}"
    );
    let volume = podman(&[
        "volume",
        "inspect",
        "--format",
        "{{.Mountpoint}}",
        &names.volume,
    ]);
    let history = Path::new(&volume).join("lanchat.db");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&history).unwrap());
    assert_eq!(owner, 65532);

    podman(&["stop", "--time", "10", &names.container]);
    assert_eq!(
        podman(&[
            "inspect",
            "--format",
            "{{.State.ExitCode}}",
            &names.container
        ]),
        "0",
        "a clean stop on SIGTERM"
    );
}
