//! The one validation of an uploaded or stored PDF's signatures behind the document page, the
//! public verification page (`/kiem-tra`) and `POST /api/v1/verify`: `kyso verify`'s
//! validator, the server's clock and trust anchors, offline, off the async threads and bounded
//! by [`crate::rate_limit::VerifyLimits`].

use std::sync::Arc;

use kyso_pades::validate::{DocumentValidation, ValidateOptions};

use crate::auth::Lang;
use crate::AppState;

/// Why a file's signatures could not be checked at all.
#[derive(Debug)]
pub(crate) enum Unchecked {
    /// Not a PDF, or one whose structure cannot be read: the sentences of `kyso verify`
    /// (Vietnamese, English).
    Unreadable(String, String),
    /// No turn on the blocking threads within the wait.
    Busy,
    /// The validation task failed (logged).
    Server,
}

impl Unchecked {
    /// The reason in the reader's language.
    pub(crate) fn message(&self, lang: Lang) -> &str {
        match self {
            Unchecked::Unreadable(vi, en) => lang.pick(vi, en),
            Unchecked::Busy => lang.pick(
                "máy chủ đang bận kiểm tra các tệp khác; xin thử lại sau ít phút",
                "the server is busy checking other files; try again in a few minutes",
            ),
            Unchecked::Server => lang.pick(
                "lỗi máy chủ khi kiểm tra",
                "a server error during the check",
            ),
        }
    }
}

/// The one validation of a file's signatures behind the document page, the public page and
/// `POST /api/v1/verify`: `kyso verify`'s validator (`kyso_pades::validate`) at the server's
/// time against the server's trust anchors, offline (nothing fetched: revocation the file does
/// not carry is *indeterminate*, never a failure), on the blocking threads, at most
/// `VerifyLimits`' number at once. `name` is what the messages call the file.
pub(crate) async fn validate(
    st: &AppState,
    bytes: Vec<u8>,
    name: &str,
) -> Result<DocumentValidation, Unchecked> {
    validate_with(st, bytes, name, None).await
}

/// [`validate`], fetching what the file does not carry (revocation, missing CA certificates)
/// through `fetcher` when one is given (the incoming intake: online, cached).
pub(crate) async fn validate_with(
    st: &AppState,
    bytes: Vec<u8>,
    name: &str,
    fetcher: Option<Arc<dyn kyso_ltv::fetch::Fetch>>,
) -> Result<DocumentValidation, Unchecked> {
    let src: Arc<dyn kyso_pdf::Source> = Arc::new(kyso_pdf::MemSource::new(bytes));
    validate_source(st, src, name, fetcher).await
}

/// [`validate_with`] over any byte source: a file streamed to disk is read where it lies
/// (`kyso_pdf::FileSource`, positional reads), never loaded whole — the engine reads the
/// objects it needs and hashes the byte ranges streaming.
pub(crate) async fn validate_source(
    st: &AppState,
    src: Arc<dyn kyso_pdf::Source>,
    name: &str,
    fetcher: Option<Arc<dyn kyso_ltv::fetch::Fetch>>,
) -> Result<DocumentValidation, Unchecked> {
    let _turn = st
        .verify_limits
        .validation()
        .await
        .map_err(|_| Unchecked::Busy)?;
    let mut opts = ValidateOptions::new((*st.trust).clone(), st.now());
    opts.fetcher = fetcher;
    match tokio::task::spawn_blocking(move || kyso_pades::validate::validate(src, &opts)).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            let ue = kyso_i18n::catalogue::verify(std::path::Path::new(name), &e);
            Err(Unchecked::Unreadable(ue.vi, ue.en))
        }
        Err(e) => {
            tracing::error!(error = %e, "the verification task failed");
            Err(Unchecked::Server)
        }
    }
}

/// The name of an uploaded file as sent, without folders, at most 120 characters
/// (`fallback` when none): what the reports call it.
pub(crate) fn upload_name(sent: &str, fallback: &str) -> String {
    let base = sent.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() {
        return fallback.to_owned();
    }
    base.chars().take(120).collect()
}

/// [`validate`] of an upload streamed to a temporary file (`staged`, see
/// [`crate::multipart::BlobSink`]): read where it lies, never loaded whole. The file is
/// removed when `staged` is dropped.
pub(crate) async fn validate_staged(
    st: &AppState,
    staged: &kyso_store::blobs::StagedBlob,
    name: &str,
) -> Result<DocumentValidation, Unchecked> {
    let src = kyso_pdf::FileSource::open(staged.path()).map_err(|e| {
        tracing::error!(error = %e, "a staged upload could not be reopened");
        Unchecked::Server
    })?;
    validate_source(st, Arc::new(src), name, None).await
}

/// The reports of stored versions the document page made, by the version's SHA-256: a
/// version's bytes never change (blobs are named by their hash and re-hashed on reading), the
/// trust anchors are the process's (a new [`crate::AppState::with_trust_anchors`] starts a new
/// cache), so what can change a report is only time — the claimed signing time is accepted
/// only while the signer's certificate is valid at the validation time. An entry is reused
/// until [`ReportCache::valid_until`]; at most [`ReportCache::CAPACITY`] are kept (the oldest
/// made goes first). Each holds the `kyso.verify/1` document, the form a stored arrival report
/// has.
#[derive(Debug, Default)]
pub(crate) struct ReportCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedReport>>,
}

#[derive(Debug)]
struct CachedReport {
    report: serde_json::Value,
    until: time::OffsetDateTime,
    made: time::OffsetDateTime,
}

impl ReportCache {
    /// Most reports kept.
    pub(crate) const CAPACITY: usize = 512;
    /// Longest a report is reused.
    pub(crate) const LIFETIME: time::Duration = time::Duration::hours(1);

    /// The report kept for `sha256`, while it is still current at `now`.
    pub(crate) fn get(&self, sha256: &str, now: time::OffsetDateTime) -> Option<serde_json::Value> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let current = entries
            .get(sha256)
            .map(|e| now < e.until && now >= e.made)?;
        if !current {
            entries.remove(sha256);
            return None;
        }
        entries.get(sha256).map(|e| e.report.clone())
    }

    /// Keep `report`, made at `now`, for `sha256` until `until`.
    pub(crate) fn put(
        &self,
        sha256: &str,
        report: serde_json::Value,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| now < e.until);
        if entries.len() >= Self::CAPACITY {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.made)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        entries.insert(
            sha256.to_owned(),
            CachedReport {
                report,
                until,
                made: now,
            },
        );
    }

    /// How long the validation `r` made at `now` stays current: [`Self::LIFETIME`], and never
    /// past the end of validity of a signer's certificate still valid now.
    pub(crate) fn valid_until(
        r: &DocumentValidation,
        now: time::OffsetDateTime,
    ) -> time::OffsetDateTime {
        r.signatures
            .iter()
            .filter_map(|s| s.signer.as_ref().map(|x| x.not_after))
            .filter(|t| *t > now)
            .fold(now + Self::LIFETIME, std::cmp::min)
    }
}
