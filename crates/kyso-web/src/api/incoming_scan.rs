//! The scan check of an incoming paper document (issue 18 item 1, "scans carry their copy
//! stamp"): `GET /api/v1/incoming/{id}/scan-check` runs `kyso_pades::scan_check` — Decree 30's
//! format of a digitised copy: PDF ≥ 1.4, each page a scan of at least 200 dpi computed from
//! its images, colour — on the stored scan, byte for byte as uploaded, so that the clerk knows
//! before digitising it (signing it as an electronic copy, SAO Y, with the agency's
//! organization certificate) whether it must be scanned again. Whoever may read the incoming
//! document may run it (the store's `incoming_file` checks); nothing is stored; a document not
//! uploaded as a scan is answered 409.

use axum::extract::State;
use axum::Json;
use kyso_pades::format_check::Severity;
use kyso_pades::scan_check::{self, ScanReport};
use kyso_store::incoming as inc;
use serde::Serialize;
use utoipa::ToSchema;

use super::documents::blobs;
use super::{ApiResult, Id};
use crate::auth::Auth;
use crate::{ApiError, AppState};

/// One page of the scan.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScanPageOut {
    /// 1-based.
    pub page: usize,
    /// Displayed size in millimetres.
    pub width_mm: f64,
    pub height_mm: f64,
    /// The page's resolution in dots per inch (computed from its images); `null`: no scanned
    /// image on the page.
    pub dpi: Option<f64>,
    /// `colour`, `gray`, `black_white`; `null`: no scanned image on the page.
    pub colour: Option<String>,
}

/// One finding of the scan check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScanFindingOut {
    /// `error` (scan again before digitising) or `warning`.
    pub severity: String,
    /// `VERSION_TOO_OLD`, `NO_SCAN_IMAGE`, `LOW_RESOLUTION`, `NOT_COLOUR`, `GRAY_PAGE`,
    /// `UNUSUAL_PAGE_SIZE`, `NOT_PDF`, `ENCRYPTED`, `UNREADABLE`, `NO_PAGES`, `JAVASCRIPT`,
    /// `ADDITIONAL_ACTIONS`, `NOT_FULLY_CHECKED`.
    pub code: String,
    pub page: Option<usize>,
    pub message_vi: String,
    pub message_en: String,
}

/// The scan check of a scanned incoming document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScanCheckOut {
    pub incoming_id: i64,
    /// No errors: the scan has Decree 30's format of a digitised copy.
    pub passes: bool,
    /// The effective PDF version.
    pub version: Option<String>,
    pub page_count: usize,
    /// The lowest resolution over the scanned pages (dpi).
    pub lowest_dpi: Option<f64>,
    /// The least required resolution (200 dpi).
    pub min_dpi: f64,
    pub pages: Vec<ScanPageOut>,
    /// Errors first.
    pub findings: Vec<ScanFindingOut>,
}

impl ScanCheckOut {
    pub(crate) fn new(incoming_id: i64, r: &ScanReport) -> Self {
        ScanCheckOut {
            incoming_id,
            passes: r.passes(),
            version: r.version.clone(),
            page_count: r.page_count,
            lowest_dpi: r.lowest_dpi().map(|d| d.round()),
            min_dpi: scan_check::MIN_DPI,
            pages: r
                .pages
                .iter()
                .enumerate()
                .map(|(i, p)| ScanPageOut {
                    page: i + 1,
                    width_mm: (p.width_mm * 10.0).round() / 10.0,
                    height_mm: (p.height_mm * 10.0).round() / 10.0,
                    dpi: p.dpi.map(|d| d.round()),
                    colour: p.colour.map(|c| {
                        match c {
                            scan_check::ScanColour::Colour => "colour",
                            scan_check::ScanColour::Gray => "gray",
                            scan_check::ScanColour::BlackWhite => "black_white",
                        }
                        .to_owned()
                    }),
                })
                .collect(),
            findings: r
                .findings
                .iter()
                .map(|f| ScanFindingOut {
                    severity: match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    }
                    .to_owned(),
                    code: f.code.as_str().to_owned(),
                    page: f.page,
                    message_vi: f.vi.clone(),
                    message_en: f.en.clone(),
                })
                .collect(),
        }
    }
}

/// The scan check of incoming document `id` for its reader `actor`: the stored scan's report,
/// computed on the blocking threads (the API's and the incoming page's). 409 when it was not
/// uploaded as a scan.
pub(crate) async fn scan_check_of(
    st: &AppState,
    actor: &kyso_store::Actor,
    id: i64,
) -> Result<ScanCheckOut, ApiError> {
    let blobs = blobs(st)?;
    let (d, bytes) = inc::incoming_file(&st.store, &blobs, actor, id).await?;
    if !d.scanned {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            Some("scanned"),
            "Văn bản này không được tiếp nhận dưới dạng bản quét văn bản giấy.",
            "This document was not received as the scan of a paper document.",
        ));
    }
    let report = tokio::task::spawn_blocking(move || scan_check::check(&bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the scan check task failed");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
                "Lỗi máy chủ khi kiểm tra bản quét.",
                "A server error while checking the scan.",
            )
        })?;
    Ok(ScanCheckOut::new(id, &report))
}

/// The scan check of a scanned incoming document: Decree 30's format of a digitised copy (PDF
/// ≥ 1.4, pages scanned at ≥ 200 dpi, colour), page by page, with the findings in Vietnamese
/// and English. 409 for a document not uploaded as a scan.
#[utoipa::path(get, path = "/api/v1/incoming/{id}/scan-check", tag = "incoming", params(Id),
    responses((status = 200, description = "The scan check", body = ScanCheckOut),
              (status = 409, description = "Not a scan, or recalled by the sender", body = super::dto::ErrorBody)))]
pub(crate) async fn incoming_scan_check(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<ScanCheckOut>> {
    Ok(Json(scan_check_of(&st, &auth.actor, id).await?))
}
