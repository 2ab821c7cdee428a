//! The number and date of an outgoing document, filled after the signer signed, without
//! breaking the signature (issue 17 item 4).
//!
//! 1. **Format** ([`place_fields`]): before any signature, an incremental update adds two
//!    empty single-line text fields to the first page — [`NUMBER_FIELD`] at the `Số:` line
//!    (between `Số:` and the notation's `/`) and [`DATE_FIELD`] over the date phrase
//!    (`ngày … tháng … năm …`) — located from the page's text ([`locate`]); where the text is
//!    not found, the Decree 30 positions of an A4 page are used. When the draft prints the
//!    notation after the blank (`Số: ....../QĐ-UBND`), the number field ends at its `/`,
//!    holds the number alone, and records the printed notation ([`NOTATION_KEY`]); otherwise
//!    it covers the whole blank and holds number and notation. Each field sits on its line's
//!    baseline and takes that line's font size. Their appearances and the AcroForm's `/DR`
//!    font are subsets of the bundled Liberation Serif, which shows Vietnamese.
//! 2. **Personal signature** ([`personal_signature`]): an approval signature, or
//!    ([`personal_certification`]) a certification with DocMDP `P=2` ("form filling and
//!    signing") when the organization's signature will be invisible.
//! 3. **Clerk** ([`fill`]): an incremental update changing only the two fields' `/V` and
//!    `/AP` (new appearance streams and their font), then the **organization signature**
//!    ([`organization_signature`]): an approval signature locking every field (FieldMDP
//!    `/All`).
//! 4. **Verification**: [`issued`] reads the filled values; the change analysis
//!    (`revisions`) reports the fill as `FORM_FILLING`, allowed without DocMDP and under `P=2`.
//!
//! # Why an approval signature (or a certification with `P=2`), and a FieldMDP `/All` lock
//!
//! The personal signature must leave exactly the number, the date and the organization's
//! signature possible. An approval signature with a FieldMDP `/Lock /Exclude [number date]`
//! does not: pyHanko (`SigFieldModificationRule`) and Acrobat treat *creating* a new
//! signature field as a change of a field that `/Exclude` locks (every field not listed is
//! locked, and the organization's field cannot be listed: its name and place are chosen when
//! the clerk seals), so the seal would invalidate the personal signature.
//!
//! A certification with `P=2` is what ISO 32000-2 Table 257 defines for this ("filling in
//! forms, instantiating page templates, and signing"), and Acrobat accepts a new visible
//! signature under it; pyHanko's default policy, stricter than Acrobat, refuses a new
//! *visible* signature field after any certification ("only allowed after an approval
//! signature", `allow_new_visible_after_certify`), and Decree 30's seal is visible. So the
//! default ([`personal_signature`]) is an approval signature: pyHanko and kyso then allow form
//! filling and new signatures (`FORM_FILLING`, pyHanko's default for approval signatures),
//! and the server's upload check (`crate::upload`) allows the clerk nothing but the two
//! fields and the seal. [`personal_certification`] (`P=2`) is the stronger choice when the
//! organization signs invisibly: both validators then also forbid annotations.
//!
//! The seal locks with FieldMDP `/All` rather than DocMDP `P=1` (which a second signature
//! cannot set anyway, and which in kyso's reading also forbids the DSS and document
//! timestamps that long-term validation appends): after it, no field may change, while
//! `kyso extend` can still add B-LT/B-LTA material.

use std::sync::Arc;

use kyso_pdf::appearance::Align;
use kyso_pdf::font::{FontEmbedder, FontProgram};
use kyso_pdf::text::{layout, page_glyphs, Glyph};
use kyso_pdf::textfield::{self, FieldStyle, FIELD_FONT};
use kyso_pdf::writer::{text_string, IncrementalUpdate};
use kyso_pdf::{Dict, Document, Limits, MemSource, ObjRef, Object, Page, Source};

use crate::mdp::{DocMdp, FieldLock};
use crate::sign::{SignOptions, Updated};
use crate::{fields, Error, Result};

/// The field holding the document's number: alone when the draft prints the notation after
/// it ([`NOTATION_KEY`]), else with its notation. [`fill`] takes the number and notation as
/// the register gives it either way.
pub const NUMBER_FIELD: &str = "kyso_so";
/// The field holding the date phrase (`ngày 06 tháng 12 năm 2026`).
pub const DATE_FIELD: &str = "kyso_ngay";

