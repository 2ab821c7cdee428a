//! Document files of realistic size (a signed Decree 30 document at B-LTA with scanned pages is
//! many megabytes), on SQLite and PostgreSQL: a 5 MB draft through the API and its 5 MB signed
//! file through each of the three routes that take one — the signing service's upload, the
//! document page's form and the API's action — all accepted; a body over the limit refused with
//! the limit named (413); a caller without a ticket, session or token refused before its big
//! body is read (over a real socket: the answer comes while most of the body is unsent).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::app::{App, Session};
use support::ca::TestCa;
use support::draft;
use support::flow::{decision_meta, personally_signed};
use support::html::{Part, BOUNDARY};

/// `pdf` made `extra` bytes larger by an incremental update adding one stream of random
/// (incompressible, like a scan) bytes: still a valid PDF, and the signature over a later
/// revision covers it.
fn padded(pdf: Vec<u8>, extra: usize) -> Vec<u8> {
    let tail = String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(4096)..]).into_owned();
    let size: u32 = tail
        .split("/Size ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap()
        .parse()
        .unwrap();
    let prev: u64 = tail
        .rsplit("startxref")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches("%%EOF")
        .trim()
        .parse()
        .unwrap();
    let root = tail.split("/Root ").nth(1).unwrap();
    let root = &root[..root.find(" R").unwrap() + 2];
    let mut noise = vec![0u8; extra];
    aws_lc_rs::rand::fill(&mut noise).unwrap();
    let mut out = pdf;
    out.push(b'\n');
    let at = out.len();
    out.extend_from_slice(format!("{size} 0 obj\n<< /Length {extra} >>\nstream\n").as_bytes());
    out.extend_from_slice(&noise);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f\r\n{size} 1\n{at:010} 00000 n\r\ntrailer\n<< /Size {} /Root {root} /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            size + 1
        )
        .as_bytes(),
    );
    out
}

/// A request over a real socket: the head, then `len` bytes of body written in 64 KiB chunks
/// by another task. The answer's status line and how many body bytes had been written when it
/// came.
async fn over_socket(addr: std::net::SocketAddr, head: String, len: usize) -> (String, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'0'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            wr.write_all(&chunk[..n]).await?;
            sent += n;
            count.store(sent, Ordering::SeqCst);
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = rd.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap()
            .to_owned()
    })
    .await
    .expect("no answer within 30 s");
    let at = written.load(Ordering::SeqCst);
    writer.abort();
    (status, at)
}

/// The document page's signed-file form, as a browser posts it.
async fn page_upload(app: &App, who: &Session, id: i64, pdf: &[u8]) -> (StatusCode, String) {
    app.multipart_form(
        who,
        &format!("/documents/{id}/signed"),
        &[
            Part::Text("csrf", &who.csrf),
            Part::Text("action", "sign_personal"),
            Part::File("file", "ky-so.pdf", "application/pdf", pdf),
        ],
    )
    .await
}

/// The API's action with the signed file.
async fn api_sign(app: &App, who: &Session, id: i64, pdf: &[u8]) -> (StatusCode, Value) {
    let body = json!({
        "action": "sign_personal",
        "file_name": "ky-so.pdf",
        "file_base64": support::app::b64(pdf),
    });
    app.step(&who.token, id, body).await
}

/// Document `id`'s state as `who` reads it.
async fn state(app: &App, who: &Session, id: i64) -> Value {
    app.get_ok(&format!("/api/v1/documents/{id}"), &who.token)
        .await["document"]["state"]
        .clone()
}

const MB: usize = 1024 * 1024;

