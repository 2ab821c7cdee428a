//! The REST API under `/api/v1`: the registry, accounts, tokens, the audit log.
//!
//! Every handler carries its `#[utoipa::path]`: the router is built from those declarations
//! ([`routes`]), so a route cannot exist without its entry in the OpenAPI document, and the
//! document's bodies are the types in [`dto`] that the handlers read and answer.

pub(crate) mod archive;
pub(crate) mod attachments;
pub(crate) mod documents;
pub(crate) mod dto;
pub(crate) mod edxml;
pub(crate) mod exchange;
pub(crate) mod incoming;
pub(crate) mod incoming_copies;
pub(crate) mod incoming_edxml;
pub(crate) mod incoming_scan;
pub(crate) mod register_export;
pub(crate) mod reports;
pub(crate) mod request_letters;
pub(crate) mod sign_service;
pub(crate) mod verify;

use axum::extract::{FromRequestParts, Path, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::{Json, Router};
use base64::Engine as _;
use kyso_store::registry;
use kyso_store::requests;
use kyso_store::{accounts, audit};
use serde::de::DeserializeOwned;
use utoipa::openapi::path::HttpMethod;
use zeroize::Zeroizing;

use crate::auth::{self, Auth, Body};
use crate::{ApiError, AppState};

type ApiResult<T> = Result<T, ApiError>;

/// The API's routes, each registered from its handler's `#[utoipa::path]` (path and
/// methods), with the OpenAPI paths and schemas of exactly those routes.
#[derive(Default)]
pub(crate) struct Routes {
    pub router: Router<AppState>,
    /// `(method, path)` of every route, lower-case methods as in the OpenAPI document.
    pub registered: Vec<(String, String)>,
    /// `(method, path)` of the routes whose handler reads the request body: its last
    /// extractor takes the whole request (axum's `ViaRequest`: `Body`, `Multipart`, `Request`)
    /// rather than its parts — what the document's `requestBody` must say.
    #[cfg(test)]
    pub with_body: Vec<(String, String)>,
    /// The operations of the document, one per route.
    pub paths: utoipa::openapi::path::Paths,
    /// The schemas the operations' bodies refer to.
    pub schemas: Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
}

impl Routes {
    /// `f(self)`: a module's routes added in a chain.
    fn pipe(self, f: fn(Routes) -> Routes) -> Self {
        f(self)
    }

    /// Serve `handler` at the path and methods its documentation `P` declares, and describe
    /// it in the document with `P`'s operation.
    fn add<P, H, T>(mut self, handler: H) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        H: Handler<T, AppState>,
        T: 'static,
    {
        let path = P::path();
        for m in P::methods() {
            let (filter, name) = match m {
                HttpMethod::Get => (MethodFilter::GET, "get"),
                HttpMethod::Post => (MethodFilter::POST, "post"),
                HttpMethod::Put => (MethodFilter::PUT, "put"),
                HttpMethod::Delete => (MethodFilter::DELETE, "delete"),
                HttpMethod::Options => (MethodFilter::OPTIONS, "options"),
                HttpMethod::Head => (MethodFilter::HEAD, "head"),
                HttpMethod::Patch => (MethodFilter::PATCH, "patch"),
                HttpMethod::Trace => (MethodFilter::TRACE, "trace"),
            };
            self.router = self.router.route(&path, on(filter, handler.clone()));
            self.registered.push((name.to_owned(), path.clone()));
            #[cfg(test)]
            if std::any::type_name::<T>().contains("ViaRequest") {
                self.with_body.push((name.to_owned(), path.clone()));
            }
        }
        self.describe::<P>()
    }

    /// Describe `P`'s operation in the document.
    pub fn describe<P>(mut self) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
    {
        let mut operation = P::operation();
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(P::tags().into_iter().map(str::to_owned));
        P::schemas(&mut self.schemas);
        self.paths
            .add_path_operation(P::path(), P::methods(), operation);
        self
    }
}

/// The request's media type, lower-case (empty when absent): what a route that takes several
/// body forms dispatches on.
pub(crate) fn content_type(req: &axum::extract::Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Every route of the API (the OpenAPI document's own route is in `crate::router`).
pub(crate) fn api_routes() -> Routes {
    use crate::csv_api as csv;
    use crate::notices_api as notices;
    use crate::sessions_api as sessions;
    use request_letters as rl;
    verify::routes(incoming::routes(edxml::routes(sign_service::routes(
        attachments::routes(register_export::routes(
            documents::routes(Routes::default()),
        )),
    ))))
    .pipe(incoming_edxml::routes)
    .pipe(exchange::routes)
    .pipe(incoming_copies::routes)
    .pipe(reports::routes)
    .pipe(archive::routes)
    .add::<__path_login, _, _>(login)
    .add::<__path_me, _, _>(me)
    .add::<__path_change_password, _, _>(change_password)
    .add::<__path_list_my_tokens, _, _>(list_my_tokens)
    .add::<__path_create_token, _, _>(create_token)
    .add::<__path_revoke_token, _, _>(revoke_token)
    .add::<sessions::__path_list_sessions, _, _>(sessions::list_sessions)
    .add::<sessions::__path_end_session, _, _>(sessions::end_session)
    .add::<__path_dashboard, _, _>(dashboard)
    .add::<incoming_scan::__path_incoming_scan_check, _, _>(incoming_scan::incoming_scan_check)
    .add::<__path_list_agencies, _, _>(list_agencies)
    .add::<__path_create_agency, _, _>(create_agency)
    .add::<__path_get_agency, _, _>(get_agency)
    .add::<__path_update_agency, _, _>(update_agency)
    .add::<__path_move_agency, _, _>(move_agency)
    .add::<__path_dissolve_agency, _, _>(dissolve_agency)
    .add::<__path_list_subscribers, _, _>(list_subscribers)
    .add::<__path_create_subscriber, _, _>(create_subscriber)
    .add::<__path_get_subscriber, _, _>(get_subscriber)
    .add::<__path_update_subscriber, _, _>(update_subscriber)
    .add::<__path_deactivate_subscriber, _, _>(deactivate_subscriber)
    .add::<__path_reactivate_subscriber, _, _>(reactivate_subscriber)
    .add::<__path_list_certificates, _, _>(list_certificates)
    .add::<__path_import_certificate, _, _>(import_certificate)
    .add::<__path_get_certificate, _, _>(get_certificate)
    .add::<__path_certificate_der, _, _>(certificate_der)
    .add::<__path_revoke_certificate, _, _>(revoke_certificate)
    .add::<__path_list_devices, _, _>(list_devices)
    .add::<__path_create_device, _, _>(create_device)
    .add::<__path_get_device, _, _>(get_device)
    .add::<__path_device_history, _, _>(device_history)
    .add::<__path_device_event, _, _>(device_event)
    .add::<__path_list_requests, _, _>(list_requests)
    .add::<__path_create_request, _, _>(create_request)
    .add::<__path_get_request, _, _>(get_request)
    .add::<__path_update_request, _, _>(update_request)
    .add::<__path_request_action, _, _>(request_action)
    .add::<__path_request_letter, _, _>(request_letter)
    .add::<rl::__path_make_letter_document, _, _>(rl::make_letter_document)
    .add::<rl::__path_get_request_recipients, _, _>(rl::get_request_recipients)
    .add::<rl::__path_put_request_recipients, _, _>(rl::put_request_recipients)
    .add::<__path_get_calendar, _, _>(get_calendar)
    .add::<__path_put_calendar, _, _>(put_calendar)
    .add::<__path_list_users, _, _>(list_users)
    .add::<__path_create_user, _, _>(create_user)
    .add::<__path_disable_user, _, _>(disable_user)
    .add::<__path_enable_user, _, _>(enable_user)
    .add::<__path_grant_role, _, _>(grant_role)
    .add::<__path_remove_role, _, _>(remove_role)
    .add::<__path_reset_password, _, _>(reset_password)
    .add::<__path_list_user_tokens, _, _>(list_user_tokens)
    .add::<__path_list_audit, _, _>(list_audit)
    .add::<csv::__path_import_subscribers, _, _>(csv::import_subscribers)
    .add::<csv::__path_export_subscribers_csv, _, _>(csv::export_subscribers_csv)
    .add::<csv::__path_export_certificates_csv, _, _>(csv::export_certificates_csv)
    .add::<csv::__path_export_subscribers_xlsx, _, _>(csv::export_subscribers_xlsx)
    .add::<csv::__path_export_certificates_xlsx, _, _>(csv::export_certificates_xlsx)
    .add::<csv::__path_export_devices_csv, _, _>(csv::export_devices_csv)
    .add::<csv::__path_export_devices_xlsx, _, _>(csv::export_devices_xlsx)
    .add::<csv::__path_export_requests_csv, _, _>(csv::export_requests_csv)
    .add::<csv::__path_export_requests_xlsx, _, _>(csv::export_requests_xlsx)
    .add::<csv::__path_export_agencies_csv, _, _>(csv::export_agencies_csv)
    .add::<csv::__path_export_agencies_xlsx, _, _>(csv::export_agencies_xlsx)
    .add::<csv::__path_export_audit_csv, _, _>(csv::export_audit_csv)
    .add::<csv::__path_export_audit_xlsx, _, _>(csv::export_audit_xlsx)
    .add::<csv::__path_export_users_csv, _, _>(csv::export_users_csv)
    .add::<csv::__path_export_users_xlsx, _, _>(csv::export_users_xlsx)
    .add::<notices::__path_inbox, _, _>(notices::inbox)
    .add::<notices::__path_scan, _, _>(notices::scan)
    .add::<notices::__path_mark_read, _, _>(notices::mark_read)
    .add::<remote_sign::__path_remote_sign, _, _>(remote_sign::remote_sign)
}

/// `POST /api/v1/documents/{id}/remote-sign`: a flow step signed with a remote CSC key.
pub(crate) mod remote_sign;

/// The API's router.
pub(crate) fn routes() -> Router<AppState> {
    api_routes().router
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

impl utoipa::IntoParams for Id {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::Required;
        vec![ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The record's number"))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            ))
            .build()]
    }
}

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

/// Log in with a user name and password; the answer holds a session token for the
/// `Authorization: Bearer` header (integrators should prefer long-lived API tokens).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = dto::Login,
    responses((status = 200, description = "Logged in", body = dto::LoginAnswer)))]
async fn login(
    State(st): State<AppState>,
    auth::Source(src): auth::Source,
    Body(input): Body<dto::Login>,
) -> ApiResult<Json<dto::LoginAnswer>> {
    auth::throttle_check(&st, &src, &input.username, false).await?;
    match accounts::login(&st.store, &input.username, input.password, &src, st.now()).await {
        Ok((session, actor)) => Ok(Json(dto::LoginAnswer {
            token: session.token.as_str().to_owned(),
            user_id: actor.user_id,
            must_change_password: session.must_change_password,
        })),
        Err(e) => {
            if matches!(e, kyso_store::Error::Unauthenticated) {
                auth::throttle_check(&st, &src, &input.username, true).await?;
                return Err(auth::login_refused());
            }
            Err(e.into())
        }
    }
}

/// The calling user and their roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The calling user", body = dto::Me)))]
async fn me(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<dto::Me>> {
    let user = accounts::user(&st.store, auth.actor.user_id).await?;
    Ok(Json(dto::Me { user }))
}

/// Change one's own password: the caller's other sessions and every API token end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth",
    request_body = dto::PasswordChange,
    responses((status = 204, description = "Changed")))]
