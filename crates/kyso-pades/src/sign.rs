//! Signing is two-phase: [`prepare`] writes the whole signed document to a temporary file with
//! a zero-filled `/Contents` placeholder and computes the digest of the byte ranges and the CMS
//! signed attributes; an external [`Signer`] (a key file, a USB token, a remote service, a
//! browser-side agent) signs those attributes; [`finalize`] checks the signature against the
//! certificate, writes the CMS into the placeholder and renames the file into place.
//!
//! The input is never loaded whole: it is copied to the output and hashed in one streaming pass.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use der::Decode;
use kyso_cms::{
    DigestAlgorithm, SignRequest, SignatureAlgorithm, SignedAttributes, SignedDataBuilder, Signer,
};
use kyso_pdf::writer::{text_string, IncrementalUpdate};
use kyso_pdf::{Dict, Document, FileSource, Limits, ObjRef, Object};
use kyso_x509::{Cert, KeyKind};
use time::OffsetDateTime;
use x509_cert::attr::Attribute;

use crate::{fields, pdfdate, Error, Result};

/// Options of one signature.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The field name; by default `Signature1`, `Signature2`, … (the first free one).
    pub field_name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub contact_info: Option<String>,
    /// `/Name`: the signer's name as shown by viewers (defaults to the certificate's CN).
    pub signer_name: Option<String>,
    /// The claimed signing time, written as `/M` in Vietnam time.
    pub signing_time: OffsetDateTime,
    /// Extra bytes to reserve in `/Contents` (for a timestamp token added at finalize).
    pub extra_reserve: usize,
    /// fsync the file before renaming it into place.
    pub durable: bool,
    /// Limits for reading the input.
    pub limits: Limits,
    /// Add a signature timestamp from this TSA (PAdES B-T).
    pub timestamper: Option<Arc<dyn Timestamper>>,
}

/// A source of RFC 3161 time-stamp tokens (a TSA client) for signature timestamps.
pub trait Timestamper: Send + Sync + std::fmt::Debug {
    /// A token over `digest`, made with `alg`; the error says why none could be had.
    fn timestamp(
        &self,
        alg: DigestAlgorithm,
        digest: &[u8],
    ) -> std::result::Result<Vec<u8>, String>;
    /// Bytes to reserve in `/Contents` for the token (its certificates included).
    fn reserve(&self) -> usize {
        16 * 1024
    }
}

impl SignOptions {
    pub fn new(signing_time: OffsetDateTime) -> Self {
        SignOptions {
            field_name: None,
            reason: None,
            location: None,
            contact_info: None,
            signer_name: None,
            signing_time,
            extra_reserve: 0,
            durable: true,
            limits: Limits::default(),
            timestamper: None,
        }
    }
}

/// Where the signature's widget goes. An invisible signature has a zero rectangle.
#[derive(Debug, Clone)]
pub struct Widget {
    /// Page index, 0-based.
    pub page: usize,
    /// `/Rect` in the page's default user space.
    pub rect: [f64; 4],
    /// The normal appearance (`/AP /N`), a form XObject already added to the update.
    pub appearance: Option<ObjRef>,
}

impl Widget {
    /// An invisible signature attached to `page`.
    pub fn invisible(page: usize) -> Self {
        Widget {
            page,
            rect: [0.0; 4],
            appearance: None,
        }
    }
}

/// Builds the widget (and its appearance objects) inside the update being prepared.
pub type WidgetBuilder<'a> = dyn FnOnce(&Document, &mut IncrementalUpdate) -> Result<Widget> + 'a;

/// A document prepared for signing: everything is written but the signature value.
#[derive(Debug)]
pub struct Prepared {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
    /// Absolute offset of the first hex digit inside `/Contents <…>`.
    contents_offset: u64,
    /// Bytes reserved for the DER CMS (the hex string holds twice as many digits).
    reserved: usize,
    durable: bool,
    /// The `/ByteRange` written.
    pub byte_range: [u64; 4],
    /// Digest of the byte ranges (the CMS message-digest).
    pub document_digest: Vec<u8>,
    /// The signed attributes; their DER is what the key signs.
    pub signed_attrs: SignedAttributes,
    pub algorithm: SignatureAlgorithm,
    /// `hash(signed_attrs)`: what a hash-only signer signs.
    pub to_be_signed_digest: Vec<u8>,
    /// The field name used.
    pub field_name: String,
}

