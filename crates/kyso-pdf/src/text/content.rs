//! Content streams (ISO 32000-2 §7.8.2, §8.4, §9.3–9.4): a tokenizer on top of the object
//! lexer, and an interpreter of the operators that place text.
//!
//! The interpreter tracks the current transformation matrix (`q Q cm`), the text state
//! (`Tf Tc Tw Tz TL Ts`) and the text and line matrices (`BT ET Tm Td TD T*`), shows strings
//! (`Tj TJ ' "`), and runs form XObjects (`Do`) with their `/Matrix` and `/Resources`.
//! Everything else (paths, colours, images) is ignored; inline images (`BI … ID … EI`) are
//! skipped. Work is bounded by [`Limits`]: operators per page, `q` nesting, form nesting and
//! decoded content bytes; a form that (directly or not) draws itself is skipped.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::lexer::{is_delim, is_white, Lexer};
use crate::limits::Limits;
use crate::object::{Dict, ObjRef, Object};

use super::fonts::Font;
use super::{Glyph, Resolver};

/// One token of a content stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    /// An operand (number, string, name, array, dictionary, boolean, null).
    Operand(Object),
    /// An operator keyword (or a stray delimiter, which no operator matches).
    Operator(&'a [u8]),
}

/// Splits a content stream into operands and operators. Malformed operands become unknown
/// operators (so they are dropped) instead of stopping the page.
#[derive(Debug)]
pub struct Tokenizer<'a> {
    data: &'a [u8],
    lx: Lexer<'a>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(data: &'a [u8], limits: &'a Limits) -> Self {
        Tokenizer {
            data,
            lx: Lexer::new(data, 0, limits).without_lexemes(),
        }
    }

    /// The next token, `None` at the end.
    pub fn next_token(&mut self) -> Result<Option<Token<'a>>> {
        self.lx.skip_ws();
        let start = self.lx.pos();
        let Some(&b) = self.data.get(start) else {
            return Ok(None);
        };
        let operand_start =
            matches!(b, b'/' | b'(' | b'<' | b'[' | b'+' | b'-' | b'.') || b.is_ascii_digit();
        if operand_start {
            match self.lx.object() {
                Ok(o) => return Ok(Some(Token::Operand(o))),
                Err(e @ Error::LimitExceeded { .. }) => return Err(e),
                Err(_) => {
                    // Resynchronise: drop the bad token (a run of regular bytes, or one byte).
                    self.lx.set_pos(start);
                    let tok = self.lx.regular_token();
                    if tok.is_empty() {
                        self.lx.set_pos(start + 1);
                    }
                    let end = self.lx.pos();
                    return Ok(Some(Token::Operator(
                        self.data.get(start..end).unwrap_or_default(),
                    )));
                }
            }
        }
        if is_delim(b) {
            // `]`, `>`, `)`, `{`, `}` out of place.
            self.lx.set_pos(start + 1);
            return Ok(Some(Token::Operator(
                self.data.get(start..start + 1).unwrap_or_default(),
            )));
        }
        let tok = self.lx.regular_token();
        Ok(Some(match tok {
            b"true" => Token::Operand(Object::Bool(true)),
            b"false" => Token::Operand(Object::Bool(false)),
            b"null" => Token::Operand(Object::Null),
            _ => Token::Operator(tok),
        }))
    }

    /// After `ID`: skip the inline image data up to and including `EI` (a white-space-delimited
    /// `EI`). Without one, skip to the end.
    pub fn skip_inline_image_data(&mut self) {
        let mut pos = self.lx.pos();
        // One white-space byte separates `ID` from the data.
        if self.data.get(pos).copied().is_some_and(is_white) {
            pos += 1;
        }
        let mut i = pos;
        while let Some(window) = self.data.get(i..i + 2) {
            if window == b"EI"
                && (i == pos || self.data.get(i - 1).copied().is_some_and(is_white))
                && self
                    .data
                    .get(i + 2)
                    .is_none_or(|&c| is_white(c) || is_delim(c))
            {
                self.lx.set_pos(i + 2);
                return;
            }
            i += 1;
        }
        self.lx.set_pos(self.data.len());
    }
}

