#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Signing at every PAdES level through the engine's traits, with no network: a fake
//! [`Fetch`] answers OCSP requests, serves CRLs and grants timestamps for the demo PKI (the
//! TSA client is `HttpTsa` over that same fake), and counts every call. The signed documents
//! validate offline; a [`CachingFetcher`] answers the second signature's revocation questions
//! without asking the network again.

#[path = "../support/mod.rs"]
mod support;
use support::*;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kyso_cms::Signer;
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_ltv::fetch::{CacheOptions, CachingFetcher, Fetch, FetchError, FetchErrorKind};
use kyso_ltv::tsp::HttpTsa;
use kyso_pades::ltv::{extend_source, sign_at_level, Level};
use kyso_pades::validate::{validate, ValidateOptions, Verdict};
use kyso_pades::{Error, SignOptions};
use kyso_pdf::MemSource;
use kyso_x509::path::TrustStore;
use kyso_x509::Cert;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-06-01 08:00:00 UTC);
const PASSWORD: &str = "kyso-test";

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn signer(&self, name: &str) -> Pkcs12Signer {
        let data = std::fs::read(self.dir.join(format!("{name}.p12"))).unwrap();
        Pkcs12Signer::from_pkcs12(&data, &Secret::new(PASSWORD.to_owned())).unwrap()
    }
    fn root(&self) -> Cert {
        let pem = std::fs::read(self.dir.join("root.pem")).unwrap();
        Cert::from_pem_chain(&pem).unwrap().remove(0)
    }
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kyso-pades-levels-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = kyso_pki::demo::InitOptions::new(Secret::new(PASSWORD.to_owned()), T0);
        kyso_pki::demo::init(&dir, &opts).unwrap();
        Pki { dir }
    })
}

/// The demo CA's services, answered in process.
#[derive(Debug)]
struct FakeNet {
    root: Pkcs12Signer,
    intermediate: Pkcs12Signer,
    ocsp: Pkcs12Signer,
    tsa: Pkcs12Signer,
    serial: AtomicU64,
    /// Every call: "GET url" or "POST content-type".
    calls: Mutex<Vec<String>>,
    down: bool,
}

impl FakeNet {
    fn new() -> Self {
        let p = pki();
        FakeNet {
            root: p.signer("root"),
            intermediate: p.signer("intermediate"),
            ocsp: p.signer("ocsp"),
            tsa: p.signer("tsa"),
            serial: AtomicU64::new(1),
            calls: Mutex::new(Vec::new()),
            down: false,
        }
    }
    fn count(&self, what: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.contains(what))
            .count()
    }
    fn refuse(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        Err(FetchError {
            url: url.to_owned(),
            kind: FetchErrorKind::Connect,
            message: "cannot connect: the test network is down".to_owned(),
        })
    }
}

impl Fetch for FakeNet {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.calls.lock().unwrap().push(format!("GET {url}"));
        if self.down {
            return self.refuse(url);
        }
        let ca: &dyn Signer = if url.ends_with("/root.crl") {
            &self.root
        } else if url.ends_with("/intermediate.crl") {
            &self.intermediate
        } else {
            return self.refuse(url);
        };
        Ok(kyso_ltv::crl_issue::issue(ca, 1, &[], T0, Duration::days(7)).unwrap())
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("POST {content_type}"));
        if self.down {
            return self.refuse(url);
        }
        match content_type {
            "application/ocsp-request" => {
                let authority = kyso_ltv::responder::Authority::new(
                    self.intermediate.certificate(),
                    &self.ocsp,
                )
                .unwrap();
                let good = |_: usize, _: &[u8]| kyso_ltv::responder::Status::Good;
                Ok(
                    kyso_ltv::responder::respond(body, &[authority], &good, T0, Duration::days(1))
                        .unwrap(),
                )
            }
            "application/timestamp-query" => Ok(kyso_ltv::tsa::respond(
                body,
                &self.tsa,
                self.serial.fetch_add(1, Ordering::SeqCst),
                T0 + Duration::seconds(5),
                &kyso_ltv::tsa::TsaSettings::default(),
            )
            .unwrap()),
            _ => self.refuse(url),
        }
    }
}

fn level_opts(net: &Arc<FakeNet>) -> SignOptions {
    let mut o = SignOptions::new(T0);
    o.timestamper = Some(Arc::new(HttpTsa::new(net.clone(), "http://tsa.test/")));
    o
}