async fn change_password(
    State(st): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Body(input): Body<dto::PasswordChange>,
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

/// Create an API token for the calling user.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth",
    request_body = dto::TokenInput,
    responses((status = 201, description = "Created; the token is shown this once", body = dto::TokenCreated)))]
async fn create_token(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::TokenInput>,
) -> ApiResult<(StatusCode, Json<dto::TokenCreated>)> {
    let token =
        accounts::create_api_token(&st.store, &auth.actor, &input.name, input.days, st.now())
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(dto::TokenCreated {
            token: token.as_str().to_owned(),
        }),
    ))
}

/// Counts: expiring, expired, revoked certificates; locked and lost devices; open and
/// overdue requests.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "registry",
    responses((status = 200, description = "The counts", body = dto::Dashboard)))]
async fn dashboard(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<dto::Dashboard>> {
    let now = st.now();
    Ok(Json(dto::Dashboard::new(
        registry::dashboard(&st.store, &auth.actor, now).await?,
        now,
    )))
}

/// Agencies in the caller's subtrees.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "registry", params(dto::AgencyQuery),
    responses((status = 200, description = "The agencies", body = dto::AgencyList)))]
async fn list_agencies(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::AgencyQuery>,
) -> ApiResult<Json<dto::AgencyList>> {
    let items = registry::agencies(&st.store, &auth.actor, &q.q, q.under).await?;
    Ok(Json(items.into()))
}

