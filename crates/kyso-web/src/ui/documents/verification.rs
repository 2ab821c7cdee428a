//! The "Kiểm tra chữ ký số" section of a document's page (issue 17 item 10): the verification
//! report of each signature its signed versions carry, as a civil servant reads it. The same
//! validation and the same words as `kyso verify` (`kyso_pades::validate`,
//! `kyso_services::report`), offline: the page fetches nothing, so what the file does not carry
//! (revocation information) is *indeterminate* with its reason, never "invalid". The trust
//! anchors are the server's (`AppState::with_trust_anchors`).

use std::sync::Arc;

use kyso_pades::validate::{DocumentValidation, Role, SignatureValidation, ValidateOptions};
use kyso_pades::verify::SignatureKind;
use kyso_services::report;

use super::*;

/// Signed versions checked on one page load (the latest ones).
const MAX_CHECKED: usize = 4;

/// The section for the signed versions of `d` (none: an empty markup, no heading).
pub(super) async fn section(st: &AppState, p: &Page, d: &docs::DocumentDetail) -> Markup {
    let signed: Vec<&docs::Version> = d
        .versions
        .iter()
        .filter(|v| {
            matches!(
                v.kind,
                docs::VersionKind::PersonallySigned | docs::VersionKind::OrgSigned
            )
        })
        .collect();
    if signed.is_empty() {
        return html! {};
    }
    let Some(blobs) = blobs(st) else {
        return html! {};
    };
    let mut checked = Vec::new();
    for (i, v) in signed.iter().rev().take(MAX_CHECKED).enumerate() {
        let outcome = check(st, p, &blobs, d.document.id, v.seq).await;
        checked.push((i == 0, *v, outcome));
    }
    let lang = lang_of(p);
    html! {
        section aria-labelledby="sig-check" style="max-width:820px" {
            h2 #sig-check style="font-size:18px" { (p.t("Kiểm tra chữ ký số", "Signature verification")) }
            p.hint { (p.t(
                "Kiểm tra tại máy chủ như lệnh kyso verify, với các chứng thư gốc tin cậy của máy chủ, không tải thông tin thu hồi qua mạng: điều gì tệp không kèm theo thì ghi là chưa xác định được.",
                "Checked on the server as kyso verify does, against the server's trusted roots, without fetching revocation information: what the file does not carry is reported as not established."
            )) }
            @for (open, v, outcome) in &checked {
                details open[*open] style="margin-bottom:12px" {
                    summary {
                        strong { (p.t("Phiên bản", "Version")) " " (v.seq) }
                        " — " (version_label(p, v.kind))
                        @if let Ok(r) = outcome { " — " (report::verdict_text(r.verdict, lang)) }
                    }
                    @match outcome {
                        Ok(r) => { (document_report(p, r)) }
                        Err(msg) => { p role="status" { strong { (p.t("Chưa kiểm tra được: ", "Could not be checked: ")) } (msg) } }
                    }
                }
            }
            @if signed.len() > MAX_CHECKED {
                p.hint { (p.t(
                    "Các phiên bản cũ hơn: tải về và kiểm tra bằng lệnh kyso verify.",
                    "Older versions: download them and check them with kyso verify."
                )) }
            }
        }
    }
}

fn lang_of(p: &Page) -> kyso_i18n::Lang {
    match p.lang {
        crate::auth::Lang::Vi => kyso_i18n::Lang::Vi,
        crate::auth::Lang::En => kyso_i18n::Lang::En,
    }
}

/// Validate version `seq` off the async threads; an error as a sentence for the reader.
async fn check(
    st: &AppState,
    p: &Page,
    blobs: &kyso_store::blobs::Blobs,
    id: i64,
    seq: i64,
) -> Result<DocumentValidation, String> {
    let bytes = match docs::version_file(&st.store, blobs, &p.actor, id, seq).await {
        Ok((_, b)) => b,
        Err(e) => {
            tracing::warn!(document = id, seq, error = %e, "cannot read a signed version to verify it");
            return Err(p
                .t(
                    "không đọc được tệp của phiên bản này",
                    "the version's file cannot be read",
                )
                .to_owned());
        }
    };
    let opts = ValidateOptions::new((*st.trust).clone(), (st.clock)());
    let src: Arc<dyn kyso_pdf::Source> = Arc::new(kyso_pdf::MemSource::new(bytes));
    match tokio::task::spawn_blocking(move || kyso_pades::validate::validate(src, &opts)).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            tracing::warn!(document = id, seq, error = %e, "a signed version does not validate");
            Err(p
                .t(
                    "tệp không đọc được như một tệp PDF có chữ ký số",
                    "the file cannot be read as a signed PDF",
                )
                .to_owned())
        }
        Err(e) => {
            tracing::error!(document = id, seq, error = %e, "the verification task failed");
            Err(p
                .t(
                    "lỗi máy chủ khi kiểm tra",
                    "a server error during the check",
                )
                .to_owned())
        }
    }
}

