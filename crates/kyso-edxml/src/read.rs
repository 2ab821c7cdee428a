//! The reader: a bounded parse of untrusted bytes into a small tree, then the envelope or the
//! status message taken from it.
//!
//! Safety, in order: the size is checked before anything is parsed; the bytes must be UTF-8;
//! quick-xml reads them with no DTD support at all, and the reader refuses a `<!DOCTYPE`
//! outright (so neither entity expansion — billion laughs — nor external entities can happen),
//! refuses processing instructions, and resolves only the five predefined entities and
//! character references. Depth, element count, attributes per element and text length are
//! capped while parsing; the attachments' count and sizes are checked from the length of their
//! base64 text before any of them is decoded.

use std::borrow::Cow;
use std::io::{Read, Write};

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::{Construct, Error};
use crate::model::*;

/// The reader's limits. [`Limits::default`] fits kyso's documents (64 MB files) and the
/// 100 MB attachment of issue 18 with room for base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest package, in bytes (checked before parsing).
    pub max_total: u64,
    /// Deepest element nesting (the envelope needs 6).
    pub max_depth: usize,
    /// Most elements in the package.
    pub max_elements: usize,
    /// Most attributes on one element.
    pub max_attributes: usize,
    /// Longest text of a header field, in bytes (attachments' base64 is bounded by
    /// `max_attachment` instead).
    pub max_text: usize,
    /// Most attachments.
    pub max_attachments: usize,
    /// Largest attachment once decoded, in bytes.
    pub max_attachment: u64,
    /// Largest sum of the decoded attachments, in bytes.
    pub max_attachments_total: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_total: 200 * 1024 * 1024,
            max_depth: 32,
            max_elements: 100_000,
            max_attributes: 16,
            max_text: 64 * 1024,
            max_attachments: 200,
            max_attachment: 100 * 1024 * 1024,
            max_attachments_total: 140 * 1024 * 1024,
        }
    }
}

/// One element: its local name (prefix dropped), its text and its child elements.
#[derive(Debug)]
struct Node<'a> {
    name: String,
    text: Cow<'a, str>,
    children: Vec<Node<'a>>,
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

/// Whether XML 1.0 allows the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

impl<'a> Node<'a> {
    fn push_text(&mut self, s: Cow<'a, str>, limits: &Limits) -> Result<(), Error> {
        let limit = if self.name == "ContentTransferEncoded" {
            usize::try_from(limits.max_total).unwrap_or(usize::MAX)
        } else {
            limits.max_text
        };
        if self.text.len().saturating_add(s.len()) > limit {
            return Err(Error::TextTooLong {
                element: self.name.clone(),
                limit,
            });
        }
        if !s.chars().all(xml_char) {
            return Err(Error::Malformed {
                offset: 0,
                detail: format!("a character XML does not allow in element {}", self.name),
            });
        }
        if self.text.is_empty() {
            self.text = s;
        } else {
            self.text.to_mut().push_str(&s);
        }
        Ok(())
    }

    fn all<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s Node<'a>> + use<'s, 'n, 'a> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child `name`, if present once; refused if present twice.
    fn one<'s>(&'s self, name: &str, path: &'static str) -> Result<Option<&'s Node<'a>>, Error> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(Error::Duplicate { field: path });
        }
        Ok(first)
    }

    fn need<'s>(&'s self, name: &str, path: &'static str) -> Result<&'s Node<'a>, Error> {
        self.one(name, path)?.ok_or(Error::Missing { field: path })
    }

    /// The text of child `name`; empty when absent.
    fn text(&self, name: &str, path: &'static str) -> Result<String, Error> {
        Ok(self
            .one(name, path)?
            .map(|n| n.text.clone().into_owned())
            .unwrap_or_default())
    }

    /// The text of child `name`, which must be present and not blank.
    fn required(&self, name: &str, path: &'static str) -> Result<String, Error> {
        let t = self.text(name, path)?;
        if t.trim().is_empty() {
            return Err(Error::Missing { field: path });
        }
        Ok(t)
    }

    /// The number in child `name` (surrounding white space allowed); `None` when absent or
    /// empty.
    fn number(&self, name: &str, path: &'static str) -> Result<Option<u32>, Error> {
        let t = self.text(name, path)?;
        let t = t.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(path, t));
        }
        t.parse().map(Some).map_err(|_| bad(path, t))
    }
}

