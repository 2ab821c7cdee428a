//! Outgoing documents in the web UI (issue 17 item 10): the "Chờ tôi xử lý" queue and the
//! agency's documents by state, the upload of a draft with its Decree 30 metadata, and the
//! document page (metadata, timeline, versions, comments, the steps the reader may take now).
//! The rules are `kyso_store::documents`'s, as for the REST API; every form carries the
//! session's CSRF token, a recall or the release of a number asks for confirmation first, and
//! every step ends with a success message.

use std::collections::HashMap;

use crate::multipart::FormError;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kyso_domain::documents::{
    DocAction, DocState, DocType, DocumentMeta, Secrecy, SignAuthority, SignerBlock, Urgency,
};
use kyso_domain::roles::Permission;
use kyso_store::documents as docs;
use kyso_store::{registry, Actor};
use maud::{html, Markup};
use serde::Deserialize;
use time::OffsetDateTime;

use super::layout_store_error as refusal;
use super::{
    agency_options, alert_error, alert_ok, field, form_status, layout, layout_error, select,
    time_text, with_status, Page,
};
use crate::api::Id;
use crate::AppState;

mod attachments;
mod copies;
pub(super) use copies::agent_address;
mod page;
mod remote_sign;
mod upload;
pub(super) mod verification;
pub(super) use attachments::routes as attachment_routes;
pub(super) use page::{
    act_submit, comment_submit, detail_page, draft_submit, file_download, signed_submit,
};
pub(super) use remote_sign::remote_sign_submit;
pub(super) use upload::{create_submit, new_page};

/// The fields of a multipart form.
type Fields = crate::multipart::Form;

/// Read a multipart form whole, at most `max` bytes (the route's body limit).
async fn read_multipart(mp: Multipart, max: usize) -> Result<Fields, FormError> {
    crate::multipart::read(mp, max).await
}

fn text(fields: &Fields, k: &str) -> String {
    fields.text(k)
}

fn file<'a>(fields: &'a Fields, k: &str) -> Option<(&'a [u8], &'a str)> {
    fields.file(k)
}

fn unreadable(p: &Page, e: FormError) -> Response {
    layout_error(p, e.status(), &e.message(p.lang))
}

/// The blob store (see [`no_blobs`] when there is none).
fn blobs(st: &AppState) -> Option<kyso_store::blobs::Blobs> {
    st.blobs.clone()
}

fn no_blobs(p: &Page) -> Response {
    layout_error(
        p,
        StatusCode::SERVICE_UNAVAILABLE,
        p.t(
            "Máy chủ chưa có thư mục lưu tệp nên chưa nhận được văn bản; xin báo quản trị hệ thống.",
            "The server has no file folder configured, so it cannot take documents; tell the administrator.",
        ),
    )
}

/// A refusal of one of the form's fields.
fn invalid(field: &'static str, vi: &str, en: &str) -> kyso_store::Error {
    kyso_store::Error::Invalid {
        field,
        vi: vi.to_owned(),
        en: en.to_owned(),
    }
}

fn date(unix: i64) -> String {
    super::fmt_date(OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn state_label(p: &Page, s: DocState) -> &'static str {
    match p.lang {
        crate::Lang::Vi => s.label_vi(),
        crate::Lang::En => s.label_en(),
    }
}

fn action_label(p: &Page, a: DocAction) -> &'static str {
    match p.lang {
        crate::Lang::Vi => a.label_vi(),
        crate::Lang::En => a.label_en(),
    }
}

/// What a timeline entry's action reads as.
fn event_label(p: &Page, action: &str) -> String {
    match action {
        "create" => p.t("Tải lên dự thảo", "Draft uploaded").to_owned(),
        "draft" => p
            .t("Tải lên bản dự thảo mới", "New draft uploaded")
            .to_owned(),
        "comment" => p.t("Cho ý kiến", "Comment").to_owned(),
        "copy" => p.t("Sao văn bản", "Copy made").to_owned(),
        other => DocAction::parse(other)
            .map(|a| action_label(p, a).to_owned())
            .unwrap_or_else(|_| other.to_owned()),
    }
}

