//! TRÍCH SAO with the extract chosen by the clerk (issue 17 item 7), on SQLite and on
//! PostgreSQL, with a real `kyso agent` (tests/support/agent.rs): a three-page decision issued
//! with real signatures; the clerk's page asks the pages and a note; refusals before any number
//! is taken (no page, a list not understood, a page past the last, every page, pages with SAO
//! Y); the ticket holds the extract (pages 1 and 3) and its download serves it — the same bytes
//! as `kyso_pdf::extract` builds again, two pages, none of the original's signatures, `qpdf
//! --check` clean; an upload of the whole document stamped TRÍCH SAO is refused; the agent
//! signs the extract with the TRÍCH SAO stamp "01/TrS"; the API and the page list the copy
//! with its pages and note. The agent-signed TRÍCH SAO and SAO Y are valid for kyso's verifier
//! and for pyHanko (strict). A TRÍCH SAO uploaded already signed through
//! `POST /api/v1/documents/{id}/copies` must be the extract plus its signature.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use kyso_pades::forms::CopyForm;
use kyso_pdf::extract::{extract, PageSelection};
use kyso_store::testing::backends;
use serde_json::{json, Value};

mod support;
use support::agent::{
    agent_signs, as_sent, b64, pki, pyhanko_validates, stamp_text, start_agent, status1, App,
};
use support::copy_signed;

/// The decision of `support::draft` over three pages: the heading and article 1 on page 1,
/// article 2 on page 2, article 3 with the signer's block on page 3.
fn three_page_draft() -> Vec<u8> {
    support::decision(
        "Số: ......../QĐ-SKHCN",
        &[
            "Điều 1. Ban hành kèm theo Quyết định này Quy chế công tác văn thư của Sở.",
            "Điều 2. Văn phòng Sở hướng dẫn, kiểm tra việc thực hiện Quy chế.",
            "Điều 3. Quyết định có hiệu lực kể từ ngày ký.",
        ],
        "- Như Điều 3;",
    )
}

fn meta() -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": ["H99.05"],
        "page_count": 3
    })
}

fn pages_of(pdf: &[u8]) -> usize {
    kyso_pdf::Document::open(
        Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())),
        kyso_pdf::Limits::default(),
    )
    .unwrap()
    .pages()
    .unwrap()
    .len()
}

/// kyso's verifier (the engine of `kyso verify`): `n` signatures, every one intact, the last
/// covering the whole file.
fn kyso_accepts(pdf: &[u8], n: usize) {
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(kyso_pdf::MemSource::new(pdf.to_vec())))
            .unwrap();
    assert_eq!(reports.len(), n);
    for r in &reports {
        assert!(r.is_intact(), "{:?}", r.failure_codes());
    }
}

