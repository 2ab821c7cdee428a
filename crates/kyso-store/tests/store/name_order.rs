//! Subscribers are listed as officers expect: people by given name, then surname, then middle
//! names, in Vietnamese alphabetical order (d before đ, a before ă before â); organizations by
//! their name as written. A database from before the sort key had it computed on upgrade.
//! Both engines.

use kyso_store::registry::{self, SubscriberInput, SubscriberQuery};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Store};

use super::{province, NOW};

async fn listed(s: &Store) -> Vec<String> {
    registry::search_subscribers(s, &Actor::system(), &SubscriberQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|x| x.name)
        .collect()
}

#[tokio::test]
async fn people_are_listed_by_given_name_then_surname() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        for (kind, name) in [
            ("individual", "Trần Văn Bình"),
            ("organization", "Sở Tài chính"),
            ("individual", "Nguyễn Thị Ánh"),
            ("individual", "Lê An"),
            ("individual", "Đặng Văn An"),
            ("individual", "Dương Văn An"),
        ] {
            registry::create_subscriber(
                s,
                &sys,
                &SubscriberInput {
                    kind: kind.into(),
                    agency_id: p.dost,
                    name: name.into(),
                    email: "x@demo.invalid".into(),
                    ..Default::default()
                },
                NOW,
            )
            .await
            .unwrap();
        }
        let expected = [
            "Dương Văn An",
            "Đặng Văn An",
            "Lê An",
            "Nguyễn Thị Ánh",
            "Trần Văn Bình",
            "Sở Tài chính",
        ];
        assert_eq!(listed(s).await, expected, "{b:?}");

        // Renamed: listed at the new name's place.
        let an = registry::search_subscribers(
            s,
            &sys,
            &SubscriberQuery {
                q: "le an".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .remove(0);
        registry::update_subscriber(
            s,
            &sys,
            an.id,
            &SubscriberInput {
                kind: "individual".into(),
                agency_id: p.dost,
                name: "Lê Xuân".into(),
                email: "x@demo.invalid".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            listed(s).await.last().map(String::as_str),
            Some("Lê Xuân"),
            "{b:?}"
        );

        // A database from before version 18: the keys are made on upgrade.
        for sql in [
            "ALTER TABLE subscribers DROP COLUMN name_sort",
            "UPDATE kyso_schema SET version = 17",
        ] {
            sqlx::query(sql).execute(s.pool()).await.unwrap();
        }
        let upgraded = Store::open(&db.url).await.unwrap();
        assert_eq!(
            upgraded.schema_version().await.unwrap(),
            kyso_store::SCHEMA_VERSION
        );
        assert_eq!(
            listed(&upgraded).await,
            [
                "Dương Văn An",
                "Đặng Văn An",
                "Nguyễn Thị Ánh",
                "Trần Văn Bình",
                "Sở Tài chính",
                "Lê Xuân"
            ],
            "{b:?}"
        );
    }
}
