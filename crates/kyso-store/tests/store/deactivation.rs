//! A subscriber who leaves is deactivated, never deleted: refused while they still hold a
//! valid certificate or a key device, then left out of lists (unless asked for), kept by their
//! certificates and the audit log with the reason, and taken back when they return. Both
//! engines.

use kyso_store::registry::{self, CertImport, SubscriberQuery};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error};
use time::Duration;

use super::{cert_pem, person, province, NOW};

#[tokio::test]
async fn a_subscriber_who_leaves_is_deactivated_not_deleted() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let sys = Actor::system();
        let an = registry::create_subscriber(s, &sys, &person(p.dost, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        let pem = cert_pem("Nguyễn Văn An", 0x5001, NOW + Duration::days(200));
        let cert = registry::import_certificate(
            s,
            &sys,
            &CertImport {
                agency_id: p.dost,
                subscriber_id: Some(an.id),
                bytes: pem.as_bytes(),
                mismatch_reason: None,
            },
            NOW,
        )
        .await
        .unwrap();
        let listed = |include_inactive: bool| async move {
            registry::search_subscribers(
                s,
                &Actor::system(),
                &SubscriberQuery {
                    include_inactive,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|x| (x.name, x.active))
            .collect::<Vec<_>>()
        };

        // No reason: refused at the field. A valid certificate: refused, naming what to do.
        assert!(matches!(
            registry::set_subscriber_active(s, &sys, an.id, false, " ", NOW).await,
            Err(Error::Invalid {
                field: "reason",
                ..
            })
        ));
        match registry::set_subscriber_active(s, &sys, an.id, false, "Nghỉ hưu", NOW).await {
            Err(Error::Conflict { vi, .. }) => {
                assert!(vi.contains("đề nghị thu hồi"), "{b:?}: {vi}")
            }
            other => panic!("{b:?}: {other:?}"),
        }
        registry::mark_revoked(s, &sys, cert.id, "Nghỉ hưu", NOW)
            .await
            .unwrap();

        let gone = registry::set_subscriber_active(s, &sys, an.id, false, "Nghỉ hưu", NOW)
            .await
            .unwrap();
        assert!(
            !gone.active && gone.deactivation_reason == "Nghỉ hưu",
            "{b:?}"
        );
        assert_eq!(listed(false).await, Vec::<(String, bool)>::new(), "{b:?}");
        assert_eq!(
            listed(true).await,
            [("Nguyễn Văn An".to_owned(), false)],
            "{b:?}"
        );
        // Their certificate still names them.
        let c = registry::certificate(s, &sys, cert.id).await.unwrap();
        assert_eq!(c.subscriber_name.as_deref(), Some("Nguyễn Văn An"));

        let back = registry::set_subscriber_active(s, &sys, an.id, true, "", NOW)
            .await
            .unwrap();
        assert!(back.active && back.deactivation_reason.is_empty(), "{b:?}");
        assert_eq!(listed(false).await.len(), 1, "{b:?}");
        let actions: Vec<String> = audit::list(
            s,
            &sys,
            &audit::Filter {
                action_prefix: Some("subscriber.".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
        assert_eq!(
            actions,
            [
                "subscriber.reactivate",
                "subscriber.deactivate",
                "subscriber.create"
            ],
            "{b:?}"
        );
    }
}