/// Millimetres to points.
fn mm(v: f64) -> f64 {
    kyso_pdf::appearance::mm(v)
}

/// Where a field was put, and whether the text said so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldPlace {
    /// `/Rect` in the page's default user space.
    pub rect: [f64; 4],
    /// Font size of the line found (13 pt when not found).
    pub size_pt: f64,
    /// Found from the page's text (`false`: the Decree 30 fallback position).
    pub from_text: bool,
}

/// Where the number and date fields go on the first page.
#[derive(Debug, Clone, PartialEq)]
pub struct Places {
    pub number: FieldPlace,
    pub date: FieldPlace,
    /// The notation the draft prints after the number's blank (`/QĐ-UBND` of
    /// `Số: ....../QĐ-UBND`): the number field then holds the number alone and ends at that
    /// `/`. `None`: the draft prints no notation there, and the field covers the whole blank
    /// and holds the number with its notation.
    pub notation: Option<String>,
}

/// The key of the number field's dictionary recording [`Places::notation`] (a text string),
/// so that [`fill`] puts the number alone in the field and [`issued`] reports the number and
/// notation as the reader sees them. It is part of the field since the format step, before
/// any signature: changing it later is a change the signatures' analysis refuses.
pub const NOTATION_KEY: &str = "KYSO_Notation";

/// Longest notation recorded.
const MAX_NOTATION_CHARS: usize = 40;

/// `s` (from a `/`) as a printed notation: a `/` then at least one letter or digit, without
/// control characters, at most [`MAX_NOTATION_CHARS`]; `None` for a blank like `/......`.
fn notation_of(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = s.starts_with('/')
        && s.chars().count() <= MAX_NOTATION_CHARS
        && s.chars().any(char::is_alphanumeric)
        && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned())
}

/// Text compared without case, Unicode composition or spaces.
fn compact(s: &str) -> String {
    layout::normalize(s).replace(' ', "")
}

/// The value of the number field for the clerk's `number` when the draft prints `notation`
/// after the field: `number` without that notation (`01/SKHCN-VP` → `01`, also
/// `01/2026/NĐ-CP` after a printed `/NĐ-CP` → `01/2026`), or `number` itself when it has no
/// `/` (the number alone). Another notation than the printed one is refused: the letter would
/// read both.
pub fn number_in_field(number: &str, notation: &str) -> Result<String> {
    let number = number.trim();
    if !number.contains('/') {
        return Ok(number.to_owned());
    }
    let want = compact(notation);
    for (i, _) in number.match_indices('/') {
        let (head, tail) = number.split_at(i);
        if compact(tail) == want && !head.trim().is_empty() {
            return Ok(head.trim().to_owned());
        }
    }
    Err(Error::Structure(
        "the number's notation is not the one the draft prints after the number",
    ))
}

/// The number and notation as the reader sees them: the field's `value` followed by the
/// printed `notation`, when there is one.
pub fn number_as_read(value: &str, notation: Option<&str>) -> String {
    match notation {
        Some(n) => format!("{}{}", value.trim(), n.trim()),
        None => value.trim().to_owned(),
    }
}

/// Whether two numbers with notation are the same (spaces aside; Unicode composition aside
/// too, case then compared on the composed forms' letters): the register's and the one a
/// document carries.
pub fn same_number(a: &str, b: &str) -> bool {
    let key = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let (ka, kb) = (key(a), key(b));
    ka == kb
        || (compact(&ka) == compact(&kb)
            && ka
                .chars()
                .filter(char::is_ascii_uppercase)
                .eq(kb.chars().filter(char::is_ascii_uppercase)))
}

fn words_of(lines: &[layout::Line]) -> Vec<(usize, &layout::Word)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.frame.angle == 0)
        .flat_map(|(i, l)| l.words.iter().map(move |w| (i, w)))
        .collect()
}

/// The first glyph drawn inside `bbox`.
fn glyph_in(glyphs: &[Glyph], bbox: [f64; 4]) -> Option<&Glyph> {
    glyphs.iter().find(|g| {
        let x = (g.origin[0] + g.end[0]) / 2.0;
        let y = g.origin[1];
        x >= bbox[0] && x <= bbox[2] && y >= bbox[1] - 1.0 && y <= bbox[3] + 1.0
    })
}

/// Font size of the first glyph drawn inside `bbox`.
fn size_in(glyphs: &[Glyph], bbox: [f64; 4], default: f64) -> f64 {
    glyph_in(glyphs, bbox)
        .map_or(default, |g| g.font_size)
        .clamp(6.0, 30.0)
}

