#![doc = include_str!("../README.md")]

mod csc;
pub mod pkcs11;
mod pkcs12;
mod secret;
pub mod token_report;

pub use csc::{
    CscAuth, CscClient, CscCredential, CscOptions, CscSigner, CscVersion, MAX_ANSWER_BYTES,
    MAX_CREDENTIALS,
};
pub use pkcs11::{Imported, Pkcs11Module, Pkcs11Signer, TokenInfo};
pub use pkcs12::{Pkcs12Signer, MAX_P12_BYTES};
pub use secret::Secret;

/// What went wrong loading or using a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PKCS#12 password is wrong (the integrity check failed).
    #[error("wrong password for the PKCS#12 file")]
    WrongPassword,
    /// The file is not a PKCS#12 bundle we can read.
    #[error("not a readable PKCS#12 file: {0}")]
    Malformed(String),
    /// The bundle has no private key with its certificate.
    #[error("the PKCS#12 file holds no private key with a certificate")]
    NoKey,
    /// The key type is not supported.
    #[error("unsupported key: {0}")]
    Unsupported(&'static str),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// A remote signing service could not be used (network, unexpected answer).
    #[error("remote signing service: {0}")]
    Remote(String),
    /// A remote signing service refused a request (`{error, error_description}`).
    #[error("remote signing service refused {method} (HTTP {status}, {error}): {description}")]
    Refused {
        method: String,
        status: u16,
        error: String,
        description: String,
    },
    /// The PKCS#11 module cannot be loaded or initialized.
    #[error("cannot load the PKCS#11 module {path}: {reason}")]
    ModuleLoad { path: String, reason: String },
    /// No token has this label or serial number.
    #[error("no token labelled or numbered \"{wanted}\" (present: {})", list(.available))]
    TokenNotFound {
        wanted: String,
        /// "label (serial …)" of every token present.
        available: Vec<String>,
    },
    /// Several tokens have this label.
    #[error("several tokens are labelled \"{wanted}\"; name one by serial number ({})", list(.serials))]
    AmbiguousToken {
        wanted: String,
        serials: Vec<String>,
    },
    /// The token was pulled out, or stopped answering (CKR_DEVICE_REMOVED,
    /// CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR…).
    #[error("the token was removed or stopped answering ({code})")]
    TokenRemoved { code: String },
    /// The PIN is wrong. `attempts_left` when the token says (final try: 1); `count_low` when
    /// it says tries were lost without saying how many.
    #[error("wrong PIN{}", match .attempts_left { Some(n) => format!(" ({n} tries left)"), None if *.count_low => " (few tries left)".to_owned(), None => String::new() })]
    WrongPin {
        attempts_left: Option<u32>,
        count_low: bool,
    },
    /// The PIN is locked after too many wrong tries.
    #[error("the PIN is locked")]
    PinLocked,
    /// The PIN has expired and must be changed.
    #[error("the PIN has expired and must be changed")]
    PinExpired,
    /// The token logged the application out (another program, or the token was replugged).
    #[error("the token is no longer logged in")]
    LoggedOut,
    /// The user cancelled on the device.
    #[error("cancelled on the device")]
    Cancelled,
    /// No signing key with a certificate matches.
    #[error("no signing key{} on the token (keys: {})", .wanted.as_ref().map(|w| format!(" \"{w}\"")).unwrap_or_default(), list(.available))]
    KeyNotFound {
        wanted: Option<String>,
        available: Vec<String>,
    },
    /// Several keys match; one must be named.
    #[error("several signing keys on the token; choose one ({})", list(.labels))]
    AmbiguousKey { labels: Vec<String> },
    /// The token does not offer the mechanism (e.g. RSA-PSS) for this key.
    #[error("the token cannot sign with this algorithm")]
    MechanismUnsupported,
    /// The key found when logging in is no longer on the token (deleted, or another token in
    /// the slot).
    #[error("the key is no longer on the token")]
    KeyGone,
    /// The key exists but may not sign.
    #[error("the key on the token may not sign")]
    KeyCannotSign,
    /// Any other failure of the device, by PKCS#11 function and return code.
    #[error("the token failed in {operation}: {code}")]
    Device {
        operation: &'static str,
        code: String,
    },
    #[error(transparent)]
    Certificate(#[from] kyso_x509::Error),
    #[error(transparent)]
    Cms(#[from] kyso_cms::Error),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Short for `Result<T, kyso_keys::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
