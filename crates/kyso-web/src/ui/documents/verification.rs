//! The "Kiểm tra chữ ký số" section of a document's page (issue 17 item 10): the verification
//! report of each signature its signed versions carry, as a civil servant reads it. The same
//! validation and the same words as `kyso verify` (`kyso_pades::validate`,
//! `kyso_services::report`), offline: the page fetches nothing, so what the file does not carry
//! (revocation information) is *indeterminate* with its reason, never "invalid". The trust
//! anchors are the server's (`AppState::with_trust_anchors`).
//!
//! The validation is [`crate::verifier::validate`], and [`render_report`] is also the public
//! verification page's (`ui::public_verify`): one validation, one rendering.

use kyso_pades::validate::{DocumentValidation, Role, SignatureValidation};
use kyso_pades::verify::SignatureKind;
use kyso_services::report;

use super::*;
use crate::auth::Lang;
use crate::verifier::{validate, Unchecked};

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
    let lang = kyso_lang(p.lang);
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
                        Ok(r) => { (render_report(p.lang, r)) }
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

fn kyso_lang(lang: Lang) -> kyso_i18n::Lang {
    match lang {
        crate::auth::Lang::Vi => kyso_i18n::Lang::Vi,
        crate::auth::Lang::En => kyso_i18n::Lang::En,
    }
}

/// Validate version `seq`; an error as a sentence for the reader.
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
    validate(st, bytes, "version.pdf").await.map_err(|e| {
        if let Unchecked::Unreadable(_, _) = &e {
            tracing::warn!(document = id, seq, "a signed version does not validate");
        }
        e.message(p.lang).to_owned()
    })
}

/// A reason code in the reader's words; the trust anchor's is the server's, not `--trust`.
fn reason(code: &str, lang: Lang) -> String {
    match code {
        "NO_TRUST_ANCHOR" => lang
            .pick(
                "máy chủ chưa được cấu hình chứng thư gốc tin cậy",
                "the server has no trusted root configured",
            )
            .to_owned(),
        other => report::reason_text(other, kyso_lang(lang)),
    }
}

fn reasons(codes: &[&str], lang: Lang) -> String {
    codes
        .iter()
        .map(|c| reason(c, lang))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file's report: its verdict with the reasons first, its number and date, then each
/// signature (signer, role, result and reasons, time, integrity, trust, revocation, changes,
/// the ETSI indication).
pub(crate) fn render_report(lang: Lang, r: &DocumentValidation) -> Markup {
    let kl = kyso_lang(lang);
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    html! {
        p {
            strong { (lang.pick("Kết luận", "Verdict")) ": " (report::verdict_text(r.verdict, kl)) }
            @if !r.reasons.is_empty() { " (" (reasons(&r.reasons, lang)) ")" }
        }
        @if r.signatures.is_empty() {
            p { (lang.pick("Tệp chưa có chữ ký số.", "The file has no signature yet.")) }
        }
        @if let Some(n) = &r.numbering {
            @let unfilled = lang.pick("(chưa điền)", "(not filled)");
            p {
                (lang.pick("Số, ký hiệu trên văn bản", "Number and notation on the document")) ": "
                strong { (n.number.as_deref().unwrap_or(unfilled)) }
                "; " (lang.pick("ngày ban hành", "date of issue")) ": "
                strong { (n.date_text.as_deref().unwrap_or(unfilled)) }
            }
        }
        @for (i, s) in r.signatures.iter().enumerate() {
            h3 style="font-size:16px;margin:12px 0 4px" {
                (role_label(lang, s)) " " (i + 1) ": " (signer_name(lang, s))
            }
            div style="overflow-x:auto" tabindex="0" role="region" aria-label={ (lang.pick("Chữ ký", "Signature")) " " (i + 1) } {
            table { tbody {
                (row(lang.pick("Kết quả", "Result"), html! {
                    strong { (report::verdict_text(s.verdict, kl)) }
                    @if !s.reasons.is_empty() { " — " (reasons(&s.reasons, lang)) }
                }))
                @if let Some(x) = &s.signer {
                    @if let Some(o) = &x.organization { (row(lang.pick("Cơ quan, tổ chức", "Organization"), html! {
                        (o) @if let Some(u) = &x.unit { " (" (u) ")" }
                    })) }
                    (row(lang.pick("Tổ chức cấp chứng thư số", "Certificate issuer"), html! { (common_name(&x.issuer)) }))
                }
                (row(lang.pick("Thời điểm ký", "Signing time"), html! {
                    @match s.signing_time {
                        Some(t) => {
                            (kyso_domain::calendar::date_time_text(t)) " ("
                            @if s.time_proven { (lang.pick("theo dấu thời gian", "from a timestamp")) }
                            @else { (lang.pick("do người ký khai, chưa có dấu thời gian", "claimed, not timestamped")) }
                            ")"
                        }
                        None => { "—" }
                    }
                }))
                (row(lang.pick("Toàn vẹn", "Integrity"), html! {
                    @if s.intact { (lang.pick("nguyên vẹn", "intact")) } @else { strong { (lang.pick("KHÔNG nguyên vẹn", "NOT intact")) } }
                    @if !s.integrity_problems.is_empty() { " (" (report::problems_text(&s.integrity_problems, kl)) ")" }
                    "; " (coverage(lang, s))
                }))
                (row(lang.pick("Chứng thư số và gốc tin cậy", "Certificate and trusted root"), html! { (trust_text(lang, s)) }))
                (row(lang.pick("Tình trạng thu hồi", "Revocation"), html! { (revocation(lang, s)) }))
                (row(lang.pick("Thay đổi sau khi ký", "Changes after signing"), html! { (report::changes_text(s, kl)) }))
                (row(lang.pick("Chỉ dấu ETSI (EN 319 102-1)", "ETSI indication (EN 319 102-1)"), html! {
                    code { (s.etsi.indication.as_str()) }
                    @if let Some(sub) = s.etsi.sub_indication { " / " code { (sub.as_str()) } }
                }))
            } }
            }
        }
    }
}

/// Personal signature, organization seal or document timestamp.
fn role_label(lang: Lang, s: &SignatureValidation) -> &'static str {
    if s.kind == SignatureKind::DocTimeStamp {
        return lang.pick("Dấu thời gian tài liệu", "Document timestamp");
    }
    match s.signer.as_ref().map(|x| x.role) {
        Some(Role::Organization) => {
            lang.pick("Chữ ký số của cơ quan, tổ chức", "Organization seal")
        }
        Some(Role::Personal) => lang.pick("Chữ ký số cá nhân", "Personal signature"),
        None => lang.pick("Chữ ký số", "Signature"),
    }
}

