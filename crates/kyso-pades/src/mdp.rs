//! Certification (DocMDP) and field locks (FieldMDP) of a signature being made.
//!
//! A certification signature records its permission in the catalog (`/Perms /DocMDP`) and in
//! its own `/Reference` (`/TransformMethod /DocMDP`, `/TransformParams << /P n /V /1.2 >>`). A
//! field lock is written twice, as ISO 32000-2 §12.7.5.5 and the validators expect: the
//! signature field's `/Lock` dictionary, and a `/FieldMDP` entry of the signature's
//! `/Reference` (what pyHanko and Acrobat read when validating; `/Data` names the catalog as
//! pyHanko and Acrobat write it). Document timestamps never carry either.

use kyso_pdf::writer::{text_string, IncrementalUpdate};
use kyso_pdf::{Dict, Document, ObjRef, Object};

use crate::sign::SignOptions;
use crate::{fields, Error, Result};

/// The DocMDP permission of a certification signature (ISO 32000-2 Table 257).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocMdp {
    /// `P=1`: no change at all.
    NoChanges = 1,
    /// `P=2`: filling in forms and signing.
    FormFilling = 2,
    /// `P=3`: also annotations.
    Annotations = 3,
}

/// Which fields a signature locks when it is made (a FieldMDP `/Lock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldLock {
    /// Every field of the document.
    All,
    /// Only these (fully qualified) fields.
    Include(Vec<String>),
    /// Every field but these.
    Exclude(Vec<String>),
}

impl FieldLock {
    fn params(&self) -> Dict {
        let mut d = Dict::new();
        d.set("Type", Object::name("TransformParams"));
        let (action, names) = match self {
            FieldLock::All => ("All", None),
            FieldLock::Include(n) => ("Include", Some(n)),
            FieldLock::Exclude(n) => ("Exclude", Some(n)),
        };
        d.set("Action", Object::name(action));
        if let Some(names) = names {
            d.set(
                "Fields",
                Object::Array(names.iter().map(|n| text_string(n)).collect()),
            );
        }
        d.set("V", Object::name("1.2"));
        d
    }

    /// The `/Lock` dictionary of the signature field.
    fn lock_dict(&self) -> Dict {
        let mut d = self.params();
        d.set("Type", Object::name("SigFieldLock"));
        d.remove("V");
        d
    }
}

/// Whether `sig` is a signature dictionary (not a document timestamp).
fn is_signature(sig: &Dict) -> bool {
    sig.get_name("Type").is_none_or(|t| t == "Sig")
}

/// Add the `/Reference` entries `opts` asks for to the signature dictionary `sig`; refuse a
/// certification of a document that is signed already (a certification signature must be the
/// first).
pub(crate) fn add_references(doc: &Document, sig: &mut Dict, opts: &SignOptions) -> Result<()> {
    if !is_signature(sig) || (opts.certify.is_none() && opts.lock.is_none()) {
        return Ok(());
    }
    let mut refs = Vec::new();
    if let Some(p) = opts.certify {
        let signed = fields::form_fields(doc)?
            .iter()
            .any(|f| f.dict.contains("V") && f.is_signature());
        if signed {
            return Err(Error::Structure(
                "a certification signature must be the document's first signature",
            ));
        }
        let mut params = Dict::new();
        params.set("Type", Object::name("TransformParams"));
        params.set("P", Object::Int(p as i64));
        params.set("V", Object::name("1.2"));
        let mut r = Dict::new();
        r.set("Type", Object::name("SigRef"));
        r.set("TransformMethod", Object::name("DocMDP"));
        r.set("TransformParams", params);
        refs.push(Object::Dict(r));
    }
    if let Some(lock) = &opts.lock {
        let mut r = Dict::new();
        r.set("Type", Object::name("SigRef"));
        r.set("TransformMethod", Object::name("FieldMDP"));
        r.set("Data", Object::Ref(doc.catalog_ref()?));
        r.set("TransformParams", lock.params());
        refs.push(Object::Dict(r));
    }
    sig.set("Reference", Object::Array(refs));
    Ok(())
}

/// Set the field's `/Lock` when `opts` asks for one.
pub(crate) fn lock_field(sig: &Dict, field: &mut Dict, opts: &SignOptions) {
    if let (true, Some(lock)) = (is_signature(sig), &opts.lock) {
        field.set("Lock", lock.lock_dict());
    }
}

/// Record a certification signature in the catalog (`/Perms /DocMDP`), after the field was
/// attached (which may have redefined the catalog in `update`).
pub(crate) fn record_certification(
    doc: &Document,
    update: &mut IncrementalUpdate,
    sig: &Dict,
    sig_ref: ObjRef,
    opts: &SignOptions,
) -> Result<()> {
    if !is_signature(sig) || opts.certify.is_none() {
        return Ok(());
    }
    let catalog_ref = doc.catalog_ref()?;
    let mut catalog = match update.get(catalog_ref) {
        Some(o) => o
            .as_dict()
            .cloned()
            .ok_or(Error::Structure("catalog is not a dictionary"))?,
        None => doc.catalog()?,
    };
    let mut perms = match catalog.get("Perms") {
        Some(p) => doc.resolve(p)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    perms.set("DocMDP", Object::Ref(sig_ref));
    catalog.set("Perms", perms);
    update.set(catalog_ref, catalog);
    Ok(())
}
