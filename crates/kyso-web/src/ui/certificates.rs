//! Certificates: search and importing one (PEM, DER or PKCS#12).

use super::*;

pub(super) async fn certificates_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<CertQuery>,
) -> Response {
    let now = st.now();
    let page = match registry::search_certificates(&st.store, &p.actor, &q, now).await {
        Ok(r) => r,
        Err(e) => return store_error(p.lang, e),
    };
    let statuses: Vec<(String, String)> = [
        ("", p.t("Tất cả", "All")),
        ("active", p.t("Còn hiệu lực", "Valid")),
        ("expired", p.t("Hết hạn", "Expired")),
        ("revoked", p.t("Đã thu hồi", "Revoked")),
    ]
    .iter()
    .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
    .collect();
    let days = q
        .expiring_within_days
        .map(|d| d.to_string())
        .unwrap_or_default();
    layout(
        &p,
        p.t("Chứng thư số", "Certificates"),
        html! {
            h1 { (p.t("Chứng thư số", "Certificates")) }
            form.filters method="get" action="/certificates" role="search" {
                div { label for="q" { (p.t("Chủ thể, người giữ hoặc số hiệu", "Subject, holder or serial")) }
                      input #q name="q" type="search" value=(q.q) size="32"; }
                div { (select("status", p.t("Trạng thái", "Status"), &statuses, q.status.as_deref().unwrap_or(""), None)) }
                div { label for="expiring_within_days" { (p.t("Hết hạn trong (ngày)", "Expiring within (days)")) }
                      input #expiring_within_days name="expiring_within_days" type="number" min="0" value=(days) size="6"; }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
                @if p.can(Permission::WriteRegistry) { a.button href="/certificates/import" { (p.t("Nhập chứng thư số", "Import a certificate")) } }
            }
            p.muted { (page.total) " " (p.t("kết quả", "results")) }
            (cert_table(&p, &page.items, now))
        },
    )
}

#[derive(Deserialize, Default)]
pub(super) struct ImportPrefill {
    #[serde(default)]
    agency_id: Option<i64>,
    #[serde(default)]
    subscriber_id: Option<i64>,
}

pub(super) async fn import_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ImportPrefill>,
) -> Response {
    import_form(&st, &p, q.agency_id, q.subscriber_id, None).await
}

pub(super) async fn import_form(
    st: &AppState,
    p: &Page,
    agency_id: Option<i64>,
    subscriber_id: Option<i64>,
    error: Option<(String, Option<&str>)>,
) -> Response {
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let ef = error.as_ref().and_then(|e| e.1);
    let res = layout(
        p,
        p.t("Nhập chứng thư số", "Import a certificate"),
        html! {
            h1 { (p.t("Nhập chứng thư số", "Import a certificate")) }
            p { (p.t("Tệp .cer/.crt/.pem (DER hoặc PEM), hoặc tệp .p12 kèm mật khẩu (chỉ giữ lại chứng thư, không lưu khóa).",
                     "A .cer/.crt/.pem file (DER or PEM), or a .p12 file with its password (only the certificate is kept, never the key).")) }
            (alert_error(error.as_ref().map(|e| e.0.as_str())))
            form method="post" action="/certificates/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, &agency_id.map(|i| i.to_string()).unwrap_or_default(), ef))
                (field("subscriber_id", p.t("Mã thuê bao (nếu có)", "Subscriber id (optional)"), &subscriber_id.map(|i| i.to_string()).unwrap_or_default(), "number", false, ef, None))
                (field("file", p.t("Tệp chứng thư số", "Certificate file"), "", "file", true, if ef == Some("certificate") || ef == Some("serial") { Some("file") } else { None }, None))
                (field("password", p.t("Mật khẩu tệp .p12 (nếu có)", ".p12 password (if any)"), "", "password", false, ef, None))
                button.primary type="submit" { (p.t("Nhập", "Import")) }
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

pub(super) async fn import_submit(State(st): State<AppState>, p: Page, mp: Multipart) -> Response {
    let mut form = match crate::multipart::read(mp, crate::MAX_UPLOAD).await {
        Ok(f) => f,
        Err(e) => return error_page(p.lang, e.status(), &e.message(p.lang)),
    };
    let csrf = form.csrf();
    let agency_id: Option<i64> = form.text("agency_id").parse().ok();
    let subscriber_id: Option<i64> = form.text("subscriber_id").parse().ok();
    let password = Some(Zeroizing::new(form.text("password"))).filter(|p| !p.is_empty());
    let file = form.take_file("file").map(|(b, _)| b).unwrap_or_default();
    if let Some(r) = p.csrf_refusal(&csrf) {
        return r;
    }
    let Some(agency) = agency_id else {
        let msg = p.t("Cần chọn cơ quan.", "Choose the agency.").to_owned();
        return import_form(&st, &p, None, subscriber_id, Some((msg, Some("agency_id")))).await;
    };
    let bytes = match crate::api::certificate_bytes(file, password.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            let msg = e.message(p.lang).to_owned();
            return import_form(
                &st,
                &p,
                Some(agency),
                subscriber_id,
                Some((msg, Some("certificate"))),
            )
            .await;
        }
    };
    match registry::import_certificate(&st.store, &p.actor, agency, subscriber_id, &bytes, st.now())
        .await
    {
        Ok(c) => match c.subscriber_id {
            Some(sid) => Redirect::to(&format!("/subscribers/{sid}?done=certificate_imported"))
                .into_response(),
            None => local_redirect(&format!(
                "/certificates?q={}&done=certificate_imported",
                c.serial
            )),
        },
        Err(e) => {
            let msg = e.message(p.lang == Lang::En);
            let field = e.field();
            import_form(&st, &p, Some(agency), subscriber_id, Some((msg, field))).await
        }
    }
}
