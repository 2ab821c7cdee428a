//! The archive (issue 19 item 2): the search (`/archive`: words, number and notation, signer,
//! agency, type, kind and dates; a page at a time), an entry (`/archive/{id}`: what it is, every
//! file kept with it, its dossier, which its agency's keeper changes), and the dossiers
//! (`/archive/dossiers`: the list of the year with the form opening one; a dossier's page with
//! its documents and, after a confirmation, its closing).

use kyso_domain::archive::{
    DossierState, Query as ArchiveQuery, Retention, SearchForm, RETENTION_YEARS,
};
use kyso_domain::documents::DocType;
use kyso_store::archive::{self, Entry, NewDossier};

use super::*;

fn kind_label(p: &Page, e: &Entry) -> &'static str {
    p.t(e.kind.label_vi(), e.kind.label_en())
}

/// A document type as stored, in words.
fn type_text(p: &Page, t: &str) -> String {
    DocType::parse(t)
        .map(|d| p.t(d.label_vi(), d.label_en()).to_owned())
        .unwrap_or_else(|_| t.to_owned())
}

fn date_cell(iso: &str) -> String {
    kyso_domain::calendar::iso_day_text(iso)
}

/// The results as a table (the search, a dossier's page).
fn entries_table(p: &Page, entries: &[Entry]) -> Markup {
    html! {
        div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Kết quả", "Results")) {
            table { thead { tr {
                th scope="col" { (p.t("Số, ký hiệu", "Number")) }
                th scope="col" { (p.t("Ngày", "Date")) }
                th scope="col" { (p.t("Trích yếu", "Subject")) }
                th scope="col" { (p.t("Loại", "Type")) }
                th scope="col" { (p.t("Người ký", "Signer")) }
                th scope="col" { (p.t("Cơ quan", "Agency")) }
                th scope="col" { (p.t("Hồ sơ", "Dossier")) }
            } } tbody { @for e in entries { tr {
                td { a href={ "/archive/" (e.id) } { @if e.notation.is_empty() { (p.t("(chưa có số)", "(no number)")) } @else { (e.notation) } } }
                td style="white-space:nowrap" { (date_cell(&e.doc_date)) }
                td { (e.subject) br; span.muted { (kind_label(p, e)) } }
                td { (type_text(p, &e.doc_type)) }
                td { (e.signer) }
                td { (e.agency_name) }
                td { @match (&e.dossier_code, e.dossier_id) {
                    (Some(c), Some(d)) => a href={ "/archive/dossiers/" (d) } { (c) },
                    _ => span.muted { "—" },
                } }
            } } } }
        }
    }
}

