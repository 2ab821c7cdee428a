//! Expiry notices, told with a moving clock: a certificate of a unit under the Department of
//! Science and Technology approaches its expiry; the unit's signature officer is reminded at 60,
//! 30 and 7 days and once it has expired, the Department (the managing agency) hears of it at
//! the last two stages, the Finance department never does, and a renewal stops it all. Every
//! story runs on SQLite and on PostgreSQL (see `kyso_store::testing`).

use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::notices::{self, ScanSummary};
use kyso_store::registry::{self, SubscriberInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::{cert_pem, province};

const NOW: OffsetDateTime = datetime!(2026-04-01 09:00 +07:00);

/// An account holding `role` at `agency`, as the actor the store sees after login.
async fn user(store: &Store, name: &str, email: &str, agency: i64, role: Role) -> Actor {
    let u = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Cán bộ {name}"),
            email: email.into(),
            agency_id: agency,
            password: Zeroizing::new("mat-khau-dai-12345".into()),
            roles: vec![RoleOn {
                role: role.as_str().into(),
                agency_id: agency,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    Actor {
        user_id: u.id,
        username: name.into(),
        grants: Vec::new(),
        source: String::new(),
    }
}

async fn subscriber_with_cert(
    store: &Store,
    agency: i64,
    name: &str,
    serial: u64,
    not_after: OffsetDateTime,
) -> (i64, i64) {
    let s = registry::create_subscriber(
        store,
        &Actor::system(),
        &SubscriberInput {
            kind: "individual".into(),
            agency_id: agency,
            name: name.into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let c = registry::import_certificate(
        store,
        &Actor::system(),
        &kyso_store::registry::CertImport {
            agency_id: agency,
            subscriber_id: Some(s.id),
            bytes: cert_pem(name, serial, not_after).as_bytes(),
            mismatch_reason: None,
        },
        NOW,
    )
    .await
    .unwrap();
    (s.id, c.id)
}

/// (stage, escalated) of each notice in the inbox, oldest first.
async fn stages(store: &Store, who: &Actor) -> Vec<(i64, bool)> {
    let mut v: Vec<(i64, bool)> = notices::inbox(store, who, false)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.stage_days.unwrap_or(-1), n.escalated))
        .collect();
    v.reverse();
    v
}

#[tokio::test]
async fn notices_escalate_at_seven_days_and_reach_only_the_agencies_concerned() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        let unit_officer = user(
            store,
            "cb.tt",
            "cb.tt@example.vn",
            p.unit,
            Role::SignatureOfficer,
        )
        .await;
        let dost_officer = user(store, "cb.skhcn", "", p.dost, Role::SignatureOfficer).await;
        let finance_officer = user(store, "cb.stc", "", p.finance, Role::SignatureOfficer).await;
        let clerk = user(store, "vt.tt", "", p.unit, Role::Clerk).await;
        let not_after = NOW + Duration::days(90);
        let (_, cert) =
            subscriber_with_cert(store, p.unit, "Nguyễn Văn An", 0x1001, not_after).await;

        // Far from expiry: nothing.
        let s = notices::run_expiry_scan(store, not_after - Duration::days(61))
            .await
            .unwrap();
        assert_eq!(s.notices, 0, "{b:?}");

        // A daily job from 60 days before to 3 days after: each stage exactly once.
        let mut total = ScanSummary::default();
        for day in (-3..=60).rev() {
            let now = not_after - Duration::days(day);
            let s = notices::run_expiry_scan(store, now).await.unwrap();
            total.notices += s.notices;
            total.escalated += s.escalated;
            total.stages += s.stages;
        }
        assert_eq!(
            (total.stages, total.notices, total.escalated),
            (4, 6, 2),
            "{b:?}"
        );
        assert_eq!(
            stages(store, &unit_officer).await,
            [(60, false), (30, false), (7, false), (0, false)],
            "{b:?}: the unit's own officer hears of every stage"
        );
        assert_eq!(
            stages(store, &dost_officer).await,
            [(7, true), (0, true)],
            "{b:?}: the managing agency only at 7 days and at expiry"
        );
        assert!(
            stages(store, &finance_officer).await.is_empty(),
            "{b:?}: another agency hears nothing"
        );
        assert!(
            stages(store, &clerk).await.is_empty(),
            "{b:?}: only signature officers are notified"
        );

        // The notice reads as the registry's users expect, in Vietnamese.
        let inbox = notices::inbox(store, &unit_officer, false).await.unwrap();
        let thirty = inbox.iter().find(|n| n.stage_days == Some(30)).unwrap();
        assert_eq!(thirty.certificate_id, Some(cert));
        assert_eq!(thirty.kind, "expiry");
        assert_eq!(
            thirty.subject,
            "Chứng thư số của Nguyễn Văn An (số hiệu 1001) hết hạn sau 30 ngày (ngày 30/06/2026)"
        );
        assert!(
            thirty.body.contains("đề nghị gia hạn (Mẫu 04)"),
            "{}",
            thirty.body
        );

        // Running again at the same moment sends nothing new, and each run is audited.
        let again = notices::run_expiry_scan(store, not_after + Duration::days(3))
            .await
            .unwrap();
        assert_eq!((again.stages, again.notices), (0, 0), "{b:?}");
        let runs = audit::list(
            store,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("notice.scan".into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(runs.len(), 1 + 64 + 1, "{b:?}: one entry per run");
        assert!(runs.iter().any(|e| e.detail.contains("\"notices\":2")));
        assert!(audit::verify(store).await.unwrap().is_ok());

        // Reading: one's own notice can be marked read; someone else's is not found.
        assert_eq!(
            notices::inbox(store, &unit_officer, true)
                .await
                .unwrap()
                .len(),
            4
        );
        notices::mark_read(store, &unit_officer, thirty.id, NOW)
            .await
            .unwrap();
        notices::mark_read(store, &unit_officer, thirty.id, NOW)
            .await
            .unwrap();
        assert_eq!(
            notices::inbox(store, &unit_officer, true)
                .await
                .unwrap()
                .len(),
            3
        );
        assert!(matches!(
            notices::mark_read(store, &finance_officer, thirty.id, NOW).await,
            Err(Error::NotFound {
                what: kyso_store::Record::Notice
            })
        ));

        // E-mail: only recipients with an address; a failure keeps it pending, success ends it.
        let now = not_after + Duration::days(3);
        let pending = notices::pending_emails(store, now).await.unwrap();
        assert_eq!(
            pending.len(),
            1,
            "{b:?}: older notices are past the retry window"
        );
        assert_eq!(pending[0].to, "cb.tt@example.vn");
        assert!(pending[0].subject.contains("đã hết hạn"));
        let id = pending[0].notice_id;
        notices::mark_emailed(store, id, Err("450 mailbox busy"), now)
            .await
            .unwrap();
        assert_eq!(notices::pending_emails(store, now).await.unwrap().len(), 1);
        notices::mark_emailed(store, id, Ok(()), now).await.unwrap();
        assert!(notices::pending_emails(store, now)
            .await
            .unwrap()
            .is_empty());
        let sent = notices::inbox(store, &unit_officer, false).await.unwrap();
        assert!(sent
            .iter()
            .find(|n| n.id == id)
            .unwrap()
            .emailed_at
            .is_some());
    }
}

#[tokio::test]
async fn a_late_first_run_sends_only_the_most_urgent_stage_and_officers_above_stand_in() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        // The unit has no officer of its own: the Department's officer is the nearest one.
        let dost_officer = user(store, "cb.skhcn", "", p.dost, Role::SignatureOfficer).await;
        let not_after = NOW + Duration::days(5);
        subscriber_with_cert(store, p.unit, "Trần Thị Bình", 0x2002, not_after).await;
        let s = notices::run_expiry_scan(store, NOW).await.unwrap();
        assert_eq!(
            (s.stages, s.notices, s.escalated),
            (1, 1, 0),
            "{b:?}: no one above the Department"
        );
        assert_eq!(stages(store, &dost_officer).await, [(7, false)], "{b:?}");
        let inbox = notices::inbox(store, &dost_officer, false).await.unwrap();
        assert!(
            inbox[0].subject.contains("hết hạn sau 5 ngày"),
            "{}",
            inbox[0].subject
        );

        // Certificates with no officer anywhere above are counted, and not retried.
        let s = registry::create_subscriber(
            store,
            &Actor::system(),
            &SubscriberInput {
                kind: "individual".into(),
                agency_id: p.finance,
                name: "Lê Văn Cường".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        registry::import_certificate(
            store,
            &Actor::system(),
            &kyso_store::registry::CertImport {
                agency_id: p.finance,
                subscriber_id: Some(s.id),
                bytes: cert_pem("Lê Văn Cường", 0x3003, not_after).as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        let s = notices::run_expiry_scan(store, NOW + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!((s.stages, s.without_recipient), (1, 1), "{b:?}");
        let s = notices::run_expiry_scan(store, NOW + Duration::hours(2))
            .await
            .unwrap();
        assert_eq!(s.stages, 0, "{b:?}");
    }
}

#[tokio::test]
async fn a_renewal_stops_the_notices() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        let officer = user(store, "cb.stc", "", p.finance, Role::SignatureOfficer).await;
        let old_end = NOW + Duration::days(40);
        let (subscriber, _) =
            subscriber_with_cert(store, p.finance, "Phạm Thị Dung", 0x4004, old_end).await;
        let (_, superseded) =
            subscriber_with_cert(store, p.finance, "Hoàng Văn Em", 0x5005, old_end).await;

        // 30 days before: both are reminded.
        let s = notices::run_expiry_scan(store, old_end - Duration::days(30))
            .await
            .unwrap();
        assert_eq!(s.notices, 2, "{b:?}");

        // Dung's new certificate is registered; Em's old one is recorded as superseded.
        registry::import_certificate(
            store,
            &Actor::system(),
            &kyso_store::registry::CertImport {
                agency_id: p.finance,
                subscriber_id: Some(subscriber),
                bytes: cert_pem("Phạm Thị Dung", 0x4005, old_end + Duration::days(730)).as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        sqlx::query("UPDATE certificates SET status = 'superseded' WHERE id = $1")
            .bind(superseded)
            .execute(store.pool())
            .await
            .unwrap();

        // Neither the 7-day nor the expired notice comes.
        for day in [7, 0, -1] {
            let s = notices::run_expiry_scan(store, old_end - Duration::days(day))
                .await
                .unwrap();
            assert_eq!(s.notices, 0, "{b:?} day {day}");
        }
        let s = notices::run_expiry_scan(store, old_end).await.unwrap();
        assert_eq!(
            s.renewed, 1,
            "{b:?}: Dung's old certificate is seen as renewed"
        );
        assert_eq!(stages(store, &officer).await, [(30, false), (30, false)]);
    }
}

#[tokio::test]
async fn only_the_department_may_run_the_scan_by_hand() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        let officer = user(store, "cb.stc", "", p.finance, Role::SignatureOfficer).await;
        let mut with_grant = officer.clone();
        with_grant.grants = vec![kyso_store::Grant {
            role: Role::SignatureOfficer,
            agency_id: p.finance,
            path: "/1/3/".into(),
        }];
        assert!(matches!(
            notices::run_expiry_scan_by(store, &with_grant, NOW).await,
            Err(Error::Forbidden)
        ));
        let mut admin = officer;
        admin.grants = vec![kyso_store::Grant {
            role: Role::DostAdmin,
            agency_id: p.dost,
            path: "/1/2/".into(),
        }];
        let s = notices::run_expiry_scan_by(store, &admin, NOW)
            .await
            .unwrap();
        assert_eq!(s.notices, 0, "{b:?}");
    }
}

/// A database from before the document notices (schema version 6, `notices` with a required
/// certificate and stage) upgrades with its expiry notices intact: same order, read marks
/// kept, now of kind `expiry`.
#[tokio::test]
async fn the_upgrade_to_document_notices_keeps_the_expiry_notices() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        let officer = user(store, "cb.tt", "", p.unit, Role::SignatureOfficer).await;
        let not_after = NOW + Duration::days(5);
        subscriber_with_cert(store, p.unit, "Nguyễn Văn An", 0x1001, not_after).await;
        subscriber_with_cert(store, p.unit, "Trần Thị Bình", 0x1002, not_after).await;
        notices::run_expiry_scan(store, NOW).await.unwrap();
        let before = notices::inbox(store, &officer, false).await.unwrap();
        assert_eq!(before.len(), 2, "{b:?}");
        notices::mark_read(store, &officer, before[1].id, NOW)
            .await
            .unwrap();
        let before = notices::inbox(store, &officer, false).await.unwrap();

        // Back to the version-6 table, rows and all.
        let id = match b {
            kyso_store::Backend::Sqlite => "INTEGER PRIMARY KEY",
            kyso_store::Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        for sql in [
            "CREATE TABLE notices_v6 AS SELECT id, user_id, certificate_id, stage_days, escalated, \
             subject, body, created_at, read_at, emailed_at, email_error FROM notices"
                .to_owned(),
            "DROP TABLE notices".to_owned(),
            format!(
                "CREATE TABLE notices (id {id}, user_id BIGINT NOT NULL REFERENCES users (id), \
                 certificate_id BIGINT NOT NULL REFERENCES certificates (id), \
                 stage_days BIGINT NOT NULL, escalated BIGINT NOT NULL DEFAULT 0, \
                 subject TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL, \
                 read_at BIGINT, emailed_at BIGINT, email_error TEXT NOT NULL DEFAULT '')"
            ),
            "INSERT INTO notices (id, user_id, certificate_id, stage_days, escalated, subject, \
             body, created_at, read_at, emailed_at, email_error) SELECT * FROM notices_v6"
                .to_owned(),
            "DROP TABLE notices_v6".to_owned(),
            "UPDATE kyso_schema SET version = 6".to_owned(),
        ] {
            sqlx::query(&sql).execute(store.pool()).await.unwrap();
        }
        let upgraded = Store::open(&db.url).await.unwrap();
        assert_eq!(
            upgraded.schema_version().await.unwrap(),
            kyso_store::SCHEMA_VERSION
        );
        let after = notices::inbox(&upgraded, &officer, false).await.unwrap();
        let key = |n: &notices::Notice| {
            (
                n.subject.clone(),
                n.certificate_id,
                n.stage_days,
                n.read_at.is_some(),
            )
        };
        assert_eq!(
            after.iter().map(key).collect::<Vec<_>>(),
            before.iter().map(key).collect::<Vec<_>>(),
            "{b:?}"
        );
        assert!(after
            .iter()
            .all(|n| n.kind == "expiry" && n.document_id.is_none()));
        // New rows get new ids after the copied ones (the identity carried on).
        notices::run_expiry_scan(&upgraded, not_after + Duration::days(1))
            .await
            .unwrap();
        let later = notices::inbox(&upgraded, &officer, false).await.unwrap();
        assert_eq!(later.len(), 4, "{b:?}");
        assert!(later[0].id > after[0].id);
    }
}

#[tokio::test]
async fn an_agency_without_its_own_officer_is_named_to_the_departments_administrator() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let p = province(store).await;
        let admin = user(store, "qt.skhcn", "", p.root, Role::DostAdmin).await;
        let not_after = NOW + Duration::days(90);
        // The Finance department has no officer, nor has anyone above it: no one would hear.
        subscriber_with_cert(store, p.finance, "Lê Thị Hoa", 0x2001, not_after).await;
        let s = notices::run_expiry_scan(store, not_after - Duration::days(60))
            .await
            .unwrap();
        assert_eq!(
            (s.stages, s.without_recipient, s.admins_told, s.notices),
            (1, 1, 1, 1),
            "{b:?}: {s:?}"
        );
        let told = notices::inbox(store, &admin, false).await.unwrap();
        assert_eq!(told.len(), 1, "{b:?}");
        assert!(
            told[0].subject.starts_with(
                "Sở Tài chính chưa có cán bộ phụ trách chữ ký số — Chứng thư số của Lê Thị Hoa"
            ),
            "{}",
            told[0].subject
        );
        assert!(
            told[0].body.contains("không ai nhận được"),
            "{}",
            told[0].body
        );

        // The unit under the Department has none either, but the Department has one: the
        // notice goes to the Department's officer and the administrator hears why.
        let dost_officer = user(store, "cb.skhcn", "", p.dost, Role::SignatureOfficer).await;
        subscriber_with_cert(store, p.unit, "Nguyễn Văn An", 0x2002, not_after).await;
        let s = notices::run_expiry_scan(store, not_after - Duration::days(59))
            .await
            .unwrap();
        assert_eq!(
            (s.stages, s.without_recipient, s.admins_told, s.notices),
            (1, 0, 1, 2),
            "{b:?}: {s:?}"
        );
        assert_eq!(stages(store, &dost_officer).await, [(60, false)], "{b:?}");
        let told = notices::inbox(store, &admin, false).await.unwrap();
        assert_eq!(told.len(), 2, "{b:?}");
        assert!(
            told[0].body.contains("1 cán bộ của cơ quan cấp trên"),
            "{}",
            told[0].body
        );

        // An agency with its own officer: the administrator is not told.
        let finance_officer = user(store, "cb.stc", "", p.finance, Role::SignatureOfficer).await;
        subscriber_with_cert(store, p.finance, "Trần Văn Bình", 0x2003, not_after).await;
        let s = notices::run_expiry_scan(store, not_after - Duration::days(58))
            .await
            .unwrap();
        assert_eq!(
            (s.stages, s.admins_told, s.notices),
            (1, 0, 1),
            "{b:?}: {s:?}"
        );
        assert_eq!(
            stages(store, &finance_officer).await,
            [(60, false)],
            "{b:?}"
        );
        assert_eq!(notices::inbox(store, &admin, false).await.unwrap().len(), 2);
    }
}
