//! Fill an empty registry database with a province-sized, fictional data set for the
//! `kyso serve` benchmarks (`scripts/bench-serve.sh`, BENCHMARKS.md "Issue 6"):
//!
//! ```text
//! cargo run --release -p kyso-store --example gen_registry -- --database-url URL \
//!     [--agencies 2000] [--subscribers 50000] [--certificates 60000] [--devices 3000] \
//!     [--documents 0] [--seed 1]
//! ```
//!
//! The store is opened with `Store::open` (so the migrations run) and a database that already
//! holds agencies or accounts is refused. Rows are bulk-inserted with raw multi-row `INSERT`s
//! through `store.pool()` in batched transactions, with explicit ids (PostgreSQL's identity
//! sequences are moved past them at the end). The tree is a province root `H98`, 60
//! departments (`H98.01`–`H98.60`), 39 communes (`H98.61`–`H98.99`), then units below them
//! (level 3, and some level 4), every path written as `registry::create_agency` writes it
//! (`/<root id>/<parent id>/…/<id>/`).
//!
//! Every name is a fictional combination of common Vietnamese family, middle and given names.
//! Certificates are **not** real certificates: `der` is a short placeholder text and `sha256`
//! its hash (so `GET /api/v1/certificates/{id}/der` still passes the fingerprint check); their
//! `not_after` spreads evenly from one year ago to three years ahead of now.
//!
//! Two accounts are made through `accounts::create_user` (a DOST administrator on the root and a
//! signature officer on a department of middling size) with an API token each; the last lines
//! printed are `KEY=value` lines for the script: `ADMIN_TOKEN`, `OFFICER_TOKEN`,
//! `OFFICER_AGENCY_ID`, `SUBTREE_AGENCY_ID` (another department), `SAMPLE_SERIAL`.
//!
//! `--documents N` adds a year of documents for the reports' benchmark (`scripts/bench-report.sh`):
//! N outgoing documents spread over the agencies and the last 365 days, each dispatched with
//! its timeline (personal signature, organization signature, dispatch, hours apart), in one
//! register of the province; and N/2 incoming documents, one in 25 refused with one of four
//! reasons. Metadata rows only: no files.
//! The output is the same for a seed, apart from times (relative to now) and the tokens.

use std::process::ExitCode;
use std::time::Instant;

use kyso_domain::codes::AgencyCode;
use kyso_domain::text::fold;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::{Actor, Backend, Store};
use time::OffsetDateTime;

type Error = Box<dyn std::error::Error>;

const DAY: i64 = 86_400;
/// Rows per multi-row INSERT (and per transaction): well under SQLite's 32,766 parameters.
const BATCH: usize = 1000;

