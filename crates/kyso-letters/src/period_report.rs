//! Reports of a period as PDFs (issue 21), one layout for two documents:
//! - an agency's report ([`Reporter::Agency`]): a Báo cáo of the agency to the Department —
//!   its figures, comments, answers and needs — drafted with its number and date blank, then
//!   signed by its leader and sealed by its clerk through the outgoing flow;
//! - the province's report ([`Reporter::Province`]): what the Department sends the province and
//!   the national CA — who has reported and the submitted reports summed — signed afterwards
//!   with the Department's organization key ([`crate::sign`]).
//!
//! Each group of figures is a bar chart beside its numbers. Decree 30's title block, A4
//! portrait, fonts embedded.

use kyso_domain::reports::{Figures, Needs};
use kyso_domain::Named as _;
use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};
use time::Date;

use crate::layout::{blank_date_line, date_line};
use crate::Error;

/// Who reports, and what only that report says.
#[derive(Debug, Clone, PartialEq)]
pub enum Reporter {
    /// The Department's consolidation: each reporting agency and whether it has submitted.
    Province { agencies: Vec<(String, bool)> },
    /// One agency's own report, to go through its outgoing flow.
    Agency {
        /// The report's notation ("BC-STC"): printed after the blank the clerk's number fills.
        notation: String,
        /// The Department it goes to ("Sở Khoa học và Công nghệ").
        recipient: String,
        comments: String,
        /// An ad hoc period's questions and the agency's answers.
        questions: String,
        answers: String,
        /// The signer's title ("GIÁM ĐỐC") and name.
        signer_title: String,
        signer_name: String,
    },
}

/// What the report says.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodReportData {
    /// The agency above the reporter in the title block (the province's People's Committee).
    pub managing_name: String,
    /// The agency that reports: the Department for the province's report.
    pub agency_name: String,
    /// The place of the date line ("Demo").
    pub place: String,
    /// The period's title ("Báo cáo 6 tháng đầu năm 2026").
    pub title: String,
    pub first_day: Date,
    pub last_day: Date,
    /// The day it is dated; `None` for an agency's draft (the clerk fills number and date).
    pub made_on: Option<Date>,
    /// The figures: the agency's, or the submitted reports' summed.
    pub figures: Figures,
    /// Next year's needs: the agency's, or summed.
    pub needs: Needs,
    pub from: Reporter,
}

fn vn(d: Date) -> String {
    kyso_domain::calendar::day_text(d)
}

/// Section headings numbered I, II, … as they come.
struct Sections(usize);

impl Sections {
    fn next(&mut self, title: &str) -> String {
        const ROMAN: [&str; 10] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"];
        let n = ROMAN.get(self.0).copied().unwrap_or("X");
        self.0 += 1;
        format!("{n}. {title}")
    }
}

