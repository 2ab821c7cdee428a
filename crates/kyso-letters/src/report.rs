//! The signature verification report as a PDF (`kyso.verify/1` for people): what a clerk files
//! with an incoming document, what a citizen takes away from the public check. Vietnamese by
//! default, English on request, A4 portrait, fonts embedded, no script.
//!
//! ```text
//!                 KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ
//!                          ─────
//! Kết luận: Không xác định được — lý do: chưa kiểm tra được tình trạng thu hồi …
//! Điều này không có nghĩa là chữ ký sai: …            (only when indeterminate)
//!
//! Tệp văn bản             công văn.pdf
//! Mã SHA-256 của tệp      1a2b3c4d 5e6f7a8b …
//! Thời điểm kiểm tra      06/12/2026 10:00 (+07:00)
//! Số chữ ký               Tệp có 2 chữ ký số.
//!
//! Chữ ký 1: Nguyễn Văn An
//! ┌──────────────────────┬──────────────────────────────────────────┐
//! │ Nội dung kiểm tra    │ Kết quả                                  │ header repeated
//! ├──────────────────────┼──────────────────────────────────────────┤ on a new page
//! │ Kết luận             │ Chữ ký hợp lệ                            │
//! │ Người ký             │ Nguyễn Văn An — Giám đốc, Sở …           │
//! │ …                    │ …                                        │
//! └──────────────────────┴──────────────────────────────────────────┘
//! ```
//!
//! The renderer knows nothing of the validator: [`ReportData`] carries the facts, with the
//! reasons, revocation and changes already worded in the report's language by the crate that
//! owns the verification report (`kyso_services::report_pdf`). The verdict comes first, then
//! its reasons, then the details; an indeterminate result is said as such ("Không xác định
//! được"), never as a fault of the signer. Signers are named by their names, not their
//! certificates' distinguished names.

use kyso_i18n::Lang;
use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};
use time::OffsetDateTime;

use crate::Error;

/// Most signatures the report details; the rest are counted in one sentence (the JSON report
/// has them all). A document carries a handful.
pub const MAX_REPORT_SIGNATURES: usize = 200;

/// Most reasons listed for the document or one signature.
pub const MAX_REPORT_REASONS: usize = 20;

/// Longest text of one field, in characters: longer text is cut with "…", so that every row
/// of the report fits on a page.
pub const MAX_REPORT_TEXT_CHARS: usize = 1500;

/// A verdict: the document's (the worst of its signatures') or one signature's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indication {
    Valid,
    Invalid,
    /// Not enough to conclude either way (no trusted root given, revocation not obtainable, an
    /// algorithm that cannot be checked, no signature at all).
    Indeterminate,
}

/// What kind of signature a row of the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRole {
    /// A person's signature with their own certificate.
    Personal,
    /// The agency's signature (organization certificate, Decree 30: the seal).
    Organization,
    /// A document timestamp (long-term archival), not a person's act.
    DocumentTimestamp,
    /// A signature whose certificate could not be read.
    Unknown,
}

/// One check of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Passed,
    Failed,
    /// Could not be performed (an algorithm kyso cannot verify): nothing is claimed.
    NotChecked,
}

/// Where the signing time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// A trusted timestamp proves it.
    Timestamp,
    /// The signer's own claim, not proven.
    Claimed,
}

/// Everything the report says. The texts (`reasons`, `revocation`, `changes`, …) are already
/// in `lang`; the renderer adds the labels and the verdict's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportData {
    /// The language of the labels (and of the texts given).
    pub lang: Lang,
    /// The title; empty: "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ" ("SIGNATURE VERIFICATION REPORT").
    pub title: String,
    /// The checked file's name, as the user knows it.
    pub file_name: String,
    /// The SHA-256 of the checked file, in hexadecimal (printed in groups of eight).
    pub sha256: String,
    /// When the check was made (printed in Vietnam time; the PDF's creation date).
    pub checked_at: OffsetDateTime,
    /// The document's verdict.
    pub indication: Indication,
    /// Why, in words, most important first (empty when valid).
    pub reasons: Vec<String>,
    /// Further facts of the document, as (label, value): the number and notation, the issuing
    /// body, whether revocation was fetched online.
    pub facts: Vec<(String, String)>,
    /// The signatures and document timestamps, in file order.
    pub signatures: Vec<SignatureReport>,
}

