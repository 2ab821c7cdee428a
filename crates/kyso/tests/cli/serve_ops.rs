//! `kyso serve` as operations staff run it (issue 16 items 4 and 5): the real binary with a
//! configuration file, `KYSO_*` variables and secret files; behind a reverse proxy that is
//! trusted or not; probed by `/healthz` and `/readyz`; scraped on its metrics listener; and
//! its whole log, at trace level, searched for secrets.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::kyso;
use crate::pki_serve::free_port;

/// Every variable `kyso serve` reads, removed so that the test's environment cannot leak in.
const SERVE_VARS: &[&str] = &[
    "KYSO_CONFIG",
    "KYSO_LISTEN",
    "KYSO_DATA_DIR",
    "KYSO_DATABASE_URL",
    "KYSO_DATABASE_URL_FILE",
    "KYSO_NO_DEMO",
    "KYSO_ROOT_CODE",
    "KYSO_ROOT_NAME",
    "KYSO_SECURE_COOKIES",
    "KYSO_SMTP_URL",
    "KYSO_SMTP_FROM",
    "KYSO_SMTP_PASSWORD",
    "KYSO_SMTP_PASSWORD_FILE",
    "KYSO_THREADS",
    "KYSO_ORG_KEY",
    "KYSO_ORG_KEY_PASSWORD",
    "KYSO_ORG_KEY_PASSWORD_FILE",
    "KYSO_TRUSTED_PROXY",
    "KYSO_METRICS_LISTEN",
    "KYSO_AUDIT_KEY_FILE",
    "KYSO_AUDIT_CHECKPOINT_FILE",
    "KYSO_LOG_FORMAT",
    "RUST_LOG",
];

