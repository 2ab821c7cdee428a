//! CMaps (ISO 32000-2 §9.7.5, §9.10.3): how a font's string bytes split into character codes
//! (`begincodespacerange`), which CID a code selects (`cidchar`/`cidrange`, for `/Encoding`
//! CMaps of Type0 fonts) and which Unicode text it stands for (`bfchar`/`bfrange`, in
//! `/ToUnicode` CMaps).
//!
//! Only the PostScript subset that real CMaps use is read, with the content-stream tokenizer;
//! everything else is skipped. Ranges are kept as ranges (a `<0000> <FFFF>` range costs one
//! entry), and the total number of entries is bounded by `Limits::max_container_len`.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::object::Object;

use super::content::{Token, Tokenizer};

/// A character code: its value and how many bytes it took (1 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub value: u32,
    pub len: u8,
}

#[derive(Debug, Clone, PartialEq)]
struct CodespaceRange {
    lo: Vec<u8>,
    hi: Vec<u8>,
}

impl CodespaceRange {
    fn contains(&self, bytes: &[u8]) -> bool {
        bytes.len() == self.lo.len()
            && bytes
                .iter()
                .zip(self.lo.iter().zip(&self.hi))
                .all(|(b, (lo, hi))| lo <= b && b <= hi)
    }
}

/// Destination of a `bfrange`: a string whose last code unit is incremented, or one string per
/// code.
#[derive(Debug, Clone, PartialEq)]
enum BfDest {
    Start(Vec<u16>),
    Array(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct BfRange {
    len: u8,
    lo: u32,
    hi: u32,
    dest: BfDest,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct CidRange {
    len: u8,
    lo: u32,
    hi: u32,
    cid: u32,
}

/// A parsed CMap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CMap {
    codespace: Vec<CodespaceRange>,
    bf_chars: HashMap<Code, String>,
    bf_ranges: Vec<BfRange>,
    cid_ranges: Vec<CidRange>,
}

/// Value of a big-endian code of at most 4 bytes.
fn code_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |v, &b| (v << 8) | u32::from(b))
}

/// Text of a destination string: UTF-16BE (surrogate pairs and several characters allowed);
/// a single byte is taken as a Latin-1 character, as some producers write `<41>`.
pub fn utf16be_text(bytes: &[u8]) -> String {
    if let [b] = bytes {
        return char::from(*b).to_string();
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| match c {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [hi] => u16::from(*hi),
            _ => 0,
        })
        .collect();
    String::from_utf16_lossy(&units)
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    if let [b] = bytes {
        return vec![u16::from(*b)];
    }
    bytes
        .chunks(2)
        .map(|c| match c {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [hi] => u16::from(*hi),
            _ => 0,
        })
        .collect()
}

impl CMap {
    /// The identity CMap of `Identity-H`/`Identity-V`: 2-byte codes, CID = code.
    pub fn identity() -> Self {
        CMap {
            codespace: vec![CodespaceRange {
                lo: vec![0, 0],
                hi: vec![0xff, 0xff],
            }],
            cid_ranges: vec![CidRange {
                len: 2,
                lo: 0,
                hi: 0xffff,
                cid: 0,
            }],
            ..CMap::default()
        }
    }