fn check_offline(pdf: &[u8]) -> kyso_pades::validate::DocumentValidation {
    let opts = ValidateOptions::new(
        TrustStore::from_certs([pki().root()]),
        T0 + Duration::hours(1),
    );
    validate(Arc::new(MemSource::new(pdf.to_vec())), &opts).unwrap()
}

#[test]
fn b_lta_is_made_through_the_traits_and_a_cache_spares_the_second_fetch() {
    let net = Arc::new(FakeNet::new());
    // The cache's clock is the test's: its entries live until the answers' nextUpdate.
    let cache = CachingFetcher::with_clock(net.clone(), CacheOptions::default(), Arc::new(|| T0));
    let signer = pki().signer("personal");
    let src = Arc::new(MemSource::new(two_page_pdf()));
    let signed = sign_at_level(
        src.clone(),
        Level::BLta,
        &level_opts(&net),
        &signer,
        None,
        Some(&cache),
        T0,
    )
    .unwrap();
    assert_eq!(signed.field_name.as_deref(), Some("Signature1"));
    let mut out = Vec::new();
    signed.write_to(&mut out).unwrap();

    // Two timestamps (the signature's, the document's), both through the Fetch trait.
    assert_eq!(
        net.count("timestamp-query"),
        2,
        "{:?}",
        net.calls.lock().unwrap()
    );
    let revocation_calls = net.count("ocsp-request") + net.count("GET");
    assert!(revocation_calls > 0, "validation material was fetched");

    let report = check_offline(&out);
    assert_eq!(report.verdict, Verdict::Valid, "{:#?}", report);
    assert!(!report.online);
    assert_eq!(
        report.signatures.len(),
        2,
        "the signature and the document timestamp"
    );
    let sig = &report.signatures[0];
    assert!(sig.time_proven && sig.timestamp.is_some(), "B-T");
    assert_eq!(
        sig.revocation.status, "good",
        "B-LT: the DSS answers offline"
    );
    assert!(sig.archived_at.is_some(), "B-LTA");

    // The same signer again: every OCSP response and CRL comes from the cache.
    let again = sign_at_level(
        src,
        Level::BLta,
        &level_opts(&net),
        &signer,
        None,
        Some(&cache),
        T0,
    )
    .unwrap()
    .to_vec()
    .unwrap();
    assert_eq!(
        net.count("ocsp-request") + net.count("GET"),
        revocation_calls
    );
    assert_eq!(
        net.count("timestamp-query"),
        4,
        "timestamps are never cached"
    );
    assert_eq!(check_offline(&again).verdict, Verdict::Valid);
}

#[test]
fn a_b_t_document_is_extended_to_b_lt_in_memory() {
    let net = Arc::new(FakeNet::new());
    let signer = pki().signer("personal2");
    let opts = level_opts(&net);
    let bt = sign_at_level(
        Arc::new(MemSource::new(two_page_pdf())),
        Level::BT,
        &opts,
        &signer,
        None,
        None,
        T0,
    )
    .unwrap();
    assert_eq!(net.count("timestamp-query"), 1);
    assert_eq!(
        net.count("ocsp-request") + net.count("GET"),
        0,
        "B-T fetches nothing"
    );
    let bt_bytes = bt.to_vec().unwrap();
    assert_ne!(
        check_offline(&bt_bytes).signatures[0].revocation.status,
        "good"
    );

    let lt = extend_source(
        Arc::new(MemSource::new(bt_bytes.clone())),
        Level::BLt,
        &opts,
        net.as_ref(),
        None,
        T0,
    )
    .unwrap()
    .to_vec()
    .unwrap();
    assert!(lt.starts_with(&bt_bytes), "only appended");
    let report = check_offline(&lt);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert_eq!(report.signatures[0].revocation.status, "good");
    assert_eq!(
        net.count("timestamp-query"),
        1,
        "B-LT needs no new timestamp"
    );
}

