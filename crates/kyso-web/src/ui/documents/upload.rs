//! The upload of a new document: the Decree 30 form and its submission.

use super::*;

/// The values of the upload form, kept when it is shown again with an error.
#[derive(Default)]
struct Draft {
    agency_id: String,
    doc_type: String,
    subject: String,
    place: String,
    authority: String,
    principal_title: String,
    principal_id: String,
    signer_title: String,
    signer_id: String,
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
            principal_id: text(f, "principal_id"),
            signer_title: text(f, "signer_title"),
            signer_id: text(f, "signer_id"),
            unit_abbrev: text(f, "unit_abbrev"),
            recipients: text(f, "recipients"),
            urgency: text(f, "urgency"),
            confidentiality: text(f, "confidentiality"),
            page_count: text(f, "page_count"),
        }
    }

    /// The chosen signer (required: the approval and the personal signature are theirs).
    fn signer_id(&self) -> Result<i64, kyso_store::Error> {
        self.signer_id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                invalid(
                    "signer_id",
                    "Hãy chọn người ký văn bản.",
                    "Choose who signs the document.",
                )
            })
    }

    /// The metadata; an unknown choice is the store's invalid field. The names in the signer
    /// block are the chosen accounts' (the store fills them).
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
                principal_name: String::new(),
                title: self.signer_title.clone(),
                name: String::new(),
                principal_id: match self.principal_id.trim() {
                    "" | "0" => None,
                    id => Some(id.parse::<i64>().map_err(|_| bad("principal_id"))?),
                },
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
pub(in crate::ui) async fn new_page(State(st): State<AppState>, p: Page) -> Response {
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
    let signers = signer_groups(st, p, &agencies).await;
    let ef = error.and_then(|e| e.field());
    // The store names the signer block's fields "signer.title" and so on.
    let ef = ef.map(|f| match f {
        "signer.title" | "title" => "signer_title",
        "signer.name" | "name" => "signer_id",
        "signer.principal_title" => "principal_title",
        "signer.principal_name" | "signer.principal_id" => "principal_id",
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
                    (people_select("signer_id", p.t("Người ký", "Signer"), &signers, &v.signer_id, None, ef,
                        p.t("Người có thẩm quyền ký của cơ quan ban hành; chỉ người này duyệt và ký số văn bản bằng chứng thư số của mình.",
                            "A person with signing authority at the issuing agency; only they approve and sign the document, with their own certificate.")))
                    (select("authority", p.t("Thẩm quyền ký", "Signing authority"), &authorities, &v.authority, ef))
                    (people_select("principal_id", p.t("Ký thay cho (khi ký KT., TL., TUQ.)", "Signing for (KT., TL., TUQ.)"), &signers, &v.principal_id,
                        Some(p.t("— Không ký thay —", "— Not signing for another —")), ef,
                        p.t("Người đứng đầu mà người ký ký thay, thừa lệnh hoặc thừa ủy quyền.", "The head the signer signs for, by order or by authorization.")))
                    (field("principal_title", p.t("Chức vụ người được ký thay (ví dụ: Giám đốc)", "Title signed for (e.g. Director)"), &v.principal_title, "text", false, ef,
                        Some(p.t("Để trống: lấy chức vụ trong sổ đăng ký.", "Blank: the title in the registry."))))
                    (field("signer_title", p.t("Chức vụ người ký", "Signer's title"), &v.signer_title, "text", false, ef,
                        Some(p.t("Để trống: lấy chức vụ trong sổ đăng ký.", "Blank: the title in the registry."))))
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
                        "PDF; tệp DOCX hoặc ODT được máy chủ chuyển sang PDF nếu máy chủ có LibreOffice, nếu không hãy tải lên bản PDF.",
                        "PDF; a DOCX or ODT file is converted to PDF when the server has LibreOffice, otherwise upload a PDF."))
                        " " (p.t("Tối đa", "At most")) " " (crate::MAX_DOCUMENT_FILE >> 20) " MB." }
                }
                button.primary type="submit" { (p.t("Tải lên dự thảo", "Upload the draft")) }
            }
            }
        },
    );
    form_status(res, error.is_some())
}

/// The signers of each agency offered, by agency (at most 100 agencies).
async fn signer_groups(
    st: &AppState,
    p: &Page,
    agencies: &[(String, String)],
) -> Vec<(String, Vec<docs::SignerChoice>)> {
    let mut out = Vec::new();
    for (id, name) in agencies.iter().take(100) {
        let Ok(id) = id.parse::<i64>() else { continue };
        match docs::agency_signers(&st.store, &p.actor, id).await {
            Ok(list) if !list.is_empty() => {
                out.push((name.trim_start_matches("— ").to_owned(), list))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(agency = id, error = %e, "signers not listed"),
        }
    }
    out
}

/// A choice of a person among the agencies' signers, by full name and title.
fn people_select(
    id: &str,
    label: &str,
    groups: &[(String, Vec<docs::SignerChoice>)],
    selected: &str,
    none: Option<&str>,
    error_field: Option<&str>,
    hint: &str,
) -> Markup {
    let hint_id = format!("{id}-hint");
    html! {
        div.field {
            label for=(id) { (label) @if none.is_none() { " *" } }
            select id=(id) name=(id) required[none.is_none()] aria-describedby=(hint_id)
                aria-invalid=(if error_field == Some(id) { "true" } else { "false" }) {
                @if let Some(none) = none {
                    option value="" selected[selected.is_empty()] { (none) }
                } @else {
                    option value="" disabled selected[selected.is_empty()] { "—" }
                }
                @for (agency, people) in groups {
                    optgroup label=(agency) {
                        @for s in people {
                            @let v = s.user_id.to_string();
                            option value=(v) selected[v == selected] { (s.label()) }
                        }
                    }
                }
            }
            div.hint id=(hint_id) { (hint) }
        }
    }
}

/// Upload a new document.
pub(in crate::ui) async fn create_submit(
    State(st): State<AppState>,
    p: Page,
    mp: Multipart,
) -> Response {
    let fields = match read_multipart(mp, crate::MAX_DOCUMENT_BODY).await {
        Ok(f) => f,
        Err(e) => return unreadable(&p, e),
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
    let signer_id = match v.signer_id() {
        Ok(id) => id,
        Err(e) => return upload_form(&st, &p, &v, Some(&e)).await,
    };
    let input = docs::NewDocument {
        agency_id: v.agency_id.parse().unwrap_or(0),
        meta,
        signer_id: Some(signer_id),
        file_name,
        file: pdf,
    };
    match docs::create_document(&st.store, &blobs, &p.actor, &input, st.now()).await {
        Ok(d) => Redirect::to(&format!("/documents/{}?done=created", d.id)).into_response(),
        Err(e) => upload_form(&st, &p, &v, Some(&e)).await,
    }
}
