//! kyso's verdict in the terms of ETSI EN 319 102-1 (§5.1.3, Table 5): a main indication and a
//! sub-indication per signature, so integrators can compare kyso with EU DSS and other
//! AdES validators.
//!
//! [`status`] is the one mapping, from the checks kyso made ([`Facts`]). It follows the
//! standard's order: anything proven wrong (TOTAL_FAILED: format, hash, signature value,
//! revocation or expiry before a proven signing time) comes before anything that could not be
//! established (INDETERMINATE: signing certificate, algorithms, chain, revocation, proof of
//! existence). Where kyso's own verdict differs on purpose (an untrusted root is `invalid` for
//! kyso, INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND here; a disallowed change after signing is
//! TOTAL_FAILED/FORMAT_FAILURE, which DSS's default policy only warns about), the mapping keeps
//! the ETSI meaning and `docs/verify-json.md` says why.
//!
//! Document timestamps are validated as timestamps: PASSED, FAILED or INDETERMINATE (ETSI EN
//! 319 102-1 §5.4), with the same sub-indications.

use super::reasons;

/// The main status indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indication {
    /// A signature: every check passed.
    TotalPassed,
    /// A signature: something is proven wrong.
    TotalFailed,
    /// Something needed to pass could not be established.
    Indeterminate,
    /// A document timestamp: every check passed.
    Passed,
    /// A document timestamp: something is proven wrong.
    Failed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::TotalFailed => "TOTAL_FAILED",
            Indication::Indeterminate => "INDETERMINATE",
            Indication::Passed => "PASSED",
            Indication::Failed => "FAILED",
        }
    }
}

/// The sub-indications kyso can give (a subset of ETSI EN 319 102-1 Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubIndication {
    /// TOTAL_FAILED: the signature (byte range, CMS, signature dictionary) cannot be processed,
    /// or the document was changed after signing in a way not allowed.
    FormatFailure,
    /// TOTAL_FAILED: the hash of the signed bytes does not match the signature's.
    HashFailure,
    /// TOTAL_FAILED: the signature value does not verify with the signer's key.
    SigCryptoFailure,
    /// TOTAL_FAILED: the signing certificate was revoked before a proven signing time.
    Revoked,
    /// TOTAL_FAILED: the signing certificate had expired at a proven signing time.
    Expired,
    /// TOTAL_FAILED: a proven signing time lies before the certificate's notBefore.
    NotYetValid,
    /// INDETERMINATE: the signing certificate cannot be identified (missing, or not the one
    /// the signing-certificate attribute names).
    NoSigningCertificateFound,
    /// INDETERMINATE: no chain to a trust anchor.
    NoCertificateChainFound,
    /// INDETERMINATE: the chain is invalid for another reason (CA flags, key usage,
    /// certificate signature, …).
    CertificateChainGeneralFailure,
    /// INDETERMINATE: an algorithm kyso cannot verify (no claim either way).
    CryptoConstraintsFailure,
    /// INDETERMINATE: a legacy algorithm with no proof of existence before its sunset date.
    CryptoConstraintsFailureNoPoe,
    /// INDETERMINATE: the signing certificate is revoked and nothing proves the signature came
    /// first.
    RevokedNoPoe,
    /// INDETERMINATE: a CA certificate of the chain is revoked.
    RevokedCaNoPoe,
    /// INDETERMINATE: the signing certificate is expired (or not yet valid) and nothing proves
    /// the signing time lies within its validity.
    OutOfBoundsNoPoe,
    /// INDETERMINATE: no revocation information (offline, or the responder unreachable);
    /// later information may settle it.
    TryLater,
}

impl SubIndication {
    pub fn as_str(self) -> &'static str {
        use SubIndication::*;
        match self {
            FormatFailure => "FORMAT_FAILURE",
            HashFailure => "HASH_FAILURE",
            SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            Revoked => "REVOKED",
            Expired => "EXPIRED",
            NotYetValid => "NOT_YET_VALID",
            NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
            CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
            CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            RevokedNoPoe => "REVOKED_NO_POE",
            RevokedCaNoPoe => "REVOKED_CA_NO_POE",
            OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            TryLater => "TRY_LATER",
        }
    }
}

/// A signature's ETSI status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub indication: Indication,
    /// `None` exactly when the indication is TOTAL_PASSED or PASSED.
    pub sub_indication: Option<SubIndication>,
}

