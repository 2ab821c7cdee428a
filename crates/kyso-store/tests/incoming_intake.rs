//! The arrival's write (issue 18 items 1–2) on SQLite and on PostgreSQL: an edXML arrival and
//! its header are one transaction — the header's write refused by the database, nothing of the
//! arrival stays (no record, no timeline row, no audit entry, no file) — and arrivals written
//! at once by grouped writers (one commit for several) still recognise every duplicate: of
//! many concurrent arrivals of one document (the same bytes, or the same sender, number and
//! date), exactly one is taken in, the others refused naming it, and the audit chain holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kyso_domain::incoming::{Channel, Verdict};
use kyso_store::blobs::Blobs;
use kyso_store::incoming::{self as inc, EdxmlOrigin, NewIncoming, Verification};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Backend, Error, Store};
use serde_json::json;

mod support;
use support::{province, Province, NOW};

/// A letter from outside the registry (channel `channel`), with its report's PDF.
fn letter(p: &Province, channel: Channel, number: &str, body: &str) -> NewIncoming {
    NewIncoming {
        agency_id: p.finance.id,
        channel,
        scanned: false,
        sender_code: "G11.07.05".into(),
        sender_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
        sender_email: String::new(),
        number: number.into(),
        notation: "CTSBMTT-CĐ".into(),
        doc_date: "2026-05-28".into(),
        doc_type: "Công văn".into(),
        subject: format!("Về việc gia hạn chứng thư số {number}"),
        signer: "Nguyễn Văn B".into(),
        file_name: "cong-van.pdf".into(),
        file: format!("%PDF-1.7\n% {body}\n%%EOF\n").into_bytes(),
        verification: Verification {
            verdict: Verdict::Indeterminate,
            reasons: vec!["REVOCATION_UNKNOWN".into()],
            report: json!({"schema": "kyso.verify/1", "verdict": "indeterminate"}),
            report_pdf: Some(format!("%PDF-1.7\n% report of {body}\n%%EOF\n").into_bytes()),
        },
        delivery_id: None,
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Files under their names in the blob folder, and temporary files left.
fn files(dir: &std::path::Path) -> (usize, usize) {
    let mut named = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".tmp" {
            named += std::fs::read_dir(e.path()).unwrap().count();
        }
    }
    (named, std::fs::read_dir(dir.join(".tmp")).unwrap().count())
}

/// Make the database itself refuse every write of an edXML header (`on`), or stop refusing.
async fn refuse_headers(store: &Store, on: bool) {
    let statements: &[&str] = match (store.backend(), on) {
        (Backend::Sqlite, true) => &[
            "CREATE TRIGGER refuse_header BEFORE INSERT ON incoming_edxml \
             BEGIN SELECT RAISE(ABORT, 'the header write fails'); END",
        ],
        (Backend::Sqlite, false) => &["DROP TRIGGER refuse_header"],
        (Backend::Postgres, true) => &[
            "CREATE FUNCTION refuse_header() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the header write fails'; END $$",
            "CREATE TRIGGER refuse_header BEFORE INSERT ON incoming_edxml \
             FOR EACH ROW EXECUTE FUNCTION refuse_header()",
        ],
        (Backend::Postgres, false) => &["DROP TRIGGER refuse_header ON incoming_edxml"],
    };
    for s in statements {
        sqlx::query(s).execute(store.pool()).await.unwrap();
    }
}

#[tokio::test]
async fn an_edxml_arrival_and_its_header_are_one_transaction() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let input = letter(&p, Channel::Edxml, "41", "letter by the axis");
        let origin = EdxmlOrigin {
            organ_id: "000.00.07.G11".into(),
            document_id: "000.00.07.G11,2026/05/28,41/CTSBMTT-CĐ".into(),
            promulgation_date: "2026/05/28".into(),
            header: json!({"to": [{"organ_id": "H99.05"}], "steering_type": 1}),
            package_sha256: String::new(),
        };
        let package = b"<edXML:edXMLEnvelope>the whole package</edXML:edXMLEnvelope>".to_vec();
        let arrivals = "SELECT COUNT(*) FROM incoming_documents";
        let audited = "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'incoming.%'";
        let events = "SELECT COUNT(*) FROM incoming_events";

        // The header's write fails inside the arrival's transaction: nothing of it stays.
        refuse_headers(s, true).await;
        let e = inc::intake_edxml(s, &blobs, &p.finance_clerk, &input, &origin, &package, NOW)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Database(_)), "{b:?}: {e:?}");
        assert_eq!(
            count(s, arrivals).await,
            0,
            "{b:?}: no record without its header"
        );
        assert_eq!(count(s, events).await, 0, "{b:?}: no timeline row");
        assert_eq!(count(s, audited).await, 0, "{b:?}: no audit entry");
        assert_eq!(
            files(dir.path()),
            (0, 0),
            "{b:?}: no file, none left behind"
        );
        audit::verify(s).await.unwrap().unwrap();

        // The database takes headers again: the same arrival is taken in whole, once.
        refuse_headers(s, false).await;
        let d = inc::intake_edxml(s, &blobs, &p.finance_clerk, &input, &origin, &package, NOW)
            .await
            .unwrap();
        assert_eq!(d.channel, Channel::Edxml);
        let kept = inc::edxml_origin(s, &p.finance_clerk, d.id)
            .await
            .unwrap()
            .expect("the header is kept with the record");
        assert_eq!(
            (
                kept.organ_id.as_str(),
                kept.document_id.as_str(),
                &kept.header
            ),
            (
                origin.organ_id.as_str(),
                origin.document_id.as_str(),
                &origin.header
            )
        );
        assert_eq!(kept.package_sha256.len(), 64);
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE action LIKE 'incoming.%' ORDER BY seq",
        )
        .fetch_all(s.pool())
        .await
        .unwrap();
        assert_eq!(
            actions,
            ["incoming.arrive", "incoming.edxml_header"],
            "{b:?}"
        );
        assert_eq!(
            files(dir.path()),
            (3, 0),
            "{b:?}: the file, the report's PDF, the package"
        );
        let (_, bytes) = inc::incoming_file(s, &blobs, &p.finance_clerk, d.id)
            .await
            .unwrap();
        assert_eq!(bytes, input.file, "{b:?}: kept byte for byte");
        // Only an edXML arrival has a header.
        let upload = letter(&p, Channel::Upload, "42", "an e-mailed letter");
        assert!(matches!(
            inc::intake_edxml(s, &blobs, &p.finance_clerk, &upload, &origin, &package, NOW).await,
            Err(Error::Invalid {
                field: "channel",
                ..
            })
        ));
        audit::verify(s).await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_arrivals_of_one_document_take_in_exactly_one() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = Arc::new(province(&db.store).await);
        let s = Arc::new(db.store.clone());
        // 0..8: the same bytes under other numbers; 8..16: the same sender, number, notation
        // and date in other bytes; 16..24: distinct letters.
        let mut tasks = Vec::new();
        for i in 0..24u32 {
            let input = match i {
                0..=7 => letter(&p, Channel::Api, &format!("1{i}"), "one file"),
                8..=15 => letter(&p, Channel::Api, "77", &format!("copy {i}")),
                _ => letter(&p, Channel::Api, &format!("2{i}"), &format!("letter {i}")),
            };
            let (s, p, blobs) = (s.clone(), p.clone(), blobs.clone());
            tasks.push(tokio::spawn(async move {
                inc::intake(&s, &blobs, &p.finance_clerk, &input, NOW).await
            }));
        }
        let mut taken = [0usize; 3];
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(_) => taken[i / 8] += 1,
                Err(Error::Conflict { field, .. }) => {
                    assert_eq!(field, if i < 8 { "file" } else { "number" }, "{b:?} {i}")
                }
                Err(e) => panic!("{b:?}: arrival {i}: {e:?}"),
            }
        }
        assert_eq!(
            taken,
            [1, 1, 8],
            "{b:?}: one of each document, every distinct one"
        );
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM incoming_documents").await,
            10
        );
        assert_eq!(
            count(
                &s,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'incoming.arrive'"
            )
            .await,
            10
        );
        // Each record's file and report's PDF are in place; no temporary file is left.
        assert_eq!(files(dir.path()), (20, 0), "{b:?}");
        audit::verify(&s).await.unwrap().unwrap();
    }
}
