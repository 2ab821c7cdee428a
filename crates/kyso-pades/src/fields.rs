//! Adding a signature field: the merged field/widget annotation, the page's `/Annots`, and the
//! AcroForm's `/Fields` and `/SigFlags`. Existing objects are redefined in the update only
//! where the structure requires it, and copied faithfully otherwise.

use std::collections::HashSet;

use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, ObjRef, Object};

use crate::{Error, Result};

/// Deepest field tree and most fields walked (hostile documents can loop or explode).
const MAX_FIELD_DEPTH: usize = 32;
const MAX_FIELD_NODES: usize = 100_000;

/// One field of the AcroForm tree, terminal or intermediate.
#[derive(Debug, Clone)]
pub(crate) struct FieldNode {
    /// `None` for a field written directly inside its parent's `/Kids`.
    pub field_ref: Option<ObjRef>,
    pub dict: Dict,
    /// The field's own `/T`.
    pub name: Option<String>,
    /// The fully qualified name, `parent.child`.
    pub full_name: String,
    /// `/FT`, inherited from the ancestors.
    pub ft: Option<Object>,
}

impl FieldNode {
    pub fn is_signature(&self) -> bool {
        self.ft
            .as_ref()
            .and_then(Object::as_name)
            .is_some_and(|n| n == "Sig")
    }
}

/// Every field of the AcroForm in document order, with cycle, depth and size guards. The one
/// walk of the field tree that signing, verifying and the revision analysis share.
pub(crate) fn form_fields(doc: &Document) -> Result<Vec<FieldNode>> {
    let mut out = Vec::new();
    let catalog = doc.catalog()?;
    let Some(acroform) = catalog.get("AcroForm") else {
        return Ok(out);
    };
    let acroform = doc.resolve(acroform)?;
    let Some(fields) = acroform.as_dict().and_then(|d| d.get("Fields")) else {
        return Ok(out);
    };
    let fields = doc.resolve(fields)?;
    // (field, parent's qualified name, inherited /FT, depth); reversed so the walk is in order.
    let mut stack: Vec<(Object, String, Option<Object>, usize)> = fields
        .as_array()
        .unwrap_or_default()
        .iter()
        .rev()
        .map(|f| (f.clone(), String::new(), None, 0))
        .collect();
    let mut seen = HashSet::new();
    let mut visited = 0usize;
    while let Some((f, prefix, inherited_ft, depth)) = stack.pop() {
        visited += 1;
        if depth > MAX_FIELD_DEPTH || visited > MAX_FIELD_NODES {
            return Err(Error::Structure("form field tree too deep or too large"));
        }
        let field_ref = f.as_ref();
        if let Some(r) = field_ref {
            if !seen.insert(r) {
                continue;
            }
        }
        let Ok(dict) = doc.resolve_dict(&f, "form field") else {
            continue;
        };
        let name = dict.get("T").and_then(Object::as_string).map(decode_text);
        let full_name = match (&name, prefix.is_empty()) {
            (Some(n), true) => n.clone(),
            (Some(n), false) => format!("{prefix}.{n}"),
            (None, _) => prefix,
        };
        let ft = dict.get("FT").cloned().or(inherited_ft);
        if let Some(kids) = dict.get("Kids") {
            let kids = doc.resolve(kids)?;
            for k in kids.as_array().unwrap_or_default().iter().rev() {
                stack.push((k.clone(), full_name.clone(), ft.clone(), depth + 1));
            }
        }
        out.push(FieldNode {
            field_ref,
            dict,
            name,
            full_name,
            ft,
        });
    }
    Ok(out)
}

/// Names of all fields in the AcroForm (fully qualified, `parent.child`).
pub fn field_names(doc: &Document) -> Result<HashSet<String>> {
    Ok(form_fields(doc)?
        .into_iter()
        .filter(|n| n.name.is_some())
        .map(|n| n.full_name)
        .collect())
}

/// Decode a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding ≈ Latin-1).
pub fn decode_text(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .filter_map(|c| <[u8; 2]>::try_from(c).ok().map(u16::from_be_bytes))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter().map(|&c| char::from(c)).collect()
}

/// Add `field` (a merged signature field + widget) to page `page_ref` and to the AcroForm.
pub fn attach_field(
    doc: &Document,
    update: &mut IncrementalUpdate,
    field: ObjRef,
    page_ref: ObjRef,
) -> Result<()> {
    // 1. The page's /Annots.
    let mut page = doc.resolve_dict(&Object::Ref(page_ref), "page")?;
    match page.get("Annots").cloned() {
        Some(Object::Ref(arr_ref)) => {
            let mut arr = match update.get(arr_ref).cloned() {
                Some(o) => o,
                None => doc.get(arr_ref)?,
            };
            match &mut arr {
                Object::Array(a) => a.push(Object::Ref(field)),
                _ => arr = Object::Array(vec![Object::Ref(field)]),
            }
            update.set(arr_ref, arr);
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Ref(field));
            page.set("Annots", Object::Array(a));
            update.set(page_ref, page);
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Ref(field)]));
            update.set(page_ref, page);
        }
    }

    // 2. The AcroForm.
    let catalog_ref = doc.catalog_ref()?;
    let mut catalog = match update.get(catalog_ref) {
        Some(o) => o
            .as_dict()
            .cloned()
            .ok_or(Error::Structure("catalog is not a dictionary"))?,
        None => doc.catalog()?,
    };
    match catalog.get("AcroForm").cloned() {
        Some(Object::Ref(form_ref)) => {
            let mut form = doc.resolve_dict(&Object::Ref(form_ref), "AcroForm")?;
            add_to_fields(doc, update, &mut form, field)?;
            form.set("SigFlags", Object::Int(3));
            update.set(form_ref, form);
        }
        Some(Object::Dict(mut form)) => {
            add_to_fields(doc, update, &mut form, field)?;
            form.set("SigFlags", Object::Int(3));
            catalog.set("AcroForm", form);
            update.set(catalog_ref, catalog);
        }
        _ => {
            let mut form = Dict::new();
            form.set("Fields", Object::Array(vec![Object::Ref(field)]));
            form.set("SigFlags", Object::Int(3));
            let form_ref = update.add(form);
            catalog.set("AcroForm", Object::Ref(form_ref));
            update.set(catalog_ref, catalog);
        }
    }
    Ok(())
}

fn add_to_fields(
    doc: &Document,
    update: &mut IncrementalUpdate,
    form: &mut Dict,
    field: ObjRef,
) -> Result<()> {
    match form.get("Fields").cloned() {
        Some(Object::Ref(r)) => {
            let mut arr = doc.get(r)?;
            match &mut arr {
                Object::Array(a) => a.push(Object::Ref(field)),
                _ => arr = Object::Array(vec![Object::Ref(field)]),
            }
            update.set(r, arr);
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Ref(field));
            form.set("Fields", Object::Array(a));
        }
        _ => form.set("Fields", Object::Array(vec![Object::Ref(field)])),
    }
    Ok(())
}
