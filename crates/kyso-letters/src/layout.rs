//! The layout of a request letter (Decree 30/2020, Appendix I: a "công văn").
//!
//! ```text
//!   UBND TỈNH DEMO                  CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
//! SỞ KHOA HỌC VÀ CÔNG NGHỆ             Độc lập - Tự do - Hạnh phúc
//!       ───────                        ─────────────────────
//!  Số: 12/SKHCN-VP                 Demo, ngày 02 tháng 12 năm 2026
//! V/v đề nghị cấp chứng thư …
//!              Kính gửi: Cục Chứng thực số và Bảo mật thông tin.
//!     Căn cứ … (body)
//!     (1) Người liên hệ: …
//!     (2) Danh sách …:
//! ┌───┬───────────┬─────┐
//! │STT│ Họ và tên │ …   │   (header repeated on each page)
//! └───┴───────────┴─────┘
//! Nơi nhận:                             GIÁM ĐỐC
//! - Như trên;
//! - Lưu: VT.                          Trần Minh Quân
//! ```

use kyso_domain::lifecycle::RequestKind;
use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};

use crate::{Contact, Error, LetterData, MAX_ROWS};

/// One column of a form's table.
struct Column {
    header: &'static str,
    /// Relative width.
    width: f64,
    align: Align,
}

const fn col(header: &'static str, width: f64, align: Align) -> Column {
    Column {
        header,
        width,
        align,
    }
}

const STT: Column = col("STT", 1.1, Align::Center);

/// Mẫu 01: the useful subset of the form's columns (a portrait A4 page holds nine, in 9 pt).
/// The widths are millimetres of the 165 mm text width: a date, a 12-digit CCCD number and a
/// phone number each fit on one line; names, addresses and serials wrap.
const INDIVIDUAL: &[Column] = &[
    col("STT", 9.5, Align::Center),
    col("Họ và tên", 20.0, Align::Left),
    col("Ngày sinh", 18.5, Align::Center),
    col("Số CCCD", 22.5, Align::Center),
    col("Thư điện tử công vụ", 23.0, Align::Left),
    col("Chức vụ", 15.0, Align::Left),
    col("Cơ quan công tác", 18.0, Align::Left),
    col("Số điện thoại", 19.5, Align::Center),
    col("Số hiệu chứng thư (cũ)", 19.0, Align::Center),
];

/// Mẫu 02.
const ORGANIZATION: &[Column] = &[
    STT,
    col("Tên cơ quan, tổ chức", 3.4, Align::Left),
    col("Địa chỉ", 3.0, Align::Left),
    col("Mã số thuế", 2.2, Align::Center),
    col("Mã quan hệ ngân sách", 2.2, Align::Center),
    col("Tỉnh/ Thành phố", 1.9, Align::Left),
    col("Địa chỉ thư điện tử công vụ", 3.2, Align::Left),
];

/// Mẫu 03.
const DEVICE: &[Column] = &[
    STT,
    col("Tên thiết bị, dịch vụ, phần mềm", 3.4, Align::Left),
    col("Tên miền / địa chỉ", 2.8, Align::Left),
    col("Cơ quan, tổ chức quản lý", 3.0, Align::Left),
    col("Tỉnh/ Thành phố", 1.9, Align::Left),
    col("Địa chỉ thư điện tử công vụ", 3.2, Align::Left),
];

/// Mẫu 04 (renewal and information change) and Mẫu 05 (revocation).
const CERTIFICATE: &[Column] = &[
    STT,
    col("Họ và tên/ Tên thuê bao", 3.2, Align::Left),
    col("Số hiệu chứng thư", 3.2, Align::Center),
    col("Hiệu lực đến", 2.0, Align::Center),
    col("Nội dung đề nghị", 4.2, Align::Left),
];

/// Mẫu 06.
const RECOVERY: &[Column] = &[
    STT,
    col("Họ và tên", 3.0, Align::Left),
    col("Số hiệu thiết bị", 2.4, Align::Center),
    col("Số hiệu chứng thư", 3.2, Align::Center),
    col("Lý do", 3.6, Align::Left),
];

fn table_of(kind: RequestKind) -> &'static [Column] {
    match kind {
        RequestKind::IssueIndividual => INDIVIDUAL,
        RequestKind::IssueOrganization => ORGANIZATION,
        RequestKind::IssueDevice => DEVICE,
        RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke => CERTIFICATE,
        RequestKind::RecoverDevice => RECOVERY,
    }
}

/// The headers of the table of a `kind` letter, "STT" first. A [`crate::LetterRow`] gives one
/// cell for each header after "STT".
pub fn columns(kind: RequestKind) -> Vec<&'static str> {
    table_of(kind).iter().map(|c| c.header).collect()
}

