//! Incoming documents in the store (issue 18): each channel, duplicates, the clerk's decision
//! (an invalid document is never registered, an indeterminate one only with a reason), the
//! refusal reaching the sender, handling with reminders, the sender's recall, scopes, and 50
//! concurrent registrations — every story on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kyso_domain::documents::DocAction;
use kyso_domain::incoming::{Channel, IncomingAction, IncomingState, Verdict};
use kyso_domain::roles::Role;
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, StepInput};
use kyso_store::incoming::{self as inc, IncomingQuery, IncomingStep, NewIncoming};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, notices, Actor, Backend, Error, Store};
use time::OffsetDateTime;

mod support;
use support::{agency, dispatched, letter, person, province, verification, Agency, Province, NOW};

/// The Department of Finance's planning office, its leader, a drafter and the office's staff.
struct Receiver {
    office: Agency,
    leader: Actor,
    drafter: Actor,
    office_staff: Actor,
}

async fn receiver(store: &Store, p: &Province) -> Receiver {
    let office = agency(
        store,
        "H99.05.01",
        "Phòng Kế hoạch",
        "other",
        Some(p.finance.id),
    )
    .await;
    Receiver {
        leader: person(store, "giamdoc.tc", &p.finance, Role::Signer).await,
        drafter: person(store, "chuyenvien.tc", &p.finance, Role::Drafter).await,
        office_staff: person(store, "chuyenvien.khtc", &office, Role::Drafter).await,
        office,
    }
}

fn reason(text: &str) -> IncomingStep {
    IncomingStep {
        reason: text.into(),
        ..Default::default()
    }
}

