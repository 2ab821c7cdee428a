//! Numbering + registration under concurrent clerks (issue 17, "Speed"; `scripts/bench-documents.sh`,
//! BENCHMARKS.md): how many documents per second the store numbers, organization-signs and
//! registers when `--clerks` clerks of one agency work at once, and how long each of their
//! steps takes — beside the database alone writing the same rows.
//!
//! ```text
//! cargo run --release -p kyso-store --example numbering_load -- --database-url URL \
//!     [--clerks 50] [--docs 1000]
//! ```
//!
//! Setup (not timed): a province, one agency with its outgoing register, `--clerks` clerk
//! accounts and 2 × `--docs` documents taken through the store's flow to the clerk's check
//! (draft, review, format check, approval and the personal signature, each a
//! `documents::act` as the server runs it; the "signed" files are a 40 KB draft with bytes
//! appended, the store checks only that a version extends the previous one). The audit log is
//! chained without a key (`kyso serve` keys it: an HMAC instead of a SHA-256 per entry, the same
//! statements), so that `audit::verify` can check the whole chain after the phase.
//!
//! `kyso` phase: each clerk takes its share of the first `--docs` documents one after the
//! other, three steps each — `number` (reserve the next number), `org_sign` (store the sealed
//! file, 40 KB + the seal, and make the number final) and `register` — through
//! `documents::act`, every step one audited write transaction behind the store's write lock.
//! Checked after the phase: the issued numbers are exactly 1…docs and the audit chain verifies.
//!
//! `database` phase (the peer): the same clerks, on the other `--docs` documents, write the same
//! rows with raw sqlx through a pool of the store's size — per step the state update, the
//! number row (insert / update), the version row, the timeline row and an audit row — with
//! every value computed in the client (numbers and audit sequence numbers from atomic counters,
//! no reads, no lock row, no hash chain). On SQLite its transactions take turns on a FIFO mutex
//! (SQLite has one writer; left to its busy handler, 50 writers poll and sleep); on PostgreSQL
//! they run concurrently with row locks only. It is the floor for these writes on that engine:
//! what the store adds is the ordering (write lock, audit chain, the next number read inside the
//! lock), the checks and the blob file.
//!
//! One line per phase: `PHASE=… docs=… secs=… docs_per_s=… step_p50=… step_p99=… step_max=…
//! number_p99=… org_sign_p99=… register_p99=… doc_p50=… doc_p99=…` (milliseconds); `step_*`
//! is the latency of one step (one request of a clerk), `doc_*` of a document's three steps.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::{Actor, Backend, Grant, Store};
use time::OffsetDateTime;
use zeroize::Zeroizing;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The `p`-th percentile of sorted `v` (nearest rank).
fn pct(v: &[f64], p: usize) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = (p * v.len()).div_ceil(100).clamp(1, v.len());
    v.get(rank - 1).copied().unwrap_or(0.0)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// An account with `role` at the agency and the actor it acts as.
async fn person(
    store: &Store,
    name: &str,
    agency: (i64, &str),
    role: Role,
    now: OffsetDateTime,
) -> Result<Actor, Error> {
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: format!("{name}@demo.invalid"),
            agency_id: agency.0,
            password: Zeroizing::new("mat-khau-dai-12345-Ab".into()),
            roles: vec![RoleOn {
                role: role.as_str().into(),
                agency_id: agency.0,
            }],
            must_change_password: false,
        },
        now,
    )
    .await?;
    Ok(Actor {
        user_id: user.id,
        username: name.into(),
        grants: vec![Grant {
            role,
            agency_id: agency.0,
            path: agency.1.to_owned(),
        }],
        source: "127.0.0.1".into(),
    })
}

/// Step latencies of one clerk: (number, org_sign, register) per document, milliseconds.
type Lat = Vec<[f64; 3]>;

fn report(phase: &str, lat: &[Lat], secs: f64) -> String {
    let all: Vec<[f64; 3]> = lat.iter().flatten().copied().collect();
    let steps = sorted(all.iter().flat_map(|s| s.iter().copied()).collect());
    let kind = |k: usize| sorted(all.iter().filter_map(|s| s.get(k).copied()).collect());
    let per_doc = sorted(all.iter().map(|s| s.iter().sum()).collect());
    format!(
        "PHASE={phase} docs={} secs={secs:.3} docs_per_s={:.0} step_p50={:.2} step_p99={:.2} \
         step_max={:.2} number_p99={:.2} org_sign_p99={:.2} register_p99={:.2} doc_p50={:.2} \
         doc_p99={:.2}",
        all.len(),
        all.len() as f64 / secs,
        pct(&steps, 50),
        pct(&steps, 99),
        steps.last().copied().unwrap_or(0.0),
        pct(&kind(0), 99),
        pct(&kind(1), 99),
        pct(&kind(2), 99),
        pct(&per_doc, 50),
        pct(&per_doc, 99),
    )
}

