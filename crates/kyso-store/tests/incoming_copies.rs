//! Copies of incoming documents in the store (issue 18 item 1, issue 17 item 7), on SQLite and
//! PostgreSQL: a scanned paper document is registered only once digitised; the digitisation's
//! ticket is only for the receiving agency's clerk, only for a scan waiting for the clerk, only
//! as SAO Y, and reserves the next number of the agency's copy series — the series its
//! outgoing documents' copies use; the signed copy must extend the scan byte for byte; once
//! recorded, the record's report is the signed copy's and the scan can be registered; copies
//! (SAO Y, SAO LỤC) of the registered document follow in the same series; a ticket that ends
//! unused gives its number back with the reason (audited), and the next ticket takes it again;
//! a ticket is used once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::CopyForm;
use kyso_domain::incoming::{Channel, IncomingAction, IncomingState, Verdict};
use kyso_domain::roles::Role;
use kyso_store::blobs::Blobs;
use kyso_store::documents as docs;
use kyso_store::incoming::{self as inc, CopyPurpose, IncomingStep, NewIncoming, Verification};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Error};
use serde_json::json;
use time::Duration;

mod support;
use support::{dispatched, person, province, NOW};

const SCAN: &[u8] = b"%PDF-1.5\n% a scanned paper letter\n%%EOF\n";

fn verification(verdict: Verdict, reasons: &[&str]) -> Verification {
    Verification {
        verdict,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        report: json!({"schema": "kyso.verify/1", "verdict": verdict.as_str(), "reasons": reasons}),
        report_pdf: Some(b"%PDF-1.7\n% report\n%%EOF\n".to_vec()),
    }
}

fn upload(agency: i64, n: u32, scanned: bool, file: &[u8]) -> NewIncoming {
    NewIncoming {
        agency_id: agency,
        channel: Channel::Upload,
        scanned,
        sender_code: String::new(),
        sender_name: "Sở Tài chính tỉnh Bắc".into(),
        sender_email: String::new(),
        number: format!("{n:02}"),
        notation: "STC-NS".into(),
        doc_date: "2026-05-28".into(),
        doc_type: "Công văn".into(),
        subject: format!("Về việc quyết toán, số {n}"),
        signer: "Giám đốc".into(),
        file_name: "ban-quet.pdf".into(),
        file: file.to_vec(),
        verification: verification(Verdict::Failed, &["NO_SIGNATURE"]),
        delivery_id: None,
    }
}

fn signed(source: &[u8], who: &str) -> Vec<u8> {
    let mut f = source.to_vec();
    f.extend_from_slice(format!("% signed by {who}\n%%EOF\n").as_bytes());
    f
}

fn assert_refused(e: Error, what: &str, field: &str) {
    let found = match &e {
        Error::Conflict { field, .. } | Error::Invalid { field, .. } => *field,
        _ => "",
    };
    assert_eq!(found, field, "{what}: {e:?}");
}

