//! Issue 15/4: a user lists their own browser sessions and ends one of them; nobody ends
//! another user's session through its handle. Both backends.

use kyso_domain::roles::Role;
use kyso_store::accounts;
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error};
use zeroize::Zeroizing;

use super::{province, user, NOW};

#[tokio::test]
async fn a_user_lists_their_sessions_and_ends_one_of_them() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let an = user(s, "an.session", p.dost, Role::Clerk).await;
        let binh = user(s, "binh.session", p.dost, Role::Clerk).await;
        let login = |name: &'static str, from: &'static str| async move {
            accounts::login(
                s,
                name,
                Zeroizing::new("mat-khau-dai-12345".into()),
                from,
                NOW,
            )
            .await
            .unwrap()
            .0
            .token
        };
        let office = login("an.session", "10.0.0.7").await;
        let home = login("an.session", "10.0.0.8").await;
        let other = login("binh.session", "10.0.0.9").await;

        let listed = accounts::sessions(s, &an, Some(&office), NOW)
            .await
            .unwrap();
        // The helper `user` logged in once too (from 127.0.0.1).
        assert_eq!(
            listed.len(),
            3,
            "{b:?}: only the user's own sessions: {listed:?}"
        );
        let mine = listed.iter().find(|x| x.current).unwrap();
        assert_eq!(mine.source, "10.0.0.7", "{b:?}");
        let away = listed.iter().find(|x| x.source == "10.0.0.8").unwrap();
        assert!(!away.current, "{b:?}");
        assert_eq!(away.source, "10.0.0.8", "{b:?}");
        assert_eq!(away.id.len(), 16, "{b:?}");
        assert!(
            !home.contains(&away.id),
            "{b:?}: the handle is not the cookie"
        );

        // Another user cannot end it through its handle.
        let refused = accounts::end_session(s, &binh, &away.id, NOW).await;
        assert!(
            matches!(refused, Err(Error::NotFound { .. })),
            "{b:?}: {refused:?}"
        );
        assert!(accounts::session_actor(s, &home, "10.0.0.8", NOW)
            .await
            .is_ok());
        for bad in ["", "zz", "../../etc", "%", &"0".repeat(16)] {
            assert!(
                matches!(
                    accounts::end_session(s, &an, bad, NOW).await,
                    Err(Error::NotFound { .. })
                ),
                "{b:?}: {bad:?}"
            );
        }

        accounts::end_session(s, &an, &away.id, NOW).await.unwrap();
        assert!(matches!(
            accounts::session_actor(s, &home, "10.0.0.8", NOW).await,
            Err(Error::Unauthenticated)
        ));
        assert!(
            accounts::session_actor(s, &office, "10.0.0.7", NOW)
                .await
                .is_ok(),
            "{b:?}"
        );
        assert!(
            accounts::session_actor(s, &other, "10.0.0.9", NOW)
                .await
                .is_ok(),
            "{b:?}"
        );
        let left = accounts::sessions(s, &an, None, NOW).await.unwrap();
        assert_eq!(left.len(), 2, "{b:?}");
        assert!(
            left.iter().all(|x| !x.current && x.id != away.id),
            "{b:?}: {left:?}"
        );
        let again = accounts::end_session(s, &an, &away.id, NOW).await;
        assert!(matches!(again, Err(Error::NotFound { .. })), "{b:?}");

        let ended = audit::list(
            s,
            &Actor::system(),
            &audit::Filter {
                action_prefix: Some("auth.session_end".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(ended.len(), 1, "{b:?}");
        assert_eq!(ended[0].actor, "an.session", "{b:?}");
        assert!(ended[0].detail.contains(&away.id), "{b:?}");
    }
}
