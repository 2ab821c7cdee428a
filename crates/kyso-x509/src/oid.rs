//! Object identifiers used across kyso.

use const_oid::ObjectIdentifier as Oid;

pub const CN: Oid = Oid::new_unwrap("2.5.4.3");
pub const SURNAME: Oid = Oid::new_unwrap("2.5.4.4");
pub const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
pub const C: Oid = Oid::new_unwrap("2.5.4.6");
pub const L: Oid = Oid::new_unwrap("2.5.4.7");
pub const ST: Oid = Oid::new_unwrap("2.5.4.8");
pub const O: Oid = Oid::new_unwrap("2.5.4.10");
pub const OU: Oid = Oid::new_unwrap("2.5.4.11");
pub const TITLE: Oid = Oid::new_unwrap("2.5.4.12");
pub const GIVEN_NAME: Oid = Oid::new_unwrap("2.5.4.42");
pub const UID: Oid = Oid::new_unwrap("0.9.2342.19200300.100.1.1");
pub const EMAIL: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");

pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
pub const SECP521R1: Oid = Oid::new_unwrap("1.3.132.0.35");
pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

pub const EKU_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
pub const EKU_OCSP_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.9");

pub const MD2_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.2");
pub const MD5_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.4");
pub const ECDSA_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");

// Certificate extensions (RFC 5280 §4.2).
pub const EXT_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
pub const EXT_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
pub const EXT_ISSUER_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.18");
pub const EXT_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
pub const EXT_NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
pub const EXT_CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");
pub const EXT_CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
pub const EXT_POLICY_MAPPINGS: Oid = Oid::new_unwrap("2.5.29.33");
pub const EXT_AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
pub const EXT_POLICY_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.36");
pub const EXT_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
pub const EXT_INHIBIT_ANY_POLICY: Oid = Oid::new_unwrap("2.5.29.54");
pub const EXT_AUTHORITY_INFO_ACCESS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
pub const EXT_OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");

// Access methods in authorityInfoAccess.
pub const AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
pub const AD_CA_ISSUERS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.2");
