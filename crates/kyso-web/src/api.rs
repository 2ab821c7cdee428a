//! The REST API under `/api/v1`: the registry, accounts, tokens, the audit log.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use kyso_store::registry::{self, AgencyInput, DeviceEventInput, DeviceInput, SubscriberInput};
use kyso_store::requests::{self, NewRequest, RequestQuery};
use kyso_store::{accounts, audit};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::auth::{self, Auth, Body};
use crate::{ApiError, AppState};

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/tokens", get(list_my_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/dashboard", get(dashboard))
        .route("/api/v1/agencies", get(list_agencies).post(create_agency))
        .route("/api/v1/agencies/{id}", get(get_agency).put(update_agency))
        .route(
            "/api/v1/subscribers",
            get(list_subscribers).post(create_subscriber),
        )
        .route(
            "/api/v1/subscribers/{id}",
            get(get_subscriber).put(update_subscriber),
        )
        .route(
            "/api/v1/certificates",
            get(list_certificates).post(import_certificate),
        )
        .route("/api/v1/certificates/{id}", get(get_certificate))
        .route("/api/v1/certificates/{id}/der", get(certificate_der))
        .route("/api/v1/certificates/{id}/revoke", post(revoke_certificate))
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route("/api/v1/devices/{id}", get(get_device))
        .route(
            "/api/v1/devices/{id}/events",
            get(device_history).post(device_event),
        )
        .route("/api/v1/requests", get(list_requests).post(create_request))
        .route(
            "/api/v1/requests/{id}",
            get(get_request).put(update_request),
        )
        .route("/api/v1/requests/{id}/actions", post(request_action))
        .route("/api/v1/requests/{id}/letter", get(request_letter))
        .route("/api/v1/calendar", get(get_calendar).put(put_calendar))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}/disable", post(disable_user))
        .route("/api/v1/users/{id}/enable", post(enable_user))
        .route("/api/v1/users/{id}/roles", post(grant_role))
        .route("/api/v1/users/{id}/roles/remove", post(remove_role))
        .route("/api/v1/users/{id}/password-reset", post(reset_password))
        .route("/api/v1/users/{id}/tokens", get(list_user_tokens))
        .route("/api/v1/audit", get(list_audit))
        .route(
            "/api/v1/subscribers/import",
            post(crate::csv_api::import_subscribers),
        )
        .route(
            "/api/v1/subscribers/export.csv",
            get(crate::csv_api::export_subscribers_csv),
        )
        .route(
            "/api/v1/certificates/export.csv",
            get(crate::csv_api::export_certificates_csv),
        )
        .route(
            "/api/v1/subscribers/export.xlsx",
            get(crate::csv_api::export_subscribers_xlsx),
        )
        .route(
            "/api/v1/certificates/export.xlsx",
            get(crate::csv_api::export_certificates_xlsx),
        )
        .route("/api/v1/notices", get(crate::notices_api::inbox))
        .route("/api/v1/notices/scan", post(crate::notices_api::scan))
        .route(
            "/api/v1/notices/{id}/read",
            post(crate::notices_api::mark_read),
        )
}

/// Query parameters with a Vietnamese message when they don't parse.
#[derive(Debug)]
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    None,
                    format!("Tham số truy vấn không hợp lệ: {}", e.body_text()),
                    format!("Invalid query parameters: {}", e.body_text()),
                )
            })
    }
}

/// Path ids with a clear message when they are not numbers.
#[derive(Debug)]
pub(crate) struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|p| Id(p.0))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    Some("id"),
                    "Mã số trong đường dẫn phải là số nguyên.",
                    "The id in the path must be an integer.",
                )
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginInput {
    username: String,
    password: Zeroizing<String>,
}

/// Log in with a user name and password; the answer holds a session token for the
/// `Authorization: Bearer` header (integrators should prefer long-lived API tokens).
async fn login(
    State(st): State<AppState>,
    auth::Source(src): auth::Source,
    Body(input): Body<LoginInput>,
) -> ApiResult<Response> {
    auth::throttle_check(&st, &src, &input.username, false)?;
    match accounts::login(&st.store, &input.username, input.password, &src, st.now()).await {
        Ok((session, actor)) => Ok(Json(json!({
            "token": session.token.as_str(),
            "user_id": actor.user_id,
            "must_change_password": session.must_change_password,
        }))
        .into_response()),
        Err(e) => {
            if matches!(e, kyso_store::Error::Unauthenticated) {
                auth::throttle_check(&st, &src, &input.username, true)?;
                return Err(auth::login_refused());
            }
            Err(e.into())
        }
    }
}

