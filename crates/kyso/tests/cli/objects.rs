//! Issue 19/1 and 19/4 with the real binary and a real S3-compatible store (a one-node Garage):
//! `kyso serve --blob-store s3://…` keeps the documents' files in a bucket and nothing in the
//! data folder, reads them back checked; `kyso backup create | verify | restore` with the
//! backups in a bucket and the restored blobs in another; a changed object in the backup is
//! named by `verify`; without the store's key, or with a bucket that does not exist, the server
//! refuses to start and says why.

use std::path::Path;
use std::process::{Command, Output};

use kyso_store::blobs::Blobs;
use kyso_store::objects::bucket::{Address, Bucket, Credentials};
use kyso_store::objects::Objects as _;
use kyso_testkit::garage::Garage;

use crate::backup::{department_clerk, upload_incoming};
use crate::common::{corpus, kyso};
use crate::serve::Serve;

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `kyso ARGS` with the store's key in `KYSO_S3_CREDENTIALS_FILE` (when given).
fn run(args: &[&str], credentials: Option<&Path>) -> Output {
    let mut c = kyso();
    c.args(args)
        .env_remove("KYSO_DATABASE_URL")
        .env_remove("KYSO_S3_ACCESS_KEY_ID")
        .env_remove("KYSO_S3_SECRET_ACCESS_KEY")
        .env_remove("KYSO_S3_CREDENTIALS_FILE");
    if let Some(p) = credentials {
        c.env("KYSO_S3_CREDENTIALS_FILE", p);
    }
    c.output().unwrap()
}

fn blobs_in(g: &Garage, bucket: &str, prefix: &str, staging: &Path) -> Blobs {
    let b = Bucket::open(
        &Address::parse(&g.address(bucket, prefix)).unwrap(),
        &Credentials::parse(&g.credentials_text()).unwrap(),
        staging.to_path_buf(),
    )
    .unwrap();
    Blobs::over(std::sync::Arc::new(b))
}

/// Every file under `dir` (none when it does not exist).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn documents_and_backups_are_kept_in_garage_buckets() {
    let Some(g) = Garage::start() else { return };
    for b in ["kyso-blobs", "kyso-backups", "kyso-restored"] {
        g.bucket(b);
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let creds = g.credentials_file(tmp.path());
    let store = g.address("kyso-blobs", "hue");
    let backups = g.address("kyso-backups", "");
    let data_s = data.display().to_string();

    // Without the store's key, and with a bucket that does not exist: no start, a reason.
    let out = run(
        &["serve", "--data-dir", &data_s, "--blob-store", &store],
        None,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("--s3-credentials-file"),
        "{}",
        text(&out)
    );
    let missing = g.address("no-such-bucket", "");
    let out = run(
        &["serve", "--data-dir", &data_s, "--blob-store", &missing],
        Some(&creds),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("không dùng được kho lưu văn bản"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains(&g.secret),
        "the secret is never printed"
    );

    // Served with the bucket: the document's file is in it, and not in the data folder.
    let server = Serve::start_with_env(
        &data,
        &["--blob-store", &store],
        &[("KYSO_S3_CREDENTIALS_FILE", &creds)],
    );
    let (_, dost, clerk) = department_clerk(&server, "vanthu.kho", "Phan Thị Kho");
    let (id, digest) = upload_incoming(&server, &clerk, dost, "201", "letter-classic.pdf");
    let original = std::fs::read(corpus("letter-classic.pdf")).unwrap();
    let bucket = blobs_in(&g, "kyso-blobs", "hue", &tmp.path().join("staging"));
    assert_eq!(bucket.get(&digest).unwrap(), original);
    assert!(
        files_under(&data.join("blobs")).is_empty(),
        "no blob in the data folder: {:?}",
        files_under(&data.join("blobs"))
    );
    assert!(
        files_under(&data.join("staging")).is_empty(),
        "nothing left staged"
    );
    let out = Command::new("curl")
        .args(["-s", "-f", "-H", &format!("Authorization: Bearer {clerk}")])
        .arg(server.url(&format!("/api/v1/incoming/{id}/file")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        out.stdout == original,
        "the file is served from the bucket byte for byte"
    );
    let (_, second) = upload_incoming(&server, &clerk, dost, "202", "libreoffice.pdf");

    // A backup into a bucket, while the server runs.
    let out = run(
        &[
            "backup",
            "create",
            "--backup-dir",
            &backups,
            "--data-dir",
            &data_s,
            "--blob-store",
            &store,
        ],
        Some(&creds),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Đã sao lưu vào s3://kyso-backups/"),
        "{}",
        text(&out)
    );
    server.kill();
    let out = run(
        &["backup", "verify", "--backup-dir", &backups],
        Some(&creds),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("toàn vẹn"), "{}", text(&out));

    // Restored into an empty folder, the blobs into another bucket: the audit log verifies and
    // every blob the database names reads back from it.
    let restored = tmp.path().join("restored");
    let restored_s = restored.display().to_string();
    let into = g.address("kyso-restored", "");
    let out = run(
        &[
            "backup",
            "restore",
            "--backup-dir",
            &backups,
            "--data-dir",
            &restored_s,
            "--blob-store",
            &into,
        ],
        Some(&creds),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["audit", "verify", "--data-dir", &restored_s], None);
    assert!(out.status.success(), "{}", text(&out));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let referenced = rt.block_on(async {
        let url = format!("sqlite://{}", restored.join("kyso.db").display());
        let store = kyso_store::Store::open(&url).await.unwrap();
        let r = kyso_store::backup::referenced_blobs(&store).await.unwrap();
        store.close().await;
        r
    });
    assert!(referenced.contains(&digest) && referenced.contains(&second));
    let back = blobs_in(&g, "kyso-restored", "", &tmp.path().join("staging2"));
    for d in &referenced {
        back.get(d).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
    assert!(files_under(&restored.join("blobs")).is_empty());

    // A backed-up object changed in the bucket: named by verify.
    let key = format!("blobs/{}/{}", &second[..2], &second[2..]);
    let backup_bucket = Bucket::open(
        &Address::parse(&backups).unwrap(),
        &Credentials::parse(&g.credentials_text()).unwrap(),
        tmp.path().join("staging3"),
    )
    .unwrap();
    backup_bucket
        .put(&key, &mut &b"%PDF-1.7 not what was signed"[..], None)
        .unwrap();
    let out = run(
        &["--lang", "en", "backup", "verify", "--backup-dir", &backups],
        Some(&creds),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&key), "{}", text(&out));
}
