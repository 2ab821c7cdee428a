//! Long-term signatures (ETSI EN 319 142-1): PAdES B-LT adds the validation material of every
//! signature — certificates, OCSP responses, CRLs — to the Document Security Store, so the
//! document validates offline; B-LTA adds a document timestamp over all of it, and can be
//! renewed before that timestamp's certificate expires.
//!
//! Each step is its own incremental update, appended in memory to what the previous step made
//! ([`Updated`]): the signatures already in the document are never touched, and the result is
//! written once, to any writer or atomically to a file. [`sign_at_level`] signs at any level,
//! [`extend_source`] raises a signed document; [`sign_with_level`] and [`extend`] are their
//! file wrappers.
//!
//! The network is reached only through the [`Fetch`] and [`Timestamper`] traits:
//! `kyso_ltv::fetch::HttpFetcher` (wrapped in a `CachingFetcher` a server keeps) and
//! `kyso_ltv::tsp::HttpTsa` are the HTTP ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_cms::ber::{self, BerLimits};
use kyso_cms::verify as cmsv;
use kyso_cms::DigestAlgorithm;
use kyso_cms::Signer;
use kyso_ltv::fetch::Fetch;
use kyso_ltv::revocation;
use kyso_pdf::object::{Stream, StreamData};
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, FileSource, Limits, Object, Source};
use kyso_x509::Cert;
use time::OffsetDateTime;

use crate::sign::{sign_base, write_placeholder, SignOptions, Timestamper, Updated, WidgetBuilder};
use crate::{dss, verify, Error, Result};

/// What one signature needs to be validated later.
#[derive(Debug, Clone, Default)]
pub struct VriEntry {
    /// Upper-case hex SHA-1 of the signature's `/Contents` (the VRI key).
    pub key: String,
    pub certs: Vec<usize>,
    pub ocsps: Vec<usize>,
    pub crls: Vec<usize>,
}

/// Validation material to store: DER blobs, and per signature which of them it needs.
#[derive(Debug, Clone, Default)]
pub struct Material {
    pub certs: Vec<Cert>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub vri: Vec<VriEntry>,
    /// Certificates whose revocation status could not be had, with why (for the user).
    pub missing: Vec<(String, String)>,
}

impl Material {
    fn cert_index(&mut self, c: &Cert) -> usize {
        match self.certs.iter().position(|x| x.der() == c.der()) {
            Some(i) => i,
            None => {
                self.certs.push(c.clone());
                self.certs.len() - 1
            }
        }
    }
}

fn push_unique(v: &mut Vec<Vec<u8>>, blob: Vec<u8>) -> usize {
    match v.iter().position(|x| *x == blob) {
        Some(i) => i,
        None => {
            v.push(blob);
            v.len() - 1
        }
    }
}

