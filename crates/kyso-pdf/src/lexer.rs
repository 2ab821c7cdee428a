//! A bounded, panic-free parser for PDF objects (ISO 32000-2 §7.2–7.3) over a byte window.
//!
//! Offsets in errors are absolute: the window knows where it starts in the file.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::object::{Dict, Lexeme, Name, ObjRef, Object, Real};

/// PDF white-space characters (§7.2.3).
pub fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// PDF delimiter characters.
pub fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

/// What follows `num gen obj`: a plain object, or a stream whose data starts at `data_offset`.
#[derive(Debug)]
pub enum Body {
    Object(Object),
    Stream { dict: Dict, data_offset: u64 },
}

/// A cursor over a window of the file.
#[derive(Debug)]
pub struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    limits: &'a Limits,
    /// Keep the source text of reals, escaped names and strings (see [`Lexeme`]).
    lexemes: bool,
}

impl<'a> Lexer<'a> {
    /// `data` is the window, `base` its absolute offset in the file.
    pub fn new(data: &'a [u8], base: u64, limits: &'a Limits) -> Self {
        Lexer {
            data,
            pos: 0,
            base,
            limits,
            lexemes: true,
        }
    }

    /// A lexer that does not keep the source text of tokens: for content streams, whose
    /// operands are interpreted, never written back.
    pub fn without_lexemes(mut self) -> Self {
        self.lexemes = false;
        self
    }

