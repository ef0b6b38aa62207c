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
/// HTTP request the page's script makes (`window.requests`: method, URL,
/// body size, a PATCH's `Upload-Offset` and its answer's status) and every value an upload's progress bar took
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
            const setHeader = XMLHttpRequest.prototype.setRequestHeader;
            XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
                if (name === 'Upload-Offset') this.recorded.offset = Number(value);
                return setHeader.call(this, name, value);
            };
            const send = XMLHttpRequest.prototype.send;
            XMLHttpRequest.prototype.send = function (body) {
                const request = { ...this.recorded, bytes: body ? body.size ?? body.length ?? 0 : 0 };
                window.requests.push(request);
                this.addEventListener('loadend', () => { request.status = this.status; });
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

/// Drags files over the room and drops them there, as a person dragging
/// them from their desktop would: `make` is a JavaScript expression for a
/// promise of the files. Returns whether the drop overlay showed while
/// they were over the page.
pub fn drop_files(page: &Page, make: &str) -> bool {
    let result = page.eval_async(
        &format!(
            "const done = arguments[arguments.length - 1];
             Promise.resolve({make}).then(files => {{
                 const data = new DataTransfer();
                 for (const file of files) data.items.add(file);
                 const target = document.getElementById('messages');
                 const fire = type => target.dispatchEvent(new DragEvent(type,
                     {{ dataTransfer: data, bubbles: true, cancelable: true }}));
                 fire('dragenter');
                 fire('dragover');
                 requestAnimationFrame(() => setTimeout(() => {{
                     const shown = !document.getElementById('drop-overlay').hidden;
                     fire('drop');
                     done({{ shown }});
                 }}, 150));
             }}, error => done({{ error: String(error) }}));"
        ),
        json!([]),
    );
    assert!(result.get("error").is_none(), "dropping files: {result}");
    result["shown"] == json!(true)
}

/// A JavaScript expression for a promise of a short WebM video (a second
/// and a half of a moving canvas, recorded by the browser), named `name`.
pub fn recorded_video(name: &str) -> String {
    format!(
        "new Promise((resolve, reject) => {{
            const canvas = document.createElement('canvas');
            canvas.width = 640; canvas.height = 360;
            const ctx = canvas.getContext('2d');
            let frame = 0;
            const draw = () => {{
                const sky = ctx.createLinearGradient(0, 0, 0, 360);
                sky.addColorStop(0, `hsl(${{200 + frame}}, 55%, 35%)`); sky.addColorStop(1, '#f4a261');
                ctx.fillStyle = sky; ctx.fillRect(0, 0, 640, 360);
                ctx.fillStyle = '#264653';
                ctx.beginPath(); ctx.moveTo(0, 360); ctx.lineTo(160 + frame * 2, 200); ctx.lineTo(420, 360); ctx.fill();
                frame += 1;
            }};
            draw();
            const recorder = new MediaRecorder(canvas.captureStream(25), {{ mimeType: 'video/webm' }});
            const chunks = [];
            recorder.ondataavailable = event => chunks.push(event.data);
            recorder.onerror = event => reject(event.error);
            const timer = setInterval(draw, 40);
            recorder.onstop = () => {{
                clearInterval(timer);
                resolve([new File(chunks, {name}, {{ type: 'video/webm' }})]);
            }};
            recorder.start(250);
            setTimeout(() => recorder.stop(), 1500);
        }})",
        name = json!(name)
    )
}

/// A small real PDF: one page that says `text`.
pub fn pdf_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let stream = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{object}\nendobj\n", index + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    let path = dir.join(name);
    std::fs::write(&path, pdf).expect("write a PDF");
    path
}
