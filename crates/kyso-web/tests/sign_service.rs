//! The signing service for integrators (issue 18 item 7), on SQLite and on PostgreSQL, through
//! the real router: an e-office system prepares a PDF for its user's key, signs the answered
//! digest itself (here: the demo PKI's RSA key through aws-lc-rs, as a token would) and gets
//! the signed PDF back from finalize — intact for kyso's verifier and valid for pyHanko under
//! the demo root (RSA PKCS#1 v1.5 and PSS; an ECDSA P-256 key signs the signed attributes
//! itself; with the server's TSA the signature gets its timestamp, B-T); a stored document
//! version is signed for those who may read it; or the caller builds its own CMS over the
//! byte-range digest. Refused: a signature by another key (the session may be tried again), a
//! session used twice, expired, or another account's; of ten finalizes at once exactly one
//! signs. An oversized upload is refused before anything is read. One call with a CSC credential signs against a real CSC service in
//! process (`kyso_services::csc` over the demo PKI); a wrong PIN is named, and a server
//! without a CSC service answers 404.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer as _};
use kyso_keys::Pkcs12Signer;
use kyso_services::agent::SigningLevel;
use kyso_services::remote_sign::RemoteSigning;
use kyso_store::testing::backends;
use kyso_store::Backend;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::TestCa;
use support::demo::{
    csc_service, demo_cert_pem, demo_key as key, demo_pki, pki_service, remote_signing,
    CSC_PASSWORD, CSC_USER, PIN,
};
use support::NOW;

fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

impl App {
    /// A new drafter of a new province, logged in: its bearer token.
    async fn newcomer(&self, name: &str) -> String {
        let agency = support::agency(
            self.store(),
            &format!("H{}", 10 + name.len()),
            &format!("UBND tỉnh {name}"),
            None,
        )
        .await;
        self.person(name, agency, "drafter").await.1
    }

    async fn json(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// POST `body`: the status and the raw answer (a PDF when it worked).
    async fn raw(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Vec<u8>) {
        let req = support::api_request(
            Method::POST,
            path,
            token,
            Some(("application/json", body.to_string())),
        );
        let (s, b, _) = support::send(&self.router, req).await;
        (s, b)
    }

    async fn prepare(&self, token: &str, body: Value) -> Value {
        let (status, answer) = self.json(token, "/api/v1/sign/prepare", body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer
    }

    async fn finalize(&self, token: &str, session: &str, body: Value) -> (StatusCode, Vec<u8>) {
        self.raw(token, &format!("/api/v1/sign/{session}/finalize"), &body)
            .await
    }

    /// Finalize the session a prepare answered (`p`) with the raw signature `signer` makes of
    /// its digest, as the caller's token would.
    async fn finalize_signed(
        &self,
        token: &str,
        p: &Value,
        signer: &Pkcs12Signer,
        alg: SignatureAlgorithm,
    ) -> (StatusCode, Vec<u8>) {
        let sig = signer.sign_digest(alg, &unb64(&p["digest"])).unwrap();
        let session = p["session"].as_str().unwrap();
        self.finalize(token, session, json!({"signature_base64": b64(&sig)}))
            .await
    }
}

fn error_of(bytes: &[u8]) -> Value {
    serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null)["error"].clone()
}

/// kyso's own verifier: every signature intact, the last one covering the whole file.
fn kyso_accepts(pdf: &[u8]) {
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())))
            .unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_intact(), "{:?}", reports[0].failure_codes());
}

