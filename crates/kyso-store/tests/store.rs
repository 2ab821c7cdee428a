//! The store, told as the province's registry grows: every story runs on SQLite and on
//! PostgreSQL (see `kyso_store::testing`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::roles::{Permission, Role};
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{
    self, AgencyInput, CertQuery, DeviceEventInput, DeviceInput, SubscriberInput, SubscriberQuery,
};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Backend, Error, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

#[path = "store/notices.rs"]
mod notices;

#[path = "store/cert_checks.rs"]
mod cert_checks;

#[path = "store/name_order.rs"]
mod name_order;

#[path = "store/deactivation.rs"]
mod deactivation;

#[path = "store/audit_key.rs"]
mod audit_key;

#[path = "store/account_lifecycle.rs"]
mod account_lifecycle;

#[path = "store/read_log.rs"]
mod read_log;

#[path = "store/sessions.rs"]
mod sessions;

#[path = "store/agency_changes.rs"]
mod agency_changes;

#[path = "store/reports.rs"]
mod reports;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);

fn cert_pem(cn: &str, serial: u64, not_after: OffsetDateTime) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "VN");
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = NOW - Duration::days(365);
    params.not_after = not_after;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    kyso_store::testing::TestCa::get().sign(&params, &key)
}

/// A small province: root, two departments, a unit under the first.
struct Province {
    root: i64,
    dost: i64,
    finance: i64,
    unit: i64,
}

async fn province(store: &Store) -> Province {
    let sys = Actor::system();
    let mk = |code: &str, name: &str, kind: &str, parent: Option<i64>| AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: kind.into(),
        parent_id: parent,
        ..Default::default()
    };
    let root = registry::create_agency(
        store,
        &sys,
        &mk("H99", "UBND Tỉnh Demo", "province", None),
        NOW,
    )
    .await
    .unwrap();
    let dost = registry::create_agency(
        store,
        &sys,
        &mk(
            "000.00.37.H99",
            "Sở Khoa học và Công nghệ",
            "department",
            Some(root.id),
        ),
        NOW,
    )
    .await
    .unwrap();
    let finance = registry::create_agency(
        store,
        &sys,
        &mk("H99.05", "Sở Tài chính", "department", Some(root.id)),
        NOW,
    )
    .await
    .unwrap();
    let unit = registry::create_agency(
        store,
        &sys,
        &mk(
            "H99.37.01",
            "Trung tâm Chuyển đổi số",
            "unit",
            Some(dost.id),
        ),
        NOW,
    )
    .await
    .unwrap();
    Province {
        root: root.id,
        dost: dost.id,
        finance: finance.id,
        unit: unit.id,
    }
}