/// Create an agency. Its code must extend its parent's (422 on `code`); a second agency of the
/// same name (diacritics and case aside) under the same parent is refused (409 on `name`,
/// naming the one there) unless `same_name_confirmed` says it is another body.
#[utoipa::path(post, path = "/api/v1/agencies", tag = "registry",
    request_body = dto::AgencyInput,
    responses((status = 201, description = "Created", body = dto::Agency)))]
async fn create_agency(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::AgencyInput>,
) -> ApiResult<(StatusCode, Json<dto::Agency>)> {
    let a = registry::create_agency(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}", tag = "registry", params(Id),
    responses((status = 200, description = "The agency", body = dto::Agency)))]
async fn get_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::Agency>> {
    use kyso_domain::roles::Permission;
    Ok(Json(
        registry::agency(&st.store, &auth.actor, id, Permission::ReadRegistry).await?,
    ))
}

/// Change an agency.
#[utoipa::path(put, path = "/api/v1/agencies/{id}", tag = "registry", params(Id),
    request_body = dto::AgencyInput,
    responses((status = 200, description = "Changed", body = dto::Agency)))]
async fn update_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::AgencyInput>,
) -> ApiResult<Json<dto::Agency>> {
    Ok(Json(
        registry::update_agency(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Move an agency under another parent with a new code (which must extend the new parent's:
/// 422 on `code`); its units' codes change with it, the levels below the old code put below
/// the new one (422 when a unit's code would not fit four levels; 409 when a new code is
/// another agency's). Needs write access to the agency's current parent and to the new one.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/move", tag = "registry", params(Id),
    request_body = dto::AgencyMove,
    responses((status = 200, description = "Moved", body = dto::Agency)))]
async fn move_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::AgencyMove>,
) -> ApiResult<Json<dto::Agency>> {
    Ok(Json(
        registry::move_agency(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Dissolve an agency (the decision as `reason`): its people move to `successor_id` with their
/// certificates and devices, its own organization subscribers are deactivated, roles granted
/// on it end; the agency stays, marked dissolved, for its documents and the log. Refused
/// (409) while it has units, valid certificates of its own or open requests.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/dissolve", tag = "registry", params(Id),
    request_body = dto::AgencyDissolution,
    responses((status = 200, description = "Dissolved: what was done", body = dto::DissolutionEffects)))]
async fn dissolve_agency(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::AgencyDissolution>,
) -> ApiResult<Json<dto::DissolutionEffects>> {
    Ok(Json(
        registry::dissolve_agency(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Search subscribers: every word of q begins a word of the name (diacritics and case
/// ignored), the ID number or the email.
#[utoipa::path(get, path = "/api/v1/subscribers", tag = "registry", params(dto::SubscriberQuery),
    responses((status = 200, description = "A page of subscribers", body = dto::SubscriberPage)))]
async fn list_subscribers(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::SubscriberQuery>,
) -> ApiResult<Json<dto::SubscriberPage>> {
    Ok(Json(
        registry::search_subscribers(&st.store, &auth.actor, &q)
            .await?
            .into(),
    ))
}

/// Create a subscriber.
#[utoipa::path(post, path = "/api/v1/subscribers", tag = "registry",
    request_body = dto::SubscriberInput,
    responses((status = 201, description = "Created", body = dto::Subscriber)))]
async fn create_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::SubscriberInput>,
) -> ApiResult<(StatusCode, Json<dto::Subscriber>)> {
    let s = registry::create_subscriber(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// One subscriber. A person's full record (date of birth, ID number) is a sensitive read:
/// audited.
#[utoipa::path(get, path = "/api/v1/subscribers/{id}", tag = "registry", params(Id),
    responses((status = 200, description = "The subscriber", body = dto::Subscriber)))]
async fn get_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::Subscriber>> {
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

/// Change a subscriber.
#[utoipa::path(put, path = "/api/v1/subscribers/{id}", tag = "registry", params(Id),
    request_body = dto::SubscriberInput,
    responses((status = 200, description = "Changed", body = dto::Subscriber)))]
async fn update_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::SubscriberInput>,
) -> ApiResult<Json<dto::Subscriber>> {
    Ok(Json(
        registry::update_subscriber(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Deactivate a subscriber who left, with the reason: kept (their certificates and devices and
/// the audit log name them) but left out of lists. Refused (409) while they hold a valid
/// certificate or an assigned key device.
#[utoipa::path(post, path = "/api/v1/subscribers/{id}/deactivate", tag = "registry", params(Id),
    request_body = dto::ReasonInput,
    responses((status = 200, description = "Deactivated", body = dto::Subscriber)))]
async fn deactivate_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::ReasonInput>,
) -> ApiResult<Json<dto::Subscriber>> {
    Ok(Json(
        registry::set_subscriber_active(&st.store, &auth.actor, id, false, &input.reason, st.now())
            .await?,
    ))
}

/// Take a deactivated subscriber back.
#[utoipa::path(post, path = "/api/v1/subscribers/{id}/reactivate", tag = "registry", params(Id),
    responses((status = 200, description = "Active again", body = dto::Subscriber)))]
async fn reactivate_subscriber(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::Subscriber>> {
    Ok(Json(
        registry::set_subscriber_active(&st.store, &auth.actor, id, true, "", st.now()).await?,
    ))
}

/// Search certificates: a pasted serial, or every word of q begins a word of the subject,
/// the serial or the holder's name.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "registry", params(dto::CertQuery),
    responses((status = 200, description = "A page of certificates, soonest expiry first", body = dto::CertificatePage)))]
async fn list_certificates(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::CertQuery>,
) -> ApiResult<Json<dto::CertificatePage>> {
    let now = st.now();
    let page = registry::search_certificates(&st.store, &auth.actor, &q, now).await?;
    Ok(Json(dto::CertificatePage::new(page, now)))
}

/// The certificate bytes of an upload: a PKCS#12 file is opened with its password and only its
/// certificates are kept, as PEM (the private key is dropped at once).
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
    // The certificate and the chain the file carries (PEM), to build its path on import.
    let mut pem = signer.certificate().to_pem();
    for c in signer.chain() {
        if c.der() != signer.certificate().der() {
            pem.push_str(&c.to_pem());
        }
    }
    Ok(pem.into_bytes())
}

