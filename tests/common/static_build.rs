//! The static Linux build, which `.ci/run` makes with
//! `-C target-feature=+crt-static` and the release profile: where it is, and
//! whether a test that runs it (in a chroot, or a container: both need
//! root) can run here.

use std::path::{Path, PathBuf};

/// Where `.ci/run` builds it, unless `LANCHAT_STATIC_BINARY` names another.
pub fn path() -> PathBuf {
    std::env::var_os("LANCHAT_STATIC_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/x86_64-unknown-linux-gnu/release/lanchat")
        })
}

/// The static build, or `None` with a notice when it is not built or this
/// is not root. `LANCHAT_REQUIRE_STATIC` (set by `.ci/run`) makes that a
/// failure instead.
pub fn binary(test: &str) -> Option<PathBuf> {
    let binary = path();
    let missing = if !binary.is_file() {
        format!(
            "no static build at {} (see tests/README.md)",
            binary.display()
        )
    } else if !super::postgres::is_root() {
        "it needs root".to_owned()
    } else {
        return Some(binary);
    };
    let required =
        std::env::var_os("LANCHAT_REQUIRE_STATIC").is_some_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "LANCHAT_REQUIRE_STATIC is set, but {missing}");
    eprintln!("SKIPPED {test}: {missing}");
    None
}