impl Prepared {
    /// The request to hand to a signer.
    pub fn request(&self) -> SignRequest<'_> {
        SignRequest {
            message: self.signed_attrs.der(),
            digest: &self.to_be_signed_digest,
            algorithm: self.algorithm,
        }
    }
}

/// Upper bound of a signature value's length for the key in `cert`.
fn max_signature_len(cert: &Cert) -> usize {
    match cert.key_kind() {
        KeyKind::Rsa { bits } => bits.div_ceil(8).max(256),
        KeyKind::EcP256 => 72,
        KeyKind::EcP384 => 104,
        KeyKind::EcP521 => 139,
        _ => 512,
    }
}

/// The size of the CMS for this signer, measured by encoding it with a dummy signature.
fn estimate_cms_len(cert: &Cert, chain: &[Cert], algorithm: SignatureAlgorithm) -> Result<usize> {
    let digest = vec![0u8; algorithm.digest().output_len()];
    let attrs = SignedAttributes::pades(&digest, algorithm, cert)?;
    let signature = vec![0xffu8; max_signature_len(cert)];
    let b = SignedDataBuilder {
        signed_attrs: &attrs,
        algorithm,
        signature: &signature,
        signer: cert,
        chain,
        unsigned_attrs: Vec::new(),
    };
    Ok(b.encode()?.len())
}

/// Placeholder text for `/ByteRange`: replaced in place by the real values, same width.
const BYTE_RANGE_PLACEHOLDER: [i64; 3] = [
    8_888_888_888_888_888_881,
    8_888_888_888_888_888_882,
    8_888_888_888_888_888_883,
];

