//! Local accounts, roles, sessions and API tokens.
//!
//! Passwords are hashed with argon2id (OWASP parameters: 19 MiB, 2 passes). Session and API
//! tokens are 32 random bytes shown to the client once; the database keeps only their SHA-256,
//! so a copy of the database opens no session. After [`MAX_FAILURES`] wrong passwords in a row
//! an account waits [`LOCKOUT_SECS`] before it can log in again.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use kyso_domain::roles::{Permission, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row as _;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{self, Event};
use crate::registry::Agency;

mod sessions;
use crate::{hex, random_bytes, sha256, unique, Actor, Error, Grant, On, Result, Store};
pub use sessions::{end_session, sessions, SessionInfo};

/// Wrong passwords in a row before the account is locked for a while.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account waits.
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// How long a browser session lasts without being renewed.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Shortest password accepted ([`kyso_domain::password`] holds the whole rule).
pub const MIN_PASSWORD: usize = kyso_domain::password::MIN_LEN;

/// An account as shown to administrators (never the hash).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub agency_id: i64,
    pub must_change_password: bool,
    pub disabled: bool,
    pub roles: Vec<RoleOn>,
}

/// A role on an agency (and its subtree).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"role": "clerk", "agency_id": 1})))]
pub struct RoleOn {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::role_name))]
    pub role: String,
    pub agency_id: i64,
}

/// A new account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"username": "van.thu.moi", "full_name": "Lê Thị Hoa", "email": "hoa@demo.invalid", "agency_id": 1, "password": "Vi-du-mat-khau-2027", "roles": [{"role": "clerk", "agency_id": 1}], "must_change_password": true})))]
pub struct NewUser {
    pub username: String,
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    pub agency_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: Zeroizing<String>,
    pub roles: Vec<RoleOn>,
    /// The password is an initial one the user must change at the first login.
    #[serde(default)]
    pub must_change_password: bool,
}

/// A logged-in browser session: the cookie value (shown once) and its CSRF token.
#[derive(Debug)]
pub struct Session {
    pub token: Zeroizing<String>,
    pub csrf: String,
    pub must_change_password: bool,
}

fn token_string() -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*bytes),
    ))
}

/// 32 random bytes as URL-safe base64 (43 characters): for one-off tokens of the web faces
/// (the login form's CSRF token).
pub fn random_token() -> Result<Zeroizing<String>> {
    token_string()
}

fn token_hash(token: &str) -> String {
    hex(&sha256(token.as_bytes()))
}

/// Hash a password with argon2id. CPU-heavy by design: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| internal("salt"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| internal("argon2"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn internal(what: &str) -> Error {
    Error::Database(sqlx::Error::Protocol(format!("internal failure: {what}")))
}

/// A random one-time password (for the first administrator and password resets): 16
/// characters from an alphabet without look-alikes.
pub fn one_time_password() -> Result<Zeroizing<String>> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = Zeroizing::new(random_bytes::<16>()?);
    let s: String = bytes
        .iter()
        .map(|b| {
            char::from(
                *ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .unwrap_or(&b'x'),
            )
        })
        .collect();
    Ok(Zeroizing::new(s))
}

/// The password rule ([`kyso_domain::password::check`]); the refusal names `field`.
fn check_password_rules(
    field: &'static str,
    password: &str,
    owner: &kyso_domain::password::Owner<'_>,
) -> Result<()> {
    kyso_domain::password::check(password, owner)
        .map_err(|w| Error::invalid(field, w.message_vi(), w.message_en()))
}

async fn hash_off_thread(password: Zeroizing<String>) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| internal("hashing task"))?
}