/// The field font's ascent and (negative) descent in em.
fn field_font_metrics() -> (f64, f64) {
    FontProgram::liberation_serif_regular()
        .map(|p| (p.ascent_em(), p.descent_em()))
        .unwrap_or((0.891, -0.216))
}

/// The vertical extent of a field whose text of `size` sits on the baseline of the line
/// `bbox` (the baseline of its first glyph, else the box's bottom plus the descent): the
/// field font's descent to ascent around that baseline, widened equally up and down to cover
/// `bbox` — the appearance centres the text vertically, so the filled text then sits on the
/// draft's own baseline.
fn vertical_extent(glyphs: &[Glyph], bbox: [f64; 4], size: f64) -> [f64; 2] {
    let (asc, desc) = field_font_metrics();
    let base = glyph_in(glyphs, bbox)
        .map(|g| g.origin[1])
        .filter(|b| b.is_finite())
        .unwrap_or(bbox[1] - desc * size);
    let (lo, hi) = (base + desc * size, base + asc * size);
    let m = (lo - bbox[1]).max(bbox[3] - hi).clamp(0.0, size);
    [lo - m, hi + m]
}

fn same_line(a: &[f64; 4], b: &[f64; 4]) -> bool {
    let (ca, cb) = ((a[1] + a[3]) / 2.0, (b[1] + b[3]) / 2.0);
    (ca - cb).abs() < (a[3] - a[1]).max(b[3] - b[1]) / 2.0
}

/// The number field: from the end of `Số:` to the notation's `/` (or over the blank or dots
/// that follow), on the same baseline.
fn locate_number(lines: &[layout::Line], glyphs: &[Glyph]) -> Option<(FieldPlace, Option<String>)> {
    let words = words_of(lines);
    for (k, (_, w)) in words.iter().enumerate() {
        let t = layout::normalize(&w.text);
        let next = words.get(k + 1).map(|(_, n)| *n);
        let (label_end, rest) = if t == "số:" {
            (w.bbox[2], words.get(k + 1..).unwrap_or_default())
        } else if t == "số" && next.is_some_and(|n| n.text.starts_with(':')) {
            let colon = next?;
            if colon.text == ":" {
                (colon.bbox[2], words.get(k + 2..).unwrap_or_default())
            } else {
                // "Số" ":…" — the colon starts the next word.
                (colon.bbox[0] + 3.0, words.get(k + 1..).unwrap_or_default())
            }
        } else {
            continue;
        };
        let rest: Vec<&layout::Word> = rest
            .iter()
            .map(|(_, w)| *w)
            .filter(|n| same_line(&n.bbox, &w.bbox))
            .collect();
        let size = size_in(glyphs, w.bbox, 13.0);
        let x0 = label_end + 1.0;
        // Where the blank ends, and the notation printed after it.
        let mut blank_end = None;
        let mut notation = None;
        let mut slash = None;
        if let Some(n) = rest.first().filter(|n| n.bbox[0] - label_end < mm(60.0)) {
            if n.text.starts_with('/') {
                notation = notation_of(&n.text);
                slash = Some(n.bbox[0]);
                blank_end = Some(n.bbox[0]);
            } else if let Some(at) = n.text.find('/') {
                // The `/` inside the word ("......../QĐ-UBND"): the glyph's own position.
                let x = glyphs
                    .iter()
                    .filter(|g| g.text == "/")
                    .map(|g| g.origin[0])
                    .filter(|x| *x > n.bbox[0] && *x < n.bbox[2])
                    .fold(f64::INFINITY, f64::min);
                notation = n.text.get(at..).and_then(notation_of);
                if x.is_finite() {
                    slash = Some(x);
                } else {
                    notation = None;
                }
                blank_end = Some(n.bbox[2]);
            } else if n.text.chars().all(|c| c == '.' || c == '…' || c == '_') {
                blank_end = Some(n.bbox[2]);
            }
        }
        let x1 = match (notation.is_some(), slash) {
            // The number alone, up to the notation's `/`.
            (true, Some(s)) if s - x0 >= mm(5.0) => s,
            // Number and notation: over the whole blank (and a printed notation too close to
            // the label to leave room for a number), and on to the next word of the line (the
            // date, in the Decree 30 layout) for room at the text's own size.
            _ => {
                let from = match (notation.is_some(), rest.first()) {
                    (true, Some(n)) => n.bbox[2],
                    _ => blank_end.unwrap_or(x0),
                };
                let next = words_of(lines)
                    .iter()
                    .map(|(_, n)| n)
                    .filter(|n| same_line(&n.bbox, &w.bbox) && n.bbox[0] >= from + 0.5)
                    .map(|n| n.bbox[0] - mm(3.0))
                    .fold(f64::INFINITY, f64::min);
                let want = x0 + size * 9.0;
                let x = from.max(want.min(next));
                notation = None;
                x.max(x0 + mm(8.0))
            }
        };
        let [y0, y1] = vertical_extent(glyphs, w.bbox, size);
        let place = FieldPlace {
            rect: [x0, y0, x1, y1],
            size_pt: size,
            from_text: true,
        };
        return Some((place, notation));
    }
    None
}

