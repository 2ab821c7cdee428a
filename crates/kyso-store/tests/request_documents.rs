//! A request's letter goes through the outgoing-document flow (issue 17 item 10): made as a
//! công văn of the requesting agency once the request is approved, signed, numbered, sealed,
//! registered — and its dispatch sends the request. Each refusal on the way, on SQLite and on
//! PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::documents::{DocAction as D, DocState, DocType, DocumentMeta, SignerBlock};
use kyso_domain::lifecycle::{RequestAction as A, RequestKind, RequestState as St};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput, VersionKind};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::requests::{self, ActInput, NewItem, NewRequest, RequestRecipients};
use kyso_store::testing::{backends, walk_flow, TestDb};
use kyso_store::{audit, Actor, Error, Store};
use time::macros::datetime;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Monday 1 June 2026.
const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
const DRAFT: &[u8] = b"%PDF-1.7\n% the request letter\n%%EOF\n";

async fn agency(s: &Store, code: &str, name: &str, kind: &str, parent: Option<i64>) -> i64 {
    registry::create_agency(
        s,
        &Actor::system(),
        &AgencyInput {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent_id: parent,
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .id
}

async fn person(s: &Store, name: &str, agency: i64, roles: &[Role]) -> Actor {
    let password = "mat-khau-dai-12345-Ab";
    accounts::create_user(
        s,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
            agency_id: agency,
            password: Zeroizing::new(password.into()),
            roles: roles
                .iter()
                .map(|r| RoleOn {
                    role: r.as_str().into(),
                    agency_id: agency,
                })
                .collect(),
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    accounts::login(s, name, Zeroizing::new(password.into()), "127.0.0.1", NOW)
        .await
        .unwrap()
        .1
}

/// The Department (H99.37) and a centre under it (H99.37.01) whose officer, also a drafter,
/// files a renewal; the Department's officer approves; the centre's leader signs its letters
/// and its clerk issues them.
struct World {
    dept: i64,
    unit: i64,
    officer: Actor,
    officer_only: Actor,
    drafter_only: Actor,
    approver: Actor,
    admin: Actor,
    signer: Actor,
    clerk: Actor,
}

async fn world(s: &Store) -> World {
    let root = agency(s, "H99", "UBND Tỉnh Demo", "province", None).await;
    let dept = agency(
        s,
        "H99.37",
        "Sở Khoa học và Công nghệ",
        "department",
        Some(root),
    )
    .await;
    let unit = agency(
        s,
        "H99.37.01",
        "Trung tâm Chuyển đổi số",
        "unit",
        Some(dept),
    )
    .await;
    World {
        dept,
        unit,
        officer: person(
            s,
            "cb.ttcds",
            unit,
            &[Role::SignatureOfficer, Role::Drafter],
        )
        .await,
        officer_only: person(s, "cb2.ttcds", unit, &[Role::SignatureOfficer]).await,
        drafter_only: person(s, "cv.ttcds", unit, &[Role::Drafter]).await,
        approver: person(s, "cb.so", dept, &[Role::SignatureOfficer]).await,
        admin: person(s, "quantri", root, &[Role::DostAdmin]).await,
        signer: person(s, "giamdoc.ttcds", unit, &[Role::Signer]).await,
        clerk: person(s, "vanthu.ttcds", unit, &[Role::Clerk]).await,
    }
}

/// The unit's clerk opens its outgoing register (every type, notation "…/TTCDS-…").
async fn open_register(s: &Store, w: &World) {
    docs::create_register(
        s,
        &w.clerk,
        &RegisterInput {
            agency_id: w.unit,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "TTCDS".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
}

/// An approved request of the unit (a change of information: no certificate needed).
async fn approved(s: &Store, w: &World) -> i64 {
    let r = requests::create_request(
        s,
        &w.officer,
        &NewRequest {
            kind: RequestKind::IssueOrganization.as_str().into(),
            agency_id: w.unit,
            contact_name: "Lê Thị Hoa".into(),
            items: vec![NewItem {
                data: [
                    ("name", "Trung tâm Chuyển đổi số"),
                    ("address", "Số 1 đường Demo"),
                    ("province", "Demo"),
                    ("email", "ttcds@demo.invalid"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
                ..Default::default()
            }],
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let none = ActInput::default();
    requests::act(s, &w.officer, r.request.id, A::Submit, &none, NOW)
        .await
        .unwrap();
    requests::act(s, &w.approver, r.request.id, A::Approve, &none, NOW)
        .await
        .unwrap();
    r.request.id
}

fn letter(w: &World, recipient: &str) -> NewDocument {
    NewDocument {
        agency_id: w.unit,
        meta: DocumentMeta {
            doc_type: DocType::CongVan,
            subject: "V/v đề nghị cấp chứng thư số cho tổ chức".into(),
            place: "Demo".into(),
            unit_abbrev: "VP".into(),
            recipients: vec![recipient.into()],
            signer: SignerBlock {
                title: "Giám đốc".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        signer_id: Some(w.signer.user_id),
        file_name: "cong-van-de-nghi.pdf".into(),
        file: DRAFT.to_vec(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn field_of(e: &Error) -> Option<&'static str> {
    match e {
        Error::Invalid { field, .. } | Error::Conflict { field, .. } => Some(field),
        _ => None,
    }
}

#[tokio::test]
async fn a_request_is_sent_by_dispatching_its_letter_document() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let w = world(s).await;
        let id = approved(s, &w).await;
        let none = ActInput::default();

        // Sending by hand is refused, and no longer offered.
        let e = requests::act(s, &w.officer, id, A::Send, &none, NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("action"), "{b:?}: {e:?}");
        assert!(e.message(false).contains("công văn đề nghị"), "{e:?}");
        let seen = requests::get_request(s, &w.officer, id, NOW).await.unwrap();
        assert!(!seen.actions.contains(&A::Send), "{:?}", seen.actions);

        // No register for công văn yet, then no recipient set: each says what to do.
        let e = requests::letter_plan(s, &w.officer, id, "VP", NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("register"), "{b:?}: {e:?}");
        open_register(s, &w).await;
        let e = requests::letter_plan(s, &w.officer, id, "VP", NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("recipient"), "{b:?}: {e:?}");
        assert!(e.message(false).contains("Nơi nhận đề nghị"), "{e:?}");

        // Only the Department's administrators set the recipients, as identifier codes.
        let codes = RequestRecipients {
            department: "000.00.37.H99".into(),
            national_ca: "G11.07.05".into(),
        };
        assert!(matches!(
            requests::set_request_recipients(s, &w.officer, &codes, NOW).await,
            Err(Error::Forbidden)
        ));
        let bad = RequestRecipients {
            department: "Sở KH&CN".into(),
            ..Default::default()
        };
        let e = requests::set_request_recipients(s, &w.admin, &bad, NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("department"), "{e:?}");
        let set = requests::set_request_recipients(s, &w.admin, &codes, NOW)
            .await
            .unwrap();
        assert_eq!(set.department, "H99.37", "kept dotted");
        assert_eq!(requests::request_recipients(s).await.unwrap(), set);

        // The letter is made by someone who may both send the request and draft documents.
        for who in [&w.officer_only, &w.drafter_only] {
            let e = requests::letter_plan(s, who, id, "VP", NOW)
                .await
                .unwrap_err();
            assert_eq!(field_of(&e), Some("roles"), "{}: {e:?}", who.username);
            assert!(e.message(false).contains("soạn thảo"), "{e:?}");
        }
        assert!(matches!(
            requests::letter_plan(s, &w.clerk, id, "VP", NOW).await,
            Err(Error::Forbidden)
        ));
        let e = requests::letter_plan(s, &w.officer, id, "", NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("unit_abbrev"), "{e:?}");

        // The plan: the unit's công văn notation, addressed to the handler's code.
        let plan = requests::letter_plan(s, &w.officer, id, "VP", NOW)
            .await
            .unwrap();
        assert_eq!(plan.agency_id, w.unit);
        assert_eq!(plan.notation, "TTCDS-VP");
        let handler = requests::get_request(s, &w.officer, id, NOW)
            .await
            .unwrap()
            .request
            .handler;
        assert_eq!(plan.recipient_code, set.code_for(handler));

        // A letter to somewhere else is not the request's letter.
        let e =
            requests::create_letter_document(s, &blobs, &w.officer, id, &letter(&w, "H99.05"), NOW)
                .await
                .unwrap_err();
        assert_eq!(field_of(&e), Some("document"), "{e:?}");
        let doc = requests::create_letter_document(
            s,
            &blobs,
            &w.officer,
            id,
            &letter(&w, &plan.recipient_code),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(doc.state, DocState::Draft);
        assert_eq!(
            requests::letter_document(s, &w.officer, id, NOW)
                .await
                .unwrap(),
            Some((doc.id, DocState::Draft))
        );
        assert_eq!(
            requests::request_of_document(s, doc.id).await.unwrap(),
            Some(id)
        );
        // One letter per request.
        let e = requests::create_letter_document(
            s,
            &blobs,
            &w.officer,
            id,
            &letter(&w, &plan.recipient_code),
            NOW,
        )
        .await
        .unwrap_err();
        assert_eq!(field_of(&e), Some("request"), "{e:?}");
        assert!(e.message(false).contains(&format!("#{}", doc.id)), "{e:?}");

        // The flow up to registration leaves the request approved.
        let sent_at = datetime!(2026-06-05 15:00 +07:00); // a Friday
        let bytes = walk_flow(
            s,
            &blobs,
            doc.id,
            &[
                (&w.officer, D::Submit),
                (&w.admin, D::Forward),
                (&w.admin, D::CheckFormat),
                (&w.signer, D::Approve),
                (&w.signer, D::SignPersonal),
                (&w.clerk, D::ClerkCheck),
                (&w.clerk, D::Number),
                (&w.clerk, D::OrgSign),
                (&w.clerk, D::Register),
            ],
            DRAFT.to_vec(),
            "cong-van-de-nghi.pdf",
            NOW,
        )
        .await;
        let before = requests::get_request(s, &w.officer, id, NOW).await.unwrap();
        assert_eq!(before.request.state, St::Approved);
        assert_eq!(before.request.letter_sha256, None);

        // Dispatch: the letter leaves and the request is sent with it.
        let out = docs::act(
            s,
            &blobs,
            &w.clerk,
            doc.id,
            D::Dispatch,
            &StepInput::default(),
            sent_at,
        )
        .await
        .unwrap();
        assert_eq!(out.deliveries, 1);
        let d = docs::get_document(s, &w.clerk, doc.id).await.unwrap();
        // An organization's certificate is the national CA's: sent outside the province.
        let sent_to = &d.deliveries[0];
        assert_eq!(
            (
                sent_to.recipient_code.as_str(),
                sent_to.recipient_agency_id,
                sent_to.state.as_str()
            ),
            ("G11.07.05", None, "external")
        );
        let sealed = d
            .versions
            .iter()
            .rev()
            .find(|v| v.kind == VersionKind::OrgSigned)
            .unwrap();
        assert_eq!(sealed.sha256, sha256_hex(&bytes));
        let sent = requests::get_request(s, &w.officer, id, sent_at)
            .await
            .unwrap();
        assert_eq!(sent.request.state, St::Sent, "{b:?}");
        assert_eq!(sent.request.sent_at, Some(sent_at));
        assert_eq!(
            sent.request.letter_sha256.as_deref(),
            Some(sealed.sha256.as_str())
        );
        let days = RequestKind::IssueOrganization.default_deadline_working_days();
        let expected = kyso_domain::calendar::WorkCalendar::from_config(&Default::default())
            .add_working_days(sent_at, days)
            .unix_timestamp();
        assert_eq!(
            sent.request.deadline_at.map(|t| t.unix_timestamp()),
            Some(expected)
        );
        let last = sent.timeline.last().unwrap();
        assert_eq!(
            (
                last.action.as_str(),
                last.from_state.as_str(),
                last.to_state.as_str(),
                last.actor.as_str()
            ),
            ("send", "approved", "sent", "vanthu.ttcds")
        );
        let number = d.document.number_and_notation().unwrap();
        assert!(number.ends_with("/TTCDS-VP"), "{number}");
        assert!(last.note.contains(&number), "{}", last.note);
        assert!(sent
            .timeline
            .iter()
            .any(|e| e.action == "letter_document" && e.actor == "cb.ttcds"));

        // The dispatch's audit entry names the request it sent; the chain holds.
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
        assert_eq!(
            detail["request"]["request_id"],
            serde_json::json!(id),
            "{}",
            log[0].detail
        );
        assert_eq!(
            detail["request"]["sha256"],
            serde_json::json!(sealed.sha256)
        );
        assert!(audit::verify(s).await.unwrap().is_ok());

        // Once sent, no second letter.
        let e = requests::letter_plan(s, &w.officer, id, "VP", NOW)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), Some("state"), "{e:?}");
    }
}

#[tokio::test]
async fn an_ordinary_document_dispatches_without_touching_any_request() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let w = world(s).await;
        let id = approved(s, &w).await;
        open_register(s, &w).await;
        // The same công văn, made as a plain document: it is not the request's letter.
        let doc = docs::create_document(s, &blobs, &w.officer, &letter(&w, "H99.37"), NOW)
            .await
            .unwrap();
        walk_flow(
            s,
            &blobs,
            doc.id,
            &[
                (&w.officer, D::Submit),
                (&w.admin, D::Forward),
                (&w.admin, D::CheckFormat),
                (&w.signer, D::Approve),
                (&w.signer, D::SignPersonal),
                (&w.clerk, D::ClerkCheck),
                (&w.clerk, D::Number),
                (&w.clerk, D::OrgSign),
                (&w.clerk, D::Register),
                (&w.clerk, D::Dispatch),
            ],
            DRAFT.to_vec(),
            "",
            NOW,
        )
        .await;
        let d = docs::get_document(s, &w.clerk, doc.id).await.unwrap();
        assert_eq!(d.deliveries[0].recipient_agency_id, Some(w.dept));
        let r = requests::get_request(s, &w.officer, id, NOW).await.unwrap();
        assert_eq!(r.request.state, St::Approved);
        assert_eq!(
            requests::request_of_document(s, doc.id).await.unwrap(),
            None
        );
        assert_eq!(
            requests::letter_document(s, &w.officer, id, NOW)
                .await
                .unwrap(),
            None
        );
    }
}

/// The approved request of the world with the unit's register and the recipients set: ready
/// for its letter. Returns the request's id and the letter's recipient code.
async fn ready_for_letter(s: &Store, w: &World) -> (i64, String) {
    let id = approved(s, w).await;
    open_register(s, w).await;
    let set = requests::set_request_recipients(
        s,
        &w.admin,
        &RequestRecipients {
            department: "H99.37".into(),
            national_ca: "G11.07.05".into(),
        },
        NOW,
    )
    .await
    .unwrap();
    let plan = requests::letter_plan(s, &w.officer, id, "VP", NOW)
        .await
        .unwrap();
    assert_eq!(plan.recipient_code, set.national_ca);
    (id, plan.recipient_code)
}

async fn count(s: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap()
}

/// What a letter leaves in the database: documents, versions (the blob references), document
/// timeline rows, links, the request's `letter_document` rows, `document.create` and
/// `request.letter_document` audit entries, and documents no request links (orphan drafts).
async fn letter_rows(s: &Store) -> [i64; 8] {
    [
        count(s, "SELECT COUNT(*) FROM documents").await,
        count(s, "SELECT COUNT(*) FROM document_versions").await,
        count(s, "SELECT COUNT(*) FROM document_events").await,
        count(s, "SELECT COUNT(*) FROM request_documents").await,
        count(
            s,
            "SELECT COUNT(*) FROM request_events WHERE action = 'letter_document'",
        )
        .await,
        count(
            s,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'document.create'",
        )
        .await,
        count(
            s,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'request.letter_document'",
        )
        .await,
        count(
            s,
            "SELECT COUNT(*) FROM documents d WHERE NOT EXISTS \
             (SELECT 1 FROM request_documents l WHERE l.document_id = d.id)",
        )
        .await,
    ]
}

/// Eight attempts at once to make the same request's letter — through two stores, as two
/// `kyso serve` nodes (or two processes on one SQLite file) would — make exactly one
/// document, linked once, and no draft without its request: the document and its link are one
/// transaction that checks again, under the write lock, that no letter was made meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_attempts_make_one_letter_document_and_no_orphan_draft() {
    const ATTEMPTS: usize = 8;
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let w = world(s).await;
        let (id, to) = ready_for_letter(s, &w).await;
        let stores = std::sync::Arc::new([db.store.clone(), Store::open(&db.url).await.unwrap()]);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(ATTEMPTS));
        let mut tasks = Vec::new();
        for i in 0..ATTEMPTS {
            let (stores, blobs, start) = (stores.clone(), blobs.clone(), start.clone());
            let (officer, mut input) = (w.officer.clone(), letter(&w, &to));
            // Each attempt's own draft: a second attempt's blob is not the first one's.
            input.file = format!("%PDF-1.7\n% attempt {i}\n%%EOF\n").into_bytes();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                requests::create_letter_document(&stores[i % 2], &blobs, &officer, id, &input, NOW)
                    .await
            }));
        }
        let mut made = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(doc) => made.push(doc.id),
                Err(e) => {
                    assert_eq!(field_of(&e), Some("request"), "{b:?}: {e:?}");
                    assert!(e.message(false).contains("công văn đề nghị"), "{e:?}");
                }
            }
        }
        assert_eq!(made.len(), 1, "{b:?}: exactly one attempt makes the letter");
        assert_eq!(
            letter_rows(s).await,
            [1, 1, 1, 1, 1, 1, 1, 0],
            "{b:?}: one document, version, timeline row, link, request row, two audit \
             entries, no orphan"
        );
        assert_eq!(
            requests::letter_document(s, &w.officer, id, NOW)
                .await
                .unwrap(),
            Some((made[0], DocState::Draft))
        );
        // The two entries are in the same transaction: adjacent in the chain, which holds.
        let seqs: Vec<i64> = sqlx::query_scalar(
            "SELECT seq FROM audit_log WHERE action IN ('document.create', \
             'request.letter_document') ORDER BY seq",
        )
        .fetch_all(s.pool())
        .await
        .unwrap();
        assert_eq!(seqs.len(), 2);
        assert_eq!(seqs[1], seqs[0] + 1, "{b:?}");
        assert!(audit::verify(s).await.unwrap().is_ok(), "{b:?}");
    }
}

