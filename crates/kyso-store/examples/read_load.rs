//! Writes under a read load (issue 15 item 10; `MODE=read-load bash scripts/bench-serve.sh`,
//! BENCHMARKS.md): how long creating a subscriber takes while many readers read subscribers'
//! records, each read audited as `GET /api/v1/subscribers/{id}` audits it.
//!
//! ```text
//! cargo run --release -p kyso-store --example read_load -- --database-url URL \
//!     [--secs 10] [--readers 32] [--subscribers 500]
//! ```
//!
//! Three phases on one database, one after the other, each `--secs` long: `idle` (no reads),
//! `inline` (each read appends its entry in a write transaction of its own — `audit::record`,
//! what `audit::record_read` did before the queue of reads) and `served` (`audit::record_read`,
//! the path the server's handlers take, whatever this build's is: since the queue of reads,
//! one writer and a write transaction per batch). In every phase one writer creates a
//! subscriber (`registry::create_subscriber`, one audited write transaction) every 10 ms and
//! the latency of each create is recorded. One line per phase:
//! `PHASE=… creates=… p50=… p99=… max=… reads=… reads_per_s=…` (milliseconds). The program
//! uses only the store's public API, so it builds against older stores too (the "before"
//! figures of BENCHMARKS.md).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyso_store::registry::{self, AgencyInput, SubscriberInput};
use kyso_store::{audit, Actor, Store};
use time::OffsetDateTime;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Inline,
    Served,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Inline => "inline",
            Phase::Served => "served",
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn person(agency_id: i64, i: usize) -> SubscriberInput {
    SubscriberInput {
        kind: "individual".into(),
        agency_id,
        name: format!("Nguyễn Văn Thử {i}"),
        date_of_birth: "12/03/1978".into(),
        id_number: format!("0990780{i:05}"),
        email: format!("thu{i}@demo.invalid"),
        title: "Chuyên viên".into(),
        ..Default::default()
    }
}

/// The `p`-th percentile of sorted `v` (nearest rank).
fn pct(v: &[f64], p: usize) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = (p * v.len()).div_ceil(100).clamp(1, v.len());
    v.get(rank - 1).copied().unwrap_or(0.0)
}

async fn one_read(store: &Store, phase: Phase, id: i64, now: OffsetDateTime) -> Result<(), Error> {
    let actor = Actor::system();
    let s = registry::subscriber(store, &actor, id).await?;
    match phase {
        Phase::Idle => {}
        Phase::Inline => {
            // What `audit::record_read` did before the queue: the agency's code, then an
            // entry in a write transaction of its own.
            let agency = audit::agency_code(store, s.agency_id).await?;
            audit::record(
                store,
                &actor,
                audit::Event {
                    action: "subscriber.read",
                    object: format!("subscriber:{id}"),
                    agency,
                    detail: serde_json::json!({}),
                },
                now,
            )
            .await?;
        }
        Phase::Served => {
            audit::record_read(
                store,
                &actor,
                "subscriber.read",
                format!("subscriber:{id}"),
                s.agency_id,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

async fn run_phase(
    store: &Store,
    phase: Phase,
    agency_id: i64,
    ids: &Arc<Vec<i64>>,
    readers: usize,
    secs: u64,
    next: &mut usize,
) -> Result<String, Error> {
    #[allow(clippy::disallowed_methods)] // an example program reads the clock
    let now = OffsetDateTime::now_utc();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    if phase != Phase::Idle {
        for r in 0..readers {
            let (store, stop, reads, ids) =
                (store.clone(), stop.clone(), reads.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                let mut k = r * 7919;
                while !stop.load(Ordering::Relaxed) {
                    k = k.wrapping_add(104_729);
                    let id = ids.get(k % ids.len().max(1)).copied().unwrap_or(1);
                    one_read(&store, phase, id, now).await?;
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), Error>(())
            }));
        }
        // Let the read load settle before writes are timed.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    let reads_before = reads.load(Ordering::Relaxed);
    let mut lat = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        let t = Instant::now();
        registry::create_subscriber(store, &Actor::system(), &person(agency_id, *next), now)
            .await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        *next += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let read_count = reads.load(Ordering::Relaxed) - reads_before;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    lat.sort_by(f64::total_cmp);
    Ok(format!(
        "PHASE={} creates={} p50={:.2} p99={:.2} max={:.2} reads={} reads_per_s={:.0}",
        phase.name(),
        lat.len(),
        pct(&lat, 50),
        pct(&lat, 99),
        lat.last().copied().unwrap_or(0.0),
        read_count,
        read_count as f64 / elapsed
    ))
}

async fn run(args: Vec<String>) -> Result<(), Error> {
    let url = arg(&args, "--database-url").ok_or("--database-url URL is required")?;
    let secs: u64 = arg(&args, "--secs").map_or(Ok(10), |v| v.parse())?;
    let readers: usize = arg(&args, "--readers").map_or(Ok(32), |v| v.parse())?;
    let subscribers: usize = arg(&args, "--subscribers").map_or(Ok(500), |v| v.parse())?;
    let store = Store::open(&url).await?;
    #[allow(clippy::disallowed_methods)]
    let now = OffsetDateTime::now_utc();
    let sys = Actor::system();
    let root = registry::create_agency(
        &store,
        &sys,
        &AgencyInput {
            code: "H97".into(),
            name: "UBND Tỉnh Đo Tải".into(),
            kind: "province".into(),
            ..Default::default()
        },
        now,
    )
    .await?;
    let mut ids = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        ids.push(
            registry::create_subscriber(&store, &sys, &person(root.id, i), now)
                .await?
                .id,
        );
    }
    let ids = Arc::new(ids);
    let mut next = subscribers;
    for phase in [Phase::Idle, Phase::Inline, Phase::Served] {
        let line = run_phase(&store, phase, root.id, &ids, readers, secs, &mut next).await?;
        println!("{line}");
    }
    store.close().await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("read_load: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("read_load: {e}");
            ExitCode::FAILURE
        }
    }
}
