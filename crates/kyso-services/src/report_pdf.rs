//! The verification report as a PDF: the facts of `kyso.verify/1` ([`crate::report::to_json`])
//! worded as the clerk's text report words them ([`crate::report::reason_text`],
//! [`crate::report::revocation_text`], [`crate::report::changes_text`]) and laid out by
//! `kyso_letters::render_verification_report` (A4, fonts embedded). Used by `kyso verify
//! --report-pdf`, and by the server for what it keeps with an incoming document and shows on
//! the public check page: one wording, one layout.

use std::io::Read;

use kyso_i18n::Lang;
use kyso_letters::report::{
    Check, Indication, ReportData, SignatureReport, SignatureRole, TimeSource,
};
use kyso_pades::validate::{DocumentValidation, Role, SignatureValidation, Verdict};
use kyso_pades::verify::SignatureKind;

use crate::report::{changes_text, problems_text, reason_text, revocation_text};

fn indication(v: Verdict) -> Indication {
    match v {
        Verdict::Valid => Indication::Valid,
        Verdict::Invalid => Indication::Invalid,
        Verdict::Indeterminate => Indication::Indeterminate,
    }
}

fn reasons(codes: &[&str], lang: Lang) -> Vec<String> {
    codes.iter().map(|c| reason_text(c, lang)).collect()
}

/// The report's facts of `r` (the validation of the file named `file`, whose SHA-256 is
/// `sha256_hex`), in `lang`.
pub fn report_data(r: &DocumentValidation, file: &str, sha256_hex: &str, lang: Lang) -> ReportData {
    let mut facts = Vec::new();
    if let Some(n) = &r.numbering {
        let unfilled = lang.pick("(chưa điền)", "(not filled)");
        facts.push((
            lang.pick("Số, ký hiệu", "Number and notation").to_owned(),
            n.number.as_deref().unwrap_or(unfilled).to_owned(),
        ));
        facts.push((
            lang.pick("Ngày ban hành", "Date of issue").to_owned(),
            n.date_text.as_deref().unwrap_or(unfilled).to_owned(),
        ));
    }
    if let Some(body) = &r.issuing_body {
        let named = match r.organization_names_issuing_body {
            Some(true) => lang.pick(
                " (chứng thư số của chữ ký cơ quan ghi đúng tên này)",
                " (the organization certificate names it)",
            ),
            Some(false) => lang.pick(
                " (chứng thư số của chữ ký cơ quan KHÔNG ghi tên này)",
                " (the organization certificate does NOT name it)",
            ),
            None => "",
        };
        facts.push((
            lang.pick("Cơ quan ban hành", "Issuing body").to_owned(),
            format!("{body}{named}"),
        ));
    }
    facts.push((
        lang.pick("Tra cứu thu hồi trực tuyến", "Revocation fetched online")
            .to_owned(),
        if r.online {
            lang.pick("có", "yes")
        } else {
            lang.pick(
                "không (chỉ dùng thông tin kèm trong tệp)",
                "no (only what the file carries)",
            )
        }
        .to_owned(),
    ));
    ReportData {
        lang,
        title: String::new(),
        file_name: file.to_owned(),
        sha256: sha256_hex.to_owned(),
        checked_at: r.validated_at,
        indication: indication(r.verdict),
        reasons: reasons(&r.reasons, lang),
        facts,
        signatures: r
            .signatures
            .iter()
            .map(|s| signature(s, r.online, lang))
            .collect(),
    }
}

fn signature(s: &SignatureValidation, online: bool, lang: Lang) -> SignatureReport {
    let doc_ts = s.kind == SignatureKind::DocTimeStamp;
    let signer = s.signer.as_ref();
    let text = |f: fn(&kyso_pades::validate::SignerSummary) -> &Option<String>| {
        signer.and_then(|x| f(x).clone()).unwrap_or_default()
    };
    let mut organization = text(|x| &x.organization);
    let unit = text(|x| &x.unit);
    if !unit.is_empty() {
        organization = if organization.is_empty() {
            unit
        } else {
            format!("{organization} ({unit})")
        };
    }
    let role = match (doc_ts, signer.map(|x| x.role)) {
        (true, _) => SignatureRole::DocumentTimestamp,
        (false, Some(Role::Personal)) => SignatureRole::Personal,
        (false, Some(Role::Organization)) => SignatureRole::Organization,
        (false, None) => SignatureRole::Unknown,
    };
    // An algorithm kyso cannot verify says nothing about the content.
    let integrity = if s.intact {
        Check::Passed
    } else if s
        .integrity_problems
        .iter()
        .all(|p| *p == "UNSUPPORTED_ALGORITHM")
        && !s.integrity_problems.is_empty()
    {
        Check::NotChecked
    } else {
        Check::Failed
    };
    SignatureReport {
        signer_name: text(|x| &x.name),
        signer_title: text(|x| &x.title),
        organization,
        role,
        indication: indication(s.verdict),
        reasons: reasons(&s.reasons, lang),
        integrity,
        integrity_detail: problems_text(&s.integrity_problems, lang),
        signing_time: s.signing_time,
        time_source: if s.time_proven {
            TimeSource::Timestamp
        } else {
            TimeSource::Claimed
        },
        revocation: revocation_text(&s.revocation, online, lang),
        changes: changes_text(s, lang),
        etsi_indication: s.etsi.indication.as_str().to_owned(),
        etsi_sub_indication: s.etsi.sub_indication.map(|x| x.as_str().to_owned()),
    }
}

/// The report of `r` as a PDF, in `lang`.
pub fn render(
    r: &DocumentValidation,
    file: &str,
    sha256_hex: &str,
    lang: Lang,
) -> Result<Vec<u8>, kyso_letters::Error> {
    kyso_letters::render_verification_report(&report_data(r, file, sha256_hex, lang))
}

/// The SHA-256 of everything `reader` gives, in lower-case hexadecimal (read in 1 MiB pieces).
pub fn sha256_hex(mut reader: impl Read) -> std::io::Result<String> {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(buf.get(..n).unwrap_or_default());
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_unsigned_file_is_reported_not_determined_with_its_digest() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/corpus/one-page.pdf"
        );
        let bytes = std::fs::read(path).unwrap();
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let opts =
            kyso_pades::validate::ValidateOptions::new(kyso_x509::path::TrustStore::new(), now);
        let r = kyso_pades::validate::validate(
            Arc::new(kyso_pdf::MemSource::new(bytes.clone())),
            &opts,
        )
        .unwrap();
        let sha = sha256_hex(bytes.as_slice()).unwrap();
        assert_eq!(sha.len(), 64);
        let data = report_data(&r, "one-page.pdf", &sha, Lang::Vi);
        assert_eq!(data.indication, Indication::Indeterminate);
        assert_eq!(data.reasons, vec!["tệp không có chữ ký số".to_owned()]);
        assert!(data.signatures.is_empty());
        assert!(data
            .facts
            .iter()
            .any(|(l, v)| l == "Tra cứu thu hồi trực tuyến" && v.starts_with("không")));
        let pdf = render(&r, "one-page.pdf", &sha, Lang::Vi).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(
            sha256_hex(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
