//! Delegated signing through the REST API (issue 17 items 1, 2): the signer chosen at
//! drafting, KT. named at upload or handed over by the intended signer (`delegate`), and the
//! server's upload check against the certificate of the person who actually signs — the
//! deputy's own key accepted, the director's key in the deputy's upload refused and the other
//! way round — with real files (kyso-pdf's composer, kyso's signer, a test CA in the
//! registry), on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kyso_pades::numbering;
use kyso_pades::sign_bytes;

use axum::http::{Method, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, TestSigner, NOW, PASSWORD};

/// The director and the deputy director (personal), issued by one test root.
struct Pki {
    director: TestSigner,
    deputy: TestSigner,
}

fn pki() -> Pki {
    let ca = support::ca::TestCa::new("Documents Test Root");
    Pki {
        director: ca.issue("Nguyễn Văn An", None),
        deputy: ca.issue("Trần Thị Bình", None),
    }
}

/// Record `who`'s certificate in the registry under a new subscriber of `agency`.
async fn register_cert(
    store: &kyso_store::Store,
    agency: i64,
    kind: &str,
    name: &str,
    email: &str,
    title: &str,
    who: &TestSigner,
) {
    let sub = kyso_store::registry::create_subscriber(
        store,
        &Actor::system(),
        &kyso_store::registry::SubscriberInput {
            kind: kind.into(),
            agency_id: agency,
            name: name.into(),
            date_of_birth: String::new(),
            id_number: String::new(),
            email: email.into(),
            title: title.into(),
            unit: String::new(),
            phone: String::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    // The registry accepts the test root's certificates, as it does the national CA's.
    store.trust_issuers(
        &kyso_x509::path::TrustStore::from_certs(who.chain.clone()),
        &[],
    );
    kyso_store::registry::import_certificate(
        store,
        &Actor::system(),
        &kyso_store::registry::CertImport {
            agency_id: agency,
            subscriber_id: Some(sub.id),
            bytes: who.cert.der(),
            mismatch_reason: None,
        },
        NOW,
    )
    .await
    .unwrap();
}

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

impl App {
    async fn new(backend: Backend) -> App {
        let db = TestDb::new(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(kyso_store::blobs::Blobs::open(blobs.path()).unwrap());
        App {
            router: kyso_web::router(state),
            db,
            _blobs: blobs,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, method, path, token, body).await;
        (s, v)
    }

    async fn bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let (s, b, _) = support::send(
            &self.router,
            support::api_request(Method::GET, path, token, None),
        )
        .await;
        (s, b)
    }

    /// An account with `role` at `agency`, logged in: its id and token.
    async fn person(&self, name: &str, full_name: &str, agency: i64, role: &str) -> (i64, String) {
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: full_name.into(),
                email: format!("{name}@demo.invalid"),
                agency_id: agency,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: role.into(),
                    agency_id: agency,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                "",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (user.id, body["token"].as_str().unwrap().to_owned())
    }

    async fn step(&self, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/documents/{id}/actions"),
            token,
            Some(body),
        )
        .await
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A decision whose signer block the accounts fill: `authority`, and the person signed for.
fn meta(authority: &str, principal_id: Option<i64>) -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"authority": authority, "principal_id": principal_id},
        "page_count": 1
    })
}

struct Office {
    dost: i64,
    director: (i64, String),
    deputy: (i64, String),
    drafter: String,
    reviewer: String,
    checker: String,
}

