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

use serde_json::json;

use crate::e2e_documents::{account, agency_id, department_tokens, letter, Stage, DOST, PASSWORD};

/// The Department of Finance of the demo province: agency B.
const FINANCE: &str = "H99.05";
/// B's unit that handles what it receives.
const UNIT: &str = "Phòng Quản lý ngân sách";

#[test]
fn a_document_sent_by_one_agency_is_verified_registered_assigned_and_completed_by_another() {
    let Some(stage) = Stage::new() else { return };
    let (server, admin, dost) = (&stage.server, &stage.admin, stage.dost);

    // A: the people of the outgoing flow (the stage's) and its register; B: the clerk, the
    // Director and the officer of a new unit.
    let finance = agency_id(server, admin, FINANCE);
    let (status, v) = server.api(
        "POST",
        "/api/v1/document-registers",
        admin,
        Some(
            &json!({"agency_id": dost, "code": "VBĐ", "name": "Sổ văn bản đi",
                     "issuer_abbrev": "SKHCN", "doc_types": []}),
        ),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.api(
        "POST",
        "/api/v1/agencies",
        admin,
        Some(&json!({"code": "H99.05.01", "name": UNIT, "kind": "unit", "parent_id": finance})),
    );
    assert_eq!(status, 201, "{v}");
    let unit = v["id"].as_i64().unwrap();
    for (user, name, role, at) in [
        ("van.thu.tc", "Phạm Thu Hà", "clerk", finance),
        ("giam.doc.tc", "Vũ Đức Thắng", "signer", finance),
        ("chuyen.vien.ns", "Ngô Thanh Tâm", "reviewer", unit),
    ] {
        account(server, admin, at, user, name, "", role);
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
    let tokens = department_tokens(&stage.origin, &stage.demo_pki, None);

    let work = stage.tmp.path().join("files");
    std::fs::create_dir_all(&work).unwrap();
    let shots = crate::e2e::screenshots("incoming");
    let told = stage.run_with_agents(
        "incoming.mjs",
        "e2e incoming: all steps passed",
        &shots,
        (tokens.signer, tokens.clerk),
        &[
            ("KYSO_DOCS", &serde_json::Value::Array(docs).to_string()),
            ("KYSO_WORK", &work),
            ("KYSO_SENDER_NAME", &"Sở Khoa học và Công nghệ tỉnh Demo"),
            ("KYSO_SENDER_CODE", &DOST),
            ("KYSO_UNIT", &UNIT),
        ],
    );
    // Each official was asked at the agent's terminal once per document.
    assert_eq!(told.signer_requests.len(), 2, "{}", told.signer_log);
    assert_eq!(told.clerk_requests.len(), 2, "{}", told.clerk_log);
    crate::e2e::assert_screenshots(
        &shots,
        &[
            "vb-den-01-hang-doi",
            "vb-den-02-dien-thoai",
            "vb-den-03-bao-cao-kiem-tra",
            "vb-den-04-vao-so",
            "vb-den-05-giao-xu-ly",
            "vb-den-06-hoan-thanh",
            "vb-den-07-noi-gui-thay-ly-do",
            "vb-den-08-ban-bi-sua",
            "vb-den-09-tu-choi",
        ],
    );

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
    stage.report_time("incoming", &told);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