async fn user(store: &Store, name: &str, agency: i64, role: Role) -> Actor {
    accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
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
    let (_, actor) = accounts::login(
        store,
        name,
        Zeroizing::new("mat-khau-dai-12345".into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap();
    actor
}

fn person(agency: i64, name: &str) -> SubscriberInput {
    SubscriberInput {
        kind: "individual".into(),
        agency_id: agency,
        name: name.into(),
        date_of_birth: "12/03/1978".into(),
        id_number: "099078000101".into(),
        email: "an.nv@demo.invalid".into(),
        title: "Phó Giám đốc".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn migrations_are_versioned_and_a_newer_database_is_refused() {
    for b in backends() {
        let db = TestDb::new(b).await;
        assert_eq!(
            db.store.schema_version().await.unwrap(),
            kyso_store::SCHEMA_VERSION
        );
        // Opening again is a no-op.
        let again = Store::open(&db.url).await.unwrap();
        assert_eq!(
            again.schema_version().await.unwrap(),
            kyso_store::SCHEMA_VERSION
        );
        // A version-4 database with people in it (version 5 only adds the word index): the
        // upgrade builds the index from the rows, and search finds them at once.
        let p = province(&db.store).await;
        registry::create_subscriber(
            &db.store,
            &Actor::system(),
            &person(p.unit, "Lê Thị Hạnh"),
            NOW,
        )
        .await
        .unwrap();
        for statement in [
            "DROP TABLE subscriber_words",
            "DROP TABLE certificate_words",
            "UPDATE kyso_schema SET version = 4",
        ] {
            sqlx::query(statement)
                .execute(db.store.pool())
                .await
                .unwrap();
        }
        let upgraded = Store::open(&db.url).await.unwrap();
        assert_eq!(
            upgraded.schema_version().await.unwrap(),
            kyso_store::SCHEMA_VERSION
        );
        let found = registry::search_subscribers(
            &upgraded,
            &Actor::system(),
            &SubscriberQuery {
                q: "le hanh".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(found.total, 1, "{b:?}: the upgrade indexed the stored rows");
        sqlx::query("UPDATE kyso_schema SET version = version + 1")
            .execute(db.store.pool())
            .await
            .unwrap();
        match Store::open(&db.url).await {
            Err(Error::SchemaTooNew { found, known }) => {
                assert_eq!(
                    (found, known),
                    (kyso_store::SCHEMA_VERSION + 1, kyso_store::SCHEMA_VERSION)
                );
                let e = Error::SchemaTooNew { found, known };
                assert!(e.message(false).contains("nâng cấp kyso"), "{b:?}");
            }
            other => panic!("{b:?}: a newer schema must be refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn agencies_form_a_tree_with_both_code_forms_and_clear_errors() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let dost = registry::agency(s, &sys, p.dost, Permission::ReadRegistry)
            .await
            .unwrap();
        assert_eq!(
            (dost.code.as_str(), dost.legacy_code.as_str()),
            ("H99.37", "000.00.37.H99")
        );
        assert_eq!(
            registry::agency_by_code(s, &sys, "h99.37")
                .await
                .unwrap()
                .id,
            p.dost
        );
        let all = registry::agencies(s, &sys, "", None).await.unwrap();
        let order: Vec<&str> = all.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(
            order,
            ["H99", "H99.37", "H99.37.01", "H99.05"],
            "{b:?}: children follow parents"
        );
        let under = registry::agencies(s, &sys, "", Some(p.dost)).await.unwrap();
        assert_eq!(under.len(), 2);
        assert_eq!(
            registry::agencies(s, &sys, "so tai chinh", None)
                .await
                .unwrap()
                .len(),
            1
        );

        // The same code twice, in the other form: a conflict naming the field; nothing written.
        let dup = AgencyInput {
            code: "000.00.05.H99".into(),
            name: "Trùng".into(),
            kind: "department".into(),
            parent_id: Some(p.root),
            ..Default::default()
        };
        match registry::create_agency(s, &sys, &dup, NOW).await {
            Err(e @ Error::Conflict { field: "code", .. }) => {
                assert!(e.message(false).contains("H99.05"), "{e:?}")
            }
            other => panic!("{b:?}: {other:?}"),
        }
        let bad = AgencyInput {
            code: "H9.5".into(),
            ..dup.clone()
        };
        assert!(matches!(
            registry::create_agency(s, &sys, &bad, NOW).await,
            Err(Error::Invalid { field: "code", .. })
        ));
        // A unit's code extends its parent's: H99.10.05 cannot sit under the Sở KH&CN (H99.37),
        // nor the province's own code under the province.
        for code in ["H99.10.05", "H99", "G11.07"] {
            let elsewhere = AgencyInput {
                code: code.into(),
                parent_id: Some(if code == "H99.10.05" { p.dost } else { p.root }),
                ..dup.clone()
            };
            match registry::create_agency(s, &sys, &elsewhere, NOW).await {
                Err(e @ Error::Invalid { field: "code", .. }) => {
                    let vi = e.message(false);
                    assert!(vi.contains("phải bắt đầu bằng H99"), "{b:?} {code}: {vi}");
                }
                other => panic!("{b:?} {code}: {other:?}"),
            }
        }
        let bad_mail = AgencyInput {
            code: "H99.06".into(),
            email: "not-an-email".into(),
            ..dup
        };
        assert!(matches!(
            registry::create_agency(s, &sys, &bad_mail, NOW).await,
            Err(Error::Invalid { field: "email", .. })
        ));
        assert_eq!(
            registry::agencies(s, &sys, "", None).await.unwrap().len(),
            4
        );
    }
}

#[tokio::test]
async fn a_second_agency_of_the_same_name_under_one_parent_needs_the_officers_word() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        // "Sở Tài chính" is under the province already; typed again without its diacritics.
        let again = AgencyInput {
            code: "H99.06".into(),
            name: "SO TAI CHINH".into(),
            kind: "department".into(),
            parent_id: Some(p.root),
            ..Default::default()
        };
        match registry::create_agency(s, &sys, &again, NOW).await {
            Err(e @ Error::Conflict { field: "name", .. }) => {
                let vi = e.message(false);
                assert!(
                    vi.contains(
                        "Đã có cơ quan \"Sở Tài chính\" (mã H99.05) trực thuộc UBND Tỉnh Demo"
                    ),
                    "{b:?}: {vi}"
                );
            }
            other => panic!("{b:?}: {other:?}"),
        }
        // Under another parent the name is free; confirmed, the second one is added.
        let elsewhere = AgencyInput {
            code: "H99.37.06".into(),
            parent_id: Some(p.dost),
            ..again.clone()
        };
        registry::create_agency(s, &sys, &elsewhere, NOW)
            .await
            .unwrap();
        let confirmed = AgencyInput {
            same_name_confirmed: true,
            ..again
        };
        let a = registry::create_agency(s, &sys, &confirmed, NOW)
            .await
            .unwrap();
        assert_eq!(a.code, "H99.06", "{b:?}");
    }
}

#[tokio::test]
async fn subscribers_are_found_by_name_without_diacritics_and_by_subtree() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let an = registry::create_subscriber(s, &sys, &person(p.unit, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        registry::create_subscriber(s, &sys, &person(p.finance, "Nguyễn Văn Anh"), NOW)
            .await
            .unwrap();
        let search = |q: &str, agency: Option<i64>| SubscriberQuery {
            q: q.into(),
            agency_id: agency,
            ..Default::default()
        };
        let found = registry::search_subscribers(s, &sys, &search("nguyen van an", None))
            .await
            .unwrap();
        assert_eq!(found.total, 2, "{b:?}: 'an' is in 'anh' too");
        assert!(found
            .items
            .iter()
            .any(|x| x.id == an.id && x.name == "Nguyễn Văn An"));
        let found = registry::search_subscribers(s, &sys, &search("NGUYEN an", Some(p.dost)))
            .await
            .unwrap();
        assert_eq!(
            found.items.iter().map(|x| x.id).collect::<Vec<_>>(),
            [an.id],
            "{b:?}: subtree"
        );
        let by_id = registry::search_subscribers(s, &sys, &search("099078000101", None))
            .await
            .unwrap();
        assert_eq!(by_id.total, 2);
        assert_eq!(an.date_of_birth, "1978-03-12", "dd/mm/yyyy stored as ISO");

        let mut future = person(p.unit, "Trần Thị Bình");
        future.date_of_birth = "01/01/2099".into();
        assert!(matches!(
            registry::create_subscriber(s, &sys, &future, NOW).await,
            Err(Error::Invalid {
                field: "date_of_birth",
                ..
            })
        ));
        let mut bad_id = person(p.unit, "Trần Thị Bình");
        bad_id.id_number = "12-34".into();
        assert!(matches!(
            registry::create_subscriber(s, &sys, &bad_id, NOW).await,
            Err(Error::Invalid {
                field: "id_number",
                ..
            })
        ));
    }
}

/// The word index (`kyso_store::words`) finds exactly what `kyso_domain::text::matches` says
/// — every query word begins a word of the name, ID number or email — on both engines; it
/// follows renames into the holder's certificates, and a rebuild gives the same answers.
#[tokio::test]
async fn the_word_index_answers_what_the_matching_rule_says() {
    const FAMILY: [&str; 5] = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng"];
    const MIDDLE: [&str; 4] = ["Văn", "Thị", "Ngọc", "Anh"];
    const GIVEN: [&str; 6] = ["An", "Anh", "Ánh", "Vân", "Loan", "Tuyết"];
    const QUERIES: [&str; 16] = [
        "nguyen",
        "nguyen van",
        "van nguyen",
        "an",
        "anh",
        "ANH an",
        "tran thi",
        "t",
        "0990",
        "le.van",
        "ng v a",
        "xyz",
        "nguyen xyz",
        "dang thi anh tuyet",
        "demo",
        "",
    ];
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = &Actor::system();
        let mut people = Vec::new();
        for i in 0..36usize {
            let name = format!("{} {} {}", FAMILY[i % 5], MIDDLE[i % 4], GIVEN[(i * 7) % 6]);
            let agency = if i % 3 == 0 { p.finance } else { p.unit };
            let mut v = person(agency, &name);
            v.id_number = format!("0990{i:08}");
            v.email = format!(
                "{}.{i}@demo.invalid",
                kyso_domain::text::fold(GIVEN[(i * 7) % 6])
            );
            let made = registry::create_subscriber(s, sys, &v, NOW).await.unwrap();
            let text = format!("{} {} {}", v.name, v.id_number, v.email);
            people.push((made.id, text, agency == p.unit));
        }
        // The whole province (the rarest word drives) and one subtree (its rows are read).
        let check = |label: &'static str, people: Vec<(i64, String, bool)>| async move {
            for (q, under) in QUERIES
                .iter()
                .flat_map(|q| [(*q, None), (*q, Some(p.dost))])
            {
                let found = registry::search_subscribers(
                    s,
                    sys,
                    &SubscriberQuery {
                        q: q.into(),
                        agency_id: under,
                        limit: Some(200),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                let mut got: Vec<i64> = found.items.iter().map(|x| x.id).collect();
                got.sort_unstable();
                let want: Vec<i64> = people
                    .iter()
                    .filter(|(_, text, in_unit)| {
                        kyso_domain::text::matches(text, q) && (under.is_none() || *in_unit)
                    })
                    .map(|(id, _, _)| *id)
                    .collect();
                assert_eq!(got, want, "{b:?} {label}: {q:?} under {under:?}");
                assert_eq!(found.total, want.len() as i64, "{b:?} {label}: {q:?}");
            }
        };
        check("as written", people.clone()).await;

        // The holder's name finds their certificate, whatever its subject says; a rename
        // moves both.
        let (lan, _, _) = &people[4];
        let mut renamed = person(p.unit, "Phạm Thị Hồng Lan");
        let c = cert_pem("Chữ ký số phòng họp", 0x77, NOW + Duration::days(90));
        registry::import_certificate(
            s,
            sys,
            &kyso_store::registry::CertImport {
                agency_id: p.unit,
                subscriber_id: Some(*lan),
                bytes: c.as_bytes(),
                // The officer confirmed it: the meeting room's certificate is in her keeping.
                mismatch_reason: Some("Chứng thư số của phòng họp do chị Loan quản lý".into()),
            },
            NOW,
        )
        .await
        .unwrap();
        let certs = |q: &'static str| async move {
            registry::search_certificates(
                s,
                sys,
                &CertQuery {
                    q: q.into(),
                    ..Default::default()
                },
                NOW,
            )
            .await
            .unwrap()
            .total
        };
        assert_eq!(certs("phong hop").await, 1, "{b:?}: by the subject");
        renamed.id_number = "099000000004".into();
        registry::update_subscriber(s, sys, *lan, &renamed, NOW)
            .await
            .unwrap();
        assert_eq!(
            certs("hong lan").await,
            1,
            "{b:?}: by the holder's new name"
        );
        assert_eq!(certs("77").await, 1, "{b:?}: by the serial");
        assert_eq!(certs("hong xyz").await, 0, "{b:?}");
        people[4].1 = format!("Phạm Thị Hồng Lan 099000000004 {}", renamed.email);
        check("after a rename", people.clone()).await;

        // Rebuilt from the rows (what migration 5 does to an older database).
        sqlx::query("DELETE FROM subscriber_words")
            .execute(s.pool())
            .await
            .unwrap();
        let mut tx = s
            .begin_write(&Actor::system(), kyso_store::On::System)
            .await
            .unwrap();
        kyso_store::words::reindex_all(tx.conn()).await.unwrap();
        tx.commit().await.unwrap();
        check("rebuilt", people.clone()).await;
        assert_eq!(certs("hong lan").await, 1, "{b:?}");
    }
}

#[tokio::test]
async fn certificates_are_read_from_the_file_searched_and_never_registered_twice() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let an = registry::create_subscriber(s, &sys, &person(p.dost, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        let soon = cert_pem("Nguyễn Văn An", 0x1001, NOW + Duration::days(20));
        let later = cert_pem("Nguyễn Văn An", 0x1002, NOW + Duration::days(400));
        let gone = cert_pem("Lê Văn Cũ", 0x1003, NOW - Duration::days(1));
        let c1 = registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.dost,
                subscriber_id: Some(an.id),
                bytes: soon.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(c1.serial, "1001");
        assert!(c1.subject.contains("Nguyễn Văn An"));
        assert_eq!(c1.key_usage, "digitalSignature, nonRepudiation");
        assert_eq!(c1.status_at(NOW), "active");
        registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.dost,
                subscriber_id: Some(an.id),
                bytes: later.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        let c3 = registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.unit,
                subscriber_id: None,
                bytes: gone.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(c3.status_at(NOW), "expired");

        match registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.dost,
                subscriber_id: None,
                bytes: soon.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        {
            Err(Error::Conflict {
                field: "serial",
                vi,
                ..
            }) => assert!(vi.contains("1001")),
            other => panic!("{b:?}: {other:?}"),
        }
        assert!(matches!(
            registry::import_certificate(
                s,
                &sys,
                &kyso_store::registry::CertImport {
                    agency_id: p.dost,
                    bytes: b"hello, not a certificate",
                    ..Default::default()
                },
                NOW
            )
            .await,
            Err(Error::Invalid {
                field: "certificate",
                ..
            })
        ));

        let q = |days: Option<i64>, status: Option<&str>, text: &str| CertQuery {
            q: text.into(),
            expiring_within_days: days,
            status: status.map(str::to_owned),
            ..Default::default()
        };
        let expiring = registry::search_certificates(s, &sys, &q(Some(30), None, ""), NOW)
            .await
            .unwrap();
        assert_eq!(
            expiring
                .items
                .iter()
                .map(|c| c.serial.as_str())
                .collect::<Vec<_>>(),
            ["1001"]
        );
        let expired = registry::search_certificates(s, &sys, &q(None, Some("expired"), ""), NOW)
            .await
            .unwrap();
        assert_eq!(expired.total, 1);
        let by_serial = registry::search_certificates(s, &sys, &q(None, None, "10:02"), NOW)
            .await
            .unwrap();
        assert_eq!(by_serial.total, 1);
        let by_name = registry::search_certificates(s, &sys, &q(None, None, "nguyen van an"), NOW)
            .await
            .unwrap();
        assert_eq!(by_name.total, 2);
        let holders = registry::search_certificates(
            s,
            &sys,
            &CertQuery {
                subscriber_id: Some(an.id),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            holders
                .items
                .iter()
                .map(|c| c.serial.as_str())
                .collect::<Vec<_>>(),
            ["1001", "1002"],
            "{b:?}: one holder's certificates, soonest expiry first"
        );

        let der = registry::certificate_der(s, &sys, c1.id).await.unwrap();
        assert_eq!(
            kyso_x509::Cert::from_der(&der).unwrap().serial_hex(),
            "1001"
        );
        let revoked = registry::mark_revoked(s, &sys, c1.id, "Thất lạc thiết bị", NOW)
            .await
            .unwrap();
        assert_eq!(revoked.status_at(NOW), "revoked");
        let d = registry::dashboard(s, &sys, NOW).await.unwrap();
        assert_eq!(
            (d.expiring_60, d.expired, d.revoked, d.certificates_active),
            (0, 1, 1, 1),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn devices_move_only_along_allowed_transitions_and_keep_their_records() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let an = registry::create_subscriber(s, &sys, &person(p.dost, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        let d = registry::create_device(
            s,
            &sys,
            &DeviceInput {
                kind: "token".into(),
                serial: "TK000123".into(),
                agency_id: p.dost,
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(d.state, "at_managing_agency");
        let ev = |e: &str, holder: Option<i64>| DeviceEventInput {
            event: e.into(),
            holder_id: holder,
            counterpart: "Văn thư".into(),
            note: String::new(),
        };
        assert!(matches!(
            registry::device_event(s, &sys, d.id, &ev("assign", None), NOW).await,
            Err(Error::Invalid {
                field: "holder_id",
                ..
            })
        ));
        let d = registry::device_event(s, &sys, d.id, &ev("assign", Some(an.id)), NOW)
            .await
            .unwrap();
        assert_eq!((d.state.as_str(), d.holder_id), ("assigned", Some(an.id)));
        let d = registry::device_event(s, &sys, d.id, &ev("lock", None), NOW)
            .await
            .unwrap();
        assert_eq!(d.state, "locked");
        match registry::device_event(s, &sys, d.id, &ev("return", None), NOW).await {
            Err(Error::Invalid { field: "event", .. }) => {}
            other => panic!("{b:?}: a locked token is recovered or recalled first: {other:?}"),
        }
        registry::device_event(s, &sys, d.id, &ev("recover", None), NOW)
            .await
            .unwrap();
        let history = registry::device_history(s, &sys, d.id).await.unwrap();
        let kinds: Vec<_> = history
            .iter()
            .map(|h| (h.event.as_str(), h.record_kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("assign", "subscriber_handover"),
                ("lock", ""),
                ("recover", "device_recovery")
            ],
            "{b:?}"
        );
        assert!(matches!(
            registry::create_device(
                s,
                &sys,
                &DeviceInput {
                    kind: "token".into(),
                    serial: "TK000123".into(),
                    agency_id: p.unit,
                    ..Default::default()
                },
                NOW
            )
            .await,
            Err(Error::Conflict {
                field: "serial",
                ..
            })
        ));
    }
}

#[tokio::test]
async fn nobody_sees_or_changes_anything_outside_their_agency_subtree() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let theirs =
            registry::create_subscriber(s, &sys, &person(p.finance, "Hoàng Minh Đức"), NOW)
                .await
                .unwrap();
        let officer = user(s, "canbo.khcn", p.dost, Role::SignatureOfficer).await;
        let clerk = user(s, "vanthu.khcn", p.dost, Role::Clerk).await;

        assert!(matches!(
            registry::subscriber(s, &officer, theirs.id).await,
            Err(Error::NotFound { .. })
        ));
        let everyone = registry::search_subscribers(s, &officer, &SubscriberQuery::default())
            .await
            .unwrap();
        assert_eq!(
            everyone.total, 0,
            "{b:?}: the finance department's people are invisible"
        );
        assert!(matches!(
            registry::create_subscriber(s, &officer, &person(p.finance, "Người lạ"), NOW).await,
            Err(Error::Invalid {
                field: "agency_id",
                ..
            })
        ));
        assert!(
            registry::create_subscriber(s, &officer, &person(p.unit, "Lê Hoàng Cường"), NOW)
                .await
                .is_ok()
        );
        // A clerk reads the subtree but writes nothing.
        assert!(matches!(
            registry::create_subscriber(s, &clerk, &person(p.unit, "Vũ Thị Giang"), NOW).await,
            Err(Error::Forbidden)
        ));
        assert_eq!(
            registry::search_subscribers(s, &clerk, &SubscriberQuery::default())
                .await
                .unwrap()
                .total,
            1
        );
        let agencies: Vec<String> = registry::agencies(s, &officer, "", None)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.code)
            .collect();
        assert_eq!(agencies, ["H99.37", "H99.37.01"], "{b:?}");
        assert!(matches!(
            audit::list(s, &officer, &audit::Filter::default()).await,
            Err(Error::Forbidden)
        ));
    }
}

#[tokio::test]
async fn accounts_lock_after_repeated_failures_and_tokens_authenticate() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let officer = user(s, "canbo.khcn", p.dost, Role::SignatureOfficer).await;
        let wrong = || Zeroizing::new("sai-mat-khau-000".to_owned());
        for _ in 0..accounts::MAX_FAILURES {
            assert!(matches!(
                accounts::login(s, "canbo.khcn", wrong(), "10.0.0.9", NOW).await,
                Err(Error::Unauthenticated)
            ));
        }
        let right = || Zeroizing::new("mat-khau-dai-12345".to_owned());
        // Locked: answered like a wrong password (whether the account exists stays unknown).
        assert!(matches!(
            accounts::login(s, "canbo.khcn", right(), "10.0.0.9", NOW).await,
            Err(Error::Unauthenticated)
        ));
        let later = NOW + Duration::seconds(accounts::LOCKOUT_SECS + 1);
        let (session, _) = accounts::login(s, "canbo.khcn", right(), "10.0.0.9", later)
            .await
            .unwrap();
        let (actor, csrf, must) = accounts::session_actor(s, &session.token, "10.0.0.9", later)
            .await
            .unwrap();
        assert_eq!((actor.username.as_str(), must), ("canbo.khcn", false));
        assert_eq!(csrf.len(), 32);
        assert!(
            accounts::session_actor(s, &session.token, "x", later + Duration::days(1))
                .await
                .is_err()
        );

        let token = accounts::create_api_token(s, &officer, "tich-hop", 30, NOW)
            .await
            .unwrap();
        assert!(token.starts_with("kyso_"));
        let via_token = accounts::token_actor(s, &token, "10.0.0.10", NOW)
            .await
            .unwrap();
        assert_eq!(via_token.grants, officer.grants);
        assert!(
            accounts::token_actor(s, &token, "x", NOW + Duration::days(31))
                .await
                .is_err()
        );
        assert!(accounts::token_actor(s, "kyso_forged", "x", NOW)
            .await
            .is_err());
        // No one hands out more than they hold.
        let res = accounts::create_user(
            s,
            &officer,
            NewUser {
                username: "ke.gian".into(),
                full_name: "Kẻ gian".into(),
                email: String::new(),
                agency_id: p.dost,
                password: Zeroizing::new("mat-khau-dai-12345".into()),
                roles: vec![RoleOn {
                    role: "dost_admin".into(),
                    agency_id: p.root,
                }],
                must_change_password: false,
            },
            NOW,
        )
        .await;
        assert!(
            matches!(res, Err(Error::Forbidden | Error::Invalid { .. })),
            "{b:?}: {res:?}"
        );
    }
}

/// Failed-login audit entries of `user`, by reason.
async fn failed_logins(s: &Store, user: &str, reason: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND actor = $1 \
         AND detail = $2",
    )
    .bind(user)
    .bind(serde_json::json!({ "reason": reason }).to_string())
    .fetch_one(s.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lockout() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        user(s, "canbo.khcn", p.dost, Role::SignatureOfficer).await;
        // 39 wrong guesses sent at once, from as many addresses.
        let mut wrong = Vec::new();
        for i in 0..39 {
            let s = s.clone();
            wrong.push(tokio::spawn(async move {
                accounts::login(
                    &s,
                    "canbo.khcn",
                    Zeroizing::new(format!("doan-sai-{i:03}-xyz")),
                    &format!("10.1.0.{i}"),
                    NOW,
                )
                .await
            }));
        }
        // The lock is set as soon as the fifth guess is counted, before any guess is hashed.
        let mut locked = false;
        for _ in 0..3000 {
            let until: i64 =
                sqlx::query_scalar("SELECT locked_until FROM users WHERE username = 'canbo.khcn'")
                    .fetch_one(s.pool())
                    .await
                    .unwrap();
            if until > NOW.unix_timestamp() {
                locked = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(locked, "{b:?}: the burst locks the account");
        // The right password, sent while the burst is still being checked: refused.
        let right = accounts::login(
            s,
            "canbo.khcn",
            Zeroizing::new("mat-khau-dai-12345".into()),
            "10.2.0.1",
            NOW,
        )
        .await;
        for t in wrong {
            assert!(matches!(t.await.unwrap(), Err(Error::Unauthenticated)));
        }
        // Only MAX_FAILURES guesses ever reached the password check; the rest were refused
        // as locked without it.
        let checked = failed_logins(s, "canbo.khcn", "wrong password").await;
        let refused = failed_logins(s, "canbo.khcn", "locked").await;
        assert_eq!(checked, accounts::MAX_FAILURES, "{b:?}: guesses checked");
        assert_eq!(
            refused,
            40 - accounts::MAX_FAILURES,
            "{b:?}: refused as locked"
        );
        assert!(
            matches!(right, Err(Error::Unauthenticated)),
            "{b:?}: {right:?}"
        );
        // An unknown name gets the same answer as the locked account.
        assert!(matches!(
            accounts::login(
                s,
                "khong.co.ai",
                Zeroizing::new("x".repeat(12)),
                "10.2.0.1",
                NOW
            )
            .await,
            Err(Error::Unauthenticated)
        ));
        // After the lock, the right password opens a session.
        let later = NOW + Duration::seconds(accounts::LOCKOUT_SECS + 1);
        accounts::login(
            s,
            "canbo.khcn",
            Zeroizing::new("mat-khau-dai-12345".into()),
            "10.2.0.1",
            later,
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_audit_log_is_a_chain_that_reveals_any_edit_or_removal() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        for i in 0..5 {
            registry::create_subscriber(s, &sys, &person(p.dost, &format!("Người số {i}")), NOW)
                .await
                .unwrap();
        }
        let summary = audit::verify(s).await.unwrap().unwrap();
        assert_eq!(summary.count, 9, "{b:?}: 4 agencies + 5 subscribers");

        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 6")
            .execute(s.pool())
            .await
            .unwrap();
        let broken = audit::verify(s).await.unwrap().unwrap_err();
        assert!(broken.to_string().contains('6'), "{b:?}: {broken}");
        sqlx::query("UPDATE audit_log SET actor = 'system' WHERE seq = 6")
            .execute(s.pool())
            .await
            .unwrap();
        assert!(audit::verify(s).await.unwrap().is_ok());

        sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(s.pool())
            .await
            .unwrap();
        assert!(
            audit::verify(s).await.unwrap().is_err(),
            "{b:?}: a removed entry is found"
        );
    }
}

#[tokio::test]
async fn concurrent_writers_queue_and_the_audit_sequence_has_no_gaps() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = db.store.clone();
        let p = province(&s).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            let agency = if i % 2 == 0 { p.dost } else { p.finance };
            tasks.push(tokio::spawn(async move {
                registry::create_subscriber(
                    &s,
                    &Actor::system(),
                    &person(agency, &format!("Song song {i}")),
                    NOW,
                )
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let summary = audit::verify(&s).await.unwrap().unwrap();
        assert_eq!((summary.count, summary.last_seq), (44, 44), "{b:?}");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n, 40);
        if b == Backend::Postgres {
            s.close().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle requests

use kyso_domain::lifecycle::{RequestAction as A, RequestKind, RequestState as St};
use kyso_store::requests::{self, ActInput, NewItem, NewRequest, RequestQuery};
use std::collections::BTreeMap;

/// The people of the request stories: the unit's officer drafts (and, holding the drafter
/// duty too, makes the request letters), the Department's officer (the unit's managing
/// agency) approves, the province's DOST administrator processes; the unit's leader signs the
/// letters and its clerk issues them; the finance department's officer is a bystander.
struct Cast {
    p: Province,
    drafter: Actor,
    approver: Actor,
    admin: Actor,
    stranger: Actor,
    clerk: Actor,
    signer: Actor,
}

/// An account holding several roles at `agency`, logged in.
async fn user_with(store: &Store, name: &str, agency: i64, roles: &[Role]) -> Actor {
    let password = "mat-khau-dai-12345";
    accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
            agency_id: agency,
            password: Zeroizing::new(password.into()),
            roles: roles
                .iter()
                .map(|r| RoleOn {
                    role: r.as_str().into(),
                    agency_id: agency,
                })
                .collect(),
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    accounts::login(
        store,
        name,
        Zeroizing::new(password.into()),
        "127.0.0.1",
        NOW,
    )
    .await
    .unwrap()
    .1
}

async fn cast(s: &Store) -> Cast {
    let p = province(s).await;
    let c = Cast {
        drafter: user_with(
            s,
            "cb.ttcds",
            p.unit,
            &[Role::SignatureOfficer, Role::Drafter],
        )
        .await,
        approver: user(s, "cb.so", p.dost, Role::SignatureOfficer).await,
        admin: user(s, "quantri", p.root, Role::DostAdmin).await,
        stranger: user(s, "cb.taichinh", p.finance, Role::SignatureOfficer).await,
        clerk: user(s, "vanthu.ttcds", p.unit, Role::Clerk).await,
        signer: user(s, "giamdoc.ttcds", p.unit, Role::Signer).await,
        p,
    };
    // What a request letter needs: the unit's outgoing register and where letters go.
    kyso_store::documents::create_register(
        s,
        &c.clerk,
        &kyso_store::documents::RegisterInput {
            agency_id: c.p.unit,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "TTCDS".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    requests::set_request_recipients(
        s,
        &c.admin,
        &requests::RequestRecipients {
            department: "H99.37".into(),
            national_ca: "G11.07.05".into(),
        },
        NOW,
    )
    .await
    .unwrap();
    c
}

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn request(kind: RequestKind, agency: i64, items: Vec<NewItem>) -> NewRequest {
    NewRequest {
        kind: kind.as_str().into(),
        agency_id: agency,
        contact_name: "Lê Thị Hoa".into(),
        contact_phone: "0912 345 678".into(),
        items,
        ..Default::default()
    }
}

fn note(reason: &str) -> ActInput {
    ActInput {
        reason: reason.into(),
        ..Default::default()
    }
}

/// Submit and approve `id` as the right people, then send it the only way a request is sent:
/// its letter made as a document of the unit and taken through the flow to dispatch (the files
/// stand in for the signed ones: the signatures are checked by the PDF side, outside the store).
async fn to_sent(s: &Store, c: &Cast, id: i64, at: OffsetDateTime) -> requests::RequestDetail {
    let none = ActInput::default();
    requests::act(s, &c.drafter, id, A::Submit, &none, at)
        .await
        .unwrap();
    requests::act(s, &c.approver, id, A::Approve, &none, at)
        .await
        .unwrap();
    send_by_letter(s, c, id, at).await
}

/// Make the letter of approved request `id` and dispatch it.
async fn send_by_letter(
    s: &Store,
    c: &Cast,
    id: i64,
    at: OffsetDateTime,
) -> requests::RequestDetail {
    use kyso_domain::documents::{DocAction as D, DocType, DocumentMeta, SignerBlock};
    use kyso_store::documents::NewDocument;
    let dir = tempfile::tempdir().unwrap();
    let blobs = kyso_store::blobs::Blobs::open(dir.path()).unwrap();
    let plan = requests::letter_plan(s, &c.drafter, id, "VP", at)
        .await
        .unwrap();
    let draft = b"%PDF-1.7\n% the request letter\n%%EOF\n".to_vec();
    let input = NewDocument {
        agency_id: plan.agency_id,
        meta: DocumentMeta {
            doc_type: DocType::CongVan,
            subject: "V/v đề nghị chứng thư số".into(),
            place: "Demo".into(),
            unit_abbrev: "VP".into(),
            recipients: vec![plan.recipient_code.clone()],
            signer: SignerBlock {
                title: "Giám đốc".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        signer_id: Some(c.signer.user_id),
        file_name: "cong-van.pdf".into(),
        file: draft.clone(),
    };
    let doc = requests::create_letter_document(s, &blobs, &c.drafter, id, &input, at)
        .await
        .unwrap();
    kyso_store::testing::walk_flow(
        s,
        &blobs,
        doc.id,
        &[
            (&c.drafter, D::Submit),
            (&c.admin, D::Forward),
            (&c.admin, D::CheckFormat),
            (&c.signer, D::Approve),
            (&c.signer, D::SignPersonal),
            (&c.clerk, D::ClerkCheck),
            (&c.clerk, D::Number),
            (&c.clerk, D::OrgSign),
            (&c.clerk, D::Register),
            (&c.clerk, D::Dispatch),
        ],
        draft,
        "cong-van.pdf",
        at,
    )
    .await;
    requests::get_request(s, &c.drafter, id, at).await.unwrap()
}

/// A subscriber of the unit with an active certificate.
async fn holder_with_cert(s: &Store, c: &Cast, name: &str, serial: u64) -> (i64, i64) {
    let sys = Actor::system();
    let sub = registry::create_subscriber(s, &sys, &person(c.p.unit, name), NOW)
        .await
        .unwrap();
    let cert = registry::import_certificate(
        s,
        &sys,
        &kyso_store::registry::CertImport {
            agency_id: c.p.unit,
            subscriber_id: Some(sub.id),
            bytes: cert_pem(name, serial, NOW + Duration::days(30)).as_bytes(),
            mismatch_reason: None,
        },
        NOW,
    )
    .await
    .unwrap();
    (sub.id, cert.id)
}

fn new_cert(
    cn: &str,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    params.not_before = not_before;
    params.not_after = not_after;
    kyso_store::testing::TestCa::get()
        .sign(&params, &key)
        .into_bytes()
}

#[tokio::test]
async fn an_issuance_goes_from_the_units_officer_to_done_and_registers_the_new_certificate() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let c = cast(s).await;
        let form = request(
            RequestKind::IssueIndividual,
            c.p.unit,
            vec![NewItem {
                data: data(&[
                    ("name", "Trần Thị Bình"),
                    ("date_of_birth", "02/09/1985"),
                    ("id_number", "040185000123"),
                    ("email", "binh.tt@demo.invalid"),
                    ("title", "Chuyên viên"),
                ]),
                ..Default::default()
            }],
        );
        // The clerk may read the unit but not draft for it; the finance officer not even see it.
        assert!(matches!(
            requests::create_request(s, &c.clerk, &form, NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            requests::create_request(s, &c.stranger, &form, NOW).await,
            Err(Error::Invalid {
                field: "agency_id",
                ..
            })
        ));
        let r = requests::create_request(s, &c.drafter, &form, NOW)
            .await
            .unwrap();
        let id = r.request.id;
        assert_eq!(r.request.state, St::Draft);
        assert_eq!(r.request.form_number, "01");
        assert_eq!(
            r.request.handler,
            RequestKind::IssueIndividual.default_handler()
        );
        assert_eq!(r.request.title, RequestKind::IssueIndividual.title_vi());
        assert_eq!(r.actions, [A::Submit, A::Withdraw]);
        let none = ActInput::default();
        requests::act(s, &c.drafter, id, A::Submit, &none, NOW)
            .await
            .unwrap();
        // Nobody approves their own agency's request; a stranger does not even find it.
        assert!(matches!(
            requests::act(s, &c.drafter, id, A::Approve, &none, NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            requests::act(s, &c.stranger, id, A::Approve, &none, NOW).await,
            Err(Error::NotFound {
                what: kyso_store::Record::Request
            })
        ));
        assert!(matches!(
            requests::get_request(s, &c.stranger, id, NOW).await,
            Err(Error::NotFound { .. })
        ));
        let seen = requests::get_request(s, &c.approver, id, NOW)
            .await
            .unwrap();
        // (Their role reaches the unit's subtree, so they could also withdraw it.)
        assert_eq!(seen.actions, [A::Approve, A::Return, A::Withdraw], "{b:?}");
        requests::act(s, &c.approver, id, A::Approve, &none, NOW)
            .await
            .unwrap();
        // Sending is the requesting side's, and never by hand: the request leaves with its
        // letter document; processing is the Department's.
        assert!(matches!(
            requests::act(s, &c.drafter, id, A::Send, &none, NOW).await,
            Err(Error::Conflict {
                field: "action",
                ..
            })
        ));
        let sent = send_by_letter(s, &c, id, NOW).await;
        assert_eq!(sent.request.state, St::Sent);
        // Sent on Monday 1 June 2026: three working days → end of Thursday 4 June.
        assert_eq!(
            sent.request.deadline_at,
            Some(datetime!(2026-06-04 23:59:59 +07:00))
        );
        assert!(matches!(
            requests::act(s, &c.approver, id, A::StartProcessing, &none, NOW).await,
            Err(Error::Forbidden)
        ));
        requests::act(s, &c.admin, id, A::StartProcessing, &none, NOW)
            .await
            .unwrap();
        // Completing needs the certificate: valid, not expired, within Decree 68's five years
        // and from a trusted CA.
        let complete = |certs: Vec<Vec<u8>>| ActInput {
            certificates: certs,
            ..Default::default()
        };
        for bad in [
            vec![],
            vec![new_cert(
                "Trần Thị Bình",
                501,
                NOW + Duration::days(10),
                NOW,
            )],
            vec![new_cert(
                "Trần Thị Bình",
                502,
                NOW - Duration::days(800),
                NOW - Duration::days(1),
            )],
            vec![b"not a certificate".to_vec()],
            // Six years: more than Decree 68 allows.
            vec![new_cert(
                "Trần Thị Bình",
                504,
                NOW - Duration::hours(1),
                NOW + Duration::days(6 * 365),
            )],
            // Issued by nobody the province trusts.
            vec![{
                let key = rcgen::KeyPair::generate().unwrap();
                let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                p.distinguished_name
                    .push(rcgen::DnType::CommonName, "Trần Thị Bình");
                p.not_before = NOW - Duration::hours(1);
                p.not_after = NOW + Duration::days(365);
                p.self_signed(&key).unwrap().pem().into_bytes()
            }],
        ] {
            match requests::act(s, &c.admin, id, A::Complete, &complete(bad), NOW).await {
                Err(Error::Invalid {
                    field: "certificates",
                    ..
                }) => {}
                other => panic!("{b:?}: {other:?}"),
            }
        }
        let issued = new_cert(
            "Trần Thị Bình",
            503,
            NOW - Duration::hours(1),
            NOW + Duration::days(5 * 365),
        );
        let done = requests::act(s, &c.admin, id, A::Complete, &complete(vec![issued]), NOW)
            .await
            .unwrap();
        assert_eq!(done.request.state, St::Done);
        assert!(done.request.completed_at.is_some() && done.actions.is_empty());
        // The registry has the new subscriber and their certificate.
        let item = &done.items[0];
        let cert = registry::certificate(s, &c.drafter, item.certificate_id.unwrap())
            .await
            .unwrap();
        assert_eq!(cert.subscriber_id, item.subscriber_id);
        assert_eq!(cert.agency_id, c.p.unit);
        let sub = registry::subscriber(s, &c.drafter, item.subscriber_id.unwrap())
            .await
            .unwrap();
        assert_eq!(
            (
                sub.name.as_str(),
                sub.id_number.as_str(),
                sub.date_of_birth.as_str()
            ),
            ("Trần Thị Bình", "040185000123", "1985-09-02")
        );
        // The timeline tells the whole story, and so does the audit log.
        let steps: Vec<_> = done
            .timeline
            .iter()
            .map(|e| (e.action.as_str(), e.to_state.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("create", "draft", "cb.ttcds"),
                ("submit", "submitted", "cb.ttcds"),
                ("approve", "approved", "cb.so"),
                ("letter_document", "approved", "cb.ttcds"),
                ("send", "sent", "vanthu.ttcds"),
                ("start_processing", "processing", "quantri"),
                ("complete", "done", "quantri"),
            ],
            "{b:?}"
        );
        let log = audit::list(
            s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("request.".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(log.len(), 6, "{b:?}");
        assert!(audit::verify(s).await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn renewal_supersedes_revocation_revokes_and_a_change_of_information_rewrites_the_person() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let c = cast(s).await;
        let none = ActInput::default();
        // Renewal: the old certificate becomes superseded, replaced by the new one, and the
        // token that carried it now carries the new one.
        let (_, old) = holder_with_cert(s, &c, "Phạm Văn Cường", 601).await;
        let token = registry::create_device(
            s,
            &Actor::system(),
            &DeviceInput {
                kind: "token".into(),
                serial: "TK-RENEW-1".into(),
                agency_id: c.p.unit,
                certificate_id: Some(old),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let renew = |cid: Option<i64>| {
            request(
                RequestKind::Renew,
                c.p.unit,
                vec![NewItem {
                    certificate_id: cid,
                    ..Default::default()
                }],
            )
        };
        assert!(matches!(
            requests::create_request(s, &c.drafter, &renew(None), NOW).await,
            Err(Error::Invalid {
                field: "certificate_id",
                ..
            })
        ));
        let r = requests::create_request(s, &c.drafter, &renew(Some(old)), NOW)
            .await
            .unwrap();
        assert_eq!(
            r.request.handler,
            kyso_domain::lifecycle::Handler::Department
        );
        to_sent(s, &c, r.request.id, NOW).await;
        // A renewal adds at most three years to the old certificate's end (Decree 68).
        let too_long = new_cert("Phạm Văn Cường", 1601, NOW, NOW + Duration::days(4 * 365));
        match requests::act(
            s,
            &c.admin,
            r.request.id,
            A::Complete,
            &ActInput {
                certificates: vec![too_long],
                ..Default::default()
            },
            NOW,
        )
        .await
        {
            Err(Error::Invalid {
                field: "certificates",
                vi,
                ..
            }) => assert!(vi.contains("gia hạn") && vi.contains("quá 3 năm"), "{vi}"),
            other => panic!("{b:?}: {other:?}"),
        }
        let new = new_cert("Phạm Văn Cường", 602, NOW, NOW + Duration::days(3 * 365));
        let done = requests::act(
            s,
            &c.admin,
            r.request.id,
            A::Complete,
            &ActInput {
                certificates: vec![new],
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let new_id: i64 = done.items[0].data["issued_certificate_id"].parse().unwrap();
        let old_cert = registry::certificate(s, &c.drafter, old).await.unwrap();
        assert_eq!(old_cert.status, "superseded");
        let replaced_by: Option<i64> =
            sqlx::query_scalar("SELECT replaced_by FROM certificates WHERE id = $1")
                .bind(old)
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(replaced_by, Some(new_id), "{b:?}");
        let token = registry::device(s, &c.drafter, token.id).await.unwrap();
        assert_eq!(token.certificate_id, Some(new_id));
        // A superseded certificate cannot be renewed again.
        assert!(matches!(
            requests::create_request(s, &c.drafter, &renew(Some(old)), NOW).await,
            Err(Error::Invalid {
                field: "certificate_id",
                ..
            })
        ));

        // Revocation: needs a reason; completing records it on the certificate.
        let (_, victim) = holder_with_cert(s, &c, "Đỗ Thị Dung", 603).await;
        let mut revoke = request(
            RequestKind::Revoke,
            c.p.unit,
            vec![NewItem {
                certificate_id: Some(victim),
                ..Default::default()
            }],
        );
        assert!(matches!(
            requests::create_request(s, &c.drafter, &revoke, NOW).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        revoke.reason = "Nghỉ hưu".into();
        let r = requests::create_request(s, &c.drafter, &revoke, NOW)
            .await
            .unwrap();
        to_sent(s, &c, r.request.id, NOW).await;
        // The national CA's answer is recorded by the Department; no certificate comes back.
        requests::act(s, &c.admin, r.request.id, A::Complete, &none, NOW)
            .await
            .unwrap();
        let revoked = registry::certificate(s, &c.drafter, victim).await.unwrap();
        assert_eq!(
            (revoked.status.as_str(), revoked.revocation_reason.as_str()),
            ("revoked", "Nghỉ hưu")
        );

        // Change of information: the new title and email reach the subscriber.
        let (person_id, cert) = holder_with_cert(s, &c, "Vũ Văn Em", 604).await;
        let change = |pairs: &[(&str, &str)]| {
            request(
                RequestKind::ChangeInfo,
                c.p.unit,
                vec![NewItem {
                    certificate_id: Some(cert),
                    data: data(pairs),
                    ..Default::default()
                }],
            )
        };
        assert!(matches!(
            requests::create_request(s, &c.drafter, &change(&[]), NOW).await,
            Err(Error::Invalid { field: "data", .. })
        ));
        assert!(matches!(
            requests::create_request(
                s,
                &c.drafter,
                &change(&[("email", "khong-phai-email")]),
                NOW
            )
            .await,
            Err(Error::Invalid { field: "email", .. })
        ));
        assert!(matches!(
            requests::create_request(s, &c.drafter, &change(&[("shoe_size", "42")]), NOW).await,
            Err(Error::Invalid { field: "data", .. })
        ));
        let r = requests::create_request(
            s,
            &c.drafter,
            &change(&[("title", "Trưởng phòng"), ("email", "em.vv@demo.invalid")]),
            NOW,
        )
        .await
        .unwrap();
        to_sent(s, &c, r.request.id, NOW).await;
        requests::act(s, &c.admin, r.request.id, A::Complete, &none, NOW)
            .await
            .unwrap();
        let em = registry::subscriber(s, &c.drafter, person_id)
            .await
            .unwrap();
        assert_eq!(
            (em.title.as_str(), em.email.as_str(), em.name.as_str()),
            ("Trưởng phòng", "em.vv@demo.invalid", "Vũ Văn Em"),
            "{b:?}"
        );
        // A change of information may come back with a new certificate: it replaces the old.
        let r = requests::create_request(s, &c.drafter, &change(&[("unit", "Phòng Hạ tầng")]), NOW)
            .await
            .unwrap();
        to_sent(s, &c, r.request.id, NOW).await;
        let done = requests::act(
            s,
            &c.admin,
            r.request.id,
            A::Complete,
            &ActInput {
                certificates: vec![new_cert("Vũ Văn Em", 605, NOW, NOW + Duration::days(700))],
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        assert!(done.items[0].data.contains_key("issued_certificate_id"));
        let old_cert = registry::certificate(s, &c.drafter, cert).await.unwrap();
        assert_eq!(old_cert.status, "superseded", "{b:?}");
        let em = registry::subscriber(s, &c.drafter, person_id)
            .await
            .unwrap();
        assert_eq!(
            (em.unit.as_str(), em.title.as_str()),
            ("Phòng Hạ tầng", "Trưởng phòng")
        );
        // Organization and device issuance ask for their own forms' fields.
        let org = request(
            RequestKind::IssueOrganization,
            c.p.unit,
            vec![NewItem {
                data: data(&[("name", "Trung tâm Chuyển đổi số")]),
                ..Default::default()
            }],
        );
        assert!(matches!(
            requests::create_request(s, &c.drafter, &org, NOW).await,
            Err(Error::Invalid { field: "email", .. })
        ));
        let dev = request(
            RequestKind::IssueDevice,
            c.p.unit,
            vec![NewItem {
                data: data(&[
                    ("name", "Cổng dịch vụ công"),
                    ("email", "cong@demo.invalid"),
                ]),
                ..Default::default()
            }],
        );
        let r = requests::create_request(s, &c.drafter, &dev, NOW)
            .await
            .unwrap();
        assert_eq!(r.request.form_number, "03");
        assert!(matches!(
            requests::create_request(
                s,
                &c.drafter,
                &request(RequestKind::Renew, c.p.unit, vec![]),
                NOW
            )
            .await,
            Err(Error::Invalid { field: "items", .. })
        ));
        let mut unknown = request(RequestKind::Renew, c.p.unit, vec![NewItem::default()]);
        unknown.kind = "gia_han".into();
        assert!(matches!(
            requests::create_request(s, &c.drafter, &unknown, NOW).await,
            Err(Error::Invalid { field: "kind", .. })
        ));
    }
}

#[tokio::test]
async fn a_token_recovery_sent_on_the_friday_before_a_holiday_is_due_tuesday_and_overdue_wednesday()
{
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let c = cast(s).await;
        let sys = Actor::system();
        let holder = registry::create_subscriber(s, &sys, &person(c.p.unit, "Ngô Văn Giang"), NOW)
            .await
            .unwrap();
        let token = registry::create_device(
            s,
            &sys,
            &DeviceInput {
                kind: "token".into(),
                serial: "TK-LOCKED-1".into(),
                agency_id: c.p.unit,
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let ev = |e: &str, h: Option<i64>| DeviceEventInput {
            event: e.into(),
            holder_id: h,
            ..Default::default()
        };
        let recover = request(
            RequestKind::RecoverDevice,
            c.p.unit,
            vec![NewItem {
                device_id: Some(token.id),
                ..Default::default()
            }],
        );
        let with_reason = NewRequest {
            reason: "Nhập sai mã PIN quá số lần cho phép".into(),
            ..recover.clone()
        };
        // A token that is not locked needs no recovery.
        assert!(matches!(
            requests::create_request(s, &c.drafter, &with_reason, NOW).await,
            Err(Error::Invalid {
                field: "device_id",
                ..
            })
        ));
        registry::device_event(s, &sys, token.id, &ev("assign", Some(holder.id)), NOW)
            .await
            .unwrap();
        registry::device_event(s, &sys, token.id, &ev("lock", None), NOW)
            .await
            .unwrap();
        assert!(matches!(
            requests::create_request(s, &c.drafter, &recover, NOW).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        // Friday 24 April 2026, 16:00. Sunday 26 April is the Hùng Kings' day, so Monday 27 is
        // off in its place: one working day later is Tuesday 28 April.
        let friday = datetime!(2026-04-24 16:00 +07:00);
        let r = requests::create_request(s, &c.drafter, &with_reason, friday)
            .await
            .unwrap();
        let id = r.request.id;
        let sent = to_sent(s, &c, id, friday).await;
        assert_eq!(
            sent.request.handler,
            kyso_domain::lifecycle::Handler::Department
        );
        assert_eq!(
            sent.request.deadline_at,
            Some(datetime!(2026-04-28 23:59:59 +07:00)),
            "{b:?}"
        );
        let tuesday = datetime!(2026-04-28 17:00 +07:00);
        let wednesday = datetime!(2026-04-29 08:00 +07:00);
        assert!(
            !requests::get_request(s, &c.drafter, id, tuesday)
                .await
                .unwrap()
                .request
                .overdue
        );
        assert!(
            requests::get_request(s, &c.drafter, id, wednesday)
                .await
                .unwrap()
                .request
                .overdue
        );
        let overdue = RequestQuery {
            overdue: true,
            ..Default::default()
        };
        assert!(requests::list_requests(s, &c.admin, &overdue, tuesday)
            .await
            .unwrap()
            .is_empty());
        let late = requests::list_requests(s, &c.admin, &overdue, wednesday)
            .await
            .unwrap();
        assert_eq!(late.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
        assert!(
            requests::list_requests(s, &c.stranger, &RequestQuery::default(), wednesday)
                .await
                .unwrap()
                .is_empty()
        );
        let dash = registry::dashboard(s, &c.approver, wednesday)
            .await
            .unwrap();
        assert_eq!((dash.open_requests, dash.overdue_requests), (1, 1), "{b:?}");

        // Completing recovers the token, with the recovery record in its history.
        requests::act(
            s,
            &c.admin,
            id,
            A::Complete,
            &ActInput::default(),
            wednesday,
        )
        .await
        .unwrap();
        let token_now = registry::device(s, &c.drafter, token.id).await.unwrap();
        assert_eq!(token_now.state, "assigned");
        let history = registry::device_history(s, &c.drafter, token.id)
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            (last.event.as_str(), last.record_kind.as_str()),
            ("recover", "device_recovery")
        );
        let dash = registry::dashboard(s, &c.approver, wednesday)
            .await
            .unwrap();
        assert_eq!((dash.open_requests, dash.overdue_requests), (0, 0));

        // The calendar is configurable per year: declaring Tuesday 28 April off as well moves
        // the next recovery's deadline to Wednesday.
        let mut y2026 = kyso_domain::calendar::vietnam_default_year(2026).unwrap();
        y2026.holidays.push(time::macros::date!(2026 - 04 - 28));
        let mut config = kyso_domain::calendar::CalendarConfig::default();
        config.years.insert(2026, y2026);
        assert!(matches!(
            requests::set_calendar(s, &c.approver, &config, NOW).await,
            Err(Error::Forbidden)
        ));
        requests::set_calendar(s, &c.admin, &config, NOW)
            .await
            .unwrap();
        assert_eq!(requests::get_calendar(s, &c.admin).await.unwrap(), config);
        registry::device_event(s, &sys, token.id, &ev("lock", None), NOW)
            .await
            .unwrap();
        let again = requests::create_request(s, &c.drafter, &with_reason, friday)
            .await
            .unwrap();
        let sent = to_sent(s, &c, again.request.id, friday).await;
        assert_eq!(
            sent.request.deadline_at,
            Some(datetime!(2026-04-29 23:59:59 +07:00)),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn the_dashboard_counts_each_figure_once_inside_the_readers_subtrees() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        registry::create_subscriber(s, &sys, &person(p.dost, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        registry::create_subscriber(s, &sys, &person(p.finance, "Trần Thị Bình"), NOW)
            .await
            .unwrap();
        // Science (and its unit): expiring in 5, 20 and 50 days, valid for 400 days but
        // revoked, expired 3 days ago. Finance: expiring in 10 days, expired yesterday.
        let mut ids = Vec::new();
        for (i, (agency, days)) in [
            (p.dost, 5),
            (p.unit, 20),
            (p.dost, 50),
            (p.dost, 400),
            (p.unit, -3),
            (p.finance, 10),
            (p.finance, -1),
        ]
        .into_iter()
        .enumerate()
        {
            let pem = cert_pem("Thuê bao", 0x2000 + i as u64, NOW + Duration::days(days));
            let c = registry::import_certificate(
                s,
                &sys,
                &kyso_store::registry::CertImport {
                    agency_id: agency,
                    subscriber_id: None,
                    bytes: pem.as_bytes(),
                    mismatch_reason: None,
                },
                NOW,
            )
            .await
            .unwrap();
            ids.push(c.id);
        }
        registry::mark_revoked(s, &sys, ids[3], "Thay đổi thông tin", NOW)
            .await
            .unwrap();
        for (i, (agency, state)) in [
            (p.dost, "locked"),
            (p.unit, "lost"),
            (p.finance, "locked"),
            (p.dost, "at_managing_agency"),
        ]
        .into_iter()
        .enumerate()
        {
            let input = DeviceInput {
                kind: "token".into(),
                serial: format!("TK-DASH-{i}"),
                agency_id: agency,
                state: Some(state.into()),
                ..Default::default()
            };
            registry::create_device(s, &sys, &input, NOW).await.unwrap();
        }

        let figures = |d: &registry::Dashboard| {
            [
                d.agencies,
                d.subscribers,
                d.certificates_active,
                d.expiring_60,
                d.expiring_30,
                d.expiring_7,
                d.expired,
                d.revoked,
                d.devices_locked,
                d.devices_lost,
            ]
        };
        // The whole province.
        let d = registry::dashboard(s, &sys, NOW).await.unwrap();
        assert_eq!(figures(&d), [4, 2, 4, 4, 3, 1, 2, 1, 2, 1], "{b:?}");
        assert_eq!(
            d.soonest.iter().map(|c| c.id).collect::<Vec<_>>(),
            [ids[0], ids[5], ids[1], ids[2]],
            "{b:?}: the soonest expiries first, revoked and expired ones left out"
        );
        // An officer of the science department sees its subtree only.
        let officer = user(s, "can.bo", p.dost, Role::SignatureOfficer).await;
        let d = registry::dashboard(s, &officer, NOW).await.unwrap();
        assert_eq!(figures(&d), [2, 1, 3, 3, 2, 1, 1, 1, 1, 1], "{b:?}");
        assert_eq!(
            d.soonest.iter().map(|c| c.id).collect::<Vec<_>>(),
            [ids[0], ids[1], ids[2]],
            "{b:?}"
        );
        // Nobody's subtree: nothing at all.
        let nobody = Actor {
            grants: Vec::new(),
            ..officer
        };
        let d = registry::dashboard(s, &nobody, NOW).await.unwrap();
        assert_eq!(figures(&d), [0; 10], "{b:?}");
    }
}

#[tokio::test]
async fn refusals_need_a_reason_returns_go_back_to_the_drafter_and_only_the_right_people_act() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let c = cast(s).await;
        let none = ActInput::default();
        let (_, cert) = holder_with_cert(s, &c, "Lý Thị Hạnh", 701).await;
        let form = request(
            RequestKind::Renew,
            c.p.unit,
            vec![NewItem {
                certificate_id: Some(cert),
                ..Default::default()
            }],
        );
        let r = requests::create_request(s, &c.drafter, &form, NOW)
            .await
            .unwrap();
        let id = r.request.id;
        requests::act(s, &c.drafter, id, A::Submit, &none, NOW)
            .await
            .unwrap();
        // The drafter cannot edit what was submitted; the approver returns it with a reason.
        assert!(matches!(
            requests::update_draft(s, &c.drafter, id, &form, NOW).await,
            Err(Error::Conflict { field: "state", .. })
        ));
        assert!(matches!(
            requests::act(s, &c.approver, id, A::Return, &none, NOW).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        let back = requests::act(
            s,
            &c.approver,
            id,
            A::Return,
            &note("Thiếu số văn bản"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(back.request.state, St::Draft);
        assert_eq!(back.timeline.last().unwrap().note, "Thiếu số văn bản");
        let fixed = NewRequest {
            number: "15/TTCDS-HCTH".into(),
            ..form.clone()
        };
        let fixed = requests::update_draft(s, &c.drafter, id, &fixed, NOW)
            .await
            .unwrap();
        assert_eq!(fixed.request.number, "15/TTCDS-HCTH");
        assert!(matches!(
            requests::update_draft(s, &c.stranger, id, &form, NOW).await,
            Err(Error::NotFound { .. })
        ));
        // A Department administrator above may approve too.
        requests::act(s, &c.drafter, id, A::Submit, &none, NOW)
            .await
            .unwrap();
        requests::act(s, &c.admin, id, A::Approve, &none, NOW)
            .await
            .unwrap();
        // Actions out of order are conflicts.
        assert!(matches!(
            requests::act(s, &c.admin, id, A::Complete, &none, NOW).await,
            Err(Error::Conflict {
                field: "action",
                ..
            })
        ));
        send_by_letter(s, &c, id, NOW).await;
        // Refusing: only the Department, and never without a reason.
        assert!(matches!(
            requests::act(s, &c.approver, id, A::Refuse, &note("Không"), NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            requests::act(s, &c.admin, id, A::Refuse, &note("   "), NOW).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        let refused = requests::act(
            s,
            &c.admin,
            id,
            A::Refuse,
            &note("Chứng thư số còn hạn trên 60 ngày"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(refused.request.state, St::Refused);
        assert_eq!(
            refused.request.refusal_reason,
            "Chứng thư số còn hạn trên 60 ngày"
        );
        assert!(refused.actions.is_empty());
        // Nothing changed in the registry.
        let still = registry::certificate(s, &c.drafter, cert).await.unwrap();
        assert_eq!(still.status, "active", "{b:?}");
        // A draft can be withdrawn by its agency; then nothing more happens to it.
        let other = requests::create_request(s, &c.drafter, &form, NOW)
            .await
            .unwrap();
        let gone = requests::act(s, &c.drafter, other.request.id, A::Withdraw, &none, NOW)
            .await
            .unwrap();
        assert_eq!(gone.request.state, St::Withdrawn);
        assert!(matches!(
            requests::act(s, &c.drafter, other.request.id, A::Submit, &none, NOW).await,
            Err(Error::Conflict {
                field: "action",
                ..
            })
        ));
        let listed = requests::list_requests(
            s,
            &c.drafter,
            &RequestQuery {
                state: Some("refused".into()),
                q: "TTCDS".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(listed.len(), 1, "{b:?}");
        assert!(matches!(
            requests::list_requests(
                s,
                &c.drafter,
                &RequestQuery {
                    state: Some("lost".into()),
                    ..Default::default()
                },
                NOW
            )
            .await,
            Err(Error::Invalid { field: "state", .. })
        ));
    }
}

#[tokio::test]
async fn a_pasted_serial_is_found_by_its_index_and_only_inside_the_readers_subtrees() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let long = 0x5404_FFFE_B703_3FB3_u64;
        let pem = cert_pem("Phạm Minh Châu", long, NOW + Duration::days(100));
        let c = registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.finance,
                subscriber_id: None,
                bytes: pem.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(c.serial, "5404FFFEB7033FB3");
        let q = |text: &str| CertQuery {
            q: text.into(),
            ..Default::default()
        };
        for pasted in [
            "5404FFFEB7033FB3",
            "54 04 ff fe b7 03 3f b3",
            "54:04:FF:FE:B7:03:3F:B3",
        ] {
            let found = registry::search_certificates(s, &sys, &q(pasted), NOW)
                .await
                .unwrap();
            assert_eq!(
                found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
                [c.id],
                "{b:?}: {pasted}"
            );
            assert_eq!(found.total, 1);
        }
        // Outside the officer's subtree the serial is not found, by the index or by the text
        // search that follows it.
        let officer = user(s, "can.bo", p.dost, Role::SignatureOfficer).await;
        let found = registry::search_certificates(s, &officer, &q("5404FFFEB7033FB3"), NOW)
            .await
            .unwrap();
        assert_eq!(found.total, 0, "{b:?}");
        assert!(found.items.is_empty());
        // A hex-looking word that is no serial still searches the text.
        let pem = cert_pem("Nhóm DEADBEEF01", 0x77, NOW + Duration::days(100));
        registry::import_certificate(
            s,
            &sys,
            &kyso_store::registry::CertImport {
                agency_id: p.dost,
                subscriber_id: None,
                bytes: pem.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        let found = registry::search_certificates(s, &officer, &q("deadbeef01"), NOW)
            .await
            .unwrap();
        assert_eq!(found.total, 1, "{b:?}");
    }
}

/// Issue 15/8: the auditor's scope is applied before the page's limit, and exports carry the
/// agencies whose records they hold.
#[tokio::test]
async fn an_agency_auditor_gets_its_entries_up_to_the_limit_and_sees_its_records_exported() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let ours = registry::create_subscriber(s, &sys, &person(p.dost, "Trần Văn An"), NOW)
            .await
            .unwrap();
        let theirs =
            registry::create_subscriber(s, &sys, &person(p.finance, "Hoàng Minh Đức"), NOW)
                .await
                .unwrap();
        let auditor = user(s, "kiemtoan.khcn", p.dost, Role::Auditor).await;
        let read = |id: i64, agency: &str| audit::Event {
            action: "subscriber.read",
            object: format!("subscriber:{id}"),
            agency: Some(agency.into()),
            detail: serde_json::json!({}),
        };
        for _ in 0..3 {
            audit::record(s, &sys, read(ours.id, "H99.37"), NOW)
                .await
                .unwrap();
        }
        // Many newer entries of another agency.
        for _ in 0..30 {
            audit::record(s, &sys, read(theirs.id, "H99.05"), NOW)
                .await
                .unwrap();
        }
        let filter = |prefix: &str, limit: i64| audit::Filter {
            action_prefix: Some(prefix.into()),
            limit,
            ..Default::default()
        };
        let got = audit::list(s, &auditor, &filter("subscriber.read", 2))
            .await
            .unwrap();
        assert_eq!(
            got.len(),
            2,
            "{b:?}: the limit is filled with the auditor's own entries"
        );
        let got = audit::list(s, &auditor, &filter("subscriber.read", 10))
            .await
            .unwrap();
        assert_eq!(got.len(), 3, "{b:?}");
        assert!(got
            .iter()
            .all(|e| e.object == format!("subscriber:{}", ours.id)
                && e.agency.as_deref() == Some("H99.37")));
        // The province's auditor still sees everything.
        let province_auditor = user(s, "kiemtoan.tinh", p.root, Role::Auditor).await;
        let all = audit::list(s, &province_auditor, &filter("subscriber.read", 1000))
            .await
            .unwrap();
        assert_eq!(all.len(), 33, "{b:?}");

        // An export of the whole registry is seen by each agency whose people it holds.
        kyso_store::csv_io::export_subscribers(
            s,
            &sys,
            &SubscriberQuery::default(),
            kyso_store::csv_io::ExportFormat::Csv,
            NOW,
        )
        .await
        .unwrap();
        let seen = audit::list(s, &auditor, &filter("subscriber.export", 10))
            .await
            .unwrap();
        assert_eq!(seen.len(), 1, "{b:?}: {seen:?}");
        assert_eq!(seen[0].agency.as_deref(), Some("H99.37"));
        assert!(
            seen[0].detail.contains("\"agency_rows\":1"),
            "{}",
            seen[0].detail
        );
        let all = audit::list(s, &province_auditor, &filter("subscriber.export", 10))
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "{b:?}: one entry per agency");
        // A finance auditor does not see the science department's reads.
        let finance_auditor = user(s, "kiemtoan.tc", p.finance, Role::Auditor).await;
        let fin = audit::list(s, &finance_auditor, &filter("subscriber.read", 1000))
            .await
            .unwrap();
        assert_eq!(fin.len(), 30, "{b:?}");
        assert!(fin.iter().all(|e| e.agency.as_deref() == Some("H99.05")));
    }
}

#[tokio::test]
async fn each_request_step_tells_who_acts_next_or_the_department_when_no_one_can() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let c = cast(s).await;
        let issuance = |agency: i64| {
            request(
                RequestKind::IssueIndividual,
                agency,
                vec![NewItem {
                    data: data(&[
                        ("name", "Trần Thị Bình"),
                        ("date_of_birth", "02/09/1985"),
                        ("id_number", "040185000123"),
                        ("email", "binh.tt@demo.invalid"),
                        ("title", "Chuyên viên"),
                    ]),
                    ..Default::default()
                }],
            )
        };
        let inbox = |who: &Actor| {
            let who = who.clone();
            async move {
                kyso_store::notices::inbox(s, &who, false)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|n| n.kind == "request")
                    .collect::<Vec<_>>()
            }
        };
        let r = requests::create_request(s, &c.drafter, &issuance(c.p.unit), NOW)
            .await
            .unwrap();
        let id = r.request.id;
        requests::act(s, &c.drafter, id, A::Submit, &ActInput::default(), NOW)
            .await
            .unwrap();
        // The DOST's officer approves the unit's requests: told, with the link; the drafter
        // (who took the step) and the administrator (the DOST has its officer) are not.
        let told = inbox(&c.approver).await;
        assert_eq!(told.len(), 1, "{b:?}");
        assert!(
            told[0].subject.contains("chờ duyệt") && told[0].link == format!("/requests/{id}"),
            "{b:?}: {:?}",
            told[0]
        );
        assert!(inbox(&c.drafter).await.is_empty(), "{b:?}");
        assert!(inbox(&c.admin).await.is_empty(), "{b:?}");
        requests::act(s, &c.approver, id, A::Return, &note("Thiếu số CCCD"), NOW)
            .await
            .unwrap();
        let back = inbox(&c.drafter).await;
        assert_eq!(back.len(), 1, "{b:?}");
        assert!(
            back[0].subject.contains("trả lại") && back[0].body.contains("Thiếu số CCCD"),
            "{b:?}: {:?}",
            back[0]
        );

        // The Finance Department's requests are approved at the province, where no officer
        // sits: the Department's administrator is told, and why.
        let r = requests::create_request(s, &c.stranger, &issuance(c.p.finance), NOW)
            .await
            .unwrap();
        requests::act(
            s,
            &c.stranger,
            r.request.id,
            A::Submit,
            &ActInput::default(),
            NOW,
        )
        .await
        .unwrap();
        let admin = inbox(&c.admin).await;
        assert_eq!(admin.len(), 1, "{b:?}");
        assert!(
            admin[0]
                .body
                .contains("chưa có tài khoản cán bộ phụ trách chữ ký số"),
            "{b:?}: {:?}",
            admin[0]
        );
        // And it goes out by e-mail like any notice (the link made absolute).
        assert!(kyso_store::notices::pending_emails(s, NOW)
            .await
            .unwrap()
            .iter()
            .all(|m| !m
                .email_body(Some("https://kyso.demo.invalid"))
                .contains(": /requests/")));
    }
}
