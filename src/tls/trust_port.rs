//! The plain-HTTP port when HTTPS is on: the trust page (`web/trust.html`,
//! with its script, style and words), the local CA's certificate to install
//! (`/ca.crt`, `/ca.pem`, `/lanchat.mobileconfig`) and its fingerprint
//! (`/api/trust`), and `/healthz` for a container's health check, which
//! asks this port. Every other request is redirected to the same path on
//! the HTTPS port. With a brought certificate there is nothing to install,
//! so everything else is redirected.
//!
//! The redirect is temporary (307) and there is no HSTS: whoever turns TLS
//! off again finds plain HTTP working as before.

use std::convert::Infallible;
use std::str::FromStr as _;
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::path::FullPath;
use warp::{Filter, Rejection, Reply};

use super::{LocalCa, Tls};
use crate::assets::Assets;
use crate::routes::{page_files, with_security_headers};

/// The files the trust page needs; nothing else of `web/` is served here.
const PAGE_FILES: &[&str] = &[
    "trust.html",
    "trust.js",
    "trust.css",
    "css/base.css",
    "i18n.js",
    "storage.js",
    "favicon.svg",
];

/// What a page needs to offer the certificate or link the other port.
#[derive(Clone)]
pub struct TrustInfo {
    /// The CA's SHA-256, `AB:CD:…`; `None` with a brought certificate.
    pub fingerprint: Option<String>,
    pub https_port: u16,
    pub trust_port: u16,
}

/// Every route of the plain port.
pub fn routes(
    tls: Tls,
    info: TrustInfo,
    assets: Arc<Assets>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let downloads = tls.local_ca().map(Downloads::of);
    let offered = offering(downloads.is_some()).and(
        page_files(assets, "trust.html", trust_page_file)
            .or(ca_download(downloads))
            .or(trust_info(Some(info.clone()))),
    );
    // Whatever the page does not serve goes to HTTPS, so nothing is refused.
    offered
        .or(alive())
        .or(to_https(info.https_port))
        .map(with_security_headers)
}

/// GET /healthz: that the server is up, for `lanchat healthcheck`, which
/// asks the plain port (a container's HEALTHCHECK cannot follow a redirect
/// to a certificate it does not trust). No figures and no key: those stay
/// on HTTPS.
fn alive() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("healthz").and(warp::get()).map(|| {
        warp::reply::json(&serde_json::json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
        }))
    })
}

/// Passes when there is a local CA to offer (not with a brought
/// certificate).
fn offering(offered: bool) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::any()
        .and_then(move || async move {
            if offered {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one()
}

/// Whether `path` is one of the trust page's files, the only files of
/// `web/` this port serves (not the chat's manifest or service worker: the
/// app belongs to the HTTPS origin).
fn trust_page_file(path: &str) -> bool {
    PAGE_FILES.contains(&path) || (path.starts_with("i18n/") && path.ends_with(".json"))
}

/// The CA's certificate in the forms devices install.
#[derive(Clone)]
struct Downloads {
    der: Vec<u8>,
    pem: String,
    profile: String,
}

impl Downloads {
    fn of(ca: &LocalCa) -> Downloads {
        Downloads {
            der: ca.der().to_vec(),
            pem: ca.pem().to_owned(),
            profile: mobileconfig(ca.der()),
        }
    }
}

/// GET /ca.crt (DER), GET /ca.pem, GET /lanchat.mobileconfig
fn ca_download(
    downloads: Option<Downloads>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and_then(move |file: String| {
            let downloads = downloads.clone();
            async move {
                let downloads = downloads.ok_or_else(warp::reject::not_found)?;
                let (body, content_type, name): (Vec<u8>, _, _) = match file.as_str() {
                    "ca.crt" => (
                        downloads.der,
                        "application/x-x509-ca-cert",
                        "lanchat-ca.crt",
                    ),
                    "ca.pem" => (
                        downloads.pem.into_bytes(),
                        "application/x-pem-file",
                        "lanchat-ca.pem",
                    ),
                    "lanchat.mobileconfig" => (
                        downloads.profile.into_bytes(),
                        "application/x-apple-aspen-config",
                        "lanchat.mobileconfig",
                    ),
                    _ => return Err(warp::reject::not_found()),
                };
                let mut response = warp::reply::Response::new(body.into());
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if let Ok(value) =
                    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                {
                    headers.insert(header::CONTENT_DISPOSITION, value);
                }
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                Ok::<_, Rejection>(response)
            }
        })
}

/// GET /api/trust: the CA's fingerprint and both ports, for the pages. On
/// the HTTPS port too, so the chat can link the trust page; not found when
/// HTTPS is off.
pub fn trust_info(
    info: Option<TrustInfo>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "trust")
        .and(warp::get())
        .and_then(move || {
            let info = info.clone();
            async move {
                let info = info.ok_or_else(warp::reject::not_found)?;
                let mut response = warp::reply::json(&serde_json::json!({
                    "fingerprint": info.fingerprint,
                    "https_port": info.https_port,
                    "trust_port": info.trust_port,
                }))
                .into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                Ok::<_, Rejection>(response)
            }
        })
}

/// Any other request: 307 to the same host, path and query on HTTPS.
fn to_https(https_port: u16) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    warp::path::full()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .map(move |path: FullPath, query: String, headers: HeaderMap| {
            let Some(host) = request_host(&headers) else {
                return warp::reply::with_status(
                    "a Host header is needed\n",
                    StatusCode::BAD_REQUEST,
                )
                .into_response();
            };
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            };
            let location = format!("https://{host}:{https_port}{}{query}", path.as_str());
            let mut response =
                warp::reply::with_status("", StatusCode::TEMPORARY_REDIRECT).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        })
}