/// Create an account. Who may: a holder of [`Permission::ManageAccounts`] over the account's
/// agency and over every agency a role is granted on (nobody hands out more than they hold).
pub async fn create_user(
    store: &Store,
    actor: &Actor,
    input: NewUser,
    now: OffsetDateTime,
) -> Result<User> {
    let username = input.username.trim().to_lowercase();
    if username.len() < 3
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Error::invalid(
            "username",
            "Tên đăng nhập gồm 3–64 chữ cái không dấu, chữ số, dấu chấm, gạch dưới hoặc gạch ngang.",
            "The user name is 3–64 ASCII letters, digits, '.', '_' or '-'.",
        ));
    }
    let full_name = input.full_name.trim().to_owned();
    if full_name.is_empty() || full_name.chars().count() > 200 {
        return Err(Error::invalid(
            "full_name",
            "Họ và tên không được để trống.",
            "The full name is required.",
        ));
    }
    let full_name = crate::registry::text("full_name", &full_name, true)?;
    check_password_rules(
        "password",
        &input.password,
        &kyso_domain::password::Owner {
            username: &username,
            full_name: &full_name,
            current: None,
        },
    )?;
    let home = manageable(store, actor, input.agency_id).await?;
    let mut grants = Vec::new();
    for r in &input.roles {
        let role: Role = r.role.parse().map_err(|_| {
            Error::invalid(
                "role",
                format!("Vai trò \"{}\" không tồn tại.", r.role),
                format!("There is no role \"{}\".", r.role),
            )
        })?;
        let on = manageable(store, actor, r.agency_id).await?;
        if role == Role::DostAdmin && !actor.has_role(Role::DostAdmin) && !actor.is_system() {
            return Err(Error::Forbidden);
        }
        grants.push((role, on));
    }
    let hash = hash_off_thread(input.password).await?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::ManageAccounts, &home.path))
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, full_name, email, agency_id, password_hash, \
         must_change_password, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&username)
    .bind(&full_name)
    .bind(input.email.trim())
    .bind(home.id)
    .bind(&hash)
    .bind(i64::from(input.must_change_password))
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(unique(
        "username",
        &format!("Tên đăng nhập {username} đã được dùng."),
        &format!("The user name {username} is taken."),
    ))?;
    for (role, on) in &grants {
        sqlx::query("INSERT INTO user_roles (user_id, role, agency_id) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(role.as_str())
            .bind(on.id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit_audited(Event {
            action: "user.create",
            object: format!("user:{id}"),
            agency: Some(home.code.clone()),
            detail: json!({"username": username,
                "roles": grants.iter().map(|(r, a)| format!("{}@{}", r.as_str(), a.code)).collect::<Vec<_>>()}),
        },
        now).await?;
    user(store, id).await
}

async fn manageable(store: &Store, actor: &Actor, agency_id: i64) -> Result<Agency> {
    crate::registry::agency_field(
        store,
        actor,
        agency_id,
        Permission::ManageAccounts,
        "agency_id",
    )
    .await
}

/// An account by id (no permission check: callers decide who may see it).
pub async fn user(store: &Store, id: i64) -> Result<User> {
    let row = sqlx::query(
        "SELECT id, username, full_name, email, agency_id, must_change_password, disabled \
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: crate::Record::User,
    })?;
    let roles =
        sqlx::query("SELECT role, agency_id FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(RoleOn {
                    role: r.try_get(0)?,
                    agency_id: r.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        full_name: row.try_get(2)?,
        email: row.try_get(3)?,
        agency_id: row.try_get(4)?,
        must_change_password: row.try_get::<i64, _>(5)? != 0,
        disabled: row.try_get::<i64, _>(6)? != 0,
        roles,
    })
}

/// Accounts whose agency lies in the actor's account-management subtrees.
pub async fn users(store: &Store, actor: &Actor) -> Result<Vec<User>> {
    let (scope, params) = actor.scope(Permission::ManageAccounts).sql("a.path", 1);
    let sql = format!(
        "SELECT u.id FROM users u JOIN agencies a ON a.id = u.agency_id WHERE {scope} ORDER BY u.username"
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql);
    for p in &params {
        q = q.bind(p);
    }
    let ids = q.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(user(store, id).await?);
    }
    Ok(out)
}

/// The grants (role + agency path) of a user.
async fn grants(store: &Store, user_id: i64) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT r.role, r.agency_id, a.path FROM user_roles r JOIN agencies a ON a.id = r.agency_id \
         WHERE r.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let role: String = r.try_get(0)?;
        // A role name this build does not know (written by a newer kyso) grants nothing.
        if let Ok(role) = role.parse::<Role>() {
            out.push(Grant {
                role,
                agency_id: r.try_get(1)?,
                path: r.try_get(2)?,
            });
        }
    }
    Ok(out)
}

pub(crate) async fn actor_for(
    store: &Store,
    user_id: i64,
    username: String,
    source: &str,
) -> Result<Actor> {
    Ok(Actor {
        user_id,
        username,
        grants: grants(store, user_id).await?,
        source: source.into(),
    })
}