/// Phase 1: write `input` + an incremental update with a signature placeholder to a temporary
/// file next to `dest`, and compute what must be signed.
pub fn prepare(
    input: &Path,
    dest: &Path,
    opts: &SignOptions,
    cert: &Cert,
    chain: &[Cert],
    algorithm: SignatureAlgorithm,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Prepared> {
    let reserved = estimate_cms_len(cert, chain, algorithm)?
        + 2048
        + opts.extra_reserve
        + opts.timestamper.as_ref().map_or(0, |t| t.reserve());

    // The signature dictionary.
    let mut sig = Dict::new();
    sig.set("Type", Object::name("Sig"));
    sig.set("Filter", Object::name("Adobe.PPKLite"));
    sig.set("SubFilter", Object::name("ETSI.CAdES.detached"));
    sig.set(
        "M",
        Object::string(pdfdate::pdf_date(opts.signing_time).into_bytes()),
    );
    let name = opts.signer_name.clone().or_else(|| cert.common_name());
    for (key, value) in [
        ("Name", &name),
        ("Reason", &opts.reason),
        ("Location", &opts.location),
        ("ContactInfo", &opts.contact_info),
    ] {
        if let Some(v) = value {
            sig.set(key, text_string(v));
        }
    }
    let p = write_placeholder(
        input,
        dest,
        opts,
        sig,
        reserved,
        algorithm.digest(),
        "Signature",
        widget,
    )?;
    let signed_attrs = SignedAttributes::pades(&p.document_digest, algorithm, cert)?;
    let to_be_signed_digest = algorithm.digest().digest(signed_attrs.der());
    Ok(Prepared {
        tmp: p.tmp,
        dest: dest.to_path_buf(),
        contents_offset: p.contents_offset,
        reserved,
        durable: opts.durable,
        byte_range: p.byte_range,
        document_digest: p.document_digest,
        signed_attrs,
        algorithm,
        to_be_signed_digest,
        field_name: p.field_name,
    })
}

/// The input copied with an update holding a signature (or document timestamp) dictionary
/// whose `/Contents` is a zero placeholder, and the digest of its byte ranges.
pub(crate) struct Placeholder {
    pub tmp: tempfile::NamedTempFile,
    /// Absolute offset of the first hex digit inside `/Contents <…>`.
    pub contents_offset: u64,
    pub byte_range: [u64; 4],
    pub document_digest: Vec<u8>,
    pub field_name: String,
}

/// Write `input` plus an update adding a signature field whose value is `sig` (completed with
/// `/Prop_Build`, `/ByteRange` and a `/Contents` placeholder of `reserved` bytes) to a
/// temporary file next to `dest`, hashing the byte ranges with `digest` in the same pass.
/// Field names default to `{name_prefix}1`, `{name_prefix}2`, … (the first free one).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_placeholder(
    input: &Path,
    dest: &Path,
    opts: &SignOptions,
    mut sig: Dict,
    reserved: usize,
    digest: DigestAlgorithm,
    name_prefix: &str,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Placeholder> {
    let src = Arc::new(FileSource::open(input)?);
    let base_len = kyso_pdf::Source::len(src.as_ref());
    let doc = Document::open(src.clone(), opts.limits.clone())?;
    check_not_locked(&doc)?;
    let pages = doc.pages()?;
    let mut update = IncrementalUpdate::new(&doc);

    let widget = match widget {
        Some(build) => build(&doc, &mut update)?,
        None => Widget::invisible(0),
    };
    let page = pages.get(widget.page).ok_or(Error::PageOutOfRange {
        page: widget.page + 1,
        count: pages.len(),
    })?;

    let existing = fields::field_names(&doc)?;
    let field_name = match &opts.field_name {
        Some(n) if existing.contains(n) => return Err(Error::FieldExists(n.clone())),
        Some(n) => n.clone(),
        None => (1..)
            .map(|i| format!("{name_prefix}{i}"))
            .find(|n| !existing.contains(n))
            .unwrap_or_default(),
    };

    let mut app = Dict::new();
    app.set("Name", Object::name("kyso"));
    app.set(
        "REx",
        Object::string(env!("CARGO_PKG_VERSION").as_bytes().to_vec()),
    );
    let mut build = Dict::new();
    build.set("App", app);
    sig.set("Prop_Build", build);
    sig.set(
        "ByteRange",
        Object::Array(
            std::iter::once(0)
                .chain(BYTE_RANGE_PLACEHOLDER)
                .map(Object::Int)
                .collect(),
        ),
    );
    sig.set("Contents", Object::hex_string(vec![0u8; reserved]));
    let sig_ref = update.add(sig);

    // The merged field + widget annotation.
    let mut field = Dict::new();
    field.set("Type", Object::name("Annot"));
    field.set("Subtype", Object::name("Widget"));
    field.set("FT", Object::name("Sig"));
    field.set("T", text_string(&field_name));
    field.set("V", Object::Ref(sig_ref));
    field.set("F", Object::Int(132)); // Print + Locked
    field.set("P", Object::Ref(page.id));
    field.set(
        "Rect",
        Object::Array(widget.rect.iter().map(|&v| Object::real(v)).collect()),
    );
    if let Some(ap) = widget.appearance {
        let mut apd = Dict::new();
        apd.set("N", Object::Ref(ap));
        field.set("AP", apd);
    }
    let field_ref = update.add(field);
    fields::attach_field(&doc, &mut update, field_ref, page.id)?;

    let (mut appended, offsets) = update.serialize(base_len)?;

    // Locate the placeholders inside the signature object.
    let sig_off = offsets
        .iter()
        .find(|(r, _)| *r == sig_ref)
        .map(|(_, o)| *o)
        .ok_or(Error::Structure("signature object not written"))?;
    let sig_rel =
        usize::try_from(sig_off - base_len).map_err(|_| Error::Structure("offset overflow"))?;
    let contents_rel = find(&appended, b"/Contents <", sig_rel)
        .ok_or(Error::Structure("contents placeholder not found"))?
        + b"/Contents ".len();
    let contents_end_rel = contents_rel + 2 * reserved + 2;
    let br_text = format!(
        "[0 {} {} {}]",
        BYTE_RANGE_PLACEHOLDER[0], BYTE_RANGE_PLACEHOLDER[1], BYTE_RANGE_PLACEHOLDER[2]
    );
    let br_rel = find(&appended, br_text.as_bytes(), sig_rel)
        .ok_or(Error::Structure("byte range placeholder not found"))?;

    let total = base_len + appended.len() as u64;
    let c_start = base_len + contents_rel as u64;
    let c_end = base_len + contents_end_rel as u64;
    let byte_range = [0, c_start, c_end, total - c_end];
    let mut br_new =
        format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]).into_bytes();
    br_new.resize(br_text.len() - 1, b' ');
    br_new.push(b']');
    if let Some(slot) = appended.get_mut(br_rel..br_rel + br_new.len()) {
        slot.copy_from_slice(&br_new);
    }

    // One pass over the input: copy it to the temporary file and hash it.
    let mut tmp = temp_next_to(dest)?;
    let mut hasher = digest.hasher();
    {
        let mut reader = File::open(input)?;
        // 1 MiB for large files; small ones (most letters) get a buffer of their own size, so
        // signing thousands of them does not zero a megabyte each time.
        let cap = usize::try_from(base_len.clamp(1, 1 << 20)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; cap];
        let mut left = base_len;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            reader.read_exact(chunk)?;
            hasher.update(chunk);
            tmp.as_file_mut().write_all(chunk)?;
            left -= want as u64;
        }
    }
    hasher.update(appended.get(..contents_rel).unwrap_or_default());
    hasher.update(appended.get(contents_end_rel..).unwrap_or_default());
    tmp.as_file_mut().write_all(&appended)?;
    Ok(Placeholder {
        tmp,
        contents_offset: c_start + 1,
        byte_range,
        document_digest: hasher.finish().as_ref().to_vec(),
        field_name,
    })
}

