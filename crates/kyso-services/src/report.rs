//! The report of `kyso verify` for people and programs: [`to_text`], the clerk's report
//! (Vietnamese by default, English on request; times `dd/mm/yyyy HH:MM (+07:00)`), and
//! [`to_json`], the `kyso.verify/1` document (docs/verify-json.md). Used by `kyso verify`, the
//! signing agent's `VerifyPDF`, and any service that checks incoming documents.

use kyso_i18n::Lang;
use kyso_ltv::fetch::FetchErrorKind;
use kyso_ltv::revocation::{Note, Origin, Status};
use kyso_ltv::EvidenceKind;
use kyso_pades::validate::{display_time, DocumentValidation, Role, SignatureValidation, Verdict};
use kyso_pades::validate::{RevocationSummary, TimestampValidation};
use kyso_pades::verify::SignatureKind;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn time_json(t: OffsetDateTime) -> Value {
    json!(display_time(t))
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::Personal => "personal",
        Role::Organization => "organization",
    }
}

/// The `kyso.verify/1` JSON document (documented in `docs/verify-json.md`).
pub fn to_json(r: &DocumentValidation, file: &str) -> Value {
    json!({
        "schema": "kyso.verify/1",
        "file": file,
        "verdict": r.verdict.as_str(),
        "reasons": r.reasons,
        "roles": {
            "personal": r.has_personal,
            "organization": r.has_organization,
            "organization_names_issuing_body": r.organization_names_issuing_body,
        },
        "issuing_body": r.issuing_body,
        "validated_at": time_json(r.validated_at),
        "online": r.online,
        "numbering": r.numbering.as_ref().map(|n| json!({
            "number": n.number,
            "date_text": n.date_text,
            "date": n.date.map(|d| d.to_string()),
        })),
        "signatures": r.signatures.iter().map(signature_json).collect::<Vec<_>>(),
    })
}

fn signature_json(s: &SignatureValidation) -> Value {
    json!({
        "field": s.field,
        "kind": match s.kind { SignatureKind::Signature => "signature", SignatureKind::DocTimeStamp => "document_timestamp" },
        "sub_filter": s.sub_filter,
        "verdict": s.verdict.as_str(),
        "reasons": s.reasons,
        "etsi": {
            "indication": s.etsi.indication.as_str(),
            "sub_indication": s.etsi.sub_indication.map(|x| x.as_str()),
        },
        "warnings": s.warnings,
        "algorithms": s.algorithms.iter().map(algorithm_json).collect::<Vec<_>>(),
        "intact": s.intact,
        "integrity_problems": s.integrity_problems,
        "covers_whole_file": s.covers_whole_file,
        "signer": s.signer.as_ref().map(|x| json!({
            "name": x.name, "title": x.title, "unit": x.unit, "organization": x.organization,
            "province": x.province, "serial": x.serial, "issuer": x.issuer,
            "not_before": time_json(x.not_before), "not_after": time_json(x.not_after),
            "role": role_str(x.role),
        })),
        "signing_time": {
            "value": s.signing_time.map(display_time),
            "source": if s.time_proven { "timestamp" } else { "claimed" },
            "proven": s.time_proven,
            "claimed": s.claimed_time.map(display_time),
        },
        "timestamp": s.timestamp.as_ref().map(timestamp_json),
        "archived_at": s.archived_at.map(display_time),
        "names_issuing_body": s.names_issuing_body,
        "reason": s.reason,
        "location": s.location,
        "certificate_path": s.path.as_ref().map(path_json),
        "revocation": revocation_json(&s.revocation),
        "changes_after": match (&s.changes, &s.changes_error) {
            (Some(c), _) => json!({
                "later_revisions": c.later_revisions,
                "verdict": if c.changes.is_empty() { "none" } else if c.verdict == kyso_pades::revisions::Verdict::AllowedOnly { "allowed" } else { "disallowed" },
                "docmdp": c.docmdp,
                "changes": c.changes.iter().map(|ch| json!({
                    "revision": ch.revision, "object": ch.object.to_string(),
                    "kind": format!("{:?}", ch.kind).to_lowercase(), "code": ch.code,
                    "allowed": ch.allowed, "detail": ch.detail,
                })).collect::<Vec<_>>(),
                "annotations": annotations_json(c),
            }),
            (None, e) => json!({ "error": e }),
        },
    })
}

fn algorithm_json(j: &kyso_pades::validate::policy::AlgorithmJudgement) -> Value {
    json!({
        "object": j.object,
        "algorithm": j.algorithm,
        "sunset": time_json(j.sunset),
        "proof_of_existence": time_json(j.proof_of_existence),
        "acceptable": j.acceptable,
    })
}

fn path_json(p: &kyso_pades::validate::PathSummary) -> Value {
    json!({
        "status": p.status, "problems": p.problems, "chain": p.chain,
        "chain_sources": p.sources.iter().map(|x| json!({"source": x.code(), "url": x.location()})).collect::<Vec<_>>(),
        "validated_at": time_json(p.at),
    })
}