/// `qpdf --check` without error or warning (a listed skip without qpdf).
fn qpdf_accepts(pdf: &[u8]) {
    if !kyso_testkit::need("qpdf", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extract.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !text.contains("WARNING"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_clerk_chooses_the_pages_of_an_extract_copy_and_the_agent_signs_the_extract() {
    for b in backends() {
        let app = App::new(b).await;
        let s = app.store();
        let root = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở KH&CN", Some(root)).await;
        support::agency(s, "H99.05", "Sở Tài chính", Some(root)).await;
        let crew = app.crew(dost).await;
        let staff = crew.staff();
        let clerk = &crew.clerk;
        let pki = pki("Extract Copies Test Root");
        app.register_keys(dost, &pki.director, &pki.agency.signer)
            .await;
        app.open_outgoing_register(&staff.clerk, dost).await;
        let id = app
            .upload_draft(&staff.drafter, dost, meta(), &three_page_draft())
            .await;
        app.approve(&staff, id).await;
        let personal = app.sign_personal(&staff.signer, id, &pki.director).await;
        let numbered = app.number(&staff.clerk, id).await;
        let issued = app
            .seal(&staff.clerk, id, &personal, &numbered, &pki.agency.signer)
            .await;
        app.step_ok(&staff.clerk, id, "register").await;
        app.step_ok(&staff.clerk, id, "dispatch").await;
        assert_eq!(pages_of(&issued), 3);

        // The page asks the pages and the note.
        let page = app.page(clerk, id).await;
        for needle in [
            "id=\"copy-pages\"",
            "data-copy-pages=\"copy-pages\"",
            "id=\"copy-note\"",
            "Trang cần trích sao",
        ] {
            assert!(page.contains(needle), "{needle}");
        }

        // Refusals, before any number is taken.
        for (body, why) in [
            (json!({"form": "trich_sao"}), "Hãy ghi các trang"),
            (
                json!({"form": "trich_sao", "pages": "  "}),
                "Hãy ghi các trang",
            ),
            (json!({"form": "trich_sao", "pages": "0"}), "từ 1"),
            (json!({"form": "trich_sao", "pages": "3-1"}), "viết ngược"),
            (json!({"form": "trich_sao", "pages": "1,x"}), "ký tự thứ 3"),
            (
                json!({"form": "trich_sao", "pages": "2,5"}),
                "chỉ có 3 trang",
            ),
            (json!({"form": "trich_sao", "pages": "1-3"}), "Sao y"),
            (json!({"form": "sao_y", "pages": "1"}), "Chỉ bản trích sao"),
            (
                json!({"form": "trich_sao", "pages": "1", "note": "x".repeat(501)}),
                "500",
            ),
        ] {
            let mut body = body;
            body["action"] = json!("sign_copy");
            body["place"] = json!("Demo");
            let (status, answer) = app.ticket(clerk, id, body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            let all = answer.to_string();
            assert!(
                message.contains(why) || all.contains(why),
                "{body}: {answer}"
            );
        }

        // The ticket holds the extract of pages 1 and 3: copy 01/TrS.
        let (status, ticket) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_copy", "form": "trich_sao", "place": "Demo",
                        "pages": "3, 1", "note": "Điều 1 và Điều 3"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["request"]["DocNumber"], "01/TrS");
        assert_eq!(ticket["pages"], "1,3");
        let (file, upload, token, sent) = as_sent(&app.base, &ticket);
        let (status, base) = app.download(&file, &token).await;
        assert_eq!(status, StatusCode::OK);
        let rebuilt = extract(&issued, &PageSelection::parse("1,3").unwrap()).unwrap();
        assert_eq!(base, rebuilt, "the extract is built again byte for byte");
        assert_eq!(pages_of(&base), 2);
        for needle in [&b"/Sig"[..], b"/Widget", b"/AcroForm"] {
            assert!(!base.windows(needle.len()).any(|w| w == needle));
        }
        qpdf_accepts(&base);

        // The whole document stamped as the extract is refused; the ticket survives it.
        let whole = copy_signed(&issued, CopyForm::Excerpt, "01/TrS", &pki.agency.signer);
        let (status, answer) = app.upload(&upload, &token, &whole).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        status1(&answer, "the whole document");

        // The real agent signs the extract with the TRÍCH SAO stamp.
        let (agent_addr, shown) = start_agent(&pki.agency, &app.base).await;
        let answer = agent_signs(agent_addr, &app.base, "SignCopy", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        assert_eq!(answer["DocumentNumber"], "01/TrS");
        assert!(shown.lock().unwrap()[0].contains("01/TrS"));

        // The API and the page: the copy with its pages and note.
        let copies = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}/copies"),
                clerk,
                None,
            )
            .await;
        let copies = copies.as_array().unwrap();
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert_eq!(copies[0]["form"], "trich_sao");
        assert_eq!(copies[0]["notation"], "01/TrS");
        assert_eq!(copies[0]["pages"], "1,3");
        assert_eq!(copies[0]["note"], "Điều 1 và Điều 3");
        let copy_id = copies[0]["id"].as_i64().unwrap();
        let (_, page) = app
            .app
            .page(clerk, &format!("/documents/{id}?done=copy"))
            .await;
        assert!(page.contains("TRÍCH SAO — Số: 01/TrS"), "{page}");
        assert!(
            page.contains("Trích trang 1,3") && page.contains("Điều 1 và Điều 3"),
            "{page}"
        );
        let (status, signed) = app
            .app
            .download(clerk, &format!("/documents/{id}/copies/{copy_id}/file"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(signed.starts_with(&base), "the extract kept byte for byte");
        let lines = stamp_text(&signed);
        assert_eq!(
            lines[0], "TRÍCH SAO — Sở Khoa học và Công nghệ",
            "{lines:?}"
        );
        assert!(lines[1].starts_with("Số: 01/TrS — Demo, "), "{lines:?}");
        // Valid for kyso's verifier and pyHanko: one signature, the copying agency's.
        kyso_accepts(&signed, 1);
        pyhanko_validates(&signed, &pki.agency.signer.chain[0], 1);
        // The ticket is spent.
        let (status, _) = app.upload(&upload, &token, &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // A SAO Y signed by the agent is valid for pyHanko too (the issued document's two
        // signatures and the copy's).
        let (status, ticket) = app
            .ticket(
                clerk,
                id,
                json!({"action": "sign_copy", "form": "sao_y", "place": "Demo"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        assert_eq!(ticket["request"]["DocNumber"], "02/SY");
        assert_eq!(ticket["pages"], Value::Null);
        let (_, _, _, sent) = as_sent(&app.base, &ticket);
        let answer = agent_signs(agent_addr, &app.base, "SignCopy", sent).await;
        assert_eq!(answer["Status"], 0, "{answer}");
        let copies = app
            .call(
                Method::GET,
                &format!("/api/v1/documents/{id}/copies"),
                clerk,
                None,
            )
            .await;
        let sao_y = copies
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["notation"] == "02/SY")
            .unwrap()
            .clone();
        assert_eq!(sao_y["pages"], Value::Null);
        let (_, sao_y) = app
            .app
            .download(
                clerk,
                &format!("/documents/{id}/copies/{}/file", sao_y["id"]),
            )
            .await;
        assert!(sao_y.starts_with(&issued));
        kyso_accepts(&sao_y, 3);
        pyhanko_validates(&sao_y, &pki.agency.signer.chain[0], 3);

        // Uploaded already signed: the extract of page 2 plus its signature is taken (03/TrS);
        // the whole document, or no pages, is refused.
        let page2 = extract(&issued, &PageSelection::parse("2").unwrap()).unwrap();
        let post = |file: Vec<u8>, pages: Option<&str>| {
            let mut body = json!({"agency_id": dost, "form": "trich_sao",
                                  "file_name": "trich-sao.pdf", "file_base64": b64(&file)});
            if let Some(p) = pages {
                body["pages"] = json!(p);
            }
            body
        };
        let whole = copy_signed(&issued, CopyForm::Excerpt, "03/TrS", &pki.agency.signer);
        for (body, field) in [
            (post(whole, Some("2")), "file"),
            (post(page2.clone(), None), "pages"),
        ] {
            let (status, answer) = app
                .app
                .call(
                    Method::POST,
                    &format!("/api/v1/documents/{id}/copies"),
                    &clerk.token,
                    Some(body),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
        let signed2 = copy_signed(&page2, CopyForm::Excerpt, "03/TrS", &pki.agency.signer);
        let made = app
            .call(
                Method::POST,
                &format!("/api/v1/documents/{id}/copies"),
                clerk,
                Some(post(signed2, Some("2"))),
            )
            .await;
        assert_eq!(made["notation"], "03/TrS", "{made}");
        assert_eq!(made["pages"], "2");
    }
}
