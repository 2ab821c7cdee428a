//! The writer: an envelope or a status message as UTF-8 XML.
//!
//! Layout (QCVN 102:2016 as the public implementations write it, `docs/edxml.md`):
//!
//! ```text
//! <edXML xmlns="…QCVN_102_2016" xmlns:edXML="…QCVN_102_2016">
//!   <edXML:edXMLEnvelope>
//!     <edXML:edXMLHeader> MessageHeader, TraceHeaderList </edXML:edXMLHeader>
//!     <edXML:edXMLBody> <edXML:edXMLManifest version="1.0"> Reference… </…> </edXML:edXMLBody>
//!   </edXML:edXMLEnvelope>
//!   <AttachmentEncoded> Attachment… (base64 in ContentTransferEncoded) </AttachmentEncoded>
//! </edXML>
//! ```

use base64::Engine as _;

use crate::model::*;
use crate::NAMESPACE;

/// The xlink namespace of the manifest's references.
const XLINK: &str = "http://www.w3.org/1999/xlink";

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn new() -> Xml {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Xml { out, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.open_with(name, "");
    }

    /// `<name attrs>`; `attrs` is already escaped markup (constants and escaped values).
    fn open_with(&mut self, name: &str, attrs: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name>value</name>`, always (a required field, even empty).
    fn field(&mut self, name: &str, value: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, value, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name>value</name>` when the value is not empty.
    fn opt(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.field(name, value);
        }
    }

    fn num(&mut self, name: &str, value: Option<u32>) {
        if let Some(v) = value {
            self.field(name, &v.to_string());
        }
    }

    fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// Whether XML 1.0 can carry the character at all (its `Char` production).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Escape `s` as XML character data (`attr`: inside a double-quoted attribute). A carriage
/// return is written as `&#13;` so that a reader's end-of-line normalisation keeps it;
/// characters XML 1.0 cannot carry at all (controls other than tab, line feed and carriage
/// return) become U+FFFD.
fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' if attr => out.push_str(if c == '\t' { "&#9;" } else { "&#10;" }),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn escaped_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, true);
    out
}

fn organization(x: &mut Xml, tag: &str, o: &Organization) {
    x.open(tag);
    x.field("edXML:OrganId", &o.organ_id);
    x.opt("edXML:OrganizationInCharge", &o.organization_in_charge);
    x.opt("edXML:OrganName", &o.organ_name);
    x.opt("edXML:OrganAdd", &o.organ_add);
    x.opt("edXML:Email", &o.email);
    x.opt("edXML:Telephone", &o.telephone);
    x.opt("edXML:Fax", &o.fax);
    x.opt("edXML:Website", &o.website);
    x.close(tag);
}

fn response_for(x: &mut Xml, r: &ResponseFor) {
    x.open("edXML:ResponseFor");
    x.field("edXML:OrganId", &r.organ_id);
    x.field("edXML:Code", &r.code);
    x.field("edXML:PromulgationDate", &r.promulgation_date);
    x.opt("edXML:DocumentId", &r.document_id);
    x.close("edXML:ResponseFor");
}

fn staff_info(x: &mut Xml, s: &StaffInfo) {
    x.open("edXML:StaffInfo");
    x.opt("edXML:Department", &s.department);
    x.opt("edXML:Staff", &s.staff);
    x.opt("edXML:Mobile", &s.mobile);
    x.opt("edXML:Email", &s.email);
    x.close("edXML:StaffInfo");
}

fn message_header(x: &mut Xml, h: &MessageHeader) {
    x.open("edXML:MessageHeader");
    organization(x, "edXML:From", &h.from);
    for to in &h.to {
        organization(x, "edXML:To", to);
    }
    x.open("edXML:Code");
    x.field("edXML:CodeNumber", &h.code.code_number);
    x.field("edXML:CodeNotation", &h.code.code_notation);
    x.close("edXML:Code");
    x.open("edXML:PromulgationInfo");
    x.opt("edXML:Place", &h.promulgation_info.place);
    x.field(
        "edXML:PromulgationDate",
        &h.promulgation_info.promulgation_date,
    );
    x.close("edXML:PromulgationInfo");
    x.open("edXML:DocumentType");
    x.field("edXML:Type", &h.document_type.type_code.to_string());
    x.opt("edXML:TypeName", &h.document_type.type_name);
    x.close("edXML:DocumentType");
    x.field("edXML:Subject", &h.subject);
    x.opt("edXML:Content", &h.content);
    let s = &h.signer_info;
    if !(s.competence.is_empty() && s.position.is_empty() && s.full_name.is_empty()) {
        x.open("edXML:SignerInfo");
        x.opt("edXML:Competence", &s.competence);
        x.opt("edXML:Position", &s.position);
        x.opt("edXML:FullName", &s.full_name);
        x.close("edXML:SignerInfo");
    }
    x.opt("edXML:DueDate", &h.due_date);
    if !h.to_places.is_empty() {
        x.open("edXML:ToPlaces");
        for p in &h.to_places {
            x.field("edXML:Place", p);
        }
        x.close("edXML:ToPlaces");
    }
    let o = &h.other_info;
    if *o != OtherInfo::default() {
        x.open("edXML:OtherInfo");
        x.num("edXML:Priority", o.priority);
        x.opt("edXML:SphereOfPromulgation", &o.sphere_of_promulgation);
        x.opt("edXML:TyperNotation", &o.typer_notation);
        x.num("edXML:PromulgationAmount", o.promulgation_amount);
        x.num("edXML:PageAmount", o.page_amount);
        if !o.appendixes.is_empty() {
            x.open("edXML:Appendixes");
            for a in &o.appendixes {
                x.field("edXML:Appendix", a);
            }
            x.close("edXML:Appendixes");
        }
        x.close("edXML:OtherInfo");
    }
    for r in &h.response_for {
        response_for(x, r);
    }
    x.num("edXML:SteeringType", h.steering_type);
    x.opt("edXML:DocumentId", &h.document_id);
    x.close("edXML:MessageHeader");
}