fn bad(field: &'static str, value: &str) -> Error {
    Error::BadValue {
        field,
        value: value.chars().take(64).collect(),
    }
}

/// Parse `input` into its root element within `limits`.
fn parse_tree<'a>(input: &'a [u8], limits: &Limits) -> Result<Node<'a>, Error> {
    let size = input.len() as u64;
    if size > limits.max_total {
        return Err(Error::TooLarge {
            size,
            limit: limits.max_total,
        });
    }
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(body).map_err(|e| Error::NotUtf8 {
        offset: (e.valid_up_to() + input.len() - body.len()) as u64,
    })?;
    let mut reader = Reader::from_str(text);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.check_comments = true;
        c.expand_empty_elements = false;
        c.trim_text_start = false;
        c.trim_text_end = false;
        c.allow_dangling_amp = false;
        c.allow_unmatched_ends = false;
    }
    let mut stack: Vec<Node<'a>> = Vec::new();
    let mut root: Option<Node<'a>> = None;
    let mut elements = 0usize;
    let mut first = true;
    loop {
        let event = reader.read_event().map_err(|e| Error::Malformed {
            offset: reader.error_position(),
            detail: e.to_string(),
        })?;
        let at_start = std::mem::replace(&mut first, false);
        let start = match event {
            Event::Eof => break,
            Event::Decl(d) => {
                if !at_start {
                    return Err(Error::Forbidden(Construct::LateDeclaration));
                }
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|e| Error::Malformed {
                        offset: 0,
                        detail: e.to_string(),
                    })?;
                    let enc = enc.into_owned();
                    if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                        return Err(Error::Encoding { encoding: enc });
                    }
                }
                continue;
            }
            Event::DocType(_) => return Err(Error::Forbidden(Construct::Doctype)),
            Event::PI(_) => return Err(Error::Forbidden(Construct::ProcessingInstruction)),
            Event::Comment(_) => continue,
            Event::Text(t) => {
                let s = t.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.push_text(s, limits)?,
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed(&reader, "text outside the root element")),
                }
                continue;
            }
            Event::CData(t) => {
                let s = t.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.push_text(s, limits)?,
                    None => return Err(malformed(&reader, "CDATA outside the root element")),
                }
                continue;
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) if xml_char(c) => c,
                    Ok(Some(_)) | Err(_) => {
                        return Err(malformed(&reader, "invalid character reference"))
                    }
                    Ok(None) => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        name => {
                            return Err(Error::Entity {
                                name: name.chars().take(64).collect(),
                            })
                        }
                    },
                };
                match stack.last_mut() {
                    Some(top) => top.push_text(Cow::Owned(c.to_string()), limits)?,
                    None => return Err(malformed(&reader, "reference outside the root element")),
                }
                continue;
            }
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(malformed(&reader, "end tag without a start"));
                };
                attach(&mut stack, &mut root, node, &reader)?;
                continue;
            }
        };
        let (e, open) = start;
        if root.is_some() {
            return Err(malformed(&reader, "a second root element"));
        }
        if stack.len() >= limits.max_depth {
            return Err(Error::TooDeep {
                limit: limits.max_depth,
            });
        }
        elements += 1;
        if elements > limits.max_elements {
            return Err(Error::TooManyElements {
                limit: limits.max_elements,
            });
        }
        let name = local(e.name().as_ref());
        let mut count = 0usize;
        for a in e.attributes().with_checks(true) {
            a.map_err(|err| malformed(&reader, &err.to_string()))?;
            count += 1;
            if count > limits.max_attributes {
                return Err(Error::TooManyAttributes {
                    element: name,
                    limit: limits.max_attributes,
                });
            }
        }
        let node = Node {
            name,
            text: Cow::Borrowed(""),
            children: Vec::new(),
        };
        if open {
            stack.push(node);
        } else {
            attach(&mut stack, &mut root, node, &reader)?;
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "the document ends inside an element"));
    }
    root.ok_or_else(|| malformed(&reader, "no root element"))
}