/// Gather, for every signature and document timestamp of `doc`, its certificates (the CMS's,
/// its timestamp tokens', the DSS's) and current revocation information for each certificate
/// that has an issuer among them, fetched with `fetcher`. Self-signed roots need none.
#[tracing::instrument(name = "ltv_collect", level = "info", skip_all)]
pub fn collect(doc: &Document, fetcher: &dyn Fetch, now: OffsetDateTime) -> Result<Material> {
    let existing = dss::read_dss(doc)?;
    let mut m = Material::default();
    let parse = |bytes: &[u8]| {
        ber::normalize(bytes, &BerLimits::default())
            .ok()
            .and_then(|n| cmsv::parse_signed_data(&n.der).ok())
    };
    // Only the certificates are needed: the signatures are read, not verified (no hashing of
    // the byte ranges — the document may be large and is verified separately).
    for sig in verify::embedded_signatures(doc)? {
        let Some(contents) = sig.contents.as_ref() else {
            continue;
        };
        let Some(cms) = parse(contents) else {
            continue;
        };
        // The certificates to hand: the CMS's, its timestamp tokens', the DSS's.
        let mut pool: Vec<Cert> = cms.certificates.clone();
        let mut leaves: Vec<Cert> = cms.signer_certificate().into_iter().cloned().collect();
        for t in cms.timestamp_tokens.iter().filter_map(|t| parse(t)) {
            leaves.extend(t.signer_certificate().cloned());
            pool.extend(t.certificates);
        }
        pool.extend(existing.certs.iter().cloned());
        let mut entry = VriEntry {
            key: vri_key(contents),
            ..VriEntry::default()
        };
        // Each leaf's chain up to a self-issued certificate, each certificate once.
        let mut chain: Vec<Cert> = Vec::new();
        for leaf in leaves {
            let mut cur = Some(leaf);
            while let Some(c) = cur.take() {
                if chain.iter().any(|x| x.der() == c.der()) || chain.len() > 32 {
                    break;
                }
                if !c.is_self_issued() {
                    cur = pool.iter().find(|i| i.is_issuer_of(&c)).cloned();
                    if cur.is_none() {
                        m.missing
                            .push((c.subject_display(), "issuer certificate not found".into()));
                    }
                }
                chain.push(c);
            }
        }
        for cert in &chain {
            entry.certs.push(m.cert_index(cert));
            // Roots need no revocation information, nor OCSP responders marked "no check".
            if cert.is_self_issued() || cert.has_ocsp_nocheck() {
                continue;
            }
            let Some(issuer) = chain.iter().find(|i| i.is_issuer_of(cert)) else {
                continue;
            };
            let mut notes = Vec::new();
            let mut stale = Vec::new();
            let mut got = false;
            revocation::fetch_each(fetcher, cert, issuer, now, &mut notes, |der, e, origin| {
                // A stale answer (nextUpdate already past) would not prove anything later:
                // the document would claim B-LT without the evidence for it.
                if e.next_update.is_some_and(|n| n < now)
                    || matches!(e.state, kyso_ltv::CertState::Unknown)
                {
                    stale.push(format!("{origin:?}: a stale or unusable answer"));
                    return false;
                }
                let (list, idx) = match e.kind {
                    kyso_ltv::EvidenceKind::Ocsp => {
                        (&mut entry.ocsps, push_unique(&mut m.ocsps, der))
                    }
                    kyso_ltv::EvidenceKind::Crl => (&mut entry.crls, push_unique(&mut m.crls, der)),
                };
                if !list.contains(&idx) {
                    list.push(idx);
                }
                got = true;
                // Keep going: OCSP and CRL both, as validators differ in which they use.
                false
            });
            if !got {
                let why: Vec<String> = notes.iter().map(ToString::to_string).chain(stale).collect();
                m.missing.push((cert.subject_display(), why.join("; ")));
            }
        }
        m.vri.push(entry);
    }
    Ok(m)
}

