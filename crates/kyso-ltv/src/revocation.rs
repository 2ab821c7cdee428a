//! A certificate's revocation status at a given time, from the OCSP responses and CRLs a
//! document carries (its DSS) and, unless offline, from the certificate's own OCSP responder
//! (AIA) and CRL distribution points.
//!
//! Which evidence speaks for time `T`:
//! - "revoked at `r`" with `r ≤ T`: revoked at `T`, however old the evidence;
//! - "revoked at `r`" with `r > T`: good at `T` (it was not revoked until later);
//! - "good": only when current at `T` or issued after it (`T ≤ nextUpdate`, or
//!   `thisUpdate ≥ T` when there is no nextUpdate); stale evidence says nothing.
//!
//! When several pieces speak, "revoked" wins (fail closed).

use kyso_x509::Cert;
use time::OffsetDateTime;

use crate::fetch::{Fetch, FetchError};
use crate::ocsp::{self, CertIdHash};
use crate::{crl, CertState, Evidence, EvidenceKind, Problem};

/// The status established for one certificate at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        time: OffsetDateTime,
        reason: Option<&'static str>,
    },
    Unknown,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Good => "good",
            Status::Revoked { .. } => "revoked",
            Status::Unknown => "unknown",
        }
    }
}

/// Where the deciding evidence came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Carried by the document (DSS, signed attributes).
    Embedded,
    /// Fetched from this URL.
    Fetched(String),
}

/// The status of one certificate and why.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// The evidence that decided (none when unknown).
    pub evidence: Option<Evidence>,
    pub origin: Option<Origin>,
    /// What was tried and failed (unreachable responder, stale CRL, …), for the report.
    pub notes: Vec<Note>,
}

/// A revocation service: an OCSP responder or a CRL distribution point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ocsp,
    Crl,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Ocsp => "OCSP",
            Service::Crl => "CRL",
        }
    }
}

/// Something tried while establishing a certificate's revocation status that gave no answer,
/// typed for callers to word and order; `Display` gives the library's English sentence (what
/// the JSON reports).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// A CRL the document carries could not be used for this certificate.
    EmbeddedCrl { problem: Problem },
    /// The revocation information the document carries is about other times.
    EmbeddedNotCovering,
    /// The service could not be reached or answered with an error.
    Unreachable { service: Service, error: FetchError },
    /// The service answered, but the answer is not usable evidence for this certificate
    /// (signature, issuer, scope, …).
    Unusable {
        service: Service,
        url: String,
        problem: Problem,
    },
    /// The certificate names no OCSP responder and no CRL distribution point.
    NoService,
}

/// The kinds of [`Note`], without their details, in the order a report gives them: what the
/// user can fix (the network) before what only the issuer can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoteKind {
    Unreachable,
    Unusable,
    EmbeddedCrl,
    EmbeddedNotCovering,
    NoService,
}

impl Note {
    pub fn kind(&self) -> NoteKind {
        match self {
            Note::EmbeddedCrl { .. } => NoteKind::EmbeddedCrl,
            Note::EmbeddedNotCovering => NoteKind::EmbeddedNotCovering,
            Note::Unreachable { .. } => NoteKind::Unreachable,
            Note::Unusable { .. } => NoteKind::Unusable,
            Note::NoService => NoteKind::NoService,
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::EmbeddedCrl { problem } => write!(f, "embedded CRL: {}", problem.message),
            Note::EmbeddedNotCovering => {
                f.write_str("the embedded revocation information does not cover that time")
            }
            Note::Unreachable { service, error } => write!(f, "{} {error}", service.name()),
            Note::Unusable {
                service,
                url,
                problem,
            } => write!(f, "{} {url}: {}", service.name(), problem.message),
            Note::NoService => f.write_str("the certificate names no OCSP responder and no CRL"),
        }
    }
}

/// Revocation checking for one document.
#[derive(Debug)]
pub struct Checker<'a> {
    ocsps: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    fetcher: Option<&'a dyn Fetch>,
    now: OffsetDateTime,
}

impl<'a> Checker<'a> {
    /// `ocsps` and `crls` are DER blobs the document carries; `fetcher` is `None` offline.
    pub fn new(
        ocsps: Vec<Vec<u8>>,
        crls: Vec<Vec<u8>>,
        fetcher: Option<&'a dyn Fetch>,
        now: OffsetDateTime,
    ) -> Self {
        Checker {
            ocsps,
            crls,
            fetcher,
            now,
        }
    }

