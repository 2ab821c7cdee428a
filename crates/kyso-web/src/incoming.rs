//! Incoming documents on arrival (issue 18 items 1–2), the one path behind the API (and the
//! UI to come): every document taken in is verified first with the server's validator and
//! trust anchors — the same validator and labels as `kyso verify` and the document page
//! ([`crate::verifier`]), off the async threads — with revocation the file does not carry
//! fetched online through one cached fetcher for the process; its `kyso.verify/1` report and
//! the report's PDF rendering (`kyso_services::report_pdf`, Vietnamese) are kept with the
//! record by `kyso_store::incoming::intake`. A file that cannot be read as a signed PDF at all
//! arrives as *failed* with the reader's reason (`UNREADABLE`), so the clerk can only refuse it.
//!
//! Deliveries of outgoing documents to an agency of the registry arrive on the server's side,
//! never on a read: right after the dispatch commits, in the background
//! ([`arrive_after_dispatch`]), and at every round of `kyso serve`'s notice job
//! ([`arrive_pending`], so a delivery the dispatch's own arrival missed — the server stopped
//! in between — is taken in at the next round). Each is verified like any other arrival and
//! recorded with the dispatch's time, by the system (the audit log names `system`, as for the
//! notice job's scans); the store's unique delivery index makes a second attempt a no-op.

use std::sync::{Arc, OnceLock};

use kyso_domain::incoming::{Channel, IncomingAction, Verdict};
use kyso_i18n::Lang;
use kyso_ltv::fetch::{CacheOptions, CachingFetcher, Fetch, FetchOptions, HttpFetcher};
use kyso_store::blobs::StagedBlob;
use kyso_store::incoming::{self as inc, Incoming, NewIncoming, Verification};
use kyso_store::Actor;

use crate::verifier::{self, Unchecked};
use crate::{ApiError, AppState};

/// How long one revocation or certificate fetch may take on arrival.
const FETCH_TIMEOUT_SECS: u64 = 10;

/// The process's fetcher for arrivals: answers kept until their nextUpdate (and a day at most).
fn fetcher(st: &AppState) -> Arc<dyn Fetch> {
    static FETCHER: OnceLock<Arc<dyn Fetch>> = OnceLock::new();
    FETCHER
        .get_or_init(|| {
            let http = HttpFetcher::new(FetchOptions {
                timeout: std::time::Duration::from_secs(FETCH_TIMEOUT_SECS),
                ..FetchOptions::default()
            });
            Arc::new(CachingFetcher::with_clock(
                http,
                CacheOptions::default(),
                st.clock.clone(),
            ))
        })
        .clone()
}

/// A document arriving, before its verification.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub agency_id: i64,
    pub channel: Channel,
    pub scanned: bool,
    pub sender_code: String,
    pub sender_name: String,
    pub sender_email: String,
    pub number: String,
    pub notation: String,
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    pub file_name: String,
    pub file: Vec<u8>,
    pub delivery_id: Option<i64>,
}

/// Verify `bytes` on arrival: the verdict, its reasons, the `kyso.verify/1` report and its PDF.
pub(crate) async fn verify(
    st: &AppState,
    bytes: &[u8],
    name: &str,
) -> Result<Verification, ApiError> {
    let sha = kyso_services::report_pdf::sha256_hex(bytes).unwrap_or_default();
    let src = Arc::new(kyso_pdf::MemSource::new(bytes.to_vec()));
    verify_source(st, src, sha, name).await
}

/// [`verify`] of the file `src` whose SHA-256 (lowercase hex) is `sha`: a file streamed to the
/// blob folder is read there, never whole in memory.
pub(crate) async fn verify_source(
    st: &AppState,
    src: Arc<dyn kyso_pdf::Source>,
    sha: String,
    name: &str,
) -> Result<Verification, ApiError> {
    let name = if name.trim().is_empty() {
        "van-ban-den.pdf"
    } else {
        name
    };
    match verifier::validate_source(st, src, name, Some(fetcher(st))).await {
        Ok(r) => {
            let report = kyso_services::report::to_json(&r, name);
            let verdict = Verdict::from_report(r.verdict.as_str()).unwrap_or(Verdict::Failed);
            let report_pdf = {
                let r = r.clone();
                let name = name.to_owned();
                match tokio::task::spawn_blocking(move || {
                    kyso_services::report_pdf::render(&r, &name, &sha, Lang::Vi)
                })
                .await
                {
                    Ok(Ok(pdf)) => Some(pdf),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "the verification report's PDF could not be made");
                        None
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the report rendering task failed");
                        None
                    }
                }
            };
            Ok(Verification {
                verdict,
                reasons: r.reasons.iter().map(|s| (*s).to_owned()).collect(),
                report,
                report_pdf,
            })
        }
        Err(Unchecked::Unreadable(vi, en)) => Ok(Verification {
            verdict: Verdict::Failed,
            reasons: vec!["UNREADABLE".into()],
            report: serde_json::json!({
                "schema": "kyso.verify/1",
                "file": name,
                "verdict": "invalid",
                "reasons": ["UNREADABLE"],
                "error": {"vi": vi, "en": en},
                "signatures": [],
            }),
            report_pdf: None,
        }),
        Err(e @ (Unchecked::Busy | Unchecked::Server)) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            None,
            format!(
                "Chưa kiểm tra được chữ ký số: {}.",
                e.message(crate::auth::Lang::Vi)
            ),
            format!(
                "The signatures could not be checked: {}.",
                e.message(crate::auth::Lang::En)
            ),
        )),
    }
}

