//! Reports reconcile (issue 21 item 4): a registry of a few hundred rows written at known
//! moments before, inside and after a six-monthly period; every figure of each reporting
//! agency's report is recomputed here from the raw rows — read with this test's own plain
//! SELECTs and counted in Rust by the definitions — and compared. A submitted report keeps the
//! figures it was issued with when the registry changes afterwards. Both engines.

use kyso_domain::lifecycle::RequestKind;
use kyso_domain::reports::{Figures, Needs, ReportState};
use kyso_domain::roles::Role;
use kyso_store::reports::{self, NewPeriod, ReportInput};
use kyso_store::sqlx::{self, Row as _};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Error, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{province, user, NOW};

/// A small deterministic generator (xorshift), so that the rows vary but the test repeats.
struct Dice(u64);

impl Dice {
    fn next(&mut self, n: u64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n) as i64
    }
}

const H1_START: OffsetDateTime = datetime!(2026-01-01 00:00 +07:00);
const H1_END: OffsetDateTime = datetime!(2026-07-01 00:00 +07:00);

/// A moment from a year before the period to half a year after it, now and then exactly on
/// its edges (the first second in, the first second out).
fn moment(d: &mut Dice) -> i64 {
    match d.next(10) {
        0 => H1_START.unix_timestamp(),
        1 => H1_END.unix_timestamp(),
        2 => H1_END.unix_timestamp() - 1,
        _ => (H1_START - Duration::days(365) + Duration::hours(d.next(24 * 730))).unix_timestamp(),
    }
}