const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 50),
    ("Huỳnh", 30),
    ("Phan", 45),
    ("Vũ", 40),
    ("Võ", 35),
    ("Đặng", 25),
    ("Bùi", 25),
    ("Đỗ", 20),
    ("Hồ", 15),
    ("Ngô", 15),
    ("Dương", 10),
    ("Lý", 5),
    ("Đinh", 8),
    ("Trịnh", 6),
    ("Đào", 6),
    ("Mai", 4),
    ("Cao", 4),
    ("Lương", 3),
    ("Tạ", 2),
];
const MIDDLE_M: &[&str] = &[
    "Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Ngọc", "Đình",
    "Trọng", "Quang", "Anh", "Tuấn", "Hoàng",
];
const MIDDLE_F: &[&str] = &[
    "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Minh", "Kim", "Phương", "Hồng", "Thúy",
    "Mỹ", "Bích", "Hải",
];
const GIVEN_M: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hòa", "Hùng", "Huy",
    "Khánh", "Khoa", "Kiên", "Long", "Lâm", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc",
    "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Tùng",
    "Việt", "Vinh", "Bảo", "Công", "Duy", "Hoàng",
];
const GIVEN_F: &[&str] = &[
    "Anh", "Châu", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng",
    "Huyền", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung",
    "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Thủy", "Trang", "Tuyết", "Uyên", "Vân", "Yến",
    "Hoa", "Lý", "Nhi",
];
const DEPARTMENTS: &[&str] = &[
    "Văn phòng Ủy ban nhân dân",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường",
    "Sở Xây dựng",
    "Sở Khoa học và Công nghệ",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Dân tộc và Tôn giáo",
    "Thanh tra",
    "Ban Quản lý các khu công nghiệp",
    "Ban Quản lý dự án đầu tư xây dựng",
    "Đài Phát thanh và Truyền hình",
    "Bảo hiểm xã hội",
    "Kho bạc Nhà nước khu vực",
    "Thuế",
    "Trường Cao đẳng",
];
const PLACES: &[&str] = &[
    "Hòa Bình",
    "Tân Phú",
    "An Thạnh",
    "Phú Lộc",
    "Thạnh Mỹ",
    "Long Hưng",
    "Bình Minh",
    "Đông Hòa",
    "Tây Sơn",
    "Quảng Phú",
    "Hưng Lợi",
    "Mỹ Xuyên",
    "Thuận An",
    "Vĩnh Phước",
    "Hiệp Hòa",
    "Đức Thắng",
    "Phước Long",
    "Trường Xuân",
    "Cẩm Thủy",
    "Nghĩa Hưng",
];
const UNITS: &[&str] = &[
    "Phòng Hành chính - Tổng hợp",
    "Phòng Kế hoạch - Tài chính",
    "Trung tâm Dịch vụ công",
    "Trường Trung học cơ sở",
    "Trường Tiểu học",
    "Trường Mầm non",
    "Trạm Y tế",
    "Trung tâm Y tế",
    "Chi cục",
    "Trung tâm Kỹ thuật",
    "Ban Quản lý chợ",
    "Phòng Kinh tế",
    "Phòng Văn hóa - Xã hội",
];
const TITLES: &[&str] = &[
    "Chuyên viên",
    "Chuyên viên",
    "Chuyên viên",
    "Văn thư",
    "Kế toán",
    "Trưởng phòng",
    "Phó Trưởng phòng",
    "Giám đốc",
    "Phó Giám đốc",
    "Chủ tịch",
    "Phó Chủ tịch",
    "Hiệu trưởng",
    "Giáo viên",
    "Bác sĩ",
];

/// xorshift64*: tiny, deterministic, good enough to spread fictional data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (`0` when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or_default()
    }
    fn weighted<'a>(&mut self, items: &[(&'a str, u32)]) -> &'a str {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut r = self.below(total);
        for (v, w) in items {
            if r < u64::from(*w) {
                return v;
            }
            r -= u64::from(*w);
        }
        ""
    }
    fn chance(&mut self, per_thousand: u64) -> bool {
        self.below(1000) < per_thousand
    }
}

#[derive(Debug)]
struct Options {
    url: String,
    agencies: usize,
    subscribers: usize,
    certificates: usize,
    devices: usize,
    documents: usize,
    seed: u64,
}

fn parse_args() -> Result<Options, Error> {
    let mut o = Options {
        url: String::new(),
        agencies: 2000,
        subscribers: 50_000,
        certificates: 60_000,
        devices: 3000,
        documents: 0,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--database-url" => o.url = value()?,
            "--agencies" => o.agencies = value()?.parse()?,
            "--subscribers" => o.subscribers = value()?.parse()?,
            "--certificates" => o.certificates = value()?.parse()?,
            "--devices" => o.devices = value()?.parse()?,
            "--documents" => o.documents = value()?.parse()?,
            "--seed" => o.seed = value()?.parse()?,
            _ => return Err(format!("unknown argument {a}; see the file's header").into()),
        }
    }
    if o.url.is_empty() {
        return Err("--database-url URL is required (sqlite:PATH or postgres://…)".into());
    }
    if !(100..=50_000).contains(&o.agencies) || o.subscribers == 0 {
        return Err("--agencies must be 100..=50000 and --subscribers at least 1".into());
    }
    Ok(o)
}

/// One value of a row to insert.
#[derive(Debug, Clone)]
enum V {
    I(i64),
    N(Option<i64>),
    T(String),
    B(Vec<u8>),
}

