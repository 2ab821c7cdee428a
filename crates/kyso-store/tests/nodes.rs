#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What several nodes on one database share (issue 19 item 5), on both backends: the login
//! throttle's count (every failure counted once, also when they arrive at once from several
//! connections) and the leases of scheduled jobs (one holder at a time; taken over when it runs
//! out or is given back).

use kyso_store::testing::{backends, TestDb};
use kyso_store::{leases, throttle};

const NOW: i64 = 1_796_000_000;
const WINDOW: i64 = 900;

#[tokio::test]
async fn failed_logins_are_counted_once_each_by_every_node_and_forgotten_after_the_window() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        assert_eq!(
            throttle::failures(store, "10.0.0.7", "khach.la", false, NOW, WINDOW)
                .await
                .unwrap(),
            0
        );
        // Twenty failures at once, as two nodes with their own connections would record them.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                throttle::failures(&s, "10.0.0.7", "Khach.La ", true, NOW, WINDOW)
                    .await
                    .unwrap()
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<i64>>(), "{b:?}");
        assert_eq!(
            throttle::failures(store, "10.0.0.7", "khach.la", false, NOW + 10, WINDOW)
                .await
                .unwrap(),
            20
        );
        // Another address, another count; after the window, none.
        assert_eq!(
            throttle::failures(store, "10.0.0.8", "khach.la", false, NOW, WINDOW)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            throttle::failures(store, "10.0.0.7", "khach.la", false, NOW + WINDOW, WINDOW)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            throttle::failures(store, "10.0.0.7", "khach.la", true, NOW + WINDOW, WINDOW)
                .await
                .unwrap(),
            1,
            "a new window starts at one"
        );
        // The name typed is not stored.
        let keys: Vec<(String,)> = kyso_store::sqlx::query_as("SELECT key FROM login_throttle")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(keys.iter().all(|(k,)| !k.contains("khach")), "{keys:?}");
    }
}

#[tokio::test]
async fn a_job_lease_has_one_holder_until_it_runs_out_or_is_given_back() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        // Two nodes asking at once: exactly one gets it.
        let (a, c) = tokio::join!(
            leases::take(store, "backup", "node-a", NOW, 3600),
            leases::take(store, "backup", "node-b", NOW, 3600)
        );
        let (a, c) = (a.unwrap(), c.unwrap());
        assert!(a ^ c, "{b:?}: one holder ({a}, {c})");
        let (holder, other) = if a {
            ("node-a", "node-b")
        } else {
            ("node-b", "node-a")
        };
        assert!(leases::take(store, "backup", holder, NOW + 60, 3600)
            .await
            .unwrap());
        assert!(!leases::take(store, "backup", other, NOW + 60, 3600)
            .await
            .unwrap());
        // Another job is another lease.
        assert!(leases::take(store, "notice-scan", other, NOW, 3600)
            .await
            .unwrap());
        // Run out (the holder was killed): the other takes it.
        assert!(leases::take(store, "backup", other, NOW + 60 + 3600, 3600)
            .await
            .unwrap());
        assert!(!leases::take(store, "backup", holder, NOW + 3700, 3600)
            .await
            .unwrap());
        // Given back: taken at once.
        leases::release(store, "backup", other).await.unwrap();
        assert!(leases::take(store, "backup", holder, NOW + 3700, 3600)
            .await
            .unwrap());
    }
}