    /// The source text `data[start..pos]` as a lexeme, when lexemes are kept.
    fn lexeme_from(&self, start: usize) -> Lexeme {
        match self.data.get(start..self.pos) {
            Some(t) if self.lexemes => Lexeme::new(t),
            _ => Lexeme::NONE,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    /// Absolute file offset of the cursor.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.data.get(self.pos + k).copied()
    }

    fn malformed(&self, what: &'static str) -> Error {
        Error::Malformed {
            offset: self.offset(),
            what,
        }
    }

    fn truncated(&self, what: &'static str) -> Error {
        Error::Truncated {
            offset: self.offset(),
            what,
        }
    }

    /// Skip white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// If the next token is the keyword `kw`, consume it and return true.
    pub fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let end = self.pos + kw.len();
        if self.data.get(self.pos..end) == Some(kw)
            && self.data.get(end).is_none_or(|&b| !is_regular(b))
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Read a bare keyword/number token without interpreting it.
    pub fn regular_token(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        self.data.get(start..self.pos).unwrap_or_default()
    }

    /// Parse an unsigned integer token; used for xref tables and object headers.
    pub fn unsigned(&mut self) -> Result<u64> {
        self.skip_ws();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| self.malformed("integer too large"))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(if self.at_end() {
                self.truncated("expected an integer")
            } else {
                self.malformed("expected an integer")
            });
        }
        if self.peek().is_some_and(is_regular) {
            return Err(self.malformed("expected an integer"));
        }
        Ok(v)
    }

    /// Parse `num gen obj` and return the reference.
    pub fn object_header(&mut self) -> Result<ObjRef> {
        let num = self.unsigned()?;
        let gen = self.unsigned()?;
        if !self.eat_keyword(b"obj") {
            return Err(self.malformed("expected 'obj'"));
        }
        let num = u32::try_from(num).map_err(|_| self.malformed("object number too large"))?;
        let gen = u16::try_from(gen).map_err(|_| self.malformed("generation number too large"))?;
        Ok(ObjRef { num, gen })
    }

    /// Parse the body of an indirect object (after `obj`): an object, or a stream dictionary and
    /// where its data starts.
    pub fn indirect_body(&mut self) -> Result<Body> {
        let obj = self.object()?;
        let save = self.pos;
        if let Object::Dict(dict) = obj {
            if self.eat_keyword(b"stream") {
                // `stream` is followed by CRLF or LF (a lone CR is tolerated, as readers do).
                match (self.peek(), self.peek_at(1)) {
                    (Some(b'\r'), Some(b'\n')) => self.pos += 2,
                    (Some(b'\n'), _) | (Some(b'\r'), _) => self.pos += 1,
                    (None, _) => return Err(self.truncated("stream data missing")),
                    _ => return Err(self.malformed("'stream' not followed by end of line")),
                }
                return Ok(Body::Stream {
                    dict,
                    data_offset: self.offset(),
                });
            }
            self.pos = save;
            return Ok(Body::Object(Object::Dict(dict)));
        }
        Ok(Body::Object(obj))
    }

    /// Parse one direct object (with `num gen R` recognised as a reference).
    pub fn object(&mut self) -> Result<Object> {
        self.object_at_depth(0)
    }

    fn object_at_depth(&mut self, depth: usize) -> Result<Object> {
        if depth >= self.limits.max_depth {
            return Err(Error::LimitExceeded {
                limit: "nesting depth",
                value: depth as u64,
                max: self.limits.max_depth as u64,
            });
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.truncated("expected an object"));
        };
        match b {
            b'/' => Ok(Object::Name(self.name()?)),
            b'(' => {
                let start = self.pos;
                let (bytes, canonical) = self.literal_string()?;
                Ok(Object::String {
                    bytes,
                    hex: false,
                    lexeme: if canonical {
                        Lexeme::NONE
                    } else {
                        self.lexeme_from(start)
                    },
                })
            }
            b'<' if self.peek_at(1) == Some(b'<') => {
                self.pos += 2;
                Ok(Object::Dict(self.dict_body(depth)?))
            }
            b'<' => {
                let start = self.pos;
                let (bytes, canonical) = self.hex_string()?;
                Ok(Object::String {
                    bytes,
                    hex: true,
                    lexeme: if canonical {
                        Lexeme::NONE
                    } else {
                        self.lexeme_from(start)
                    },
                })
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(self.truncated("unterminated array")),
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => {
                            if items.len() >= self.limits.max_container_len {
                                return Err(Error::LimitExceeded {
                                    limit: "array length",
                                    value: items.len() as u64 + 1,
                                    max: self.limits.max_container_len as u64,
                                });
                            }
                            items.push(self.object_at_depth(depth + 1)?);
                        }
                    }
                }
                Ok(Object::Array(items))
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_ref(),
            _ if is_regular(b) => {
                let start = self.offset();
                let tok = self.regular_token();
                match tok {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => Err(Error::Malformed {
                        offset: start,
                        what: "unexpected keyword",
                    }),
                }
            }
            _ => Err(self.malformed("unexpected delimiter")),
        }
    }

    fn dict_body(&mut self, depth: usize) -> Result<Dict> {
        Ok(self.dict_body_spanning(depth, None)?.0)
    }

    /// The dictionary after `<<`, and the byte span of the (last) value of `span_of`.
    fn dict_body_spanning(
        &mut self,
        depth: usize,
        span_of: Option<&[u8]>,
    ) -> Result<(Dict, Option<(u64, u64)>)> {
        let mut dict = Dict::new();
        let mut span = None;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.truncated("unterminated dictionary")),
                Some(b'>') => {
                    if self.peek_at(1) == Some(b'>') {
                        self.pos += 2;
                        return Ok((dict, span));
                    }
                    return Err(self.malformed("expected '>>'"));
                }
                Some(b'/') => {
                    let key = self.name()?;
                    self.skip_ws();
                    let start = self.offset();
                    let value = self.object_at_depth(depth + 1)?;
                    if span_of == Some(key.as_bytes()) {
                        span = Some((start, self.offset()));
                    }
                    if dict.len() >= self.limits.max_container_len {
                        return Err(Error::LimitExceeded {
                            limit: "dictionary size",
                            value: dict.len() as u64 + 1,
                            max: self.limits.max_container_len as u64,
                        });
                    }
                    // A duplicate key: the last one wins, as most readers do.
                    if let Some(slot) = dict.0.iter_mut().find(|(k, _)| *k == key) {
                        slot.1 = value;
                    } else {
                        dict.0.push((key, value));
                    }
                }
                Some(_) => return Err(self.malformed("dictionary key is not a name")),
            }
        }
    }

    /// Parse a dictionary at the cursor and return the absolute byte span `[start, end)` of the
    /// value of `key` (the last occurrence, as [`Self::object`] keeps the last one), or `None`
    /// when the key is absent. Used by the signature verifier to locate a `/Contents` string in
    /// the raw file.
    pub fn dict_value_span(&mut self, key: &[u8]) -> Result<Option<(u64, u64)>> {
        self.skip_ws();
        if self.peek() != Some(b'<') || self.peek_at(1) != Some(b'<') {
            return Err(self.malformed("expected a dictionary"));
        }
        self.pos += 2;
        Ok(self.dict_body_spanning(0, Some(key))?.1)
    }

    fn number_or_ref(&mut self) -> Result<Object> {
        let start = self.pos;
        let first = self.number()?;
        // `num gen R`: two unsigned integers followed by the keyword R.
        if let Object::Int(num) = first {
            let after_first = self.pos;
            let unsigned_first = self.data.get(start).is_some_and(u8::is_ascii_digit);
            if unsigned_first {
                self.skip_ws();
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    if let Ok(Object::Int(gen)) = self.number() {
                        if self.eat_keyword(b"R") {
                            let num = u32::try_from(num)
                                .map_err(|_| self.malformed("object number too large"))?;
                            let gen = u16::try_from(gen)
                                .map_err(|_| self.malformed("generation number too large"))?;
                            return Ok(Object::Ref(ObjRef { num, gen }));
                        }
                    }
                }
            }
            self.pos = after_first;
        }
        Ok(first)
    }

    fn number(&mut self) -> Result<Object> {
        let start = self.pos;
        let tok = self.regular_token();
        let text = std::str::from_utf8(tok).map_err(|_| self.malformed("bad number"))?;
        if !text.contains('.') {
            // Integers; tolerate absurd lengths by falling back to a real.
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Object::Int(i));
            }
        }
        // Reals: PDF allows forms like `.5`, `-.5`, `5.`; reject exponents and junk.
        let valid = text
            .bytes()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == b'.' || (i == 0 && (c == b'-' || c == b'+')));
        let value = if valid {
            text.parse::<f64>().ok()
        } else {
            None
        };
        match value {
            Some(v) if v.is_finite() => Ok(Object::Real(if self.lexemes {
                Real::with_lexeme(v, tok)
            } else {
                Real::new(v)
            })),
            _ => {
                // `-` or `+.` alone: some writers emit `-` for 0; readers treat it as zero.
                if text.bytes().all(|c| c == b'-' || c == b'+' || c == b'.') && !text.is_empty() {
                    return Ok(Object::Int(0));
                }
                Err(Error::Malformed {
                    offset: self.base + start as u64,
                    what: "bad number",
                })
            }
        }
    }

    /// Parse a name token starting at `/`.
    pub fn name(&mut self) -> Result<Name> {
        self.skip_ws();
        if self.peek() != Some(b'/') {
            return Err(self.malformed("expected a name"));
        }
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        // Whether the writer would spell the name as it is written here (no escapes, no bytes
        // it escapes).
        let mut canonical = true;
        while let Some(b) = self.peek().filter(|&b| is_regular(b)) {
            canonical &= b != b'#' && b.is_ascii_graphic();
            if out.len() >= self.limits.max_token_bytes {
                return Err(Error::LimitExceeded {
                    limit: "name length",
                    value: out.len() as u64,
                    max: self.limits.max_token_bytes as u64,
                });
            }
            if b == b'#' {
                let hi = self.peek_at(1).and_then(hex_val);
                let lo = self.peek_at(2).and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    self.pos += 3;
                    continue;
                }
            }
            out.push(b);
            self.pos += 1;
        }
        Ok(if canonical || !self.lexemes {
            Name::from_bytes(out)
        } else {
            Name::with_lexeme(out, self.data.get(start..self.pos).unwrap_or_default())
        })
    }

    /// The bytes of a literal string, and whether the writer would spell it the same way (no
    /// escapes, parentheses or end-of-line characters inside).
    fn literal_string(&mut self) -> Result<(Vec<u8>, bool)> {
        self.pos += 1; // '('
        let mut out = Vec::new();
        let mut depth = 1usize;
        let mut canonical = true;
        loop {
            if out.len() > self.limits.max_token_bytes {
                return Err(Error::LimitExceeded {
                    limit: "string length",
                    value: out.len() as u64,
                    max: self.limits.max_token_bytes as u64,
                });
            }
            let Some(b) = self.peek() else {
                return Err(self.truncated("unterminated string"));
            };
            self.pos += 1;
            canonical &=
                !matches!(b, b'(' | b')' | b'\\' | b'\r' | b'\n') || (depth == 1 && b == b')');
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok((out, canonical));
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.truncated("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An end-of-line in a string is read as a single LF.
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
    }

    /// The bytes of a hex string, and whether the writer would spell it the same way (upper-case
    /// digits, an even number of them, no white space).
    fn hex_string(&mut self) -> Result<(Vec<u8>, bool)> {
        self.pos += 1; // '<'
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        let mut canonical = true;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.truncated("unterminated hex string"));
            };
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = hi {
                    out.push(h << 4);
                    canonical = false;
                }
                return Ok((out, canonical));
            }
            if is_white(b) {
                canonical = false;
                continue;
            }
            canonical &= !b.is_ascii_lowercase();
            let Some(v) = hex_val(b) else {
                return Err(self.malformed("bad character in hex string"));
            };
            match hi.take() {
                Some(h) => out.push(h << 4 | v),
                None => hi = Some(v),
            }
            if out.len() > self.limits.max_token_bytes {
                return Err(Error::LimitExceeded {
                    limit: "string length",
                    value: out.len() as u64,
                    max: self.limits.max_token_bytes as u64,
                });
            }
        }
    }
}