/// Insert `rows` into `table (columns)` in batches, each in its own write transaction.
async fn insert(store: &Store, table: &str, columns: &str, rows: Vec<Vec<V>>) -> Result<(), Error> {
    let width = columns.split(',').count();
    for chunk in rows.chunks(BATCH) {
        let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..width {
                n += 1;
                if c > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            if row.len() != width {
                return Err(format!("{table}: a row has {} values, not {width}", row.len()).into());
            }
            for v in row {
                q = match v {
                    V::I(i) => q.bind(*i),
                    V::N(i) => q.bind(*i),
                    V::T(s) => q.bind(s.clone()),
                    V::B(b) => q.bind(b.clone()),
                };
            }
        }
        let mut tx = store
            .begin_write(&Actor::system(), kyso_store::On::System)
            .await?;
        q.execute(tx.conn()).await?;
        tx.commit().await?;
    }
    Ok(())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
struct Ag {
    id: i64,
    code: AgencyCode,
    path: String,
    /// Index of the level-2 agency (department or commune) this one lies under.
    top: usize,
}

/// The agency tree: root, 60 departments, 39 communes, then units at levels 3 and 4.
fn agencies(rng: &mut Rng, n: usize, now: i64) -> Result<(Vec<Ag>, Vec<Vec<V>>), Error> {
    let mut tree: Vec<Ag> = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    let mut children = vec![0u32; n + 1];
    let mut add = |tree: &mut Vec<Ag>,
                   code: &str,
                   name: String,
                   kind: &str,
                   parent: Option<usize>|
     -> Result<(), Error> {
        let code = AgencyCode::parse(code).map_err(|e| e.message_en())?;
        let id = tree.len() as i64 + 1;
        let (path, top, parent_id) = match parent.and_then(|p| tree.get(p)) {
            Some(p) => (
                format!("{}{id}/", p.path),
                if p.id == 1 { tree.len() } else { p.top },
                Some(p.id),
            ),
            None => (format!("/{id}/"), 0, None),
        };
        rows.push(vec![
            V::I(id),
            V::T(code.dotted()),
            V::T(code.legacy()),
            V::T(name.clone()),
            V::T(fold(&name)),
            V::T(kind.to_owned()),
            V::N(parent_id),
            V::T(path.clone()),
            V::I(now),
            V::I(now),
        ]);
        tree.push(Ag {
            id,
            code,
            path,
            top,
        });
        Ok(())
    };
    add(
        &mut tree,
        "H98",
        "Ủy ban nhân dân tỉnh Bench".into(),
        "province",
        None,
    )?;
    for d in 1..=60usize {
        let base = DEPARTMENTS.get(d - 1).copied();
        let name = match base {
            Some(b) => format!("{b} tỉnh Bench"),
            None => {
                format!(
                    "{} {}",
                    rng.pick(&["Trung tâm", "Ban", "Chi cục", "Quỹ"]),
                    rng.pick(PLACES)
                ) + &format!(" số {d}")
            }
        };
        add(
            &mut tree,
            &format!("H98.{d:02}"),
            name,
            "department",
            Some(0),
        )?;
    }
    for c in 61..=99usize {
        let name = format!("Ủy ban nhân dân xã {} {}", rng.pick(PLACES), c - 60);
        add(&mut tree, &format!("H98.{c:02}"), name, "commune", Some(0))?;
    }
    let level2 = tree.len();
    let mut level3: Vec<usize> = Vec::new();
    while tree.len() < n {
        let deep = level3.len() > 200 && rng.chance(200);
        let parent = if deep {
            // A level-4 unit under a random level-3 one.
            let i = rng.below(level3.len() as u64) as usize;
            level3.get(i).copied().unwrap_or(1)
        } else {
            // Skewed towards the first level-2 agencies: sizes differ as in a real province.
            let spread = rng.below(level2 as u64 - 1) + 1;
            1 + rng.below(spread) as usize
        };
        let (parent_code, count) = match (tree.get(parent), children.get_mut(parent)) {
            (Some(p), Some(c)) => (p.code.dotted(), c),
            _ => continue,
        };
        let max = if deep { 999 } else { 99 };
        if *count >= max {
            continue;
        }
        *count += 1;
        let code = if deep {
            format!("{parent_code}.{:03}", *count)
        } else {
            format!("{parent_code}.{:02}", *count)
        };
        let name = format!("{} {}", rng.pick(UNITS), rng.pick(PLACES));
        if !deep {
            level3.push(tree.len());
        }
        add(&mut tree, &code, name, "unit", Some(parent))?;
    }
    Ok((tree, rows))
}

fn person_name(rng: &mut Rng) -> String {
    let female = rng.chance(500);
    let family = rng.weighted(FAMILY);
    let (middle, given) = if female {
        (MIDDLE_F, GIVEN_F)
    } else {
        (MIDDLE_M, GIVEN_M)
    };
    let mut name = format!("{family} {}", rng.pick(middle));
    if rng.chance(150) {
        name.push(' ');
        name.push_str(rng.pick(middle));
    }
    name.push(' ');
    name.push_str(rng.pick(given));
    name
}

/// A year of documents (see the header): `n` outgoing, dispatched, with their timelines, in
/// one register of the province, drafted by `user_id`; `n / 2` incoming, some refused.
async fn documents(
    store: &Store,
    rng: &mut Rng,
    tree: &[Ag],
    n: usize,
    user_id: i64,
    now: i64,
) -> Result<(), Error> {
    const KINDS: &[&str] = &["cong_van", "quyet_dinh", "ke_hoach", "bao_cao", "thong_bao"];
    const REASONS: &[&str] = &[
        "Gửi nhầm cơ quan",
        "Chữ ký số không hợp lệ",
        "Thiếu phụ lục kèm theo",
        "Không thuộc thẩm quyền giải quyết",
    ];
    let root = tree.first().map_or(1, |t| t.id);
    insert(
        store,
        "doc_registers",
        "id, agency_id, code, name, issuer_abbrev, doc_types, created_at",
        vec![vec![
            V::I(1),
            V::I(root),
            V::T("VBĐ".into()),
            V::T("Sổ văn bản đi".into()),
            V::T("UBND".into()),
            V::T(String::new()),
            V::I(now),
        ]],
    )
    .await?;
    let agency = |rng: &mut Rng| {
        tree.get(rng.below(tree.len() as u64) as usize)
            .map_or(root, |t| t.id)
    };
    let (mut docs, mut events) = (Vec::with_capacity(n), Vec::with_capacity(3 * n));
    for i in 0..n {
        let id = i as i64 + 1;
        let at = now - rng.below(365 * DAY as u64) as i64;
        let kind = rng.pick(KINDS);
        docs.push(vec![
            V::I(id),
            V::I(agency(rng)),
            V::I(1),
            V::T("dispatched".into()),
            V::T(kind.into()),
            V::T(format!("Văn bản thử nghiệm số {id}")),
            V::T("{}".into()),
            V::I(user_id),
            V::I((id % 9999) + 1),
            V::T(format!("{}-UBND", kind.to_uppercase())),
            V::I(at),
            V::I(at + 5 * 3600),
        ]);
        for (k, (action, from, to)) in [
            ("sign_personal", "approved", "personally_signed"),
            ("org_sign", "numbered", "org_signed"),
            ("dispatch", "registered", "dispatched"),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(vec![
                V::I(3 * id - 2 + k as i64),
                V::I(id),
                V::T(action.into()),
                V::T(from.into()),
                V::T(to.into()),
                V::I(user_id),
                V::T("bench.admin".into()),
                V::T(String::new()),
                V::I(at + (k as i64 + 1) * 3600),
            ]);
        }
    }
    insert(
        store,
        "documents",
        "id, agency_id, register_id, state, doc_type, subject, meta, drafter_id, number, \
         notation, created_at, updated_at",
        docs,
    )
    .await?;
    insert(
        store,
        "document_events",
        "id, document_id, action, from_state, to_state, user_id, actor, note, created_at",
        events,
    )
    .await?;
    let mut rows = Vec::with_capacity(n / 2);
    for i in 0..n / 2 {
        let at = now - rng.below(365 * DAY as u64) as i64;
        let refused = rng.chance(40);
        let reason = if refused { rng.pick(REASONS) } else { "" };
        let sha = format!("{:064x}", i + 1);
        rows.push(vec![
            V::I(i as i64 + 1),
            V::I(agency(rng)),
            V::T("edxml".into()),
            V::T(if refused { "refused" } else { "registered" }.into()),
            V::T(if refused { "02" } else { "03" }.into()),
            V::T("G01.02.03".into()),
            V::T("Cơ quan gửi thử nghiệm".into()),
            V::T(format!("{}", i + 1)),
            V::T("CV-GUI".into()),
            V::T("2026-01-01".into()),
            V::T("cong_van".into()),
            V::T(format!("Văn bản đến thử nghiệm số {}", i + 1)),
            V::T("Người ký thử nghiệm".into()),
            V::T(sha),
            V::I(51_200),
            V::T("van-ban.pdf".into()),
            V::T("valid".into()),
            V::T("[]".into()),
            V::T("{}".into()),
            V::I(at),
            V::I(user_id),
            V::N(Some(user_id)),
            V::N(Some(at + 3600)),
            V::T(reason.into()),
            V::I(at),
            V::I(at + 3600),
        ]);
    }
    insert(
        store,
        "incoming_documents",
        "id, agency_id, channel, state, status_code, sender_code, sender_name, number, \
         notation, doc_date, doc_type, subject, signer, sha256, size, file_name, verdict, \
         reasons, report, arrived_at, received_by, decided_by, decided_at, decision_note, \
         created_at, updated_at",
        rows,
    )
    .await?;
    Ok(())
}

async fn run() -> Result<(), Error> {
    let o = parse_args()?;
    let started = Instant::now();
    // An example program, not library code: it reads the clock once, like the binary does.
    #[allow(clippy::disallowed_methods)]
    let now_dt = OffsetDateTime::now_utc();
    let now = now_dt.unix_timestamp();
    let store = Store::open(&o.url).await?;
    let existing: i64 =
        sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM agencies) + (SELECT COUNT(*) FROM users)")
            .fetch_one(store.pool())
            .await?;
    if existing > 0 {
        return Err(
            "the database is not empty (it holds agencies or accounts); \
                    give gen_registry a new database"
                .into(),
        );
    }
    let mut rng = Rng::new(o.seed);

    // Agencies.
    let (tree, rows) = agencies(&mut rng, o.agencies, now)?;
    insert(
        &store,
        "agencies",
        "id, code, legacy_code, name, name_fold, kind, parent_id, path, created_at, updated_at",
        rows,
    )
    .await?;
    let names: Vec<String> =
        sqlx::query_scalar::<_, String>("SELECT name FROM agencies ORDER BY id")
            .fetch_all(store.pool())
            .await?;

    // Subscribers: individuals mostly, some organizations (the agency itself).
    let mut sub_agency: Vec<usize> = Vec::with_capacity(o.subscribers);
    let mut sub_names: Vec<String> = Vec::with_capacity(o.subscribers);
    let mut rows = Vec::with_capacity(o.subscribers);
    for i in 0..o.subscribers {
        let a = 1 + rng.below(tree.len() as u64 - 1) as usize;
        let org = rng.chance(40);
        let name = if org {
            names.get(a).cloned().unwrap_or_default()
        } else {
            person_name(&mut rng)
        };
        let dob = if org {
            String::new()
        } else {
            format!(
                "{}-{:02}-{:02}",
                1960 + rng.below(42),
                1 + rng.below(12),
                1 + rng.below(28)
            )
        };
        let id_number = if org {
            String::new()
        } else {
            format!("0{:02}{}{:08}", 1 + rng.below(96), rng.below(4), i)
        };
        let email = if org || rng.chance(300) {
            String::new()
        } else {
            format!("{}.{i}@bench.gov.vn", fold(&name).replace(' ', ""))
        };
        let title = if org {
            String::new()
        } else {
            rng.pick(TITLES).to_owned()
        };
        rows.push(vec![
            V::I(i as i64 + 1),
            V::T(if org { "organization" } else { "individual" }.into()),
            V::I(tree.get(a).map_or(1, |t| t.id)),
            V::T(name.clone()),
            V::T(fold(&name)),
            V::T(dob),
            V::T(id_number),
            V::T(email),
            V::T(title),
            V::I(now),
            V::I(now),
        ]);
        sub_agency.push(a);
        sub_names.push(name);
    }
    insert(
        &store,
        "subscribers",
        "id, kind, agency_id, name, name_fold, date_of_birth, id_number, email, title, \
         created_at, updated_at",
        rows,
    )
    .await?;

    // Certificates: one per subscriber, then renewals of random subscribers.
    let issuer = "CN=Cục Chứng thực số và Bảo mật thông tin, OU=Ban Cơ yếu Chính phủ, \
                  O=Ban Cơ yếu Chính phủ, C=VN";
    let mut serials = Vec::with_capacity(o.certificates);
    let mut rows = Vec::with_capacity(o.certificates);
    for i in 0..o.certificates {
        let s = if i < o.subscribers {
            i
        } else {
            rng.below(o.subscribers as u64) as usize
        };
        let a = sub_agency.get(s).copied().unwrap_or(1);
        let ag_name = names.get(a).map_or("", String::as_str);
        let serial = format!("54{:014X}{:016X}", rng.next() >> 8, i);
        let subject = format!(
            "CN={}, OU={ag_name}, O=Ủy ban nhân dân tỉnh Bench, C=VN",
            sub_names.get(s).map_or("", String::as_str)
        );
        // Evenly from a year ago to three years ahead.
        let not_after = now - 365 * DAY + rng.below(4 * 365 * DAY as u64) as i64;
        let not_before = not_after - (1 + rng.below(3) as i64) * 365 * DAY;
        let (status, revoked_at, reason) = match rng.below(100) {
            0..=2 => ("revoked", Some(not_before + DAY * 30), "Mất thiết bị"),
            3..=6 => ("superseded", None, ""),
            _ => ("active", None, ""),
        };
        // Not a certificate: a placeholder whose SHA-256 is the stored fingerprint.
        let der = format!("kyso bench placeholder, not a certificate: {serial}").into_bytes();
        let sha = hex_lower(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der).as_ref());
        rows.push(vec![
            V::I(i as i64 + 1),
            V::N(Some(s as i64 + 1)),
            V::I(tree.get(a).map_or(1, |t| t.id)),
            V::T(serial.clone()),
            V::T(issuer.into()),
            V::T(subject.clone()),
            V::T(fold(&subject)),
            V::I(not_before),
            V::I(not_after),
            V::T("digitalSignature, nonRepudiation".into()),
            V::T(status.into()),
            V::N(revoked_at),
            V::T(reason.into()),
            V::T(sha),
            V::B(der),
            V::I(now),
        ]);
        serials.push(serial);
    }
    insert(
        &store,
        "certificates",
        "id, subscriber_id, agency_id, serial, issuer, subject, subject_fold, not_before, \
         not_after, key_usage, status, revoked_at, revocation_reason, sha256, der, created_at",
        rows,
    )
    .await?;

    // Key devices, most of them handed to their holder.
    let mut rows = Vec::with_capacity(o.devices);
    for i in 0..o.devices {
        let c = rng.below(o.certificates.min(o.subscribers) as u64) as usize;
        let a = sub_agency.get(c).copied().unwrap_or(1);
        let state = match rng.below(100) {
            0..=1 => "locked",
            2 => "lost",
            3..=5 => "to_recall",
            6..=10 => "at_managing_agency",
            _ => "assigned",
        };
        let holder = (state != "at_managing_agency").then_some(c as i64 + 1);
        rows.push(vec![
            V::I(i as i64 + 1),
            V::T("token".into()),
            V::T(format!("VGCA-{:06}-{:04X}", i, rng.below(0x10000))),
            V::T(
                rng.pick(&["ePass2003", "ePass3003", "VGCA Token v2"])
                    .to_owned(),
            ),
            V::I(tree.get(a).map_or(1, |t| t.id)),
            V::N(holder),
            V::N(Some(c as i64 + 1)),
            V::T(state.into()),
            V::I(now),
            V::I(now),
        ]);
    }
    insert(
        &store,
        "devices",
        "id, kind, serial, model, agency_id, holder_id, certificate_id, state, created_at, \
         updated_at",
        rows,
    )
    .await?;
    // The search words of every subscriber and certificate, as the store writes them.
    let mut tx = store
        .begin_write(&Actor::system(), kyso_store::On::System)
        .await?;
    kyso_store::words::reindex_all(tx.conn()).await?;
    tx.commit().await?;

    // The officer's department: the department whose subtree holds the median number of
    // agencies.
    let mut sizes: Vec<(usize, usize)> = (1..=60usize)
        .map(|d| (tree.iter().filter(|t| t.top == d).count(), d))
        .collect();
    sizes.sort_unstable();
    let officer_dept = sizes.get(30).map_or(5, |s| s.1);
    let other_dept = sizes.get(45).map_or(6, |s| s.1);
    let officer_agency = tree.get(officer_dept).map_or(2, |t| t.id);
    let other_agency = tree.get(other_dept).map_or(3, |t| t.id);

    let mut tokens = Vec::new();
    let mut admin_id = 1;
    for (username, full_name, role, agency_id) in [
        ("bench.admin", "Nguyễn Văn Quản Trị", "dost_admin", 1),
        (
            "bench.officer",
            "Trần Thị Cán Bộ",
            "signature_officer",
            officer_agency,
        ),
    ] {
        let user = accounts::create_user(
            &store,
            &Actor::system(),
            NewUser {
                username: username.into(),
                full_name: full_name.into(),
                email: String::new(),
                agency_id,
                password: accounts::one_time_password()?,
                roles: vec![RoleOn {
                    role: role.into(),
                    agency_id,
                }],
                must_change_password: false,
            },
            now_dt,
        )
        .await?;
        if role == "dost_admin" {
            admin_id = user.id;
        }
        let actor = Actor {
            user_id: user.id,
            username: user.username.clone(),
            grants: Vec::new(),
            source: String::new(),
        };
        tokens.push(accounts::create_api_token(&store, &actor, "benchmark", 30, now_dt).await?);
    }
    if o.documents > 0 {
        documents(&store, &mut rng, &tree, o.documents, admin_id, now).await?;
    }
    if store.backend() == Backend::Postgres {
        // Explicit ids were inserted: move the identity sequences past them. And vacuum and
        // analyze now, as autovacuum would within a minute of such a load (the vacuum sets the
        // visibility map that lets the dashboard's sums read the covering indexes alone).
        for t in [
            "agencies",
            "subscribers",
            "certificates",
            "devices",
            "doc_registers",
            "documents",
            "document_events",
            "incoming_documents",
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {t}), 1))"
            ))
            .execute(store.pool())
            .await?;
        }
        sqlx::query("VACUUM ANALYZE").execute(store.pool()).await?;
    }

    store.close().await;
    eprintln!(
        "gen_registry: {} agencies, {} subscribers, {} certificates, {} devices, {} documents \
         in {:.1} s",
        tree.len(),
        o.subscribers,
        o.certificates,
        o.devices,
        o.documents,
        started.elapsed().as_secs_f64()
    );
    let token = |i: usize| tokens.get(i).map_or("", |t| t.as_str());
    println!("ADMIN_TOKEN={}", token(0));
    println!("OFFICER_TOKEN={}", token(1));
    println!("OFFICER_AGENCY_ID={officer_agency}");
    println!("SUBTREE_AGENCY_ID={other_agency}");
    let sample = serials.get(serials.len() / 3).map_or("", String::as_str);
    println!("SAMPLE_SERIAL={sample}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_registry: {e}");
            ExitCode::FAILURE
        }
    }
}
