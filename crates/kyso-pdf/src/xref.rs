//! Cross-reference sections (ISO 32000-2 §7.5.4, §7.5.8): classic tables, cross-reference
//! streams and hybrid files, followed through `/Prev` with loop and count limits.

use std::collections::{BTreeMap, HashSet};

use crate::error::{Error, Result};
use crate::lexer::{Body, Lexer};
use crate::object::{Dict, Object};
use crate::reader::Window;

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Free,
    /// At byte `offset`, with generation `gen`.
    InFile {
        offset: u64,
        gen: u16,
    },
    /// Object `index` inside object stream `stream`.
    InStream {
        stream: u32,
        index: u32,
    },
}

/// The form of one cross-reference section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Table,
    Stream,
}

/// One cross-reference section: one revision of the file.
#[derive(Debug, Clone)]
pub struct Section {
    /// Offset of the `xref` keyword or of the xref stream object.
    pub offset: u64,
    pub kind: SectionKind,
    /// The trailer dictionary (for a stream: its dictionary).
    pub trailer: Dict,
    /// Entries defined in this section (object number → entry).
    pub entries: BTreeMap<u32, Entry>,
}

/// Find the offset named by the last `startxref` in the file's tail.
pub fn find_startxref(src: &Window<'_>) -> Result<u64> {
    let len = src.len();
    if len == 0 {
        return Err(Error::Truncated {
            offset: 0,
            what: "empty file",
        });
    }
    let tail_len = len.min(4096);
    let tail = src.read(len - tail_len, tail_len as usize)?;
    let pos = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or(Error::Malformed {
            offset: len,
            what: "no 'startxref' near the end of the file",
        })?;
    let base = len - tail_len + pos as u64 + 9;
    let limits = src.limits();
    let mut lx = Lexer::new(tail.get(pos + 9..).unwrap_or_default(), base, limits);
    let off = lx.unsigned()?;
    if off >= len {
        return Err(Error::Malformed {
            offset: base,
            what: "startxref points past the end",
        });
    }
    Ok(off)
}

/// Read the chain of sections starting at `start`, newest first.
pub fn read_chain(src: &Window<'_>, start: u64) -> Result<Vec<Section>> {
    let limits = src.limits();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut next = Some(start);
    while let Some(off) = next {
        if !seen.insert(off) {
            return Err(Error::Malformed {
                offset: off,
                what: "cross-reference /Prev loop",
            });
        }
        if out.len() >= limits.max_revisions {
            return Err(Error::LimitExceeded {
                limit: "revisions",
                value: out.len() as u64 + 1,
                max: limits.max_revisions as u64,
            });
        }
        let mut section = read_section(src, off)?;
        // Hybrid file: the table's trailer points at a stream with the compressed objects.
        if section.kind == SectionKind::Table {
            if let Some(stm_off) = section.trailer.get_int("XRefStm") {
                let stm_off = u64::try_from(stm_off).map_err(|_| Error::Malformed {
                    offset: off,
                    what: "bad /XRefStm",
                })?;
                if seen.insert(stm_off) {
                    let extra = read_section(src, stm_off)?;
                    for (num, e) in extra.entries {
                        let slot = section.entries.entry(num).or_insert(Entry::Free);
                        if *slot == Entry::Free {
                            *slot = e;
                        }
                    }
                }
            }
        }
        next = match section.trailer.get("Prev") {
            Some(Object::Int(p)) => Some(u64::try_from(*p).map_err(|_| Error::Malformed {
                offset: off,
                what: "negative /Prev",
            })?),
            Some(Object::Real(p)) if p.value().fract() == 0.0 && p.value() >= 0.0 => {
                Some(p.value() as u64)
            }
            _ => None,
        };
        out.push(section);
    }
    Ok(out)
}

fn read_section(src: &Window<'_>, off: u64) -> Result<Section> {
    let head = src.read(off, 32)?;
    let mut lx = Lexer::new(&head, off, src.limits());
    if lx.eat_keyword(b"xref") {
        read_table(src, off)
    } else {
        read_stream_section(src, off)
    }
}

fn read_table(src: &Window<'_>, off: u64) -> Result<Section> {
    let limits = src.limits();
    let data = src.read_object_window(off, |lx| {
        // Parse fully to find the length this section needs; the closure reports truncation.
        parse_table(lx, limits.max_objects).map(|_| ())
    })?;
    let mut lx = Lexer::new(&data, off, limits);
    let (entries, trailer) = parse_table(&mut lx, limits.max_objects)?;
    if trailer.contains("Encrypt") {
        return Err(Error::Encrypted);
    }
    Ok(Section {
        offset: off,
        kind: SectionKind::Table,
        trailer,
        entries,
    })
}