    /// Parse a CMap program (the decoded bytes of a CMap or ToUnicode stream).
    pub fn parse(data: &[u8], limits: &Limits) -> Result<Self> {
        let mut cmap = CMap::default();
        let mut tk = Tokenizer::new(data, limits);
        let mut operands: Vec<Object> = Vec::new();
        let mut entries = 0usize;
        let mut count = |n: usize| -> Result<()> {
            entries += n;
            if entries > limits.max_container_len {
                return Err(Error::LimitExceeded {
                    limit: "CMap entries",
                    value: entries as u64,
                    max: limits.max_container_len as u64,
                });
            }
            Ok(())
        };
        while let Some(tok) = tk.next_token()? {
            let op = match tok {
                Token::Operand(o) => {
                    operands.push(o);
                    if operands.len() > limits.max_container_len {
                        return Err(Error::LimitExceeded {
                            limit: "CMap operands",
                            value: operands.len() as u64,
                            max: limits.max_container_len as u64,
                        });
                    }
                    continue;
                }
                Token::Operator(op) => op,
            };
            match op {
                b"endcodespacerange" => {
                    for pair in operands.chunks(2) {
                        if let [lo, hi] = pair {
                            if let (Some(lo), Some(hi)) = (lo.as_string(), hi.as_string()) {
                                if lo.len() == hi.len() && (1..=4).contains(&lo.len()) {
                                    count(1)?;
                                    cmap.codespace.push(CodespaceRange {
                                        lo: lo.to_vec(),
                                        hi: hi.to_vec(),
                                    });
                                }
                            }
                        }
                    }
                }
                b"endbfchar" => {
                    for pair in operands.chunks(2) {
                        if let [src, dst] = pair {
                            if let (Some(src), Some(dst)) = (src.as_string(), dst.as_string()) {
                                if (1..=4).contains(&src.len()) {
                                    count(1)?;
                                    let code = Code {
                                        value: code_value(src),
                                        len: src.len() as u8,
                                    };
                                    cmap.bf_chars.insert(code, utf16be_text(dst));
                                }
                            }
                        }
                    }
                }
                b"endbfrange" => {
                    for triple in operands.chunks(3) {
                        let [lo, hi, dst] = triple else { continue };
                        let (Some(lo), Some(hi)) = (lo.as_string(), hi.as_string()) else {
                            continue;
                        };
                        if lo.len() != hi.len() || !(1..=4).contains(&lo.len()) {
                            continue;
                        }
                        let (lo_v, hi_v) = (code_value(lo), code_value(hi));
                        if lo_v > hi_v {
                            continue;
                        }
                        let dest = match dst {
                            Object::String { bytes, .. } => BfDest::Start(utf16_units(bytes)),
                            Object::Array(items) => BfDest::Array(
                                items
                                    .iter()
                                    .map(|i| i.as_string().map(utf16be_text).unwrap_or_default())
                                    .collect(),
                            ),
                            _ => continue,
                        };
                        count(1)?;
                        cmap.bf_ranges.push(BfRange {
                            len: lo.len() as u8,
                            lo: lo_v,
                            hi: hi_v,
                            dest,
                        });
                    }
                }
                b"endcidrange" => {
                    for triple in operands.chunks(3) {
                        if let [lo, hi, cid] = triple {
                            if let (Some(lo), Some(hi), Some(cid)) =
                                (lo.as_string(), hi.as_string(), cid.as_int())
                            {
                                if lo.len() == hi.len() && (1..=4).contains(&lo.len()) {
                                    count(1)?;
                                    cmap.cid_ranges.push(CidRange {
                                        len: lo.len() as u8,
                                        lo: code_value(lo),
                                        hi: code_value(hi),
                                        cid: u32::try_from(cid).unwrap_or(0),
                                    });
                                }
                            }
                        }
                    }
                }
                b"endcidchar" => {
                    for pair in operands.chunks(2) {
                        if let [src, cid] = pair {
                            if let (Some(src), Some(cid)) = (src.as_string(), cid.as_int()) {
                                if (1..=4).contains(&src.len()) {
                                    count(1)?;
                                    let v = code_value(src);
                                    cmap.cid_ranges.push(CidRange {
                                        len: src.len() as u8,
                                        lo: v,
                                        hi: v,
                                        cid: u32::try_from(cid).unwrap_or(0),
                                    });
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            operands.clear();
        }
        // Sorted by (code length, first code) for binary search; the sort is stable, so of two
        // ranges starting at the same code the later definition is found first.
        cmap.bf_ranges.sort_by_key(|r| (r.len, r.lo));
        cmap.cid_ranges.sort_by_key(|r| (r.len, r.lo));
        Ok(cmap)
    }

    /// Whether the CMap declares codespace ranges.
    pub fn has_codespace(&self) -> bool {
        !self.codespace.is_empty()
    }

    /// Split off the first code of `bytes` (non-empty): the shortest prefix inside a codespace
    /// range; when none matches, `default_len` bytes (or what is left), as readers do.
    pub fn next_code(&self, bytes: &[u8], default_len: usize) -> Code {
        for n in 1..=4usize {
            let Some(prefix) = bytes.get(..n) else { break };
            if self.codespace.iter().any(|r| r.contains(prefix)) {
                return Code {
                    value: code_value(prefix),
                    len: n as u8,
                };
            }
        }
        let n = default_len.clamp(1, 4).min(bytes.len()).max(1);
        Code {
            value: code_value(bytes.get(..n).unwrap_or(bytes)),
            len: n as u8,
        }
    }

    /// The Unicode text of `code` (ToUnicode), if mapped.
    pub fn unicode(&self, code: Code) -> Option<String> {
        if let Some(s) = self.bf_chars.get(&code) {
            return Some(s.clone());
        }
        let r = find_range(&self.bf_ranges, code, |r| (r.len, r.lo, r.hi))?;
        let offset = code.value - r.lo;
        match &r.dest {
            BfDest::Start(units) => {
                let mut units = units.clone();
                let last = units.last_mut()?;
                // Only the last code unit varies (§9.10.3); a carry would leave the range.
                *last = last.checked_add(u16::try_from(offset).ok()?)?;
                Some(String::from_utf16_lossy(&units))
            }
            BfDest::Array(items) => items.get(offset as usize).cloned(),
        }
    }

    /// The CID of `code` (encoding CMaps); `None` when the CMap does not map it.
    pub fn cid(&self, code: Code) -> Option<u32> {
        find_range(&self.cid_ranges, code, |r| (r.len, r.lo, r.hi))
            .map(|r| r.cid.saturating_add(code.value - r.lo))
    }
}

/// How many ranges before the insertion point are examined for overlapping definitions.
const OVERLAP_LOOKBACK: usize = 16;

/// The range containing `code` among `ranges` sorted by (length, first code): the one with the
/// greatest start not above `code`, or one of the few before it when ranges overlap.
fn find_range<T>(ranges: &[T], code: Code, key: impl Fn(&T) -> (u8, u32, u32)) -> Option<&T> {
    let end = ranges.partition_point(|r| {
        let (len, lo, _) = key(r);
        (len, lo) <= (code.len, code.value)
    });
    ranges
        .get(end.saturating_sub(OVERLAP_LOOKBACK)..end)?
        .iter()
        .rev()
        .find(|r| {
            let (len, lo, hi) = key(r);
            len == code.len && lo <= code.value && code.value <= hi
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CMap {
        CMap::parse(s.as_bytes(), &Limits::default()).unwrap()
    }

    /// A ToUnicode CMap as fpdf2, LibreOffice and Word write them.
    const TO_UNICODE: &str = "/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
3 beginbfchar
<0003> <0020>
<0024> <0041>
<00B5> <1EA0>
endbfchar
2 beginbfrange
<0044> <0046> <0061>
<0050> <0052> [<0066006C> <D835DC00> <0110>]
endbfrange
1 beginbfchar
<0060> <00660066>
endbfchar
endcmap
CMapName currentdict /CMap defineresource pop
end
end";

    fn code2(v: u32) -> Code {
        Code { value: v, len: 2 }
    }

    #[test]
    fn bfchar_maps_single_codes() {
        let c = parse(TO_UNICODE);
        assert_eq!(c.unicode(code2(0x03)).as_deref(), Some(" "));
        assert_eq!(c.unicode(code2(0x24)).as_deref(), Some("A"));
        assert_eq!(c.unicode(code2(0xB5)).as_deref(), Some("Ạ"));
        // Two characters for one glyph (a ligature).
        assert_eq!(c.unicode(code2(0x60)).as_deref(), Some("ff"));
        assert_eq!(c.unicode(code2(0x61)), None);
        // A 1-byte code 0x24 is a different code from the 2-byte <0024>.
        assert_eq!(
            c.unicode(Code {
                value: 0x24,
                len: 1
            }),
            None
        );
    }

    #[test]
    fn bfrange_start_string_increments_the_last_unit() {
        let c = parse(TO_UNICODE);
        assert_eq!(c.unicode(code2(0x44)).as_deref(), Some("a"));
        assert_eq!(c.unicode(code2(0x46)).as_deref(), Some("c"));
        assert_eq!(c.unicode(code2(0x47)), None);
    }

    #[test]
    fn bfrange_array_form_with_surrogates_and_multi_char() {
        let c = parse(TO_UNICODE);
        assert_eq!(c.unicode(code2(0x50)).as_deref(), Some("fl"));
        assert_eq!(c.unicode(code2(0x51)).as_deref(), Some("\u{1D400}"));
        assert_eq!(c.unicode(code2(0x52)).as_deref(), Some("Đ"));
    }

    #[test]
    fn codespace_ranges_split_mixed_width_codes() {
        // Shift-JIS-like: one byte for 00-80, two bytes for 81xx-9Fxx.
        let c = parse(
            "2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange
             1 begincidrange <8140> <817E> 633 endcidrange
             1 begincidchar <41> 34 endcidchar",
        );
        let bytes = [0x41u8, 0x81, 0x41];
        let a = c.next_code(&bytes, 1);
        assert_eq!(
            a,
            Code {
                value: 0x41,
                len: 1
            }
        );
        let b = c.next_code(&bytes[1..], 1);
        assert_eq!(b, code2(0x8141));
        assert_eq!(c.cid(a), Some(34));
        assert_eq!(c.cid(b), Some(634));
        // Bytes outside every range fall back to the default length.
        assert_eq!(c.next_code(&[0xFF, 0x01], 2), code2(0xFF01));
        assert_eq!(
            c.next_code(&[0xFF], 2),
            Code {
                value: 0xFF,
                len: 1
            }
        );
    }

    #[test]
    fn identity_cmap_is_two_bytes() {
        let c = CMap::identity();
        let code = c.next_code(&[0x01, 0x02, 0x03], 1);
        assert_eq!(code, code2(0x0102));
        assert_eq!(c.cid(code), Some(0x0102));
    }

    #[test]
    fn garbage_and_hostile_cmaps_do_not_panic() {
        for s in [
            "begincodespacerange <00> endcodespacerange",
            "beginbfrange <FFFF> <0000> <0041> endbfrange",
            "beginbfrange <00> <FF> <FFFF> endbfrange",
            "beginbfrange <0000> <FFFF> [] endbfrange",
            "beginbfchar <> <0041> <0102030405> <41> endbfchar",
            "(unterminated",
            "] ] >> { } endbfchar",
        ] {
            let c = parse(s);
            for v in [0u32, 1, 0x41, 0xFF, 0xFFFF] {
                let _ = c.unicode(code2(v));
                let _ = c.unicode(Code { value: v, len: 1 });
            }
        }
        // A carry out of the last code unit is refused rather than wrapped.
        let c = parse("beginbfrange <00> <FF> <FFFF> endbfrange");
        assert_eq!(
            c.unicode(Code { value: 0, len: 1 }).as_deref(),
            Some("\u{FFFF}")
        );
        assert_eq!(c.unicode(Code { value: 1, len: 1 }), None);
    }

    #[test]
    fn many_ranges_are_searched_by_bisection() {
        let mut src = String::from("beginbfrange\n");
        for i in 0..2000u32 {
            src.push_str(&format!(
                "<{:04X}> <{:04X}> <{:04X}>\n",
                i * 4,
                i * 4 + 2,
                0x100 + i * 4
            ));
        }
        src.push_str("endbfrange");
        let c = parse(&src);
        assert_eq!(c.unicode(code2(0)).as_deref(), Some("\u{100}"));
        assert_eq!(c.unicode(code2(4 * 1234 + 2)).as_deref(), Some("\u{144A}"));
        assert_eq!(c.unicode(code2(4 * 1234 + 3)), None, "between ranges");
        assert_eq!(c.unicode(code2(4 * 2000)), None, "after the last range");
    }

    #[test]
    fn entry_count_is_limited() {
        let limits = Limits {
            max_container_len: 2,
            ..Limits::default()
        };
        let src = "beginbfchar <01> <41> <02> <42> <03> <43> endbfchar";
        assert!(matches!(
            CMap::parse(src.as_bytes(), &limits),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
