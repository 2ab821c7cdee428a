//! The copies section of an incoming document's page (issue 18 item 1, issue 17 item 7): the
//! digitised copy of a scan and the copies made (SAO Y, SAO LỤC), each with its number in the
//! receiving agency's copy series, its verification verdict and its download; and for the
//! receiving agency's clerk, "Ký số bản số hóa" on a scan waiting for the clerk (a scan is
//! registered only once digitised) and "Ký bản sao" on a registered document — one click
//! through the signing service on the clerk's computer with a one-time ticket
//! (`POST /api/v1/incoming/{id}/copy-ticket`, `crate::incoming_copies`; script
//! `/static/kyso-sign.js`). A document delivered inside kyso is copied as the outgoing
//! document it is (the ticket route hands it to the document's copy, the receiving agency
//! copying; the copy is listed on that document's page).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kyso_domain::documents::CopyForm;
use kyso_domain::incoming::{Channel, IncomingState};
use kyso_domain::roles::Role;
use kyso_store::incoming::{self as inc, CopyPurpose};
use maud::{html, Markup};

use super::layout_store_error as refusal;
use super::{layout_error, Page};
use crate::AppState;

/// The success message of `?done=digitise` / `?done=copy`.
pub(super) fn done_message(p: &Page, done: &str) -> Option<String> {
    Some(
        match done {
            "digitise" => p.t(
                "Máy chủ đã kiểm tra và nhận bản số hóa đã ký số; báo cáo kiểm tra bên dưới là của bản số hóa. Bây giờ có thể vào sổ văn bản đến.",
                "The server checked and accepted the signed digitised copy; the report below is the digitised copy's. The document can now be registered.",
            ),
            "copy" => p.t(
                "Máy chủ đã kiểm tra và nhận bản sao đã ký số.",
                "The server checked and accepted the signed copy.",
            ),
            _ => return None,
        }
        .to_owned(),
    )
}