/// Import a certificate (PEM, base64 DER, or base64 PKCS#12 with its password).
#[utoipa::path(post, path = "/api/v1/certificates", tag = "registry",
    request_body = dto::CertImport,
    responses((status = 201, description = "Imported", body = dto::Certificate)))]
async fn import_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::CertImport>,
) -> ApiResult<(StatusCode, Json<dto::Certificate>)> {
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
        &registry::CertImport {
            agency_id: input.agency_id,
            subscriber_id: input.subscriber_id,
            bytes: &bytes,
            mismatch_reason: input.mismatch_reason,
        },
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(dto::Certificate::new(c, now))))
}

/// One certificate.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "registry", params(Id),
    responses((status = 200, description = "The certificate", body = dto::Certificate)))]
async fn get_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::Certificate>> {
    let now = st.now();
    let c = registry::certificate(&st.store, &auth.actor, id).await?;
    // Who holds which certificate is audited like a subscriber's record, with its agency.
    audit_read(
        &st,
        &auth,
        "certificate.read",
        format!("certificate:{id}"),
        c.agency_id,
    )
    .await?;
    Ok(Json(dto::Certificate::new(c, now)))
}

/// The certificate file (DER).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/der", tag = "registry", params(Id),
    responses((status = 200, description = "The certificate", content_type = "application/pkix-cert", body = dto::BinaryFile)))]
