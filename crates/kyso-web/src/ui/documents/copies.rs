//! The copies section of a document's page (issue 17 items 3 and 7): the copies made of an
//! issued document (SAO Y, SAO LỤC, TRÍCH SAO), each with its number in the copying agency's
//! series ("05/SY"), a download and the verification report of its signature; and, for the
//! clerk of the issuing agency, "Ký bản sao": the form and the place of its date line chosen,
//! one click through the signing service on the clerk's computer with a one-time ticket (VGCA
//! `SignCopy`: `crate::agent_files::issue_copy`, script `/static/kyso-sign.js`). The copy's
//! number is reserved with the ticket and shown on the stamp; the server checks the upload
//! (`crate::agent_files::check_and_sign_copy`) before the copy is recorded.

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use kyso_domain::documents::CopyForm;
use kyso_domain::roles::Role;
use kyso_services::report;

use super::verification::{render_report, Report};
use super::*;

/// Copies whose signature is checked on one page load (the newest ones).
const MAX_CHECKED: usize = 4;

/// The route of a copy's download.
pub(in crate::ui) fn routes() -> Router<AppState> {
    Router::new().route("/documents/{id}/copies/{copy_id}/file", get(file_download))
}

/// The section for `d`'s page: nothing when it has no copy and the reader cannot make one.
pub(in crate::ui) async fn section(st: &AppState, p: &Page, d: &docs::DocumentDetail) -> Markup {
    let doc = &d.document;
    let may_copy = matches!(doc.state, DocState::Registered | DocState::Dispatched)
        && p.actor
            .grants
            .iter()
            .any(|g| g.role == Role::Clerk && g.agency_id == doc.agency_id);
    if d.copies.is_empty() && !may_copy {
        return html! {};
    }
    // The pages and note of each TRÍCH SAO (`crate::extract_copies`).
    let extracts = match docs::copy_extracts(&st.store, doc.id).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(document = doc.id, error = %e, "cannot read the copies' extracts");
            Vec::new()
        }
    };
    let mut reports = Vec::new();
    for (i, c) in d.copies.iter().rev().enumerate() {
        let outcome = if i < MAX_CHECKED {
            Some(check(st, p, c).await)
        } else {
            None
        };
        reports.push((i == 0, c, outcome));
    }
    // The attachments section of a registered document shows the signing service's address
    // while an attachment is unsigned: one field per page.
    let address_shown = doc.state == DocState::Registered
        && docs::list_attachments(&st.store, &p.actor, doc.id)
            .await
            .is_ok_and(|l| l.iter().any(|a| !a.is_signed()));
    let lang = match p.lang {
        crate::auth::Lang::Vi => kyso_i18n::Lang::Vi,
        crate::auth::Lang::En => kyso_i18n::Lang::En,
    };
    let form_label = |f: CopyForm| match p.lang {
        crate::auth::Lang::Vi => f.label_vi(),
        crate::auth::Lang::En => f.label_en(),
    };
    html! {
        h2 style="font-size:18px" #copies { (p.t("Bản sao", "Copies")) }
        @if d.copies.is_empty() {
            p.muted { (p.t("Chưa có bản sao.", "No copies yet.")) }
        }
        @for (newest, c, outcome) in &reports {
            details open[*newest] style="margin-bottom:12px;max-width:820px" {
                summary {
                    strong { (c.form.stamp()) " — " (p.t("Số: ", "No. ")) (c.notation) }
                    " — " (time_text(c.created_at))
                    @if let Some(Ok(r)) = outcome { " — " (report::verdict_text(r.verdict(), lang)) }
                }
                p {
                    (form_label(c.form)) " · "
                    @if let Some(e) = extracts.iter().find(|e| e.copy_id == Some(c.id)) {
                        (p.t("Trích trang ", "Pages ")) (e.pages)
                        @if !e.note.is_empty() { " (" (e.note) ")" }
                        " · "
                    }
                    a href={ "/documents/" (doc.id) "/copies/" (c.id) "/file" }
                      aria-label={ (p.t("Tải về bản sao", "Download copy")) " " (c.notation) } {
                        (p.t("Tải về bản sao (PDF)", "Download the copy (PDF)")) }
                    " (" (c.size) " byte)"
                }
                @match outcome {
                    Some(Ok(r)) => { (render_report(p.lang, r)) }
                    Some(Err(msg)) => { p role="status" { strong { (p.t("Chưa kiểm tra được: ", "Could not be checked: ")) } (msg) } }
                    None => { p.hint { (p.t("Bản sao cũ hơn: tải về và kiểm tra bằng lệnh kyso verify.", "An older copy: download it and check it with kyso verify.")) } }
                }
            }
        }
        @if may_copy {
            section aria-labelledby="copy-sign" style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0;background:#fff;max-width:820px" {
                h3 style="font-size:16px;margin-top:0" #copy-sign { (p.t("Ký bản sao", "Sign a copy")) }
                p.hint #copy-sign-note { (p.t(
                    "Chọn hình thức sao và bấm Ký bản sao: máy chủ cấp số bản sao tiếp theo của cơ quan trong năm; dịch vụ ký trên máy này (kyso agent hoặc VGCA Sign Service) tải văn bản, hỏi mã PIN của token cơ quan, ký với mẫu chữ ký bản sao ghi hình thức sao, tên cơ quan, số bản sao, địa danh và ngày, rồi gửi về máy chủ. Máy chủ kiểm tra chữ ký và số trên dấu trước khi nhận. Số không dùng đến được trả lại khi phiếu ký hết hạn.",
                    "Choose the copy form and click Sign a copy: the server gives the agency's next copy number of the year; the signing service on this computer (kyso agent or the VGCA Sign Service) downloads the document, asks the PIN of the organization's token, signs with the copy stamp showing the form, the agency, the copy's number, the place and the date, and sends it back. The server checks the signature and the number on the stamp before accepting it. A number not used is given back when the ticket expires.")) }
                div.field {
                    label for="copy-form" { (p.t("Hình thức sao", "Copy form")) }
                    select #copy-form name="form" aria-describedby="copy-sign-note" {
                        @for f in CopyForm::ALL {
                            option value=(f.as_str()) { (f.stamp()) " — " (form_label(f)) }
                        }
                    }
                }
                div.field {
                    label for="copy-place" { (p.t("Địa danh (dòng ngày tháng)", "Place (of the date line)")) }
                    input #copy-place name="place" type="text" maxlength="100" value=(doc.meta.place) style="max-width:320px";
                }
                fieldset #copy-extract style="border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:0 0 12px;min-width:0;box-sizing:border-box;max-width:100%" {
                    legend { (p.t("Phần trích (chỉ với Trích sao)", "The extract (TRÍCH SAO only)")) }
                    div.field {
                        label for="copy-pages" { (p.t("Trang cần trích sao", "Pages to extract")) }
                        input #copy-pages name="pages" type="text" maxlength="200" placeholder="1-2,4" autocomplete="off"
                            aria-describedby="copy-pages-hint" style="max-width:200px";
                        div.hint #copy-pages-hint { (p.t(
                            "Số trang và khoảng trang, cách nhau bằng dấu phẩy, ví dụ 1-2,4. Máy chủ tạo phần trích gồm các trang này (không kèm chữ ký số, trường biểu mẫu hay mã lệnh của văn bản gốc); dịch vụ ký tải phần trích về và ký với dấu TRÍCH SAO và số bản sao.",
                            "Page numbers and ranges separated by commas, e.g. 1-2,4. The server makes the extract of these pages (without the original's signatures, form fields or scripts); the signing service downloads the extract and signs it with the TRÍCH SAO stamp and the copy's number.")) }
                    }
                    div.field {
                        label for="copy-note" { (p.t("Nội dung trích (không bắt buộc)", "What is extracted (optional)")) }
                        input #copy-note name="note" type="text" maxlength="500" autocomplete="off"
                            style="width:100%;max-width:480px;box-sizing:border-box";
                    }
                }
                p {
                    button.primary.sign-agent type="button" disabled
                        data-op=(crate::agent_files::COPY_OPERATION) data-action=(docs::SIGN_COPY)
                        data-agency=(doc.agency_id) data-copy-form="copy-form" data-copy-place="copy-place"
                        data-copy-pages="copy-pages" data-copy-note="copy-note"
                        data-status="sign-status-copy"
                        data-ticket={ "/documents/" (doc.id) "/sign-ticket" }
                        data-done={ "/documents/" (doc.id) "?done=copy#copies" }
                        data-csrf=(p.csrf)
                        aria-describedby="copy-sign-note sign-status-copy" { (p.t("Ký bản sao", "Sign a copy")) }
                }
                div.sign-status #sign-status-copy role="status" aria-live="polite" style="margin-bottom:8px" {}
                noscript { p.hint { (p.t(
                    "Trình duyệt không chạy JavaScript nên nút Ký bản sao không dùng được.",
                    "JavaScript is off, so the Sign a copy button cannot work.")) } }
                @if !address_shown {
                    (agent_address(p))
                }
                script src="/static/kyso-sign.js" defer {}
            }
        }
    }
}

