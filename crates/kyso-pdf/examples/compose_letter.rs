//! Writes a sample official letter in the layout of Decree 30/2020: a request to extend
//! public-service digital signature certificates (Decree 68/2024). The agency and the people
//! are fictional.
//!
//! ```text
//! cargo run -p kyso-pdf --example compose_letter -- /tmp/letter.pdf
//! ```

use kyso_pdf::compose::{Align, Block, Composer, DocInfo, Margins, Style};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: compose_letter OUTPUT.pdf");
        std::process::exit(2);
    };
    std::fs::write(&path, letter()?)?;
    println!("wrote {path}");
    Ok(())
}

fn letter() -> kyso_pdf::Result<Vec<u8>> {
    let mut c = Composer::a4(Margins::decree30())?;
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);

    // Title block: the issuing agency on the left, the national title on the right.
    let agency = Block::new()
        .text("UBND TỈNH HỒNG LAM", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4)?;
    c.spacer(2.0);
    c.columns(
        ("Số: 125/SKHCN-VP", &center(13.0)),
        (
            "Hồng Lam, ngày 02 tháng 12 năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )?;
    c.spacer(6.0);

    c.paragraph("ĐỀ NGHỊ", &center(14.0).bold())?;
    c.paragraph(
        "Gia hạn chứng thư chữ ký số chuyên dùng công vụ",
        &center(14.0).bold(),
    )?;
    c.line(30.0, Align::Center);
    c.spacer(4.0);
    c.paragraph(
        "Kính gửi: Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ.",
        &center(14.0).after(6.0),
    )?;

    let body = Style::new(14.0)
        .align(Align::Justify)
        .spacing(1.2)
        .after(6.0)
        .indent(10.0);
    c.paragraph(
        "Căn cứ Nghị định số 68/2024/NĐ-CP ngày 25 tháng 6 năm 2024 của Chính phủ quy định về \
         chữ ký số chuyên dùng công vụ; căn cứ nhu cầu sử dụng chữ ký số trong giao dịch điện \
         tử của cơ quan, Sở Khoa học và Công nghệ tỉnh Hồng Lam đề nghị Cục Chứng thực số và \
         Bảo mật thông tin gia hạn chứng thư chữ ký số chuyên dùng công vụ cho các thuê bao sau:",
        &body,
    )?;

    let people = [
        (
            "Trần Minh Quân",
            "Giám đốc",
            "054201000123",
            "540A1B2C3D4E5F60",
            "15/01/2027",
        ),
        (
            "Lê Thị Hồng Nhung",
            "Phó Giám đốc",
            "054301000456",
            "540A1B2C3D4E5F61",
            "20/01/2027",
        ),
        (
            "Phạm Văn Đức",
            "Chánh Văn phòng",
            "054201000789",
            "540A1B2C3D4E5F62",
            "28/01/2027",
        ),
        (
            "Nguyễn Thị Thu Hà",
            "Văn thư",
            "054301001011",
            "540A1B2C3D4E5F63",
            "02/02/2027",
        ),
    ];
    let rows: Vec<Vec<String>> = people
        .iter()
        .enumerate()
        .map(|(i, (name, role, id, serial, until))| {
            vec![
                (i + 1).to_string(),
                (*name).to_owned(),
                (*role).to_owned(),
                (*id).to_owned(),
                (*serial).to_owned(),
                (*until).to_owned(),
            ]
        })
        .collect();
    c.table_aligned(
        &[
            "STT",
            "Họ và tên",
            "Chức vụ",
            "Số định danh cá nhân",
            "Số hiệu chứng thư",
            "Hết hạn",
        ],
        &rows,
        &[0.9, 2.6, 2.0, 2.2, 2.9, 1.7],
        &[
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Center,
            Align::Center,
            Align::Center,
        ],
        &Style::new(11.0).spacing(1.15),
    )?;
    c.spacer(4.0);
    c.paragraph(
        "Sở Khoa học và Công nghệ cam kết các thông tin trên là đúng sự thật và chịu trách \
         nhiệm quản lý, sử dụng chứng thư chữ ký số theo đúng quy định của pháp luật.",
        &body,
    )?;
    c.paragraph("Trân trọng./.", &body.clone().after(8.0))?;

    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold().italic())
        .text(
            "- Như trên;\n- Giám đốc Sở (để b/c);\n- Lưu: VT, VP.",
            &Style::new(11.0).spacing(1.1),
        );
    let signature = Block::new()
        .text("GIÁM ĐỐC", &center(14.0).bold())
        .text("(Ký, ghi rõ họ tên và đóng dấu)", &center(13.0).italic())
        .space(22.0)
        .text("Trần Minh Quân", &center(14.0).bold());
    c.columns_of(&recipients, &signature, 0.5)?;

    c.finish(&DocInfo {
        title: "Đề nghị gia hạn chứng thư chữ ký số chuyên dùng công vụ".into(),
        author: "Sở Khoa học và Công nghệ tỉnh Hồng Lam".into(),
        subject: "Gia hạn chứng thư chữ ký số chuyên dùng công vụ".into(),
        producer: "kyso".into(),
        creation_date: Some("D:20261202091500+07'00'".into()),
        language: Some("vi-VN".into()),
    })
}