/// A reason code in the reader's words; the trust anchor's is the server's, not `--trust`.
fn reason(code: &str, p: &Page) -> String {
    match code {
        "NO_TRUST_ANCHOR" => p
            .t(
                "máy chủ chưa được cấu hình chứng thư gốc tin cậy",
                "the server has no trusted root configured",
            )
            .to_owned(),
        other => report::reason_text(other, lang_of(p)),
    }
}

fn reasons(codes: &[&str], p: &Page) -> String {
    codes
        .iter()
        .map(|c| reason(c, p))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One version's report: its verdict, number and date, then each signature.
fn document_report(p: &Page, r: &DocumentValidation) -> Markup {
    let lang = lang_of(p);
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    html! {
        p {
            strong { (p.t("Kết luận", "Verdict")) ": " (report::verdict_text(r.verdict, lang)) }
            @if !r.reasons.is_empty() { " (" (reasons(&r.reasons, p)) ")" }
        }
        @if r.signatures.is_empty() {
            p { (p.t("Tệp chưa có chữ ký số.", "The file has no signature yet.")) }
        }
        @if let Some(n) = &r.numbering {
            @let unfilled = p.t("(chưa điền)", "(not filled)");
            p {
                (p.t("Số, ký hiệu trên văn bản", "Number and notation on the document")) ": "
                strong { (n.number.as_deref().unwrap_or(unfilled)) }
                "; " (p.t("ngày ban hành", "date of issue")) ": "
                strong { (n.date_text.as_deref().unwrap_or(unfilled)) }
            }
        }
        @for (i, s) in r.signatures.iter().enumerate() {
            h3 style="font-size:16px;margin:12px 0 4px" {
                (role_label(p, s)) " " (i + 1) ": " (signer_name(p, s))
            }
            div style="overflow-x:auto" tabindex="0" role="region" aria-label={ (p.t("Chữ ký", "Signature")) " " (i + 1) } {
            table { tbody {
                (row(p.t("Kết quả", "Result"), html! {
                    strong { (report::verdict_text(s.verdict, lang)) }
                    @if !s.reasons.is_empty() { " — " (reasons(&s.reasons, p)) }
                }))
                @if let Some(x) = &s.signer {
                    @if let Some(o) = &x.organization { (row(p.t("Cơ quan, tổ chức", "Organization"), html! {
                        (o) @if let Some(u) = &x.unit { " (" (u) ")" }
                    })) }
                    (row(p.t("Tổ chức cấp chứng thư số", "Certificate issuer"), html! { (common_name(&x.issuer)) }))
                }
                (row(p.t("Thời điểm ký", "Signing time"), html! {
                    @match s.signing_time {
                        Some(t) => {
                            (kyso_domain::calendar::date_time_text(t)) " ("
                            @if s.time_proven { (p.t("theo dấu thời gian", "from a timestamp")) }
                            @else { (p.t("do người ký khai, chưa có dấu thời gian", "claimed, not timestamped")) }
                            ")"
                        }
                        None => { "—" }
                    }
                }))
                (row(p.t("Toàn vẹn", "Integrity"), html! {
                    @if s.intact { (p.t("nguyên vẹn", "intact")) } @else { strong { (p.t("KHÔNG nguyên vẹn", "NOT intact")) } }
                    @if !s.integrity_problems.is_empty() { " (" (report::problems_text(&s.integrity_problems, lang)) ")" }
                    "; " (coverage(p, s))
                }))
                (row(p.t("Chứng thư số và gốc tin cậy", "Certificate and trusted root"), html! { (trust_text(p, s)) }))
                (row(p.t("Tình trạng thu hồi", "Revocation"), html! { (revocation(p, s)) }))
                (row(p.t("Thay đổi sau khi ký", "Changes after signing"), html! { (report::changes_text(s, lang)) }))
                (row(p.t("Chỉ dấu ETSI (EN 319 102-1)", "ETSI indication (EN 319 102-1)"), html! {
                    code { (s.etsi.indication.as_str()) }
                    @if let Some(sub) = s.etsi.sub_indication { " / " code { (sub.as_str()) } }
                }))
            } }
            }
        }
    }
}

/// Personal signature, organization seal or document timestamp.
fn role_label<'a>(p: &'a Page, s: &SignatureValidation) -> &'a str {
    if s.kind == SignatureKind::DocTimeStamp {
        return p.t("Dấu thời gian tài liệu", "Document timestamp");
    }
    match s.signer.as_ref().map(|x| x.role) {
        Some(Role::Organization) => p.t("Chữ ký số của cơ quan, tổ chức", "Organization seal"),
        Some(Role::Personal) => p.t("Chữ ký số cá nhân", "Personal signature"),
        None => p.t("Chữ ký số", "Signature"),
    }
}

