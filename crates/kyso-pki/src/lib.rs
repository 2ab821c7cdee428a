#![doc = include_str!("../README.md")]

pub mod demo;
pub mod images;
mod issue;
pub mod local_tls;
mod raster;
pub mod revocation;

use std::path::PathBuf;

/// What went wrong creating the demo PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The target directory exists and is not empty (pass `force` to write into it anyway).
    #[error("directory {0} exists and is not empty")]
    DirNotEmpty(PathBuf),
    /// The target path exists and is not a directory.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The password is empty.
    #[error("the PKCS#12 password must not be empty")]
    EmptyPassword,
    /// The base URL is not a plain `http://` or `https://` URL.
    #[error("base URL must start with http:// or https:// and hold no spaces: {0}")]
    BadBaseUrl(String),
    /// Key generation or certificate signing failed.
    #[error("certificate issuance failed: {0}")]
    Issue(String),
    /// Building a PKCS#12 file failed.
    #[error("PKCS#12 encoding failed: {0}")]
    Pkcs12(String),
    /// Drawing or encoding a demo image failed.
    #[error("image: {0}")]
    Image(String),
    /// `index.json` or the revocation state file cannot be read.
    #[error("invalid PKI state: {0}")]
    State(String),
    /// No certificate of the demo PKI has this serial number.
    #[error("no certificate of this PKI has serial {serial}")]
    UnknownSerial {
        serial: String,
        /// (entity name, serial hex) of every certificate of the PKI.
        known: Vec<(String, String)>,
    },
    /// The certificate is already revoked.
    #[error("certificate {name} ({serial}) was already revoked at {time} ({})", reason.name())]
    AlreadyRevoked {
        name: String,
        serial: String,
        time: String,
        reason: revocation::Reason,
    },
    /// The root CA cannot be revoked (nothing above it publishes its status).
    #[error("the root CA cannot be revoked")]
    CannotRevokeRoot,
}

/// Short for `Result<T, kyso_pki::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
