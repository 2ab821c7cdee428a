//! The archive's search at province scale (issue 19's speed target; `scripts/bench-archive.sh`,
//! BENCHMARKS.md "Issue 19"):
//!
//! ```text
//! cargo run --release -p kyso-store --example archive_bench -- --database-url URL \
//!     [--entries 1000000] [--rounds 40] [--seed 1]
//! ```
//!
//! On a registry filled by `gen_registry` (its agencies), `--entries` archive entries are
//! generated — ten years of outgoing and incoming documents spread over the agencies (more to
//! the departments than to the communes' units), each with a number and notation, a type, a
//! subject of 6–14 words and a text layer of 60–120 words drawn from a vocabulary of common
//! administrative words and a long tail of rarer ones (place names, project codes), a signer
//! from common Vietnamese names — and written as filing writes them: the entry row, then its
//! index row through `archive::index` (FTS5 on SQLite, the two `tsvector`s on PostgreSQL).
//! Metadata only: the files' bytes are the archiving benchmark's (`blob_bench`).
//!
//! Then each kind of search, `--rounds` times with its words drawn anew, as the administrator
//! of the whole province and as the clerk of one department (its subtree), through
//! `archive::search` (parsing, scope, statement, rows turned into entries) and, beside it, the
//! same statement run on a connection of its own (`archive::search_sql`: the database alone).
//! Prints one line per kind and scope, and `P99_*` lines for the script.
// Every index is drawn below its list's length (`Rng::below`, `Rng::skewed`).
#![allow(clippy::indexing_slicing)]

use std::process::ExitCode;
use std::time::Instant;

use kyso_domain::archive::{entry_tags, IndexedText, Query, SearchForm};
use kyso_domain::roles::Role;
use kyso_store::archive;
use kyso_store::sqlx::{self, Row as _};
use kyso_store::{Actor, Grant, Store};

type Error = Box<dyn std::error::Error>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// xorshift64*, as gen_registry.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
    /// An index skewed toward 0 (a word's rank: common words drawn far more often).
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        let c = self.below(n);
        a.min(b).min(c)
    }
}

const COMMON: &[&str] = &[
    "quyết định",
    "kế hoạch",
    "triển khai",
    "thực hiện",
    "báo cáo",
    "tổng kết",
    "phê duyệt",
    "chuyển đổi số",
    "ngân sách",
    "dự toán",
    "công tác",
    "năm",
    "tỉnh",
    "huyện",
    "xã",
    "phường",
    "ủy ban nhân dân",
    "sở",
    "phòng",
    "ban",
    "về việc",
    "hướng dẫn",
    "tăng cường",
    "kiểm tra",
    "thanh tra",
    "giám sát",
    "đầu tư",
    "xây dựng",
    "nông thôn mới",
    "giáo dục",
    "y tế",
    "văn hóa",
    "thể thao",
    "du lịch",
    "tài nguyên",
    "môi trường",
    "đất đai",
    "giao thông",
    "vận tải",
    "an toàn",
    "thông tin",
    "chữ ký số",
    "chứng thư",
    "văn thư",
    "lưu trữ",
    "cải cách hành chính",
    "dịch vụ công",
    "trực tuyến",
    "cán bộ",
    "công chức",
    "viên chức",
    "tuyển dụng",
    "bổ nhiệm",
    "khen thưởng",
    "kỷ luật",
    "thi đua",
    "phòng chống",
    "thiên tai",
    "dịch bệnh",
    "quy chế",
    "quy định",
    "điều chỉnh",
    "bổ sung",
    "sửa đổi",
    "ban hành",
    "thành lập",
    "giải thể",
    "sáp nhập",
    "hợp tác",
    "doanh nghiệp",
    "hộ kinh doanh",
    "thuế",
    "phí",
    "lệ phí",
    "quỹ",
    "hỗ trợ",
    "chính sách",
    "người có công",
    "bảo trợ xã hội",
    "lao động",
    "việc làm",
    "đào tạo",
    "bồi dưỡng",
    "khoa học",
    "công nghệ",
    "đổi mới sáng tạo",
    "sở hữu trí tuệ",
    "tiêu chuẩn",
    "đo lường",
    "chất lượng",
    "an ninh",
    "quốc phòng",
    "tư pháp",
    "hộ tịch",
    "chứng thực",
    "công chứng",
    "tiếp công dân",
    "khiếu nại",
    "tố cáo",
];

const PLACES: &[&str] = &[
    "Hòa Bình",
    "An Phú",
    "Tân Lập",
    "Phú Thịnh",
    "Đông Sơn",
    "Thanh Hà",
    "Minh Khai",
    "Quang Trung",
    "Nghĩa Đàn",
    "Yên Thành",
    "Diễn Châu",
    "Quỳnh Lưu",
    "Cửa Lò",
    "Hưng Nguyên",
    "Nam Đàn",
    "Thanh Chương",
    "Đô Lương",
    "Anh Sơn",
    "Con Cuông",
    "Tương Dương",
];

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
];
const MIDDLE: &[&str] = &["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quang", "Ngọc"];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Hương", "Lan", "Long", "Mai", "Nam",
    "Phong", "Quân", "Sơn", "Tâm", "Thảo", "Tuấn", "Vân", "Yến",
];

