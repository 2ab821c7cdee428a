//! Signing is two-phase: [`prepare_source`] (or [`prepare`] for files) builds the update
//! holding the signature dictionary with a zero-filled `/Contents` placeholder and computes the
//! digest of the byte ranges and the CMS signed attributes; an external [`Signer`] (a key file,
//! a USB token, a remote service, a browser-side agent) signs those attributes;
//! [`Prepared::finish`] checks the signature against the certificate and writes the CMS into
//! the placeholder, giving an [`Updated`] document that is written to any [`std::io::Write`]
//! ([`Updated::write_to`]) or atomically to a file ([`Updated::write_file`], [`finalize`]).
//!
//! The input is a [`kyso_pdf::Source`] (a file, bytes in memory) and is never loaded whole: it
//! is hashed in one streaming pass. For a file destination (the path API: [`sign_with`],
//! [`prepare`], `ltv::sign_with_level`, `ltv::extend`) that pass also copies the input into the
//! temporary file beside the destination, and every later step reads that copy: the input is
//! read once, and what is written is by construction what was hashed; writing then only
//! appends the updates and renames. Written to any other writer, the input is read a second
//! time and checksummed on the way, and the write fails if it changed since it was hashed.
//! Only the updates are kept in memory.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use der::Decode;
use kyso_cms::{
    DigestAlgorithm, SignRequest, SignatureAlgorithm, SignedAttributes, SignedDataBuilder, Signer,
};
use kyso_pdf::writer::{text_string, IncrementalUpdate};
use kyso_pdf::{Dict, Document, FileSource, Limits, MemSource, ObjRef, Object, Source};
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
    /// fsync the file before renaming it into place (file outputs only).
    pub durable: bool,
    /// Limits for reading the input.
    pub limits: Limits,
    /// Add a signature timestamp from this TSA (PAdES B-T).
    pub timestamper: Option<Arc<dyn Timestamper>>,
    /// Make a certification signature with this DocMDP permission (the document's first
    /// signature only; `crate::mdp`).
    pub certify: Option<crate::mdp::DocMdp>,
    /// Lock these fields when signing (FieldMDP `/Lock`; `crate::mdp`).
    pub lock: Option<crate::mdp::FieldLock>,
}

/// A source of RFC 3161 time-stamp tokens (a TSA client); `kyso_ltv::tsp::HttpTsa` is the
/// HTTP one.
pub use kyso_ltv::tsp::Timestamper;

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
            certify: None,
            lock: None,
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

/// A document prepared for signing: everything is built but the signature value.
#[derive(Debug)]
pub struct Prepared {
    update: Placeholder,
    /// Bytes reserved for the DER CMS (the hex string holds twice as many digits).
    reserved: usize,
    /// Where [`finalize`] writes (set by [`prepare`]), and whether it fsyncs.
    dest: Option<(PathBuf, bool)>,
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

    /// Phase 2: embed the signature. The signature value is checked against `cert`'s public
    /// key first; a value from another key is refused.
    #[tracing::instrument(name = "embed", level = "debug", skip_all)]
    pub fn finish(
        self,
        signature: &[u8],
        cert: &Cert,
        chain: &[Cert],
        unsigned_attrs: Vec<Attribute>,
    ) -> Result<Updated> {
        let builder = SignedDataBuilder {
            signed_attrs: &self.signed_attrs,
            algorithm: self.algorithm,
            signature,
            signer: cert,
            chain,
            unsigned_attrs,
        };
        let cms = builder.build()?;
        let mut updated = self.update.fill(self.reserved, &cms)?;
        updated.field_name = Some(self.field_name);
        Ok(updated)
    }

