//! An agency's report is issued as a document through the outgoing flow (issue 21 item 2):
//! once submitted — its figures frozen — it is made a Báo cáo of the agency addressed to the
//! Department, signed, numbered, sealed, registered, and its dispatch records the sealed file
//! with the report; the period's standings show where each report's document is. Each refusal
//! on the way, on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::{DocAction as D, DocState, DocType, DocumentMeta, SignerBlock};
use kyso_domain::reports::ReportState;
use kyso_domain::roles::Role;
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput, VersionKind};
use kyso_store::reports::{self, NewPeriod, ReportInput};
use kyso_store::requests::{self, RequestRecipients};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error, Store};

mod support;
use support::{go, province, signed, Agency, NOW};

const DRAFT: &[u8] = b"%PDF-1.7\n% the report of the Department of Finance\n%%EOF\n";

/// An account holding every role of `roles` at `at`, and its actor.
async fn person(s: &Store, name: &str, at: &Agency, roles: &[Role]) -> Actor {
    support::account(s, name, "", at, roles).await
}

fn field_of(e: &Error) -> Option<&'static str> {
    match e {
        Error::Invalid { field, .. } | Error::Conflict { field, .. } => Some(field),
        _ => None,
    }
}

fn report_of(agency_id: i64, recipient: &str, signer_id: i64) -> NewDocument {
    NewDocument {
        agency_id,
        meta: DocumentMeta {
            doc_type: DocType::BaoCao,
            subject: "Báo cáo tình hình quản lý, sử dụng chữ ký số 6 tháng đầu năm 2026".into(),
            place: "Demo".into(),
            recipients: vec![recipient.into()],
            signer: SignerBlock {
                title: "Giám đốc".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        signer_id: Some(signer_id),
        file_name: "bao-cao.pdf".into(),
        file: DRAFT.to_vec(),
    }
}

#[tokio::test]
async fn a_submitted_report_is_issued_through_the_outgoing_flow() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let p = province(s).await;
        let officer = person(
            s,
            "cb.stc",
            &p.finance,
            &[Role::SignatureOfficer, Role::Drafter],
        )
        .await;
        let officer_only = person(s, "cb2.stc", &p.finance, &[Role::SignatureOfficer]).await;
        let drafter_only = person(s, "cv.stc", &p.finance, &[Role::Drafter]).await;
        let signer = person(s, "giamdoc.stc", &p.finance, &[Role::Signer]).await;
        let clerk = &p.finance_clerk;
        let period = reports::open_period(
            s,
            &p.admin,
            &NewPeriod {
                kind: "six_monthly".into(),
                year: Some(2026),
                half: Some(1),
                due_day: "15/07/2026".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .id;
        let (pid, fin) = (period, p.finance.id);

        // Not before the report is submitted (its figures frozen).
        let e = reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("state"), "{b:?}: {e:?}");
        let input = ReportInput {
            comments: "Đã cấp đủ chứng thư số cho lãnh đạo.".into(),
            ..Default::default()
        };
        let submitted = reports::save_report(s, &officer, pid, fin, &input, true, NOW)
            .await
            .unwrap();
        assert_eq!(submitted.state, ReportState::Submitted);
        assert_eq!(submitted.document, None);

        // Who: both roles; neither is not told anything.
        for who in [&officer_only, &drafter_only] {
            let e = reports::report_document_plan(s, who, pid, fin)
                .await
                .unwrap_err();
            assert_eq!(field_of(&e), Some("roles"), "{}: {e:?}", who.username);
            assert!(e.message(false).contains("soạn thảo"), "{e:?}");
        }
        assert!(matches!(
            reports::report_document_plan(s, clerk, pid, fin).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            reports::report_document_plan(s, &p.drafter, pid, fin).await,
            Err(Error::NotFound { .. } | Error::Forbidden)
        ));

        // No register for reports yet, then no Department set: each says what to do.
        let e = reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("register"), "{b:?}: {e:?}");
        docs::create_register(
            s,
            clerk,
            &RegisterInput {
                agency_id: fin,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "STC".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        let e = reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("recipient"), "{b:?}: {e:?}");
        requests::set_request_recipients(
            s,
            &p.admin,
            &RequestRecipients {
                department: p.dost.code.clone(),
                national_ca: String::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        let plan = reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap();
        assert_eq!(
            (plan.notation.as_str(), plan.recipient_code.as_str()),
            ("BC-STC", "H99.37")
        );

        let make = |input: NewDocument| {
            let blobs = blobs.clone();
            let officer = officer.clone();
            async move {
                reports::create_report_document(s, &blobs, &officer, pid, fin, &input, NOW).await
            }
        };
        // A document to somewhere else, or of another type, is not the report's.
        let e = make(report_of(fin, "H99.05", signer.user_id))
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("document"), "{e:?}");
        let mut letter = report_of(fin, "H99.37", signer.user_id);
        letter.meta.doc_type = DocType::CongVan;
        let e = make(letter).await.unwrap_err();
        assert_eq!(field_of(&e), Some("document"), "{e:?}");

        let doc = make(report_of(fin, "H99.37", signer.user_id))
            .await
            .unwrap();
        assert_eq!(doc.state, DocState::Draft);
        assert_eq!(
            reports::report_of_document(s, doc.id).await.unwrap(),
            Some((pid, fin))
        );
        let seen = reports::agency_report(s, &officer, pid, fin).await.unwrap();
        let d = seen.document.clone().unwrap();
        assert_eq!((d.document_id, d.state), (doc.id, DocState::Draft));
        assert_eq!((d.number, d.issued_at), (None, None));
        // One live document per report.
        let e = make(report_of(fin, "H99.37", signer.user_id))
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("report"), "{e:?}");
        assert!(e.message(false).contains(&format!("#{}", doc.id)), "{e:?}");

        // The flow, then the dispatch records the sealed file with the report.
        go(s, &blobs, &officer, doc.id, D::Submit).await;
        go(s, &blobs, &p.admin, doc.id, D::Forward).await;
        go(s, &blobs, &p.admin, doc.id, D::CheckFormat).await;
        go(s, &blobs, &signer, doc.id, D::Approve).await;
        let (bytes, step) = signed(DRAFT, "giamdoc.stc");
        docs::act(s, &blobs, &signer, doc.id, D::SignPersonal, &step, NOW)
            .await
            .unwrap();
        go(s, &blobs, clerk, doc.id, D::ClerkCheck).await;
        go(s, &blobs, clerk, doc.id, D::Number).await;
        let (sealed_bytes, step) = signed(&bytes, "vanthu.tc");
        docs::act(s, &blobs, clerk, doc.id, D::OrgSign, &step, NOW)
            .await
            .unwrap();
        go(s, &blobs, clerk, doc.id, D::Register).await;
        let before = reports::agency_report(s, &officer, pid, fin).await.unwrap();
        assert_eq!(before.document.as_ref().unwrap().issued_at, None);
        let out = docs::act(
            s,
            &blobs,
            clerk,
            doc.id,
            D::Dispatch,
            &StepInput::default(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.deliveries, 1);
        let detail = docs::get_document(s, clerk, doc.id).await.unwrap();
        assert_eq!(
            detail.deliveries[0].recipient_agency_id,
            Some(p.dost.id),
            "the Department receives it"
        );
        let sealed = detail
            .versions
            .iter()
            .rev()
            .find(|v| v.kind == VersionKind::OrgSigned)
            .unwrap()
            .sha256
            .clone();
        assert_eq!(blobs.get(&sealed).unwrap(), sealed_bytes);
        let issued = reports::agency_report(s, &officer, pid, fin)
            .await
            .unwrap()
            .document
            .unwrap();
        assert_eq!(issued.state, DocState::Dispatched);
        assert_eq!(issued.sealed_sha256.as_deref(), Some(sealed.as_str()));
        assert!(issued.issued_at.is_some());
        let number = issued.number.clone().unwrap();
        assert!(number.ends_with("/BC-STC"), "{number}");

        // The Department sees it on the period's standings.
        let standing = reports::standings(s, &p.admin, pid).await.unwrap();
        let finance = standing.iter().find(|x| x.agency_id == fin).unwrap();
        assert_eq!(finance.document.as_ref(), Some(&issued));
        let dost = standing.iter().find(|x| x.agency_id == p.dost.id).unwrap();
        assert_eq!(dost.document, None);

        // The dispatch's audit entry names the report; the chain holds.
        let log = audit::list(
            s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("document.dispatch".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let detail: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
        assert_eq!(detail["report"]["period_id"], serde_json::json!(pid));
        assert_eq!(detail["report"]["sha256"], serde_json::json!(sealed));
        assert!(audit::verify(s).await.unwrap().is_ok());

        // A recalled report may be issued again; the newest document is the report's.
        let e = reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("report"), "{e:?}");
        docs::act(
            s,
            &blobs,
            clerk,
            doc.id,
            D::Recall,
            &StepInput {
                reason: "Số liệu thiết bị ghi nhầm".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        reports::report_document_plan(s, &officer, pid, fin)
            .await
            .unwrap();
        let again = make(report_of(fin, "H99.37", signer.user_id))
            .await
            .unwrap();
        let now_seen = reports::agency_report(s, &officer, pid, fin).await.unwrap();
        assert_eq!(now_seen.document.unwrap().document_id, again.id);
    }
}