/// Rows of every kind the report counts, in `agencies`, straight into the tables.
async fn fill(s: &Store, agencies: &[i64], user_id: i64) {
    let pool = s.pool();
    let mut d = Dice(0x9E37_79B9_7F4A_7C15);
    let mut cert_ids = Vec::new();
    for i in 0..160 {
        let agency = agencies[d.next(agencies.len() as u64) as usize];
        let not_before = moment(&mut d);
        let not_after = not_before + (d.next(4) + 1) * 200 * 86_400;
        let revoked = (d.next(5) == 0).then(|| moment(&mut d));
        let status = if revoked.is_some() {
            "revoked"
        } else {
            "active"
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO certificates (agency_id, serial, issuer, subject, subject_fold, \
             not_before, not_after, key_usage, status, revoked_at, sha256, der, created_at) \
             VALUES ($1, $2, 'CN=CA', $3, $3, $4, $5, 'digitalSignature', $6, $7, $8, $9, $4) \
             RETURNING id",
        )
        .bind(agency)
        .bind(format!("{i:04X}"))
        .bind(format!("CN=Người {i}"))
        .bind(not_before)
        .bind(not_after)
        .bind(status)
        .bind(revoked)
        .bind(format!("{i:064x}"))
        .bind(vec![0u8; 4])
        .fetch_one(pool)
        .await
        .unwrap();
        cert_ids.push(id);
    }
    // Renewals: an older certificate superseded by a later one.
    for w in cert_ids.chunks(7) {
        if let [old, new, ..] = w {
            sqlx::query(
                "UPDATE certificates SET status = 'superseded', replaced_by = $1 WHERE id = $2 \
                 AND status = 'active'",
            )
            .bind(new)
            .bind(old)
            .execute(pool)
            .await
            .unwrap();
        }
    }
    for i in 0..40 {
        let agency = agencies[d.next(agencies.len() as u64) as usize];
        let device: i64 = sqlx::query_scalar(
            "INSERT INTO devices (kind, serial, agency_id, state, created_at, updated_at) \
             VALUES ('token', $1, $2, 'assigned', 0, 0) RETURNING id",
        )
        .bind(format!("TK{i:03}"))
        .bind(agency)
        .fetch_one(pool)
        .await
        .unwrap();
        for _ in 0..3 {
            let event = [
                "assign",
                "lock",
                "recover",
                "report_lost",
                "return",
                "handover",
            ][d.next(6) as usize];
            sqlx::query(
                "INSERT INTO device_events (device_id, event, from_state, to_state, actor, at) \
                 VALUES ($1, $2, 'x', 'y', 'thu', $3)",
            )
            .bind(device)
            .bind(event)
            .bind(moment(&mut d))
            .execute(pool)
            .await
            .unwrap();
        }
    }
    for _ in 0..90 {
        let agency = agencies[d.next(agencies.len() as u64) as usize];
        let kind = RequestKind::ALL[d.next(RequestKind::ALL.len() as u64) as usize];
        let state = [
            "draft",
            "submitted",
            "sent",
            "processing",
            "done",
            "refused",
            "withdrawn",
        ][d.next(7) as usize];
        let created = moment(&mut d);
        let completed = matches!(state, "done" | "refused" | "withdrawn")
            .then(|| created + d.next(20 * 86_400));
        let deadline = (d.next(4) > 0).then(|| created + d.next(10 * 86_400));
        sqlx::query(
            "INSERT INTO requests (kind, state, handler, agency_id, title, created_by, created_at, \
             updated_at, completed_at, deadline_at) \
             VALUES ($1, $2, 'department', $3, 'Đề nghị', 'thu', $4, $4, $5, $6)",
        )
        .bind(kind.as_str())
        .bind(state)
        .bind(agency)
        .bind(created)
        .bind(completed)
        .bind(deadline)
        .execute(pool)
        .await
        .unwrap();
    }
    for (n, &agency) in agencies.iter().enumerate() {
        let register: i64 = sqlx::query_scalar(
            "INSERT INTO doc_registers (agency_id, code, name, issuer_abbrev, doc_types, \
             created_at) VALUES ($1, $2, 'Sổ', 'X', '[]', 0) RETURNING id",
        )
        .bind(agency)
        .bind(format!("VBĐ{n}"))
        .fetch_one(pool)
        .await
        .unwrap();
        for _ in 0..12 {
            let doc: i64 = sqlx::query_scalar(
                "INSERT INTO documents (agency_id, register_id, state, doc_type, subject, meta, \
                 drafter_id, created_at, updated_at) \
                 VALUES ($1, $2, 'dispatched', 'Công văn', 'V/v', '{}', $3, 0, 0) RETURNING id",
            )
            .bind(agency)
            .bind(register)
            .bind(user_id)
            .fetch_one(pool)
            .await
            .unwrap();
            for action in ["sign_personal", "org_sign", "dispatch", "submit"] {
                sqlx::query(
                    "INSERT INTO document_events (document_id, action, from_state, to_state, \
                     user_id, actor, note, created_at) VALUES ($1, $2, 'a', 'b', $3, 'thu', '', $4)",
                )
                .bind(doc)
                .bind(action)
                .bind(user_id)
                .bind(moment(&mut d))
                .execute(pool)
                .await
                .unwrap();
            }
        }
        for i in 0..15 {
            let refused = d.next(3) == 0;
            let arrived = moment(&mut d);
            sqlx::query(
                "INSERT INTO incoming_documents (agency_id, channel, state, status_code, \
                 sender_code, sender_name, number, notation, doc_date, doc_type, subject, signer, \
                 sha256, size, file_name, verdict, reasons, report, arrived_at, received_by, \
                 decided_at, decision_note, created_at, updated_at) \
                 VALUES ($1, 'api', $2, '01', 'G11', 'Cục', '1', 'CV', '2026-01-01', 'Công văn', \
                 'V/v', '', $3, 1, 'a.pdf', 'valid', '[]', '{}', $4, $5, $6, $7, $4, $4)",
            )
            .bind(agency)
            .bind(if refused { "refused" } else { "registered" })
            .bind(format!("{agency:08}{i:056}"))
            .bind(arrived)
            .bind(user_id)
            .bind(refused.then(|| arrived + 3600))
            .bind(if refused {
                ["Gửi nhầm cơ quan", "Chữ ký số không hợp lệ"][d.next(2) as usize]
            } else {
                ""
            })
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// The figures of the subtree at `path` recomputed from the raw rows: each table read whole
/// with a plain SELECT (its agency's path beside it), each figure counted here by its
/// definition.
async fn recount(s: &Store, path: &str) -> Figures {
    let pool = s.pool();
    let (start, end) = (H1_START.unix_timestamp(), H1_END.unix_timestamp());
    let soon = (H1_END + Duration::days(60)).unix_timestamp();
    let inside = |t: Option<i64>| t.is_some_and(|t| t >= start && t < end);
    let mine = |p: &str| p.starts_with(path);
    let mut f = Figures::default();

    let certs = sqlx::query(
        "SELECT a.path, c.id, c.not_before, c.not_after, c.status, c.revoked_at, c.replaced_by \
         FROM certificates c JOIN agencies a ON a.id = c.agency_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let replacing: Vec<i64> = certs
        .iter()
        .filter_map(|r| r.get::<Option<i64>, _>(6))
        .collect();
    for r in &certs {
        if !mine(&r.get::<String, _>(0)) {
            continue;
        }
        let (id, nb, na): (i64, i64, i64) = (r.get(1), r.get(2), r.get(3));
        let (status, revoked): (String, Option<i64>) = (r.get(4), r.get(5));
        let standing = status != "superseded" && revoked.is_none_or(|t| t >= end);
        let valid = standing && nb < end && na >= end;
        let c = &mut f.certificates;
        c.active += i64::from(valid);
        c.expiring_60 += i64::from(valid && na < soon);
        c.expired += i64::from(standing && na < end);
        c.revoked += i64::from(revoked.is_some_and(|t| t < end));
        let renewal = replacing.contains(&id);
        c.issued += i64::from(inside(Some(nb)) && !renewal);
        c.renewed += i64::from(inside(Some(nb)) && renewal);
        c.revoked_in_period += i64::from(inside(revoked));
    }

    for r in sqlx::query(
        "SELECT a.path, v.event, v.at FROM device_events v JOIN devices d ON d.id = v.device_id \
         JOIN agencies a ON a.id = d.agency_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if !mine(&r.get::<String, _>(0)) || !inside(Some(r.get(2))) {
            continue;
        }
        let v = &mut f.devices;
        match r.get::<String, _>(1).as_str() {
            "assign" => v.issued += 1,
            "lock" => v.locked += 1,
            "recover" => v.recovered += 1,
            "report_lost" => v.lost += 1,
            "return" => v.returned += 1,
            _ => {}
        }
    }

    let requests = sqlx::query(
        "SELECT a.path, r.kind, r.state, r.created_at, r.completed_at, r.deadline_at \
         FROM requests r JOIN agencies a ON a.id = r.agency_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for kind in RequestKind::ALL {
        let mut row = kyso_domain::reports::RequestFigures {
            kind,
            created: 0,
            done: 0,
            refused: 0,
            open: 0,
            on_time: 0,
            late: 0,
        };
        for r in &requests {
            if !mine(&r.get::<String, _>(0)) || r.get::<String, _>(1) != kind.as_str() {
                continue;
            }
            let state: String = r.get(2);
            let (created, completed, deadline): (i64, Option<i64>, Option<i64>) =
                (r.get(3), r.get(4), r.get(5));
            row.created += i64::from(inside(Some(created)));
            let done = state == "done" && inside(completed);
            row.done += i64::from(done);
            row.refused += i64::from(state == "refused" && inside(completed));
            row.open += i64::from(
                created < end && completed.is_none_or(|t| t >= end) && state != "withdrawn",
            );
            if let (true, Some(c), Some(dl)) = (done, completed, deadline) {
                row.on_time += i64::from(c <= dl);
                row.late += i64::from(c > dl);
            }
        }
        f.requests.push(row);
    }

    for r in sqlx::query(
        "SELECT a.path, v.action, v.created_at FROM document_events v \
         JOIN documents d ON d.id = v.document_id JOIN agencies a ON a.id = d.agency_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if !mine(&r.get::<String, _>(0)) || !inside(Some(r.get(2))) {
            continue;
        }
        let o = &mut f.documents;
        match r.get::<String, _>(1).as_str() {
            "sign_personal" => o.signed += 1,
            "org_sign" => o.sealed += 1,
            "dispatch" => o.issued += 1,
            _ => {}
        }
    }
    for r in sqlx::query(
        "SELECT a.path, i.state, i.arrived_at, i.decided_at, i.decision_note \
         FROM incoming_documents i JOIN agencies a ON a.id = i.agency_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if !mine(&r.get::<String, _>(0)) {
            continue;
        }
        let o = &mut f.documents;
        o.received += i64::from(inside(Some(r.get(2))));
        if r.get::<String, _>(1) == "refused" && inside(r.get(3)) {
            o.refused += 1;
            let reason: String = r.get(4);
            match o.refusal_reasons.iter_mut().find(|x| x.reason == reason) {
                Some(x) => x.count += 1,
                None => o
                    .refusal_reasons
                    .push(kyso_domain::reports::ReasonCount { reason, count: 1 }),
            }
        }
    }
    f.documents
        .refusal_reasons
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    f
}

#[tokio::test]
async fn every_figure_of_a_report_reconciles_with_the_rows_and_an_issued_report_stays() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let admin = user(s, "quantri", p.root, Role::DostAdmin).await;
        let officer = user(s, "cb.so", p.dost, Role::SignatureOfficer).await;
        fill(s, &[p.dost, p.unit, p.finance, p.root], officer.user_id).await;

        // Only the Department opens a period; its fields are checked.
        let h1 = NewPeriod {
            kind: "six_monthly".into(),
            year: Some(2026),
            half: Some(1),
            due_day: "15/07/2026".into(),
            ..Default::default()
        };
        assert!(matches!(
            reports::open_period(s, &officer, &h1, NOW).await,
            Err(Error::Forbidden)
        ));
        let early = NewPeriod {
            due_day: "01/06/2026".into(),
            ..h1.clone()
        };
        assert!(matches!(
            reports::open_period(s, &admin, &early, NOW).await,
            Err(Error::Invalid {
                field: "due_day",
                ..
            })
        ));
        let period = reports::open_period(s, &admin, &h1, NOW).await.unwrap();
        assert_eq!(period.title, "Báo cáo 6 tháng đầu năm 2026");

        // The DOST (with its unit) and Finance report; the unit does not report on its own.
        let standing = reports::standings(s, &sys, period.id).await.unwrap();
        let names: Vec<&str> = standing.iter().map(|x| x.agency_name.as_str()).collect();
        assert_eq!(names, ["Sở Tài chính", "Sở Khoa học và Công nghệ"], "{b:?}");
        assert!(standing.iter().all(|x| x.state == ReportState::Draft));
        assert!(matches!(
            reports::agency_report(s, &sys, period.id, p.unit).await,
            Err(Error::Invalid {
                field: "agency_id",
                ..
            })
        ));

        for (agency, path_of) in [(p.dost, p.dost), (p.finance, p.finance)] {
            let path: String = sqlx::query_scalar("SELECT path FROM agencies WHERE id = $1")
                .bind(path_of)
                .fetch_one(s.pool())
                .await
                .unwrap();
            let expected = recount(s, &path).await;
            let report = reports::agency_report(s, &sys, period.id, agency)
                .await
                .unwrap();
            assert_eq!(report.figures, expected, "{b:?}: agency {agency}");
        }
        // The figures are not all zero: the story has something to count.
        let dost = reports::agency_report(s, &officer, period.id, p.dost)
            .await
            .unwrap();
        let c = &dost.figures.certificates;
        assert!(
            c.active > 0 && c.issued > 0 && c.revoked_in_period > 0,
            "{b:?}: {c:?}"
        );
        assert!(dost.figures.requests_total().created > 0, "{b:?}");
        assert!(dost.figures.documents.refused > 0, "{b:?}");

        // The officer writes, then submits: the figures are stored as they are now.
        let input = ReportInput {
            comments: "Hoàn thành cấp chứng thư số cho 100% lãnh đạo.".into(),
            needs: Needs {
                individual_certificates: 12,
                devices: 12,
                note: "Tập huấn văn thư".into(),
                ..Default::default()
            },
            answers: String::new(),
        };
        let bad = ReportInput {
            needs: Needs {
                devices: -3,
                ..Default::default()
            },
            ..input.clone()
        };
        assert!(matches!(
            reports::save_report(s, &officer, period.id, p.dost, &bad, false, NOW).await,
            Err(Error::Invalid {
                field: "devices",
                ..
            })
        ));
        let draft = reports::save_report(s, &officer, period.id, p.dost, &input, false, NOW)
            .await
            .unwrap();
        assert_eq!(draft.state, ReportState::Draft);
        let sent = reports::save_report(s, &officer, period.id, p.dost, &input, true, NOW)
            .await
            .unwrap();
        assert_eq!(
            (sent.state, sent.submitted_by.as_deref()),
            (ReportState::Submitted, Some("cb.so")),
            "{b:?}"
        );
        assert!(matches!(
            reports::save_report(s, &officer, period.id, p.dost, &input, true, NOW).await,
            Err(Error::Conflict { field: "state", .. })
        ));
        // Finance is not the DOST officer's to submit.
        assert!(
            reports::save_report(s, &officer, period.id, p.finance, &input, true, NOW)
                .await
                .is_err()
        );

        // The registry changes after the report was issued: a valid certificate revoked inside
        // the period. The live count moves; the issued report does not.
        let valid: i64 = sqlx::query_scalar(
            "SELECT c.id FROM certificates c JOIN agencies a ON a.id = c.agency_id \
             WHERE a.id = $1 AND c.status = 'active' AND c.not_before < $2 AND c.not_after >= $2 \
             ORDER BY c.id LIMIT 1",
        )
        .bind(p.dost)
        .bind(H1_END.unix_timestamp())
        .fetch_one(s.pool())
        .await
        .unwrap();
        sqlx::query("UPDATE certificates SET status = 'revoked', revoked_at = $1 WHERE id = $2")
            .bind((H1_END - Duration::days(3)).unix_timestamp())
            .bind(valid)
            .execute(s.pool())
            .await
            .unwrap();
        let path: String = sqlx::query_scalar("SELECT path FROM agencies WHERE id = $1")
            .bind(p.dost)
            .fetch_one(s.pool())
            .await
            .unwrap();
        let now_live = recount(s, &path).await;
        assert_eq!(now_live.certificates.active, c.active - 1, "{b:?}");
        let kept = reports::agency_report(s, &sys, period.id, p.dost)
            .await
            .unwrap();
        assert_eq!(kept.figures, dost.figures, "{b:?}: the issued figures stay");
        assert_eq!(kept.needs.devices, 12);
        let standing = reports::standings(s, &sys, period.id).await.unwrap();
        assert_eq!(
            standing
                .iter()
                .map(|x| (x.agency_name.as_str(), x.state))
                .collect::<Vec<_>>(),
            [
                ("Sở Tài chính", ReportState::Draft),
                ("Sở Khoa học và Công nghệ", ReportState::Submitted)
            ],
            "{b:?}"
        );

        // Finance is late: its officer is reminded (only the Department reminds).
        let finance_officer = user(s, "cb.taichinh", p.finance, Role::SignatureOfficer).await;
        assert!(matches!(
            reports::remind_late(s, &officer, period.id, NOW).await,
            Err(Error::Forbidden)
        ));
        let (sent, nobody) = reports::remind_late(s, &admin, period.id, NOW)
            .await
            .unwrap();
        assert_eq!((sent, nobody.len()), (1, 0), "{b:?}");
        let inbox = kyso_store::notices::inbox(s, &finance_officer, true)
            .await
            .unwrap();
        assert!(
            inbox.iter().any(|n| n.kind == "report"
                && n.subject.contains("Nhắc gửi Báo cáo 6 tháng đầu năm 2026")
                && n.link.contains(&format!("period_id={}", period.id))),
            "{b:?}: {inbox:?}"
        );

        // The consolidated workbook: a row per agency, the province's total, a native chart.
        let xlsx = reports::period_workbook(s, &sys, period.id).await.unwrap();
        let part = |name: &str| {
            use std::io::Read as _;
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&xlsx)).unwrap();
            let mut text = String::new();
            zip.by_name(name)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        let chart = part("xl/charts/chart1.xml");
        assert!(chart.contains("<c:barChart>"), "{b:?}: {chart}");
        let strings = part("xl/sharedStrings.xml");
        assert!(
            strings.contains("Toàn tỉnh")
                && strings.contains("Sở Tài chính")
                && strings.contains("Chưa gửi"),
            "{b:?}"
        );
        let sheet = part("xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains(&format!("<v>{}</v>", dost.figures.certificates.active)),
            "{b:?}: the DOST's submitted count is in the sheet"
        );
    }
}