const TYPES: &[(&str, &str)] = &[
    ("cong_van", ""),
    ("quyet_dinh", "QĐ"),
    ("ke_hoach", "KH"),
    ("bao_cao", "BC"),
    ("thong_bao", "TB"),
    ("to_trinh", "TTr"),
    ("huong_dan", "HD"),
    ("giay_moi", "GM"),
];

/// A word of the long tail (about 20,000 of them): a place with a number, a project code.
fn rare(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("{} {}", PLACES[rng.below(PLACES.len())], rng.below(500)),
        1 => format!("DA{:05}", rng.below(10_000)),
        _ => format!("khu{}", rng.below(10_000)),
    }
}

fn words(rng: &mut Rng, n: usize) -> String {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if rng.below(10) == 0 {
            out.push(rare(rng));
        } else {
            out.push(COMMON[rng.skewed(COMMON.len())].to_owned());
        }
    }
    out.join(" ")
}

fn name(rng: &mut Rng) -> String {
    format!(
        "{} {} {}",
        FAMILY[rng.skewed(FAMILY.len())],
        MIDDLE[rng.below(MIDDLE.len())],
        GIVEN[rng.below(GIVEN.len())]
    )
}

struct Agency {
    id: i64,
    path: String,
    name: String,
    abbrev: String,
}