#[tokio::test]
async fn signed_documents_of_several_megabytes() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        let crew = app.crew(dost).await;
        let staff = crew.staff();
        let signer = &crew.signer;
        let director = TestCa::new("Browser Signing Test Root").issue("Nguyễn Văn An", None);
        app.register_director(dost, &director).await;
        app.open_outgoing_register(&staff.clerk, dost).await;
        let meta = decision_meta(&[]);
        // A 5 MB draft, taken by the API (far above its ordinary JSON limit).
        let big = padded(draft(), 5 * MB);
        let make = || async {
            let id = app
                .upload_draft(&staff.drafter, dost, meta.clone(), &big)
                .await;
            app.approve(&staff, id).await;
            id
        };
        let signed_of = |id: i64| {
            let app = &app;
            let signer = &signer;
            let director = &director;
            async move {
                let (status, formatted) = app
                    .bytes(&format!("/api/v1/documents/{id}/file?seq=2"), &signer.token)
                    .await;
                assert_eq!(status, StatusCode::OK);
                let personal = personally_signed(&formatted, director);
                assert!(personal.len() > 5 * MB, "{}", personal.len());
                personal
            }
        };

        // The signing service's upload.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, ticket) = app
            .sign_ticket(
                signer,
                id,
                json!({"action": "sign_personal"}),
                Some(&signer.csrf),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        let upload = ticket["request"]["FileUploadHandler"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = ticket["request"]["JWTToken"].as_str().unwrap().to_owned();
        // Over the limit (a body of zeros past it): refused, the limit named, the ticket kept.
        let over = vec![b'0'; kyso_web::MAX_DOCUMENT_BODY + 1];
        let (status, answer) = app.service_upload(&upload, &token, &over, &[]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        let message = answer["Message"].as_str().unwrap();
        assert!(message.contains("quá lớn (tối đa 64 MB)"), "{message}");
        let (status, answer) = app.service_upload(&upload, &token, &personal, &[]).await;
        assert_eq!(
            (status, answer["Status"].clone()),
            (StatusCode::OK, json!(0)),
            "{answer}"
        );
        assert_eq!(state(&app, signer, id).await, "personally_signed");

        // The document page's form.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, page) = page_upload(&app, signer, id, &over).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.contains("quá lớn (tối đa 64 MB)"), "{page}");
        assert_eq!(state(&app, signer, id).await, "approved");
        let (status, page) = page_upload(&app, signer, id, &personal).await;
        assert!(
            status.is_success() || status.is_redirection(),
            "{status} {page}"
        );
        assert_eq!(state(&app, signer, id).await, "personally_signed");

        // The API's action.
        let id = make().await;
        let personal = signed_of(id).await;
        let (status, body, _) = support::send(
            &app.router,
            support::api_request(
                Method::POST,
                &format!("/api/v1/documents/{id}/actions"),
                &signer.token,
                Some((
                    "application/json",
                    format!(
                        "{{\"action\":\"sign_personal\",\"file_base64\":\"{}\"}}",
                        "A".repeat(kyso_web::MAX_DOCUMENT_JSON)
                    ),
                )),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert!(answer.to_string().contains("quá lớn"), "{answer}");
        let (status, answer) = api_sign(&app, signer, id, &personal).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(state(&app, signer, id).await, "personally_signed");
        drop(over);

        // Without a ticket, session or token, over a real socket: refused while most of a
        // body at the limit is still unsent.
        let (addr, server) = app.listen().await;
        let len = kyso_web::MAX_DOCUMENT_BODY;
        let id = make().await;
        for (path, expected) in [
            (format!("/sign-agent/documents/{id}/signed"), "401"),
            (format!("/documents/{id}/signed"), "303"),
            (format!("/api/v1/documents/{id}/actions"), "401"),
        ] {
            let content_type = if path.starts_with("/api/") {
                "application/json".to_owned()
            } else {
                format!("multipart/form-data; boundary={BOUNDARY}")
            };
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: kyso.test\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n"
            );
            let (status, written) = over_socket(addr, head, len).await;
            assert!(status.contains(expected), "{path}: {status}");
            assert!(
                written < len / 2,
                "{path}: {written} of {len} bytes sent first"
            );
        }
        server.abort();
        assert_eq!(state(&app, signer, id).await, "approved");
    }
}
