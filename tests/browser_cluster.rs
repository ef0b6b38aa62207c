//! Two instances sharing PostgreSQL, each with a real page in headless
//! Chromium: the people on one are listed on the other, what one says
//! reaches the other in the stored order, and typing shows across. Skips
//! loudly when Chromium or PostgreSQL is not installed (fails instead with
//! `LANCHAT_REQUIRE_BROWSER=1` and `LANCHAT_REQUIRE_POSTGRES=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::*;
use common::Server;
use common::postgres::Cluster;
use serde_json::json;
use webdriver::Chrome;

/// Ann's page on A and ben's on B: each lists the other, each reads what
/// the other says in the order it was stored, and typing shows across.
/// Screenshots: ben's page (desktop, dark) and ann's (phone, light).
#[test]
fn pages_on_two_instances_share_one_chat() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let Some(cluster) = Cluster::shared("pages_on_two_instances_share_one_chat") else {
        return;
    };
    let url = cluster.create_database();
    let a = Server::start_with(&["--postgres", &url]);
    let b = Server::start_with(&["--postgres", &url]);
    let ann = chrome.open();
    let ben = chrome.open();
    record_csp_violations(&ann);
    join(&ann, &a, "ann");
    join(&ben, &b, "ben");
    wait_people(&ann, json!(["ann", "ben"]));
    wait_people(&ben, json!(["ben", "ann"]));

    say(&ann, "hello from the first instance");
    wait_delivered(&ann, "hello from the first instance");
    wait_delivered(&ben, "hello from the first instance");
    say(&ben, "and hello back from the second");
    wait_delivered(&ben, "and hello back from the second");
    wait_delivered(&ann, "and hello back from the second");
    let order = json!([
        "hello from the first instance",
        "and hello back from the second"
    ]);
    assert_eq!(json!(texts(&ann)), order);
    assert_eq!(json!(texts(&ben)), order);
    assert_no_duplicate_seqs(&ann);
    assert_no_duplicate_seqs(&ben);

    ben.type_into("#message-input", "typing on B");
    ann.wait_for(
        "ann to see ben typing",
        "document.getElementById('typing').textContent.includes('ben')",
    );

    let dir = screenshot_dir();
    use_desktop(&ben);
    use_scheme(&ben, "dark");
    ben.screenshot(&dir.join("cluster-desktop-dark-ben-on-b.png"));
    use_phone(&ann);
    use_scheme(&ann, "light");
    ann.screenshot(&dir.join("cluster-phone-light-ann-on-a.png"));
    assert_eq!(
        ann.js("window.cspViolations.length"),
        json!(0),
        "no CSP violations"
    );
}