async fn certificate_der(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Response> {
    let c = registry::certificate(&st.store, &auth.actor, id).await?;
    audit_read(
        &st,
        &auth,
        "certificate.download",
        format!("certificate:{id}"),
        c.agency_id,
    )
    .await?;
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

/// Record the certificate's revocation.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revoke", tag = "registry", params(Id),
    request_body = dto::RevokeInput,
    responses((status = 200, description = "Recorded", body = dto::Certificate)))]
async fn revoke_certificate(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::RevokeInput>,
) -> ApiResult<Json<dto::Certificate>> {
    let now = st.now();
    let c = registry::mark_revoked(&st.store, &auth.actor, id, &input.reason, now).await?;
    Ok(Json(dto::Certificate::new(c, now)))
}

/// Key devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "registry", params(dto::DeviceQuery),
    responses((status = 200, description = "The devices", body = dto::DeviceList)))]
async fn list_devices(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::DeviceQuery>,
) -> ApiResult<Json<dto::DeviceList>> {
    let items = registry::devices(
        &st.store,
        &auth.actor,
        &q.q,
        q.state.as_deref(),
        q.agency_id,
    )
    .await?;
    Ok(Json(items.into()))
}

/// Register a key device.
#[utoipa::path(post, path = "/api/v1/devices", tag = "registry",
    request_body = dto::DeviceInput,
    responses((status = 201, description = "Registered", body = dto::Device)))]
