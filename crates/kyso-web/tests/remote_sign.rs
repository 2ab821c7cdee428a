//! Signing a document's step with a remote key over the CSC API (issue 17 item 3), on SQLite
//! and on PostgreSQL, against a real CSC service in process (`kyso_services::csc`'s router with
//! its demo configuration over a demo PKI, on a loopback port): the director's credential,
//! whose certificate the registry holds for the director, signs the personal step from the
//! document page and through the REST API, and the server's upload check accepts it. Refused:
//! a wrong PIN (a clear message, nothing stored, the step not taken), the account's other
//! credential whose certificate is not the director's in the registry, a wrong CSC password;
//! and a server without a CSC service offers no form and answers 404.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use kyso_store::testing::backends;
use kyso_store::Actor;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App, Session};
use support::demo::{
    csc_service, demo_cert_der as demo_cert, remote_signing, CSC_PASSWORD, CSC_USER, PIN,
};
use support::{draft, register_cert_der as register_cert, NOW};

/// The server, with the CSC service at `csc_url` when given.
async fn app(backend: kyso_store::Backend, csc_url: Option<String>) -> App {
    App::with(backend, |state| match csc_url {
        Some(url) => state.with_remote_signing(remote_signing(url)),
        None => state,
    })
    .await
}

impl App {
    async fn call_as(
        &self,
        who: &Session,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, &who.token, body).await
    }

    /// POST the remote signing form; the status and the page (or the redirect's target).
    async fn remote_sign(
        &self,
        who: &Session,
        id: i64,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        self.submit(who, &format!("/documents/{id}/remote-sign"), fields)
            .await
    }

    /// The document's state and number of versions.
    async fn state(&self, who: &Session, id: i64) -> (String, usize) {
        let (status, body) = self
            .call_as(who, Method::GET, &format!("/api/v1/documents/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["document"]["state"].as_str().unwrap().to_owned(),
            body["versions"].as_array().unwrap().len(),
        )
    }
}

/// A decision of the DoST approved by its director and awaiting the personal signature.
struct Approved {
    director: Session,
    clerk: Session,
    id: i64,
    agency: i64,
    /// The director's subscriber in the registry.
    director_sub: i64,
}

