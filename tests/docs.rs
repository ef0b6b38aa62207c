//! The project's READMEs: every relative link and anchor in every README
//! resolves, and the root README stays short enough to read to the end.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// The front door stays under this many bytes; reference lives beside its code.
const ROOT_README_LIMIT: usize = 25_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `README.md` of the project, skipping build output and installed packages.
fn readmes() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !(name.starts_with('.') && name != ".ci" && name != ".github")
                    && name != "target"
                    && name != "node_modules"
                {
                    walk(&path, found);
                }
            } else if name == "README.md" {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root(), &mut found);
    found.sort();
    found
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// to hyphens; a repeated one gets `-1`, `-2`, ...
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = heading.as_mut() {
                    heading.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = heading.take().unwrap_or_default();
                let slug: String = text
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                let mut candidate = slug.clone();
                let mut n = 0;
                while seen.contains(&candidate) {
                    n += 1;
                    candidate = format!("{slug}-{n}");
                }
                seen.insert(candidate);
            }
            _ => {}
        }
    }
    seen
}

/// The links and images of a markdown file that point inside the project.
fn local_links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .filter(|url| !url.contains("://") && !url.starts_with("mailto:"))
        .collect()
}

/// Every relative link in every README names a file that exists, and every
/// `#anchor` names a heading of the file it points into.
#[test]
fn every_readme_link_resolves() {
    let readmes = readmes();
    assert!(readmes.len() >= 5, "found only {readmes:?}");
    let mut broken = Vec::new();
    for readme in &readmes {
        let text = std::fs::read_to_string(readme).expect("read a README");
        for link in local_links(&text) {
            let (path, anchor) = match link.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                readme.clone()
            } else {
                readme.parent().expect("a README is in a folder").join(path)
            };
            let shown = readme.strip_prefix(root()).unwrap_or(readme).display();
            if !target.exists() {
                broken.push(format!("{shown}: {link} (no such file)"));
                continue;
            }
            if let Some(anchor) = anchor {
                let target_text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!("{shown}: {link} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The root README is a front door: short enough to read to the end, with
/// the two commands a newcomer needs.
#[test]
fn root_readme_is_short_and_has_the_two_commands() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    assert!(
        text.len() < ROOT_README_LIMIT,
        "README.md is {} bytes; keep it under {ROOT_README_LIMIT} and move reference beside its code",
        text.len()
    );
    assert!(text.contains("cargo run --release"));
    assert!(text.contains("cargo test"));
}

/// The anchor rules match GitHub's on the headings this project writes.
#[test]
fn anchors_follow_githubs_rules() {
    let found = anchors(
        "# Protocol (v1)\n## Rich messages: resume after 10,000 changes\n## Search\n### Search\n",
    );
    for expected in [
        "protocol-v1",
        "rich-messages-resume-after-10000-changes",
        "search",
        "search-1",
    ] {
        assert!(found.contains(expected), "{expected} not in {found:?}");
    }
}

/// The systemd unit in `.github/docker/README.md` is one systemd reads
/// without a complaint: `systemd-analyze verify` names every unknown key or
/// bad value (which systemd would otherwise ignore, silently dropping that
/// piece of hardening). Skipped without systemd-analyze, unless
/// `LANCHAT_REQUIRE_SYSTEMD` is set (as `.ci/run` does).
#[test]
fn the_systemd_recipe_is_a_unit_systemd_accepts() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.is_file() {
        let required =
            std::env::var_os("LANCHAT_REQUIRE_SYSTEMD").is_some_and(|v| !v.is_empty() && v != "0");
        assert!(
            !required,
            "LANCHAT_REQUIRE_SYSTEMD is set but systemd-analyze is not installed"
        );
        eprintln!("SKIPPED the_systemd_recipe_is_a_unit_systemd_accepts: no systemd-analyze");
        return;
    }
    let recipes = std::fs::read_to_string(root().join(".github/docker/README.md")).unwrap();
    let unit = recipes
        .split("```ini\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```ini block");
    assert!(unit.contains("ExecStart=/usr/local/bin/lanchat"), "{unit}");

    // A root holding the unit, the binary it starts, and the units it names.
    let fake_root = tempfile::TempDir::new().unwrap();
    let units = fake_root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::create_dir_all(fake_root.path().join("usr/local/bin")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_lanchat"),
        fake_root.path().join("usr/local/bin/lanchat"),
    )
    .unwrap();
    for target in [
        "sysinit",
        "basic",
        "multi-user",
        "network-online",
        "shutdown",
    ] {
        let name = format!("{target}.target");
        std::fs::copy(
            Path::new("/lib/systemd/system").join(&name),
            units.join(&name),
        )
        .unwrap();
    }
    std::fs::write(units.join("lanchat.service"), unit).unwrap();
    let output = std::process::Command::new(analyze)
        .arg("verify")
        .arg(format!("--root={}", fake_root.path().display()))
        .arg("/etc/systemd/system/lanchat.service")
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );
}
