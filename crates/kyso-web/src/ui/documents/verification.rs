//! The "Kiểm tra chữ ký số" section of a document's page (issue 17 item 10): the verification
//! report of each signature its signed versions carry, as a civil servant reads it. The same
//! validation and the same words as `kyso verify` (`kyso_pades::validate`,
//! `kyso_services::report`), offline: the page fetches nothing, so what the file does not carry
//! (revocation information) is *indeterminate* with its reason, never "invalid". The trust
//! anchors are the server's (`AppState::with_trust_anchors`).
//!
//! A version's report is made once and reused (`crate::verifier::ReportCache`, by the version's
//! SHA-256, at most an hour and never past a signer certificate's expiry), not on every load.
//!
//! [`render_report`] renders the `kyso.verify/1` form ([`Report`]): the report stored with an
//! incoming document (`ui::incoming`, not validated again), and a fresh validation
//! ([`crate::verifier::validate`], through `report::to_json`) here and on the public
//! verification page (`ui::public_verify`): one form, one rendering.

use kyso_pades::validate::Verdict;
use kyso_services::report;
use serde::Deserialize;
use time::OffsetDateTime;

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
        let outcome = check(st, p, &blobs, d.document.id, v).await;
        checked.push((i == 0, *v, outcome));
    }
    let lang = kyso_lang(p.lang);
    html! {
        section aria-labelledby="sig-check" style="max-width:820px" {
            h2 #sig-check style="font-size:18px" { (p.t("Kiểm tra chữ ký số", "Signature verification")) }
            p.hint { (p.t(
                "Kiểm tra tại máy chủ như lệnh kyso verify, với các chứng thư gốc tin cậy của máy chủ, không tải thông tin thu hồi qua mạng: điều gì tệp không kèm theo thì ghi là chưa xác định được. Kết quả được dùng lại tối đa một giờ.",
                "Checked on the server as kyso verify does, against the server's trusted roots, without fetching revocation information: what the file does not carry is reported as not established. A result is reused for up to an hour."
            )) }
            @for (open, v, outcome) in &checked {
                details open[*open] style="margin-bottom:12px" {
                    summary {
                        strong { (p.t("Phiên bản", "Version")) " " (v.seq) }
                        " — " (version_label(p, v.kind))
                        @if let Ok(r) = outcome { " — " (report::verdict_text(r.verdict(), lang)) }
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

/// The report of version `v`: the one the server made for its SHA-256 when still current,
/// else a validation of the stored bytes (kept for the next load); an error as a sentence for
/// the reader.
async fn check(
    st: &AppState,
    p: &Page,
    blobs: &kyso_store::blobs::Blobs,
    id: i64,
    v: &docs::Version,
) -> Result<Report, String> {
    let now = st.now();
    if let Some(r) = st
        .reports
        .get(&v.sha256, now)
        .and_then(|j| Report::from_json(&j))
    {
        return Ok(r);
    }
    let bytes = match docs::version_file(&st.store, blobs, &p.actor, id, v.seq).await {
        Ok((_, b)) => b,
        Err(e) => {
            tracing::warn!(document = id, seq = v.seq, error = %e, "cannot read a signed version to verify it");
            return Err(p
                .t(
                    "không đọc được tệp của phiên bản này",
                    "the version's file cannot be read",
                )
                .to_owned());
        }
    };
    match validate(st, bytes, "version.pdf").await {
        Ok(r) => {
            let until = crate::verifier::ReportCache::valid_until(&r, now);
            let json = report::to_json(&r, &v.file_name);
            let report = Report::read(&json, &r);
            st.reports.put(&v.sha256, json, now, until);
            Ok(report)
        }
        Err(e) => {
            if let Unchecked::Unreadable(_, _) = &e {
                tracing::warn!(
                    document = id,
                    seq = v.seq,
                    "a signed version does not validate"
                );
            }
            Err(e.message(p.lang).to_owned())
        }
    }
}

/// A `kyso.verify/1` document (docs/verify-json.md) as the pages render it: what
/// [`report::to_json`] writes and what an incoming document keeps from its arrival. Only the
/// fields the page shows are read; unknown ones are ignored, missing optional ones are empty.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Report {
    verdict: String,
    #[serde(default)]
    reasons: Vec<String>,
    /// Revocation was fetched online (the arrival), not only read from the file.
    #[serde(default)]
    online: bool,
    #[serde(default)]
    validated_at: Option<String>,
    #[serde(default)]
    numbering: Option<Numbering>,
    #[serde(default)]
    signatures: Vec<Sig>,
    /// Why the file could not be read as a signed PDF (an arrival kept as `UNREADABLE`).
    #[serde(default)]
    error: Option<Said>,
}

#[derive(Debug, Clone, Deserialize)]
struct Said {
    vi: String,
    en: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Numbering {
    number: Option<String>,
    date_text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Sig {
    #[serde(default)]
    kind: String,
    verdict: String,
    #[serde(default)]
    reasons: Vec<String>,
    etsi: Etsi,
    #[serde(default)]
    intact: bool,
    #[serde(default)]
    integrity_problems: Vec<String>,
    #[serde(default)]
    covers_whole_file: bool,
    signer: Option<Signer>,
    signing_time: SigningTime,
    certificate_path: Option<CertPath>,
    revocation: Revocation,
    changes_after: Changes,
}

#[derive(Debug, Clone, Deserialize)]
struct Etsi {
    indication: String,
    sub_indication: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Signer {
    name: Option<String>,
    title: Option<String>,
    unit: Option<String>,
    organization: Option<String>,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Clone, Deserialize)]
struct SigningTime {
    value: Option<String>,
    #[serde(default)]
    proven: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct CertPath {
    status: String,
    #[serde(default)]
    problems: Vec<String>,
    #[serde(default)]
    chain: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Revocation {
    status: String,
    at: Option<String>,
    #[serde(default)]
    certificates: Vec<CertRevocation>,
}

#[derive(Debug, Clone, Deserialize)]
struct CertRevocation {
    status: String,
    revoked_at: Option<String>,
    reason: Option<String>,
    source: Option<String>,
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Changes {
    later_revisions: Option<usize>,
    #[serde(default)]
    changes: Vec<Change>,
    error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Change {
    code: String,
    allowed: bool,
}

/// A verdict as `kyso.verify/1` spells it.
fn verdict_of(s: &str) -> Verdict {
    match s {
        "valid" => Verdict::Valid,
        "invalid" => Verdict::Invalid,
        _ => Verdict::Indeterminate,
    }
}

/// A time as `kyso.verify/1` writes it (ISO 8601 with the offset).
fn time_of(s: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s?, &time::format_description::well_known::Rfc3339).ok()
}

impl Report {
    /// The stored `kyso.verify/1` JSON; `None` when it is not one.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Report> {
        if v.get("schema").and_then(|s| s.as_str()) != Some("kyso.verify/1") {
            return None;
        }
        match Report::deserialize(v) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "a stored verification report cannot be read");
                None
            }
        }
    }

    /// A fresh validation of the file `file`, in the form a stored report has.
    pub(crate) fn of(r: &kyso_pades::validate::DocumentValidation, file: &str) -> Report {
        Report::read(&report::to_json(r, file), r)
    }

    /// `json`, the `kyso.verify/1` document of `r`, read back.
    fn read(json: &serde_json::Value, r: &kyso_pades::validate::DocumentValidation) -> Report {
        match Report::deserialize(json) {
            Ok(report) => report,
            Err(e) => {
                // to_json and these types are one schema (a test reads every field back): the
                // verdict and reasons at least.
                tracing::error!(error = %e, "a verification report does not read back");
                Report {
                    verdict: r.verdict.as_str().to_owned(),
                    reasons: r.reasons.iter().map(|s| (*s).to_owned()).collect(),
                    online: r.online,
                    validated_at: None,
                    numbering: None,
                    signatures: Vec::new(),
                    error: None,
                }
            }
        }
    }

    /// The document's verdict.
    pub(crate) fn verdict(&self) -> Verdict {
        verdict_of(&self.verdict)
    }
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

fn reasons(codes: &[String], lang: Lang) -> String {
    codes
        .iter()
        .map(|c| reason(c, lang))
        .collect::<Vec<_>>()
        .join("; ")
}

fn problems(codes: &[String], lang: Lang) -> String {
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    report::problems_text(&codes, kyso_lang(lang))
}

/// A file's report: its verdict with the reasons first, when it was made, its number and date,
/// then each signature (signer, role, result and reasons, time, integrity, trust, revocation,
/// changes, the ETSI indication).
pub(crate) fn render_report(lang: Lang, r: &Report) -> Markup {
    let kl = kyso_lang(lang);
    let row = |k: &str, v: Markup| html! { tr { th scope="row" { (k) } td { (v) } } };
    html! {
        p {
            strong { (lang.pick("Kết luận", "Verdict")) ": " (report::verdict_text(r.verdict(), kl)) }
            @if !r.reasons.is_empty() { " (" (reasons(&r.reasons, lang)) ")" }
        }
        @if let Some(t) = time_of(r.validated_at.as_deref()) {
            p.hint #report-time { (lang.pick("Thời điểm kiểm tra", "Checked at")) ": " (kyso_domain::calendar::date_time_text(t)) }
        }
        @if let Some(e) = &r.error {
            p { (lang.pick(&e.vi, &e.en)) }
        } @else if r.signatures.is_empty() {
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
                    strong { (report::verdict_text(verdict_of(&s.verdict), kl)) }
                    @if !s.reasons.is_empty() { " — " (reasons(&s.reasons, lang)) }
                }))
                @if let Some(x) = &s.signer {
                    @if let Some(o) = &x.organization { (row(lang.pick("Cơ quan, tổ chức", "Organization"), html! {
                        (o) @if let Some(u) = &x.unit { " (" (u) ")" }
                    })) }
                    (row(lang.pick("Tổ chức cấp chứng thư số", "Certificate issuer"), html! { (common_name(&x.issuer)) }))
                }
                (row(lang.pick("Thời điểm ký", "Signing time"), html! {
                    @match time_of(s.signing_time.value.as_deref()) {
                        Some(t) => {
                            (kyso_domain::calendar::date_time_text(t)) " ("
                            @if s.signing_time.proven { (lang.pick("theo dấu thời gian", "from a timestamp")) }
                            @else { (lang.pick("do người ký khai, chưa có dấu thời gian", "claimed, not timestamped")) }
                            ")"
                        }
                        None => { "—" }
                    }
                }))
                (row(lang.pick("Toàn vẹn", "Integrity"), html! {
                    @if s.intact { (lang.pick("nguyên vẹn", "intact")) } @else { strong { (lang.pick("KHÔNG nguyên vẹn", "NOT intact")) } }
                    @if !s.integrity_problems.is_empty() { " (" (problems(&s.integrity_problems, lang)) ")" }
                    "; " (coverage(lang, s))
                }))
                (row(lang.pick("Chứng thư số và gốc tin cậy", "Certificate and trusted root"), html! { (trust_text(lang, s)) }))
                (row(lang.pick("Tình trạng thu hồi", "Revocation"), html! { (revocation(lang, r.online, s)) }))
                (row(lang.pick("Thay đổi sau khi ký", "Changes after signing"), html! { (changes(kl, s)) }))
                (row(lang.pick("Chỉ dấu ETSI (EN 319 102-1)", "ETSI indication (EN 319 102-1)"), html! {
                    code { (s.etsi.indication) }
                    @if let Some(sub) = &s.etsi.sub_indication { " / " code { (sub) } }
                }))
            } }
            }
        }
    }
}

