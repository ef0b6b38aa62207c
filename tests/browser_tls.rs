//! The chat over HTTPS in real headless Chromium: one that trusts the local
//! CA (installed in its NSS database, as a person would) chats over wss with
//! no warning, in a secure context, with notifications; one that does not
//! is stopped by the browser's warning until it is passed, and finds the
//! trust page on the plain port. Both record what the page may use (the
//! table in `web/README.md`), and so does Debian's Firefox ESR, driven over
//! WebDriver BiDi. Screenshots in `target/screenshots/tls-*`.

mod bidi;
mod browser_support;
mod common;
mod webdriver;

use browser_support::tls::{
    FEATURES_JS, certutil, chrome_trusting, click_through, features, screenshot,
};
use browser_support::*;
use common::tls::{fetch_ca, wss_connect};
use common::{Server, http_get};
use serde_json::json;
use webdriver::Chrome;

/// Chromium flags for the camera check: a fake camera, allowed without a
/// prompt.
const FAKE_MEDIA: [&str; 2] = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
];

/// With the CA trusted, the chat opens over HTTPS with no warning, is a
/// secure context, chats both ways over wss with a Rust client, and may
/// show notifications.
#[test]
fn chromium_trusting_the_ca_chats_over_wss_with_notifications() {
    let server = Server::start_with(&["--tls"]);
    let ca = fetch_ca(&server);
    let Some((chrome, _home)) = chrome_trusting(&ca) else {
        return;
    };
    let page = chrome.open_with(&FAKE_MEDIA);
    // No warning: the chat's join form comes straight up.
    join_at(&page, &server.url, "ana");
    assert_eq!(page.js("location.protocol"), json!("https:"));
    assert_eq!(page.js("window.isSecureContext"), json!(true));

    let runtime = runtime();
    let mut bob = runtime.block_on(async {
        let mut bob = wss_connect(&server, "bob", std::slice::from_ref(&ca))
            .await
            .expect("wss");
        bob.recv_type("history").await;
        bob
    });
    say(&page, "hello over wss");
    runtime.block_on(async {
        let heard = bob.recv_type("message").await;
        assert_eq!(heard["message"], "hello over wss");
        bob.say("hi ana", "b1").await;
    });
    wait_delivered(&page, "hi ana");

    open_notifications(&page);
    page.set_permission("notifications", "granted");
    page.refresh();
    wait_connected(&page);
    open_notifications(&page);
    page.wait_for(
        "notifications said to be on",
        "document.getElementById('desktop-status').textContent.startsWith('On:')",
    );
    for scheme in ["light", "dark"] {
        use_scheme(&page, scheme);
        use_desktop(&page);
        screenshot(
            &page,
            &format!("tls-trusted-notifications-desktop-{scheme}"),
        );
    }

    assert_eq!(
        trust_hint(&page),
        json!(""),
        "no hint when the CA is trusted"
    );

    let found = features(&page, "/ws/carol", "/storage.js");
    eprintln!("Chromium, CA trusted: {found}");
    for feature in [
        "secure_context",
        "websocket",
        "notifications",
        "clipboard",
        "camera",
    ] {
        assert_eq!(found[feature], "yes", "{feature}: {found}");
    }
    assert_eq!(found["service_worker"], "yes", "{found}");
    assert!(
        !found["install_errors"]
            .to_string()
            .contains("not-from-secure-origin"),
        "{found}"
    );
}

