//! The CSC server's request bodies: arbitrary bytes as the body of every method (info,
//! auth/login, auth/revoke, credentials/list, credentials/info, credentials/authorize,
//! signatures/signHash) under both API versions, through `check_body` — the strict parsing and
//! the checks the handlers themselves run before they touch users, tokens, credentials or
//! SADs. None may panic; a refusal is a client error (4xx, `invalid_request`), never a server
//! error, and it never repeats a value from the body (a mistyped PIN must not reach a log).
#![no_main]

use kyso_services::csc::{check_body, Method, Version};
use libfuzzer_sys::fuzz_target;

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
        // A marker value planted in the body is never echoed.
        if let Ok(text) = std::str::from_utf8(body) {
            if text.contains("S3CR3T") {
                assert!(!format!("{e:?}").contains("S3CR3T"), "{e:?}");
            }
        }
    }
});
