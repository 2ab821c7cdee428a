//! Outgoing documents in the web UI, on SQLite and on PostgreSQL: the "Chờ tôi xử lý" queue
//! shows a document to the people whose step it waits for only, the upload form refuses a
//! secret document, and a draft walks upload → review → return → new draft → resubmit →
//! forward through the HTML forms with the session's CSRF token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::Actor;
use tower::ServiceExt as _;
use zeroize::Zeroizing;

mod support;
use support::{NOW, PASSWORD};

const DRAFT: &[u8] = b"%PDF-1.7\n% draft one\n%%EOF\n";
const DRAFT2: &[u8] = b"%PDF-1.7\n% draft two\n%%EOF\n";
const SUBJECT: &str = "Về việc tổ chức hội nghị chuyển đổi số";
const BOUNDARY: &str = "kyso-ui-boundary";

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

/// A logged-in browser: its cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        match p {
            Part::Text(k, v) => body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            ),
            Part::File(k, name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; \
                         filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn urlencode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl App {
    async fn new(backend: kyso_store::Backend) -> App {
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

    async fn person(&self, name: &str, agency: i64, role: &str) -> Browser {
        accounts::create_user(
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
        let (session, _) = accounts::login(
            &self.db.store,
            name,
            Zeroizing::new(PASSWORD.into()),
            "127.0.0.1",
            NOW,
        )
        .await
        .unwrap();
        Browser {
            cookie: format!("kyso_session={}", session.token.as_str()),
            csrf: session.csrf,
        }
    }

    /// A signer of `agency` (not logged in): the id the upload form's selector gives.
    async fn signer(&self, name: &str, agency: i64) -> String {
        let user = accounts::create_user(
            &self.db.store,
            &Actor::system(),
            NewUser {
                username: name.into(),
                full_name: "Nguyễn Văn An".into(),
                email: String::new(),
                agency_id: agency,
                password: Zeroizing::new(PASSWORD.into()),
                roles: vec![RoleOn {
                    role: "signer".into(),
                    agency_id: agency,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap();
        user.id.to_string()
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, bytes, headers)
    }

    async fn get(&self, who: &Browser, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, &who.cookie)
            .body(Body::empty())
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, String::from_utf8_lossy(&b).into_owned())
    }

    /// POST a form; the status, the page (or redirect target).
    async fn post(
        &self,
        who: &Browser,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, &who.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(urlencode(fields)))
            .unwrap();
        let (s, b, h) = self.send(req).await;
        answer(s, b, h)
    }

    async fn post_multipart(
        &self,
        who: &Browser,
        path: &str,
        parts: &[Part<'_>],
    ) -> (StatusCode, String) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, &who.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(parts)))
            .unwrap();
        let (s, b, h) = self.send(req).await;
        answer(s, b, h)
    }

    /// The "Chờ tôi xử lý" section of the documents page.
    async fn queue(&self, who: &Browser) -> String {
        let (status, html) = self.get(who, "/documents").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let start = html.find("id=\"queue\"").expect("the queue heading");
        let end = html.find("id=\"all\"").expect("the list heading");
        html[start..end].to_owned()
    }
}

fn answer(s: StatusCode, b: Vec<u8>, h: axum::http::HeaderMap) -> (StatusCode, String) {
    if s.is_redirection() {
        let to = h
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (s, to)
    } else {
        (s, String::from_utf8_lossy(&b).into_owned())
    }
}

fn upload<'a>(
    csrf: &'a str,
    agency: &'a str,
    signer: &'a str,
    confidentiality: &'a str,
    file: &'a [u8],
) -> Vec<Part<'a>> {
    vec![
        Part::Text("csrf", csrf),
        Part::Text("agency_id", agency),
        Part::Text("doc_type", "cong_van"),
        Part::Text("subject", SUBJECT),
        Part::Text("place", "Demo"),
        Part::Text("unit_abbrev", "VP"),
        Part::Text("authority", "kt"),
        Part::Text("principal_title", "Giám đốc"),
        Part::Text("principal_id", ""),
        Part::Text("signer_title", "Phó Giám đốc"),
        Part::Text("signer_id", signer),
        Part::Text("recipients", "H99.05"),
        Part::Text("urgency", "normal"),
        Part::Text("confidentiality", confidentiality),
        Part::Text("page_count", "1"),
        Part::File("file", "du-thao.pdf", file),
    ]
}