fn version_label(p: &Page, kind: docs::VersionKind) -> &'static str {
    match kind.as_str() {
        "draft" => p.t("Dự thảo", "Draft"),
        "formatted" => p.t(
            "Bản đã kiểm tra thể thức (có ô số, ngày)",
            "Format-checked (number and date fields placed)",
        ),
        "personally_signed" => p.t("Bản đã ký số cá nhân", "Personally signed"),
        "org_signed" => p.t(
            "Bản phát hành (đã ký số cơ quan)",
            "Issued (organization-signed)",
        ),
        other => other,
    }
}

/// The success message of `?done=`.
fn done_message(p: &Page, done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => p.t(
            "Đã tải lên dự thảo. Khi hoàn chỉnh, bấm \"Trình lãnh đạo đơn vị\".",
            "The draft is uploaded. When it is ready, submit it for review.",
        ),
        "comment" => p.t("Đã gửi ý kiến.", "The comment is added."),
        "draft" => p.t("Đã tải lên bản dự thảo mới.", "The new draft is uploaded."),
        "attachment" => p.t("Đã thêm phụ lục.", "The attachment is added."),
        "copy" => p.t(
            "Máy chủ đã kiểm tra và nhận bản sao đã ký số; bản sao có trong mục Bản sao.",
            "The server checked and accepted the signed copy; it is listed under Copies.",
        ),
        "attachment_sign" => p.t(
            "Máy chủ đã kiểm tra và nhận phụ lục đã ký số cơ quan.",
            "The server checked and accepted the organization-signed attachment.",
        ),
        "submit" => p.t(
            "Đã trình dự thảo cho lãnh đạo đơn vị xem xét.",
            "The draft is submitted for review.",
        ),
        "forward" => p.t(
            "Đã chuyển văn bản đi kiểm tra thể thức.",
            "The document is forwarded for the format check.",
        ),
        "return" => p.t(
            "Đã trả lại dự thảo cho người soạn thảo kèm lý do.",
            "The draft is returned to its drafter with the reason.",
        ),
        "check_format" => p.t(
            "Đã xác nhận thể thức văn bản; văn bản chờ người ký duyệt.",
            "The format is confirmed; the document awaits approval.",
        ),
        "approve" => p.t(
            "Đã duyệt văn bản; văn bản chờ ký số.",
            "The document is approved and awaits the signature.",
        ),
        "sign_personal" => p.t(
            "Máy chủ đã kiểm tra và nhận bản ký số cá nhân; văn bản chuyển văn thư.",
            "The server checked and accepted the personally signed file; it goes to the clerk.",
        ),
        "clerk_check" => p.t(
            "Văn thư đã kiểm tra văn bản; văn bản chờ cấp số.",
            "The clerk's check is recorded; the document awaits its number.",
        ),
        "number" => p.t(
            "Đã cấp số và ngày văn bản.",
            "The number and date are given.",
        ),
        "release_number" => p.t(
            "Đã hủy số đã cấp; lý do được ghi vào sổ.",
            "The number is released; the reason is recorded.",
        ),
        "org_sign" => p.t(
            "Máy chủ đã kiểm tra và nhận bản ký số cơ quan.",
            "The server checked and accepted the organization-signed file.",
        ),
        "register" => p.t("Đã vào sổ văn bản đi.", "The document is registered."),
        "dispatch" => p.t(
            "Đã phát hành văn bản đến các nơi nhận.",
            "The document is dispatched to its recipients.",
        ),
        "recall" => p.t(
            "Đã thu hồi văn bản và thông báo cho các nơi nhận.",
            "The document is recalled and its recipients are told.",
        ),
        _ => return None,
    })
}

/// Whether the actor may take `action` on `d` now (the store decides again when it is taken).
fn may_take(actor: &Actor, d: &docs::Document, action: DocAction) -> bool {
    let Some(duty) = action.duty(d.state) else {
        return false;
    };
    if !actor.can(Permission::ReadDocuments, &d.agency_path) {
        return false;
    }
    let granted = actor.grants.iter().any(|g| {
        duty.granted_by(
            g.role,
            g.agency_id == d.agency_id,
            d.agency_path.starts_with(g.path.as_str()),
        )
    });
    granted
        && !(matches!(action, DocAction::Approve | DocAction::SignPersonal)
            && d.signer_id.is_some_and(|s| s != actor.user_id))
}

/// Agency id → name, for the agencies the reader sees.
async fn agency_names(st: &AppState, p: &Page) -> HashMap<i64, String> {
    registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect()
}

async fn agency_names_by_code(st: &AppState, p: &Page) -> HashMap<String, String> {
    registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.code, a.name))
        .collect()
}

