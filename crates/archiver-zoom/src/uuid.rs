//! Meeting UUIDs in URL paths.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a meeting UUID as one path segment, following Zoom's rule: percent-encoded twice
/// when it contains `/` (Zoom requires that when it starts with `/` or contains `//`; encoding
/// every `/`-bearing UUID twice is what Zoom's SDKs do and is accepted), otherwise once.
///
/// ```
/// assert_eq!(archiver_zoom::encode_meeting_uuid("/ajXp112QmuoKj4854875=="), "%252FajXp112QmuoKj4854875%253D%253D");
/// assert_eq!(archiver_zoom::encode_meeting_uuid("aB+c=="), "aB%2Bc%3D%3D");
/// ```
pub fn encode_meeting_uuid(uuid: &str) -> String {
    let once = utf8_percent_encode(uuid, NOT_UNRESERVED).to_string();
    if uuid.contains('/') {
        utf8_percent_encode(&once, NOT_UNRESERVED).to_string()
    } else {
        once
    }
}

/// Percent-encodes an identifier once as one path segment (every byte but the RFC 3986
/// unreserved characters), for ids without Zoom's double-encoding rule (call history UUIDs).
pub(crate) fn encode_path_segment(id: &str) -> String {
    utf8_percent_encode(id, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_once() {
        assert_eq!(
            encode_path_segment("20211008-48c1dfd4-91ce"),
            "20211008-48c1dfd4-91ce"
        );
        assert_eq!(encode_path_segment("a/b+c= d"), "a%2Fb%2Bc%3D%20d");
        assert_eq!(encode_path_segment("../x"), "..%2Fx");
    }

    #[test]
    fn encodes_per_zoom_rule() {
        assert_eq!(encode_meeting_uuid("plainUUID123"), "plainUUID123");
        assert_eq!(encode_meeting_uuid("a+b=="), "a%2Bb%3D%3D");
        assert_eq!(encode_meeting_uuid("a/b"), "a%252Fb");
        assert_eq!(encode_meeting_uuid("a//b+c="), "a%252F%252Fb%252Bc%253D");
        assert_eq!(
            encode_meeting_uuid("/ajXp112QmuoKj4854875=="),
            "%252FajXp112QmuoKj4854875%253D%253D"
        );
    }
}
