//! The envelope's and the status message's data, field by field as the edXML header names
//! them (`docs/edxml.md` says where each name comes from).
//!
//! Optional text fields are `String`s: empty means absent (the writer leaves the element out,
//! the reader gives `""` for an absent or empty element), so a value survives a write and a
//! read unchanged. Required fields are listed on [`crate::read`].

/// An organization of the exchange (`From`, each `To`, the status message's `From`): the
/// identifier code (mã định danh, QĐ 20/2020/QĐ-TTg) and the directory data the sender knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// `OrganId`: the agency's identifier code (`000.00.00.H41` or dotted `H41.37`).
    pub organ_id: String,
    /// `OrganizationInCharge`: the managing body's name.
    pub organization_in_charge: String,
    /// `OrganName`.
    pub organ_name: String,
    /// `OrganAdd`: postal address.
    pub organ_add: String,
    /// `Email`.
    pub email: String,
    /// `Telephone`.
    pub telephone: String,
    /// `Fax`.
    pub fax: String,
    /// `Website`.
    pub website: String,
}

/// `Code`: the document's number and notation (số, ký hiệu).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Code {
    /// `CodeNumber`: "12" (Decree 30 Appendix VI: N11 as text, leading zeros kept).
    pub code_number: String,
    /// `CodeNotation`: "QĐ-UBND".
    pub code_notation: String,
}

/// `PromulgationInfo`: where and when the document was issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromulgationInfo {
    /// `Place`: the place name of the date line ("Nghệ An").
    pub place: String,
    /// `PromulgationDate`: kyso writes `yyyy/MM/dd` ([`crate::parse_date`] reads the usual
    /// forms).
    pub promulgation_date: String,
}

/// `DocumentType`: the kind of document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentType {
    /// `Type`: an integer class (kyso writes 1, administrative document; the standard's list
    /// was not available, see `docs/edxml.md`).
    pub type_code: u32,
    /// `TypeName`: "Quyết định", "Công văn"…
    pub type_name: String,
}

/// `SignerInfo`: who signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerInfo {
    /// `Competence`: the signing authority ("KT. GIÁM ĐỐC", "TM. ỦY BAN NHÂN DÂN").
    pub competence: String,
    /// `Position`: the signer's title ("PHÓ GIÁM ĐỐC").
    pub position: String,
    /// `FullName`.
    pub full_name: String,
}

/// `OtherInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherInfo {
    /// `Priority`: the urgency, 0 normal, 1 urgent (khẩn), 2 very urgent (thượng khẩn),
    /// 3 flash (hỏa tốc); absent when `None`.
    pub priority: Option<u32>,
    /// `SphereOfPromulgation`: the scope of issue.
    pub sphere_of_promulgation: String,
    /// `TyperNotation`: initials of the typist and the number of copies ("HN.05").
    pub typer_notation: String,
    /// `PromulgationAmount`: copies issued.
    pub promulgation_amount: Option<u32>,
    /// `PageAmount`: pages.
    pub page_amount: Option<u32>,
    /// `Appendixes/Appendix`: the titles of the appendices.
    pub appendixes: Vec<String>,
}

/// `ResponseFor`: the document this one answers (in the header), or the document a status
/// message is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFor {
    /// `OrganId` of the agency that issued the document answered.
    pub organ_id: String,
    /// `Code`: its number and notation as one text ("12/QĐ-UBND").
    pub code: String,
    /// `PromulgationDate`.
    pub promulgation_date: String,
    /// `DocumentId`.
    pub document_id: String,
}

/// `StaffInfo`: the person who acted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffInfo {
    /// `Department`.
    pub department: String,
    /// `Staff`: full name.
    pub staff: String,
    /// `Mobile`.
    pub mobile: String,
    /// `Email`.
    pub email: String,
}

/// `TraceHeader`: one system the envelope passed through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeader {
    /// `OrganId`.
    pub organ_id: String,
    /// `Timestamp`: kyso writes `yyyy/MM/dd HH:mm:ss`.
    pub timestamp: String,
}

/// `Bussiness` (the standard's spelling): what the envelope does to the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Business {
    /// `BussinessDocType`: 0 new, 1 recall, 2 update, 3 replacement.
    pub business_doc_type: u32,
    /// `BussinessDocReason`.
    pub business_doc_reason: String,
    /// `DocumentId` of the document recalled, updated or replaced.
    pub document_id: String,
    /// `StaffInfo`, each.
    pub staff_info: Vec<StaffInfo>,
    /// `Paper`: 1 when a paper original is also sent, else 0 or absent.
    pub paper: String,
}