fn doc_table(p: &Page, list: &[docs::Document], names: &HashMap<i64, String>) -> Markup {
    // On a narrow screen (390 px) the table scrolls inside its own region, reachable with the
    // keyboard.
    html! {
        div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Danh sách văn bản", "Documents")) {
        table { thead { tr {
            th scope="col" { (p.t("Số, ký hiệu", "Number")) }
            th scope="col" { (p.t("Trích yếu", "Subject")) }
            th scope="col" { (p.t("Loại", "Type")) }
            th scope="col" { (p.t("Cơ quan", "Agency")) }
            th scope="col" { (p.t("Trạng thái", "State")) }
            th scope="col" { (p.t("Cập nhật", "Updated")) }
        } } tbody { @for d in list { tr {
            td { (d.number_and_notation().unwrap_or_else(|| "—".into())) }
            td { a href={ "/documents/" (d.id) } { (d.meta.subject) } }
            td { (p.t(d.meta.doc_type.label_vi(), d.meta.doc_type.label_en())) }
            td { (names.get(&d.agency_id).cloned().unwrap_or_else(|| d.agency_code.clone())) }
            td { (state_label(p, d.state)) }
            td { (time_text(d.updated_at)) }
        } } } }
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    done: String,
}

/// "Chờ tôi xử lý" and the documents the reader may see, by state.
pub(super) async fn list_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> Response {
    let state = DocState::parse(q.state.trim()).ok();
    let mine = match docs::list_documents(
        &st.store,
        &p.actor,
        &docs::DocumentQuery {
            mine: true,
            ..Default::default()
        },
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return refusal(&p, e),
    };
    let all = match docs::list_documents(
        &st.store,
        &p.actor,
        &docs::DocumentQuery {
            state,
            ..Default::default()
        },
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return refusal(&p, e),
    };
    let names = agency_names(&st, &p).await;
    let mut states: Vec<(String, String)> = vec![(
        String::new(),
        p.t("Mọi trạng thái", "Every state").to_owned(),
    )];
    states.extend(
        DocState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), state_label(&p, *s).to_owned())),
    );
    layout(
        &p,
        p.t("Văn bản đi", "Outgoing documents"),
        html! {
            h1 { (p.t("Văn bản đi", "Outgoing documents")) }
            (alert_ok(done_message(&p, &q.done)))
            @if p.can(Permission::DraftDocument) {
                p { a.button href="/documents/new" { (p.t("Tải lên dự thảo mới", "Upload a new draft")) } }
            }
            p { a href="/documents/registers" { (p.t("Sổ đăng ký văn bản đi (xuất XLSX)", "Outgoing registers (XLSX export)")) } }
            h2 style="font-size:18px" #queue { (p.t("Chờ tôi xử lý", "Waiting for me")) }
            @if mine.is_empty() {
                p.muted { (p.t("Không có văn bản nào đang chờ bạn xử lý.", "No document is waiting for you.")) }
            } @else {
                (doc_table(&p, &mine, &names))
            }
            h2 style="font-size:18px" #all { (p.t("Văn bản của cơ quan", "The agency's documents")) }
            form.filters method="get" action="/documents" {
                (select("state", p.t("Trạng thái", "State"), &states, state.map(|s| s.as_str()).unwrap_or(""), None))
                button type="submit" { (p.t("Lọc", "Filter")) }
            }
            @if all.is_empty() {
                p.muted { (p.t("Không có văn bản.", "No documents.")) }
            } @else {
                (doc_table(&p, &all, &names))
            }
        },
    )
}

/// The draft as PDF through the shared file checks (`crate::documents::draft_pdf`: a PDF as
/// it is, a DOCX/ODT converted when LibreOffice is installed), a refusal as the `file` field's.
async fn as_pdf(bytes: &[u8]) -> Result<Vec<u8>, kyso_store::Error> {
    crate::documents::draft_pdf(bytes.to_vec())
        .await
        .map_err(|e| kyso_store::Error::Invalid {
            field: e.field.unwrap_or("file"),
            vi: e.vi,
            en: e.en,
        })
}

/// The stored file name: the uploaded one with a `.pdf` ending, ASCII letters and digits only.
fn pdf_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let safe: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(40)
        .collect();
    if safe.is_empty() {
        "du-thao.pdf".into()
    } else {
        format!("{safe}.pdf")
    }
}
