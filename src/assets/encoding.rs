//! Which encoding a response goes in: `Accept-Encoding` read as RFC 9110
//! says (q-values, `*`, `identity`), against the copies a file has.

/// The encodings a file of the page may be sent in, smallest first: among
/// those a browser accepts equally, the first wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// Its name in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
            Encoding::Identity => "identity",
        }
    }

    fn is_named(self, coding: &str) -> bool {
        coding.eq_ignore_ascii_case(self.token())
            // An old name for gzip that RFC 9110 asks servers to honour.
            || (self == Encoding::Gzip && coding.eq_ignore_ascii_case("x-gzip"))
    }
}

/// The encoding to send, of those `available` (in order of preference), for
/// a request's `Accept-Encoding`. With no header, or nothing acceptable on
/// offer, the file goes as it is: every client can read that.
pub fn negotiate(
    accept_encoding: Option<&str>,
    available: impl IntoIterator<Item = Encoding>,
) -> Encoding {
    let Some(accept) = accept_encoding else {
        return Encoding::Identity;
    };
    let mut best = (Encoding::Identity, 0.0);
    for encoding in available {
        let weight = weight(accept, encoding);
        if weight > best.1 {
            best = (encoding, weight);
        }
    }
    best.0
}

/// How much the header wants `encoding`, from 0 (not at all) to 1.
fn weight(accept: &str, encoding: Encoding) -> f32 {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            })
            .next()
            // A q-value that is not a number accepts nothing.
            .map_or(1.0, |value| value.parse::<f32>().unwrap_or(0.0))
            .clamp(0.0, 1.0);
        if encoding.is_named(coding) {
            return q;
        }
        if coding == "*" {
            star = Some(q);
        }
    }
    // Unnamed, `identity` is acceptable unless `*` says otherwise, but
    // wanted less than any coding the header names (the least q there is).
    star.unwrap_or(if encoding == Encoding::Identity {
        0.001
    } else {
        0.0
    })
}

#[cfg(test)]
mod tests {
    use super::Encoding::{Brotli, Gzip, Identity};
    use super::*;

    const ALL: [Encoding; 3] = [Brotli, Gzip, Identity];

    #[test]
    fn browsers_get_the_smallest_they_read() {
        // Chromium over https, and over plain http (no br there).
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd"), ALL), Brotli);
        assert_eq!(negotiate(Some("gzip, deflate"), ALL), Gzip);
        assert_eq!(negotiate(Some("GZIP"), ALL), Gzip);
        assert_eq!(negotiate(Some("x-gzip"), ALL), Gzip);
        // A file without a brotli copy.
        assert_eq!(negotiate(Some("br, gzip"), [Gzip, Identity]), Gzip);
        // A PNG: nothing but itself.
        assert_eq!(negotiate(Some("br, gzip"), [Identity]), Identity);
    }

    #[test]
    fn no_header_or_nothing_known_gets_the_file_as_it_is() {
        assert_eq!(negotiate(None, ALL), Identity);
        assert_eq!(negotiate(Some(""), ALL), Identity);
        assert_eq!(negotiate(Some("deflate, zstd"), ALL), Identity);
        assert_eq!(negotiate(Some("identity"), ALL), Identity);
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(negotiate(Some("br;q=0.5, gzip"), ALL), Gzip);
        assert_eq!(negotiate(Some("br;q=0, gzip;q=0.1"), ALL), Gzip);
        assert_eq!(negotiate(Some("br; Q=0.9 , gzip;q=0.8"), ALL), Brotli);
        assert_eq!(negotiate(Some("gzip;q=0, br;q=0"), ALL), Identity);
        assert_eq!(negotiate(Some("gzip;q=0.5, identity;q=1"), ALL), Identity);
        // Equal weights: the smaller one.
        assert_eq!(negotiate(Some("gzip;q=0.5, br;q=0.5"), ALL), Brotli);
        // Nonsense accepts nothing, but the file as it is still goes.
        assert_eq!(negotiate(Some("br;q=lots"), ALL), Identity);
    }

    #[test]
    fn a_star_covers_what_is_not_named() {
        assert_eq!(negotiate(Some("*"), ALL), Brotli);
        assert_eq!(negotiate(Some("br;q=0, *"), ALL), Gzip);
        assert_eq!(negotiate(Some("*;q=0, gzip"), ALL), Gzip);
        // Even identity refused, something must go: the file as it is.
        assert_eq!(negotiate(Some("*;q=0"), ALL), Identity);
        assert_eq!(negotiate(Some("identity;q=0"), [Identity]), Identity);
    }
}