fn serve_cmd(args: &[&str], env: &[(&str, &str)], log: &Path) -> Command {
    let mut c = kyso();
    c.arg("serve").args(args);
    for v in SERVE_VARS {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    c
}

/// A running `kyso serve` with its stderr (the log) in a file, killed on drop.
struct Server {
    child: Child,
    port: u16,
    banner: String,
    log: PathBuf,
}

impl Server {
    /// Start; the listen address is read from the banner.
    fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> Server {
        match Server::try_start(args, env, log) {
            Ok(s) => s,
            Err(e) => panic!("kyso serve did not start: {e}"),
        }
    }

    /// Start, or the log of a server that exited.
    fn try_start(args: &[&str], env: &[(&str, &str)], log: &Path) -> Result<Server, String> {
        let mut child = serve_cmd(args, env, log).spawn().unwrap();
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
                return Err(format!(
                    "exited with {status}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            assert!(Instant::now() < deadline, "kyso serve did not start");
        };
        let running = banner
            .lines()
            .find(|l| l.contains("đang chạy tại") || l.contains("is running at"))
            .unwrap_or_default();
        let port: u16 = running
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {banner}"));
        Ok(Server {
            child,
            port,
            banner,
            log: log.to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One-time password of the first administrator.
    fn admin_password(&self) -> String {
        let line = self
            .banner
            .lines()
            .find(|l| l.contains("mật khẩu dùng một lần:"))
            .unwrap_or_else(|| panic!("no one-time password in:\n{}", self.banner));
        line.rsplit(": ").next().unwrap().trim().to_owned()
    }

    /// The log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stop with SIGTERM (a clean stop), wait, and return the whole log.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer as curl saw it.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// `curl` with extra arguments (headers, body, cookie jar).
fn curl(method: &str, url: &str, extra: &[&str]) -> Answer {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("h");
    let out = Command::new("curl")
        .args(["-s", "-S", "-X", method, "-D"])
        .arg(&head)
        .args(["-w", "\n%{http_code}", url])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    Answer {
        status: code.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(&head).unwrap_or_default(),
        body: body.to_owned(),
    }
}

fn api(server: &Server, method: &str, path: &str, token: &str, body: Option<&Value>) -> Answer {
    let mut extra: Vec<String> = Vec::new();
    if !token.is_empty() {
        extra.extend(["-H".into(), format!("Authorization: Bearer {token}")]);
    }
    if let Some(b) = body {
        extra.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            b.to_string(),
        ]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    curl(method, &server.url(path), &extra)
}

/// Log in through the API, optionally through a "proxy" header.
fn login(server: &Server, user: &str, password: &str, xff: Option<&str>) -> Answer {
    let body = json!({"username": user, "password": password}).to_string();
    let mut extra = vec![
        "-H".to_owned(),
        "Content-Type: application/json".to_owned(),
        "--data-binary".to_owned(),
        body,
    ];
    if let Some(x) = xff {
        extra.extend(["-H".into(), format!("X-Forwarded-For: {x}")]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    curl("POST", &server.url("/api/v1/auth/login"), &extra)
}

/// A fresh server without demo data (quick to start): root agency H41, administrator
/// `admin` with the one-time password of the banner.
const NO_DEMO: &[&str] = &[
    "--no-demo",
    "--root-code",
    "H41",
    "--root-name",
    "UBND Tỉnh Thử",
];

const NEW_PASSWORD: &str = "Quan-Tri-Vien-Moi-2026!";

/// Change the one-time password of `admin` and log in again: a session token.
fn admin_session(server: &Server, xff: Option<&str>) -> String {
    let first = login(server, "admin", &server.admin_password(), xff);
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.json()["token"].as_str().unwrap().to_owned();
    let changed = api(
        server,
        "POST",
        "/api/v1/me/password",
        &token,
        Some(&json!({"old_password": server.admin_password(), "new_password": NEW_PASSWORD})),
    );
    assert_eq!(changed.status, 204, "{}", changed.body);
    let again = login(server, "admin", NEW_PASSWORD, xff);
    assert_eq!(again.status, 200, "{}", again.body);
    again.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn options_come_from_the_command_line_then_the_environment_then_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (p_file, p_env, p_cli) = (free_port(), free_port(), free_port());
    let config = tmp.path().join("kyso.toml");
    std::fs::write(
        &config,
        format!(
            "# kyso serve\nlisten = \"127.0.0.1:{p_file}\"\ndata-dir = \"from-file\"\n\
             no-demo = true\nroot-code = \"H41\"\nroot-name = \"UBND Tỉnh Thử\"\n\
             trusted-proxy = [\"10.0.0.0/8\"]\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let log = tmp.path().join("log");

    // The file alone; its relative data-dir is relative to the file's folder.
    let s = Server::start(&["--config", config], &[], &log);
    assert_eq!(s.port, p_file, "{}", s.banner);
    let db = tmp.path().join("from-file/kyso.db");
    assert!(s.banner.contains(&db.display().to_string()), "{}", s.banner);
    drop(s);

    // The environment beats the file (KYSO_CONFIG names the file too).
    let env_dir = tmp.path().join("from-env");
    let env_port = format!("127.0.0.1:{p_env}");
    let env = [
        ("KYSO_CONFIG", config),
        ("KYSO_LISTEN", env_port.as_str()),
        ("KYSO_DATA_DIR", env_dir.to_str().unwrap()),
    ];
    let s = Server::start(&[], &env, &log);
    assert_eq!(s.port, p_env, "{}", s.banner);
    assert!(
        s.banner
            .contains(&env_dir.join("kyso.db").display().to_string()),
        "{}",
        s.banner
    );
    drop(s);

    // The command line beats both.
    let cli_port = format!("127.0.0.1:{p_cli}");
    let s = Server::start(&["--listen", &cli_port], &env, &log);
    assert_eq!(s.port, p_cli, "{}", s.banner);
    drop(s);

    // A misspelt option in the file is refused with its name.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:1\"\ntrusted-proxies = []\n").unwrap();
    let out = kyso()
        .args(["--lang", "en", "serve", "--config"])
        .arg(&bad)
        .env_remove("KYSO_LISTEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trusted-proxies"), "{err}");
}

#[test]
fn the_organization_key_password_is_read_from_a_secret_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("log");
    // A first start makes the demo PKI and its organization key (password "kyso-demo").
    let port = format!("127.0.0.1:{}", free_port());
    let s = Server::start(
        &[
            "--listen",
            port.as_str(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
        &log,
    );
    drop(s);
    let key = data.join("demo-pki/organization.p12");
    assert!(key.is_file());
    let secret = tmp.path().join("org-key-password");
    let config = tmp.path().join("kyso.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = \"data\"\norg-key = [\"H99.37=data/demo-pki/organization.p12\"]\n\
             org-key-password-file = \"org-key-password\"\nlisten = \"{port}\"\n"
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap(), "--lang", "en"];

    // A wrong password in the file: refused at start, naming the key.
    std::fs::write(&secret, "not-the-password\n").unwrap();
    let err = Server::try_start(&args, &[], &log)
        .err()
        .expect("started with a wrong password");
    assert!(err.contains("--org-key H99.37="), "{err}");
    assert!(err.contains("wrong password"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");

    // The right one, with the line break an editor leaves: the server starts.
    std::fs::write(&secret, "kyso-demo\n").unwrap();
    let s = Server::start(&args, &[], &log);
    drop(s);

    // The file named on the command line wins over KYSO_ORG_KEY_PASSWORD and the config file.
    let other = tmp.path().join("other");
    std::fs::write(&other, "kyso-demo").unwrap();
    std::fs::write(&secret, "wrong\n").unwrap();
    let mut with_cli = args.to_vec();
    with_cli.extend(["--org-key-password-file", other.to_str().unwrap()]);
    let s = Server::start(&with_cli, &[("KYSO_ORG_KEY_PASSWORD", "also-wrong")], &log);
    drop(s);
    // The variable beats the config file's secret file.
    let s = Server::start(&args, &[("KYSO_ORG_KEY_PASSWORD", "kyso-demo")], &log);
    drop(s);
}

#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    for trusted in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        let range = if trusted { "127.0.0.0/8" } else { "10.0.0.0/8" };
        let port = format!("127.0.0.1:{}", free_port());
        let mut args = vec!["--listen", port.as_str(), "--data-dir"];
        let data = tmp.path().join("data");
        args.push(data.to_str().unwrap());
        args.extend(NO_DEMO);
        args.extend(["--trusted-proxy", range]);
        let s = Server::start(&args, &[], &log);

        // The administrator's logins come "through the proxy" from 203.0.113.5.
        let token = admin_session(&s, Some("203.0.113.5"));
        let entries = api(&s, "GET", "/api/v1/audit?action=auth.login", &token, None);
        assert_eq!(entries.status, 200, "{}", entries.body);
        let sources: Vec<String> = entries.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source"].as_str().unwrap().to_owned())
            .collect();
        let expected = if trusted { "203.0.113.5" } else { "127.0.0.1" };
        assert!(!sources.is_empty());
        assert!(
            sources.iter().all(|s| s == expected),
            "trusted={trusted}: {sources:?}"
        );

        // Ten failed logins of one client fill its bucket; another client behind the same
        // proxy has its own only when the proxy is trusted.
        for _ in 0..10 {
            login(&s, "khong-co-ai", "sai", Some("198.51.100.1"));
        }
        assert_eq!(
            login(&s, "khong-co-ai", "sai", Some("198.51.100.1")).status,
            429
        );
        let other = login(&s, "khong-co-ai", "sai", Some("198.51.100.2")).status;
        assert_eq!(other, if trusted { 401 } else { 429 }, "trusted={trusted}");

        // The access log names the same client address.
        let log = s.stop();
        let line = log
            .lines()
            .rfind(|l| l.contains("kyso_web::access") && l.contains("/api/v1/auth/login"))
            .unwrap_or_else(|| panic!("no access line in\n{log}"));
        let client = if trusted { "198.51.100.2" } else { "127.0.0.1" };
        assert!(line.contains(&format!("client={client}")), "{line}");
    }
}

/// A TCP relay to PostgreSQL that the test can cut: the database "goes away".
struct Relay {
    port: u16,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let stop: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let (c, st) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if st.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let pipe = |mut a: TcpStream, mut b: TcpStream| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = a.read(&mut buf) {
                            if n == 0 || b.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = b.shutdown(std::net::Shutdown::Both);
                    });
                };
                {
                    let mut list = c.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(server.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay { port, conns, stop }
    }

    /// Refuse new connections and cut the open ones.
    fn cut(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn health_and_readiness_and_the_database_gone() {
    let Some(base) = kyso_store::testing::postgres_url() else {
        return; // a listed skip, or a failure under KYSO_REQUIRE_ALL=1
    };
    // postgres://user@HOST:PORT/db → the relay in place of HOST:PORT.
    let (head, rest) = base.split_once('@').unwrap();
    let (hostport, tail) = rest.split_once('/').unwrap();
    let relay = Relay::start(hostport.to_owned());
    let schema = format!("kyso_ready_{}", std::process::id());
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
    let url = format!(
        "{head}@127.0.0.1:{}/{tail}?options=-c%20search_path%3D{schema}",
        relay.port
    );
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    // The URL (it could hold a password) comes from a secret file.
    let url_file = tmp.path().join("db-url");
    std::fs::write(&url_file, format!("{url}\n")).unwrap();
    let data = tmp.path().join("data");
    let mut args = vec![
        "--listen".to_owned(),
        format!("127.0.0.1:{}", free_port()),
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--database-url-file".to_owned(),
        url_file.display().to_string(),
    ];
    args.extend(NO_DEMO.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start(&args, &[], &log);
    assert!(s.banner.contains("PostgreSQL"), "{}", s.banner);

    let h = curl("GET", &s.url("/healthz"), &[]);
    assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
    assert!(h.header("x-request-id").is_some(), "{}", h.headers);
    let r = curl("GET", &s.url("/readyz"), &[]);
    assert_eq!((r.status, r.body.as_str()), (200, "ready\n"));

    relay.cut();
    let started = Instant::now();
    let r = curl("GET", &s.url("/readyz"), &[]);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("database"), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The process is still up.
    assert_eq!(curl("GET", &s.url("/healthz"), &[]).status, 200);

    // The blob folder gone too.
    std::fs::remove_dir_all(data.join("blobs")).unwrap();
    let r = curl("GET", &s.url("/readyz"), &[]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, "not ready: database, blobs\n")
    );
    drop(s);
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn metrics_are_served_on_their_own_listener_only() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let data = tmp.path().join("data");
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let port = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "--listen",
        port.as_str(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    args.extend(NO_DEMO);
    let s = Server::start(&args, &[("KYSO_METRICS_LISTEN", metrics.as_str())], &log);
    assert!(
        s.banner.contains(&format!("http://{metrics}/metrics")),
        "{}",
        s.banner
    );
    // Not on the site.
    assert_eq!(curl("GET", &s.url("/metrics"), &[]).status, 404);
    let scrape = || {
        let a = curl("GET", &format!("http://{metrics}/metrics"), &[]);
        assert_eq!(a.status, 200);
        a.body
    };
    let count = |text: &str| -> u64 {
        text.lines()
            .find(|l| {
                l.starts_with(
                    "kyso_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}",
                )
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .unwrap_or(0)
    };
    let before = count(&scrape());
    for _ in 0..2 {
        assert_eq!(curl("GET", &s.url("/readyz"), &[]).status, 200);
    }
    let text = scrape();
    assert_eq!(count(&text), before + 2, "{text}");
    assert!(
        text.contains("kyso_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("kyso_requests_waiting{state=\"submitted\"} 0"),
        "{text}"
    );
    assert!(text.contains("kyso_notices_unsent"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");

    // Without --metrics-listen there is no metrics listener at all.
    drop(s);
    let s = Server::start(&args, &[], &log);
    assert!(!s.banner.contains("/metrics"), "{}", s.banner);
    assert!(TcpStream::connect(&metrics).is_err());
}

/// What a log must never hold: the secrets a test used, and anything shaped like a JWT.
fn assert_no_secrets(log: &str, secrets: &[(&str, String)]) {
    assert!(!log.is_empty());
    for (what, secret) in secrets {
        assert!(
            secret.len() >= 6,
            "{what} too short to search for: {secret:?}"
        );
        assert!(
            !log.contains(secret.as_str()),
            "the log holds the {what}: {secret}"
        );
    }
    // header.payload.signature, base64url of a JSON object each.
    for (i, _) in log.match_indices("eyJ") {
        let rest = &log[i..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        assert!(
            token.matches('.').count() < 2,
            "a JWT-like string in the log: {token}"
        );
    }
}

/// The CSRF token of a page's first form.
fn form_csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\"")
        .unwrap_or_else(|| panic!("no csrf in {html}"));
    let rest = &html[at..];
    let v = rest.split("value=\"").nth(1).unwrap();
    v.split('"').next().unwrap().to_owned()
}

#[test]
fn a_trace_level_log_holds_no_password_token_session_or_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let data = tmp.path().join("data");
    let port = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "--listen",
        port.as_str(),
        "--data-dir",
        data.to_str().unwrap(),
        "--log-format",
        "json",
    ];
    args.extend(NO_DEMO);
    let s = Server::start(&args, &[("RUST_LOG", "trace")], &log);
    let one_time = s.admin_password();
    let mut secrets: Vec<(&str, String)> = vec![("one-time password", one_time.clone())];

    // API: the one-time password, its change, a new session, a wrong password.
    let session = admin_session(&s, None);
    secrets.push(("new password", NEW_PASSWORD.to_owned()));
    secrets.push(("session token", session.clone()));
    let wrong = "Sai-Mat-Khau-Roi-77";
    assert_eq!(login(&s, "admin", wrong, None).status, 401);
    secrets.push(("wrong password", wrong.to_owned()));

    // An API token made and used.
    let made = api(
        &s,
        "POST",
        "/api/v1/tokens",
        &session,
        Some(&json!({"name": "tich-hop", "days": 30})),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let api_token = made.json()["token"].as_str().unwrap().to_owned();
    secrets.push(("API token", api_token.clone()));
    let me = api(&s, "GET", "/api/v1/me", &api_token, None);
    assert_eq!(me.status, 200, "{}", me.body);
    let user_id = me.json()["user"]["id"].as_i64();

    // The browser: the login form's CSRF token, the session cookie, the session's CSRF
    // token, a password change through the form.
    let jar = tmp.path().join("jar");
    let jar = jar.to_str().unwrap();
    let page = curl("GET", &s.url("/login"), &["-c", jar, "-b", jar]);
    let login_csrf = form_csrf(&page.body);
    secrets.push(("login CSRF token", login_csrf.clone()));
    let posted = curl(
        "POST",
        &s.url("/login"),
        &[
            "-c",
            jar,
            "-b",
            jar,
            "-H",
            &format!("Origin: {}", s.url("")),
            "--data-urlencode",
            "username=admin",
            "--data-urlencode",
            &format!("password={NEW_PASSWORD}"),
            "--data-urlencode",
            &format!("csrf={login_csrf}"),
        ],
    );
    assert_eq!(posted.status, 303, "{}\n{}", posted.headers, posted.body);
    let cookies = std::fs::read_to_string(jar).unwrap();
    let cookie = cookies
        .lines()
        .find(|l| l.contains("kyso_session"))
        .and_then(|l| l.split('\t').nth(6))
        .unwrap_or_else(|| panic!("no session cookie in {cookies}"))
        .to_owned();
    secrets.push(("session cookie", cookie));
    let page = curl("GET", &s.url("/password"), &["-b", jar]);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = form_csrf(&page.body);
    secrets.push(("session CSRF token", csrf.clone()));
    let third = "Mat-Khau-Thu-Ba-2026#";
    let changed = curl(
        "POST",
        &s.url("/password"),
        &[
            "-b",
            jar,
            "-H",
            &format!("Origin: {}", s.url("")),
            "--data-urlencode",
            &format!("csrf={csrf}"),
            "--data-urlencode",
            &format!("old_password={NEW_PASSWORD}"),
            "--data-urlencode",
            &format!("new_password={third}"),
        ],
    );
    assert!(changed.status < 400, "{}\n{}", changed.status, changed.body);
    secrets.push(("third password", third.to_owned()));
    // The request id the client sent is the one logged and answered.
    let traced = curl(
        "GET",
        &s.url("/healthz"),
        &["-H", "X-Request-Id: theo-doi-123"],
    );
    assert_eq!(
        traced.header("x-request-id").as_deref(),
        Some("theo-doi-123")
    );

    let text = s.stop();
    assert_no_secrets(&text, &secrets);

    // The log is JSON lines, and the access log and sqlx's statements are in it.
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|v| v["target"] == "kyso_web::access")
        .collect();
    let login_line = access
        .iter()
        .find(|v| v["fields"]["route"] == "/api/v1/auth/login" && v["fields"]["status"] == 401)
        .unwrap_or_else(|| panic!("no access line of the failed login in\n{text}"));
    assert_eq!(login_line["fields"]["method"], "POST");
    assert!(login_line["fields"]["duration_ms"].as_f64().is_some());
    assert_eq!(login_line["fields"]["client"], "127.0.0.1");
    assert!(login_line["span"]["request_id"].as_str().is_some());
    let me_line = access
        .iter()
        .find(|v| v["fields"]["route"] == "/api/v1/me")
        .unwrap();
    if let Some(id) = user_id {
        assert_eq!(me_line["fields"]["user_id"], id, "{me_line}");
    } else {
        assert!(me_line["fields"]["user_id"].as_i64().is_some(), "{me_line}");
    }
    assert!(access
        .iter()
        .any(|v| v["span"]["request_id"] == "theo-doi-123"));
    assert!(
        lines
            .iter()
            .any(|v| v["target"] == "sqlx::query" && v["level"] == "DEBUG"),
        "no sqlx statement in the log"
    );
}