/// A draft of `size` bytes (the store checks only the `%PDF-` header and that each signed
/// version extends the one before).
fn draft(size: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    let mut i = 0u32;
    while v.len() < size {
        v.extend_from_slice(format!("% line {i} of the draft decision\n").as_bytes());
        i += 1;
    }
    v.extend_from_slice(b"%%EOF\n");
    v
}

fn appended(previous: &[u8], who: &str, size: usize) -> Vec<u8> {
    let mut v = previous.to_vec();
    v.extend_from_slice(format!("% signature of {who}\n").as_bytes());
    v.resize(previous.len() + size, b'0');
    v.extend_from_slice(b"\n%%EOF\n");
    v
}

struct Setup {
    clerks: Vec<Actor>,
    /// Documents at the clerk's check, with their personally signed bytes.
    docs: Vec<(i64, Arc<Vec<u8>>)>,
}

async fn setup(
    store: &Store,
    blobs: &Blobs,
    clerks: usize,
    n: usize,
    now: OffsetDateTime,
) -> Result<Setup, Error> {
    let sys = Actor::system();
    let root = registry::create_agency(
        store,
        &sys,
        &AgencyInput {
            code: "H98".into(),
            name: "UBND Tỉnh Thử".into(),
            kind: "province".into(),
            ..Default::default()
        },
        now,
    )
    .await?;
    let dost = registry::create_agency(
        store,
        &sys,
        &AgencyInput {
            code: "H98.37".into(),
            name: "Sở Khoa học và Công nghệ".into(),
            kind: "department".into(),
            parent_id: Some(root.id),
            ..Default::default()
        },
        now,
    )
    .await?;
    let at = (dost.id, dost.path.as_str());
    let drafter = person(store, "chuyenvien", at, Role::Drafter, now).await?;
    let reviewer = person(store, "truongphong", at, Role::Reviewer, now).await?;
    let checker = person(store, "thethuc", at, Role::FormatChecker, now).await?;
    let signer = person(store, "giamdoc", at, Role::Signer, now).await?;
    let mut cs = Vec::new();
    for i in 0..clerks {
        cs.push(person(store, &format!("vanthu{i:02}"), at, Role::Clerk, now).await?);
    }
    let clerk = cs.first().ok_or("at least one clerk")?.clone();
    docs::create_register(
        store,
        &clerk,
        &RegisterInput {
            agency_id: dost.id,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: Vec::new(),
        },
        now,
    )
    .await?;
    let meta = DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: "Về việc ban hành Quy chế sử dụng chữ ký số chuyên dùng công vụ".into(),
        place: "Demo".into(),
        signer: SignerBlock {
            authority: SignAuthority::Kt,
            principal_title: "Giám đốc".into(),
            title: "Phó Giám đốc".into(),
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        recipients: vec!["H98.05".into()],
        page_count: Some(1),
        ..Default::default()
    };
    let mut out = Vec::new();
    for i in 0..2 * n {
        let bytes = draft(40_000 + i % 7);
        let d = docs::create_document(
            store,
            blobs,
            &drafter,
            &NewDocument {
                agency_id: dost.id,
                meta: meta.clone(),
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: bytes.clone(),
            },
            now,
        )
        .await?;
        for (who, action) in [
            (&drafter, DocAction::Submit),
            (&reviewer, DocAction::Forward),
            (&checker, DocAction::CheckFormat),
            (&signer, DocAction::Approve),
        ] {
            docs::act(store, blobs, who, d.id, action, &StepInput::default(), now).await?;
        }
        let personal = appended(&bytes, "giamdoc", 9_000);
        let input = StepInput {
            file: Some(personal.clone()),
            file_name: "ky-ca-nhan.pdf".into(),
            ..Default::default()
        };
        docs::act(
            store,
            blobs,
            &signer,
            d.id,
            DocAction::SignPersonal,
            &input,
            now,
        )
        .await?;
        docs::act(
            store,
            blobs,
            &clerk,
            d.id,
            DocAction::ClerkCheck,
            &StepInput::default(),
            now,
        )
        .await?;
        out.push((d.id, Arc::new(personal)));
    }
    Ok(Setup {
        clerks: cs,
        docs: out,
    })
}