/// What the mapping reads: kyso's checks of one signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// A document timestamp (PASSED/FAILED) rather than a signature (TOTAL_PASSED/TOTAL_FAILED).
    pub document_timestamp: bool,
    /// kyso's verdict reasons ([`reasons`]): the invalid ones when invalid, else the
    /// indeterminate ones; empty when valid.
    pub reasons: &'a [&'static str],
    /// The integrity codes (byte range, CMS).
    pub integrity_problems: &'a [&'static str],
    /// The certification path's problem codes (`kyso_x509::path`).
    pub path_problems: &'a [&'static str],
    /// The signature timestamp's problem codes.
    pub timestamp_problems: &'a [&'static str],
    /// The signing time is proven (a valid signature timestamp, or a document timestamp's own).
    pub time_proven: bool,
    /// The revoked certificate of the path is the signer's own (not a CA's).
    pub signer_revoked: bool,
    /// With `NOT_TIMESTAMPED`: the certificate was revoked by the first proof of existence
    /// (otherwise it had expired by then).
    pub revoked_before_poe: bool,
}

/// Byte range and container problems: the signature cannot be processed as it claims.
const FORMAT_CODES: &[&str] = &[
    "BYTE_RANGE_MALFORMED",
    "BYTE_RANGE_GAP_MISMATCH",
    "BYTE_RANGE_NOT_REVISION_END",
    "BYTE_RANGE_UNREADABLE",
    "CONTENTS_MISSING",
    "CONTENTS_NOT_LOCATED",
    "CMS_UNREADABLE",
    "UNSUPPORTED_SUBFILTER",
    "NOT_DETACHED",
    "MULTIPLE_SIGNERS",
    "BAD_CONTENT_TYPE",
];

/// The signing certificate cannot be identified.
const SIGNER_CERT_CODES: &[&str] = &[
    "SIGNER_CERT_MISSING",
    "SIGNING_CERT_MISMATCH",
    "NO_SIGNING_CERT_ATTR",
];