fn malformed(reader: &Reader<&[u8]>, detail: &str) -> Error {
    Error::Malformed {
        offset: reader.buffer_position(),
        detail: detail.to_owned(),
    }
}

fn attach<'a>(
    stack: &mut [Node<'a>],
    root: &mut Option<Node<'a>>,
    node: Node<'a>,
    reader: &Reader<&[u8]>,
) -> Result<(), Error> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err(malformed(reader, "a second root element")),
    }
    Ok(())
}

fn organization(
    n: &Node,
    path_id: &'static str,
    path_name: Option<&'static str>,
) -> Result<Organization, Error> {
    Ok(Organization {
        organ_id: n.required("OrganId", path_id)?,
        organization_in_charge: n.text("OrganizationInCharge", "OrganizationInCharge")?,
        organ_name: match path_name {
            Some(p) => n.required("OrganName", p)?,
            None => n.text("OrganName", "OrganName")?,
        },
        organ_add: n.text("OrganAdd", "OrganAdd")?,
        email: n.text("Email", "Email")?,
        telephone: n.text("Telephone", "Telephone")?,
        fax: n.text("Fax", "Fax")?,
        website: n.text("Website", "Website")?,
    })
}

fn response_for(n: &Node, required: bool) -> Result<ResponseFor, Error> {
    let (id, code, date) = (
        "ResponseFor/OrganId",
        "ResponseFor/Code",
        "ResponseFor/PromulgationDate",
    );
    let get = |name, path| {
        if required {
            n.required(name, path)
        } else {
            n.text(name, path)
        }
    };
    Ok(ResponseFor {
        organ_id: get("OrganId", id)?,
        code: get("Code", code)?,
        promulgation_date: get("PromulgationDate", date)?,
        document_id: n.text("DocumentId", "ResponseFor/DocumentId")?,
    })
}

fn staff_info(n: &Node) -> Result<StaffInfo, Error> {
    Ok(StaffInfo {
        department: n.text("Department", "StaffInfo/Department")?,
        staff: n.text("Staff", "StaffInfo/Staff")?,
        mobile: n.text("Mobile", "StaffInfo/Mobile")?,
        email: n.text("Email", "StaffInfo/Email")?,
    })
}

