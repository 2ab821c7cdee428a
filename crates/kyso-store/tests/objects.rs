//! The one interface for kept files, on both its implementations: a folder and a bucket of a
//! real S3-compatible store (a one-node Garage started for the test). The same story is told on
//! both — whole objects or none, bytes checked against their names, listing, large files sent
//! in parts — and the blob store on the bucket keeps documents as it does in the folder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Read as _;
use std::sync::Arc;

use kyso_store::blobs::{BlobError, Blobs};
use kyso_store::objects::bucket::{Address, Bucket, Credentials};
use kyso_store::objects::{Folder, Objects, Settle};
use kyso_testkit::garage::Garage;

fn read_all(o: &dyn Objects, key: &str) -> Vec<u8> {
    let mut v = Vec::new();
    o.get(key).unwrap().read_to_end(&mut v).unwrap();
    v
}

fn sha(bytes: &[u8]) -> String {
    kyso_store::objects::copy_hashing(&mut &bytes[..], &mut std::io::sink())
        .unwrap()
        .sha256
}

/// What every implementation must do.
fn conformance(o: &dyn Objects) {
    assert_eq!(o.size("snapshots/a/manifest.json").unwrap(), None);
    assert!(!o.exists("snapshots/a/manifest.json").unwrap());
    let c = o
        .put("snapshots/a/manifest.json", &mut &b"{\"ok\":1}"[..], None)
        .unwrap();
    assert_eq!((c.size, c.sha256.clone()), (8, sha(b"{\"ok\":1}")));
    assert_eq!(o.size("snapshots/a/manifest.json").unwrap(), Some(8));
    assert_eq!(read_all(o, "snapshots/a/manifest.json"), b"{\"ok\":1}");
    o.check().unwrap();
    // Bytes that do not hash to what the caller expects are not stored.
    let wrong = o.put("snapshots/a/other", &mut &b"forged"[..], Some(&c.sha256));
    assert_eq!(wrong.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    assert!(!o.exists("snapshots/a/other").unwrap());
    o.put("snapshots/b/started.json", &mut &b"{}"[..], None)
        .unwrap();
    assert_eq!(o.list("snapshots").unwrap(), ["a", "b"]);
    assert_eq!(o.list("snapshots/a").unwrap(), ["manifest.json"]);
    assert!(o.list("nothing-here").unwrap().is_empty());
    assert_eq!(
        o.get("missing/key").err().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
    for bad in ["../x", "/etc/passwd", "a//b", ".hidden", "a/../../b", ""] {
        assert!(o.put(bad, &mut &b"x"[..], None).is_err(), "{bad}");
        assert!(o.get(bad).is_err(), "{bad}");
    }
    // A file made on this machine placed under a key: visible once settled.
    let staging = o.staging().unwrap();
    let mut tmp = tempfile::NamedTempFile::new_in(&staging).unwrap();
    std::io::Write::write_all(&mut tmp, b"%PDF-1.7 placed").unwrap();
    let settle = o.place("ab/cdef", tmp).unwrap();
    Settle::merge([settle])
        .into_iter()
        .for_each(|s| s.run().unwrap());
    assert_eq!(read_all(o, "ab/cdef"), b"%PDF-1.7 placed");
    // A file larger than one request (sent in parts to a bucket), streamed back.
    let big: Vec<u8> = (0..40 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let c = o.put("big/file.bin", &mut &big[..], None).unwrap();
    assert_eq!(c.size, big.len() as u64);
    assert_eq!(o.size("big/file.bin").unwrap(), Some(big.len() as u64));
    let back = read_all(o, "big/file.bin");
    assert!(back == big, "the large file comes back byte for byte");
    // Nothing is left in the staging folder.
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);
}

/// The blob store `blobs`.
fn blobs_story(blobs: Blobs) {
    let o = blobs.objects().clone();
    blobs.check().unwrap();
    let name = blobs.put(b"%PDF-1.7 signed document").unwrap();
    assert_eq!(name, sha(b"%PDF-1.7 signed document"));
    assert_eq!(blobs.get(&name).unwrap(), b"%PDF-1.7 signed document");
    assert_eq!(blobs.size(&name).unwrap(), Some(24));
    // Streamed, staged (readable where it is), then placed.
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    let mut w = blobs.writer(10_000_000).unwrap();
    for chunk in body.chunks(65_537) {
        w.write(chunk).unwrap();
    }
    let staged = w.finish().unwrap();
    assert_eq!(std::fs::read(staged.path()).unwrap(), body);
    let streamed = staged.name().to_owned();
    assert!(matches!(
        blobs.get(&streamed),
        Err(BlobError::Missing { .. })
    ));
    staged.persist().unwrap();
    assert_eq!(blobs.get(&streamed).unwrap(), body);
    // A refused upload leaves nothing.
    let refused = blobs.stage(b"%PDF-1.7 refused").unwrap();
    let refused_name = refused.name().to_owned();
    drop(refused);
    assert!(matches!(
        blobs.get(&refused_name),
        Err(BlobError::Missing { .. })
    ));
    // Bytes changed behind kyso's back are refused on reading, never served.
    let key = kyso_store::blobs::key_of(&name).unwrap();
    o.put(&key, &mut &b"%PDF-1.7 forged document"[..], None)
        .unwrap();
    assert!(matches!(blobs.get(&name), Err(BlobError::Damaged { .. })));
    // The same bytes written again mend it.
    blobs
        .stage(b"%PDF-1.7 signed document")
        .unwrap()
        .persist()
        .unwrap();
    assert_eq!(blobs.get(&name).unwrap(), b"%PDF-1.7 signed document");
    assert!(matches!(
        blobs.get("../../etc/passwd"),
        Err(BlobError::BadName { .. })
    ));
}

#[test]
fn a_folder_keeps_whole_objects_and_blobs() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&Folder::new(&dir.path().join("backups")));
    blobs_story(Blobs::open(&dir.path().join("blobs")).unwrap());
}