    /// The status of `cert` (issued by `issuer`) at time `at`.
    pub fn status(&self, cert: &Cert, issuer: &Cert, at: OffsetDateTime) -> Outcome {
        let mut notes = Vec::new();
        let mut found: Vec<(Evidence, Origin)> = Vec::new();
        for blob in &self.ocsps {
            if let Ok(e) = ocsp::check_response(blob, cert, issuer, None) {
                found.push((e, Origin::Embedded));
            }
        }
        for blob in &self.crls {
            match crl::check_crl(blob, cert, issuer) {
                Ok(e) => found.push((e, Origin::Embedded)),
                Err(p)
                    if p.code == crl::codes::CRL_OTHER_ISSUER
                        || p.code == crl::codes::CRL_OTHER_SCOPE => {}
                Err(p) => notes.push(Note::EmbeddedCrl { problem: p }),
            }
        }
        if let Some(o) = decide(&found, at) {
            return o.with_notes(notes);
        }
        if !found.is_empty() {
            notes.push(Note::EmbeddedNotCovering);
        }
        let Some(fetcher) = self.fetcher else {
            return Outcome::unknown(notes);
        };
        // Online: the OCSP responder first, then the CRLs.
        fetch_each(
            fetcher,
            cert,
            issuer,
            self.now,
            &mut notes,
            |_, e, origin| {
                found.push((e, origin));
                decide(&found, at).is_some()
            },
        );
        if let Some(o) = decide(&found, at) {
            return o.with_notes(notes);
        }
        Outcome::unknown(notes)
    }
}

/// Fetch current revocation information for `cert` (issued by `issuer`): its OCSP responders
/// first, then its CRL distribution points. Each checked answer goes to `take` (DER, what it
/// says, where from), which returns `true` to stop; failures go to `notes`.
pub fn fetch_each(
    fetcher: &dyn Fetch,
    cert: &Cert,
    issuer: &Cert,
    now: OffsetDateTime,
    notes: &mut Vec<Note>,
    mut take: impl FnMut(Vec<u8>, Evidence, Origin) -> bool,
) {
    let fresh = |e: &Evidence| e.next_update.is_some_and(|n| n > now);
    for url in cert.aia_ocsp_urls() {
        let request = ocsp::cert_id(issuer, cert.serial_bytes(), CertIdHash::Sha1)
            .and_then(|id| ocsp::request_der(id, None));
        let Ok(request) = request else { continue };
        let answer = fetcher.post_cached(&url, "application/ocsp-request", &request, &|b| {
            ocsp::check_response(b, cert, issuer, None).is_ok_and(|e| fresh(&e))
        });
        match answer.map(|b| (ocsp::check_response(&b, cert, issuer, None), b)) {
            Ok((Ok(e), der)) => {
                if take(der, e, Origin::Fetched(url)) {
                    return;
                }
            }
            Ok((Err(p), _)) => notes.push(Note::Unusable {
                service: Service::Ocsp,
                url,
                problem: p,
            }),
            Err(error) => notes.push(Note::Unreachable {
                service: Service::Ocsp,
                error,
            }),
        }
    }
    for url in cert.crl_distribution_points() {
        let answer = fetcher.get_cached(&url, &|b| {
            crl::check_crl(b, cert, issuer).is_ok_and(|e| fresh(&e))
        });
        match answer.map(|b| (crl::check_crl(&b, cert, issuer), b)) {
            Ok((Ok(e), der)) => {
                if take(der, e, Origin::Fetched(url)) {
                    return;
                }
            }
            Ok((Err(p), _)) => notes.push(Note::Unusable {
                service: Service::Crl,
                url,
                problem: p,
            }),
            Err(error) => notes.push(Note::Unreachable {
                service: Service::Crl,
                error,
            }),
        }
    }
    if cert.aia_ocsp_urls().is_empty() && cert.crl_distribution_points().is_empty() {
        notes.push(Note::NoService);
    }
}

impl Outcome {
    fn unknown(notes: Vec<Note>) -> Self {
        Outcome {
            status: Status::Unknown,
            evidence: None,
            origin: None,
            notes,
        }
    }
    fn with_notes(mut self, notes: Vec<Note>) -> Self {
        self.notes = notes;
        self
    }
}

