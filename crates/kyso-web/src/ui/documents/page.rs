//! One document's page and the forms it shows: the steps, the signed-file upload, a new
//! draft, a comment, and the download of a version.

use super::*;

#[derive(Deserialize, Default)]
pub(in crate::ui) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// One document.
pub(in crate::ui) async fn detail_page(
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
                @if let Some(day) = &doc.issued_date { (row(p.t("Ngày ban hành", "Date"), html! { (day_month_year(day)) })) }
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
            @if !signing.is_empty() {
                noscript { p.hint { (p.t(
                    "Trình duyệt không chạy JavaScript nên nút Ký số không dùng được; hãy dùng cách tải về, ký, tải lên bên dưới.",
                    "JavaScript is off, so the Sign button cannot work; use the download, sign, upload way below.")) } }
            }
            @for a in &signing {
                @let op = crate::agent_files::operation(*a).unwrap_or("SignApproved");
                section aria-labelledby={ "sign-" (a.as_str()) } style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin-bottom:12px;background:#fff" {
                    h3 style="font-size:16px;margin-top:0" id={ "sign-" (a.as_str()) } { (action_label(p, *a)) }
                    p.hint id={ "sign-note-" (a.as_str()) } { (if *a == DocAction::OrgSign { p.t(
                        "Bấm Ký số: dịch vụ ký trên máy này (kyso agent hoặc VGCA Sign Service) tải bản cần ký, điền số và ngày đã cấp, hỏi mã PIN của token cơ quan, ký và gửi tệp về máy chủ. Máy chủ kiểm tra chữ ký, số và ngày trước khi nhận; văn bản tự chuyển bước.",
                        "Click Sign: the signing service on this computer (kyso agent or the VGCA Sign Service) downloads the file, fills the number and date given, asks the PIN of the organization's token, signs and sends the file to the server, which checks the signature, the number and the date before accepting it; the step is then done.")
                    } else { p.t(
                        "Bấm Ký số: dịch vụ ký trên máy này (kyso agent hoặc VGCA Sign Service) tải bản cần ký, hỏi mã PIN token của bạn, ký và gửi tệp về máy chủ. Máy chủ kiểm tra chữ ký và nội dung trước khi nhận; văn bản tự chuyển bước.",
                        "Click Sign: the signing service on this computer (kyso agent or the VGCA Sign Service) downloads the file, asks your token's PIN, signs and sends the file to the server, which checks the signature and the content before accepting it; the step is then done.")
                    }) }
                    p {
                        button.primary.sign-agent type="button" disabled
                            data-op=(op) data-action=(a.as_str())
                            data-ticket={ "/documents/" (doc.id) "/sign-ticket" }
                            data-done={ "/documents/" (doc.id) "?done=" (a.as_str()) }
                            data-csrf=(p.csrf)
                            aria-describedby={ "sign-note-" (a.as_str()) " sign-status-" (a.as_str()) } { (p.t("Ký số", "Sign")) }
                    }
                    div.sign-status id={ "sign-status-" (a.as_str()) } role="status" aria-live="polite" style="margin-bottom:8px" {}
                    div style="border-top:1px solid #d0d7de;padding-top:8px" {
                        h4 style="font-size:15px;margin:0 0 4px" { (p.t("Cách khác: tải về, ký bằng phần mềm ký số, rồi tải lên", "Another way: download, sign with your signing software, upload")) }
                        p.hint { (p.t(
                            "Dùng khi không có dịch vụ ký trên máy này: tải về bản cần ký, ký số bằng phần mềm ký số với token của bạn (không sửa nội dung), rồi tải tệp PDF đã ký lên. Máy chủ kiểm tra chữ ký và nội dung như trên.",
                            "When there is no signing service on this computer: download the file to sign, sign it with your signing software and token (without changing its content), and upload the signed PDF. The server checks it the same way.")) }
                        p { a href={ "/documents/" (doc.id) "/file?seq=" (latest) } { (p.t("Tải về bản cần ký (PDF)", "Download the file to sign (PDF)")) } }
                        form method="post" action={ "/documents/" (doc.id) "/signed" } enctype="multipart/form-data" {
                            input type="hidden" name="csrf" value=(p.csrf);
                            input type="hidden" name="action" value=(a.as_str());
                            @let fid = format!("signed-{}", a.as_str());
                            div.field {
                                label for=(fid) { (p.t("Tệp PDF đã ký số", "The signed PDF")) " *" }
                                input id=(fid) name="file" type="file" accept=".pdf,application/pdf" required;
                            }
                            button type="submit" { (p.t("Tải lên tệp đã ký", "Upload the signed file")) }
                        }
                    }
                    (super::remote_sign::form(st, p, doc.id, *a))
                }
            }
            @if !signing.is_empty() {
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

            (super::verification::section(st, p, &d).await)
            (super::attachments::section(st, p, doc).await)
            (super::copies::section(st, p, &d).await)
            h2 style="font-size:18px" { (p.t("Diễn biến", "Timeline")) }
            ol #timeline { @for ev in &d.timeline {
                li { (time_text(ev.created_at)) " — " strong { (ev.actor_display) } " — " (event_label(p, &ev.action))
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
    form_status(res, error.is_some())
}

#[derive(Deserialize)]
pub(in crate::ui) struct ActForm {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// Take a step without a file; a recall and the release of a number ask first.
pub(in crate::ui) async fn act_submit(
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
    let step = docs::StepInput {
        reason: f.reason.trim().to_owned(),
        ..Default::default()
    };
    run_step(&st, &p, id, action, step).await
}

/// Take `action` with `step` (the one implementation the API calls too): back to the document's
/// page with its success message, or the refusal.
async fn run_step(
    st: &AppState,
    p: &Page,
    id: i64,
    action: DocAction,
    step: docs::StepInput,
) -> Response {
    let Some(blobs) = blobs(st) else {
        return no_blobs(p);
    };
    match crate::documents::take_step(st, &blobs, &p.actor, id, action, step).await {
        Ok(_) => Redirect::to(&format!("/documents/{id}?done={}", action.as_str())).into_response(),
        Err(e) => step_error(st, p, id, e).await,
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

/// A multipart form posted on document `id`'s page: its fields once it could be read, carries the
/// session's CSRF token and the document is within the reader's reach; else the page to answer.
async fn document_form(
    st: &AppState,
    p: &Page,
    id: i64,
    mp: Multipart,
    max: usize,
) -> Result<Fields, Response> {
    let fields = match read_multipart(mp, max).await {
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

/// Upload the signed PDF of a signing step (checked by the server before it is accepted).
pub(in crate::ui) async fn signed_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    mp: Multipart,
) -> Response {
    let fields = match document_form(&st, &p, id, mp, crate::MAX_DOCUMENT_BODY).await {
        Ok(f) => f,
        Err(r) => return r,
    };
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
    let step = docs::StepInput {
        file: Some(bytes.to_vec()),
        file_name: pdf_name(name),
        ..Default::default()
    };
    run_step(&st, &p, id, action, step).await
}

/// A new draft of a document being drafted or returned.
pub(in crate::ui) async fn draft_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    mp: Multipart,
) -> Response {
    let fields = match document_form(&st, &p, id, mp, crate::MAX_DOCUMENT_BODY).await {
        Ok(f) => f,
        Err(r) => return r,
    };
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
pub(in crate::ui) struct CommentForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

/// Add a comment.
pub(in crate::ui) async fn comment_submit(
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
pub(in crate::ui) struct FileQuery {
    seq: Option<i64>,
}

/// Download one version (re-hashed by the store before it is served).
pub(in crate::ui) async fn file_download(
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

/// A stored ISO date (`2026-12-06`) as Vietnamese text writes it (`06/12/2026`); anything else
/// as stored.
fn day_month_year(iso: &str) -> String {
    let parts: Vec<&str> = iso.trim().split('-').collect();
    match parts.as_slice() {
        [y, m, d]
            if y.len() == 4
                && m.len() == 2
                && d.len() == 2
                && parts.iter().all(|x| x.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("{d}/{m}/{y}")
        }
        _ => iso.to_owned(),
    }
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn the_issue_date_reads_day_month_year() {
        assert_eq!(super::day_month_year("2026-12-06"), "06/12/2026");
        assert_eq!(super::day_month_year("06/12/2026"), "06/12/2026");
    }
}