/// Check a user name and password and open a session. Failures are audited; after
/// [`MAX_FAILURES`] in a row the account is locked for [`LOCKOUT_SECS`].
///
/// The lock is checked and the attempt counted in one conditional `UPDATE … RETURNING`
/// *before* the password is hashed: concurrent guesses queue on the row, so no more than
/// [`MAX_FAILURES`] of them ever reach the hash, whatever the number of servers or client
/// addresses (the database is the one truth). A success resets the count.
///
/// A locked account is answered exactly like an unknown name or a wrong password
/// ([`Error::Unauthenticated`], after the same argon2 work), so the answer does not tell
/// whether an account exists or is locked; only the audit log records why.
pub async fn login(
    store: &Store,
    username: &str,
    password: Zeroizing<String>,
    source: &str,
    now: OffsetDateTime,
) -> Result<(Session, Actor)> {
    let username = username.trim().to_lowercase();
    let nowu = now.unix_timestamp();
    let who = Actor {
        user_id: 0,
        username: username.clone(),
        grants: vec![],
        source: source.into(),
    };
    let row = reserve_attempt(store, &username, nowu).await?;
    let Some(row) = row else {
        // Unknown, or locked: spend the same time as a real check, so that neither the
        // answer nor its timing reveals which names exist or are locked.
        let _ = tokio::task::spawn_blocking(move || {
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let dummy =
                DUMMY.get_or_init(|| hash_password("kyso-dummy-password").unwrap_or_default());
            verify_password(&password, dummy)
        })
        .await;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&username)
            .fetch_optional(store.pool())
            .await?;
        let why = if exists.is_some() {
            "locked"
        } else {
            "unknown user"
        };
        audit::record(store, &who, fail_event(why), now).await?;
        return Err(Error::Unauthenticated);
    };
    let id: i64 = row.try_get(0)?;
    let hash: String = row.try_get(1)?;
    let disabled = row.try_get::<i64, _>(2)? != 0;
    let must_change = row.try_get::<i64, _>(3)? != 0;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|_| internal("verify task"))?;
    if !ok || disabled {
        // The attempt was counted (and the lock set) when it was reserved.
        audit::record(
            store,
            &who,
            fail_event(if disabled {
                "disabled"
            } else {
                "wrong password"
            }),
            now,
        )
        .await?;
        return Err(Error::Unauthenticated);
    }
    let token = token_string()?;
    let csrf = hex(&random_bytes::<16>()?);
    let actor = Actor { user_id: id, ..who };
    let mut tx = store.begin_write(&actor, On::Own).await?;
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(nowu)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at, source) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash(&token))
    .bind(id)
    .bind(&csrf)
    .bind(nowu)
    .bind(nowu + SESSION_SECS)
    .bind(source)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "auth.login",
            object: format!("user:{id}"),
            agency: None,
            detail: json!({}),
        },
        now,
    )
    .await?;
    let actor = actor_for(store, id, username, source).await?;
    Ok((
        Session {
            token,
            csrf,
            must_change_password: must_change,
        },
        actor,
    ))
}

/// Take one login attempt for `username` if the account is not locked: the failure count goes
/// up by one (and the lock is set when it reaches [`MAX_FAILURES`]) in the same statement that
/// checks the lock. Returns the id, hash, disabled and must-change flags; `None` when the name
/// is unknown or the account locked.
async fn reserve_attempt(
    store: &Store,
    username: &str,
    nowu: i64,
) -> Result<Option<sqlx::any::AnyRow>> {
    // The login throttle is the system's bookkeeping: nobody is signed in yet.
    let mut tx = store.begin_write(&Actor::system(), On::System).await?;
    let row = sqlx::query(
        "UPDATE users SET \
         failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END \
         WHERE username = $1 AND locked_until <= $4 \
         RETURNING id, password_hash, disabled, must_change_password",
    )
    .bind(username)
    .bind(MAX_FAILURES)
    .bind(nowu + LOCKOUT_SECS)
    .bind(nowu)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(row)
}

fn fail_event(why: &str) -> Event<'static> {
    Event {
        action: "auth.login_failed",
        object: "user".into(),
        agency: None,
        detail: json!({ "reason": why }),
    }
}