/// pyHanko (scripts/oracles/pyhanko_validate.py, strict syntax): one intact, valid signature
/// trusted under the demo root, covering the entire file. A listed skip when it is missing.
fn pyhanko_accepts(pdf: &[u8]) {
    if !kyso_testkit::need_python("pyhanko") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, pdf).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oracles/pyhanko_validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(demo_pki().0.path().join("root.pem"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(report["error"], Value::Null, "{report:#}");
    assert_eq!(report["strict"], true, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{report:#}");
    for key in ["intact", "valid", "trusted", "bottom_line"] {
        assert_eq!(sigs[0][key], true, "{key}: {report:#}");
    }
    assert_eq!(sigs[0]["coverage"], "ENTIRE_FILE", "{report:#}");
}

/// The upload and certificate of a prepare call.
fn prepare_body(signer: &str, extra: Value) -> Value {
    let mut body = json!({
        "file_base64": b64(&support::draft()),
        "certificate": demo_cert_pem(signer),
        "chain": key(signer).chain().iter().map(|c| b64(c.der())).collect::<Vec<_>>(),
        "reason": "Phê duyệt",
        "location": "Demo",
        "form": {"kind": "copy", "org_name": "SỞ KHOA HỌC VÀ CÔNG NGHỆ"},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn a_raw_signature_over_the_answered_digest_makes_a_valid_pdf() {
    let director = key("personal");
    let other = key("personal2");
    for backend in backends() {
        let app = App::new(backend).await;
        let token = app.newcomer("nguyen.an").await;

        // PKCS#1 v1.5 (the default for an RSA certificate) and RSASSA-PSS.
        for (name, algorithm) in [
            (
                "rsa_pkcs1_sha256",
                SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256),
            ),
            (
                "rsa_pss_sha256",
                SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256),
            ),
        ] {
            let p = app
                .prepare(
                    &token,
                    prepare_body("personal", json!({"signature_algorithm": name})),
                )
                .await;
            assert_eq!(p["mode"], "cms");
            assert_eq!(p["digest_algorithm"], "SHA-256");
            assert_eq!(p["signature_algorithm"], name);
            assert_eq!(p["field_name"], "Signature1");
            assert_eq!(p["timestamp"], false);
            // The digest is the hash of the signed attributes handed out.
            let tbs = unb64(&p["to_be_signed"]);
            let digest = unb64(&p["digest"]);
            assert_eq!(DigestAlgorithm::Sha256.digest(&tbs), digest);
            let session = p["session"].as_str().unwrap();

            // A value made by another key is refused, with words, and nothing is signed.
            let wrong = other.sign_digest(algorithm, &digest).unwrap();
            let (status, body) = app
                .finalize(&token, session, json!({"signature_base64": b64(&wrong)}))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            let e = error_of(&body);
            assert_eq!(e["field"], "signature", "{e}");
            assert!(
                e["message_en"].as_str().unwrap().contains("does not match"),
                "{e}"
            );

            // The session is given back: the right value signs.
            let sig = director.sign_digest(algorithm, &digest).unwrap();
            let (status, pdf) = app
                .finalize(&token, session, json!({"signature_base64": b64(&sig)}))
                .await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
            assert!(pdf.starts_with(&support::draft()), "an incremental update");
            kyso_accepts(&pdf);
            pyhanko_accepts(&pdf);

            // Used once: a second finalize is refused.
            let (status, body) = app
                .finalize(&token, session, json!({"signature_base64": b64(&sig)}))
                .await;
            assert_eq!(status, StatusCode::CONFLICT, "{}", error_of(&body));
            assert_eq!(error_of(&body)["field"], "session");
        }
    }
}

#[tokio::test]
async fn an_integrator_may_send_its_own_cms() {
    let director = key("personal");
    for backend in backends() {
        let app = App::new(backend).await;
        let token = app.newcomer("nguyen.an").await;
        let p = app
            .prepare(
                &token,
                prepare_body("personal", json!({"mode": "external_cms", "form": null})),
            )
            .await;
        assert_eq!(p["mode"], "external_cms");
        assert_eq!(p["to_be_signed"], Value::Null);
        let document_digest = unb64(&p["digest"]);
        assert_eq!(unb64(&p["document_digest"]), document_digest);
        let session = p["session"].as_str().unwrap();

        // The caller's own CMS (built here with kyso-cms, as any CMS library would).
        let cms_over = |message_digest: &[u8]| {
            let alg = director.algorithm();
            let attrs =
                kyso_cms::SignedAttributes::pades(message_digest, alg, director.certificate())
                    .unwrap();
            let sig = director
                .sign(&SignRequest {
                    message: attrs.der(),
                    digest: &alg.digest().digest(attrs.der()),
                    algorithm: alg,
                })
                .unwrap();
            kyso_cms::SignedDataBuilder {
                signed_attrs: &attrs,
                algorithm: alg,
                signature: &sig,
                signer: director.certificate(),
                chain: director.chain(),
                unsigned_attrs: Vec::new(),
            }
            .build()
            .unwrap()
        };

        // A CMS over another document's digest, and bytes that are no CMS: refused.
        let (status, body) = app
            .finalize(
                &token,
                session,
                json!({"cms_base64": b64(&cms_over(&[7u8; 32]))}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_of(&body)["field"], "signature");
        let (status, body) = app
            .finalize(&token, session, json!({"cms_base64": b64(b"not a cms")}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error_of(&body)["message_en"]
            .as_str()
            .unwrap()
            .contains("not a CMS"));
        // A raw value is not what this mode takes.
        let (status, body) = app
            .finalize(&token, session, json!({"signature_base64": b64(b"x")}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_of(&body)["field"], "cms_base64");

        let (status, pdf) = app
            .finalize(
                &token,
                session,
                json!({"cms_base64": b64(&cms_over(&document_digest))}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        kyso_accepts(&pdf);
        pyhanko_accepts(&pdf);
    }
}

#[tokio::test]
async fn a_session_is_its_owners_once_and_not_after_it_expires() {
    let director = key("personal");
    let alg = SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256);
    for backend in backends() {
        let app = App::new(backend).await;
        let an = app.newcomer("nguyen.an").await;
        let binh = app.newcomer("tran.thi.binh").await;

        // Another account cannot finalize it: as if it did not exist.
        let p = app.prepare(&an, prepare_body("personal", json!({}))).await;
        let session = p["session"].as_str().unwrap().to_owned();
        let sig = director.sign_digest(alg, &unb64(&p["digest"])).unwrap();
        let (status, _) = app
            .finalize(&binh, &session, json!({"signature_base64": b64(&sig)}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .finalize(&an, "khong-co", json!({"signature_base64": b64(&sig)}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Ten finalizes at once: one signed PDF, the others told the session is used.
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (router, an, session) = (app.router.clone(), an.clone(), session.clone());
                let body = json!({"signature_base64": b64(&sig)}).to_string();
                tokio::spawn(async move {
                    let req = support::api_request(
                        Method::POST,
                        &format!("/api/v1/sign/{session}/finalize"),
                        &an,
                        Some(("application/json", body)),
                    );
                    support::send(&router, req).await.0
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{backend:?}: {statuses:?}"
        );
        assert!(statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT));

        // A session of 60 seconds, finalized 61 seconds later: expired.
        let p = app
            .prepare(&an, prepare_body("personal", json!({"expires_in": 60})))
            .await;
        app.later.store(61, Ordering::SeqCst);
        let (status, body) = app.finalize_signed(&an, &p, &director, alg).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error_of(&body)["message_en"]
            .as_str()
            .unwrap()
            .contains("expired"));
        app.later.store(0, Ordering::SeqCst);

        // Refusals before any work: no certificate, a bad mode, both an upload and a document,
        // an upload that is no PDF.
        for (body, field) in [
            (
                json!({"file_base64": b64(b"%PDF"), "certificate": "MIIB"}),
                "certificate",
            ),
            (prepare_body("personal", json!({"mode": "raw"})), "mode"),
            (
                prepare_body("personal", json!({"document_id": 1})),
                "file_base64",
            ),
            (
                prepare_body("personal", json!({"file_base64": b64(b"not a pdf")})),
                "file_base64",
            ),
        ] {
            let (status, answer) = app.json(&an, "/api/v1/sign/prepare", body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
        // Not logged in.
        let (status, _) = app
            .json(
                "",
                "/api/v1/sign/prepare",
                prepare_body("personal", json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn an_oversized_upload_is_refused() {
    let app = App::new(Backend::Sqlite).await;
    let token = app.newcomer("nguyen.an").await;
    let big = "A".repeat(kyso_web::MAX_DOCUMENT_JSON + 1);
    let body = format!("{{\"certificate\": \"x\", \"file_base64\": \"{big}\"}}");
    let req = support::api_request(
        Method::POST,
        "/api/v1/sign/prepare",
        &token,
        Some(("application/json", body)),
    );
    let (status, bytes, _) = support::send(&app.router, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&bytes)["message_en"]
        .as_str()
        .unwrap()
        .contains("too large"));
}

#[tokio::test]
async fn one_call_with_a_csc_credential() {
    let url = csc_service().await;
    for backend in backends() {
        let app = App::with(backend, |s| {
            s.with_remote_signing(remote_signing(url.clone()))
        })
        .await;
        let token = app.newcomer("nguyen.an").await;
        let body = |pin: &str| {
            json!({
                "file_base64": b64(&support::draft()),
                "csc_user": CSC_USER,
                "csc_password": CSC_PASSWORD,
                "credential": "personal",
                "pin": pin,
                "reason": "Phê duyệt",
                "form": {"kind": "attachment", "doc_number": "12/QĐ-SKHCN"},
            })
        };
        let (status, pdf) = app.raw(&token, "/api/v1/sign/csc", &body(PIN)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        kyso_accepts(&pdf);
        pyhanko_accepts(&pdf);

        let (status, answer) = app.raw(&token, "/api/v1/sign/csc", &body("0000")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_of(&answer)["field"], "pin");
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains("0000") && !text.contains(CSC_PASSWORD));

        // Without a CSC service: 404, before anything else.
        let plain = App::new(backend).await;
        let token = plain.newcomer("nguyen.an").await;
        let (status, _) = plain.raw(&token, "/api/v1/sign/csc", &body(PIN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_stored_version_is_signed_for_those_who_may_read_it() {
    let director = key("personal");
    let alg = SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256);
    for backend in backends() {
        let app = App::new(backend).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let other = support::agency(s, "H98", "UBND Tỉnh Khác", None).await;
        let clerk = app.person("vanthu", dost, "clerk").await.1;
        let drafter = app.person("chuyenvien", dost, "drafter").await.1;
        let outsider = app.person("nguoingoai", other, "drafter").await.1;
        let (status, v) = app
            .json(
                &clerk,
                "/api/v1/document-registers",
                json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                       "issuer_abbrev": "SKHCN"}),
            )
            .await;
        assert!(status.is_success(), "{v}");
        let meta = json!({
            "doc_type": "quyet_dinh",
            "subject": "Về việc ban hành Quy chế văn thư",
            "place": "Demo",
            "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
            "recipients": [],
            "page_count": 1
        });
        let (status, created) = app
            .json(
                &drafter,
                "/api/v1/documents",
                json!({"agency_id": dost, "meta": meta, "file_name": "quyet-dinh.pdf",
                       "file_base64": b64(&support::draft())}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["document"]["id"].as_i64().unwrap();
        let stored = || {
            let mut body = prepare_body("personal", json!({"document_id": id}));
            body.as_object_mut().unwrap().remove("file_base64");
            body
        };

        // Another province's account does not see the document: as if there were none.
        let (status, answer) = app.json(&outsider, "/api/v1/sign/prepare", stored()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        // A version that does not exist.
        let mut body = stored();
        body["seq"] = json!(9);
        let (status, answer) = app.json(&drafter, "/api/v1/sign/prepare", body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

        // Its drafter signs the latest version (the draft as uploaded).
        let p = app.prepare(&drafter, stored()).await;
        let (status, pdf) = app.finalize_signed(&drafter, &p, &director, alg).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        assert!(pdf.starts_with(&support::draft()));
        kyso_accepts(&pdf);
    }
}

#[tokio::test]
async fn the_servers_tsa_adds_a_signature_timestamp() {
    let director = key("personal");
    let alg = SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256);
    let pki = pki_service().await;
    let csc = csc_service().await;
    for backend in backends() {
        let fetcher = kyso_services::signing::fetcher(30, || NOW);
        let tsa = kyso_services::signing::tsa_for(
            kyso_pades::ltv::Level::BT,
            Some(&format!("{pki}/tsa")),
            &fetcher,
        )
        .unwrap()
        .unwrap();
        let app = App::with(backend, |s| {
            s.with_remote_signing(RemoteSigning {
                url: csc.clone(),
                level: SigningLevel {
                    level: kyso_pades::ltv::Level::BT,
                    tsa: Some(tsa as Arc<dyn kyso_pades::sign::Timestamper>),
                    fetcher: Some(fetcher),
                },
                timeout: Duration::from_secs(30),
                tls_roots: Vec::new(),
            })
        })
        .await;
        let token = app.newcomer("nguyen.an").await;
        let p = app
            .prepare(&token, prepare_body("personal", json!({})))
            .await;
        assert_eq!(p["timestamp"], true, "{p}");
        let (status, pdf) = app.finalize_signed(&token, &p, &director, alg).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        kyso_accepts(&pdf);
        let doc = kyso_pdf::Document::open(
            Arc::new(kyso_pdf::MemSource::new(pdf.clone())),
            kyso_pdf::Limits::default(),
        )
        .unwrap();
        let sigs = kyso_pades::verify::embedded_signatures(&doc).unwrap();
        // The CMS without the placeholder's zero padding.
        let contents = sigs[0].contents.clone().unwrap();
        let len = match contents[1] {
            n if n < 0x80 => 2 + usize::from(n),
            n => {
                let k = usize::from(n & 0x7f);
                2 + k
                    + contents[2..2 + k]
                        .iter()
                        .fold(0, |l, b| l * 256 + usize::from(*b))
            }
        };
        let parsed = kyso_cms::verify::parse_signed_data(&contents[..len]).unwrap();
        assert_eq!(
            parsed.timestamp_tokens.len(),
            1,
            "a signature timestamp (B-T)"
        );
        pyhanko_accepts(&pdf);
    }
}

/// An ECDSA P-256 key and its certificate from a test CA (rcgen), as a token holds them.
fn ecdsa_signer() -> (support::TestSigner, Vec<u8>) {
    TestCa::new("Signing Service Test Root").issue_with_pkcs8("Trần Thị Bình", None)
}

#[tokio::test]
async fn an_ecdsa_token_signs_the_attributes_kyso_built_in_der_or_raw() {
    let (signer, pkcs8) = ecdsa_signer();
    // The same key answering r‖s, as a PKCS#11 token does.
    let fixed = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pkcs8,
    )
    .unwrap();
    for backend in backends() {
        let app = App::new(backend).await;
        let token = app.newcomer("nguyen.an").await;
        // The certificate as base64 DER this time; the algorithm from its key.
        let p = app
            .prepare(
                &token,
                json!({
                    "file_base64": b64(&support::draft()),
                    "certificate": b64(signer.cert.der()),
                    "chain": [b64(signer.chain[0].der())],
                }),
            )
            .await;
        assert_eq!(p["signature_algorithm"], "ecdsa_sha256");
        assert_eq!(p["field_name"], "Signature1");
        let tbs = unb64(&p["to_be_signed"]);
        let digest = unb64(&p["digest"]);
        let sig = signer
            .sign(&SignRequest {
                message: &tbs,
                digest: &digest,
                algorithm: SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
            })
            .unwrap();
        let (status, pdf) = app
            .finalize(
                &token,
                p["session"].as_str().unwrap(),
                json!({"signature_base64": b64(&sig)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        kyso_accepts(&pdf);

        // r‖s is taken as well: turned into the DER value CMS carries.
        let p = app
            .prepare(
                &token,
                json!({"file_base64": b64(&support::draft()), "certificate": b64(signer.cert.der())}),
            )
            .await;
        let raw = fixed
            .sign(
                &aws_lc_rs::rand::SystemRandom::new(),
                &unb64(&p["to_be_signed"]),
            )
            .unwrap();
        assert_eq!(raw.as_ref().len(), 64);
        let (status, pdf) = app
            .finalize(
                &token,
                p["session"].as_str().unwrap(),
                json!({"signature_base64": b64(raw.as_ref())}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        kyso_accepts(&pdf);
    }
}

/// The byte ranges' holes of `pdf` (its last signature's `/Contents`) zero-filled again: the
/// prepared document the signature was embedded into.
fn unsigned_again(pdf: &[u8], byte_range: &Value) -> Vec<u8> {
    let (hole, after) = (
        byte_range[1].as_u64().unwrap() as usize,
        byte_range[2].as_u64().unwrap() as usize,
    );
    let mut out = pdf.to_vec();
    out[hole + 1..after - 1].fill(b'0');
    out
}

#[tokio::test]
async fn a_form_upload_streams_and_finalize_signs_exactly_the_kept_preparation() {
    let director = key("personal");
    let alg = SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256);
    for backend in backends() {
        let app = App::new(backend).await;
        let token = app.newcomer("nguyen.an").await;
        let mut request = prepare_body("personal", json!({}));
        request.as_object_mut().unwrap().remove("file_base64");
        let form = |request: &Value, file: Option<&[u8]>| {
            const B: &str = "kyso-sign-form";
            let mut body = format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"request\"\r\n\
                 Content-Type: application/json\r\n\r\n{request}\r\n"
            )
            .into_bytes();
            if let Some(file) = file {
                body.extend_from_slice(
                    format!(
                        "--{B}\r\nContent-Disposition: form-data; name=\"file\"; \
                         filename=\"cong-van.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(file);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{B}--\r\n").as_bytes());
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/api/v1/sign/prepare")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", format!("multipart/form-data; boundary={B}"))
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let (status, bytes, _) =
            support::send(&app.router, form(&request, Some(&support::draft()))).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let p: Value = serde_json::from_slice(&bytes).unwrap();
        let (status, pdf) = app.finalize_signed(&token, &p, &director, alg).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        assert!(pdf.starts_with(&support::draft()), "an incremental update");
        kyso_accepts(&pdf);
        // The signature went into the preparation kept with the session (a blob named by its
        // hash), byte for byte: the signed PDF with its hole zero-filled again is that blob.
        let prepared = unsigned_again(&pdf, &p["byte_range"]);
        let name: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &prepared)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(app.blobs.get(&name).unwrap(), prepared, "{backend:?}");

        // Refused: a form whose file is not a PDF (the field named), the file twice, no
        // request part, and a file over the documents' cap as it streams.
        let (status, bytes, _) =
            support::send(&app.router, form(&request, Some(b"not a pdf"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_of(&bytes)["field"], "file", "{}", error_of(&bytes));
        let mut both = request.clone();
        both["file_base64"] = json!(b64(&support::draft()));
        let (status, bytes, _) =
            support::send(&app.router, form(&both, Some(&support::draft()))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_of(&bytes)["field"], "file_base64");
        let (status, _, _) =
            support::send(&app.router, form(&json!({}), Some(&support::draft()))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let big = vec![b'%'; kyso_web::MAX_DOCUMENT_FILE + 1];
        let (status, bytes, _) = support::send(&app.router, form(&request, Some(&big))).await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            error_of(&bytes)
        );
    }
}
