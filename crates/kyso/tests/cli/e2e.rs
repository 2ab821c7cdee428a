//! The web UI in a real browser: `tests/e2e/run.mjs` (playwright-core driving Debian's
//! chromium) against a fresh `kyso serve`. `scripts/setup-test-env.sh` installs chromium and the
//! Node packages; `scripts/test.sh` sets `KYSO_REQUIRE_ALL=1`, so there a missing browser fails
//! the test; elsewhere it is a listed skip (`kyso_testkit`). Screenshots go to `target/e2e-screenshots/`
//! (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes the ones the README shows).

use std::path::Path;
use std::process::Command;

use crate::common::workspace;
use crate::serve::Serve;

pub(crate) fn missing_tools(e2e: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node".into());
    }
    if !Path::new(&chromium()).exists() {
        return Some(chromium());
    }
    if !e2e.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "{}/node_modules/playwright-core (npm ci)",
            e2e.display()
        ));
    }
    None
}

pub(crate) fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// A certificate nobody registered yet, as a PEM file.
fn fresh_certificate(dir: &Path, cn: &str, file: &str) -> std::path::PathBuf {
    let key = dir.join(format!("{file}.key"));
    let cert = dir.join(file);
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "700",
        ])
        .args([
            "-subj",
            &format!("/CN={cn}/O=Tỉnh Demo/C=VN"),
            "-utf8",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cert
}

#[test]
fn a_clerk_uses_the_web_ui_in_a_real_browser() {
    let e2e = workspace().join("tests/e2e");
    if let Some(missing) = missing_tools(&e2e) {
        kyso_testkit::skip(&missing);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(&data, &[]);
    let shots = std::env::var("KYSO_E2E_SCREENSHOTS")
        .map(|p| workspace().join(p))
        .unwrap_or_else(|_| workspace().join("target/e2e-screenshots"));
    let out = Command::new("node")
        .arg(e2e.join("run.mjs"))
        .env("KYSO_URL", server.url(""))
        .env("KYSO_ADMIN_PASSWORD", server.admin_password())
        .env("KYSO_NEW_PASSWORD", crate::serve::NEW_PASSWORD)
        .env("KYSO_OTHER_USER", "canbo.taichinh")
        .env("KYSO_OTHER_PASSWORD", "tai-chinh-mat-khau-2026")
        .env(
            "KYSO_CERT_FILE",
            fresh_certificate(tmp.path(), "Đặng Thị Ánh Tuyết", "tuyet.pem"),
        )
        .env("KYSO_DUP_CERT_FILE", data.join("demo-pki/personal.pem"))
        .env("KYSO_SCREENSHOTS", &shots)
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser story failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("e2e: all steps passed"), "{stdout}");
    for name in [
        "01-dang-nhap",
        "02-tong-quan",
        "06-thue-bao-chung-thu",
        "09-truy-cap-trai-phep",
        "11-de-nghi-gia-han",
    ] {
        assert!(
            shots.join(format!("{name}.png")).is_file(),
            "screenshot {name}"
        );
    }
}
