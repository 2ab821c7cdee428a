//! The edXML envelope (QCVN 102:2016/BTTTT) in which agencies exchange documents through the
//! document axes, and its status messages: the data ([`Envelope`], [`StatusMessage`]), a
//! writer ([`write`], [`write_status`]) and a reader of untrusted packages ([`read`],
//! [`read_streaming`], [`read_from`], [`read_status`]) with explicit [`Limits`] that refuses
//! DTDs, entity declarations and processing instructions. Every refusal is a typed [`Error`]
//! with an English (`Display`) and a Vietnamese ([`Error::message_vi`]) message.
//!
//! A leaf crate: it knows nothing of kyso's documents, database or HTTP. The field-by-field
//! sources and what kyso does when a field is absent are in `docs/edxml.md`.
//!
//! ```
//! use kyso_edxml::{read, write, Attachment, Envelope, Limits};
//! let mut e = Envelope::default();
//! e.header.from.organ_id = "000.00.00.H41".into();
//! e.header.from.organ_name = "Sở Khoa học và Công nghệ".into();
//! e.header.to.push(kyso_edxml::Organization { organ_id: "000.00.00.G11".into(), ..Default::default() });
//! e.header.code.code_number = "12".into();
//! e.header.code.code_notation = "SKHCN-VP".into();
//! e.header.promulgation_info.promulgation_date = "2026/03/15".into();
//! e.header.document_type.type_code = 1;
//! e.header.subject = "V/v triển khai chữ ký số".into();
//! e.attachments.push(Attachment { content_id: "1".into(), name: "cv.pdf".into(),
//!     content_type: "application/pdf".into(), content: b"%PDF-1.7".to_vec(), ..Default::default() });
//! let xml = write(&e);
//! assert_eq!(read(&xml, Limits::default()).unwrap(), e);
//! ```

mod error;
mod model;
mod read;
mod write;

pub use error::{field_vi, Construct, Error};
pub use model::{
    document_id, parse_date, Attachment, Business, Code, DocumentType, Envelope, MessageHeader,
    Organization, OtherInfo, PromulgationInfo, ResponseFor, SignerInfo, StaffInfo, StatusCode,
    StatusMessage, TraceHeader, TraceHeaderList,
};
pub use read::{
    base64_decoded_len, decode_base64_into, read, read_from, read_status, read_streaming, Limits,
};
pub use write::{write, write_status};

/// The edXML namespace (QCVN 102:2016).
pub const NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// The `DocumentType/Type` kyso writes for its administrative documents.
pub const TYPE_ADMINISTRATIVE: u32 = 1;
