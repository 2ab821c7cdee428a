//! kyso's HTTP services, as libraries the binary wires up from its command line:
//!
//! - [`runtime`]: the tokio runtime, TCP or TLS listener and graceful stop every service shares;
//! - [`tls`]: the TLS listener and the agent's loopback certificate;
//! - [`pki`]: the demo PKI's TSA, OCSP responder, CRLs and CA certificates (`kyso pki serve`);
//! - [`agent`]: the browser signing agent on the official's computer (`kyso agent`);
//! - [`csc`]: the remote signing server speaking the CSC API v1/v2 (`kyso csc serve`);
//! - [`pki_report`]: what `kyso pki` says (errors, reports, `kyso.pki/1`);
//! - [`token`]: `kyso token`'s reports and its registration of a token with the registry;
//! - [`trust`]: the trust store's anchors, errors, `kyso trust list/add/remove`;
//! - [`signing`]: signing and extending as a command or batch asks (outputs, forms, chain,
//!   network, key files, `kyso.sign/1` and `kyso.extend/1` lines); [`demo`]: `kyso demo`;
//! - [`report`]: the verification report, as the clerk reads it and as `kyso.verify/1` JSON;
//!   [`report_pdf`]: the same report as a PDF;
//! - [`convert`]: DOCX/ODT drafts turned into PDF by LibreOffice headless;
//!
//! Configuration is plain structs; errors are typed or [`kyso_i18n::UserError`]s.

pub mod agent;
pub mod convert;
pub mod csc;
pub mod demo;
pub mod files;
pub mod pki;
pub mod pki_report;
pub mod remote_sign;
pub mod report;
pub mod report_pdf;
pub mod runtime;
pub mod signing;
pub mod tls;
pub mod token;
pub mod trace;
pub mod trust;

pub use runtime::{run_service, run_service_then, run_service_with, serve, serve_tcp};
