//! Attachments of outgoing documents in separate files (issue 17 item 7): added by the drafter
//! while drafting, kept byte for byte as versions, signed by the agency's clerk after the
//! organization signature and before dispatch, dispatch refused while one is unsigned, and
//! delivered with the document — each story on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::{DocAction, DocState, DocType, DocumentMeta, SignerBlock};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{
    self as docs, AttachmentVersionKind, NewAttachment, NewDocument, StepInput,
};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error};

mod support;
use support::{go, province, DRAFT, NOW};

const ANNEX: &[u8] = b"%PDF-1.7\n% annex: list of units\n%%EOF\n";
const ANNEX2: &[u8] = b"%PDF-1.7\n% annex: budget table\n%%EOF\n";

fn meta(recipients: &[&str]) -> DocumentMeta {
    DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: "Về việc phân bổ kinh phí ứng dụng chữ ký số".into(),
        place: "Demo".into(),
        signer: SignerBlock {
            title: "Giám đốc".into(),
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        recipients: recipients.iter().map(|s| s.to_string()).collect(),
        page_count: Some(1),
        ..Default::default()
    }
}

/// `previous` followed by an update standing for a signature (the PDF side's check is
/// `kyso_pades::upload`'s, tested there and in kyso-web).
fn signed(previous: &[u8], who: &str) -> Vec<u8> {
    let mut bytes = previous.to_vec();
    bytes.extend_from_slice(format!("% signature of {who}\n%%EOF\n").as_bytes());
    bytes
}

fn file_step(bytes: Vec<u8>, shown: Option<u32>) -> StepInput {
    StepInput {
        file: Some(bytes),
        file_name: "signed.pdf".into(),
        shown_number: shown,
        ..Default::default()
    }
}

fn annex(title: &str, bytes: &[u8]) -> NewAttachment {
    NewAttachment {
        title: title.into(),
        file_name: "phu-luc.pdf".into(),
        file: bytes.to_vec(),
    }
}

fn is_conflict(r: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(r, Err(Error::Conflict { .. }))
}

