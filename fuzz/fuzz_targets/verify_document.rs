//! The whole `kyso verify` path on arbitrary bytes as a PDF: reader, every signature's byte
//! range, CMS and signer checks, revisions and change analysis, certification path building.
//! Run twice per input: with no trust anchor, and with the fixed demo root the seeds were signed
//! under (`fuzz/seeds/verify_root.pem`), so paths are built up to an anchor and validated.
#![no_main]
use std::sync::{Arc, OnceLock};

use kyso_pades::validate::{validate, ValidateOptions};
use kyso_pdf::MemSource;
use kyso_x509::path::TrustStore;
use kyso_x509::Cert;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const ROOT_PEM: &[u8] = include_bytes!("../seeds/verify_root.pem");

fn options() -> &'static [ValidateOptions; 2] {
    static OPTS: OnceLock<[ValidateOptions; 2]> = OnceLock::new();
    OPTS.get_or_init(|| {
        // A fixed "now" keeps runs reproducible (the seeds' certificates are valid then).
        let now = OffsetDateTime::from_unix_timestamp(1_796_083_200)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let root = Cert::from_pem_or_der(ROOT_PEM).unwrap_or_default();
        // Offline: ValidateOptions::new never fetches.
        let make = |trust| ValidateOptions::new(trust, now);
        [make(TrustStore::new()), make(TrustStore::from_certs(root))]
    })
}

fuzz_target!(|data: &[u8]| {
    let src: Arc<[u8]> = Arc::from(data);
    for opts in options() {
        if let Ok(report) = validate(Arc::new(MemSource(src.clone())), opts) {
            for s in &report.signatures {
                let _ = (s.verdict.as_str(), &s.reasons);
            }
        }
    }
});