fn message_header(mh: &Node) -> Result<MessageHeader, Error> {
    let from = organization(
        mh.need("From", "MessageHeader/From")?,
        "MessageHeader/From/OrganId",
        Some("MessageHeader/From/OrganName"),
    )?;
    let to = mh
        .all("To")
        .map(|t| organization(t, "MessageHeader/To/OrganId", None))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(Error::Missing {
            field: "MessageHeader/To",
        });
    }
    let code = mh.need("Code", "MessageHeader/Code")?;
    let code = Code {
        code_number: code.required("CodeNumber", "MessageHeader/Code/CodeNumber")?,
        code_notation: code.required("CodeNotation", "MessageHeader/Code/CodeNotation")?,
    };
    let pi = mh.need("PromulgationInfo", "MessageHeader/PromulgationInfo")?;
    let promulgation_info = PromulgationInfo {
        place: pi.text("Place", "MessageHeader/PromulgationInfo/Place")?,
        promulgation_date: pi.required(
            "PromulgationDate",
            "MessageHeader/PromulgationInfo/PromulgationDate",
        )?,
    };
    let dt = mh.need("DocumentType", "MessageHeader/DocumentType")?;
    let document_type = DocumentType {
        type_code: dt
            .number("Type", "MessageHeader/DocumentType/Type")?
            .ok_or(Error::Missing {
                field: "MessageHeader/DocumentType/Type",
            })?,
        type_name: dt.text("TypeName", "MessageHeader/DocumentType/TypeName")?,
    };
    let signer_info = match mh.one("SignerInfo", "MessageHeader/SignerInfo")? {
        Some(s) => SignerInfo {
            competence: s.text("Competence", "SignerInfo/Competence")?,
            position: s.text("Position", "SignerInfo/Position")?,
            full_name: s.text("FullName", "SignerInfo/FullName")?,
        },
        None => SignerInfo::default(),
    };
    let to_places = match mh.one("ToPlaces", "MessageHeader/ToPlaces")? {
        Some(p) => p
            .all("Place")
            .map(|n| n.text.clone().into_owned())
            .collect(),
        None => Vec::new(),
    };
    let other_info = match mh.one("OtherInfo", "MessageHeader/OtherInfo")? {
        Some(o) => OtherInfo {
            priority: o.number("Priority", "MessageHeader/OtherInfo/Priority")?,
            sphere_of_promulgation: o
                .text("SphereOfPromulgation", "OtherInfo/SphereOfPromulgation")?,
            typer_notation: o.text("TyperNotation", "OtherInfo/TyperNotation")?,
            promulgation_amount: o.number(
                "PromulgationAmount",
                "MessageHeader/OtherInfo/PromulgationAmount",
            )?,
            page_amount: o.number("PageAmount", "MessageHeader/OtherInfo/PageAmount")?,
            appendixes: match o.one("Appendixes", "OtherInfo/Appendixes")? {
                Some(a) => a
                    .all("Appendix")
                    .map(|n| n.text.clone().into_owned())
                    .collect(),
                None => Vec::new(),
            },
        },
        None => OtherInfo::default(),
    };
    let response_for = mh
        .all("ResponseFor")
        .map(|r| response_for(r, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MessageHeader {
        from,
        to,
        code,
        promulgation_info,
        document_type,
        subject: mh.required("Subject", "MessageHeader/Subject")?,
        content: mh.text("Content", "MessageHeader/Content")?,
        signer_info,
        due_date: mh.text("DueDate", "MessageHeader/DueDate")?,
        to_places,
        other_info,
        response_for,
        steering_type: mh.number("SteeringType", "MessageHeader/SteeringType")?,
        document_id: mh.text("DocumentId", "MessageHeader/DocumentId")?,
    })
}