/// The actor of a session cookie, with the session's CSRF token and whether the password
/// must be changed first.
pub async fn session_actor(
    store: &Store,
    token: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<(Actor, String, bool)> {
    let row = sqlx::query(
        "SELECT s.user_id, u.username, s.csrf, u.must_change_password, u.disabled \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now.unix_timestamp())
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::Unauthenticated)?;
    if row.try_get::<i64, _>(4)? != 0 {
        return Err(Error::Unauthenticated);
    }
    let actor = actor_for(store, row.try_get(0)?, row.try_get(1)?, source).await?;
    Ok((actor, row.try_get(2)?, row.try_get::<i64, _>(3)? != 0))
}

/// End a session.
pub async fn logout(store: &Store, actor: &Actor, token: &str, now: OffsetDateTime) -> Result<()> {
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "auth.logout",
            object: format!("user:{}", actor.user_id),
            agency: None,
            detail: json!({}),
        },
        now,
    )
    .await
}

/// Change one's own password (the old one is checked). Every other session of the user and
/// every API token they issued end with it; `keep_session` (the session token doing the
/// change, if the change comes from a session) stays open.
pub async fn change_password(
    store: &Store,
    actor: &Actor,
    keep_session: Option<&str>,
    old: Zeroizing<String>,
    new: Zeroizing<String>,
    now: OffsetDateTime,
) -> Result<()> {
    let row = sqlx::query("SELECT password_hash, full_name FROM users WHERE id = $1")
        .bind(actor.user_id)
        .fetch_optional(store.pool())
        .await?
        .ok_or(Error::NotFound {
            what: crate::Record::User,
        })?;
    let hash: String = row.try_get(0)?;
    let full_name: String = row.try_get(1)?;
    // The rule first (the new password is refused whatever the old one), then the current
    // password, then reuse — known to be reuse only once the old password is proved.
    check_password_rules(
        "new_password",
        &new,
        &kyso_domain::password::Owner {
            username: &actor.username,
            full_name: &full_name,
            current: None,
        },
    )?;
    let (ok, old) = tokio::task::spawn_blocking(move || (verify_password(&old, &hash), old))
        .await
        .map_err(|_| internal("verify task"))?;
    if !ok {
        return Err(Error::invalid(
            "old_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is wrong.",
        ));
    }
    check_password_rules(
        "new_password",
        &new,
        &kyso_domain::password::Owner {
            username: &actor.username,
            full_name: &full_name,
            current: Some(&old),
        },
    )?;
    let new_hash = hash_off_thread(new).await?;
    let mut tx = store.begin_write(actor, On::Own).await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(&new_hash)
        .bind(actor.user_id)
        .execute(tx.conn())
        .await?;
    let (sessions, tokens) = end_access(&mut tx, actor.user_id, keep_session).await?;
    tx.commit_audited(
        Event {
            action: "user.password_change",
            object: format!("user:{}", actor.user_id),
            agency: None,
            detail: json!({"sessions_ended": sessions, "tokens_revoked": tokens}),
        },
        now,
    )
    .await
}

/// Set a user's password to a new one-time password that must be changed at first login
/// (used for the first administrator; returns the password, to be shown exactly once). The
/// actor must manage the account's agency (the system does).
pub async fn set_one_time_password(
    store: &Store,
    actor: &Actor,
    user_id: i64,
    now: OffsetDateTime,
) -> Result<Zeroizing<String>> {
    let u = user(store, user_id).await?;
    let agency = crate::registry::agency(
        store,
        &Actor::system(),
        u.agency_id,
        Permission::ReadRegistry,
    )
    .await?;
    let password = one_time_password()?;
    let hash = hash_off_thread(password.clone()).await?;
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::ManageAccounts, &agency.path))
        .await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = 1, failed_logins = 0, \
         locked_until = 0 WHERE id = $2",
    )
    .bind(&hash)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    let (sessions, tokens) = end_access(&mut tx, user_id, None).await?;
    tx.commit_audited(
        Event {
            action: "user.password_reset",
            object: format!("user:{user_id}"),
            agency: Some(agency.code),
            detail: json!({"sessions_ended": sessions, "tokens_revoked": tokens}),
        },
        now,
    )
    .await?;
    Ok(password)
}