/// Every visible input, select and textarea has a label naming its id; headings do not skip
/// a level.
fn assert_accessible(html: &str, page: &str) {
    for kind in ["<input", "<select", "<textarea"] {
        for (i, _) in html.match_indices(kind) {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e);
            let tag = &html[i..end];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split(" id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("{page}: a control without id: {tag}"));
            assert!(
                html.contains(&format!("<label for=\"{id}\"")),
                "{page}: no label for {id}"
            );
        }
    }
    let mut last = 0;
    for (i, _) in html.match_indices("<h") {
        let Some(level) = html[i + 2..].chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        assert!(level <= last + 1, "{page}: h{level} after h{last}");
        last = level;
    }
    assert!(last > 0, "{page}: no heading");
}

#[tokio::test]
async fn a_draft_walks_review_return_and_forward_through_the_forms_shown_to_the_right_people() {
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
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
        let drafter = app.person("chuyenvien", dost, "drafter").await;
        let reviewer = app.person("truongphong", dost, "reviewer").await;
        let checker = app.person("thethuc", dost, "format_checker").await;
        let their_reviewer = app.person("truongphong.tc", finance, "reviewer").await;
        let dost_s = dost.to_string();
        let signer = app.signer("giamdoc", dost).await;

        // The navigation names the section; the upload form is labelled throughout.
        let (status, page) = app.get(&drafter, "/documents/new").await;
        assert_eq!(status, StatusCode::OK, "{b:?}: {page}");
        assert!(
            page.contains("href=\"/documents\"") && page.contains(">Văn bản<"),
            "{b:?}"
        );
        assert_accessible(&page, "/documents/new");
        assert!(
            page.contains("Tuyệt mật"),
            "{b:?}: the secrecy levels are offered"
        );

        // A secret document is refused with the reason, and nothing is stored.
        let (status, page) = app
            .post_multipart(
                &drafter,
                "/documents",
                &upload(&drafter.csrf, &dost_s, &signer, "secret", DRAFT),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {page}");
        assert!(
            page.contains("Tối mật") && page.contains("không được xử lý trên hệ thống này"),
            "{b:?}: {page}"
        );
        assert!(page.contains("id=\"confidentiality\" name=\"confidentiality\" aria-describedby=\"confidentiality-hint\" aria-invalid=\"true\""), "{b:?}: the field is marked");
        assert!(
            page.contains(SUBJECT),
            "{b:?}: the form keeps what was typed"
        );
        let (_, list) = app.get(&drafter, "/documents").await;
        assert!(!list.contains(SUBJECT), "{b:?}: nothing stored");

        // A wrong CSRF token is refused before anything else.
        let (status, page) = app
            .post_multipart(
                &drafter,
                "/documents",
                &upload("gia-mao", &dost_s, &signer, "unclassified", DRAFT),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}: {page}");

        // The upload.
        let (status, to) = app
            .post_multipart(
                &drafter,
                "/documents",
                &upload(&drafter.csrf, &dost_s, &signer, "unclassified", DRAFT),
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        assert!(to.ends_with("?done=created"), "{b:?}: {to}");
        let path = to.split('?').next().unwrap().to_owned();
        let id: i64 = path.trim_start_matches("/documents/").parse().unwrap();
        let (status, page) = app.get(&drafter, &to).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Đã tải lên dự thảo"),
            "{b:?}: success message"
        );
        assert!(
            page.contains("Sở Khoa học và Công nghệ"),
            "{b:?}: the agency by name"
        );
        // A recipient outside the reader's registry scope is named by its code.
        assert!(page.contains("H99.05"), "{b:?}: the recipient");
        assert!(page.contains("KT. GIÁM ĐỐC"), "{b:?}: the title block");
        assert_accessible(&page, "/documents/{id}");

        // Only the drafter has it in the queue.
        assert!(app.queue(&drafter).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&reviewer).await.contains(SUBJECT), "{b:?}");
        let act = format!("{path}/act");
        let (status, page) = app
            .post(&drafter, &act, &[("csrf", "sai"), ("action", "submit")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}: {page}");
        assert!(page.contains("Biểu mẫu đã hết hạn"), "{b:?}");
        let (status, to) = app
            .post(
                &drafter,
                &act,
                &[("csrf", &drafter.csrf), ("action", "submit")],
            )
            .await;
        assert_eq!(
            (status, to.as_str()),
            (
                StatusCode::SEE_OTHER,
                format!("{path}?done=submit").as_str()
            ),
            "{b:?}"
        );
        let (_, page) = app.get(&drafter, &format!("{path}?done=submit")).await;
        assert!(
            page.contains("Đã trình dự thảo cho lãnh đạo đơn vị xem xét."),
            "{b:?}"
        );

        // Now the reviewer of this agency has it, not the drafter nor another agency's reviewer.
        assert!(app.queue(&reviewer).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&drafter).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&their_reviewer).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&checker).await.contains(SUBJECT), "{b:?}");
        let (status, _) = app.get(&their_reviewer, &path).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{b:?}: another agency's document"
        );
        // The reviewer's page offers forward and return; the drafter's page offers neither.
        let (_, page) = app.get(&reviewer, &path).await;
        assert!(
            page.contains("value=\"forward\"") && page.contains("value=\"return\""),
            "{b:?}"
        );
        assert_accessible(&page, "reviewer's page");
        let (_, page) = app.get(&drafter, &path).await;
        assert!(!page.contains("value=\"forward\""), "{b:?}");
        // The drafter cannot forward by posting the form anyway.
        let (status, _) = app
            .post(
                &drafter,
                &act,
                &[("csrf", &drafter.csrf), ("action", "forward")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}");

        // A comment.
        let (status, to) = app
            .post(
                &reviewer,
                &format!("{path}/comment"),
                &[
                    ("csrf", &reviewer.csrf),
                    ("body", "Đề nghị bổ sung thời gian họp."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        let (_, page) = app.get(&reviewer, &to).await;
        assert!(
            page.contains("Đã gửi ý kiến.") && page.contains("Đề nghị bổ sung thời gian họp."),
            "{b:?}"
        );

        // A return needs its reason; with one it goes back to the drafter.
        let (status, page) = app
            .post(
                &reviewer,
                &act,
                &[
                    ("csrf", &reviewer.csrf),
                    ("action", "return"),
                    ("reason", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}: {page}");
        let (status, to) = app
            .post(
                &reviewer,
                &act,
                &[
                    ("csrf", &reviewer.csrf),
                    ("action", "return"),
                    ("reason", "Thiếu thời gian, địa điểm họp"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        let (_, page) = app.get(&reviewer, &to).await;
        assert!(page.contains("Đã trả lại dự thảo"), "{b:?}");
        assert!(
            page.contains("Thiếu thời gian, địa điểm họp"),
            "{b:?}: the reason in the timeline"
        );
        assert!(app.queue(&drafter).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&reviewer).await.contains(SUBJECT), "{b:?}");

        // A new draft, then the resubmission and the forward.
        let (status, to) = app
            .post_multipart(
                &drafter,
                &format!("{path}/draft"),
                &[
                    Part::Text("csrf", &drafter.csrf),
                    Part::File("file", "du-thao-2.pdf", DRAFT2),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        let (status, _) = app
            .post(
                &drafter,
                &act,
                &[("csrf", &drafter.csrf), ("action", "submit")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}");
        let (status, to) = app
            .post(
                &reviewer,
                &act,
                &[("csrf", &reviewer.csrf), ("action", "forward")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{b:?}: {to}");
        let (_, page) = app.get(&reviewer, &to).await;
        assert!(
            page.contains("Đã chuyển văn bản đi kiểm tra thể thức."),
            "{b:?}"
        );
        assert!(page.contains("Chờ kiểm tra thể thức"), "{b:?}: the state");
        assert!(app.queue(&checker).await.contains(SUBJECT), "{b:?}");
        assert!(!app.queue(&reviewer).await.contains(SUBJECT), "{b:?}");

        // Both versions are downloadable, byte for byte.
        for (seq, bytes) in [(1, DRAFT), (2, DRAFT2)] {
            let req = Request::builder()
                .uri(format!("{path}/file?seq={seq}"))
                .header(header::COOKIE, &reviewer.cookie)
                .body(Body::empty())
                .unwrap();
            let (status, got, headers) = app.send(req).await;
            assert_eq!(status, StatusCode::OK, "{b:?}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
            assert_eq!(got, bytes, "{b:?}: version {seq}");
        }
        // The signed-file upload checks the CSRF token first, then who may sign: a reviewer's
        // upload of a "signed" file is refused and nothing changes.
        let signed = format!("{path}/signed");
        let (status, page) = app
            .post_multipart(
                &reviewer,
                &signed,
                &[
                    Part::Text("csrf", "gia-mao"),
                    Part::Text("action", "sign_personal"),
                    Part::File("file", "da-ky.pdf", DRAFT2),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{b:?}");
        assert!(page.contains("Biểu mẫu đã hết hạn"), "{b:?}");
        let (status, page) = app
            .post_multipart(
                &reviewer,
                &signed,
                &[
                    Part::Text("csrf", &reviewer.csrf),
                    Part::Text("action", "sign_personal"),
                    Part::File("file", "da-ky.pdf", DRAFT2),
                ],
            )
            .await;
        assert!(status.is_client_error(), "{b:?}: {status}");
        assert!(
            page.contains("role=\"alert\">Văn bản đang ở bước"),
            "{b:?}: the reason on the document's page: {page}"
        );
        let (_, page) = app.get(&reviewer, &path).await;
        assert!(page.contains("Chờ kiểm tra thể thức"), "{b:?}: unchanged");
        let _ = id;
    }
}

#[tokio::test]
async fn a_recall_asks_for_confirmation_and_english_is_served_on_request() {
    let app = App::new(kyso_store::Backend::Sqlite).await;
    let s = &app.db.store;
    let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
    let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
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
    let drafter = app.person("chuyenvien", dost, "drafter").await;
    let signer = app.signer("giamdoc", dost).await;
    let (status, to) = app
        .post_multipart(
            &drafter,
            "/documents",
            &upload(
                &drafter.csrf,
                &dost.to_string(),
                &signer,
                "unclassified",
                DRAFT,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let path = to.split('?').next().unwrap().to_owned();
    // A recall posted with its reason is not taken before the confirmation (and a draft
    // cannot be recalled at all: the confirmed post is refused by the flow).
    let (status, page) = app
        .post(
            &drafter,
            &format!("{path}/act"),
            &[
                ("csrf", &drafter.csrf),
                ("action", "recall"),
                ("reason", "Sai sót"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Xác nhận thao tác") && page.contains("name=\"confirm\" value=\"yes\""),
        "{page}"
    );
    let (status, _) = app
        .post(
            &drafter,
            &format!("{path}/act"),
            &[
                ("csrf", &drafter.csrf),
                ("action", "recall"),
                ("reason", "Sai sót"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    // English on request.
    let req = Request::builder()
        .uri("/documents")
        .header(header::COOKIE, format!("{}; kyso_lang=en", drafter.cookie))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = app.send(req).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Waiting for me"), "{body}");
}
