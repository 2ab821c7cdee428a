//! The outgoing register as a printed book signed by the agency
//! (`GET /api/v1/document-registers/{id}/export.pdf`, issue 17 item 9), on SQLite and on
//! PostgreSQL: the PDF opens in kyso's reader, its pages are A4 landscape, the cover names the
//! agency, the register and the period, every table page repeats the Appendix IV header row
//! and carries its number, the rows are there in number order (a long subject wrapped in its
//! cell), and the signature is the agency's organization certificate, intact for kyso_pades and
//! valid for pyHanko and poppler's `pdfsig` (listed skips when they are missing). Another
//! agency's clerk gets 404; an agency whose key the server does not hold gets 409 with the
//! reason. 2,000 documents are printed and the time is reported.
//!
//! As in tests/register_export.rs, the documents are uploaded through the store and their
//! later steps written directly: only the register's printing is under test here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::http::StatusCode;
use kyso_store::testing::backends;
use kyso_store::{sqlx, Actor};
use serde_json::{json, Value};

mod support;
use support::app::{content_type, App, Session};
use support::books::Entry;
use support::NOW;

const PKI_PASSWORD: &str = "kyso-demo";

/// A subject long enough to wrap over several lines of its cell.
const LONG_SUBJECT: &str =
    "Về việc triển khai thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 \
    năm 2020 của Chính phủ về công tác văn thư và Nghị định số 68/2024/NĐ-CP ngày 25 tháng 6 năm \
    2024 của Chính phủ quy định về chữ ký số chuyên dùng công vụ tại các cơ quan, đơn vị trực \
    thuộc Sở Khoa học và Công nghệ tỉnh Demo trong năm 2026";

/// The demo PKI (its organization certificate is the agency's), made once, valid at the tests'
/// clock (the signing time) and today (when pyHanko and pdfsig check it). An NSS database
/// trusting its root is made for pdfsig when `certutil` is there.
fn pki() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let opts = kyso_pki::demo::InitOptions::new(
            kyso_keys::Secret::new(PKI_PASSWORD.into()),
            NOW - time::Duration::days(1),
        );
        kyso_pki::demo::init(dir.path(), &opts).unwrap();
        if kyso_testkit::can_run("certutil", &["-H"]) {
            let nss = dir.path().join("nssdb");
            std::fs::create_dir(&nss).unwrap();
            let db = format!("sql:{}", nss.display());
            let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
            ok(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
            ok(Command::new("certutil")
                .args(["-A", "-d", &db, "-n", "demo-root", "-t", "CT,C,C", "-i"])
                .arg(dir.path().join("root.pem")));
        }
        dir
    })
    .path()
}

/// The server holding the organization key of agency `H99.37` only.
async fn server(backend: kyso_store::Backend) -> App {
    let mut keys = kyso_web::OrgKeys::new();
    keys.insert(
        "H99.37".into(),
        kyso_web::OrgKey {
            p12: pki().join("organization.p12"),
            password: Arc::new(kyso_keys::Secret::new(PKI_PASSWORD.into())),
        },
    );
    App::with(backend, |state| state.with_org_keys(keys)).await
}

/// Registered as number `number` of the year of `date` with notation CV-SKHCN.
fn entry(number: i64, date: &str) -> Option<Entry<'_>> {
    Some(Entry {
        number,
        date,
        notation: "CV-SKHCN",
        state: "registered",
    })
}

/// GET `path` with the API token `token`: status, body, content type.
async fn api_get(app: &App, path: &str, token: &str) -> (StatusCode, Vec<u8>, String) {
    let (status, body, headers) = app.get(path, token).await;
    (status, body, content_type(&headers))
}

/// GET `path` with `who`'s session, as a browser: status, body, content type.
async fn page_get(app: &App, who: &Session, path: &str) -> (StatusCode, Vec<u8>, String) {
    let (status, body, headers) = app.get_as(who, path).await;
    (status, body, content_type(&headers))
}

/// The text of every page, read back by kyso's own extractor.
fn pages_text(pdf: &[u8]) -> Vec<String> {
    let doc = open(pdf);
    let n = doc.pages().unwrap().len();
    (0..n)
        .map(|i| kyso_pdf::text::page_text(&doc, i).unwrap().text())
        .collect()
}

