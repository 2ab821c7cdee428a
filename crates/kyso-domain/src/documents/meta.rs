//! The Decree 30 metadata of an outgoing document (Appendix VI's input fields) and its checks.

use serde::{Deserialize, Serialize};

use crate::codes::AgencyCode;
use crate::fields::{FieldError, MAX_TEXT};
use crate::named_enum;

named_enum! {
    /// The 29 kinds of administrative document of Decree 30 art. 7, in its order.
    #[derive(Default)]
    pub enum DocType ("document type", "loại văn bản") {
        NghiQuyet => "nghi_quyet", "Nghị quyết", "Resolution";
        QuyetDinh => "quyet_dinh", "Quyết định", "Decision";
        ChiThi => "chi_thi", "Chỉ thị", "Directive";
        QuyChe => "quy_che", "Quy chế", "Regulation (statute)";
        QuyDinh => "quy_dinh", "Quy định", "Regulation";
        ThongCao => "thong_cao", "Thông cáo", "Communiqué";
        ThongBao => "thong_bao", "Thông báo", "Notice";
        HuongDan => "huong_dan", "Hướng dẫn", "Guidance";
        ChuongTrinh => "chuong_trinh", "Chương trình", "Programme";
        KeHoach => "ke_hoach", "Kế hoạch", "Plan";
        PhuongAn => "phuong_an", "Phương án", "Scheme";
        DeAn => "de_an", "Đề án", "Proposal";
        DuAn => "du_an", "Dự án", "Project";
        BaoCao => "bao_cao", "Báo cáo", "Report";
        BienBan => "bien_ban", "Biên bản", "Minutes";
        ToTrinh => "to_trinh", "Tờ trình", "Submission";
        HopDong => "hop_dong", "Hợp đồng", "Contract";
        /// An official letter: its notation has no type abbreviation ("Số: 12/UBND-VP").
        #[default]
        CongVan => "cong_van", "Công văn", "Official letter";
        CongDien => "cong_dien", "Công điện", "Official dispatch (telegram)";
        BanGhiNho => "ban_ghi_nho", "Bản ghi nhớ", "Memorandum";
        BanThoaThuan => "ban_thoa_thuan", "Bản thỏa thuận", "Agreement";
        GiayUyQuyen => "giay_uy_quyen", "Giấy ủy quyền", "Power of attorney";
        GiayMoi => "giay_moi", "Giấy mời", "Invitation";
        GiayGioiThieu => "giay_gioi_thieu", "Giấy giới thiệu", "Letter of introduction";
        GiayNghiPhep => "giay_nghi_phep", "Giấy nghỉ phép", "Leave permit";
        PhieuGui => "phieu_gui", "Phiếu gửi", "Dispatch slip";
        PhieuChuyen => "phieu_chuyen", "Phiếu chuyển", "Transfer slip";
        PhieuBao => "phieu_bao", "Phiếu báo", "Notification slip";
        /// A public letter: no type abbreviation.
        ThuCong => "thu_cong", "Thư công", "Public letter";
    }
}

impl DocType {
    /// The abbreviation of Decree 30 Appendix III used in the notation ("QĐ", "TTr", …);
    /// `None` for công văn and thư công, whose notation names no type.
    pub const fn abbreviation(self) -> Option<&'static str> {
        use DocType as T;
        Some(match self {
            T::NghiQuyet => "NQ",
            T::QuyetDinh => "QĐ",
            T::ChiThi => "CT",
            T::QuyChe => "QC",
            T::QuyDinh => "QyĐ",
            T::ThongCao => "TC",
            T::ThongBao => "TB",
            T::HuongDan => "HD",
            T::ChuongTrinh => "CTr",
            T::KeHoach => "KH",
            T::PhuongAn => "PA",
            T::DeAn => "ĐA",
            T::DuAn => "DA",
            T::BaoCao => "BC",
            T::BienBan => "BB",
            T::ToTrinh => "TTr",
            T::HopDong => "HĐ",
            T::CongDien => "CĐ",
            T::BanGhiNho => "BGN",
            T::BanThoaThuan => "BTT",
            T::GiayUyQuyen => "GUQ",
            T::GiayMoi => "GM",
            T::GiayGioiThieu => "GGT",
            T::GiayNghiPhep => "GNP",
            T::PhieuGui => "PG",
            T::PhieuChuyen => "PC",
            T::PhieuBao => "PB",
            T::CongVan | T::ThuCong => return None,
        })
    }

    /// Whether the notation names the drafting unit instead of the type (công văn, thư công:
    /// "issuer-unit", e.g. "UBND-VP").
    pub const fn notation_names_unit(self) -> bool {
        self.abbreviation().is_none()
    }
}