    /// Phase 2 with a whole CMS SignedData made elsewhere (a signer that builds its own signed
    /// attributes over [`Self::document_digest`]). It is checked first: readable, detached,
    /// hashed with this preparation's digest algorithm, and intact for `kyso_cms::verify` —
    /// its message digest is the byte ranges' and its signature verifies with the certificate
    /// it names; anything else is refused and nothing is written.
    pub fn finish_cms(self, cms: &[u8]) -> Result<Updated> {
        let parsed = kyso_cms::verify::parse_signed_data(cms)?;
        let digest = self.algorithm.digest();
        if !parsed.detached || parsed.digest != Some(digest) {
            return Err(Error::Cms(kyso_cms::Error::Unsupported(
                "the CMS must be detached and use the prepared digest algorithm",
            )));
        }
        let check = kyso_cms::verify::verify_signer(&parsed, |d| {
            if d == digest {
                self.document_digest.clone()
            } else {
                Vec::new()
            }
        });
        if !check.is_intact() {
            return Err(Error::Cms(kyso_cms::Error::SignatureMismatch));
        }
        let mut updated = self.update.fill(self.reserved, cms)?;
        updated.field_name = Some(self.field_name);
        Ok(updated)
    }

    /// The prepared document as it stands: the input, the update and its zero-filled
    /// `/Contents` placeholder, to be kept (written with [`Updated::write_to`]) and taken up
    /// again later with [`Prepared::resume`] — a two-phase signature whose phases run in
    /// different requests embeds into exactly these bytes.
    pub fn document(&self) -> Updated {
        self.update.base.append(self.update.appended.clone())
    }

    /// A document kept from [`Prepared::document`], ready for [`Prepared::finish`] or
    /// [`Prepared::finish_cms`] again without preparing it anew: `byte_range` is the one the
    /// preparation wrote, `cert` and `algorithm` those it was made for. The document is read
    /// in one streaming pass (its byte ranges hashed, the part before the placeholder pinned
    /// against change until it is written); only the placeholder and what follows it are held
    /// in memory. Refused when `byte_range` does not frame a zero placeholder ending the
    /// document's last update (at most [`MAX_RESUMED_TAIL`] bytes after it); the caller
    /// compares [`Prepared::document_digest`] with the one it handed out.
    pub fn resume(
        src: Arc<dyn Source>,
        byte_range: [u64; 4],
        field_name: String,
        cert: &Cert,
        algorithm: SignatureAlgorithm,
    ) -> Result<Prepared> {
        let not_prepared = || Error::Structure("not a prepared document with this byte range");
        let [start, hole, after, rest] = byte_range;
        let len = src.len();
        let span = after.checked_sub(hole).ok_or_else(not_prepared)?;
        if start != 0
            || hole == 0
            || span < 4
            || span % 2 != 0
            || after.checked_add(rest) != Some(len)
            || rest > MAX_RESUMED_TAIL
        {
            return Err(not_prepared());
        }
        let reserved = usize::try_from((span - 2) / 2).map_err(|_| not_prepared())?;
        let mut tail = vec![0u8; usize::try_from(len - hole).map_err(|_| not_prepared())?];
        if src.read_at(hole, &mut tail)? < tail.len() {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let hole_len = usize::try_from(span).map_err(|_| not_prepared())?;
        let zeros = tail.get(1..hole_len - 1).unwrap_or_default();
        if tail.first() != Some(&b'<')
            || tail.get(hole_len - 1) != Some(&b'>')
            || zeros.iter().any(|b| *b != b'0')
        {
            return Err(not_prepared());
        }
        let mut hasher = algorithm.digest().hasher();
        let base = Updated::from_source(Arc::new(crate::revisions::Truncated::new(src, hole)))
            .digest_pass(&mut hasher)?;
        hasher.update(tail.get(hole_len..).unwrap_or_default());
        let document_digest = hasher.finish().as_ref().to_vec();
        let signed_attrs = SignedAttributes::pades(&document_digest, algorithm, cert)?;
        let to_be_signed_digest = algorithm.digest().digest(signed_attrs.der());
        Ok(Prepared {
            update: Placeholder {
                base,
                appended: tail,
                contents_rel: 0,
                byte_range,
                document_digest: document_digest.clone(),
                field_name: field_name.clone(),
            },
            reserved,
            dest: None,
            byte_range,
            document_digest,
            signed_attrs,
            algorithm,
            to_be_signed_digest,
            field_name,
        })
    }
}

/// Most bytes after the placeholder of a document [`Prepared::resume`] takes up (the rest of
/// the signature's update: its dictionaries, appearance streams and cross-reference section).
pub const MAX_RESUMED_TAIL: u64 = 16 << 20;

/// A document read from a [`Source`] plus updates kyso appended to it, held in memory and not
/// written yet: the result of signing or extending, and the input of the next step. Write it
/// with [`Updated::write_to`] (any writer) or [`Updated::write_file`] (atomic rename).
#[derive(Debug, Clone)]
pub struct Updated {
    doc: Arc<dyn Source>,
    /// How the part of `doc` read from outside is protected against changing underneath.
    prefix: Prefix,
    /// The temporary file beside the destination (the path API), filled by the digest pass.
    spool: Option<Arc<Spool>>,
    /// The field of the last signature or document timestamp added.
    pub field_name: Option<String>,
}

/// What the first digest pass over a document did with the input it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// No digest pass yet.
    Unread,
    /// The first `len` bytes were hashed and checksummed: read again when the document is
    /// written, they must give the same checksum.
    Pinned { len: u64, check: u64 },
    /// The first `len` bytes were copied into the spool file while they were hashed, and
    /// `doc` reads them from there: nothing outside can change them any more.
    Spooled { len: u64 },
}