/// The signer as people name them: common name, else organization.
fn signer_name(p: &Page, s: &SignatureValidation) -> String {
    let Some(x) = &s.signer else {
        return p.t("không rõ người ký", "unknown signer").to_owned();
    };
    let mut name = x
        .name
        .clone()
        .or_else(|| x.organization.clone())
        .unwrap_or_else(|| common_name(&x.issuer));
    if let Some(t) = &x.title {
        name.push_str(" — ");
        name.push_str(t);
    }
    name
}

/// The common name of a distinguished name (`CN=…, O=…`), else the name as written.
fn common_name(dn: &str) -> String {
    dn.split(", ")
        .find_map(|a| a.strip_prefix("CN="))
        .unwrap_or(dn)
        .to_owned()
}

/// What the signature covers: the whole file, or the revision before later updates.
fn coverage(p: &Page, s: &SignatureValidation) -> String {
    if s.covers_whole_file {
        return p
            .t("bao trùm toàn bộ tệp", "covers the whole file")
            .to_owned();
    }
    match (&s.changes, p.lang) {
        (Some(c), crate::auth::Lang::Vi) => format!(
            "bao trùm phiên bản {} của tệp; sau đó có {} lần cập nhật",
            c.signed_revision + 1,
            c.later_revisions
        ),
        (Some(c), crate::auth::Lang::En) => format!(
            "covers revision {} of the file, followed by {} update(s)",
            c.signed_revision + 1,
            c.later_revisions
        ),
        (None, _) => p
            .t(
                "không bao trùm toàn bộ tệp",
                "does not cover the whole file",
            )
            .to_owned(),
    }
}

/// The certification path against the server's trust anchors.
fn trust_text(p: &Page, s: &SignatureValidation) -> String {
    let Some(path) = &s.path else {
        return p
            .t(
                "chưa xác định được chuỗi chứng thư số",
                "no certification path established",
            )
            .to_owned();
    };
    let lang = lang_of(p);
    let mut t = match path.status {
        "valid" => p
            .t(
                "hợp lệ, đến được chứng thư gốc tin cậy",
                "valid, chains to a trusted root",
            )
            .to_owned(),
        "no_anchor" => p
            .t(
                "chưa xác định được: không đến được chứng thư gốc tin cậy của máy chủ",
                "not established: does not chain to a root the server trusts",
            )
            .to_owned(),
        _ => p.t("KHÔNG hợp lệ", "INVALID").to_owned(),
    };
    if !path.problems.is_empty() {
        t.push_str(&format!(
            " ({})",
            report::problems_text(&path.problems, lang)
        ));
    }
    if let Some(root) = path.chain.last() {
        t.push_str(&format!(" — {}", common_name(root)));
    }
    t
}

/// Revocation as the report says it, except the unknown case, said for a page that fetches
/// nothing (not the command's `--offline`).
fn revocation(p: &Page, s: &SignatureValidation) -> String {
    match s.revocation.status {
        "good" | "revoked" => report::revocation_text(&s.revocation, false, lang_of(p)),
        _ => p
            .t(
                "chưa xác định được: tệp không kèm thông tin thu hồi (CRL/OCSP) còn hiệu lực và trang này không tải thông tin qua mạng",
                "not established: the file carries no current revocation information (CRL/OCSP) and this page fetches nothing",
            )
            .to_owned(),
    }
}
