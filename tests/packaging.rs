//! What people download: the crate `cargo install lanchat` builds from holds
//! what the build needs and none of the tests' or benches' baggage, and the
//! release's asset names are the same in the release workflow, the README's
//! download links and `cargo binstall`'s metadata.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|err| panic!("read {path}: {err}"))
}

/// The files `cargo package` puts in the crate.
fn packaged() -> Vec<String> {
    // A target folder of its own: the one `cargo test` is using is locked.
    let target = tempfile::TempDir::new().unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["package", "--list", "--locked", "--allow-dirty", "--quiet"])
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .expect("run cargo package --list");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The crate holds the sources, every file of the page (they are embedded
/// at build time) and the READMEs the rustdoc includes; not the benches'
/// results, the tests and their fixtures, the fuzzers or CI.
#[test]
fn the_crate_holds_what_the_build_needs_and_nothing_else() {
    let files = packaged();
    let web_files = walk(&root().join("web"));
    assert!(web_files.len() > 20, "{web_files:?}");
    for file in web_files
        .iter()
        .map(String::as_str)
        .chain(["Cargo.toml", "Cargo.lock", "README.md", "LICENSE"])
        .chain([
            "src/main.rs",
            "src/assets/build.rs",
            "src/README.md",
            "src/protocol/README.md",
        ])
    {
        assert!(
            files.iter().any(|f| f == file),
            "{file} is not in the crate"
        );
    }
    for left_out in ["benches/", "tests/", "fuzz/", ".github/", ".ci/", ".cargo/"] {
        let found: Vec<_> = files.iter().filter(|f| f.starts_with(left_out)).collect();
        assert!(found.is_empty(), "{left_out} is in the crate: {found:?}");
    }
}

/// Every file under `dir`, relative to the project, with `/` separators.
fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            let relative = path.strip_prefix(root()).unwrap();
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    found
}

/// The release's asset names, from the workflow's matrix.
fn assets() -> Vec<String> {
    let workflow = read(".github/workflows/release.yml");
    let assets: Vec<String> = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- asset: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(assets.len(), 7, "{assets:?}");
    assets
}

/// The `repository` of Cargo.toml, which the links are under.
fn repository() -> String {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find_map(|line| line.strip_prefix("repository = "))
        .expect("Cargo.toml has a repository");
    line.trim_matches('"').to_owned()
}

/// The README links every asset under `releases/latest/download/`, and
/// links nothing there that the release does not make.
#[test]
fn the_readme_links_every_release_asset() {
    let readme = read("README.md");
    let base = format!("{}/releases/latest/download/", repository());
    for asset in assets() {
        assert!(
            readme.contains(&format!("{base}{asset})")),
            "README.md does not link {base}{asset}"
        );
    }
    for linked in readme.split(&base).skip(1) {
        let name: String = linked.chars().take_while(|c| *c != ')').collect();
        assert!(
            assets().contains(&name) || name == "SHA256SUMS",
            "README.md links {name}, which the release does not make"
        );
    }
}

/// `cargo binstall` finds a release asset for every target it maps, and
/// every asset has a target.
#[test]
fn binstall_points_at_the_release_assets() {
    let manifest = read("Cargo.toml");
    let metadata = manifest
        .split("[package.metadata.binstall]")
        .nth(1)
        .expect("Cargo.toml has binstall metadata");
    for asset in assets() {
        assert!(
            metadata.contains(&format!("/releases/download/v{{ version }}/{asset}\"")),
            "no binstall target downloads {asset}"
        );
    }
    for url in metadata.split("pkg-url = \"").skip(1) {
        let url: String = url.chars().take_while(|c| *c != '"').collect();
        let name = url.rsplit('/').next().unwrap();
        assert!(
            url.starts_with("{ repo }/releases/download/v{ version }/")
                && assets().iter().any(|a| a == name),
            "binstall downloads {url}, which the release does not make"
        );
    }
}
