//! The province's report of a period as a PDF (issue 21): what the Department sends the
//! province and the national CA — who has reported, the certificates, key devices, requests
//! and electronic documents of the reports submitted, summed, each group as a bar chart beside
//! its numbers, and next year's needs. Decree 30's title block, A4 portrait, fonts embedded;
//! signed afterwards with the Department's organization key ([`crate::sign`]).

use kyso_domain::reports::{Figures, Needs};
use kyso_domain::Named as _;
use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};
use time::Date;

use crate::layout::date_line;
use crate::Error;

/// What the report says.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodReportData {
    /// The province's People's Committee, above the Department in the title block.
    pub province_name: String,
    /// The Department that consolidates (Sở Khoa học và Công nghệ …).
    pub department_name: String,
    /// The place of the date line ("Demo").
    pub place: String,
    /// The period's title ("Báo cáo 6 tháng đầu năm 2026").
    pub title: String,
    pub first_day: Date,
    pub last_day: Date,
    pub made_on: Date,
    /// Each reporting agency and whether it has submitted.
    pub agencies: Vec<(String, bool)>,
    /// The figures of the reports submitted, summed.
    pub figures: Figures,
    /// Their needs for next year, summed.
    pub needs: Needs,
}

fn vn(d: Date) -> String {
    kyso_domain::calendar::day_text(d)
}

/// Lay the report out.
pub fn render_period_report(data: &PeriodReportData) -> Result<Vec<u8>, Error> {
    if data.department_name.trim().is_empty() {
        return Err(Error::EmptyField {
            field: "agency name",
        });
    }
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let body = Style::new(13.0).spacing(1.2).after(4.0);
    let heading = Style::new(13.5).bold().after(4.0);
    let chart = Style::new(11.0).after(8.0);
    let mut c = Composer::a4(Margins::decree30())?;
    c.number_pages(&Style::new(13.0))?;
    let issuer = Block::new()
        .text(&data.province_name.trim().to_uppercase(), &center(12.0))
        .text(
            &data.department_name.trim().to_uppercase(),
            &center(12.0).bold(),
        )
        .rule(20.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(14.0).bold())
        .rule(58.0, Align::Center)
        .text(
            &date_line(data.place.trim(), data.made_on),
            &center(13.0).italic(),
        );
    c.columns_of(&issuer, &nation, 0.44)?;
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

    let submitted = data.agencies.iter().filter(|(_, s)| *s).count();
    c.paragraph("I. Tình hình gửi báo cáo của các cơ quan", &heading)?;
    c.paragraph(
        &format!(
            "{submitted}/{} cơ quan đã gửi báo cáo; số liệu dưới đây là tổng của các báo cáo đã gửi.",
            data.agencies.len()
        ),
        &body,
    )?;
    let rows: Vec<Vec<String>> = data
        .agencies
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

    let f = &data.figures;
    let pairs = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect()
    };
    c.paragraph("II. Chứng thư chữ ký số", &heading)?;
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
        &chart,
    )?;
    c.paragraph("III. Thiết bị lưu khóa bí mật (trong kỳ)", &heading)?;
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
        &chart,
    )?;
    c.paragraph("IV. Đề nghị (trong kỳ)", &heading)?;
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
            &body,
        )?;
    }
    c.spacer(3.0);
    c.paragraph("V. Văn bản điện tử (trong kỳ)", &heading)?;
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
        &chart,
    )?;
    for r in &o.refusal_reasons {
        c.paragraph(&format!("– Từ chối vì “{}”: {}", r.reason, r.count), &body)?;
    }
    c.paragraph("VI. Nhu cầu năm sau", &heading)?;
    let n = &data.needs;
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
        c.paragraph(&format!("– {}", line.trim()), &body)?;
    }
    c.spacer(6.0);
    let sign = Block::new()
        .text(
            &data.department_name.trim().to_uppercase(),
            &center(13.0).bold(),
        )
        .text("(Ký số)", &center(13.0).italic());
    c.columns_of(&Block::new(), &sign, 0.44)?;
    Ok(c.finish(&DocInfo {
        title: data.title.trim().to_owned(),
        author: data.department_name.trim().to_owned(),
        subject: "Báo cáo tình hình quản lý, sử dụng chữ ký số chuyên dùng công vụ".into(),
        producer: "kyso".into(),
        creation_date: None,
        language: Some("vi-VN".into()),
    })?)
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
            province_name: "Ủy ban nhân dân Tỉnh Demo".into(),
            department_name: "Sở Khoa học và Công nghệ".into(),
            place: "Demo".into(),
            title: "Báo cáo 6 tháng đầu năm 2026".into(),
            first_day: date!(2026 - 01 - 01),
            last_day: date!(2026 - 06 - 30),
            made_on: date!(2026 - 07 - 10),
            agencies: vec![("Sở Tài chính".into(), true), ("Sở Nội vụ".into(), false)],
            figures,
            needs: Needs {
                devices: 40,
                ..Default::default()
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