async fn create_device(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::DeviceInput>,
) -> ApiResult<(StatusCode, Json<dto::Device>)> {
    let d = registry::create_device(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "registry", params(Id),
    responses((status = 200, description = "The device", body = dto::Device)))]
async fn get_device(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::Device>> {
    Ok(Json(registry::device(&st.store, &auth.actor, id).await?))
}

/// A device's records.
#[utoipa::path(get, path = "/api/v1/devices/{id}/events", tag = "registry", params(Id),
    responses((status = 200, description = "The records, oldest first", body = dto::DeviceRecordList)))]
async fn device_history(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::DeviceRecordList>> {
    let items = registry::device_history(&st.store, &auth.actor, id).await?;
    Ok(Json(items.into()))
}

/// Move a device to its next state (deliver_to_agency, assign, handover, lock, recover,
/// recall, return, report_lost).
#[utoipa::path(post, path = "/api/v1/devices/{id}/events", tag = "registry", params(Id),
    request_body = dto::DeviceEventInput,
    responses((status = 200, description = "The device in its new state", body = dto::Device)))]
async fn device_event(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::DeviceEventInput>,
) -> ApiResult<Json<dto::Device>> {
    Ok(Json(
        registry::device_event(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Accounts in the caller's subtrees.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "The accounts", body = dto::UserList)))]
async fn list_users(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<dto::UserList>> {
    let items = accounts::users(&st.store, &auth.actor).await?;
    Ok(Json(items.into()))
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    request_body = dto::NewUser,
    responses((status = 201, description = "Created", body = dto::User)))]
async fn create_user(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::NewUser>,
) -> ApiResult<(StatusCode, Json<dto::User>)> {
    let u = accounts::create_user(&st.store, &auth.actor, input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Disable an account: it can no longer log in and its sessions and API tokens end
/// (audited; not one's own).
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "accounts", params(Id),
    responses((status = 200, description = "Disabled", body = dto::User)))]
async fn disable_user(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::User>> {
    Ok(Json(
        accounts::set_disabled(&st.store, &auth.actor, id, true, st.now()).await?,
    ))
}

/// Enable a disabled account (audited).
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "accounts", params(Id),
    responses((status = 200, description = "Enabled", body = dto::User)))]
async fn enable_user(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::User>> {
    Ok(Json(
        accounts::set_disabled(&st.store, &auth.actor, id, false, st.now()).await?,
    ))
}

/// Grant a role on an agency in the caller's subtrees (audited).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "accounts", params(Id),
    request_body = dto::RoleOn,
    responses((status = 200, description = "Granted", body = dto::User)))]
async fn grant_role(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::RoleOn>,
) -> ApiResult<Json<dto::User>> {
    change_role(&st, &auth, id, input, true).await
}

/// Remove a role (audited; not one's own last administrator role).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles/remove", tag = "accounts", params(Id),
    request_body = dto::RoleOn,
    responses((status = 200, description = "Removed", body = dto::User)))]