/// The date field: over `ngày … tháng … năm …` (to the year, or room for it).
fn locate_date(lines: &[layout::Line], glyphs: &[Glyph], crop: [f64; 4]) -> Option<FieldPlace> {
    let words = words_of(lines);
    for (k, (_, w)) in words.iter().enumerate() {
        if layout::normalize(&w.text) != "ngày" {
            continue;
        }
        let rest: Vec<&layout::Word> = words
            .get(k..)
            .unwrap_or_default()
            .iter()
            .map(|(_, n)| *n)
            .filter(|n| same_line(&n.bbox, &w.bbox) && n.bbox[0] >= w.bbox[0])
            .collect();
        let norm: Vec<String> = rest.iter().map(|n| layout::normalize(&n.text)).collect();
        let Some(thang) = norm.iter().position(|t| t == "tháng") else {
            continue;
        };
        let Some(nam) = norm
            .iter()
            .skip(thang + 1)
            .position(|t| t == "năm")
            .map(|p| p + thang + 1)
        else {
            continue;
        };
        let nam_word = rest.get(nam)?;
        let x1 = match rest.get(nam + 1) {
            Some(y) if y.bbox[0] - nam_word.bbox[2] < mm(25.0) => y.bbox[2],
            _ => nam_word.bbox[2] + mm(12.0),
        }
        .min(crop[2]);
        let y0 = rest.iter().map(|n| n.bbox[1]).fold(f64::INFINITY, f64::min);
        let y1 = rest
            .iter()
            .map(|n| n.bbox[3])
            .fold(f64::NEG_INFINITY, f64::max);
        let size = size_in(glyphs, w.bbox, 14.0);
        let [y0, y1] = vertical_extent(glyphs, [w.bbox[0], y0, w.bbox[2], y1], size);
        return Some(FieldPlace {
            rect: [w.bbox[0] - 1.0, y0, x1 + 1.0, y1],
            size_pt: size,
            from_text: true,
        });
    }
    None
}

/// Where the two fields go on `page` (the first page): found from its text, else on the
/// same baseline as the other one, else at the Decree 30 positions (the number in the left
/// column, the date in the right one, below the title block).
pub fn locate(doc: &Document, page: &Page) -> Result<Places> {
    let mut glyphs = page_glyphs(doc, page).unwrap_or_default();
    let crop = page.crop_box;
    glyphs.retain(|g| {
        g.origin[0] >= crop[0] - 2.0
            && g.origin[0] <= crop[2] + 2.0
            && g.origin[1] >= crop[1] - 2.0
            && g.origin[1] <= crop[3] + 2.0
    });
    let lines = layout::lines(&glyphs);
    let (number, notation) = match locate_number(&lines, &glyphs) {
        Some((place, notation)) => (Some(place), notation),
        None => (None, None),
    };
    let date = locate_date(&lines, &glyphs, crop);
    let [x0, _, x1, top] = crop;
    let default_y = [top - mm(58.0), top - mm(51.0)];
    let number = number.unwrap_or_else(|| {
        let [y0, y1] = date.map_or(default_y, |d| [d.rect[1], d.rect[3]]);
        FieldPlace {
            rect: [x0 + mm(40.0), y0, x0 + mm(95.0), y1],
            size_pt: 13.0,
            from_text: false,
        }
    });
    let date = date.unwrap_or_else(|| {
        let [y0, y1] = [number.rect[1], number.rect[3]];
        FieldPlace {
            rect: [x0 + mm(118.0), y0, x1 - mm(15.0), y1],
            size_pt: 14.0,
            from_text: false,
        }
    });
    Ok(Places {
        number,
        date,
        notation,
    })
}

