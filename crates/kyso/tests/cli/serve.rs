//! `kyso serve` and `kyso audit verify` as an administrator meets them: the real binary, a real
//! SQLite file (and PostgreSQL), the API spoken with `curl`, the process killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::kyso;
use crate::pki_serve::free_port;

/// A running `kyso serve`, killed (SIGKILL) on drop.
pub(crate) struct Serve {
    child: Child,
    pub(crate) port: u16,
    /// What the server printed before it listened.
    pub(crate) banner: String,
}

impl Serve {
    pub(crate) fn start(data: &Path, extra: &[&str]) -> Serve {
        Serve::start_with_env(data, extra, &[])
    }

    /// [`Serve::start`] with these environment variables.
    pub(crate) fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Serve {
        let port = free_port();
        let mut child = kyso()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .env_remove("KYSO_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("đang chạy tại") || line.contains("is running at") {
                    let _ = tx.send(banner.clone());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let banner = loop {
            if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
                break b;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("kyso serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "kyso serve did not start");
        };
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Serve {
            child,
            port,
            banner,
        }
    }

    /// The one-time password printed on first start.
    pub(crate) fn admin_password(&self) -> String {
        let line = self
            .banner
            .lines()
            .find(|l| l.contains("mật khẩu dùng một lần:"))
            .unwrap_or_else(|| panic!("no one-time password in:\n{}", self.banner));
        line.rsplit(": ").next().unwrap().trim().to_owned()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Call the API with curl; the status and the JSON answer.
    pub(crate) fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut c = Command::new("curl");
        c.args([
            "-s",
            "-S",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
            &self.url(path),
        ]);
        if !token.is_empty() {
            c.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        if let Some(b) = body {
            c.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &b.to_string(),
            ]);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    pub(crate) fn login(&self, user: &str, password: &str) -> (String, bool) {
        let (status, v) = self.api(
            "POST",
            "/api/v1/auth/login",
            "",
            Some(&json!({"username": user, "password": password})),
        );
        assert_eq!(status, 200, "{v}");
        (
            v["token"].as_str().unwrap().to_owned(),
            v["must_change_password"] == true,
        )
    }

    /// The server's process id (to kill it with SIGKILL from another thread).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// First start of a fresh demo: log in as the administrator with a new password.
pub(crate) fn demo_admin(server: &Serve) -> String {
    let (token, must_change) = server.login("admin", &server.admin_password());
    assert!(must_change);
    let (status, v) = server.api("GET", "/api/v1/dashboard", &token, None);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("password_change_required")),
        "{v}"
    );
    let (status, v) = server.api(
        "POST",
        "/api/v1/me/password",
        &token,
        Some(&json!({"old_password": server.admin_password(), "new_password": NEW_PASSWORD})),
    );
    assert_eq!(status, 204, "{v}");
    server.login("admin", NEW_PASSWORD).0
}

pub(crate) const NEW_PASSWORD: &str = "quan-tri-moi-2026";

fn sqlite(db: &Path, sql: &str) {
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_first_start_seeds_the_demo_and_nothing_committed_is_lost_when_the_server_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(&data, &[]);
    assert!(
        server.banner.contains("Đã tạo 10 cơ quan"),
        "{}",
        server.banner
    );
    assert!(data.join("kyso.db").is_file() && data.join("blobs").is_dir());
    let token = demo_admin(&server);
    let (status, dash) = server.api("GET", "/api/v1/dashboard", &token, None);
    assert_eq!(status, 200);
    assert!(dash["certificates_active"].as_i64().unwrap() >= 4, "{dash}");
    assert_eq!(
        dash["expired"], 1,
        "the demo PKI's expired certificate: {dash}"
    );
    let (_, found) = server.api(
        "GET",
        "/api/v1/subscribers?q=nguyen%20van%20an",
        &token,
        None,
    );
    assert_eq!(found["items"][0]["name"], "Nguyễn Văn An", "{found}");

    // Writers race, and the server is killed in the middle of them.
    let (_, agencies) = server.api("GET", "/api/v1/agencies?q=khoa%20hoc", &token, None);
    let agency = agencies["items"][0]["id"].as_i64().unwrap();
    // Twelve clerks each file ten subscribers one after the other; the server dies while they
    // are at it. Every creation the server acknowledged (201) must survive; none may be half
    // written (the audit chain below checks every stored row has its entry).
    let writers: Vec<_> = (0..12)
        .map(|w| {
            let url = server.url("/api/v1/subscribers");
            let token = token.clone();
            std::thread::spawn(move || {
                (0..10)
                    .filter(|i| {
                        let body = json!({"kind": "individual", "agency_id": agency,
                                          "name": format!("Người thứ {w}-{i}")})
                        .to_string();
                        Command::new("curl")
                            .args([
                                "-s",
                                "-o",
                                "/dev/null",
                                "-w",
                                "%{http_code}",
                                "-X",
                                "POST",
                                &url,
                            ])
                            .args(["-H", &format!("Authorization: Bearer {token}")])
                            .args([
                                "-H",
                                "Content-Type: application/json",
                                "--data-binary",
                                &body,
                            ])
                            .output()
                            .is_ok_and(|o| o.stdout == b"201")
                    })
                    .count()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    server.kill();
    let acknowledged: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(
        acknowledged < 120,
        "the kill came after every request: make the test slower"
    );

    let server = Serve::start(&data, &[]);
    assert!(
        !server.banner.contains("mật khẩu dùng một lần"),
        "printed only once:\n{}",
        server.banner
    );
    let (token, must_change) = server.login("admin", NEW_PASSWORD);
    assert!(!must_change);
    let (_, page) = server.api(
        "GET",
        "/api/v1/subscribers?q=nguoi%20thu&limit=100",
        &token,
        None,
    );
    let stored = page["total"].as_u64().unwrap() as usize;
    assert!(
        stored >= acknowledged,
        "{acknowledged} creations were acknowledged, {stored} survived"
    );
    assert!(
        stored <= acknowledged + 12,
        "at most one unacknowledged creation per clerk"
    );
    server.kill();
    let out = kyso()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Nhật ký toàn vẹn"),
        "{text}"
    );
}

#[test]
fn audit_verify_names_the_edited_entry_and_a_newer_database_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Serve::start(
        &data,
        &[
            "--no-demo",
            "--root-code",
            "H99",
            "--root-name",
            "UBND Tỉnh Demo",
        ],
    );
    assert!(server.banner.contains("mật khẩu dùng một lần"));
    demo_admin(&server);
    server.kill();
    let db = data.join("kyso.db");
    let verify = || {
        kyso()
            .args(["audit", "verify", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    sqlite(&db, "UPDATE audit_log SET actor = 'ke-gian' WHERE seq = 2;");
    let broken = verify();
    let err = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        err.contains("NHẬT KÝ BỊ THAY ĐỔI") && err.contains('2'),
        "{err}"
    );

    sqlite(&db, "UPDATE kyso_schema SET version = 99;");
    let out = kyso()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a newer database must be refused");
    assert!(
        err.contains("phiên bản lược đồ 99") && err.contains("nâng cấp kyso"),
        "{err}"
    );
    let out = kyso()
        .args(["--lang", "en", "audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("upgrade kyso"));
}

#[test]
fn the_same_server_runs_on_postgresql() {
    let Some(base) = kyso_store::testing::postgres_url() else {
        return; // a listed skip, or a failure under KYSO_REQUIRE_ALL=1
    };
    let schema = format!("kyso_cli_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([&base, "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let url = format!("{base}?options=-c%20search_path%3D{schema}");
    let tmp = tempfile::tempdir().unwrap();
    let server = Serve::start(&tmp.path().join("data"), &["--database-url", &url]);
    assert!(server.banner.contains("PostgreSQL"), "{}", server.banner);
    assert!(!tmp.path().join("data/kyso.db").exists());
    let token = demo_admin(&server);
    let (status, agencies) = server.api("GET", "/api/v1/agencies", &token, None);
    assert_eq!(status, 200);
    assert_eq!(agencies["items"].as_array().unwrap().len(), 10);
    server.kill();
    // The audit key and checkpoints are in the data directory, not in the database.
    let out = kyso()
        .args(["audit", "verify", "--database-url", &url, "--data-dir"])
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn a_token_and_its_certificate_are_registered_from_the_officers_machine() {
    use crate::token::{SoftHsm, MODULE};
    let tmp = tempfile::tempdir().unwrap();
    // The registry accepts certificates of the CLI tests' demo PKI too (its root and
    // intermediate in the trust store), as a province's server trusts the national CA.
    let trust = tmp.path().join("trust");
    std::fs::create_dir_all(&trust).unwrap();
    for f in ["root.pem", "intermediate.pem"] {
        std::fs::copy(crate::common::pki().join(f), trust.join(f)).unwrap();
    }
    let server = Serve::start_with_env(
        &tmp.path().join("data"),
        &[],
        &[("KYSO_TRUST_DIR", trust.as_path())],
    );
    let admin = demo_admin(&server);
    let (status, t) = server.api(
        "POST",
        "/api/v1/tokens",
        &admin,
        Some(&json!({"name": "dang-ky-token", "days": 1})),
    );
    assert_eq!(status, 201);
    let api_token = t["token"].as_str().unwrap().to_owned();
    let (_, found) = server.api(
        "GET",
        "/api/v1/subscribers?q=le%20hoang%20cuong",
        &admin,
        None,
    );
    let holder = found["items"][0]["id"].as_i64().unwrap();

    // A token holding a key and certificate of another (the CLI tests') demo PKI, issued to
    // the same officer.
    let hsm = SoftHsm::new();
    hsm.init_token("to-khcn-01");
    hsm.import_p12(
        "to-khcn-01",
        &crate::common::pki().join("ecdsa.p12"),
        "01",
        "p256",
        &[],
    );
    let register = |extra: &[&str]| {
        hsm.kyso()
            .args([
                "token",
                "register",
                "--pkcs11-module",
                MODULE,
                "--server",
                &server.url(""),
            ])
            .args([
                "--agency",
                "000.00.37.H99",
                "--subscriber",
                &holder.to_string(),
            ])
            .args(extra)
            .env("KYSO_API_TOKEN", &api_token)
            .output()
            .unwrap()
    };
    let out = register(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Đã đăng ký chứng thư số") && text.contains("Đã đăng ký thiết bị"),
        "{text}"
    );
    assert!(!text.contains(&api_token), "the API token is never printed");
    let (_, devices) = server.api("GET", "/api/v1/devices?state=assigned", &admin, None);
    let dev = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["holder_id"] == holder && d["model"].as_str().unwrap_or("").contains("SoftHSM"))
        .cloned()
        .unwrap_or_else(|| panic!("the token is not among the assigned devices: {devices}"));
    assert_eq!(dev["kind"], "token");
    assert!(dev["certificate_id"].as_i64().is_some(), "{dev}");
    let (_, cert) = server.api(
        "GET",
        &format!("/api/v1/certificates/{}", dev["certificate_id"]),
        &admin,
        None,
    );
    assert_eq!(cert["subscriber_id"], holder);
    assert!(
        cert["subject"].as_str().unwrap().contains("Lê Hoàng Cường"),
        "{cert}"
    );

    // Again: both are already there; nothing is written twice.
    let again = register(&[]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success()
            && text.contains("Đã có trong danh mục")
            && text.contains("Thiết bị đã có"),
        "{text}"
    );
    // The same with --json (docs/token-json.md): one object saying so.
    let again = register(&["--json"]);
    assert!(again.status.success());
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["schema"], "kyso.token/1");
    assert_eq!(v["command"], "register");
    assert_eq!(v["agency"], "H99.37");
    assert_eq!(v["certificates"][0]["status"], "already_registered", "{v}");
    assert_eq!(v["device"]["status"], "already_registered", "{v}");
    assert!(
        v["device"]["model"].as_str().unwrap().contains("SoftHSM"),
        "{v}"
    );
    // Without an API token, or for an agency outside the token's reach: one clear line.
    let out = hsm
        .kyso()
        .args([
            "token",
            "register",
            "--pkcs11-module",
            MODULE,
            "--agency",
            "H99.37",
        ])
        .env_remove("KYSO_API_TOKEN")
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("KYSO_API_TOKEN")
    );
}