/// The field of the signing service's address (the script reads and remembers it), unless the
/// page shows it already (the attachments section of a registered document does).
pub(in crate::ui) fn agent_address(p: &Page) -> Markup {
    html! {
        div.field #kyso-agent-address-copy {
            label for="kyso-agent-address" { (p.t("Địa chỉ dịch vụ ký trên máy này", "Signing service address on this computer")) }
            input #kyso-agent-address type="text" value="127.0.0.1:8987" inputmode="url" autocomplete="off" spellcheck="false"
                aria-describedby="kyso-agent-address-hint kyso-agent-address-error" style="max-width:240px";
            div.hint #kyso-agent-address-hint { (p.t(
                "Mặc định 127.0.0.1:8987 (kyso agent và VGCA Sign Service). Trình duyệt này ghi nhớ địa chỉ bạn nhập.",
                "127.0.0.1:8987 by default (kyso agent and the VGCA Sign Service). This browser remembers the address you type.")) }
            div.hint #kyso-agent-address-error role="alert" {}
        }
    }
}

/// The report of copy `c`: the server's for its SHA-256 when still current, else a validation
/// of its bytes (kept for the next load); an error as a sentence for the reader.
async fn check(st: &AppState, p: &Page, c: &docs::DocumentCopy) -> Result<Report, String> {
    let now = st.now();
    if let Some(r) = st
        .reports
        .get(&c.sha256, now)
        .and_then(|j| Report::from_json(&j))
    {
        return Ok(r);
    }
    let Some(blobs) = blobs(st) else {
        return Err(p
            .t(
                "máy chủ chưa có thư mục lưu tệp",
                "the server has no file folder",
            )
            .to_owned());
    };
    let bytes = match docs::copy_file(&st.store, &blobs, &p.actor, c.document_id, c.id).await {
        Ok((_, b)) => b,
        Err(e) => {
            tracing::warn!(copy = c.id, error = %e, "cannot read a copy to verify it");
            return Err(p
                .t(
                    "không đọc được tệp bản sao",
                    "the copy's file cannot be read",
                )
                .to_owned());
        }
    };
    match crate::verifier::validate(st, bytes, &c.file_name).await {
        Ok(r) => {
            let until = crate::verifier::ReportCache::valid_until(&r, now);
            st.reports
                .put(&c.sha256, report::to_json(&r, &c.file_name), now, until);
            Ok(Report::of(&r, &c.file_name))
        }
        Err(e) => Err(e.message(p.lang).to_owned()),
    }
}

/// Download a copy (re-hashed by the store before it is served).
async fn file_download(
    State(st): State<AppState>,
    p: Page,
    Path((id, copy_id)): Path<(i64, i64)>,
) -> Response {
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    match docs::copy_file(&st.store, &blobs, &p.actor, id, copy_id).await {
        Ok((c, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", pdf_name(&c.file_name)),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refusal(&p, e),
    }
}