async fn remove_role(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::RoleOn>,
) -> ApiResult<Json<dto::User>> {
    change_role(&st, &auth, id, input, false).await
}

/// Grant (`grant`) or remove a role of account `id`.
async fn change_role(
    st: &AppState,
    auth: &Auth,
    id: i64,
    input: dto::RoleOn,
    grant: bool,
) -> ApiResult<Json<dto::User>> {
    let role = input;
    Ok(Json(
        accounts::set_role(&st.store, &auth.actor, id, &role, grant, st.now()).await?,
    ))
}

/// Reset an account's password: the answer holds a one-time password, shown this once, to
/// be changed at the next login; the account's sessions and API tokens end (audited; not
/// one's own).
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "accounts", params(Id),
    responses((status = 200, description = "Reset", body = dto::PasswordReset)))]
async fn reset_password(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let password = accounts::reset_password(&st.store, &auth.actor, id, st.now()).await?;
    let mut res = Json(dto::PasswordReset {
        password: password.as_str().to_owned(),
        must_change_password: true,
    })
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// The calling user's API tokens that have not expired (never the secret).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, description = "The tokens", body = dto::ApiTokenList)))]
async fn list_my_tokens(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<dto::ApiTokenList>> {
    let items = accounts::api_tokens(&st.store, &auth.actor, auth.actor.user_id, st.now()).await?;
    Ok(Json(items.into()))
}

/// The API tokens of an account the caller manages (never the secret).
#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", tag = "accounts", params(Id),
    responses((status = 200, description = "The tokens", body = dto::ApiTokenList)))]
async fn list_user_tokens(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::ApiTokenList>> {
    let items = accounts::api_tokens(&st.store, &auth.actor, id, st.now()).await?;
    Ok(Json(items.into()))
}

/// Revoke an API token: one's own, or one of an account the caller manages (audited).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(Id),
    responses((status = 204, description = "Revoked")))]
async fn revoke_token(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<StatusCode> {
    accounts::revoke_api_token(&st.store, &auth.actor, id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(dto::AuditQuery),
    responses((status = 200, description = "The entries", body = dto::AuditList)))]
async fn list_audit(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::AuditQuery>,
) -> ApiResult<Json<dto::AuditList>> {
    let filter = audit::Filter {
        actor: q.actor.filter(|s| !s.is_empty()),
        action_prefix: q.action.filter(|s| !s.is_empty()),
        object: q.object.filter(|s| !s.is_empty()),
        limit: q.limit.unwrap_or(100),
        before_seq: q.before_seq,
        ..Default::default()
    };
    let items = audit::list(&st.store, &auth.actor, &filter).await?;
    Ok(Json(items.into()))
}

/// Lifecycle requests the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(dto::RequestQuery),
    responses((status = 200, description = "The requests", body = dto::RequestList)))]