/// The ETSI EN 319 102-1 status of one signature (or document timestamp), from kyso's checks.
pub fn status(f: &Facts<'_>) -> Status {
    use SubIndication::*;
    let has = |code: &str| f.reasons.contains(&code);
    let integrity = |codes: &[&str]| f.integrity_problems.iter().any(|p| codes.contains(p));
    let (passed, failed) = if f.document_timestamp {
        (Indication::Passed, Indication::Failed)
    } else {
        (Indication::TotalPassed, Indication::TotalFailed)
    };
    let fail = |s| Status {
        indication: failed,
        sub_indication: Some(s),
    };
    let indeterminate = |s| Status {
        indication: Indication::Indeterminate,
        sub_indication: Some(s),
    };
    if f.reasons.is_empty() {
        return Status {
            indication: passed,
            sub_indication: None,
        };
    }

    // Proven wrong (TOTAL_FAILED / FAILED), in the order the building blocks run: format
    // checking, then cryptographic verification, then the changes and times.
    if integrity(FORMAT_CODES) {
        return fail(FormatFailure);
    }
    if integrity(&["DIGEST_MISMATCH", "TIMESTAMP_IMPRINT_MISMATCH"]) {
        return fail(HashFailure);
    }
    if integrity(&["BAD_SIGNATURE", "ALGORITHM_PROTECTION_MISMATCH"]) {
        return fail(SigCryptoFailure);
    }
    if has(reasons::MALFORMED) && !integrity(SIGNER_CERT_CODES) {
        // Unreadable otherwise (a document timestamp without a TSTInfo, …).
        return fail(FormatFailure);
    }
    if has(reasons::DOCUMENT_MODIFIED) {
        // The signed bytes verify; a later revision changed what is not allowed after this
        // signature (or could not be analysed). DSS checks this in its format checking
        // building block (FORMAT_FAILURE when its policy makes it fatal).
        return fail(FormatFailure);
    }
    if has(reasons::CERT_REVOKED) && f.time_proven && f.signer_revoked {
        return fail(Revoked);
    }
    if has(reasons::CERT_EXPIRED) && f.time_proven {
        if f.path_problems.contains(&"CERT_NOT_YET_VALID") {
            return fail(NotYetValid);
        }
        return fail(Expired);
    }
    if has(reasons::TIMESTAMP_INVALID) {
        let ts = |codes: &[&str]| f.timestamp_problems.iter().any(|p| codes.contains(p));
        if ts(&["TST_IMPRINT_MISMATCH", "DIGEST_MISMATCH"]) {
            return fail(HashFailure);
        }
        if ts(&["TST_BAD_SIGNATURE", "BAD_SIGNATURE"]) {
            return fail(SigCryptoFailure);
        }
        return fail(FormatFailure);
    }

    // Not established (INDETERMINATE), in the same order.
    if integrity(SIGNER_CERT_CODES) {
        return indeterminate(NoSigningCertificateFound);
    }
    if has(reasons::UNSUPPORTED_ALGORITHM) {
        return indeterminate(CryptoConstraintsFailure);
    }
    if has(reasons::UNTRUSTED_ROOT) || has(reasons::NO_TRUST_ANCHOR) {
        return indeterminate(NoCertificateChainFound);
    }
    if has(reasons::WEAK_ALGORITHM) {
        return indeterminate(CryptoConstraintsFailureNoPoe);
    }
    if has(reasons::CERT_PATH_INVALID) {
        return indeterminate(CertificateChainGeneralFailure);
    }
    if has(reasons::CERT_REVOKED) {
        return indeterminate(if f.signer_revoked {
            RevokedNoPoe
        } else {
            RevokedCaNoPoe
        });
    }
    if has(reasons::CERT_EXPIRED) {
        return indeterminate(OutOfBoundsNoPoe);
    }
    if has(reasons::NOT_TIMESTAMPED) {
        return indeterminate(if f.revoked_before_poe {
            RevokedNoPoe
        } else {
            OutOfBoundsNoPoe
        });
    }
    if has(reasons::CRYPTO_CONSTRAINTS_FAILURE_NO_POE) {
        return indeterminate(CryptoConstraintsFailureNoPoe);
    }
    // REVOCATION_UNKNOWN, and anything not named above.
    indeterminate(TryLater)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Indication::*;
    use SubIndication::*;

    fn of(f: Facts<'_>) -> (Indication, Option<SubIndication>) {
        let s = status(&f);
        (s.indication, s.sub_indication)
    }

    fn reasons(r: &'static [&'static str]) -> Facts<'static> {
        Facts {
            reasons: r,
            ..Facts::default()
        }
    }

    #[test]
    fn valid_is_total_passed_and_a_valid_document_timestamp_passed() {
        assert_eq!(of(Facts::default()), (TotalPassed, None));
        let ts = Facts {
            document_timestamp: true,
            time_proven: true,
            ..Facts::default()
        };
        assert_eq!(of(ts), (Passed, None));
    }

    #[test]
    fn a_digest_mismatch_is_a_hash_failure() {
        let f = Facts {
            reasons: &["DOCUMENT_MODIFIED"],
            integrity_problems: &["DIGEST_MISMATCH"],
            ..Facts::default()
        };
        assert_eq!(of(f), (TotalFailed, Some(HashFailure)));
        // A document timestamp whose imprint no longer matches: FAILED.
        let ts = Facts {
            document_timestamp: true,
            reasons: &["DOCUMENT_MODIFIED"],
            integrity_problems: &["TIMESTAMP_IMPRINT_MISMATCH"],
            ..Facts::default()
        };
        assert_eq!(of(ts), (Failed, Some(HashFailure)));
    }

    #[test]
    fn a_bad_signature_value_is_a_sig_crypto_failure() {
        for code in ["BAD_SIGNATURE", "ALGORITHM_PROTECTION_MISMATCH"] {
            let f = Facts {
                reasons: &["BAD_SIGNATURE"],
                integrity_problems: &[code],
                ..Facts::default()
            };
            assert_eq!(of(f), (TotalFailed, Some(SigCryptoFailure)), "{code}");
        }
    }

    #[test]
    fn a_broken_byte_range_or_container_is_a_format_failure() {
        for code in FORMAT_CODES {
            let f = Facts {
                reasons: &["DOCUMENT_MODIFIED", "MALFORMED"],
                integrity_problems: std::slice::from_ref(code),
                ..Facts::default()
            };
            assert_eq!(of(f), (TotalFailed, Some(FormatFailure)), "{code}");
        }
    }

    #[test]
    fn a_disallowed_change_after_signing_is_a_format_failure() {
        // The signed bytes are intact; a later revision changed the page content.
        assert_eq!(
            of(reasons(&["DOCUMENT_MODIFIED"])),
            (TotalFailed, Some(FormatFailure))
        );
    }

    #[test]
    fn a_hash_failure_outranks_everything_else() {
        let f = Facts {
            reasons: &["DOCUMENT_MODIFIED", "UNTRUSTED_ROOT", "CERT_REVOKED"],
            integrity_problems: &["DIGEST_MISMATCH"],
            time_proven: true,
            signer_revoked: true,
            ..Facts::default()
        };
        assert_eq!(of(f), (TotalFailed, Some(HashFailure)));
    }

    #[test]
    fn revoked_before_a_proven_signing_time_is_total_failed_revoked() {
        let f = Facts {
            reasons: &["CERT_REVOKED"],
            time_proven: true,
            signer_revoked: true,
            ..Facts::default()
        };
        assert_eq!(of(f), (TotalFailed, Some(Revoked)));
    }

    #[test]
    fn revoked_without_proof_of_the_signing_time_is_revoked_no_poe() {
        let f = Facts {
            reasons: &["CERT_REVOKED"],
            signer_revoked: true,
            ..Facts::default()
        };
        assert_eq!(of(f), (Indeterminate, Some(RevokedNoPoe)));
        // A CA of the path revoked, even at a proven time.
        let ca = Facts {
            reasons: &["CERT_REVOKED"],
            time_proven: true,
            ..Facts::default()
        };
        assert_eq!(of(ca), (Indeterminate, Some(RevokedCaNoPoe)));
        // Revoked after the claimed signing time but before anything proves the signature
        // existed (NOT_TIMESTAMPED).
        let later = Facts {
            reasons: &["NOT_TIMESTAMPED"],
            revoked_before_poe: true,
            ..Facts::default()
        };
        assert_eq!(of(later), (Indeterminate, Some(RevokedNoPoe)));
    }

    #[test]
    fn no_chain_to_a_trust_anchor_is_no_certificate_chain_found() {
        for r in [&["UNTRUSTED_ROOT"][..], &["NO_TRUST_ANCHOR"][..]] {
            let f = Facts {
                reasons: r,
                ..Facts::default()
            };
            assert_eq!(
                of(f),
                (Indeterminate, Some(NoCertificateChainFound)),
                "{r:?}"
            );
        }
        assert_eq!(
            of(reasons(&["CERT_PATH_INVALID"])),
            (Indeterminate, Some(CertificateChainGeneralFailure))
        );
    }

    #[test]
    fn unknown_revocation_is_try_later() {
        assert_eq!(
            of(reasons(&["REVOCATION_UNKNOWN"])),
            (Indeterminate, Some(TryLater))
        );
    }

    #[test]
    fn expired_without_proof_is_out_of_bounds_no_poe_and_with_proof_expired() {
        // Claimed signing time, certificate expired by the validation time.
        assert_eq!(
            of(reasons(&["NOT_TIMESTAMPED"])),
            (Indeterminate, Some(OutOfBoundsNoPoe))
        );
        assert_eq!(
            of(reasons(&["CERT_EXPIRED"])),
            (Indeterminate, Some(OutOfBoundsNoPoe))
        );
        let proven = Facts {
            reasons: &["CERT_EXPIRED"],
            path_problems: &["CERT_EXPIRED"],
            time_proven: true,
            ..Facts::default()
        };
        assert_eq!(of(proven), (TotalFailed, Some(Expired)));
        let early = Facts {
            reasons: &["CERT_EXPIRED"],
            path_problems: &["CERT_NOT_YET_VALID"],
            time_proven: true,
            ..Facts::default()
        };
        assert_eq!(of(early), (TotalFailed, Some(NotYetValid)));
    }

    #[test]
    fn algorithms_are_crypto_constraints_failures() {
        // SHA-1 or RSA-1024 without proof of existence before the sunset.
        assert_eq!(
            of(reasons(&["CRYPTO_CONSTRAINTS_FAILURE_NO_POE"])),
            (Indeterminate, Some(CryptoConstraintsFailureNoPoe))
        );
        // An algorithm kyso cannot verify at all.
        assert_eq!(
            of(reasons(&["UNSUPPORTED_ALGORITHM"])),
            (Indeterminate, Some(CryptoConstraintsFailure))
        );
        // A certificate of the path signed with SHA-1.
        assert_eq!(
            of(reasons(&["WEAK_ALGORITHM"])),
            (Indeterminate, Some(CryptoConstraintsFailureNoPoe))
        );
    }

    #[test]
    fn a_broken_timestamp_fails_by_what_broke() {
        for (problems, want) in [
            (&["TST_IMPRINT_MISMATCH"][..], HashFailure),
            (&["TST_BAD_SIGNATURE"][..], SigCryptoFailure),
            (&["TST_NOT_A_TSA"][..], FormatFailure),
        ] {
            let f = Facts {
                reasons: &["TIMESTAMP_INVALID"],
                timestamp_problems: problems,
                ..Facts::default()
            };
            assert_eq!(of(f), (TotalFailed, Some(want)), "{problems:?}");
        }
    }

    #[test]
    fn a_missing_or_mismatched_signing_certificate_is_no_signing_certificate_found() {
        for code in ["SIGNER_CERT_MISSING", "SIGNING_CERT_MISMATCH"] {
            let f = Facts {
                reasons: &["MALFORMED"],
                integrity_problems: &[code],
                ..Facts::default()
            };
            assert_eq!(
                of(f),
                (Indeterminate, Some(NoSigningCertificateFound)),
                "{code}"
            );
        }
        // Anything else unreadable: a format failure.
        let ts = Facts {
            document_timestamp: true,
            reasons: &["MALFORMED"],
            ..Facts::default()
        };
        assert_eq!(of(ts), (Failed, Some(FormatFailure)));
    }

    #[test]
    fn every_sub_indication_has_its_etsi_name() {
        assert_eq!(
            CryptoConstraintsFailureNoPoe.as_str(),
            "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
        );
        assert_eq!(
            NoCertificateChainFound.as_str(),
            "NO_CERTIFICATE_CHAIN_FOUND"
        );
        assert_eq!(TotalPassed.as_str(), "TOTAL_PASSED");
    }
}
