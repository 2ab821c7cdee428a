//! The attachments section of a document's page (issue 17 item 7): the attachments in order,
//! each title a link to its latest file, with their versions and whether the clerk signed
//! them, and a warning when the attachments the metadata lists and the files uploaded differ;
//! the drafter's form to add one (a PDF) while drafting; once the document is
//! organization-signed and before dispatch, the clerk's "Ký số" button per unsigned attachment
//! (one click through the signing service on the clerk's computer with a one-time ticket,
//! VGCA `SignAppendix`: `crate::agent_files`, script `/static/kyso-sign.js`) and, as the other
//! way, download → sign (Decree 30 attachment stamp, organization key: `kyso sign --form
//! attachment`) → upload. The rules and the upload check are the API's
//! (`crate::api::attachments::check_and_sign`, `kyso_store::documents`).

use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;

use super::*;

/// The routes of this section's forms and downloads.
pub(in crate::ui) fn routes() -> Router<AppState> {
    Router::new()
        .route("/documents/{id}/attachments", post(add_submit))
        .route(
            "/documents/{id}/attachments/{attachment_id}/signed",
            post(signed_submit),
        )
        .route(
            "/documents/{id}/attachments/{attachment_id}/file",
            get(file_download),
        )
        .merge(super::copies::routes())
}

/// Whether the actor holds the duty of `state` for `doc` (the store decides again).
fn holds_duty(actor: &Actor, doc: &docs::Document, state: DocState) -> bool {
    let duty = state.duty();
    actor.can(Permission::ReadDocuments, &doc.agency_path)
        && actor.grants.iter().any(|g| {
            duty.granted_by(
                g.role,
                g.agency_id == doc.agency_id,
                doc.agency_path.starts_with(g.path.as_str()),
            )
        })
}