/// One signature (or document timestamp) of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReport {
    /// The signer's name (the certificate's common name), empty when unknown; for a document
    /// timestamp, the time-stamping authority's.
    pub signer_name: String,
    /// The signer's position ("Giám đốc"), empty when the certificate says none.
    pub signer_title: String,
    /// The signer's agency ("Sở Khoa học và Công nghệ tỉnh Demo"), empty when none.
    pub organization: String,
    pub role: SignatureRole,
    pub indication: Indication,
    /// Why, in words (empty when valid).
    pub reasons: Vec<String>,
    /// Whether the signed bytes are those the signer signed.
    pub integrity: Check,
    /// The integrity problems in words, empty when none.
    pub integrity_detail: String,
    /// The signing time, when known, and where it comes from.
    pub signing_time: Option<OffsetDateTime>,
    pub time_source: TimeSource,
    /// The revocation status of the signer's certificate, in words.
    pub revocation: String,
    /// What changed in the document after this signature, in words.
    pub changes: String,
    /// The ETSI EN 319 102-1 indication ("TOTAL_PASSED") and sub-indication ("TRY_LATER").
    pub etsi_indication: String,
    pub etsi_sub_indication: Option<String>,
}

/// A text as printed: trimmed, at most [`MAX_REPORT_TEXT_CHARS`] characters.
fn cut(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_REPORT_TEXT_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_REPORT_TEXT_CHARS - 1).collect();
    out.push('…');
    out
}

/// The digest in groups of eight hexadecimal digits, easy to compare by eye.
fn grouped_hex(hex: &str) -> String {
    let hex: Vec<char> = hex.trim().chars().collect();
    hex.chunks(8)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn pdf_date(t: OffsetDateTime) -> String {
    let v = t
        .checked_to_offset(kyso_domain::calendar::VIETNAM)
        .unwrap_or(t);
    let off = v.offset();
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        v.year(),
        u8::from(v.month()),
        v.day(),
        v.hour(),
        v.minute(),
        v.second(),
        off.whole_hours().unsigned_abs(),
        off.minutes_past_hour().unsigned_abs()
    )
}