/// What the evidence says about time `at` (see the module documentation).
pub fn speaks_for(e: &Evidence, at: OffsetDateTime) -> Option<Status> {
    match &e.state {
        CertState::Revoked { time, reason } if *time <= at => Some(Status::Revoked {
            time: *time,
            reason: *reason,
        }),
        CertState::Revoked { .. } => Some(Status::Good),
        CertState::Good => {
            let current = match e.next_update {
                Some(next) => at <= next,
                None => e.this_update >= at,
            };
            current.then_some(Status::Good)
        }
        CertState::Unknown => None,
    }
}

fn decide(found: &[(Evidence, Origin)], at: OffsetDateTime) -> Option<Outcome> {
    let mut best: Option<(Status, &Evidence, &Origin)> = None;
    for (e, origin) in found {
        let Some(s) = speaks_for(e, at) else { continue };
        let better = match (&best, &s) {
            (None, _) => true,
            (Some((Status::Good, ..)), Status::Revoked { .. }) => true,
            // Between two of the same kind prefer OCSP (finer-grained) then the newest.
            (Some((prev, pe, _)), _)
                if std::mem::discriminant(prev) == std::mem::discriminant(&s) =>
            {
                (e.kind == EvidenceKind::Ocsp && pe.kind == EvidenceKind::Crl)
                    || (e.kind == pe.kind && e.issued_at > pe.issued_at)
            }
            _ => false,
        };
        if better {
            best = Some((s, e, origin));
        }
    }
    best.map(|(status, e, origin)| Outcome {
        status,
        evidence: Some(e.clone()),
        origin: Some(origin.clone()),
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ev(state: CertState, this: OffsetDateTime, next: Option<OffsetDateTime>) -> Evidence {
        Evidence {
            state,
            kind: EvidenceKind::Crl,
            this_update: this,
            next_update: next,
            issued_at: this,
            responder: "CA".into(),
        }
    }

    #[test]
    fn evidence_speaks_only_for_times_it_covers() {
        let t = datetime!(2026-06-01 00:00 UTC);
        let good_then = ev(
            CertState::Good,
            datetime!(2026-05-31 00:00 UTC),
            Some(datetime!(2026-06-07 00:00 UTC)),
        );
        assert_eq!(speaks_for(&good_then, t), Some(Status::Good));
        let stale = ev(
            CertState::Good,
            datetime!(2026-05-01 00:00 UTC),
            Some(datetime!(2026-05-08 00:00 UTC)),
        );
        assert_eq!(speaks_for(&stale, t), None, "a stale 'good' proves nothing");
        let issued_later = ev(CertState::Good, datetime!(2027-01-01 00:00 UTC), None);
        assert_eq!(speaks_for(&issued_later, t), Some(Status::Good));
        let revoked_before = ev(
            CertState::Revoked {
                time: datetime!(2026-05-15 00:00 UTC),
                reason: Some("keyCompromise"),
            },
            datetime!(2026-05-16 00:00 UTC),
            Some(datetime!(2026-05-20 00:00 UTC)),
        );
        assert!(matches!(
            speaks_for(&revoked_before, t),
            Some(Status::Revoked { .. })
        ));
        let revoked_after = ev(
            CertState::Revoked {
                time: datetime!(2026-07-01 00:00 UTC),
                reason: None,
            },
            datetime!(2026-07-02 00:00 UTC),
            None,
        );
        assert_eq!(speaks_for(&revoked_after, t), Some(Status::Good));
        assert_eq!(speaks_for(&ev(CertState::Unknown, t, None), t), None);
    }

    #[test]
    fn revoked_wins_over_good() {
        let t = datetime!(2026-06-01 00:00 UTC);
        let good = ev(CertState::Good, datetime!(2026-06-02 00:00 UTC), None);
        let revoked = ev(
            CertState::Revoked {
                time: datetime!(2026-05-01 00:00 UTC),
                reason: None,
            },
            datetime!(2026-05-02 00:00 UTC),
            None,
        );
        let found = vec![(good, Origin::Embedded), (revoked, Origin::Embedded)];
        let o = decide(&found, t).map(|o| o.status);
        assert!(matches!(o, Some(Status::Revoked { .. })));
    }
}
