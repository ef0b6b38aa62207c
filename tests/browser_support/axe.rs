//! The accessibility audit the browser tests share: axe-core (pinned in
//! `tests/npm`) injected into the page, WCAG 2.1 A and AA, its violations
//! as readable lines.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::webdriver::Page;

/// The rule sets of WCAG 2.0 and 2.1, levels A and AA.
const WCAG_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// axe-core's browser build, or `None` after a loud notice when it is not
/// installed (a failure with `LANCHAT_REQUIRE_BROWSER=1`).
pub fn axe_source() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/npm/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(err) => {
            let message = format!(
                "axe-core was not found at {} ({err}). Install it with \
                 `npm ci --prefix tests/npm`.",
                path.display()
            );
            if std::env::var("LANCHAT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("LANCHAT_REQUIRE_BROWSER=1: {message}");
            }
            let line = "=".repeat(72);
            let _ = writeln!(
                std::io::stderr(),
                "\n{line}\nSKIPPING the accessibility audit. {message}\n{line}"
            );
            None
        }
    }
}

/// Runs axe-core on the page as it is (injected through WebDriver, which
/// the page's CSP does not govern) and returns its violations, one readable
/// line per element, each starting with `what`.
pub fn audit(page: &Page, axe: &str, what: &str) -> Vec<String> {
    if page.js("typeof window.axe") != json!("object") {
        page.eval(axe, json!([]));
    }
    let result = page.eval_async(
        "const [tags, done] = arguments;
         axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
             .then(result => done(result.violations.map(v => ({
                 id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary })),
             }))), error => done({ error: String(error) }));",
        json!([WCAG_TAGS]),
    );
    let Value::Array(found) = result else {
        panic!("axe-core did not run on {what}: {result}");
    };
    let mut lines = Vec::new();
    for violation in &found {
        for node in violation["nodes"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{what}: {} ({}): {}\n    at {}\n    {}",
                violation["id"].as_str().unwrap_or_default(),
                violation["impact"].as_str().unwrap_or_default(),
                violation["help"].as_str().unwrap_or_default(),
                node["target"].as_str().unwrap_or_default(),
                node["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\n', "\n    "),
            ));
        }
    }
    lines
}