fn style(place: &FieldPlace, align: Align, background: bool) -> FieldStyle {
    FieldStyle {
        size_pt: place.size_pt,
        align,
        background: background.then_some([1.0, 1.0, 1.0]),
    }
}

fn size_of(rect: &[f64; 4]) -> (f64, f64) {
    ((rect[2] - rect[0]).max(1.0), (rect[3] - rect[1]).max(1.0))
}

/// The format step: add the empty number and date fields to the first page of the unsigned
/// draft `base`, in one incremental update. Refused when the document is signed already or
/// has a field of either name.
pub fn place_fields(base: &Updated, limits: Limits) -> Result<(Updated, Places)> {
    let src = base.source();
    let doc = Document::open(Arc::clone(&src), limits)?;
    let existing = fields::form_fields(&doc)?;
    if existing
        .iter()
        .any(|f| f.is_signature() && f.dict.contains("V"))
    {
        return Err(Error::Structure(
            "the number and date fields must be placed before the document is signed",
        ));
    }
    if let Some(f) = existing
        .iter()
        .find(|f| f.full_name == NUMBER_FIELD || f.full_name == DATE_FIELD)
    {
        return Err(Error::FieldExists(f.full_name.clone()));
    }
    let pages = doc.pages()?;
    let page = pages
        .first()
        .ok_or(Error::PageOutOfRange { page: 1, count: 0 })?;
    let places = locate(&doc, page)?;
    let program = FontProgram::liberation_serif_regular()?;
    let mut update = IncrementalUpdate::new(&doc);
    let mut embedder = FontEmbedder::new(&program);
    let mut refs = Vec::new();
    // The number alone ends at the printed notation's `/`; number and notation start after
    // the label.
    let number_align = if places.notation.is_some() {
        Align::Right
    } else {
        Align::Left
    };
    for (name, place, align) in [
        (NUMBER_FIELD, &places.number, number_align),
        (DATE_FIELD, &places.date, Align::Left),
    ] {
        let (w, h) = size_of(&place.rect);
        let st = style(place, align, false);
        let ap = textfield::text_appearance(&mut update, &mut embedder, w, h, "", &st)?;
        let mut field = textfield::text_field(name, page.id, place.rect, &st, None, ap);
        if let (NUMBER_FIELD, Some(n)) = (name, places.notation.as_deref()) {
            field.set(NOTATION_KEY, text_string(n));
        }
        refs.push(update.add(field));
    }
    let dr_font = textfield::field_font(&mut update, &program)?;
    attach(&doc, &mut update, &refs, page, dr_font)?;
    let (bytes, _) = update.serialize(src.len())?;
    Ok((base.append(bytes), places))
}