async fn approved(app: &App) -> Approved {
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
    support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
    kyso_store::documents::create_register(
        s,
        &Actor::system(),
        &kyso_store::documents::RegisterInput {
            agency_id: dost,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    let drafter = app.session("chuyenvien", dost, "drafter").await;
    let reviewer = app.session("truongphong", dost, "reviewer").await;
    let checker = app.session("thethuc", dost, "format_checker").await;
    let director = app.session("giamdoc", dost, "signer").await;
    let clerk = app.session("vanthu", dost, "clerk").await;
    // The registry holds the demo PKI's "personal" certificate (Nguyễn Văn An) for the
    // director, and the demo organization certificate for the agency.
    support::demo::trust_demo(s);
    let director_sub = register_cert(
        s,
        dost,
        "individual",
        "Nguyễn Văn An",
        "giamdoc@demo.invalid",
        &demo_cert("personal"),
    )
    .await;
    register_cert(
        s,
        dost,
        "organization",
        "Sở KH&CN",
        "",
        &demo_cert("organization"),
    )
    .await;
    let (status, created) = app
        .call_as(
            &drafter,
            Method::POST,
            "/api/v1/documents",
            Some(
                json!({"agency_id": dost, "file_name": "du-thao.pdf", "file_base64": b64(&draft()),
                "meta": {
                    "doc_type": "quyet_dinh",
                    "subject": "Về việc ban hành Quy chế văn thư",
                    "place": "Demo",
                    "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
                    "recipients": ["H99.05"],
                    "confidentiality": "unclassified",
                    "page_count": 1
                }}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["document"]["id"].as_i64().unwrap();
    app.step_ok(&drafter.token, id, "submit").await;
    app.step_ok(&reviewer.token, id, "forward").await;
    app.step_ok(&checker.token, id, "check_format").await;
    app.step_ok(&director.token, id, "approve").await;
    Approved {
        director,
        clerk,
        id,
        agency: dost,
        director_sub,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_director_signs_the_personal_step_with_the_remote_key_from_the_page() {
    for b in backends() {
        let url = csc_service().await;
        let app = app(b, Some(url)).await;
        let Approved {
            director,
            id,
            agency,
            director_sub,
            ..
        } = approved(&app).await;
        let (state, versions) = app.state(&director, id).await;

        // The signing section offers the remote signing form, labelled, with no secret in it.
        let (status, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {page}");
        assert!(
            page.contains("Ký bằng chữ ký số từ xa (CSC)"),
            "{b:?}: {page}"
        );
        assert!(
            page.contains(&format!("action=\"/documents/{id}/remote-sign\"")),
            "{b:?}"
        );
        for id_ in [
            "csc-user-sign_personal",
            "csc-password-sign_personal",
            "csc-pin-sign_personal",
        ] {
            assert!(
                page.contains(&format!("<label for=\"{id_}\"")),
                "{b:?}: {id_}"
            );
        }

        // A wrong PIN: a clear message, the step not taken, nothing stored, no secret echoed.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", "sai-ma-pin-0000"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(answer.contains("sai mã PIN"), "{b:?}: {answer}");
        assert!(
            !answer.contains("sai-ma-pin-0000") && !answer.contains(CSC_PASSWORD),
            "{b:?}: a secret is echoed"
        );
        assert!(
            answer.contains(&format!("value=\"{CSC_USER}\"")),
            "{b:?}: the account is kept"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // A wrong CSC password.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", "khong-dung"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(
            answer.contains("tên đăng nhập hoặc mật khẩu"),
            "{b:?}: {answer}"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // The account's organization credential: its certificate is in the registry, but not
        // as the director's.
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("credential", "organization"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert!(
            answer.contains("không mang chứng thư số mà sổ đăng ký ghi"),
            "{b:?}: {answer}"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // A second certificate of the account in the registry for the director: the page
        // lists both keys by name to choose from, asks for the password and PIN again, and
        // signs nothing.
        kyso_store::registry::import_certificate(
            &app.db.store,
            &Actor::system(),
            &kyso_store::registry::CertImport {
                agency_id: agency,
                subscriber_id: Some(director_sub),
                bytes: &demo_cert("personal2"),
                // Another person's certificate, on purpose: the page must let the director
                // choose between two keys.
                mismatch_reason: Some("Chứng thư số thứ hai để thử chọn khóa".into()),
            },
            NOW,
        )
        .await
        .unwrap();
        let (status, answer) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert!(
            answer.contains("name=\"credential\" value=\"personal\"")
                && answer.contains("name=\"credential\" value=\"personal2\"")
                && !answer.contains("value=\"organization\""),
            "{b:?}: {answer}"
        );
        assert!(
            answer.contains("Nguyễn Văn An") && answer.contains("Trần Thị Bình"),
            "{b:?}: the keys by name"
        );
        assert!(
            !answer.contains(PIN) && !answer.contains(CSC_PASSWORD),
            "{b:?}: a secret is echoed"
        );
        assert_eq!(
            app.state(&director, id).await,
            (state.clone(), versions),
            "{b:?}"
        );

        // The right PIN and the chosen key: signed; the server's upload check accepts it and
        // the step is taken.
        let (status, to) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("credential", "personal"),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("/documents/{id}?done=sign_personal").as_str()
            ),
            "{b:?}"
        );
        let (new_state, new_versions) = app.state(&director, id).await;
        assert_ne!(new_state, state, "{b:?}");
        assert_eq!(new_versions, versions + 1, "{b:?}");
        // The stored version is the formatted draft with the director's signature appended.
        let (status, signed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={new_versions}"),
                &director.token,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let (_, formatted, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={versions}"),
                &director.token,
                None,
            ),
        )
        .await;
        assert!(
            signed.starts_with(&formatted) && signed.len() > formatted.len(),
            "{b:?}"
        );
        // Exactly one new signature, by the director's registered certificate.
        let director_cert = kyso_x509::Cert::from_der(&demo_cert("personal")).unwrap();
        let checked = kyso_pades::upload::check_upload(
            &formatted,
            &signed,
            &kyso_pades::upload::ExpectedSignature::new(
                vec![director_cert.clone()],
                kyso_pades::upload::Step::Personal,
            ),
        )
        .unwrap();
        assert_eq!(checked.signer.der(), director_cert.der(), "{b:?}");

        // The step is taken: the form is no longer offered, and a second try is refused.
        let (_, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert!(!page.contains("csc-pin-sign_personal"), "{b:?}");
        let (status, _) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_ne!(status, StatusCode::SEE_OTHER, "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_csc_service_the_form_is_not_offered() {
    for b in backends() {
        let app = app(b, None).await;
        let Approved { director, id, .. } = approved(&app).await;
        let (status, page) = app.page(&director, &format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(
            page.contains("sign-sign_personal"),
            "{b:?}: the signing section is there"
        );
        assert!(
            !page.contains("remote-sign") && !page.contains("(CSC)"),
            "{b:?}: {page}"
        );
        let before = app.state(&director, id).await;
        let (status, _) = app
            .remote_sign(
                &director,
                id,
                &[
                    ("action", "sign_personal"),
                    ("csc_user", CSC_USER),
                    ("csc_password", CSC_PASSWORD),
                    ("pin", PIN),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}");
        let (status, answer) = app
            .call_as(
                &director,
                Method::POST,
                &format!("/api/v1/documents/{id}/remote-sign"),
                Some(json!({"action": "sign_personal", "csc_user": CSC_USER,
                            "csc_password": CSC_PASSWORD, "pin": PIN})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b:?}: {answer}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_signs_the_personal_step_and_the_seal_with_the_remote_keys() {
    for b in backends() {
        let url = csc_service().await;
        let app = app(b, Some(url)).await;
        let Approved {
            director,
            clerk,
            id,
            ..
        } = approved(&app).await;
        let before = app.state(&director, id).await;
        let path = format!("/api/v1/documents/{id}/remote-sign");
        let body = |pin: &str, credential: Option<&str>| {
            let mut v = json!({"action": "sign_personal", "csc_user": CSC_USER,
                               "csc_password": CSC_PASSWORD, "pin": pin});
            if let Some(c) = credential {
                v["credential"] = json!(c);
            }
            Some(v)
        };
        // A wrong PIN: 422 naming the field, nothing stored.
        let (status, answer) = app
            .call_as(&director, Method::POST, &path, body("0000-sai", None))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "pin", "{b:?}: {answer}");
        assert!(!answer.to_string().contains("0000-sai"), "{b:?}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
        // The organization credential is not the director's.
        let (status, answer) = app
            .call_as(
                &director,
                Method::POST,
                &path,
                body(PIN, Some("organization")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "credential", "{b:?}: {answer}");
        assert_eq!(app.state(&director, id).await, before, "{b:?}");
        // Only the signing steps.
        let (status, answer) = app
            .call_as(
                &director,
                Method::POST,
                &path,
                Some(json!({"action": "approve", "csc_user": CSC_USER,
                            "csc_password": CSC_PASSWORD, "pin": PIN})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        // Signed, checked and taken.
        let (status, answer) = app
            .call_as(&director, Method::POST, &path, body(PIN, Some("personal")))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert_eq!(
            answer["outcome"]["version"].as_i64(),
            Some(before.1 as i64 + 1),
            "{b:?}: {answer}"
        );
        assert_ne!(
            answer["outcome"]["document"]["state"],
            json!(before.0),
            "{b:?}"
        );
        assert_eq!(answer["choose"], json!([]), "{b:?}");
        // The step is not the director's any more.
        let (status, _) = app
            .call_as(&director, Method::POST, &path, body(PIN, None))
            .await;
        assert!(matches!(status.as_u16(), 403 | 409), "{b:?}: {status}");
        // The clerk seals with the agency's remote key: the server fills the reserved number
        // and date, signs with the organization credential (the registry's organization
        // certificate), and the upload check accepts the seal over that number.
        app.step_ok(&clerk.token, id, "clerk_check").await;
        let (status, numbered) = app
            .call_as(
                &clerk,
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                Some(json!({"action": "number"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {numbered}");
        let seal = |credential: &str| {
            Some(json!({"action": "org_sign", "csc_user": CSC_USER,
                        "csc_password": CSC_PASSWORD, "pin": PIN, "credential": credential}))
        };
        // The director's personal credential is not the organization's.
        let (status, answer) = app
            .call_as(&clerk, Method::POST, &path, seal("personal"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {answer}");
        assert_eq!(answer["error"]["field"], "credential", "{b:?}: {answer}");
        let (status, answer) = app
            .call_as(&clerk, Method::POST, &path, seal("organization"))
            .await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {answer}");
        assert_eq!(
            answer["outcome"]["document"]["state"], "org_signed",
            "{b:?}: {answer}"
        );
        let seq = answer["outcome"]["version"].as_i64().unwrap();
        let (status, sealed, _) = support::send(
            &app.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/documents/{id}/file?seq={seq}"),
                &clerk.token,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        let issued = kyso_pades::numbering::issued_in(
            Arc::new(kyso_pdf::MemSource::new(sealed)),
            kyso_pdf::Limits::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            issued.number.as_deref(),
            numbered["number_and_notation"].as_str(),
            "{b:?}"
        );

        // The operation is in the OpenAPI document.
        let (_, doc) = app
            .call_as(&director, Method::GET, "/api/openapi.json", None)
            .await;
        assert!(
            doc["paths"]["/api/v1/documents/{id}/remote-sign"]["post"].is_object(),
            "{b:?}"
        );
    }
}
