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
        Err(e) => return layout_store_error(&p, e),
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
            @if !page.items.is_empty() {
                (export_links(&p, "/api/v1/certificates", &query_string(&[
                    ("q", q.q.clone()),
                    ("status", q.status.clone().unwrap_or_default()),
                    ("expiring_within_days", days.clone()),
                ])))
            }
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
    import_form(&st, &p, q.agency_id, q.subscriber_id, None, None).await
}

/// An upload waiting for the officer to confirm that a certificate which does not name the
/// subscriber as the registry has them is to be imported: the certificate itself (PEM, carried
/// in the form so the file need not be chosen again) and what it says.
struct Pending {
    pem: String,
    holder: String,
    issuer: String,
    validity: String,
}

impl Pending {
    fn of(bytes: &[u8]) -> Option<Pending> {
        let certs = kyso_x509::Cert::from_pem_or_der(bytes).ok()?;
        let leaf = registry::parse_certificate(bytes).ok()?;
        let pem = certs.iter().map(kyso_x509::Cert::to_pem).collect();
        Some(Pending {
            pem,
            holder: leaf.common_name().unwrap_or_else(|| leaf.subject_display()),
            issuer: leaf
                .issuer_common_name()
                .unwrap_or_else(|| leaf.issuer_display()),
            validity: format!(
                "{} – {}",
                fmt_date(leaf.not_before()),
                fmt_date(leaf.not_after())
            ),
        })
    }
}

async fn import_form(
    st: &AppState,
    p: &Page,
    agency_id: Option<i64>,
    subscriber_id: Option<i64>,
    error: Option<(String, Option<&str>)>,
    pending: Option<Pending>,
) -> Response {
    let agencies = agency_options(st, p, Permission::WriteRegistry).await;
    let ef = error.as_ref().and_then(|e| e.1);
    let res = layout(
        p,
        p.t("Nhập chứng thư số", "Import a certificate"),
        html! {
            h1 { (p.t("Nhập chứng thư số", "Import a certificate")) }
            p { (p.t("Tệp .cer/.crt/.pem (DER hoặc PEM), hoặc tệp .p12 kèm mật khẩu (chỉ giữ lại chứng thư, không lưu khóa). Chứng thư số phải do tổ chức chứng thực tin cậy cấp, dùng để ký được và có thời hạn đúng Nghị định 68/2024/NĐ-CP.",
                     "A .cer/.crt/.pem file (DER or PEM), or a .p12 file with its password (only the certificate is kept, never the key). The certificate must come from a trusted certification authority, be able to sign and have a validity Decree 68/2024 allows.")) }
            (alert_error(error.as_ref().map(|e| e.0.as_str())))
            form method="post" action="/certificates/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                (select("agency_id", p.t("Cơ quan", "Agency"), &agencies, &agency_id.map(|i| i.to_string()).unwrap_or_default(), ef))
                (field("subscriber_id", p.t("Mã thuê bao (nếu có)", "Subscriber id (optional)"), &subscriber_id.map(|i| i.to_string()).unwrap_or_default(), "number", false, ef, None))
                @if let Some(pending) = &pending {
                    input type="hidden" name="certificate_pem" value=(pending.pem);
                    table style="max-width:720px" { tbody {
                        tr { th scope="row" { (p.t("Người giữ theo chứng thư số", "Holder named by the certificate")) } td { (pending.holder) } }
                        tr { th scope="row" { (p.t("Tổ chức cấp", "Issuer")) } td { (pending.issuer) } }
                        tr { th scope="row" { (p.t("Thời hạn", "Validity")) } td { (pending.validity) } }
                    } }
                    div.field {
                        label {
                            input type="checkbox" name="mismatch_confirmed" value="1" required;
                            " " (p.t("Tôi đã đối chiếu và xác nhận nhập chứng thư số này cho thuê bao đã chọn",
                                     "I have checked and confirm importing this certificate for the chosen subscriber"))
                        }
                    }
                    (field("mismatch_reason", p.t("Lý do", "Reason"), "", "text", true, ef,
                           Some(p.t("Ví dụ: chứng thư cấp trước khi thuê bao đổi tên theo CCCD mới",
                                    "E.g. issued before the subscriber's name changed on the new ID card"))))
                } @else {
                    (field("file", p.t("Tệp chứng thư số", "Certificate file"), "", "file", true, if ef == Some("certificate") || ef == Some("serial") { Some("file") } else { None }, None))
                    (field("password", p.t("Mật khẩu tệp .p12 (nếu có)", ".p12 password (if any)"), "", "password", false, ef, None))
                }
                button.primary type="submit" { (p.t("Nhập", "Import")) }
                @if pending.is_some() { " " a.button href="/certificates/import" { (p.t("Hủy, chọn tệp khác", "Cancel, choose another file")) } }
            }
        },
    );
    form_status(res, error.is_some())
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
    let pending_pem = form.text("certificate_pem");
    // The reason counts only with the box ticked.
    let mismatch_reason =
        Some(form.text("mismatch_reason")).filter(|_| !form.text("mismatch_confirmed").is_empty());
    let file = form.take_file("file").map(|(b, _)| b).unwrap_or_default();
    if let Some(r) = p.csrf_refusal(&csrf) {
        return r;
    }
    let Some(agency) = agency_id else {
        let msg = p.t("Cần chọn cơ quan.", "Choose the agency.").to_owned();
        return import_form(
            &st,
            &p,
            None,
            subscriber_id,
            Some((msg, Some("agency_id"))),
            None,
        )
        .await;
    };
    let bytes = if pending_pem.is_empty() {
        match crate::api::certificate_bytes(file, password.as_ref()) {
            Ok(b) => b,
            Err(e) => {
                let msg = e.message(p.lang).to_owned();
                return import_form(
                    &st,
                    &p,
                    Some(agency),
                    subscriber_id,
                    Some((msg, Some("certificate"))),
                    None,
                )
                .await;
            }
        }
    } else {
        pending_pem.into_bytes()
    };
    let input = registry::CertImport {
        agency_id: agency,
        subscriber_id,
        bytes: &bytes,
        mismatch_reason,
    };
    match registry::import_certificate(&st.store, &p.actor, &input, st.now()).await {
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
            // A mismatch is asked about with the certificate kept in the form.
            let pending = (field == Some("mismatch_reason"))
                .then(|| Pending::of(&bytes))
                .flatten();
            import_form(
                &st,
                &p,
                Some(agency),
                subscriber_id,
                Some((msg, field)),
                pending,
            )
            .await
        }
    }
}

