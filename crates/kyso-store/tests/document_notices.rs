//! Notices of the outgoing-document flow (issue 17/2), on SQLite and on PostgreSQL: one
//! decision walks from upload to recall with a return at review, and after each step the test
//! reads every inbox — whose turn it is, the drafter told of the return (with the reason), the
//! number, the issue and the dispatch, the recipient agency's clerk told of the arrival and of
//! the recall — and that the actor, people of other agencies, those above and disabled
//! accounts are told nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_domain::roles::Role;
use kyso_store::accounts;
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::notices::{self, Notice};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Store};

mod support;
use support::{agency, DRAFT, NOW};

const SUBJECT: &str = "Về việc ban hành Quy chế sử dụng chữ ký số chuyên dùng công vụ";

/// An account (e-mail `name@demo.invalid`) holding `role` at `at`, and its actor.
async fn person(store: &Store, name: &str, at: &support::Agency, role: Role) -> Actor {
    support::person_with_email(store, name, &format!("{name}@demo.invalid"), at, role).await
}

/// Everyone's inbox, by user name: what each holds now.
struct Inboxes {
    people: Vec<Actor>,
    seen: BTreeMap<String, usize>,
}

impl Inboxes {
    /// The notices each person received since the last call, by user name (only those who
    /// received any).
    async fn new_ones(&mut self, store: &Store) -> BTreeMap<String, Vec<Notice>> {
        let mut out = BTreeMap::new();
        for p in &self.people {
            let mut all = notices::inbox(store, p, false).await.unwrap();
            all.reverse(); // oldest first
            let before = self.seen.insert(p.username.clone(), all.len()).unwrap_or(0);
            let fresh: Vec<Notice> = all.into_iter().skip(before).collect();
            if !fresh.is_empty() {
                out.insert(p.username.clone(), fresh);
            }
        }
        out
    }
}

/// Who received a notice, and of which event, in name order.
fn who(got: &BTreeMap<String, Vec<Notice>>) -> Vec<(&str, &str)> {
    got.iter()
        .flat_map(|(name, ns)| ns.iter().map(move |n| (name.as_str(), n.event.as_str())))
        .collect()
}

