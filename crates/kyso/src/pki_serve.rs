//! The PKI services and the service runtime live in `kyso_services`; re-exported for the
//! commands that run them.

pub use kyso_services::pki::{router, LoadError, PkiServices};
pub use kyso_services::runtime::{run_service, run_service_then};
