//! Stream filters needed to read structure and text: FlateDecode (with PNG/TIFF predictors),
//! ASCIIHexDecode, ASCII85Decode, LZWDecode. Every decoder stops at `max_out` bytes.

use std::io::Read;

use crate::error::{Error, Result};
use crate::object::{Dict, Object};

fn limit(value: u64, max: u64) -> Error {
    Error::LimitExceeded {
        limit: "decoded stream size",
        value,
        max,
    }
}

/// Decode `data` through the filters named in `dict` (`/Filter`, `/DecodeParms`).
pub fn decode(dict: &Dict, data: &[u8], max_out: u64) -> Result<Vec<u8>> {
    let filters: Vec<&Object> = match dict.get("Filter") {
        None | Some(Object::Null) => return Ok(data.to_vec()),
        Some(Object::Array(a)) => a.iter().collect(),
        Some(o) => vec![o],
    };
    let parms: Vec<Option<&Dict>> = match dict.get("DecodeParms") {
        Some(Object::Array(a)) => a.iter().map(Object::as_dict).collect(),
        Some(o) => vec![o.as_dict()],
        None => Vec::new(),
    };
    let mut cur = data.to_vec();
    for (i, f) in filters.iter().enumerate() {
        let name = f.as_name().ok_or(Error::WrongType {
            expected: "name",
            context: "/Filter",
        })?;
        let parm = parms.get(i).copied().flatten();
        cur = match name.as_bytes() {
            b"FlateDecode" | b"Fl" => predict(parm, inflate(&cur, max_out)?)?,
            b"LZWDecode" | b"LZW" => {
                let early = parm.and_then(|p| p.get_int("EarlyChange")).unwrap_or(1) != 0;
                predict(parm, lzw(&cur, early, max_out)?)?
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&cur)?,
            b"ASCII85Decode" | b"A85" => ascii85(&cur)?,
            _ => return Err(Error::Unsupported("stream filter")),
        };
        if cur.len() as u64 > max_out {
            return Err(limit(cur.len() as u64, max_out));
        }
    }
    Ok(cur)
}

/// zlib inflate with an output cap. Truncated or slightly corrupt streams yield what decoded.
pub fn inflate(data: &[u8], max_out: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(max_out.saturating_add(1));
    match dec.read_to_end(&mut out) {
        Ok(_) => {}
        Err(_) if !out.is_empty() => {}
        Err(_) => {
            // Some writers emit raw deflate without the zlib header.
            out.clear();
            let mut raw = flate2::read::DeflateDecoder::new(data).take(max_out.saturating_add(1));
            raw.read_to_end(&mut out).map_err(|_| Error::Malformed {
                offset: 0,
                what: "corrupt FlateDecode stream",
            })?;
        }
    }
    if out.len() as u64 > max_out {
        return Err(limit(out.len() as u64, max_out));
    }
    Ok(out)
}