#[tokio::test]
async fn a_scan_is_digitised_with_a_numbered_copy_signature_before_it_is_registered() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(s).await;
        let clerk = &p.finance_clerk;
        let leader = person(s, "giamdoc.tc", &p.finance, Role::Signer).await;
        let scan = inc::intake(s, &blobs, clerk, &upload(p.finance.id, 1, true, SCAN), NOW)
            .await
            .unwrap();
        let email = inc::intake(
            s,
            &blobs,
            clerk,
            &upload(p.finance.id, 2, false, b"%PDF-1.7\n% e-mail\n%%EOF\n"),
            NOW,
        )
        .await
        .unwrap();

        // Not registered before it is digitised, with the reason.
        let e = inc::act_incoming(
            s,
            clerk,
            scan.id,
            IncomingAction::Register,
            &IncomingStep {
                reason: "Đã đối chiếu bản giấy".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap_err();
        assert!(e.message(false).contains("số hóa"), "{b:?}: {e:?}");
        assert_refused(e, "register before digitising", "scanned");

        // Who and what: the leader, another agency's clerk, not a scan, not SAO Y.
        let ticket = |who, id, purpose, form| {
            inc::issue_incoming_copy_ticket(s, who, id, purpose, form, NOW)
        };
        assert!(matches!(
            ticket(&leader, scan.id, CopyPurpose::Digitised, CopyForm::SaoY).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            ticket(&p.clerk, scan.id, CopyPurpose::Digitised, CopyForm::SaoY).await,
            Err(Error::NotFound { .. })
        ));
        let e = ticket(clerk, email.id, CopyPurpose::Digitised, CopyForm::SaoY)
            .await
            .unwrap_err();
        assert_refused(e, "not a scan", "scanned");
        let e = ticket(clerk, scan.id, CopyPurpose::Digitised, CopyForm::SaoLuc)
            .await
            .unwrap_err();
        assert_refused(e, "digitised as SAO LỤC", "form");
        // A copy before registration.
        let e = ticket(clerk, email.id, CopyPurpose::Copy, CopyForm::SaoY)
            .await
            .unwrap_err();
        assert_refused(e, "a copy before registration", "state");

        // The first ticket ends unused: its number is given back with the reason.
        let (t1, r1) = ticket(clerk, scan.id, CopyPurpose::Digitised, CopyForm::SaoY)
            .await
            .unwrap();
        assert_eq!((r1.number, r1.notation.as_str()), (1, "01/SY"), "{b:?}");
        assert_eq!((t1.incoming_id, t1.document_id), (Some(scan.id), 0));
        let later = NOW + Duration::minutes(11);
        let (t2, r2) = inc::issue_incoming_copy_ticket(
            s,
            clerk,
            scan.id,
            CopyPurpose::Digitised,
            CopyForm::SaoY,
            later,
        )
        .await
        .unwrap();
        assert_eq!(r2.number, 1, "{b:?}: the released number is taken again");
        let released = docs::copy_number_releases(s, clerk, p.finance.id, 2026)
            .await
            .unwrap();
        assert_eq!(released.len(), 1, "{b:?}");
        assert_eq!(
            (
                released[0].number,
                released[0].incoming_id,
                released[0].document_id
            ),
            (1, Some(scan.id), 0)
        );
        assert!(released[0].reason.contains("hết hạn"), "{:?}", released[0]);
        // The expired ticket's copy is refused.
        let e = inc::sign_incoming_copy(
            s,
            &blobs,
            clerk,
            &t1,
            "ban-so-hoa.pdf",
            &signed(SCAN, "vanthu.tc"),
            &verification(Verdict::Indeterminate, &["NO_TRUSTED_PATH"]),
            later,
        )
        .await
        .unwrap_err();
        assert_refused(e, "the expired ticket", "number");

        // The signed copy must extend the scan byte for byte.
        let mut changed = signed(SCAN, "vanthu.tc");
        changed[12] ^= 1;
        let e = inc::sign_incoming_copy(
            s,
            &blobs,
            clerk,
            &t2,
            "ban-so-hoa.pdf",
            &changed,
            &verification(Verdict::Indeterminate, &[]),
            later,
        )
        .await
        .unwrap_err();
        assert_refused(e, "a changed scan", "file");
        let file = signed(SCAN, "vanthu.tc");
        let copy = inc::sign_incoming_copy(
            s,
            &blobs,
            clerk,
            &t2,
            "ban-so-hoa.pdf",
            &file,
            &verification(Verdict::Indeterminate, &["NO_TRUSTED_PATH"]),
            later,
        )
        .await
        .unwrap();
        assert_eq!(
            (copy.purpose, copy.notation.as_str(), copy.form),
            (CopyPurpose::Digitised, "01/SY", CopyForm::SaoY)
        );
        assert_eq!(copy.source_sha256, scan.sha256);
        // Both kept byte for byte; the record's report is the signed copy's.
        let (_, original) = inc::incoming_file(s, &blobs, clerk, scan.id).await.unwrap();
        assert_eq!(original, SCAN);
        let (_, kept) = inc::incoming_copy_file(s, &blobs, clerk, scan.id, copy.id)
            .await
            .unwrap();
        assert_eq!(kept, file);
        let (report, pdf) = inc::incoming_report(s, &blobs, clerk, scan.id)
            .await
            .unwrap();
        assert_eq!(report["verdict"], "indeterminate", "{report}");
        assert!(pdf.is_some());
        let record = inc::get_incoming(s, clerk, scan.id).await.unwrap().incoming;
        assert_eq!(
            (record.verdict, record.reasons.clone()),
            (Verdict::Indeterminate, vec!["NO_TRUSTED_PATH".to_owned()])
        );
        // The ticket is used: not again, and no second digitisation.
        assert!(inc::sign_incoming_copy(
            s,
            &blobs,
            clerk,
            &t2,
            "x.pdf",
            &signed(SCAN, "again"),
            &verification(Verdict::Passed, &[]),
            later
        )
        .await
        .is_err());
        let e = ticket(clerk, scan.id, CopyPurpose::Digitised, CopyForm::SaoY)
            .await
            .unwrap_err();
        assert_refused(e, "digitised twice", "scanned");
        // Audited, the chain intact.
        assert!(audit::verify(s).await.unwrap().is_ok());
        let entries = audit::list(
            s,
            &p.admin,
            &audit::Filter {
                action_prefix: Some("incoming.digitise".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entries.len(), 1, "{b:?}");

        // Registered now (indeterminate: with the clerk's reason).
        let out = inc::act_incoming(
            s,
            clerk,
            scan.id,
            IncomingAction::Register,
            &IncomingStep {
                reason: "Đã đối chiếu bản giấy".into(),
                ..Default::default()
            },
            later,
        )
        .await
        .unwrap();
        assert_eq!(out.state, Some(IncomingState::Registered));

        // The agency's one copy series: a copy of an outgoing document it received takes 02.
        let outgoing = dispatched(s, &blobs, &p, "Về việc kiểm kê tài sản").await;
        let doc_copy = docs::make_copy(
            s,
            &blobs,
            clerk,
            outgoing,
            &docs::NewCopy {
                agency_id: p.finance.id,
                form: CopyForm::SaoY,
                file_name: "ban-sao.pdf".into(),
                file: b"%PDF-1.7\n% a copy\n%%EOF\n".to_vec(),
            },
            later,
        )
        .await
        .unwrap();
        assert_eq!(doc_copy.notation, "02/SY", "{b:?}");

        // Copies of the registered document in the same series, made over the scan (a stamp
        // on a scan covers its image, which the digitised copy's signature covers).
        let e = ticket(clerk, scan.id, CopyPurpose::Copy, CopyForm::TrichSao)
            .await
            .unwrap_err();
        assert_refused(e, "an extract", "form");
        let (t3, r3) = inc::issue_incoming_copy_ticket(
            s,
            clerk,
            scan.id,
            CopyPurpose::Copy,
            CopyForm::SaoLuc,
            later,
        )
        .await
        .unwrap();
        assert_eq!(r3.notation, "03/SL", "{b:?}");
        let copied = signed(SCAN, "vanthu.tc again");
        let c = inc::sign_incoming_copy(
            s,
            &blobs,
            clerk,
            &t3,
            "ban-sao.pdf",
            &copied,
            &verification(Verdict::Indeterminate, &[]),
            later,
        )
        .await
        .unwrap();
        assert_eq!(
            (c.purpose, c.source_sha256.clone()),
            (CopyPurpose::Copy, scan.sha256.clone())
        );
        let all = inc::incoming_copies(s, clerk, scan.id).await.unwrap();
        assert_eq!(
            all.iter().map(|c| c.notation.as_str()).collect::<Vec<_>>(),
            ["01/SY", "03/SL"]
        );
        // Another agency's clerk sees none of it.
        assert!(inc::incoming_copies(s, &p.clerk, scan.id).await.is_err());
    }
}
