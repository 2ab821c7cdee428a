//! Outgoing documents (văn bản đi) under Decree 30/2020/NĐ-CP: their metadata, number and
//! notation, the flow from draft to dispatch as a state machine with the role each step needs,
//! delegated signing (KT./TL./TUQ.), and copies (SAO Y / SAO LỤC / TRÍCH SAO).
//!
//! Pure rules, no I/O: `kyso-store` persists documents, registers, numbers and the timeline;
//! the PDF side (form fields, signatures) is `kyso-pades`'s.
//!
//! - [`meta`]: the Decree 30 fields (type with its abbreviation, subject, place, signer block,
//!   recipients by identifier code, urgency, confidentiality — secret documents are refused,
//!   NA-4.1 —, page count, attachments) and their checks.
//! - [`number`]: number and notation ("Số: 12/QĐ-UBND"), the yearly series and copy numbers.
//! - [`flow`]: the states, the actions, the transitions and who may take each one.

pub mod flow;
pub mod meta;
pub mod number;

pub use flow::{next_state, step, DocAction, DocState, Duty, FlowError, Reach};
pub use meta::{
    Attachment, CopyForm, DocType, DocumentMeta, MetaError, Secrecy, SignAuthority, SignerBlock,
    Urgency,
};
pub use number::{
    date_line, number_text, parse_number_line, series_year, vietnam_date, CopyNotation, Notation,
    NotationError,
};
