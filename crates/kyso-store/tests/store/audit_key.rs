//! Issue 15/3: the keyed audit chain and its checkpoints, on both backends. Each attack here
//! passes the old check (an unkeyed chain without checkpoints: `audit::verify`) where it can.

use super::*;
use kyso_domain::audit::{entry_hash, entry_mac, AuditKey, ChainError, Checkpoint};
use kyso_store::checkpoints::{self, SignedCheckpoint};

const KEY: [u8; 32] = [0x42; 32];

/// A keyed registry: the key made on an empty log (`keyed_from` 1), then a province and five
/// subscribers (9 entries), verified and checkpointed. Returns the checkpoints.
async fn keyed_registry(db: &TestDb, key: &AuditKey) -> (Store, Vec<Checkpoint>) {
    let first = audit::verify(&db.store).await.unwrap().unwrap();
    let cp0 = checkpoints::checkpoint_of(&first, first.last_seq + 1, NOW, key).checkpoint;
    let s = db.store.clone().with_audit_key(key.clone());
    let p = province(&s).await;
    for i in 0..5 {
        registry::create_subscriber(
            &s,
            &Actor::system(),
            &person(p.dost, &format!("Khóa {i}")),
            NOW,
        )
        .await
        .unwrap();
    }
    let summary = audit::verify_against(&s, Some(key), &[cp0])
        .await
        .unwrap()
        .unwrap();
    let cp1 = checkpoints::checkpoint_of(&summary, cp0.keyed_from, NOW, key).checkpoint;
    (s, vec![cp0, cp1])
}