pub(super) async fn archive_page(
    State(st): State<AppState>,
    p: Page,
    Query(f): Query<SearchForm>,
) -> Response {
    let english = p.lang == Lang::En;
    let parsed = ArchiveQuery::parse(&f).map_err(kyso_store::Error::from);
    let searched = match &parsed {
        Ok(q) => Some(archive::search(&st.store, &p.actor, q, 50).await),
        Err(_) => None,
    };
    let (hits, error) = match (searched, parsed) {
        (Some(Ok(h)), _) => (Some(h), None),
        (Some(Err(kyso_store::Error::Forbidden)), _) => {
            return layout_store_error(&p, kyso_store::Error::Forbidden)
        }
        (Some(Err(e)), _) | (None, Err(e)) => (None, Some(e)),
        (None, Ok(_)) => (None, None),
    };
    let agencies = registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default();
    let agency_options: Vec<(String, String)> = std::iter::once((
        String::new(),
        p.t("Tất cả cơ quan được xem", "Every agency I may see")
            .to_owned(),
    ))
    .chain(
        agencies
            .iter()
            .filter(|a| p.actor.can(Permission::ReadArchive, &a.path))
            .map(|a| {
                (
                    a.id.to_string(),
                    format!("{}{}", "· ".repeat(a.depth), a.name),
                )
            }),
    )
    .collect();
    let types: Vec<(String, String)> =
        std::iter::once((String::new(), p.t("Mọi loại", "Any type").to_owned()))
            .chain(DocType::ALL.iter().map(|t| {
                (
                    t.as_str().to_owned(),
                    p.t(t.label_vi(), t.label_en()).to_owned(),
                )
            }))
            .collect();
    let kinds = vec![
        (
            String::new(),
            p.t("Đi và đến", "Outgoing and incoming").to_owned(),
        ),
        (
            "outgoing".to_owned(),
            p.t("Văn bản đi", "Outgoing").to_owned(),
        ),
        (
            "incoming".to_owned(),
            p.t("Văn bản đến", "Incoming").to_owned(),
        ),
    ];
    let ef = error.as_ref().and_then(|e| e.field());
    let msg = error.as_ref().map(|e| e.message(english).to_owned());
    let filtered = f != SearchForm::default();
    let next_href = hits.as_ref().and_then(|h| h.next).map(|n| {
        let mut g = f.clone();
        g.after = Some(n);
        format!(
            "/archive?{}",
            serde_urlencoded::to_string(&g).unwrap_or_default()
        )
    });
    let keeps = p.can(Permission::KeepArchive);
    let queue = if keeps {
        archive::queue_figures(&st.store).await.ok()
    } else {
        None
    };
    let agency_value = f.agency_id.map(|a| a.to_string()).unwrap_or_default();
    let res = layout(
        &p,
        p.t("Lưu trữ", "Archive"),
        html! {
            h1 { (p.t("Tra cứu văn bản lưu trữ", "Search the archive")) }
            p { a href="/archive/dossiers" { (p.t("Danh mục hồ sơ", "Dossiers")) } }
            (alert_error(msg.as_deref()))
            form.filters method="get" action="/archive" role="search" {
                div { label for="q" { (p.t("Từ khóa (trích yếu, nội dung, nơi gửi/nhận)", "Words (subject, text, sender or recipients)")) }
                      input #q name="q" value=(f.q) aria-invalid=(if ef == Some("q") { "true" } else { "false" }); }
                div { label for="number" { (p.t("Số, ký hiệu", "Number and notation")) } input #number name="number" value=(f.number); }
                div { label for="signer" { (p.t("Người ký", "Signer")) } input #signer name="signer" value=(f.signer); }
                div { (select("agency_id", p.t("Cơ quan", "Agency"), &agency_options, &agency_value, ef)) }
                div { (select("doc_type", p.t("Loại văn bản", "Type"), &types, &f.doc_type, ef)) }
                div { (select("kind", p.t("Văn bản đi/đến", "Outgoing/incoming"), &kinds, &f.kind, ef)) }
                div { label for="from" { (p.t("Từ ngày", "From")) }
                      input #from name="from" value=(f.from) placeholder="dd/mm/yyyy" aria-invalid=(if ef == Some("from") { "true" } else { "false" }); }
                div { label for="to" { (p.t("Đến ngày", "To")) }
                      input #to name="to" value=(f.to) placeholder="dd/mm/yyyy" aria-invalid=(if ef == Some("to") { "true" } else { "false" }); }
                @if let Some(d) = f.dossier_id { input type="hidden" name="dossier_id" value=(d); }
                button.primary type="submit" { (p.t("Tìm", "Search")) }
            }
            p.muted { (p.t("Tìm không phân biệt dấu và chữ hoa: \"phe duyet\" tìm thấy \"Phê duyệt\"; văn bản tìm được chứa đủ mọi từ đã gõ.",
                           "Accents and case do not matter: \"phe duyet\" finds \"Phê duyệt\"; the documents found hold every word typed.")) }
            @if let Some((waiting, failed)) = queue {
                @if waiting > 0 {
                    p { (p.t("Đang chờ đưa vào lưu trữ: ", "Waiting to be filed: ")) (waiting)
                        @if failed > 0 { " — " span.status-expired { (failed) (p.t(" văn bản không lưu được (không đọc được tệp); báo quản trị.", " could not be filed (their file unreadable); tell the administrator.")) } } }
                }
            }
            @if let Some(h) = &hits {
                @if h.entries.is_empty() {
                    (empty_list(&p, filtered, ("Kho lưu trữ chưa có văn bản nào.", "The archive holds no document yet.")))
                } @else {
                    (entries_table(&p, &h.entries))
                    @if let Some(href) = &next_href {
                        p { a.button href=(href) { (p.t("Trang sau", "Next page")) } }
                    }
                }
            }
        },
    );
    form_status(res, error.is_some())
}

/// Which page of an entry's files to download.
#[derive(Deserialize)]
pub(super) struct FilePath {
    id: i64,
    n: usize,
}

pub(super) async fn entry_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    entry_view(&st, &p, id, None).await
}

async fn entry_view(
    st: &AppState,
    p: &Page,
    id: i64,
    error: Option<&kyso_store::Error>,
) -> Response {
    let d = match archive::entry(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(p, e),
    };
    let e = &d.entry;
    let english = p.lang == Lang::En;
    let dossiers = if d.keeps {
        archive::open_dossiers_of(&st.store, e.agency_id)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut options: Vec<(String, String)> = vec![(
        String::new(),
        p.t("— Không thuộc hồ sơ nào —", "— In no dossier —")
            .to_owned(),
    )];
    options.extend(dossiers.iter().map(|(i, l)| (i.to_string(), l.clone())));
    let current = e.dossier_id.map(|i| i.to_string()).unwrap_or_default();
    let source_href = match e.kind {
        kyso_domain::archive::EntryKind::Outgoing => format!("/documents/{}", e.source_id),
        kyso_domain::archive::EntryKind::Incoming => format!("/incoming/{}", e.source_id),
    };
    let title = if e.notation.is_empty() {
        e.subject.clone()
    } else {
        e.notation.clone()
    };
    let msg = error.map(|x| x.message(english).to_owned());
    let res = layout(
        p,
        &title,
        html! {
            h1 { (kind_label(p, e)) " " (title) }
            (alert_error(msg.as_deref()))
            table style="max-width:800px" { tbody {
                tr { th scope="row" { (p.t("Số, ký hiệu", "Number and notation")) } td { (e.notation) } }
                tr { th scope="row" { (p.t("Ngày văn bản", "Date")) } td { (date_cell(&e.doc_date)) } }
                tr { th scope="row" { (p.t("Loại văn bản", "Type")) } td { (type_text(p, &e.doc_type)) } }
                tr { th scope="row" { (p.t("Trích yếu", "Subject")) } td { (e.subject) } }
                tr { th scope="row" { (p.t("Người ký", "Signer")) } td { (e.signer) } }
                tr { th scope="row" { @match e.kind { kyso_domain::archive::EntryKind::Outgoing => { (p.t("Nơi nhận", "Recipients")) }, kyso_domain::archive::EntryKind::Incoming => { (p.t("Nơi gửi", "Sender")) } } } td { (e.counterpart) } }
                tr { th scope="row" { (p.t("Cơ quan lưu", "Kept by")) } td { (e.agency_name) } }
                tr { th scope="row" { (p.t("Ngày đưa vào lưu trữ", "Filed")) } td { (fmt_time(e.filed_at)) } }
                tr { th scope="row" { (p.t("Nội dung", "Text")) } td { (p.t(e.text_state.label_vi(), e.text_state.label_en()))
                    @if !d.text_note.is_empty() { br; span.muted { (d.text_note) } } } }
                tr { th scope="row" { (p.t("Hồ sơ", "Dossier")) } td { @match (&e.dossier_code, e.dossier_id) {
                    (Some(c), Some(i)) => a href={ "/archive/dossiers/" (i) } { (c) },
                    _ => span.muted { (p.t("Chưa đưa vào hồ sơ", "Not in a dossier")) },
                } } }
                tr { th scope="row" { (p.t("Mã băm SHA-256 bản lưu", "SHA-256 of the copy filed")) } td { code { (d.sha256) } } }
            } }
            p { a href=(source_href) { (p.t("Xem văn bản, quá trình xử lý và kiểm tra chữ ký", "See the document, its history and its signatures")) } }
            h2 style="font-size:18px" { (p.t("Các tệp được lưu", "Files kept")) }
            ul { @for f in &d.files {
                li { a href={ "/archive/" (e.id) "/files/" (f.n) } download { (p.t(&f.label, &f.label_en)) }
                     @if f.size >= 0 { " · " (f.size) (p.t(" byte", " bytes")) } }
            } }
            @if d.keeps {
                h2 style="font-size:18px" { (p.t("Đưa vào hồ sơ", "File into a dossier")) }
                @if dossiers.is_empty() {
                    p.muted { (p.t("Cơ quan chưa có hồ sơ đang lập. ", "The agency has no open dossier. "))
                              a href="/archive/dossiers" { (p.t("Mở hồ sơ", "Open a dossier")) } }
                }
                form method="post" action={ "/archive/" (e.id) "/dossier" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("dossier_id", p.t("Hồ sơ", "Dossier"), &options, &current, error.and_then(|x| x.field())))
                    button.primary type="submit" { (p.t("Lưu", "Save")) }
                }
            }
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize, Default)]
pub(super) struct DossierChoice {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dossier_id: String,
}

pub(super) async fn file_into_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<DossierChoice>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let dossier = f.dossier_id.trim().parse::<i64>().ok();
    match archive::file_into(&st.store, &p.actor, id, dossier, st.now()).await {
        Ok(_) => Redirect::to(&format!("/archive/{id}?done=filed_into")).into_response(),
        Err(e) => entry_view(&st, &p, id, Some(&e)).await,
    }
}

pub(super) async fn entry_file(
    State(st): State<AppState>,
    p: Page,
    axum::extract::Path(FilePath { id, n }): axum::extract::Path<FilePath>,
) -> Response {
    let Some(blobs) = st.blobs.clone() else {
        return super::incoming::no_blobs(&p);
    };
    match archive::entry_file(&st.store, &blobs, &p.actor, id, Some(n)).await {
        Ok((f, bytes)) => {
            let safe: String = f
                .file_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .take(60)
                .collect();
            let name = if safe.is_empty() {
                format!("luu-tru-{id}-{n}.pdf")
            } else {
                safe
            };
            super::incoming::pdf(name, bytes)
        }
        Err(e) => layout_store_error(&p, e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct YearQuery {
    #[serde(default)]
    year: Option<i64>,
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct DossierForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    retention: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn dossiers_page(
    State(st): State<AppState>,
    p: Page,
    Query(y): Query<YearQuery>,
) -> Response {
    dossiers_view(&st, &p, y.year, &DossierForm::default(), None).await
}

async fn dossiers_view(
    st: &AppState,
    p: &Page,
    year: Option<i64>,
    v: &DossierForm,
    error: Option<&kyso_store::Error>,
) -> Response {
    let list = match archive::dossiers(&st.store, &p.actor, year).await {
        Ok(l) => l,
        Err(e) => return layout_store_error(p, e),
    };
    let english = p.lang == Lang::En;
    let keeps_at: Vec<(String, String)> = registry::agencies(&st.store, &p.actor, "", None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| p.actor.can(Permission::KeepArchive, &a.path))
        .map(|a| {
            (
                a.id.to_string(),
                format!("{}{}", "· ".repeat(a.depth), a.name),
            )
        })
        .collect();
    let mut retentions: Vec<(String, String)> =
        vec![("permanent".into(), p.t("Vĩnh viễn", "Permanent").to_owned())];
    retentions.extend(RETENTION_YEARS.iter().map(|y| {
        (
            y.to_string(),
            if english {
                format!("{y} years")
            } else {
                format!("{y} năm")
            },
        )
    }));
    let ef = error.and_then(|e| e.field());
    let msg = error.map(|e| e.message(english).to_owned());
    let this_year = st.now().to_offset(kyso_domain::calendar::VIETNAM).year();
    let year_value = if v.year.is_empty() {
        this_year.to_string()
    } else {
        v.year.clone()
    };
    let retention_value = if v.retention.is_empty() {
        "10".to_owned()
    } else {
        v.retention.clone()
    };
    let res = layout(
        p,
        p.t("Danh mục hồ sơ", "Dossiers"),
        html! {
            h1 { (p.t("Danh mục hồ sơ", "Dossiers")) }
            p { a href="/archive" { (p.t("Tra cứu văn bản lưu trữ", "Search the archive")) } }
            form.filters method="get" action="/archive/dossiers" {
                div { label for="year-filter" { (p.t("Năm", "Year")) } input #year-filter name="year" value=[year] inputmode="numeric"; }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
            }
            @if list.is_empty() {
                (empty_list(p, year.is_some(), ("Chưa có hồ sơ nào.", "No dossier yet.")))
            } @else {
                div style="overflow-x:auto" tabindex="0" role="region" aria-label=(p.t("Danh mục hồ sơ", "Dossiers")) {
                    table { thead { tr {
                        th scope="col" { (p.t("Số, ký hiệu hồ sơ", "Code")) }
                        th scope="col" { (p.t("Tiêu đề hồ sơ", "Title")) }
                        th scope="col" { (p.t("Năm", "Year")) }
                        th scope="col" { (p.t("Thời hạn bảo quản", "Retention")) }
                        th scope="col" { (p.t("Số văn bản", "Documents")) }
                        th scope="col" { (p.t("Trạng thái", "State")) }
                        th scope="col" { (p.t("Cơ quan", "Agency")) }
                    } } tbody { @for d in &list { tr {
                        td { a href={ "/archive/dossiers/" (d.id) } { (d.code) } }
                        td { (d.title) }
                        td { (d.year) }
                        td { (if english { d.retention().label_en() } else { d.retention().label_vi() }) }
                        td { (d.entries) }
                        td { (p.t(d.state.label_vi(), d.state.label_en())) }
                        td { (d.agency_name) }
                    } } }
                    }
                }
            }
            @if !keeps_at.is_empty() {
                h2 style="font-size:18px" { (p.t("Mở hồ sơ", "Open a dossier")) }
                (alert_error(msg.as_deref()))
                form method="post" action="/archive/dossiers" novalidate {
                    input type="hidden" name="csrf" value=(p.csrf);
                    (select("agency_id", p.t("Cơ quan", "Agency"), &keeps_at, &v.agency_id, ef))
                    (field("year", p.t("Năm", "Year"), &year_value, "text", true, ef, None))
                    (field("code", p.t("Số và ký hiệu hồ sơ", "Dossier code"), &v.code, "text", true, ef, Some(p.t("Ví dụ 01.TH, 05/VP", "E.g. 01.TH, 05/VP"))))
                    (field("title", p.t("Tiêu đề hồ sơ", "Title"), &v.title, "text", true, ef, None))
                    (select("retention", p.t("Thời hạn bảo quản", "Retention"), &retentions, &retention_value, ef))
                    (field("note", p.t("Ghi chú", "Note"), &v.note, "text", false, ef, None))
                    button.primary type="submit" { (p.t("Mở hồ sơ", "Open the dossier")) }
                }
            }
        },
    );
    form_status(res, error.is_some())
}

pub(super) async fn dossier_create_submit(
    State(st): State<AppState>,
    p: Page,
    Form(f): Form<DossierForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    let input = NewDossier {
        agency_id: f.agency_id.trim().parse().unwrap_or(0),
        year: f.year.trim().parse().ok(),
        code: f.code.clone(),
        title: f.title.clone(),
        retention: f.retention.clone(),
        note: f.note.clone(),
    };
    if f.year.trim().parse::<i64>().is_err() {
        let e = kyso_store::Error::from(kyso_domain::fields::FieldError::new(
            "year",
            "Hãy nhập năm của hồ sơ (4 chữ số).",
            "Enter the dossier's year (4 digits).",
        ));
        return dossiers_view(&st, &p, None, &f, Some(&e)).await;
    }
    match archive::create_dossier(&st.store, &p.actor, &input, st.now()).await {
        Ok(d) => {
            Redirect::to(&format!("/archive/dossiers/{}?done=dossier_opened", d.id)).into_response()
        }
        Err(e) => dossiers_view(&st, &p, None, &f, Some(&e)).await,
    }
}

pub(super) async fn dossier_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let d = match archive::dossier(&st.store, &p.actor, id).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(&p, e),
    };
    let q = ArchiveQuery {
        dossier_id: Some(id),
        ..Default::default()
    };
    let hits = match archive::search(&st.store, &p.actor, &q, archive::MAX_PAGE).await {
        Ok(h) => h,
        Err(e) => return layout_store_error(&p, e),
    };
    let english = p.lang == Lang::En;
    let keeps = archive::may_keep(&st.store, &p.actor, d.agency_id).await;
    let retention: Retention = d.retention();
    let title = format!("{} — {}", d.code, d.title);
    layout(
        &p,
        &title,
        html! {
            h1 { (p.t("Hồ sơ ", "Dossier ")) (d.code) }
            table style="max-width:800px" { tbody {
                tr { th scope="row" { (p.t("Tiêu đề", "Title")) } td { (d.title) } }
                tr { th scope="row" { (p.t("Cơ quan", "Agency")) } td { (d.agency_name) } }
                tr { th scope="row" { (p.t("Năm", "Year")) } td { (d.year) } }
                tr { th scope="row" { (p.t("Thời hạn bảo quản", "Retention")) } td { (if english { retention.label_en() } else { retention.label_vi() }) } }
                tr { th scope="row" { (p.t("Người lập", "Kept by")) } td { (d.keeper) } }
                tr { th scope="row" { (p.t("Trạng thái", "State")) } td { (p.t(d.state.label_vi(), d.state.label_en()))
                    @if let Some(c) = d.closed_at { " · " (fmt_date(c)) } } }
                @if !d.note.is_empty() { tr { th scope="row" { (p.t("Ghi chú", "Note")) } td { (d.note) } } }
            } }
            h2 style="font-size:18px" { (p.t("Văn bản trong hồ sơ", "Documents in the dossier")) " (" (d.entries) ")" }
            @if hits.entries.is_empty() {
                p.muted { (p.t("Chưa có văn bản nào. Mở một văn bản trong kho lưu trữ và chọn hồ sơ này.",
                               "No document yet. Open a document of the archive and choose this dossier.")) }
            } @else {
                (entries_table(&p, &hits.entries))
            }
            @if keeps && d.state != DossierState::Open {
                h2 style="font-size:18px" { (p.t("Nộp lưu", "Hand-over")) }
                p { (p.t("Gói nộp lưu gồm mọi tệp của các văn bản trong hồ sơ, nguyên từng byte, danh mục (ho-so.json, muc-luc.csv) với mã băm SHA-256 của từng tệp; kiểm tra được không cần mạng bằng lệnh ",
                         "The hand-over package holds every file of the dossier's documents byte for byte and a manifest (ho-so.json, muc-luc.csv) with each file's SHA-256; check it offline with "))
                    code { "kyso archive verify" } "." }
                p { a.button href={ "/archive/dossiers/" (d.id) "/package.zip" } download { (p.t("Tải gói nộp lưu (.zip)", "Download the hand-over package (.zip)")) } }
                @if d.state == DossierState::Closed {
                    form method="post" action={ "/archive/dossiers/" (d.id) "/hand-over" } {
                        input type="hidden" name="csrf" value=(p.csrf);
                        button.danger type="submit" style="margin-left:0" { (p.t("Ghi nhận đã nộp lưu", "Record the hand-over")) }
                    }
                }
            }
            @if keeps && d.state == DossierState::Open {
                form method="post" action={ "/archive/dossiers/" (d.id) "/close" } style="margin-top:16px" {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button.danger type="submit" style="margin-left:0" { (p.t("Kết thúc hồ sơ", "Close the dossier")) }
                }
            }
        },
    )
}

#[derive(Deserialize, Default)]
pub(super) struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// A dossier's step taken after a confirmation page: closing it, recording its hand-over.
#[derive(Clone, Copy)]
enum DossierStep {
    Close,
    HandOver,
}

impl DossierStep {
    fn path(self) -> &'static str {
        match self {
            DossierStep::Close => "close",
            DossierStep::HandOver => "hand-over",
        }
    }
    fn done(self) -> &'static str {
        match self {
            DossierStep::Close => "dossier_closed",
            DossierStep::HandOver => "dossier_handed_over",
        }
    }
    /// The heading (and button) and the question of its confirmation page.
    fn words(self, p: &Page) -> (&'static str, &'static str) {
        match self {
            DossierStep::Close => (
                p.t("Kết thúc hồ sơ", "Close the dossier"),
                p.t(
                    "Sau khi kết thúc, không đưa thêm hay rút văn bản khỏi hồ sơ; thời hạn bảo quản tính từ năm nay. Kết thúc hồ sơ này?",
                    "Once closed, nothing is filed into or taken out of the dossier; its retention runs from this year. Close it?",
                ),
            ),
            DossierStep::HandOver => (
                p.t("Ghi nhận đã nộp lưu", "Record the hand-over"),
                p.t(
                    "Chỉ ghi nhận khi Lưu trữ lịch sử đã nhận gói nộp lưu và kiểm tra đủ tệp. Ghi nhận hồ sơ này đã nộp lưu?",
                    "Record it only once the historical archive has received the package and checked its files. Record this dossier as handed over?",
                ),
            ),
        }
    }
}

/// `step` on dossier `id`: its confirmation page first, then the store's step.
async fn dossier_step(
    st: &AppState,
    p: &Page,
    id: i64,
    f: &CloseForm,
    step: DossierStep,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    if f.confirm != "yes" {
        let d = match archive::dossier(&st.store, &p.actor, id).await {
            Ok(d) => d,
            Err(e) => return layout_store_error(p, e),
        };
        let entries = d.entries.to_string();
        let action = format!("/archive/dossiers/{id}/{}", step.path());
        let cancel = format!("/archive/dossiers/{id}");
        let (heading, question) = step.words(p);
        return confirm_page(
            p,
            Confirm {
                heading,
                question,
                facts: &[
                    (p.t("Hồ sơ: ", "Dossier: "), &d.code),
                    (p.t("Tiêu đề: ", "Title: "), &d.title),
                    (p.t("Số văn bản: ", "Documents: "), &entries),
                ],
                action: &action,
                multipart: false,
                hidden: &[],
                button: heading,
                danger: true,
                cancel: &cancel,
            },
        );
    }
    let now = st.now();
    let done = match step {
        DossierStep::Close => archive::close_dossier(&st.store, &p.actor, id, now).await,
        DossierStep::HandOver => archive::hand_over(&st.store, &p.actor, id, now).await,
    };
    match done {
        Ok(_) => {
            Redirect::to(&format!("/archive/dossiers/{id}?done={}", step.done())).into_response()
        }
        Err(e) => layout_store_error(p, e),
    }
}

pub(super) async fn dossier_close_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CloseForm>,
) -> Response {
    dossier_step(&st, &p, id, &f, DossierStep::Close).await
}

pub(super) async fn dossier_hand_over_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CloseForm>,
) -> Response {
    dossier_step(&st, &p, id, &f, DossierStep::HandOver).await
}

pub(super) async fn dossier_package(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let Some(blobs) = st.blobs.clone() else {
        return super::incoming::no_blobs(&p);
    };
    match archive::package(&st.store, &blobs, &p.actor, id, st.now()).await {
        Ok((name, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => layout_store_error(&p, e),
    }
}
