//! One outgoing document from upload to dispatch in a real browser: `tests/e2e/documents.mjs`
//! (playwright-core driving Debian's chromium) against a fresh `kyso serve`, with the two
//! signatures made on two SoftHSM2 tokens through two real `kyso agent` processes — the signer's
//! personal key and the clerk's organization key — and pyHanko (strict) judging the issued file
//! the browser downloaded.
//!
//! The tokens are loaded with `kyso token import` from the demo PKI the server made in its data
//! directory (`demo-pki/personal.p12` is Nguyễn Văn An's certificate, `organization.p12` the
//! Department's), which the demo registry already holds: the server's upload check then finds
//! the signer's certificate through his account's e-mail and the seal through the agency's
//! organization subscriber, as it does for any official. Each agent asks for the PIN at its
//! terminal after showing the request; a thread of this test plays the official there and types
//! it (a line typed earlier would be discarded).
//!
//! A listed skip when node, chromium, playwright-core, SoftHSM2, pdftoppm or pyHanko is missing, a failure
//! under `KYSO_REQUIRE_ALL=1` (`scripts/test.sh`). Screenshots go to `target/e2e-screenshots/documents`
//! (`KYSO_E2E_SCREENSHOTS=docs/screenshots` refreshes the ones the README shows).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use serde_json::{json, Value};

use crate::common::{pyhanko_trusting, run_ok, workspace};
use crate::serve::{demo_admin, Serve};
use crate::token::{SoftHsm, MODULE, PIN};

/// The demo PKI's password (`kyso_services::demo::DEMO_PASSWORD`): a fixture, not a secret.
pub(crate) const DEMO_PW: &str = "kyso-demo";
/// The password every account of the story gets (changed once through the API).
pub(crate) const PASSWORD: &str = "van-ban-di-2026-demo";
/// The Department of Science and Technology of the demo province.
pub(crate) const DOST: &str = "H99.37";

