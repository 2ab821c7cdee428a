//! The Document Security Store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4): the
//! certificates, OCSP responses and CRLs a document carries so it can be validated offline
//! (PAdES B-LT and B-LTA).

use kyso_pdf::{Document, Object};
use kyso_x509::Cert;

use crate::Result;

/// Most entries read from each DSS array (a DSS is a few dozen entries in practice).
pub const MAX_DSS_ENTRIES: usize = 4096;

/// What the newest revision's DSS holds (DER blobs, decoded from their streams).
#[derive(Debug, Clone, Default)]
pub struct Dss {
    pub certs: Vec<Cert>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    /// Entries that could not be read (unreadable streams, certificates that do not parse).
    pub skipped: usize,
}

impl Dss {
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.ocsps.is_empty() && self.crls.is_empty()
    }
}

/// Read the DSS of `doc` (empty when there is none). Unreadable entries are counted, not
/// fatal: the evidence is signed by its issuers, so a damaged entry only means less evidence.
pub fn read_dss(doc: &Document) -> Result<Dss> {
    let mut out = Dss::default();
    let catalog = doc.catalog()?;
    let Some(dss) = catalog.get("DSS") else {
        return Ok(out);
    };
    let dss = doc.resolve(dss)?;
    let Some(dss) = dss.as_dict() else {
        return Ok(out);
    };
    let blobs = |key: &str, skipped: &mut usize| -> Result<Vec<Vec<u8>>> {
        let mut v = Vec::new();
        let Some(arr) = dss.get(key) else {
            return Ok(v);
        };
        let arr = doc.resolve(arr)?;
        for item in arr
            .as_array()
            .unwrap_or_default()
            .iter()
            .take(MAX_DSS_ENTRIES)
        {
            match doc.resolve(item).ok().as_ref().and_then(Object::as_stream) {
                Some(s) => match doc.decoded(s) {
                    Ok(bytes) => v.push(bytes),
                    Err(_) => *skipped += 1,
                },
                None => *skipped += 1,
            }
        }
        Ok(v)
    };
    let mut skipped = 0;
    for der in blobs("Certs", &mut skipped)? {
        match Cert::from_der(&der) {
            Ok(c) => out.certs.push(c),
            Err(_) => skipped += 1,
        }
    }
    out.ocsps = blobs("OCSPs", &mut skipped)?;
    out.crls = blobs("CRLs", &mut skipped)?;
    out.skipped = skipped;
    Ok(out)
}