/// Personal signature, organization seal or document timestamp.
fn role_label(lang: Lang, s: &Sig) -> &'static str {
    if s.kind == "document_timestamp" {
        return lang.pick("Dấu thời gian tài liệu", "Document timestamp");
    }
    match s.signer.as_ref().map(|x| x.role.as_str()) {
        Some("organization") => lang.pick("Chữ ký số của cơ quan, tổ chức", "Organization seal"),
        Some("personal") => lang.pick("Chữ ký số cá nhân", "Personal signature"),
        _ => lang.pick("Chữ ký số", "Signature"),
    }
}

/// The signer as people name them: common name, else organization.
fn signer_name(lang: Lang, s: &Sig) -> String {
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
    crate::ui::certificates::dn_part(dn, "CN")
        .unwrap_or(dn)
        .to_owned()
}

/// What the signature covers: the whole file, or a revision followed by later updates.
fn coverage(lang: Lang, s: &Sig) -> String {
    if s.covers_whole_file {
        return lang
            .pick("bao trùm toàn bộ tệp", "covers the whole file")
            .to_owned();
    }
    match (s.changes_after.later_revisions, lang) {
        (Some(n), crate::auth::Lang::Vi) => {
            format!("bao trùm một phiên bản trước của tệp; sau đó có {n} lần cập nhật")
        }
        (Some(n), crate::auth::Lang::En) => {
            format!("covers an earlier revision of the file, followed by {n} update(s)")
        }
        (None, _) => lang
            .pick(
                "không bao trùm toàn bộ tệp",
                "does not cover the whole file",
            )
            .to_owned(),
    }
}