/// Add `fields` to `page`'s `/Annots` and to the AcroForm's `/Fields` (creating it when
/// missing), and name the field font in the AcroForm's `/DR` (and `/DA` when it has none).
fn attach(
    doc: &Document,
    update: &mut IncrementalUpdate,
    new_fields: &[ObjRef],
    page: &Page,
    font: ObjRef,
) -> Result<()> {
    let refs = || new_fields.iter().map(|r| Object::Ref(*r));
    // 1. The page's /Annots (an array of its own, or inline).
    let mut page_dict = page.dict.clone();
    match page_dict.get("Annots").cloned() {
        Some(Object::Ref(arr_ref)) => {
            let mut items = doc
                .get(arr_ref)?
                .as_array()
                .map(<[Object]>::to_vec)
                .unwrap_or_default();
            items.extend(refs());
            update.set(arr_ref, Object::Array(items));
        }
        other => {
            let mut items = other
                .as_ref()
                .and_then(Object::as_array)
                .map(<[Object]>::to_vec)
                .unwrap_or_default();
            items.extend(refs());
            page_dict.set("Annots", Object::Array(items));
            update.set(page.id, page_dict);
        }
    }
    // 2. The AcroForm: its /Fields, /DR and /DA.
    let catalog_ref = doc.catalog_ref()?;
    let mut catalog = doc.catalog()?;
    let (form_ref, mut form) = match catalog.get("AcroForm") {
        Some(Object::Ref(r)) => (Some(*r), doc.resolve_dict(&Object::Ref(*r), "AcroForm")?),
        Some(Object::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::new()),
    };
    match form.get("Fields").cloned() {
        Some(Object::Ref(r)) => {
            let mut items = doc
                .get(r)?
                .as_array()
                .map(<[Object]>::to_vec)
                .unwrap_or_default();
            items.extend(refs());
            update.set(r, Object::Array(items));
        }
        other => {
            let mut items = other
                .as_ref()
                .and_then(Object::as_array)
                .map(<[Object]>::to_vec)
                .unwrap_or_default();
            items.extend(refs());
            form.set("Fields", Object::Array(items));
        }
    }
    let mut dr = match form.get("DR") {
        Some(o) => doc.resolve(o)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    let mut fonts = match dr.get("Font") {
        Some(o) => doc.resolve(o)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    fonts.set(FIELD_FONT, Object::Ref(font));
    dr.set("Font", fonts);
    form.set("DR", dr);
    if !form.contains("DA") {
        form.set("DA", Object::string(format!("/{FIELD_FONT} 13 Tf 0 g")));
    }
    match form_ref {
        Some(r) => update.set(r, form),
        None => {
            let r = update.add(form);
            catalog.set("AcroForm", Object::Ref(r));
            update.set(catalog_ref, catalog);
        }
    }
    Ok(())
}

/// [`place_fields`] over bytes in memory.
pub fn place_fields_bytes(draft: &[u8]) -> Result<(Vec<u8>, Places)> {
    let (u, p) = place_fields(
        &Updated::from_source(Arc::new(MemSource::new(draft))),
        Limits::default(),
    )?;
    Ok((u.to_vec()?, p))
}

/// The signing options of the personal signature in the Decree 30 flow with a visible seal:
/// `opts` unchanged, an approval signature (see the module documentation).
pub fn personal_signature(opts: SignOptions) -> SignOptions {
    opts
}

/// The signing options of a personal signature that certifies with DocMDP `P=2` (form filling
/// and signing only), for a document the organization will sign invisibly.
pub fn personal_certification(mut opts: SignOptions) -> SignOptions {
    opts.certify = Some(DocMdp::FormFilling);
    opts
}

/// The signing options of the organization signature: `opts` locking every field.
pub fn organization_signature(mut opts: SignOptions) -> SignOptions {
    opts.lock = Some(FieldLock::All);
    opts
}

/// The signature a step of the Decree 30 flow adds: what [`prepare`] does before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSignature {
    /// The signer's personal signature ([`personal_signature`]): the fields stay fillable.
    Personal,
    /// The organization's signature: the number and date fields filled ([`fill`]), then the
    /// signature locking every field ([`organization_signature`]).
    Seal { number: String, date: time::Date },
}

/// The input and the signing options of `step` over `base` (the latest version): for the
/// seal, `base` with the number and date filled and `opts` locking every field; for the
/// personal signature, `base` as it is and the approval signature's options. One preparation
/// for every face that signs a flow step (the browser agent, the server's remote CSC signing).
pub fn prepare(
    base: &Updated,
    step: &FlowSignature,
    opts: SignOptions,
    limits: Limits,
) -> Result<(Updated, SignOptions)> {
    match step {
        FlowSignature::Personal => Ok((base.clone(), personal_signature(opts))),
        FlowSignature::Seal { number, date } => Ok((
            fill(base, number, *date, limits)?,
            organization_signature(opts),
        )),
    }
}

/// The date phrase of Decree 30 (Appendix I): `ngày 06 tháng 12 năm 2026` — days below 10
/// and the months January and February take a leading zero.
pub fn date_text(date: time::Date) -> String {
    let m = u8::from(date.month());
    let month = if m < 3 {
        format!("{m:02}")
    } else {
        m.to_string()
    };
    format!("ngày {:02} tháng {month} năm {}", date.day(), date.year())
}

/// Read a date phrase written by [`date_text`] (or typed in the same words) back.
pub fn parse_date_text(s: &str) -> Option<time::Date> {
    let n = layout::normalize(s);
    let w: Vec<&str> = n.split(' ').collect();
    match w.as_slice() {
        ["ngày", d, "tháng", m, "năm", y] => {
            let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
            time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
        }
        _ => None,
    }
}

/// Longest number (with notation) the clerk may fill in.
pub const MAX_NUMBER_CHARS: usize = 64;

/// The clerk's step: fill the number field with `number` and the date field with `date` (as
/// [`date_text`]), in one incremental update that changes only the two fields' `/V` and `/AP`
/// and adds their new appearance streams and font. The fields must exist and be empty.
pub fn fill(base: &Updated, number: &str, date: time::Date, limits: Limits) -> Result<Updated> {
    let number = number.trim();
    if number.is_empty()
        || number.chars().count() > MAX_NUMBER_CHARS
        || number.chars().any(char::is_control)
    {
        return Err(Error::Structure(
            "the number must be 1 to 64 characters without control characters",
        ));
    }
    let src = base.source();
    let doc = Document::open(Arc::clone(&src), limits)?;
    let fields = fields::form_fields(&doc)?;
    let program = FontProgram::liberation_serif_regular()?;
    let mut update = IncrementalUpdate::new(&doc);
    let mut embedder = FontEmbedder::new(&program);
    let date_value = date_text(date);
    let number_field = fields
        .iter()
        .find(|f| f.full_name == NUMBER_FIELD)
        .ok_or(Error::Structure("the document has no number or date field"))?;
    let number_value = match notation_in(&number_field.dict) {
        Some(n) => number_in_field(number, &n)?,
        None => number.to_owned(),
    };
    for (name, value) in [
        (NUMBER_FIELD, number_value.as_str()),
        (DATE_FIELD, date_value.as_str()),
    ] {
        let f = fields
            .iter()
            .find(|f| f.full_name == name)
            .ok_or(Error::Structure("the document has no number or date field"))?;
        let r = f.field_ref.ok_or(Error::Structure(
            "the number or date field is not an object",
        ))?;
        if f.dict
            .get("V")
            .and_then(Object::as_string)
            .is_some_and(|v| !v.is_empty())
        {
            return Err(Error::Structure("the number or date is filled already"));
        }
        let rect = doc
            .rect(f.dict.get("Rect").unwrap_or(&Object::Null))?
            .ok_or(Error::Structure("the number or date field has no /Rect"))?;
        let size = da_size(&f.dict).unwrap_or(13.0);
        // The field's own alignment (`/Q`): the number alone ends at the printed `/`.
        let align = match f.dict.get_int("Q") {
            Some(2) => Align::Right,
            Some(1) => Align::Center,
            _ => Align::Left,
        };
        let (w, h) = size_of(&rect);
        let ap = filled_appearance(&mut update, &mut embedder, w, h, value, size, align)?;
        let mut dict = f.dict.clone();
        dict.set("V", text_string(value));
        let mut apd = Dict::new();
        apd.set("N", Object::Ref(ap));
        dict.set("AP", apd);
        update.set(r, dict);
    }
    embedder.embed(&mut update)?;
    let (bytes, _) = update.serialize(src.len())?;
    Ok(base.append(bytes))
}

/// The notation the format step recorded in a number field ([`NOTATION_KEY`]), when valid.
fn notation_in(field: &Dict) -> Option<String> {
    field
        .get(NOTATION_KEY)
        .and_then(Object::as_string)
        .map(fields::decode_text)
        .and_then(|n| notation_of(&n))
}

/// The appearance of a filled field of `width × height`: `text` in the field font at `size`
/// (smaller only when it cannot fit otherwise), on the baseline [`vertical_extent`] aligned
/// with the draft's line, over a white background hiding the draft's dots. Right-aligned, it
/// ends at the field's right edge — at the printed `/`, as the draft's own text would — and
/// left-aligned it starts 1 pt inside.
fn filled_appearance(
    update: &mut IncrementalUpdate,
    font: &mut FontEmbedder<'_>,
    width: f64,
    height: f64,
    text: &str,
    size: f64,
    align: Align,
) -> Result<ObjRef> {
    if !(width.is_finite() && height.is_finite() && width > 2.0 && height > 0.0)
        || width > 1e4
        || height > 1e4
        || !(size.is_finite() && size > 0.0 && size < 1000.0)
    {
        return Err(Error::Structure(
            "the number or date field's size is out of range",
        ));
    }
    let (left, right) = (1.0, 0.3);
    let program = font.font();
    let glyphs = program.shape(text)?;
    let natural = program.glyphs_width(&glyphs, size);
    let room = width - left - right;
    let shown = if natural > room {
        size * room / natural
    } else {
        size
    };
    let w = program.glyphs_width(&glyphs, shown);
    let x = match align {
        Align::Left => left,
        Align::Center => (width - w) / 2.0,
        Align::Right => width - right - w,
    };
    // The baseline of the nominal size, so that a shrunk text stays on the line.
    let (asc, desc) = (program.ascent_em(), program.descent_em());
    let y = (height - size * (asc - desc)) / 2.0 - size * desc;
    let mut c = Vec::new();
    let num = |c: &mut Vec<u8>, v: f64| {
        kyso_pdf::writer::write_real(c, v);
        c.push(b' ');
    };
    c.extend_from_slice(b"1 1 1 rg 0 0 ");
    num(&mut c, width);
    num(&mut c, height);
    c.extend_from_slice(b"re f\n/Tx BMC\nq BT\n/F1 ");
    num(&mut c, shown);
    c.extend_from_slice(b"Tf 0 g\n");
    num(&mut c, x);
    num(&mut c, y);
    c.extend_from_slice(b"Td ");
    kyso_pdf::writer::write_hex_string(&mut c, &font.encode(&glyphs));
    c.extend_from_slice(b" Tj\nET Q\nEMC\n");
    let mut fonts = Dict::new();
    fonts.set("F1", Object::Ref(font.font_ref(update)));
    let mut res = Dict::new();
    res.set("Font", fonts);
    Ok(kyso_pdf::appearance::form_xobject(
        update, width, height, &c, res, None,
    ))
}

/// [`fill`] over bytes in memory.
pub fn fill_bytes(signed: &[u8], number: &str, date: time::Date) -> Result<Vec<u8>> {
    fill(
        &Updated::from_source(Arc::new(MemSource::new(signed))),
        number,
        date,
        Limits::default(),
    )?
    .to_vec()
}

/// The font size a field's `/DA` sets (`/Font 13 Tf`).
fn da_size(d: &Dict) -> Option<f64> {
    let da = String::from_utf8_lossy(d.get("DA")?.as_string()?).into_owned();
    let toks: Vec<&str> = da.split_whitespace().collect();
    let i = toks.iter().position(|t| *t == "Tf")?;
    let s: f64 = toks.get(i.checked_sub(1)?)?.parse().ok()?;
    (s.is_finite() && s > 0.0 && s < 1000.0).then_some(s)
}

/// The number and date a document carries in its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The number and notation as the reader sees them (`01/SKHCN-VP`): the number field's
    /// value followed by the notation the draft prints after it, when the format step
    /// recorded one ([`NOTATION_KEY`]); `None`: not filled.
    pub number: Option<String>,
    /// The notation printed after the number field (`/SKHCN-VP`), when the field holds the
    /// number alone.
    pub printed_notation: Option<String>,
    /// The date field's value as written (`None`: not filled).
    pub date_text: Option<String>,
    /// That value read as a date, when it is in Decree 30's words.
    pub date: Option<time::Date>,
}