/// The words introducing item (1).
fn contact_label(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::IssueIndividual
        | RequestKind::IssueOrganization
        | RequestKind::IssueDevice => "Người liên hệ, tiếp nhận thiết bị",
        RequestKind::RecoverDevice => "Người phối hợp khôi phục thiết bị",
        RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke => "Người liên hệ",
    }
}

/// The words introducing item (2).
fn list_label(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::IssueIndividual => {
            "Danh sách cá nhân đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ:"
        }
        RequestKind::IssueOrganization => {
            "Danh sách cơ quan, tổ chức đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ:"
        }
        RequestKind::IssueDevice => {
            "Danh sách thiết bị, dịch vụ, phần mềm đề nghị cấp chứng thư chữ ký số chuyên dùng \
             công vụ:"
        }
        RequestKind::Renew => "Danh sách chứng thư chữ ký số đề nghị gia hạn:",
        RequestKind::ChangeInfo => {
            "Danh sách chứng thư chữ ký số đề nghị thay đổi nội dung thông tin:"
        }
        RequestKind::Revoke => "Danh sách chứng thư chữ ký số đề nghị thu hồi:",
        RequestKind::RecoverDevice => "Danh sách thiết bị lưu khóa bí mật đề nghị khôi phục:",
    }
}

/// `s` with its first character in lower case ("Đề nghị cấp …" → "đề nghị cấp …").
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The subject line under the number: "V/v đề nghị cấp chứng thư … cho cá nhân".
pub(crate) fn subject(kind: RequestKind) -> String {
    format!("V/v {}", lower_first(kind.title_vi()))
}

/// What the agency asks for, after "đề nghị": "cấp chứng thư … cho cá nhân".
fn request_phrase(kind: RequestKind) -> String {
    let title = kind.title_vi();
    lower_first(title.strip_prefix("Đề nghị ").unwrap_or(title))
}

/// The date line: "Demo, ngày 02 tháng 12 năm 2026". Decree 30 writes a leading zero for
/// days below 10 and for January and February only.
pub(crate) fn date_line(place: &str, date: time::Date) -> String {
    let month = u8::from(date.month());
    let month = if month < 3 {
        format!("{month:02}")
    } else {
        month.to_string()
    };
    format!(
        "{place}, ngày {:02} tháng {month} năm {}",
        date.day(),
        date.year()
    )
}

/// Whether the letter has its number already ("12/SKHCN-VP"); not when the number is empty or
/// still the blank before the notation ("......../SKHCN-VP"), to be filled by the clerk.
pub(crate) fn is_numbered(number: &str) -> bool {
    let n = number.trim();
    n.split('/')
        .next()
        .unwrap_or(n)
        .chars()
        .any(|c| c.is_ascii_digit())
}

/// The date line of a letter not numbered yet: "Demo, ngày …… tháng …… năm ……". Decree 30
/// gives the number and the date together, at registration: the clerk fills both (the date
/// field covers "ngày … năm …", see `kyso_pades::numbering`).
pub(crate) fn blank_date_line(place: &str) -> String {
    format!("{place}, ngày …… tháng …… năm ……")
}

/// The recipient without "Kính gửi:", and the whole line with it.
fn recipient_parts(recipient: &str) -> (String, String) {
    let r = recipient.trim();
    let name = r
        .strip_prefix("Kính gửi:")
        .or_else(|| r.strip_prefix("Kính gửi"))
        .unwrap_or(r)
        .trim()
        .trim_end_matches('.')
        .to_owned();
    let line = format!("Kính gửi: {name}.");
    (name, line)
}

fn contact_line(n: usize, kind: RequestKind, c: &Contact) -> String {
    let mut s = format!("({n}) {}: {}", contact_label(kind), c.name.trim());
    for (label, value) in [
        ("chức vụ", &c.title),
        ("số điện thoại", &c.phone),
        ("thư điện tử", &c.email),
    ] {
        if !value.trim().is_empty() {
            s.push_str(&format!("; {label}: {}", value.trim()));
        }
    }
    s.push('.');
    s
}