/// The section for `doc`'s page (nothing when it has no attachment and none can be added).
pub(in crate::ui) async fn section(st: &AppState, p: &Page, doc: &docs::Document) -> Markup {
    let list = match docs::list_attachments(&st.store, &p.actor, doc.id).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(document = doc.id, error = %e, "attachments not listed");
            Vec::new()
        }
    };
    let may_add = matches!(doc.state, DocState::Draft | DocState::Returned)
        && holds_duty(&p.actor, doc, DocState::Draft);
    let may_sign = matches!(doc.state, DocState::OrgSigned | DocState::Registered)
        && holds_duty(&p.actor, doc, DocState::OrgSigned);
    if list.is_empty() && !may_add {
        return html! {};
    }
    let (unlisted, missing) = title_mismatch(&doc.meta.attachments, &list);
    let kind_label = |k: docs::AttachmentVersionKind| match k {
        docs::AttachmentVersionKind::Draft => p.t("Bản tải lên", "As uploaded"),
        docs::AttachmentVersionKind::OrgSigned => p.t("Đã ký số cơ quan", "Organization-signed"),
    };
    html! {
        h2 style="font-size:18px" #attachments { (p.t("Phụ lục kèm theo", "Attachments")) }
        @if list.is_empty() {
            p.muted { (p.t("Chưa có phụ lục.", "No attachments yet.")) }
        }
        @if !unlisted.is_empty() || !missing.is_empty() {
            div.alert.warning role="status" #attachments-mismatch style="background:#fff8c5;border-color:#d4a72c" {
                (p.t("Phụ lục ghi trong thông tin văn bản và các tệp phụ lục đã tải lên không khớp nhau.",
                     "The attachments listed in the document's metadata and the attachment files uploaded do not match."))
                @if !missing.is_empty() {
                    br; (p.t("Có trong thông tin văn bản nhưng chưa có tệp: ", "Listed but no file uploaded: "))
                    (missing.join("; "))
                }
                @if !unlisted.is_empty() {
                    br; (p.t("Đã tải tệp lên nhưng không có trong thông tin văn bản: ", "Uploaded but not listed: "))
                    (unlisted.join("; "))
                }
            }
        }
        @if !list.is_empty() {
            div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Phụ lục kèm theo", "Attachments")) {
            table style="max-width:820px" { thead { tr {
                th scope="col" { "#" } th scope="col" { (p.t("Tên phụ lục", "Title")) }
                th scope="col" { (p.t("Trạng thái", "State")) } th scope="col" { (p.t("Phiên bản", "Versions")) }
            } } tbody { @for a in &list { tr {
                td { (a.position) }
                td { @if let Some(v) = a.latest() {
                        a href={ "/documents/" (doc.id) "/attachments/" (a.id) "/file?seq=" (v.seq) }
                          title=(p.t("Tải về bản mới nhất", "Download the latest file")) { (a.title) }
                     } @else { (a.title) } }
                td { @if a.is_signed() { strong { (p.t("Đã ký số cơ quan", "Organization-signed")) } }
                     @else { (p.t("Chưa ký số cơ quan", "Not yet signed")) } }
                td { @for v in &a.versions {
                    a href={ "/documents/" (doc.id) "/attachments/" (a.id) "/file?seq=" (v.seq) }
                      aria-label={ (p.t("Tải về phụ lục", "Download attachment")) " " (a.position) ", " (kind_label(v.kind)) } {
                        (kind_label(v.kind)) }
                    " (" (v.size) " byte, " (time_text(v.created_at)) ")" br;
                } }
            } } } }
            }
        }
        @if may_sign {
            @for a in list.iter().filter(|a| !a.is_signed()) {
                section aria-labelledby={ "attachment-sign-" (a.id) } style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0;background:#fff" {
                    h3 style="font-size:16px;margin-top:0" id={ "attachment-sign-" (a.id) } {
                        (p.t("Ký số cơ quan phụ lục", "Sign attachment")) " " (a.position) ": " (a.title) }
                    @let status_id = format!("sign-status-attachment-{}", a.id);
                    @let note_id = format!("sign-note-attachment-{}", a.id);
                    p.hint id=(note_id) { (p.t(
                        "Bấm Ký số: dịch vụ ký trên máy này (kyso agent hoặc VGCA Sign Service) tải phụ lục, hỏi mã PIN của token cơ quan, ký với mẫu chữ ký phụ lục ghi số, ký hiệu văn bản và gửi tệp về máy chủ. Máy chủ kiểm tra chữ ký và số trên dấu trước khi nhận.",
                        "Click Sign: the signing service on this computer (kyso agent or the VGCA Sign Service) downloads the attachment, asks the PIN of the organization's token, signs with the attachment stamp showing the document's number and sends the file to the server, which checks the signature and the number on the stamp before accepting it.")) }
                    p {
                        button.primary.sign-agent type="button" disabled
                            data-op=(crate::agent_files::APPENDIX_OPERATION) data-action=(docs::SIGN_APPENDIX)
                            data-attachment=(a.id) data-status=(status_id)
                            data-ticket={ "/documents/" (doc.id) "/sign-ticket" }
                            data-done={ "/documents/" (doc.id) "?done=attachment_sign#attachments" }
                            data-csrf=(p.csrf)
                            aria-describedby={ (note_id) " " (status_id) } { (p.t("Ký số", "Sign")) " " (p.t("phụ lục", "attachment")) " " (a.position) }
                    }
                    div.sign-status id=(status_id) role="status" aria-live="polite" style="margin-bottom:8px" {}
                    h4 style="font-size:15px;margin:0 0 4px" { (p.t("Cách khác: tải về, ký bằng phần mềm ký số, rồi tải lên", "Another way: download, sign with your signing software, upload")) }
                    p.hint { (p.t(
                        "Tải về phụ lục, ký số bằng khóa của cơ quan với mẫu chữ ký số phụ lục (số văn bản và thời gian ký, theo Nghị định 30: kyso agent — thao tác SignAppendix, hoặc kyso sign --form attachment), không sửa nội dung, rồi tải tệp đã ký lên. Máy chủ kiểm tra đúng một chữ ký mới của chứng thư số cơ quan và không có thay đổi nào khác trước khi nhận.",
                        "Download the attachment, sign it with the agency's key using the attachment form (the document number and signing time, per Decree 30: kyso agent's SignAppendix, or kyso sign --form attachment), without changing its content, and upload the signed file. The server checks that exactly one new signature by the agency's organization certificate was added and nothing else changed before accepting it.")) }
                    p { a href={ "/documents/" (doc.id) "/attachments/" (a.id) "/file" } { (p.t("Tải về phụ lục cần ký (PDF)", "Download the attachment to sign (PDF)")) } }
                    form method="post" action={ "/documents/" (doc.id) "/attachments/" (a.id) "/signed" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(p.csrf);
                        @let fid = format!("attachment-signed-{}", a.id);
                        div.field {
                            label for=(fid) { (p.t("Tệp phụ lục đã ký số", "The signed attachment")) " *" }
                            input id=(fid) name="file" type="file" accept=".pdf,application/pdf" required;
                        }
                        button type="submit" { (p.t("Tải lên phụ lục đã ký", "Upload the signed attachment")) }
                    }
                }
            }
            @if list.iter().any(|a| !a.is_signed()) {
                noscript { p.hint { (p.t(
                    "Trình duyệt không chạy JavaScript nên nút Ký số không dùng được; hãy dùng cách tải về, ký, tải lên.",
                    "JavaScript is off, so the Sign button cannot work; use the download, sign, upload way.")) } }
                div.field {
                    label for="kyso-agent-address" { (p.t("Địa chỉ dịch vụ ký trên máy này", "Signing service address on this computer")) }
                    input #kyso-agent-address type="text" value="127.0.0.1:8987" inputmode="url" autocomplete="off" spellcheck="false"
                        aria-describedby="kyso-agent-address-hint kyso-agent-address-error" style="max-width:240px";
                    div.hint #kyso-agent-address-hint { (p.t(
                        "Mặc định 127.0.0.1:8987 (kyso agent và VGCA Sign Service). Trình duyệt này ghi nhớ địa chỉ bạn nhập.",
                        "127.0.0.1:8987 by default (kyso agent and the VGCA Sign Service). This browser remembers the address you type.")) }
                    div.hint #kyso-agent-address-error role="alert" {}
                }
                script src="/static/kyso-sign.js" defer {}
            }
        }
        @if may_add {
            form method="post" action={ "/documents/" (doc.id) "/attachments" } enctype="multipart/form-data" style="margin:12px 0" {
                input type="hidden" name="csrf" value=(p.csrf);
                div.field {
                    label for="attachment-title" { (p.t("Tên phụ lục", "Title")) }
                    input id="attachment-title" name="title" type="text" maxlength="500" style="width:100%;max-width:480px"
                        aria-describedby="attachment-title-hint";
                    div.hint #attachment-title-hint { (p.t("Để trống: dùng tên tệp.", "Empty: the file's name.")) }
                }
                div.field {
                    label for="attachment-file" { (p.t("Tệp phụ lục (PDF)", "The attachment (PDF)")) " *" }
                    input id="attachment-file" name="file" type="file" accept=".pdf,application/pdf" required;
                }
                button type="submit" { (p.t("Thêm phụ lục", "Add the attachment")) }
            }
        }
    }
}