/// The number and date in the newest revision of `doc`, or `None` when it has neither field.
pub fn issued(doc: &Document) -> Result<Option<Issued>> {
    let fields = fields::form_fields(doc)?;
    let value = |name: &str| -> Option<Option<String>> {
        let f = fields.iter().find(|f| f.full_name == name)?;
        Some(
            f.dict
                .get("V")
                .and_then(Object::as_string)
                .map(fields::decode_text)
                .filter(|v| !v.trim().is_empty()),
        )
    };
    let (number, date_text) = match (value(NUMBER_FIELD), value(DATE_FIELD)) {
        (None, None) => return Ok(None),
        (n, d) => (n.flatten(), d.flatten()),
    };
    let printed_notation = fields
        .iter()
        .find(|f| f.full_name == NUMBER_FIELD)
        .and_then(|f| notation_in(&f.dict));
    let number = number.map(|v| number_as_read(&v, printed_notation.as_deref()));
    let date = date_text.as_deref().and_then(parse_date_text);
    Ok(Some(Issued {
        number,
        printed_notation,
        date_text,
        date,
    }))
}

/// [`issued`] for a document in any [`Source`].
pub fn issued_in(src: Arc<dyn Source>, limits: Limits) -> Result<Option<Issued>> {
    issued(&Document::open(src, limits)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_date_phrase_follows_decree_30() {
        assert_eq!(
            date_text(date!(2026 - 12 - 06)),
            "ngày 06 tháng 12 năm 2026"
        );
        assert_eq!(
            date_text(date!(2026 - 02 - 15)),
            "ngày 15 tháng 02 năm 2026"
        );
        assert_eq!(date_text(date!(2026 - 03 - 01)), "ngày 01 tháng 3 năm 2026");
        for d in [
            date!(2026 - 12 - 06),
            date!(2027 - 01 - 09),
            date!(2026 - 03 - 31),
        ] {
            assert_eq!(parse_date_text(&date_text(d)), Some(d));
        }
        assert_eq!(parse_date_text("ngày 31 tháng 02 năm 2026"), None);
        assert_eq!(parse_date_text("06/12/2026"), None);
    }
}