/// The section for `d`'s page: nothing when it has no copy and the reader can make none.
pub(super) async fn section(st: &AppState, p: &Page, d: &inc::Incoming) -> Markup {
    let copies = match inc::incoming_copies(&st.store, &p.actor, d.id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(incoming = d.id, error = %e, "cannot list an incoming document's copies");
            Vec::new()
        }
    };
    let clerk = p
        .actor
        .grants
        .iter()
        .any(|g| g.role == Role::Clerk && g.agency_id == d.agency_id);
    let digitised = copies.iter().any(|c| c.purpose == CopyPurpose::Digitised);
    let may_digitise = clerk && d.scanned && !digitised && d.state == IncomingState::Received;
    let may_copy = clerk
        && matches!(
            d.state,
            IncomingState::Registered
                | IncomingState::Assigned
                | IncomingState::InProgress
                | IncomingState::Completed
        );
    if copies.is_empty() && !may_digitise && !may_copy {
        return html! {};
    }
    // A document delivered inside kyso is copied as the outgoing document it is (the ticket
    // route hands it to the document's copy).
    let internal = d.channel == Channel::Internal && d.source_document_id.is_some();
    let form_label = |f: CopyForm| match p.lang {
        crate::auth::Lang::Vi => f.label_vi(),
        crate::auth::Lang::En => f.label_en(),
    };
    let verdict = |c: &inc::IncomingCopy| match p.lang {
        crate::auth::Lang::Vi => c.verdict.label_vi(),
        crate::auth::Lang::En => c.verdict.label_en(),
    };
    html! {
        section #copies aria-labelledby="copies-title" style="margin-bottom:12px;max-width:820px" {
            h3 #copies-title { (p.t("Bản số hóa và bản sao", "Digitised copy and copies")) }
            @if copies.is_empty() {
                p.muted { (p.t("Chưa có bản số hóa hay bản sao.", "No digitised copy or copy yet.")) }
            } @else {
                ul {
                    @for c in &copies {
                        li {
                            strong {
                                @if c.purpose == CopyPurpose::Digitised { (p.t("Bản số hóa", "Digitised copy")) } @else { (p.t("Bản sao", "Copy")) }
                                " — " (c.form.stamp()) " — " (p.t("Số: ", "No. ")) (c.notation)
                            }
                            " — " (verdict(c)) " · "
                            a href={ "/incoming/" (d.id) "/copies/" (c.id) "/file" }
                              aria-label={ (p.t("Tải về bản sao", "Download copy")) " " (c.notation) } {
                                (p.t("Tải về (PDF)", "Download (PDF)")) }
                            " (" (c.size) " byte)"
                        }
                    }
                }
            }
            @if may_digitise {
                div style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0;background:#fff" {
                    h4 style="margin-top:0" #digitise-sign { (p.t("Ký số bản số hóa", "Sign the digitised copy")) }
                    p.hint #digitise-note { (p.t(
                        "Bản quét văn bản giấy được số hóa bằng chữ ký số của cơ quan với dấu SAO Y (Nghị định 30) trước khi vào sổ. Máy chủ kiểm tra định dạng bản quét, cấp số bản sao tiếp theo của cơ quan; dịch vụ ký trên máy này tải bản quét, hỏi mã PIN token cơ quan, ký rồi gửi về. Máy chủ kiểm tra chữ ký và số trên dấu trước khi nhận; bản quét gốc được giữ nguyên.",
                        "A scanned paper document is digitised with the agency's organization signature and the SAO Y stamp (Decree 30) before it is registered. The server checks the scan's format and gives the agency's next copy number; the signing service on this computer downloads the scan, asks the PIN of the organization's token, signs and sends it back. The server checks the signature and the number on the stamp before accepting it; the original scan is kept as it is.")) }
                    input #digitise-form type="hidden" value="sao_y";
                    div.field {
                        label for="digitise-place" { (p.t("Địa danh (dòng ngày tháng)", "Place (of the date line)")) }
                        input #digitise-place type="text" maxlength="100" style="max-width:320px";
                    }
                    p {
                        button.primary.sign-agent type="button" disabled
                            data-op=(crate::agent_files::COPY_OPERATION) data-action=(crate::incoming_copies::DIGITISE)
                            data-copy-form="digitise-form" data-copy-place="digitise-place"
                            data-status="sign-status-digitise"
                            data-ticket={ "/api/v1/incoming/" (d.id) "/copy-ticket" }
                            data-done={ "/incoming/" (d.id) "?done=digitise#copies" }
                            data-csrf=(p.csrf)
                            aria-describedby="digitise-note sign-status-digitise" { (p.t("Ký số bản số hóa", "Sign the digitised copy")) }
                    }
                    div.sign-status #sign-status-digitise role="status" aria-live="polite" style="margin-bottom:8px" {}
                }
            }
            @if may_copy {
                div style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0;background:#fff" {
                    h4 style="margin-top:0" #incoming-copy-sign { (p.t("Ký bản sao", "Sign a copy")) }
                    p.hint #incoming-copy-note { (p.t(
                        "Chọn hình thức sao và bấm Ký bản sao: máy chủ cấp số bản sao tiếp theo của cơ quan trong năm (chung với bản sao văn bản đi); dịch vụ ký trên máy này ký với mẫu chữ ký bản sao ghi hình thức sao, tên cơ quan, số, địa danh và ngày. Số không dùng đến được trả lại khi phiếu ký hết hạn.",
                        "Choose the copy form and click Sign a copy: the server gives the agency's next copy number of the year (shared with its outgoing documents' copies); the signing service on this computer signs with the copy stamp showing the form, the agency, the number, the place and the date. A number not used is given back when the ticket expires.")) }
                    @if internal {
                        p.hint { (p.t(
                            "Văn bản này đến từ một văn bản đi trong hệ thống: bản sao được ghi ở trang văn bản đó.",
                            "This document came from an outgoing document inside kyso: the copy is listed on that document's page.")) }
                    }
                    div.field {
                        label for="incoming-copy-form" { (p.t("Hình thức sao", "Copy form")) }
                        select #incoming-copy-form aria-describedby="incoming-copy-note" {
                            @for f in [CopyForm::SaoY, CopyForm::SaoLuc] {
                                option value=(f.as_str()) { (f.stamp()) " — " (form_label(f)) }
                            }
                        }
                    }
                    div.field {
                        label for="incoming-copy-place" { (p.t("Địa danh (dòng ngày tháng)", "Place (of the date line)")) }
                        input #incoming-copy-place type="text" maxlength="100" style="max-width:320px";
                    }
                    p {
                        button.primary.sign-agent type="button" disabled
                            data-op=(crate::agent_files::COPY_OPERATION) data-action=(kyso_store::documents::SIGN_COPY)
                            data-copy-form="incoming-copy-form" data-copy-place="incoming-copy-place"
                            data-status="sign-status-incoming-copy"
                            data-ticket={ "/api/v1/incoming/" (d.id) "/copy-ticket" }
                            data-done={ "/incoming/" (d.id) "?done=copy#copies" }
                            data-csrf=(p.csrf)
                            aria-describedby="incoming-copy-note sign-status-incoming-copy" { (p.t("Ký bản sao", "Sign a copy")) }
                    }
                    div.sign-status #sign-status-incoming-copy role="status" aria-live="polite" style="margin-bottom:8px" {}
                }
            }
            @if may_digitise || may_copy {
                noscript { p.hint { (p.t(
                    "Trình duyệt không chạy JavaScript nên nút ký không dùng được.",
                    "JavaScript is off, so the signing buttons cannot work.")) } }
                (super::documents::agent_address(p))
                script src="/static/kyso-sign.js" defer {}
            }
        }
    }
}

/// Download a copy of an incoming document (re-hashed by the store before it is served).
pub(super) async fn file_download(
    State(st): State<AppState>,
    p: Page,
    Path((id, copy_id)): Path<(i64, i64)>,
) -> Response {
    let Some(blobs) = st.blobs.clone() else {
        return layout_error(
            &p,
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            p.t(
                "Máy chủ chưa có thư mục lưu tệp; xin báo quản trị hệ thống.",
                "The server has no file folder configured; tell the administrator.",
            ),
        );
    };
    match inc::incoming_copy_file(&st.store, &blobs, &p.actor, id, copy_id).await {
        Ok((c, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"ban-sao-{}-{}-{}.pdf\"",
                        c.form.abbreviation(),
                        c.year,
                        c.number
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refusal(&p, e),
    }
}