fn parse_table(lx: &mut Lexer<'_>, max_objects: u32) -> Result<(BTreeMap<u32, Entry>, Dict)> {
    if !lx.eat_keyword(b"xref") {
        return Err(Error::Malformed {
            offset: lx.offset(),
            what: "expected 'xref'",
        });
    }
    let mut entries = BTreeMap::new();
    loop {
        if lx.eat_keyword(b"trailer") {
            let offset = lx.offset();
            let trailer = match lx.object()? {
                Object::Dict(d) => d,
                _ => {
                    return Err(Error::Malformed {
                        offset,
                        what: "trailer is not a dictionary",
                    })
                }
            };
            return Ok((entries, trailer));
        }
        let first = lx.unsigned()?;
        let count = lx.unsigned()?;
        let end = first
            .checked_add(count)
            .filter(|&e| e <= u64::from(max_objects) + 1)
            .ok_or(Error::LimitExceeded {
                limit: "object count",
                value: first.saturating_add(count),
                max: max_objects.into(),
            })?;
        for num in first..end {
            let offset = lx.offset();
            let a = lx.unsigned()?;
            let gen = lx.unsigned()?;
            let kind = lx.regular_token();
            let gen = u16::try_from(gen).unwrap_or(u16::MAX);
            let entry = match kind {
                b"n" => Entry::InFile { offset: a, gen },
                b"f" => Entry::Free,
                _ => {
                    return Err(Error::Malformed {
                        offset,
                        what: "bad cross-reference entry",
                    })
                }
            };
            // The first section to name an object within a table wins (later subsections
            // naming it again are malformed; keep the first).
            let num = num as u32;
            entries.entry(num).or_insert(entry);
        }
    }
}

fn read_stream_section(src: &Window<'_>, off: u64) -> Result<Section> {
    let limits = src.limits();
    let (r, body) = src.parse_indirect_at(off)?;
    let Body::Stream { dict, data_offset } = body else {
        return Err(Error::Malformed {
            offset: off,
            what: "startxref does not point at a cross-reference section",
        });
    };
    let _ = r;
    if dict.type_name().is_none_or(|t| t != "XRef") {
        return Err(Error::Malformed {
            offset: off,
            what: "cross-reference stream without /Type /XRef",
        });
    }
    if dict.contains("Encrypt") {
        return Err(Error::Encrypted);
    }
    let len = dict
        .get_int("Length")
        .and_then(|l| u64::try_from(l).ok())
        .ok_or(Error::Malformed {
            offset: off,
            what: "cross-reference stream /Length must be direct",
        })?;
    let raw = src.read_exact(data_offset, len)?;
    let data = crate::filter::decode(&dict, &raw, limits.max_decoded_stream)?;
    let w: Vec<usize> = dict
        .get("W")
        .and_then(Object::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.as_int())
                .map(|v| v.clamp(0, 8) as usize)
                .collect()
        })
        .unwrap_or_default();
    let [w0, w1, w2] = w[..] else {
        return Err(Error::Malformed {
            offset: off,
            what: "cross-reference stream /W must have 3 entries",
        });
    };
    let row = w0 + w1 + w2;
    if row == 0 {
        return Err(Error::Malformed {
            offset: off,
            what: "cross-reference stream /W is empty",
        });
    }
    let size = dict.get_int("Size").unwrap_or(0).max(0);
    let index: Vec<i64> = match dict.get("Index").and_then(Object::as_array) {
        Some(a) => a.iter().filter_map(Object::as_int).collect(),
        None => vec![0, size],
    };
    let mut entries = BTreeMap::new();
    let mut rows = data.chunks_exact(row);
    for pair in index.chunks(2) {
        let [first, count] = pair else { break };
        let (first, count) = (
            u64::try_from(*first).unwrap_or(0),
            u64::try_from(*count).unwrap_or(0),
        );
        if first.saturating_add(count) > u64::from(limits.max_objects) + 1 {
            return Err(Error::LimitExceeded {
                limit: "object count",
                value: first.saturating_add(count),
                max: limits.max_objects.into(),
            });
        }
        for num in first..first + count {
            let Some(r) = rows.next() else { break };
            let (f0, rest) = r.split_at(w0);
            let (f1, f2) = rest.split_at(w1);
            let t = if w0 == 0 { 1 } else { be(f0) };
            let entry = match t {
                0 => Entry::Free,
                1 => Entry::InFile {
                    offset: be(f1),
                    gen: u16::try_from(be(f2)).unwrap_or(u16::MAX),
                },
                2 => Entry::InStream {
                    stream: u32::try_from(be(f1)).unwrap_or(u32::MAX),
                    index: u32::try_from(be(f2)).unwrap_or(u32::MAX),
                },
                _ => continue, // reserved types are ignored, as the spec asks
            };
            entries.entry(num as u32).or_insert(entry);
        }
    }
    Ok(Section {
        offset: off,
        kind: SectionKind::Stream,
        trailer: dict,
        entries,
    })
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}