/// The reasons as one sentence ("a; b"), at most [`MAX_REPORT_REASONS`] of them.
fn joined(reasons: &[String]) -> String {
    reasons
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .take(MAX_REPORT_REASONS)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The verdict in a civil servant's words, its reasons after it. `many`: said of several
/// signatures (the document's conclusion).
pub fn verdict_sentence(
    indication: Indication,
    reasons: &[String],
    many: bool,
    lang: Lang,
) -> String {
    let head = match (indication, many) {
        (Indication::Valid, false) => lang.pick("Chữ ký hợp lệ", "Signature valid"),
        (Indication::Valid, true) => lang.pick("Các chữ ký hợp lệ", "All signatures valid"),
        (Indication::Invalid, false) => lang.pick("Chữ ký không hợp lệ", "Signature not valid"),
        (Indication::Invalid, true) => lang.pick(
            "Có chữ ký không hợp lệ",
            "At least one signature is not valid",
        ),
        (Indication::Indeterminate, _) => {
            lang.pick("Không xác định được", "Could not be determined")
        }
    };
    let why = joined(reasons);
    if why.is_empty() || indication == Indication::Valid {
        head.to_owned()
    } else {
        format!("{head} — {}: {why}", lang.pick("lý do", "reason"))
    }
}

/// Lay out the report as a PDF: A4 portrait, Decree 30 margins, the conclusion and its reasons
/// first, then the file (name, SHA-256, time of the check), then one table per signature.
/// Pages are numbered in the top margin from the second on. Long names and texts wrap inside
/// their column (a word longer than the column is broken); a character the font does not have
/// is printed as "?". The output depends only on `data`.
pub fn render_verification_report(data: &ReportData) -> Result<Vec<u8>, Error> {
    if data.file_name.trim().is_empty() {
        return Err(Error::EmptyField { field: "file name" });
    }
    match compose(data, None) {
        Err(Error::Layout(kyso_pdf::Error::Font(kyso_pdf::FontError::MissingGlyphs {
            missing,
        }))) => compose(data, Some(&missing)),
        other => other,
    }
}

fn compose(data: &ReportData, missing: Option<&[char]>) -> Result<Vec<u8>, Error> {
    let lang = data.lang;
    let clean = |s: &str| -> String {
        let s = cut(s);
        match missing {
            Some(m) => s
                .chars()
                .map(|c| if m.contains(&c) { '?' } else { c })
                .collect(),
            None => s,
        }
    };
    let body = Style::new(12.0).spacing(1.2);
    let label = body.clone().bold();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.2);

    let mut c = Composer::a4(Margins::decree30())?;
    c.number_pages(&Style::new(11.0))?;

    let title = if data.title.trim().is_empty() {
        lang.pick(
            "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ",
            "SIGNATURE VERIFICATION REPORT",
        )
        .to_owned()
    } else {
        clean(&data.title)
    };
    c.paragraph(&title, &center(15.0).bold())?;
    c.line(30.0, Align::Center);
    c.spacer(3.0);

    // The conclusion and its reasons before anything else.
    let many = data.signatures.len() > 1;
    let conclusion = clean(&verdict_sentence(
        data.indication,
        &data.reasons,
        many,
        lang,
    ));
    c.paragraph(
        &format!("{}: {conclusion}", lang.pick("Kết luận", "Conclusion")),
        &Style::new(13.0).bold().spacing(1.25).after(3.0),
    )?;
    if data.indication == Indication::Indeterminate {
        c.paragraph(
            lang.pick(
                "Kết quả này không có nghĩa là chữ ký sai: chưa đủ căn cứ để kết luận. Có thể kiểm tra lại khi đã khắc phục lý do nêu trên.",
                "This does not mean that a signature is wrong: there is not enough to conclude either way. The check can be repeated once the reason above is resolved.",
            ),
            &body.clone().italic().after(3.0),
        )?;
    }
    c.spacer(2.0);

    // The file.
    let signatures = data
        .signatures
        .iter()
        .filter(|s| s.role != SignatureRole::DocumentTimestamp)
        .count();
    let timestamps = data.signatures.len() - signatures;
    let count = match (signatures, timestamps, lang) {
        (0, 0, Lang::Vi) => "Tệp không có chữ ký số nào.".to_owned(),
        (0, 0, Lang::En) => "The file holds no signature.".to_owned(),
        (n, 0, Lang::Vi) => format!("Tệp có {n} chữ ký số."),
        (n, t, Lang::Vi) => format!("Tệp có {n} chữ ký số và {t} dấu thời gian tài liệu."),
        (n, t, Lang::En) => format!(
            "The file holds {n} signature{} and {t} document timestamp{}.",
            if n == 1 { "" } else { "s" },
            if t == 1 { "" } else { "s" }
        ),
    };
    let mut facts: Vec<(String, String)> = vec![
        (
            lang.pick("Tệp văn bản", "File").to_owned(),
            clean(&data.file_name),
        ),
        (
            lang.pick("Mã SHA-256 của tệp", "SHA-256 of the file")
                .to_owned(),
            clean(&grouped_hex(&data.sha256)),
        ),
        (
            lang.pick("Thời điểm kiểm tra", "Checked at").to_owned(),
            kyso_domain::calendar::date_time_text(data.checked_at),
        ),
        (lang.pick("Số chữ ký", "Signatures").to_owned(), count),
    ];
    facts.extend(
        data.facts
            .iter()
            .take(MAX_REPORT_REASONS)
            .map(|(l, v)| (clean(l), clean(v))),
    );
    for (l, v) in &facts {
        c.columns_of(
            &Block::new().text(l, &label),
            &Block::new().text(v, &body.clone().after(2.0)),
            0.3,
        )?;
    }

    // One table per signature.
    let head = [
        lang.pick("Nội dung kiểm tra", "Check"),
        lang.pick("Kết quả", "Result"),
    ];
    let widths = [0.34, 0.66];
    let aligns = [Align::Left, Align::Left];
    let cell = Style::new(11.5).spacing(1.2);
    let mut numbers = (0usize, 0usize);
    for s in data.signatures.iter().take(MAX_REPORT_SIGNATURES) {
        let timestamp = s.role == SignatureRole::DocumentTimestamp;
        let n = if timestamp {
            numbers.1 += 1;
            numbers.1
        } else {
            numbers.0 += 1;
            numbers.0
        };
        let name = clean(&s.signer_name);
        let heading = match (timestamp, name.is_empty()) {
            (false, false) => format!("{} {n}: {name}", lang.pick("Chữ ký", "Signature")),
            (false, true) => format!(
                "{} {n}: {}",
                lang.pick("Chữ ký", "Signature"),
                lang.pick("không đọc được tên người ký", "signer's name not readable")
            ),
            (true, _) => format!(
                "{} {n}",
                lang.pick("Dấu thời gian tài liệu", "Document timestamp")
            ),
        };
        c.spacer(4.0);
        c.paragraph(&heading, &Style::new(13.0).bold().spacing(1.2).after(3.0))?;
        let rows = signature_rows(s, lang, &clean);
        c.table_aligned(&head, &rows, &widths, &aligns, &cell)?;
    }
    if data.signatures.len() > MAX_REPORT_SIGNATURES {
        let rest = data.signatures.len() - MAX_REPORT_SIGNATURES;
        c.spacer(3.0);
        c.paragraph(
            &match lang {
                Lang::Vi => format!(
                    "Còn {rest} chữ ký khác không in trong báo cáo này (xem báo cáo dạng JSON)."
                ),
                Lang::En => format!(
                    "{rest} more signatures are not printed in this report (see the JSON report)."
                ),
            },
            &body.clone().italic(),
        )?;
    }

    c.spacer(6.0);
    c.paragraph(
        lang.pick(
            "Báo cáo do hệ thống kyso lập tự động từ kết quả kiểm tra chữ ký số của tệp có mã SHA-256 nêu trên; báo cáo chỉ áp dụng cho đúng tệp đó.",
            "Made automatically by kyso from the signature check of the file with the SHA-256 above; it applies to that file only.",
        ),
        &Style::new(10.5).italic().spacing(1.2),
    )?;

    Ok(c.finish(&DocInfo {
        title: format!("{} — {}", title_sentence(lang), clean(&data.file_name)),
        author: String::new(),
        subject: conclusion,
        producer: "kyso".to_owned(),
        creation_date: Some(pdf_date(data.checked_at)),
        language: Some(lang.pick("vi-VN", "en").to_owned()),
    })?)
}