named_enum! {
    /// How urgent a document is (độ khẩn, Decree 30 cell 10b).
    #[derive(Default)]
    pub enum Urgency ("urgency", "độ khẩn") {
        #[default]
        Normal => "normal", "Thường", "Normal";
        Urgent => "urgent", "Khẩn", "Urgent";
        VeryUrgent => "very_urgent", "Thượng khẩn", "Very urgent";
        Flash => "flash", "Hỏa tốc", "Flash";
    }
}

impl Urgency {
    /// The stamp printed on the document (none for a normal one).
    pub const fn stamp(self) -> Option<&'static str> {
        match self {
            Urgency::Normal => None,
            Urgency::Urgent => Some("KHẨN"),
            Urgency::VeryUrgent => Some("THƯỢNG KHẨN"),
            Urgency::Flash => Some("HỎA TỐC"),
        }
    }
}

named_enum! {
    /// How secret a document is (độ mật). kyso handles only unclassified documents: the
    /// others are refused (NA-4.1, BD-1.2).
    #[derive(Default)]
    pub enum Secrecy ("confidentiality", "độ mật") {
        #[default]
        Unclassified => "unclassified", "Không mật", "Unclassified";
        Confidential => "confidential", "Mật", "Confidential";
        Secret => "secret", "Tối mật", "Secret";
        TopSecret => "top_secret", "Tuyệt mật", "Top secret";
    }
}

named_enum! {
    /// In what capacity the person signs (Decree 30 art. 13; the title block, cell 7a).
    #[derive(Default)]
    pub enum SignAuthority ("signing authority", "thẩm quyền ký") {
        /// The head signs in their own right: the title alone.
        #[default]
        Direct => "direct", "Ký trực tiếp", "In own right";
        /// On behalf of a collective body (thay mặt).
        Tm => "tm", "TM. (thay mặt tập thể)", "On behalf of the collective (TM.)";
        /// Acting head (quyền).
        Q => "q", "Q. (quyền)", "Acting (Q.)";
        /// A deputy signing for the head (ký thay).
        Kt => "kt", "KT. (ký thay)", "Deputy signing for the head (KT.)";
        /// By order of the head (thừa lệnh).
        Tl => "tl", "TL. (thừa lệnh)", "By order (TL.)";
        /// By the head's written authorization (thừa ủy quyền).
        Tuq => "tuq", "TUQ. (thừa ủy quyền)", "By authorization (TUQ.)";
    }
}

impl SignAuthority {
    /// The prefix of the title block's first line ("KT." …); empty when signing directly.
    pub const fn prefix(self) -> &'static str {
        match self {
            SignAuthority::Direct => "",
            SignAuthority::Tm => "TM.",
            SignAuthority::Q => "Q.",
            SignAuthority::Kt => "KT.",
            SignAuthority::Tl => "TL.",
            SignAuthority::Tuq => "TUQ.",
        }
    }

    /// Whether someone signs for another (KT., TL., TUQ.): the delegate signs with their own
    /// certificate (NA-10.5) and the record names both.
    pub const fn is_delegated(self) -> bool {
        matches!(
            self,
            SignAuthority::Kt | SignAuthority::Tl | SignAuthority::Tuq
        )
    }
}

