//! Is an XMP metadata stream well-formed? The check pyHanko makes before it allows a `/Metadata`
//! update after a signature (its `MetadataUpdateRule`: lxml parses the stream as UTF-8 without
//! resolving entities, refuses entities, and wants `x:xmpmeta` in `adobe:ns:meta/` as the root).
//!
//! A small, bounded, non-recursive checker of XML 1.0 well-formedness with Namespaces 1.0 — the
//! subset XMP needs, not an XML parser: it builds nothing and answers yes or no with the first
//! problem. What it checks: UTF-8 and XML characters; one root element, properly nested and
//! matched end tags; attribute syntax, quoting and uniqueness (by qualified and by expanded
//! name); references (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;` and character references to XML
//! characters — no other entity can be declared, see below); comments, processing instructions,
//! CDATA sections, the XML declaration; every prefix declared in scope (`xml` is predefined).
//! Stricter than lxml on purpose: a document type declaration is refused (XMP has none, and a
//! DTD is where entities come from). Nesting depth and attributes per element are limited.
//! Why not a crate: see ARCHITECTURE.md ("XMP well-formedness").

use std::fmt;

/// Deepest element nesting accepted (real XMP nests a handful of levels).
pub const MAX_DEPTH: usize = 256;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 1024;

const XMP_META_NS: &[u8] = b"adobe:ns:meta/";
const XML_NS: &[u8] = b"http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// Why a metadata stream is not well-formed XMP, and where (byte offset in the stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub offset: usize,
    pub what: &'static str,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.what, self.offset)
    }
}

impl std::error::Error for XmlError {}

/// Check that `data` is well-formed XML whose root element is `xmpmeta` in `adobe:ns:meta/`.
pub fn check_xmp(data: &[u8]) -> Result<(), XmlError> {
    let root_ns = check_xml(data)?;
    if root_ns.0 != XMP_META_NS || root_ns.1 != b"xmpmeta" {
        return Err(XmlError {
            offset: 0,
            what: "the root element is not x:xmpmeta (adobe:ns:meta/)",
        });
    }
    Ok(())
}