/// The PDF creation date of a letter: its date, midnight Vietnam time (so that the same
/// letter gives the same bytes).
fn pdf_date(date: time::Date) -> String {
    format!(
        "D:{:04}{:02}{:02}000000+07'00'",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn require(value: &str, field: &'static str) -> Result<(), Error> {
    if value.trim().is_empty() {
        Err(Error::EmptyField { field })
    } else {
        Ok(())
    }
}

/// Check what the layout cannot check itself: required fields and the table's shape.
fn validate(data: &LetterData) -> Result<(), Error> {
    require(&data.agency_name, "agency name")?;
    require(&data.place, "place")?;
    require(recipient_parts(&data.recipient).0.as_str(), "recipient")?;
    require(&data.signer_title, "signer title")?;
    require(&data.signer_name, "signer name")?;
    if let Some(c) = &data.contact {
        require(&c.name, "contact name")?;
    }
    if data.rows.is_empty() {
        return Err(Error::NoRows);
    }
    if data.rows.len() > MAX_ROWS {
        return Err(Error::TooManyRows {
            count: data.rows.len(),
            max: MAX_ROWS,
        });
    }
    let expected = table_of(data.kind).len().saturating_sub(1);
    for (row, r) in data.rows.iter().enumerate() {
        if r.cells.len() != expected {
            return Err(Error::RowShape {
                row,
                cells: r.cells.len(),
                expected,
            });
        }
    }
    Ok(())
}

/// Lay out and write the letter as a PDF (A4, Decree 30 margins, Liberation Serif). The
/// output depends only on `data`: the same data gives the same bytes.
pub fn render(data: &LetterData) -> Result<Vec<u8>, Error> {
    validate(data)?;
    let kind = data.kind;
    let agency = data.agency_name.trim();
    let (recipient, recipient_line) = recipient_parts(&data.recipient);
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let mut c = Composer::a4(Margins::decree30())?;
    c.number_pages(&Style::new(13.0))?;

    // Title block: managing agency and agency (left), national title and motto (right).
    let mut issuer = Block::new();
    if let Some(m) = data.managing_agency_name.as_deref().map(str::trim) {
        if !m.is_empty() {
            issuer = issuer.text(&m.to_uppercase(), &center(12.0));
        }
    }
    let issuer = issuer
        .text(&agency.to_uppercase(), &center(12.0).bold())
        .rule(20.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(14.0).bold())
        .rule(58.0, Align::Center);
    c.columns_of(&issuer, &nation, 0.44)?;
    c.spacer(1.0);

    // Number and subject (left), place and date (right).
    let number = match data.number.trim() {
        "" => "Số: ......../......".to_owned(),
        n => format!("Số: {n}"),
    };
    let left = Block::new()
        .text(&number, &center(13.0))
        .text(&subject(kind), &center(12.0));
    let dated = if is_numbered(&data.number) {
        date_line(data.place.trim(), data.date)
    } else {
        blank_date_line(data.place.trim())
    };
    let right = Block::new().text(&dated, &center(14.0).italic());
    c.columns_of(&left, &right, 0.44)?;
    c.spacer(5.0);

    c.paragraph(&recipient_line, &center(14.0).after(8.0))?;

    // Body, item (1) and item (2).
    let body = Style::new(14.0)
        .align(Align::Justify)
        .spacing(1.2)
        .after(6.0)
        .indent(10.0);
    if data.body.iter().all(|p| p.trim().is_empty()) {
        c.paragraph(
            "Căn cứ Nghị định số 68/2024/NĐ-CP ngày 25 tháng 6 năm 2024 của Chính phủ quy định về \
             chữ ký số chuyên dùng công vụ;",
            &body,
        )?;
        c.paragraph(
            &format!(
                "{agency} đề nghị {recipient} {}, cụ thể như sau:",
                request_phrase(kind)
            ),
            &body,
        )?;
    } else {
        for p in data.body.iter().filter(|p| !p.trim().is_empty()) {
            c.paragraph(p.trim(), &body)?;
        }
    }
    let mut item = 1;
    if let Some(contact) = &data.contact {
        c.paragraph(&contact_line(item, kind, contact), &body)?;
        item += 1;
    }
    c.paragraph(&format!("({item}) {}", list_label(kind)), &body)?;

    let cols = table_of(kind);
    let headers: Vec<&str> = cols.iter().map(|c| c.header).collect();
    let widths: Vec<f64> = cols.iter().map(|c| c.width).collect();
    let aligns: Vec<Align> = cols.iter().map(|c| c.align).collect();
    let rows: Vec<Vec<String>> = data
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            std::iter::once((i + 1).to_string())
                .chain(r.cells.iter().map(|s| s.trim().to_owned()))
                .collect()
        })
        .collect();
    // Narrower columns, smaller type: nine columns in 9 pt, seven in 10 pt, five in 11 pt.
    let table_pt = match cols.len() {
        0..=6 => 11.0,
        7 => 10.0,
        _ => 9.0,
    };
    c.table_aligned(
        &headers,
        &rows,
        &widths,
        &aligns,
        &Style::new(table_pt).spacing(1.15),
    )?;
    c.spacer(4.0);
    c.paragraph(
        &format!(
            "{agency} cam kết các thông tin trên là đúng sự thật và chịu trách nhiệm quản lý, sử \
             dụng chứng thư chữ ký số, thiết bị lưu khóa bí mật theo đúng quy định của pháp luật."
        ),
        &body,
    )?;
    c.paragraph("Trân trọng./.", &body.clone().after(10.0))?;

    // "Nơi nhận" (left) and the signature block (right).
    let mut lines: Vec<String> = data
        .recipients_block
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.starts_with('-') {
                l.to_owned()
            } else {
                format!("- {l}")
            }
        })
        .collect();
    if lines.is_empty() {
        lines = vec!["- Như trên;".to_owned(), "- Lưu: VT.".to_owned()];
    }
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold().italic())
        .text(&lines.join("\n"), &Style::new(11.0).spacing(1.1));
    let signature = Block::new()
        .text(data.signer_title.trim(), &center(14.0).bold())
        .space(28.0)
        .text(data.signer_name.trim(), &center(14.0).bold());
    c.columns_of(&recipients, &signature, 0.5)?;

    Ok(c.finish(&DocInfo {
        title: subject(kind),
        author: agency.to_owned(),
        subject: kind.title_vi().to_owned(),
        producer: "kyso".to_owned(),
        creation_date: Some(pdf_date(data.date)),
        language: Some("vi-VN".to_owned()),
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_subject_line_is_the_forms_title_after_v_v() {
        assert_eq!(
            subject(RequestKind::IssueIndividual),
            "V/v đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho cá nhân"
        );
        assert_eq!(
            subject(RequestKind::RecoverDevice),
            "V/v đề nghị khôi phục thiết bị lưu khóa bí mật"
        );
        assert_eq!(
            request_phrase(RequestKind::Revoke),
            "thu hồi chứng thư chữ ký số chuyên dùng công vụ"
        );
    }

    #[test]
    fn a_letter_without_its_number_is_not_dated_yet() {
        assert!(is_numbered("12/SKHCN-VP"));
        assert!(is_numbered(" 125 "));
        assert!(!is_numbered(""));
        assert!(!is_numbered("......../SKHCN-VP"));
        assert!(!is_numbered("…/TTCDS-VP"));
        assert_eq!(blank_date_line("Demo"), "Demo, ngày …… tháng …… năm ……");
    }

    #[test]
    fn dates_have_a_leading_zero_only_for_small_days_and_january_february() {
        assert_eq!(
            date_line("Demo", date!(2026 - 12 - 02)),
            "Demo, ngày 02 tháng 12 năm 2026"
        );
        assert_eq!(
            date_line("Hà Nội", date!(2027 - 02 - 15)),
            "Hà Nội, ngày 15 tháng 02 năm 2027"
        );
        assert_eq!(
            date_line("Demo", date!(2027 - 05 - 09)),
            "Demo, ngày 09 tháng 5 năm 2027"
        );
        assert_eq!(pdf_date(date!(2027 - 05 - 09)), "D:20270509000000+07'00'");
    }

    #[test]
    fn the_recipient_may_be_given_with_or_without_kinh_gui() {
        let want = (
            "Cục Chứng thực số và Bảo mật thông tin".to_owned(),
            "Kính gửi: Cục Chứng thực số và Bảo mật thông tin.".to_owned(),
        );
        assert_eq!(
            recipient_parts("Cục Chứng thực số và Bảo mật thông tin"),
            want
        );
        assert_eq!(
            recipient_parts("Kính gửi: Cục Chứng thực số và Bảo mật thông tin."),
            want
        );
        assert_eq!(recipient_parts("Kính gửi:").0, "");
    }

    #[test]
    fn the_contact_line_leaves_out_what_is_not_known() {
        let c = Contact {
            name: "Nguyễn Thị Thu Hà".into(),
            title: "Văn thư".into(),
            phone: String::new(),
            email: "hantt@demo.gov.vn".into(),
        };
        assert_eq!(
            contact_line(1, RequestKind::Renew, &c),
            "(1) Người liên hệ: Nguyễn Thị Thu Hà; chức vụ: Văn thư; thư điện tử: \
             hantt@demo.gov.vn."
        );
    }

    #[test]
    fn every_kind_has_a_table_that_starts_with_stt() {
        for kind in [
            RequestKind::IssueIndividual,
            RequestKind::IssueOrganization,
            RequestKind::IssueDevice,
            RequestKind::Renew,
            RequestKind::ChangeInfo,
            RequestKind::Revoke,
            RequestKind::RecoverDevice,
        ] {
            let cols = columns(kind);
            assert_eq!(cols.first(), Some(&"STT"), "{kind:?}");
            assert!(cols.len() >= 5, "{kind:?}");
        }
        assert_eq!(columns(RequestKind::IssueIndividual).len(), 9);
        assert_eq!(columns(RequestKind::IssueOrganization).len(), 7);
    }
}