/// The VRI key of a signature: upper-case hex SHA-1 of its `/Contents` bytes.
pub fn vri_key(contents: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, contents)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The update to `base` that stores `material` in the DSS (kept entries of an existing DSS
/// stay; blobs it already holds are not repeated).
#[tracing::instrument(name = "dss_update", level = "debug", skip_all)]
pub fn dss_update(base: &Updated, material: &Material, limits: Limits) -> Result<Updated> {
    let src = base.source();
    let base_len = src.len();
    let doc = Document::open(src, limits)?;
    let old = dss::read_dss(&doc)?;
    let mut catalog = doc.catalog()?;
    let catalog_ref = doc.catalog_ref()?;
    let old_dss = match catalog.get("DSS") {
        Some(o) => doc.resolve(o)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    let mut update = IncrementalUpdate::new(&doc);
    let mut stream = |bytes: &[u8]| {
        update.add(Object::Stream(Stream {
            dict: Dict::new(),
            data: StreamData::Owned(bytes.to_vec()),
        }))
    };
    // New streams for blobs the DSS does not hold yet; indexes map to references.
    let mut refs = |blobs: &[Vec<u8>], have: &[Vec<u8>], key: &str| {
        let mut arr: Vec<Object> = old_dss
            .get(key)
            .and_then(|o| doc.resolve(o).ok())
            .and_then(|o| o.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default();
        let mut out = Vec::with_capacity(blobs.len());
        for b in blobs {
            if have.contains(b) {
                out.push(None);
            } else {
                let r = stream(b);
                arr.push(Object::Ref(r));
                out.push(Some(r));
            }
        }
        (arr, out)
    };
    let cert_ders: Vec<Vec<u8>> = material.certs.iter().map(|c| c.der().to_vec()).collect();
    let old_certs: Vec<Vec<u8>> = old.certs.iter().map(|c| c.der().to_vec()).collect();
    let (certs_arr, cert_refs) = refs(&cert_ders, &old_certs, "Certs");
    let (ocsps_arr, ocsp_refs) = refs(&material.ocsps, &old.ocsps, "OCSPs");
    let (crls_arr, crl_refs) = refs(&material.crls, &old.crls, "CRLs");

    let mut vri = old_dss
        .get("VRI")
        .and_then(|o| doc.resolve(o).ok())
        .and_then(|o| o.as_dict().cloned())
        .unwrap_or_default();
    for e in &material.vri {
        let pick = |idx: &[usize], refs: &[Option<kyso_pdf::ObjRef>]| -> Vec<Object> {
            idx.iter()
                .filter_map(|i| refs.get(*i).copied().flatten())
                .map(Object::Ref)
                .collect()
        };
        let mut d = Dict::new();
        for (k, v) in [
            ("Cert", pick(&e.certs, &cert_refs)),
            ("OCSP", pick(&e.ocsps, &ocsp_refs)),
            ("CRL", pick(&e.crls, &crl_refs)),
        ] {
            if !v.is_empty() {
                d.set(k, Object::Array(v));
            }
        }
        if !d.is_empty() {
            vri.set(&e.key, d);
        }
    }
    let mut dss_dict = Dict::new();
    dss_dict.set("Type", Object::name("DSS"));
    for (k, arr) in [
        ("Certs", certs_arr),
        ("OCSPs", ocsps_arr),
        ("CRLs", crls_arr),
    ] {
        if !arr.is_empty() {
            dss_dict.set(k, Object::Array(arr));
        }
    }
    if !vri.is_empty() {
        let vri_ref = update.add(vri);
        dss_dict.set("VRI", Object::Ref(vri_ref));
    }
    let dss_ref = update.add(dss_dict);
    catalog.set("DSS", Object::Ref(dss_ref));
    update.set(catalog_ref, catalog);
    let (appended, _) = update.serialize(base_len)?;
    Ok(base.append(appended))
}

/// Append a document timestamp (ETSI.RFC3161) over the whole of `base`.
#[tracing::instrument(name = "document_timestamp", level = "info", skip_all)]
pub fn document_timestamp(
    base: &Updated,
    opts: &SignOptions,
    tsa: &dyn Timestamper,
) -> Result<Updated> {
    let reserved = tsa.reserve();
    let mut sig = Dict::new();
    sig.set("Type", Object::name("DocTimeStamp"));
    sig.set("Filter", Object::name("Adobe.PPKLite"));
    sig.set("SubFilter", Object::name("ETSI.RFC3161"));
    let d = DigestAlgorithm::Sha256;
    let p = write_placeholder(base, opts, sig, reserved, d, "Timestamp", None)?;
    let token = tsa
        .timestamp(d, &p.document_digest)
        .map_err(Error::Timestamp)?;
    let field = p.field_name.clone();
    let mut out = p.fill(reserved, &token)?;
    out.field_name = Some(field);
    Ok(out)
}

/// The PAdES baseline levels kyso writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Basic signature.
    #[default]
    BB,
    /// With a signature timestamp.
    BT,
    /// With validation material in the DSS.
    BLt,
    /// With a document timestamp over all of it.
    BLta,
}

impl Level {
    /// The name ETSI gives it: `B-B`, `B-T`, `B-LT`, `B-LTA`.
    pub fn name(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLt => "B-LT",
            Level::BLta => "B-LTA",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Raise `base` (already signed, its signatures timestamped for B-T) to `level` (B-LT or
/// B-LTA). B-LT: one DSS update. B-LTA: DSS, a document timestamp from `tsa`, and a second DSS
/// update with the timestamp's own validation material, so that the document also validates
/// offline. Validation material is fetched with `fetcher` as of `now`. Fails when it cannot be
/// had (nothing is written: the result is only ever in memory).
#[tracing::instrument(name = "extend", level = "info", skip_all, fields(level = %level))]
pub fn extend_updated(
    base: Updated,
    level: Level,
    opts: &SignOptions,
    fetcher: &dyn Fetch,
    tsa: Option<&dyn Timestamper>,
    now: OffsetDateTime,
) -> Result<Updated> {
    let dss_pass = |from: &Updated| -> Result<Updated> {
        let doc = Document::open(from.source(), opts.limits.clone())?;
        let material = collect(&doc, fetcher, now)?;
        if let Some((who, why)) = material.missing.first() {
            return Err(Error::Validation(format!(
                "no revocation information for {who}: {why}"
            )));
        }
        dss_update(from, &material, opts.limits.clone())
    };
    if level < Level::BLt {
        return Ok(base);
    }
    let with_dss = dss_pass(&base)?;
    if level < Level::BLta {
        return Ok(with_dss);
    }
    let tsa = tsa.ok_or_else(|| Error::Timestamp("B-LTA needs a TSA".into()))?;
    let mut ts_opts = opts.clone();
    ts_opts.field_name = None;
    let stamped = document_timestamp(&with_dss, &ts_opts, tsa)?;
    dss_pass(&stamped)
}

/// [`extend_updated`] of the document `src` (a file, bytes in memory); write the result with
/// [`Updated::write_to`] or [`Updated::write_file`].
pub fn extend_source(
    src: Arc<dyn Source>,
    level: Level,
    opts: &SignOptions,
    fetcher: &dyn Fetch,
    tsa: Option<&dyn Timestamper>,
    now: OffsetDateTime,
) -> Result<Updated> {
    extend_updated(Updated::from_source(src), level, opts, fetcher, tsa, now)
}

/// [`extend_source`] from the file `input` to the file `dest`, written atomically (it may be
/// `input` itself).
pub fn extend(
    input: &Path,
    dest: &Path,
    level: Level,
    opts: &SignOptions,
    fetcher: &dyn Fetch,
    tsa: Option<&dyn Timestamper>,
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let base = Updated::from_source_into(Arc::new(FileSource::open(input)?), dest)?;
    extend_updated(base, level, opts, fetcher, tsa, now)?.write_file(dest, opts.durable)
}

/// Sign `src` at `level`: B-B; B-T with a signature timestamp from `opts.timestamper`; B-LT
/// and B-LTA also with validation material fetched with `fetcher` (as of `now`) and, for
/// B-LTA, a document timestamp from `opts.timestamper`. The signed document is returned in
/// memory, not written: nothing half-done is ever written when a step fails.
pub fn sign_at_level(
    src: Arc<dyn Source>,
    level: Level,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
    fetcher: Option<&dyn Fetch>,
    now: OffsetDateTime,
) -> Result<Updated> {
    sign_updated_at_level(
        Updated::from_source(src),
        level,
        opts,
        signer,
        widget,
        fetcher,
        now,
    )
}

/// [`sign_at_level`] of a document given as an [`Updated`] (one bound to its destination
/// file with [`Updated::from_source_into`], or the result of an earlier step).
pub fn sign_updated_at_level(
    base: Updated,
    level: Level,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
    fetcher: Option<&dyn Fetch>,
    now: OffsetDateTime,
) -> Result<Updated> {
    let tsa = match (level, opts.timestamper.as_deref()) {
        (Level::BB, _) => None,
        (_, Some(t)) => Some(t),
        (_, None) => {
            return Err(Error::Timestamp(format!(
                "{level} needs a time-stamping service"
            )))
        }
    };
    let mut sign_opts = opts.clone();
    if level == Level::BB {
        sign_opts.timestamper = None;
    }
    let signed = sign_base(base, &sign_opts, signer, widget)?;
    if level < Level::BLt {
        return Ok(signed);
    }
    let fetcher = fetcher.ok_or_else(|| {
        Error::Validation(format!(
            "{level} needs a fetcher for OCSP responses and CRLs"
        ))
    })?;
    let field = signed.field_name.clone();
    let mut out = extend_updated(signed, level, opts, fetcher, tsa, now)?;
    out.field_name = field;
    Ok(out)
}

/// [`sign_at_level`] from the file `input` to the file `dest`, written atomically.
#[allow(clippy::too_many_arguments)]
pub fn sign_with_level(
    input: &Path,
    dest: &Path,
    level: Level,
    opts: &SignOptions,
    signer: &dyn Signer,
    widget: Option<Box<WidgetBuilder<'_>>>,
    fetcher: Option<&dyn Fetch>,
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let base = Updated::from_source_into(Arc::new(FileSource::open(input)?), dest)?;
    sign_updated_at_level(base, level, opts, signer, widget, fetcher, now)?
        .write_file(dest, opts.durable)
}
