#![doc = include_str!("../README.md")]

mod layout;
pub mod period_report;
pub mod register;
pub mod report;

use kyso_domain::lifecycle::RequestKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use layout::{columns, render};
pub use period_report::{render_period_report, PeriodReportData, Reporter};
pub use register::{
    render_book, render_incoming_register, render_register, RegisterBookData, RegisterEntry,
    RegisterKind,
};
pub use report::{render_verification_report, ReportData, SignatureReport};

/// Most rows a letter's table may have. A province files a few hundred certificates at a time
/// at most; a larger list is a mistake (or an attack on the renderer) and is refused.
pub const MAX_ROWS: usize = 2000;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Everything one request letter says. The layout (Decree 30) and the fixed wording of the
/// form come from [`render`]; the caller gives the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterData {
    /// Which Decree 68 form (01–06) this letter is.
    pub kind: RequestKind,
    /// The requesting agency ("Sở Khoa học và Công nghệ"): upper-cased in the title block, as
    /// given in the body.
    pub agency_name: String,
    /// The managing agency, written above the agency's name ("UBND TỈNH DEMO"); upper-cased.
    pub managing_agency_name: Option<String>,
    /// Number and notation ("12/SKHCN-VP"), without "Số:". Empty for a draft not yet
    /// registered: the letter then shows "Số: ......../......" to be filled in.
    pub number: String,
    /// The place name of the date line ("Demo").
    pub place: String,
    /// The date of the letter ("Demo, ngày 02 tháng 12 năm 2026"); `"2026-12-02"` in JSON.
    #[serde(with = "iso_date")]
    pub date: time::Date,
    /// Who the letter goes to: "Cục Chứng thực số và Bảo mật thông tin" or the whole line
    /// "Kính gửi: …" (the prefix is added when missing).
    pub recipient: String,
    /// The body paragraphs before the lists (legal basis, reason). When empty, a default body
    /// for the kind is written (Decree 68 as the basis, the agency asking the recipient).
    pub body: Vec<String>,
    /// Item (1): the contact person (for an issuance, who receives the key device; for a
    /// recovery, who assists it). Left out when `None`.
    pub contact: Option<Contact>,
    /// Item (2): the table. Each row has one cell per column of [`columns`]`(kind)` except the
    /// first ("STT"), which is numbered by the renderer.
    pub rows: Vec<LetterRow>,
    /// The signer's authority and title, upper case, lines separated by `'\n'` ("GIÁM ĐỐC",
    /// "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC").
    pub signer_title: String,
    /// The signer's full name.
    pub signer_name: String,
    /// The "Nơi nhận:" lines ("Như trên;", "Lưu: VT."); a leading "- " is added when missing.
    /// When empty: "- Như trên;" and "- Lưu: VT.".
    pub recipients_block: Vec<String>,
}

/// The contact person of item (1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    /// Position ("Chuyên viên Văn phòng"); left out when empty.
    pub title: String,
    /// Mobile phone number; left out when empty.
    pub phone: String,
    /// Official e-mail address; left out when empty.
    pub email: String,
}

/// One row of the letter's table: the cells of [`columns`]`(kind)` after "STT", in order, as
/// the text to print (dates already formatted, e.g. "15/01/1980"). `'\n'` breaks a cell's
/// lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LetterRow {
    pub cells: Vec<String>,
}

impl LetterRow {
    /// A row from its cells.
    pub fn new<I, S>(cells: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LetterRow {
            cells: cells.into_iter().map(Into::into).collect(),
        }
    }
}

