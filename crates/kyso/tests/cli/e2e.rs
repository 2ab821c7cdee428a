//! The web UI in a real browser: `tests/e2e/run.mjs` (playwright-core driving Debian's
//! chromium) against a fresh `kyso serve`. `scripts/setup-test-env.sh` installs chromium and the
//! Node packages; `scripts/test.sh` sets `KYSO_REQUIRE_ALL=1`, so there a missing browser fails
//! the test; elsewhere it is a listed skip (`kyso_testkit`). Screenshots go to `target/e2e-screenshots/`
//! (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes the ones the README shows).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// A fresh `kyso serve` on the demo data for a browser story: its temporary folder, its data
/// directory and the server. `None` (a listed skip; a failure under `KYSO_REQUIRE_ALL=1`) when
/// `missing` (the story's tools checked on `tests/e2e`) names a missing tool.
pub(crate) fn fresh_server(
    missing: impl FnOnce(&Path) -> Option<String>,
) -> Option<(tempfile::TempDir, PathBuf, Serve)> {
    if let Some(missing) = missing(&workspace().join("tests/e2e")) {
        kyso_testkit::skip(&missing);
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(&data, &[]);
    Some((tmp, data, server))
}

/// Where a story's screenshots go: `KYSO_E2E_SCREENSHOTS` (a folder of the workspace, such as
/// `docs/screenshots`) when set, else `target/e2e-screenshots/<folder>`.
pub(crate) fn screenshots(folder: &str) -> PathBuf {
    std::env::var("KYSO_E2E_SCREENSHOTS")
        .map(|p| workspace().join(p))
        .unwrap_or_else(|_| workspace().join("target/e2e-screenshots").join(folder))
}

/// The browser story `tests/e2e/<script>` (node, playwright-core, chromium) with `env`, its
/// screenshots into `shots`: what it printed and how it ended.
pub(crate) fn run_story(script: &str, shots: &Path, env: &[(&str, &dyn AsRef<OsStr>)]) -> Output {
    Command::new("node")
        .arg(workspace().join("tests/e2e").join(script))
        .envs(env.iter().map(|&(k, v)| (k, v.as_ref())))
        .env("KYSO_SCREENSHOTS", shots)
        .env("CHROMIUM", chromium())
        .output()
        .unwrap()
}

/// The story passed: it exited 0 and printed `done` (its last step's line). Its output.
pub(crate) fn assert_story_passed(out: &Output, done: &str, logs: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains(done),
        "browser story failed:\n{stdout}\n{}{logs}",
        String::from_utf8_lossy(&out.stderr),
    );
    stdout
}

/// Every screenshot of `names` (`<name>.png`) is in `shots`.
pub(crate) fn assert_screenshots(shots: &Path, names: &[&str]) {
    for name in names {
        assert!(
            shots.join(format!("{name}.png")).is_file(),
            "screenshot {name}"
        );
    }
}

/// A certificate nobody registered yet, as a PEM file: issued by the server's demo CA (its
/// intermediate, whose key `openssl` takes from the demo's .p12), as the registry accepts only
/// certificates of the CAs it trusts.
fn fresh_certificate(dir: &Path, data: &Path, cn: &str, file: &str) -> std::path::PathBuf {
    let pki = data.join("demo-pki");
    let ca_key = dir.join("ca.key");
    let key = dir.join(format!("{file}.key"));
    let csr = dir.join(format!("{file}.csr"));
    let cert = dir.join(file);
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    run(&[
        os("pkcs12"),
        os("-in"),
        pki.join("intermediate.p12").as_os_str(),
        os("-nocerts"),
        os("-nodes"),
        os("-passin"),
        os("pass:kyso-demo"),
        os("-out"),
        ca_key.as_os_str(),
    ]);
    let subject = format!("/CN={cn}/O=Tỉnh Demo/C=VN");
    run(&[
        os("req"),
        os("-new"),
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:P-256"),
        os("-nodes"),
        os("-subj"),
        std::ffi::OsStr::new(&subject),
        os("-utf8"),
        os("-keyout"),
        key.as_os_str(),
        os("-out"),
        csr.as_os_str(),
    ]);
    run(&[
        os("x509"),
        os("-req"),
        os("-in"),
        csr.as_os_str(),
        os("-CA"),
        pki.join("intermediate.pem").as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAserial"),
        dir.join("ca.srl").as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("700"),
        os("-out"),
        cert.as_os_str(),
    ]);
    cert
}

#[test]
fn a_clerk_uses_the_web_ui_in_a_real_browser() {
    let Some((tmp, data, server)) = fresh_server(missing_tools) else {
        return;
    };
    let shots = screenshots("");
    let cert = fresh_certificate(tmp.path(), &data, "Đặng Thị Ánh Tuyết", "tuyet.pem");
    let admin_password = server.admin_password();
    let dup_cert = data.join("demo-pki/personal.pem");
    let out = run_story(
        "run.mjs",
        &shots,
        &[
            ("KYSO_URL", &server.url("")),
            ("KYSO_ADMIN_PASSWORD", &admin_password),
            ("KYSO_NEW_PASSWORD", &crate::serve::NEW_PASSWORD),
            ("KYSO_OTHER_USER", &"canbo.taichinh"),
            ("KYSO_OTHER_PASSWORD", &"tai-chinh-mat-khau-2026"),
            ("KYSO_CERT_FILE", &cert),
            ("KYSO_DUP_CERT_FILE", &dup_cert),
        ],
    );
    assert_story_passed(&out, "e2e: all steps passed", "");
    assert_screenshots(
        &shots,
        &[
            "01-dang-nhap",
            "02-tong-quan",
            "06-thue-bao-chung-thu",
            "09-truy-cap-trai-phep",
            "11-de-nghi-gia-han",
        ],
    );
}