fn trace(n: &Node) -> Result<TraceHeaderList, Error> {
    let trace_headers = n
        .all("TraceHeader")
        .map(|t| {
            Ok(TraceHeader {
                organ_id: t.text("OrganId", "TraceHeader/OrganId")?,
                timestamp: t.text("Timestamp", "TraceHeader/Timestamp")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let business = match n.one("Bussiness", "TraceHeaderList/Bussiness")? {
        Some(b) => Some(Business {
            business_doc_type: b
                .number(
                    "BussinessDocType",
                    "TraceHeaderList/Bussiness/BussinessDocType",
                )?
                .unwrap_or(0),
            business_doc_reason: b.text("BussinessDocReason", "Bussiness/BussinessDocReason")?,
            document_id: b.text("DocumentId", "Bussiness/DocumentId")?,
            staff_info: b
                .all("StaffInfo")
                .map(staff_info)
                .collect::<Result<_, _>>()?,
            paper: b.text("Paper", "Bussiness/Paper")?,
        }),
        None => None,
    };
    Ok(TraceHeaderList {
        trace_headers,
        business,
    })
}

fn strip_cid(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix("cid:").unwrap_or(s)
}

fn is_b64_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The number of bytes base64 text decodes to, from its length (white space aside), without
/// decoding it; an upper bound when the text is not valid base64.
pub fn base64_decoded_len(encoded: &[u8]) -> u64 {
    let mut chars = 0u64;
    let mut pad = 0u64;
    for &b in encoded {
        if is_b64_space(b) {
            continue;
        }
        chars += 1;
        if b == b'=' {
            pad += 1;
        }
    }
    (chars / 4 * 3).saturating_sub(pad.min(2))
}

/// Decode base64 text (standard alphabet, padded; ASCII white space anywhere is skipped, as
/// line-wrapped MIME base64 has it) into `out`, in chunks, never holding more than 12 KiB of
/// the result: a large attachment goes to a file without a copy in memory. Refuses more than
/// `max` decoded bytes. Returns the number of bytes written.
pub fn decode_base64_into<W: Write + ?Sized>(
    encoded: &[u8],
    out: &mut W,
    max: u64,
    name: &str,
) -> Result<u64, Error> {
    const CHUNK: usize = 16 * 1024;
    let engine = &base64::engine::general_purpose::STANDARD;
    let bad = || Error::BadBase64 {
        name: name.to_owned(),
    };
    let mut buf = Vec::with_capacity(CHUNK);
    let mut decoded = vec![0u8; CHUNK / 4 * 3];
    let mut written = 0u64;
    let mut padded = false;
    let mut flush = |buf: &mut Vec<u8>, written: &mut u64| -> Result<(), Error> {
        if buf.is_empty() {
            return Ok(());
        }
        let n = engine
            .decode_slice(&buf[..], &mut decoded[..])
            .map_err(|_| bad())?;
        *written += n as u64;
        if *written > max {
            return Err(Error::AttachmentTooLarge {
                name: name.to_owned(),
                size: *written,
                limit: max,
            });
        }
        out.write_all(decoded.get(..n).unwrap_or_default())
            .map_err(|source| Error::Sink {
                name: name.to_owned(),
                source,
            })?;
        buf.clear();
        Ok(())
    };
    for &b in encoded {
        if is_b64_space(b) {
            continue;
        }
        if padded && b != b'=' {
            return Err(bad());
        }
        padded |= b == b'=';
        buf.push(b);
        if buf.len() == CHUNK {
            flush(&mut buf, &mut written)?;
        }
    }
    if !buf.len().is_multiple_of(4) {
        return Err(bad());
    }
    flush(&mut buf, &mut written)?;
    Ok(written)
}

/// An attachment found in the package, before its content is decoded.
struct Found<'t> {
    meta: Attachment,
    encoded: &'t [u8],
    size: u64,
}

fn attachments<'t>(
    root: &'t Node<'_>,
    env: &Node<'_>,
    limits: &Limits,
) -> Result<Vec<Found<'t>>, Error> {
    let mut manifest: Vec<(String, String, String, String)> = Vec::new();
    if let Some(body) = env.one("edXMLBody", "edXMLBody")? {
        if let Some(m) = body.one("edXMLManifest", "edXMLBody/edXMLManifest")? {
            for r in m.all("Reference") {
                manifest.push((
                    strip_cid(&r.text("ContentId", "Reference/ContentId")?).to_owned(),
                    r.text("ContentType", "Reference/ContentType")?,
                    r.text("Description", "Reference/Description")?,
                    r.text("AttachmentName", "Reference/AttachmentName")?,
                ));
            }
        }
    }
    let list: Vec<&Node> = match root.one("AttachmentEncoded", "AttachmentEncoded")? {
        Some(a) => a.all("Attachment").collect(),
        None => Vec::new(),
    };
    if list.len() > limits.max_attachments || manifest.len() > limits.max_attachments {
        return Err(Error::TooManyAttachments {
            count: list.len().max(manifest.len()),
            limit: limits.max_attachments,
        });
    }
    let mut found = Vec::with_capacity(list.len());
    let mut total = 0u64;
    for a in list {
        let content_id = strip_cid(&a.text("ContentId", "Attachment/ContentId")?).to_owned();
        let listed = manifest
            .iter()
            .find(|m| !content_id.is_empty() && m.0 == content_id);
        let or_listed = |own: String, pick: fn(&(String, String, String, String)) -> &String| {
            if own.is_empty() {
                listed.map(|m| pick(m).clone()).unwrap_or_default()
            } else {
                own
            }
        };
        let name = or_listed(
            a.text("AttachmentName", "Attachment/AttachmentName")?,
            |m| &m.3,
        );
        if name.trim().is_empty() {
            return Err(Error::Missing {
                field: "AttachmentEncoded/Attachment/AttachmentName",
            });
        }
        let content = a
            .one(
                "ContentTransferEncoded",
                "Attachment/ContentTransferEncoded",
            )?
            .ok_or(Error::Missing {
                field: "AttachmentEncoded/Attachment/ContentTransferEncoded",
            })?;
        let encoded = content.text.as_bytes();
        let size = base64_decoded_len(encoded);
        if size > limits.max_attachment {
            return Err(Error::AttachmentTooLarge {
                name,
                size,
                limit: limits.max_attachment,
            });
        }
        total = total.saturating_add(size);
        if total > limits.max_attachments_total {
            return Err(Error::AttachmentsTooLarge {
                size: total,
                limit: limits.max_attachments_total,
            });
        }
        found.push(Found {
            meta: Attachment {
                content_type: or_listed(a.text("ContentType", "Attachment/ContentType")?, |m| &m.1),
                description: or_listed(a.text("Description", "Attachment/Description")?, |m| &m.2),
                content_id,
                name,
                content: Vec::new(),
            },
            encoded,
            size,
        });
    }
    for (cid, ..) in &manifest {
        if !found.iter().any(|f| &f.meta.content_id == cid) {
            return Err(Error::MissingAttachment {
                content_id: cid.clone(),
            });
        }
    }
    Ok(found)
}

/// Read an envelope, decoding each attachment into the writer `open` returns for it (given
/// its index and its metadata, `content` empty): a large file goes to disk without a copy in
/// memory. The envelope returned has every attachment's metadata and an empty `content`.
/// The whole package is checked (structure, required fields, sizes) before `open` is called
/// the first time; a base64 error in a later attachment can still come after earlier ones were
/// written, so the caller discards what it wrote when this returns an error.
pub fn read_streaming<W, F>(input: &[u8], limits: Limits, mut open: F) -> Result<Envelope, Error>
where
    W: Write,
    F: FnMut(usize, &Attachment) -> std::io::Result<W>,
{
    let root = parse_tree(input, &limits)?;
    let (header, trace, found) = envelope_parts(&root, &limits)?;
    let mut attachments = Vec::with_capacity(found.len());
    for (i, f) in found.into_iter().enumerate() {
        let mut w = open(i, &f.meta).map_err(|source| Error::Sink {
            name: f.meta.name.clone(),
            source,
        })?;
        decode_base64_into(f.encoded, &mut w, f.size, &f.meta.name)?;
        w.flush().map_err(|source| Error::Sink {
            name: f.meta.name.clone(),
            source,
        })?;
        attachments.push(f.meta);
    }
    Ok(Envelope {
        header,
        trace,
        attachments,
    })
}

#[allow(clippy::type_complexity)]
fn envelope_parts<'t>(
    root: &'t Node<'_>,
    limits: &Limits,
) -> Result<(MessageHeader, TraceHeaderList, Vec<Found<'t>>), Error> {
    if root.name != "edXML" {
        return Err(Error::NotEdxml {
            root: root.name.chars().take(64).collect(),
        });
    }
    let env = root.need("edXMLEnvelope", "edXMLEnvelope")?;
    let head = env.need("edXMLHeader", "edXMLEnvelope/edXMLHeader")?;
    let header = message_header(head.need("MessageHeader", "edXMLHeader/MessageHeader")?)?;
    let trace = match head.one("TraceHeaderList", "edXMLHeader/TraceHeaderList")? {
        Some(t) => trace(t)?,
        None => TraceHeaderList::default(),
    };
    let found = attachments(root, env, limits)?;
    Ok((header, trace, found))
}

