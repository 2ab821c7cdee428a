//! Issue 19/5 with the real binary: two `kyso serve` nodes on one PostgreSQL and one Garage
//! bucket, given the same key files, serve the same users — a session opened on one works on the
//! other, a document uploaded to one is read from the other byte for byte, failed logins are
//! counted by both together, the scheduled backup is made by one of them — and killing one with
//! SIGKILL while documents are being uploaded to it loses nothing it acknowledged and leaves no
//! record without its file.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde_json::json;

use crate::backup::{department_clerk, incoming_scan, postgres};
use crate::common::corpus;
use crate::serve::Serve;
use kyso_store::objects::Objects as _;
use kyso_testkit::garage::Garage;

/// Download `path` from `server` with `token`: the status and the bytes.
fn download(server: &Serve, token: &str, path: &str) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(server.url(path))
        .output()
        .unwrap();
    let mut body = out.stdout;
    let code: Vec<u8> = body.split_off(body.len().saturating_sub(3));
    (String::from_utf8_lossy(&code).parse().unwrap_or(0), body)
}

#[test]
fn two_nodes_on_one_database_and_one_bucket_serve_the_same_users_and_a_killed_one_loses_nothing() {
    let Some((db, _)) = postgres() else { return };
    let Some(g) = Garage::start() else { return };
    g.bucket("kyso-cluster");
    g.bucket("kyso-backups");
    let tmp = tempfile::tempdir().unwrap();
    let creds = g.credentials_file(tmp.path());
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let store = g.address("kyso-cluster", "");
    let backups = g.address("kyso-backups", "");
    let audit_key = keys.join("audit.key").display().to_string();
    let node_args = |checkpoints: &str| {
        let mut a = db.args();
        a.extend(
            [
                "--blob-store",
                &store,
                "--audit-key-file",
                &audit_key,
                "--audit-checkpoint-file",
                checkpoints,
                "--backup-dir",
                &backups,
                "--backup-every",
                "1h",
            ]
            .map(str::to_owned),
        );
        a
    };
    let env = [("KYSO_S3_CREDENTIALS_FILE", creds.as_path())];
    // The first node makes the database and the keys; the second is given the same.
    let cp_a = tmp.path().join("a-checkpoints.jsonl").display().to_string();
    let args_a = node_args(&cp_a);
    let refs_a: Vec<&str> = args_a.iter().map(String::as_str).collect();
    let a = Serve::start_with_env(&tmp.path().join("a"), &refs_a, &env);
    let (_, dost, clerk) = department_clerk(&a, "vanthu.cumnut", "Đỗ Thị Cụm");
    let cp_b = tmp.path().join("b-checkpoints.jsonl").display().to_string();
    let args_b = node_args(&cp_b);
    let refs_b: Vec<&str> = args_b.iter().map(String::as_str).collect();
    let b = Serve::start_with_env(&tmp.path().join("b"), &refs_b, &env);

    // Both schedule a backup at start: one of them makes it (the one holding the job's lease).
    let backup_bucket = kyso_store::objects::bucket::Bucket::open(
        &kyso_store::objects::bucket::Address::parse(&backups).unwrap(),
        &kyso_store::objects::bucket::Credentials::parse(&g.credentials_text()).unwrap(),
        tmp.path().join("staging"),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let made = loop {
        let runs = backup_bucket.list("snapshots").unwrap();
        let done = runs.iter().any(|r| {
            backup_bucket
                .exists(&format!("snapshots/{r}/manifest.json"))
                .unwrap()
        });
        if done || std::time::Instant::now() > deadline {
            break runs;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        backup_bucket.list("snapshots").unwrap(),
        made,
        "one scheduled backup for the two nodes"
    );
    assert_eq!(made.len(), 1, "{made:?}");

    // A session opened on one node works on the other.
    let (status, me) = b.api("GET", "/api/v1/me", &clerk, None);
    assert_eq!(status, 200, "{me}");

    // A document uploaded to one is read from the other, byte for byte.
    let pdf = std::fs::read(corpus("letter-classic.pdf")).unwrap();
    let (status, v) = a.api(
        "POST",
        "/api/v1/incoming/upload",
        &clerk,
        Some(&incoming_scan(dost, "301", "letter-classic.pdf", &pdf)),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (status, got) = download(&b, &clerk, &format!("/api/v1/incoming/{id}/file"));
    assert_eq!(status, 200);
    assert!(got == pdf, "the other node serves the file byte for byte");

    // Failed logins for one name from one address are counted by both nodes together: nine
    // shared between them are refused as wrong, the tenth (on either) is throttled, and then
    // every attempt on both (one node alone would have counted five).
    let login = |s: &Serve| {
        s.api(
            "POST",
            "/api/v1/auth/login",
            "",
            Some(&json!({"username": "khach.la", "password": "sai-mat-khau"})),
        )
    };
    for i in 0..9 {
        let (status, v) = login(if i % 2 == 0 { &a } else { &b });
        assert_eq!(status, 401, "attempt {i}: {v}");
    }
    for s in [&b, &a, &b] {
        let (status, v) = login(s);
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (429, Some("throttled")),
            "{v}"
        );
    }

    // Node A killed with SIGKILL while documents are uploaded to it: every acknowledged one is
    // there on node B, file and all; no record is left without its file.
    let acknowledged: Mutex<Vec<(i64, Vec<u8>)>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let sources = ["letter-classic.pdf", "libreoffice.pdf"];
    std::thread::scope(|s| {
        for worker in 0..3 {
            let (a, clerk, acknowledged, stop) = (&a, &clerk, &acknowledged, &stop);
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Distinct bytes each time: a PDF comment appended.
                    let mut bytes = std::fs::read(corpus(sources[n % 2])).unwrap();
                    bytes.extend_from_slice(format!("\n% node test {worker}-{n}\n").as_bytes());
                    let number = format!("4{worker}{n:03}");
                    let (status, v) = a.api(
                        "POST",
                        "/api/v1/incoming/upload",
                        clerk,
                        Some(&incoming_scan(dost, &number, sources[n % 2], &bytes)),
                    );
                    match status {
                        201 => acknowledged
                            .lock()
                            .unwrap()
                            .push((v["id"].as_i64().unwrap(), bytes)),
                        0 => break, // the node is gone
                        other => panic!("upload {number}: {other} {v}"),
                    }
                }
            });
        }
        while acknowledged.lock().unwrap().len() < 6 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args(["-9", &a.pid().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 6);
    for (id, bytes) in &acknowledged {
        let (status, got) = download(&b, &clerk, &format!("/api/v1/incoming/{id}/file"));
        assert_eq!(status, 200, "acknowledged document {id}");
        assert!(&got == bytes, "document {id} byte for byte");
    }
    let (status, list) = b.api("GET", "/api/v1/incoming?limit=500", &clerk, None);
    assert_eq!(status, 200, "{list}");
    let rows = list["items"]
        .as_array()
        .or_else(|| list.as_array())
        .cloned()
        .unwrap_or_default();
    assert!(rows.len() > acknowledged.len(), "{list}");
    for row in &rows {
        let id = row["id"].as_i64().unwrap();
        let (status, _) = download(&b, &clerk, &format!("/api/v1/incoming/{id}/file"));
        assert_eq!(status, 200, "document {id} has its file");
    }
    drop(b);
    drop(db);
}
