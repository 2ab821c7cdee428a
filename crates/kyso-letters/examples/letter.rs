//! Writes a sample request letter (Mẫu 04: renewal) of a fictional agency, unsigned.
//!
//! ```text
//! cargo run -p kyso-letters --example letter -- /tmp/letter.pdf
//! ```

use kyso_domain::lifecycle::RequestKind;
use kyso_letters::{Contact, LetterData, LetterRow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: letter OUTPUT.pdf");
        std::process::exit(2);
    };
    let people = [
        ("Trần Minh Quân", "540A1B2C3D4E5F60", "15/01/2027"),
        ("Lê Thị Hồng Nhung", "540A1B2C3D4E5F61", "20/01/2027"),
        ("Phạm Văn Đức", "540A1B2C3D4E5F62", "28/01/2027"),
    ];
    let data = LetterData {
        kind: RequestKind::Renew,
        agency_name: "Sở Khoa học và Công nghệ".into(),
        managing_agency_name: Some("UBND tỉnh Demo".into()),
        number: "125/SKHCN-VP".into(),
        place: "Demo".into(),
        date: time::macros::date!(2026 - 12 - 02),
        recipient: "Cục Chứng thực số và Bảo mật thông tin".into(),
        body: Vec::new(),
        contact: Some(Contact {
            name: "Nguyễn Thị Thu Hà".into(),
            title: "Văn thư".into(),
            phone: "0912 345 678".into(),
            email: "hantt@demo.gov.vn".into(),
        }),
        rows: people
            .iter()
            .map(|(name, serial, until)| LetterRow::new([*name, *serial, *until, "Gia hạn 3 năm"]))
            .collect(),
        signer_title: "GIÁM ĐỐC".into(),
        signer_name: "Trần Minh Quân".into(),
        recipients_block: vec!["Như trên;".into(), "Lưu: VT, VP.".into()],
    };
    std::fs::write(&path, kyso_letters::render(&data)?)?;
    println!("wrote {path}");
    Ok(())
}