/// Refuse every link of a request to its letter inside the database (a trigger), so that the
/// failure comes after the document, its version, its timeline row and its audit entry were
/// written in the letter's transaction.
async fn refuse_links(s: &Store, b: kyso_store::Backend) {
    let statements: &[&str] = match b {
        kyso_store::Backend::Sqlite => &["CREATE TRIGGER refuse_link BEFORE INSERT ON \
             request_documents BEGIN SELECT RAISE(ABORT, 'link refused by the test'); END"],
        kyso_store::Backend::Postgres => &[
            "CREATE FUNCTION refuse_link() RETURNS trigger LANGUAGE plpgsql AS \
             $f$ BEGIN RAISE EXCEPTION 'link refused by the test'; END $f$",
            "CREATE TRIGGER refuse_link BEFORE INSERT ON request_documents \
             FOR EACH ROW EXECUTE FUNCTION refuse_link()",
        ],
    };
    for sql in statements {
        sqlx::raw_sql(sql).execute(s.pool()).await.unwrap();
    }
}

async fn allow_links(s: &Store, b: kyso_store::Backend) {
    let sql = match b {
        kyso_store::Backend::Sqlite => "DROP TRIGGER refuse_link",
        kyso_store::Backend::Postgres => "DROP TRIGGER refuse_link ON request_documents",
    };
    sqlx::raw_sql(sql).execute(s.pool()).await.unwrap();
}

