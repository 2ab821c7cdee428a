//! Outgoing documents in the web UI (issue 17 item 10): the "Chờ tôi xử lý" queue and the
//! agency's documents by state, the upload of a draft with its Decree 30 metadata, and the
//! document page (metadata, timeline, versions, comments, the steps the reader may take now).
//! The rules are `kyso_store::documents`'s, as for the REST API; every form carries the
//! session's CSRF token, a recall or the release of a number asks for confirmation first, and
//! every step ends with a success message.

use std::collections::HashMap;

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

use super::{agency_options, alert_error, field, layout, layout_error, select, with_status, Page};
use crate::api::Id;
use crate::AppState;

/// The fields of a multipart form: (name, bytes, file name).
type Fields = Vec<(String, Vec<u8>, String)>;

/// Read a multipart form whole (the router's body limit bounds it).
async fn read_multipart(mut mp: Multipart) -> Result<Fields, ()> {
    let mut out = Vec::new();
    loop {
        match mp.next_field().await {
            Ok(Some(f)) => {
                let name = f.name().unwrap_or("").to_owned();
                let file_name = f.file_name().unwrap_or("").to_owned();
                match f.bytes().await {
                    Ok(b) => out.push((name, b.to_vec(), file_name)),
                    Err(_) => return Err(()),
                }
            }
            Ok(None) => return Ok(out),
            Err(_) => return Err(()),
        }
    }
}

fn text(fields: &Fields, k: &str) -> String {
    fields
        .iter()
        .find(|(n, _, _)| n == k)
        .map(|(_, v, _)| String::from_utf8_lossy(v).trim().to_owned())
        .unwrap_or_default()
}

fn file<'a>(fields: &'a Fields, k: &str) -> Option<(&'a [u8], &'a str)> {
    fields
        .iter()
        .find(|(n, v, _)| n == k && !v.is_empty())
        .map(|(_, v, f)| (v.as_slice(), f.as_str()))
}

fn unreadable(p: &Page) -> Response {
    layout_error(
        p,
        StatusCode::BAD_REQUEST,
        p.t(
            "Biểu mẫu không đọc được hoặc tệp quá lớn (tối đa 4 MB).",
            "The form could not be read or the file is too large (at most 4 MB).",
        ),
    )
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

/// A store refusal as an error page inside the layout.
fn refusal(p: &Page, e: kyso_store::Error) -> Response {
    let api: crate::ApiError = e.into();
    layout_error(p, api.status, api.message(p.lang))
}

/// A refusal of one of the form's fields.
fn invalid(field: &'static str, vi: &str, en: &str) -> kyso_store::Error {
    kyso_store::Error::Invalid {
        field,
        vi: vi.to_owned(),
        en: en.to_owned(),
    }
}

fn alert_ok(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { div.alert.ok role="status" { (m) } } }
}

