//! The signer of an outgoing document (issue 17 items 1, 2, 10): chosen at drafting among the
//! agency's signers (by full name and registry title), the approval theirs alone, a signature
//! handed over only by them as a recorded delegation (KT./TL./TUQ.), and the timeline naming
//! people by full name and title — on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::{
    DocAction, DocState, DocType, DocumentMeta, SignAuthority, SignerBlock,
};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, Delegation, NewDocument, RegisterInput, StepInput};
use kyso_store::registry::{self, AgencyInput, SubscriberInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Backend, Error, Grant, Store};
use time::macros::datetime;
use time::OffsetDateTime;
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
const DRAFT: &[u8] = b"%PDF-1.7\n% draft\n%%EOF\n";

async fn agency(store: &Store, code: &str, parent: Option<i64>) -> (i64, String) {
    let a = registry::create_agency(
        store,
        &Actor::system(),
        &AgencyInput {
            code: code.into(),
            name: format!("Cơ quan {code}"),
            kind: if parent.is_some() {
                "department"
            } else {
                "province"
            }
            .into(),
            parent_id: parent,
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    (a.id, a.path)
}

/// An account named `full_name` with `role` at the agency, and — when `title` is given — its
/// individual subscriber in the registry with the same e-mail and that title.
async fn person(
    store: &Store,
    login: &str,
    full_name: &str,
    title: Option<&str>,
    at: &(i64, String),
    role: Role,
) -> Actor {
    let email = format!("{login}@demo.invalid");
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: login.into(),
            full_name: full_name.into(),
            email: email.clone(),
            agency_id: at.0,
            password: Zeroizing::new("mat-khau-dai-12345-Ab".into()),
            roles: vec![RoleOn {
                role: role.as_str().into(),
                agency_id: at.0,
            }],
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    if let Some(title) = title {
        registry::create_subscriber(
            store,
            &Actor::system(),
            &SubscriberInput {
                kind: "individual".into(),
                agency_id: at.0,
                name: full_name.into(),
                date_of_birth: String::new(),
                id_number: String::new(),
                email,
                title: title.into(),
                unit: String::new(),
                phone: String::new(),
            },
            NOW,
        )
        .await
        .unwrap();
    }
    Actor {
        user_id: user.id,
        username: login.into(),
        grants: vec![Grant {
            role,
            agency_id: at.0,
            path: at.1.clone(),
        }],
        source: "127.0.0.1".into(),
    }
}

struct Office {
    agency: i64,
    drafter: Actor,
    reviewer: Actor,
    checker: Actor,
    director: Actor,
    deputy: Actor,
    other_signer: Actor,
    clerk: Actor,
    outsider: Actor,
}

async fn office(store: &Store) -> Office {
    let root = agency(store, "H99", None).await;
    let dost = agency(store, "H99.37", Some(root.0)).await;
    let finance = agency(store, "H99.05", Some(root.0)).await;
    let clerk = person(store, "vanthu", "Lê Thị Hoa", None, &dost, Role::Clerk).await;
    docs::create_register(
        store,
        &clerk,
        &RegisterInput {
            agency_id: dost.0,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    Office {
        agency: dost.0,
        drafter: person(
            store,
            "chuyenvien",
            "Phạm Văn Dũng",
            None,
            &dost,
            Role::Drafter,
        )
        .await,
        reviewer: person(
            store,
            "chanhvanphong",
            "Đỗ Thị Mai",
            Some("Chánh Văn phòng"),
            &dost,
            Role::Reviewer,
        )
        .await,
        checker: person(
            store,
            "thethuc",
            "Vũ Văn Hải",
            None,
            &dost,
            Role::FormatChecker,
        )
        .await,
        director: person(
            store,
            "giamdoc",
            "Nguyễn Văn An",
            Some("Giám đốc"),
            &dost,
            Role::Signer,
        )
        .await,
        deputy: person(
            store,
            "phogiamdoc",
            "Trần Thị Bình",
            Some("Phó Giám đốc"),
            &dost,
            Role::Signer,
        )
        .await,
        other_signer: person(store, "kyso3", "Lê Văn Cường", None, &dost, Role::Signer).await,
        outsider: person(
            store,
            "vanthu.tc",
            "Hồ Văn Tài",
            None,
            &finance,
            Role::Clerk,
        )
        .await,
        clerk,
    }
}

/// A decision whose signer block is left for the accounts to fill.
fn decision(authority: SignAuthority, principal_id: Option<i64>) -> DocumentMeta {
    DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: "Về việc ban hành Quy chế văn thư".into(),
        place: "Demo".into(),
        signer: SignerBlock {
            authority,
            principal_id,
            ..Default::default()
        },
        page_count: Some(1),
        ..Default::default()
    }
}

async fn create(
    store: &Store,
    blobs: &Blobs,
    o: &Office,
    signer: Option<&Actor>,
    meta: DocumentMeta,
) -> Result<docs::Document, Error> {
    docs::create_document(
        store,
        blobs,
        &o.drafter,
        &NewDocument {
            agency_id: o.agency,
            meta,
            signer_id: signer.map(|a| a.user_id),
            file_name: "du-thao.pdf".into(),
            file: DRAFT.to_vec(),
        },
        NOW,
    )
    .await
}

async fn go(
    store: &Store,
    blobs: &Blobs,
    who: &Actor,
    id: i64,
    action: DocAction,
) -> Result<(), Error> {
    docs::act(store, blobs, who, id, action, &StepInput::default(), NOW)
        .await
        .map(|_| ())
}

/// Submitted, forwarded and format-checked: waiting for approval.
async fn to_approval(store: &Store, blobs: &Blobs, o: &Office, id: i64) {
    go(store, blobs, &o.drafter, id, DocAction::Submit)
        .await
        .unwrap();
    go(store, blobs, &o.reviewer, id, DocAction::Forward)
        .await
        .unwrap();
    go(store, blobs, &o.checker, id, DocAction::CheckFormat)
        .await
        .unwrap();
}

fn kt(delegate: &Actor) -> Delegation {
    Delegation {
        delegate_id: delegate.user_id,
        authority: SignAuthority::Kt,
        reason: "Giám đốc đi công tác".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_signer_is_chosen_at_drafting_by_name_and_title() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, o) = (&db.store, office(&db.store).await);

        // The agency's signers, by name, with their registry titles.
        let list = docs::agency_signers(s, &o.drafter, o.agency).await.unwrap();
        let labels: Vec<String> = list.iter().map(docs::SignerChoice::label).collect();
        assert_eq!(
            labels,
            [
                "Lê Văn Cường",
                "Nguyễn Văn An (Giám đốc)",
                "Trần Thị Bình (Phó Giám đốc)"
            ]
        );
        assert_eq!(list[1].user_id, o.director.user_id);
        assert!(matches!(
            docs::agency_signers(s, &o.outsider, o.agency).await,
            Err(Error::NotFound { .. })
        ));

        // Signing directly: the printed name and title come from the account and the registry.
        let d = create(
            s,
            &blobs,
            &o,
            Some(&o.director),
            decision(SignAuthority::Direct, None),
        )
        .await
        .unwrap();
        assert_eq!(d.signer_id, Some(o.director.user_id));
        assert_eq!(d.meta.signer.name, "Nguyễn Văn An");
        assert_eq!(d.meta.signer.title_lines(), ["GIÁM ĐỐC"]);

        // KT.: the deputy signs for the director, both recorded.
        let k = create(
            s,
            &blobs,
            &o,
            Some(&o.deputy),
            decision(SignAuthority::Kt, Some(o.director.user_id)),
        )
        .await
        .unwrap();
        assert_eq!(k.signer_id, Some(o.deputy.user_id));
        assert_eq!(k.meta.signer.principal_id, Some(o.director.user_id));
        assert_eq!(k.meta.signer.principal_name, "Nguyễn Văn An");
        assert_eq!(
            k.meta.signer.title_lines(),
            ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
        );
        assert_eq!(k.meta.signer.name, "Trần Thị Bình");

        // Refusals, each naming its field; nothing is stored.
        let field = |r: Result<docs::Document, Error>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    Some(&o.drafter),
                    decision(SignAuthority::Direct, None)
                )
                .await
            ),
            "signer_id",
            "a drafter has no signing authority"
        );
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    Some(&o.outsider),
                    decision(SignAuthority::Direct, None)
                )
                .await
            ),
            "signer_id",
            "another agency's person"
        );
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    Some(&o.deputy),
                    decision(SignAuthority::Direct, Some(o.director.user_id))
                )
                .await
            ),
            "signer.principal_id",
            "a principal only with KT./TL./TUQ."
        );
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    Some(&o.director),
                    decision(SignAuthority::Kt, Some(o.director.user_id))
                )
                .await
            ),
            "signer.principal_id",
            "nobody signs for themselves"
        );
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    None,
                    decision(SignAuthority::Kt, Some(o.director.user_id))
                )
                .await
            ),
            "signer_id",
            "a delegation names who signs"
        );
        assert_eq!(
            field(
                create(
                    s,
                    &blobs,
                    &o,
                    Some(&o.deputy),
                    decision(SignAuthority::Tl, Some(o.drafter.user_id))
                )
                .await
            ),
            "signer.principal_id",
            "the person signed for is a signer of the agency"
        );
        let all = docs::list_documents(s, &o.drafter, &Default::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 2);

        // The approval belongs to the intended signer: another signer, or the director whose
        // deputy signs KT., is refused; the queue shows it only to its signer.
        to_approval(s, &blobs, &o, d.id).await;
        to_approval(s, &blobs, &o, k.id).await;
        for (id, who) in [
            (d.id, &o.other_signer),
            (d.id, &o.deputy),
            (k.id, &o.director),
        ] {
            assert!(
                matches!(
                    go(s, &blobs, who, id, DocAction::Approve).await,
                    Err(Error::Forbidden)
                ),
                "{} on {id}",
                who.username
            );
        }
        let mine = |who: &Actor| {
            let who = who.clone();
            async move {
                docs::list_documents(
                    s,
                    &who,
                    &docs::DocumentQuery {
                        mine: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(mine(&o.director).await, [d.id]);
        assert_eq!(mine(&o.deputy).await, [k.id]);
        assert!(mine(&o.other_signer).await.is_empty());
        go(s, &blobs, &o.deputy, k.id, DocAction::Approve)
            .await
            .unwrap();
        go(s, &blobs, &o.director, d.id, DocAction::Approve)
            .await
            .unwrap();
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}

#[tokio::test]
async fn only_the_intended_signer_hands_the_signature_over_and_it_is_recorded() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let (s, o) = (&db.store, office(&db.store).await);
        let d = create(
            s,
            &blobs,
            &o,
            Some(&o.director),
            decision(SignAuthority::Direct, None),
        )
        .await
        .unwrap();
        to_approval(s, &blobs, &o, d.id).await;

        let refusal = |r: Result<docs::Document, Error>| match r {
            Err(Error::Invalid { field, .. }) => field.to_owned(),
            Err(Error::Forbidden) => "forbidden".to_owned(),
            Err(Error::Conflict { field, .. }) => format!("conflict {field}"),
            Err(Error::NotFound { .. }) => "not found".to_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        // Nobody but the intended signer takes it over, not even another signer of the agency
        // naming themselves; not a drafter; not someone of another agency.
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.deputy, d.id, &kt(&o.deputy), NOW).await),
            "forbidden"
        );
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.drafter, d.id, &kt(&o.deputy), NOW).await),
            "forbidden"
        );
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.outsider, d.id, &kt(&o.deputy), NOW).await),
            "not found"
        );
        // The director: only in a delegated form, only to another signer of the agency.
        let direct = Delegation {
            authority: SignAuthority::Direct,
            ..kt(&o.deputy)
        };
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.director, d.id, &direct, NOW).await),
            "authority"
        );
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.director, d.id, &kt(&o.drafter), NOW).await),
            "delegate_id"
        );
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.director, d.id, &kt(&o.director), NOW).await),
            "delegate_id"
        );

        let after = docs::delegate_signing(s, &o.director, d.id, &kt(&o.deputy), NOW)
            .await
            .unwrap();
        assert_eq!(after.state, DocState::FormatChecked);
        assert_eq!(after.signer_id, Some(o.deputy.user_id));
        assert_eq!(after.meta.signer.authority, SignAuthority::Kt);
        assert_eq!(after.meta.signer.principal_id, Some(o.director.user_id));
        assert_eq!(after.meta.signer.principal_name, "Nguyễn Văn An");
        assert_eq!(after.meta.signer.name, "Trần Thị Bình");
        assert_eq!(
            after.meta.signer.title_lines(),
            ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
        );
        // The personal signature is now the deputy's: the director no longer approves; the
        // deputy does not pass it on.
        assert!(matches!(
            go(s, &blobs, &o.director, d.id, DocAction::Approve).await,
            Err(Error::Forbidden)
        ));
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.deputy, d.id, &kt(&o.other_signer), NOW).await),
            "forbidden"
        );
        go(s, &blobs, &o.deputy, d.id, DocAction::Approve)
            .await
            .unwrap();

        // After approval it is too late to hand it over.
        let late = create(
            s,
            &blobs,
            &o,
            Some(&o.director),
            decision(SignAuthority::Direct, None),
        )
        .await
        .unwrap();
        to_approval(s, &blobs, &o, late.id).await;
        go(s, &blobs, &o.director, late.id, DocAction::Approve)
            .await
            .unwrap();
        assert_eq!(
            refusal(docs::delegate_signing(s, &o.director, late.id, &kt(&o.deputy), NOW).await),
            "conflict state"
        );

        // The timeline names people by full name and registry title; the delegation is in it.
        let detail = docs::get_document(s, &o.drafter, d.id).await.unwrap();
        let seen: Vec<(&str, &str)> = detail
            .timeline
            .iter()
            .map(|t| (t.action.as_str(), t.actor_display.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("create", "Phạm Văn Dũng"),
                ("submit", "Phạm Văn Dũng"),
                ("forward", "Đỗ Thị Mai (Chánh Văn phòng)"),
                ("check_format", "Vũ Văn Hải"),
                ("delegate", "Nguyễn Văn An (Giám đốc)"),
                ("approve", "Trần Thị Bình (Phó Giám đốc)"),
            ]
        );
        let delegation = &detail.timeline[4];
        assert_eq!(delegation.actor, "giamdoc");
        assert_eq!(delegation.title, "Giám đốc");
        assert!(
            delegation.note.contains("KT. GIÁM ĐỐC")
                && delegation.note.contains("Trần Thị Bình")
                && delegation.note.contains("Giám đốc đi công tác"),
            "{}",
            delegation.note
        );
        // And in the audit log, with both accounts and the form.
        let auditor = Actor {
            grants: vec![Grant {
                role: Role::Auditor,
                ..o.clerk.grants[0].clone()
            }],
            ..o.clerk.clone()
        };
        let entries = audit::list(
            s,
            &auditor,
            &audit::Filter {
                action_prefix: Some("document.delegate".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let detail: serde_json::Value = serde_json::from_str(&entries[0].detail).unwrap();
        assert_eq!(detail["delegate_id"], o.deputy.user_id, "{detail}");
        assert_eq!(detail["principal_id"], o.director.user_id, "{detail}");
        assert_eq!(detail["authority"], "kt", "{detail}");
        if b == Backend::Postgres {
            db.store.close().await;
        }
    }
}