/// The deliveries waiting for the Department of Finance, taken in as the server does (with
/// the verdict the server's validator would give).
async fn arrive_internal(store: &Store, blobs: &Blobs, p: &Province) -> Vec<i64> {
    let pending = inc::pending_deliveries(store, blobs, &p.finance_clerk, p.finance.id, 100)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for d in pending {
        let got = inc::intake(
            store,
            blobs,
            &p.finance_clerk,
            &NewIncoming {
                agency_id: p.finance.id,
                channel: Channel::Internal,
                scanned: false,
                sender_code: d.sender_code,
                sender_name: d.sender_name,
                sender_email: String::new(),
                number: d.number,
                notation: d.notation,
                doc_date: d.doc_date,
                doc_type: d.doc_type,
                subject: d.subject,
                signer: d.signer,
                file_name: d.file_name,
                file: d.file,
                verification: verification(Verdict::Passed, &[]),
                delivery_id: Some(d.delivery_id),
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            got.arrived_at, d.delivered_at,
            "arrival time is the dispatch's"
        );
        ids.push(got.id);
    }
    ids
}

fn conflict_on(e: Error) -> (&'static str, String) {
    match e {
        Error::Conflict { field, vi, .. } => (field, vi),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_letter_uploaded_registered_assigned_and_completed_with_duplicates_recognised() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let fin = receiver(s, &p).await;

        // A letter received by e-mail, uploaded by the clerk.
        let scan = letter(&p, 7, Verdict::Passed);
        let a = inc::intake(s, &blobs, &p.finance_clerk, &scan, NOW)
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.status_code.as_str()),
            (IncomingState::Received, "01")
        );
        assert!(!a.scanned && a.channel == Channel::Upload);
        assert_eq!(a.number_and_notation(), "07/CTSBMTT-CĐ");
        let (_, bytes) = inc::incoming_file(s, &blobs, &p.finance_clerk, a.id)
            .await
            .unwrap();
        assert_eq!(bytes, scan.file, "kept byte for byte");

        // The same bytes again: a conflict naming the earlier record.
        let (field, msg) = conflict_on(
            inc::intake(s, &blobs, &p.finance_clerk, &scan, NOW)
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "file");
        assert!(msg.contains(&format!("văn bản đến #{}", a.id)), "{msg}");
        // The same sender, number and date in other bytes (sent again by e-mail): the same.
        let mut again = letter(&p, 7, Verdict::Passed);
        again.file = b"%PDF-1.7\n% the same letter, e-mailed\n%%EOF\n".to_vec();
        let (field, msg) = conflict_on(
            inc::intake(s, &blobs, &p.finance_clerk, &again, NOW)
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "number");
        assert!(msg.contains(&format!("#{}", a.id)), "{msg}");
        // Another agency may receive the same letter.
        let mut elsewhere = letter(&p, 7, Verdict::Passed);
        elsewhere.agency_id = p.dost.id;
        inc::intake(s, &blobs, &p.clerk, &elsewhere, NOW)
            .await
            .unwrap();

        // Scopes: the sender's clerk does not see Finance's records; a drafter may not upload
        // or register; the administrator is not the agency's clerk.
        assert!(matches!(
            inc::get_incoming(s, &p.clerk, a.id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            inc::intake(
                s,
                &blobs,
                &fin.drafter,
                &letter(&p, 8, Verdict::Passed),
                NOW
            )
            .await,
            Err(Error::Forbidden)
        ));
        for who in [&fin.drafter, &p.admin, &fin.leader] {
            assert!(
                matches!(
                    inc::act_incoming(s, who, a.id, IncomingAction::Register, &reason(""), NOW)
                        .await,
                    Err(Error::Forbidden)
                ),
                "{}",
                who.username
            );
        }

        // A scanned paper letter is registered only once digitised (the SAO Y copy signed by
        // the agency, tests/incoming_copies.rs): refused before, naming the step.
        let mut paper = letter(&p, 11, Verdict::Passed);
        paper.scanned = true;
        let paper = inc::intake(s, &blobs, &p.finance_clerk, &paper, NOW)
            .await
            .unwrap();
        assert!(paper.scanned);
        let (field, msg) = conflict_on(
            inc::act_incoming(
                s,
                &p.finance_clerk,
                paper.id,
                IncomingAction::Register,
                &reason(""),
                NOW,
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(field, "scanned");
        assert!(msg.contains("số hóa"), "{msg}");

        // The clerk registers it: arrival number 1 of the register opened for it.
        let r = inc::act_incoming(
            s,
            &p.finance_clerk,
            a.id,
            IncomingAction::Register,
            &reason(""),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!((r.arrival_number, r.status_code.as_str()), (Some(1), "03"));
        let registers = inc::incoming_registers(s, &p.finance_clerk, p.finance.id)
            .await
            .unwrap();
        assert_eq!(registers.len(), 1);
        assert_eq!(registers[0].name, "Sổ văn bản đến");
        assert!(matches!(
            inc::act_incoming(
                s,
                &p.finance_clerk,
                a.id,
                IncomingAction::Register,
                &reason(""),
                NOW
            )
            .await,
            Err(Error::Conflict { .. })
        ));

        // The leader assigns the planning office, with the finance office coordinating.
        let mut assign = reason("Đề nghị Phòng Kế hoạch chủ trì tham mưu");
        assign.lead_unit_id = Some(fin.office.id);
        assign.coordinating_unit_ids = vec![p.finance.id];
        assign.deadline = Some("2026-06-10".into());
        assert!(matches!(
            inc::act_incoming(
                s,
                &p.finance_clerk,
                a.id,
                IncomingAction::Assign,
                &assign,
                NOW
            )
            .await,
            Err(Error::Forbidden)
        ));
        let mut outside = assign.clone();
        outside.lead_unit_id = Some(p.dost.id);
        assert!(matches!(
            inc::act_incoming(s, &fin.leader, a.id, IncomingAction::Assign, &outside, NOW).await,
            Err(Error::Invalid {
                field: "lead_unit_id",
                ..
            })
        ));
        let mut late = assign.clone();
        late.deadline = Some("2026-05-30".into());
        assert!(matches!(
            inc::act_incoming(s, &fin.leader, a.id, IncomingAction::Assign, &late, NOW).await,
            Err(Error::Invalid {
                field: "deadline",
                ..
            })
        ));
        let r = inc::act_incoming(s, &fin.leader, a.id, IncomingAction::Assign, &assign, NOW)
            .await
            .unwrap();
        assert_eq!(r.status_code, "04");
        let told = notices::inbox(s, &fin.office_staff, false).await.unwrap();
        assert!(
            told.iter()
                .any(|n| n.link == format!("/incoming/{}", a.id) && n.body.contains("10/06/2026")),
            "{told:?}"
        );

        // The office sees it (not the rest of Finance's) and handles it.
        let seen = inc::list_incoming(s, &fin.office_staff, &IncomingQuery::default())
            .await
            .unwrap();
        assert_eq!(seen.iter().map(|d| d.id).collect::<Vec<_>>(), [a.id]);
        let d = inc::get_incoming(s, &fin.office_staff, a.id).await.unwrap();
        assert_eq!(d.actions, [IncomingAction::Start, IncomingAction::Complete]);
        assert!(d.units[0].lead && d.units[0].agency_id == fin.office.id);

        // Reminders: three days before, the day before, on the day — each once.
        let at = |s: &str| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let r1 = inc::run_deadline_reminders(s, at("2026-06-07T08:00:00+07:00"))
            .await
            .unwrap();
        assert_eq!((r1.stages, r1.notices), (1, 1));
        let again = inc::run_deadline_reminders(s, at("2026-06-07T16:00:00+07:00"))
            .await
            .unwrap();
        assert_eq!(again.stages, 0, "a stage is sent once");

        let r = inc::act_incoming(
            s,
            &fin.office_staff,
            a.id,
            IncomingAction::Start,
            &reason(""),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, "05");
        assert!(
            matches!(
                inc::act_incoming(
                    s,
                    &p.drafter,
                    a.id,
                    IncomingAction::Complete,
                    &reason(""),
                    NOW
                )
                .await,
                Err(Error::NotFound { .. })
            ),
            "another agency's people do not see it"
        );
        let r = inc::act_incoming(
            s,
            &fin.office_staff,
            a.id,
            IncomingAction::Complete,
            &reason("Đã trả lời bằng công văn 15/STC-KH"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, "06");
        let r2 = inc::run_deadline_reminders(s, at("2026-06-09T08:00:00+07:00"))
            .await
            .unwrap();
        assert_eq!(r2.stages, 0, "a completed document is not reminded");

        let d = inc::get_incoming(s, &p.finance_clerk, a.id).await.unwrap();
        let steps: Vec<_> = d
            .timeline
            .iter()
            .map(|e| (e.action.as_str(), e.status_code.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("arrive", "01"),
                ("register", "03"),
                ("assign", "04"),
                ("start", "05"),
                ("complete", "06")
            ]
        );
        assert!(audit::verify(s).await.unwrap().is_ok());
        let entries = audit::list(
            s,
            &p.admin,
            &audit::Filter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for action in [
            "incoming.arrive",
            "incoming.register",
            "incoming.assign",
            "incoming.start",
            "incoming.complete",
            "incoming.reminders",
        ] {
            assert!(entries.iter().any(|e| e.action == action), "{action}");
        }
        // Upload refused as such: not a PDF.
        let mut junk = letter(&p, 9, Verdict::Passed);
        junk.file = b"GIF89a".to_vec();
        assert!(matches!(
            inc::intake(s, &blobs, &p.finance_clerk, &junk, NOW).await,
            Err(Error::Invalid { field: "file", .. })
        ));
    }
}

#[tokio::test]
async fn invalid_is_never_registered_indeterminate_needs_a_reason_and_outside_senders_are_told() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);

        let mut bad = letter(&p, 1, Verdict::Failed);
        bad.verification = verification(Verdict::Failed, &["DOCUMENT_MODIFIED"]);
        bad.channel = Channel::Api;
        let bad = inc::intake(s, &blobs, &p.finance_clerk, &bad, NOW)
            .await
            .unwrap();
        let unsure = inc::intake(
            s,
            &blobs,
            &p.finance_clerk,
            &NewIncoming {
                verification: verification(Verdict::Indeterminate, &["REVOCATION_UNKNOWN"]),
                ..letter(&p, 2, Verdict::Indeterminate)
            },
            NOW,
        )
        .await
        .unwrap();
        let good = inc::intake(
            s,
            &blobs,
            &p.finance_clerk,
            &letter(&p, 3, Verdict::Passed),
            NOW,
        )
        .await
        .unwrap();

        // The queue: invalid first, then indeterminate, then valid, with the reasons.
        let queue = inc::list_incoming(s, &p.finance_clerk, &IncomingQuery::default())
            .await
            .unwrap();
        assert_eq!(
            queue.iter().map(|d| d.id).collect::<Vec<_>>(),
            [bad.id, unsure.id, good.id]
        );
        assert_eq!(queue[0].reasons, ["DOCUMENT_MODIFIED"]);

        let e = inc::act_incoming(
            s,
            &p.finance_clerk,
            bad.id,
            IncomingAction::Register,
            &reason("Vẫn nhận"),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Conflict {
                    field: "verdict",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = inc::act_incoming(
            s,
            &p.finance_clerk,
            unsure.id,
            IncomingAction::Register,
            &reason(" "),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Invalid {
                    field: "reason",
                    ..
                }
            ),
            "{e:?}"
        );
        let r = inc::act_incoming(
            s,
            &p.finance_clerk,
            unsure.id,
            IncomingAction::Register,
            &reason("Đã gọi điện xác nhận với Cục"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.arrival_number, Some(1));
        let d = inc::get_incoming(s, &p.finance_clerk, unsure.id)
            .await
            .unwrap();
        assert_eq!(d.incoming.decision_note, "Đã gọi điện xác nhận với Cục");

        // A refusal needs a reason; the sender outside is to be e-mailed status 02.
        assert!(matches!(
            inc::act_incoming(
                s,
                &p.finance_clerk,
                bad.id,
                IncomingAction::Refuse,
                &reason(""),
                NOW
            )
            .await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        let r = inc::act_incoming(
            s,
            &p.finance_clerk,
            bad.id,
            IncomingAction::Refuse,
            &reason("Văn bản đã bị sửa sau khi ký"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status_code.as_str(), r.status_message.as_deref()),
            ("02", Some("email"))
        );
        let out = inc::pending_status_messages(s, 10).await.unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (
                out[0].status_code.as_str(),
                out[0].recipient.as_str(),
                out[0].description.as_str()
            ),
            ("02", "ca@bcy.gov.vn", "Văn bản đã bị sửa sau khi ký")
        );
        inc::mark_status_sent(s, out[0].id, NOW).await.unwrap();
        assert!(inc::pending_status_messages(s, 10)
            .await
            .unwrap()
            .is_empty());
        // Refused: out of the queue, final; sent again corrected with the same number, it is
        // not a duplicate of the refused one.
        let queue = inc::list_incoming(s, &p.finance_clerk, &IncomingQuery::default())
            .await
            .unwrap();
        assert!(!queue.iter().any(|d| d.id == bad.id));
        assert!(matches!(
            inc::act_incoming(
                s,
                &p.finance_clerk,
                bad.id,
                IncomingAction::Register,
                &reason(""),
                NOW
            )
            .await,
            Err(Error::Conflict { field: "state", .. })
        ));
        let mut fixed = letter(&p, 1, Verdict::Passed);
        fixed.file = b"%PDF-1.7\n% letter 1 signed again\n%%EOF\n".to_vec();
        inc::intake(s, &blobs, &p.finance_clerk, &fixed, NOW)
            .await
            .unwrap();

        // An edXML sender is sent every status.
        let mut axis = letter(&p, 4, Verdict::Passed);
        axis.channel = Channel::Edxml;
        let axis = inc::intake(s, &blobs, &p.finance_clerk, &axis, NOW)
            .await
            .unwrap();
        let r = inc::act_incoming(
            s,
            &p.finance_clerk,
            axis.id,
            IncomingAction::Register,
            &reason(""),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.status_message.as_deref(), Some("edxml"));
        let out = inc::pending_status_messages(s, 10).await.unwrap();
        assert_eq!(
            out.iter()
                .map(|m| (m.status_code.as_str(), m.via.as_str(), m.recipient.as_str()))
                .collect::<Vec<_>>(),
            [("03", "edxml", "G11.07.05")]
        );
        // A scan comes only from the clerk's upload.
        let mut scan = letter(&p, 5, Verdict::Passed);
        scan.channel = Channel::Api;
        scan.scanned = true;
        assert!(matches!(
            inc::intake(s, &blobs, &p.finance_clerk, &scan, NOW).await,
            Err(Error::Invalid {
                field: "scanned",
                ..
            })
        ));
    }
}

#[tokio::test]
async fn a_delivery_arrives_once_its_refusal_reaches_the_sender_and_a_recall_removes_the_copy() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);

        let first = dispatched(s, &blobs, &p, "Về việc kiểm tra chữ ký số năm 2026").await;
        let second = dispatched(s, &blobs, &p, "Về việc cử cán bộ tập huấn").await;
        let arrived = arrive_internal(s, &blobs, &p).await;
        assert_eq!(arrived.len(), 2);
        assert!(
            arrive_internal(s, &blobs, &p).await.is_empty(),
            "a delivery arrives once"
        );
        let fc = &p.finance_clerk;
        let copy = |id| async move { inc::get_incoming(s, fc, id).await.unwrap().incoming };
        let (a, b2) = (copy(arrived[0]).await, copy(arrived[1]).await);
        assert_eq!(
            (a.source_document_id, b2.source_document_id),
            (Some(first), Some(second))
        );
        assert_eq!(a.channel, Channel::Internal);
        assert_eq!((a.number.as_str(), a.notation.as_str()), ("01", "QĐ-SKHCN"));
        assert_eq!(a.sender_code, p.dost.code);
        // Its bytes are the issued file's.
        let (_, issued) = docs::delivered_file(s, &blobs, &p.finance_clerk, a.delivery_id.unwrap())
            .await
            .unwrap();
        assert_eq!(
            inc::incoming_file(s, &blobs, &p.finance_clerk, a.id)
                .await
                .unwrap()
                .1,
            issued
        );

        // Refused: the sender's page and clerk are told why.
        inc::act_incoming(
            s,
            &p.finance_clerk,
            a.id,
            IncomingAction::Refuse,
            &reason("Gửi nhầm cơ quan"),
            NOW,
        )
        .await
        .unwrap();
        let page = docs::get_document(s, &p.clerk, first).await.unwrap();
        assert!(
            page.timeline
                .iter()
                .any(|t| t.action == "incoming_refused" && t.note.contains("Gửi nhầm cơ quan")),
            "{:?}",
            page.timeline
        );
        let inbox = notices::inbox(s, &p.clerk, false).await.unwrap();
        let n = inbox
            .iter()
            .find(|n| n.event == "incoming_refused")
            .expect("the sender's clerk is told");
        assert_eq!(n.document_id, Some(first));
        assert!(
            n.body.contains("Lý do: Gửi nhầm cơ quan") && n.body.contains("Sở Tài chính"),
            "{}",
            n.body
        );
        assert!(
            inc::pending_status_messages(s, 10)
                .await
                .unwrap()
                .is_empty(),
            "inside kyso: no message to send"
        );

        // The second is registered, then recalled by its sender: marked 13 and out of the queue.
        inc::act_incoming(
            s,
            &p.finance_clerk,
            b2.id,
            IncomingAction::Register,
            &reason(""),
            NOW,
        )
        .await
        .unwrap();
        docs::act(
            s,
            &blobs,
            &p.clerk,
            second,
            DocAction::Recall,
            &StepInput {
                reason: "Ban hành nhầm đối tượng".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let recalled = copy(b2.id).await;
        assert_eq!(
            (recalled.state, recalled.status_code.as_str()),
            (IncomingState::Recalled, "13")
        );
        assert_eq!(
            recalled.arrival_number,
            Some(1),
            "the register keeps its row"
        );
        let queue = inc::list_incoming(s, &p.finance_clerk, &IncomingQuery::default())
            .await
            .unwrap();
        assert!(queue.is_empty(), "{queue:?}");
        assert!(matches!(
            inc::incoming_file(s, &blobs, &p.finance_clerk, b2.id).await,
            Err(Error::Conflict { .. })
        ));
        let d = inc::get_incoming(s, &p.finance_clerk, b2.id).await.unwrap();
        assert!(d
            .timeline
            .iter()
            .any(|e| e.action == "recall" && e.note == "Ban hành nhầm đối tượng"));
        let entries = audit::list(
            s,
            &p.admin,
            &audit::Filter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.action == "incoming.recall" && e.object == format!("incoming:{}", b2.id)));
        assert!(entries.iter().any(|e| e.action == "document.recall"));
        assert!(audit::verify(s).await.unwrap().is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_registrations_get_no_duplicate_and_no_gap() {
    const N: u32 = 50;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(&db.store).await;
        let s = &db.store;
        let mut ids = Vec::new();
        for i in 0..N {
            ids.push(
                inc::intake(
                    s,
                    &blobs,
                    &p.finance_clerk,
                    &letter(&p, i + 1, Verdict::Passed),
                    NOW,
                )
                .await
                .unwrap()
                .id,
            );
        }
        let second = match b {
            Backend::Postgres => Store::open(&db.url).await.unwrap(),
            Backend::Sqlite => db.store.clone(),
        };
        let stores = Arc::new([db.store.clone(), second]);
        let mut tasks = Vec::new();
        for (i, id) in ids.into_iter().enumerate() {
            let (stores, clerk) = (stores.clone(), p.finance_clerk.clone());
            tasks.push(tokio::spawn(async move {
                inc::act_incoming(
                    &stores[i % 2],
                    &clerk,
                    id,
                    IncomingAction::Register,
                    &IncomingStep::default(),
                    NOW,
                )
                .await
                .unwrap()
                .arrival_number
                .unwrap()
            }));
        }
        let mut numbers = Vec::new();
        for t in tasks {
            numbers.push(t.await.unwrap());
        }
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=i64::from(N)).collect::<Vec<_>>(),
            "no duplicate, no gap"
        );
        assert_eq!(
            inc::incoming_registers(s, &p.finance_clerk, p.finance.id)
                .await
                .unwrap()
                .len(),
            1,
            "one register opened, not one per writer"
        );
        assert!(audit::verify(s).await.unwrap().is_ok());
        if b == Backend::Postgres {
            stores[1].close().await;
            db.store.close().await;
        }
    }
}

/// Issue 18 review: copies of a document of the Department of Science that reach Finance
/// otherwise than by its delivery (uploaded by the clerk "as from H99.37") are linked to it at
/// intake — by the same number, notation and date (a tampered copy) or by the same bytes — so
/// that a refusal reaches the Department's document page and clerks as a delivery's does; a
/// copy naming the Department that is none of its documents is refused and the Department's
/// clerks are told what was claimed (nothing else of Finance's record); an outside sender's
/// refusal tells no one inside kyso. The genuine delivery of a document Finance already holds
/// cannot arrive: its outcome is recorded once (audited once), and it is no longer pending.
#[tokio::test]
async fn copies_claiming_a_sender_inside_kyso_are_linked_and_duplicate_deliveries_settled_once() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let fc = &p.finance_clerk;
        let first = dispatched(s, &blobs, &p, "Về việc kiểm tra chữ ký số năm 2026").await;
        let pending = inc::pending_deliveries(s, &blobs, fc, p.finance.id, 10)
            .await
            .unwrap();
        let genuine = pending
            .iter()
            .find(|d| d.document_id == first)
            .unwrap()
            .clone();
        let as_from_dost = |number: &str, file: Vec<u8>| NewIncoming {
            sender_code: p.dost.code.clone(),
            sender_name: "Sở Khoa học và Công nghệ".into(),
            sender_email: "vanthu@skhcn.example.vn".into(),
            number: number.into(),
            notation: genuine.notation.clone(),
            doc_date: genuine.doc_date.clone(),
            subject: genuine.subject.clone(),
            file,
            verification: verification(Verdict::Failed, &["SIGNATURE_INVALID"]),
            ..letter(&p, 90, Verdict::Failed)
        };

        // A tampered copy "as from H99.37": linked by number, notation and date.
        let mut tampered = genuine.file.clone();
        tampered.extend_from_slice(b"% changed\n");
        let copy = inc::intake(s, &blobs, fc, &as_from_dost(&genuine.number, tampered), NOW)
            .await
            .unwrap();
        assert_eq!(copy.source_document_id, Some(first), "{b:?}");
        let out = inc::act_incoming(
            s,
            fc,
            copy.id,
            IncomingAction::Refuse,
            &reason("Chữ ký số không hợp lệ: tệp đã bị sửa"),
            NOW,
        )
        .await
        .unwrap();
        assert!(out.notified >= 1, "{b:?}: {out:?}");
        assert_eq!(
            out.status_message, None,
            "{b:?}: told inside kyso, no e-mail"
        );
        let page = docs::get_document(s, &p.clerk, first).await.unwrap();
        assert!(
            page.timeline.iter().any(|t| t.action == "incoming_refused"
                && t.note.contains("Chữ ký số không hợp lệ: tệp đã bị sửa")),
            "{b:?}: {:?}",
            page.timeline
        );
        let inbox = notices::inbox(s, &p.clerk, false).await.unwrap();
        let n = inbox
            .iter()
            .find(|n| n.event == "incoming_refused")
            .expect("the sender's clerk is told");
        assert_eq!(n.document_id, Some(first));
        assert!(
            n.body.contains("Lý do: Chữ ký số không hợp lệ") && n.body.contains("Văn thư tải lên"),
            "{b:?}: {}",
            n.body
        );

        // The genuine delivery still arrives (the tampered copy was refused).
        assert_eq!(arrive_internal(s, &blobs, &p).await.len(), 1, "{b:?}");

        // A second document: Finance's clerk uploads its very file before its delivery
        // arrives — linked by the bytes; the delivery then cannot arrive, recorded once.
        let second = dispatched(s, &blobs, &p, "Về việc cử cán bộ tập huấn").await;
        let delivery = inc::pending_deliveries(s, &blobs, fc, p.finance.id, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.document_id == second)
            .unwrap();
        let mut upload = as_from_dost("", delivery.file.clone());
        upload.verification = verification(Verdict::Passed, &[]);
        let held = inc::intake(s, &blobs, fc, &upload, NOW).await.unwrap();
        assert_eq!(held.source_document_id, Some(second), "{b:?}: by its bytes");
        let refused = inc::intake(
            s,
            &blobs,
            &Actor::system(),
            &NewIncoming {
                channel: Channel::Internal,
                delivery_id: Some(delivery.delivery_id),
                sender_code: delivery.sender_code.clone(),
                number: delivery.number.clone(),
                notation: delivery.notation.clone(),
                doc_date: delivery.doc_date.clone(),
                file: delivery.file.clone(),
                sender_email: String::new(),
                ..upload.clone()
            },
            NOW,
        )
        .await
        .unwrap_err();
        let (field, vi) = conflict_on(refused);
        assert_eq!(field, "file", "{b:?}");
        for expected in [true, false] {
            let done = inc::record_undeliverable(
                s,
                &Actor::system(),
                delivery.delivery_id,
                p.finance.id,
                "duplicate",
                &vi,
                "already received",
                NOW,
            )
            .await
            .unwrap();
            assert_eq!(done, expected, "{b:?}: recorded once");
        }
        assert!(
            inc::pending_deliveries(s, &blobs, fc, p.finance.id, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b:?}: no longer pending"
        );
        assert!(
            inc::agencies_with_pending_deliveries(s, None, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b:?}"
        );

        // A copy naming the Department that is none of its documents.
        let before = notices::inbox(s, &p.clerk, false).await.unwrap().len();
        let mut forged = as_from_dost("77", b"%PDF-1.7\n% forged\n%%EOF\n".to_vec());
        forged.subject = "Về việc thu phí thẩm định".into();
        let forged = inc::intake(s, &blobs, fc, &forged, NOW).await.unwrap();
        assert_eq!(forged.source_document_id, None, "{b:?}");
        inc::act_incoming(
            s,
            fc,
            forged.id,
            IncomingAction::Refuse,
            &reason("Không có văn bản này trong hệ thống của Sở"),
            NOW,
        )
        .await
        .unwrap();
        let inbox = notices::inbox(s, &p.clerk, false).await.unwrap();
        assert_eq!(inbox.len(), before + 1, "{b:?}");
        let n = inbox
            .iter()
            .find(|n| n.event == "incoming_claim_refused")
            .expect("the Department's clerk hears of it");
        for part in [
            "Sở Tài chính",
            "77/",
            "Về việc thu phí thẩm định",
            "Lý do từ chối: Không có văn bản này trong hệ thống của Sở",
        ] {
            assert!(n.body.contains(part), "{b:?}: {part:?} in {}", n.body);
        }
        assert!(
            n.link.is_empty() && n.document_id.is_none() && !n.body.contains("vanthu.tc"),
            "{b:?}: nothing of Finance's record: {n:?}"
        );

        // An outside sender's refusal tells no one inside kyso.
        let outside = inc::intake(s, &blobs, fc, &letter(&p, 5, Verdict::Failed), NOW)
            .await
            .unwrap();
        assert_eq!(outside.source_document_id, None);
        inc::act_incoming(
            s,
            fc,
            outside.id,
            IncomingAction::Refuse,
            &reason("Sai cơ quan nhận"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            notices::inbox(s, &p.clerk, false).await.unwrap().len(),
            before + 1
        );
        let entries = audit::list(
            s,
            &p.admin,
            &audit::Filter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.action == "incoming.delivery_undeliverable")
                .count(),
            1,
            "{b:?}"
        );
        assert!(audit::verify(s).await.unwrap().is_ok());
    }
}