/// Why a letter could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field that the form needs is empty (or only white space).
    #[error("the letter's {field} is empty")]
    EmptyField { field: &'static str },
    /// The table has no rows: the form's list is what the letter asks about.
    #[error("the letter's table has no rows")]
    NoRows,
    /// The table has more than [`MAX_ROWS`] rows.
    #[error("the letter's table has {count} rows, more than the {max} allowed")]
    TooManyRows { count: usize, max: usize },
    /// A row does not have one cell per column (not counting "STT").
    #[error("row {row} of the table has {cells} cells; this form's table needs {expected}")]
    RowShape {
        /// 0-based index in [`LetterData::rows`].
        row: usize,
        cells: usize,
        expected: usize,
    },
    /// The layout engine refused the content (a text too long, a cell taller than a page, the
    /// page limit), or, when sealing, the letter could not be read.
    #[error("layout: {0}")]
    Layout(#[from] kyso_pdf::Error),
    /// The seal's anchor (a line of the signer's title) is not in the letter.
    #[error("the signature block title {anchor:?} is not in the letter")]
    SealAnchorNotFound { anchor: String },
    /// Signing failed (the key does not match the certificate, the PDF could not be read).
    #[error("signing: {0}")]
    Sign(#[from] kyso_pades::Error),
    /// Reading or writing failed while signing (signing works in memory: kept for callers
    /// that write the result through a writer of their own).
    #[error("I/O error while signing: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The message in Vietnamese, for the people who file the request.
    pub fn message_vi(&self) -> String {
        match self {
            Error::EmptyField { field: "file name" } => {
                "Báo cáo kiểm tra chữ ký số thiếu tên tệp được kiểm tra".to_owned()
            }
            Error::EmptyField { field } => {
                format!("Văn bản đề nghị thiếu thông tin: {}", field_vi(field))
            }
            Error::NoRows => "Danh sách kèm theo văn bản đề nghị đang trống".to_owned(),
            Error::TooManyRows { count, max } => {
                format!("Danh sách có {count} dòng, vượt quá giới hạn {max} dòng của một văn bản")
            }
            Error::RowShape {
                row,
                cells,
                expected,
            } => format!(
                "Dòng {} của danh sách có {cells} ô; mẫu này cần {expected} ô",
                row + 1
            ),
            Error::SealAnchorNotFound { anchor } => {
                format!("Không tìm thấy chức vụ người ký “{anchor}” trong văn bản để đóng dấu")
            }
            Error::Layout(e) => format!("Không trình bày được văn bản: {e}"),
            Error::Sign(e) => format!("Không ký số được văn bản: {e}"),
            Error::Io(e) => format!("Lỗi đọc/ghi tệp khi ký số: {e}"),
        }
    }
}

/// The Vietnamese name of a field of [`LetterData`].
fn field_vi(field: &str) -> &'static str {
    match field {
        "agency name" => "tên cơ quan đề nghị",
        "place" => "địa danh",
        "recipient" => "nơi nhận (Kính gửi)",
        "signer title" => "chức vụ người ký",
        "signer name" => "họ tên người ký",
        "contact name" => "họ tên người liên hệ",
        "seal anchor" => "vị trí đóng dấu (chức vụ người ký)",
        "register name" => "tên sổ đăng ký văn bản",
        _ => "một trường bắt buộc",
    }
}

/// The place name of the date line (Decree 30: the province or city where the agency is),
/// from the name of the province's own agency: the words "Ủy ban nhân dân" / "UBND" and then
/// "tỉnh" / "thành phố" / "TP." are dropped, with or without diacritics and in any case.
///
/// ```
/// use kyso_letters::place_name;
/// assert_eq!(place_name("Ủy ban nhân dân Tỉnh Demo"), "Demo");
/// assert_eq!(place_name("UBND thành phố Hải Phòng Demo"), "Hải Phòng Demo");
/// assert_eq!(place_name("Tỉnh Demo"), "Demo");
/// assert_eq!(place_name("Demo"), "Demo");
/// ```
pub fn place_name(province: &str) -> String {
    let words: Vec<&str> = province.split_whitespace().collect();
    let folded: Vec<String> = words
        .iter()
        .map(|w| kyso_domain::text::fold(w).trim_end_matches('.').to_owned())
        .collect();
    let starts = |at: usize, seq: &[&str]| {
        seq.iter()
            .enumerate()
            .all(|(i, w)| folded.get(at + i).map(String::as_str) == Some(*w))
    };
    const HEADS: [&[&[&str]]; 2] = [
        &[&["uy", "ban", "nhan", "dan"], &["ubnd"]],
        &[&["tinh"], &["thanh", "pho"], &["tp"]],
    ];
    let mut at = 0;
    for heads in HEADS {
        if let Some(seq) = heads.iter().find(|seq| starts(at, seq)) {
            at += seq.len();
        }
    }
    match words.get(at..) {
        Some(rest) if !rest.is_empty() => rest.join(" "),
        _ => province.trim().to_owned(),
    }
}

/// Sign a rendered letter with the requesting agency's organization certificate: an
/// invisible PAdES B-B signature (Decree 30 organization signature on a letter without a seal
/// image), appended as an incremental update, claimed signing time `at`.
///
/// `signer` is any [`kyso_cms::Signer`]: a PKCS#12 file (`kyso_keys::Pkcs12Signer`), a USB
/// token, a remote service. The PDF passes through two temporary files (kyso's signer
/// streams from and to files).
pub fn sign(
    pdf: &[u8],
    signer: &dyn kyso_cms::Signer,
    at: OffsetDateTime,
) -> Result<Vec<u8>, Error> {
    sign_inner(pdf, signer, at, None)
}

/// The agency's seal, for a visible organization signature ([`sign_sealed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Seal {
    /// The seal image: a red, transparent PNG.
    pub png: Vec<u8>,
    /// The seal's real diameter; by default taken from the image's DPI.
    pub diameter_mm: Option<f64>,
    /// A line of the signature block's title ("GIÁM ĐỐC"): the seal goes in the space between
    /// that title and the signer's name, on the last page that has them.
    pub anchor: String,
}