/// The store's phase: each clerk numbers, seals and registers its documents.
async fn store_phase(
    store: &Store,
    blobs: &Blobs,
    clerks: &[Actor],
    work: &[(i64, Arc<Vec<u8>>)],
    now: OffsetDateTime,
) -> Result<(Vec<Lat>, f64, Vec<i64>), Error> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, clerk) in clerks.iter().enumerate() {
        let mine: Vec<_> = work.iter().skip(c).step_by(clerks.len()).cloned().collect();
        let (store, blobs, clerk) = (store.clone(), blobs.clone(), clerk.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            let mut numbers = Vec::new();
            for (id, personal) in mine {
                let t0 = Instant::now();
                let out = docs::act(
                    &store,
                    &blobs,
                    &clerk,
                    id,
                    DocAction::Number,
                    &StepInput::default(),
                    now,
                )
                .await?;
                let number = out.number.ok_or("no number")?;
                let t1 = Instant::now();
                let input = StepInput {
                    file: Some(appended(&personal, &clerk.username, 12_000)),
                    file_name: "ban-hanh.pdf".into(),
                    shown_number: Some(u32::try_from(number)?),
                    ..Default::default()
                };
                docs::act(&store, &blobs, &clerk, id, DocAction::OrgSign, &input, now).await?;
                let t2 = Instant::now();
                docs::act(
                    &store,
                    &blobs,
                    &clerk,
                    id,
                    DocAction::Register,
                    &StepInput::default(),
                    now,
                )
                .await?;
                let t3 = Instant::now();
                let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
                lat.push([ms(t0, t1), ms(t1, t2), ms(t2, t3)]);
                numbers.push(number);
            }
            Ok::<_, Error>((lat, numbers))
        }));
    }
    let mut lats = Vec::new();
    let mut numbers = Vec::new();
    for t in tasks {
        let (l, n) = t.await??;
        lats.push(l);
        numbers.extend(n);
    }
    Ok((lats, started.elapsed().as_secs_f64(), numbers))
}

