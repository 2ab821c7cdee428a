//! `POST /api/v1/incoming` with the PDF itself as the body (`Content-Type: application/pdf`,
//! the metadata in the query string), through the real router on SQLite and PostgreSQL: the
//! body is streamed to the blob folder while its SHA-256 is computed, verified there by the
//! server's validator and kept under that hash; duplicates (by those bytes, also against the
//! JSON form, or by sender, number and date) are refused naming the first; a body over the
//! configured cap is refused with 413 whether its length is declared or not; refused, nothing
//! stays behind — no temporary file, no blob, no row. (Bodies of many chunks over a real
//! connection are what `scripts/bench-intake.sh` sends.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::testing::{backends, TestDb};
use kyso_store::Actor;
use serde_json::{json, Value};
use zeroize::Zeroizing;

mod support;
use support::ca::TestCa;
use support::{draft, opts, NOW, PASSWORD};

/// The cap of the test server (`kyso serve --incoming-max-mb`).
const CAP: u64 = 2 * 1024 * 1024;

struct Server {
    router: Router,
    db: TestDb,
    dir: tempfile::TempDir,
}

impl Server {
    async fn new(backend: kyso_store::Backend, root: &kyso_x509::Cert) -> Server {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let state = kyso_web::AppState::new(
            db.store.clone(),
            Arc::new(|| NOW),
            kyso_web::Config {
                secure_cookies: false,
            },
        )
        .with_blobs(blobs)
        .with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root.clone()]))
        .with_incoming_max(CAP);
        Server {
            router: kyso_web::router(state),
            db,
            dir,
        }
    }

    /// A logged-in account holding `role` at `agency`: its token.
    async fn person(&self, name: &str, agency: i64, role: &str) -> String {
        accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: format!("Người dùng {name}"),
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
        let (status, body, _) = support::call_json(
            &self.router,
            Method::POST,
            "/api/v1/auth/login",
            "",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// POST the raw `body` to `/api/v1/incoming?{query}` as `content_type`, with its
    /// `Content-Length` when `declare`, else of unknown length (as a chunked upload).
    async fn raw(
        &self,
        token: &str,
        query: &str,
        content_type: &str,
        body: Vec<u8>,
        declare: bool,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/incoming?{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type);
        if declare {
            req = req.header(header::CONTENT_LENGTH, body.len());
        }
        let (status, bytes, _) =
            support::send(&self.router, req.body(Body::from(body)).unwrap()).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, v, _) = support::call_json(&self.router, method, path, token, body).await;
        (s, v)
    }

    /// The files of the blob folder: (temporary files, blobs).
    fn files(&self) -> (usize, usize) {
        fn walk(p: &Path, n: &mut usize) {
            for e in std::fs::read_dir(p).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path(), n);
                } else {
                    *n += 1;
                }
            }
        }
        let (mut tmp, mut all) = (0, 0);
        walk(&self.dir.path().join(".tmp"), &mut tmp);
        walk(self.dir.path(), &mut all);
        (tmp, all - tmp)
    }

    async fn rows(&self) -> i64 {
        let row: (i64,) = kyso_store::sqlx::query_as("SELECT COUNT(*) FROM incoming_documents")
            .fetch_one(self.db.store.pool())
            .await
            .unwrap();
        row.0
    }
}