named_enum! {
    /// The kinds of copy of Decree 30 art. 25, numbered in one yearly series per agency.
    pub enum CopyForm ("copy form", "hình thức sao") {
        /// A true copy of the whole original.
        SaoY => "sao_y", "Sao y", "True copy";
        /// A copy made from a copy.
        SaoLuc => "sao_luc", "Sao lục", "Copy of a copy";
        /// A copy of part of the original.
        TrichSao => "trich_sao", "Trích sao", "Extract";
    }
}

impl CopyForm {
    /// The abbreviation in the copy's notation ("05/SY").
    pub const fn abbreviation(self) -> &'static str {
        match self {
            CopyForm::SaoY => "SY",
            CopyForm::SaoLuc => "SL",
            CopyForm::TrichSao => "TrS",
        }
    }

    /// The words of the copy stamp ("SAO Y", cell 14).
    pub const fn stamp(self) -> &'static str {
        match self {
            CopyForm::SaoY => "SAO Y",
            CopyForm::SaoLuc => "SAO LỤC",
            CopyForm::TrichSao => "TRÍCH SAO",
        }
    }
}

/// Who signs and in what capacity (cells 7a, 7b).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignerBlock {
    pub authority: SignAuthority,
    /// The office (or collective) signed for: "GIÁM ĐỐC", "ỦY BAN NHÂN DÂN" (needed unless
    /// signing directly).
    pub principal_title: String,
    /// The person signed for, when delegated (TUQ.: who gave the authorization).
    pub principal_name: String,
    /// The signer's own title ("PHÓ GIÁM ĐỐC"; for Q. the office is `principal_title`).
    pub title: String,
    /// The signer's full name, as printed under the signature.
    pub name: String,
    /// The account of the person signed for (KT./TL./TUQ. only): the head whose signature the
    /// delegate makes with their own certificate. The account that signs is the document's
    /// intended signer, kept beside the metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<i64>,
}

impl SignerBlock {
    /// The title block's lines, upper case as Decree 30 prints them: "KT. GIÁM ĐỐC" /
    /// "PHÓ GIÁM ĐỐC"; a direct signer's title alone; "Q. GIÁM ĐỐC".
    pub fn title_lines(&self) -> Vec<String> {
        let principal = self.principal_title.to_uppercase();
        let title = self.title.to_uppercase();
        match self.authority {
            SignAuthority::Direct => vec![title],
            SignAuthority::Q => vec![format!("Q. {principal}")],
            a => vec![format!("{} {principal}", a.prefix()), title],
        }
    }
}

/// A document's attachment or appendix (phụ lục), named by its title.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attachment {
    pub title: String,
    /// Its pages, when known.
    pub pages: Option<u32>,
}

/// The metadata of an outgoing document as its drafter gives it. The number, notation and date
/// are given later, by the clerk (see [`super::number`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentMeta {
    pub doc_type: DocType,
    /// The subject (trích yếu nội dung; for a công văn the "V/v …" line).
    pub subject: String,
    /// The place name of the date line ("Nghệ An").
    pub place: String,
    pub signer: SignerBlock,
    /// The drafting unit's abbreviation ("VP"); required for công văn and thư công, whose
    /// notation names it.
    pub unit_abbrev: String,
    /// Recipients by identifier code (mã định danh), dotted form after the check.
    pub recipients: Vec<String>,
    pub urgency: Urgency,
    pub confidentiality: Secrecy,
    /// Pages of the document, when known (Appendix VI: PageAmount, N3).
    pub page_count: Option<u32>,
    pub attachments: Vec<Attachment>,
}

/// Most recipients one document may list.
pub const MAX_RECIPIENTS: usize = 500;
/// Most attachments one document may list.
pub const MAX_ATTACHMENTS: usize = 100;
/// Most pages (Appendix VI: three digits).
pub const MAX_PAGES: u32 = 999;
/// Longest attachment file name (NB2: 50 ASCII characters).
pub const MAX_FILE_NAME: usize = 50;

/// Why a document's metadata is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// A field holds a value that is refused.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The document is classified: kyso does not handle secret documents (NA-4.1).
    #[error("{} documents are not handled by kyso (NA-4.1); use the secret-document procedure", .level.label_en())]
    Secret { level: Secrecy },
}

