//! Archiving throughput (issue 19's speed target; `scripts/bench-archive.sh filing`, BENCHMARKS.md
//! "Issue 19"): documents filed per second, each with its metadata and a ~50 KB PDF.
//!
//! ```text
//! cargo run --release -p kyso-store --example archive_filing -- --database-url URL \
//!     --blob-store DIR|s3://BUCKET?endpoint=… [--staging DIR] [--documents 3000] [--workers 8]
//! ```
//!
//! Set up first, not timed: one agency, `--documents` distinct letters laid out by kyso's
//! composer (a two-page Vietnamese letter, its font embedded: about 50 KB each), and for each an
//! incoming document registered and queued for filing (raw rows, as the registering write leaves
//! them). Then timed, by `--workers` tasks at once: each letter written to the blob store (staged,
//! hashed, flushed, placed — the folder's rename and flush, or the bucket's upload), its text
//! read by kyso's reader (`kyso_pdf::text::document_text`) and the document filed
//! (`archive::file`: the entry, its index row, its audit entry and the queue row gone, in one
//! transaction). A bucket's key comes from `KYSO_S3_ACCESS_KEY_ID`/`KYSO_S3_SECRET_ACCESS_KEY`.
//! Prints `FILED_PER_S=` and the parts' shares.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use kyso_domain::archive::{EntryKind, MAX_BODY_CHARS};
use kyso_pdf::compose::{Composer, Margins, Style};
use kyso_store::archive::{self, TextLayer, Unfiled};
use kyso_store::blobs::Blobs;
use kyso_store::objects::bucket::{Address, Bucket, Credentials};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::{Actor, Store};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

const PARAGRAPH: &str =
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công \
tác văn thư và Nghị định số 68/2024/NĐ-CP về chữ ký số chuyên dùng công vụ, Sở Tài chính đề nghị \
các cơ quan, đơn vị rà soát danh sách chứng thư số, thiết bị lưu khóa bí mật đang sử dụng, báo \
cáo nhu cầu cấp mới, gia hạn, thu hồi chứng thư số năm 2027 và thực hiện lưu trữ văn bản điện tử \
theo đúng quy định.";

fn letter(i: usize) -> Result<Vec<u8>, Error> {
    let mut c = Composer::a4(Margins::decree30())?;
    c.paragraph(
        &format!("Số: {i}/STC-VP — Về việc rà soát chứng thư số, đợt {i}"),
        &Style::new(14.0).bold(),
    )?;
    for k in 0..14 {
        c.paragraph(
            &format!("{}. {PARAGRAPH} (Mục {k}, văn bản {i}.)", k + 1),
            &Style::new(13.0),
        )?;
    }
    Ok(c.finish(&Default::default())?)
}

fn text_layer(bytes: &[u8]) -> TextLayer {
    match kyso_pdf::text::document_text(bytes, kyso_pdf::Limits::default(), MAX_BODY_CHARS) {
        Ok(t) if t.trim().is_empty() => TextLayer::None,
        Ok(t) => TextLayer::Text(t),
        Err(e) => TextLayer::Unreadable(e.to_string()),
    }
}

