//! Incoming documents in the web UI (issue 18), on SQLite and on PostgreSQL, through the real
//! router and the HTML forms with the session's CSRF token: the clerk of the receiving agency
//! uploads a signed letter (its signature cannot be established: the server has no trusted
//! root) and a tampered copy of another (invalid); the queue shows the verdicts with their
//! reasons, invalid first; the invalid one offers no registration, is refused when registered
//! anyway, and is refused with a reason after a confirmation; the other needs the clerk's
//! reason to be registered and gets arrival number 1; the leader assigns it to a unit, whose
//! people mark it being handled and completed. Another agency's clerk and the wrong roles are
//! refused with a page in the site's layout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::Actor;
use kyso_x509::Cert;
use tower::ServiceExt as _;
use zeroize::Zeroizing;

mod support;
use support::{draft, opts, TestSigner, NOW, PASSWORD};

const BOUNDARY: &str = "kyso-incoming-boundary";

/// A signer from a throw-away CA the server does not trust.
fn signer() -> TestSigner {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Incoming UI Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Nguyễn Văn An");
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    let c = p.signed_by(&key, &issuer).unwrap();
    TestSigner {
        cert: Cert::from_der(c.der()).unwrap(),
        chain: vec![Cert::from_der(ca_cert.der()).unwrap()],
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .unwrap(),
    }
}

/// `bytes` with one digit of the page's /MediaBox changed inside the signature's range.
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut t = bytes.to_vec();
    let at = t
        .windows(9)
        .position(|w| w == b"/MediaBox")
        .expect("a /MediaBox");
    let digit = t[at..]
        .iter()
        .position(|b| b.is_ascii_digit() && *b != b'0')
        .unwrap()
        + at;
    t[digit] = if t[digit] == b'9' { b'8' } else { t[digit] + 1 };
    t
}