fn title_sentence(lang: Lang) -> &'static str {
    lang.pick(
        "Kết quả kiểm tra chữ ký số",
        "Signature verification report",
    )
}

/// The rows of one signature's table: the verdict and its reasons first.
fn signature_rows(
    s: &SignatureReport,
    lang: Lang,
    clean: &dyn Fn(&str) -> String,
) -> Vec<Vec<String>> {
    let timestamp = s.role == SignatureRole::DocumentTimestamp;
    let mut rows = Vec::new();
    let mut row = |l: &str, v: String| rows.push(vec![l.to_owned(), v]);
    row(
        lang.pick("Kết luận", "Conclusion"),
        clean(&verdict_sentence(s.indication, &s.reasons, false, lang)),
    );
    let mut who = clean(&s.signer_name);
    if who.is_empty() {
        who = lang.pick("không đọc được", "not readable").to_owned();
    }
    let title = clean(&s.signer_title);
    let org = clean(&s.organization);
    let details: Vec<&str> = [title.as_str(), org.as_str()]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect();
    if !details.is_empty() {
        who = format!("{who} — {}", details.join(", "));
    }
    row(
        if timestamp {
            lang.pick("Đơn vị cấp dấu thời gian", "Time-stamping authority")
        } else {
            lang.pick("Người ký", "Signer")
        },
        who,
    );
    row(
        lang.pick("Loại chữ ký", "Kind"),
        match s.role {
            SignatureRole::Personal => lang.pick(
                "Chữ ký số cá nhân (chứng thư số của người ký)",
                "Personal signature (the signer's own certificate)",
            ),
            SignatureRole::Organization => lang.pick(
                "Chữ ký số của cơ quan, tổ chức",
                "Signature of the agency (organization certificate)",
            ),
            SignatureRole::DocumentTimestamp => lang.pick(
                "Dấu thời gian tài liệu (bảo đảm lưu trữ lâu dài)",
                "Document timestamp (long-term archival)",
            ),
            SignatureRole::Unknown => lang.pick(
                "Không xác định (không đọc được chứng thư số)",
                "Unknown (the certificate could not be read)",
            ),
        }
        .to_owned(),
    );
    let detail = clean(&s.integrity_detail);
    let with_detail = |t: &str| {
        if detail.is_empty() {
            t.to_owned()
        } else {
            format!("{t} ({detail})")
        }
    };
    row(
        lang.pick("Toàn vẹn nội dung", "Integrity"),
        match s.integrity {
            Check::Passed => lang
                .pick(
                    "Nguyên vẹn: nội dung được ký không bị sửa",
                    "Intact: the signed content is unchanged",
                )
                .to_owned(),
            Check::Failed => with_detail(lang.pick(
                "Không nguyên vẹn: nội dung được ký đã bị sửa hoặc chữ ký bị hỏng",
                "Not intact: the signed content was changed or the signature is damaged",
            )),
            Check::NotChecked => with_detail(lang.pick(
                "Chưa kiểm tra được (không có nghĩa là nội dung bị sửa)",
                "Could not be checked (which does not mean it was changed)",
            )),
        },
    );
    row(
        lang.pick("Thời điểm ký", "Signing time"),
        match (s.signing_time, s.time_source) {
            (Some(t), TimeSource::Timestamp) => format!(
                "{} ({})",
                kyso_domain::calendar::date_time_text(t),
                lang.pick("theo dấu thời gian", "proven by a timestamp")
            ),
            (Some(t), TimeSource::Claimed) => format!(
                "{} ({})",
                kyso_domain::calendar::date_time_text(t),
                lang.pick(
                    "do người ký khai, chưa có dấu thời gian",
                    "claimed by the signer, not timestamped"
                )
            ),
            (None, _) => lang
                .pick("Không ghi thời điểm ký", "No signing time given")
                .to_owned(),
        },
    );
    let or_dash = |s: &str| {
        let s = clean(s);
        if s.is_empty() {
            "—".to_owned()
        } else {
            s
        }
    };
    row(
        lang.pick("Tình trạng thu hồi", "Revocation"),
        or_dash(&s.revocation),
    );
    if !timestamp {
        row(
            lang.pick("Thay đổi sau khi ký", "Changes after signing"),
            or_dash(&s.changes),
        );
    }
    let etsi = match s.etsi_sub_indication.as_deref().map(str::trim) {
        Some(sub) if !sub.is_empty() => format!("{} / {sub}", s.etsi_indication.trim()),
        _ => s.etsi_indication.trim().to_owned(),
    };
    row(
        lang.pick("Theo ETSI EN 319 102-1", "ETSI EN 319 102-1"),
        or_dash(&etsi),
    );
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_said_in_words_with_its_reasons_after_it() {
        let why = vec!["chưa kiểm tra được tình trạng thu hồi chứng thư số".to_owned()];
        assert_eq!(
            verdict_sentence(Indication::Valid, &[], false, Lang::Vi),
            "Chữ ký hợp lệ"
        );
        assert_eq!(
            verdict_sentence(Indication::Indeterminate, &why, false, Lang::Vi),
            "Không xác định được — lý do: chưa kiểm tra được tình trạng thu hồi chứng thư số"
        );
        assert_eq!(
            verdict_sentence(
                Indication::Invalid,
                &["the document was changed after signing".to_owned()],
                true,
                Lang::En
            ),
            "At least one signature is not valid — reason: the document was changed after signing"
        );
        // A valid verdict carries no reason even when one is passed by mistake.
        assert_eq!(
            verdict_sentence(Indication::Valid, &why, true, Lang::En),
            "All signatures valid"
        );
    }

    #[test]
    fn the_digest_is_grouped_and_long_texts_are_cut() {
        assert_eq!(grouped_hex("0123456789abcdef01"), "01234567 89abcdef 01");
        let long = "x".repeat(MAX_REPORT_TEXT_CHARS * 2);
        let c = cut(&long);
        assert_eq!(c.chars().count(), MAX_REPORT_TEXT_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(
            pdf_date(time::macros::datetime!(2026-12-06 03:04:05 UTC)),
            "D:20261206100405+07'00'"
        );
    }
}