impl MetaError {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            MetaError::Field(f) => f.field,
            MetaError::Secret { .. } => "confidentiality",
        }
    }

    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        match self {
            MetaError::Field(f) => f.vi.clone(),
            MetaError::Secret { level } => format!(
                "Văn bản có độ mật \"{}\" không được xử lý trên hệ thống này (văn bản mật, tối \
                 mật, tuyệt mật thực hiện theo quy định về bảo vệ bí mật nhà nước).",
                level.label_vi()
            ),
        }
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        match self {
            MetaError::Field(f) => f.en.clone(),
            e => e.to_string(),
        }
    }
}

/// The Vietnamese name of a document field, for messages.
pub fn field_vi(field: &str) -> &'static str {
    match field {
        "doc_type" => "Loại văn bản",
        "subject" => "Trích yếu",
        "place" => "Địa danh",
        "signer.principal_title" => "Chức vụ người được ký thay",
        "signer.principal_name" => "Người được ký thay",
        "signer.title" => "Chức vụ người ký",
        "signer.name" => "Họ tên người ký",
        "signer.principal_id" => "Người được ký thay",
        "signer_id" => "Người ký",
        "unit_abbrev" => "Viết tắt đơn vị soạn thảo",
        "recipients" => "Nơi nhận",
        "page_count" => "Số trang",
        "attachments" => "Phụ lục, văn bản kèm theo",
        "file_name" => "Tên tệp",
        "reason" => "Lý do",
        "comment" => "Ý kiến",
        "code" => "Ký hiệu sổ",
        "name" => "Tên sổ",
        "issuer_abbrev" => "Viết tắt tên cơ quan ban hành",
        _ => "Trường",
    }
}

/// Trimmed text without hidden or control characters, at most [`MAX_TEXT`] characters.
pub fn text(field: &'static str, value: &str, required: bool) -> Result<String, FieldError> {
    let v = value.trim();
    let name = field_vi(field);
    if required && v.is_empty() {
        return Err(FieldError::new(
            field,
            format!("Trường \"{name}\" không được để trống."),
            format!("The field \"{field}\" is required."),
        ));
    }
    if let Some(c) = crate::text::hidden_char(v) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(FieldError::new(
            field,
            format!("Trường \"{name}\" có ký tự ẩn hoặc ký tự đổi chiều văn bản ({code})."),
            format!(
                "The field \"{field}\" holds an invisible or text-direction character ({code})."
            ),
        ));
    }
    if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("Trường \"{name}\" quá dài (tối đa {MAX_TEXT} ký tự) hoặc có ký tự điều khiển."),
            format!("The field \"{field}\" is longer than {MAX_TEXT} characters or holds control characters."),
        ));
    }
    Ok(v.to_owned())
}

/// An attachment's file name: at most [`MAX_FILE_NAME`] printable ASCII characters, no path,
/// ending in `.pdf` (NB2: signed files are PDF).
pub fn check_file_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.len() <= MAX_FILE_NAME
        && n.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !n.contains(['/', '\\'])
        && !n.starts_with('.')
        && n.to_ascii_lowercase().ends_with(".pdf");
    if ok {
        Ok(n.to_owned())
    } else {
        Err(FieldError::new(
            "file_name",
            format!(
                "Tên tệp \"{n}\" không hợp lệ: tối đa {MAX_FILE_NAME} ký tự không dấu, không có \
                 đường dẫn, đuôi .pdf."
            ),
            format!(
                "The file name \"{n}\" is refused: at most {MAX_FILE_NAME} ASCII characters, no \
                 path, ending in .pdf."
            ),
        ))
    }
}

