//! Time the province's six-monthly report on a province-sized registry (issue 21's speed
//! target; `scripts/bench-report.sh`, BENCHMARKS.md "Issue 21"):
//!
//! ```text
//! cargo run --release -p kyso-store --example report_bench -- --database-url URL \
//!     --sql-out FILE [--rounds 5]
//! ```
//!
//! On a database filled by `gen_registry` (2,000 agencies, 50,000 subscribers, 60,000
//! certificates, 3,000 devices), for the half year containing now: the figures of every
//! reporting agency (those directly under the province, each over its subtree) and of the
//! whole province, `--rounds` times; then a period opened and every agency's report submitted
//! (figures computed and stored in its write transaction), the consolidated figures read back
//! (what the period's page shows), the consolidated workbook (XLSX with its chart) made, the
//! province's PDF laid out with its charts and signed (a demo organization key, as the
//! Department's), and one agency's report laid out as its draft. Prints `KEY=milliseconds`
//! lines. Writes to `--sql-out` the
//! same aggregate queries kyso ran for the agencies, values written in, for the database's own
//! command-line client to run beside it.

use std::process::ExitCode;
use std::time::Instant;

use kyso_domain::reports::Period;
use kyso_store::reports::{self, NewPeriod, ReportInput};
use kyso_store::{Actor, Store};
use time::OffsetDateTime;

type Error = Box<dyn std::error::Error>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn run() -> Result<(), Error> {
    let url = arg("--database-url").ok_or("--database-url URL")?;
    let sql_out = arg("--sql-out").ok_or("--sql-out FILE")?;
    let rounds: usize = arg("--rounds").map_or(Ok(5), |r| r.parse())?;
    let store = Store::open(&url).await?;
    // A benchmark's program is a binary: it reads the clock, as gen_registry does.
    #[allow(clippy::disallowed_methods)]
    let now = OffsetDateTime::now_utc();
    let period = Period::six_monthly(now.year(), if u8::from(now.month()) <= 6 { 1 } else { 2 })?;
    let (root_id, root_path): (i64, String) = kyso_store::sqlx::query_as(
        "SELECT id, path FROM agencies WHERE parent_id IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await?;
    let agencies: Vec<(i64, String)> = kyso_store::sqlx::query_as(
        "SELECT id, path FROM agencies WHERE parent_id = $1 ORDER BY id",
    )
    .bind(root_id)
    .fetch_all(store.pool())
    .await?;
    println!("AGENCIES={}", agencies.len());

    let mut sql = String::new();
    for (_, path) in &agencies {
        for (q, values) in reports::figure_queries(path, &period) {
            sql.push_str(&reports::inlined(&q, &values));
            sql.push_str(";\n");
        }
    }
    std::fs::write(&sql_out, sql)?;

    let mut conn = store.pool().acquire().await?;
    let (mut each, mut whole) = (Vec::new(), Vec::new());
    let mut active = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        for (_, path) in &agencies {
            active += reports::figures(&mut conn, path, &period)
                .await?
                .certificates
                .active;
        }
        each.push(ms(t));
        let t = Instant::now();
        reports::figures(&mut conn, &root_path, &period).await?;
        whole.push(ms(t));
    }
    drop(conn);
    println!("ACTIVE_PER_ROUND={}", active / rounds.max(1) as i64);
    println!("FIGURES_ALL_AGENCIES_MS={:.1}", median(each));
    println!("FIGURES_PROVINCE_MS={:.1}", median(whole));

    let sys = Actor::system();
    let opened = reports::open_period(
        &store,
        &sys,
        &NewPeriod {
            kind: "six_monthly".into(),
            year: Some(period.first_day.year()),
            half: Some(if period.first_day.month() == time::Month::January {
                1
            } else {
                2
            }),
            due_day: kyso_domain::calendar::day_text(
                period.last_day.next_day().unwrap_or(period.last_day),
            ),
            ..Default::default()
        },
        now,
    )
    .await?;
    let t = Instant::now();
    for (id, _) in &agencies {
        reports::save_report(
            &store,
            &sys,
            opened.id,
            *id,
            &ReportInput::default(),
            true,
            now,
        )
        .await?;
    }
    println!("SUBMIT_ALL_MS={:.1}", ms(t));
    let t = Instant::now();
    let xlsx = reports::period_workbook(&store, &sys, opened.id).await?;
    println!("WORKBOOK_MS={:.1}", ms(t));
    println!("WORKBOOK_BYTES={}", xlsx.len());

    let t = Instant::now();
    let all = reports::consolidated(&store, &sys, opened.id).await?;
    println!("CONSOLIDATED_MS={:.1}", ms(t));
    let dir = std::env::temp_dir().join(format!("kyso-report-bench-{}", std::process::id()));
    let password = kyso_keys::Secret::new("kyso-bench".into());
    kyso_pki::demo::init(
        &dir,
        &kyso_pki::demo::InitOptions::new(password.clone(), now),
    )?;
    let signer = kyso_keys::Pkcs12Signer::from_pkcs12(
        &std::fs::read(dir.join("organization.p12"))?,
        &password,
    )?;
    std::fs::remove_dir_all(&dir)?;
    let data = |from: kyso_letters::Reporter, figures, needs| kyso_letters::PeriodReportData {
        managing_name: "Ủy ban nhân dân tỉnh Bench".into(),
        agency_name: "Sở Khoa học và Công nghệ".into(),
        place: "Bench".into(),
        title: opened.title.clone(),
        first_day: period.first_day,
        last_day: period.last_day,
        made_on: Some(now.date()),
        figures,
        needs,
        from,
    };
    let province = data(
        kyso_letters::Reporter::Province {
            agencies: all
                .standing
                .iter()
                .map(|s| (s.agency_name.clone(), true))
                .collect(),
        },
        all.figures.clone(),
        all.needs.clone(),
    );
    let t = Instant::now();
    let pdf = kyso_letters::render_period_report(&province)?;
    let signed = kyso_letters::sign(&pdf, &signer, now)?;
    println!("PROVINCE_PDF_SIGNED_MS={:.1}", ms(t));
    println!("PROVINCE_PDF_BYTES={}", signed.len());
    let first = all.submitted.first().ok_or("no report submitted")?;
    let one = data(
        kyso_letters::Reporter::Agency {
            notation: "BC-SKHCN".into(),
            recipient: "Ủy ban nhân dân tỉnh Bench".into(),
            comments: String::new(),
            questions: String::new(),
            answers: String::new(),
            signer_title: "Giám đốc".into(),
            signer_name: "Nguyễn Văn An".into(),
        },
        first.figures.clone(),
        first.needs.clone(),
    );
    let t = Instant::now();
    let pdf = kyso_letters::render_period_report(&one)?;
    println!("AGENCY_PDF_MS={:.1}", ms(t));
    println!("AGENCY_PDF_BYTES={}", pdf.len());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
