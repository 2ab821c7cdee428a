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

use std::process::Command;
use std::time::Instant;

use kyso_domain::calendar::WorkCalendar;
use kyso_domain::lifecycle::RequestKind;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::common::{pyhanko_trusting, workspace};
use crate::e2e_documents::{
    agency_id, department_accounts, department_tokens, missing_tools, Tokens, DOST, PASSWORD,
};
use crate::serve::{demo_admin, Serve, NEW_PASSWORD};
use crate::token::PIN;

/// The national CA's identifier code in the demo's request-recipients setting.
const NATIONAL_CA: &str = "G11.07.05";

fn rfc3339(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_default(), &Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time: {v} ({e})"))
}

#[test]
fn a_request_letter_is_made_signed_on_two_tokens_numbered_and_dispatched_in_the_browser() {
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

    // The demo's Department numbers its công văn (request letters among them) in its own
    // register, and its letters to the national CA are addressed by code.
    let admin = demo_admin(&server);
    let dost = agency_id(&server, &admin, DOST);
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/agencies/{dost}/document-registers"),
        &admin,
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
    let (status, v) = server.api("GET", "/api/v1/request-recipients", &admin, None);
    assert_eq!(
        (status, v["national_ca"].as_str()),
        (200, Some(NATIONAL_CA)),
        "{v}"
    );

    department_accounts(&server, &admin, dost);
    // The Department's signature officer drafts its documents too: he makes the letter.
    let (status, v) = server.api("GET", "/api/v1/users", &admin, None);
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
        &admin,
        Some(&json!({"role": "signature_officer", "agency_id": dost})),
    );
    assert_eq!(status, 200, "{v}");

    // Two tokens and their agents: the Deputy Director's personal key, the Department's
    // organization key.
    let Tokens {
        signer: signer_agent,
        clerk: clerk_agent,
        signer_hsm: _signer_hsm,
        clerk_hsm: _clerk_hsm,
    } = department_tokens(&origin, &demo_pki, None);

    let shots = std::env::var("KYSO_E2E_SCREENSHOTS")
        .map(|p| workspace().join(p))
        .unwrap_or_else(|_| workspace().join("target/e2e-screenshots/request-letter"));
    let issued = tmp.path().join("cong-van-de-nghi-da-phat-hanh.pdf");
    let browser_started = Instant::now();
    let out = Command::new("node")
        .arg(e2e.join("request_letter.mjs"))
        .env("KYSO_URL", server.url(""))
        .env("KYSO_PASSWORD", PASSWORD)
        .env("KYSO_ADMIN_PASSWORD", NEW_PASSWORD)
        .env("KYSO_SIGNER_AGENT", &signer_agent.addr)
        .env("KYSO_CLERK_AGENT", &clerk_agent.addr)
        .env("KYSO_ISSUED_FILE", &issued)
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
        out.status.success() && stdout.contains("e2e request letter: all steps passed"),
        "browser story failed:\n{stdout}\n{}\n--- signer's agent:\n{signer_log}\n--- clerk's agent:\n{clerk_log}",
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{stdout}");

    // Each official was asked once at the agent's terminal: the approval, then the seal with
    // the number given; no PIN in anything they printed.
    assert_eq!(signer_requests.len(), 1, "{signer_log}");
    assert_eq!(clerk_requests.len(), 1, "{clerk_log}");
    assert!(signer_requests[0].contains("Ký phê duyệt"), "{signer_log}");
    assert!(
        clerk_requests[0].contains("Đóng dấu phát hành"),
        "{clerk_log}"
    );
    for log in [&signer_log, &clerk_log] {
        assert!(
            !log.contains(PIN),
            "the PIN appears in the agent's output: {log}"
        );
    }
    for name in [
        "cong-van-de-nghi-01-de-nghi-da-duyet",
        "cong-van-de-nghi-02-du-thao",
        "cong-van-de-nghi-03-ky-ca-nhan",
        "cong-van-de-nghi-04-phat-hanh",
        "cong-van-de-nghi-05-de-nghi-da-gui",
    ] {
        assert!(
            shots.join(format!("{name}.png")).is_file(),
            "screenshot {name}"
        );
    }

    // The request, as the API shows it: sent by the dispatch of its letter, its deadline the
    // Mẫu 01 working days counted from then (the demo's calendar is the default one), its
    // letter the sealed file the browser downloaded.
    let shown: Value = serde_json::from_str(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("request letter: "))
            .expect("the story prints the request and its letter"),
    )
    .unwrap();
    let request_id: i64 = shown["request"]
        .as_str()
        .and_then(|p| p.strip_prefix("/requests/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the request's page: {shown}"));
    let (status, v) = server.api(
        "GET",
        &format!("/api/v1/requests/{request_id}"),
        &admin,
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
        clerk_requests[0].contains(&format!("số {number}")),
        "{clerk_log}"
    );

    // The dispatched letter: the Deputy Director's signature followed only by the number and
    // date filled in, then the Department's seal; pyHanko (strict) finds both intact and
    // trusted under the demo root.
    let report = &pyhanko_trusting(&demo_pki.join("root.pem"), &[&issued])[0];
    assert_eq!(report["strict"], true, "{report:#}");
    crate::common::assert_pyhanko_ok(report, 2);
    let sigs = report["signatures"].as_array().unwrap();
    assert!(
        sigs[0]["signer"]
            .as_str()
            .unwrap()
            .contains("Nguyễn Văn An"),
        "{report:#}"
    );
    assert_eq!(sigs[0]["modification_level"], "FORM_FILLING", "{report:#}");
    let (_, verify) = crate::common::verify_json(&issued, &demo_pki.join("root.pem"), &[]);
    assert_eq!(
        verify["numbering"]["number"],
        json!(number),
        "kyso verify reads the page's number: {verify:#}"
    );
    println!(
        "e2e request letter: whole test {:.1} s, of which the browser story {:.1} s",
        started.elapsed().as_secs_f64(),
        browser_time.as_secs_f64()
    );
}