/// The temporary file in the destination's directory that the path API writes and renames.
#[derive(Debug)]
struct Spool {
    dest: PathBuf,
    state: Mutex<SpoolState>,
}

#[derive(Debug)]
struct SpoolState {
    /// `None` once a write took it (or a failed pass dropped it).
    tmp: Option<tempfile::NamedTempFile>,
    /// How many bytes of the document the file holds (set by the digest pass).
    filled: Option<u64>,
}

impl Spool {
    fn new(dest: &Path) -> Result<Self> {
        Ok(Spool {
            dest: dest.to_path_buf(),
            state: Mutex::new(SpoolState {
                tmp: Some(temp_next_to(dest)?),
                filled: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SpoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The first `len` bytes of the spool file, read through a handle of its own.
#[derive(Debug)]
struct SpoolSource {
    file: std::fs::File,
    len: u64,
}

impl Source for SpoolSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let max = usize::try_from(self.len.saturating_sub(offset).min(buf.len() as u64))
            .unwrap_or(buf.len());
        Source::read_at(&self.file, offset, buf.get_mut(..max).unwrap_or_default())
    }
}

/// A fast checksum of the input (FNV-1a over 64-bit words): it tells whether the input read
/// again when the document is written is the one that was signed. Not a security measure (the
/// signature is over the SHA-2 digest); it catches a file changed underneath kyso at a small
/// fraction of a second hash's cost.
#[derive(Debug, Clone)]
struct Checksum {
    h: u64,
    pending: Vec<u8>,
}

impl Checksum {
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Checksum {
            h: 0xcbf2_9ce4_8422_2325,
            pending: Vec::with_capacity(8),
        }
    }

    fn word(&mut self, w: &[u8]) {
        let mut b = [0u8; 8];
        if let Some(dst) = b.get_mut(..w.len()) {
            dst.copy_from_slice(w);
        }
        self.h = (self.h ^ u64::from_le_bytes(b)).wrapping_mul(Self::PRIME);
    }

    fn update(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() {
            let need = 8 - self.pending.len();
            let (head, rest) = data.split_at(need.min(data.len()));
            self.pending.extend_from_slice(head);
            data = rest;
            if self.pending.len() < 8 {
                return;
            }
            let w = std::mem::take(&mut self.pending);
            self.word(&w);
            self.pending = w;
            self.pending.clear();
        }
        let words = data.chunks_exact(8);
        let rest = words.remainder();
        for w in words {
            self.word(w);
        }
        self.pending.extend_from_slice(rest);
    }

    fn finish(mut self, len: u64) -> u64 {
        let w = std::mem::take(&mut self.pending);
        if !w.is_empty() {
            self.word(&w);
        }
        (self.h ^ len).wrapping_mul(Self::PRIME)
    }
}

impl Updated {
    /// `src` as it is (nothing appended yet).
    pub fn from_source(src: Arc<dyn Source>) -> Self {
        Updated {
            doc: src,
            prefix: Prefix::Unread,
            spool: None,
            field_name: None,
        }
    }

    /// `src` as it is, to be written to the file `dest` with [`Updated::write_file`]: a
    /// temporary file is made beside `dest` now, the first digest pass copies the input into
    /// it, every later step reads that copy, and writing `dest` only appends the updates and
    /// renames. The input is read once and cannot change underneath.
    pub fn from_source_into(src: Arc<dyn Source>, dest: &Path) -> Result<Self> {
        Ok(Updated {
            doc: src,
            prefix: Prefix::Unread,
            spool: Some(Arc::new(Spool::new(dest)?)),
            field_name: None,
        })
    }

    /// The whole document, to read (verify, extend) without writing it.
    pub fn source(&self) -> Arc<dyn Source> {
        self.doc.clone()
    }

    /// Length in bytes of the whole document.
    pub fn len(&self) -> u64 {
        self.doc.len()
    }

    /// Nothing at all (never the case for a document kyso built).
    pub fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }

    /// `self` plus `tail`.
    pub(crate) fn append(&self, tail: Vec<u8>) -> Updated {
        Updated {
            doc: Arc::new(Appended {
                base_len: self.doc.len(),
                base: self.doc.clone(),
                tail: tail.into(),
            }),
            prefix: self.prefix,
            spool: self.spool.clone(),
            field_name: None,
        }
    }

    /// The digest pass over the whole of `self` (each byte once, 1 MiB at a time): every
    /// chunk goes to `hasher`. On the first pass the input read from outside is also copied
    /// into the spool file (then `self` reads it from there) or, without one, checksummed
    /// (then it is checked when written). Returns `self` as later steps must read it.
    fn digest_pass(&self, hasher: &mut aws_lc_rs::digest::Context) -> Result<Updated> {
        let len = self.doc.len();
        let mut out = self.clone();
        let mut spool = match (self.prefix, &self.spool) {
            (Prefix::Unread, Some(s)) => {
                let mut st = s.lock();
                match (st.filled, st.tmp.take()) {
                    (None, Some(tmp)) => Some((s, tmp)),
                    (_, tmp) => {
                        st.tmp = tmp;
                        None
                    }
                }
            }
            _ => None,
        };
        let mut check = (self.prefix == Prefix::Unread && spool.is_none()).then(Checksum::new);
        if let Some((_, tmp)) = spool.as_mut() {
            let f = tmp.as_file_mut();
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
        }
        // 1 MiB for large files; small ones (most letters) get a buffer of their own size, so
        // signing thousands of them does not zero a megabyte each time.
        let cap = usize::try_from(len.clamp(1, 1 << 20)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; cap];
        let mut at = 0u64;
        while at < len {
            let want = usize::try_from((len - at).min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            if self.doc.read_at(at, chunk)? < want {
                return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            hasher.update(chunk);
            if let Some(c) = check.as_mut() {
                c.update(chunk);
            }
            if let Some((_, tmp)) = spool.as_mut() {
                tmp.as_file_mut().write_all(chunk)?;
            }
            at += want as u64;
        }
        if let Some(c) = check {
            out.prefix = Prefix::Pinned {
                len,
                check: c.finish(len),
            };
        }
        if let Some((s, tmp)) = spool {
            out.doc = Arc::new(SpoolSource {
                file: tmp.reopen()?,
                len,
            });
            out.prefix = Prefix::Spooled { len };
            let mut st = s.lock();
            st.tmp = Some(tmp);
            st.filled = Some(len);
        }
        Ok(out)
    }

    /// Write the whole document to `out`. Input read from outside that was checksummed when
    /// it was signed is read again and checked on the way: if it changed, this fails (what was
    /// written to `out` is then to be thrown away).
    #[tracing::instrument(name = "write", level = "debug", skip_all, fields(bytes = self.doc.len()))]
    pub fn write_to<W: Write + ?Sized>(&self, out: &mut W) -> Result<()> {
        self.write_from(0, out)
    }

    /// Write the document from byte `from` on (checking a pinned prefix when `from` is 0).
    fn write_from<W: Write + ?Sized>(&self, from: u64, out: &mut W) -> Result<()> {
        let total = self.doc.len();
        let cap = usize::try_from(total.saturating_sub(from).clamp(1, 1 << 20)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; cap];
        let mut hasher = match self.prefix {
            Prefix::Pinned { len, check } if from == 0 => Some((len, check, Checksum::new())),
            _ => None,
        };
        let mut at = from;
        while at < total {
            let want = usize::try_from((total - at).min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            let n = self.doc.read_at(at, chunk)?;
            if n < want {
                return Err(changed());
            }
            if let Some((len, _, h)) = hasher.as_mut() {
                if at < *len {
                    let k = usize::try_from((*len - at).min(want as u64)).unwrap_or(want);
                    h.update(chunk.get(..k).unwrap_or_default());
                }
            }
            out.write_all(chunk)?;
            at += want as u64;
        }
        if let Some((len, check, h)) = hasher {
            if h.finish(len) != check {
                return Err(changed());
            }
        }
        Ok(())
    }

    /// The whole document in memory.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// The spool file to write `dest` with, and how much of the document it already holds.
    fn take_spool(&self, dest: &Path) -> Option<(tempfile::NamedTempFile, u64)> {
        let spool = self.spool.as_ref().filter(|s| s.dest == dest)?;
        let mut st = spool.lock();
        let from = match (self.prefix, st.filled) {
            (Prefix::Spooled { len }, Some(filled)) if len == filled => len,
            (Prefix::Unread, None) => 0,
            _ => return None,
        };
        st.tmp.take().map(|t| (t, from))
    }

    /// Write the document to a temporary file beside `dest` and rename it into place
    /// (fsynced first when `durable`): `dest` is never seen half-written. A document made
    /// with [`Updated::from_source_into`] for this `dest` already has its input in that file:
    /// only the updates are appended.
    pub fn write_file(&self, dest: &Path, durable: bool) -> Result<PathBuf> {
        let (mut tmp, from) = match self.take_spool(dest) {
            Some(t) => t,
            None => (temp_next_to(dest)?, 0),
        };
        {
            let f = tmp.as_file_mut();
            f.set_len(from)?;
            f.seek(SeekFrom::Start(from))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            self.write_from(from, &mut w)?;
            w.flush()?;
        }
        persist(tmp, dest, durable)
    }
}

fn changed() -> Error {
    Error::Structure("the input changed while it was being signed")
}

/// A source followed by bytes in memory.
#[derive(Debug)]
struct Appended {
    base: Arc<dyn Source>,
    base_len: u64,
    tail: Arc<[u8]>,
}

impl Source for Appended {
    fn len(&self) -> u64 {
        self.base_len + self.tail.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut done = 0;
        if offset < self.base_len {
            let want = usize::try_from((self.base_len - offset).min(buf.len() as u64))
                .unwrap_or(buf.len());
            let n = self
                .base
                .read_at(offset, buf.get_mut(..want).unwrap_or_default())?;
            if n < want || n == buf.len() {
                return Ok(n);
            }
            done = n;
        }
        let Ok(start) = usize::try_from(offset + done as u64 - self.base_len) else {
            return Ok(done);
        };
        let Some(src) = self.tail.get(start..) else {
            return Ok(done);
        };
        let rest = buf.get_mut(done..).unwrap_or_default();
        let n = rest.len().min(src.len());
        if let (Some(dst), Some(src)) = (rest.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(done + n)
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

/// Phase 1 for a file: as [`prepare_source`], with [`finalize`] writing `dest` atomically.
pub fn prepare(
    input: &Path,
    dest: &Path,
    opts: &SignOptions,
    cert: &Cert,
    chain: &[Cert],
    algorithm: SignatureAlgorithm,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Prepared> {
    let base = Updated::from_source_into(Arc::new(FileSource::open(input)?), dest)?;
    let mut p = prepare_base(base, opts, cert, chain, algorithm, widget)?;
    p.dest = Some((dest.to_path_buf(), opts.durable));
    Ok(p)
}

/// Phase 1: build the update adding a signature placeholder to `src`, and compute what must
/// be signed.
pub fn prepare_source(
    src: Arc<dyn Source>,
    opts: &SignOptions,
    cert: &Cert,
    chain: &[Cert],
    algorithm: SignatureAlgorithm,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Prepared> {
    prepare_base(
        Updated::from_source(src),
        opts,
        cert,
        chain,
        algorithm,
        widget,
    )
}

/// [`prepare_source`] of a document that may already be bound to its destination file.
#[tracing::instrument(name = "prepare", level = "info", skip_all, fields(bytes = base.len()))]
fn prepare_base(
    base: Updated,
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
        &base,
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
        byte_range: p.byte_range,
        document_digest: p.document_digest.clone(),
        field_name: p.field_name.clone(),
        update: p,
        reserved,
        dest: None,
        signed_attrs,
        algorithm,
        to_be_signed_digest,
    })
}

/// The update adding a signature (or document timestamp) dictionary whose `/Contents` is a
/// zero placeholder, and the digest of the byte ranges of the document it makes.
#[derive(Debug)]
pub(crate) struct Placeholder {
    base: Updated,
    appended: Vec<u8>,
    /// Offset in `appended` of the `<` opening `/Contents`.
    contents_rel: usize,
    pub byte_range: [u64; 4],
    pub document_digest: Vec<u8>,
    pub field_name: String,
}

impl Placeholder {
    /// The document with `der` in the placeholder (refused if larger than `reserved`).
    pub(crate) fn fill(mut self, reserved: usize, der: &[u8]) -> Result<Updated> {
        if der.len() > reserved {
            return Err(Error::PlaceholderTooSmall {
                needed: der.len(),
                reserved,
            });
        }
        let hex = to_hex(der);
        let at = self.contents_rel + 1;
        self.appended
            .get_mut(at..at + hex.len())
            .ok_or(Error::Structure("contents placeholder out of range"))?
            .copy_from_slice(&hex);
        Ok(self.base.append(self.appended))
    }
}

/// The update to `base` adding a signature field whose value is `sig` (completed with
/// `/Prop_Build`, `/ByteRange` and a `/Contents` placeholder of `reserved` bytes), hashing the
/// byte ranges with `digest`. The part of `base` read from outside is copied to the
/// destination file while hashed (or pinned: checksummed now, checked when written). Field
/// names default to `{name_prefix}1`, `{name_prefix}2`, … (the first free one).
pub(crate) fn write_placeholder(
    base: &Updated,
    opts: &SignOptions,
    mut sig: Dict,
    reserved: usize,
    digest: DigestAlgorithm,
    name_prefix: &str,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Placeholder> {
    let src = base.source();
    let base_len = src.len();
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
    crate::mdp::add_references(&doc, &mut sig, opts)?;
    let sig_dict = sig.clone();
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
    crate::mdp::lock_field(&sig_dict, &mut field, opts);
    let field_ref = update.add(field);
    fields::attach_field(&doc, &mut update, field_ref, page.id)?;
    crate::mdp::record_certification(&doc, &mut update, &sig_dict, sig_ref, opts)?;

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

    // One pass over the input, hashing it (and copying it to the destination or pinning it).
    let span = tracing::debug_span!("digest", bytes = total);
    let _digest = span.enter();
    let mut hasher = digest.hasher();
    let base = base.digest_pass(&mut hasher)?;
    hasher.update(appended.get(..contents_rel).unwrap_or_default());
    hasher.update(appended.get(contents_end_rel..).unwrap_or_default());
    Ok(Placeholder {
        base,
        appended,
        contents_rel,
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

/// Phase 2 for a document prepared by [`prepare`]: embed the signature and write the
/// destination atomically. The signature value is checked against `cert`'s public key first;
/// a value from another key is refused and nothing is written to the destination.
pub fn finalize(
    prepared: Prepared,
    signature: &[u8],
    cert: &Cert,
    chain: &[Cert],
    unsigned_attrs: Vec<Attribute>,
) -> Result<PathBuf> {
    let (dest, durable) = prepared.dest.clone().ok_or(Error::Structure(
        "finalize needs a document prepared for a file (prepare); use Prepared::finish",
    ))?;
    prepared
        .finish(signature, cert, chain, unsigned_attrs)?
        .write_file(&dest, durable)
}

/// Move a finished temporary file into place atomically (fsync first when `durable`).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, dest: &Path, durable: bool) -> Result<PathBuf> {
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(dest).map_err(|e| Error::Io(e.error))?;
    if durable {
        sync_dir(dest);
    }
    Ok(dest.to_path_buf())
}

/// Make the rename into `dest`'s directory durable (a directory can be opened and fsynced
/// on unix; elsewhere the rename is as durable as the file system makes it).
fn sync_dir(dest: &Path) {
    #[cfg(unix)]
    if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = dest;
}

/// Upper-case hex digits of `bytes`.
fn to_hex(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    kyso_pdf::writer::push_hex(&mut out, bytes);
    out
}

/// Prepare, sign with `signer`, add the signature timestamp when `opts` names a TSA (B-T),
/// finish: the signed document, not written yet.
pub fn sign_source(
    src: Arc<dyn Source>,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Updated> {
    sign_base(Updated::from_source(src), opts, signer, widget)
}

/// [`sign_source`] of a document that may already be bound to its destination file.
#[tracing::instrument(name = "sign_document", level = "info", skip_all, fields(
    bytes = base.len(),
    algorithm = ?signer.algorithm(),
    timestamp = opts.timestamper.is_some(),
))]
pub(crate) fn sign_base(
    base: Updated,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Updated> {
    let prepared = prepare_base(
        base,
        opts,
        signer.certificate(),
        signer.chain(),
        signer.algorithm(),
        widget,
    )?;
    let signature = {
        let _sign = tracing::info_span!("sign").entered();
        signer.sign(&prepared.request())?
    };
    let unsigned = match &opts.timestamper {
        Some(tsa) => vec![signature_timestamp(
            tsa.as_ref(),
            prepared.algorithm,
            &signature,
        )?],
        None => Vec::new(),
    };
    prepared.finish(&signature, signer.certificate(), signer.chain(), unsigned)
}

/// [`sign_source`] over bytes in memory, the signed document returned in memory.
pub fn sign_bytes(
    input: &[u8],
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<Vec<u8>> {
    sign_source(Arc::new(MemSource::new(input)), opts, signer, widget)?.to_vec()
}

/// [`sign_source`] from the file `input` to the file `dest` (written atomically; it may be
/// `input` itself).
pub fn sign_with(
    input: &Path,
    dest: &Path,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
) -> Result<PathBuf> {
    let base = Updated::from_source_into(Arc::new(FileSource::open(input)?), dest)?;
    sign_base(base, opts, signer, widget)?.write_file(dest, opts.durable)
}

/// The signature-time-stamp unsigned attribute (ETSI EN 319 122-1 §5.3): a token over the
/// hash of the signature value. A failure leaves nothing written.
#[tracing::instrument(name = "signature_timestamp", level = "info", skip_all)]
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::Checksum;

    fn sum(parts: &[&[u8]]) -> u64 {
        let mut c = Checksum::new();
        let mut len = 0;
        for p in parts {
            c.update(p);
            len += p.len() as u64;
        }
        c.finish(len)
    }

    #[test]
    fn the_checksum_ignores_how_the_input_is_cut_and_sees_any_change() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = sum(&[&data]);
        for cut in [1, 3, 7, 8, 9, 500, 999] {
            let (a, b) = data.split_at(cut);
            assert_eq!(sum(&[a, b]), whole, "cut at {cut}");
            let (b1, b2) = b.split_at(b.len() / 3);
            assert_eq!(sum(&[a, b1, b2]), whole, "cut at {cut} and after");
        }
        for i in [0, 5, 8, 500, 999] {
            let mut changed = data.clone();
            changed[i] ^= 1;
            assert_ne!(sum(&[&changed]), whole, "byte {i}");
        }
        assert_ne!(sum(&[&data[..999]]), whole, "shorter");
        assert_ne!(sum(&[&data, &[0]]), whole, "a zero byte more");
    }
}