/// Value of one hexadecimal digit.
pub fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Object> {
        let limits = Limits::default();
        Lexer::new(s.as_bytes(), 0, &limits).object()
    }

    #[test]
    fn dict_value_span_finds_the_raw_value() {
        let limits = Limits::default();
        let src = b"<< /Type /Sig /Contents <0a0B> /X [1 2] /Contents  <00ff> >>";
        let mut lx = Lexer::new(src, 100, &limits);
        let (a, b) = lx.dict_value_span(b"Contents").unwrap().unwrap();
        assert_eq!(&src[(a - 100) as usize..(b - 100) as usize], b"<00ff>");
        let mut lx = Lexer::new(src, 0, &limits);
        assert_eq!(lx.dict_value_span(b"ByteRange").unwrap(), None);
        let mut lx = Lexer::new(b"<< /Contents <00", 0, &limits);
        assert!(lx.dict_value_span(b"Contents").is_err());
    }

    #[test]
    fn scalars() {
        assert_eq!(parse("42").unwrap(), Object::Int(42));
        assert_eq!(parse("-17").unwrap(), Object::Int(-17));
        assert_eq!(parse("+.5").unwrap(), Object::real(0.5));
        assert_eq!(parse("-.25").unwrap(), Object::real(-0.25));
        assert_eq!(parse("3.").unwrap(), Object::real(3.0));
        assert_eq!(parse("true").unwrap(), Object::Bool(true));
        assert_eq!(parse("null").unwrap(), Object::Null);
        assert!(parse("1e5").is_err(), "exponents are not PDF syntax");
    }

    #[test]
    fn references_need_two_unsigned_integers_and_r() {
        assert_eq!(parse("12 0 R").unwrap(), Object::Ref(ObjRef::new(12, 0)));
        assert_eq!(
            parse("[1 2 3 R 4]").unwrap(),
            Object::Array(vec![1.into(), ObjRef::new(2, 3).into(), 4.into()])
        );
        assert_eq!(
            parse("[1 2]").unwrap(),
            Object::Array(vec![1.into(), 2.into()])
        );
        assert_eq!(
            parse("[-1 0 R]").unwrap_err(),
            Error::Malformed {
                offset: 6,
                what: "unexpected keyword"
            }
        );
    }

    #[test]
    fn strings_and_escapes() {
        let o = parse(
            r"(a\(b\)c\n\101\0537(nested) \
x)",
        )
        .unwrap();
        assert_eq!(o.as_string().unwrap(), b"a(b)c\nA+7(nested) x");
        assert_eq!(
            parse("<48 65 6C6C6F7>").unwrap().as_string().unwrap(),
            b"Hello\x70"
        );
        assert!(parse("(unterminated").is_err());
        assert!(parse("<4G>").is_err());
    }

    #[test]
    fn names_decode_hash_escapes() {
        let o = parse("/A#20B#2").unwrap();
        assert_eq!(o.as_name().unwrap().as_bytes(), b"A B#2");
    }

    #[test]
    fn dictionaries_keep_order_and_last_duplicate_wins() {
        let o = parse("<< /Type /Sig /Z 1 /A [ ] /Z 2 >>").unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.get_int("Z"), Some(2));
        assert_eq!(d.0[0].0, Name::new("Type"));
    }

    #[test]
    fn nesting_depth_is_limited() {
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert!(matches!(
            parse(&deep),
            Err(Error::LimitExceeded {
                limit: "nesting depth",
                ..
            })
        ));
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn container_length_is_limited() {
        let limits = Limits {
            max_container_len: 3,
            ..Limits::default()
        };
        let mut lx = Lexer::new(b"[1 2 3 4]", 0, &limits);
        assert!(matches!(
            lx.object(),
            Err(Error::LimitExceeded {
                limit: "array length",
                ..
            })
        ));
        let mut lx = Lexer::new(b"[1 2 3]", 0, &limits);
        assert!(lx.object().is_ok());
    }

    #[test]
    fn stream_body_reports_data_offset() {
        let limits = Limits::default();
        let src = b"7 0 obj\n<< /Length 3 >>\nstream\r\nabc\nendstream\nendobj";
        let mut lx = Lexer::new(src, 100, &limits);
        assert_eq!(lx.object_header().unwrap(), ObjRef::new(7, 0));
        match lx.indirect_body().unwrap() {
            Body::Stream { dict, data_offset } => {
                assert_eq!(dict.get_int("Length"), Some(3));
                assert_eq!(data_offset, 100 + 32);
            }
            other => panic!("expected a stream, got {other:?}"),
        }
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        for s in ["<<", "<< /A", "[1 2", "(", "<", "/", "1 0", "<< /A 1 >"] {
            let _ = parse(s); // must not panic
        }
        assert!(matches!(parse("<< /A 1"), Err(Error::Truncated { .. })));
    }
}
