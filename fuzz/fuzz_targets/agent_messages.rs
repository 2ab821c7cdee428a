//! The signing agent's WebSocket messages: arbitrary text frames sent to every VGCA operation
//! (and an unknown one) through `parse_operation`, the parse and checks the socket handler runs
//! before it downloads anything, asks the user or opens the key. None may panic; what passes
//! names only http(s) URLs and carries what its Decree 30 form needs; a refusal has a message
//! in both languages and never shows a URL's query (one-time tokens live there).
#![no_main]

use kyso_services::agent::protocol::{
    file_label, parse_operation, Operation, RequestError, SignOp,
};
use libfuzzer_sys::fuzz_target;

const OPERATIONS: [&str; 10] = [
    "SignApproved",
    "SignIssued",
    "SignAppendix",
    "SignCopy",
    "SignIncome",
    "SignPDF",
    "VerifyPDF",
    "GetCertInfo",
    "GetVersion",
    "Format",
];

fn http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let op = OPERATIONS[usize::from(selector) % OPERATIONS.len()];
    // A binary frame is read as text the same way (lossy UTF-8).
    let text = String::from_utf8_lossy(frame);
    match parse_operation(op, &text) {
        Ok(Operation::Sign(job)) => {
            assert!(http(&job.upload_to) && http(&job.file_url), "{job:?}");
            assert_eq!(job.op, SignOp::from_name(op).expect("a signing operation"));
            match job.op {
                SignOp::Issued => assert!(job.doc_number.is_some() && job.issued.is_some()),
                SignOp::Appendix => assert!(job.doc_number.is_some()),
                _ => {}
            }
            if let Some(n) = &job.doc_number {
                assert!(!n.trim().is_empty());
            }
            let label = file_label(&job.file_url);
            assert!(label.to_ascii_lowercase().ends_with(".pdf"), "{label}");
            assert!(!label.contains(['/', '?', '#']), "{label}");
        }
        Ok(Operation::Verify { file_url, .. }) => {
            assert_eq!(op, "VerifyPDF");
            assert!(http(&file_url));
        }
        Ok(Operation::GetVersion) => assert_eq!(op, "GetVersion"),
        Ok(Operation::GetCertInfo) => assert_eq!(op, "GetCertInfo"),
        Err(e) => {
            if let RequestError::NotHttp(shown) = &e {
                assert!(!shown.contains(['?', '#']), "{shown}");
            }
            let u = e.user_error();
            assert!(!u.vi.is_empty() && !u.en.is_empty());
        }
    }
});