fn trace(x: &mut Xml, t: &TraceHeaderList) {
    if t.trace_headers.is_empty() && t.business.is_none() {
        return;
    }
    x.open("edXML:TraceHeaderList");
    for h in &t.trace_headers {
        x.open("edXML:TraceHeader");
        x.field("edXML:OrganId", &h.organ_id);
        x.opt("edXML:Timestamp", &h.timestamp);
        x.close("edXML:TraceHeader");
    }
    if let Some(b) = &t.business {
        x.open("edXML:Bussiness");
        x.field("edXML:BussinessDocType", &b.business_doc_type.to_string());
        x.opt("edXML:BussinessDocReason", &b.business_doc_reason);
        x.opt("edXML:DocumentId", &b.document_id);
        for s in &b.staff_info {
            staff_info(x, s);
        }
        x.opt("edXML:Paper", &b.paper);
        x.close("edXML:Bussiness");
    }
    x.close("edXML:TraceHeaderList");
}

fn root_attrs() -> String {
    format!(" xmlns=\"{NAMESPACE}\" xmlns:edXML=\"{NAMESPACE}\"")
}

/// The envelope as UTF-8 XML. Attachments are base64 (standard alphabet, padded, one line)
/// inside `AttachmentEncoded`, each listed in the body's manifest by its content id.
pub fn write(envelope: &Envelope) -> Vec<u8> {
    let mut x = Xml::new();
    x.open_with("edXML", &root_attrs());
    x.open("edXML:edXMLEnvelope");
    x.open("edXML:edXMLHeader");
    message_header(&mut x, &envelope.header);
    trace(&mut x, &envelope.trace);
    x.close("edXML:edXMLHeader");
    x.open("edXML:edXMLBody");
    x.open_with("edXML:edXMLManifest", " version=\"1.0\"");
    for a in &envelope.attachments {
        let cid = format!("cid:{}", a.content_id);
        x.open_with(
            "edXML:Reference",
            &format!(
                " xmlns:xlink=\"{XLINK}\" xlink:href=\"{}\" xlink:role=\"XLinkRole\" \
                 xlink:type=\"simple\"",
                escaped_attr(&cid)
            ),
        );
        x.opt("edXML:Description", &a.description);
        x.field("edXML:AttachmentName", &a.name);
        x.field("edXML:ContentType", &a.content_type);
        x.field("edXML:ContentId", &cid);
        x.close("edXML:Reference");
    }
    x.close("edXML:edXMLManifest");
    x.close("edXML:edXMLBody");
    x.close("edXML:edXMLEnvelope");
    if !envelope.attachments.is_empty() {
        x.open("AttachmentEncoded");
        for a in &envelope.attachments {
            x.open("Attachment");
            x.field("ContentType", &a.content_type);
            x.field("ContentId", &a.content_id);
            x.opt("Description", &a.description);
            x.indent();
            x.out.push_str("<ContentTransferEncoded>");
            base64::engine::general_purpose::STANDARD.encode_string(&a.content, &mut x.out);
            x.out.push_str("</ContentTransferEncoded>\n");
            x.field("AttachmentName", &a.name);
            x.close("Attachment");
        }
        x.close("AttachmentEncoded");
    }
    x.close("edXML");
    x.finish()
}

/// The status message as UTF-8 XML: `edXML/edXMLEnvelope/edXMLHeader/Status`.
pub fn write_status(status: &StatusMessage) -> Vec<u8> {
    let mut x = Xml::new();
    x.open_with("edXML", &root_attrs());
    x.open("edXML:edXMLEnvelope");
    x.open("edXML:edXMLHeader");
    x.open("edXML:Status");
    response_for(&mut x, &status.response_for);
    organization(&mut x, "edXML:From", &status.from);
    x.field("edXML:StatusCode", &status.status_code.as_xml());
    x.opt("edXML:Description", &status.description);
    x.field("edXML:Timestamp", &status.timestamp);
    if status.staff_info != StaffInfo::default() {
        staff_info(&mut x, &status.staff_info);
    }
    x.close("edXML:Status");
    x.close("edXML:edXMLHeader");
    x.close("edXML:edXMLEnvelope");
    x.close("edXML");
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_carriage_returns_kept() {
        let mut s = String::new();
        escape_into(&mut s, "a<b>&c\r\n\u{1}\"", false);
        assert_eq!(s, "a&lt;b&gt;&amp;c&#13;\n\u{FFFD}\"");
        assert_eq!(escaped_attr("x\"y"), "x&quot;y");
    }

    #[test]
    fn empty_optional_fields_are_left_out() {
        let e = Envelope::default();
        let xml = String::from_utf8(write(&e)).unwrap_or_default();
        assert!(xml.contains("<edXML:Subject></edXML:Subject>"));
        assert!(!xml.contains("OtherInfo"));
        assert!(!xml.contains("AttachmentEncoded"));
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns="));
    }
}