/// Without the CA, Chromium shows its warning instead of the chat, until
/// it is passed; then the chat works over wss, and the page says what the
/// browser refuses and where the certificate is. The trust page is on the
/// plain port, offering the certificate, and sends "Continue without
/// installing" to HTTPS.
#[test]
fn chromium_not_trusting_the_ca_is_warned_and_finds_the_trust_page() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--tls"]);
    let trust = server.trust_addr.expect("a trust port");
    let page = chrome.open_with(&FAKE_MEDIA);

    // The trust page, over plain HTTP.
    let trust_url = format!("http://127.0.0.1:{}/", trust.port());
    page.goto(&trust_url);
    page.wait_for("the trust page", "document.body.dataset.ready === 'true'");
    let served = http_get(trust, "/api/trust").json();
    assert_eq!(
        page.js("document.getElementById('fingerprint').textContent"),
        served["fingerprint"]
    );
    assert_eq!(
        page.js("document.getElementById('continue').href"),
        json!(server.url)
    );
    assert_eq!(
        page.js("new URL(document.getElementById('download-cert').href).pathname"),
        json!("/ca.crt")
    );
    let downloaded = page.eval_async(
        "const done = arguments[0];
         fetch('/ca.crt').then(r => r.arrayBuffer()).then(b => done(b.byteLength), e => done(String(e)));",
        json!([]),
    );
    assert_eq!(downloaded, json!(fetch_ca(&server).len()));
    assert_eq!(
        page.js("document.querySelector('.trust-os[data-os=linux]').open"),
        json!(true),
        "the steps for this system are open"
    );
    for scheme in ["light", "dark"] {
        use_scheme(&page, scheme);
        viewport(&page, 1280, 800, false);
        screenshot(&page, &format!("tls-trust-page-desktop-{scheme}"));
        viewport(&page, 360, 740, true);
        screenshot(&page, &format!("tls-trust-page-phone-{scheme}"));
    }
    viewport(&page, 1280, 800, false);
    page.goto(&format!("{trust_url}?lang=pt-BR"));
    page.wait_for("the trust page", "document.body.dataset.ready === 'true'");
    assert_eq!(
        page.js("document.getElementById('continue').textContent"),
        json!("Continuar sem instalar")
    );
    screenshot(&page, "tls-trust-page-desktop-pt-BR");
    // A scanned QR code carries the access key to the chat.
    page.goto(&format!("{trust_url}?lang=en#key=s3cret"));
    page.wait_for("the trust page", "document.body.dataset.ready === 'true'");
    assert_eq!(
        page.js("document.getElementById('open-chat').href"),
        json!(format!("{}#key=s3cret", server.url))
    );

    // "Continue without installing": the browser's warning, not the chat.
    page.click("#continue");
    page.wait_for(
        "Chromium's certificate warning",
        "!!document.getElementById('proceed-link')",
    );
    assert_eq!(page.js("!!document.getElementById('join')"), json!(false));
    screenshot(&page, "tls-untrusted-warning");
    // Opened again, it is refused again, until the warning is passed.
    page.goto(&server.url);
    click_through(&page);
    join_at(&page, &server.url, "ana");
    say(&page, "after the warning");
    wait_delivered(&page, "after the warning");
    // Chromium refuses the app's service worker: the page says so and
    // links the trust page.
    assert_eq!(trust_hint(&page), json!(trust_url));
    page.wait_for(
        "the hint under the room's head",
        "!document.getElementById('trust-hint').hidden",
    );
    assert_eq!(
        page.js("document.getElementById('trust-hint-link').href"),
        json!(trust_url)
    );
    for scheme in ["light", "dark"] {
        use_scheme(&page, scheme);
        use_desktop(&page);
        screenshot(&page, &format!("tls-untrusted-hint-desktop-{scheme}"));
        use_phone(&page);
        screenshot(&page, &format!("tls-untrusted-hint-phone-{scheme}"));
    }
    use_desktop(&page);

    let found = features(&page, "/ws/carol", "/storage.js");
    eprintln!("Chromium, warning passed: {found}");
    assert_eq!(found["websocket"], "yes", "{found}");
    assert_eq!(found["secure_context"], "yes", "{found}");
}

/// The trust page's address the chat page links once its probe has an
/// answer: "" when the browser trusts the certificate.
fn trust_hint(page: &webdriver::Page) -> serde_json::Value {
    page.wait_for(
        "the certificate probe",
        "(async () => (await import('/trust_hint.js')).trustHint.checked)()",
    );
    page.eval_async(
        "const done = arguments[0];
         import('/trust_hint.js').then(m => done(m.trustHint.trustUrl), e => done(String(e)));",
        json!([]),
    )
}

/// A window of `width`×`height` CSS pixels, once the page follows (the
/// trust page scrolls, so its layout width is less the scroll bar).
fn viewport(page: &webdriver::Page, width: u32, height: u32, mobile: bool) {
    page.set_viewport(width, height, mobile);
    page.wait_for(
        "the window size",
        &format!("window.innerWidth === {width} && window.innerHeight === {height}"),
    );
}

/// Opens the notifications dialog of the room on screen.
fn open_notifications(page: &webdriver::Page) {
    if page.js("document.getElementById('notify-dialog').open") != json!(true) {
        page.click("#room-notify");
    }
    page.wait_for(
        "the notifications dialog",
        "document.getElementById('notify-dialog').open",
    );
}

