//! Test databases on both backends: a fresh SQLite file, and a fresh PostgreSQL schema on the
//! server named by `KYSO_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When `KYSO_TEST_POSTGRES` is set, PostgreSQL is required and a missing server fails the
//! test; when it is not set and no server answers, PostgreSQL cases are a listed skip (a failure
//! under `KYSO_REQUIRE_ALL=1`).
//! Test support only (feature `testing`): failures panic, as a test should.
#![allow(clippy::panic)]

use crate::{Backend, Store};

/// A store for one test, removed when dropped (SQLite file) or left for a later run's
/// clean-up (PostgreSQL schemas `kyso_t_<unix time>_<random>` over an hour old are dropped
/// whenever a test makes a new one).
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KYSO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let reachable = std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
                std::time::Duration::from_millis(300),
            )
            .is_ok();
            if reachable {
                Some(DEFAULT_PG.into())
            } else {
                kyso_testkit::skip("a PostgreSQL server (127.0.0.1:5432 or KYSO_TEST_POSTGRES)");
                None
            }
        }
    }
}

/// The backends to run a test on.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        v.push(Backend::Postgres);
    }
    v
}

/// The tests' certification authority: the stores of [`TestDb`] accept its certificates
/// ([`Store::trust_issuers`]), as a real registry accepts the national CA's.
pub struct TestCa {
    root: kyso_x509::Cert,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("root", &self.root.subject_display())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// The one test CA of this process.
    pub fn get() -> &'static TestCa {
        static CA: std::sync::OnceLock<TestCa> = std::sync::OnceLock::new();
        CA.get_or_init(|| {
            let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("key: {e}"));
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())
                .unwrap_or_else(|e| panic!("params: {e}"));
            ca.distinguished_name
                .push(rcgen::DnType::CommonName, "CA thử nghiệm của kyso-store");
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            let cert = ca
                .self_signed(&key)
                .unwrap_or_else(|e| panic!("test CA: {e}"));
            TestCa {
                root: kyso_x509::Cert::from_der(cert.der())
                    .unwrap_or_else(|e| panic!("test CA: {e}")),
                issuer: rcgen::Issuer::new(ca, key),
            }
        })
    }

    /// Its root, as a trust store.
    pub fn anchors(&self) -> kyso_x509::path::TrustStore {
        kyso_x509::path::TrustStore::from_certs([self.root.clone()])
    }

    /// `params` for `key`, certified by this CA (PEM).
    pub fn sign(&self, params: &rcgen::CertificateParams, key: &rcgen::KeyPair) -> String {
        params
            .signed_by(key, &self.issuer)
            .unwrap_or_else(|e| panic!("issue: {e}"))
            .pem()
    }
}

impl TestDb {
    /// A fresh, migrated store on `backend`, accepting the certificates of [`TestCa`].
    pub async fn new(backend: Backend) -> TestDb {
        let db = TestDb::empty(backend).await;
        db.store.trust_issuers(&TestCa::get().anchors(), &[]);
        db
    }

    async fn empty(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
                let url = format!("sqlite://{}", dir.path().join("kyso.db").display());
                let store = Store::open(&url)
                    .await
                    .unwrap_or_else(|e| panic!("open {url}: {e}"));
                TestDb {
                    store,
                    url,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let base = postgres_url().unwrap_or_else(|| DEFAULT_PG.into());
                let schema = fresh_schema(&base).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                let store = Store::open(&url)
                    .await
                    .unwrap_or_else(|e| panic!("open {url}: {e}"));
                TestDb {
                    store,
                    url,
                    _dir: None,
                }
            }
        }
    }
}

async fn fresh_schema(base: &str) -> String {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for this test: {e}"));
    // Schemas carry their creation time; those of runs over an hour old (which a test
    // process cannot drop when it ends: drops are not async) are dropped now.
    #[allow(clippy::disallowed_methods)] // test support: schema names carry the wall clock
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'kyso\\_t\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for name in old {
        let born = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        if born < now - 3600 {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut conn)
                .await;
        }
    }
    let bytes = crate::random_bytes::<6>().unwrap_or_default();
    let schema = format!("kyso_t_{now}_{}", crate::hex(&bytes));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("create schema: {e}"));
    let _ = conn.close().await;
    schema
}

/// Take document `id` through `steps`, each by its actor, at `now`, with stand-in signatures:
/// at a signing step (`SignPersonal`, `OrgSign`) a line `% signed by USER` and `%%EOF` are
/// appended to `file`, which is uploaded as `file_name`. The file as last uploaded (the sealed
/// one once `OrgSign` was among the steps). For tests whose subject is what comes around the
/// flow (a request letter, a report, a download), not the signatures themselves.
pub async fn walk_flow(
    store: &Store,
    blobs: &crate::blobs::Blobs,
    id: i64,
    steps: &[(&crate::Actor, kyso_domain::documents::DocAction)],
    mut file: Vec<u8>,
    file_name: &str,
    now: time::OffsetDateTime,
) -> Vec<u8> {
    use kyso_domain::documents::DocAction as D;
    for (who, action) in steps {
        let mut step = crate::documents::StepInput::default();
        if matches!(action, D::SignPersonal | D::OrgSign) {
            file.extend_from_slice(format!("% signed by {}\n%%EOF\n", who.username).as_bytes());
            step.file = Some(file.clone());
            step.file_name = file_name.into();
        }
        crate::documents::act(store, blobs, who, id, *action, &step, now)
            .await
            .unwrap_or_else(|e| panic!("document {id}: {action} by {}: {e:?}", who.username));
    }
    file
}
