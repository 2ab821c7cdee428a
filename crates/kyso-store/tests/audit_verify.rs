#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `kyso_store::audit_verify`: the offline check of the audit log (`kyso audit verify` and
//! `kyso audit checkpoint`), on both backends.

use kyso_domain::audit::{AuditKey, ChainError};
use kyso_store::audit_verify::{self, NoCheckpoint};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, checkpoints, Actor};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-12-06 09:00 UTC);

fn event(i: usize) -> audit::Event<'static> {
    audit::Event {
        action: "agency.read",
        object: format!("agency:{i}"),
        agency: None,
        detail: serde_json::json!({}),
    }
}

#[tokio::test]
async fn a_keyed_log_is_vouched_for_by_its_checkpoints_and_a_log_without_the_key_is_not() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let key = AuditKey::new(&[7; 32]);
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join(checkpoints::KEY_FILE);
        let cp_path = dir.path().join(checkpoints::CHECKPOINT_FILE);
        // No key file, no checkpoint file: none, not an error.
        assert!(audit_verify::read_key(&key_path).unwrap().is_none());
        assert_eq!(
            audit_verify::read_checkpoints(&cp_path)
                .unwrap()
                .unwrap()
                .len(),
            0
        );

        // The key is new and no checkpoint says where keying begins: nothing to vouch for.
        let got = audit_verify::new_checkpoint(&db.store, &key, &[], NOW)
            .await
            .unwrap();
        assert!(
            matches!(got, Err(NoCheckpoint::Broken(ChainError::NoCheckpoint))),
            "{got:?}"
        );
        let summary = audit::verify(&db.store).await.unwrap().unwrap();
        let first = checkpoints::checkpoint_of(&summary, summary.last_seq + 1, NOW, &key);
        checkpoints::append(&cp_path, &first).unwrap();

        let store = db.store.clone().with_audit_key(key.clone());
        for i in 0..5 {
            audit::record(&store, &Actor::system(), event(i), NOW)
                .await
                .unwrap();
        }
        let signed = audit_verify::read_checkpoints(&cp_path).unwrap().unwrap();
        let found = audit_verify::verify_log(&store, Some(&key), &signed)
            .await
            .unwrap();
        assert_eq!(found.problem(None, &key_path), None, "{found:?}");
        assert_eq!(found.result.as_ref().unwrap().count, 5);
        assert_eq!(found.checkpoints, 1);
        assert_eq!(found.keyed_from, Some(1));

        // A new checkpoint of the 5 entries, signed: the public key vouches for it.
        let (cp, s) = audit_verify::new_checkpoint(&store, &key, &signed, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((s.count, cp.checkpoint.last_seq), (5, 5));
        let public = key.public_key().unwrap();
        let found = audit_verify::verify_public(&store, &public, &[cp])
            .await
            .unwrap();
        assert_eq!(found.problem(None, &key_path), None, "{found:?}");

        // Without the key nothing vouches for the log: NO_KEY, naming the key file.
        let found = audit_verify::verify_log(&store, None, &signed)
            .await
            .unwrap();
        let p = found.problem(None, &key_path).unwrap();
        assert!(p.is_no_key(), "{p:?}");
        assert!(p.en.contains(&key_path.display().to_string()), "{p:?}");
        // The wrong key: the checkpoints are not its own.
        let wrong = AuditKey::new(&[8; 32]);
        let found = audit_verify::verify_log(&store, Some(&wrong), &signed)
            .await
            .unwrap();
        assert_eq!(
            found.problem(None, &key_path).unwrap().code,
            "BAD_CHECKPOINT"
        );
        // A damaged checkpoint file is a finding, named.
        std::fs::write(&cp_path, "{not json\n").unwrap();
        let why = audit_verify::read_checkpoints(&cp_path)
            .unwrap()
            .unwrap_err();
        let found = audit_verify::verify_log(&store, Some(&key), &[])
            .await
            .unwrap();
        let p = found.problem(Some((&cp_path, &why)), &key_path).unwrap();
        assert_eq!(p.code, "BAD_CHECKPOINT");
        assert!(p.vi.contains("bị hỏng hoặc bị sửa"), "{p:?}");
    }
}