/// Issue an API token for the actor (an integrator's program acts with the actor's roles).
pub async fn create_api_token(
    store: &Store,
    actor: &Actor,
    name: &str,
    days: i64,
    now: OffsetDateTime,
) -> Result<Zeroizing<String>> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "Cần đặt tên cho mã truy cập.",
            "Name the token.",
        ));
    }
    if !(1..=366).contains(&days) {
        return Err(Error::invalid(
            "days",
            "Thời hạn mã truy cập từ 1 đến 366 ngày.",
            "A token lasts 1 to 366 days.",
        ));
    }
    let token = Zeroizing::new(format!("kyso_{}", token_string()?.as_str()));
    let mut tx = store.begin_write(actor, On::Own).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(actor.user_id)
    .bind(name)
    .bind(token_hash(&token))
    .bind(now.unix_timestamp())
    .bind(now.unix_timestamp() + days * 86_400)
    .fetch_one(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "token.create",
            object: format!("token:{id}"),
            agency: None,
            detail: json!({"name": name, "days": days}),
        },
        now,
    )
    .await?;
    Ok(token)
}

/// The actor of an API token.
pub async fn token_actor(
    store: &Store,
    token: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<Actor> {
    let row = sqlx::query(
        "SELECT t.user_id, u.username, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now.unix_timestamp())
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::Unauthenticated)?;
    if row.try_get::<i64, _>(2)? != 0 {
        return Err(Error::Unauthenticated);
    }
    actor_for(store, row.try_get(0)?, row.try_get(1)?, source).await
}

/// Whether any account exists (first start).
pub async fn any_user(store: &Store) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(store.pool())
        .await?;
    Ok(n > 0)
}

/// End every session of `user_id` but `keep_session` (a session token) and delete every API
/// token of the user, inside `tx`. Returns how many sessions and tokens ended.
async fn end_access(
    tx: &mut crate::WriteTx,
    user_id: i64,
    keep_session: Option<&str>,
) -> Result<(u64, u64)> {
    let keep = keep_session.map(token_hash).unwrap_or_default();
    let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(&keep)
        .execute(tx.conn())
        .await?
        .rows_affected();
    let tokens = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    Ok((sessions, tokens))
}

/// An account the actor may manage, with its agency. An account outside every subtree the
/// actor can see is *not found*; one the actor can see but not manage is forbidden.
pub async fn managed_user(store: &Store, actor: &Actor, id: i64) -> Result<(User, Agency)> {
    let u = user(store, id).await?;
    let agency = crate::registry::agency(
        store,
        &Actor::system(),
        u.agency_id,
        Permission::ReadRegistry,
    )
    .await?;
    actor.reach(
        Permission::ManageAccounts,
        &agency.path,
        crate::Record::User,
    )?;
    Ok((u, agency))
}

/// Disable (`disabled = true`) or enable an account. Disabling ends all its sessions and API
/// tokens; a disabled account is refused at login exactly like a wrong password. Nobody
/// disables their own account.
pub async fn set_disabled(
    store: &Store,
    actor: &Actor,
    id: i64,
    disabled: bool,
    now: OffsetDateTime,
) -> Result<User> {
    let (_, agency) = managed_user(store, actor, id).await?;
    if disabled && id == actor.user_id {
        return Err(Error::invalid(
            "disabled",
            "Không thể tự khóa tài khoản của chính mình.",
            "You cannot disable your own account.",
        ));
    }
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::ManageAccounts, &agency.path))
        .await?;
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(tx.conn())
        .await?;
    let (sessions, tokens) = if disabled {
        end_access(&mut tx, id, None).await?
    } else {
        (0, 0)
    };
    tx.commit_audited(
        Event {
            action: if disabled {
                "user.disable"
            } else {
                "user.enable"
            },
            object: format!("user:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"sessions_ended": sessions, "tokens_revoked": tokens}),
        },
        now,
    )
    .await?;
    user(store, id).await
}

