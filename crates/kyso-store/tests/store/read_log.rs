//! Issue 15/10: audited reads go through one queue and one writer, appended in batches, so a
//! read load does not take the write lock once per read; and a read whose entry cannot be
//! written is refused (fail closed). Both backends.

use super::*;
use kyso_domain::audit::AuditKey;
use std::time::Duration as StdDuration;

async fn write_lock_count(s: &Store) -> i64 {
    sqlx::query_scalar("SELECT n FROM kyso_write_lock WHERE id = 1")
        .fetch_one(s.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_audited_in_batches_with_their_agency_and_refused_when_the_log_fails() {
    const READS: usize = 40;
    for b in backends() {
        let db = TestDb::new(b).await;
        let key = AuditKey::new(&[7; 32]);
        let s = db.store.clone().with_audit_key(key.clone());
        let p = province(&s).await;
        let sub =
            registry::create_subscriber(&s, &Actor::system(), &person(p.dost, "Lê Văn Đọc"), NOW)
                .await
                .unwrap();
        let before = write_lock_count(&s).await;
        // Hold the write lock (a long write) while the reads arrive.
        let blocker = s
            .begin_write(&Actor::system(), kyso_store::On::System)
            .await
            .unwrap();
        let mut reads = Vec::new();
        for _ in 0..READS {
            let s = s.clone();
            let id = sub.id;
            let agency = sub.agency_id;
            reads.push(tokio::spawn(async move {
                audit::record_read(
                    &s,
                    &Actor::system(),
                    "subscriber.read",
                    format!("subscriber:{id}"),
                    agency,
                    NOW,
                )
                .await
            }));
        }
        // Wait until every read is queued behind the writer's first batch.
        let mut last = usize::MAX;
        for _ in 0..100 {
            tokio::time::sleep(StdDuration::from_millis(100)).await;
            let depth = s.queued_reads();
            if depth > 0 && depth == last {
                break;
            }
            last = depth;
        }
        assert!(s.queued_reads() > 0, "{b:?}: reads wait in the queue");
        assert!(
            reads.iter().all(|r| !r.is_finished()),
            "{b:?}: no read is answered before its entry is committed"
        );
        blocker.commit().await.unwrap();
        let mut seqs = Vec::new();
        for r in reads {
            seqs.push(r.await.unwrap().unwrap());
        }
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), READS, "{b:?}: one entry per read");
        let transactions = write_lock_count(&s).await - before - 1;
        assert!(
            transactions <= 10,
            "{b:?}: {READS} reads written in {transactions} write transactions (one each before)"
        );
        let entries = audit::list(
            &s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("subscriber.read".into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entries.len(), READS, "{b:?}");
        assert!(
            entries
                .iter()
                .all(|e| e.agency.as_deref() == Some("H99.37")),
            "{b:?}: each entry carries the record's agency: {:?}",
            entries.first()
        );
        // The keyed chain holds over the batches (the key's first checkpoint: an empty log).
        let cp0 = kyso_domain::audit::Checkpoint {
            count: 0,
            last_seq: 0,
            head: kyso_domain::audit::GENESIS,
            keyed_from: 1,
            at: NOW,
        };
        let summary = audit::verify_against(&s, Some(&key), &[cp0]).await.unwrap();
        assert!(summary.is_ok(), "{b:?}: {summary:?}");

        // The log cannot be written: the read is refused, not served.
        sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
            .execute(s.pool())
            .await
            .unwrap();
        let refused = audit::record_read(
            &s,
            &Actor::system(),
            "subscriber.read",
            format!("subscriber:{}", sub.id),
            sub.agency_id,
            NOW,
        )
        .await;
        assert!(
            matches!(refused, Err(Error::AuditUnavailable)),
            "{b:?}: {refused:?}"
        );
    }
}
