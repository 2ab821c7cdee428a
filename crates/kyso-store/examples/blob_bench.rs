//! Blob store write throughput (issue 19 "Speed": archiving on the local folder and on Garage),
//! the part of archiving that is the blob store's: N distinct PDF-sized files (`KB` KB each)
//! each written the way a document's file is — staged to a temporary file (hashed, flushed),
//! placed under its name and settled (the folder flushed / the object uploaded) — by `WORKERS`
//! threads at once, then every one read back and re-hashed.
//!
//!   cargo run --release -p kyso-store --example blob_bench -- folder DIR [N] [KB] [WORKERS]
//!   KYSO_S3_ACCESS_KEY_ID=… KYSO_S3_SECRET_ACCESS_KEY=… \
//!     cargo run --release -p kyso-store --example blob_bench -- 's3://bucket?endpoint=…' STAGING [N] [KB] [WORKERS]
//!
//! Prints one `RESULT` line each for writing and reading, in files per second.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use kyso_store::blobs::Blobs;
use kyso_store::objects::bucket::{Address, Bucket, Credentials};
use kyso_store::objects::Objects;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn body(i: usize, kb: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(kb * 1024);
    b.extend_from_slice(b"%PDF-1.7\n% kyso blob_bench\n");
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while b.len() < kb * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.truncate(kb * 1024);
    b
}

/// Run `job(0..n)` on `workers` threads, each taking the next index; the seconds it took.
fn in_parallel(n: usize, workers: usize, job: impl Fn(usize) -> Res<()> + Sync) -> Res<f64> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| -> Res<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Res<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(());
                        }
                        job(i)?;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a worker panicked")??;
        }
        Ok(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, place) = match (args.first(), args.get(1)) {
        (Some(k), Some(p)) => (k.clone(), p.clone()),
        _ => return Err("usage: blob_bench folder DIR | s3://… STAGING [N] [KB] [WORKERS]".into()),
    };
    let n: usize = args.get(2).map_or(Ok(5000), |s| s.parse())?;
    let kb: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let workers: usize = args.get(4).map_or(Ok(8), |s| s.parse())?;
    let blobs = if kind == "folder" {
        Blobs::open(std::path::Path::new(&place))?
    } else {
        let address = Address::parse(&kind)?;
        let credentials = Credentials {
            access_key_id: std::env::var("KYSO_S3_ACCESS_KEY_ID")?,
            secret_access_key: std::env::var("KYSO_S3_SECRET_ACCESS_KEY")?.into(),
        };
        let bucket: Arc<dyn Objects> =
            Arc::new(Bucket::open(&address, &credentials, place.into())?);
        Blobs::over(bucket)
    };
    blobs.check()?;
    let names = std::sync::Mutex::new(Vec::with_capacity(n));
    let wrote = in_parallel(n, workers, |i| {
        let (name, settle) = blobs.stage(&body(i, kb))?.place()?;
        settle.run()?;
        names.lock().map_err(|_| "lock")?.push(name);
        Ok(())
    })?;
    let names = names.into_inner().map_err(|_| "lock")?;
    println!(
        "RESULT write {}: {n} files of {kb} KB, {workers} workers: {:.2} s, {:.0} files/s",
        blobs.describe(),
        wrote,
        n as f64 / wrote
    );
    let read = in_parallel(names.len(), workers, |i| {
        if let Some(name) = names.get(i) {
            blobs.get(name)?;
        }
        Ok(())
    })?;
    println!(
        "RESULT read {}: {n} files re-hashed, {workers} workers: {:.2} s, {:.0} files/s",
        blobs.describe(),
        read,
        n as f64 / read
    );
    Ok(())
}
