//! One-time signing tickets (issue 17 item 3) on SQLite and on PostgreSQL: only the person
//! whose signing step it is now gets one, for the latest version; a ticket is claimed by one
//! upload at a time (ten at once: one wins), given back after a refused file a few times at
//! most, never again once settled, and not at all once expired or its account disabled.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignerBlock};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Error, Grant, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
const DRAFT: &[u8] = b"%PDF-1.7\n% draft of a decision\n%%EOF\n";

async fn person(store: &Store, name: &str, agency: (i64, &str), role: Role) -> Actor {
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
            agency_id: agency.0,
            password: Zeroizing::new("mat-khau-dai-12345-Ab".into()),
            roles: vec![RoleOn {
                role: role.as_str().into(),
                agency_id: agency.0,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    Actor {
        user_id: user.id,
        username: name.into(),
        grants: vec![Grant {
            role,
            agency_id: agency.0,
            path: agency.1.to_owned(),
        }],
        source: "127.0.0.1".into(),
    }
}

fn ticket_refusal(e: Error, word: &str) {
    match e {
        Error::Invalid { field, vi, en } => {
            assert_eq!(field, "ticket", "{en}");
            assert!(en.contains(word), "{en} / {vi}");
        }
        other => panic!("not a ticket refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_ticket_is_for_the_step_taker_once() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let root = registry::create_agency(
            store,
            &Actor::system(),
            &AgencyInput {
                code: "H99".into(),
                name: "UBND Tỉnh Demo".into(),
                kind: "province".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let dost = registry::create_agency(
            store,
            &Actor::system(),
            &AgencyInput {
                code: "H99.37".into(),
                name: "Sở Khoa học và Công nghệ".into(),
                kind: "department".into(),
                parent_id: Some(root.id),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let at = (dost.id, dost.path.as_str());
        let clerk = person(store, "vanthu", at, Role::Clerk).await;
        let drafter = person(store, "chuyenvien", at, Role::Drafter).await;
        let reviewer = person(store, "truongphong", at, Role::Reviewer).await;
        let checker = person(store, "thethuc", at, Role::FormatChecker).await;
        let signer = person(store, "giamdoc", at, Role::Signer).await;
        let other_signer = person(store, "phogiamdoc", at, Role::Signer).await;
        docs::create_register(
            store,
            &clerk,
            &RegisterInput {
                agency_id: dost.id,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        let meta = DocumentMeta {
            doc_type: DocType::QuyetDinh,
            subject: "Về việc ban hành Quy chế văn thư".into(),
            place: "Demo".into(),
            signer: SignerBlock {
                title: "Giám đốc".into(),
                name: "Nguyễn Văn An".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let d = docs::create_document(
            store,
            &blobs,
            &drafter,
            &NewDocument {
                agency_id: dost.id,
                meta,
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: DRAFT.to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        let did = d.id;
        let go = |who: &Actor, action: DocAction| {
            let (store, blobs, who) = (store.clone(), blobs.clone(), who.clone());
            async move {
                docs::act(
                    &store,
                    &blobs,
                    &who,
                    did,
                    action,
                    &StepInput::default(),
                    NOW,
                )
                .await
                .unwrap_or_else(|e| panic!("{action}: {e:?}"));
            }
        };
        // Not yet the signing step: nobody gets a ticket.
        assert!(matches!(
            docs::issue_ticket(store, &signer, d.id, DocAction::SignPersonal, NOW).await,
            Err(Error::Conflict { .. })
        ));
        go(&drafter, DocAction::Submit).await;
        go(&reviewer, DocAction::Forward).await;
        go(&checker, DocAction::CheckFormat).await;
        go(&signer, DocAction::Approve).await;

        // Only signing steps; not the drafter; not another signer than the approving one; not
        // the clerk's seal before its time.
        assert!(matches!(
            docs::issue_ticket(store, &signer, d.id, DocAction::Approve, NOW).await,
            Err(Error::Invalid {
                field: "action",
                ..
            })
        ));
        for who in [&drafter, &other_signer] {
            assert!(matches!(
                docs::issue_ticket(store, who, d.id, DocAction::SignPersonal, NOW).await,
                Err(Error::Forbidden)
            ));
        }
        assert!(matches!(
            docs::issue_ticket(store, &clerk, d.id, DocAction::OrgSign, NOW).await,
            Err(Error::Conflict { .. })
        ));

        let t = docs::issue_ticket(store, &signer, d.id, DocAction::SignPersonal, NOW)
            .await
            .unwrap();
        assert_eq!(
            (t.user_id, t.document_id, t.seq, t.action),
            (signer.user_id, d.id, 1, DocAction::SignPersonal)
        );
        assert_eq!(t.jti.len(), 32);
        assert_eq!(t.expires_at - t.issued_at, docs::TICKET_LIFETIME);

        // The download: the holder with the grants the account has now.
        let (held, actor) = docs::ticket_holder(store, &t.jti, "agent", NOW)
            .await
            .unwrap();
        assert_eq!(held, t);
        assert_eq!(actor.user_id, signer.user_id);
        assert!(actor.grants.iter().any(|g| g.role == Role::Signer));
        ticket_refusal(
            docs::ticket_holder(store, &"0".repeat(32), "agent", NOW)
                .await
                .unwrap_err(),
            "not valid",
        );
        ticket_refusal(
            docs::ticket_holder(store, "x'; --", "agent", NOW)
                .await
                .unwrap_err(),
            "not valid",
        );
        let late = NOW + Duration::seconds(docs::TICKET_LIFETIME);
        ticket_refusal(
            docs::ticket_holder(store, &t.jti, "agent", late)
                .await
                .unwrap_err(),
            "expired",
        );
        ticket_refusal(
            docs::claim_ticket(store, &t.jti, "agent", late)
                .await
                .unwrap_err(),
            "expired",
        );

        // Ten uploads at once with one ticket: one holds it.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (store, jti) = (store.clone(), t.jti.clone());
            tasks.push(tokio::spawn(async move {
                docs::claim_ticket(&store, &jti, "agent", NOW).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok((_, a)) => {
                    assert_eq!(a.user_id, signer.user_id);
                    won += 1;
                }
                Err(e) => ticket_refusal(e, "used"),
            }
        }
        assert_eq!(won, 1, "{b:?}");
        ticket_refusal(
            docs::ticket_holder(store, &t.jti, "agent", NOW)
                .await
                .unwrap_err(),
            "used",
        );
        // A refused file gives it back; the MAX_REFUSALS-th refusal spends it.
        for _ in 1..docs::MAX_REFUSALS {
            docs::release_ticket(store, &signer, &t.jti).await.unwrap();
            docs::claim_ticket(store, &t.jti, "agent", NOW)
                .await
                .unwrap();
        }
        docs::release_ticket(store, &signer, &t.jti).await.unwrap();
        ticket_refusal(
            docs::claim_ticket(store, &t.jti, "agent", NOW)
                .await
                .unwrap_err(),
            "used",
        );

        // Settled: used for good, a late release does not give it back.
        let t2 = docs::issue_ticket(store, &signer, d.id, DocAction::SignPersonal, NOW)
            .await
            .unwrap();
        assert_ne!(t2.jti, t.jti);
        docs::claim_ticket(store, &t2.jti, "agent", NOW)
            .await
            .unwrap();
        docs::settle_ticket(store, &signer, &t2.jti, Some(2))
            .await
            .unwrap();
        docs::release_ticket(store, &signer, &t2.jti).await.unwrap();
        ticket_refusal(
            docs::claim_ticket(store, &t2.jti, "agent", NOW)
                .await
                .unwrap_err(),
            "used",
        );

        // A disabled account's tickets end.
        let t3 = docs::issue_ticket(store, &signer, d.id, DocAction::SignPersonal, NOW)
            .await
            .unwrap();
        accounts::set_disabled(store, &Actor::system(), signer.user_id, true, NOW)
            .await
            .unwrap();
        ticket_refusal(
            docs::ticket_holder(store, &t3.jti, "agent", NOW)
                .await
                .unwrap_err(),
            "not valid",
        );
        ticket_refusal(
            docs::claim_ticket(store, &t3.jti, "agent", NOW)
                .await
                .unwrap_err(),
            "not valid",
        );
    }
}
