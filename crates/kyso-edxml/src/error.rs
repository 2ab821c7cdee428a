//! Why a package is refused, in English (`Display`) and Vietnamese ([`Error::message_vi`]).

/// A construct of XML the reader refuses outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Construct {
    /// `<!DOCTYPE …>`: a DTD, with any entity declarations (billion laughs, external entities).
    Doctype,
    /// `<?target …?>` other than the XML declaration.
    ProcessingInstruction,
    /// An XML declaration anywhere but at the very start.
    LateDeclaration,
}

impl Construct {
    fn en(self) -> &'static str {
        match self {
            Construct::Doctype => "document type declaration (DTD, entity declarations)",
            Construct::ProcessingInstruction => "processing instruction",
            Construct::LateDeclaration => "XML declaration after the start",
        }
    }

    fn vi(self) -> &'static str {
        match self {
            Construct::Doctype => "khai báo kiểu tài liệu (DTD, khai báo thực thể)",
            Construct::ProcessingInstruction => "chỉ thị xử lý (processing instruction)",
            Construct::LateDeclaration => "khai báo XML không nằm ở đầu tệp",
        }
    }
}

/// Why an edXML package (an envelope or a status message) is refused. Nothing of a refused
/// package should be kept: the reader returns no partial result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The whole package is larger than [`crate::Limits::max_total`] (checked before parsing).
    #[error("the package is {size} bytes or more, larger than the {limit} bytes allowed")]
    TooLarge { size: u64, limit: u64 },
    /// The bytes are not UTF-8 (UTF-16 included), at `offset`.
    #[error("the package is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: u64 },
    /// The XML declaration names another encoding than UTF-8.
    #[error("the package declares the encoding {encoding:?}; only UTF-8 is accepted")]
    Encoding { encoding: String },
    /// A DTD, a processing instruction or a late declaration.
    #[error("the package contains a {}, which is refused", .0.en())]
    Forbidden(Construct),
    /// A reference to an entity XML does not predefine (there is no DTD to define one).
    #[error("the package refers to the undefined entity &{name};")]
    Entity { name: String },
    /// Not well-formed XML.
    #[error("the XML is not well-formed near byte {offset}: {detail}")]
    Malformed { offset: u64, detail: String },
    /// Elements nested deeper than [`crate::Limits::max_depth`].
    #[error("elements are nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// More elements than [`crate::Limits::max_elements`].
    #[error("the package has more than {limit} elements")]
    TooManyElements { limit: usize },
    /// An element with more attributes than [`crate::Limits::max_attributes`].
    #[error("element {element} has more than {limit} attributes")]
    TooManyAttributes { element: String, limit: usize },
    /// A text longer than [`crate::Limits::max_text`] bytes.
    #[error("the text of element {element} is longer than {limit} bytes")]
    TextTooLong { element: String, limit: usize },
    /// The root element is not an edXML envelope (or a status message).
    #[error("the root element {root} is not an edXML package")]
    NotEdxml { root: String },
    /// A required field is absent or empty (`field`: its path, "MessageHeader/From/OrganId").
    #[error("the required field {field} is missing or empty")]
    Missing { field: &'static str },
    /// A field that may appear once appears more than once.
    #[error("the field {field} appears more than once")]
    Duplicate { field: &'static str },
    /// A field holds a value of the wrong form (a number that is not one, a status code out of
    /// 01–16).
    #[error("the field {field} holds {value:?}, which is not a valid value")]
    BadValue { field: &'static str, value: String },
    /// More attachments than [`crate::Limits::max_attachments`].
    #[error("the package carries {count} attachments, more than the {limit} allowed")]
    TooManyAttachments { count: usize, limit: usize },
    /// One attachment is larger than [`crate::Limits::max_attachment`] (from the length of its
    /// base64 text, before decoding).
    #[error("attachment {name:?} is {size} bytes, larger than the {limit} bytes allowed")]
    AttachmentTooLarge { name: String, size: u64, limit: u64 },
    /// The attachments together are larger than [`crate::Limits::max_attachments_total`].
    #[error("the attachments total {size} bytes, more than the {limit} bytes allowed")]
    AttachmentsTooLarge { size: u64, limit: u64 },
    /// An attachment's content is not valid base64.
    #[error("attachment {name:?} is not valid base64")]
    BadBase64 { name: String },
    /// The manifest lists a content id no attachment carries.
    #[error("the manifest lists attachment {content_id:?}, which the package does not carry")]
    MissingAttachment { content_id: String },
    /// Writing a decoded attachment to the caller's sink failed.
    #[error("writing attachment {name:?} failed: {source}")]
    Sink {
        name: String,
        source: std::io::Error,
    },
}

impl Error {
    /// A stable code for the refusal, for APIs and logs ("dtd", "missing_field"…).
    pub fn code(&self) -> &'static str {
        match self {
            Error::TooLarge { .. } => "too_large",
            Error::NotUtf8 { .. } | Error::Encoding { .. } => "not_utf8",
            Error::Forbidden(Construct::Doctype) => "dtd",
            Error::Forbidden(_) => "processing_instruction",
            Error::Entity { .. } => "entity",
            Error::Malformed { .. } => "malformed",
            Error::TooDeep { .. } => "too_deep",
            Error::TooManyElements { .. } => "too_many_elements",
            Error::TooManyAttributes { .. } => "too_many_attributes",
            Error::TextTooLong { .. } => "text_too_long",
            Error::NotEdxml { .. } => "not_edxml",
            Error::Missing { .. } => "missing_field",
            Error::Duplicate { .. } => "duplicate_field",
            Error::BadValue { .. } => "bad_value",
            Error::TooManyAttachments { .. } => "too_many_attachments",
            Error::AttachmentTooLarge { .. } | Error::AttachmentsTooLarge { .. } => {
                "attachment_too_large"
            }
            Error::BadBase64 { .. } => "bad_base64",
            Error::MissingAttachment { .. } => "missing_attachment",
            Error::Sink { .. } => "sink",
        }
    }

    /// The message in English (the same as `Display`).
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// The message in Vietnamese, for the clerk who receives the package.
    pub fn message_vi(&self) -> String {
        let pre = "Gói edXML không hợp lệ";
        match self {
            Error::TooLarge { size, limit } => format!(
                "{pre}: dung lượng {} vượt quá mức tối đa {} được tiếp nhận.",
                bytes_vi(*size),
                bytes_vi(*limit)
            ),
            Error::NotUtf8 { offset } => format!(
                "{pre}: tệp không phải văn bản mã hóa UTF-8 (byte sai ở vị trí {offset})."
            ),
            Error::Encoding { encoding } => format!(
                "{pre}: tệp khai báo bảng mã \"{encoding}\"; hệ thống chỉ tiếp nhận UTF-8."
            ),
            Error::Forbidden(c) => format!(
                "{pre}: tệp chứa {}, không được phép vì lý do an toàn.",
                c.vi()
            ),
            Error::Entity { name } => format!(
                "{pre}: tệp tham chiếu thực thể \"&{name};\" không được định nghĩa."
            ),
            Error::Malformed { offset, detail } => format!(
                "{pre}: cấu trúc XML sai gần vị trí {offset} ({detail})."
            ),
            Error::TooDeep { limit } => {
                format!("{pre}: các thẻ lồng nhau quá {limit} cấp.")
            }
            Error::TooManyElements { limit } => {
                format!("{pre}: tệp có quá {limit} thẻ.")
            }
            Error::TooManyAttributes { element, limit } => {
                format!("{pre}: thẻ {element} có quá {limit} thuộc tính.")
            }
            Error::TextTooLong { element, limit } => format!(
                "{pre}: nội dung thẻ {element} dài quá {}.",
                bytes_vi(*limit as u64)
            ),
            Error::NotEdxml { root } => format!(
                "Tệp không phải gói edXML (thẻ gốc là \"{root}\")."
            ),
            Error::Missing { field } => format!(
                "{pre}: thiếu thông tin bắt buộc \"{}\" ({field}).",
                field_vi(field)
            ),
            Error::Duplicate { field } => format!(
                "{pre}: thông tin \"{}\" ({field}) xuất hiện nhiều lần.",
                field_vi(field)
            ),
            Error::BadValue { field, value } => format!(
                "{pre}: giá trị \"{value}\" của \"{}\" ({field}) không hợp lệ.",
                field_vi(field)
            ),
            Error::TooManyAttachments { count, limit } => format!(
                "{pre}: gói có {count} tệp đính kèm, vượt quá {limit} tệp."
            ),
            Error::AttachmentTooLarge { name, size, limit } => format!(
                "{pre}: tệp đính kèm \"{name}\" có dung lượng {}, vượt quá mức tối đa {}.",
                bytes_vi(*size),
                bytes_vi(*limit)
            ),
            Error::AttachmentsTooLarge { size, limit } => format!(
                "{pre}: tổng dung lượng tệp đính kèm {} vượt quá mức tối đa {}.",
                bytes_vi(*size),
                bytes_vi(*limit)
            ),
            Error::BadBase64 { name } => format!(
                "{pre}: nội dung tệp đính kèm \"{name}\" không đúng mã hóa base64."
            ),
            Error::MissingAttachment { content_id } => format!(
                "{pre}: danh mục liệt kê tệp đính kèm \"{content_id}\" nhưng gói không chứa tệp này."
            ),
            Error::Sink { name, source } => format!(
                "Lỗi ghi tệp đính kèm \"{name}\": {source}."
            ),
        }
    }
}

/// A size as a Vietnamese clerk reads it ("1,5 MB", "300 byte").
fn bytes_vi(n: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if n >= MB {
        let tenths = n.saturating_mul(10) / MB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{},{} MB", tenths / 10, tenths % 10)
        }
    } else if n >= 1024 {
        format!("{} KB", n / 1024)
    } else {
        format!("{n} byte")
    }
}