struct App {
    router: Router,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

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
                         filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
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
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The page's text (tags removed, whitespace collapsed).
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A page inside the site's layout (navigation and log-out), not a bare error page.
fn in_layout(html: &str) -> bool {
    html.contains("aria-label=\"Điều hướng chính\"") && html.contains("Đăng xuất")
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

    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        match location {
            Some(to) if status.is_redirection() => (status, to),
            _ => (status, String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    async fn get(&self, who: &Browser, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, &who.cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

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
        self.send(req).await
    }

    /// The clerk's upload form, sent; the new document's page address.
    async fn upload(
        &self,
        who: &Browser,
        agency: i64,
        number: &str,
        subject: &str,
        file: &[u8],
    ) -> (StatusCode, String) {
        let agency = agency.to_string();
        let parts = [
            Part::Text("csrf", &who.csrf),
            Part::Text("agency_id", &agency),
            Part::File("file", "cong-van.pdf", file),
            Part::Text("scanned", "1"),
            Part::Text("sender_name", "Sở Tài chính tỉnh Bắc"),
            Part::Text("sender_code", ""),
            Part::Text("sender_email", "vanthu@stc.example.vn"),
            Part::Text("number", number),
            Part::Text("notation", "STC-NS"),
            Part::Text("doc_date", "2026-05-28"),
            Part::Text("doc_type", "Công văn"),
            Part::Text("subject", subject),
            Part::Text("signer", "Trần Văn Bình"),
        ];
        let req = Request::builder()
            .method(Method::POST)
            .uri("/incoming/new")
            .header(header::COOKIE, &who.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(&parts)))
            .unwrap();
        self.send(req).await
    }
}

/// `/incoming/{id}?done=created` → `/incoming/{id}`.
fn page_of(location: &str) -> String {
    location.split('?').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_clerk_registers_or_refuses_what_arrives_and_the_leader_and_unit_handle_it() {
    let who = signer();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &who, None).unwrap();
    let bad = tampered(&signed);
    for b in backends() {
        let app = App::new(b).await;
        let s = &app.db.store;
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let office = support::agency(s, "H99.37.01", "Văn phòng Sở", Some(dost)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let clerk = app.person("vanthu", dost, "clerk").await;
        let leader = app.person("giamdoc", dost, "signer").await;
        let unit = app.person("chanhvp", office, "reviewer").await;
        let other = app.person("vanthu-stc", finance, "clerk").await;

        // The nav entry and the upload form for the clerk; not the form for the unit.
        let (status, html) = app.get(&clerk, "/incoming/new").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("href=\"/incoming\""), "{html}");
        assert!(
            text(&html).contains("Bản scan văn bản giấy, có dấu sao y"),
            "{html}"
        );
        let (status, html) = app.get(&unit, "/incoming/new").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert!(in_layout(&html), "{html}");

        // A form without the session's token is refused.
        let (status, _) = app
            .post(
                &clerk,
                "/incoming/1/act",
                &[("csrf", "forged"), ("action", "register")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Two arrivals: a signed letter, and a tampered copy of another.
        let (status, to) = app
            .upload(
                &clerk,
                dost,
                "15",
                "Về việc quyết toán kinh phí năm 2025",
                &signed,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let good = page_of(&to);
        let (status, html) = app.get(&clerk, &to).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        assert!(t.contains("Đã tiếp nhận văn bản đến"), "{t}");
        assert!(
            t.contains("Không xác định được — máy chủ chưa được cấu hình chứng thư gốc tin cậy"),
            "{t}"
        );
        assert!(t.contains("15/STC-NS"), "{t}");
        assert!(t.contains("28/05/2026"), "{t}");
        assert!(t.contains("bản scan"), "{t}");
        assert!(html.contains("id=\"register-reason\""), "{html}");
        assert!(html.contains("report.pdf"), "{html}");
        assert!(t.contains("Chữ ký số cá nhân 1: Nguyễn Văn An"), "{t}");

        let (status, to) = app
            .upload(&clerk, dost, "16", "Về việc điều chỉnh dự toán", &bad)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let invalid = page_of(&to);
        let (_, html) = app.get(&clerk, &invalid).await;
        let t = text(&html);
        assert!(t.contains("Không hợp lệ —"), "{t}");
        assert!(html.contains("id=\"no-register\""), "{html}");
        assert!(!html.contains("value=\"register\""), "{html}");
        assert!(html.contains("id=\"refuse-reason\""), "{html}");

        // The same bytes again are recognised.
        let (status, html) = app
            .upload(&clerk, dost, "17", "Gửi lại lần hai", &signed)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(in_layout(&html), "{html}");

        // The queue: verdicts and reasons first, the invalid one first.
        let (status, html) = app.get(&clerk, "/incoming").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let t = text(&html);
        let at_bad = t
            .find("Về việc điều chỉnh dự toán")
            .expect("the invalid one");
        let at_good = t
            .find("Về việc quyết toán kinh phí")
            .expect("the other one");
        assert!(at_bad < at_good, "{t}");
        assert!(t.contains("Không hợp lệ —"), "{t}");
        assert!(t.contains("Sở Tài chính tỉnh Bắc"), "{t}");

        // Another agency's clerk sees neither, and is refused the page in the layout.
        let (status, html) = app.get(&other, "/incoming").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(!html.contains("Về việc quyết toán"), "{html}");
        let (status, html) = app.get(&other, &good).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{status}"
        );
        assert!(in_layout(&html), "{html}");
        let (status, html) = app
            .post(
                &other,
                &format!("{good}/act"),
                &[
                    ("csrf", &other.csrf),
                    ("action", "register"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{status}"
        );
        assert!(in_layout(&html), "{html}");

        // The invalid one cannot be registered, even by a crafted form.
        let (status, html) = app
            .post(
                &clerk,
                &format!("{invalid}/act"),
                &[
                    ("csrf", &clerk.csrf),
                    ("action", "register"),
                    ("reason", "vẫn vào sổ"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(in_layout(&html), "{html}");
        assert!(text(&html).contains("Chờ tiếp nhận"), "{html}");
        // Refused: first a confirmation, then the refusal with its reason.
        let reason = "Chữ ký số không hợp lệ: nội dung đã bị thay đổi sau khi ký.";
        let (status, html) = app
            .post(
                &clerk,
                &format!("{invalid}/act"),
                &[
                    ("csrf", &clerk.csrf),
                    ("action", "refuse"),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            text(&html).contains("Bạn có chắc chắn muốn từ chối văn bản này?"),
            "{html}"
        );
        assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
        let (status, to) = app
            .post(
                &clerk,
                &format!("{invalid}/act"),
                &[
                    ("csrf", &clerk.csrf),
                    ("action", "refuse"),
                    ("reason", reason),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.get(&clerk, &to).await;
        let t = text(&html);
        assert!(
            t.contains("Đã từ chối văn bản; lý do được gửi lại cho nơi gửi."),
            "{t}"
        );
        assert!(t.contains("Trạng thái Đã từ chối"), "{t}");
        assert!(t.contains(reason), "{t}");

        // Not established: the clerk's reason is required to register it.
        let (status, html) = app
            .post(
                &clerk,
                &format!("{good}/act"),
                &[
                    ("csrf", &clerk.csrf),
                    ("action", "register"),
                    ("reason", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(in_layout(&html), "{html}");
        // The leader cannot register it.
        let (status, html) = app
            .post(
                &leader,
                &format!("{good}/act"),
                &[
                    ("csrf", &leader.csrf),
                    ("action", "register"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert!(status.is_client_error(), "{status}: {html}");
        assert!(in_layout(&html), "{html}");
        let (status, to) = app
            .post(
                &clerk,
                &format!("{good}/act"),
                &[
                    ("csrf", &clerk.csrf),
                    ("action", "register"),
                    ("reason", "Đã gọi điện xác nhận với Sở Tài chính."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        assert!(to.contains("done=register&n=1"), "{to}");
        let (_, html) = app.get(&clerk, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã vào sổ văn bản đến, số đến: 1."), "{t}");
        assert!(html.contains("id=\"arrival-number\">1<"), "{html}");
        assert!(
            !html.contains("Giao xử lý</button>"),
            "the clerk does not assign: {html}"
        );

        // The leader assigns the office with a deadline.
        let (_, html) = app.get(&leader, &good).await;
        assert!(html.contains("Giao xử lý</button>"), "{html}");
        let office_id = office.to_string();
        let dost_id = dost.to_string();
        let (status, html) = app
            .post(
                &leader,
                &format!("{good}/act"),
                &[
                    ("csrf", &leader.csrf),
                    ("action", "assign"),
                    ("lead_unit_id", &office_id),
                    ("deadline", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(text(&html).contains("Cần ghi hạn xử lý."), "{html}");
        let (status, to) = app
            .post(
                &leader,
                &format!("{good}/act"),
                &[
                    ("csrf", &leader.csrf),
                    ("action", "assign"),
                    ("lead_unit_id", &office_id),
                    ("coordinating_unit_ids", &dost_id),
                    ("deadline", "2026-06-10"),
                    ("reason", "Văn phòng chủ trì, báo cáo trước hạn."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.get(&leader, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã giao xử lý"), "{t}");
        assert!(t.contains("Văn phòng Sở — chủ trì"), "{t}");
        assert!(t.contains("Sở Khoa học và Công nghệ — phối hợp"), "{t}");
        assert!(t.contains("10/06/2026"), "{t}");

        // The unit handles it; the leader does not report the unit's progress.
        let (status, html) = app.get(&unit, &good).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("value=\"start\""), "{html}");
        let (status, to) = app
            .post(
                &unit,
                &format!("{good}/act"),
                &[("csrf", &unit.csrf), ("action", "start")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.get(&unit, &to).await;
        assert!(text(&html).contains("Đã ghi nhận đang xử lý."), "{html}");
        let (status, to) = app
            .post(
                &unit,
                &format!("{good}/act"),
                &[
                    ("csrf", &unit.csrf),
                    ("action", "complete"),
                    ("reason", "Đã trả lời bằng Công văn số 20/SKHCN-VP."),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
        let (_, html) = app.get(&unit, &to).await;
        let t = text(&html);
        assert!(t.contains("Đã ghi nhận hoàn thành xử lý."), "{t}");
        assert!(t.contains("Trạng thái Đã hoàn thành"), "{t}");
        assert!(
            t.contains("Đã trả lời bằng Công văn số 20/SKHCN-VP."),
            "{t}"
        );

        // The queue filters by state; the file and the report are served.
        let (_, html) = app.get(&clerk, "/incoming?state=refused").await;
        assert!(html.contains("Về việc điều chỉnh dự toán"), "{html}");
        assert!(!html.contains("Về việc quyết toán"), "{html}");
        let (status, bytes) = app.get(&clerk, &format!("{good}/file")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes.starts_with("%PDF"));
        let (status, bytes) = app.get(&clerk, &format!("{good}/report.pdf")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes.starts_with("%PDF"));
    }
}