/// The attachments the metadata lists that have no uploaded file, and the uploaded ones the
/// metadata does not list (titles compared without case, spacing or diacritics; the same
/// title twice counts twice).
fn title_mismatch(
    listed: &[kyso_domain::documents::meta::Attachment],
    uploaded: &[docs::Attachment],
) -> (Vec<String>, Vec<String>) {
    let key = |t: &str| kyso_domain::text::fold(t);
    let mut open: Vec<(String, &str)> = listed
        .iter()
        .map(|a| (key(&a.title), a.title.as_str()))
        .collect();
    let mut unlisted = Vec::new();
    for a in uploaded {
        let k = key(&a.title);
        match open.iter().position(|(o, _)| *o == k) {
            Some(i) => {
                open.remove(i);
            }
            None => unlisted.push(a.title.clone()),
        }
    }
    let missing = open.into_iter().map(|(_, t)| t.to_owned()).collect();
    (unlisted, missing)
}

/// A refusal on the document's page: the message and the way back to it.
fn refused(p: &Page, id: i64, e: crate::ApiError) -> Response {
    let title = p.t("Không thực hiện được", "Could not be done");
    let mut res = layout(
        p,
        title,
        html! {
            h1 { (title) }
            div.alert.error role="alert" { (e.message(p.lang)) }
            p { a href={ "/documents/" (id) "#attachments" } { (p.t("← Về văn bản", "← Back to the document")) } }
        },
    );
    *res.status_mut() = e.status;
    res
}