/// Lay the report out.
pub fn render_period_report(data: &PeriodReportData) -> Result<Vec<u8>, Error> {
    if data.agency_name.trim().is_empty() {
        return Err(Error::EmptyField {
            field: "agency name",
        });
    }
    let agency_report = matches!(data.from, Reporter::Agency { .. });
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let body = Style::new(13.0).spacing(1.2).after(4.0);
    let heading = Style::new(13.5).bold().after(4.0);
    let chart = Style::new(11.0).after(8.0);
    let mut c = Composer::a4(Margins::decree30())?;
    c.number_pages(&Style::new(13.0))?;
    let mut issuer = Block::new();
    if !data.managing_name.trim().is_empty() {
        issuer = issuer.text(&data.managing_name.trim().to_uppercase(), &center(12.0));
    }
    let issuer = issuer
        .text(
            &data.agency_name.trim().to_uppercase(),
            &center(12.0).bold(),
        )
        .rule(20.0, Align::Center);
    let dated = match data.made_on {
        Some(d) => date_line(data.place.trim(), d),
        None => blank_date_line(data.place.trim()),
    };
    let mut nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(14.0).bold())
        .rule(58.0, Align::Center);
    if let Reporter::Agency { notation, .. } = &data.from {
        // Number (left) and date (right) on their own row, where the clerk's fields go.
        c.columns_of(&issuer, &nation, 0.44)?;
        c.spacer(1.0);
        let left = Block::new().text(&format!("Số: ......../{}", notation.trim()), &center(13.0));
        let right = Block::new().text(&dated, &center(14.0).italic());
        c.columns_of(&left, &right, 0.44)?;
    } else {
        nation = nation.text(&dated, &center(13.0).italic());
        c.columns_of(&issuer, &nation, 0.44)?;
    }
    c.spacer(6.0);
    c.paragraph("BÁO CÁO", &center(14.0).bold())?;
    c.paragraph(
        &format!(
            "Tình hình quản lý, sử dụng chữ ký số, chứng thư chữ ký số chuyên dùng công vụ và \
             thiết bị lưu khóa bí mật — {} (từ {} đến {})",
            data.title.trim(),
            vn(data.first_day),
            vn(data.last_day)
        ),
        &center(13.0).bold().after(10.0),
    )?;
    let mut sections = Sections(0);
    match &data.from {
        Reporter::Province { agencies } => {
            let submitted = agencies.iter().filter(|(_, s)| *s).count();
            c.paragraph(
                &sections.next("Tình hình gửi báo cáo của các cơ quan"),
                &heading,
            )?;
            c.paragraph(
                &format!(
                    "{submitted}/{} cơ quan đã gửi báo cáo; số liệu dưới đây là tổng của các báo \
                     cáo đã gửi.",
                    agencies.len()
                ),
                &body,
            )?;
            let rows: Vec<Vec<String>> = agencies
                .iter()
                .enumerate()
                .map(|(i, (name, done))| {
                    vec![
                        (i + 1).to_string(),
                        name.clone(),
                        if *done { "Đã gửi" } else { "Chưa gửi" }.to_owned(),
                    ]
                })
                .collect();
            c.table(
                &["STT", "Cơ quan", "Tình trạng"],
                &rows,
                &[0.1, 0.65, 0.25],
                &Style::new(11.5),
            )?;
            c.spacer(4.0);
        }
        Reporter::Agency { .. } => {
            c.paragraph(
                &format!(
                    "Thực hiện yêu cầu báo cáo {}, {} báo cáo tình hình quản lý, sử dụng chữ ký \
                     số chuyên dùng công vụ của cơ quan và các đơn vị trực thuộc như sau (số liệu \
                     tính từ hệ thống quản lý chữ ký số tại thời điểm chốt báo cáo):",
                    lower_first(data.title.trim()),
                    data.agency_name.trim()
                ),
                &body.clone().align(Align::Justify).indent(10.0),
            )?;
        }
    }
    figures_sections(
        &mut c,
        &mut sections,
        &data.figures,
        &heading,
        &body,
        &chart,
    )?;
    if let Reporter::Agency {
        comments,
        questions,
        answers,
        ..
    } = &data.from
    {
        c.paragraph(&sections.next("Nhận xét, đánh giá"), &heading)?;
        paragraphs(&mut c, comments, "Không có.", &body)?;
        if !questions.trim().is_empty() {
            c.paragraph(&sections.next("Trả lời câu hỏi của kỳ báo cáo"), &heading)?;
            for q in questions.lines().filter(|l| !l.trim().is_empty()) {
                c.paragraph(&format!("– {}", q.trim()), &body.clone().italic())?;
            }
            paragraphs(&mut c, answers, "Không trả lời.", &body)?;
        }
    }
    c.paragraph(&sections.next("Nhu cầu năm sau"), &heading)?;
    needs_table(&mut c, &data.needs, &body)?;
    c.spacer(6.0);
    match &data.from {
        Reporter::Province { .. } => {
            let sign = Block::new()
                .text(
                    &data.agency_name.trim().to_uppercase(),
                    &center(13.0).bold(),
                )
                .text("(Ký số)", &center(13.0).italic());
            c.columns_of(&Block::new(), &sign, 0.44)?;
        }
        Reporter::Agency {
            recipient,
            signer_title,
            signer_name,
            ..
        } => {
            let recipients = Block::new()
                .text("Nơi nhận:", &Style::new(12.0).bold().italic())
                .text(
                    &format!("- {} (để tổng hợp);\n- Lưu: VT.", recipient.trim()),
                    &Style::new(11.0).spacing(1.1),
                );
            let signature = Block::new()
                .text(&signer_title.trim().to_uppercase(), &center(14.0).bold())
                .space(28.0)
                .text(signer_name.trim(), &center(14.0).bold());
            c.columns_of(&recipients, &signature, 0.5)?;
        }
    }
    Ok(c.finish(&DocInfo {
        title: data.title.trim().to_owned(),
        author: data.agency_name.trim().to_owned(),
        subject: if agency_report {
            "Báo cáo tình hình quản lý, sử dụng chữ ký số chuyên dùng công vụ của cơ quan"
        } else {
            "Báo cáo tình hình quản lý, sử dụng chữ ký số chuyên dùng công vụ"
        }
        .into(),
        producer: "kyso".into(),
        creation_date: None,
        language: Some("vi-VN".into()),
    })?)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Each non-empty line of `text` as a paragraph; `none` when there is none.
fn paragraphs(c: &mut Composer, text: &str, none: &str, style: &Style) -> Result<(), Error> {
    let mut any = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        c.paragraph(line.trim(), style)?;
        any = true;
    }
    if !any {
        c.paragraph(none, &style.clone().italic())?;
    }
    Ok(())
}