/// A `TJ` adjustment (thousandths of an em) moving right by at least this is a word break.
pub const WORD_ADJUSTMENT: f64 = 180.0;

/// A 2-D affine matrix `[a b c d e f]` (row-vector convention of §8.3.4).
pub type Matrix = [f64; 6];

pub const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m1 × m2`: apply `m1` first, then `m2`.
pub fn mul(m1: &Matrix, m2: &Matrix) -> Matrix {
    let [a1, b1, c1, d1, e1, f1] = *m1;
    let [a2, b2, c2, d2, e2, f2] = *m2;
    [
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    ]
}

/// The point `(x, y)` transformed by `m`.
pub fn apply(m: &Matrix, x: f64, y: f64) -> [f64; 2] {
    let [a, b, c, d, e, f] = *m;
    [a * x + c * y + e, b * x + d * y + f]
}

/// The vector `(x, y)` transformed by the linear part of `m`.
pub fn apply_vec(m: &Matrix, x: f64, y: f64) -> [f64; 2] {
    let [a, b, c, d, _, _] = *m;
    [a * x + c * y, b * x + d * y]
}

fn matrix_of(operands: &[Object]) -> Option<Matrix> {
    let mut m = [0.0; 6];
    if operands.len() != 6 {
        return None;
    }
    for (slot, o) in m.iter_mut().zip(operands) {
        *slot = o.as_f64().filter(|v| v.is_finite())?;
    }
    Some(m)
}

#[derive(Debug, Clone)]
struct GState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    font_size: f64,
    char_spacing: f64,
    word_spacing: f64,
    h_scale: f64,
    leading: f64,
    rise: f64,
}

impl GState {
    fn new(ctm: Matrix) -> Self {
        GState {
            ctm,
            font: None,
            font_size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            h_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FontKey {
    Ref(ObjRef),
    Local(usize, Vec<u8>),
}

/// The state of one page's interpretation.
pub(crate) struct Interpreter<'r> {
    resolver: &'r dyn Resolver,
    limits: &'r Limits,
    ops: u64,
    content_bytes: u64,
    fonts: HashMap<FontKey, Rc<Font>>,
    unknown: Option<Rc<Font>>,
    /// Resource dictionaries in use, so that direct font dictionaries can be cached per scope.
    scopes: usize,
    /// Forms being run (cycle guard).
    form_stack: Vec<ObjRef>,
    pub(crate) glyphs: Vec<Glyph>,
    /// Where images are painted (image XObjects and inline images): the unit square under the
    /// CTM, as `[x0, y0, x1, y1]` in the starting space (default user space for a page).
    pub(crate) images: Vec<[f64; 4]>,
    /// The same images with what was drawn: the CTM and the image's dictionary.
    pub(crate) image_draws: Vec<ImageDraw>,
}

/// An image painted on a page: the CTM it was painted with (the image fills the unit square
/// of that space, so its displayed size is the CTM's columns) and its dictionary — an image
/// XObject's stream dictionary, or an inline image's as written (abbreviated keys such as
/// `/W`, `/H`, `/BPC`, `/CS`, `/IM` are kept as they are).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDraw {
    pub ctm: Matrix,
    pub dict: Dict,
    pub inline: bool,
}

impl std::fmt::Debug for Interpreter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("ops", &self.ops)
            .field("glyphs", &self.glyphs.len())
            .finish()
    }
}

fn limit(limit: &'static str, value: u64, max: u64) -> Error {
    Error::LimitExceeded { limit, value, max }
}

impl<'r> Interpreter<'r> {
    pub(crate) fn new(resolver: &'r dyn Resolver, limits: &'r Limits) -> Self {
        Interpreter {
            resolver,
            limits,
            ops: 0,
            content_bytes: 0,
            fonts: HashMap::new(),
            unknown: None,
            scopes: 0,
            form_stack: Vec::new(),
            glyphs: Vec::new(),
            images: Vec::new(),
            image_draws: Vec::new(),
        }
    }

    fn count_bytes(&mut self, n: usize) -> Result<()> {
        self.content_bytes = self.content_bytes.saturating_add(n as u64);
        if self.content_bytes > self.limits.max_content_bytes {
            return Err(limit(
                "decoded content bytes",
                self.content_bytes,
                self.limits.max_content_bytes,
            ));
        }
        Ok(())
    }

    /// Run a content stream with `resources` and an initial CTM.
    pub(crate) fn run(&mut self, content: &[u8], resources: &Dict, ctm: Matrix) -> Result<()> {
        self.run_with(content, resources, GState::new(ctm))
    }

    /// Run a content stream starting from a graphics state (a form inherits its caller's).
    fn run_with(&mut self, content: &[u8], resources: &Dict, initial: GState) -> Result<()> {
        self.count_bytes(content.len())?;
        self.scopes += 1;
        let scope = self.scopes;
        let limits = self.limits;
        let mut tk = Tokenizer::new(content, limits);
        let mut gs = initial;
        let mut stack: Vec<GState> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut operands: Vec<Object> = Vec::new();
        while let Some(tok) = tk.next_token()? {
            let op = match tok {
                Token::Operand(o) => {
                    // Garbage without operators must not grow memory without bound.
                    if operands.len() >= 64 {
                        operands.clear();
                    }
                    operands.push(o);
                    continue;
                }
                Token::Operator(op) => op,
            };
            self.ops += 1;
            if self.ops > limits.max_content_ops {
                return Err(limit("content operators", self.ops, limits.max_content_ops));
            }
            let num = |i: usize| -> Option<f64> {
                operands
                    .get(i)
                    .and_then(Object::as_f64)
                    .filter(|v| v.is_finite())
            };
            match op {
                b"q" => {
                    if stack.len() >= limits.max_graphics_depth {
                        return Err(limit(
                            "graphics state nesting",
                            stack.len() as u64 + 1,
                            limits.max_graphics_depth as u64,
                        ));
                    }
                    stack.push(gs.clone());
                }
                b"Q" => {
                    if let Some(saved) = stack.pop() {
                        gs = saved;
                    }
                }
                b"cm" => {
                    if let Some(m) = matrix_of(&operands) {
                        gs.ctm = mul(&m, &gs.ctm);
                    }
                }
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"ET" => {}
                b"Tf" => {
                    if let (Some(Object::Name(name)), Some(size)) = (operands.first(), num(1)) {
                        gs.font_size = size;
                        gs.font = Some(self.font(resources, scope, name.as_bytes())?);
                    }
                }
                b"Tc" => gs.char_spacing = num(0).unwrap_or(gs.char_spacing),
                b"Tw" => gs.word_spacing = num(0).unwrap_or(gs.word_spacing),
                b"Tz" => gs.h_scale = num(0).map_or(gs.h_scale, |v| v / 100.0),
                b"TL" => gs.leading = num(0).unwrap_or(gs.leading),
                b"Ts" => gs.rise = num(0).unwrap_or(gs.rise),
                b"Tm" => {
                    if let Some(m) = matrix_of(&operands) {
                        tm = m;
                        tlm = m;
                    }
                }
                b"Td" | b"TD" => {
                    if let (Some(tx), Some(ty)) = (num(0), num(1)) {
                        if op == b"TD" {
                            gs.leading = -ty;
                        }
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &tlm);
                        tm = tlm;
                    }
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(s) = operands.first().and_then(Object::as_string) {
                        self.show(&gs, &mut tm, s, false)?;
                    }
                }
                b"'" | b"\"" => {
                    let s = if op == b"\"" {
                        gs.word_spacing = num(0).unwrap_or(gs.word_spacing);
                        gs.char_spacing = num(1).unwrap_or(gs.char_spacing);
                        operands.get(2)
                    } else {
                        operands.first()
                    };
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                    if let Some(s) = s.and_then(Object::as_string) {
                        self.show(&gs, &mut tm, s, false)?;
                    }
                }
                b"TJ" => {
                    if let Some(items) = operands.first().and_then(Object::as_array) {
                        let mut space_before = false;
                        for item in items {
                            match item {
                                Object::String { bytes, .. } => {
                                    self.show(&gs, &mut tm, bytes, space_before)?;
                                    space_before = false;
                                }
                                other => {
                                    let adj = other.as_f64().filter(|v| v.is_finite());
                                    let adj = adj.unwrap_or(0.0);
                                    let tx = -adj / 1000.0 * gs.font_size * gs.h_scale;
                                    tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                                    // A move right of about a quarter em separates words
                                    // (pdfTeX writes exactly -250 for a Times space).
                                    if adj <= -WORD_ADJUSTMENT {
                                        space_before = true;
                                    }
                                }
                            }
                        }
                    }
                }
                b"Do" => {
                    if let Some(Object::Name(name)) = operands.first() {
                        self.form(resources, name.as_bytes(), &gs)?;
                    }
                }
                b"BI" => {
                    // Inline image dictionary up to `ID`, then the data up to `EI`.
                    let mut dict = Dict::new();
                    let mut key: Option<String> = None;
                    loop {
                        match tk.next_token()? {
                            None => break,
                            Some(Token::Operator(b"ID")) => {
                                tk.skip_inline_image_data();
                                break;
                            }
                            Some(Token::Operator(_)) => {
                                self.ops += 1;
                                if self.ops > limits.max_content_ops {
                                    return Err(limit(
                                        "content operators",
                                        self.ops,
                                        limits.max_content_ops,
                                    ));
                                }
                            }
                            Some(Token::Operand(o)) => match (key.take(), o) {
                                (None, Object::Name(n)) => key = Some(n.as_str().into_owned()),
                                (Some(k), v) => {
                                    if dict.len() < 64 {
                                        dict.set(&k, v);
                                    }
                                }
                                (None, _) => {}
                            },
                        }
                    }
                    self.image(&gs.ctm, dict, true);
                }
                _ => {}
            }
            operands.clear();
        }
        Ok(())
    }

    /// Show a string: one glyph per code, advancing the text matrix (§9.4.4).
    fn show(
        &mut self,
        gs: &GState,
        tm: &mut Matrix,
        bytes: &[u8],
        mut space_before: bool,
    ) -> Result<()> {
        let font = match &gs.font {
            Some(f) => Rc::clone(f),
            None => self.unknown_font(),
        };
        let tfs = gs.font_size;
        let th = gs.h_scale;
        for d in font.decode(bytes) {
            let trm = mul(&mul(&[tfs * th, 0.0, 0.0, tfs, 0.0, gs.rise], tm), &gs.ctm);
            let origin = apply(&trm, 0.0, 0.0);
            let end = apply(&trm, d.advance, 0.0);
            let along = apply_vec(&trm, 1.0, 0.0);
            let up = apply_vec(&trm, 0.0, 1.0);
            // Mirrored text (glyphs' "up" on the right of the baseline direction) hangs below.
            let mirror = if along[0] * up[1] - along[1] * up[0] < 0.0 {
                -1.0
            } else {
                1.0
            };
            let len = along[0].hypot(along[1]);
            let size = up[0].hypot(up[1]);
            if len > 1e-9 && size > 1e-9 && size.is_finite() && !d.text.is_empty() {
                if self.glyphs.len() >= self.limits.max_page_glyphs {
                    return Err(limit(
                        "glyphs on a page",
                        self.glyphs.len() as u64 + 1,
                        self.limits.max_page_glyphs as u64,
                    ));
                }
                self.glyphs.push(Glyph {
                    text: d.text.clone(),
                    origin,
                    end,
                    dir: [along[0] / len, along[1] / len],
                    font_size: size,
                    ascent: font.ascent * size * mirror,
                    descent: font.descent * size * mirror,
                    space_before,
                });
                space_before = false;
            }
            let spacing = gs.char_spacing
                + if d.is_word_space {
                    gs.word_spacing
                } else {
                    0.0
                };
            let tx = (d.advance * tfs + spacing) * th;
            *tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], tm);
        }
        Ok(())
    }

    /// Record an image painted with `ctm` (it fills the unit square of its space).
    fn image(&mut self, ctm: &Matrix, dict: Dict, inline: bool) {
        if self.images.len() >= self.limits.max_page_glyphs {
            return;
        }
        let corners = [
            apply(ctm, 0.0, 0.0),
            apply(ctm, 1.0, 0.0),
            apply(ctm, 0.0, 1.0),
            apply(ctm, 1.0, 1.0),
        ];
        let xs = corners.map(|c| c[0]);
        let ys = corners.map(|c| c[1]);
        let b = [
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ];
        if b.iter().all(|v| v.is_finite()) {
            self.images.push(b);
            self.image_draws.push(ImageDraw {
                ctm: *ctm,
                dict,
                inline,
            });
        }
    }

    /// The stand-in for missing fonts, built once per page.
    fn unknown_font(&mut self) -> Rc<Font> {
        Rc::clone(self.unknown.get_or_insert_with(|| Rc::new(Font::unknown())))
    }

    fn font(&mut self, resources: &Dict, scope: usize, name: &[u8]) -> Result<Rc<Font>> {
        let r = self.resolver;
        let fonts = match resources.get("Font") {
            Some(o) => r.resolve(o)?,
            None => Object::Null,
        };
        let entry = fonts
            .as_dict()
            .and_then(|d| d.iter().find(|(k, _)| k.as_bytes() == name))
            .map(|(_, v)| v.clone());
        let Some(entry) = entry else {
            return Ok(self.unknown_font());
        };
        let key = match entry.as_ref() {
            Some(r) => FontKey::Ref(r),
            None => FontKey::Local(scope, name.to_vec()),
        };
        if let Some(f) = self.fonts.get(&key) {
            return Ok(Rc::clone(f));
        }
        // A broken font (bad CMap stream, wrong types) still shows text, just less well; only
        // limits stop the page.
        let font = match r.resolve(&entry) {
            Ok(Object::Dict(d)) => match Font::load(r, &d, self.limits) {
                Ok(f) => f,
                Err(e @ Error::LimitExceeded { .. }) => return Err(e),
                Err(_) => Font::unknown(),
            },
            Ok(_) => Font::unknown(),
            Err(e @ Error::LimitExceeded { .. }) => return Err(e),
            Err(_) => Font::unknown(),
        };
        let font = Rc::new(font);
        if self.fonts.len() < 4096 {
            self.fonts.insert(key, Rc::clone(&font));
        }
        Ok(font)
    }

    /// `Do`: run a form XObject; images and unknown names are ignored.
    fn form(&mut self, resources: &Dict, name: &[u8], caller: &GState) -> Result<()> {
        let r = self.resolver;
        let xobjects = match resources.get("XObject") {
            Some(o) => r.resolve(o)?,
            None => Object::Null,
        };
        let Some(entry) = xobjects
            .as_dict()
            .and_then(|d| d.iter().find(|(k, _)| k.as_bytes() == name))
            .map(|(_, v)| v.clone())
        else {
            return Ok(());
        };
        let id = entry.as_ref();
        if let Some(id) = id {
            if self.form_stack.contains(&id) {
                return Ok(()); // A form that draws itself: skip the cycle.
            }
        }
        let Object::Stream(stream) = r.resolve(&entry)? else {
            return Ok(());
        };
        if stream
            .dict
            .get_name("Subtype")
            .is_some_and(|s| s == "Image")
        {
            self.image(&caller.ctm, stream.dict.clone(), false);
            return Ok(());
        }
        if stream.dict.get_name("Subtype").is_none_or(|s| s != "Form") {
            return Ok(());
        }
        if self.form_stack.len() >= self.limits.max_form_depth {
            return Err(limit(
                "form XObject nesting",
                self.form_stack.len() as u64 + 1,
                self.limits.max_form_depth as u64,
            ));
        }
        let matrix = match stream.dict.get("Matrix") {
            Some(m) => match r.resolve(m)? {
                Object::Array(a) => {
                    let nums: Option<Vec<Object>> = a.iter().map(|o| r.resolve(o).ok()).collect();
                    nums.and_then(|n| matrix_of(&n)).unwrap_or(IDENTITY)
                }
                _ => IDENTITY,
            },
            None => IDENTITY,
        };
        let form_resources = match stream.dict.get("Resources") {
            Some(o) => match r.resolve(o)? {
                Object::Dict(d) => d,
                _ => resources.clone(),
            },
            None => resources.clone(),
        };
        let data = match r.stream_data(&stream) {
            Ok(d) => d,
            Err(e @ Error::LimitExceeded { .. }) => return Err(e),
            Err(_) => return Ok(()), // An undecodable form draws nothing.
        };
        // Direct (unreferenced) forms cannot cycle; depth still bounds them.
        self.form_stack.push(id.unwrap_or(ObjRef::new(0, u16::MAX)));
        let mut gs = caller.clone();
        gs.ctm = mul(&matrix, &caller.ctm);
        let result = self.run_with(&data, &form_resources, gs);
        self.form_stack.pop();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{Stream, StreamData};
    use crate::text::interpret_content;

    fn tokens(s: &str) -> Vec<String> {
        let limits = Limits::default();
        let mut tk = Tokenizer::new(s.as_bytes(), &limits);
        let mut out = Vec::new();
        while let Some(t) = tk.next_token().unwrap() {
            out.push(match t {
                Token::Operand(o) => format!("{o:?}"),
                Token::Operator(op) => String::from_utf8_lossy(op).into_owned(),
            });
        }
        out
    }

    #[test]
    fn tokenizer_separates_operands_and_operators() {
        assert_eq!(
            tokens("BT /F1 12 Tf 1 0 0 1 72 700 Tm [(A) -250 (B)] TJ ET"),
            [
                "BT",
                "/F1",
                "12",
                "Tf",
                "1",
                "0",
                "0",
                "1",
                "72",
                "700",
                "Tm",
                "[(A), -250, (B)]",
                "TJ",
                "ET"
            ]
        );
        // `0 0 1 RG` is not a reference; `'` and `"` are operators.
        assert_eq!(tokens("0 0 1 RG (x) ' "), ["0", "0", "1", "RG", "(x)", "'"]);
        // Junk becomes unknown operators instead of an error.
        assert_eq!(tokens("1.2.3 ] } (a"), ["1.2.3", "]", "}", "(", "a"]);
    }

    #[test]
    fn inline_images_are_skipped() {
        let s = b"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00EI\xffBT ET\n EI Q";
        let limits = Limits::default();
        let mut tk = Tokenizer::new(s, &limits);
        assert_eq!(tk.next_token().unwrap(), Some(Token::Operator(b"BI")));
        while tk.next_token().unwrap() != Some(Token::Operator(b"ID")) {}
        tk.skip_inline_image_data();
        assert_eq!(tk.next_token().unwrap(), Some(Token::Operator(b"Q")));
    }

    /// Resources with one WinAnsi Courier font named /F1 (every glyph 600/1000 em wide).
    fn courier() -> Dict {
        let mut fonts = Dict::new();
        let mut f = Dict::new();
        f.set("Type", Object::name("Font"));
        f.set("Subtype", Object::name("Type1"));
        f.set("BaseFont", Object::name("Courier"));
        f.set("Encoding", Object::name("WinAnsiEncoding"));
        fonts.set("F1", f);
        let mut res = Dict::new();
        res.set("Font", fonts);
        res
    }

    fn run(content: &str) -> Vec<Glyph> {
        interpret_content(content.as_bytes(), &courier(), &Limits::default()).unwrap()
    }

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn td_moves_the_line_matrix_and_glyphs_advance_by_their_width() {
        // 10 pt Courier: each glyph advances 6 pt.
        let g = run("BT /F1 10 Tf 100 700 Td (AB) Tj 0 -20 Td (C) Tj ET");
        assert_eq!(g.len(), 3);
        assert!(close(g[0].origin, [100.0, 700.0]));
        assert!(close(g[0].end, [106.0, 700.0]));
        assert!(close(g[1].origin, [106.0, 700.0]));
        // Td is relative to the start of the line, not to where the text ended.
        assert!(close(g[2].origin, [100.0, 680.0]));
        assert!((g[0].font_size - 10.0).abs() < 1e-9);
    }

    #[test]
    fn tj_adjustments_spacing_and_scaling() {
        // -500 thousandths at 10 pt move right by 5 pt and mark a word break.
        let g = run("BT /F1 10 Tf 0 0 Td [(A) -250 (B) -100 (C)] TJ ET");
        assert!(g[1].space_before, "pdfTeX's Times space");
        assert!(!g[2].space_before, "kerning");
        let g = run("BT /F1 10 Tf 0 0 Td [(A) -500 (B) 100 (C)] TJ ET");
        assert!(close(g[1].origin, [11.0, 0.0]));
        assert!(g[1].space_before);
        assert!(close(g[2].origin, [16.0, 0.0]));
        assert!(!g[2].space_before);
        // Tc after every glyph, Tw after single-byte spaces, all scaled by Tz.
        let g = run("BT /F1 10 Tf 2 Tc 3 Tw 50 Tz (A B) Tj ET");
        assert!(close(g[1].origin, [4.0, 0.0]));
        assert!(close(
            g[2].origin,
            [(6.0 + 2.0 + 6.0 + 2.0 + 3.0) * 0.5, 0.0]
        ));
    }

    #[test]
    fn leading_and_quote_operators() {
        let g = run("BT /F1 10 Tf 14 TL 50 500 Td (A) Tj T* (B) Tj (C) ' 1 2 (D) \" ET");
        assert!(close(g[1].origin, [50.0, 486.0]));
        assert!(close(g[2].origin, [50.0, 472.0]));
        assert!(close(g[3].origin, [50.0, 458.0]));
        let g = run("BT /F1 10 Tf 0 0 Td 0 -15 TD (A) Tj T* (B) Tj ET");
        assert!(close(g[1].origin, [0.0, -30.0]));
    }

    #[test]
    fn ctm_and_text_matrix_compose_into_user_space() {
        // Scale 2 via cm, then a text matrix rotated 90°: text runs upwards.
        let g = run("q 2 0 0 2 10 20 cm BT /F1 5 Tf 0 1 -1 0 100 50 Tm (AB) Tj ET Q");
        assert!(close(g[0].origin, [210.0, 120.0]));
        assert!(close(g[1].origin, [210.0, 126.0]));
        assert!(close(g[0].dir, [0.0, 1.0]));
        assert!((g[0].font_size - 10.0).abs() < 1e-9);
        // Q restores the CTM.
        let g = run("q 2 0 0 2 0 0 cm Q BT /F1 10 Tf 5 5 Td (A) Tj ET");
        assert!(close(g[0].origin, [5.0, 5.0]));
        // Text mirrored vertically (a y-flipping CTM alone) hangs below its baseline.
        let g = run("1 0 0 -1 0 100 cm BT /F1 10 Tf 5 5 Td (A) Tj ET");
        assert!(close(g[0].origin, [5.0, 95.0]));
        assert!(g[0].ascent < 0.0 && g[0].descent > 0.0);
        // Ts raises the baseline.
        let g = run("BT /F1 10 Tf 3 Ts 5 5 Td (A) Tj ET");
        assert!(close(g[0].origin, [5.0, 8.0]));
    }

    fn form(content: &str, extra: &[(&str, Object)]) -> Object {
        let mut d = Dict::new();
        d.set("Type", Object::name("XObject"));
        d.set("Subtype", Object::name("Form"));
        for (k, v) in extra {
            d.set(k, v.clone());
        }
        Object::Stream(Stream {
            dict: d,
            data: StreamData::Owned(content.as_bytes().to_vec()),
        })
    }

    #[test]
    fn form_xobjects_apply_their_matrix_and_resources() {
        let mut res = courier();
        let matrix = Object::Array(
            [1, 0, 0, 1, 100, 200]
                .iter()
                .map(|&v| Object::Int(v))
                .collect(),
        );
        let mut xobjects = Dict::new();
        xobjects.set(
            "Fm1",
            form(
                "BT /F1 10 Tf 1 2 Td (X) Tj ET",
                &[("Matrix", matrix), ("Resources", courier().into())],
            ),
        );
        res.set("XObject", xobjects);
        let g = interpret_content(b"q 1 0 0 1 5 5 cm /Fm1 Do Q", &res, &Limits::default()).unwrap();
        assert_eq!(g.len(), 1);
        assert!(close(g[0].origin, [106.0, 207.0]));
    }

    #[test]
    fn form_xobjects_inherit_the_callers_text_state() {
        // The form shows text without its own Tf: the caller's font and size apply.
        let mut res = courier();
        let mut xobjects = Dict::new();
        xobjects.set("Fm1", form("BT 0 0 Td (XY) Tj ET", &[]));
        res.set("XObject", xobjects);
        let g = interpret_content(b"BT /F1 20 Tf ET /Fm1 Do", &res, &Limits::default()).unwrap();
        assert_eq!(g.len(), 2);
        assert!((g[0].font_size - 20.0).abs() < 1e-9);
        assert!(
            close(g[1].origin, [12.0, 0.0]),
            "Courier at 20 pt: 12 pt per glyph"
        );
    }

    #[test]
    fn operator_limit_is_an_error_not_a_panic() {
        let limits = Limits {
            max_content_ops: 10,
            ..Limits::default()
        };
        let content = "q Q ".repeat(6);
        let err = interpret_content(content.as_bytes(), &courier(), &limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: "content operators",
                ..
            }
        ));
        assert!(interpret_content("q Q ".repeat(5).as_bytes(), &courier(), &limits).is_ok());
    }

    #[test]
    fn q_nesting_and_content_size_are_limited() {
        let limits = Limits {
            max_graphics_depth: 4,
            max_content_bytes: 100,
            ..Limits::default()
        };
        let deep = "q ".repeat(5);
        assert!(interpret_content(deep.as_bytes(), &courier(), &limits).is_err());
        assert!(interpret_content("q ".repeat(4).as_bytes(), &courier(), &limits).is_ok());
        let big = " ".repeat(101);
        assert!(interpret_content(big.as_bytes(), &courier(), &limits).is_err());
    }

    /// A document whose form XObject 5 draws itself through its own resources.
    fn cyclic_doc() -> crate::Document {
        let pdf = crate::text::tests::classic_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R
                /Resources << /XObject << /X 5 0 R >> /Font << /F1 6 0 R >> >> >>",
            "<< /Length 8 >>\nstream\n/X Do   \nendstream",
            "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length 999
                /Resources << /XObject << /X 5 0 R >> /Font << /F1 6 0 R >> >> >>
             \nstream\nBT /F1 10 Tf (A) Tj ET /X Do   \nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        ]);
        crate::Document::open(
            std::sync::Arc::new(crate::MemSource::new(pdf)),
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn cyclic_form_xobjects_stop() {
        let doc = cyclic_doc();
        let text = crate::text::page_text(&doc, 0).unwrap();
        // The form runs once; its self-reference is skipped.
        assert_eq!(text.lines.len(), 1);
        assert_eq!(text.lines[0].text, "A");
    }

    #[test]
    fn form_nesting_is_limited_without_references() {
        // Direct (unreferenced) forms nested deeper than the limit are refused.
        let limits = Limits {
            max_form_depth: 3,
            ..Limits::default()
        };
        let mut inner = form("BT /F1 10 Tf (A) Tj ET", &[("Resources", courier().into())]);
        for _ in 0..4 {
            let mut res = courier();
            let mut xo = Dict::new();
            xo.set("X", inner);
            res.set("XObject", xo);
            inner = form("/X Do", &[("Resources", res.into())]);
        }
        let mut res = courier();
        let mut xo = Dict::new();
        xo.set("X", inner);
        res.set("XObject", xo);
        let err = interpret_content(b"/X Do", &res, &limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: "form XObject nesting",
                ..
            }
        ));
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let limits = Limits::default();
        let samples: [&[u8]; 8] = [
            b"BT /F1 Tf Tj TJ ' \" Td TD Tm cm Do ET",
            b"BT /F1 1e400 Tf (A) Tj ET",
            b"BT /F1 10 Tf [(A) /x 1 (B)] TJ ( Tj",
            b"BI /W 1 ID",
            b"q q q Q Q Q Q Q",
            b"\xff\xfe\x00<<>>[]{}()<>",
            b"/F1 99999999999999999999999 Tf 0 0 0 0 0 0 Tm (x) Tj",
            b"BT /Missing 12 Tf (Hello) Tj ET",
        ];
        for s in samples {
            let _ = interpret_content(s, &courier(), &limits);
        }
        let g = interpret_content(b"BT /Missing 12 Tf (Hi) Tj ET", &courier(), &limits).unwrap();
        assert_eq!(g.len(), 2, "an unknown font still yields text");
    }
}