#[tokio::test]
async fn each_step_tells_the_people_it_concerns_and_no_one_else() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let root = agency(s, "H99", "UBND Tỉnh Demo", "province", None).await;
        let dost = agency(
            s,
            "H99.37",
            "Sở Khoa học và Công nghệ",
            "department",
            Some(root.id),
        )
        .await;
        let finance = agency(s, "H99.05", "Sở Tài chính", "department", Some(root.id)).await;
        let clerk = person(s, "vanthu", &dost, Role::Clerk).await;
        docs::create_register(
            s,
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
        let drafter = person(s, "chuyenvien", &dost, Role::Drafter).await;
        let reviewer = person(s, "truongphong", &dost, Role::Reviewer).await;
        let checker = person(s, "thethuc", &dost, Role::FormatChecker).await;
        let signer = person(s, "giamdoc", &dost, Role::Signer).await;
        let deputy = person(s, "phogiamdoc", &dost, Role::Signer).await;
        let clerk2 = person(s, "vanthu2", &dost, Role::Clerk).await;
        let gone = person(s, "vanthu.nghi", &dost, Role::Clerk).await;
        let reviewer_above = person(s, "truongphong.tinh", &root, Role::Reviewer).await;
        let admin = person(s, "quantri", &root, Role::DostAdmin).await;
        let their_clerk = person(s, "vanthu.tc", &finance, Role::Clerk).await;
        let their_reviewer = person(s, "truongphong.tc", &finance, Role::Reviewer).await;
        accounts::set_disabled(s, &admin, gone.user_id, true, NOW)
            .await
            .unwrap();
        let mut inboxes = Inboxes {
            people: vec![
                drafter.clone(),
                reviewer.clone(),
                checker.clone(),
                signer.clone(),
                deputy.clone(),
                clerk.clone(),
                clerk2.clone(),
                gone.clone(),
                reviewer_above.clone(),
                admin.clone(),
                their_clerk.clone(),
                their_reviewer.clone(),
            ],
            seen: BTreeMap::new(),
        };

        // The drafter names the director as the signer at upload.
        let meta = DocumentMeta {
            doc_type: DocType::QuyetDinh,
            subject: SUBJECT.into(),
            place: "Demo".into(),
            signer: SignerBlock {
                authority: SignAuthority::Kt,
                principal_title: "Giám đốc".into(),
                title: "Phó Giám đốc".into(),
                name: "Nguyễn Văn An".into(),
                ..Default::default()
            },
            recipients: vec![finance.code.clone(), "G11.07.05".into()],
            page_count: Some(2),
            ..Default::default()
        };
        let d = docs::create_document(
            s,
            &blobs,
            &drafter,
            &NewDocument {
                agency_id: dost.id,
                meta,
                signer_id: Some(signer.user_id),
                file_name: "du-thao.pdf".into(),
                file: DRAFT.to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        assert!(
            inboxes.new_ones(s).await.is_empty(),
            "{b:?}: an upload tells no one"
        );
        let link = format!("/documents/{}", d.id);
        let step = |who: Actor, action: DocAction, input: StepInput| {
            let blobs = blobs.clone();
            async move {
                docs::act(s, &blobs, &who, d.id, action, &input, NOW)
                    .await
                    .unwrap_or_else(|e| panic!("{action} by {}: {e:?}", who.username))
            }
        };
        let note = |text: &str| StepInput {
            reason: text.into(),
            ..Default::default()
        };

        // Submit: the unit head of the drafting agency — not the one above, not the other
        // department's, not the administrator, not the drafter.
        step(drafter.clone(), DocAction::Submit, note("")).await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(who(&got), [("truongphong", "submit")], "{b:?}");
        let n = &got["truongphong"][0];
        assert_eq!(n.kind, "document");
        assert_eq!(n.document_id, Some(d.id));
        assert_eq!(n.link, link);
        assert_eq!(n.subject, format!("Văn bản chờ ông/bà xử lý: {SUBJECT}"));
        assert_eq!(n.subject_en, format!("A document awaits you: {SUBJECT}"));
        assert!(n.read_at.is_none() && n.certificate_id.is_none());
        assert!(
            n.body_in(false)
                .contains("Người dùng chuyenvien đã thực hiện bước “Trình lãnh đạo đơn vị”"),
            "{}",
            n.body
        );
        assert!(n.body_in(false).contains(&link));
        assert!(n
            .body_in(true)
            .starts_with("Người dùng chuyenvien took the step"));

        // A refused step tells no one.
        let refused = docs::act(
            s,
            &blobs,
            &checker,
            d.id,
            DocAction::Forward,
            &StepInput::default(),
            NOW,
        )
        .await;
        assert!(refused.is_err());
        assert!(inboxes.new_ones(s).await.is_empty(), "{b:?}");

        // Return: the drafter, with the reason.
        step(
            reviewer.clone(),
            DocAction::Return,
            note("Bổ sung căn cứ pháp lý"),
        )
        .await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(who(&got), [("chuyenvien", "return")], "{b:?}");
        let n = &got["chuyenvien"][0];
        assert_eq!(n.subject, format!("Văn bản bị trả lại: {SUBJECT}"));
        assert!(
            n.body_in(false).contains("Lý do: Bổ sung căn cứ pháp lý"),
            "{}",
            n.body
        );
        assert!(n.body_in(true).contains("Reason: Bổ sung căn cứ pháp lý"));

        // Submitted again: the unit head again; forwarded: the format checker.
        step(drafter.clone(), DocAction::Submit, note("")).await;
        assert_eq!(who(&inboxes.new_ones(s).await), [("truongphong", "submit")]);
        step(reviewer.clone(), DocAction::Forward, note("Đồng ý")).await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(who(&got), [("thethuc", "forward")], "{b:?}");
        assert!(got["thethuc"][0].body_in(false).contains("Ý kiến: Đồng ý"));

        // Format checked: the designated signer only, not the deputy.
        step(checker.clone(), DocAction::CheckFormat, note("")).await;
        assert_eq!(
            who(&inboxes.new_ones(s).await),
            [("giamdoc", "check_format")],
            "{b:?}"
        );
        // Approved: the signer signs next, and is the actor: no one.
        step(signer.clone(), DocAction::Approve, note("")).await;
        assert!(inboxes.new_ones(s).await.is_empty(), "{b:?}");
        // Signed: the agency's clerks (the disabled one not).
        let mut personal = DRAFT.to_vec();
        personal.extend_from_slice(b"% signature of giamdoc\n%%EOF\n");
        step(
            signer.clone(),
            DocAction::SignPersonal,
            StepInput {
                file: Some(personal.clone()),
                file_name: "ky.pdf".into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            who(&inboxes.new_ones(s).await),
            [("vanthu", "sign_personal"), ("vanthu2", "sign_personal")],
            "{b:?}"
        );
        // The clerk's check: still the clerks' duty, no one new.
        step(clerk.clone(), DocAction::ClerkCheck, note("")).await;
        assert!(inboxes.new_ones(s).await.is_empty(), "{b:?}");
        // Number: the drafter learns the number and date.
        step(clerk.clone(), DocAction::Number, note("")).await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(who(&got), [("chuyenvien", "number")], "{b:?}");
        let n = &got["chuyenvien"][0];
        assert_eq!(
            n.subject,
            format!("Văn bản đã được cấp số 01/QĐ-SKHCN: {SUBJECT}")
        );
        assert!(n.body_in(false).contains("ngày 01/06/2026"), "{}", n.body);
        // Organization signature: no one; registration (issue): the drafter.
        let mut issued = personal.clone();
        issued.extend_from_slice(b"% signature of vanthu\n%%EOF\n");
        step(
            clerk.clone(),
            DocAction::OrgSign,
            StepInput {
                file: Some(issued),
                file_name: "ban-hanh.pdf".into(),
                shown_number: Some(1),
                ..Default::default()
            },
        )
        .await;
        assert!(inboxes.new_ones(s).await.is_empty(), "{b:?}");
        step(clerk.clone(), DocAction::Register, note("")).await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(who(&got), [("chuyenvien", "register")], "{b:?}");
        assert_eq!(
            got["chuyenvien"][0].subject,
            format!("Văn bản đã ban hành, số 01/QĐ-SKHCN: {SUBJECT}")
        );

        // Dispatch: the drafter, and the recipient agency's clerk (not its unit head; the
        // recipient outside the province has no one here) with a link to the delivered file.
        step(clerk.clone(), DocAction::Dispatch, note("")).await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(
            who(&got),
            [("chuyenvien", "dispatch"), ("vanthu.tc", "delivery")],
            "{b:?}"
        );
        assert!(got["chuyenvien"][0]
            .body_in(false)
            .contains("phát hành tới 2 nơi nhận"));
        let arrived = &got["vanthu.tc"][0];
        assert_eq!(
            arrived.subject,
            format!("Văn bản đến từ Sở Khoa học và Công nghệ: {SUBJECT}")
        );
        let delivery = docs::deliveries_to(s, &their_clerk, finance.id)
            .await
            .unwrap();
        assert_eq!(
            arrived.link,
            format!("/api/v1/deliveries/{}/file", delivery[0].id)
        );
        assert!(
            arrived.body_in(false).contains("quyết định số 01/QĐ-SKHCN"),
            "{}",
            arrived.body
        );

        // Recall: the drafter, the signer and every recipient, with why.
        step(
            clerk.clone(),
            DocAction::Recall,
            note("Sai sót về thẩm quyền"),
        )
        .await;
        let got = inboxes.new_ones(s).await;
        assert_eq!(
            who(&got),
            [
                ("chuyenvien", "recall"),
                ("giamdoc", "recall"),
                ("vanthu.tc", "recall")
            ],
            "{b:?}"
        );
        for ns in got.values() {
            assert!(ns[0]
                .body_in(false)
                .contains("Lý do: Sai sót về thẩm quyền"));
        }
        assert_eq!(
            got["vanthu.tc"][0].subject,
            format!("Văn bản đến đã bị thu hồi: {SUBJECT}")
        );

        // No one was ever told of their own step; the deputy, the unit heads above and
        // elsewhere, the administrator and the disabled clerk never heard anything.
        for quiet in [&deputy, &gone, &reviewer_above, &admin, &their_reviewer] {
            assert!(
                notices::inbox(s, quiet, false).await.unwrap().is_empty(),
                "{b:?}: {}",
                quiet.username
            );
        }
        // The audit entry of each step counts the notices it wrote.
        let entries = audit::list(
            s,
            &admin,
            &audit::Filter {
                action_prefix: Some("document.recall".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let detail: serde_json::Value = serde_json::from_str(&entries[0].detail).unwrap();
        assert_eq!(detail["notified"], 3, "{b:?}");

        // Read marks and e-mail: the notices are pending for e-mail (everyone here has an
        // address) until marked sent.
        let pending = notices::pending_emails(s, NOW).await.unwrap();
        assert_eq!(pending.len(), 14, "{b:?}");
        assert!(pending
            .iter()
            .any(|m| m.to == "vanthu.tc@demo.invalid" && m.subject.starts_with("Văn bản đến từ")));
    }
}
