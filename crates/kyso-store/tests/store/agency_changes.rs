//! An agency moves to another parent (its code and its units' codes change with it) or is
//! dissolved (its people, certificates and devices go to a successor, roles on it end, the
//! agency stays marked for its records). Every refusal named at its field. Both engines.

use kyso_domain::roles::Role;
use kyso_store::accounts;
use kyso_store::registry::{
    self, AgencyDissolution, AgencyInput, AgencyMove, CertImport, DeviceInput, SubscriberInput,
};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error};
use time::Duration;

use super::{cert_pem, person, province, user, NOW};

fn under(code: &str, name: &str, parent: i64) -> AgencyInput {
    AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: "unit".into(),
        parent_id: Some(parent),
        ..Default::default()
    }
}

fn field_of<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    match r {
        Err(Error::Invalid { field, .. } | Error::Conflict { field, .. }) => field,
        other => panic!("expected a refusal at a field, got {other:?}"),
    }
}

#[tokio::test]
async fn a_moved_agency_takes_its_units_and_their_codes_along() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        // H99.37.01 (under the DOST) has a level-4 unit.
        let team =
            registry::create_agency(s, &sys, &under("H99.37.01.005", "Tổ Hạ tầng", p.unit), NOW)
                .await
                .unwrap();
        let to = |parent_id: i64, code: &str| AgencyMove {
            parent_id,
            code: code.into(),
        };

        // Refusals, nothing changed: under itself or its own unit, a code that does not
        // extend the new parent's, a unit that would need a fifth level, a code in use.
        assert_eq!(
            field_of(
                registry::move_agency(s, &sys, p.unit, &to(team.id, "H99.37.01.005"), NOW).await
            ),
            "parent_id",
            "{b:?}"
        );
        assert_eq!(
            field_of(
                registry::move_agency(s, &sys, p.unit, &to(p.finance, "H99.37.09"), NOW).await
            ),
            "code",
            "{b:?}"
        );
        registry::create_agency(
            s,
            &sys,
            &under("H99.05.07", "Phòng Ngân sách", p.finance),
            NOW,
        )
        .await
        .unwrap();
        let deep = registry::move_agency(s, &sys, p.dost, &to(p.finance, "H99.05.08"), NOW).await;
        assert!(
            matches!(&deep, Err(Error::Invalid { field: "code", vi, .. }) if vi.contains("Tổ Hạ tầng")),
            "{b:?}: {deep:?}"
        );
        assert!(matches!(
            registry::move_agency(s, &sys, p.unit, &to(p.finance, "H99.05.07"), NOW).await,
            Err(Error::Conflict { field: "code", .. })
        ));
        // The root does not move; an officer of the DOST cannot move its unit outside.
        assert_eq!(
            field_of(
                registry::move_agency(s, &sys, p.root, &to(p.finance, "H99.05.09"), NOW).await
            ),
            "parent_id"
        );
        let officer = user(s, "canbo.skhcn", p.dost, Role::SignatureOfficer).await;
        assert_eq!(
            field_of(
                registry::move_agency(s, &officer, p.unit, &to(p.finance, "H99.05.03"), NOW).await
            ),
            "parent_id",
            "{b:?}"
        );
        let unchanged = registry::agency(
            s,
            &sys,
            team.id,
            kyso_domain::roles::Permission::ReadRegistry,
        )
        .await
        .unwrap();
        assert_eq!(unchanged.code, "H99.37.01.005", "{b:?}");

        // The move: the unit and its team take the new codes, their paths follow.
        let moved = registry::move_agency(s, &sys, p.unit, &to(p.finance, "H99.05.03"), NOW)
            .await
            .unwrap();
        assert_eq!(
            (moved.code.as_str(), moved.legacy_code.as_str()),
            ("H99.05.03", "000.03.05.H99")
        );
        assert_eq!(moved.parent_id, Some(p.finance));
        let below: Vec<(String, String)> = registry::agencies(s, &sys, "", Some(p.finance))
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.code))
            .collect();
        assert!(
            below.contains(&("Tổ Hạ tầng".into(), "H99.05.03.005".into())),
            "{b:?}: {below:?}"
        );
        assert!(registry::agencies(s, &sys, "", Some(p.dost))
            .await
            .unwrap()
            .iter()
            .all(|a| a.id == p.dost));
        // Found by its new code; the DOST officer no longer reaches it.
        assert!(matches!(
            registry::agency_by_code(s, &sys, "H99.37.01.005").await,
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            registry::agency_by_code(s, &sys, "H99.05.03.005")
                .await
                .unwrap()
                .id,
            team.id
        );
        assert!(registry::agency(
            s,
            &officer,
            team.id,
            kyso_domain::roles::Permission::ReadRegistry
        )
        .await
        .is_err());
        let entry = audit::list(
            s,
            &sys,
            &audit::Filter {
                action_prefix: Some("agency.move".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entry.len(), 1, "{b:?}");
        let detail = entry[0].detail.to_string();
        assert!(
            detail.contains("H99.37.01.005") && detail.contains("H99.05.03.005"),
            "{b:?}: {detail}"
        );
    }
}

#[tokio::test]
async fn a_dissolved_agency_hands_its_people_to_its_successor_and_stays_on_record() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let an = registry::create_subscriber(s, &sys, &person(p.unit, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        let cert = registry::import_certificate(
            s,
            &sys,
            &CertImport {
                agency_id: p.unit,
                subscriber_id: Some(an.id),
                bytes: cert_pem("Nguyễn Văn An", 0x7001, NOW + Duration::days(300)).as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        let device = registry::create_device(
            s,
            &sys,
            &DeviceInput {
                kind: "token".into(),
                serial: "TTCDS-01".into(),
                agency_id: p.unit,
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let seal = registry::create_subscriber(
            s,
            &sys,
            &SubscriberInput {
                kind: "organization".into(),
                agency_id: p.unit,
                name: "Trung tâm Chuyển đổi số".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
        let seal_cert = registry::import_certificate(
            s,
            &sys,
            &CertImport {
                agency_id: p.unit,
                subscriber_id: Some(seal.id),
                bytes: cert_pem("Trung tâm Chuyển đổi số", 0x7002, NOW + Duration::days(300))
                    .as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        user(s, "vanthu.ttcds", p.unit, Role::Clerk).await;
        let to = |successor_id: i64| AgencyDissolution {
            successor_id,
            reason: "Quyết định số 15/QĐ-UBND sáp nhập vào Sở Khoa học và Công nghệ".into(),
        };

        // Refusals: the DOST still has a unit; no reason; itself or a dissolved successor;
        // the unit's own seal certificate still valid.
        assert_eq!(
            field_of(registry::dissolve_agency(s, &sys, p.dost, &to(p.finance), NOW).await),
            "successor_id",
            "{b:?}"
        );
        let no_reason = AgencyDissolution {
            successor_id: p.dost,
            reason: " ".into(),
        };
        assert_eq!(
            field_of(registry::dissolve_agency(s, &sys, p.unit, &no_reason, NOW).await),
            "reason"
        );
        assert_eq!(
            field_of(registry::dissolve_agency(s, &sys, p.unit, &to(p.unit), NOW).await),
            "successor_id"
        );
        let refused = registry::dissolve_agency(s, &sys, p.unit, &to(p.dost), NOW).await;
        assert!(
            matches!(&refused, Err(Error::Conflict { vi, .. }) if vi.contains("thu hồi")),
            "{b:?}: {refused:?}"
        );
        registry::mark_revoked(s, &sys, seal_cert.id, "Cơ quan giải thể", NOW)
            .await
            .unwrap();

        let preview = registry::preview_dissolution(s, &sys, p.unit, &to(p.dost), NOW)
            .await
            .unwrap();
        let done = registry::dissolve_agency(s, &sys, p.unit, &to(p.dost), NOW)
            .await
            .unwrap();
        assert_eq!(preview, done, "{b:?}");
        assert_eq!(
            (
                done.subscribers_moved,
                done.organizations_deactivated,
                done.devices_moved
            ),
            (1, 1, 1),
            "{b:?}"
        );
        assert_eq!(done.accounts, ["vanthu.ttcds"], "{b:?}");

        // The person, their certificate and the device are the DOST's now.
        assert_eq!(
            registry::subscriber(s, &sys, an.id)
                .await
                .unwrap()
                .agency_id,
            p.dost
        );
        assert_eq!(
            registry::certificate(s, &sys, cert.id)
                .await
                .unwrap()
                .agency_id,
            p.dost
        );
        assert_eq!(
            registry::device(s, &sys, device.id)
                .await
                .unwrap()
                .agency_id,
            p.dost
        );
        let seal_now = registry::subscriber(s, &sys, seal.id).await.unwrap();
        assert!(!seal_now.active && seal_now.agency_id == p.unit, "{b:?}");
        // The clerk's account belongs to the DOST and holds no role any more.
        let clerk = accounts::users(s, &sys)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.username == "vanthu.ttcds")
            .unwrap();
        assert_eq!((clerk.agency_id, clerk.roles.len()), (p.dost, 0), "{b:?}");
        // The agency stays, marked, out of the lists and refused in forms.
        let gone = registry::agency(
            s,
            &sys,
            p.unit,
            kyso_domain::roles::Permission::ReadRegistry,
        )
        .await
        .unwrap();
        assert!(!gone.exists() && gone.successor_id == Some(p.dost), "{b:?}");
        assert!(registry::agencies(s, &sys, "", None)
            .await
            .unwrap()
            .iter()
            .all(|a| a.id != p.unit));
        assert_eq!(
            registry::dissolved_agencies(s, &sys)
                .await
                .unwrap()
                .iter()
                .map(|a| a.id)
                .collect::<Vec<_>>(),
            [p.unit]
        );
        assert_eq!(
            field_of(
                registry::create_subscriber(s, &sys, &person(p.unit, "Trần Thị Bình"), NOW).await
            ),
            "agency_id"
        );
        assert_eq!(
            field_of(
                registry::create_agency(s, &sys, &under("H99.37.01.002", "Tổ mới", p.unit), NOW)
                    .await
            ),
            "parent_id"
        );
        assert!(matches!(
            registry::dissolve_agency(s, &sys, p.unit, &to(p.dost), NOW).await,
            Err(Error::Conflict { .. })
        ));
        let entry = audit::list(
            s,
            &sys,
            &audit::Filter {
                action_prefix: Some("agency.dissolve".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entry.len(), 1, "{b:?}");
        assert!(entry[0].detail.to_string().contains("15/QĐ-UBND"), "{b:?}");
    }
}