/// The four groups of figures, each under its numbered heading.
fn figures_sections(
    c: &mut Composer,
    sections: &mut Sections,
    f: &Figures,
    heading: &Style,
    body: &Style,
    chart: &Style,
) -> Result<(), Error> {
    let pairs = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect()
    };
    c.paragraph(&sections.next("Chứng thư chữ ký số"), heading)?;
    let k = &f.certificates;
    c.bar_chart(
        &pairs(&[
            ("Còn hiệu lực cuối kỳ", k.active),
            ("Hết hạn trong 60 ngày sau kỳ", k.expiring_60),
            ("Đã hết hạn", k.expired),
            ("Đã thu hồi", k.revoked),
            ("Cấp mới trong kỳ", k.issued),
            ("Gia hạn trong kỳ", k.renewed),
            ("Thu hồi trong kỳ", k.revoked_in_period),
        ]),
        0.45,
        chart,
    )?;
    c.paragraph(
        &sections.next("Thiết bị lưu khóa bí mật (trong kỳ)"),
        heading,
    )?;
    let d = &f.devices;
    c.bar_chart(
        &pairs(&[
            ("Bàn giao cho thuê bao", d.issued),
            ("Bị khóa", d.locked),
            ("Khôi phục", d.recovered),
            ("Báo mất", d.lost),
            ("Trả lại", d.returned),
        ]),
        0.45,
        chart,
    )?;
    c.paragraph(&sections.next("Đề nghị (trong kỳ)"), heading)?;
    let total = f.requests_total();
    let mut rows: Vec<Vec<String>> = f
        .requests
        .iter()
        .map(|r| {
            vec![
                format!("Mẫu {} — {}", r.kind.form_number(), r.kind.vi()),
                r.created.to_string(),
                r.done.to_string(),
                r.refused.to_string(),
                r.on_time.to_string(),
                r.late.to_string(),
            ]
        })
        .collect();
    rows.push(vec![
        "Cộng".to_owned(),
        total.created.to_string(),
        total.done.to_string(),
        total.refused.to_string(),
        total.on_time.to_string(),
        total.late.to_string(),
    ]);
    c.table(
        &[
            "Loại đề nghị",
            "Lập",
            "Hoàn thành",
            "Từ chối",
            "Đúng hạn",
            "Quá hạn",
        ],
        &rows,
        &[0.4, 0.12, 0.12, 0.12, 0.12, 0.12],
        &Style::new(11.0),
    )?;
    if let Some(pct) = f.on_time_percent() {
        c.paragraph(
            &format!("Tỷ lệ đề nghị hoàn thành đúng hạn (theo ngày làm việc): {pct}%."),
            body,
        )?;
    }
    c.spacer(3.0);
    c.paragraph(&sections.next("Văn bản điện tử (trong kỳ)"), heading)?;
    let o = &f.documents;
    c.bar_chart(
        &pairs(&[
            ("Ký số cá nhân", o.signed),
            ("Ký số cơ quan", o.sealed),
            ("Văn bản đi phát hành", o.issued),
            ("Văn bản đến", o.received),
            ("Văn bản đến bị từ chối", o.refused),
        ]),
        0.45,
        chart,
    )?;
    for r in &o.refusal_reasons {
        c.paragraph(&format!("– Từ chối vì “{}”: {}", r.reason, r.count), body)?;
    }
    Ok(())
}

/// Next year's needs as a table, with the note's lines after it.
fn needs_table(c: &mut Composer, n: &Needs, body: &Style) -> Result<(), Error> {
    c.table(
        &["Nhu cầu", "Số lượng"],
        &[
            vec![
                "Chứng thư số cá nhân cấp mới".into(),
                n.individual_certificates.to_string(),
            ],
            vec![
                "Chứng thư số cơ quan, tổ chức cấp mới".into(),
                n.organization_certificates.to_string(),
            ],
            vec![
                "Thiết bị lưu khóa bí mật (USB token)".into(),
                n.devices.to_string(),
            ],
            vec!["Chứng thư số cần gia hạn".into(), n.renewals.to_string()],
        ],
        &[0.7, 0.3],
        &Style::new(11.5),
    )?;
    for line in n.note.lines().filter(|l| !l.trim().is_empty()) {
        c.paragraph(&format!("– {}", line.trim()), body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_report_is_laid_out_with_its_charts_and_reads_back() {
        let mut figures = Figures::default();
        figures.certificates.active = 480;
        figures.certificates.revoked = 12;
        figures.documents.signed = 1200;
        let data = PeriodReportData {
            managing_name: "Ủy ban nhân dân Tỉnh Demo".into(),
            agency_name: "Sở Khoa học và Công nghệ".into(),
            place: "Demo".into(),
            title: "Báo cáo 6 tháng đầu năm 2026".into(),
            first_day: date!(2026 - 01 - 01),
            last_day: date!(2026 - 06 - 30),
            made_on: Some(date!(2026 - 07 - 10)),
            figures,
            needs: Needs {
                devices: 40,
                ..Default::default()
            },
            from: Reporter::Province {
                agencies: vec![("Sở Tài chính".into(), true), ("Sở Nội vụ".into(), false)],
            },
        };
        let pdf = render_period_report(&data).unwrap();
        let doc = kyso_pdf::Document::open(
            std::sync::Arc::new(kyso_pdf::MemSource::new(pdf)),
            kyso_pdf::Limits::default(),
        )
        .unwrap();
        let text: String = (0..doc.pages().unwrap().len())
            .map(|i| kyso_pdf::text::page_text(&doc, i).unwrap().text())
            .collect::<Vec<_>>()
            .join(" ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "BÁO CÁO",
            "1/2 cơ quan đã gửi",
            "Còn hiệu lực cuối kỳ 480",
            "Ký số cá nhân 1200",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }
}
