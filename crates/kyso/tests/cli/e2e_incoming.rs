//! Documents from one agency to another in a real browser: `tests/e2e/incoming.mjs`
//! (playwright-core driving Debian's chromium) against a fresh `kyso serve`. Agency A is the
//! demo province's Department of Science (H99.37), agency B its Department of Finance (H99.05)
//! with a new unit under it that handles what B receives.
//!
//! This test makes the accounts, A's outgoing register and two of A's documents up to the Deputy
//! Director's approval through the REST API; the browser story takes them on with real
//! signatures — his personal key and the Department's organization key on two SoftHSM2 tokens,
//! through two `kyso agent` processes (`e2e_documents`'s), whose PINs a thread of this test types
//! — then dispatches them to B, where they are verified on arrival, registered, assigned and
//! completed, or refused with the reason reaching A; and a tampered copy uploaded by B's clerk is
//! refused. The arrival's timing does not matter: the story reloads B's queue until the
//! documents are there (bounded).
//!
//! A listed skip when node, chromium, playwright-core, SoftHSM2 or pyHanko is missing (the
//! tools of `e2e_documents`), a failure under `KYSO_REQUIRE_ALL=1` (`scripts/test.sh`).
//! Screenshots go to `target/e2e-screenshots/incoming` (`KYSO_E2E_SCREENSHOTS=docs/screenshots`
//! refreshes the ones the README shows).

use std::process::Command;
use std::time::Instant;

use serde_json::json;

use crate::common::workspace;
use crate::e2e_documents::{
    account, agency_id, department_accounts, department_tokens, letter, missing_tools, DOST,
    PASSWORD,
};
use crate::serve::{demo_admin, Serve};
use crate::token::PIN;

/// The Department of Finance of the demo province: agency B.
const FINANCE: &str = "H99.05";
/// B's unit that handles what it receives.
const UNIT: &str = "Phòng Quản lý ngân sách";

