//! The signing service's two-phase sessions (issue 18 item 7) on SQLite and on PostgreSQL: a
//! session belongs to the account that prepared it (another account is told it does not
//! exist), is finalized once (ten finalizes at once: one wins), is given back after a refused
//! signature a few times at most, and is refused once expired.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::signing_sessions::{self as sessions, Mode, NewSession, MAX_REFUSALS};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Error, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);

async fn person(store: &Store, name: &str, agency: i64) -> Actor {
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
            agency_id: agency,
            password: Zeroizing::new("mat-khau-dai-12345-Ab".into()),
            roles: vec![RoleOn {
                role: "drafter".into(),
                agency_id: agency,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    Actor {
        user_id: user.id,
        username: name.into(),
        grants: Vec::new(),
        source: "127.0.0.1".into(),
    }
}

fn new_session(lifetime: i64) -> NewSession<'static> {
    NewSession {
        mode: Mode::Cms,
        source_blob: "ab",
        document: Some((7, 2)),
        params: r#"{"field":"Signature1"}"#,
        digest: "00ff",
        lifetime,
    }
}

async fn setup(backend: kyso_store::Backend) -> (TestDb, Actor, Actor) {
    let db = TestDb::new(backend).await;
    let agency = registry::create_agency(
        &db.store,
        &Actor::system(),
        &AgencyInput {
            code: "H99".into(),
            name: "UBND tỉnh Demo".into(),
            kind: "province".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .id;
    let an = person(&db.store, "nguyen.an", agency).await;
    let binh = person(&db.store, "tran.binh", agency).await;
    (db, an, binh)
}

#[tokio::test]
async fn a_session_is_its_owners_and_finalized_once() {
    for backend in backends() {
        let (db, an, binh) = setup(backend).await;
        let s = sessions::create(&db.store, &an, &new_session(600), NOW)
            .await
            .unwrap();
        assert_eq!(s.id.len(), 32);
        assert_eq!(s.expires_at, NOW.unix_timestamp() + 600);
        assert_eq!(s.document, Some((7, 2)));

        // Another account: as if there were no such session; an id that is not one: the same.
        for (who, id) in [
            (&binh, s.id.as_str()),
            (&an, "not-an-id"),
            (&an, &"0".repeat(32)),
        ] {
            let e = sessions::claim(&db.store, who, id, NOW).await.unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        }

        // Claimed, then given back after a refused signature: claimed again, the same row.
        let claimed = sessions::claim(&db.store, &an, &s.id, NOW).await.unwrap();
        assert_eq!(claimed, s);
        let busy = sessions::claim(&db.store, &an, &s.id, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(
                busy,
                Error::Conflict {
                    field: "session",
                    ..
                }
            ),
            "{busy:?}"
        );
        sessions::release(&db.store, &an, &s.id).await.unwrap();
        sessions::claim(&db.store, &an, &s.id, NOW).await.unwrap();
        sessions::finish(&db.store, &an, &s.id, "ab12", NOW)
            .await
            .unwrap();
        // Finished: a release changes nothing, and it stays used.
        sessions::release(&db.store, &an, &s.id).await.unwrap();
        let again = sessions::claim(&db.store, &an, &s.id, NOW)
            .await
            .unwrap_err();
        assert!(matches!(again, Error::Conflict { .. }), "{again:?}");

        // Ten finalizes at once: exactly one holds it.
        let s2 = sessions::create(&db.store, &an, &new_session(600), NOW)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (store, an, id) = (db.store.clone(), an.clone(), s2.id.clone());
                tokio::spawn(async move { sessions::claim(&store, &an, &id, NOW).await })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(Error::Conflict { .. }) => {}
                Err(e) => panic!("{backend:?}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "{backend:?}");

        // Refused signatures: the session is given back until the last allowed refusal.
        let s3 = sessions::create(&db.store, &an, &new_session(600), NOW)
            .await
            .unwrap();
        for _ in 0..MAX_REFUSALS {
            sessions::claim(&db.store, &an, &s3.id, NOW).await.unwrap();
            sessions::release(&db.store, &an, &s3.id).await.unwrap();
        }
        let spent = sessions::claim(&db.store, &an, &s3.id, NOW)
            .await
            .unwrap_err();
        assert!(matches!(spent, Error::Conflict { .. }), "{spent:?}");

        // The audit log records the start and the end, never the parameters.
        let (n,): (i64,) = kyso_store::sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'sign_service.%'",
        )
        .fetch_one(db.store.pool())
        .await
        .unwrap();
        assert_eq!(n, 4, "{backend:?}");
    }
}

#[tokio::test]
async fn an_expired_session_is_refused_and_lifetimes_are_bounded() {
    for backend in backends() {
        let (db, an, _) = setup(backend).await;
        let s = sessions::create(&db.store, &an, &new_session(60), NOW)
            .await
            .unwrap();
        let later = NOW + Duration::seconds(60);
        match sessions::claim(&db.store, &an, &s.id, later).await {
            Err(Error::Invalid { field, en, .. }) => {
                assert_eq!(field, "session");
                assert!(en.contains("expired"), "{en}");
            }
            other => panic!("{backend:?}: {other:?}"),
        }
        for bad in [0, sessions::SESSION_LIFETIME + 1] {
            let e = sessions::create(&db.store, &an, &new_session(bad), NOW)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Invalid {
                        field: "expires_in",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }
}
