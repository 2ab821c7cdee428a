//! Copies of issued documents numbered as documents are (issue 17 items 5 and 7), on SQLite and
//! on PostgreSQL: a copy's number is reserved with the clerk's one-time `SignCopy` ticket, made
//! final with the signed copy, and given back with why when its ticket ends unused (refused
//! uploads, expiry); the next copy takes the lowest number given back, so the issued numbers of
//! an agency's year are 1…n. Who may copy (the issuer's or a recipient's clerk, in its own
//! series), the refusals, the audit entries, and many clerks copying at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kyso_domain::documents::{CopyForm, DocAction, DocType, DocumentMeta, SignerBlock};
use kyso_domain::roles::Role;
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewCopy, NewDocument, Ticket};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error, Store};
use time::Duration;

mod support;
use support::{go, person, province, signed, Province, DRAFT, NOW};

/// A decision of the Department of Science sent to the Department of Finance, issued and
/// dispatched: its id and the issued bytes (the source of every copy).
async fn issued(store: &Store, blobs: &Blobs, p: &Province) -> (i64, Vec<u8>) {
    let meta = DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: "Về việc ban hành Quy chế văn thư".into(),
        place: "Demo".into(),
        signer: SignerBlock {
            title: "Giám đốc".into(),
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        recipients: vec![p.finance.code.clone()],
        page_count: Some(1),
        ..Default::default()
    };
    let input = NewDocument {
        agency_id: p.dost.id,
        meta,
        signer_id: None,
        file_name: "du-thao.pdf".into(),
        file: DRAFT.to_vec(),
    };
    let d = docs::create_document(store, blobs, &p.drafter, &input, NOW)
        .await
        .unwrap();
    go(store, blobs, &p.drafter, d.id, DocAction::Submit).await;
    go(store, blobs, &p.reviewer, d.id, DocAction::Forward).await;
    go(store, blobs, &p.checker, d.id, DocAction::CheckFormat).await;
    go(store, blobs, &p.signer, d.id, DocAction::Approve).await;
    let (personal, step) = signed(DRAFT, "giamdoc");
    docs::act(
        store,
        blobs,
        &p.signer,
        d.id,
        DocAction::SignPersonal,
        &step,
        NOW,
    )
    .await
    .unwrap();
    go(store, blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
    go(store, blobs, &p.clerk, d.id, DocAction::Number).await;
    let (issued, mut step) = signed(&personal, "vanthu");
    step.shown_number = Some(1);
    docs::act(store, blobs, &p.clerk, d.id, DocAction::OrgSign, &step, NOW)
        .await
        .unwrap();
    go(store, blobs, &p.clerk, d.id, DocAction::Register).await;
    go(store, blobs, &p.clerk, d.id, DocAction::Dispatch).await;
    (d.id, issued)
}

/// The signed copy of `source` by `who` (a stand-in signature appended).
fn copy_of(source: &[u8], who: &str) -> Vec<u8> {
    signed(source, who).0
}

/// An upload of `ticket` refused as often as a ticket takes: the ticket is spent.
async fn refuse_until_spent(store: &Store, ticket: &Ticket) {
    for _ in 0..docs::MAX_REFUSALS {
        let (_, holder) = docs::claim_ticket(store, &ticket.jti, "test", NOW)
            .await
            .unwrap();
        docs::release_ticket(store, &holder, &ticket.jti)
            .await
            .unwrap();
    }
}

/// The issued copy numbers of agency `agency` for 2026, in order.
async fn issued_numbers(store: &Store, blobs: &Blobs, id: i64, agency: i64) -> Vec<i64> {
    let _ = blobs;
    let mut n: Vec<i64> = docs::get_document(store, &Actor::system(), id)
        .await
        .unwrap()
        .copies
        .iter()
        .filter(|c| c.agency_id == agency)
        .map(|c| c.number)
        .collect();
    n.sort_unstable();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copy_number_is_reserved_with_its_ticket_then_issued_or_given_back() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let (id, source) = issued(s, &blobs, &p).await;

        // Two tickets: 01/SY and 02/SL reserved; a copy uploaded already signed takes 03.
        let (t1, r1) = docs::issue_copy_ticket(s, &p.clerk, id, p.dost.id, CopyForm::SaoY, NOW)
            .await
            .unwrap();
        assert_eq!((r1.number, r1.notation.as_str()), (1, "01/SY"));
        assert_eq!(t1.op(), docs::SIGN_COPY);
        assert_eq!(t1.copy_agency_id, Some(p.dost.id));
        let (t2, r2) = docs::issue_copy_ticket(s, &p.clerk, id, p.dost.id, CopyForm::SaoLuc, NOW)
            .await
            .unwrap();
        assert_eq!(r2.notation, "02/SL");
        let manual = docs::make_copy(
            s,
            &blobs,
            &p.clerk,
            id,
            &NewCopy {
                agency_id: p.dost.id,
                form: CopyForm::SaoY,
                file_name: "sao-y.pdf".into(),
                file: copy_of(&source, "vanthu"),
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(manual.notation, "03/SY");
        assert_eq!(issued_numbers(s, &blobs, id, p.dost.id).await, [3]);

        // The download side: the reservation and the source version.
        let (r, bytes) = docs::copy_to_sign(s, &blobs, &p.clerk, &t2).await.unwrap();
        assert_eq!((r, bytes.as_slice()), (r2.clone(), source.as_slice()));
        // A file that does not extend the source is refused; the number stays reserved.
        let other = copy_of(b"%PDF-1.7\n% another file\n", "vanthu");
        let e = docs::sign_copy(s, &blobs, &p.clerk, &t2, "x.pdf", &other, NOW)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: "file", .. }), "{e:?}");
        let c2 = docs::sign_copy(
            s,
            &blobs,
            &p.clerk,
            &t2,
            "sao-luc.pdf",
            &copy_of(&source, "vanthu"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!((c2.number, c2.notation.as_str()), (2, "02/SL"));
        // A ticket used once is used: its number is issued.
        let e = docs::sign_copy(
            s,
            &blobs,
            &p.clerk,
            &t2,
            "sao-luc.pdf",
            &copy_of(&source, "vanthu"),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Conflict {
                    field: "number",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(docs::claim_ticket(s, &t2.jti, "test", NOW).await.is_err());

        // Ticket 1 refused until spent: its number 01 is given back at the next reservation,
        // with why, and is the number that reservation takes.
        refuse_until_spent(s, &t1).await;
        let (t3, r3) = docs::issue_copy_ticket(s, &p.clerk, id, p.dost.id, CopyForm::TrichSao, NOW)
            .await
            .unwrap();
        assert_eq!(r3.notation, "01/TrS", "the lowest number given back");
        let e = docs::copy_to_sign(s, &blobs, &p.clerk, &t1)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Conflict {
                    field: "number",
                    ..
                }
            ),
            "{e:?}"
        );
        let released = docs::copy_number_releases(s, &p.clerk, p.dost.id, 2026)
            .await
            .unwrap();
        assert_eq!(released.len(), 1);
        assert_eq!((released[0].number, released[0].document_id), (1, id));
        assert!(released[0].reason.contains("từ chối 3 lần"), "{released:?}");

        // Ticket 3 left to expire: the next reservation, eleven minutes on, gives 01 back
        // and takes it again; ticket 3 is worth nothing any more.
        let later = NOW + Duration::minutes(11);
        let (t4, r4) = docs::issue_copy_ticket(s, &p.clerk, id, p.dost.id, CopyForm::SaoY, later)
            .await
            .unwrap();
        assert_eq!(r4.notation, "01/SY");
        let e = docs::sign_copy(
            s,
            &blobs,
            &p.clerk,
            &t3,
            "trich-sao.pdf",
            &copy_of(&source, "vanthu"),
            later,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Conflict {
                    field: "number",
                    ..
                }
            ),
            "{e:?}"
        );
        let released = docs::copy_number_releases(s, &p.clerk, p.dost.id, 2026)
            .await
            .unwrap();
        assert_eq!(released.len(), 2);
        assert!(released[1].reason.contains("hết hạn"), "{released:?}");
        docs::sign_copy(
            s,
            &blobs,
            &p.clerk,
            &t4,
            "sao-y.pdf",
            &copy_of(&source, "vanthu"),
            later,
        )
        .await
        .unwrap();
        assert_eq!(issued_numbers(s, &blobs, id, p.dost.id).await, [1, 2, 3]);

        // The recipient's clerk copies in its own series; nobody else copies for an agency.
        let (_, rf) =
            docs::issue_copy_ticket(s, &p.finance_clerk, id, p.finance.id, CopyForm::SaoY, NOW)
                .await
                .unwrap();
        assert_eq!(rf.notation, "01/SY");
        for (who, agency) in [
            (&p.clerk, p.finance.id),
            (&p.finance_clerk, p.dost.id),
            (&p.signer, p.dost.id),
        ] {
            let e = docs::issue_copy_ticket(s, who, id, agency, CopyForm::SaoY, NOW)
                .await
                .unwrap_err();
            assert!(
                matches!(e, Error::Forbidden | Error::NotFound { .. }),
                "{}: {e:?}",
                who.username
            );
        }
        // An agency that did not receive the document: not found.
        let e = docs::issue_copy_ticket(s, &p.admin, id, p.root.id, CopyForm::SaoY, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::NotFound { .. } | Error::Forbidden),
            "{e:?}"
        );

        // Every step audited: the tickets with their numbers, the copies, the releases.
        let log = audit::list(
            s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("document.".into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let count = |action: &str| log.iter().filter(|e| e.action == action).count();
        assert_eq!(count("document.copy_number_release"), 2);
        assert_eq!(count("document.copy"), 3);
        assert!(log.iter().any(|e| e.action == "document.signing_ticket"
            && e.detail.contains("\"notation\":\"01/TrS\"")
            && e.detail.contains("\"action\":\"sign_copy\"")));
        audit::verify(s).await.unwrap().unwrap();
    }
}

/// Many clerks of one agency copy one document at once, some leaving their ticket unused (its
/// uploads refused until spent) and then trying again, some uploading copies already signed:
/// every copy has its own number, and once all are done the numbers are exactly 1…n.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clerks_copy_without_duplicate_or_gap() {
    const CLERKS: usize = 24;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let (id, source) = issued(s, &blobs, &p).await;
        let mut clerks = Vec::new();
        for i in 0..CLERKS {
            clerks.push(person(s, &format!("vanthu{i}"), &p.dost, Role::Clerk).await);
        }
        let source = Arc::new(source);
        let run = |round: usize| {
            let mut tasks = Vec::new();
            for (i, clerk) in clerks.iter().enumerate() {
                let (s, blobs, clerk, source) =
                    (s.clone(), blobs.clone(), clerk.clone(), source.clone());
                let agency = p.dost.id;
                tasks.push(tokio::spawn(async move {
                    let file = copy_of(&source, &clerk.username);
                    if round == 0 && i % 6 == 5 {
                        // A copy uploaded already signed: numbered at once.
                        let input = NewCopy {
                            agency_id: agency,
                            form: CopyForm::SaoLuc,
                            file_name: "sao-luc.pdf".into(),
                            file,
                        };
                        let c = docs::make_copy(&s, &blobs, &clerk, id, &input, NOW)
                            .await
                            .unwrap();
                        return Some(c.number);
                    }
                    if round == 1 && i % 4 != 0 {
                        return None;
                    }
                    let now = NOW + Duration::minutes(round as i64 * 11);
                    let (t, _) =
                        docs::issue_copy_ticket(&s, &clerk, id, agency, CopyForm::SaoY, now)
                            .await
                            .unwrap();
                    if round == 0 && i % 4 == 0 {
                        // Abandoned: refused until spent (given back at a later reservation).
                        for _ in 0..docs::MAX_REFUSALS {
                            let (_, h) = docs::claim_ticket(&s, &t.jti, "test", now).await.unwrap();
                            docs::release_ticket(&s, &h, &t.jti).await.unwrap();
                        }
                        return None;
                    }
                    let c = docs::sign_copy(&s, &blobs, &clerk, &t, "sao-y.pdf", &file, now)
                        .await
                        .unwrap();
                    Some(c.number)
                }));
            }
            tasks
        };
        let mut got = Vec::new();
        for round in 0..2 {
            for t in run(round) {
                got.extend(t.await.unwrap());
            }
        }
        let abandoned = (0..CLERKS).filter(|i| i % 4 == 0).count();
        assert_eq!(got.len(), CLERKS, "every clerk made one copy in the end");
        let numbers = issued_numbers(s, &blobs, id, p.dost.id).await;
        let expected: Vec<i64> = (1..=CLERKS as i64).collect();
        assert_eq!(numbers, expected, "no duplicate and no gap ({b:?})");
        let released = docs::copy_number_releases(s, &p.clerk, p.dost.id, 2026)
            .await
            .unwrap();
        assert_eq!(
            released.len(),
            abandoned,
            "each given-back number recorded once"
        );
    }
}
