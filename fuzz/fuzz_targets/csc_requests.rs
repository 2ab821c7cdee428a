//! The CSC server's request bodies: arbitrary bytes as the body of every method (info,
//! auth/login, auth/revoke, credentials/list, credentials/info, credentials/authorize,
//! signatures/signHash) under both API versions, through `check_body` — the strict parsing and
//! the checks the handlers themselves run before they touch users, tokens, credentials or
//! SADs. None may panic; a refusal is a client error (4xx, `invalid_request`), never a server
//! error, and it never repeats a value from the body (a mistyped PIN must not reach a log).
#![no_main]

use kyso_services::csc::{check_body, Method, Version};
use libfuzzer_sys::fuzz_target;

const MARKER: &str = "S3CR3T";

/// Whether some occurrence of the marker may be read as an object key: inside a string that
/// follows `{` or `,`, or is followed by `:` (serde names an unknown key before it checks the
/// colon). Field names may be echoed ("unknown field"); values never.
fn marker_in_a_key(text: &str) -> bool {
    text.match_indices(MARKER).any(|(at, _)| {
        let before = &text[..at];
        let key_position = last_unescaped_quote(before).map_or(true, |open| {
            before[..open]
                .trim_end()
                .chars()
                .next_back()
                .map_or(true, |c| c == '{' || c == ',')
        });
        let rest = &text[at + MARKER.len()..];
        let mut escaped = false;
        let close = rest.char_indices().find(|&(_, c)| {
            let end = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            end
        });
        // Unterminated: the parser may have read it as a key.
        key_position || close.map_or(true, |(i, _)| rest[i + 1..].trim_start().starts_with(':'))
    })
}

/// The byte offset of the last `"` in `text` that is not escaped (not preceded by an odd
/// number of backslashes): the quote that opens the string a marker is in (`"a\"S3CR3T"` is one
/// string — a key when it is followed by `:` or follows `{`).
fn last_unescaped_quote(text: &str) -> Option<usize> {
    text.match_indices('"')
        .map(|(i, _)| i)
        .rev()
        .find(|&i| text[..i].bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let method = Method::ALL[usize::from(selector & 0x7f) % Method::ALL.len()];
    let version = if selector & 0x80 == 0 {
        Version::V2
    } else {
        Version::V1
    };
    if let Err(e) = check_body(version, method.path(), body) {
        assert!(e.status().is_client_error(), "{method:?}: {e:?}");
        assert_eq!(e.error(), "invalid_request", "{method:?}: {e:?}");
        // A marker planted in a value is never echoed (a field's name may be: "unknown field").
        if let Ok(text) = std::str::from_utf8(body) {
            if text.contains(MARKER) && !marker_in_a_key(text) {
                assert!(!format!("{e:?}").contains(MARKER), "{e:?}");
            }
        }
    }
});
