//! The demo PKI (`kyso_pki::demo`, RSA: made once per test file) and the real services over it
//! on loopback ports: the CSC signing service (`kyso_services::csc`) and the PKI's own
//! services (TSA, OCSP, CRLs: `kyso_services::pki`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use kyso_keys::{Pkcs12Signer, Secret};
use kyso_services::csc;

use super::NOW;

/// The demo PKI's PKCS#12 password: the credentials' PIN at the CSC service.
pub const PIN: &str = "pin-demo-2468";
/// The CSC service's account and its password.
pub const CSC_USER: &str = "demo";
pub const CSC_PASSWORD: &str = "csc-mat-khau-13579";

/// The demo PKI: its folder and what `kyso pki demo` reports (made once for the whole file:
/// RSA keys take a while).
pub fn demo_pki() -> &'static (tempfile::TempDir, kyso_pki::demo::Summary) {
    static PKI: OnceLock<(tempfile::TempDir, kyso_pki::demo::Summary)> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let summary = kyso_pki::demo::init(
            dir.path(),
            &kyso_pki::demo::InitOptions::new(Secret::from(PIN), NOW),
        )
        .unwrap();
        (dir, summary)
    })
}

/// Make `store` accept the demo PKI's certificates (its root an anchor, its intermediate to
/// build paths through), as `kyso serve` does for its own demo.
pub fn trust_demo(store: &kyso_store::Store) {
    let (dir, _) = demo_pki();
    let read = |f: &str| {
        kyso_x509::Cert::from_pem_or_der(&std::fs::read(dir.path().join(f)).unwrap()).unwrap()
    };
    store.trust_issuers(
        &kyso_x509::path::TrustStore::from_certs(read("root.pem")),
        &read("intermediate.pem"),
    );
}

/// The key of the demo entity `name` ("personal", "personal2", "organization"…), from its
/// PKCS#12 file.
pub fn demo_key(name: &str) -> Pkcs12Signer {
    let (dir, summary) = demo_pki();
    let e = summary.entity(name).unwrap();
    let p12 = std::fs::read(dir.path().join(&e.p12_file)).unwrap();
    Pkcs12Signer::from_pkcs12(&p12, &Secret::from(PIN)).unwrap()
}

/// The certificate of the demo entity `name`, as its PEM file holds it.
pub fn demo_cert_pem(name: &str) -> String {
    let (dir, summary) = demo_pki();
    let e = summary.entity(name).unwrap();
    std::fs::read_to_string(dir.path().join(&e.cert_file)).unwrap()
}

/// The certificate of the demo entity `name`, DER.
pub fn demo_cert_der(name: &str) -> Vec<u8> {
    kyso_x509::Cert::from_pem_or_der(demo_cert_pem(name).as_bytes()).unwrap()[0]
        .der()
        .to_vec()
}

/// A CSC service over the demo PKI (account [`CSC_USER`], credentials named after the demo
/// entities) on a loopback port: its base URL.
pub async fn csc_service() -> String {
    let (dir, _) = demo_pki();
    let config = csc::demo_config(
        &PathBuf::from(dir.path()),
        CSC_USER,
        &Secret::from(CSC_PASSWORD),
        csc::MIN_KDF_ITERATIONS,
    )
    .unwrap();
    let service = Arc::new(csc::CscService::new(&config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, csc::router(service)).await.unwrap();
    });
    format!("http://{addr}")
}

/// The demo PKI's services (its TSA at `/tsa`) on a loopback port: the base URL.
pub async fn pki_service() -> String {
    let (dir, _) = demo_pki();
    let services = Arc::new(
        kyso_services::pki::PkiServices::load(dir.path(), &Secret::from(PIN), || NOW).unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, kyso_services::pki::router(services))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// The server's remote signing through the CSC service at `url` (the default level, 30 s).
pub fn remote_signing(url: String) -> kyso_services::remote_sign::RemoteSigning {
    kyso_services::remote_sign::RemoteSigning {
        url,
        level: kyso_services::agent::SigningLevel::default(),
        timeout: std::time::Duration::from_secs(30),
        tls_roots: Vec::new(),
    }
}