async fn list_requests(
    State(st): State<AppState>,
    auth: Auth,
    Q(q): Q<dto::RequestQuery>,
) -> ApiResult<Json<dto::RequestList>> {
    let items = requests::list_requests(&st.store, &auth.actor, &q, st.now()).await?;
    Ok(Json(items.into()))
}

/// Draft a request (Decree 68 forms 01–06).
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests",
    request_body = dto::NewRequest,
    responses((status = 201, description = "Drafted", body = dto::RequestDetail)))]
async fn create_request(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<dto::NewRequest>,
) -> ApiResult<(StatusCode, Json<dto::RequestDetail>)> {
    let r = requests::create_request(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// One request with its items, timeline and the caller's possible actions. A request lists
/// people's ID numbers and dates of birth: reading one is audited.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(Id),
    responses((status = 200, description = "The request", body = dto::RequestDetail)))]
async fn get_request(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<dto::RequestDetail>> {
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

/// Replace a draft's content (same kind and agency).
#[utoipa::path(put, path = "/api/v1/requests/{id}", tag = "requests", params(Id),
    request_body = dto::NewRequest,
    responses((status = 200, description = "Replaced", body = dto::RequestDetail)))]
async fn update_request(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::NewRequest>,
) -> ApiResult<Json<dto::RequestDetail>> {
    Ok(Json(
        requests::update_draft(&st.store, &auth.actor, id, &input, st.now()).await?,
    ))
}

/// Act on a request: submit, approve, return, start_processing, complete (with the issued
/// certificates), refuse (with a reason), withdraw. `send` is refused (409): a request is sent
/// when its letter document (`POST /api/v1/requests/{id}/document`) is dispatched.
#[utoipa::path(post, path = "/api/v1/requests/{id}/actions", tag = "requests", params(Id),
    request_body = dto::ActionInput,
    responses((status = 200, description = "The request after the action", body = dto::RequestDetail)))]
async fn request_action(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<dto::ActionInput>,
) -> ApiResult<Json<dto::RequestDetail>> {
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
    // `send` is refused: a request is sent by dispatching its letter document
    // (`POST /api/v1/requests/{id}/document`).
    Ok(Json(
        requests::act(&st.store, &auth.actor, id, action, &act, st.now()).await?,
    ))
}

/// The request's official letter: the sealed PDF of its letter document (signed by the
/// official and by the agency's organization certificate in the document flow), there once
/// that document is dispatched; re-hashed against its recorded SHA-256 before it is served.
#[utoipa::path(get, path = "/api/v1/requests/{id}/letter", tag = "requests", params(Id),
    responses((status = 200, description = "The letter", content_type = "application/pdf", body = dto::BinaryFile)))]
async fn request_letter(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Response> {
    let bytes = crate::letters::letter_bytes(&st, &auth.actor, id).await?;
    Ok(register_export::pdf_response(
        &format!("de-nghi-{id}.pdf"),
        bytes,
    ))
}

/// The working-day calendar configuration (per-year holidays and make-up days).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "requests",
    responses((status = 200, description = "The configuration", body = dto::CalendarConfig)))]
async fn get_calendar(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<kyso_domain::calendar::CalendarConfig>> {
    Ok(Json(requests::get_calendar(&st.store, &auth.actor).await?))
}

/// Replace the working-day calendar configuration.
#[utoipa::path(put, path = "/api/v1/calendar", tag = "requests",
    request_body = dto::CalendarConfig,
    responses((status = 200, description = "The configuration now", body = dto::CalendarConfig)))]
async fn put_calendar(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<kyso_domain::calendar::CalendarConfig>,
) -> ApiResult<Json<kyso_domain::calendar::CalendarConfig>> {
    Ok(Json(
        requests::set_calendar(&st.store, &auth.actor, &input, st.now()).await?,
    ))
}
