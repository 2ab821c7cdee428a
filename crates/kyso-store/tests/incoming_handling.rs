//! Who handles an incoming document (Decree 30 art. 24), on SQLite and PostgreSQL: once the
//! leader has assigned it, only the lead unit's people start and complete it; the coordinating
//! units read it but are refused both steps, and so are the receiving agency's leader and
//! clerk (they oversee), its other staff above the lead unit, and an administrator above.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::incoming::{Channel, IncomingAction, Verdict};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::incoming::{self as inc, IncomingStep, NewIncoming, Verification};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{Actor, Error, Grant, Store};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;
use zeroize::Zeroizing;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);

/// A new agency: its id and path.
async fn agency(store: &Store, code: &str, name: &str, parent: Option<i64>) -> (i64, String) {
    let a = registry::create_agency(
        store,
        &Actor::system(),
        &AgencyInput {
            code: code.into(),
            name: name.into(),
            kind: if parent.is_none() {
                "province"
            } else {
                "other"
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

async fn person(store: &Store, name: &str, at: &(i64, String), role: Role) -> Actor {
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: String::new(),
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
    Actor {
        user_id: user.id,
        username: name.into(),
        grants: vec![Grant {
            role,
            agency_id: at.0,
            path: at.1.clone(),
        }],
        source: "127.0.0.1".into(),
    }
}

fn step(note: &str) -> IncomingStep {
    IncomingStep {
        reason: note.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn only_the_lead_unit_starts_and_completes_the_others_are_refused() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let s = &db.store;
        let root = agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let finance = agency(s, "H99.05", "Sở Tài chính", Some(root.0)).await;
        let office = agency(s, "H99.05.01", "Phòng Kế hoạch", Some(finance.0)).await;
        let team = agency(s, "H99.05.01.001", "Tổ Tổng hợp", Some(office.0)).await;
        let budget = agency(s, "H99.05.02", "Phòng Ngân sách", Some(finance.0)).await;
        let clerk = person(s, "vanthu.tc", &finance, Role::Clerk).await;
        let leader = person(s, "giamdoc.tc", &finance, Role::Signer).await;
        let finance_staff = person(s, "chuyenvien.tc", &finance, Role::Drafter).await;
        let admin = person(s, "quantri", &root, Role::DostAdmin).await;
        let office_staff = person(s, "chuyenvien.kh", &office, Role::Drafter).await;
        let office_head = person(s, "truongphong.kh", &office, Role::Reviewer).await;
        let team_staff = person(s, "chuyenvien.th", &team, Role::Drafter).await;
        let budget_staff = person(s, "chuyenvien.ns", &budget, Role::Drafter).await;

        let a = inc::intake(
            s,
            &blobs,
            &clerk,
            &NewIncoming {
                agency_id: finance.0,
                channel: Channel::Upload,
                scanned: false,
                sender_code: "G11.07.05".into(),
                sender_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
                sender_email: String::new(),
                number: "15".into(),
                notation: "CTSBMTT-CĐ".into(),
                doc_date: "2026-05-28".into(),
                doc_type: "Công văn".into(),
                subject: "Về việc gia hạn chứng thư số".into(),
                signer: "Cục trưởng".into(),
                file_name: "cong-van.pdf".into(),
                file: b"%PDF-1.7\n% handling\n%%EOF\n".to_vec(),
                verification: Verification {
                    verdict: Verdict::Passed,
                    reasons: Vec::new(),
                    report: json!({"schema": "kyso.verify/1", "verdict": "valid"}),
                    report_pdf: None,
                },
                delivery_id: None,
            },
            NOW,
        )
        .await
        .unwrap();
        inc::act_incoming(s, &clerk, a.id, IncomingAction::Register, &step(""), NOW)
            .await
            .unwrap();
        // The planning office leads; the budget office and the team inside the planning
        // office coordinate.
        let mut assign = step("Phòng Kế hoạch chủ trì");
        assign.lead_unit_id = Some(office.0);
        assign.coordinating_unit_ids = vec![budget.0, team.0];
        assign.deadline = Some("2026-06-10".into());
        inc::act_incoming(s, &leader, a.id, IncomingAction::Assign, &assign, NOW)
            .await
            .unwrap();

        let refused = |who: &Actor, action: IncomingAction| {
            let (s, who) = (s.clone(), who.clone());
            async move {
                let got = inc::act_incoming(&s, &who, a.id, action, &step("x"), NOW).await;
                assert!(
                    matches!(got, Err(Error::Forbidden)),
                    "{b:?}: {} {action:?}: {got:?}",
                    who.username
                );
            }
        };
        let others = [
            &budget_staff,
            &team_staff,
            &clerk,
            &leader,
            &finance_staff,
            &admin,
        ];
        for who in others {
            // They read it (the coordinating units see what they contribute to) but are
            // offered neither step.
            let d = inc::get_incoming(s, who, a.id).await.unwrap();
            assert!(
                !d.actions.contains(&IncomingAction::Start)
                    && !d.actions.contains(&IncomingAction::Complete),
                "{b:?}: {}: {:?}",
                who.username,
                d.actions
            );
            refused(who, IncomingAction::Start).await;
            refused(who, IncomingAction::Complete).await;
        }
        let d = inc::get_incoming(s, &office_head, a.id).await.unwrap();
        assert_eq!(
            d.actions,
            [IncomingAction::Start, IncomingAction::Complete],
            "{b:?}"
        );
        let r = inc::act_incoming(
            s,
            &office_staff,
            a.id,
            IncomingAction::Start,
            &step(""),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, "05", "{b:?}");
        for who in others {
            refused(who, IncomingAction::Complete).await;
        }
        let r = inc::act_incoming(
            s,
            &office_head,
            a.id,
            IncomingAction::Complete,
            &step("Đã trả lời bằng công văn 20/STC-KH"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, "06", "{b:?}");
    }
}