fn date(unix: i64) -> String {
    super::fmt_date(OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn time_text(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(kyso_domain::calendar::VIETNAM);
    format!("{} {:02}:{:02}", super::fmt_date(t), t.hour(), t.minute())
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

/// The values of the upload form, kept when it is shown again with an error.
#[derive(Default)]
struct Draft {
    agency_id: String,
    doc_type: String,
    subject: String,
    place: String,
    authority: String,
    principal_title: String,
    principal_name: String,
    signer_title: String,
    signer_name: String,
    unit_abbrev: String,
    recipients: String,
    urgency: String,
    confidentiality: String,
    page_count: String,
}

impl Draft {
    fn from_fields(f: &Fields) -> Draft {
        Draft {
            agency_id: text(f, "agency_id"),
            doc_type: text(f, "doc_type"),
            subject: text(f, "subject"),
            place: text(f, "place"),
            authority: text(f, "authority"),
            principal_title: text(f, "principal_title"),
            principal_name: text(f, "principal_name"),
            signer_title: text(f, "signer_title"),
            signer_name: text(f, "signer_name"),
            unit_abbrev: text(f, "unit_abbrev"),
            recipients: text(f, "recipients"),
            urgency: text(f, "urgency"),
            confidentiality: text(f, "confidentiality"),
            page_count: text(f, "page_count"),
        }
    }

    /// The metadata; an unknown choice is the store's invalid field.
    fn meta(&self) -> Result<DocumentMeta, kyso_store::Error> {
        let bad =
            |field: &'static str| invalid(field, "Giá trị không hợp lệ.", "Not a valid choice.");
        let page_count = match self.page_count.trim() {
            "" => None,
            n => Some(n.parse::<u32>().map_err(|_| {
                invalid(
                    "page_count",
                    "Số trang phải là một số nguyên dương.",
                    "The page count must be a positive whole number.",
                )
            })?),
        };
        Ok(DocumentMeta {
            doc_type: DocType::parse(&self.doc_type).map_err(|_| bad("doc_type"))?,
            subject: self.subject.clone(),
            place: self.place.clone(),
            signer: SignerBlock {
                authority: SignAuthority::parse(&self.authority).map_err(|_| bad("authority"))?,
                principal_title: self.principal_title.clone(),
                principal_name: self.principal_name.clone(),
                title: self.signer_title.clone(),
                name: self.signer_name.clone(),
            },
            unit_abbrev: self.unit_abbrev.clone(),
            recipients: self
                .recipients
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            urgency: Urgency::parse(&self.urgency).map_err(|_| bad("urgency"))?,
            confidentiality: Secrecy::parse(&self.confidentiality)
                .map_err(|_| bad("confidentiality"))?,
            page_count,
            attachments: Vec::new(),
        })
    }
}

/// The form of a new document.
pub(super) async fn new_page(State(st): State<AppState>, p: Page) -> Response {
    if !p.can(Permission::DraftDocument) {
        return refusal(&p, kyso_store::Error::Forbidden);
    }
    upload_form(&st, &p, &Draft::default(), None).await
}

fn options<T: Copy>(
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> String,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (key(*v).to_owned(), label(*v)))
        .collect()
}

async fn upload_form(
    st: &AppState,
    p: &Page,
    v: &Draft,
    error: Option<&kyso_store::Error>,
) -> Response {
    let agencies = agency_options(st, p, Permission::DraftDocument).await;
    let ef = error.and_then(|e| e.field());
    // The store names the signer block's fields "signer.title" and so on.
    let ef = ef.map(|f| match f {
        "signer.title" | "title" => "signer_title",
        "signer.name" | "name" => "signer_name",
        "signer.principal_title" => "principal_title",
        "signer.principal_name" => "principal_name",
        "signer.authority" => "authority",
        other => other,
    });
    let msg = error.map(|e| e.message(p.lang == crate::Lang::En));
    let lang = p.lang;
    let types = options(
        &DocType::ALL,
        |t| t.as_str(),
        |t| lang.pick(t.label_vi(), t.label_en()).to_owned(),
    );
    let authorities = options(
        &SignAuthority::ALL,
        |t| t.as_str(),
        |t| lang.pick(t.label_vi(), t.label_en()).to_owned(),
    );
    let urgencies = options(
        &Urgency::ALL,
        |t| t.as_str(),
        |t| lang.pick(t.label_vi(), t.label_en()).to_owned(),
    );
    let secrecy = options(
        &Secrecy::ALL,
        |t| t.as_str(),
        |t| lang.pick(t.label_vi(), t.label_en()).to_owned(),
    );
    let conf_invalid = ef == Some("confidentiality");
    let res = layout(
        p,
        p.t("Tải lên dự thảo", "Upload a draft"),
        html! {
            p { a href="/documents" { (p.t("← Văn bản đi", "← Outgoing documents")) } }
            h1 { (p.t("Tải lên dự thảo văn bản", "Upload a draft document")) }
            (alert_error(msg.as_deref()))
            @if agencies.is_empty() {
                p.muted { (p.t("Bạn không có quyền soạn thảo văn bản của cơ quan nào.", "You may not draft documents for any agency.")) }
            } @else {
            form method="post" action="/documents" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("agency_id", p.t("Cơ quan ban hành", "Issuing agency"), &agencies, &v.agency_id, ef))
                (select("doc_type", p.t("Loại văn bản", "Document type"), &types, if v.doc_type.is_empty() { "cong_van" } else { &v.doc_type }, ef))
                div.field {
                    label for="subject" { (p.t("Trích yếu nội dung", "Subject (trích yếu)")) " *" }
                    textarea id="subject" name="subject" rows="3" required style="width:100%;max-width:480px"
                        aria-invalid=(if ef == Some("subject") { "true" } else { "false" }) { (v.subject) }
                }
                (field("place", p.t("Địa danh (dòng ngày tháng)", "Place (date line)"), &v.place, "text", true, ef, None))
                (field("unit_abbrev", p.t("Chữ viết tắt đơn vị soạn thảo", "Drafting unit's abbreviation"), &v.unit_abbrev, "text", false, ef,
                    Some(p.t("Bắt buộc với công văn (ví dụ: VP).", "Required for an official letter (e.g. VP)."))))
                fieldset style="border:1px solid #d0d7de;border-radius:6px;margin-bottom:12px" {
                    legend { (p.t("Người ký", "Signer")) }
                    (select("authority", p.t("Thẩm quyền ký", "Signing authority"), &authorities, &v.authority, ef))
                    (field("principal_title", p.t("Chức vụ người được ký thay (ví dụ: Giám đốc)", "Title signed for (e.g. Director)"), &v.principal_title, "text", false, ef, None))
                    (field("principal_name", p.t("Họ tên người ủy quyền (khi ký TUQ.)", "Name of the person authorizing (TUQ.)"), &v.principal_name, "text", false, ef, None))
                    (field("signer_title", p.t("Chức vụ người ký", "Signer's title"), &v.signer_title, "text", true, ef, None))
                    (field("signer_name", p.t("Họ và tên người ký", "Signer's full name"), &v.signer_name, "text", true, ef, None))
                }
                div.field {
                    label for="recipients" { (p.t("Nơi nhận (mã định danh, mỗi dòng một mã)", "Recipients (identifier codes, one per line)")) }
                    textarea id="recipients" name="recipients" rows="3" style="width:100%;max-width:480px" aria-describedby="recipients-hint"
                        aria-invalid=(if ef == Some("recipients") { "true" } else { "false" }) { (v.recipients) }
                    div.hint #recipients-hint { (p.t("Ví dụ: H99.05", "For example: H99.05")) }
                }
                (select("urgency", p.t("Độ khẩn", "Urgency"), &urgencies, &v.urgency, ef))
                div.field {
                    label for="confidentiality" { (p.t("Độ mật", "Confidentiality")) }
                    select id="confidentiality" name="confidentiality" aria-describedby="confidentiality-hint"
                        aria-invalid=(if conf_invalid { "true" } else { "false" }) {
                        @for (k, l) in &secrecy { option value=(k) selected[*k == v.confidentiality] { (l) } }
                    }
                    div.hint #confidentiality-hint { (p.t(
                        "Hệ thống chỉ xử lý văn bản không mật. Văn bản mật, tối mật, tuyệt mật không được tải lên; xử lý theo quy định bảo vệ bí mật nhà nước.",
                        "Only unclassified documents are handled here. Confidential, secret and top secret documents may not be uploaded; handle them under the state secrets rules.")) }
                }
                (field("page_count", p.t("Số trang", "Page count"), &v.page_count, "number", false, ef, None))
                div.field {
                    label for="file" { (p.t("Tệp dự thảo", "Draft file")) " *" }
                    input id="file" name="file" type="file" accept=".pdf,.docx,.odt,application/pdf" required aria-describedby="file-hint"
                        aria-invalid=(if ef == Some("file") { "true" } else { "false" });
                    div.hint #file-hint { (p.t(
                        "PDF; tệp DOCX hoặc ODT được máy chủ chuyển sang PDF nếu máy chủ có LibreOffice, nếu không hãy tải lên bản PDF. Tối đa 4 MB.",
                        "PDF; a DOCX or ODT file is converted to PDF when the server has LibreOffice, otherwise upload a PDF. At most 4 MB.")) }
                }
                button.primary type="submit" { (p.t("Tải lên dự thảo", "Upload the draft")) }
            }
            }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
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