async fn run() -> Result<(), Error> {
    let url = arg("--database-url").ok_or("--database-url URL")?;
    let place = arg("--blob-store").ok_or("--blob-store DIR|s3://…")?;
    let n: usize = arg("--documents").map_or(Ok(3000), |v| v.parse())?;
    let workers: usize = arg("--workers").map_or(Ok(8), |v| v.parse())?;
    let store = Store::open(&url).await?;
    let blobs = if place.starts_with("s3://") {
        let staging = arg("--staging").ok_or("--staging DIR with a bucket")?;
        let credentials = Credentials {
            access_key_id: std::env::var("KYSO_S3_ACCESS_KEY_ID")?,
            secret_access_key: std::env::var("KYSO_S3_SECRET_ACCESS_KEY")?.into(),
        };
        let bucket = Bucket::open(&Address::parse(&place)?, &credentials, staging.into())?;
        Blobs::over(Arc::new(bucket))
    } else {
        Blobs::open(std::path::Path::new(&place))?
    };
    #[allow(clippy::disallowed_methods)] // a benchmark's program reads the clock
    let now = time::OffsetDateTime::now_utc();
    let system = Actor::system();
    let agency = registry::create_agency(
        &store,
        &system,
        &AgencyInput {
            code: "H97".into(),
            name: "UBND Tỉnh Thử Nghiệm".into(),
            kind: "province".into(),
            parent_id: None,
            address: String::new(),
            email: String::new(),
            phone: String::new(),
            same_name_confirmed: false,
        },
        now,
    )
    .await?;

    // Set up: the letters and their registered incoming documents, queued.
    let t = Instant::now();
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        files.push(letter(i + 1)?);
    }
    let size: usize = files.iter().map(Vec::len).sum::<usize>() / n.max(1);
    let mut conn = store.pool().acquire().await?;
    kyso_store::sqlx::query("BEGIN").execute(&mut *conn).await?;
    for (i, f) in files.iter().enumerate() {
        let id = i64::try_from(i + 1)?;
        let sha: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, f)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        kyso_store::sqlx::query(
            "INSERT INTO incoming_documents (id, agency_id, channel, state, status_code, \
             sender_code, sender_name, number, notation, doc_date, doc_type, subject, signer, \
             sha256, size, file_name, verdict, reasons, report, arrived_at, received_by, \
             created_at, updated_at, arrival_year, arrival_number) VALUES ($1, $2, 'upload', \
             'registered', '03', 'H97.05', 'Sở Tài chính', $3, 'STC-VP', '2026-11-20', \
             'Công văn', $4, 'Trần Văn Bình', $5, $6, 'cong-van.pdf', 'passed', '[]', '{}', \
             $7, 0, $7, $7, 2026, $1)",
        )
        .bind(id)
        .bind(agency.id)
        .bind(id.to_string())
        .bind(format!("Về việc rà soát chứng thư số, đợt {id}"))
        .bind(&sha)
        .bind(i64::try_from(f.len())?)
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        kyso_store::sqlx::query(
            "INSERT INTO archive_queue (kind, source_id, queued_at) VALUES ('incoming', $1, $2)",
        )
        .bind(id)
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
    }
    kyso_store::sqlx::query("COMMIT")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    eprintln!(
        "set up {n} letters of {size} bytes on average in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Timed: write, read the text, file.
    let files = Arc::new(files);
    let next = Arc::new(AtomicUsize::new(0));
    let (put_ns, text_ns, file_ns) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let (files, next, blobs, store) =
            (files.clone(), next.clone(), blobs.clone(), store.clone());
        let (put_ns, text_ns, file_ns) = (put_ns.clone(), text_ns.clone(), file_ns.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= files.len() {
                    return Ok::<(), Error>(());
                }
                let (b, f) = (blobs.clone(), files.clone());
                let t = Instant::now();
                let (sha, text, put) = tokio::task::spawn_blocking(move || {
                    let bytes = f.get(i).ok_or("index")?;
                    let sha = b.put(bytes)?;
                    let put = t.elapsed();
                    Ok::<_, Error>((sha, text_layer(bytes), put))
                })
                .await??;
                put_ns.fetch_add(put.as_nanos() as usize, Ordering::Relaxed);
                text_ns.fetch_add((t.elapsed() - put).as_nanos() as usize, Ordering::Relaxed);
                let t = Instant::now();
                let item = Unfiled {
                    kind: EntryKind::Incoming,
                    source_id: i64::try_from(i + 1)?,
                    sha256: sha,
                    tries: 0,
                };
                archive::file(&store, &item, &text, now)
                    .await?
                    .ok_or("not filed")?;
                file_ns.fetch_add(t.elapsed().as_nanos() as usize, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let (waiting, _) = archive::queue_figures(&store).await?;
    if waiting != 0 {
        return Err(format!("{waiting} documents left unfiled").into());
    }
    let ms = |a: &AtomicUsize| a.load(Ordering::Relaxed) as f64 / 1e6 / n as f64;
    println!(
        "FILED={n} SECONDS={secs:.2} FILED_PER_S={:.0} (per document, summed over workers: write {:.2} ms, text {:.2} ms, filing transaction {:.2} ms; {workers} workers; {size} bytes each)",
        n as f64 / secs,
        ms(&put_ns),
        ms(&text_ns),
        ms(&file_ns),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("archive_filing: {e}");
            ExitCode::FAILURE
        }
    }
}
