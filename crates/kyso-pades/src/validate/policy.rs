//! kyso's algorithm policy: which legacy algorithms are still acceptable, and until when.
//!
//! Cryptography and policy are separate. kyso-cms and kyso-ltv verify every algorithm they
//! can (SHA-1 included) and report the legacy ones they met ([`LegacyAlgorithm`]); an
//! algorithm they cannot verify at all is `UNSUPPORTED_ALGORITHM` (indeterminate), never a bad
//! signature. This module then judges a legacy algorithm the way ETSI EN 319 102-1 (§5.2.8,
//! cryptographic constraints) does with the algorithm catalogue of ETSI TS 119 312 and the
//! SOG-IS Agreed Cryptographic Mechanisms: an algorithm is acceptable for an object only if
//! the object is proven to have existed before the algorithm's sunset date — by a proof of
//! existence (POE): a trusted timestamp over it, a later document timestamp, or the validation
//! time itself. Otherwise the verdict is *indeterminate* with
//! `CRYPTO_CONSTRAINTS_FAILURE_NO_POE`: the signature may well be genuine, but nothing shows it
//! was made while the algorithm could not yet be forged.
//!
//! | algorithm                  | acceptable before | basis                                              |
//! |----------------------------|-------------------|----------------------------------------------------|
//! | SHA-1 (digest, signature)  | 2009-01-01        | SHA-1 withdrawn for signature generation (ETSI TS 102 176-1, then TS 119 312; SOG-IS: not agreed) |
//! | RSA, modulus below 2048 bits | 2014-01-01      | 1024-bit RSA withdrawn at the end of 2013 (ETSI TS 119 312, NIST SP 800-131A; SOG-IS: at least 3000 bits recommended, 2048 legacy) |
//!
//! SHA-2 (256/384/512), RSA of 2048 bits and more, ECDSA on P-256/P-384/P-521 and Ed25519 have
//! no sunset in this table. MD2/MD5, RSASSA-PSS with SHA-1 and ECDSA P-384 with SHA-1 cannot be
//! verified by kyso (aws-lc-rs has no implementation) and are `UNSUPPORTED_ALGORITHM`.
//! Certificates' own signatures are judged by the path validation (`WEAK_ALGORITHM`).

use kyso_cms::verify::LegacyAlgorithm;
use time::macros::datetime;
use time::OffsetDateTime;

/// The sunset date of a legacy algorithm: uses proven to be before it are acceptable.
pub fn sunset(alg: LegacyAlgorithm) -> OffsetDateTime {
    match alg {
        LegacyAlgorithm::Sha1 => datetime!(2009-01-01 00:00 UTC),
        LegacyAlgorithm::RsaKey { .. } => datetime!(2014-01-01 00:00 UTC),
    }
}

/// One legacy algorithm of a signature or timestamp, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmJudgement {
    /// What uses it: `signature` or `timestamp` (a signature timestamp token).
    pub object: &'static str,
    /// The algorithm, e.g. `SHA-1` or `RSA-1024`.
    pub algorithm: String,
    /// Its sunset date.
    pub sunset: OffsetDateTime,
    /// The earliest proof that the object existed (a trusted timestamp's time, a later
    /// document timestamp's, else the validation time).
    pub proof_of_existence: OffsetDateTime,
    /// Proven before the sunset: accepted (reported as a warning).
    pub acceptable: bool,
}

/// Judge each of `legacy`, used by `object`, given the earliest proof of existence `poe`.
pub fn judge(
    object: &'static str,
    legacy: &[LegacyAlgorithm],
    poe: OffsetDateTime,
) -> Vec<AlgorithmJudgement> {
    legacy
        .iter()
        .map(|&alg| {
            let sunset = sunset(alg);
            AlgorithmJudgement {
                object,
                algorithm: alg.to_string(),
                sunset,
                proof_of_existence: poe,
                acceptable: poe < sunset,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn legacy_algorithms_are_acceptable_only_when_proven_before_their_sunset() {
        let sha1 = [LegacyAlgorithm::Sha1];
        let before = datetime!(2008-06-30 12:00 UTC);
        let after = datetime!(2011-03-01 09:00 UTC);
        let j = judge("signature", &sha1, before);
        assert!(j[0].acceptable);
        assert_eq!(j[0].algorithm, "SHA-1");
        assert!(!judge("timestamp", &sha1, after)[0].acceptable);
        // The sunset itself is too late.
        assert!(!judge("signature", &sha1, sunset(LegacyAlgorithm::Sha1))[0].acceptable);

        let rsa = [LegacyAlgorithm::RsaKey { bits: 1024 }];
        assert!(judge("signature", &rsa, datetime!(2013-12-31 23:59 UTC))[0].acceptable);
        assert!(!judge("signature", &rsa, datetime!(2014-01-01 00:00 UTC))[0].acceptable);
        assert_eq!(judge("signature", &rsa, after)[0].algorithm, "RSA-1024");
        assert!(judge("signature", &[], after).is_empty());
    }
}