/// Upload a new document.
pub(super) async fn create_submit(State(st): State<AppState>, p: Page, mp: Multipart) -> Response {
    let Ok(fields) = read_multipart(mp).await else {
        return unreadable(&p);
    };
    if let Some(r) = p.csrf_refusal(&text(&fields, "csrf")) {
        return r;
    }
    let v = Draft::from_fields(&fields);
    let meta = match v.meta() {
        Ok(m) => m,
        Err(e) => return upload_form(&st, &p, &v, Some(&e)).await,
    };
    // A classified document is refused before its file is even looked at.
    if meta.confidentiality != Secrecy::Unclassified {
        if let Err(e) = meta.check() {
            return upload_form(&st, &p, &v, Some(&e.into())).await;
        }
    }
    let Some((bytes, name)) = file(&fields, "file") else {
        let e = invalid("file", "Hãy chọn tệp dự thảo.", "Choose the draft file.");
        return upload_form(&st, &p, &v, Some(&e)).await;
    };
    let pdf = match as_pdf(bytes).await {
        Ok(b) => b,
        Err(e) => return upload_form(&st, &p, &v, Some(&e)).await,
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let file_name = pdf_name(name);
    let input = docs::NewDocument {
        agency_id: v.agency_id.parse().unwrap_or(0),
        meta,
        signer_id: None,
        file_name,
        file: pdf,
    };
    match docs::create_document(&st.store, &blobs, &p.actor, &input, st.now()).await {
        Ok(d) => Redirect::to(&format!("/documents/{}?done=created", d.id)).into_response(),
        Err(e) => upload_form(&st, &p, &v, Some(&e)).await,
    }
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

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// One document.
pub(super) async fn detail_page(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<DoneQuery>,
) -> Response {
    detail_view(&st, &p, id, done_message(&p, &q.done), None).await
}

async fn detail_view(
    st: &AppState,
    p: &Page,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Response {
    let d = match docs::get_document(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return refusal(p, e),
    };
    let doc = &d.document;
    let names = agency_names(st, p).await;
    let by_code = agency_names_by_code(st, p).await;
    let m = &doc.meta;
    let actions: Vec<DocAction> = doc
        .state
        .actions()
        .into_iter()
        .filter(|a| may_take(&p.actor, doc, *a))
        .collect();
    let plain: Vec<DocAction> = actions
        .iter()
        .copied()
        .filter(|a| !matches!(a, DocAction::SignPersonal | DocAction::OrgSign) && !a.needs_reason())
        .collect();
    let with_reason: Vec<DocAction> = actions
        .iter()
        .copied()
        .filter(|a| a.needs_reason())
        .collect();
    let signing: Vec<DocAction> = actions
        .iter()
        .copied()
        .filter(|a| matches!(a, DocAction::SignPersonal | DocAction::OrgSign))
        .collect();
    let may_draft = doc.state.accepts_version() && may_take(&p.actor, doc, DocAction::Submit);
    let may_comment = p.actor.can(Permission::CommentDocument, &doc.agency_path);
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    let latest = d.versions.last().map(|v| v.seq).unwrap_or(0);
    let res = layout(
        p,
        &m.subject,
        html! {
            p { a href="/documents" { (p.t("← Văn bản đi", "← Outgoing documents")) } }
            h1 { (p.t(m.doc_type.label_vi(), m.doc_type.label_en())) ": " (m.subject) }
            (alert_ok(ok))
            (alert_error(error.as_deref()))
            table style="max-width:820px;margin-bottom:16px" { tbody {
                (row(p.t("Trạng thái", "State"), html! { strong #doc-state { (state_label(p, doc.state)) } }))
                (row(p.t("Cơ quan ban hành", "Issuing agency"), html! { (names.get(&doc.agency_id).cloned().unwrap_or_else(|| doc.agency_code.clone())) }))
                (row(p.t("Số, ký hiệu", "Number and notation"), html! { (doc.number_and_notation().unwrap_or_else(|| p.t("Chưa cấp số", "Not numbered yet").to_owned())) }))
                @if let Some(day) = &doc.issued_date { (row(p.t("Ngày ban hành", "Date"), html! { (day) })) }
                (row(p.t("Địa danh", "Place"), html! { (m.place) }))
                (row(p.t("Người ký", "Signer"), html! {
                    @for line in m.signer.title_lines() { (line) br; }
                    (m.signer.name)
                }))
                (row(p.t("Nơi nhận", "Recipients"), html! {
                    @if m.recipients.is_empty() { "—" }
                    @for r in &m.recipients { (by_code.get(r).cloned().unwrap_or_else(|| r.clone())) br; }
                }))
                (row(p.t("Độ khẩn", "Urgency"), html! { (p.t(m.urgency.label_vi(), m.urgency.label_en())) }))
                (row(p.t("Độ mật", "Confidentiality"), html! { (p.t(m.confidentiality.label_vi(), m.confidentiality.label_en())) }))
                @if let Some(n) = m.page_count { (row(p.t("Số trang", "Pages"), html! { (n) })) }
                @if let Some(r) = &d.recall { (row(p.t("Lý do thu hồi", "Recall reason"), html! { (r.reason) })) }
            } }

            h2 style="font-size:18px" #actions { (p.t("Việc bạn có thể làm", "What you can do")) }
            @if actions.is_empty() && !may_draft {
                p.muted { (p.t("Văn bản không chờ bước nào của bạn.", "The document waits for no step of yours.")) }
            }
            @if !plain.is_empty() {
                form method="post" action={ "/documents/" (doc.id) "/act" } style="display:flex;gap:8px;flex-wrap:wrap;margin-bottom:12px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    @for a in &plain {
                        button.primary type="submit" name="action" value=(a.as_str()) { (action_label(p, *a)) }
                    }
                }
            }
            @for a in &with_reason {
                form method="post" action={ "/documents/" (doc.id) "/act" } style="margin-bottom:12px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="action" value=(a.as_str());
                    @let rid = format!("reason-{}", a.as_str());
                    div.field {
                        label for=(rid) { (p.t("Lý do", "Reason")) " (" (action_label(p, *a)) ") *" }
                        textarea id=(rid) name="reason" rows="2" required style="width:100%;max-width:480px" {}
                    }
                    button type="submit" { (action_label(p, *a)) }
                }
            }
            @for a in &signing {
                section aria-labelledby={ "sign-" (a.as_str()) } style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin-bottom:12px;background:#fff" {
                    h3 style="font-size:16px;margin-top:0" id={ "sign-" (a.as_str()) } { (action_label(p, *a)) }
                    p {
                        button type="button" disabled aria-describedby={ "sign-note-" (a.as_str()) } { (p.t("Ký số", "Sign")) }
                    }
                    p.hint id={ "sign-note-" (a.as_str()) } { (p.t(
                        "Ký số ngay trên trình duyệt bằng token (qua kyso agent hoặc VGCA Sign Service) chưa được kết nối trên máy chủ này, nên nút Ký số chưa dùng được. Cách làm hiện nay: tải về bản mới nhất dưới đây, ký số bằng phần mềm ký số với token của bạn (không sửa nội dung), rồi tải tệp PDF đã ký lên. Máy chủ kiểm tra chữ ký và nội dung trước khi nhận.",
                        "Signing in the browser with your token (through kyso agent or the VGCA Sign Service) is not wired on this server yet, so the Sign button does not work. For now: download the latest version below, sign it with your signing software and token (without changing its content), and upload the signed PDF. The server checks the signature and the content before accepting it.")) }
                    p { a href={ "/documents/" (doc.id) "/file?seq=" (latest) } { (p.t("Tải về bản cần ký (PDF)", "Download the file to sign (PDF)")) } }
                    form method="post" action={ "/documents/" (doc.id) "/signed" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(p.csrf);
                        input type="hidden" name="action" value=(a.as_str());
                        @let fid = format!("signed-{}", a.as_str());
                        div.field {
                            label for=(fid) { (p.t("Tệp PDF đã ký số", "The signed PDF")) " *" }
                            input id=(fid) name="file" type="file" accept=".pdf,application/pdf" required;
                        }
                        button.primary type="submit" { (p.t("Tải lên tệp đã ký", "Upload the signed file")) }
                    }
                }
            }
            @if may_draft {
                form method="post" action={ "/documents/" (doc.id) "/draft" } enctype="multipart/form-data" style="margin-bottom:12px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    div.field {
                        label for="draft-file" { (p.t("Bản dự thảo mới (PDF, DOCX hoặc ODT)", "A new draft (PDF, DOCX or ODT)")) }
                        input id="draft-file" name="file" type="file" accept=".pdf,.docx,.odt,application/pdf" required;
                    }
                    button type="submit" { (p.t("Tải lên bản dự thảo mới", "Upload the new draft")) }
                }
            }

            h2 style="font-size:18px" { (p.t("Các phiên bản", "Versions")) }
            div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Các phiên bản", "Versions")) {
            table style="max-width:820px" { thead { tr {
                th scope="col" { "#" } th scope="col" { (p.t("Loại", "Kind")) } th scope="col" { (p.t("Tệp", "File")) }
                th scope="col" { (p.t("Thời gian", "Time")) } th scope="col" { (p.t("Tải về", "Download")) }
            } } tbody { @for v in &d.versions { tr {
                td { (v.seq) } td { (version_label(p, v.kind)) } td { (v.file_name) " (" (v.size) " byte)" }
                td { (time_text(v.created_at)) }
                td { a href={ "/documents/" (doc.id) "/file?seq=" (v.seq) } aria-label={ (p.t("Tải về phiên bản", "Download version")) " " (v.seq) } { (p.t("Tải về", "Download")) } }
            } } } }
            }

            h2 style="font-size:18px" { (p.t("Diễn biến", "Timeline")) }
            ol #timeline { @for ev in &d.timeline {
                li { (time_text(ev.created_at)) " — " strong { (ev.actor) } " — " (event_label(p, &ev.action))
                    @if ev.from_state != ev.to_state {
                        @if let (Ok(f), Ok(t)) = (DocState::parse(&ev.from_state), DocState::parse(&ev.to_state)) {
                            " (" (state_label(p, f)) " → " (state_label(p, t)) ")"
                        }
                    }
                    @if !ev.note.is_empty() && ev.action != "comment" { " — " (ev.note) } }
            } }

            h2 style="font-size:18px" { (p.t("Ý kiến", "Comments")) }
            @if d.comments.is_empty() { p.muted { (p.t("Chưa có ý kiến.", "No comments yet.")) } }
            ul #comments { @for c in &d.comments {
                li { strong { (c.username) } " (" (time_text(c.created_at)) "): " (c.body) }
            } }
            @if may_comment {
                form method="post" action={ "/documents/" (doc.id) "/comment" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    div.field {
                        label for="comment-body" { (p.t("Ý kiến của bạn", "Your comment")) }
                        textarea id="comment-body" name="body" rows="3" required style="width:100%;max-width:480px" {}
                    }
                    button type="submit" { (p.t("Gửi ý kiến", "Add the comment")) }
                }
            }
            @if !d.deliveries.is_empty() {
                h2 style="font-size:18px" { (p.t("Nơi nhận đã gửi", "Deliveries")) }
                ul { @for dl in &d.deliveries {
                    li { (by_code.get(&dl.recipient_code).cloned().unwrap_or_else(|| dl.recipient_code.clone())) " — " (time_text(dl.delivered_at))
                        @if dl.recalled_at.is_some() { " — " (p.t("đã thu hồi", "recalled")) } }
                } }
            }
            p.hint { (p.t("Tạo lúc ", "Created ")) (date(doc.created_at)) }
        },
    );
    with_status(
        res,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

#[derive(Deserialize)]
pub(super) struct ActForm {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// Take a step without a file; a recall and the release of a number ask first.
pub(super) async fn act_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let d = match docs::get_document(&st.store, &p.actor, id).await {
        Ok(d) => d.document,
        Err(e) => return refusal(&p, e),
    };
    let Ok(action) = DocAction::parse(&f.action) else {
        return detail_view(
            &st,
            &p,
            id,
            None,
            Some(p.t("Thao tác không hợp lệ.", "Unknown action.").into()),
        )
        .await;
    };
    if matches!(action, DocAction::SignPersonal | DocAction::OrgSign) {
        return detail_view(
            &st,
            &p,
            id,
            None,
            Some(
                p.t(
                    "Bước ký số cần tệp PDF đã ký; hãy dùng ô tải lên tệp đã ký.",
                    "A signing step needs the signed PDF; use the signed-file upload.",
                )
                .into(),
            ),
        )
        .await;
    }
    if matches!(action, DocAction::Recall | DocAction::ReleaseNumber)
        && f.confirm != "yes"
        && !f.reason.trim().is_empty()
    {
        let question = match action {
            DocAction::Recall => p.t(
                "Bạn có chắc chắn muốn thu hồi văn bản này? Văn bản bị đóng băng, mọi nơi nhận được thông báo; không thể hoàn tác.",
                "Recall this document? It is frozen and every recipient is told; this cannot be undone.",
            ),
            _ => p.t(
                "Bạn có chắc chắn muốn hủy số đã cấp cho văn bản này? Số được ghi là đã hủy kèm lý do.",
                "Release the number given to this document? The number is recorded as released with the reason.",
            ),
        };
        return layout(
            &p,
            p.t("Xác nhận", "Confirm"),
            html! {
                h1 { (p.t("Xác nhận thao tác", "Confirm the action")) }
                div.alert.error role="alert" { (question) }
                p { strong { (p.t("Văn bản: ", "Document: ")) } (d.meta.subject) }
                p { strong { (p.t("Lý do: ", "Reason: ")) } (f.reason) }
                form method="post" action={ "/documents/" (id) "/act" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    input type="hidden" name="action" value=(action.as_str());
                    input type="hidden" name="reason" value=(f.reason);
                    input type="hidden" name="confirm" value="yes";
                    button.primary type="submit" { (p.t("Xác nhận ", "Confirm: ")) (action_label(&p, action).to_lowercase()) }
                    " "
                    a href={ "/documents/" (id) } { (p.t("Hủy, quay lại", "Cancel")) }
                }
            },
        );
    }
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let step = docs::StepInput {
        reason: f.reason.trim().to_owned(),
        ..Default::default()
    };
    match crate::documents::take_step(&st.store, &blobs, &p.actor, id, action, step, st.now()).await
    {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done={}", action.as_str())).into_response(),
        Err(e) => step_error(&st, &p, id, e).await,
    }
}

/// A refused step: a refusal of access as its page, anything else on the document's page.
async fn step_error(st: &AppState, p: &Page, id: i64, e: crate::ApiError) -> Response {
    if matches!(
        e.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
    ) {
        let msg = e.message(p.lang).to_owned();
        detail_view(st, p, id, None, Some(msg)).await
    } else {
        layout_error(p, e.status, e.message(p.lang))
    }
}

/// Upload the signed PDF of a signing step (checked by the server before it is accepted).
pub(super) async fn signed_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    mp: Multipart,
) -> Response {
    let Ok(fields) = read_multipart(mp).await else {
        return unreadable(&p);
    };
    if let Some(r) = p.csrf_refusal(&text(&fields, "csrf")) {
        return r;
    }
    if let Err(e) = docs::get_document(&st.store, &p.actor, id).await {
        return refusal(&p, e);
    }
    let action = match DocAction::parse(&text(&fields, "action")) {
        Ok(a @ (DocAction::SignPersonal | DocAction::OrgSign)) => a,
        _ => {
            return detail_view(
                &st,
                &p,
                id,
                None,
                Some(p.t("Thao tác không hợp lệ.", "Unknown action.").into()),
            )
            .await
        }
    };
    let Some((bytes, name)) = file(&fields, "file") else {
        return detail_view(
            &st,
            &p,
            id,
            None,
            Some(
                p.t("Hãy chọn tệp PDF đã ký.", "Choose the signed PDF.")
                    .into(),
            ),
        )
        .await;
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let step = docs::StepInput {
        file: Some(bytes.to_vec()),
        file_name: pdf_name(name),
        ..Default::default()
    };
    match crate::documents::take_step(&st.store, &blobs, &p.actor, id, action, step, st.now()).await
    {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done={}", action.as_str())).into_response(),
        Err(e) => step_error(&st, &p, id, e).await,
    }
}

/// A new draft of a document being drafted or returned.
pub(super) async fn draft_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    mp: Multipart,
) -> Response {
    let Ok(fields) = read_multipart(mp).await else {
        return unreadable(&p);
    };
    if let Some(r) = p.csrf_refusal(&text(&fields, "csrf")) {
        return r;
    }
    if let Err(e) = docs::get_document(&st.store, &p.actor, id).await {
        return refusal(&p, e);
    }
    let Some((bytes, name)) = file(&fields, "file") else {
        return detail_view(
            &st,
            &p,
            id,
            None,
            Some(
                p.t("Hãy chọn tệp dự thảo.", "Choose the draft file.")
                    .into(),
            ),
        )
        .await;
    };
    let pdf = match as_pdf(bytes).await {
        Ok(b) => b,
        Err(e) => return step_error(&st, &p, id, e.into()).await,
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    match docs::add_draft(
        &st.store,
        &blobs,
        &p.actor,
        id,
        &pdf_name(name),
        &pdf,
        st.now(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done=draft")).into_response(),
        Err(e) => step_error(&st, &p, id, e.into()).await,
    }
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

/// Add a comment.
pub(super) async fn comment_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CommentForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    if let Err(e) = docs::get_document(&st.store, &p.actor, id).await {
        return refusal(&p, e);
    }
    match docs::add_comment(&st.store, &p.actor, id, f.body.trim(), st.now()).await {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done=comment#comments")).into_response(),
        Err(e) => step_error(&st, &p, id, e.into()).await,
    }
}

#[derive(Deserialize)]
pub(super) struct FileQuery {
    seq: Option<i64>,
}

/// Download one version (re-hashed by the store before it is served).
pub(super) async fn file_download(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Query(q): Query<FileQuery>,
) -> Response {
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let seq = match q.seq {
        Some(s) => s,
        None => match docs::get_document(&st.store, &p.actor, id).await {
            Ok(d) => d.versions.last().map_or(0, |v| v.seq),
            Err(e) => return refusal(&p, e),
        },
    };
    match docs::version_file(&st.store, &blobs, &p.actor, id, seq).await {
        Ok((v, bytes)) => (
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