async fn me(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<serde_json::Value>> {
    let user = accounts::user(&st.store, auth.actor.user_id).await?;
    Ok(Json(json!({ "user": user })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordInput {
    old_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

async fn change_password(
    State(st): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Body(input): Body<PasswordInput>,
) -> ApiResult<StatusCode> {
    let keep = auth::session_token(&headers);
    accounts::change_password(
        &st.store,
        &auth.actor,
        keep.as_deref().map(|t| t.as_str()),
        input.old_password,
        input.new_password,
        st.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
    #[serde(default = "default_days")]
    days: i64,
}

fn default_days() -> i64 {
    90
}

async fn create_token(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<TokenInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let token =
        accounts::create_api_token(&st.store, &auth.actor, &input.name, input.days, st.now())
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token.as_str() })),
    ))
}

async fn dashboard(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<registry::Dashboard>> {
    Ok(Json(
        registry::dashboard(&st.store, &auth.actor, st.now()).await?,
    ))
}

#[derive(Deserialize, Default)]
struct AgencyQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    under: Option<i64>,
}

async fn list_agencies(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<AgencyQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items = registry::agencies(&st.store, &auth.actor, &q.q, q.under).await?;
    Ok(Json(json!({ "items": items })))
}

async fn create_agency(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<AgencyInput>,
) -> ApiResult<(StatusCode, Json<registry::Agency>)> {
    let a = registry::create_agency(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

async fn get_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<registry::Agency>> {
    use kyso_domain::roles::Permission;
    Ok(Json(
        registry::agency(&st.store, &auth.actor, id, Permission::ReadRegistry).await?,
    ))
}

async fn update_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<AgencyInput>,
) -> ApiResult<Json<registry::Agency>> {
    Ok(Json(
        registry::update_agency(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

async fn list_subscribers(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<registry::SubscriberQuery>,
) -> ApiResult<Json<registry::Page<registry::Subscriber>>> {
    Ok(Json(
        registry::search_subscribers(&st.store, &auth.actor, &q).await?,
    ))
}

async fn create_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<SubscriberInput>,
) -> ApiResult<(StatusCode, Json<registry::Subscriber>)> {
    let s = registry::create_subscriber(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// One person's full record (date of birth, ID number) is a sensitive read: audited.
async fn get_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<registry::Subscriber>> {
    let s = registry::subscriber(&st.store, &auth.actor, id).await?;
    audit_read(
        &st,
        &auth,
        "subscriber.read",
        format!("subscriber:{id}"),
        s.agency_id,
    )
    .await?;
    Ok(Json(s))
}

/// Record a sensitive read of `object`, belonging to agency `agency_id`: the entry carries
/// that agency, so that its own auditors see it.
pub(crate) async fn audit_read(
    st: &AppState,
    auth: &Auth,
    action: &str,
    object: String,
    agency_id: i64,
) -> ApiResult<()> {
    audit::record_read(&st.store, &auth.actor, action, object, agency_id, st.now()).await?;
    Ok(())
}

async fn update_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<SubscriberInput>,
) -> ApiResult<Json<registry::Subscriber>> {
    Ok(Json(
        registry::update_subscriber(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

async fn list_certificates(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<registry::CertQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let now = st.now();
    let page = registry::search_certificates(&st.store, &auth.actor, &q, now).await?;
    Ok(Json(cert_page_json(page, now)))
}

pub(crate) fn cert_json(c: &registry::Certificate, now: time::OffsetDateTime) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("effective_status".into(), json!(c.status_at(now)));
    }
    v
}

fn cert_page_json(
    page: registry::Page<registry::Certificate>,
    now: time::OffsetDateTime,
) -> serde_json::Value {
    json!({
        "items": page.items.iter().map(|c| cert_json(c, now)).collect::<Vec<_>>(),
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    })
}

/// A certificate to import: PEM text, base64 DER, or a base64 PKCS#12 file with its password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertImport {
    pub agency_id: i64,
    #[serde(default)]
    pub subscriber_id: Option<i64>,
    #[serde(default)]
    pub pem: Option<String>,
    #[serde(default)]
    pub der_base64: Option<String>,
    #[serde(default)]
    pub pkcs12_base64: Option<String>,
    #[serde(default)]
    pub password: Option<Zeroizing<String>>,
}

/// The certificate bytes of an upload: a PKCS#12 file is opened with its password and only its
/// certificate is kept (the private key is dropped at once).
pub(crate) fn certificate_bytes(
    raw: Vec<u8>,
    password: Option<&Zeroizing<String>>,
) -> ApiResult<Vec<u8>> {
    let looks_p12 = kyso_x509::Cert::from_pem_or_der(&raw).is_err() && password.is_some();
    if !looks_p12 {
        return Ok(raw);
    }
    use kyso_cms::signer::Signer as _;
    let secret = kyso_keys::Secret::new(password.map(|p| p.to_string()).unwrap_or_default());
    let signer = kyso_keys::Pkcs12Signer::from_pkcs12(&raw, &secret).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("certificate"),
            "Không mở được tệp .p12: sai mật khẩu hoặc tệp không phải PKCS#12.",
            "Cannot open the .p12 file: wrong password, or not a PKCS#12 file.",
        )
    })?;
    Ok(signer.certificate().der().to_vec())
}

async fn import_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<CertImport>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    Some("certificate"),
                    "Dữ liệu base64 không hợp lệ.",
                    "Invalid base64 data.",
                )
            })
    };
    let raw = match (&input.pem, &input.der_base64, &input.pkcs12_base64) {
        (Some(pem), None, None) => pem.as_bytes().to_vec(),
        (None, Some(der), None) => b64(der)?,
        (None, None, Some(p12)) => {
            if input.password.is_none() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    Some("password"),
                    "Cần mật khẩu của tệp .p12.",
                    "The .p12 file's password is required.",
                ));
            }
            b64(p12)?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("certificate"),
                "Gửi đúng một trong các trường pem, der_base64 hoặc pkcs12_base64.",
                "Send exactly one of pem, der_base64 or pkcs12_base64.",
            ))
        }
    };
    let bytes = certificate_bytes(raw, input.password.as_ref())?;
    let now = st.now();
    let c = registry::import_certificate(
        &st.store,
        &auth.actor,
        input.agency_id,
        input.subscriber_id,
        &bytes,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(cert_json(&c, now))))
}