fn predict(parm: Option<&Dict>, data: Vec<u8>) -> Result<Vec<u8>> {
    let Some(p) = parm else { return Ok(data) };
    let predictor = p.get_int("Predictor").unwrap_or(1);
    if predictor < 10 {
        if predictor == 2 {
            return Err(Error::Unsupported("TIFF predictor"));
        }
        return Ok(data);
    }
    let colors = p.get_int("Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = p.get_int("BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let columns = p.get_int("Columns").unwrap_or(1).clamp(1, 1 << 24) as usize;
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row_len = (colors * bpc * columns).div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let Some((&kind, row)) = chunk.split_first() else {
            break;
        };
        let mut cur = vec![0u8; row_len];
        for (i, &x) in row.iter().enumerate() {
            let a = if i >= bpp {
                cur.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let b = prev.get(i).copied().unwrap_or(0);
            let c = if i >= bpp {
                prev.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let v = match kind {
                0 => x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(b),
                3 => x.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => x.wrapping_add(paeth(a, b, c)),
                _ => {
                    return Err(Error::Malformed {
                        offset: 0,
                        what: "bad PNG predictor row",
                    })
                }
            };
            if let Some(slot) = cur.get_mut(i) {
                *slot = v;
            }
        }
        out.extend_from_slice(cur.get(..row.len()).unwrap_or_default());
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn ascii_hex(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut hi = None;
    for &b in data {
        if b == b'>' {
            break;
        }
        if crate::lexer::is_white(b) {
            continue;
        }
        let v = crate::lexer::hex_val(b).ok_or(Error::Malformed {
            offset: 0,
            what: "bad ASCIIHex data",
        })?;
        match hi.take() {
            Some(h) => out.push(h << 4 | v),
            None => hi = Some(v),
        }
    }
    if let Some(h) = hi {
        out.push(h << 4);
    }
    Ok(out)
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group = [0u8; 5];
    let mut n = 0;
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                if let Some(slot) = group.get_mut(n) {
                    *slot = b - b'!';
                }
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                    let v = u32::try_from(v).map_err(|_| Error::Malformed {
                        offset: 0,
                        what: "bad ASCII85 data",
                    })?;
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ if crate::lexer::is_white(b) => {}
            _ => {
                return Err(Error::Malformed {
                    offset: 0,
                    what: "bad ASCII85 data",
                })
            }
        }
    }
    if n > 1 {
        for slot in group.iter_mut().skip(n) {
            *slot = 84;
        }
        let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        let bytes = (v as u32).to_be_bytes();
        out.extend_from_slice(bytes.get(..n - 1).unwrap_or_default());
    }
    Ok(out)
}

fn lzw(data: &[u8], early: bool, max_out: u64) -> Result<Vec<u8>> {
    let mut table: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    table.push(Vec::new()); // 256 clear
    table.push(Vec::new()); // 257 eod
    let mut out = Vec::new();
    let mut width = 9u32;
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut prev: Option<Vec<u8>> = None;
    for &byte in data {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= width {
            let code = ((acc >> (bits - width)) & ((1 << width) - 1)) as usize;
            bits -= width;
            if code == 256 {
                table.truncate(258);
                width = 9;
                prev = None;
                continue;
            }
            if code == 257 {
                return Ok(out);
            }
            let entry = match (table.get(code), &prev) {
                (Some(e), _) if code < table.len() => e.clone(),
                (_, Some(p)) if code == table.len() => {
                    let mut e = p.clone();
                    e.push(p.first().copied().unwrap_or(0));
                    e
                }
                _ => {
                    return Err(Error::Malformed {
                        offset: 0,
                        what: "bad LZW code",
                    })
                }
            };
            out.extend_from_slice(&entry);
            if out.len() as u64 > max_out {
                return Err(limit(out.len() as u64, max_out));
            }
            if let Some(mut p) = prev.take() {
                if table.len() < 4096 {
                    p.push(entry.first().copied().unwrap_or(0));
                    table.push(p);
                }
            }
            prev = Some(entry);
            let next = table.len() + usize::from(early);
            width = if next >= 2048 {
                12
            } else if next >= 1024 {
                11
            } else if next >= 512 {
                10
            } else {
                9
            };
        }
    }
    Ok(out)
}

/// zlib-compress `data` (for the streams we write).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flate_round_trip_and_cap() {
        let data = b"hello hello hello hello".repeat(100);
        let z = deflate(&data);
        let mut d = Dict::new();
        d.set("Filter", Object::name("FlateDecode"));
        assert_eq!(decode(&d, &z, 1 << 20).unwrap(), data);
        assert!(matches!(
            decode(&d, &z, 100),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn zip_bomb_is_stopped_at_the_cap() {
        let bomb = deflate(&vec![0u8; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            inflate(&bomb, 1024 * 1024),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn png_up_predictor() {
        // two rows of 3 columns, filter type 2 (Up)
        let raw = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let mut p = Dict::new();
        p.set("Predictor", 12);
        p.set("Columns", 3);
        assert_eq!(
            predict(Some(&p), raw.to_vec()).unwrap(),
            vec![1, 2, 3, 2, 3, 4]
        );
    }

    #[test]
    fn ascii_filters() {
        assert_eq!(ascii_hex(b"48 656c6c6f>").unwrap(), b"Hello");
        assert_eq!(ascii85(b"<~87cURDZ~>").unwrap(), b"Hello");
    }

    #[test]
    fn lzw_example_from_the_spec() {
        // ISO 32000 §7.4.4.2 example: 45 45 45 45 45 65 45 45 45 66
        let enc = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(
            lzw(&enc, true, 1000).unwrap(),
            vec![45, 45, 45, 45, 45, 65, 45, 45, 45, 66]
        );
    }
}