/// The multipart form of this section, its CSRF token checked and document `id` within the
/// reader's reach.
async fn section_form(st: &AppState, p: &Page, id: i64, mp: Multipart) -> Result<Fields, Response> {
    let fields = match read_multipart(mp, crate::MAX_UPLOAD).await {
        Ok(f) => f,
        Err(e) => return Err(unreadable(p, e)),
    };
    if let Some(r) = p.csrf_refusal(&text(&fields, "csrf")) {
        return Err(r);
    }
    if let Err(e) = docs::get_document(&st.store, &p.actor, id).await {
        return Err(refusal(p, e));
    }
    Ok(fields)
}

fn no_file(p: &Page, id: i64) -> Response {
    refused(
        p,
        id,
        invalid("file", "Hãy chọn tệp PDF.", "Choose the PDF file.").into(),
    )
}

/// Add an attachment (the drafter, while drafting).
async fn add_submit(State(st): State<AppState>, p: Page, Id(id): Id, mp: Multipart) -> Response {
    let fields = match section_form(&st, &p, id, mp).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some((bytes, name)) = file(&fields, "file") else {
        return no_file(&p, id);
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let input = docs::NewAttachment {
        title: text(&fields, "title"),
        file_name: pdf_name(name),
        file: bytes.to_vec(),
    };
    match docs::add_attachment(&st.store, &blobs, &p.actor, id, &input, st.now()).await {
        Ok(_) => {
            Redirect::to(&format!("/documents/{id}?done=attachment#attachments")).into_response()
        }
        Err(e) => refused(&p, id, e.into()),
    }
}

/// Upload the clerk's signed attachment (checked by the server before it is accepted).
async fn signed_submit(
    State(st): State<AppState>,
    p: Page,
    Path((id, attachment_id)): Path<(i64, i64)>,
    mp: Multipart,
) -> Response {
    let fields = match section_form(&st, &p, id, mp).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some((bytes, name)) = file(&fields, "file") else {
        return no_file(&p, id);
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    match crate::api::attachments::check_and_sign(
        &st.store,
        &blobs,
        &st.metrics,
        &p.actor,
        id,
        attachment_id,
        &pdf_name(name),
        bytes.to_vec(),
        st.now(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done=attachment_sign#attachments"))
            .into_response(),
        Err(e) => refused(&p, id, e),
    }
}

#[derive(Deserialize)]
struct FileQuery {
    seq: Option<i64>,
}

/// Download a version of an attachment (re-hashed by the store before it is served).
async fn file_download(
    State(st): State<AppState>,
    p: Page,
    Path((id, attachment_id)): Path<(i64, i64)>,
    Query(q): Query<FileQuery>,
) -> Response {
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    match docs::attachment_file(&st.store, &blobs, &p.actor, id, attachment_id, q.seq).await {
        Ok((_, v, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", pdf_name(&v.file_name)),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refusal(&p, e),
    }
}
