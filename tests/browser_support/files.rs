//! Files in the browser tests: real files on disk to pick, pictures to
//! paste, and reading what the page shows of them and fetches.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::webdriver::Page;

/// Writes `size` bytes of noise (that no compression or dedup helps with)
/// to `dir/name` and returns the path.
pub fn noise_file(dir: &Path, name: &str, size: usize) -> PathBuf {
    let mut bytes = Vec::with_capacity(size);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ size as u64;
    while bytes.len() < size {
        // xorshift64*: quick, and plenty random for this.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(size);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a test file");
    path
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Chooses files in the paperclip's file picker (WebDriver types their
/// paths into the `input[type=file]`, as a person picking them would).
pub fn pick_files(page: &Page, paths: &[&Path]) {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    page.type_into("#file-input", &paths.join("\n"));
}

/// Draws a `width`×`height` picture (a sunset over hills) in the page and
/// pastes it into the composer as a PNG file named `name`, as a screenshot
/// pasted from the clipboard would come.
pub fn paste_png(page: &Page, name: &str, width: u32, height: u32) {
    let result = page.eval_async(
        "const [name, width, height, done] = arguments;
         const canvas = new OffscreenCanvas(width, height);
         const ctx = canvas.getContext('2d');
         const sky = ctx.createLinearGradient(0, 0, 0, height);
         sky.addColorStop(0, '#1e3c72'); sky.addColorStop(0.55, '#f7797d'); sky.addColorStop(1, '#fbd786');
         ctx.fillStyle = sky; ctx.fillRect(0, 0, width, height);
         ctx.fillStyle = '#fff3c4';
         ctx.beginPath(); ctx.arc(width * 0.62, height * 0.58, height * 0.16, 0, Math.PI * 2); ctx.fill();
         ctx.fillStyle = '#2d3a4a';
         ctx.beginPath(); ctx.moveTo(0, height);
         for (let x = 0; x <= width; x += width / 8) ctx.lineTo(x, height * (0.7 + 0.12 * Math.sin(x / width * 9)));
         ctx.lineTo(width, height); ctx.fill();
         canvas.convertToBlob({ type: 'image/png' }).then(blob => {
             const data = new DataTransfer();
             data.items.add(new File([blob], name, { type: 'image/png' }));
             const input = document.getElementById('message-input');
             input.focus();
             input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
             done(null);
         }, error => done(String(error)));",
        json!([name, width, height]),
    );
    assert_eq!(result, Value::Null, "pasting {name}");
}

/// Waits until a stored message shares a file called `name`, and returns
/// what the page shows of it: `kind` (picture, video, audio, card), `url`,
/// and for a picture its `thumb`, `width` and `height` attributes.
pub fn wait_shared(page: &Page, name: &str) -> Value {
    page.wait_for(
        &format!("a message sharing {name:?}"),
        &format!(
            "(() => {{
                const name = {name};
                for (const row of document.querySelectorAll('#timeline .msg[data-seq]')) {{
                    for (const item of row.querySelectorAll('.files > li')) {{
                        const picture = item.querySelector('button[data-picture]');
                        if (picture && picture.dataset.name === name) {{
                            const img = picture.querySelector('img');
                            return {{ kind: 'picture', url: picture.dataset.picture, thumb: img.getAttribute('src'),
                                     width: img.width, height: img.height, seq: row.dataset.seq,
                                     text: row.querySelector('.text')?.textContent ?? null }};
                        }}
                        const link = item.querySelector('a[download]');
                        if (link && link.getAttribute('download') === name) {{
                            const kind = item.className.replace('file-', '');
                            return {{ kind, url: link.getAttribute('href'), seq: row.dataset.seq,
                                     text: row.querySelector('.text')?.textContent ?? null }};
                        }}
                    }}
                }}
                return null;
            }})()",
            name = json!(name)
        ),
    )
}

/// Fetches `url` in the page, with the page's cookies, and returns its
/// status and the SHA-256 of its body (`crypto.subtle`: 127.0.0.1 is a
/// secure context), plus the headers that decide how a browser shows it.
pub fn fetch_in_page(page: &Page, url: &str) -> Value {
    page.eval_async(
        "const [url, done] = arguments;
         fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(async response => {
             const body = await response.arrayBuffer();
             const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
             done({ status: response.status,
                    sha256: [...digest].map(b => b.toString(16).padStart(2, '0')).join(''),
                    type: response.headers.get('content-type'),
                    disposition: response.headers.get('content-disposition'),
                    csp: response.headers.get('content-security-policy') });
         }, error => done({ error: String(error) }));",
        json!([url]),
    )
}

/// Records, from the first byte of every page this browser opens, each
/// HTTP request the page's script makes (`window.requests`: method, URL and
/// body size) and every value an upload's progress bar took
/// (`window.progressSeen`).
pub fn record_requests(page: &Page) {
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "(() => {
            window.requests = [];
            window.progressSeen = [];
            const open = XMLHttpRequest.prototype.open;
            XMLHttpRequest.prototype.open = function (method, url, ...rest) {
                this.recorded = { method, url: String(url) };
                return open.call(this, method, url, ...rest);
            };
            const send = XMLHttpRequest.prototype.send;
            XMLHttpRequest.prototype.send = function (body) {
                window.requests.push({ ...this.recorded, bytes: body ? body.size ?? body.length ?? 0 : 0 });
                return send.call(this, body);
            };
            const nativeFetch = window.fetch;
            window.fetch = function (input, init = {}) {
                window.requests.push({ method: init.method || 'GET', url: String(input), bytes: 0 });
                return nativeFetch.call(this, input, init);
            };
            new MutationObserver(records => {
                for (const record of records) {
                    const bar = record.target;
                    if (bar instanceof HTMLProgressElement) window.progressSeen.push([bar.value, bar.max]);
                }
            }).observe(document, { subtree: true, attributes: true, attributeFilter: ['value'] });
        })();" }),
    );
}

/// The requests the page made so far with `method` (see `record_requests`).
pub fn requests(page: &Page, method: &str) -> Vec<Value> {
    let value = page.eval(
        "return window.requests.filter(r => r.method === arguments[0]);",
        json!([method]),
    );
    serde_json::from_value(value).expect("list of requests")
}

/// The tray's rows: name and the status line under the bar.
pub fn tray(page: &Page) -> Value {
    page.js(
        "[...document.querySelectorAll('#tray-list .upload')].map(row => ({
            name: row.querySelector('.upload-name').textContent,
            status: row.dataset.status,
            words: row.querySelector('.upload-status').textContent }))",
    )
}