#[test]
fn levels_refuse_what_they_cannot_prove_and_write_nothing() {
    let signer = pki().signer("personal");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, two_page_pdf()).unwrap();
    let dest = dir.path().join("out.pdf");

    // B-T without a TSA.
    let err = kyso_pades::ltv::sign_with_level(
        &input,
        &dest,
        Level::BT,
        &SignOptions::new(T0),
        &signer,
        None,
        None,
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timestamp(_)), "{err}");

    // B-LT with the OCSP responders and CRLs unreachable.
    let mut down = FakeNet::new();
    down.down = true;
    let down = Arc::new(down);
    let err = kyso_pades::ltv::sign_with_level(
        &input,
        &dest,
        Level::BLt,
        &level_opts(&Arc::new(FakeNet::new())),
        &signer,
        None,
        Some(down.as_ref()),
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err}");
    assert!(down.count("ocsp-request") > 0);
    assert!(!dest.exists(), "nothing half-done is written");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

/// A source whose bytes the test can change between signing and writing.
#[derive(Debug)]
struct Changing(Mutex<Vec<u8>>);

impl kyso_pdf::Source for Changing {
    fn len(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let data = self.0.lock().unwrap();
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
}

#[test]
fn an_input_changed_after_signing_is_not_written_out_as_signed() {
    let src = Arc::new(Changing(Mutex::new(two_page_pdf())));
    let signed = kyso_pades::sign_source(src.clone(), &opts(), &test_signer("A"), None).unwrap();
    let good = signed.to_vec().unwrap();
    assert_eq!(check_integrity(&good), 1);
    // One byte of the original changes (a comment line at the top, say).
    src.0.lock().unwrap()[10] ^= 0x01;
    let err = signed.to_vec().unwrap_err();
    assert!(
        matches!(err, Error::Structure(m) if m.contains("changed")),
        "{err}"
    );
}

#[test]
fn a_prepared_document_kept_and_resumed_is_signed_as_prepared() {
    let signer = test_signer("A");
    let alg = signer.algorithm();
    let prepared = kyso_pades::prepare_source(
        Arc::new(MemSource::new(two_page_pdf())),
        &opts(),
        &signer.cert,
        &signer.chain,
        alg,
        None,
    )
    .unwrap();
    let kept = prepared.document().to_vec().unwrap();
    assert_eq!(
        kept.len() as u64,
        prepared.byte_range[2] + prepared.byte_range[3]
    );
    let resume = |bytes: &[u8], range: [u64; 4]| {
        kyso_pades::Prepared::resume(
            Arc::new(MemSource::new(bytes.to_vec())),
            range,
            prepared.field_name.clone(),
            &signer.cert,
            alg,
        )
    };
    let again = resume(&kept, prepared.byte_range).unwrap();
    assert_eq!(again.document_digest, prepared.document_digest);
    assert_eq!(again.to_be_signed_digest, prepared.to_be_signed_digest);
    assert_eq!(again.signed_attrs.der(), prepared.signed_attrs.der());
    let sig = signer.sign(&again.request()).unwrap();
    let signed = again
        .finish(&sig, &signer.cert, &signer.chain, Vec::new())
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(check_integrity(&signed), 1);
    // Only the placeholder differs from what was kept.
    let [_, hole, after, _] = prepared.byte_range.map(|v| v as usize);
    assert_eq!(signed.len(), kept.len());
    assert_eq!(signed[..hole], kept[..hole]);
    assert_eq!(signed[after..], kept[after..]);
    // A changed byte inside the ranges: another digest (the caller compares it).
    let mut changed = kept.clone();
    changed[20] ^= 1;
    assert_ne!(
        resume(&changed, prepared.byte_range)
            .unwrap()
            .document_digest,
        prepared.document_digest
    );
    // A range that frames no zero placeholder, or does not end the document: refused.
    let [a, b, c, d] = prepared.byte_range;
    for range in [
        [a, b + 2, c, d],
        [a, b, c, d + 1],
        [1, b, c, d],
        [a, b, b, c + d - b],
    ] {
        assert!(
            matches!(resume(&kept, range), Err(Error::Structure(_))),
            "{range:?}"
        );
    }
    // A signed document is no longer a prepared one.
    assert!(resume(&signed, prepared.byte_range).is_err());
}

/// How many signatures of `pdf` are intact.
fn check_integrity(pdf: &[u8]) -> usize {
    let doc = kyso_pdf::Document::open(
        Arc::new(MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap();
    kyso_pades::verify::verify_document(&doc)
        .unwrap()
        .iter()
        .filter(|s| s.is_intact())
        .count()
}

/// Everything written by a subscriber, for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_phase_has_its_span_and_no_secret_or_content_is_logged() {
    let net = Arc::new(FakeNet::new());
    let signer = pki().signer("personal");
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let pdf = two_page_pdf();
    let signed = tracing::subscriber::with_default(subscriber, || {
        sign_at_level(
            Arc::new(MemSource::new(pdf.clone())),
            Level::BLta,
            &level_opts(&net),
            &signer,
            None,
            Some(net.as_ref()),
            T0,
        )
        .unwrap()
        .to_vec()
        .unwrap()
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    for span in [
        "sign_document",
        "prepare",
        "digest",
        "sign",
        "signature_timestamp",
        "timestamp",
        "extend",
        "ltv_collect",
        "dss_update",
        "document_timestamp",
    ] {
        assert!(
            text.contains(&format!("{span}:")) || text.contains(&format!("{span}{{")),
            "no span {span}:\n{text}"
        );
    }
    assert!(text.contains("tsa=http://tsa.test/"), "{text}");
    // No password, no document content.
    assert!(!text.contains(PASSWORD));
    assert!(!text.contains("Hello"), "document text logged");
    assert!(signed.len() > pdf.len());
}

// ---------------------------------------------------------------------------------------------
// The server's upload check (issue 17) with agents set to B-LT and B-LTA: the signature is
// followed by its validation data (DSS + VRI) and, at B-LTA, a document timestamp. Those are
// accepted with the signature, and nothing else that an update could carry along with them.

use kyso_pades::numbering;
use kyso_pades::upload::{check_upload, ExpectedSignature, Step, UploadRefusal};
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, Limits, Object, Stream, StreamData};

/// The demo PKI's certificate `name` (`personal`, `organization`).
fn demo_cert(name: &str) -> Cert {
    let pem = std::fs::read(pki().dir.join(format!("{name}.pem"))).unwrap();
    Cert::from_pem_chain(&pem).unwrap().remove(0)
}

/// `base` signed by the demo PKI's `name` at `level`, the services answered by `net`.
fn signed_at(
    base: &[u8],
    level: Level,
    opts: &SignOptions,
    name: &str,
    net: &Arc<FakeNet>,
) -> Vec<u8> {
    sign_at_level(
        Arc::new(MemSource::new(base.to_vec())),
        level,
        opts,
        &pki().signer(name),
        None,
        Some(net.as_ref()),
        T0,
    )
    .unwrap()
    .to_vec()
    .unwrap()
}

const NUMBER: &str = "15/QĐ-SKHCN";

fn seal_step() -> Step {
    Step::Seal {
        number: Some(NUMBER.into()),
        date: Some(T0.date()),
    }
}

#[test]
fn uploads_from_agents_at_b_lt_and_b_lta_are_accepted_at_each_step() {
    let net = Arc::new(FakeNet::new());
    let (formatted, _) = numbering::place_fields_bytes(&two_page_pdf()).unwrap();
    let personal = ExpectedSignature::new(vec![demo_cert("personal")], Step::Personal);
    let seal = ExpectedSignature::new(vec![demo_cert("organization")], seal_step());
    for level in [Level::BLt, Level::BLta] {
        // The official's agent certifies the draft (P=2) at the level.
        let opts = numbering::personal_certification(level_opts(&net));
        let signed = signed_at(&formatted, level, &opts, "personal", &net);
        let ok =
            check_upload(&formatted, &signed, &personal).unwrap_or_else(|e| panic!("{level}: {e}"));
        assert_eq!(ok.certified, Some(2), "{level}");
        assert!(
            ok.changes.contains(&"DSS_UPDATE"),
            "{level}: {:?}",
            ok.changes
        );
        assert_eq!(
            ok.changes.contains(&"DOC_TIMESTAMP"),
            level == Level::BLta,
            "{level}: {:?}",
            ok.changes
        );
        assert!(ok.revisions_added >= 2, "{level}: {}", ok.revisions_added);

        // The clerk's agent fills the number and date and seals at the same level.
        let filled = numbering::fill_bytes(&signed, NUMBER, T0.date()).unwrap();
        let org = numbering::organization_signature(level_opts(&net));
        let sealed = signed_at(&filled, level, &org, "organization", &net);
        let ok = check_upload(&signed, &sealed, &seal).unwrap_or_else(|e| panic!("{level}: {e}"));
        assert!(ok.changes.contains(&"FORM_FILLING"), "{level}");
        assert!(ok.changes.contains(&"DSS_UPDATE"), "{level}");
        let issued = ok.numbering.unwrap();
        assert_eq!(issued.date, Some(T0.date()), "{level}");
        // Both signatures stand offline, with their validation data.
        assert_eq!(check_offline(&sealed).verdict, Verdict::Valid, "{level}");
    }
}

/// `signed` plus one update that adds a DSS holding the signer's certificate and, when
/// `tamper`, also redefines the first page's content stream.
fn with_dss_update(signed: &[u8], tamper: bool) -> Vec<u8> {
    let doc = Document::open(Arc::new(MemSource::new(signed.to_vec())), Limits::default()).unwrap();
    let mut u = IncrementalUpdate::new(&doc);
    let cert = u.add(Object::Stream(Stream {
        dict: Dict::new(),
        data: StreamData::Owned(demo_cert("personal").der().to_vec()),
    }));
    let mut dss = Dict::new();
    dss.set("Certs", Object::Array(vec![Object::Ref(cert)]));
    let dss = u.add(Object::Dict(dss));
    let mut catalog = doc.catalog().unwrap();
    catalog.set("DSS", Object::Ref(dss));
    u.set(doc.catalog_ref().unwrap(), Object::Dict(catalog));
    if tamper {
        let page = doc.pages().unwrap().remove(0);
        let Some(Object::Ref(contents)) = page.dict.get("Contents").cloned() else {
            panic!("page without a content reference")
        };
        u.set(
            contents,
            Object::Stream(Stream {
                dict: Dict::new(),
                data: StreamData::Owned(b"BT /F1 12 Tf 72 720 Td (Noi dung khac) Tj ET".to_vec()),
            }),
        );
    }
    let (bytes, _) = u.serialize(signed.len() as u64).unwrap();
    [signed.to_vec(), bytes].concat()
}

#[test]
fn what_rides_along_with_the_validation_data_is_refused() {
    let net = Arc::new(FakeNet::new());
    let (formatted, _) = numbering::place_fields_bytes(&two_page_pdf()).unwrap();
    let personal = ExpectedSignature::new(vec![demo_cert("personal")], Step::Personal);
    let opts = numbering::personal_certification(level_opts(&net));
    let signed = signed_at(&formatted, Level::BT, &opts, "personal", &net);

    // A DSS update after the signature alone passes; the same update also changing the page's
    // content does not.
    check_upload(&formatted, &with_dss_update(&signed, false), &personal).unwrap();
    match check_upload(&formatted, &with_dss_update(&signed, true), &personal).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, .. } => {
            assert!(codes.contains(&"PAGE_CONTENT_CHANGED"), "{codes:?}")
        }
        e => panic!("{e:?}"),
    }

    // A second signature where the document timestamp would go: two signatures, refused.
    let lt = signed_at(&formatted, Level::BLt, &opts, "personal", &net);
    let twice = signed_at(&lt, Level::BB, &level_opts(&net), "personal", &net);
    assert_eq!(
        check_upload(&formatted, &twice, &personal).unwrap_err(),
        UploadRefusal::TooManySignatures(2)
    );

    // Form filling after the signature (the number slipped in with the validation data).
    let late_fill = numbering::fill_bytes(&lt, NUMBER, T0.date()).unwrap();
    assert!(matches!(
        check_upload(&formatted, &late_fill, &personal).unwrap_err(),
        UploadRefusal::DisallowedChange { .. }
    ));

    // A document timestamp alone is no signature; one before the signature is refused too.
    let tsa = HttpTsa::new(net.clone(), "http://tsa.test/");
    let stamped = kyso_pades::ltv::document_timestamp(
        &kyso_pades::Updated::from_source(Arc::new(MemSource::new(formatted.clone()))),
        &level_opts(&net),
        &tsa,
    )
    .unwrap()
    .to_vec()
    .unwrap();
    assert_eq!(
        check_upload(&formatted, &stamped, &personal).unwrap_err(),
        UploadRefusal::NotASignature
    );
    let approval = numbering::personal_signature(level_opts(&net));
    let stamped_then_signed = signed_at(&stamped, Level::BB, &approval, "personal", &net);
    match check_upload(&formatted, &stamped_then_signed, &personal).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, .. } => {
            assert_eq!(codes, ["DOC_TIMESTAMP"])
        }
        e => panic!("{e:?}"),
    }
}