#[tokio::test]
async fn attachments_from_the_draft_to_the_recipient() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let new = NewDocument {
            agency_id: p.dost.id,
            meta: meta(&[&p.finance.code]),
            signer_id: None,
            file_name: "du-thao.pdf".into(),
            file: DRAFT.to_vec(),
        };
        let d = docs::create_document(s, &blobs, &p.drafter, &new, NOW)
            .await
            .unwrap();

        // The drafter adds two attachments while drafting; the title defaults to the file.
        let a1 = docs::add_attachment(
            s,
            &blobs,
            &p.drafter,
            d.id,
            &annex("Danh sách đơn vị", ANNEX),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!((a1.position, a1.title.as_str()), (1, "Danh sách đơn vị"));
        assert_eq!(a1.versions.len(), 1);
        assert_eq!(a1.versions[0].kind, AttachmentVersionKind::Draft);
        assert!(!a1.is_signed());
        let a2 = docs::add_attachment(s, &blobs, &p.drafter, d.id, &annex("", ANNEX2), NOW)
            .await
            .unwrap();
        assert_eq!((a2.position, a2.title.as_str()), (2, "phu-luc"));
        // Byte for byte in the blob store.
        let (_, v, bytes) = docs::attachment_file(s, &blobs, &p.drafter, d.id, a1.id, None)
            .await
            .unwrap();
        assert_eq!((bytes.as_slice(), v.seq), (ANNEX, 1));
        // Not a PDF; not the drafter; another document's attachment.
        let r = docs::add_attachment(s, &blobs, &p.drafter, d.id, &annex("x", b"PK\x03\x04"), NOW)
            .await;
        assert!(
            matches!(r, Err(Error::Invalid { field: "file", .. })),
            "{r:?}"
        );
        let r = docs::add_attachment(s, &blobs, &p.clerk, d.id, &annex("x", ANNEX), NOW).await;
        assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
        let r =
            docs::add_attachment(s, &blobs, &p.finance_clerk, d.id, &annex("x", ANNEX), NOW).await;
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");

        // Through review, approval and the personal signature: no attachment added any more.
        go(s, &blobs, &p.drafter, d.id, DocAction::Submit).await;
        let r = docs::add_attachment(s, &blobs, &p.drafter, d.id, &annex("x", ANNEX), NOW).await;
        assert!(is_conflict(&r), "{r:?}");
        go(s, &blobs, &p.reviewer, d.id, DocAction::Forward).await;
        go(s, &blobs, &p.checker, d.id, DocAction::CheckFormat).await;
        go(s, &blobs, &p.signer, d.id, DocAction::Approve).await;
        let personal = signed(DRAFT, "giamdoc");
        docs::act(
            s,
            &blobs,
            &p.signer,
            d.id,
            DocAction::SignPersonal,
            &file_step(personal.clone(), None),
            NOW,
        )
        .await
        .unwrap();
        go(s, &blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
        go(s, &blobs, &p.clerk, d.id, DocAction::Number).await;

        // Before the organization signature the clerk cannot sign an attachment.
        let r = docs::attachment_to_sign(s, &blobs, &p.clerk, d.id, a1.id).await;
        assert!(is_conflict(&r), "{r:?}");
        let issued = signed(&personal, "vanthu");
        docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::OrgSign,
            &file_step(issued, Some(1)),
            NOW,
        )
        .await
        .unwrap();

        // After it: only the agency's clerk, only over the stored file.
        let (_, unsigned) = docs::attachment_to_sign(s, &blobs, &p.clerk, d.id, a1.id)
            .await
            .unwrap();
        assert_eq!(unsigned, ANNEX);
        let a1_signed = signed(ANNEX, "vanthu");
        for who in [&p.drafter, &p.signer] {
            let r = docs::sign_attachment(s, &blobs, who, d.id, a1.id, "pl1.pdf", &a1_signed, NOW)
                .await;
            assert!(
                matches!(r, Err(Error::Forbidden)),
                "{}: {r:?}",
                who.username
            );
        }
        let r = docs::sign_attachment(
            s,
            &blobs,
            &p.finance_clerk,
            d.id,
            a1.id,
            "pl1.pdf",
            &a1_signed,
            NOW,
        )
        .await;
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
        let rewritten = signed(b"%PDF-1.7\n% another annex\n%%EOF\n", "vanthu");
        let r = docs::sign_attachment(s, &blobs, &p.clerk, d.id, a1.id, "pl1.pdf", &rewritten, NOW)
            .await;
        assert!(
            matches!(r, Err(Error::Invalid { field: "file", .. })),
            "{r:?}"
        );
        // An attachment of another document is not found.
        let r = docs::sign_attachment(
            s,
            &blobs,
            &p.clerk,
            d.id + 1000,
            a1.id,
            "pl1.pdf",
            &a1_signed,
            NOW,
        )
        .await;
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");

        let a = docs::sign_attachment(s, &blobs, &p.clerk, d.id, a1.id, "pl1.pdf", &a1_signed, NOW)
            .await
            .unwrap();
        assert!(a.is_signed());
        assert_eq!(a.versions.len(), 2);
        assert_eq!(a.versions[1].kind, AttachmentVersionKind::OrgSigned);
        // Once signed, not again.
        let again = signed(&a1_signed, "vanthu");
        let r =
            docs::sign_attachment(s, &blobs, &p.clerk, d.id, a1.id, "pl1.pdf", &again, NOW).await;
        assert!(is_conflict(&r), "{r:?}");
        // Both versions kept byte for byte.
        let (_, _, v1) = docs::attachment_file(s, &blobs, &p.clerk, d.id, a1.id, Some(1))
            .await
            .unwrap();
        let (_, _, v2) = docs::attachment_file(s, &blobs, &p.clerk, d.id, a1.id, None)
            .await
            .unwrap();
        assert_eq!(
            (v1.as_slice(), v2.as_slice()),
            (ANNEX, a1_signed.as_slice())
        );

        // Dispatch waits for the second attachment.
        go(s, &blobs, &p.clerk, d.id, DocAction::Register).await;
        let r = docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::Dispatch,
            &StepInput::default(),
            NOW,
        )
        .await;
        match &r {
            Err(Error::Conflict { field, vi, .. }) => {
                assert_eq!(*field, "attachments");
                assert!(vi.contains("Phụ lục 2"), "{vi}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            docs::get_document(s, &p.clerk, d.id)
                .await
                .unwrap()
                .document
                .state,
            DocState::Registered,
            "nothing moved"
        );
        let a2_signed = signed(ANNEX2, "vanthu");
        docs::sign_attachment(s, &blobs, &p.clerk, d.id, a2.id, "pl2.pdf", &a2_signed, NOW)
            .await
            .unwrap();
        go(s, &blobs, &p.clerk, d.id, DocAction::Dispatch).await;
        // After dispatch, no more signing.
        let r = docs::attachment_to_sign(s, &blobs, &p.clerk, d.id, a2.id).await;
        assert!(is_conflict(&r), "{r:?}");

        // The recipient gets both signed attachments with the document.
        let queue = docs::deliveries_to(s, &p.finance_clerk, p.finance.id)
            .await
            .unwrap();
        assert_eq!(queue.len(), 1);
        let got = docs::delivered_attachments(s, &p.finance_clerk, queue[0].id)
            .await
            .unwrap();
        assert_eq!(got.iter().map(|a| a.position).collect::<Vec<_>>(), [1, 2]);
        let (_, bytes) =
            docs::delivered_attachment(s, &blobs, &p.finance_clerk, queue[0].id, a2.id)
                .await
                .unwrap();
        assert_eq!(bytes, a2_signed);
        // Others do not.
        let r = docs::delivered_attachments(s, &p.drafter, queue[0].id).await;
        assert!(r.is_err(), "{r:?}");

        // Timeline and audit.
        let detail = docs::get_document(s, &p.clerk, d.id).await.unwrap();
        let actions: Vec<&str> = detail.timeline.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions.iter().filter(|a| **a == "attachment").count(),
            2,
            "{actions:?}"
        );
        assert_eq!(
            actions.iter().filter(|a| **a == "attachment_sign").count(),
            2,
            "{actions:?}"
        );
        let log = audit::list(
            s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("document.attachment".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let logged: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(
            logged,
            [
                "document.attachment",
                "document.attachment",
                "document.attachment_sign",
                "document.attachment_sign"
            ]
        );
        assert!(log
            .iter()
            .all(|e| e.agency.as_deref() == Some(p.dost.code.as_str())));

        // A recall stops the delivery of the attachments too.
        docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::Recall,
            &StepInput {
                reason: "Sai phụ lục".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let r = docs::delivered_attachment(s, &blobs, &p.finance_clerk, queue[0].id, a1.id).await;
        assert!(is_conflict(&r), "{r:?}");
        audit::verify(s).await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_document_without_attachments_is_dispatched_as_before() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let new = NewDocument {
            agency_id: p.dost.id,
            meta: meta(&[]),
            signer_id: None,
            file_name: "du-thao.pdf".into(),
            file: DRAFT.to_vec(),
        };
        let d = docs::create_document(s, &blobs, &p.drafter, &new, NOW)
            .await
            .unwrap();
        for (who, action) in [
            (&p.drafter, DocAction::Submit),
            (&p.reviewer, DocAction::Forward),
            (&p.checker, DocAction::CheckFormat),
            (&p.signer, DocAction::Approve),
        ] {
            go(s, &blobs, who, d.id, action).await;
        }
        let personal = signed(DRAFT, "giamdoc");
        docs::act(
            s,
            &blobs,
            &p.signer,
            d.id,
            DocAction::SignPersonal,
            &file_step(personal.clone(), None),
            NOW,
        )
        .await
        .unwrap();
        go(s, &blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
        go(s, &blobs, &p.clerk, d.id, DocAction::Number).await;
        docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::OrgSign,
            &file_step(signed(&personal, "vanthu"), Some(1)),
            NOW,
        )
        .await
        .unwrap();
        go(s, &blobs, &p.clerk, d.id, DocAction::Register).await;
        go(s, &blobs, &p.clerk, d.id, DocAction::Dispatch).await;
        assert!(docs::list_attachments(s, &p.clerk, d.id)
            .await
            .unwrap()
            .is_empty());
    }
}