impl Seal {
    /// The seal of `data`'s letter: anchored at the last line of its signer's title.
    pub fn for_letter(png: Vec<u8>, data: &LetterData) -> Self {
        let anchor = data
            .signer_title
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        Seal {
            png,
            diameter_mm: None,
            anchor,
        }
    }
}

/// Like [`sign`], with the seal drawn in the signature block. Decree 30 (cell 8) puts the seal
/// at its real size over the left third of the signer's signature: here, centred on the left
/// sixth of the blank space between [`Seal::anchor`] and the signer's name (where a
/// handwritten or image signature would go), halfway down. The image is checked before
/// anything is written; an anchor not found in the letter is [`Error::SealAnchorNotFound`].
///
/// The placement reads the letter's text, so `pdf` should be a letter from [`render`]
/// (upright pages).
pub fn sign_sealed(
    pdf: &[u8],
    signer: &dyn kyso_cms::Signer,
    at: OffsetDateTime,
    seal: &Seal,
) -> Result<Vec<u8>, Error> {
    if seal.anchor.trim().is_empty() {
        return Err(Error::EmptyField {
            field: "seal anchor",
        });
    }
    let doc = kyso_pdf::Document::open(
        std::sync::Arc::new(kyso_pdf::MemSource(pdf.into())),
        kyso_pdf::Limits::default(),
    )?;
    let hit = kyso_pdf::text::locate_anchor(&doc, None, &seal.anchor)?.ok_or_else(|| {
        Error::SealAnchorNotFound {
            anchor: seal.anchor.clone(),
        }
    })?;
    let [x0, y0, x1, y1] = hit.region;
    let (cx, cy) = (x0 + (x1 - x0) / 6.0, (y0 + y1) / 2.0);
    let form = kyso_pades::forms::VisibleForm::Organization {
        seal: seal.png.clone(),
        diameter_mm: seal.diameter_mm,
        page: None,
        // The seal is centred, at its real size, in this small square.
        position: Some(kyso_pades::forms::Position::Rect {
            page: hit.page,
            rect: [cx - 1.0, cy - 1.0, cx + 1.0, cy + 1.0],
        }),
    };
    let widget = kyso_pades::forms::widget_builder(form, at)?;
    sign_inner(pdf, signer, at, Some(widget))
}

/// Sign in memory: no file is written, the signed letter is returned for the caller to store.
fn sign_inner(
    pdf: &[u8],
    signer: &dyn kyso_cms::Signer,
    at: OffsetDateTime,
    widget: Option<Box<kyso_pades::WidgetBuilder<'_>>>,
) -> Result<Vec<u8>, Error> {
    let opts = kyso_pades::SignOptions::new(at);
    Ok(kyso_pades::sign_bytes(pdf, &opts, signer, widget)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_vietnamese_message() {
        let errors = [
            Error::EmptyField {
                field: "agency name",
            },
            Error::NoRows,
            Error::TooManyRows {
                count: 2001,
                max: MAX_ROWS,
            },
            Error::RowShape {
                row: 0,
                cells: 3,
                expected: 8,
            },
        ];
        let vi: Vec<String> = errors.iter().map(Error::message_vi).collect();
        assert_eq!(
            vi[0],
            "Văn bản đề nghị thiếu thông tin: tên cơ quan đề nghị"
        );
        assert_eq!(vi[3], "Dòng 1 của danh sách có 3 ô; mẫu này cần 8 ô");
        assert!(errors[2].to_string().contains("2001 rows"));
    }

    #[test]
    fn letter_data_travels_as_json() {
        // The web form posts a letter as JSON; the kind is its stable snake-case code.
        let data = LetterData {
            kind: RequestKind::RecoverDevice,
            agency_name: "Sở Tư pháp".into(),
            managing_agency_name: None,
            number: String::new(),
            place: "Demo".into(),
            date: time::macros::date!(2027 - 01 - 05),
            recipient: "Sở Khoa học và Công nghệ tỉnh Demo".into(),
            body: vec![],
            contact: Some(Contact {
                name: "Phạm Văn Đức".into(),
                ..Contact::default()
            }),
            rows: vec![LetterRow::new([
                "Phạm Văn Đức",
                "TK0012345",
                "540A",
                "Khóa PIN",
            ])],
            signer_title: "GIÁM ĐỐC".into(),
            signer_name: "Trần Minh Quân".into(),
            recipients_block: vec![],
        };
        let json = serde_json::to_value(&data).unwrap();
        assert_eq!(json["kind"], "recover_device");
        assert_eq!(json["date"], "2027-01-05");
        let back: LetterData = serde_json::from_value(json).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_row_is_made_from_anything_that_becomes_strings() {
        let row = LetterRow::new(["Trần Minh Quân", "15/01/1980"]);
        assert_eq!(row.cells, vec!["Trần Minh Quân", "15/01/1980"]);
    }
}