/// Read an envelope from untrusted bytes, within `limits`; the attachments are decoded into
/// memory (see [`read_streaming`] for large files).
///
/// Required (else [`Error::Missing`]): `From/OrganId`, `From/OrganName`, at least one `To`
/// with its `OrganId`, `Code/CodeNumber`, `Code/CodeNotation`,
/// `PromulgationInfo/PromulgationDate`, `DocumentType/Type` (a number), `Subject`, and for each
/// attachment its name and content; every reference of the manifest must be carried.
/// Everything else may be absent (empty strings, `None`, empty lists). Elements kyso does not
/// know (the XML signature, `BussinessDocumentInfo`, `ReplacementInfoList`…) are skipped.
pub fn read(input: &[u8], limits: Limits) -> Result<Envelope, Error> {
    let root = parse_tree(input, &limits)?;
    let (header, trace, found) = envelope_parts(&root, &limits)?;
    let mut attachments = Vec::with_capacity(found.len());
    for f in found {
        let mut meta = f.meta;
        let mut content = Vec::with_capacity(usize::try_from(f.size).unwrap_or(0));
        decode_base64_into(f.encoded, &mut content, f.size, &meta.name)?;
        meta.content = content;
        attachments.push(meta);
    }
    Ok(Envelope {
        header,
        trace,
        attachments,
    })
}