/// The Vietnamese name of a field, by its path.
pub fn field_vi(path: &str) -> &'static str {
    let last = path.rsplit('/').next().unwrap_or(path);
    match (path, last) {
        (p, "OrganId") if p.contains("From") => "mã định danh cơ quan gửi",
        (p, "OrganId") if p.contains("To") => "mã định danh cơ quan nhận",
        (p, "OrganName") if p.contains("From") => "tên cơ quan gửi",
        (_, "OrganId") => "mã định danh cơ quan",
        (_, "OrganName") => "tên cơ quan",
        (_, "From") => "cơ quan gửi",
        (_, "To") => "cơ quan nhận",
        (_, "Code") => "số, ký hiệu văn bản",
        (_, "CodeNumber") => "số văn bản",
        (_, "CodeNotation") => "ký hiệu văn bản",
        (_, "PromulgationInfo") => "thông tin ban hành",
        (_, "PromulgationDate") => "ngày ban hành",
        (_, "DocumentType") => "loại văn bản",
        (_, "Type") => "mã loại văn bản",
        (_, "Subject") => "trích yếu nội dung",
        (_, "SteeringType") => "loại chỉ đạo",
        (_, "Priority") => "độ khẩn",
        (_, "PromulgationAmount") => "số lượng bản phát hành",
        (_, "PageAmount") => "số trang",
        (_, "BussinessDocType") => "loại nghiệp vụ văn bản",
        (_, "StatusCode") => "mã trạng thái",
        (_, "Timestamp") => "thời điểm",
        (_, "ResponseFor") => "văn bản được phản hồi",
        (_, "Status") => "thông điệp trạng thái",
        (_, "AttachmentName") => "tên tệp đính kèm",
        (_, "ContentTransferEncoded") => "nội dung tệp đính kèm",
        (_, "edXMLEnvelope") => "phong bì edXML",
        (_, "edXMLHeader") => "phần đầu edXML",
        (_, "MessageHeader") => "thông tin văn bản (MessageHeader)",
        _ => "thông tin của gói",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_both_languages_name_the_field() {
        let e = Error::Missing {
            field: "MessageHeader/From/OrganId",
        };
        assert_eq!(e.code(), "missing_field");
        assert!(e.message_vi().contains("mã định danh cơ quan gửi"));
        assert!(e.message_en().contains("MessageHeader/From/OrganId"));
        let e = Error::AttachmentTooLarge {
            name: "a.pdf".into(),
            size: 1 << 30,
            limit: 100 << 20,
        };
        assert!(e.message_vi().contains("1024 MB"), "{}", e.message_vi());
        assert!(e.message_vi().contains("100 MB"));
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes_vi(300), "300 byte");
        assert_eq!(bytes_vi(3 * 1024 * 1024 / 2), "1,5 MB");
        assert_eq!(bytes_vi(2048), "2 KB");
    }
}