/// The host the request was for, without its port (IPv6 in brackets).
fn request_host(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::HOST)?.to_str().ok()?;
    let authority = http::uri::Authority::from_str(value).ok()?;
    let host = authority.host();
    (!host.is_empty()).then(|| host.to_owned())
}

/// An iOS and macOS configuration profile that installs the CA. Its ids
/// come from the CA's fingerprint, so installing it again replaces it.
fn mobileconfig(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let uuid = |salt: u8| {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[16..32]);
        bytes[0] ^= salt;
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
            .to_uppercase()
    };
    let host = super::host_name().unwrap_or_else(|| "this computer".to_owned());
    let data = base64::engine::general_purpose::STANDARD.encode(der);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key>
      <string>lanchat-ca.crt</string>
      <key>PayloadContent</key>
      <data>{data}</data>
      <key>PayloadDescription</key>
      <string>The certificate authority of the lanchat on {host}</string>
      <key>PayloadDisplayName</key>
      <string>lanchat local CA ({host})</string>
      <key>PayloadIdentifier</key>
      <string>lanchat.ca.{id}.certificate</string>
      <key>PayloadType</key>
      <string>com.apple.security.root</string>
      <key>PayloadUUID</key>
      <string>{cert_uuid}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key>
  <string>Lets this device open the lanchat on {host} over HTTPS. It can vouch only for private network addresses and .local names.</string>
  <key>PayloadDisplayName</key>
  <string>lanchat on {host}</string>
  <key>PayloadIdentifier</key>
  <string>lanchat.ca.{id}</string>
  <key>PayloadRemovalDisallowed</key>
  <false/>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>{profile_uuid}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
"#,
        cert_uuid = uuid(1),
        profile_uuid = uuid(2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_host_without_its_port() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("192.168.1.5:8080"));
        assert_eq!(request_host(&headers).as_deref(), Some("192.168.1.5"));
        headers.insert(header::HOST, HeaderValue::from_static("[fd00::1]:8080"));
        assert_eq!(request_host(&headers).as_deref(), Some("[fd00::1]"));
        headers.insert(header::HOST, HeaderValue::from_static("lanchat.local"));
        assert_eq!(request_host(&headers).as_deref(), Some("lanchat.local"));
        headers.insert(header::HOST, HeaderValue::from_static("evil/path"));
        assert_eq!(request_host(&headers), None);
    }

    #[test]
    fn the_profile_carries_the_certificate_and_stable_ids() {
        let der = b"not really a certificate";
        let profile = mobileconfig(der);
        assert!(profile.contains("com.apple.security.root"));
        assert!(profile.contains(&base64::engine::general_purpose::STANDARD.encode(der)));
        assert_eq!(profile, mobileconfig(der));
        assert_ne!(profile, mobileconfig(b"another"));
    }
}