/// The certification path against the server's trust anchors.
fn trust_text(lang: Lang, s: &Sig) -> String {
    let Some(path) = &s.certificate_path else {
        return lang
            .pick(
                "chưa xác định được chuỗi chứng thư số",
                "no certification path established",
            )
            .to_owned();
    };
    let mut t = match path.status.as_str() {
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
        t.push_str(&format!(" ({})", problems(&path.problems, lang)));
    }
    if let Some(root) = path.chain.last() {
        t.push_str(&format!(" — {}", common_name(root)));
    }
    t
}

/// Revocation as the report says it; not established: said for a page that fetches nothing
/// (not the command's `--offline`), or, for a report made online (an arrival), as the report
/// says it (what was tried: the library's English, on the English page only).
fn revocation(lang: Lang, online: bool, s: &Sig) -> String {
    let r = &s.revocation;
    let kl = kyso_lang(lang);
    let revoked = r
        .certificates
        .iter()
        .find(|c| c.status == "revoked")
        .and_then(|c| Some((time_of(c.revoked_at.as_deref())?, c.reason.as_deref())));
    let facts = report::RevocationFacts {
        status: &r.status,
        at: time_of(r.at.as_deref()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        source: r.certificates.first().and_then(|c| c.source.as_deref()),
        revoked,
        revoked_later: None,
    };
    if let Some(t) = report::settled_revocation_text(&facts, kl) {
        return t;
    }
    if online {
        let why: Vec<String> = match lang {
            crate::auth::Lang::En => r
                .certificates
                .iter()
                .flat_map(|c| c.notes.iter().cloned())
                .take(2)
                .collect(),
            crate::auth::Lang::Vi => Vec::new(),
        };
        return report::unsettled_revocation_text(true, &why, kl);
    }
    lang.pick(
        "chưa xác định được: tệp không kèm thông tin thu hồi (CRL/OCSP) còn hiệu lực và trang này không tải thông tin qua mạng",
        "not established: the file carries no current revocation information (CRL/OCSP) and this page fetches nothing",
    )
    .to_owned()
}

/// The changes after the signature, as `kyso verify` words them.
fn changes(lang: kyso_i18n::Lang, s: &Sig) -> String {
    let c = &s.changes_after;
    let list: Vec<(&str, bool)> = c
        .changes
        .iter()
        .map(|ch| (ch.code.as_str(), ch.allowed))
        .collect();
    report::changes_words(c.later_revisions, &list, c.error.as_deref(), lang)
}