/// A temporary file in `dest`'s directory (so the final rename is atomic).
pub(crate) fn temp_next_to(dest: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(tempfile::Builder::new()
        .prefix(".kyso-")
        .suffix(".pdf.part")
        .tempfile_in(dir)?)
}

/// Phase 2: embed the signature. The signature value is checked against `cert`'s public key
/// first; a value from another key is refused and nothing is written to `dest`.
pub fn finalize(
    prepared: Prepared,
    signature: &[u8],
    cert: &Cert,
    chain: &[Cert],
    unsigned_attrs: Vec<Attribute>,
) -> Result<PathBuf> {
    let builder = SignedDataBuilder {
        signed_attrs: &prepared.signed_attrs,
        algorithm: prepared.algorithm,
        signature,
        signer: cert,
        chain,
        unsigned_attrs,
    };
    let cms = builder.build()?;
    embed(
        prepared.tmp,
        prepared.contents_offset,
        prepared.reserved,
        &cms,
        &prepared.dest,
        prepared.durable,
    )
}

/// Write `der` into the `/Contents` placeholder at `contents_offset` of `tmp`, then move `tmp`
/// to `dest` (fsynced first when `durable`). Refuses a `der` larger than `reserved`.
pub(crate) fn embed(
    tmp: tempfile::NamedTempFile,
    contents_offset: u64,
    reserved: usize,
    der: &[u8],
    dest: &Path,
    durable: bool,
) -> Result<PathBuf> {
    if der.len() > reserved {
        return Err(Error::PlaceholderTooSmall {
            needed: der.len(),
            reserved,
        });
    }
    tmp.as_file().write_all_at(&to_hex(der), contents_offset)?;
    persist(tmp, dest, durable)
}

/// Move a finished temporary file into place atomically (fsync first when `durable`).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, dest: &Path, durable: bool) -> Result<PathBuf> {
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(dest).map_err(|e| Error::Io(e.error))?;
    if durable {
        if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
    }
    Ok(dest.to_path_buf())
}

/// Upper-case hex digits of `bytes`.
fn to_hex(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    kyso_pdf::writer::push_hex(&mut out, bytes);
    out
}

/// Prepare, sign with `signer`, finalize.
pub fn sign_with(
    input: &Path,
    dest: &Path,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<PathBuf> {
    let prepared = prepare(
        input,
        dest,
        opts,
        signer.certificate(),
        signer.chain(),
        signer.algorithm(),
        widget,
    )?;
    let signature = signer.sign(&prepared.request())?;
    let unsigned = match &opts.timestamper {
        Some(tsa) => vec![signature_timestamp(
            tsa.as_ref(),
            prepared.algorithm,
            &signature,
        )?],
        None => Vec::new(),
    };
    finalize(
        prepared,
        &signature,
        signer.certificate(),
        signer.chain(),
        unsigned,
    )
}

/// The signature-time-stamp unsigned attribute (ETSI EN 319 122-1 §5.3): a token over the
/// hash of the signature value. A failure leaves nothing written.
pub fn signature_timestamp(
    tsa: &dyn Timestamper,
    algorithm: SignatureAlgorithm,
    signature: &[u8],
) -> Result<Attribute> {
    let d = algorithm.digest();
    let token = tsa
        .timestamp(d, &d.digest(signature))
        .map_err(Error::Timestamp)?;
    let value = der::Any::from_der(&token).map_err(|e| Error::Timestamp(e.to_string()))?;
    let mut values = der::asn1::SetOfVec::new();
    values
        .insert(value)
        .map_err(|e| Error::Timestamp(e.to_string()))?;
    Ok(Attribute {
        oid: kyso_cms::signed_data::ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
        values,
    })
}

/// Refuse documents certified with "no changes allowed" (DocMDP P=1).
fn check_not_locked(doc: &Document) -> Result<()> {
    if crate::revisions::docmdp_level(doc)? == Some(1) {
        return Err(Error::Structure(
            "the document is certified with no changes allowed (DocMDP P=1)",
        ));
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}