fn open(pdf: &[u8]) -> kyso_pdf::Document {
    kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource(pdf.into())),
        kyso_pdf::Limits::default(),
    )
    .unwrap()
}

/// Whether the words of `text` appear in `page` in their order (other words between them).
fn words_in_order(page: &str, text: &str) -> bool {
    let mut words = page.split_whitespace();
    text.split_whitespace().all(|w| words.any(|p| p == w))
}

/// The page has the Appendix IV header row. Its cells wrap and the extractor reads their
/// lines across the row: each word of each header, and the column numbers (1)–(10).
fn has_header_row(page: &str) -> bool {
    kyso_store::documents::REGISTER_BOOK_COLUMNS
        .iter()
        .enumerate()
        .all(|(i, h)| {
            h.split_whitespace().all(|w| page.contains(w)) && page.contains(&format!("({})", i + 1))
        })
}

/// The book is signed once, intact, by the agency's organization certificate (kyso_pades),
/// and the signature covers the whole file.
fn assert_signed_by_the_agency(pdf: &[u8]) {
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(kyso_pdf::MemSource(pdf.into()))).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert!(r.is_intact(), "{:?}", r.failure_codes());
    let cms = r.cms.as_ref().unwrap();
    let cert = &cms.certificates[cms.signer_cert.unwrap()];
    assert_eq!(
        cert.common_name().as_deref(),
        Some(kyso_pki::demo::AGENCY),
        "signed by the agency's organization certificate"
    );
    let expected = std::fs::read(pki().join("organization.p12")).unwrap();
    let signer = kyso_keys::Pkcs12Signer::from_pkcs12(
        &expected,
        &kyso_keys::Secret::new(PKI_PASSWORD.into()),
    )
    .unwrap();
    assert_eq!(cert.der(), kyso_cms::Signer::certificate(&signer).der());
}

/// pyHanko (scripts/oracles/pyhanko_validate.py): one intact, valid signature trusted under
/// the demo root, covering the entire file. A listed skip when pyHanko is missing.
fn pyhanko_accepts(file: &Path) {
    if !kyso_testkit::need_python("pyhanko") {
        return;
    }
    let script: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oracles/pyhanko_validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(pki().join("root.pem"))
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let report: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(report["error"], Value::Null, "{report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{report:#}");
    for key in ["intact", "valid", "trusted", "bottom_line"] {
        assert_eq!(sigs[0][key], true, "{key}: {report:#}");
    }
    assert_eq!(sigs[0]["coverage"], "ENTIRE_FILE", "{report:#}");
}

/// poppler's `pdfsig`, trusting the demo root through an NSS database: the signature is valid
/// and its certificate trusted. A listed skip when `pdfsig` or `certutil` is missing.
fn pdfsig_accepts(file: &Path) {
    if !kyso_testkit::need("pdfsig", &["-v"]) || !kyso_testkit::need("certutil", &["-H"]) {
        return;
    }
    let nss = pki().join("nssdb");
    let out = Command::new("pdfsig")
        .arg("-nssdir")
        .arg(format!("sql:{}", nss.display()))
        .arg("-no-ocsp")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("- Signature Validation: Signature is Valid."),
        "{text}"
    );
    assert!(
        text.contains("- Certificate Validation: Certificate is Trusted."),
        "{text}"
    );
    assert_eq!(text.matches("- Signature Validation:").count(), 1, "{text}");
}