/// A failure after the document was written (the link refused) leaves nothing behind: no
/// document row, no version referring to the stored draft, no timeline row, no audit entry;
/// the chain holds, and the request is still approved and gets its letter afterwards.
#[tokio::test]
async fn a_letter_whose_link_fails_leaves_no_document_version_or_audit_entry() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let w = world(s).await;
        let (id, to) = ready_for_letter(s, &w).await;
        let before = letter_rows(s).await;
        assert_eq!(before, [0; 8]);
        let last_seq = count(s, "SELECT COALESCE(MAX(seq), 0) FROM audit_log").await;

        refuse_links(s, b).await;
        let e = requests::create_letter_document(s, &blobs, &w.officer, id, &letter(&w, &to), NOW)
            .await
            .unwrap_err();
        assert!(
            format!("{e:?}").contains("link refused by the test"),
            "{b:?}: {e:?}"
        );
        assert_eq!(letter_rows(s).await, before, "{b:?}: nothing left behind");
        assert_eq!(
            count(s, "SELECT COALESCE(MAX(seq), 0) FROM audit_log").await,
            last_seq,
            "{b:?}: no audit entry"
        );
        assert!(audit::verify(s).await.unwrap().is_ok(), "{b:?}");
        let r = requests::get_request(s, &w.officer, id, NOW).await.unwrap();
        assert_eq!(r.request.state, St::Approved);
        assert_eq!(
            requests::letter_document(s, &w.officer, id, NOW)
                .await
                .unwrap(),
            None
        );

        // Once the link is allowed again, the same letter is made, whole; the chain goes on
        // from where it was.
        allow_links(s, b).await;
        let doc =
            requests::create_letter_document(s, &blobs, &w.officer, id, &letter(&w, &to), NOW)
                .await
                .unwrap();
        assert_eq!(letter_rows(s).await, [1, 1, 1, 1, 1, 1, 1, 0], "{b:?}");
        assert_eq!(
            count(
                s,
                "SELECT MIN(seq) FROM audit_log WHERE action = 'document.create'"
            )
            .await,
            last_seq + 1,
            "{b:?}: the chain is gapless"
        );
        assert_eq!(
            requests::request_of_document(s, doc.id).await.unwrap(),
            Some(id)
        );
        assert!(audit::verify(s).await.unwrap().is_ok(), "{b:?}");
    }
}

