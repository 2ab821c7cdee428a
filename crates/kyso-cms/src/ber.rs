//! BER → DER-length normalisation, without recursion.
//!
//! CMS blobs taken from PDFs are often BER: indefinite lengths (Java, older Adobe and streaming
//! encoders), sometimes constructed OCTET STRINGs. The `der` crate decodes indefinite lengths
//! recursively and without a depth cap, so untrusted input is pre-scanned here with an explicit
//! stack and re-encoded with definite lengths before anything else looks at it.
//!
//! What [`normalize`] does:
//! - input that already uses definite, minimal lengths and no constructed OCTET STRING is
//!   returned borrowed (trimmed to the top-level value);
//! - otherwise the value is re-encoded: indefinite lengths become definite, non-minimal length
//!   encodings become minimal, and constructed OCTET STRINGs (universal tag 4, constructed) are
//!   **concatenated into one primitive OCTET STRING** (DER forbids the constructed form and the
//!   `der` crate cannot read it);
//! - after the top-level value only zero bytes are allowed (the zero padding of a PDF
//!   `/Contents` placeholder); anything else is trailing garbage and an error.
//!
//! Tag numbers, primitive contents and the order of elements are kept as they are; no other DER
//! rule (SET OF ordering, minimal INTEGERs, …) is enforced.

use std::borrow::Cow;

use crate::{Error, Result};

/// Bounds for [`normalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BerLimits {
    /// Deepest nesting of constructed values.
    pub max_depth: usize,
    /// Most bytes accepted as input (including padding).
    pub max_input: usize,
    /// Most elements (primitive and constructed) in the value.
    pub max_elements: usize,
}

impl Default for BerLimits {
    fn default() -> Self {
        BerLimits {
            max_depth: 64,
            max_input: 64 * 1024 * 1024,
            max_elements: 1_000_000,
        }
    }
}

/// The result of [`normalize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized<'a> {
    /// The top-level value with definite lengths (borrowed when nothing had to change).
    pub der: Cow<'a, [u8]>,
    /// How many input bytes the top-level value occupied (the rest was zero padding).
    pub value_len: usize,
    /// Zero bytes after the value.
    pub padding: usize,
}

impl Normalized<'_> {
    /// True when the input had to be re-encoded (it was BER, not DER-length-encoded).
    pub fn reencoded(&self) -> bool {
        matches!(self.der, Cow::Owned(_))
    }
}

fn err(what: &str, at: usize) -> Error {
    Error::Asn1(format!("BER: {what} at byte {at}"))
}

#[derive(Debug)]
struct Node {
    /// Identifier octets in the input.
    tag: (usize, usize),
    /// Contents of a primitive value in the input.
    prim: (usize, usize),
    constructed: bool,
    /// A constructed OCTET STRING, written as one primitive OCTET STRING.
    flatten: bool,
    children: Vec<usize>,
    /// Length of the contents as they will be written.
    content_len: usize,
}

#[derive(Debug)]
struct Frame {
    node: usize,
    /// End of the contents for a definite length; `None` for an indefinite one.
    end: Option<usize>,
}