/// Check that `data` is well-formed namespace-aware XML; return the root element's namespace
/// and local name.
pub fn check_xml(data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), XmlError> {
    let text = std::str::from_utf8(data).map_err(|e| XmlError {
        offset: e.valid_up_to(),
        what: "not UTF-8",
    })?;
    if let Some(pos) = text.chars().position(|c| !is_xml_char(c)) {
        let offset = text.char_indices().nth(pos).map_or(0, |(i, _)| i);
        return Err(XmlError {
            offset,
            what: "a character XML does not allow",
        });
    }
    let mut p = Parser {
        d: data,
        pos: 0,
        ns: Vec::new(),
        open: Vec::new(),
    };
    // A byte-order mark may precede everything.
    if data.starts_with(b"\xEF\xBB\xBF") {
        p.pos = 3;
    }
    p.run()
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Parser<'a> {
    d: &'a [u8],
    pos: usize,
    /// Namespace declarations in scope: (prefix, URI, depth of the element declaring it); the
    /// empty prefix is the default namespace.
    ns: Vec<(&'a [u8], Vec<u8>, usize)>,
    /// Names of the open elements.
    open: Vec<&'a [u8]>,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, what: &'static str) -> Result<T, XmlError> {
        Err(XmlError {
            offset: self.pos,
            what,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.d.get(self.pos).copied()
    }

    fn starts(&self, s: &[u8]) -> bool {
        self.d.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }

    fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Advance past the next `end`; the skipped text must not contain `forbidden`.
    fn skip_past(
        &mut self,
        end: &[u8],
        forbidden: Option<&[u8]>,
        what: &'static str,
    ) -> Result<&'a [u8], XmlError> {
        let rest = self.d.get(self.pos..).unwrap_or_default();
        let Some(at) = rest.windows(end.len()).position(|w| w == end) else {
            return self.err(what);
        };
        let body = rest.get(..at).unwrap_or_default();
        if let Some(f) = forbidden {
            if let Some(bad) = body.windows(f.len()).position(|w| w == f) {
                self.pos += bad;
                return self.err("'--' inside a comment");
            }
        }
        self.pos += at + end.len();
        Ok(body)
    }

    fn name(&mut self) -> Result<&'a [u8], XmlError> {
        let start = self.pos;
        if !self.peek().is_some_and(is_name_start) {
            return self.err("expected a name");
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        Ok(self.d.get(start..self.pos).unwrap_or_default())
    }

    fn run(&mut self) -> Result<(Vec<u8>, Vec<u8>), XmlError> {
        if self.starts(b"<?xml") && self.d.get(self.pos + 5).is_some_and(|&b| is_space(b)) {
            self.skip_past(b"?>", None, "unterminated XML declaration")?;
        }
        let mut root: Option<(Vec<u8>, Vec<u8>)> = None;
        loop {
            let text_start = self.pos;
            while self.peek().is_some_and(|b| b != b'<') {
                self.pos += 1;
            }
            let text = self.d.get(text_start..self.pos).unwrap_or_default();
            if self.open.is_empty() {
                if text.iter().any(|&b| !is_space(b)) {
                    self.pos = text_start;
                    return self.err("text outside the root element");
                }
            } else {
                self.check_text(text, text_start)?;
            }
            if self.peek().is_none() {
                break;
            }
            if self.starts(b"<!--") {
                self.pos += 4;
                self.skip_past(b"-->", Some(b"--"), "unterminated comment")?;
            } else if self.starts(b"<?") {
                self.pos += 2;
                let target = self.name()?;
                if target.eq_ignore_ascii_case(b"xml") {
                    return self.err("misplaced XML declaration");
                }
                if !self.starts(b"?>") && !self.skip_space() {
                    return self.err("bad processing instruction");
                }
                self.skip_past(b"?>", None, "unterminated processing instruction")?;
            } else if self.starts(b"<![CDATA[") {
                if self.open.is_empty() {
                    return self.err("CDATA outside the root element");
                }
                self.pos += 9;
                self.skip_past(b"]]>", None, "unterminated CDATA section")?;
            } else if self.starts(b"<!") {
                return self.err("document type declarations are not allowed in XMP");
            } else if self.starts(b"</") {
                self.pos += 2;
                let name = self.name()?;
                self.skip_space();
                if self.peek() != Some(b'>') {
                    return self.err("bad end tag");
                }
                self.pos += 1;
                if self.open.pop() != Some(name) {
                    return self.err("end tag does not match the open element");
                }
                let depth = self.open.len() + 1;
                while self.ns.last().is_some_and(|(_, _, d)| *d == depth) {
                    self.ns.pop();
                }
            } else {
                if self.open.is_empty() && root.is_some() {
                    return self.err("a second root element");
                }
                let expanded = self.start_tag()?;
                if root.is_none() {
                    root = Some(expanded);
                }
            }
        }
        if !self.open.is_empty() {
            return self.err("unclosed element");
        }
        match root {
            Some(r) => Ok(r),
            None => self.err("no root element"),
        }
    }

    /// Character data: references valid, no `]]>`.
    fn check_text(&self, text: &[u8], base: usize) -> Result<(), XmlError> {
        if let Some(at) = text.windows(3).position(|w| w == b"]]>") {
            return Err(XmlError {
                offset: base + at,
                what: "']]>' in text",
            });
        }
        check_references(text, base)
    }

    /// A start tag after `<`; returns the element's namespace and local name.
    fn start_tag(&mut self) -> Result<(Vec<u8>, Vec<u8>), XmlError> {
        let tag_at = self.pos;
        self.pos += 1; // '<'
        let name = self.name()?;
        if self.open.len() >= MAX_DEPTH {
            return self.err("elements nested too deeply");
        }
        let depth = self.open.len() + 1;
        let mut attrs: Vec<(&'a [u8], usize)> = Vec::new();
        let empty = loop {
            let spaced = self.skip_space();
            match self.peek() {
                Some(b'>') => {
                    self.pos += 1;
                    break false;
                }
                Some(b'/') if self.d.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    break true;
                }
                None => return self.err("unterminated start tag"),
                Some(_) if !spaced => return self.err("expected white space between attributes"),
                Some(_) => {}
            }
            let at = self.pos;
            let an = self.name()?;
            self.skip_space();
            if self.peek() != Some(b'=') {
                return self.err("expected '=' after an attribute name");
            }
            self.pos += 1;
            self.skip_space();
            let Some(q @ (b'"' | b'\'')) = self.peek() else {
                return self.err("attribute value not quoted");
            };
            self.pos += 1;
            let vstart = self.pos;
            while self.peek().is_some_and(|b| b != q) {
                if self.peek() == Some(b'<') {
                    return self.err("'<' in an attribute value");
                }
                self.pos += 1;
            }
            if self.peek().is_none() {
                return self.err("unterminated attribute value");
            }
            let value = self.d.get(vstart..self.pos).unwrap_or_default();
            self.pos += 1;
            check_references(value, vstart)?;
            if attrs.iter().any(|(n, _)| *n == an) {
                self.pos = at;
                return self.err("duplicate attribute");
            }
            if attrs.len() >= MAX_ATTRIBUTES {
                return self.err("too many attributes");
            }
            attrs.push((an, at));
            // Namespace declarations take effect on this element already.
            let decl = if an == b"xmlns" {
                Some(&b""[..])
            } else {
                an.strip_prefix(b"xmlns:")
            };
            if let Some(prefix) = decl {
                let uri = unescape(value);
                if prefix == b"xmlns" || (prefix == b"xml") != (uri == XML_NS) || uri == XMLNS_NS {
                    self.pos = at;
                    return self.err("reserved namespace prefix or name misused");
                }
                if !prefix.is_empty() && (uri.is_empty() || prefix.contains(&b':')) {
                    self.pos = at;
                    return self.err("bad namespace declaration");
                }
                self.ns.push((prefix, uri, depth));
            }
        };
        // Every name resolves; no two attributes share an expanded name.
        let (ens, elocal) = self.resolve(name, true).ok_or(XmlError {
            offset: tag_at,
            what: "undeclared namespace prefix on an element",
        })?;
        let mut expanded: Vec<(Vec<u8>, &[u8])> = Vec::new();
        for (an, at) in &attrs {
            if *an == b"xmlns" || an.starts_with(b"xmlns:") {
                continue;
            }
            let (ns, local) = self.resolve(an, false).ok_or(XmlError {
                offset: *at,
                what: "undeclared namespace prefix on an attribute",
            })?;
            if !ns.is_empty() && expanded.iter().any(|(n, l)| *n == ns && *l == local) {
                return Err(XmlError {
                    offset: *at,
                    what: "duplicate attribute",
                });
            }
            expanded.push((ns, local));
        }
        let result = (ens, elocal.to_vec());
        if empty {
            while self.ns.last().is_some_and(|(_, _, d)| *d == depth) {
                self.ns.pop();
            }
        } else {
            self.open.push(name);
        }
        Ok(result)
    }

    /// The namespace URI and local part of a qualified name, `None` when its prefix is not
    /// declared (or the name has more than one colon or an empty part). Unprefixed attributes
    /// are in no namespace; unprefixed elements in the default one.
    fn resolve<'n>(&self, qname: &'n [u8], element: bool) -> Option<(Vec<u8>, &'n [u8])> {
        let mut parts = qname.splitn(2, |&b| b == b':');
        let first = parts.next()?;
        match parts.next() {
            None if element => {
                let default = self.lookup(b"").unwrap_or_default();
                Some((default, first))
            }
            None => Some((Vec::new(), first)),
            Some(local) => {
                if first.is_empty() || local.is_empty() || local.contains(&b':') {
                    return None;
                }
                if !local.first().copied().is_some_and(is_name_start) {
                    return None;
                }
                let uri = if first == b"xml" {
                    XML_NS.to_vec()
                } else {
                    self.lookup(first).filter(|u| !u.is_empty())?
                };
                Some((uri, local))
            }
        }
    }

    fn lookup(&self, prefix: &[u8]) -> Option<Vec<u8>> {
        self.ns
            .iter()
            .rev()
            .find(|(p, _, _)| *p == prefix)
            .map(|(_, u, _)| u.clone())
    }
}