/// The signer as people name them: common name, else organization.
fn signer_name(lang: Lang, s: &SignatureValidation) -> String {
    let Some(x) = &s.signer else {
        return lang.pick("không rõ người ký", "unknown signer").to_owned();
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
fn coverage(lang: Lang, s: &SignatureValidation) -> String {
    if s.covers_whole_file {
        return lang
            .pick("bao trùm toàn bộ tệp", "covers the whole file")
            .to_owned();
    }
    match (&s.changes, lang) {
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
        (None, _) => lang
            .pick(
                "không bao trùm toàn bộ tệp",
                "does not cover the whole file",
            )
            .to_owned(),
    }
}

/// The certification path against the server's trust anchors.
fn trust_text(lang: Lang, s: &SignatureValidation) -> String {
    let Some(path) = &s.path else {
        return lang
            .pick(
                "chưa xác định được chuỗi chứng thư số",
                "no certification path established",
            )
            .to_owned();
    };
    let kl = kyso_lang(lang);
    let mut t = match path.status {
        "valid" => lang
            .pick(
                "hợp lệ, đến được chứng thư gốc tin cậy",
                "valid, chains to a trusted root",
            )
            .to_owned(),
        "no_anchor" => lang
            .pick(
                "chưa xác định được: không đến được chứng thư gốc tin cậy của máy chủ",
                "not established: does not chain to a root the server trusts",
            )
            .to_owned(),
        _ => lang.pick("KHÔNG hợp lệ", "INVALID").to_owned(),
    };
    if !path.problems.is_empty() {
        t.push_str(&format!(" ({})", report::problems_text(&path.problems, kl)));
    }
    if let Some(root) = path.chain.last() {
        t.push_str(&format!(" — {}", common_name(root)));
    }
    t
}

/// Revocation as the report says it, except the unknown case, said for a page that fetches
/// nothing (not the command's `--offline`).
fn revocation(lang: Lang, s: &SignatureValidation) -> String {
    match s.revocation.status {
        "good" | "revoked" => report::revocation_text(&s.revocation, false, kyso_lang(lang)),
        _ => lang
            .pick(
                "chưa xác định được: tệp không kèm thông tin thu hồi (CRL/OCSP) còn hiệu lực và trang này không tải thông tin qua mạng",
                "not established: the file carries no current revocation information (CRL/OCSP) and this page fetches nothing",
            )
            .to_owned(),
    }
}