/// Raw sqlx on the store's pool: the rows the three steps write, values computed in the client.
#[allow(clippy::too_many_arguments)]
async fn db_step(
    store: &Store,
    turn: &tokio::sync::Mutex<()>,
    serialise: bool,
    clerk: &Actor,
    id: i64,
    step: usize,
    number: i64,
    seq: i64,
    ctx: &Ctx,
) -> Result<(), Error> {
    let _turn = if serialise {
        Some(turn.lock().await)
    } else {
        None
    };
    let now = ctx.now;
    let (action, from, to) = match step {
        0 => ("number", "clerk_checked", "numbered"),
        1 => ("org_sign", "numbered", "org_signed"),
        _ => ("register", "org_signed", "registered"),
    };
    let mut tx = store.pool().begin().await?;
    let changed = sqlx::query(
        "UPDATE documents SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(format!("document {id} not in state {from}").into());
    }
    match step {
        0 => {
            sqlx::query(
                "INSERT INTO doc_numbers (register_id, year, number, agency_id, status, \
                 document_id, notation, changed_at) VALUES ($1, $2, $3, $4, 'reserved', $5, $6, $7)",
            )
            .bind(ctx.register)
            .bind(ctx.year)
            .bind(number)
            .bind(ctx.agency)
            .bind(id)
            .bind("QĐ-SKHCN")
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE documents SET number = $1, number_year = $2, notation = $3, \
                 issued_date = $4 WHERE id = $5",
            )
            .bind(number)
            .bind(ctx.year)
            .bind("QĐ-SKHCN")
            .bind("2026-12-06")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        1 => {
            sqlx::query(
                "INSERT INTO document_versions (document_id, seq, kind, sha256, size, file_name, \
                 uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(3_i64)
            .bind("org_signed")
            .bind(format!("{:064x}", id))
            .bind(61_000_i64)
            .bind("ban-hanh.pdf")
            .bind(clerk.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE doc_numbers SET status = 'issued', changed_at = $1 \
                 WHERE document_id = $2 AND status = 'reserved' AND number = $3",
            )
            .bind(now)
            .bind(id)
            .bind(number)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    sqlx::query(
        "INSERT INTO document_events (document_id, action, from_state, to_state, user_id, actor, \
         note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(clerk.user_id)
    .bind(&clerk.username)
    .bind(format!("Số: {number}/QĐ-SKHCN"))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let detail = format!(
        "{{\"from\":\"{from}\",\"to\":\"{to}\",\"reason\":\"\",\"number\":{number},\
         \"notation\":\"{number:02}/QĐ-SKHCN\",\"version\":null,\"sha256\":null,\"deliveries\":0}}"
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ns, actor, agency, action, object, detail, source, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(now * 1_000_000_000)
    .bind(&clerk.username)
    .bind("H98.37")
    .bind(format!("document.{action}"))
    .bind(format!("document:{id}"))
    .bind(detail)
    .bind(&clerk.source)
    .bind("0".repeat(64))
    .bind(format!("{seq:064x}"))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

struct Ctx {
    now: i64,
    year: i64,
    register: i64,
    agency: i64,
}

/// The peer: the same clerks write the same rows with raw sqlx.
async fn database_phase(
    store: &Store,
    clerks: &[Actor],
    work: &[(i64, Arc<Vec<u8>>)],
    now: OffsetDateTime,
) -> Result<(Vec<Lat>, f64), Error> {
    let pool = store.pool();
    let register: i64 = sqlx::query_scalar("SELECT id FROM doc_registers")
        .fetch_one(pool)
        .await?;
    let agency: i64 = sqlx::query_scalar("SELECT agency_id FROM doc_registers")
        .fetch_one(pool)
        .await?;
    let max_number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) FROM doc_numbers")
        .fetch_one(pool)
        .await?;
    let max_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log")
        .fetch_one(pool)
        .await?;
    let ctx = Arc::new(Ctx {
        now: now.unix_timestamp(),
        year: i64::from(kyso_domain::documents::series_year(now)),
        register,
        agency,
    });
    let numbers = Arc::new(AtomicI64::new(max_number));
    let seqs = Arc::new(AtomicI64::new(max_seq));
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    let serialise = store.backend() == Backend::Sqlite;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, clerk) in clerks.iter().enumerate() {
        let mine: Vec<i64> = work
            .iter()
            .skip(c)
            .step_by(clerks.len())
            .map(|(id, _)| *id)
            .collect();
        let (store, clerk, ctx) = (store.clone(), clerk.clone(), ctx.clone());
        let (numbers, seqs, turn) = (numbers.clone(), seqs.clone(), turn.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            for id in mine {
                let number = numbers.fetch_add(1, Ordering::Relaxed) + 1;
                let mut l = [0.0; 3];
                for (step, slot) in l.iter_mut().enumerate() {
                    let t = Instant::now();
                    let seq = seqs.fetch_add(1, Ordering::Relaxed) + 1;
                    db_step(
                        &store, &turn, serialise, &clerk, id, step, number, seq, &ctx,
                    )
                    .await?;
                    *slot = t.elapsed().as_secs_f64() * 1000.0;
                }
                lat.push(l);
            }
            Ok::<_, Error>(lat)
        }));
    }
    let mut lats = Vec::new();
    for t in tasks {
        lats.push(t.await??);
    }
    Ok((lats, started.elapsed().as_secs_f64()))
}

async fn run(args: &[String]) -> Result<(), Error> {
    let url = arg(args, "--database-url").ok_or("--database-url URL")?;
    let clerks: usize = arg(args, "--clerks").map_or(Ok(50), |s| s.parse())?;
    let n: usize = arg(args, "--docs").map_or(Ok(1000), |s| s.parse())?;
    let blob_dir = arg(args, "--blobs").ok_or("--blobs DIR")?;
    let store = Store::open(&url).await?;
    let blobs = Blobs::open(std::path::Path::new(&blob_dir))?;
    #[allow(clippy::disallowed_methods)] // an example program reads the clock
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let s = setup(&store, &blobs, clerks, n, now).await?;
    println!(
        "SETUP clerks={clerks} docs={} secs={:.1}",
        s.docs.len(),
        t.elapsed().as_secs_f64()
    );
    let (kyso_work, db_work) = s.docs.split_at(n);

    let (lat, secs, mut numbers) = store_phase(&store, &blobs, &s.clerks, kyso_work, now).await?;
    numbers.sort_unstable();
    let expected: Vec<i64> = (1..=i64::try_from(n)?).collect();
    if numbers != expected {
        return Err("the issued numbers are not exactly 1…docs".into());
    }
    match kyso_store::audit::verify(&store).await? {
        Ok(_) => {}
        Err(e) => return Err(format!("the audit chain does not verify: {e:?}").into()),
    }
    println!("{}", report("kyso", &lat, secs));

    let (lat, secs) = database_phase(&store, &s.clerks, db_work, now).await?;
    println!("{}", report("database", &lat, secs));
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
            eprintln!("numbering_load: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("numbering_load: {e}");
            ExitCode::FAILURE
        }
    }
}
