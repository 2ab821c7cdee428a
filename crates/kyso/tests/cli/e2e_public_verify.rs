//! Verification for anyone in a real browser: `tests/e2e/public_verify.mjs` (playwright-core
//! driving Debian's chromium) against a fresh `kyso serve`, uploading to `/kiem-tra` a one-page
//! PDF signed by pyHanko with the demo PKI's personal certificate (Nguyễn Văn An, whose root
//! the server trusts) and a copy with one byte of the signed page changed.
//!
//! A listed skip when node, chromium, playwright-core or pyHanko is missing, a failure under
//! `KYSO_REQUIRE_ALL=1` (`scripts/test.sh`). Screenshots go to
//! `target/e2e-screenshots/public_verify` (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes
//! the ones the README shows).

use std::path::Path;
use std::process::Command;

use crate::common::{corpus, run_ok};

/// The demo PKI's password (`kyso_services::demo::DEMO_PASSWORD`): a fixture, not a secret.
const DEMO_PW: &str = "kyso-demo";

/// The browser tools and pyHanko (also `e2e_archive`'s).
pub(crate) fn missing_tools(e2e: &Path) -> Option<String> {
    if let Some(m) = crate::e2e::missing_tools(e2e) {
        return Some(m);
    }
    if Command::new("pyhanko").arg("--version").output().is_err() {
        return Some("pyHanko (python3 -m pip install pyhanko)".into());
    }
    None
}

/// `bytes` with one digit of the first `/MediaBox` changed (inside the signed range).
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut t = bytes.to_vec();
    let at = t.windows(9).position(|w| w == b"/MediaBox").unwrap();
    let digit = at
        + t[at..]
            .iter()
            .position(|b| b.is_ascii_digit() && *b != b'0')
            .unwrap();
    t[digit] = if t[digit] == b'9' { b'8' } else { t[digit] + 1 };
    t
}

#[test]
fn a_visitor_checks_a_pyhanko_signed_pdf_and_a_tampered_copy_on_the_public_page() {
    let Some((tmp, data, server)) = crate::e2e::fresh_server(missing_tools) else {
        return;
    };
    let demo_pki = data.join("demo-pki");

    // pyHanko signs the committed one-page letter with the demo personal certificate.
    let pass = tmp.path().join("pass.txt");
    std::fs::write(&pass, DEMO_PW).unwrap();
    let signed = tmp.path().join("cong-van-da-ky.pdf");
    run_ok(
        Command::new("pyhanko")
            .args([
                "sign",
                "addsig",
                "--field",
                "1/60,60,260,120/ChuKy1",
                "--use-pades",
            ])
            .args(["pkcs12", "--passfile"])
            .arg(&pass)
            .arg(corpus("one-page.pdf"))
            .arg(&signed)
            .arg(demo_pki.join("personal.p12")),
    );
    let bad = tmp.path().join("cong-van-bi-sua.pdf");
    std::fs::write(&bad, tampered(&std::fs::read(&signed).unwrap())).unwrap();

    let shots = crate::e2e::screenshots("public_verify");
    let out = crate::e2e::run_story(
        "public_verify.mjs",
        &shots,
        &[
            ("KYSO_URL", &server.url("")),
            ("KYSO_SIGNED_FILE", &signed),
            ("KYSO_TAMPERED_FILE", &bad),
            ("KYSO_SIGNER", &"Nguyễn Văn An"),
        ],
    );
    let stdout = crate::e2e::assert_story_passed(&out, "e2e public verify: all steps passed", "");
    println!("{stdout}");
    crate::e2e::assert_screenshots(
        &shots,
        &[
            "kiem-tra-01-trang",
            "kiem-tra-02-hop-le",
            "kiem-tra-03-bi-sua",
            "kiem-tra-04-dien-thoai",
        ],
    );
}