#[test]
fn a_document_sent_by_one_agency_is_verified_registered_assigned_and_completed_by_another() {
    let e2e = workspace().join("tests/e2e");
    if let Some(missing) = missing_tools(&e2e) {
        kyso_testkit::skip(&missing);
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(&data, &[]);
    let demo_pki = data.join("demo-pki");
    let origin = server.url("");

    // A: the people of the outgoing flow and its register; B: the clerk, the Director and the
    // officer of a new unit.
    let admin = demo_admin(&server);
    let dost = agency_id(&server, &admin, DOST);
    let finance = agency_id(&server, &admin, FINANCE);
    let (status, v) = server.api(
        "POST",
        "/api/v1/document-registers",
        &admin,
        Some(
            &json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                     "issuer_abbrev": "SKHCN", "doc_types": []}),
        ),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.api(
        "POST",
        "/api/v1/agencies",
        &admin,
        Some(&json!({"code": "H99.05.01", "name": UNIT, "kind": "unit", "parent_id": finance})),
    );
    assert_eq!(status, 201, "{v}");
    let unit = v["id"].as_i64().unwrap();
    department_accounts(&server, &admin, dost);
    for (user, name, role, at) in [
        ("van.thu.tc", "Phạm Thu Hà", "clerk", finance),
        ("giam.doc.tc", "Vũ Đức Thắng", "signer", finance),
        ("chuyen.vien.ns", "Ngô Thanh Tâm", "reviewer", unit),
    ] {
        account(&server, &admin, at, user, name, "", role);
    }

    // Two of A's documents to B, approved by the Deputy Director (REST API).
    let token = |user: &str| server.login(user, PASSWORD).0;
    let (drafter, reviewer, checker, signer) = (
        token("le.hoang.cuong"),
        token("truong.phong.vp"),
        token("the.thuc.vp"),
        token("nguyen.van.an"),
    );
    let subjects = [
        "Kế hoạch triển khai ký số văn bản năm 2027",
        "Đề nghị cung cấp số liệu quyết toán kinh phí chuyển đổi số",
    ];
    let mut docs = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        let meta = json!({
            "doc_type": "cong_van", "subject": subject, "place": "Demo", "unit_abbrev": "VP",
            "signer": {"authority": "kt", "principal_title": "Giám đốc",
                       "title": "Phó Giám đốc", "name": "Nguyễn Văn An"},
            "recipients": [FINANCE], "page_count": 1,
        });
        let file = base64_of(&letter(i == 1));
        let (status, v) = server.api(
            "POST",
            "/api/v1/documents",
            &drafter,
            Some(
                &json!({"agency_id": dost, "meta": meta, "file_name": "du-thao.pdf",
                          "file_base64": file}),
            ),
        );
        assert_eq!(status, 201, "{v}");
        let id = v["document"]["id"].as_i64().unwrap();
        for (who, action) in [
            (&drafter, "submit"),
            (&reviewer, "forward"),
            (&checker, "check_format"),
            (&signer, "approve"),
        ] {
            let (status, v) = server.api(
                "POST",
                &format!("/api/v1/documents/{id}/actions"),
                who,
                Some(&json!({"action": action})),
            );
            assert_eq!(status, 200, "{action}: {v}");
        }
        docs.push(json!({"id": id, "subject": subject}));
    }

    // The two tokens and their agents.
    // The tokens stay (and their directories with them) until the end of the test.
    let tokens = department_tokens(&origin, &demo_pki, None);
    let (signer_agent, clerk_agent) = (tokens.signer, tokens.clerk);

    let work = tmp.path().join("files");
    std::fs::create_dir_all(&work).unwrap();
    let shots = std::env::var("KYSO_E2E_SCREENSHOTS")
        .map(|p| workspace().join(p))
        .unwrap_or_else(|_| workspace().join("target/e2e-screenshots/incoming"));
    let browser_started = Instant::now();
    let out = Command::new("node")
        .arg(e2e.join("incoming.mjs"))
        .env("KYSO_URL", server.url(""))
        .env("KYSO_PASSWORD", PASSWORD)
        .env("KYSO_DOCS", serde_json::Value::Array(docs).to_string())
        .env("KYSO_SIGNER_AGENT", &signer_agent.addr)
        .env("KYSO_CLERK_AGENT", &clerk_agent.addr)
        .env("KYSO_WORK", &work)
        .env("KYSO_SENDER_NAME", "Sở Khoa học và Công nghệ tỉnh Demo")
        .env("KYSO_SENDER_CODE", DOST)
        .env("KYSO_UNIT", UNIT)
        .env("KYSO_SCREENSHOTS", &shots)
        .env("CHROMIUM", crate::e2e::chromium())
        .output()
        .unwrap();
    let browser_time = browser_started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let signer_requests = signer_agent.requests();
    let clerk_requests = clerk_agent.requests();
    let signer_log = signer_agent.stop();
    let clerk_log = clerk_agent.stop();
    assert!(
        out.status.success() && stdout.contains("e2e incoming: all steps passed"),
        "browser story failed:\n{stdout}\n{}\n--- signer's agent:\n{signer_log}\n--- clerk's agent:\n{clerk_log}",
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{stdout}");
    // Each official was asked at the agent's terminal once per document.
    assert_eq!(signer_requests.len(), 2, "{signer_log}");
    assert_eq!(clerk_requests.len(), 2, "{clerk_log}");
    for log in [&signer_log, &clerk_log] {
        assert!(!log.contains(PIN), "the PIN appears in the agent's output");
    }
    for name in [
        "vb-den-01-hang-doi",
        "vb-den-02-dien-thoai",
        "vb-den-03-bao-cao-kiem-tra",
        "vb-den-04-vao-so",
        "vb-den-05-giao-xu-ly",
        "vb-den-06-hoan-thanh",
        "vb-den-07-noi-gui-thay-ly-do",
        "vb-den-08-ban-bi-sua",
        "vb-den-09-tu-choi",
    ] {
        assert!(
            shots.join(format!("{name}.png")).is_file(),
            "screenshot {name}"
        );
    }

    // What the API says afterwards: B's first document completed (06) with its arrival
    // number, the second and the tampered copy refused (02), the copy invalid.
    let clerk_b = token("van.thu.tc");
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/incoming?agency_id={finance}&state=completed"),
        &clerk_b,
        None,
    );
    assert_eq!(status, 200, "{v}");
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["status_code"], "06", "{v}");
    assert!(items[0]["arrival_number"].as_i64().is_some(), "{v}");
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/incoming?agency_id={finance}&state=refused"),
        &clerk_b,
        None,
    );
    assert_eq!(status, 200, "{v}");
    let refused = v.as_array().unwrap();
    assert_eq!(refused.len(), 2, "{v}");
    assert!(
        refused
            .iter()
            .any(|d| d["verdict"] == "failed" && d["channel"] == "upload"),
        "{v}"
    );
    println!(
        "e2e incoming: whole test {:.1} s, of which the browser story {:.1} s",
        started.elapsed().as_secs_f64(),
        browser_time.as_secs_f64()
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