/// Read a package from a stream (an upload), taking at most `limits.max_total` bytes: a
/// larger one (an attachment declared at 1 GB) is refused after that many bytes, never held
/// whole.
pub fn read_from<R: Read>(input: R, limits: Limits) -> std::io::Result<Result<Envelope, Error>> {
    Ok(bounded(input, &limits)?.and_then(|bytes| read(&bytes, limits)))
}

fn bounded<R: Read>(input: R, limits: &Limits) -> std::io::Result<Result<Vec<u8>, Error>> {
    let mut bytes = Vec::new();
    input
        .take(limits.max_total.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits.max_total {
        return Ok(Err(Error::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_total,
        }));
    }
    Ok(Ok(bytes))
}

/// Read a status message from untrusted bytes, within `limits`. Accepts
/// `edXML/edXMLEnvelope/edXMLHeader/Status` (what [`crate::write_status`] writes) and the SOAP
/// form `Envelope/Header/Status` some systems send. Required: `ResponseFor/OrganId`,
/// `ResponseFor/Code`, `ResponseFor/PromulgationDate`, `From/OrganId`, `StatusCode` (01–16)
/// and `Timestamp`.
pub fn read_status(input: &[u8], limits: Limits) -> Result<StatusMessage, Error> {
    let root = parse_tree(input, &limits)?;
    let status = match root.name.as_str() {
        "edXML" => root
            .need("edXMLEnvelope", "edXMLEnvelope")?
            .need("edXMLHeader", "edXMLEnvelope/edXMLHeader")?
            .need("Status", "edXMLHeader/Status")?,
        "Envelope" => root
            .need("Header", "Envelope/Header")?
            .need("Status", "Header/Status")?,
        other => {
            return Err(Error::NotEdxml {
                root: other.chars().take(64).collect(),
            })
        }
    };
    let code_text = status.required("StatusCode", "Status/StatusCode")?;
    let code = code_text
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|_| code_text.trim().bytes().all(|b| b.is_ascii_digit()))
        .and_then(StatusCode::from_number)
        .ok_or_else(|| bad("Status/StatusCode", code_text.trim()))?;
    Ok(StatusMessage {
        response_for: response_for(status.need("ResponseFor", "Status/ResponseFor")?, true)?,
        from: organization(
            status.need("From", "Status/From")?,
            "Status/From/OrganId",
            None,
        )?,
        status_code: code,
        description: status.text("Description", "Status/Description")?,
        timestamp: status.required("Timestamp", "Status/Timestamp")?,
        staff_info: match status.one("StaffInfo", "Status/StaffInfo")? {
            Some(s) => staff_info(s)?,
            None => StaffInfo::default(),
        },
    })
}
