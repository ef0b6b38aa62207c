//! The host secret: made at random, given as a link whose fragment carries
//! it (so it never reaches a server log), and kept only as its SHA-256.

use sha2::{Digest, Sha256};

use crate::ids::{hex, random_bytes};

/// 256 random bits, as hex.
pub fn new_secret() -> String {
    hex(&random_bytes::<32>())
}

/// What is stored and compared: the secret's SHA-256.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The hash as stored, in hex.
pub fn hash_hex(secret: &str) -> String {
    hex(&hash(secret))
}

/// The hash read back from its hex, if it is one.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}

/// `url` with the secret added to its fragment (`…/#host=<secret>`, or
/// `…#key=…&host=<secret>` beside an access key).
pub fn link(url: &str, secret: &str) -> String {
    let joiner = if url.contains('#') { '&' } else { '#' };
    let secret = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC);
    format!("{url}{joiner}host={secret}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_kept_only_as_its_hash() {
        let secret = new_secret();
        assert_eq!(secret.len(), 64);
        assert_ne!(secret, new_secret());
        let stored = hash_hex(&secret);
        assert!(!stored.contains(&secret));
        assert_eq!(parse_hash(&stored), Some(hash(&secret)));
        assert_eq!(parse_hash("zz"), None);
        assert_eq!(
            link("http://127.0.0.1:8080/", "ab"),
            "http://127.0.0.1:8080/#host=ab"
        );
        assert_eq!(
            link("http://127.0.0.1:8080/#key=k", "a b"),
            "http://127.0.0.1:8080/#key=k&host=a%20b"
        );
    }
}
