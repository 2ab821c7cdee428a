//! TRÍCH SAO with the extract chosen by the clerk (issue 17 item 7, Decree 30 art. 25): the
//! pages ("1-2,4") and an optional note of what is extracted come with the copy's ticket
//! (`POST /documents/{id}/sign-ticket`, action `sign_copy`, form `trich_sao`) or with a copy
//! uploaded already signed (`POST /api/v1/documents/{id}/copies`). [`requested`] reads them and
//! builds the extract of the issued version with `kyso_pdf::extract` (a new PDF of those pages,
//! without the original's form, signatures or scripts; deterministic); the store keeps it as
//! the copy's base (`kyso_store::documents::issue_extract_ticket`).
//! Refused with a reason: no page, a list not understood, a page past the last, every page
//! (that is a SAO Y), pages with another form.

use std::sync::Arc;

use axum::http::StatusCode;
use kyso_domain::documents::CopyForm;
use kyso_pdf::extract::{extract_pages, ExtractLimits, PageSelection, SelectionError};
use kyso_store::documents as docs;
use kyso_store::Actor;

use crate::{ApiError, AppState};

fn invalid(field: &'static str, vi: impl Into<String>, en: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some(field),
        vi,
        en,
    )
}

/// Why a page list is refused, for the clerk.
pub(crate) fn selection_error(e: &SelectionError) -> ApiError {
    let (vi, en) = match e {
        SelectionError::Empty => (
            "Hãy ghi các trang cần trích sao, ví dụ 1-2,4.".to_owned(),
            "Name the pages to extract, e.g. 1-2,4.".to_owned(),
        ),
        SelectionError::TooLong { max } => (
            format!("Danh sách trang dài quá {max} ký tự."),
            format!("The page list is longer than {max} characters."),
        ),
        SelectionError::Syntax { at, .. } => (
            format!(
                "Không hiểu danh sách trang ở ký tự thứ {}: chỉ ghi số trang, dấu - cho một \
                 khoảng và dấu phẩy giữa các mục, ví dụ 1-2,4.",
                at + 1
            ),
            format!(
                "The page list is not understood at character {}: write page numbers, '-' for \
                 a range and commas between items, e.g. 1-2,4.",
                at + 1
            ),
        ),
        SelectionError::Zero => (
            "Trang được đánh số từ 1.".to_owned(),
            "Pages are numbered from 1.".to_owned(),
        ),
        SelectionError::TooLarge { page, .. } => (
            format!("Không có trang {page}."),
            format!("There is no page {page}."),
        ),
        SelectionError::Reversed { from, to } => (
            format!("Khoảng trang {from}-{to} viết ngược; hãy ghi {to}-{from}."),
            format!("The range {from}-{to} is backwards; write {to}-{from}."),
        ),
        SelectionError::OutOfRange { page, count } => (
            format!("Văn bản chỉ có {count} trang; không có trang {page}."),
            format!("The document has {count} pages; there is no page {page}."),
        ),
        _ => (
            "Danh sách trang không hợp lệ.".to_owned(),
            "The page list is not valid.".to_owned(),
        ),
    };
    invalid("pages", vi, en)
}

/// The extract a copy in `form` asks for: for TRÍCH SAO, the pages (required) and the note,
/// built from the issued version the clerk `actor` of agency `agency_id` may copy; for the
/// other forms nothing, and pages or a note are refused.
pub(crate) async fn requested(
    st: &AppState,
    actor: &Actor,
    id: i64,
    agency_id: i64,
    form: CopyForm,
    pages: Option<&str>,
    note: Option<&str>,
) -> Result<Option<docs::NewExtract>, ApiError> {
    let pages = pages.map(str::trim).filter(|p| !p.is_empty());
    let note = note.map(str::trim).unwrap_or_default();
    if form != CopyForm::TrichSao {
        if pages.is_some() || !note.is_empty() {
            return Err(invalid(
                "pages",
                "Chỉ bản trích sao (TRÍCH SAO) mới chọn trang; sao y và sao lục sao toàn văn.",
                "Only an extract copy (TRÍCH SAO) chooses pages; SAO Y and SAO LỤC copy the \
                 whole document.",
            ));
        }
        return Ok(None);
    }
    let selection =
        PageSelection::parse(pages.unwrap_or_default()).map_err(|e| selection_error(&e))?;
    if note.chars().count() > docs::MAX_EXTRACT_NOTE {
        return Err(invalid(
            "note",
            format!(
                "Ghi chú phần trích sao dài quá {} ký tự.",
                docs::MAX_EXTRACT_NOTE
            ),
            format!(
                "The note of the extract is longer than {} characters.",
                docs::MAX_EXTRACT_NOTE
            ),
        ));
    }
    let blobs = crate::api::documents::blobs(st)?;
    let (seq, source) = docs::copy_source(&st.store, &blobs, actor, id, agency_id).await?;
    let chosen = selection.clone();
    let base = tokio::task::spawn_blocking(move || build(source, &chosen))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "extract task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
                "Lỗi máy chủ.",
                "Server error.",
            )
        })??;
    tracing::info!(document = id, pages = %selection.spec(), size = base.len(), "extract built");
    Ok(Some(docs::NewExtract {
        pages: selection.spec(),
        note: note.to_owned(),
        source_seq: seq,
        base,
    }))
}

/// The extract of `source` (the issued version) made of `selection`'s pages.
fn build(source: Vec<u8>, selection: &PageSelection) -> Result<Vec<u8>, ApiError> {
    let unreadable = |e: kyso_pdf::Error| {
        tracing::warn!(error = %e, "cannot build an extract of the issued version");
        invalid(
            "pages",
            format!("Không tạo được phần trích từ văn bản: {e}"),
            format!("The extract cannot be made from the document: {e}"),
        )
    };
    let doc = kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(source)),
        kyso_pdf::Limits::default(),
    )
    .map_err(unreadable)?;
    let count = doc.pages().map_err(unreadable)?.len();
    selection.check(count).map_err(|e| selection_error(&e))?;
    if selection.is_all(count) {
        return Err(invalid(
            "pages",
            format!(
                "Các trang đã chọn là cả văn bản ({count} trang): hãy chọn hình thức Sao y để \
                 sao toàn văn."
            ),
            format!(
                "The pages chosen are the whole document ({count} pages): choose SAO Y to copy \
                 all of it."
            ),
        ));
    }
    extract_pages(&doc, selection, &ExtractLimits::default()).map_err(unreadable)
}