#[tokio::test]
async fn the_outgoing_register_prints_as_a_pdf_signed_by_the_agency() {
    for b in backends() {
        let app = server(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let drafter = app.session("chuyenvien", dost, "drafter").await.actor;
        let clerk_ui = app.session("vanthu", dost, "clerk").await;
        let clerk = clerk_ui.token.clone();
        let their_ui = app.session("vanthu.tc", finance, "clerk").await;
        let their_clerk = their_ui.token.clone();
        let their_drafter = app.session("chuyenvien.tc", finance, "drafter").await.actor;
        let register = app.outgoing_register(dost, "SKHCN").await;
        let their_register = app.outgoing_register(finance, "STC").await;
        app.book_document(
            &their_drafter,
            finance,
            "cong_van",
            "Văn bản của Sở Tài chính",
            entry(1, "2026-02-01"),
        )
        .await;
        // Number 02 is uploaded before number 01: the book follows the numbers.
        app.book_document(
            &drafter,
            dost,
            "cong_van",
            LONG_SUBJECT,
            entry(2, "2026-05-20"),
        )
        .await;
        app.book_document(
            &drafter,
            dost,
            "cong_van",
            "Về việc ban hành Quy chế văn thư",
            entry(1, "2026-02-10"),
        )
        .await;
        app.book_document(&drafter, dost, "cong_van", "Về việc còn là dự thảo", None)
            .await;
        let path = format!("/api/v1/document-registers/{register}/export.pdf");

        let (status, pdf, ct) = api_get(&app, &path, &clerk).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(ct, "application/pdf");
        assert!(pdf.starts_with(b"%PDF-"));

        // A4 landscape pages: the cover and one page of the table.
        let doc = open(&pdf);
        let pages = doc.pages().unwrap();
        assert_eq!(pages.len(), 2);
        for p in &pages {
            let [x0, y0, x1, y1] = p.media_box;
            assert!((x1 - x0 - 841.89).abs() < 0.1 && (y1 - y0 - 595.28).abs() < 0.1);
        }
        let text = pages_text(&pdf);
        let cover = &text[0];
        for want in [
            "UBND TỈNH DEMO",
            "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
            "SỔ ĐĂNG KÝ VĂN BẢN ĐI",
            "Sổ văn bản đi (VBĐ)",
            "Năm: 2026",
            "Từ ngày 01/01/2026 đến ngày 31/12/2026",
            "Từ số 01 đến số 02",
            "Số văn bản trong sổ: 2",
            "ngày 01/06/2026",
        ] {
            assert!(cover.contains(want), "cover lacks {want:?}:\n{cover}");
        }
        let table = &text[1];
        assert!(table.trim_start().starts_with('2'), "page number:\n{table}");
        assert!(has_header_row(table), "{table}");
        assert_eq!(
            kyso_letters::register::REGISTER_COLUMNS,
            kyso_store::documents::REGISTER_BOOK_COLUMNS,
            "the printed book and the workbook have the same columns"
        );
        let one = table.find("01/CV-SKHCN").expect("number 01");
        let two = table.find("02/CV-SKHCN").expect("number 02");
        assert!(one < two, "rows in number order");
        assert!(table.contains("10/02/2026") && table.contains("20/05/2026"));
        assert!(table.contains("Trần Văn Bình") && table.contains("Chưa phát"));
        assert!(table.contains("Công văn: Về việc ban hành Quy chế"));
        // The long subject is all there, wrapped over several lines of its cell (the extractor
        // reads the row line by line across its cells: the subject's words come in order).
        assert!(words_in_order(table, LONG_SUBJECT), "{table}");
        let subject_lines = table
            .lines()
            .filter(|l| {
                [
                    "Nghị định số 30/2020",
                    "Chính phủ quy định",
                    "thuộc Sở Khoa học",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .count();
        assert!(subject_lines >= 2, "the subject wraps:\n{table}");
        assert!(!table.contains("còn là dự thảo") && !table.contains("Sở Tài chính"));

        // Signed by the agency: kyso_pades, pyHanko, pdfsig.
        assert_signed_by_the_agency(&pdf);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("so-van-ban-di.pdf");
        std::fs::write(&file, &pdf).unwrap();
        pyhanko_accepts(&file);
        pdfsig_accepts(&file);

        // A period: from March on, only number 02.
        let (status, pdf, _) = api_get(
            &app,
            &format!("{path}?from=2026-03-01&to=2026-12-31"),
            &clerk,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let text = pages_text(&pdf).join("\n");
        assert!(text.contains("02/CV-SKHCN") && !text.contains("01/CV-SKHCN"));
        assert!(text.contains("Từ số 02 đến số 02"));
        let (status, body, _) = api_get(&app, &format!("{path}?to=hom-nay"), &clerk).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["field"], "to", "{v}");

        // Another agency's clerk does not see the register; an unknown one; no login.
        let (status, _, _) = api_get(&app, &path, &their_clerk).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) =
            api_get(&app, "/api/v1/document-registers/999999/export.pdf", &clerk).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = api_get(&app, &path, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Their own register: the server holds no key of theirs, and says so.
        let (status, body, _) = api_get(
            &app,
            &format!("/api/v1/document-registers/{their_register}/export.pdf"),
            &their_clerk,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "no_org_key", "{v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("khóa tổ chức") && msg.contains("Sở Tài chính"),
            "{v}"
        );

        // The web UI: the print button on the registers page when the server holds the key,
        // the same signed book from its target; their page explains why there is none.
        let (status, html, _) = page_get(&app, &clerk_ui, "/documents/registers").await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK, "{html}");
        let action = format!("/documents/registers/{register}/export.pdf");
        assert!(html.contains(&format!("formaction=\"{action}\"")), "{html}");
        let (status, pdf, ct) = page_get(
            &app,
            &clerk_ui,
            &format!("{action}?from=2026-01-01&to=2026-03-31"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/pdf");
        let text = pages_text(&pdf).join("\n");
        assert!(text.contains("01/CV-SKHCN") && !text.contains("02/CV-SKHCN"));
        assert_signed_by_the_agency(&pdf);
        let (status, _, _) = page_get(&app, &their_ui, &action).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, html, _) = page_get(&app, &their_ui, "/documents/registers").await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("export.pdf") && html.contains("chưa giữ khóa tổ chức"));
        let (status, html, _) = page_get(
            &app,
            &their_ui,
            &format!("/documents/registers/{their_register}/export.pdf"),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(String::from_utf8_lossy(&html).contains("khóa tổ chức"));

        // The route is in the OpenAPI document.
        let (status, doc, _) = api_get(&app, "/api/openapi.json", "").await;
        assert_eq!(status, StatusCode::OK);
        let doc: Value = serde_json::from_slice(&doc).unwrap();
        assert!(
            doc["paths"]["/api/v1/document-registers/{id}/export.pdf"]["get"].is_object(),
            "not in the OpenAPI document"
        );
    }
}

/// 2,000 documents in one book: every page after the cover repeats the header and is
/// numbered, the first and last documents are there, the signature holds; the time of the
/// whole request (read, lay out, sign) is printed.
#[tokio::test]
async fn two_thousand_documents_print_with_the_header_on_every_page() {
    const N: i64 = 2000;
    for b in backends() {
        let app = server(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let drafter = app.session("chuyenvien", dost, "drafter").await.actor;
        let clerk = app.session("vanthu", dost, "clerk").await.token;
        let register = app.outgoing_register(dost, "SKHCN").await;
        let template = app
            .book_document(
                &drafter,
                dost,
                "cong_van",
                "Về việc báo cáo kết quả thực hiện nhiệm vụ khoa học và công nghệ cấp tỉnh \
                 năm 2026",
                None,
            )
            .await;
        // N registered copies of the draft, numbered 1..=N (one statement).
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO documents (agency_id, register_id, state, doc_type, subject, meta, \
             drafter_id, number_year, number, notation, issued_date, created_at, updated_at) \
             SELECT d.agency_id, d.register_id, 'dispatched', d.doc_type, d.subject, d.meta, \
             d.drafter_id, 2026, n.i, 'CV-SKHCN', '2026-04-01', d.created_at, d.updated_at \
             FROM n, documents d WHERE d.id = $1",
        )
        .bind(template)
        .bind(N)
        .execute(s.pool())
        .await
        .unwrap();
        let path = format!("/api/v1/document-registers/{register}/export.pdf");
        let started = Instant::now();
        let (status, pdf, _) = api_get(&app, &path, &clerk).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        let text = pages_text(&pdf);
        println!(
            "{b:?}: {N} documents → {} pages, {} KiB, {} ms (debug build: read, lay out, sign)",
            text.len(),
            pdf.len() / 1024,
            took.as_millis()
        );
        assert!(text.len() > 50, "{} pages", text.len());
        assert!(text[0].contains(&format!("Từ số 01 đến số {N}")));
        for (i, page) in text.iter().enumerate().skip(1) {
            assert!(
                page.trim_start().starts_with(&(i + 1).to_string()),
                "page {} has no number",
                i + 1
            );
            assert!(has_header_row(page), "page {} has no header row", i + 1);
        }
        let all = text.join("\n");
        assert!(all.contains("01/CV-SKHCN") && all.contains(&format!("{N}/CV-SKHCN")));
        assert_eq!(all.matches("/CV-SKHCN").count(), N as usize);
        assert_signed_by_the_agency(&pdf);
        // Generous: the debug build of the whole request; the release figure is in the report.
        assert!(took.as_secs() < 60, "{took:?}");
    }
}

/// The incoming register (sổ đăng ký văn bản đến, issue 18 item 8) through the same path: the
/// registered incoming documents of a period as XLSX and as a book signed by the agency (kyso's
/// verifier and pyHanko), in the API and the pages; another agency's clerk gets 404; every read
/// of the book is in the audit log.
#[tokio::test]
async fn the_incoming_register_prints_as_a_pdf_signed_by_the_agency_and_as_xlsx() {
    use kyso_domain::incoming::{Channel, IncomingAction, Verdict};
    use kyso_store::incoming::{self as inc, IncomingStep, NewIncoming, Verification};
    for b in backends() {
        let app = server(b).await;
        let s = app.store();
        let blobs = app.blobs.clone();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let clerk_ui = app.session("vanthu", dost, "clerk").await;
        let clerk = clerk_ui.token.clone();
        let their_clerk = app.session("vanthu.tc", finance, "clerk").await.token;
        let mut register = 0;
        for (n, subject) in [("15", "Về việc gia hạn chứng thư số"), ("16", LONG_SUBJECT)]
        {
            let a = inc::intake(
                s,
                &blobs,
                &clerk_ui.actor,
                &NewIncoming {
                    agency_id: dost,
                    channel: Channel::Upload,
                    scanned: false,
                    sender_code: "G11.07.05".into(),
                    sender_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
                    sender_email: String::new(),
                    number: n.into(),
                    notation: "CTSBMTT-CĐ".into(),
                    doc_date: "2026-05-28".into(),
                    doc_type: "Công văn".into(),
                    subject: subject.into(),
                    signer: "Cục trưởng".into(),
                    file_name: "cong-van.pdf".into(),
                    file: format!("%PDF-1.7\n% letter {n}\n%%EOF\n").into_bytes(),
                    verification: Verification {
                        verdict: Verdict::Passed,
                        reasons: Vec::new(),
                        report: json!({"schema": "kyso.verify/1", "verdict": "valid"}),
                        report_pdf: None,
                    },
                    delivery_id: None,
                },
                NOW,
            )
            .await
            .unwrap();
            let r = inc::act_incoming(
                s,
                &clerk_ui.actor,
                a.id,
                IncomingAction::Register,
                &IncomingStep::default(),
                NOW,
            )
            .await
            .unwrap();
            register = r.register_id.unwrap();
        }
        let base = format!("/api/v1/incoming-registers/{register}");

        // The workbook.
        let (status, xlsx, ct) = api_get(&app, &format!("{base}/export.xlsx"), &clerk).await;
        assert_eq!(status, StatusCode::OK, "{b:?}");
        assert!(ct.contains("spreadsheetml"), "{ct}");
        assert!(xlsx.starts_with(b"PK\x03\x04"));

        // The book: its title, both arrivals in arrival order, signed by the agency.
        let (status, pdf, ct) = api_get(&app, &format!("{base}/export.pdf"), &clerk).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{b:?}: {}",
            String::from_utf8_lossy(&pdf)
        );
        assert_eq!(ct, "application/pdf");
        let text = pages_text(&pdf).join("\n");
        assert!(text.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"), "{text}");
        let (first, second) = (
            text.find("gia hạn chứng thư số")
                .expect("the first arrival"),
            text.find("Về việc triển khai").expect("the second arrival"),
        );
        assert!(first < second, "{text}");
        assert_signed_by_the_agency(&pdf);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("so-van-ban-den.pdf");
        std::fs::write(&file, &pdf).unwrap();
        pyhanko_accepts(&file);

        // A period after both arrivals: an empty book.
        let (status, pdf, _) = api_get(
            &app,
            &format!("{base}/export.pdf?from=2026-07-01&to=2026-12-31"),
            &clerk,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!pages_text(&pdf).join("\n").contains("gia hạn chứng thư số"));

        // Another agency's clerk: not found, for both.
        for ext in ["xlsx", "pdf"] {
            let (status, _, _) = api_get(&app, &format!("{base}/export.{ext}"), &their_clerk).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{b:?} {ext}");
        }

        // The pages: the registers page with its period form, and the signed download.
        let (status, html, _) = page_get(&app, &clerk_ui, "/incoming").await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&html).contains("href=\"/incoming/registers\""));
        let (status, html, _) = page_get(&app, &clerk_ui, "/incoming/registers").await;
        let html = String::from_utf8_lossy(&html).into_owned();
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Sổ đăng ký văn bản đến"), "{html}");
        assert!(
            html.contains(&format!("/incoming/registers/{register}/export.pdf")),
            "{html}"
        );
        let (status, pdf, ct) = page_get(
            &app,
            &clerk_ui,
            &format!("/incoming/registers/{register}/export.pdf?from=2026-01-01&to=2026-12-31"),
        )
        .await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
        assert_signed_by_the_agency(&pdf);
        let (status, xlsx, _) = page_get(
            &app,
            &clerk_ui,
            &format!("/incoming/registers/{register}/export.xlsx"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(xlsx.starts_with(b"PK\x03\x04"));

        // Every read of the book is audited.
        let entries = kyso_store::audit::list(
            s,
            &Actor::system(),
            &kyso_store::audit::Filter {
                action_prefix: Some("incoming.register_book".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entries.len(), 5, "{b:?}: {entries:?}");
    }
}

/// The province's report of a period (issue 21): a PDF of the reports submitted, summed, with
/// its charts, signed with the Department's organization key — valid for kyso, pyHanko and
/// pdfsig. Refused (409) while the Department is not set.
#[tokio::test]
async fn the_provinces_report_prints_as_a_pdf_signed_by_the_department() {
    for b in backends() {
        let app = server(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(root)).await;
        let finance = support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let admin = app.session("quantri", root, "dost_admin").await;
        let officer = app.session("cb.tc", finance, "signature_officer").await;
        let sys = Actor::system();
        let period = kyso_store::reports::open_period(
            s,
            &sys,
            &kyso_store::reports::NewPeriod {
                kind: "annual".into(),
                year: Some(2026),
                due_day: "15/01/2027".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        kyso_store::reports::save_report(
            s,
            &officer.actor,
            period.id,
            finance,
            &kyso_store::reports::ReportInput {
                needs: kyso_domain::reports::Needs {
                    devices: 7,
                    ..Default::default()
                },
                ..Default::default()
            },
            true,
            NOW,
        )
        .await
        .unwrap();
        let path = format!(
            "/api/v1/report-standings/export.pdf?period_id={}",
            period.id
        );
        let (status, body, _) = page_get(&app, &admin, &path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{b:?}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "no_department", "{v}");
        kyso_store::requests::set_request_recipients(
            s,
            &sys,
            &kyso_store::requests::RequestRecipients {
                department: "H99.37".into(),
                national_ca: "G11.07.05".into(),
            },
            NOW,
        )
        .await
        .unwrap();
        let (status, pdf, kind) = page_get(&app, &admin, &path).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "application/pdf"),
            "{b:?}: {}",
            String::from_utf8_lossy(&pdf)
        );
        assert_signed_by_the_agency(&pdf);
        let text = pages_text(&pdf).join(" ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "BÁO CÁO",
            "Báo cáo năm 2026",
            "1/2 cơ quan đã gửi",
            "Sở Tài chính",
            "Đã gửi",
        ] {
            assert!(text.contains(want), "{b:?}: {want}: {text}");
        }
        let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
        std::fs::write(file.path(), &pdf).unwrap();
        pyhanko_accepts(file.path());
        pdfsig_accepts(file.path());
    }
}