/// Grant (`grant = true`) or remove a role of an account. The actor must manage the account's
/// agency and the agency the role is held on; only a DOST administrator grants or removes the
/// DOST administrator role, and nobody removes their own last DOST administrator role.
pub async fn set_role(
    store: &Store,
    actor: &Actor,
    id: i64,
    role: &RoleOn,
    grant: bool,
    now: OffsetDateTime,
) -> Result<User> {
    let (u, home) = managed_user(store, actor, id).await?;
    let parsed: Role = role.role.parse().map_err(|_| {
        Error::invalid(
            "role",
            format!("Vai trò \"{}\" không tồn tại.", role.role),
            format!("There is no role \"{}\".", role.role),
        )
    })?;
    let on = manageable(store, actor, role.agency_id).await?;
    if parsed == Role::DostAdmin && !actor.has_role(Role::DostAdmin) && !actor.is_system() {
        return Err(Error::Forbidden);
    }
    let held = u.roles.contains(role);
    if grant && held {
        return Err(Error::conflict(
            "role",
            "Tài khoản đã có vai trò này trên cơ quan này.",
            "The account already holds this role on this agency.",
        ));
    }
    if !grant && !held {
        return Err(Error::invalid(
            "role",
            "Tài khoản không có vai trò này trên cơ quan này.",
            "The account does not hold this role on this agency.",
        ));
    }
    if !grant
        && id == actor.user_id
        && parsed == Role::DostAdmin
        && u.roles
            .iter()
            .filter(|r| r.role == Role::DostAdmin.as_str())
            .count()
            <= 1
    {
        return Err(Error::invalid(
            "role",
            "Không thể tự gỡ vai trò quản trị cuối cùng của chính mình.",
            "You cannot remove your own last administrator role.",
        ));
    }
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::ManageAccounts, &home.path))
        .await?;
    let sql = if grant {
        "INSERT INTO user_roles (user_id, role, agency_id) VALUES ($1, $2, $3)"
    } else {
        "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND agency_id = $3"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(parsed.as_str())
        .bind(on.id)
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: if grant {
                "user.role_grant"
            } else {
                "user.role_remove"
            },
            object: format!("user:{id}"),
            agency: Some(home.code.clone()),
            detail: json!({"role": format!("{}@{}", parsed.as_str(), on.code)}),
        },
        now,
    )
    .await?;
    user(store, id).await
}

/// An administrator resets another account's password: a new one-time password (returned, to
/// be shown exactly once) that must be changed at the next login; every session and API
/// token of the account ends. One's own password is changed, not reset.
pub async fn reset_password(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<Zeroizing<String>> {
    managed_user(store, actor, id).await?;
    if id == actor.user_id {
        return Err(Error::invalid(
            "password",
            "Không đặt lại mật khẩu của chính mình; hãy dùng chức năng đổi mật khẩu.",
            "Do not reset your own password; change it instead.",
        ));
    }
    set_one_time_password(store, actor, id, now).await
}

/// An API token as listed (never the secret or its hash).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The API tokens of an account that have not expired: one's own, or those of an account the
/// actor manages.
pub async fn api_tokens(
    store: &Store,
    actor: &Actor,
    user_id: i64,
    now: OffsetDateTime,
) -> Result<Vec<ApiToken>> {
    if user_id != actor.user_id {
        managed_user(store, actor, user_id).await?;
    }
    let rows = sqlx::query(
        "SELECT id, user_id, name, created_at, expires_at FROM api_tokens \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY id",
    )
    .bind(user_id)
    .bind(now.unix_timestamp())
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                name: r.try_get(2)?,
                created_at: r.try_get(3)?,
                expires_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// Revoke one API token: one's own, or one of an account the actor manages (a token of any
/// other account is *not found*).
pub async fn revoke_api_token(
    store: &Store,
    actor: &Actor,
    token_id: i64,
    now: OffsetDateTime,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT t.user_id, a.code, a.path FROM api_tokens t JOIN users u ON u.id = t.user_id \
         JOIN agencies a ON a.id = u.agency_id WHERE t.id = $1",
    )
    .bind(token_id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: crate::Record::Token,
    })?;
    let owner: i64 = row.try_get(0)?;
    let agency: String = row.try_get(1)?;
    let path: String = row.try_get(2)?;
    if owner != actor.user_id {
        managed_user(store, actor, owner)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::NotFound {
                    what: crate::Record::Token,
                },
                e => e,
            })?;
    }
    let on = if owner == actor.user_id {
        On::Own
    } else {
        On::Agency(Permission::ManageAccounts, &path)
    };
    let mut tx = store.begin_write(actor, on).await?;
    sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(token_id)
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "token.revoke",
            object: format!("token:{token_id}"),
            agency: Some(agency),
            detail: json!({"user": owner}),
        },
        now,
    )
    .await
}