async fn get_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<serde_json::Value>> {
    let now = st.now();
    Ok(Json(cert_json(
        &registry::certificate(&st.store, &auth.actor, id).await?,
        now,
    )))
}

async fn certificate_der(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Response> {
    let der = registry::certificate_der(&st.store, &auth.actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-cert".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"certificate-{id}.cer\""),
            ),
        ],
        der,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeInput {
    reason: String,
}

async fn revoke_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RevokeInput>,
) -> ApiResult<Json<serde_json::Value>> {
    let now = st.now();
    let c = registry::mark_revoked(&st.store, &auth.actor, id, &input.reason, now).await?;
    Ok(Json(cert_json(&c, now)))
}

#[derive(Deserialize, Default)]
struct DeviceQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    agency_id: Option<i64>,
}

async fn list_devices(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<DeviceQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items = registry::devices(
        &st.store,
        &auth.actor,
        &q.q,
        q.state.as_deref(),
        q.agency_id,
    )
    .await?;
    Ok(Json(json!({ "items": items })))
}

async fn create_device(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<DeviceInput>,
) -> ApiResult<(StatusCode, Json<registry::Device>)> {
    let d = registry::create_device(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

async fn get_device(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<registry::Device>> {
    Ok(Json(registry::device(&st.store, &auth.actor, id).await?))
}

async fn device_history(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<serde_json::Value>> {
    let items = registry::device_history(&st.store, &auth.actor, id).await?;
    Ok(Json(json!({ "items": items })))
}

async fn device_event(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<DeviceEventInput>,
) -> ApiResult<Json<registry::Device>> {
    Ok(Json(
        registry::device_event(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

async fn list_users(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<serde_json::Value>> {
    let items = accounts::users(&st.store, &auth.actor).await?;
    Ok(Json(json!({ "items": items })))
}

async fn create_user(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<accounts::NewUser>,
) -> ApiResult<(StatusCode, Json<accounts::User>)> {
    let u = accounts::create_user(&st.store, &auth.actor, input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

async fn disable_user(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<accounts::User>> {
    Ok(Json(
        accounts::set_disabled(&st.store, &auth.actor, id, true, st.now()).await?,
    ))
}

async fn enable_user(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<accounts::User>> {
    Ok(Json(
        accounts::set_disabled(&st.store, &auth.actor, id, false, st.now()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleInput {
    role: String,
    agency_id: i64,
}

async fn grant_role(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RoleInput>,
) -> ApiResult<Json<accounts::User>> {
    change_role(&st, &auth, id, input, true).await
}

async fn remove_role(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RoleInput>,
) -> ApiResult<Json<accounts::User>> {
    change_role(&st, &auth, id, input, false).await
}

/// Grant (`grant`) or remove a role of account `id`.
async fn change_role(
    st: &AppState,
    auth: &Auth,
    id: i64,
    input: RoleInput,
    grant: bool,
) -> ApiResult<Json<accounts::User>> {
    let role = accounts::RoleOn {
        role: input.role,
        agency_id: input.agency_id,
    };
    Ok(Json(
        accounts::set_role(&st.store, &auth.actor, id, &role, grant, st.now()).await?,
    ))
}

/// Reset an account's password: the answer holds the one-time password, shown this once.
async fn reset_password(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let password = accounts::reset_password(&st.store, &auth.actor, id, st.now()).await?;
    let mut res = Json(json!({ "password": password.as_str(), "must_change_password": true }))
        .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn list_my_tokens(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<serde_json::Value>> {
    let items = accounts::api_tokens(&st.store, &auth.actor, auth.actor.user_id, st.now()).await?;
    Ok(Json(json!({ "items": items })))
}

async fn list_user_tokens(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<serde_json::Value>> {
    let items = accounts::api_tokens(&st.store, &auth.actor, id, st.now()).await?;
    Ok(Json(json!({ "items": items })))
}

async fn revoke_token(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<StatusCode> {
    accounts::revoke_api_token(&st.store, &auth.actor, id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    before_seq: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

async fn list_audit(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<AuditQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let filter = audit::Filter {
        actor: q.actor.filter(|s| !s.is_empty()),
        action_prefix: q.action.filter(|s| !s.is_empty()),
        object: q.object.filter(|s| !s.is_empty()),
        limit: q.limit.unwrap_or(100),
        before_seq: q.before_seq,
        ..Default::default()
    };
    let items = audit::list(&st.store, &auth.actor, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

async fn list_requests(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<RequestQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items = requests::list_requests(&st.store, &auth.actor, &q, st.now()).await?;
    Ok(Json(json!({ "items": items })))
}

async fn create_request(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<NewRequest>,
) -> ApiResult<(StatusCode, Json<requests::RequestDetail>)> {
    let r = requests::create_request(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A request lists people's ID numbers and dates of birth: reading one is audited.
async fn get_request(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<requests::RequestDetail>> {
    let r = requests::get_request(&st.store, &auth.actor, id, st.now()).await?;
    audit_read(
        &st,
        &auth,
        "request.read",
        format!("request:{id}"),
        r.request.agency_id,
    )
    .await?;
    Ok(Json(r))
}

async fn update_request(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<NewRequest>,
) -> ApiResult<Json<requests::RequestDetail>> {
    Ok(Json(
        requests::update_draft(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// An action on a request. `certificates` (for `complete`) are PEM texts or base64 DER.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionInput {
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    certificates: Vec<String>,
}

async fn request_action(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<ActionInput>,
) -> ApiResult<Json<requests::RequestDetail>> {
    use kyso_domain::lifecycle::RequestAction;
    let action = RequestAction::parse(&input.action).map_err(|e| {
        let names: Vec<&str> = RequestAction::ALL.iter().map(|a| a.as_str()).collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("action"),
            format!("{}; chọn một trong: {}.", e.message_vi(), names.join(", ")),
            format!("{}; use one of: {}.", e.message_en(), names.join(", ")),
        )
    })?;
    let mut certificates = Vec::with_capacity(input.certificates.len());
    for c in &input.certificates {
        let c = c.trim();
        if c.starts_with("-----BEGIN") {
            certificates.push(c.as_bytes().to_vec());
        } else {
            let der = base64::engine::general_purpose::STANDARD
                .decode(c)
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid",
                        Some("certificates"),
                        "Mỗi chứng thư số phải là văn bản PEM hoặc DER mã hóa base64.",
                        "Each certificate must be PEM text or base64 DER.",
                    )
                })?;
            certificates.push(der);
        }
    }
    let act = requests::ActInput {
        note: input.note,
        reason: input.reason,
        certificates,
    };
    let now = st.now();
    if action == RequestAction::Send {
        // The official letter is made (and signed where the server holds the agency's key)
        // before the request leaves: no request is ever sent without its letter.
        let detail = requests::get_request(&st.store, &auth.actor, id, now).await?;
        if detail.actions.contains(&RequestAction::Send) {
            crate::letters::make_letter(&st, &auth.actor, &detail, now).await?;
        }
    }
    Ok(Json(
        requests::act(&st.store, &auth.actor, id, action, &act, now).await?,
    ))
}

/// The request's letter (PDF), re-hashed against its recorded SHA-256 before it is served.
async fn request_letter(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let bytes = crate::letters::letter_bytes(&st, &auth.actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"de-nghi-{id}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn get_calendar(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<kyso_domain::calendar::CalendarConfig>> {
    Ok(Json(requests::get_calendar(&st.store, &auth.actor).await?))
}

async fn put_calendar(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<kyso_domain::calendar::CalendarConfig>,
) -> ApiResult<Json<kyso_domain::calendar::CalendarConfig>> {
    Ok(Json(
        requests::set_calendar(&st.store, &auth.actor, &input, st.now()).await?,
    ))
}