/// The query string of a letter's metadata (UTF-8, percent-encoded).
fn meta(agency: i64, number: &str) -> String {
    let pairs = [
        ("agency_id", agency.to_string()),
        ("sender_code", "G11.07.05".into()),
        (
            "sender_name",
            "Cục Chứng thực số và Bảo mật thông tin".into(),
        ),
        ("sender_email", "ca@bcy.gov.vn".into()),
        ("number", number.into()),
        ("notation", "CTSBMTT-CĐ".into()),
        ("doc_date", "2026-05-28".into()),
        ("doc_type", "Công văn".into()),
        (
            "subject",
            format!("Về việc gia hạn chứng thư số, số {number} & phụ lục"),
        ),
        ("signer", "Cục trưởng".into()),
        ("file_name", "cong-van.pdf".into()),
    ];
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_pdf_streamed_as_the_body_is_verified_where_it_lies_and_kept_by_its_streamed_hash() {
    let ca = TestCa::new("Incoming Stream Test Root");
    let signer = ca.issue("Nguyễn Văn An", None);
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    let other = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    assert_ne!(signed, other, "two signatures, two files");
    // A signed PDF over the cap: the letter with a comment of padding after its end.
    let mut big = signed.clone();
    big.extend(std::iter::repeat_n(b'%', CAP as usize));
    for b in backends() {
        let s = Server::new(b, ca.root()).await;
        let store = &s.db.store;
        let province = support::agency(store, "H99", "UBND Tỉnh Demo", None).await;
        let finance = support::agency(store, "H99.05", "Sở Tài chính", Some(province)).await;
        let dost = support::agency(store, "H99.37", "Sở KH&CN", Some(province)).await;
        let system = s.person("hethong.qlvb", finance, "clerk").await;
        let drafter = s.person("chuyenvien.tc", finance, "drafter").await;
        let stranger = s.person("vanthu.khcn", dost, "clerk").await;

        // Streamed in chunks of unknown length: arrives, verified with the server's root
        // (indeterminate: nothing in it proves it was not revoked), named by its SHA-256.
        let (st, d) = s
            .raw(
                &system,
                &meta(finance, "15"),
                "application/pdf",
                signed.clone(),
                false,
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {d}");
        assert_eq!(d["channel"], "api");
        assert_eq!(d["state"], "received");
        assert_eq!(d["verdict"], "indeterminate", "{d}");
        assert!(!d["reasons"].as_array().unwrap().is_empty(), "{d}");
        assert!(d["has_report_pdf"].as_bool().unwrap(), "{d}");
        assert_eq!(d["sha256"], sha256_hex(&signed));
        assert_eq!(d["size"], signed.len());
        assert_eq!(d["sender_name"], "Cục Chứng thực số và Bảo mật thông tin");
        assert_eq!(d["number_and_notation"], "15/CTSBMTT-CĐ");
        assert_eq!(
            d["subject"],
            "Về việc gia hạn chứng thư số, số 15 & phụ lục"
        );
        let first = d["id"].as_i64().unwrap();
        let (st, file, _) = support::send(
            &s.router,
            support::api_request(
                Method::GET,
                &format!("/api/v1/incoming/{first}/file"),
                &system,
                None,
            ),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(file, signed, "kept byte for byte");
        let (st, report) = s
            .json(
                Method::GET,
                &format!("/api/v1/incoming/{first}/report"),
                &system,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(report["verdict"], "indeterminate", "{report}");
        assert_eq!(
            report["signatures"].as_array().unwrap().len(),
            1,
            "{report}"
        );
        let settled = s.files();
        assert_eq!(
            settled,
            (0, 2),
            "the file and its report's PDF, no temporary file"
        );
        assert_eq!(s.rows().await, 1);

        // Refusals: each leaves nothing behind.
        // (what, query, content type, body, length declared, expected status, error anchor)
        type Case<'a> = (&'a str, String, &'a str, Vec<u8>, bool, StatusCode, &'a str);
        let cases: Vec<Case> = vec![
            // The same bytes again (length declared): the streamed hash finds the first.
            (
                "same bytes",
                meta(finance, "16"),
                "application/pdf",
                signed.clone(),
                true,
                StatusCode::CONFLICT,
                "#",
            ),
            // Other bytes, same sender, number, notation and date.
            (
                "same number",
                meta(finance, "15"),
                "application/pdf",
                other.clone(),
                false,
                StatusCode::CONFLICT,
                "#",
            ),
            // Over the cap: declared (refused before reading) and streamed (cut off).
            (
                "declared over the cap",
                meta(finance, "17"),
                "application/pdf",
                big.clone(),
                true,
                StatusCode::PAYLOAD_TOO_LARGE,
                "2 MB",
            ),
            (
                "streamed over the cap",
                meta(finance, "17"),
                "application/pdf",
                big.clone(),
                false,
                StatusCode::PAYLOAD_TOO_LARGE,
                "2 MB",
            ),
            (
                "not a PDF",
                meta(finance, "18"),
                "application/pdf",
                b"<html>not a pdf</html>".to_vec(),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "PDF",
            ),
            (
                "no sender",
                format!("agency_id={finance}&number=19"),
                "application/pdf",
                other.clone(),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "sender",
            ),
            (
                "no agency",
                "number=20&sender_code=G11.07.05".into(),
                "application/pdf",
                other.clone(),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "agency_id",
            ),
            (
                "a scan",
                format!("{}&scanned=true", meta(finance, "21")),
                "application/pdf",
                other.clone(),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "scan",
            ),
            (
                "neither JSON nor PDF",
                meta(finance, "22"),
                "text/plain",
                other.clone(),
                false,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "application/pdf",
            ),
        ];
        for (what, query, ct, body, declare, want, says) in cases {
            let (st, e) = s.raw(&system, &query, ct, body, declare).await;
            assert_eq!(st, want, "{b:?} {what}: {e}");
            assert!(e.to_string().contains(says), "{b:?} {what}: {e}");
            assert_eq!(s.files(), settled, "{b:?} {what}: nothing left behind");
            assert_eq!(s.rows().await, 1, "{b:?} {what}: no row");
        }
        let (_, dup) = s
            .raw(
                &system,
                &meta(finance, "16"),
                "application/pdf",
                signed.clone(),
                true,
            )
            .await;
        assert!(dup.to_string().contains(&format!("#{first}")), "{dup}");
        // The JSON form finds the streamed one by the same hash.
        let json_letter = json!({
            "agency_id": finance, "sender_code": "G11.07.05", "number": "23",
            "doc_date": "2026-05-28", "file_base64": support::app::b64(&signed),
        });
        let (st, e) = s
            .json(Method::POST, "/api/v1/incoming", &system, Some(json_letter))
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{e}");
        assert!(e.to_string().contains(&format!("#{first}")), "{e}");

        // Who may not send there is refused before the body is read; another agency's
        // account does not see the agency.
        let (st, _) = s
            .raw(
                &drafter,
                &meta(finance, "24"),
                "application/pdf",
                other.clone(),
                true,
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{b:?}");
        let (st, _) = s
            .raw(
                &stranger,
                &meta(finance, "24"),
                "application/pdf",
                other.clone(),
                true,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b:?}");
        assert_eq!(s.files(), settled);
        assert_eq!(s.rows().await, 1);

        // A second letter, streamed with its length declared: a second record and blob.
        let (st, d) = s
            .raw(
                &system,
                &meta(finance, "25"),
                "application/pdf",
                other.clone(),
                true,
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{d}");
        assert_eq!(d["sha256"], sha256_hex(&other));
        assert_eq!(s.files(), (0, 4));
        assert_eq!(s.rows().await, 2);
    }
}
