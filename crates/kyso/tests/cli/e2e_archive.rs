//! The archive in a real browser and the hand-over package checked offline: `tests/e2e/archive.mjs`
//! (playwright-core driving Debian's chromium) against a fresh `kyso serve` (the demo province).
//!
//! This test signs the committed one-page letter with pyHanko (the demo personal certificate),
//! uploads it as the Department of Finance's clerk (`POST /api/v1/incoming/upload`), registers it
//! and waits until the server has filed it in the archive (the filing job, in the background).
//! The browser story then finds it without accents, files it into a new dossier, closes the
//! dossier and downloads its package; `kyso archive verify` checks that package offline (intact;
//! the letter's signature valid or, offline, undecided — never invalid), and a copy of the package
//! with one byte of the letter changed is reported as changed (exit code 1).
//!
//! A listed skip when node, chromium, playwright-core or pyHanko is missing, a failure under
//! `KYSO_REQUIRE_ALL=1` (`scripts/test.sh`). Screenshots go to `target/e2e-screenshots/archive`
//! (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes the ones the README shows).

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use serde_json::json;

use crate::common::{corpus, kyso, pyhanko_sign};
use crate::e2e_documents::{account, agency_id, DEMO_PW, PASSWORD};
use crate::serve::demo_admin;

#[test]
fn a_registered_letter_is_found_filed_into_a_dossier_and_handed_over_as_a_package() {
    let Some((tmp, data, server)) =
        crate::e2e::fresh_server(crate::e2e_public_verify::missing_tools)
    else {
        return;
    };
    let demo_pki = data.join("demo-pki");
    let admin = demo_admin(&server);
    let finance = agency_id(&server, &admin, "H99.05");
    account(
        &server,
        &admin,
        finance,
        "van.thu.tc",
        "Phạm Thu Hà",
        "",
        "clerk",
    );
    let (clerk, _) = server.login("van.thu.tc", PASSWORD);

    let signed = tmp.path().join("thong-bao-da-ky.pdf");
    pyhanko_sign(
        &corpus("one-page.pdf"),
        &signed,
        &demo_pki.join("personal.p12"),
        DEMO_PW,
        "1/60,60,260,120/ChuKy1",
        &["--use-pades"],
    );
    let bytes = std::fs::read(&signed).unwrap();
    let (status, v) = server.api(
        "POST",
        "/api/v1/incoming/upload",
        &clerk,
        Some(&json!({
            "agency_id": finance,
            "sender_code": "H99.37",
            "sender_name": "Sở Khoa học và Công nghệ",
            "number": "123",
            "notation": "TB-SKHCN",
            "doc_date": "2026-11-20",
            "doc_type": "Thông báo",
            "subject": "Thông báo lịch gia hạn chứng thư số năm 2027",
            "signer": "Nguyễn Văn An",
            "file_name": "thong-bao.pdf",
            "file_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
        })),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (status, v) = server.api(
        "POST",
        &format!("/api/v1/incoming/{id}/register"),
        &clerk,
        Some(&json!({"reason": "Đã gọi điện xác nhận với Sở Khoa học và Công nghệ"})),
    );
    assert_eq!(status, 200, "{v}");
    // Filed by the server in the background.
    let mut filed = false;
    for _ in 0..100 {
        let (_, v) = server.api("GET", "/api/v1/archive?number=123%2FTB", &clerk, None);
        if v["entries"].as_array().is_some_and(|e| !e.is_empty()) {
            assert_eq!(v["entries"][0]["text_state"], "indexed", "{v}");
            filed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(filed, "the registered letter was never filed");

    let package = tmp.path().join("ho-so.zip");
    let shots = crate::e2e::screenshots("archive");
    let out = crate::e2e::run_story(
        "archive.mjs",
        &shots,
        &[
            ("KYSO_URL", &server.url("")),
            ("KYSO_PASSWORD", &PASSWORD),
            ("KYSO_CLERK", &"van.thu.tc"),
            ("KYSO_SUBJECT_WORDS", &"lich gia han chung thu"),
            ("KYSO_NOTATION", &"123/TB-SKHCN"),
            ("KYSO_PACKAGE_OUT", &package),
        ],
    );
    let stdout = crate::e2e::assert_story_passed(&out, "e2e archive: all steps passed", "");
    println!("{stdout}");
    crate::e2e::assert_screenshots(
        &shots,
        &[
            "luu-tru-01-tim-kiem",
            "luu-tru-02-van-ban",
            "luu-tru-03-ho-so-moi",
            "luu-tru-04-xac-nhan",
            "luu-tru-05-nop-luu",
            "luu-tru-06-dien-thoai",
        ],
    );

    // Offline: intact, the letter's signature not accused (valid, or undecided without the
    // revocation data the file does not carry).
    let root = demo_pki.join("root.pem");
    let checked = kyso()
        .args(["archive", "verify"])
        .arg(&package)
        .arg("--trust")
        .arg(&root)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(matches!(checked.status.code(), Some(0 | 2)), "{said}");
    assert!(said.contains("Hồ sơ 05.TC"), "{said}");
    assert!(said.contains("Gói nguyên vẹn"), "{said}");

    // One byte of the letter changed inside the package: found.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&package).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().to_owned();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        if name.starts_with("van-ban/") && name.ends_with(".pdf") {
            let at = b.windows(9).position(|w| w == b"/MediaBox").unwrap();
            b[at + 1] = b'm';
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&b).unwrap();
    }
    let changed = tmp.path().join("ho-so-bi-sua.zip");
    std::fs::write(&changed, out.finish().unwrap().into_inner()).unwrap();
    let checked = kyso()
        .args(["archive", "verify"])
        .arg(&changed)
        .arg("--trust")
        .arg(&root)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(1), "{said}");
    assert!(said.contains("đã bị thay đổi"), "{said}");
}