fn bucket(g: &Garage, name: &str, prefix: &str, staging: &std::path::Path) -> Bucket {
    g.bucket(name);
    let address = Address::parse(&g.address(name, prefix)).unwrap();
    let credentials = Credentials::parse(&g.credentials_text()).unwrap();
    Bucket::open(&address, &credentials, staging.to_path_buf()).unwrap()
}

#[test]
fn a_garage_bucket_keeps_whole_objects_and_blobs() {
    let Some(g) = Garage::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let b = bucket(&g, "kyso-backups", "", &dir.path().join("staging-a"));
    conformance(&b);
    // Under a prefix, the same; the prefix is the only place written.
    let p = bucket(
        &g,
        "kyso-blobs",
        "province/ubnd",
        &dir.path().join("staging-b"),
    );
    blobs_story(Blobs::over(Arc::new(p)));
    let whole = Bucket::open(
        &Address::parse(&g.address("kyso-blobs", "")).unwrap(),
        &Credentials::parse(&g.credentials_text()).unwrap(),
        dir.path().join("staging-c"),
    )
    .unwrap();
    assert_eq!(whole.list("").unwrap(), ["province"]);
}

#[test]
fn a_missing_bucket_or_a_wrong_key_is_refused_at_the_check() {
    let Some(g) = Garage::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let good = Credentials::parse(&g.credentials_text()).unwrap();
    let missing = Bucket::open(
        &Address::parse(&g.address("no-such-bucket", "")).unwrap(),
        &good,
        dir.path().join("s1"),
    )
    .unwrap();
    assert!(missing.check().is_err(), "a bucket that does not exist");
    g.bucket("kyso-blobs");
    let wrong = Credentials::parse(&format!("{}\n{}\n", g.key_id, "0".repeat(64))).unwrap();
    let refused = Bucket::open(
        &Address::parse(&g.address("kyso-blobs", "")).unwrap(),
        &wrong,
        dir.path().join("s2"),
    )
    .unwrap();
    let err = refused.check().unwrap_err();
    assert!(!err.to_string().contains(&g.secret), "no secret in {err}");
    let closed = Bucket::open(
        &Address::parse("s3://kyso-blobs?endpoint=http://127.0.0.1:9").unwrap(),
        &good,
        dir.path().join("s3"),
    )
    .unwrap();
    assert!(closed.check().is_err(), "nothing answers");
}