/// `TraceHeaderList`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeaderList {
    /// `TraceHeader`, each.
    pub trace_headers: Vec<TraceHeader>,
    /// `Bussiness`, when present.
    pub business: Option<Business>,
}

/// `MessageHeader`: what the receiving system registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageHeader {
    /// `From` (required).
    pub from: Organization,
    /// `To`, each (at least one).
    pub to: Vec<Organization>,
    /// `Code` (required).
    pub code: Code,
    /// `PromulgationInfo` (the date is required).
    pub promulgation_info: PromulgationInfo,
    /// `DocumentType` (required).
    pub document_type: DocumentType,
    /// `Subject` (trích yếu, required).
    pub subject: String,
    /// `Content`: the text of a short document, usually empty.
    pub content: String,
    /// `SignerInfo`.
    pub signer_info: SignerInfo,
    /// `DueDate`: the deadline for handling, when the sender sets one.
    pub due_date: String,
    /// `ToPlaces/Place`: the "Nơi nhận" lines as printed.
    pub to_places: Vec<String>,
    /// `OtherInfo`.
    pub other_info: OtherInfo,
    /// `ResponseFor`, each.
    pub response_for: Vec<ResponseFor>,
    /// `SteeringType`: whether the document carries directions to follow (0/1), absent when
    /// `None`.
    pub steering_type: Option<u32>,
    /// `DocumentId`: `OrganId,yyyy/MM/dd,number/notation` ([`document_id`]).
    pub document_id: String,
}

/// A file carried by the envelope (the signed PDF, its attachments).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// `ContentId`, without the `cid:` prefix of the manifest's reference.
    pub content_id: String,
    /// `ContentType`: "application/pdf".
    pub content_type: String,
    /// `Description`.
    pub description: String,
    /// `AttachmentName`: the file name.
    pub name: String,
    /// The file's bytes (`ContentTransferEncoded`, base64 in the XML).
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("content_id", &self.content_id)
            .field("content_type", &self.content_type)
            .field("description", &self.description)
            .field("name", &self.name)
            .field("content_len", &self.content.len())
            .finish()
    }
}

/// An edXML envelope: the header and the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `edXMLHeader/MessageHeader`.
    pub header: MessageHeader,
    /// `edXMLHeader/TraceHeaderList`.
    pub trace: TraceHeaderList,
    /// The files, in order (`AttachmentEncoded/Attachment`, listed in the body's manifest).
    pub attachments: Vec<Attachment>,
}

/// An edXML status message: what the receiving agency did with a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusMessage {
    /// `ResponseFor`: the document it is about (organization, code and date required).
    pub response_for: ResponseFor,
    /// `From`: the agency reporting (`OrganId` required).
    pub from: Organization,
    /// `StatusCode`.
    pub status_code: StatusCode,
    /// `Description`: the reason (required for a refusal in kyso's use, not by the reader).
    pub description: String,
    /// `Timestamp` (required): kyso writes `yyyy/MM/dd HH:mm:ss`.
    pub timestamp: String,
    /// `StaffInfo`.
    pub staff_info: StaffInfo,
}

/// The status codes of edXML status messages (two digits in the XML).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 01: arrived in the recipient's system.
    #[default]
    Arrived,
    /// 02: refused (also: a recall refused).
    Refused,
    /// 03: received and registered (also: a recall agreed).
    Received,
    /// 04: assigned by the leader.
    Assigned,
    /// 05: being handled.
    Handling,
    /// 06: completed.
    Completed,
    /// 13: the sender asks to take the document back (recall).
    RecallRequested,
    /// 15: take-back or update agreed.
    RecallAgreed,
    /// 16: take-back or update refused.
    RecallRefused,
    /// Another code from 01 to 16 whose meaning kyso's sources do not give; kept as received.
    Unlisted(u8),
}

impl StatusCode {
    /// Every code with a meaning, in numeric order.
    pub const LISTED: [StatusCode; 9] = [
        StatusCode::Arrived,
        StatusCode::Refused,
        StatusCode::Received,
        StatusCode::Assigned,
        StatusCode::Handling,
        StatusCode::Completed,
        StatusCode::RecallRequested,
        StatusCode::RecallAgreed,
        StatusCode::RecallRefused,
    ];

    /// The code's number (1–16).
    pub const fn number(self) -> u8 {
        match self {
            StatusCode::Arrived => 1,
            StatusCode::Refused => 2,
            StatusCode::Received => 3,
            StatusCode::Assigned => 4,
            StatusCode::Handling => 5,
            StatusCode::Completed => 6,
            StatusCode::RecallRequested => 13,
            StatusCode::RecallAgreed => 15,
            StatusCode::RecallRefused => 16,
            StatusCode::Unlisted(n) => n,
        }
    }

