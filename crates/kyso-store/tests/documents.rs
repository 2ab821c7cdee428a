//! Outgoing documents in the store (issue 17): the whole flow, each refusal, the number series
//! and 50 concurrent clerks — every story on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kyso_domain::documents::{
    CopyForm, DocAction, DocState, DocType, DocumentMeta, Secrecy, SignAuthority, SignerBlock,
};
use kyso_domain::roles::Role;
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewCopy, NewDocument, RegisterInput, StepInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Backend, Error, Grant, Record, Store};
use time::macros::datetime;
use time::OffsetDateTime;

mod support;
use support::{go, person, province, signed, Province, DRAFT, NOW};

fn decision(recipients: &[&str]) -> DocumentMeta {
    DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: "Về việc ban hành Quy chế sử dụng chữ ký số chuyên dùng công vụ".into(),
        place: "Demo".into(),
        signer: SignerBlock {
            authority: SignAuthority::Kt,
            principal_title: "Giám đốc".into(),
            title: "Phó Giám đốc".into(),
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        recipients: recipients.iter().map(|s| s.to_string()).collect(),
        page_count: Some(2),
        ..Default::default()
    }
}

fn upload(p: &Province, meta: DocumentMeta) -> NewDocument {
    NewDocument {
        agency_id: p.dost.id,
        meta,
        signer_id: None,
        file_name: "du-thao.pdf".into(),
        file: DRAFT.to_vec(),
    }
}

fn reason(text: &str) -> StepInput {
    StepInput {
        reason: text.into(),
        ..Default::default()
    }
}