async fn generate(store: &Store, entries: usize, seed: u64) -> Result<Vec<Agency>, Error> {
    let rows = sqlx::query("SELECT id, path, name, code FROM agencies ORDER BY id")
        .fetch_all(store.pool())
        .await?;
    let agencies: Vec<Agency> = rows
        .iter()
        .map(|r| {
            let code: String = r.try_get(3)?;
            Ok(Agency {
                id: r.try_get(0)?,
                path: r.try_get(1)?,
                name: r.try_get(2)?,
                abbrev: format!("U{}", code.replace('.', "")),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    if agencies.is_empty() {
        return Err("no agencies: fill the database with gen_registry first".into());
    }
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries")
        .fetch_one(store.pool())
        .await?;
    if have > 0 {
        eprintln!("the archive already holds {have} entries: generation skipped");
        return Ok(agencies);
    }
    let backend = store.backend();
    let mut rng = Rng(seed.max(1));
    let started = Instant::now();
    let mut conn = store.pool().acquire().await?;
    let per_tx = 5_000;
    let mut id: i64 = 0;
    // Ten years back from 2026-12-01, the newest filed last.
    let first_day = time::macros::date!(2016 - 12 - 01);
    while (id as usize) < entries {
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        for _ in 0..per_tx.min(entries - id as usize) {
            id += 1;
            // Departments (depth 1) hold most documents.
            let a = &agencies[if rng.below(3) == 0 {
                rng.below(agencies.len())
            } else {
                rng.skewed(agencies.len().min(120))
            }];
            let (ty, sym) = TYPES[rng.skewed(TYPES.len())];
            let day = first_day + time::Duration::days((id * 3652) / entries as i64);
            let number = 1 + rng.below(2_000);
            let incoming = rng.below(3) == 0;
            let notation = if sym.is_empty() {
                format!("{number}/{}-VP", a.abbrev)
            } else {
                format!("{number}/{sym}-{}", a.abbrev)
            };
            let n_subject = 6 + rng.below(9);
            let subject = format!("Về việc {}", words(&mut rng, n_subject));
            let n_body = 60 + rng.below(61);
            let body = words(&mut rng, n_body);
            let signer = name(&mut rng);
            let counterpart = agencies[rng.below(agencies.len())].name.clone();
            sqlx::query(
                "INSERT INTO archive_entries (id, kind, source_id, agency_id, agency_path, number, \
                 notation, doc_type, subject, signer, counterpart, doc_date, sha256, size, \
                 file_name, text_state, filed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14, $15, 'indexed', $16)",
            )
            .bind(id)
            .bind(if incoming { "incoming" } else { "outgoing" })
            .bind(id)
            .bind(a.id)
            .bind(&a.path)
            .bind(number.to_string())
            .bind(&notation)
            .bind(ty)
            .bind(&subject)
            .bind(&signer)
            .bind(&counterpart)
            .bind(day.to_string())
            .bind(format!("{id:064x}"))
            .bind(50_000_i64)
            .bind("van-ban.pdf")
            .bind(1_480_000_000 + id * 300)
            .execute(&mut *conn)
            .await?;
            let text = IndexedText::folded(&notation, &subject, &signer, &counterpart, &body);
            let tags = entry_tags(&a.path, ty, Some(day));
            archive::index(&mut conn, backend, id, &text, &tags).await?;
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        if id % 100_000 == 0 {
            eprintln!("{id} entries, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    if backend == kyso_store::Backend::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('archive_entries', 'id'), \
             (SELECT MAX(id) FROM archive_entries))",
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
    } else {
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
    }
    eprintln!(
        "GENERATED={entries} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(agencies)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

/// The searches of one kind: a form drawn anew each round.
fn form(kind: &str, rng: &mut Rng, agencies: &[Agency]) -> SearchForm {
    let mut f = SearchForm::default();
    let a = &agencies[rng.skewed(agencies.len().min(120))];
    match kind {
        "common-word" => f.q = COMMON[rng.skewed(20)].into(),
        "two-words" => {
            f.q = format!(
                "{} {}",
                COMMON[rng.skewed(COMMON.len())],
                COMMON[rng.below(COMMON.len())]
            )
        }
        "rare-word" => f.q = rare(rng),
        "number" => f.number = format!("{}/{}", 1 + rng.below(2_000), a.abbrev),
        "signer" => f.signer = name(rng),
        "type-month" => {
            f.doc_type = TYPES[rng.below(TYPES.len())].0.into();
            let y = 2017 + rng.below(9);
            let m = 1 + rng.below(12);
            f.from = format!("01/{m:02}/{y}");
            f.to = format!("28/{m:02}/{y}");
        }
        "word-year" => {
            f.q = COMMON[rng.below(COMMON.len())].into();
            let y = 2017 + rng.below(9);
            f.from = format!("01/01/{y}");
            f.to = format!("31/12/{y}");
        }
        "newest" => {}
        _ => f.q = "khongcotrongkho".into(),
    }
    f
}

const KINDS: &[&str] = &[
    "common-word",
    "two-words",
    "rare-word",
    "number",
    "signer",
    "type-month",
    "word-year",
    "newest",
    "no-match",
];

async fn run() -> Result<(), Error> {
    let url = arg("--database-url").ok_or("--database-url URL")?;
    let entries: usize = arg("--entries").map_or(Ok(1_000_000), |v| v.parse())?;
    let rounds: usize = arg("--rounds").map_or(Ok(40), |v| v.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(1), |v| v.parse())?;
    let store = Store::open(&url).await?;
    let agencies = generate(&store, entries, seed).await?;
    let root = agencies.first().ok_or("no agencies")?;
    let admin = Actor {
        user_id: 900_001,
        username: "bench.admin".into(),
        grants: vec![Grant {
            role: Role::DostAdmin,
            agency_id: root.id,
            path: root.path.clone(),
        }],
        source: String::new(),
    };
    // A department of middling size: the 10th agency directly under the root.
    let depth1: Vec<&Agency> = agencies
        .iter()
        .filter(|a| a.path.matches('/').count() == 3)
        .collect();
    let dept = depth1.get(9).or(depth1.first()).ok_or("no departments")?;
    let in_dept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM archive_entries WHERE agency_path LIKE $1")
            .bind(format!("{}%", dept.path))
            .fetch_one(store.pool())
            .await?;
    let clerk = Actor {
        user_id: 900_002,
        username: "bench.clerk".into(),
        grants: vec![Grant {
            role: Role::Clerk,
            agency_id: dept.id,
            path: dept.path.clone(),
        }],
        source: String::new(),
    };
    println!("ENTRIES={entries} DEPARTMENT_ENTRIES={in_dept}");
    let mut rng = Rng(seed.wrapping_add(7));
    let mut raw = store.pool().acquire().await?;
    for (scope, who) in [("province", &admin), ("department", &clerk)] {
        let (mut all_kyso, mut all_db) = (Vec::new(), Vec::new());
        for kind in KINDS {
            let (mut k, mut d) = (Vec::new(), Vec::new());
            let mut found = 0usize;
            for _ in 0..rounds {
                let f = form(kind, &mut rng, &agencies);
                let q = Query::parse(&f)?;
                let t = Instant::now();
                let hits = archive::search(&store, who, &q, 50).await?;
                k.push(t.elapsed().as_secs_f64() * 1000.0);
                found += hits.entries.len();
                let (sql, args) = archive::search_sql(&store, who, &q, 50).await?;
                let t = Instant::now();
                let mut query = sqlx::query(&sql);
                for a in &args {
                    query = query.bind(a);
                }
                let rows = query.fetch_all(&mut *raw).await?;
                d.push(t.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(rows.len());
            }
            all_kyso.extend_from_slice(&k);
            all_db.extend_from_slice(&d);
            println!(
                "{scope:<10} {kind:<12} kyso p50 {:>7.2} ms p99 {:>7.2} ms | database alone p50 {:>7.2} ms p99 {:>7.2} ms | {:.1} hits/search",
                pct(&mut k, 0.5),
                pct(&mut k, 0.99),
                pct(&mut d, 0.5),
                pct(&mut d, 0.99),
                found as f64 / rounds as f64
            );
        }
        println!(
            "P99_{}={:.2} P99_DB_{}={:.2} P50_{}={:.2}",
            scope.to_uppercase(),
            pct(&mut all_kyso, 0.99),
            scope.to_uppercase(),
            pct(&mut all_db, 0.99),
            scope.to_uppercase(),
            pct(&mut all_kyso, 0.5),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("archive_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
