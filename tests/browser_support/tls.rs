//! Chromium for a server started with `--tls`: one that trusts the
//! server's local CA as a person who installed it would, and the features
//! a page gets in each case.
//!
//! Trust goes through a fresh NSS database in a temporary `HOME`, made with
//! `certutil` (Debian's `libnss3-tools`): that is where Chromium on Linux
//! reads the certificates a person installed, so the browser verifies the
//! server's certificate for real (SANs, dates, the CA's name constraints,
//! the usage). `--ignore-certificate-errors-spki-list` was the other way,
//! but it skips verification for a key instead of trusting a CA, so a bad
//! certificate would pass it.

use std::path::Path;
use std::process::Command;

use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::webdriver::{Chrome, Page};

/// A chromedriver whose browsers trust `ca`, and the `HOME` that holds the
/// trust (keep it as long as the browser). `None` where Chromium is
/// missing (see [`Chrome::start`]); a missing `certutil` is a failure under
/// `LANCHAT_REQUIRE_BROWSER=1` too.
pub fn chrome_trusting(ca: &CertificateDer<'_>) -> Option<(Chrome, TempDir)> {
    let home = TempDir::new().expect("a HOME for the browser");
    let nssdb = home.path().join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).expect("the NSS folder");
    let ca_file = home.path().join("lanchat-ca.crt");
    std::fs::write(&ca_file, ca.as_ref()).expect("the CA file");
    let db = format!("sql:{}", nssdb.display());
    let made = certutil(&["-N", "-d", &db, "--empty-password"]).and_then(|()| {
        certutil(&[
            "-A",
            "-d",
            &db,
            "-t",
            "C,,",
            "-n",
            "lanchat",
            "-i",
            ca_file.to_str().expect("utf-8 path"),
        ])
    });
    if let Err(why) = made {
        let message = format!(
            "certutil could not make a browser that trusts the CA ({why}); \
             install it with `apt-get install libnss3-tools`"
        );
        if std::env::var("LANCHAT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("LANCHAT_REQUIRE_BROWSER=1: {message}");
        }
        eprintln!("SKIPPING: {message}");
        return None;
    }
    let chrome = Chrome::start_with_env(&[("HOME", home.path())])?;
    Some((chrome, home))
}

pub fn certutil(args: &[&str]) -> Result<(), String> {
    let output = Command::new("certutil")
        .args(args)
        .output()
        .map_err(|err| err.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Passes Chromium's certificate warning on screen, as a person does:
/// "Advanced", then "Proceed to … (unsafe)".
pub fn click_through(page: &Page) {
    page.wait_for(
        "Chromium's certificate warning",
        "!!document.getElementById('proceed-link')",
    );
    page.js(
        "(() => { document.getElementById('details-button')?.click();
                  document.getElementById('proceed-link').click(); return true; })()",
    );
}

/// What a page may use, as its own script finds out: an async function of
/// `(wsPath, worker)` that resolves to `{feature: 'yes' | 'no: why'}` for a
/// secure context, a WebSocket to its own origin, a notification shown
/// (the permission asked for; a test grants it through the driver first),
/// the clipboard, a service worker (`worker`, a same-origin module script,
/// registered with a scope of its own and removed again) and the camera
/// (the browser's fake one). Shared by the Chromium and Firefox checks.
pub const FEATURES_JS: &str = "async (wsPath, worker) => {
    const outcome = (promise) => promise.then(() => 'yes', (e) => 'no: ' + (e && (e.name + ' ' + e.message)));
    const socketP = new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://${location.host}${wsPath}`);
        ws.onmessage = () => { ws.close(); resolve(); };
        ws.onerror = () => reject(new Error('the socket failed'));
    });
    const notificationP = new Promise((resolve, reject) => {
        if (!('Notification' in window)) return reject(new Error('no Notification'));
        Notification.requestPermission().then((permission) => {
            if (permission !== 'granted') return reject(new Error(permission));
            const shown = new Notification('lanchat', { body: 'a test' });
            shown.onshow = () => { shown.close(); resolve(); };
            shown.onerror = () => reject(new Error('not shown'));
        }, reject);
    });
    const workerP = navigator.serviceWorker
        ? navigator.serviceWorker.register(worker, { type: 'module', scope: '/sw-test/' })
            .then((registration) => registration.unregister())
        : Promise.reject(new Error('no navigator.serviceWorker'));
    const clipboardP = navigator.clipboard
        ? navigator.clipboard.writeText('lanchat')
        : Promise.reject(new Error('no navigator.clipboard'));
    const cameraP = navigator.mediaDevices
        ? navigator.mediaDevices.getUserMedia({ video: true })
            .then((stream) => stream.getTracks().forEach((track) => track.stop()))
        : Promise.reject(new Error('no navigator.mediaDevices'));
    const timeout = (promise) => Promise.race([promise,
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 8000))]);
    const [websocket, notifications, clipboard, service_worker, camera] =
        await Promise.all([socketP, notificationP, clipboardP, workerP, cameraP].map((p) => outcome(timeout(p))));
    return { secure_context: window.isSecureContext ? 'yes' : 'no',
             websocket, notifications, clipboard, service_worker, camera };
}";

/// [`FEATURES_JS`] in Chromium, after granting notifications and the
/// clipboard through WebDriver; with `install_errors`, Chromium's own
/// installability check (through CDP).
pub fn features(page: &Page, ws_path: &str, worker: &str) -> Value {
    page.set_permission("notifications", "granted");
    page.set_permission("clipboard-write", "granted");
    let mut found = page.eval_async(
        &format!(
            "const [wsPath, worker, done] = arguments;
             ({FEATURES_JS})(wsPath, worker).then(done, (e) => done(String(e)));"
        ),
        json!([ws_path, worker]),
    );
    let installability = page.cdp("Page.getInstallabilityErrors", json!({}));
    let errors: Vec<String> = installability["installabilityErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["errorId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    found["install_errors"] = json!(errors);
    found
}

/// Saves a screenshot as `target/screenshots/<name>.png`.
pub fn screenshot(page: &Page, name: &str) {
    let path = super::screenshot_dir().join(format!("{name}.png"));
    page.screenshot(Path::new(&path));
}