/// The demo province's Department can make and number its request letters: its register of
/// outgoing công văn is open ("…/SKHCN-VP") and the letters' recipients are set.
#[tokio::test]
async fn the_demo_department_numbers_its_request_letters_in_its_register() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        kyso_store::demo::seed(s, &[], NOW).await.unwrap();
        let id_of = |code: &'static str| async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM agencies WHERE code = $1")
                .bind(code)
                .fetch_one(s.pool())
                .await
                .unwrap()
        };
        let (root, dept) = (id_of("H99").await, id_of("H99.37").await);
        let officer = person(
            s,
            "cb.skhcn",
            dept,
            &[Role::SignatureOfficer, Role::Drafter],
        )
        .await;
        let province = person(s, "quantri.tinh", root, &[Role::DostAdmin]).await;
        let registers = docs::registers(s, &officer, dept).await.unwrap();
        assert_eq!(registers.len(), 1, "{b:?}: {registers:?}");
        assert_eq!(
            (
                registers[0].issuer_abbrev.as_str(),
                registers[0].doc_types.as_slice()
            ),
            ("SKHCN", [DocType::CongVan].as_slice())
        );
        let r = requests::create_request(
            s,
            &officer,
            &NewRequest {
                kind: RequestKind::IssueIndividual.as_str().into(),
                agency_id: dept,
                contact_name: "Lê Hoàng Cường".into(),
                items: vec![NewItem {
                    data: [
                        ("name", "Hoàng Thị Lan"),
                        ("id_number", "099193000111"),
                        ("email", "hoang.thi.lan@demo.invalid"),
                    ]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let none = ActInput::default();
        requests::act(s, &officer, r.request.id, A::Submit, &none, NOW)
            .await
            .unwrap();
        requests::act(s, &province, r.request.id, A::Approve, &none, NOW)
            .await
            .unwrap();
        let plan = requests::letter_plan(s, &officer, r.request.id, "VP", NOW)
            .await
            .unwrap();
        assert_eq!(
            (plan.notation.as_str(), plan.recipient_code.as_str()),
            ("SKHCN-VP", "G11.07.05"),
            "{b:?}"
        );
        assert!(audit::verify(s).await.unwrap().is_ok(), "{b:?}");
    }
}