impl DocumentMeta {
    /// The metadata, trimmed and checked: a classified document is refused first (whatever
    /// else it holds), then each field; recipients become dotted codes without duplicates.
    pub fn check(&self) -> Result<DocumentMeta, MetaError> {
        if self.confidentiality != Secrecy::Unclassified {
            return Err(MetaError::Secret {
                level: self.confidentiality,
            });
        }
        let signer = &self.signer;
        let mut out = DocumentMeta {
            doc_type: self.doc_type,
            subject: text("subject", &self.subject, true)?,
            place: text("place", &self.place, true)?,
            signer: SignerBlock {
                authority: signer.authority,
                principal_title: text(
                    "signer.principal_title",
                    &signer.principal_title,
                    signer.authority != SignAuthority::Direct,
                )?,
                principal_name: text("signer.principal_name", &signer.principal_name, false)?,
                title: text(
                    "signer.title",
                    &signer.title,
                    signer.authority != SignAuthority::Q,
                )?,
                name: text("signer.name", &signer.name, true)?,
                principal_id: signer.principal_id,
            },
            unit_abbrev: text("unit_abbrev", &self.unit_abbrev, false)?,
            recipients: Vec::new(),
            urgency: self.urgency,
            confidentiality: Secrecy::Unclassified,
            page_count: self.page_count,
            attachments: Vec::new(),
        };
        if signer.principal_id.is_some() && !signer.authority.is_delegated() {
            return Err(FieldError::new(
                "signer.principal_id",
                format!(
                    "Chỉ ghi người được ký thay khi ký KT., TL. hoặc TUQ. (đang chọn \"{}\").",
                    signer.authority.label_vi()
                ),
                format!(
                    "A person signed for is named only for KT., TL. or TUQ. (chosen: \"{}\").",
                    signer.authority.label_en()
                ),
            )
            .into());
        }
        if out.doc_type.notation_names_unit() && out.unit_abbrev.is_empty() {
            return Err(FieldError::new(
                "unit_abbrev",
                format!(
                    "{} ghi ký hiệu theo đơn vị soạn thảo (ví dụ UBND-VP): hãy nhập chữ viết tắt \
                     tên đơn vị.",
                    out.doc_type.label_vi()
                ),
                format!(
                    "A {}'s notation names the drafting unit (e.g. UBND-VP): give the unit's \
                     abbreviation.",
                    out.doc_type.label_en().to_lowercase()
                ),
            )
            .into());
        }
        if !out.unit_abbrev.is_empty() {
            super::number::check_abbrev("unit_abbrev", &out.unit_abbrev)?;
        }
        if let Some(pages) = out.page_count {
            if pages == 0 || pages > MAX_PAGES {
                return Err(FieldError::new(
                    "page_count",
                    format!("Số trang phải từ 1 đến {MAX_PAGES}."),
                    format!("The page count must be between 1 and {MAX_PAGES}."),
                )
                .into());
            }
        }
        if self.recipients.len() > MAX_RECIPIENTS {
            return Err(FieldError::new(
                "recipients",
                format!("Tối đa {MAX_RECIPIENTS} nơi nhận."),
                format!("At most {MAX_RECIPIENTS} recipients."),
            )
            .into());
        }
        for r in &self.recipients {
            let code = AgencyCode::parse(r).map_err(|e| {
                FieldError::new(
                    "recipients",
                    format!("Nơi nhận \"{}\": {}.", r.trim(), e.message_vi()),
                    format!("Recipient \"{}\": {}.", r.trim(), e.message_en()),
                )
            })?;
            let dotted = code.dotted();
            if !out.recipients.contains(&dotted) {
                out.recipients.push(dotted);
            }
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(FieldError::new(
                "attachments",
                format!("Tối đa {MAX_ATTACHMENTS} phụ lục, văn bản kèm theo."),
                format!("At most {MAX_ATTACHMENTS} attachments."),
            )
            .into());
        }
        for a in &self.attachments {
            let title = text("attachments", &a.title, true)?;
            if matches!(a.pages, Some(p) if p == 0 || p > MAX_PAGES) {
                return Err(FieldError::new(
                    "attachments",
                    format!("Phụ lục \"{title}\": số trang phải từ 1 đến {MAX_PAGES}."),
                    format!("Attachment \"{title}\": pages must be between 1 and {MAX_PAGES}."),
                )
                .into());
            }
            out.attachments.push(Attachment {
                title,
                pages: a.pages,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn letter() -> DocumentMeta {
        DocumentMeta {
            doc_type: DocType::QuyetDinh,
            subject: " Về việc ban hành Quy chế sử dụng chữ ký số ".into(),
            place: "Nghệ An".into(),
            signer: SignerBlock {
                authority: SignAuthority::Kt,
                principal_title: "Giám đốc".into(),
                principal_name: String::new(),
                title: "Phó Giám đốc".into(),
                name: "Nguyễn Văn An".into(),
                principal_id: None,
            },
            recipients: vec!["000.00.37.H41".into(), "H41.37".into(), "H41.05".into()],
            page_count: Some(3),
            ..Default::default()
        }
    }

    #[test]
    fn abbreviations_are_decree_30s() {
        assert_eq!(DocType::QuyetDinh.abbreviation(), Some("QĐ"));
        assert_eq!(DocType::ToTrinh.abbreviation(), Some("TTr"));
        assert_eq!(DocType::BaoCao.abbreviation(), Some("BC"));
        assert_eq!(DocType::KeHoach.abbreviation(), Some("KH"));
        assert_eq!(DocType::ThongBao.abbreviation(), Some("TB"));
        assert_eq!(DocType::QuyDinh.abbreviation(), Some("QyĐ"));
        assert_eq!(DocType::CongVan.abbreviation(), None);
        assert_eq!(DocType::ThuCong.abbreviation(), None);
        assert_eq!(DocType::ALL.len(), 29, "Decree 30 art. 7 lists 29 kinds");
        let mut abbrevs: Vec<_> = DocType::ALL
            .iter()
            .filter_map(|t| t.abbreviation())
            .collect();
        abbrevs.sort_unstable();
        abbrevs.dedup();
        assert_eq!(abbrevs.len(), 27, "abbreviations are distinct");
        assert_eq!(CopyForm::TrichSao.abbreviation(), "TrS");
        assert_eq!(CopyForm::SaoLuc.stamp(), "SAO LỤC");
        assert_eq!(Urgency::Flash.stamp(), Some("HỎA TỐC"));
        for t in DocType::ALL {
            assert_eq!(DocType::parse(t.as_str()), Ok(t));
            assert!(!t.label_en().is_empty() && !t.label_vi().is_empty());
        }
    }

    #[test]
    fn a_checked_letter_is_trimmed_with_dotted_unique_recipients() {
        let m = letter().check().unwrap();
        assert_eq!(m.subject, "Về việc ban hành Quy chế sử dụng chữ ký số");
        assert_eq!(m.recipients, ["H41.37", "H41.05"]);
        assert_eq!(m.signer.title_lines(), ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]);
        assert!(m.signer.authority.is_delegated());
    }

    #[test]
    fn secret_documents_are_refused_before_anything_else() {
        for level in [Secrecy::Confidential, Secrecy::Secret, Secrecy::TopSecret] {
            let m = DocumentMeta {
                confidentiality: level,
                subject: String::new(),
                ..letter()
            };
            let e = m.check().unwrap_err();
            assert_eq!(e, MetaError::Secret { level });
            assert_eq!(e.field(), "confidentiality");
            assert!(e.message_vi().contains(level.label_vi()));
        }
    }

    #[test]
    fn each_field_is_refused_by_name() {
        let cases: Vec<(DocumentMeta, &str)> = vec![
            (
                DocumentMeta {
                    subject: " ".into(),
                    ..letter()
                },
                "subject",
            ),
            (
                DocumentMeta {
                    place: String::new(),
                    ..letter()
                },
                "place",
            ),
            (
                DocumentMeta {
                    signer: SignerBlock {
                        principal_title: String::new(),
                        ..letter().signer
                    },
                    ..letter()
                },
                "signer.principal_title",
            ),
            (
                DocumentMeta {
                    doc_type: DocType::CongVan,
                    ..letter()
                },
                "unit_abbrev",
            ),
            (
                DocumentMeta {
                    unit_abbrev: "V P".into(),
                    ..letter()
                },
                "unit_abbrev",
            ),
            (
                DocumentMeta {
                    page_count: Some(0),
                    ..letter()
                },
                "page_count",
            ),
            (
                DocumentMeta {
                    recipients: vec!["H4".into()],
                    ..letter()
                },
                "recipients",
            ),
            (
                DocumentMeta {
                    subject: "Về\u{202E}việc".into(),
                    ..letter()
                },
                "subject",
            ),
            (
                DocumentMeta {
                    attachments: vec![Attachment {
                        title: String::new(),
                        pages: None,
                    }],
                    ..letter()
                },
                "attachments",
            ),
        ];
        for (m, field) in cases {
            let e = m.check().unwrap_err();
            assert_eq!(e.field(), field, "{e}");
            assert!(!e.message_vi().is_empty() && !e.message_en().is_empty());
        }
    }

    #[test]
    fn title_blocks_of_each_authority() {
        let b = |authority, principal: &str, title: &str| SignerBlock {
            authority,
            principal_title: principal.into(),
            title: title.into(),
            name: "Trần Thị Bình".into(),
            ..Default::default()
        };
        assert_eq!(
            b(SignAuthority::Direct, "", "Giám đốc").title_lines(),
            ["GIÁM ĐỐC"]
        );
        assert_eq!(
            b(SignAuthority::Q, "Giám đốc", "").title_lines(),
            ["Q. GIÁM ĐỐC"]
        );
        assert_eq!(
            b(SignAuthority::Tm, "Ủy ban nhân dân", "Chủ tịch").title_lines(),
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
        );
        assert_eq!(
            b(SignAuthority::Tuq, "Giám đốc", "Trưởng phòng Hành chính").title_lines(),
            ["TUQ. GIÁM ĐỐC", "TRƯỞNG PHÒNG HÀNH CHÍNH"]
        );
        assert!(!SignAuthority::Tm.is_delegated() && SignAuthority::Tl.is_delegated());
    }

    #[test]
    fn a_principal_account_only_for_delegated_forms() {
        let with = |authority| DocumentMeta {
            signer: SignerBlock {
                authority,
                principal_id: Some(7),
                ..letter().signer
            },
            ..letter()
        };
        for a in [SignAuthority::Kt, SignAuthority::Tl, SignAuthority::Tuq] {
            assert_eq!(with(a).check().unwrap().signer.principal_id, Some(7), "{a}");
        }
        for a in [SignAuthority::Direct, SignAuthority::Tm, SignAuthority::Q] {
            let e = with(a).check().unwrap_err();
            assert_eq!(e.field(), "signer.principal_id", "{a}");
            assert!(e.message_vi().contains("KT."), "{}", e.message_vi());
        }
        // Stored metadata without it reads back as before.
        let json = serde_json::to_value(letter().check().unwrap()).unwrap();
        assert!(json["signer"].get("principal_id").is_none());
    }

    #[test]
    fn file_names() {
        assert_eq!(check_file_name(" phu-luc-1.pdf ").unwrap(), "phu-luc-1.pdf");
        for bad in [
            "",
            "../x.pdf",
            "phụ lục.pdf",
            "x.docx",
            ".pdf",
            &format!("{}.pdf", "a".repeat(47)),
        ] {
            assert_eq!(
                check_file_name(bad).unwrap_err().field,
                "file_name",
                "{bad}"
            );
        }
    }

    #[test]
    fn metadata_serde_uses_stable_names() {
        let m = letter().check().unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["doc_type"], "quyet_dinh");
        assert_eq!(json["signer"]["authority"], "kt");
        assert_eq!(json["confidentiality"], "unclassified");
        let back: DocumentMeta = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        let partial: DocumentMeta =
            serde_json::from_str(r#"{"subject":"x","confidentiality":"top_secret"}"#).unwrap();
        assert!(matches!(partial.check(), Err(MetaError::Secret { .. })));
    }
}