/// One attribute of a distinguished name as kyso writes it (`CN=…, T=…, O=…`).
pub(super) fn dn_part<'a>(dn: &'a str, key: &str) -> Option<&'a str> {
    dn.split(", ")
        .find_map(|a| a.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// A certificate's subject or issuer as people name it: the name, then the title and the
/// organisation when there are ("Nguyễn Văn An — Giám đốc, Sở Khoa học và Công nghệ"); the
/// name as written when it has no common name.
pub(super) fn dn_readable(dn: &str) -> String {
    let Some(cn) = dn_part(dn, "CN") else {
        return dn.to_owned();
    };
    let rest: Vec<&str> = [dn_part(dn, "T"), dn_part(dn, "O")]
        .into_iter()
        .flatten()
        .filter(|v| *v != cn)
        .collect();
    if rest.is_empty() {
        cn.to_owned()
    } else {
        format!("{cn} — {}", rest.join(", "))
    }
}

/// The key usages as an officer reads them.
fn key_usage_words(p: &Page, ku: &str) -> String {
    ku.split(", ")
        .filter(|u| !u.is_empty())
        .map(|u| match u {
            "digitalSignature" => p.t("Ký số", "Digital signature"),
            "nonRepudiation" => p.t("Chống chối bỏ", "Non-repudiation"),
            "keyEncipherment" => p.t("Mã hóa khóa", "Key encipherment"),
            "keyCertSign" => p.t("Ký chứng thư", "Certificate signing"),
            "cRLSign" => p.t("Ký danh sách thu hồi", "CRL signing"),
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A certificate as an officer looks it up: who holds it, who issued it, how long it is valid,
/// what it may do, its fingerprint; the devices and requests around it; renewing it or asking
/// for its revocation.
pub(super) async fn certificate_page(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let now = st.now();
    let c = match registry::certificate(&st.store, &p.actor, id).await {
        Ok(c) => c,
        Err(e) => return layout_store_error(&p, e),
    };
    // Who holds which certificate is audited like a subscriber's record (as the API does).
    let object = format!("certificate:{id}");
    if let Err(refusal) = audit_read(&st, &p, "certificate.read", object, c.agency_id).await {
        return refusal;
    }
    let holder = match c.subscriber_id {
        Some(sid) => registry::subscriber(&st.store, &p.actor, sid).await.ok(),
        None => None,
    };
    let devices = registry::devices_of_certificate(&st.store, &p.actor, id)
        .await
        .unwrap_or_default();
    let requests = kyso_store::requests::requests_for_certificate(&st.store, &p.actor, id, now)
        .await
        .unwrap_or_default();
    let (replaces, replaced_by) = registry::certificate_succession(&st.store, &p.actor, id)
        .await
        .unwrap_or_default();
    let status = c.status_at(now);
    let name = dn_readable(&c.subject);
    let may_ask = p.can(Permission::DraftRequest) && status == "active";
    let ask = |kind: &str| {
        format!(
            "/requests/new?kind={kind}&agency_id={}&certificate_id={}",
            c.agency_id, c.id
        )
    };
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    layout(
        &p,
        &name,
        html! {
            h1 { (p.t("Chứng thư số: ", "Certificate: ")) (dn_part(&c.subject, "CN").unwrap_or(&name)) }
            div.table-wrap { table style="max-width:820px" { tbody {
                (row(p.t("Người giữ", "Holder"), html! {
                    @match &holder {
                        Some(h) => {
                            a href={ "/subscribers/" (h.id) } { (h.name) }
                            @if !h.title.is_empty() { ", " (h.title) }
                            " — " (h.agency_name)
                        }
                        None => { (name) }
                    }
                }))
                (row(p.t("Chứng thư cấp cho", "Issued to"), html! { (name) }))
                (row(p.t("Tổ chức cấp", "Issuer"), html! { (dn_readable(&c.issuer)) }))
                (row(p.t("Hiệu lực", "Validity"), html! { (fmt_date(c.not_before)) " – " (fmt_date(c.not_after)) }))
                (row(p.t("Trạng thái", "Status"), html! {
                    span class={ "status-" (status) } { (registry::cert_status_label(status, p.lang == Lang::En)) }
                    @if !c.revocation_reason.is_empty() { " — " (c.revocation_reason) }
                }))
                (row(p.t("Mục đích sử dụng khóa", "Key usage"), html! { (key_usage_words(&p, &c.key_usage)) }))
                (row(p.t("Số hiệu", "Serial"), html! { code { (c.serial) } }))
                (row(p.t("Dấu vân tay SHA-256", "SHA-256 fingerprint"), html! { code style="word-break:break-all" { (c.sha256) } }))
                @if let Some(old) = replaces {
                    (row(p.t("Gia hạn từ", "Renews"), html! { a href={ "/certificates/" (old) } { (p.t("chứng thư số trước", "the previous certificate")) } }))
                }
                @if let Some(new) = replaced_by {
                    (row(p.t("Đã được thay bằng", "Replaced by"), html! { a href={ "/certificates/" (new) } { (p.t("chứng thư số mới", "the new certificate")) } }))
                }
            } } }
            details {
                summary { (p.t("Tên đầy đủ theo chứng thư (dành cho kỹ thuật)", "Full names in the certificate (technical)")) }
                p { (p.t("Chủ thể: ", "Subject: ")) code { (c.subject) } }
                p { (p.t("Tổ chức cấp: ", "Issuer: ")) code { (c.issuer) } }
            }
            h2 style="font-size:18px" { (p.t("Thiết bị lưu khóa", "Devices")) }
            @if devices.is_empty() {
                p.muted { (p.t("Chưa có thiết bị nào gắn với chứng thư số này.", "No device holds this certificate.")) }
            } @else {
                ul { @for d in &devices {
                    li { a href={ "/devices/" (d.id) } { (d.serial) } " — " (kind_label::<kyso_domain::device::DeviceKind>(&d.kind, p.lang))
                         @if let Some(h) = &d.holder_name { " — " (h) } }
                } }
            }
            h2 style="font-size:18px" { (p.t("Đề nghị liên quan", "Requests")) }
            @if requests.is_empty() {
                p.muted { (p.t("Chưa có đề nghị nào về chứng thư số này.", "No request concerns this certificate.")) }
            } @else {
                ul { @for r in &requests {
                    li { a href={ "/requests/" (r.id) } { (p.t(r.kind.title_vi(), r.kind.title_en())) } " — " (p.t(r.state.label_vi(), r.state.label_en())) }
                } }
            }
            @if may_ask {
                p {
                    a.button href=(ask("renew")) { (p.t("Đề nghị gia hạn", "Request renewal")) }
                    " "
                    a.button.danger href=(ask("revoke")) { (p.t("Đề nghị thu hồi", "Request revocation")) }
                }
            }
            p { a href={ "/certificates/" (c.id) "/cer" } download { (p.t("Tải tệp chứng thư số (.cer)", "Download the certificate (.cer)")) } }
        },
    )
}

/// The certificate file (DER), re-hashed against its fingerprint; an audited read.
pub(super) async fn certificate_file(State(st): State<AppState>, p: Page, Id(id): Id) -> Response {
    let c = match registry::certificate(&st.store, &p.actor, id).await {
        Ok(c) => c,
        Err(e) => return layout_store_error(&p, e),
    };
    let object = format!("certificate:{id}");
    if let Err(refusal) = audit_read(&st, &p, "certificate.download", object, c.agency_id).await {
        return refusal;
    }
    match registry::certificate_der(&st.store, &p.actor, id).await {
        Ok(der) => (
            [
                (header::CONTENT_TYPE, "application/pkix-cert".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"chung-thu-so-{}.cer\"", c.serial),
                ),
            ],
            der,
        )
            .into_response(),
        Err(e) => layout_store_error(&p, e),
    }
}