/// Read identifier and length octets at `pos`. Returns (tag end, constructed, length
/// (None = indefinite), header end, minimal).
fn header(input: &[u8], pos: usize) -> Result<(usize, bool, Option<usize>, usize, bool)> {
    let first = *input.get(pos).ok_or_else(|| err("truncated tag", pos))?;
    let constructed = first & 0x20 != 0;
    let mut p = pos + 1;
    if first & 0x1f == 0x1f {
        // High tag number: base-128, at most 4 more bytes.
        let mut n = 0;
        loop {
            let b = *input.get(p).ok_or_else(|| err("truncated tag", p))?;
            p += 1;
            n += 1;
            if n > 4 {
                return Err(err("tag number too large", pos));
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let tag_end = p;
    let l0 = *input.get(p).ok_or_else(|| err("truncated length", p))?;
    p += 1;
    if l0 < 0x80 {
        return Ok((tag_end, constructed, Some(usize::from(l0)), p, true));
    }
    if l0 == 0x80 {
        if !constructed {
            return Err(err("indefinite length on a primitive value", pos));
        }
        return Ok((tag_end, constructed, None, p, false));
    }
    let n = usize::from(l0 & 0x7f);
    if n > 4 {
        return Err(err("length too large", pos));
    }
    let mut len: usize = 0;
    for _ in 0..n {
        let b = *input.get(p).ok_or_else(|| err("truncated length", p))?;
        p += 1;
        len = (len << 8) | usize::from(b);
    }
    let minimal = len >= 0x80 && len >> (8 * (n - 1)) != 0;
    Ok((tag_end, constructed, Some(len), p, minimal))
}

fn len_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let n = len_len(len) - 1;
        out.push(0x80 | n as u8);
        for i in (0..n).rev() {
            out.push((len >> (8 * i)) as u8);
        }
    }
}

/// Scan `input` as one BER value followed by optional zero padding; re-encode it with definite
/// lengths if needed. Iterative, with the depth, size and element limits of `limits`.
pub fn normalize<'a>(input: &'a [u8], limits: &BerLimits) -> Result<Normalized<'a>> {
    if input.len() > limits.max_input {
        return Err(Error::Asn1(format!(
            "BER: {} bytes exceed the limit of {}",
            input.len(),
            limits.max_input
        )));
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0usize;
    let mut needs_reencode = false;
    loop {
        // Close finished constructed values.
        while let Some(top) = stack.last() {
            match top.end {
                Some(end) if pos == end => {
                    stack.pop();
                }
                Some(end) if pos > end => return Err(err("element overruns its parent", pos)),
                Some(_) => break,
                None => {
                    if input.get(pos..pos + 2) == Some(&[0, 0]) {
                        pos += 2;
                        stack.pop();
                    } else {
                        break;
                    }
                }
            }
        }
        if stack.is_empty() && !nodes.is_empty() {
            break;
        }
        if pos >= input.len() {
            return Err(err("truncated: value ends early", pos));
        }
        if nodes.len() >= limits.max_elements {
            return Err(err("too many elements", pos));
        }
        let (tag_end, constructed, len, hdr_end, minimal) = header(input, pos)?;
        if !minimal && len.is_some() {
            needs_reencode = true;
        }
        let tag = (pos, tag_end);
        let first = input.get(pos).copied().unwrap_or(0);
        let flatten = constructed && first == 0x24;
        let end = match len {
            Some(l) => {
                let end = hdr_end
                    .checked_add(l)
                    .filter(|&e| e <= input.len())
                    .ok_or_else(|| err("truncated: length beyond the data", pos))?;
                if let Some(Frame { end: Some(pe), .. }) = stack.last() {
                    if end > *pe {
                        return Err(err("element overruns its parent", pos));
                    }
                }
                Some(end)
            }
            None => {
                needs_reencode = true;
                None
            }
        };
        if flatten {
            needs_reencode = true;
        }
        if let Some(parent) = stack.last() {
            let p = nodes.get(parent.node).ok_or_else(|| err("internal", pos))?;
            if p.flatten && first != 0x04 && first != 0x24 {
                return Err(err(
                    "constructed OCTET STRING holds a non-OCTET STRING",
                    pos,
                ));
            }
        }
        let idx = nodes.len();
        nodes.push(Node {
            tag,
            prim: (hdr_end, end.unwrap_or(hdr_end)),
            constructed,
            flatten,
            children: Vec::new(),
            content_len: 0,
        });
        if let Some(parent) = stack.last() {
            if let Some(p) = nodes.get_mut(parent.node) {
                p.children.push(idx);
            }
        }
        if constructed {
            if stack.len() >= limits.max_depth {
                return Err(err("nesting too deep", pos));
            }
            stack.push(Frame { node: idx, end });
            pos = hdr_end;
        } else {
            pos = end.unwrap_or(hdr_end);
            if stack.is_empty() {
                break;
            }
        }
    }
    let value_len = pos;
    let rest = input.get(value_len..).unwrap_or_default();
    if let Some(i) = rest.iter().position(|&b| b != 0) {
        return Err(err("trailing data after the value", value_len + i));
    }
    let padding = rest.len();
    if !needs_reencode {
        return Ok(Normalized {
            der: Cow::Borrowed(input.get(..value_len).unwrap_or_default()),
            value_len,
            padding,
        });
    }
    // Contents lengths, children before parents (children have higher indices).
    for i in (0..nodes.len()).rev() {
        let Some(n) = nodes.get(i) else { continue };
        let len = if !n.constructed {
            n.prim.1 - n.prim.0
        } else {
            let mut sum = 0usize;
            for &c in &n.children {
                let Some(c) = nodes.get(c) else { continue };
                let add = if n.flatten {
                    c.content_len
                } else {
                    let tag_len = if c.flatten { 1 } else { c.tag.1 - c.tag.0 };
                    tag_len + len_len(c.content_len) + c.content_len
                };
                sum = sum
                    .checked_add(add)
                    .ok_or_else(|| err("value too large", 0))?;
            }
            sum
        };
        if let Some(n) = nodes.get_mut(i) {
            n.content_len = len;
        }
    }
    enum Work {
        /// Write the whole element.
        Element(usize),
        /// Write only the contents, flattened (inside a constructed OCTET STRING).
        Contents(usize),
    }
    let mut out = Vec::with_capacity(value_len);
    let mut work = vec![Work::Element(0)];
    while let Some(w) = work.pop() {
        let (i, whole) = match w {
            Work::Element(i) => (i, true),
            Work::Contents(i) => (i, false),
        };
        let Some(n) = nodes.get(i) else { continue };
        if whole {
            if n.flatten {
                out.push(0x04);
            } else {
                out.extend_from_slice(input.get(n.tag.0..n.tag.1).unwrap_or_default());
            }
            write_len(&mut out, n.content_len);
        }
        if !n.constructed {
            out.extend_from_slice(input.get(n.prim.0..n.prim.1).unwrap_or_default());
        } else if n.flatten || !whole {
            work.extend(n.children.iter().rev().map(|&c| Work::Contents(c)));
        } else {
            work.extend(n.children.iter().rev().map(|&c| Work::Element(c)));
        }
    }
    Ok(Normalized {
        der: Cow::Owned(out),
        value_len,
        padding,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn norm(b: &[u8]) -> Result<Normalized<'_>> {
        normalize(b, &BerLimits::default())
    }

    #[test]
    fn der_input_is_borrowed_and_padding_counted() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x05];
        let mut padded = der.to_vec();
        padded.extend_from_slice(&[0; 100]);
        let n = norm(&padded).unwrap();
        assert!(!n.reencoded());
        assert_eq!(&*n.der, &der);
        assert_eq!(n.value_len, 5);
        assert_eq!(n.padding, 100);
    }

    #[test]
    fn indefinite_lengths_become_definite() {
        // SEQUENCE(indef) { INTEGER 5, SEQUENCE(indef) { NULL } } + padding
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0,
        ];
        let n = norm(&ber).unwrap();
        assert!(n.reencoded());
        assert_eq!(
            &*n.der,
            &[0x30, 0x07, 0x02, 0x01, 0x05, 0x30, 0x02, 0x05, 0x00]
        );
        assert_eq!(n.value_len, 13);
        assert_eq!(n.padding, 2);
    }

    #[test]
    fn constructed_octet_string_is_concatenated() {
        // [0] EXPLICIT (indef) { OCTET STRING constructed (indef) { 04 02 'ab', 04 01 'c' } }
        let ber = [
            0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00,
            0x00,
        ];
        let n = norm(&ber).unwrap();
        assert_eq!(&*n.der, &[0xa0, 0x05, 0x04, 0x03, b'a', b'b', b'c']);
    }

    #[test]
    fn long_lengths_round_trip() {
        let mut ber = vec![0x30, 0x80, 0x04, 0x82, 0x01, 0x00];
        ber.extend_from_slice(&[7u8; 256]);
        ber.extend_from_slice(&[0, 0]);
        let n = norm(&ber).unwrap();
        assert_eq!(&n.der[..6], &[0x30, 0x82, 0x01, 0x04, 0x04, 0x82]);
        assert_eq!(n.der.len(), 4 + 4 + 256);
    }

    #[test]
    fn non_minimal_length_is_rewritten() {
        let ber = [0x30, 0x81, 0x03, 0x02, 0x01, 0x05];
        let n = norm(&ber).unwrap();
        assert_eq!(&*n.der, &[0x30, 0x03, 0x02, 0x01, 0x05]);
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        let mut ber = Vec::new();
        for _ in 0..100_000 {
            ber.extend_from_slice(&[0x30, 0x80]);
        }
        let e = norm(&ber).unwrap_err();
        assert!(e.to_string().contains("nesting too deep"), "{e}");
        // Within the cap it works.
        let mut ok = Vec::new();
        for _ in 0..60 {
            ok.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..60 {
            ok.extend_from_slice(&[0, 0]);
        }
        let n = norm(&ok).unwrap();
        assert_eq!(n.der.len(), 120);
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x02, 0x01],
            &[0x30, 0x80, 0x02, 0x01, 0x05],
            &[0x30, 0x80, 0x02, 0x01, 0x05, 0x00],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x03, 0x02, 0x01, 0x05, 0x00, 0x01],
            &[0x30, 0x03, 0x02, 0x05, 0x05],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00],
        ] {
            assert!(norm(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn limits_apply() {
        let l = BerLimits {
            max_depth: 64,
            max_input: 4,
            max_elements: 2,
        };
        assert!(normalize(&[0x30, 0x03, 0x02, 0x01, 0x05], &l).is_err());
        let l = BerLimits {
            max_input: 100,
            ..l
        };
        assert!(normalize(&[0x30, 0x06, 0x05, 0x00, 0x05, 0x00, 0x05, 0x00], &l).is_err());
    }
}
