//! Outgoing documents through the REST API (`/api/v1/documents…`), on SQLite and on PostgreSQL:
//! the whole flow by the people whose steps they are, the refusals as HTTP statuses with
//! their field, the files byte for byte, and the operations in the OpenAPI document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::Router;
use base64::Engine as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Backend};
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

const DRAFT: &[u8] = b"%PDF-1.7\n% draft\n%%EOF\n";

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
    async fn person(&self, name: &str, agency: i64, role: &str) -> (i64, String) {
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
                email: String::new(),
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

fn meta(confidentiality: &str) -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"authority": "kt", "principal_title": "Giám đốc", "title": "Phó Giám đốc",
                   "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "confidentiality": confidentiality,
        "page_count": 1
    })
}

#[tokio::test]
async fn a_decision_through_the_api_from_upload_to_recall() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let (_, drafter) = app.person("chuyenvien", dost, "drafter").await;
        let (_, reviewer) = app.person("truongphong", dost, "reviewer").await;
        let (_, checker) = app.person("thethuc", dost, "format_checker").await;
        let (_, signer) = app.person("giamdoc", dost, "signer").await;
        let (_, clerk) = app.person("vanthu", dost, "clerk").await;
        let (_, their_clerk) = app.person("vanthu.tc", finance, "clerk").await;
        let (_, admin) = app.person("quantri", root, "dost_admin").await;

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
        let (status, regs) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{dost}/document-registers"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(
            (status, regs[0]["code"].clone()),
            (StatusCode::OK, json!("VBĐ"))
        );

        // A secret document is refused, naming the field.
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(json!({"agency_id": dost, "meta": meta("secret"), "file_base64": b64(DRAFT)})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "confidentiality", "{body}");

        let (status, created) = app
            .call(
                Method::POST,
                "/api/v1/documents",
                &drafter,
                Some(json!({"agency_id": dost, "meta": meta("unclassified"),
                            "file_name": "du-thao.pdf", "file_base64": b64(DRAFT)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        assert_eq!(created["document"]["state"], "draft");
        assert_eq!(created["document"]["next_actions"], json!(["submit"]));

        let ok = |(status, body): (StatusCode, Value)| {
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        };
        ok(app.step(&drafter, id, json!({"action": "submit"})).await);
        // Wrong role, another agency, an unknown action, a return without its reason.
        let (status, _) = app.step(&drafter, id, json!({"action": "forward"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .step(&their_clerk, id, json!({"action": "forward"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = app.step(&reviewer, id, json!({"action": "sign"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("action"))
        );
        let (status, body) = app.step(&reviewer, id, json!({"action": "return"})).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("reason"))
        );
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/comments"),
                &reviewer,
                Some(json!({"body": "Đồng ý, chuyển kiểm tra thể thức."})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ok(app.step(&reviewer, id, json!({"action": "forward"})).await);
        ok(app
            .step(&checker, id, json!({"action": "check_format"}))
            .await);
        // The province's administrator never approves or signs for an agency.
        let (status, _) = app.step(&admin, id, json!({"action": "approve"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        ok(app.step(&signer, id, json!({"action": "approve"})).await);
        let mut personal = DRAFT.to_vec();
        personal.extend_from_slice(b"% personal signature\n%%EOF\n");
        let out = ok(app
            .step(
                &signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&personal)}),
            )
            .await);
        assert_eq!(out["version"], 2);
        ok(app.step(&clerk, id, json!({"action": "clerk_check"})).await);
        let out = ok(app.step(&clerk, id, json!({"action": "number"})).await);
        assert_eq!(out["number_and_notation"], "01/QĐ-SKHCN");
        let mut issued = personal.clone();
        issued.extend_from_slice(b"% organization signature\n%%EOF\n");
        // The signed file must show the reserved number.
        let (status, body) = app
            .step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued), "shown_number": 2}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (StatusCode::CONFLICT, json!("number"))
        );
        ok(app
            .step(
                &clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued), "shown_number": 1}),
            )
            .await);
        ok(app.step(&clerk, id, json!({"action": "register"})).await);
        let out = ok(app.step(&clerk, id, json!({"action": "dispatch"})).await);
        assert_eq!(
            (out["deliveries"].clone(), out["document"]["state"].clone()),
            (json!(1), json!("dispatched"))
        );

        // Files come back byte for byte; the recipient has it in its queue.
        let (status, bytes) = app
            .bytes(&format!("/api/v1/documents/{id}/file?seq=3"), &drafter)
            .await;
        assert_eq!((status, bytes), (StatusCode::OK, issued.clone()));
        let (status, queue) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{queue}");
        assert_eq!(queue[0]["document_id"].as_i64(), Some(id));
        assert_eq!(queue[0]["state"], "delivered");
        let (status, bytes) = app
            .bytes(&format!("/api/v1/documents/{id}/file"), &clerk)
            .await;
        assert_eq!((status, bytes), (StatusCode::OK, issued.clone()), "the latest");
        let (status, body) = app
            .call(Method::POST, &format!("/api/v1/documents/{id}/copies"), &their_clerk,
                  Some(json!({"agency_id": finance, "form": "trich_sao", "file_base64": b64(b"%PDF-1.7\n% extract\n")})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["notation"], "01/TrS");

        // The waiting lists: nothing waits for the drafter now.
        let (_, mine) = app
            .call(Method::GET, "/api/v1/documents?mine=true", &drafter, None)
            .await;
        assert_eq!(mine, json!([]));
        let (_, all) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents?agency_id={dost}&state=dispatched"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(all.as_array().map(Vec::len), Some(1));

        // Recall: the recipient's delivery is marked recalled, the timeline has every step.
        ok(app
            .step(
                &clerk,
                id,
                json!({"action": "recall", "reason": "Sai thẩm quyền ban hành"}),
            )
            .await);
        let (_, queue) = app
            .call(
                Method::GET,
                &format!("/api/v1/agencies/{finance}/deliveries"),
                &their_clerk,
                None,
            )
            .await;
        assert_eq!(queue[0]["state"], "recalled", "{queue}");
        let (status, detail) = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}"),
                &drafter,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["document"]["state"], "recalled");
        assert_eq!(detail["document"]["state_label"], "Đã thu hồi");
        assert_eq!(detail["recall"]["reason"], "Sai thẩm quyền ban hành");
        assert_eq!(
            detail["timeline"].as_array().map(Vec::len),
            Some(14),
            "{}",
            detail["timeline"]
        );
        let (status, _) = app.step(&clerk, id, json!({"action": "dispatch"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        if b == Backend::Postgres {
            app.db.store.close().await;
        }
    }
}

#[tokio::test]
async fn the_document_operations_are_in_the_openapi_document() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path) in [
        ("get", "/api/v1/documents"),
        ("post", "/api/v1/documents"),
        ("get", "/api/v1/documents/{id}"),
        ("post", "/api/v1/documents/{id}/actions"),
        ("post", "/api/v1/documents/{id}/drafts"),
        ("post", "/api/v1/documents/{id}/comments"),
        ("get", "/api/v1/documents/{id}/file"),
        ("post", "/api/v1/documents/{id}/copies"),
        ("get", "/api/v1/agencies/{id}/document-registers"),
        ("post", "/api/v1/document-registers"),
        ("get", "/api/v1/agencies/{id}/deliveries"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["documents"]), "{method} {path}: {op}");
    }
    assert!(doc["components"]["schemas"]["ActionInput"]["properties"]["action"].is_object());
}
