//! Account lifecycle (issue 15, item 4): a password change, a reset or disabling the account
//! ends the account's sessions and API tokens; administrators disable, enable, change roles,
//! reset passwords and revoke tokens only inside their agency subtrees. Every story runs on
//! SQLite and on PostgreSQL.

use kyso_domain::roles::Role;
use kyso_store::accounts::{self, RoleOn};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error, Store};
use time::Duration;
use zeroize::Zeroizing;

use super::{province, user, NOW};

const PASSWORD: &str = "mat-khau-dai-12345";

fn pw(s: &str) -> Zeroizing<String> {
    Zeroizing::new(s.to_owned())
}

async fn session(s: &Store, name: &str, password: &str) -> Zeroizing<String> {
    accounts::login(s, name, pw(password), "10.0.0.7", NOW)
        .await
        .unwrap()
        .0
        .token
}

async fn alive(s: &Store, session: &str) -> bool {
    accounts::session_actor(s, session, "10.0.0.7", NOW)
        .await
        .is_ok()
}

async fn token_alive(s: &Store, token: &str) -> bool {
    accounts::token_actor(s, token, "10.0.0.7", NOW)
        .await
        .is_ok()
}

async fn actions(s: &Store, object: &str) -> Vec<String> {
    audit::list(
        s,
        &Actor::system(),
        &audit::Filter {
            object: Some(object.into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.action)
    .collect()
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_every_api_token() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let officer = user(s, "canbo.donvi", p.unit, Role::SignatureOfficer).await;
        let here = session(s, "canbo.donvi", PASSWORD).await;
        let elsewhere = session(s, "canbo.donvi", PASSWORD).await;
        let token = accounts::create_api_token(s, &officer, "tich-hop", 366, NOW)
            .await
            .unwrap();
        assert!(alive(s, &elsewhere).await && token_alive(s, &token).await);
        accounts::change_password(
            s,
            &officer,
            Some(&here),
            pw(PASSWORD),
            pw("Hoa-sen-no-tren-dong-2026"),
            NOW,
        )
        .await
        .unwrap();
        assert!(alive(s, &here).await, "the session doing the change stays");
        assert!(!alive(s, &elsewhere).await, "another session ended");
        assert!(!token_alive(s, &token).await, "the API token ended");
        assert!(accounts::api_tokens(s, &officer, officer.user_id, NOW)
            .await
            .unwrap()
            .is_empty());
        // From the API with a token (no session to keep): every session ends.
        let again = accounts::create_api_token(s, &officer, "tich-hop-2", 30, NOW)
            .await
            .unwrap();
        accounts::change_password(
            s,
            &officer,
            None,
            pw("Hoa-sen-no-tren-dong-2026"),
            pw("Cay-bang-truoc-ngo-2027"),
            NOW,
        )
        .await
        .unwrap();
        assert!(!alive(s, &here).await && !token_alive(s, &again).await);
    }
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_loses_its_sessions_and_tokens() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let admin = user(s, "quantri.so", p.dost, Role::DostAdmin).await;
        let officer = user(s, "canbo.donvi", p.unit, Role::SignatureOfficer).await;
        let open = session(s, "canbo.donvi", PASSWORD).await;
        let token = accounts::create_api_token(s, &officer, "tich-hop", 90, NOW)
            .await
            .unwrap();

        let u = accounts::set_disabled(s, &admin, officer.user_id, true, NOW)
            .await
            .unwrap();
        assert!(u.disabled);
        assert!(!alive(s, &open).await && !token_alive(s, &token).await);
        // The right password of a disabled account gets the wrong password's answer.
        assert!(matches!(
            accounts::login(s, "canbo.donvi", pw(PASSWORD), "10.0.0.7", NOW).await,
            Err(Error::Unauthenticated)
        ));
        // Enabling does not bring the old session or token back.
        let u = accounts::set_disabled(s, &admin, officer.user_id, false, NOW)
            .await
            .unwrap();
        assert!(!u.disabled);
        assert!(!alive(s, &open).await && !token_alive(s, &token).await);
        let later = NOW + Duration::seconds(accounts::LOCKOUT_SECS + 1);
        assert!(
            accounts::login(s, "canbo.donvi", pw(PASSWORD), "10.0.0.7", later)
                .await
                .is_ok()
        );
        let object = format!("user:{}", officer.user_id);
        let done = actions(s, &object).await;
        assert!(done.iter().any(|a| a == "user.disable"), "{done:?}");
        assert!(done.iter().any(|a| a == "user.enable"), "{done:?}");

        // Nobody disables themselves.
        assert!(matches!(
            accounts::set_disabled(s, &admin, admin.user_id, true, NOW).await,
            Err(Error::Invalid { .. })
        ));
        // An administrator of another department does not see the account; an officer who
        // sees it may not manage it.
        let finance_admin = user(s, "quantri.taichinh", p.finance, Role::DostAdmin).await;
        assert!(matches!(
            accounts::set_disabled(s, &finance_admin, officer.user_id, true, NOW).await,
            Err(Error::NotFound {
                what: kyso_store::Record::User
            })
        ));
        let dost_officer = user(s, "canbo.so", p.dost, Role::SignatureOfficer).await;
        assert!(matches!(
            accounts::set_disabled(s, &dost_officer, officer.user_id, true, NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(!accounts::user(s, officer.user_id).await.unwrap().disabled);
    }
}

#[tokio::test]
async fn roles_are_granted_and_removed_within_scope_and_the_last_admin_role_stays() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let admin = user(s, "quantri.so", p.dost, Role::DostAdmin).await;
        let officer = user(s, "canbo.donvi", p.unit, Role::SignatureOfficer).await;
        let clerk = RoleOn {
            role: "clerk".into(),
            agency_id: p.unit,
        };
        let u = accounts::set_role(s, &admin, officer.user_id, &clerk, true, NOW)
            .await
            .unwrap();
        assert!(u.roles.contains(&clerk));
        assert!(matches!(
            accounts::set_role(s, &admin, officer.user_id, &clerk, true, NOW).await,
            Err(Error::Conflict { .. })
        ));
        let officer_role = RoleOn {
            role: "signature_officer".into(),
            agency_id: p.unit,
        };
        let u = accounts::set_role(s, &admin, officer.user_id, &officer_role, false, NOW)
            .await
            .unwrap();
        assert_eq!(u.roles, vec![clerk.clone()]);
        // The removed role no longer reaches the registry's writes at the next request.
        let (_, now_actor) = accounts::login(s, "canbo.donvi", pw(PASSWORD), "x", NOW)
            .await
            .unwrap();
        assert!(!now_actor.has_role(Role::SignatureOfficer));
        let done = actions(s, &format!("user:{}", officer.user_id)).await;
        assert!(done.iter().any(|a| a == "user.role_grant"), "{done:?}");
        assert!(done.iter().any(|a| a == "user.role_remove"), "{done:?}");

        // A role on an agency outside the administrator's subtree is refused.
        let outside = RoleOn {
            role: "clerk".into(),
            agency_id: p.finance,
        };
        assert!(
            accounts::set_role(s, &admin, officer.user_id, &outside, true, NOW)
                .await
                .is_err()
        );
        assert!(!accounts::user(s, officer.user_id)
            .await
            .unwrap()
            .roles
            .contains(&outside));
        // Outside the subtree: not found; a lower role: forbidden.
        let finance_admin = user(s, "quantri.taichinh", p.finance, Role::DostAdmin).await;
        assert!(matches!(
            accounts::set_role(s, &finance_admin, officer.user_id, &clerk, false, NOW).await,
            Err(Error::NotFound { .. })
        ));
        let dost_officer = user(s, "canbo.so", p.dost, Role::SignatureOfficer).await;
        assert!(matches!(
            accounts::set_role(s, &dost_officer, officer.user_id, &clerk, false, NOW).await,
            Err(Error::Forbidden)
        ));
        // One's own last administrator role stays.
        let own = RoleOn {
            role: "dost_admin".into(),
            agency_id: p.dost,
        };
        assert!(matches!(
            accounts::set_role(s, &admin, admin.user_id, &own, false, NOW).await,
            Err(Error::Invalid { field: "role", .. })
        ));
        assert!(accounts::user(s, admin.user_id)
            .await
            .unwrap()
            .roles
            .contains(&own));
    }
}

#[tokio::test]
async fn a_reset_gives_a_one_time_password_and_ends_every_session_and_token() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let admin = user(s, "quantri.so", p.dost, Role::DostAdmin).await;
        let officer = user(s, "canbo.donvi", p.unit, Role::SignatureOfficer).await;
        let open = session(s, "canbo.donvi", PASSWORD).await;
        let token = accounts::create_api_token(s, &officer, "tich-hop", 90, NOW)
            .await
            .unwrap();
        let one_time = accounts::reset_password(s, &admin, officer.user_id, NOW)
            .await
            .unwrap();
        assert_eq!(one_time.len(), 16);
        assert!(!alive(s, &open).await && !token_alive(s, &token).await);
        assert!(matches!(
            accounts::login(s, "canbo.donvi", pw(PASSWORD), "x", NOW).await,
            Err(Error::Unauthenticated)
        ));
        let (fresh, _) = accounts::login(s, "canbo.donvi", one_time.clone(), "x", NOW)
            .await
            .unwrap();
        assert!(fresh.must_change_password);
        assert!(actions(s, &format!("user:{}", officer.user_id))
            .await
            .iter()
            .any(|a| a == "user.password_reset"));
        // Not one's own, not outside the subtree, not by a lower role.
        assert!(matches!(
            accounts::reset_password(s, &admin, admin.user_id, NOW).await,
            Err(Error::Invalid { .. })
        ));
        let finance_admin = user(s, "quantri.taichinh", p.finance, Role::DostAdmin).await;
        assert!(matches!(
            accounts::reset_password(s, &finance_admin, officer.user_id, NOW).await,
            Err(Error::NotFound { .. })
        ));
        let dost_officer = user(s, "canbo.so", p.dost, Role::SignatureOfficer).await;
        assert!(matches!(
            accounts::reset_password(s, &dost_officer, officer.user_id, NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(accounts::login(s, "canbo.donvi", one_time, "x", NOW)
            .await
            .is_ok());
    }
}

#[tokio::test]
async fn api_tokens_are_listed_without_secrets_and_revoked_by_owner_or_administrator() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let admin = user(s, "quantri.so", p.dost, Role::DostAdmin).await;
        let officer = user(s, "canbo.donvi", p.unit, Role::SignatureOfficer).await;
        let first = accounts::create_api_token(s, &officer, "may-chu-van-ban", 30, NOW)
            .await
            .unwrap();
        let second = accounts::create_api_token(s, &officer, "may-chu-hop", 366, NOW)
            .await
            .unwrap();
        let mine = accounts::api_tokens(s, &officer, officer.user_id, NOW)
            .await
            .unwrap();
        assert_eq!(
            mine.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["may-chu-van-ban", "may-chu-hop"]
        );
        assert_eq!(mine[1].expires_at - mine[1].created_at, 366 * 86_400);
        let listed = serde_json::to_string(&mine).unwrap();
        assert!(!listed.contains(first.as_str()) && !listed.contains(&first[5..20]));
        // The owner revokes one; the other still works.
        accounts::revoke_api_token(s, &officer, mine[0].id, NOW)
            .await
            .unwrap();
        assert!(!token_alive(s, &first).await && token_alive(s, &second).await);
        // The administrator sees and revokes the rest.
        let theirs = accounts::api_tokens(s, &admin, officer.user_id, NOW)
            .await
            .unwrap();
        assert_eq!(theirs.len(), 1);
        // Another department's administrator sees neither the list nor the token.
        let finance_admin = user(s, "quantri.taichinh", p.finance, Role::DostAdmin).await;
        assert!(matches!(
            accounts::api_tokens(s, &finance_admin, officer.user_id, NOW).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            accounts::revoke_api_token(s, &finance_admin, theirs[0].id, NOW).await,
            Err(Error::NotFound {
                what: kyso_store::Record::Token
            })
        ));
        let colleague = user(s, "canbo.donvi2", p.unit, Role::SignatureOfficer).await;
        assert!(matches!(
            accounts::revoke_api_token(s, &colleague, theirs[0].id, NOW).await,
            Err(Error::Forbidden)
        ));
        assert!(token_alive(s, &second).await);
        accounts::revoke_api_token(s, &admin, theirs[0].id, NOW)
            .await
            .unwrap();
        assert!(!token_alive(s, &second).await);
        assert!(matches!(
            accounts::revoke_api_token(s, &admin, theirs[0].id, NOW).await,
            Err(Error::NotFound { .. })
        ));
        assert!(actions(s, &format!("token:{}", theirs[0].id))
            .await
            .iter()
            .any(|a| a == "token.revoke"));
    }
}
