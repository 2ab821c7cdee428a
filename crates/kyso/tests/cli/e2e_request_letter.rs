//! A request letter of the registry (issue 17 item 10) through the outgoing-document flow in a
//! real browser: `tests/e2e/request_letter.mjs` (playwright-core driving Debian's chromium)
//! against a fresh `kyso serve` with the demo province, whose Department has its register of
//! outgoing công văn and the request letters' recipients set. This test makes the accounts
//! through the REST API — the Department's signature officer who also drafts, the unit head,
//! the format checker, the Deputy Director (signer) and the clerk — and loads two SoftHSM2
//! tokens for two `kyso agent` processes (`e2e_documents`'s): his personal key and the
//! Department's organization key, whose PINs a thread of this test types. The browser walks an
//! approved request to its dispatched letter; this test then checks through the API that the
//! request was sent by the dispatch — its deadline counted from then in working days, its
//! `letter_sha256` the sealed file the browser downloaded — and pyHanko (strict) judges that
//! file.
//!
//! A listed skip when a tool of `e2e_documents` is missing, a failure under
//! `KYSO_REQUIRE_ALL=1` (`scripts/test.sh`). Screenshots go to
//! `target/e2e-screenshots/request-letter` (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes
//! the ones the README shows).

use kyso_domain::calendar::WorkCalendar;
use kyso_domain::lifecycle::RequestKind;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::e2e_documents::{assert_issued_by_the_department, department_tokens, Stage};
use crate::serve::NEW_PASSWORD;

/// The national CA's identifier code in the demo's request-recipients setting.
const NATIONAL_CA: &str = "G11.07.05";

fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_default(), &Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time: {v} ({e})"))
}

#[test]
fn a_request_letter_is_made_signed_on_two_tokens_numbered_and_dispatched_in_the_browser() {
    // The demo's Department numbers its công văn (request letters among them) in its own
    // register, and its letters to the national CA are addressed by code.
    let Some(stage) = Stage::new() else { return };
    let (server, admin, dost) = (&stage.server, &stage.admin, stage.dost);
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/agencies/{dost}/document-registers"),
        admin,
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["issuer_abbrev"] == "SKHCN" && r["doc_types"] == json!(["cong_van"])),
        "the demo's Department has its register of outgoing công văn: {v}"
    );
    let (status, v) = server.api("GET", "/api/v1/request-recipients", admin, None);
    assert_eq!(
        (status, v["national_ca"].as_str()),
        (200, Some(NATIONAL_CA)),
        "{v}"
    );

    // The Department's signature officer drafts its documents too: he makes the letter.
    let (status, v) = server.api("GET", "/api/v1/users", admin, None);
    assert_eq!(status, 200, "{v}");
    let officer = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "le.hoang.cuong")
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("no account le.hoang.cuong: {v}"));
    let (status, v) = server.api(
        "POST",
        &format!("/api/v1/users/{officer}/roles"),
        admin,
        Some(&json!({"role": "signature_officer", "agency_id": dost})),
    );
    assert_eq!(status, 200, "{v}");

    // Two tokens and their agents: the Deputy Director's personal key, the Department's
    // organization key.
    let tokens = department_tokens(&stage.origin, &stage.demo_pki, None);

    let shots = crate::e2e::screenshots("request-letter");
    let issued = stage.tmp.path().join("cong-van-de-nghi-da-phat-hanh.pdf");
    let told = stage.run_with_agents(
        "request_letter.mjs",
        "e2e request letter: all steps passed",
        &shots,
        (tokens.signer, tokens.clerk),
        &[
            ("KYSO_ADMIN_PASSWORD", &NEW_PASSWORD),
            ("KYSO_ISSUED_FILE", &issued),
        ],
    );

    // Each official was asked once at the agent's terminal: the approval, then the seal with
    // the number given; no PIN in anything they printed.
    told.assert_one_approval_and_one_seal();
    crate::e2e::assert_screenshots(
        &shots,
        &[
            "cong-van-de-nghi-01-de-nghi-da-duyet",
            "cong-van-de-nghi-02-du-thao",
            "cong-van-de-nghi-03-ky-ca-nhan",
            "cong-van-de-nghi-04-phat-hanh",
            "cong-van-de-nghi-05-de-nghi-da-gui",
        ],
    );

    // The request, as the API shows it: sent by the dispatch of its letter, its deadline the
    // Mẫu 01 working days counted from then (the demo's calendar is the default one), its
    // letter the sealed file the browser downloaded.
    let shown = told.shown("request letter: ");
    let request_id: i64 = shown["request"]
        .as_str()
        .and_then(|p| p.strip_prefix("/requests/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the request's page: {shown}"));
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/requests/{request_id}"),
        admin,
        None,
    );
    assert_eq!(status, 200, "{v}");
    // The request's fields are at the top level of its detail.
    let r = &v;
    assert_eq!(r["state"], "sent", "{v:#}");
    assert_eq!(r["kind"], "issue_individual", "{v:#}");
    let sent_at = rfc3339(&r["sent_at"]);
    let days = RequestKind::IssueIndividual.default_deadline_working_days();
    let expected = WorkCalendar::from_config(&Default::default()).add_working_days(sent_at, days);
    assert_eq!(rfc3339(&r["deadline_at"]), expected, "{v:#}");
    let bytes = std::fs::read(&issued).unwrap();
    let sha: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(r["letter_sha256"], json!(sha), "{v:#}");
    let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("send"), Some("tran.thi.binh")),
        "sent by the clerk's dispatch: {v:#}"
    );
    let number = shown["number"].as_str().unwrap();
    assert!(
        told.clerk_requests[0].contains(&format!("số {number}")),
        "{}",
        told.clerk_log
    );

    // The dispatched letter: the Deputy Director's signature followed only by the number and
    // date filled in, then the Department's seal; pyHanko (strict) finds both intact and
    // trusted under the demo root.
    assert_issued_by_the_department(&stage.demo_pki, &issued);
    let (_, verify) = crate::common::verify_json(&issued, &stage.demo_pki.join("root.pem"), &[]);
    assert_eq!(
        verify["numbering"]["number"],
        json!(number),
        "kyso verify reads the page's number: {verify:#}"
    );
    stage.report_time("request letter", &told);
}