/// Take a document in: verified, then recorded by the store (duplicates refused there).
pub(crate) async fn take_in(
    st: &AppState,
    actor: &Actor,
    a: Arrival,
) -> Result<Incoming, ApiError> {
    let blobs = crate::api::documents::blobs(st)?;
    let verification = verify(st, &a.file, &a.file_name).await?;
    let input = new_incoming(a, verification);
    Ok(inc::intake(&st.store, &blobs, actor, &input, st.now()).await?)
}

/// [`take_in`] of a document that arrived as an edXML package (channel `edxml`): the record
/// and what the package said beyond it (`origin`, the whole `package`) kept in one
/// transaction (`kyso_store::incoming::intake_edxml`).
pub(crate) async fn take_in_edxml(
    st: &AppState,
    actor: &Actor,
    a: Arrival,
    origin: &inc::EdxmlOrigin,
    package: &[u8],
) -> Result<Incoming, ApiError> {
    let blobs = crate::api::documents::blobs(st)?;
    let verification = verify(st, &a.file, &a.file_name).await?;
    let input = new_incoming(a, verification);
    Ok(inc::intake_edxml(&st.store, &blobs, actor, &input, origin, package, st.now()).await?)
}

/// Take in a document streamed to the blob folder (`staged`, its bytes; `a.file` is not
/// read): verified where it lies, its streamed SHA-256 the record's, moved to its name only
/// when the store takes it in — refused, nothing of it stays.
pub(crate) async fn take_in_staged(
    st: &AppState,
    actor: &Actor,
    a: Arrival,
    staged: StagedBlob,
) -> Result<Incoming, ApiError> {
    let blobs = crate::api::documents::blobs(st)?;
    let src = kyso_pdf::FileSource::open(staged.path()).map_err(|e| {
        tracing::error!(error = %e, "a streamed arrival could not be reopened");
        server_error()
    })?;
    let verification =
        verify_source(st, Arc::new(src), staged.name().to_owned(), &a.file_name).await?;
    let input = new_incoming(a, verification);
    Ok(inc::intake_staged(&st.store, &blobs, actor, &input, staged, st.now()).await?)
}

fn server_error() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        None,
        "Lỗi máy chủ khi nhận tệp; văn bản chưa được tiếp nhận.",
        "A server error while receiving the file; the document was not taken in.",
    )
}

/// The request body `body`, streamed into a new blob of the folder while its SHA-256 is
/// computed, never whole in memory ([`crate::multipart::BlobSink`]): at most `max` bytes
/// (`Content-Length` above it is refused before a byte is read; a body growing past it is cut
/// off) — 413 then, with nothing left behind. The temporary file is written and flushed on the
/// blocking threads.
pub(crate) async fn receive_streamed(
    st: &AppState,
    body: axum::body::Body,
    declared: Option<u64>,
    max: u64,
) -> Result<StagedBlob, ApiError> {
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let blobs = crate::api::documents::blobs(st)?;
    match crate::multipart::BlobSink::receive(blobs, body, max).await {
        Ok(Ok(staged)) => Ok(staged),
        Ok(Err(kyso_store::blobs::BlobError::OverCap { max })) => Err(too_large(max)),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a streamed arrival could not be written");
            Err(server_error())
        }
        Err(e) => {
            tracing::info!(error = %e, "a streamed upload was cut off");
            Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "malformed",
                None,
                "Tệp gửi lên bị ngắt giữa chừng; chưa tiếp nhận gì, xin gửi lại.",
                "The upload was cut off; nothing was taken in, send it again.",
            ))
        }
    }
}

/// 413: the file is larger than the configured cap.
fn too_large(max: u64) -> ApiError {
    let mb = max / (1024 * 1024);
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        Some("file"),
        format!("Tệp quá lớn: văn bản đến gửi qua API tối đa {mb} MB (giới hạn do quản trị máy chủ đặt)."),
        format!("The file is too large: a document sent through the API is at most {mb} MB (a limit the server's administrator sets)."),
    )
}