/// A new document taken to the clerk's check; the personally signed bytes.
async fn to_clerk(store: &Store, blobs: &Blobs, p: &Province, signer: &Actor) -> (i64, Vec<u8>) {
    let d = docs::create_document(store, blobs, &p.drafter, &upload(p, decision(&[])), NOW)
        .await
        .unwrap();
    go(store, blobs, &p.drafter, d.id, DocAction::Submit).await;
    go(store, blobs, &p.reviewer, d.id, DocAction::Forward).await;
    go(store, blobs, &p.checker, d.id, DocAction::CheckFormat).await;
    go(store, blobs, signer, d.id, DocAction::Approve).await;
    let (bytes, input) = signed(DRAFT, &signer.username);
    docs::act(
        store,
        blobs,
        signer,
        d.id,
        DocAction::SignPersonal,
        &input,
        NOW,
    )
    .await
    .unwrap();
    go(store, blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
    (d.id, bytes)
}

async fn state(store: &Store, id: i64) -> DocState {
    docs::get_document(store, &Actor::system(), id)
        .await
        .unwrap()
        .document
        .state
}

#[tokio::test]
async fn a_decision_from_upload_to_recall() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        let meta = decision(&[&p.finance.code, "G11.07.05", "000.00.05.H99"]);
        let d = docs::create_document(s, &blobs, &p.drafter, &upload(&p, meta), NOW)
            .await
            .unwrap();
        assert_eq!(d.state, DocState::Draft);
        assert_eq!(
            d.meta.recipients,
            ["H99.05", "G11.07.05"],
            "dotted, once each"
        );
        assert_eq!(d.register_id, p.register);

        go(s, &blobs, &p.drafter, d.id, DocAction::Submit).await;
        docs::add_comment(s, &p.reviewer, d.id, "Cần nêu rõ căn cứ pháp lý.", NOW)
            .await
            .unwrap();
        docs::act(
            s,
            &blobs,
            &p.reviewer,
            d.id,
            DocAction::Return,
            &reason("Bổ sung căn cứ"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(state(s, d.id).await, DocState::Returned);
        let draft2 = b"%PDF-1.7\n% second draft\n%%EOF\n";
        let v = docs::add_draft(s, &blobs, &p.drafter, d.id, "du-thao-2.pdf", draft2, NOW)
            .await
            .unwrap();
        assert_eq!(v.seq, 2);
        go(s, &blobs, &p.drafter, d.id, DocAction::Submit).await;
        go(s, &blobs, &p.reviewer, d.id, DocAction::Forward).await;
        go(s, &blobs, &p.checker, d.id, DocAction::CheckFormat).await;
        go(s, &blobs, &p.signer, d.id, DocAction::Approve).await;
        let (personal, input) = signed(draft2, "giamdoc");
        let out = docs::act(
            s,
            &blobs,
            &p.signer,
            d.id,
            DocAction::SignPersonal,
            &input,
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.version, Some(3));
        go(s, &blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
        let out = docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::Number,
            &StepInput::default(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.number, Some(1));
        assert_eq!(out.number_and_notation.as_deref(), Some("01/QĐ-SKHCN"));
        let (issued, mut input) = signed(&personal, "vanthu");
        input.shown_number = Some(1);
        docs::act(s, &blobs, &p.clerk, d.id, DocAction::OrgSign, &input, NOW)
            .await
            .unwrap();
        go(s, &blobs, &p.clerk, d.id, DocAction::Register).await;
        let out = docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::Dispatch,
            &StepInput::default(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.deliveries, 2);

        // The recipient inside the province finds it and downloads the issued bytes.
        let queue = docs::deliveries_to(s, &p.finance_clerk, p.finance.id)
            .await
            .unwrap();
        assert_eq!(queue.len(), 1);
        let (doc, bytes) = docs::delivered_file(s, &blobs, &p.finance_clerk, queue[0].id)
            .await
            .unwrap();
        assert_eq!(bytes, issued, "byte for byte");
        assert_eq!(doc.number_and_notation().as_deref(), Some("01/QĐ-SKHCN"));
        assert_eq!(doc.issued_date.as_deref(), Some("2026-06-01"));
        // It copies it in its own series.
        let copy = docs::make_copy(
            s,
            &blobs,
            &p.finance_clerk,
            d.id,
            &NewCopy {
                agency_id: p.finance.id,
                form: CopyForm::SaoY,
                file_name: "sao-y.pdf".into(),
                file: b"%PDF-1.7\n% copy\n".to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(copy.notation, "01/SY");

        // Recall: frozen, the recipient's delivery recalled and no longer served.
        let out = docs::act(
            s,
            &blobs,
            &p.clerk,
            d.id,
            DocAction::Recall,
            &reason("Sai căn cứ"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.deliveries, 2);
        assert!(matches!(
            docs::delivered_file(s, &blobs, &p.finance_clerk, queue[0].id).await,
            Err(Error::Conflict { field: "state", .. })
        ));
        let detail = docs::get_document(s, &p.drafter, d.id).await.unwrap();
        assert_eq!(detail.document.state, DocState::Recalled);
        assert_eq!(detail.versions.len(), 4);
        assert_eq!(detail.comments.len(), 1);
        assert_eq!(detail.copies.len(), 1);
        assert!(detail.deliveries.iter().all(|d| d.state == "recalled"));
        assert_eq!(
            detail.recall.as_ref().map(|r| r.reason.as_str()),
            Some("Sai căn cứ")
        );
        let actions: Vec<&str> = detail.timeline.iter().map(|t| t.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "create",
                "submit",
                "comment",
                "return",
                "draft",
                "submit",
                "forward",
                "check_format",
                "approve",
                "sign_personal",
                "clerk_check",
                "number",
                "org_sign",
                "register",
                "dispatch",
                "copy",
                "recall"
            ]
        );
        // Every version's bytes come back exactly.
        for v in &detail.versions {
            let (_, bytes) = docs::version_file(s, &blobs, &p.drafter, d.id, v.seq)
                .await
                .unwrap();
            assert_eq!(bytes.len() as i64, v.size);
        }
        // Every step is in the audit log, in order, with the actor.
        let auditor = Actor {
            grants: vec![Grant {
                role: Role::Auditor,
                ..p.admin.grants[0].clone()
            }],
            ..p.clerk.clone()
        };
        let entries = audit::list(
            s,
            &auditor,
            &audit::Filter {
                action_prefix: Some("document.".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let logged: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(logged.len(), 18, "{logged:?}");
        assert_eq!(logged[0], "document.register_create");
        assert_eq!(logged[17], "document.recall");
        assert!(entries.iter().any(|e| e.action == "document.org_sign"
            && e.actor == "vanthu"
            && e.detail.contains("\"number\":1")));
        // Nothing more happens to it.
        assert!(matches!(
            docs::act(
                s,
                &blobs,
                &p.clerk,
                d.id,
                DocAction::Dispatch,
                &StepInput::default(),
                NOW
            )
            .await,
            Err(Error::Conflict { field: "state", .. })
        ));
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

#[tokio::test]
async fn each_refusal_is_typed_and_writes_nothing() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);

        // A secret document is refused at upload, whatever else it holds.
        for level in [Secrecy::Confidential, Secrecy::Secret, Secrecy::TopSecret] {
            let meta = DocumentMeta {
                confidentiality: level,
                ..decision(&[])
            };
            let e = docs::create_document(s, &blobs, &p.drafter, &upload(&p, meta), NOW)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Invalid {
                        field: "confidentiality",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        // Not a PDF.
        let mut not_pdf = upload(&p, decision(&[]));
        not_pdf.file = b"PK\x03\x04 docx".to_vec();
        assert!(matches!(
            docs::create_document(s, &blobs, &p.drafter, &not_pdf, NOW).await,
            Err(Error::Invalid { field: "file", .. })
        ));
        // Only a drafter drafts; another agency's clerk does not even see the agency.
        assert!(matches!(
            docs::create_document(s, &blobs, &p.clerk, &upload(&p, decision(&[])), NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            docs::create_document(s, &blobs, &p.finance_clerk, &upload(&p, decision(&[])), NOW)
                .await,
            Err(Error::NotFound {
                what: Record::Agency
            })
        ));
        // A designated signer must hold signing authority at the agency.
        let mut wrong_signer = upload(&p, decision(&[]));
        wrong_signer.signer_id = Some(p.clerk.user_id);
        assert!(matches!(
            docs::create_document(s, &blobs, &p.drafter, &wrong_signer, NOW).await,
            Err(Error::Invalid {
                field: "signer_id",
                ..
            })
        ));

        let d = docs::create_document(s, &blobs, &p.drafter, &upload(&p, decision(&[])), NOW)
            .await
            .unwrap();
        let act = |who: &Actor, action: DocAction, input: StepInput| {
            let (who, blobs) = (who.clone(), blobs.clone());
            async move { docs::act(s, &blobs, &who, d.id, action, &input, NOW).await }
        };
        // No step is skipped: the flow refuses before any role is looked at.
        assert!(matches!(
            act(&p.clerk, DocAction::Number, StepInput::default()).await,
            Err(Error::Conflict { field: "state", .. })
        ));
        go(s, &blobs, &p.drafter, d.id, DocAction::Submit).await;
        // Wrong role: the drafter cannot forward their own draft, a reviewer of another agency
        // cannot see it.
        assert!(matches!(
            act(&p.drafter, DocAction::Forward, StepInput::default()).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            act(&p.finance_clerk, DocAction::Forward, StepInput::default()).await,
            Err(Error::NotFound {
                what: Record::Document
            })
        ));
        // A return needs its reason.
        assert!(matches!(
            act(&p.reviewer, DocAction::Return, reason("  ")).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        go(s, &blobs, &p.reviewer, d.id, DocAction::Forward).await;
        go(s, &blobs, &p.checker, d.id, DocAction::CheckFormat).await;
        // The administrator of the whole province may review but never sign for an agency.
        assert!(matches!(
            act(&p.admin, DocAction::Approve, StepInput::default()).await,
            Err(Error::Forbidden)
        ));
        go(s, &blobs, &p.signer, d.id, DocAction::Approve).await;
        // Only the signer who approved signs (a key of another person is refused).
        let deputy = person(s, "phogiamdoc", &p.dost, Role::Signer).await;
        let (_, input) = signed(DRAFT, "phogiamdoc");
        assert!(matches!(
            act(&deputy, DocAction::SignPersonal, input).await,
            Err(Error::Forbidden)
        ));
        // The signature step needs a file that keeps the draft byte for byte.
        assert!(matches!(
            act(&p.signer, DocAction::SignPersonal, StepInput::default()).await,
            Err(Error::Invalid { field: "file", .. })
        ));
        let forged = StepInput {
            file: Some(b"%PDF-1.7\n% another text, signed\n".to_vec()),
            ..Default::default()
        };
        assert!(matches!(
            act(&p.signer, DocAction::SignPersonal, forged).await,
            Err(Error::Invalid { field: "file", .. })
        ));
        let (personal, input) = signed(DRAFT, "giamdoc");
        act(&p.signer, DocAction::SignPersonal, input)
            .await
            .unwrap();
        // The organization key: only the agency's own clerk, never the administrator or a
        // clerk of another agency.
        for who in [&p.admin, &p.signer] {
            assert!(matches!(
                act(who, DocAction::ClerkCheck, StepInput::default()).await,
                Err(Error::Forbidden)
            ));
        }
        assert!(matches!(
            act(
                &p.finance_clerk,
                DocAction::ClerkCheck,
                StepInput::default()
            )
            .await,
            Err(Error::NotFound { .. })
        ));
        go(s, &blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
        go(s, &blobs, &p.clerk, d.id, DocAction::Number).await;
        // A signed file showing another document's number is refused (reused number).
        let (_, mut input) = signed(&personal, "vanthu");
        input.shown_number = Some(7);
        assert!(matches!(
            act(&p.clerk, DocAction::OrgSign, input).await,
            Err(Error::Conflict {
                field: "number",
                ..
            })
        ));
        // A step out of order is refused whatever comes with it.
        let (_, input) = signed(&personal, "vanthu");
        assert!(matches!(
            act(&p.clerk, DocAction::Register, input).await,
            Err(Error::Conflict { field: "state", .. })
        ));
        // Nothing of the refusals was written: the document waits with its one number.
        let detail = docs::get_document(s, &p.clerk, d.id).await.unwrap();
        assert_eq!(detail.document.state, DocState::Numbered);
        assert_eq!(detail.document.number, Some(1));
        assert_eq!(detail.versions.len(), 2);
        // The database itself refuses a second row with the same number and notation.
        let dup = kyso_store::sqlx::query(
            "INSERT INTO doc_numbers (register_id, year, number, agency_id, status, document_id, \
             notation, changed_at) VALUES ($1, 2026, 1, $2, 'issued', NULL, 'QĐ-SKHCN', 0)",
        )
        .bind(p.register)
        .bind(p.dost.id)
        .execute(s.pool())
        .await;
        assert!(
            dup.is_err(),
            "the primary key and unique index refuse a reused number"
        );
        // Registers: one series per type.
        assert!(matches!(
            docs::create_register(
                s,
                &p.clerk,
                &RegisterInput {
                    agency_id: p.dost.id,
                    code: "VBĐ2".into(),
                    name: "Sổ thứ hai".into(),
                    issuer_abbrev: "SKHCN".into(),
                    doc_types: Vec::new(),
                },
                NOW
            )
            .await,
            Err(Error::Conflict {
                field: "doc_types",
                ..
            })
        ));
        // An agency without a register cannot take documents yet.
        let fin_drafter = person(s, "chuyenvien.tc", &p.finance, Role::Drafter).await;
        let mut fin = upload(&p, decision(&[]));
        fin.agency_id = p.finance.id;
        assert!(matches!(
            docs::create_document(s, &blobs, &fin_drafter, &fin, NOW).await,
            Err(Error::Invalid {
                field: "register",
                ..
            })
        ));
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

#[tokio::test]
async fn a_released_number_comes_back_first_and_each_year_starts_at_one() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, p) = (&db.store, province(&db.store).await);
        // A second register for reports: its own series.
        let reports = docs::create_register(
            s,
            &p.clerk,
            &RegisterInput {
                agency_id: p.dost.id,
                code: "BC".into(),
                name: "Sổ báo cáo".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: vec![DocType::BaoCao],
            },
            NOW,
        )
        .await
        .unwrap();
        let (a, a_bytes) = to_clerk(s, &blobs, &p, &p.signer).await;
        let (bb, b_bytes) = to_clerk(s, &blobs, &p, &p.signer).await;
        let number = |id: i64, at: OffsetDateTime| {
            let blobs = blobs.clone();
            let clerk = p.clerk.clone();
            async move {
                docs::act(
                    s,
                    &blobs,
                    &clerk,
                    id,
                    DocAction::Number,
                    &StepInput::default(),
                    at,
                )
                .await
                .unwrap()
                .number
                .unwrap()
            }
        };
        assert_eq!(number(a, NOW).await, 1);
        assert_eq!(number(bb, NOW).await, 2);
        let out = docs::act(
            s,
            &blobs,
            &p.clerk,
            a,
            DocAction::ReleaseNumber,
            &reason("Ký số cơ quan không thành công: token bị rút"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(out.number, Some(1));
        assert_eq!(state(s, a).await, DocState::ClerkChecked);
        let (_, input) = signed(&b_bytes, "vanthu");
        docs::act(s, &blobs, &p.clerk, bb, DocAction::OrgSign, &input, NOW)
            .await
            .unwrap();
        // The released 1 is the next number given.
        let (c, _) = to_clerk(s, &blobs, &p, &p.signer).await;
        assert_eq!(number(c, NOW).await, 1);
        assert_eq!(number(a, NOW).await, 3);
        let (_, input) = signed(&a_bytes, "vanthu");
        docs::act(s, &blobs, &p.clerk, a, DocAction::OrgSign, &input, NOW)
            .await
            .unwrap();
        let releases = docs::get_document(s, &p.clerk, a)
            .await
            .unwrap()
            .number_releases;
        assert_eq!(releases.len(), 1);
        assert!(releases[0].reason.contains("token"));
        let numbers = docs::register_numbers(s, &p.clerk, p.register, 2026)
            .await
            .unwrap();
        let got: Vec<(i64, &str)> = numbers.iter().map(|(n, st, _)| (*n, st.as_str())).collect();
        assert_eq!(got, [(1, "reserved"), (2, "issued"), (3, "issued")]);
        // A report goes into its own register, from 1.
        let mut report = upload(
            &p,
            DocumentMeta {
                doc_type: DocType::BaoCao,
                ..decision(&[])
            },
        );
        report.signer_id = Some(p.signer.user_id);
        let r = docs::create_document(s, &blobs, &p.drafter, &report, NOW)
            .await
            .unwrap();
        assert_eq!(r.register_id, reports.id);
        // New year (Vietnam time): 00:30 on 1 January 2027 starts at 1 again.
        let (d, _) = to_clerk(s, &blobs, &p, &p.signer).await;
        let new_year = datetime!(2026-12-31 17:30 UTC);
        assert_eq!(number(d, new_year).await, 1);
        let doc = docs::get_document(s, &p.clerk, d).await.unwrap().document;
        assert_eq!(
            (doc.number_year, doc.issued_date.as_deref()),
            (Some(2027), Some("2027-01-01"))
        );
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

/// 50 clerks of one agency number and organization-sign 50 documents at once (one in ten
/// first gives its number back and takes another); on PostgreSQL half of them go through a
/// second store, as a second `kyso serve` node would. The issued numbers are exactly 1…50.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_clerks_get_no_duplicate_and_no_gap() {
    const CLERKS: usize = 50;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(&db.store).await;
        let s = &db.store;
        let mut work = Vec::new();
        for i in 0..CLERKS {
            let clerk = person(s, &format!("vanthu{i:02}"), &p.dost, Role::Clerk).await;
            let (id, bytes) = to_clerk(s, &blobs, &p, &p.signer).await;
            work.push((clerk, id, bytes));
        }
        let second = match b {
            Backend::Postgres => Store::open(&db.url).await.unwrap(),
            Backend::Sqlite => db.store.clone(),
        };
        let stores = Arc::new([db.store.clone(), second]);
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for (i, (clerk, id, bytes)) in work.into_iter().enumerate() {
            let (stores, blobs) = (stores.clone(), blobs.clone());
            tasks.push(tokio::spawn(async move {
                let store = &stores[i % 2];
                let t0 = std::time::Instant::now();
                let number = |store: &Store| {
                    let (blobs, clerk) = (blobs.clone(), clerk.clone());
                    let store = store.clone();
                    async move {
                        docs::act(
                            &store,
                            &blobs,
                            &clerk,
                            id,
                            DocAction::Number,
                            &StepInput::default(),
                            NOW,
                        )
                        .await
                        .unwrap()
                        .number
                        .unwrap()
                    }
                };
                let mut n = number(store).await;
                if i % 10 == 3 {
                    docs::act(
                        store,
                        &blobs,
                        &clerk,
                        id,
                        DocAction::ReleaseNumber,
                        &reason("Thiết bị ký số không phản hồi"),
                        NOW,
                    )
                    .await
                    .unwrap();
                    n = number(store).await;
                }
                let (_, mut input) = signed(&bytes, &clerk.username);
                input.shown_number = Some(u32::try_from(n).unwrap());
                docs::act(store, &blobs, &clerk, id, DocAction::OrgSign, &input, NOW)
                    .await
                    .unwrap();
                (id, n, t0.elapsed())
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        let mut numbers: Vec<i64> = results.iter().map(|(_, n, _)| *n).collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=CLERKS as i64).collect::<Vec<_>>(),
            "no duplicate, no gap"
        );
        let rows = docs::register_numbers(s, &p.clerk, p.register, 2026)
            .await
            .unwrap();
        assert_eq!(rows.len(), CLERKS);
        assert!(rows
            .iter()
            .all(|(_, st, doc)| st == "issued" && doc.is_some()));
        for (id, n, _) in &results {
            let doc = docs::get_document(s, &p.clerk, *id).await.unwrap().document;
            assert_eq!((doc.state, doc.number), (DocState::OrgSigned, Some(*n)));
        }
        let mut lat: Vec<_> = results.iter().map(|(_, _, d)| *d).collect();
        lat.sort_unstable();
        println!(
            "{b:?}: {CLERKS} clerks, {} transactions (number, 5 releases and renumbers, \
             organization signature) in {:.0} ms ({:.0} documents/s); per clerk p50 {:.0} ms, \
             max {:.0} ms",
            CLERKS * 2 + 10,
            elapsed.as_secs_f64() * 1000.0,
            CLERKS as f64 / elapsed.as_secs_f64(),
            lat[CLERKS / 2].as_secs_f64() * 1000.0,
            lat[CLERKS - 1].as_secs_f64() * 1000.0,
        );
        if b == Backend::Postgres {
            stores[1].close().await;
            db.store.close().await;
        }
    }
}

/// Steps of many clerks share commits (`Store::begin_write_grouped`): a step refused inside its
/// transaction — a seal over another number, found after the write lock was taken — is undone
/// alone while the steps grouped with it before and after commit; every number is given once,
/// in order, and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_step_refused_inside_a_group_of_writes_is_undone_alone() {
    const DOCS: usize = 24;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(&db.store).await;
        let s = &db.store;
        let mut work = Vec::new();
        for _ in 0..DOCS {
            work.push(to_clerk(s, &blobs, &p, &p.signer).await);
        }
        let mut tasks = Vec::new();
        for (i, (id, bytes)) in work.into_iter().enumerate() {
            let (store, blobs, clerk) = (s.clone(), blobs.clone(), p.clerk.clone());
            tasks.push(tokio::spawn(async move {
                let n = docs::act(
                    &store,
                    &blobs,
                    &clerk,
                    id,
                    DocAction::Number,
                    &StepInput::default(),
                    NOW,
                )
                .await
                .unwrap()
                .number
                .unwrap();
                let (_, mut input) = signed(&bytes, &clerk.username);
                // Every third clerk's file shows another number: refused inside the lock.
                let wrong = i % 3 == 1;
                input.shown_number = Some(u32::try_from(if wrong { n + 1000 } else { n }).unwrap());
                let sealed =
                    docs::act(&store, &blobs, &clerk, id, DocAction::OrgSign, &input, NOW).await;
                (id, n, wrong, sealed)
            }));
        }
        let mut numbers = Vec::new();
        for t in tasks {
            let (id, n, wrong, sealed) = t.await.unwrap();
            numbers.push(n);
            let doc = docs::get_document(s, &p.clerk, id).await.unwrap().document;
            if wrong {
                assert!(
                    matches!(
                        sealed,
                        Err(Error::Conflict {
                            field: "number",
                            ..
                        })
                    ),
                    "{sealed:?}"
                );
                assert_eq!(
                    (doc.state, doc.number),
                    (DocState::Numbered, Some(n)),
                    "the refused seal left nothing behind"
                );
            } else {
                assert_eq!(sealed.unwrap().number, Some(n));
                assert_eq!((doc.state, doc.number), (DocState::OrgSigned, Some(n)));
            }
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=DOCS as i64).collect::<Vec<_>>());
        let rows = docs::register_numbers(s, &p.clerk, p.register, 2026)
            .await
            .unwrap();
        let issued = rows.iter().filter(|(_, st, _)| st == "issued").count();
        assert_eq!(issued, (0..DOCS).filter(|i| i % 3 != 1).count());
        audit::verify(s).await.unwrap().unwrap();
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

/// A step's writes and its audit entry go as one statement on PostgreSQL (one after the other
/// on SQLite), the entry computed on every notice being written and on the version's expected
/// number. When a notice is not written (the drafter's account disabled), the entry is appended
/// after the step's writes with what they did: it says `notified: 0`, the next steps chain on
/// it, and the whole log verifies.
#[tokio::test]
async fn a_step_whose_notice_is_not_written_is_audited_with_what_was() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(&db.store).await;
        let s = &db.store;
        let (id, bytes) = to_clerk(s, &blobs, &p, &p.signer).await;
        let (other, _) = to_clerk(s, &blobs, &p, &p.signer).await;
        let disable =
            |on: bool| kyso_store::accounts::set_disabled(s, &p.admin, p.drafter.user_id, on, NOW);
        disable(true).await.unwrap();
        let step = |id: i64, action: DocAction, input: StepInput| {
            let (blobs, clerk) = (blobs.clone(), p.clerk.clone());
            async move {
                docs::act(s, &blobs, &clerk, id, action, &input, NOW)
                    .await
                    .unwrap()
            }
        };
        let n = step(id, DocAction::Number, StepInput::default())
            .await
            .number
            .unwrap();
        let (_, mut input) = signed(&bytes, &p.clerk.username);
        input.shown_number = Some(u32::try_from(n).unwrap());
        let sealed = step(id, DocAction::OrgSign, input).await;
        step(id, DocAction::Register, StepInput::default()).await;
        disable(false).await.unwrap();
        step(other, DocAction::Number, StepInput::default()).await;
        let details: Vec<(String, String)> = sqlx_rows(
            s,
            "SELECT action, detail FROM audit_log WHERE object IN ($1, $2) \
             AND action IN ('document.number', 'document.org_sign', 'document.register') \
             ORDER BY seq",
            id,
            other,
        )
        .await;
        let detail =
            |i: usize| -> serde_json::Value { serde_json::from_str(&details[i].1).unwrap() };
        assert_eq!(details.len(), 4, "{b:?}: {details:?}");
        assert_eq!(
            (detail(0)["number"].clone(), detail(0)["notified"].clone()),
            (serde_json::json!(n), serde_json::json!(0)),
            "{b:?}: the drafter, disabled, was not told of the number"
        );
        assert_eq!(
            detail(1)["version"],
            serde_json::json!(sealed.version.unwrap())
        );
        assert_eq!(detail(1)["notified"], serde_json::json!(0));
        assert_eq!(detail(2)["notified"], serde_json::json!(0));
        assert_eq!(
            detail(3)["notified"],
            serde_json::json!(1),
            "{b:?}: enabled again, the drafter is told"
        );
        let told: i64 = kyso_store::sqlx::query_scalar(
            "SELECT COUNT(*) FROM notices WHERE user_id = $1 AND document_id IN ($2, $3) \
             AND event IN ('number', 'org_sign', 'register')",
        )
        .bind(p.drafter.user_id)
        .bind(id)
        .bind(other)
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(told, 1, "{b:?}");
        audit::verify(s).await.unwrap().unwrap();
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

async fn sqlx_rows(store: &Store, sql: &str, a: i64, b: i64) -> Vec<(String, String)> {
    use kyso_store::sqlx::Row as _;
    kyso_store::sqlx::query(sql)
        .bind(format!("document:{a}"))
        .bind(format!("document:{b}"))
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}