    /// The code of a number from 1 to 16; `None` outside.
    pub fn from_number(n: u8) -> Option<StatusCode> {
        if !(1..=16).contains(&n) {
            return None;
        }
        Some(
            Self::LISTED
                .into_iter()
                .find(|c| c.number() == n)
                .unwrap_or(StatusCode::Unlisted(n)),
        )
    }

    /// Two digits, as written in the XML ("02").
    pub fn as_xml(self) -> String {
        format!("{:02}", self.number())
    }

    /// What the code means, in Vietnamese.
    pub fn label_vi(self) -> &'static str {
        match self {
            StatusCode::Arrived => "Đã đến",
            StatusCode::Refused => "Từ chối tiếp nhận",
            StatusCode::Received => "Đã tiếp nhận, vào sổ",
            StatusCode::Assigned => "Đã phân công xử lý",
            StatusCode::Handling => "Đang xử lý",
            StatusCode::Completed => "Đã hoàn thành",
            StatusCode::RecallRequested => "Đề nghị lấy lại văn bản",
            StatusCode::RecallAgreed => "Đồng ý lấy lại, cập nhật văn bản",
            StatusCode::RecallRefused => "Từ chối lấy lại, cập nhật văn bản",
            StatusCode::Unlisted(_) => "Trạng thái khác",
        }
    }

    /// What the code means, in English.
    pub fn label_en(self) -> &'static str {
        match self {
            StatusCode::Arrived => "Arrived",
            StatusCode::Refused => "Refused",
            StatusCode::Received => "Received and registered",
            StatusCode::Assigned => "Assigned",
            StatusCode::Handling => "Being handled",
            StatusCode::Completed => "Completed",
            StatusCode::RecallRequested => "Recall requested",
            StatusCode::RecallAgreed => "Recall or update agreed",
            StatusCode::RecallRefused => "Recall or update refused",
            StatusCode::Unlisted(_) => "Other status",
        }
    }
}

/// The `DocumentId` of a document: `OrganId,yyyy/MM/dd,number/notation`
/// (`000.00.04.G14,2012/08/06,267/VPCP-TTĐT`).
pub fn document_id(organ_id: &str, date: &str, code: &str) -> String {
    format!("{organ_id},{date},{code}")
}

/// A date of the header as (year, month, day): `yyyy/MM/dd`, `yyyy-MM-dd` or `dd/MM/yyyy`,
/// optionally followed by a time after a space or `T`. `None` when it is none of these or not
/// a calendar date.
pub fn parse_date(s: &str) -> Option<(i32, u8, u8)> {
    let s = s.trim();
    let date = s.split([' ', 'T']).next()?;
    let parts: Vec<&str> = date.split(['/', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |t: &str| -> Option<u32> {
        if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, m, d) = if a.len() == 4 {
        (num(a)?, num(b)?, num(c)?)
    } else if c.len() == 4 {
        (num(c)?, num(b)?, num(a)?)
    } else {
        return None;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days || y == 0 {
        return None;
    }
    Some((
        i32::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_two_digit_numbers_with_meanings() {
        assert_eq!(StatusCode::Refused.as_xml(), "02");
        assert_eq!(StatusCode::RecallRequested.as_xml(), "13");
        for c in StatusCode::LISTED {
            assert_eq!(StatusCode::from_number(c.number()), Some(c));
            assert_ne!(c.label_vi(), "Trạng thái khác");
        }
        assert_eq!(StatusCode::from_number(9), Some(StatusCode::Unlisted(9)));
        assert_eq!(StatusCode::from_number(0), None);
        assert_eq!(StatusCode::from_number(17), None);
    }

    #[test]
    fn dates_in_the_forms_partners_write() {
        assert_eq!(parse_date("2026/03/15"), Some((2026, 3, 15)));
        assert_eq!(parse_date("2026-03-15"), Some((2026, 3, 15)));
        assert_eq!(parse_date("15/03/2026 08:30:00"), Some((2026, 3, 15)));
        assert_eq!(parse_date("2024/02/29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2026/02/29"), None);
        assert_eq!(parse_date("2026/13/01"), None);
        assert_eq!(parse_date("hôm nay"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn document_id_joins_agency_date_and_code() {
        assert_eq!(
            document_id("000.00.04.G14", "2012/08/06", "267/VPCP-TTĐT"),
            "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"
        );
    }
}