/// The store's arrival from the web's and its verification.
fn new_incoming(a: Arrival, verification: Verification) -> NewIncoming {
    NewIncoming {
        agency_id: a.agency_id,
        channel: a.channel,
        scanned: a.scanned,
        sender_code: a.sender_code,
        sender_name: a.sender_name,
        sender_email: a.sender_email,
        number: a.number,
        notation: a.notation,
        doc_date: a.doc_date,
        doc_type: a.doc_type,
        subject: a.subject,
        signer: a.signer,
        file_name: a.file_name,
        file: a.file,
        verification,
        delivery_id: a.delivery_id,
    }
}

/// Most deliveries of one agency taken in by one pass (the rest by the next).
const ARRIVALS_PER_PASS: i64 = 50;

/// Most recipient agencies one pass of [`arrive_pending`] looks at (the rest at the next).
const AGENCIES_PER_PASS: i64 = 200;

/// Take in the deliveries not arrived yet — of document `document_id`, or all — as the system:
/// each verified and recorded once. Returns how many arrived. An agency whose deliveries cannot
/// be taken in now (the verifier busy, a store error) is logged and left for the next round.
pub async fn arrive_pending(st: &AppState, document_id: Option<i64>) -> usize {
    let agencies = match inc::agencies_with_pending_deliveries(
        &st.store,
        document_id,
        AGENCIES_PER_PASS,
    )
    .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "pending deliveries could not be read");
            return 0;
        }
    };
    let system = Actor::system();
    let mut arrived = 0;
    for agency in agencies {
        match arrive_deliveries(st, &system, agency).await {
            Ok(n) => arrived += n,
            Err(e) => {
                tracing::warn!(agency, error = %e.en, "deliveries could not arrive; next round")
            }
        }
    }
    if arrived > 0 {
        tracing::info!(arrived, "{arrived} delivered document(s) arrived");
    }
    arrived
}

/// Take step `action` on incoming document `id` (the UI's and the API's one way): once a
/// registration commits, the document is filed in the archive in the background.
pub(crate) async fn act(
    st: &AppState,
    actor: &Actor,
    id: i64,
    action: IncomingAction,
    step: &inc::IncomingStep,
) -> kyso_store::Result<inc::IncomingOutcome> {
    let out = inc::act_incoming(&st.store, actor, id, action, step, st.now()).await?;
    if action == IncomingAction::Register {
        crate::archive::file_soon(st);
    }
    Ok(out)
}

/// After the dispatch of document `document_id` has committed: its deliveries arrive in the
/// background (the clerk's answer does not wait for their verification). Whatever this misses
/// is taken in by the notice job's next round ([`arrive_pending`]).
pub(crate) fn arrive_after_dispatch(st: &AppState, document_id: i64) {
    let st = st.clone();
    tokio::spawn(async move {
        arrive_pending(&st, Some(document_id)).await;
    });
}

/// The deliveries to agency `agency_id` that have not arrived yet, each verified and taken in
/// by `actor` (the system). Returns how many arrived; a delivery taken in meanwhile by another
/// pass is skipped.
async fn arrive_deliveries(
    st: &AppState,
    actor: &Actor,
    agency_id: i64,
) -> Result<usize, ApiError> {
    let blobs = crate::api::documents::blobs(st)?;
    let pending =
        inc::pending_deliveries(&st.store, &blobs, actor, agency_id, ARRIVALS_PER_PASS).await?;
    let mut arrived = 0;
    for d in pending {
        let a = Arrival {
            agency_id,
            channel: Channel::Internal,
            scanned: false,
            sender_code: d.sender_code,
            sender_name: d.sender_name,
            sender_email: String::new(),
            number: d.number,
            notation: d.notation,
            doc_date: d.doc_date,
            doc_type: d.doc_type,
            subject: d.subject,
            signer: d.signer,
            file_name: d.file_name,
            file: d.file,
            delivery_id: Some(d.delivery_id),
        };
        match take_in(st, actor, a).await {
            Ok(_) => arrived += 1,
            Err(e)
                if e.status == axum::http::StatusCode::CONFLICT
                    && matches!(e.field, Some("file" | "number")) =>
            {
                // The agency already holds this document (taken in by another channel): the
                // outcome is recorded once and the delivery is not taken up again.
                let recorded = inc::record_undeliverable(
                    &st.store,
                    actor,
                    d.delivery_id,
                    agency_id,
                    "duplicate",
                    &e.vi,
                    &e.en,
                    st.now(),
                )
                .await?;
                if recorded {
                    tracing::info!(delivery = d.delivery_id, agency_id, reason = %e.en,
                        "a delivery cannot arrive: the agency already holds the document");
                }
            }
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
                tracing::debug!(delivery = d.delivery_id, "delivery already arrived");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(arrived)
}