/// The path's certificates (common names) with where each came from.
fn chain_text(p: &kyso_pades::validate::PathSummary, lang: Lang) -> String {
    use kyso_ltv::chain::CertSource;
    p.chain
        .iter()
        .zip(&p.sources)
        .map(|(subject, src)| {
            let name = subject
                .split(", ")
                .find_map(|a| a.strip_prefix("CN="))
                .unwrap_or(subject);
            let from = match src {
                CertSource::TrustAnchor => lang.pick("gốc tin cậy", "trusted root").to_owned(),
                CertSource::Aia(url) => format!("{} {url}", lang.pick("tải từ", "downloaded from")),
                CertSource::File(f) => format!("{} {f}", lang.pick("tệp", "file")),
                CertSource::Key => lang.pick("khóa ký", "signing key").to_owned(),
                CertSource::Document => lang.pick("trong tệp", "in the file").to_owned(),
            };
            format!("{name} ({from})")
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

fn timestamp_json(t: &TimestampValidation) -> Value {
    json!({
        "status": t.status,
        "time": t.gen_time.map(display_time),
        "tsa": t.tsa,
        "problems": t.problems,
        "algorithms": t.algorithms.iter().map(algorithm_json).collect::<Vec<_>>(),
        "certificate_path": t.path.as_ref().map(path_json),
        "revocation": t.revocation.as_ref().map(revocation_json),
    })
}

fn revocation_json(r: &RevocationSummary) -> Value {
    json!({
        "status": r.status,
        "at": time_json(r.at),
        "certificates": r.certs.iter().map(|c| {
            let e = c.outcome.evidence.as_ref();
            json!({
                "subject": c.subject,
                "serial": c.serial,
                "status": c.outcome.status.as_str(),
                "revoked_at": match c.outcome.status { Status::Revoked { time, .. } => Some(display_time(time)), _ => None },
                "reason": match c.outcome.status { Status::Revoked { reason, .. } => reason, _ => None },
                "source": e.map(|e| match e.kind { EvidenceKind::Ocsp => "ocsp", EvidenceKind::Crl => "crl" }),
                "origin": c.outcome.origin.as_ref().map(|o| match o { Origin::Embedded => "embedded".to_owned(), Origin::Fetched(u) => u.clone() }),
                "this_update": e.map(|e| display_time(e.this_update)),
                "next_update": e.and_then(|e| e.next_update).map(display_time),
                "notes": c.outcome.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}

/// A time in the clerk's report: `dd/mm/yyyy HH:MM (+07:00)` in Vietnam time (the JSON keeps
/// ISO 8601).
fn when(t: OffsetDateTime) -> String {
    kyso_domain::calendar::date_time_text(t)
}

/// An RFC 5280 revocation reason in the user's words.
fn revocation_reason_text(reason: Option<&str>, lang: Lang) -> String {
    let (vi, en) = match reason {
        None | Some("unspecified") => ("không nêu lý do", "unspecified"),
        Some("keyCompromise") => ("lộ khóa bí mật", "key compromise"),
        Some("cACompromise") => ("lộ khóa của tổ chức chứng thực", "CA key compromise"),
        Some("affiliationChanged") => ("thay đổi thông tin, đơn vị", "affiliation changed"),
        Some("superseded") => ("đã được thay thế", "superseded"),
        Some("cessationOfOperation") => ("ngừng hoạt động", "cessation of operation"),
        Some("certificateHold") => ("tạm dừng", "certificate hold"),
        Some("privilegeWithdrawn") => ("bị rút quyền", "privilege withdrawn"),
        Some("aACompromise") => ("lộ khóa của tổ chức cấp thuộc tính", "AA compromise"),
        Some(other) => return other.to_owned(),
    };
    lang.pick(vi, en).to_owned()
}

/// What was tried to establish revocation and failed (kyso_ltv's typed notes), as a sentence
/// in the user's language, worded by the note's kind: the URL stays, the library's and the
/// operating system's own text only in English (and in the JSON `notes`).
fn note_text(note: &Note, lang: Lang) -> String {
    if lang == Lang::En {
        return note.to_string();
    }
    const UNUSABLE: &str = "câu trả lời không hợp lệ hoặc không dùng được cho chứng thư số này";
    match note {
        Note::EmbeddedCrl { .. } => format!("CRL trong tệp: {UNUSABLE}"),
        Note::EmbeddedNotCovering => {
            "thông tin thu hồi kèm trong tệp không áp dụng cho thời điểm cần kiểm tra".to_owned()
        }
        Note::NoService => "chứng thư số không ghi địa chỉ dịch vụ OCSP hay CRL nào".to_owned(),
        Note::Unusable { service, url, .. } => format!("{} {url}: {UNUSABLE}", service.name()),
        Note::Unreachable { service, error } => {
            let why = match error.kind {
                FetchErrorKind::Timeout => "dịch vụ không trả lời trong thời gian chờ".to_owned(),
                FetchErrorKind::Connect => {
                    "không kết nối được tới dịch vụ (máy chủ không hoạt động hoặc mạng bị chặn)"
                        .to_owned()
                }
                FetchErrorKind::HostNotFound => {
                    "không tìm thấy máy chủ của dịch vụ (kiểm tra kết nối mạng)".to_owned()
                }
                FetchErrorKind::Http(code) => format!("dịch vụ trả lời mã lỗi HTTP {code}"),
                FetchErrorKind::TooLarge => "câu trả lời của dịch vụ quá lớn".to_owned(),
                FetchErrorKind::Scheme => "chỉ tải được từ địa chỉ http://".to_owned(),
                _ => UNUSABLE.to_owned(),
            };
            format!("{} {}: {why}", service.name(), error.url)
        }
        _ => "không dùng được thông tin thu hồi".to_owned(),
    }
}

/// An integrity or path problem code in the user's words (the code itself in English).
fn problem_text(code: &str, lang: Lang) -> String {
    let vi = match code {
        "DIGEST_MISMATCH" => "nội dung đã ký bị sửa",
        "BAD_SIGNATURE" => "giá trị chữ ký sai",
        "SIGNING_CERT_MISMATCH" => "chữ ký không chỉ đúng chứng thư số của người ký",
        "ALGORITHM_PROTECTION_MISMATCH" => "thuật toán ghi trong chữ ký bị đổi",
        "SIGNER_CERT_MISSING" => "thiếu chứng thư số của người ký",
        "BYTE_RANGE_MALFORMED" | "BYTE_RANGE_GAP_MISMATCH" | "BYTE_RANGE_UNREADABLE" => {
            "vùng dữ liệu được ký bị sai lệch"
        }
        "BYTE_RANGE_NOT_REVISION_END" => "vùng được ký không kết thúc ở cuối một phiên bản",
        "CMS_UNREADABLE" | "CONTENTS_MISSING" | "CONTENTS_NOT_LOCATED" => {
            "không đọc được dữ liệu chữ ký"
        }
        "TIMESTAMP_IMPRINT_MISMATCH" => "dấu thời gian không khớp với nội dung",
        "UNSUPPORTED_ALGORITHM" => "thuật toán chưa kiểm tra được",
        "UNSUPPORTED_SUBFILTER" => "định dạng chữ ký không được hỗ trợ",
        "CERT_EXPIRED" => "chứng thư số đã hết hạn",
        "CERT_NOT_YET_VALID" => "chứng thư số chưa có hiệu lực",
        "WEAK_ALGORITHM" | "WEAK_KEY" => "thuật toán hoặc khóa quá yếu",
        "NO_ANCHOR" => "không đến được gốc tin cậy",
        _ => return code.to_owned(),
    };
    lang.pick(vi, code).to_owned()
}

/// Integrity or path problem codes in the user's words, `; `-separated.
pub fn problems_text(codes: &[&str], lang: Lang) -> String {
    codes
        .iter()
        .map(|c| problem_text(c, lang))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A verdict in capitals, as the report's conclusion says it.
pub fn verdict_text(v: Verdict, lang: Lang) -> &'static str {
    match v {
        Verdict::Valid => lang.pick("HỢP LỆ", "VALID"),
        Verdict::Invalid => lang.pick("KHÔNG HỢP LỆ", "INVALID"),
        Verdict::Indeterminate => lang.pick("CHƯA XÁC ĐỊNH", "INDETERMINATE"),
    }
}

/// A reason code in the user's words.
pub fn reason_text(code: &str, lang: Lang) -> String {
    let (vi, en) = match code {
        "DOCUMENT_MODIFIED" => (
            "văn bản đã bị thay đổi sau khi ký",
            "the document was changed after signing",
        ),
        "BAD_SIGNATURE" => (
            "chữ ký không khớp với chứng thư số",
            "the signature does not match the certificate",
        ),
        "MALFORMED" => ("chữ ký bị hỏng, không đọc được", "the signature is damaged"),
        "UNTRUSTED_ROOT" => (
            "chứng thư số không thuộc tổ chức chứng thực tin cậy",
            "the certificate does not chain to a trusted root",
        ),
        "NO_TRUST_ANCHOR" => (
            "chưa chỉ định chứng thư gốc tin cậy (--trust)",
            "no trusted root given (--trust)",
        ),
        "CERT_EXPIRED" => (
            "chứng thư số hết hiệu lực tại thời điểm ký",
            "the certificate was not valid at the signing time",
        ),
        "CERT_REVOKED" => ("chứng thư số đã bị thu hồi", "the certificate was revoked"),
        "REVOCATION_UNKNOWN" => (
            "chưa kiểm tra được tình trạng thu hồi chứng thư số",
            "the revocation status could not be checked",
        ),
        "NOT_TIMESTAMPED" => (
            "thời điểm ký chưa được chứng thực bằng dấu thời gian",
            "the signing time is not proven by a timestamp",
        ),
        "CERT_PATH_INVALID" => (
            "chuỗi chứng thư số không hợp lệ",
            "the certification path is invalid",
        ),
        "WEAK_ALGORITHM" => (
            "chứng thư số trong chuỗi dùng thuật toán hoặc khóa quá yếu",
            "a certificate of the path uses an algorithm or key that is too weak",
        ),
        "UNSUPPORTED_ALGORITHM" => (
            "chữ ký dùng thuật toán mà kyso chưa kiểm tra được (không có nghĩa là chữ ký sai)",
            "the signature uses an algorithm kyso cannot verify (which does not mean it is wrong)",
        ),
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE" => (
            "chữ ký đúng nhưng dùng thuật toán cũ (SHA-1, RSA dưới 2048 bit) và không có bằng chứng đã tồn tại trước ngày thuật toán hết được chấp nhận",
            "the signature verifies but uses a legacy algorithm (SHA-1, RSA below 2048 bits) with no proof that it existed before that algorithm's sunset date",
        ),
        "NO_SIGNATURE" => ("tệp không có chữ ký số", "the file has no signature"),
        "TIMESTAMP_INVALID" => ("dấu thời gian không hợp lệ", "the timestamp is invalid"),
        other => return other.to_owned(),
    };
    lang.pick(vi, en).to_owned()
}

/// A signature's revocation status in the user's words (`online`: fetching was allowed).
pub fn revocation_text(r: &RevocationSummary, online: bool, lang: Lang) -> String {
    let facts = RevocationFacts {
        status: r.status,
        at: r.at,
        source: r
            .certs
            .first()
            .and_then(|c| c.outcome.evidence.as_ref())
            .map(|e| match e.kind {
                EvidenceKind::Ocsp => "ocsp",
                EvidenceKind::Crl => "crl",
            }),
        revoked: r.revoked(),
        revoked_later: r.revoked_later(),
    };
    if let Some(t) = settled_revocation_text(&facts, lang) {
        return t;
    }
    // The two most useful notes: by kind, what the user can fix (the network) first.
    let mut notes: Vec<&Note> = r.certs.iter().flat_map(|c| &c.outcome.notes).collect();
    notes.sort_by_key(|n| n.kind());
    let why: Vec<String> = notes.iter().take(2).map(|n| note_text(n, lang)).collect();
    unsettled_revocation_text(online, &why, lang)
}

/// What a revocation status rests on, as `kyso.verify/1` keeps it (`revocation`).
#[derive(Debug, Clone, Copy)]
pub struct RevocationFacts<'a> {
    /// `good`, `revoked` or `unknown`.
    pub status: &'a str,
    /// The time the status is for.
    pub at: OffsetDateTime,
    /// The signer certificate's evidence: `ocsp` or `crl`.
    pub source: Option<&'a str>,
    /// The first revoked certificate's revocation (time, RFC 5280 reason).
    pub revoked: Option<(OffsetDateTime, Option<&'a str>)>,
    /// Good at `at` only because the revocation came later: since when.
    pub revoked_later: Option<OffsetDateTime>,
}

/// A `good` or `revoked` status in the user's words; `None` when it was not established.
pub fn settled_revocation_text(r: &RevocationFacts<'_>, lang: Lang) -> Option<String> {
    Some(match r.status {
        "good" if r.revoked_later.is_some() => format!(
            "{} {} ({} {})",
            lang.pick("chưa bị thu hồi tại", "not revoked at"),
            when(r.at),
            lang.pick("bị thu hồi sau đó, từ", "revoked later, since"),
            r.revoked_later.map(when).unwrap_or_default()
        ),
        "good" => {
            let how = match r.source {
                Some("ocsp") => "OCSP",
                Some("crl") => "CRL",
                _ => "",
            };
            format!(
                "{} ({how}, {} {})",
                lang.pick("chưa bị thu hồi", "not revoked"),
                lang.pick("tại", "at"),
                when(r.at)
            )
        }
        "revoked" => match r.revoked {
            Some((t, reason)) => format!(
                "{} {} ({})",
                lang.pick("ĐÃ BỊ THU HỒI từ", "REVOKED since"),
                when(t),
                revocation_reason_text(reason, lang)
            ),
            None => lang.pick("ĐÃ BỊ THU HỒI", "REVOKED").to_owned(),
        },
        _ => return None,
    })
}

/// A status that could not be established (`online`: fetching was allowed), with what was
/// tried and failed (`why`, already in the user's words).
pub fn unsettled_revocation_text(online: bool, why: &[String], lang: Lang) -> String {
    let mut t = if !online {
        lang.pick(
            "chưa xác định được: tệp không kèm CRL/OCSP còn hiệu lực và lệnh chạy với --offline",
            "could not be established: the file carries no current CRL/OCSP and --offline forbids fetching",
        )
        .to_owned()
    } else {
        lang.pick(
            "chưa xác định được: không lấy được CRL/OCSP còn hiệu lực",
            "could not be established: no current CRL/OCSP could be obtained",
        )
        .to_owned()
    };
    if !why.is_empty() {
        t.push_str(&format!(" ({})", why.join("; ")));
    }
    t
}

/// The clerk's report: the items Decree 68 asks to show for each signature.
pub fn to_text(r: &DocumentValidation, file: &str, lang: Lang) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let reasons = |codes: &[&str]| {
        codes
            .iter()
            .map(|c| reason_text(c, lang))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(o, "{}: {file}", lang.pick("Tệp", "File"));
    let _ = write!(
        o,
        "{}: {}",
        lang.pick("Kết luận", "Verdict"),
        verdict_text(r.verdict, lang)
    );
    if !r.reasons.is_empty() {
        let _ = write!(o, " ({})", reasons(&r.reasons));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", count_text(r, lang));
    let yes = |b: bool| {
        if b {
            lang.pick("có", "yes")
        } else {
            lang.pick("không", "no")
        }
    };
    let _ = writeln!(
        o,
        "{}: {}; {}: {}",
        lang.pick("Chữ ký cá nhân", "Personal signature"),
        yes(r.has_personal),
        lang.pick("chữ ký cơ quan, tổ chức", "organization signature"),
        yes(r.has_organization)
    );
    // The number and date the clerk filled after the personal signature (Decree 30 fields).
    if let Some(n) = &r.numbering {
        let unfilled = lang.pick("(chưa điền)", "(not filled)");
        let _ = writeln!(
            o,
            "{}: {}; {}: {}",
            lang.pick("Số, ký hiệu", "Number and notation"),
            n.number.as_deref().unwrap_or(unfilled),
            lang.pick("ngày ban hành", "date of issue"),
            n.date_text.as_deref().unwrap_or(unfilled)
        );
    }
    if let (Some(body), Some(named)) = (&r.issuing_body, r.organization_names_issuing_body) {
        let _ = writeln!(
            o,
            "{} ({body}): {}",
            lang.pick(
                "Chứng thư số của chữ ký cơ quan ghi đúng tên cơ quan ban hành",
                "The organization certificate names the issuing body"
            ),
            if named {
                lang.pick("có", "yes")
            } else {
                lang.pick("KHÔNG", "NO")
            }
        );
    }
    for (i, s) in r.signatures.iter().enumerate() {
        let _ = writeln!(o);
        let doc_ts = s.kind == SignatureKind::DocTimeStamp;
        let _ = write!(
            o,
            "{} {} ({}): {}",
            if doc_ts {
                lang.pick("Dấu thời gian tài liệu", "Document timestamp")
            } else {
                lang.pick("Chữ ký", "Signature")
            },
            i + 1,
            s.field,
            verdict_text(s.verdict, lang)
        );
        if !s.reasons.is_empty() {
            let _ = write!(o, " — {}", reasons(&s.reasons));
        }
        let _ = writeln!(o);
        if let Some(x) = &s.signer {
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
            let _ = writeln!(
                o,
                "  {}: {}{}",
                if doc_ts {
                    lang.pick("Đơn vị cấp dấu thời gian", "Time-stamping authority")
                } else {
                    lang.pick("Người ký", "Signer")
                },
                dash(&x.name),
                x.title
                    .as_ref()
                    .map(|t| format!(" — {t}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                o,
                "  {}: {}{}",
                lang.pick("Đơn vị quản lý", "Managing unit"),
                dash(&x.organization),
                x.unit
                    .as_ref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            );
            if !doc_ts {
                let _ = writeln!(
                    o,
                    "  {}: {}",
                    lang.pick("Loại chứng thư số", "Certificate kind"),
                    match x.role {
                        Role::Personal => lang.pick("cá nhân", "personal"),
                        Role::Organization => lang.pick("cơ quan, tổ chức", "organization"),
                    }
                );
            }
            let _ = writeln!(o, "  {}: {}", lang.pick("Tổ chức cấp", "Issuer"), x.issuer);
            let _ = writeln!(o, "  {}: {}", lang.pick("Số hiệu", "Serial"), x.serial);
            let _ = writeln!(
                o,
                "  {}: {} → {}",
                lang.pick("Thời hạn chứng thư số", "Certificate validity"),
                when(x.not_before),
                when(x.not_after)
            );
        }
        let _ = writeln!(
            o,
            "  {}: {}",
            lang.pick("Thời điểm ký", "Signing time"),
            match s.signing_time {
                Some(t) if s.time_proven => format!(
                    "{} ({})",
                    when(t),
                    lang.pick("theo dấu thời gian", "from a timestamp")
                ),
                Some(t) => format!(
                    "{} ({})",
                    when(t),
                    lang.pick(
                        "do người ký khai, chưa có dấu thời gian",
                        "claimed, not timestamped"
                    )
                ),
                None => "—".to_owned(),
            }
        );
        let _ = writeln!(
            o,
            "  {}: {}{}",
            lang.pick("Toàn vẹn", "Integrity"),
            if s.intact {
                lang.pick("nguyên vẹn", "intact")
            } else {
                lang.pick("KHÔNG nguyên vẹn", "NOT intact")
            },
            if s.integrity_problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems_text(&s.integrity_problems, lang))
            }
        );
        for j in &s.algorithms {
            let _ = writeln!(
                o,
                "  {}: {} ({} {}; {} {}): {}",
                lang.pick("Thuật toán cũ", "Legacy algorithm"),
                j.algorithm,
                lang.pick("chấp nhận đến", "acceptable until"),
                when(j.sunset),
                lang.pick("bằng chứng tồn tại", "proof of existence"),
                when(j.proof_of_existence),
                if j.acceptable {
                    lang.pick("được chấp nhận", "accepted")
                } else {
                    lang.pick("KHÔNG được chấp nhận", "NOT accepted")
                }
            );
        }
        if let Some(p) = &s.path {
            let _ = writeln!(
                o,
                "  {}: {}{}",
                lang.pick(
                    "Hiệu lực chứng thư số tại thời điểm ký",
                    "Certificate at signing time"
                ),
                match p.status {
                    "valid" => lang.pick("hợp lệ", "valid"),
                    "no_anchor" => lang.pick("không đến được gốc tin cậy", "no trusted root"),
                    _ => lang.pick("không hợp lệ", "invalid"),
                },
                if p.problems.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", problems_text(&p.problems, lang))
                }
            );
            let _ = writeln!(
                o,
                "  {}: {}",
                lang.pick("Chuỗi chứng thư", "Certificate chain"),
                chain_text(p, lang)
            );
        }
        if let Some(t) = &s.timestamp {
            let _ = writeln!(
                o,
                "  {}: {}{}",
                lang.pick("Dấu thời gian", "Timestamp"),
                match t.status {
                    "valid" => lang.pick("hợp lệ", "valid"),
                    "invalid" => lang.pick("KHÔNG hợp lệ", "INVALID"),
                    _ => lang.pick(
                        "chưa xác định được tổ chức cấp dấu thời gian",
                        "TSA not established"
                    ),
                },
                t.tsa
                    .as_ref()
                    .map(|x| format!(" — {x}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            o,
            "  {}: {}",
            lang.pick("Tình trạng thu hồi", "Revocation"),
            revocation_text(&s.revocation, r.online, lang)
        );
        let changes = changes_text(s, lang);
        let _ = writeln!(
            o,
            "  {}: {changes}",
            lang.pick("Thay đổi sau khi ký", "Changes after signing")
        );
        for line in annotation_lines(s, lang) {
            let _ = writeln!(o, "    {line}");
        }
    }
    o
}

/// How many signatures and document timestamps the file holds, in words.
fn count_text(r: &DocumentValidation, lang: Lang) -> String {
    let timestamps = r
        .signatures
        .iter()
        .filter(|s| s.kind == SignatureKind::DocTimeStamp)
        .count();
    let signatures = r.signatures.len() - timestamps;
    match (signatures, timestamps, lang) {
        (0, 0, Lang::Vi) => "Tệp không có chữ ký số nào.".to_owned(),
        (0, 0, Lang::En) => "The file holds no signature.".to_owned(),
        (n, 0, Lang::Vi) => format!("Tệp có {n} chữ ký số, kiểm tra lần lượt dưới đây."),
        (n, t, Lang::Vi) => format!(
            "Tệp có {n} chữ ký số và {t} dấu thời gian tài liệu (dấu thời gian lưu trữ lâu dài), kiểm tra lần lượt dưới đây."
        ),
        (n, t, Lang::En) => format!(
            "The file holds {n} signature{} and {t} document timestamp{}, checked one by one below.",
            if n == 1 { "" } else { "s" },
            if t == 1 { "" } else { "s" }
        ),
    }
}

/// The changes made after a signature, counted and explained.
pub fn changes_text(s: &SignatureValidation, lang: Lang) -> String {
    match &s.changes {
        Some(c) => {
            let changes: Vec<(&str, bool)> =
                c.changes.iter().map(|ch| (ch.code, ch.allowed)).collect();
            changes_words(
                Some(c.later_revisions),
                &changes,
                s.changes_error.as_deref(),
                lang,
            )
        }
        None => changes_words(None, &[], s.changes_error.as_deref(), lang),
    }
}

/// [`changes_text`] from the facts `kyso.verify/1` keeps (`changes_after`): the number of
/// later revisions (none: not analysable, with the library's `error`) and each change's code
/// and whether it is allowed — so a stored report reads as a fresh one.
pub fn changes_words(
    later_revisions: Option<usize>,
    changes: &[(&str, bool)],
    error: Option<&str>,
    lang: Lang,
) -> String {
    let Some(revs) = later_revisions else {
        // The library's reason stays in English and in the JSON (`changes_after.error`).
        return match lang {
            Lang::Vi => "không phân tích được các phiên bản sau chữ ký này (tệp có cấu trúc lạ hoặc bị hỏng); coi như đã bị thay đổi".to_owned(),
            Lang::En => format!("could not be analysed ({})", error.unwrap_or("")),
        };
    };
    if changes.is_empty() {
        return match (revs, lang) {
            (0, Lang::Vi) => "không có (chữ ký này bao trùm toàn bộ tệp)".to_owned(),
            (n, Lang::Vi) => {
                format!("không có ({n} lần cập nhật sau chữ ký này không đổi nội dung nào)")
            }
            (0, Lang::En) => "none (this signature covers the whole file)".to_owned(),
            (n, Lang::En) => format!(
                "none ({n} later update{} changed nothing)",
                if n == 1 { "" } else { "s" }
            ),
        };
    }
    let n = changes.len();
    let bad: Vec<&str> = changes
        .iter()
        .filter(|(_, allowed)| !allowed)
        .map(|(code, _)| *code)
        .collect();
    if bad.is_empty() {
        let mut t = match lang {
            Lang::Vi => format!(
                "{n} thay đổi trong {revs} lần cập nhật sau chữ ký này, đều là thay đổi được phép (thêm chữ ký, dấu thời gian, thông tin kiểm tra chứng thư số, điền biểu mẫu)"
            ),
            Lang::En => format!(
                "{n} change{} in {revs} later update{}, all of them allowed (signatures, timestamps, validation data, form filling)",
                if n == 1 { "" } else { "s" },
                if revs == 1 { "" } else { "s" }
            ),
        };
        let seal = changes
            .iter()
            .any(|(code, _)| *code == kyso_pades::revisions::SEAL_OVER_SIGNATURE);
        t.push_str(&seal_note(seal, lang));
        t
    } else {
        let k = bad.len();
        match lang {
            Lang::Vi => format!(
                "CÓ {k} trong {n} thay đổi (trong {revs} lần cập nhật sau chữ ký này) không được phép: {}",
                bad.join(", ")
            ),
            Lang::En => format!(
                "DISALLOWED: {k} of {n} changes (in {revs} later update{}): {}",
                if revs == 1 { "" } else { "s" },
                bad.join(", ")
            ),
        }
    }
}

/// The annotations added after a signature (`changes_after.annotations`).
fn annotations_json(c: &kyso_pades::revisions::ChangeReport) -> Value {
    c.annotations
        .iter()
        .map(|a| {
            json!({
                "revision": a.revision, "object": a.object.to_string(),
                "subtype": a.subtype, "pages": a.pages, "author": a.author,
                "contents": a.contents, "covers": a.covers,
                "code": a.code, "allowed": a.allowed,
            })
        })
        .collect()
}

/// The Decree 30 seal over a personal signature, said as what it is (no warning).
fn seal_note(seal: bool, lang: Lang) -> String {
    match (seal, lang) {
        (false, _) => String::new(),
        (true, Lang::Vi) => {
            "; con dấu của cơ quan đóng trùm lên chữ ký cá nhân đúng thể thức Nghị định 30"
                .to_owned()
        }
        (true, Lang::En) => {
            "; the organization's seal over the personal signature, the Decree 30 form".to_owned()
        }
    }
}

/// One line per annotation added after the signature: type, page, author, text, and whether it
/// is allowed or paints over the signed content.
fn annotation_lines(s: &SignatureValidation, lang: Lang) -> Vec<String> {
    let Some(c) = &s.changes else {
        return Vec::new();
    };
    c.annotations
        .iter()
        .map(|a| {
            let pages = a
                .pages
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let kind = annotation_kind(&a.subtype, lang);
            let verdict = match (a.code, a.allowed, lang) {
                (kyso_pades::revisions::ANNOTATION_OVERLAYS_CONTENT, _, Lang::Vi) => {
                    "KHÔNG được phép: che lên nội dung đã ký"
                }
                (kyso_pades::revisions::ANNOTATION_OVERLAYS_CONTENT, _, Lang::En) => {
                    "NOT allowed: covers signed content"
                }
                (_, true, Lang::Vi) => "được phép, không che nội dung",
                (_, true, Lang::En) => "allowed, covers nothing",
                (_, false, Lang::Vi) => "KHÔNG được phép sau chữ ký này",
                (_, false, Lang::En) => "NOT allowed after this signature",
            };
            let who = a.author.as_deref().unwrap_or("?");
            let text = a.contents.as_deref().unwrap_or("");
            match lang {
                Lang::Vi => format!(
                    "Chú thích thêm sau khi ký: {kind} ({}), trang {pages}, người tạo «{who}», nội dung «{text}» — {verdict}",
                    a.subtype
                ),
                Lang::En => format!(
                    "Annotation added after signing: {kind}, page {pages}, by «{who}», text «{text}» — {verdict}"
                ),
            }
        })
        .collect()
}

/// What a clerk calls an annotation of this `/Subtype`.
fn annotation_kind(subtype: &str, lang: Lang) -> String {
    let vi = match subtype {
        "Text" => "ghi chú",
        "FreeText" => "chữ viết thêm",
        "Stamp" => "dấu (stamp)",
        "Square" => "khung chữ nhật",
        "Circle" => "hình tròn",
        "Ink" => "nét vẽ tay",
        "Redact" => "vùng che (redact)",
        "Link" => "liên kết",
        "Highlight" => "tô sáng",
        "Underline" => "gạch chân",
        "StrikeOut" => "gạch ngang",
        "Widget" => "ô biểu mẫu",
        _ => "chú thích",
    };
    match lang {
        Lang::Vi => vi.to_owned(),
        Lang::En => subtype.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn unsigned() -> DocumentValidation {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/corpus/one-page.pdf"
        );
        let src = kyso_pdf::FileSource::open(std::path::Path::new(path)).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let opts =
            kyso_pades::validate::ValidateOptions::new(kyso_x509::path::TrustStore::new(), now);
        kyso_pades::validate::validate(Arc::new(src), &opts).unwrap()
    }

    fn validate_bytes(bytes: Vec<u8>) -> DocumentValidation {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let opts =
            kyso_pades::validate::ValidateOptions::new(kyso_x509::path::TrustStore::new(), now);
        let src = kyso_pdf::MemSource::new(bytes);
        kyso_pades::validate::validate(Arc::new(src), &opts).unwrap()
    }

    #[test]
    fn the_number_and_date_the_clerk_filled_are_shown_in_json_and_text() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/corpus/one-page.pdf"
        );
        let draft = std::fs::read(path).unwrap();
        let (placed, _) = kyso_pades::numbering::place_fields_bytes(&draft).unwrap();

        // Placed, not filled: both values null, the text says so.
        let r = validate_bytes(placed.clone());
        let v = to_json(&r, "d.pdf");
        assert_eq!(
            v["numbering"],
            json!({"number": null, "date_text": null, "date": null})
        );
        assert!(to_text(&r, "d.pdf", Lang::Vi).contains("Số, ký hiệu: (chưa điền)"));

        let date = time::macros::date!(2026 - 12 - 06);
        let filled = kyso_pades::numbering::fill_bytes(&placed, "12/TB-SKHCN", date).unwrap();
        let r = validate_bytes(filled);
        let v = to_json(&r, "d.pdf");
        assert_eq!(v["numbering"]["number"], "12/TB-SKHCN");
        assert_eq!(v["numbering"]["date"], "2026-12-06");
        let date_text = v["numbering"]["date_text"].as_str().unwrap().to_owned();
        assert!(date_text.contains("06 tháng 12 năm 2026"), "{date_text}");
        let vi = to_text(&r, "d.pdf", Lang::Vi);
        assert!(
            vi.contains(&format!(
                "Số, ký hiệu: 12/TB-SKHCN; ngày ban hành: {date_text}"
            )),
            "{vi}"
        );
        let en = to_text(&r, "d.pdf", Lang::En);
        assert!(
            en.contains("Number and notation: 12/TB-SKHCN; date of issue:"),
            "{en}"
        );
    }

    #[test]
    fn a_file_without_signatures_in_json_and_in_both_languages() {
        let r = unsigned();
        let v = to_json(&r, "công văn.pdf");
        assert_eq!(v["schema"], "kyso.verify/1");
        assert_eq!(v["file"], "công văn.pdf");
        assert_eq!(v["verdict"], "indeterminate");
        assert_eq!(v["reasons"], json!(["NO_SIGNATURE"]));
        assert_eq!(v["signatures"], json!([]));
        assert_eq!(v["online"], false);
        assert_eq!(v["numbering"], Value::Null);
        let vi = to_text(&r, "công văn.pdf", Lang::Vi);
        assert!(vi.contains("Tệp không có chữ ký số nào."), "{vi}");
        let en = to_text(&r, "công văn.pdf", Lang::En);
        assert!(!en.contains("Tệp không có"), "{en}");
        assert_ne!(vi, en);
    }

    #[test]
    fn revocation_notes_are_worded_by_their_kind_and_ordered_network_first() {
        use kyso_ltv::fetch::FetchError;
        use kyso_ltv::revocation::Service;
        let down = |kind, message: &str| Note::Unreachable {
            service: Service::Ocsp,
            error: FetchError {
                url: "http://ocsp.demo/".into(),
                kind,
                message: message.into(),
            },
        };
        // The Vietnamese follows the kind whatever the library's English says.
        let cases = [
            (
                down(FetchErrorKind::Timeout, "x"),
                "không trả lời trong thời gian chờ",
            ),
            (
                down(FetchErrorKind::Connect, "timeout"),
                "không kết nối được",
            ),
            (
                down(FetchErrorKind::HostNotFound, "connection"),
                "không tìm thấy máy chủ",
            ),
            (
                down(FetchErrorKind::Http(503), "HTTP 404"),
                "mã lỗi HTTP 503",
            ),
            (down(FetchErrorKind::TooLarge, "dns"), "quá lớn"),
            (
                down(FetchErrorKind::Scheme, "larger than"),
                "chỉ tải được từ địa chỉ http://",
            ),
            (Note::NoService, "không ghi địa chỉ dịch vụ OCSP hay CRL"),
            (Note::EmbeddedNotCovering, "không áp dụng cho thời điểm"),
        ];
        for (note, expected) in &cases {
            let vi = note_text(note, Lang::Vi);
            assert!(vi.contains(expected), "{note:?}: {vi}");
            assert_eq!(note_text(note, Lang::En), note.to_string());
        }
        assert_eq!(
            cases[0].0.to_string(),
            "OCSP http://ocsp.demo/: x",
            "the English text (the JSON notes) is the library's"
        );
        let mut kinds: Vec<_> = [
            Note::NoService,
            Note::EmbeddedNotCovering,
            cases[1].0.clone(),
        ]
        .iter()
        .map(Note::kind)
        .collect();
        kinds.sort();
        assert_eq!(kinds[0], kyso_ltv::revocation::NoteKind::Unreachable);
    }
}