/// A running `kyso agent` on one token, with a thread at its terminal that types the PIN after
/// each signing request appears. Killed on drop.
pub(crate) struct Agent {
    child: Child,
    pub(crate) addr: String,
    requests: Arc<Mutex<Vec<String>>>,
    output: Arc<Mutex<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Agent {
    /// `read_until`: the official reads the request until this file exists (the browser story
    /// writes it once it has a screenshot of the page waiting for the PIN; 60 s at most), then
    /// types the PIN.
    pub(crate) fn start(
        hsm: &SoftHsm,
        token: &str,
        origin: &str,
        demo_pki: &Path,
        extra: &[&str],
        read_until: Option<PathBuf>,
    ) -> Agent {
        let mut child = hsm
            .kyso()
            .args(["agent", "--listen", "127.0.0.1:0", "--allow-origin", origin])
            .args(["--pkcs11-module", MODULE, "--token", token])
            .args(["--pin-env", "KYSO_TEST_PIN", "--trust"])
            .arg(demo_pki.join("root.pem"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let requests = requests.clone();
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    output.lock().unwrap().push_str(&format!("{line}\n"));
                    if let Some((_, rest)) = line.split_once(" ws://127.0.0.1:") {
                        let port = rest.split('/').next().unwrap_or_default().to_owned();
                        let _ = tx.send(port);
                    }
                    // The official reads the request at the terminal and types the PIN.
                    if line.contains("Yêu cầu ký từ") || line.contains("Signing request from")
                    {
                        requests.lock().unwrap().push(line.clone());
                        if let Some(f) = &read_until {
                            let until = Instant::now() + Duration::from_secs(60);
                            while !f.exists() && Instant::now() < until {
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                        if writeln!(stdin, "{PIN}")
                            .and_then(|_| stdin.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the agent on token {token} did not start:\n{}",
                    output.lock().unwrap()
                )
            });
        Agent {
            child,
            addr: format!("127.0.0.1:{port}"),
            requests,
            output,
            stderr: Some(stderr),
        }
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Stop the agent; everything it wrote (terminal and log).
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        format!("{}\n{log}", self.output.lock().unwrap())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn missing_tools(e2e: &Path) -> Option<String> {
    if let Some(m) = crate::e2e::missing_tools(e2e) {
        return Some(m);
    }
    if !Path::new(MODULE).exists() {
        return Some(format!("SoftHSM2 ({MODULE})"));
    }
    if Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("softhsm2-util".into());
    }
    if Command::new("pdftotext").arg("-v").output().is_err() {
        return Some("pdftotext (poppler-utils)".into());
    }
    let pyhanko = Command::new("python3")
        .args(["-c", "import pyhanko.sign.validation"])
        .output();
    if !pyhanko.is_ok_and(|o| o.status.success()) {
        return Some("pyHanko (python3 -m pip install pyhanko)".into());
    }
    None
}

/// A Decree 30 official letter of the Department awaiting its number and date, signed by the
/// Deputy Director for the Director, as kyso-pdf's composer writes it. `second`: the draft
/// corrected after the unit head's return.
pub(crate) fn letter(second: bool) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let body = Style::new(14.0).spacing(1.2);
    let agency = Block::new()
        .text("UBND TỈNH DEMO", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4).unwrap();
    c.spacer(2.0);
    c.columns(
        ("Số: ......../SKHCN-VP", &center(13.0)),
        (
            "Demo, ngày ...... tháng ...... năm 2026",
            &center(13.0).italic(),
        ),
        0.4,
    )
    .unwrap();
    c.spacer(2.0);
    c.paragraph(
        "V/v triển khai ký số văn bản đi trên hệ thống kyso",
        &Style::new(12.0),
    )
    .unwrap();
    c.spacer(6.0);
    c.paragraph("Kính gửi: Sở Tài chính Tỉnh Demo.", &center(14.0))
        .unwrap();
    c.spacer(4.0);
    c.paragraph(
        "Thực hiện Nghị định số 30/2020/NĐ-CP về công tác văn thư, Sở Khoa học và Công nghệ \
         triển khai ký số và phát hành văn bản đi trên hệ thống kyso từ tháng 01 năm 2026.",
        &body,
    )
    .unwrap();
    if second {
        c.paragraph(
            "Sở Khoa học và Công nghệ tổ chức hướng dẫn sử dụng vào 08 giờ 00 ngày 15 tháng 01 \
             năm 2026 tại Hội trường Sở. Đề nghị Quý Sở cử văn thư và lãnh đạo văn phòng tham dự.",
            &body,
        )
        .unwrap();
    } else {
        c.paragraph(
            "Đề nghị Quý Sở cử văn thư tham dự buổi hướng dẫn sử dụng.",
            &body,
        )
        .unwrap();
    }
    c.spacer(10.0);
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold().italic())
        .text("- Như trên;", &Style::new(11.0))
        .text("- Lưu: VT, VP.", &Style::new(11.0));
    let signer = Block::new()
        .text("KT. GIÁM ĐỐC", &center(14.0).bold())
        .text("PHÓ GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Nguyễn Văn An", &center(14.0).bold());
    c.columns_of(&recipients, &signer, 0.45).unwrap();
    c.finish(&Default::default()).unwrap()
}

/// The id of the agency with `code` (the administrator sees the whole province).
pub(crate) fn agency_id(server: &Serve, admin: &str, code: &str) -> i64 {
    let (status, v) = server.api("GET", "/api/v1/agencies", admin, None);
    assert_eq!(status, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code)
        .and_then(|a| a["id"].as_i64())
        .unwrap_or_else(|| panic!("no agency {code}: {v}"))
}

/// An account of the Department with one role; its first password already changed.
pub(crate) fn account(
    server: &Serve,
    admin: &str,
    agency: i64,
    user: &str,
    name: &str,
    email: &str,
    role: &str,
) {
    let (status, v) = server.api(
        "POST",
        "/api/v1/users",
        admin,
        Some(&json!({
            "username": user, "full_name": name, "email": email, "agency_id": agency,
            "password": "mat-khau-ban-dau-2026", "must_change_password": true,
            "roles": [{"role": role, "agency_id": agency}],
        })),
    );
    assert_eq!(status, 201, "{v}");
    let (token, must_change) = server.login(user, "mat-khau-ban-dau-2026");
    assert!(must_change);
    let (status, v) = server.api(
        "POST",
        "/api/v1/me/password",
        &token,
        Some(&json!({"old_password": "mat-khau-ban-dau-2026", "new_password": PASSWORD})),
    );
    assert_eq!(status, 204, "{v}");
}

/// `kyso token import`: the .p12 the CA delivered, loaded onto the official's token.
pub(crate) fn load_token(hsm: &SoftHsm, token: &str, p12: &Path, label: &str) {
    hsm.init_token(token);
    let out = run_ok(
        hsm.kyso()
            .args([
                "token",
                "import",
                "--pkcs11-module",
                MODULE,
                "--token",
                token,
            ])
            .arg("--p12")
            .arg(p12)
            .args([
                "--password-env",
                "KYSO_DEMO_PW",
                "--pin-env",
                "KYSO_TEST_PIN",
            ])
            .args(["--label", label, "--id", "01"])
            .env("KYSO_DEMO_PW", DEMO_PW),
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(label), "{said}");
}

/// The people of the Department's outgoing flow, one role each, with the story's password:
/// the drafter, the unit head, the format checker, the Deputy Director (signer) and the clerk —
/// the signer's and the clerk's e-mails those of their subscribers in the demo registry.
pub(crate) fn department_accounts(server: &Serve, admin: &str, dost: i64) {
    for (user, name, email, role) in [
        ("le.hoang.cuong", "Lê Hoàng Cường", "", "drafter"),
        ("truong.phong.vp", "Đỗ Minh Khoa", "", "reviewer"),
        ("the.thuc.vp", "Hoàng Thị Lan", "", "format_checker"),
        (
            "nguyen.van.an",
            "Nguyễn Văn An",
            "nguyen.van.an@demo.invalid",
            "signer",
        ),
        (
            "tran.thi.binh",
            "Trần Thị Bình",
            "tran.thi.binh@demo.invalid",
            "clerk",
        ),
    ] {
        account(server, admin, dost, user, name, email, role);
    }
}

/// The Department's two tokens and their agents: the Deputy Director's personal key (his
/// signature image, placed at "PHÓ GIÁM ĐỐC") and the Department's organization key (the seal),
/// loaded from the demo PKI onto two SoftHSM2 tokens with a `kyso agent` on each.
pub(crate) struct Tokens {
    pub(crate) signer: Agent,
    pub(crate) clerk: Agent,
    pub(crate) signer_hsm: SoftHsm,
    pub(crate) clerk_hsm: SoftHsm,
}

/// [`Tokens`] for a site at `origin`; `read_until`: as [`Agent::start`]'s, for the signer.
pub(crate) fn department_tokens(
    origin: &str,
    demo_pki: &Path,
    read_until: Option<PathBuf>,
) -> Tokens {
    // Two tokens: the Deputy Director's personal key, the Department's organization key.
    let signer_hsm = SoftHsm::new();
    load_token(
        &signer_hsm,
        "an-ca-nhan",
        &demo_pki.join("personal.p12"),
        "an",
    );
    let clerk_hsm = SoftHsm::new();
    load_token(
        &clerk_hsm,
        "skhcn-co-quan",
        &demo_pki.join("organization.p12"),
        "skhcn",
    );
    let image = |f: &str| demo_pki.join(f).display().to_string();
    let signer = Agent::start(
        &signer_hsm,
        "an-ca-nhan",
        origin,
        demo_pki,
        &[
            "--signature-image",
            &image("signature.png"),
            "--anchor",
            "PHÓ GIÁM ĐỐC",
        ],
        read_until,
    );
    let clerk = Agent::start(
        &clerk_hsm,
        "skhcn-co-quan",
        origin,
        demo_pki,
        &["--seal-image", &image("seal.png")],
        None,
    );
    Tokens {
        signer,
        clerk,
        signer_hsm,
        clerk_hsm,
    }
}

/// What a story of the Department starts from: a fresh `kyso serve` on the demo data, its
/// administrator, and the Department with the people of its outgoing flow
/// ([`department_accounts`]).
pub(crate) struct Stage {
    pub(crate) started: Instant,
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) server: Serve,
    /// The demo PKI the server made in its data directory.
    pub(crate) demo_pki: PathBuf,
    /// The site's address (the agents' allowed origin).
    pub(crate) origin: String,
    /// The administrator's API token.
    pub(crate) admin: String,
    /// The Department's agency id.
    pub(crate) dost: i64,
}

impl Stage {
    /// The stage, or `None` (a listed skip; a failure under `KYSO_REQUIRE_ALL=1`) when a tool
    /// of [`missing_tools`] is missing.
    pub(crate) fn new() -> Option<Stage> {
        let started = Instant::now();
        let (tmp, data, server) = crate::e2e::fresh_server(missing_tools)?;
        let origin = server.url("");
        let admin = demo_admin(&server);
        let dost = agency_id(&server, &admin, DOST);
        department_accounts(&server, &admin, dost);
        Some(Stage {
            started,
            tmp,
            server,
            demo_pki: data.join("demo-pki"),
            origin,
            admin,
            dost,
        })
    }

    /// The browser story `script` with the Department's two agents (`KYSO_SIGNER_AGENT`,
    /// `KYSO_CLERK_AGENT`), the site and the story's password, and `env`: it passed (`done`
    /// printed), and no agent printed the PIN. What it printed, what each agent showed.
    pub(crate) fn run_with_agents(
        &self,
        script: &str,
        done: &str,
        shots: &Path,
        (signer, clerk): (Agent, Agent),
        env: &[(&str, &dyn AsRef<OsStr>)],
    ) -> Told {
        let browser_started = Instant::now();
        let out = {
            let common: [(&str, &dyn AsRef<OsStr>); 4] = [
                ("KYSO_URL", &self.origin),
                ("KYSO_PASSWORD", &PASSWORD),
                ("KYSO_SIGNER_AGENT", &signer.addr),
                ("KYSO_CLERK_AGENT", &clerk.addr),
            ];
            crate::e2e::run_story(script, shots, &[&common[..], env].concat())
        };
        let browser_time = browser_started.elapsed();
        let signer_requests = signer.requests();
        let clerk_requests = clerk.requests();
        let signer_log = signer.stop();
        let clerk_log = clerk.stop();
        let stdout = crate::e2e::assert_story_passed(
            &out,
            done,
            &format!("\n--- signer's agent:\n{signer_log}\n--- clerk's agent:\n{clerk_log}"),
        );
        println!("{stdout}");
        for log in [&signer_log, &clerk_log] {
            assert!(
                !log.contains(PIN),
                "the PIN appears in the agent's output: {log}"
            );
        }
        Told {
            stdout,
            signer_requests,
            clerk_requests,
            signer_log,
            clerk_log,
            browser_time,
        }
    }

    /// The test's and the browser story's times.
    pub(crate) fn report_time(&self, story: &str, told: &Told) {
        println!(
            "e2e {story}: whole test {:.1} s, of which the browser story {:.1} s",
            self.started.elapsed().as_secs_f64(),
            told.browser_time.as_secs_f64()
        );
    }
}

/// A story run with the Department's agents ([`Stage::run_with_agents`]).
pub(crate) struct Told {
    pub(crate) stdout: String,
    /// The requests the signer's and the clerk's agents showed at their terminals.
    pub(crate) signer_requests: Vec<String>,
    pub(crate) clerk_requests: Vec<String>,
    /// Everything each agent wrote.
    pub(crate) signer_log: String,
    pub(crate) clerk_log: String,
    pub(crate) browser_time: Duration,
}

impl Told {
    /// The JSON the story printed on its line starting with `prefix`.
    pub(crate) fn shown(&self, prefix: &str) -> Value {
        serde_json::from_str(
            self.stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("the story prints a line {prefix:?}")),
        )
        .unwrap()
    }

    /// Each official was asked once at the agent's terminal: the signer for the approval
    /// (`Ký phê duyệt`), the clerk for the seal with the number given (`Đóng dấu phát hành`).
    pub(crate) fn assert_one_approval_and_one_seal(&self) {
        assert_eq!(self.signer_requests.len(), 1, "{}", self.signer_log);
        assert_eq!(self.clerk_requests.len(), 1, "{}", self.clerk_log);
        assert!(
            self.signer_requests[0].contains("Ký phê duyệt"),
            "{}",
            self.signer_log
        );
        assert!(
            self.clerk_requests[0].contains("Đóng dấu phát hành"),
            "{}",
            self.clerk_log
        );
    }
}

/// The issued file `issued`: two signatures (the Deputy Director's, then the Department's over
/// the number and date) that pyHanko (strict) finds intact and trusted under the demo root, the
/// personal one followed only by form filling. pyHanko's report.
pub(crate) fn assert_issued_by_the_department(demo_pki: &Path, issued: &Path) -> Value {
    let report = pyhanko_trusting(&demo_pki.join("root.pem"), &[issued]).remove(0);
    assert_eq!(report["strict"], true, "{report:#}");
    crate::common::assert_pyhanko_ok(&report, 2);
    let sigs = report["signatures"].as_array().unwrap();
    assert!(
        sigs[0]["signer"]
            .as_str()
            .unwrap()
            .contains("Nguyễn Văn An"),
        "{report:#}"
    );
    assert_eq!(sigs[0]["modification_level"], "FORM_FILLING", "{report:#}");
    report
}

#[test]
fn an_outgoing_document_goes_from_upload_to_dispatch_signed_on_two_tokens_through_kyso_agent() {
    // The administrator opens the accounts of the people the document passes through (the
    // demo's Department numbers its công văn in its own register, "…/SKHCN-VP"). The signer's
    // and the clerk's e-mails are those of their subscribers in the registry.
    let Some(stage) = Stage::new() else { return };
    let (tmp, demo_pki) = (&stage.tmp, &stage.demo_pki);

    let work = tmp.path().join("files");
    std::fs::create_dir_all(&work).unwrap();
    let pin_screenshot = work.join("pin-screenshot-taken");
    let Tokens {
        signer: signer_agent,
        clerk: clerk_agent,
        signer_hsm,
        clerk_hsm: _clerk_hsm,
    } = department_tokens(&stage.origin, demo_pki, Some(pin_screenshot.clone()));

    let first = work.join("du-thao-cong-van.pdf");
    let second = work.join("du-thao-cong-van-sua.pdf");
    std::fs::write(&first, letter(false)).unwrap();
    std::fs::write(&second, letter(true)).unwrap();
    let shots = crate::e2e::screenshots("documents");
    let issued = work.join("van-ban-phat-hanh.pdf");

    let told = stage.run_with_agents(
        "documents.mjs",
        "e2e documents: all steps passed",
        &shots,
        (signer_agent, clerk_agent),
        &[
            ("KYSO_DRAFT_FILE", &first),
            ("KYSO_DRAFT2_FILE", &second),
            ("KYSO_WORK", &work),
            ("KYSO_PIN_SCREENSHOT_DONE", &pin_screenshot),
            ("KYSO_ISSUED_FILE", &issued),
            // For the tampered upload: the signer's own token, signed with `kyso sign` outside
            // the agent, then one byte changed.
            ("KYSO_BIN", &env!("CARGO_BIN_EXE_kyso")),
            ("KYSO_PKCS11_MODULE", &MODULE),
            ("KYSO_SIGNER_TOKEN", &"an-ca-nhan"),
            (
                "KYSO_SIGNER_SOFTHSM2_CONF",
                &signer_hsm.dir().join("softhsm2.conf"),
            ),
            ("KYSO_TEST_PIN", &PIN),
            ("KYSO_TRUST_DIR", &tmp.path().join("no-trust-store")),
        ],
    );

    // Each official was asked once, at the agent's terminal, for the one signature of theirs:
    // the signer was shown an approval; the clerk the seal with the number given.
    println!(
        "signer's agent showed: {:?}\nclerk's agent showed: {:?}",
        told.signer_requests, told.clerk_requests
    );
    told.assert_one_approval_and_one_seal();
    crate::e2e::assert_screenshots(
        &shots,
        &[
            "dt-01-tai-len-du-thao",
            "dt-02-tra-lai",
            "dt-05-tep-bi-sua-bi-tu-choi",
            "dt-06-cho-nhap-ma-pin",
            "dt-07-ky-ca-nhan",
            "dt-09-ky-so-co-quan",
            "dt-10-phat-hanh",
        ],
    );

    // The issued file the browser downloaded: two signatures (the Deputy Director's, then the
    // Department's over the number and date), pyHanko strict finds both intact and trusted
    // under the demo root, the personal one followed only by form filling.
    let report = assert_issued_by_the_department(demo_pki, &issued);
    let sigs = report["signatures"].as_array().unwrap();
    assert!(sigs.iter().all(|s| s["bottom_line"] == true), "{report:#}");
    // The number and date the page showed are the ones in the file (kyso verify reads them).
    let shown = told.shown("issued: ");
    let (_, verify) = crate::common::verify_json(&issued, &demo_pki.join("root.pem"), &[]);
    let number = shown["number"].as_str().unwrap();
    assert!(
        told.clerk_requests[0].contains(&format!("số {number}")),
        "{}",
        told.clerk_log
    );
    assert_eq!(
        verify["numbering"]["number"], shown["number"],
        "kyso verify's number and notation are the page's: {verify:#}"
    );
    let iso = verify["numbering"]["date"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let parts: Vec<&str> = iso.split('-').collect();
    assert_eq!(parts.len(), 3, "kyso verify's date: {verify:#}");
    let page_date = shown["date"].as_str().unwrap();
    assert!(
        page_date.contains(&iso)
            || page_date.contains(&format!("{}/{}/{}", parts[2], parts[1], parts[0])),
        "kyso verify's date {iso} is the page's {shown}"
    );
    // The issued page as poppler reads it: the notation printed once (the field holds the
    // number alone, the draft prints "/SKHCN-VP" after the dots), the number on the line of
    // "Số:" at its size (the draft's dots stay in the text layer under the field's white
    // background, so poppler reads the number as a word of its own).
    let alone = number
        .strip_suffix("/SKHCN-VP")
        .unwrap_or_else(|| panic!("the register's number {number} ends in /SKHCN-VP"));
    let text = run_ok(
        Command::new("pdftotext")
            .args(["-f", "1", "-l", "1"])
            .arg(&issued)
            .arg("-"),
    );
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert_eq!(text.matches("SKHCN-VP").count(), 1, "{text}");
    let boxes = run_ok(
        Command::new("pdftotext")
            .args(["-bbox", "-f", "1", "-l", "1"])
            .arg(&issued)
            .arg("-"),
    );
    let boxes = String::from_utf8_lossy(&boxes.stdout).into_owned();
    let word_box = |word: &str| -> [f64; 4] {
        let line = boxes
            .lines()
            .find(|l| l.contains(&format!(">{word}</word>")))
            .unwrap_or_else(|| panic!("no word {word:?} on the issued page: {boxes}"));
        let attr = |name: &str| -> f64 {
            let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[at..].split('"').next().unwrap().parse().unwrap()
        };
        [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")]
    };
    let (so, num) = (word_box("Số:"), word_box(alone));
    assert!(
        (num[1] - so[1]).abs() < 0.5 && (num[3] - so[3]).abs() < 0.5 && num[0] > so[2],
        "the number {alone} {num:?} on the line of Số: {so:?}"
    );
    // Kept for a look after the run (the temporary directory goes with the test).
    let kept = workspace().join("target/e2e-documents-van-ban-da-phat-hanh.pdf");
    std::fs::copy(&issued, &kept).unwrap();
    // The issued page as an official sees it: the signature image between the title and the
    // name, the seal over it, the number and date filled (for the README).
    run_ok(
        Command::new("pdftoppm")
            .args(["-png", "-r", "70", "-singlefile", "-f", "1"])
            .arg(&issued)
            .arg(shots.join("dt-11-van-ban-da-phat-hanh")),
    );
    stage.report_time("documents", &told);
}