/// `&…;` references in text or an attribute value must be the five predefined entities or
/// character references to XML characters.
fn check_references(s: &[u8], base: usize) -> Result<(), XmlError> {
    let mut i = 0;
    while let Some(off) = s.get(i..).and_then(|r| r.iter().position(|&b| b == b'&')) {
        let start = i + off;
        let rest = s.get(start + 1..).unwrap_or_default();
        let bad = XmlError {
            offset: base + start,
            what: "bad or undeclared entity reference",
        };
        let end = rest
            .iter()
            .take(16)
            .position(|&b| b == b';')
            .ok_or(bad.clone())?;
        let body = rest.get(..end).unwrap_or_default();
        let ok = match body {
            b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
            _ => char_ref(body).is_some_and(is_xml_char),
        };
        if !ok {
            return Err(bad);
        }
        i = start + 1 + end + 1;
    }
    Ok(())
}

fn char_ref(body: &[u8]) -> Option<char> {
    let digits = body.strip_prefix(b"#")?;
    let (digits, radix) = match digits.strip_prefix(b"x") {
        Some(h) => (h, 16),
        None => (digits, 10),
    };
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let v = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
    char::from_u32(v)
}

/// An attribute value with its predefined and character references replaced (namespace URIs
/// are compared after this).
fn unescape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'&' {
            if let Some(end) = v
                .get(i + 1..)
                .and_then(|r| r.iter().position(|&c| c == b';'))
            {
                let body = v.get(i + 1..i + 1 + end).unwrap_or_default();
                let rep = match body {
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"amp" => Some('&'),
                    b"apos" => Some('\''),
                    b"quot" => Some('"'),
                    _ => char_ref(body),
                };
                if let Some(c) = rep {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    i += end + 2;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
        <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
        <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:ModifyDate=\"2024-01-01T00:00:00Z\">\
        <xmp:CreatorTool>A &amp; B &#x1EA0;<![CDATA[<raw>]]></xmp:CreatorTool><!-- ok --></rdf:Description>\
        </rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>";

    #[test]
    fn well_formed_xmp_passes() {
        check_xmp(GOOD.as_bytes()).unwrap();
        check_xmp(format!("\u{feff}<?xml version=\"1.0\"?>{GOOD}").as_bytes()).unwrap();
        // Other prefixes for the same namespaces, a default namespace.
        let other = GOOD
            .replace("xmp:", "xap:")
            .replace("xmlns:xmp", "xmlns:xap")
            .replace("x:xmpmeta", "meta:xmpmeta")
            .replace("xmlns:x=", "xmlns:meta=");
        check_xmp(other.as_bytes()).unwrap();
        check_xmp(b"<xmpmeta xmlns='adobe:ns:meta/'><a xml:lang='vi'/></xmpmeta>").unwrap();
    }

    #[test]
    fn malformed_xml_is_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("xmp:ModifyDate=", "ns:ModifyDate="),
            ("</rdf:RDF>", "</rdf:RDFX>"),
            ("</x:xmpmeta>", ""),
            ("A &amp; B", "A & B"),
            ("A &amp; B", "A &nbsp; B"),
            ("rdf:about=\"\"", "rdf:about=\"\" rdf:about=\"\""),
            ("rdf:about=\"\"", "rdf:about"),
            ("rdf:about=\"\"", "rdf:about=\"<\""),
            ("<!-- ok -->", "<!-- not -- ok -->"),
            (
                "<x:xmpmeta",
                "<!DOCTYPE x [<!ENTITY e \"boom\">]><x:xmpmeta",
            ),
            ("&#x1EA0;", "&#0;"),
            ("<xmp:CreatorTool>", "<xmp:CreatorTool>\u{1}"),
            (
                "</x:xmpmeta>",
                "</x:xmpmeta><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>",
            ),
            ("</x:xmpmeta>", "</x:xmpmeta>trailing"),
        ];
        for (from, to) in cases {
            let bad = GOOD.replacen(from, to, 1);
            assert_ne!(bad, GOOD, "{from}");
            assert!(check_xmp(bad.as_bytes()).is_err(), "accepted: {to}");
        }
        // Undeclared prefix, as in issue 24 (lxml: "Namespace prefix xmp on ModifyDate is not
        // defined").
        let undeclared = GOOD.replace(" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"", "");
        let e = check_xmp(undeclared.as_bytes()).unwrap_err();
        assert!(e.what.contains("undeclared"), "{e}");
        assert!(check_xmp(b"\xff\xfe<").is_err());
        assert!(check_xmp(b"").is_err());
        assert!(
            check_xmp(b"<rdf:RDF xmlns:rdf='r'/>").is_err(),
            "not xmpmeta"
        );
        // A prefix declared on a sibling is not in scope.
        assert!(check_xmp(
            b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><a xmlns:p='u'/><p:b/></x:xmpmeta>"
        )
        .is_err());
    }

    #[test]
    fn nesting_is_limited_and_nothing_panics() {
        let deep = format!(
            "<x:xmpmeta xmlns:x='adobe:ns:meta/'>{}{}</x:xmpmeta>",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(check_xmp(deep.as_bytes()).is_err());
        // Every prefix of a good document is an error, not a panic.
        for i in 0..GOOD.len() {
            let _ = check_xmp(GOOD.as_bytes().get(..i).unwrap_or_default());
        }
    }
}