impl App {
    /// Upload a decision signed by `signer_id` and take it to approval: its id and the
    /// formatted version the signature goes on.
    async fn to_approval(
        &self,
        o: &Office,
        draft: &[u8],
        signer_id: i64,
        meta: Value,
    ) -> (i64, Vec<u8>) {
        let (status, created) = self
            .call(
                Method::POST,
                "/api/v1/documents",
                &o.drafter,
                Some(
                    json!({"agency_id": o.dost, "meta": meta, "signer_id": signer_id,
                            "file_name": "du-thao.pdf", "file_base64": b64(draft)}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        for (who, action) in [
            (&o.drafter, "submit"),
            (&o.reviewer, "forward"),
            (&o.checker, "check_format"),
        ] {
            let (status, body) = self.step(who, id, json!({"action": action})).await;
            assert_eq!(status, StatusCode::OK, "{action}: {body}");
        }
        let (_, formatted) = self
            .bytes(&format!("/api/v1/documents/{id}/file?seq=2"), &o.drafter)
            .await;
        (id, formatted)
    }
}

fn personal(formatted: &[u8], key: &TestSigner) -> Vec<u8> {
    sign_bytes(formatted, &numbering::personal_signature(opts()), key, None).unwrap()
}

fn refused_file(status: StatusCode, body: &Value, name: &str, why: &str) {
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("file")),
        "{why}: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(name),
        "{why}: {body}"
    );
}

#[tokio::test]
async fn a_deputy_signs_kt_with_their_own_certificate_only() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let o = Office {
            dost,
            drafter: app
                .person("chuyenvien", "Phạm Văn Dũng", dost, "drafter")
                .await
                .1,
            reviewer: app
                .person("chanhvanphong", "Đỗ Thị Mai", dost, "reviewer")
                .await
                .1,
            checker: app
                .person("thethuc", "Vũ Văn Hải", dost, "format_checker")
                .await
                .1,
            director: app.person("giamdoc", "Nguyễn Văn An", dost, "signer").await,
            deputy: app
                .person("phogiamdoc", "Trần Thị Bình", dost, "signer")
                .await,
        };
        let (_, clerk) = app.person("vanthu", "Lê Thị Hoa", dost, "clerk").await;
        let pki = pki();
        // Each official's own certificate, under their own subscriber (same e-mail as the
        // account), with their title.
        register_cert(
            s,
            dost,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            "Giám đốc",
            &pki.director,
        )
        .await;
        register_cert(
            s,
            dost,
            "individual",
            "Trần Thị Bình",
            "phogiamdoc@demo.invalid",
            "Phó Giám đốc",
            &pki.deputy,
        )
        .await;
        let (status, reg) = app
            .call(
                Method::POST,
                "/api/v1/document-registers",
                &clerk,
                Some(
                    json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                            "issuer_abbrev": "SKHCN"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        let draft = draft();

        // 1. KT. named at upload: the deputy signs for the director.
        let (id, formatted) = app
            .to_approval(&o, &draft, o.deputy.0, meta("kt", Some(o.director.0)))
            .await;
        let (_, detail) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}"),
                &o.drafter,
                None,
            )
            .await;
        let signer = &detail["document"]["meta"]["signer"];
        assert_eq!(detail["document"]["signer_id"], o.deputy.0, "{detail}");
        assert_eq!(
            (
                signer["authority"].clone(),
                signer["name"].clone(),
                signer["title"].clone()
            ),
            (json!("kt"), json!("Trần Thị Bình"), json!("Phó Giám đốc")),
            "{signer}"
        );
        assert_eq!(
            (
                signer["principal_id"].clone(),
                signer["principal_name"].clone(),
                signer["principal_title"].clone()
            ),
            (
                json!(o.director.0),
                json!("Nguyễn Văn An"),
                json!("Giám đốc")
            ),
            "{signer}"
        );
        // The director, though a signer of the agency, does not approve what the deputy signs.
        let (status, _) = app
            .step(&o.director.1, id, json!({"action": "approve"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = app
            .step(&o.deputy.1, id, json!({"action": "approve"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The deputy's upload signed with the director's key is refused; with their own, taken.
        let (status, body) = app
            .step(
                &o.deputy.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.director))}),
            )
            .await;
        refused_file(
            status,
            &body,
            "Nguyễn Văn An",
            "the principal's key in the delegate's upload",
        );
        let (status, body) = app
            .step(
                &o.deputy.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.deputy))}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["document"]["state"], "personally_signed");

        // 2. Drafted for the director, handed over to the deputy before approval.
        let (id, formatted) = app
            .to_approval(&o, &draft, o.director.0, meta("direct", None))
            .await;
        let delegate = json!({"action": "delegate", "delegate_id": o.deputy.0, "authority": "kt",
                              "reason": "Giám đốc đi công tác"});
        // Only the intended signer hands it over.
        let (status, _) = app.step(&o.deputy.1, id, delegate.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = app
            .step(
                &o.director.1,
                id,
                json!({"action": "delegate", "delegate_id": o.deputy.0, "authority": "direct"}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("authority")),
            "{body}"
        );
        let (status, body) = app.step(&o.director.1, id, delegate).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["document"]["signer_id"], o.deputy.0, "{body}");
        assert_eq!(
            body["document"]["meta"]["signer"]["principal_id"],
            o.director.0
        );
        assert_eq!(body["document"]["meta"]["signer"]["authority"], "kt");
        let (status, _) = app
            .step(&o.director.1, id, json!({"action": "approve"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "handed over");
        let (status, body) = app
            .step(&o.deputy.1, id, json!({"action": "approve"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .step(
                &o.deputy.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.director))}),
            )
            .await;
        refused_file(
            status,
            &body,
            "Nguyễn Văn An",
            "the principal's key after the hand-over",
        );
        let (status, body) = app
            .step(
                &o.deputy.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.deputy))}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The timeline names the people by full name and title, the hand-over with them.
        let (_, detail) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}"),
                &o.drafter,
                None,
            )
            .await;
        let timeline = detail["timeline"].as_array().unwrap();
        let delegation = timeline.iter().find(|t| t["action"] == "delegate").unwrap();
        assert_eq!(
            delegation["actor_display"], "Nguyễn Văn An (Giám đốc)",
            "{delegation}"
        );
        assert!(
            delegation["note"]
                .as_str()
                .unwrap()
                .contains("KT. GIÁM ĐỐC"),
            "{delegation}"
        );
        let signed = timeline
            .iter()
            .find(|t| t["action"] == "sign_personal")
            .unwrap();
        assert_eq!(
            signed["actor_display"], "Trần Thị Bình (Phó Giám đốc)",
            "{signed}"
        );

        // 3. Vice versa: the director signing in their own right with the deputy's key.
        let (id, formatted) = app
            .to_approval(&o, &draft, o.director.0, meta("direct", None))
            .await;
        let (status, body) = app
            .step(&o.director.1, id, json!({"action": "approve"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .step(
                &o.director.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.deputy))}),
            )
            .await;
        refused_file(
            status,
            &body,
            "Trần Thị Bình",
            "the delegate's key in the principal's upload",
        );
        let (status, body) = app
            .step(
                &o.director.1,
                id,
                json!({"action": "sign_personal",
                  "file_base64": b64(&personal(&formatted, &pki.director))}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}