/// Rewrite every entry from `from` on with `actor` changed at `from`, re-chaining each with
/// `key` (or unkeyed), as someone with write access to the table would.
async fn rewrite(s: &Store, from: i64, key: Option<&AuditKey>) {
    use sqlx::Row as _;
    let rows = sqlx::query(
        "SELECT seq, at_ns, actor, agency, action, object, detail, source FROM audit_log \
         WHERE seq >= $1 ORDER BY seq",
    )
    .bind(from)
    .fetch_all(s.pool())
    .await
    .unwrap();
    let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
        .bind(from - 1)
        .fetch_optional(s.pool())
        .await
        .unwrap();
    let mut prev = prev.map(|h| unhex(&h)).unwrap_or([0; 32]);
    for row in rows {
        let seq: i64 = row.get(0);
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.get::<i64, _>(1))).unwrap();
        let actor: String = if seq == from {
            "ke-gia-mao".into()
        } else {
            row.get(2)
        };
        let agency: Option<String> = row.get(3);
        let (action, object, detail, source): (String, String, String, String) =
            (row.get(4), row.get(5), row.get(6), row.get(7));
        let h = match key {
            Some(k) => entry_mac(
                k,
                &prev,
                seq,
                at,
                &actor,
                agency.as_deref(),
                &action,
                &object,
                &detail,
                &source,
            ),
            None => entry_hash(
                &prev,
                seq,
                at,
                &actor,
                agency.as_deref(),
                &action,
                &object,
                &detail,
                &source,
            ),
        };
        sqlx::query("UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&actor)
            .bind(hex(&prev))
            .bind(hex(&h))
            .bind(seq)
            .execute(s.pool())
            .await
            .unwrap();
        prev = h;
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[tokio::test]
async fn an_untouched_keyed_log_is_intact_with_its_count() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let key = AuditKey::new(&KEY);
        let (s, cps) = keyed_registry(&db, &key).await;
        let full = audit::verify_against(&s, Some(&key), &cps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((full.count, full.last_seq), (9, 9), "{b:?}");
        let since = audit::verify_since(&s, &key, 1, &cps[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(since, full, "{b:?}: the incremental check agrees");
        // Keyed entries are not unkeyed hashes: the old check cannot read them.
        assert!(audit::verify(&s).await.unwrap().is_err(), "{b:?}");
        // Without the key the keyed part cannot be checked.
        assert_eq!(
            audit::verify_against(&s, None, &cps).await.unwrap(),
            Err(ChainError::KeyMissing { seq: 1 })
        );
        // A key without checkpoints: the checkpoint file was removed.
        assert_eq!(
            audit::verify_against(&s, Some(&key), &[]).await.unwrap(),
            Err(ChainError::NoCheckpoint)
        );
    }
}

#[tokio::test]
async fn deleting_the_last_entries_of_the_keyed_log_is_detected() {
    for b in backends() {
        // The attack on the old scheme: an unkeyed log without checkpoints passes.
        let old = TestDb::new(b).await;
        province(&old.store).await;
        sqlx::query("DELETE FROM audit_log WHERE seq > 2")
            .execute(old.store.pool())
            .await
            .unwrap();
        assert!(
            audit::verify(&old.store).await.unwrap().is_ok(),
            "{b:?}: the old check passes"
        );

        let db = TestDb::new(b).await;
        let key = AuditKey::new(&KEY);
        let (s, cps) = keyed_registry(&db, &key).await;
        sqlx::query("DELETE FROM audit_log WHERE seq > 6")
            .execute(s.pool())
            .await
            .unwrap();
        let truncated = ChainError::Truncated {
            checkpoint_seq: 9,
            last_seq: 6,
        };
        assert_eq!(
            audit::verify_against(&s, Some(&key), &cps).await.unwrap(),
            Err(truncated),
            "{b:?}"
        );
        assert_eq!(
            audit::verify_since(&s, &key, 1, &cps[1]).await.unwrap(),
            Err(truncated),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn emptying_the_keyed_log_is_detected() {
    for b in backends() {
        let old = TestDb::new(b).await;
        province(&old.store).await;
        sqlx::query("DELETE FROM audit_log")
            .execute(old.store.pool())
            .await
            .unwrap();
        let before = audit::verify(&old.store).await.unwrap().unwrap();
        assert_eq!(
            before.count, 0,
            "{b:?}: the old check says intact: 0 entries"
        );

        let db = TestDb::new(b).await;
        let key = AuditKey::new(&KEY);
        let (s, cps) = keyed_registry(&db, &key).await;
        sqlx::query("DELETE FROM audit_log")
            .execute(s.pool())
            .await
            .unwrap();
        let emptied = ChainError::Emptied { checkpoint_seq: 9 };
        assert_eq!(
            audit::verify_against(&s, Some(&key), &cps).await.unwrap(),
            Err(emptied),
            "{b:?}"
        );
        assert_eq!(
            audit::verify_since(&s, &key, 1, &cps[1]).await.unwrap(),
            Err(emptied),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn rewriting_the_keyed_log_with_recomputed_hashes_is_detected() {
    for b in backends() {
        let old = TestDb::new(b).await;
        province(&old.store).await;
        rewrite(&old.store, 2, None).await;
        assert!(
            audit::verify(&old.store).await.unwrap().is_ok(),
            "{b:?}: the old check passes"
        );

        // Recomputed the old (unkeyed) way.
        let db = TestDb::new(b).await;
        let key = AuditKey::new(&KEY);
        let (s, cps) = keyed_registry(&db, &key).await;
        rewrite(&s, 3, None).await;
        assert_eq!(
            audit::verify_against(&s, Some(&key), &cps).await.unwrap(),
            Err(ChainError::Edited { seq: 3 }),
            "{b:?}"
        );
        // Even without the checkpoints' help past the rewritten part.
        assert_eq!(
            audit::verify_against(&s, Some(&key), &cps[..1])
                .await
                .unwrap(),
            Err(ChainError::Edited { seq: 3 }),
            "{b:?}"
        );

        // Recomputed with a wrong key.
        let db = TestDb::new(b).await;
        let (s, cps) = keyed_registry(&db, &key).await;
        rewrite(&s, 3, Some(&AuditKey::new(&[7; 32]))).await;
        assert_eq!(
            audit::verify_against(&s, Some(&key), &cps).await.unwrap(),
            Err(ChainError::Edited { seq: 3 }),
            "{b:?}"
        );
        // Only the last entry, with the wrong key: the incremental check sees it too.
        let db = TestDb::new(b).await;
        let (s, cps) = keyed_registry(&db, &key).await;
        rewrite(&s, 9, Some(&AuditKey::new(&[7; 32]))).await;
        assert_eq!(
            audit::verify_since(&s, &key, 1, &cps[0]).await.unwrap(),
            Err(ChainError::Edited { seq: 9 }),
            "{b:?}"
        );
        assert_eq!(
            audit::verify_since(&s, &key, 1, &cps[1]).await.unwrap(),
            Err(ChainError::CheckpointMismatch { seq: 9 }),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn with_only_the_public_key_truncation_emptying_and_rechaining_are_found() {
    for b in backends() {
        let key = AuditKey::new(&KEY);
        let db = TestDb::new(b).await;
        let (s, cps) = keyed_registry(&db, &key).await;
        let ok = audit::verify_links(&s, &cps).await.unwrap().unwrap();
        assert_eq!((ok.count, ok.last_seq), (9, 9), "{b:?}");
        assert_eq!(
            audit::verify_links(&s, &[]).await.unwrap(),
            Err(ChainError::NoCheckpoint)
        );
        rewrite(&s, 3, Some(&AuditKey::new(&[7; 32]))).await;
        assert_eq!(
            audit::verify_links(&s, &cps).await.unwrap(),
            Err(ChainError::CheckpointMismatch { seq: 9 }),
            "{b:?}"
        );
        sqlx::query("DELETE FROM audit_log WHERE seq > 4")
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(
            audit::verify_links(&s, &cps).await.unwrap(),
            Err(ChainError::Truncated {
                checkpoint_seq: 9,
                last_seq: 4
            }),
            "{b:?}"
        );
        sqlx::query("DELETE FROM audit_log")
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(
            audit::verify_links(&s, &cps).await.unwrap(),
            Err(ChainError::Emptied { checkpoint_seq: 9 }),
            "{b:?}"
        );
    }
}

#[tokio::test]
async fn a_log_from_before_the_key_stays_unkeyed_up_to_the_signed_boundary() {
    for b in backends() {
        let db = TestDb::new(b).await;
        // An old server wrote 4 entries without a key.
        let p = province(&db.store).await;
        let key = AuditKey::new(&KEY);
        let before = audit::verify(&db.store).await.unwrap().unwrap();
        let cp0 = checkpoints::checkpoint_of(&before, before.last_seq + 1, NOW, &key).checkpoint;
        assert_eq!(cp0.keyed_from, 5);
        let s = db.store.clone().with_audit_key(key.clone());
        registry::create_subscriber(&s, &Actor::system(), &person(p.dost, "Sau khóa"), NOW)
            .await
            .unwrap();
        let ok = audit::verify_against(&s, Some(&key), &[cp0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ok.count, 5, "{b:?}");
        // Rewriting the unkeyed part the old way breaks at the checkpoint at its end.
        rewrite(&s, 2, None).await;
        let e = audit::verify_against(&s, Some(&key), &[cp0]).await.unwrap();
        assert_eq!(e, Err(ChainError::CheckpointMismatch { seq: 4 }), "{b:?}");
        // Moving the boundary needs a new checkpoint, which needs the key.
        let moved = SignedCheckpoint {
            checkpoint: Checkpoint {
                keyed_from: 99,
                ..cp0
            },
            mac: cp0.mac(&key),
            sig: cp0.signature(&key),
        };
        assert_eq!(
            checkpoints::authenticate(&[moved], &key),
            Err(ChainError::BadCheckpoint { seq: 4 })
        );
        assert_eq!(
            checkpoints::authenticate_public(&[moved], &key.public_key().unwrap()),
            Err(ChainError::BadCheckpoint { seq: 4 })
        );
    }
}

#[test]
fn the_key_and_checkpoint_files_outside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/audit.key");
    let (key, made) = checkpoints::load_or_create_key(&path).unwrap();
    assert!(made);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (again, made) = checkpoints::load_or_create_key(&path).unwrap();
    assert!(!made);
    let cp = Checkpoint {
        count: 3,
        last_seq: 3,
        head: [9; 32],
        keyed_from: 1,
        at: NOW,
    };
    assert_eq!(cp.mac(&key), cp.mac(&again), "the same key is read back");
    let file = dir.path().join("audit-checkpoints.jsonl");
    assert!(checkpoints::read(&file).unwrap().is_empty());
    let signed = SignedCheckpoint::sign(cp, &key);
    checkpoints::append(&file, &signed).unwrap();
    checkpoints::append(
        &file,
        &SignedCheckpoint::sign(
            Checkpoint {
                count: 4,
                last_seq: 4,
                ..cp
            },
            &key,
        ),
    )
    .unwrap();
    let read = checkpoints::read(&file).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0], signed);
    assert_eq!(
        checkpoints::authenticate(&read, &key).unwrap()[1].last_seq,
        4
    );
    // Another key: not authentic.
    assert_eq!(
        checkpoints::authenticate(&read, &AuditKey::new(&[1; 32])),
        Err(ChainError::BadCheckpoint { seq: 3 })
    );
    // An edited line: not authentic.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"count\":3", "\"count\":2");
    std::fs::write(&file, text).unwrap();
    let read = checkpoints::read(&file).unwrap();
    assert!(checkpoints::authenticate(&read, &key).is_err());
    // Signed for the public key: checkable without the secret key.
    let public = key.public_key().unwrap();
    let pubfile = dir.path().join("audit.pub");
    std::fs::write(&pubfile, format!("{}\n", hex(&public))).unwrap();
    assert_eq!(checkpoints::load_public_key(&pubfile).unwrap(), public);
    let signed_only = checkpoints::read(&file).unwrap();
    assert!(signed_only.iter().all(|c| c.sig.is_some()));
    assert!(
        checkpoints::authenticate_public(&signed_only, &public).is_err(),
        "the edited line"
    );
    let unsigned = SignedCheckpoint {
        sig: None,
        ..signed
    };
    assert_eq!(
        checkpoints::authenticate_public(&[unsigned], &public),
        Err(ChainError::BadCheckpoint { seq: 3 })
    );
    assert_eq!(
        checkpoints::authenticate_public(&[signed], &public).unwrap(),
        vec![cp]
    );
    std::fs::write(&file, "not json\n").unwrap();
    assert!(checkpoints::read(&file).is_err());
}
