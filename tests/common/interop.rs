//! The third-party clients interop tests run (Python packages in the venv
//! `.ci/run` makes, Node packages in `tests/npm`), and what a test does when
//! one is missing: skip with a loud notice, or fail under
//! `LANCHAT_REQUIRE_INTEROP=1` (set by `.ci/run`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A path in the repository.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Prints why `what` is missing and skips (`None`), or fails under
/// `LANCHAT_REQUIRE_INTEROP=1`.
pub fn missing(what: &str, how: &str) -> Option<()> {
    let message = format!("{what} was not found. {how}");
    if std::env::var("LANCHAT_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        panic!("LANCHAT_REQUIRE_INTEROP=1: {message}");
    }
    let line = "=".repeat(72);
    let _ = writeln!(
        std::io::stderr(),
        "\n{line}\nSKIPPING an interop test. {message}\n{line}"
    );
    None
}

/// A Python (`LANCHAT_PYTHON`, else the venv `.ci/run` makes) that can
/// `import` each of `modules`, which make `what`.
pub fn python_with(modules: &str, what: &str) -> Option<PathBuf> {
    let python = std::env::var_os("LANCHAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target/interop-venv/bin/python"));
    let has_it = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_it {
        missing(
            what,
            "Install it with `python3 -m venv target/interop-venv && \
             target/interop-venv/bin/pip install -r tests/python/requirements.txt` \
             (as .ci/run does), or set LANCHAT_PYTHON.",
        )?;
    }
    Some(python)
}