/// A Firefox profile that allows the fake camera and, with `ca`, trusts it
/// in its own NSS database (where Firefox keeps the certificates a person
/// imports).
fn firefox_profile(ca: Option<&[u8]>) -> tempfile::TempDir {
    let profile = tempfile::TempDir::new().expect("a Firefox profile");
    std::fs::write(
        profile.path().join("user.js"),
        [
            r#"user_pref("media.navigator.streams.fake", true);"#,
            r#"user_pref("media.navigator.permission.disabled", true);"#,
            r#"user_pref("browser.shell.checkDefaultBrowser", false);"#,
            r#"user_pref("datareporting.policy.dataSubmissionEnabled", false);"#,
            r#"user_pref("browser.startup.homepage_override.mstone", "ignore");"#,
            r#"user_pref("network.captive-portal-service.enabled", false);"#,
        ]
        .join("\n"),
    )
    .expect("user.js");
    if let Some(ca) = ca {
        let file = profile.path().join("lanchat-ca.crt");
        std::fs::write(&file, ca).expect("the CA file");
        let db = format!("sql:{}", profile.path().display());
        certutil(&["-N", "-d", &db, "--empty-password"]).expect("an NSS database");
        certutil(&[
            "-A",
            "-d",
            &db,
            "-t",
            "C,,",
            "-n",
            "lanchat",
            "-i",
            file.to_str().unwrap(),
        ])
        .expect("the CA trusted");
    }
    profile
}

/// Firefox ESR (Debian's), driven over WebDriver BiDi: the chat with the CA
/// trusted in its profile; refused without it; and with its warning passed
/// (as near as a driver can: see below). What the page may use in each
/// case.
/// Skips loudly without Firefox (fails under `LANCHAT_REQUIRE_FIREFOX=1`).
#[test]
fn firefox_with_the_ca_trusted_and_with_the_warning_passed() {
    let Some(binary) = bidi::firefox_binary() else {
        let message = "Firefox was not found: apt-get install firefox-esr, or set LANCHAT_FIREFOX";
        if std::env::var("LANCHAT_REQUIRE_FIREFOX").is_ok_and(|v| v == "1") {
            panic!("LANCHAT_REQUIRE_FIREFOX=1: {message}");
        }
        eprintln!("SKIPPING: {message}");
        return;
    };
    let server = Server::start_with(&["--tls"]);
    let ca = fetch_ca(&server);
    let origin = server.url.trim_end_matches('/').to_owned();
    let features = format!("({FEATURES_JS})('/ws/fox', '/storage.js').then(JSON.stringify)");
    runtime().block_on(async {
        let mut trusting = bidi::Firefox::start(&binary, firefox_profile(Some(&ca)), false).await;
        trusting
            .navigate(&server.url)
            .await
            .expect("no certificate error with the CA trusted");
        trusting
            .set_permission("notifications", &origin, "granted")
            .await;
        let found: serde_json::Value =
            serde_json::from_str(&trusting.evaluate(&features).await.unwrap()).unwrap();
        eprintln!("Firefox, CA trusted: {found}");
        for feature in ["secure_context", "websocket"] {
            assert_eq!(found[feature], "yes", "{feature}: {found}");
        }
        drop(trusting);

        // Not trusted: refused, with Firefox's own reason.
        let mut refusing = bidi::Firefox::start(&binary, firefox_profile(None), false).await;
        let refused = refusing.navigate(&server.url).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|err| err.contains("SEC_ERROR_UNKNOWN_ISSUER")),
            "{refused:?}"
        );
        drop(refusing);
        // The warning passed. A script cannot press Firefox's "Accept the
        // Risk" (it takes only a person's click), so this is WebDriver's
        // acceptInsecureCerts, which Firefox applies as an exception for
        // every site: the nearest a driver gets to a click-through.
        let mut warned = bidi::Firefox::start(&binary, firefox_profile(None), true).await;
        warned
            .navigate(&server.url)
            .await
            .expect("the chat, the warning passed");
        warned
            .set_permission("notifications", &origin, "granted")
            .await;
        let found: serde_json::Value =
            serde_json::from_str(&warned.evaluate(&features).await.unwrap()).unwrap();
        eprintln!("Firefox, warning passed: {found}");
        assert_eq!(found["secure_context"], "yes", "{found}");
    });
}
