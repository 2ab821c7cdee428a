//! The bodies of the API: what handlers read and what they answer, each with its OpenAPI
//! schema derived from the type. Records and inputs that the API sends exactly as the store
//! holds them are the store's own types (their schemas come with kyso-store's `openapi`
//! feature; the store stays free of HTTP). The types defined here are the API's own: bodies
//! with no store counterpart (logins, tokens, errors, file answers), query strings of
//! listings the store takes as arguments, and the few answers that differ from the store's
//! records, each saying why.

use kyso_store::registry;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

pub(crate) use kyso_domain::calendar::CalendarConfig;
pub(crate) use kyso_store::accounts::{ApiToken, NewUser, RoleOn, User};
/// One audit log entry (its schema is named `AuditEntry`).
pub(crate) use kyso_store::audit::Entry as AuditEntry;
pub(crate) use kyso_store::csv_io::ImportReport;
pub(crate) use kyso_store::notices::{Notice, ScanSummary};
pub(crate) use kyso_store::registry::{
    Agency, AgencyDissolution, AgencyInput, AgencyMove, CertQuery, Device, DeviceEventInput,
    DeviceInput, DeviceRecord, DissolutionEffects, Subscriber, SubscriberInput, SubscriberQuery,
};
pub(crate) use kyso_store::requests::{NewRequest, Request, RequestDetail, RequestQuery};

/// A list answer.
macro_rules! items {
    ($(#[$m:meta])* $name:ident of $item:ty) => {
        $(#[$m])*
        #[derive(Debug, Serialize, ToSchema)]
        pub(crate) struct $name {
            pub items: Vec<$item>,
        }

        impl<T: Into<$item>> From<Vec<T>> for $name {
            fn from(v: Vec<T>) -> Self {
                $name { items: v.into_iter().map(Into::into).collect() }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Every error answer: a stable code, the field at fault, the message in Vietnamese and in
/// English: the body every `ApiError` answers with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// `malformed`, `unauthenticated`, `forbidden`, `not_found`, `conflict`, `invalid`, …
    pub code: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
    /// Vietnamese.
    pub message: String,
    pub message_en: String,
}

impl From<&crate::ApiError> for ErrorBody {
    fn from(e: &crate::ApiError) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: e.code.to_owned(),
                field: e.field.map(str::to_owned),
                message: e.vi.clone(),
                message_en: e.en.clone(),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Accounts and tokens

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: Zeroizing<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginAnswer {
    /// The session token for `Authorization: Bearer`.
    pub token: String,
    pub user_id: i64,
    /// The password is a one-time one: only POST /api/v1/me/password is allowed until it
    /// is changed.
    pub must_change_password: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub old_password: Zeroizing<String>,
    #[schema(value_type = String, format = Password)]
    pub new_password: Zeroizing<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Phần mềm quản lý văn bản", "days": 90}))]
pub(crate) struct TokenInput {
    pub name: String,
    /// Days the token lives (default 90).
    #[serde(default = "default_days")]
    #[schema(default = 90)]
    pub days: i64,
}

fn default_days() -> i64 {
    90
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenCreated {
    /// The API token (`kyso_…`), shown this once.
    pub token: String,
}

items!(ApiTokenList of ApiToken);

items!(UserList of User);

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    pub user: User,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordReset {
    /// The one-time password, shown this once.
    pub password: String,
    pub must_change_password: bool,
}

// ---------------------------------------------------------------------------------------------
// Registry

// Its own type (not `registry::Dashboard`): its certificates are the API's `Certificate`,
// with their status at the time of the request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Dashboard {
    pub agencies: i64,
    pub subscribers: i64,
    pub certificates_active: i64,
    pub expiring_60: i64,
    pub expiring_30: i64,
    pub expiring_7: i64,
    pub expired: i64,
    pub revoked: i64,
    pub devices_locked: i64,
    pub devices_lost: i64,
    /// Requests not yet done, refused or withdrawn.
    pub open_requests: i64,
    /// Requests sent or in processing past their deadline.
    pub overdue_requests: i64,
    /// The first certificates to expire (within 60 days).
    pub soonest: Vec<Certificate>,
}

impl Dashboard {
    pub fn new(d: registry::Dashboard, now: OffsetDateTime) -> Self {
        Dashboard {
            agencies: d.agencies,
            subscribers: d.subscribers,
            certificates_active: d.certificates_active,
            expiring_60: d.expiring_60,
            expiring_30: d.expiring_30,
            expiring_7: d.expiring_7,
            expired: d.expired,
            revoked: d.revoked,
            devices_locked: d.devices_locked,
            devices_lost: d.devices_lost,
            open_requests: d.open_requests,
            overdue_requests: d.overdue_requests,
            soonest: d
                .soonest
                .into_iter()
                .map(|c| Certificate::new(c, now))
                .collect(),
        }
    }
}

items!(AgencyList of Agency);

/// The query of `GET /agencies` (the store takes these as arguments of `registry::agencies`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AgencyQuery {
    /// Words of the name or code.
    #[serde(default)]
    pub q: String,
    /// Only this agency's subtree.
    #[serde(default)]
    pub under: Option<i64>,
}

// The store's `Page<T>` is generic; the document names each kind of page (`SubscriberPage`,
// `CertificatePage`), so each has its own type here.
/// A page of subscribers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriberPage {
    pub items: Vec<Subscriber>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

impl From<registry::Page<registry::Subscriber>> for SubscriberPage {
    fn from(p: registry::Page<registry::Subscriber>) -> Self {
        SubscriberPage {
            items: p.items,
            total: p.total,
            offset: p.offset,
            limit: p.limit,
        }
    }
}

// Its own type (not `registry::Certificate`): it adds `effective_status`, the status at the
// time of the request, which the store computes on demand (`Certificate::status_at`).
/// A certificate in the registry, with what was read from the certificate itself.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Certificate {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub subscriber_name: Option<String>,
    pub agency_id: i64,
    /// Hexadecimal.
    pub serial: String,
    pub issuer: String,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_usage: String,
    /// As recorded: `active`, `revoked` or `superseded`.
    pub status: String,
    /// What a user should see now: the recorded revocation or renewal first, then `expired`
    /// or `not_yet_valid` from the certificate's validity, else `active`.
    pub effective_status: String,
    pub revocation_reason: String,
    /// SHA-256 of the DER, hexadecimal.
    pub sha256: String,
}

impl Certificate {
    pub fn new(c: registry::Certificate, now: OffsetDateTime) -> Self {
        let effective_status = c.status_at(now).to_owned();
        Certificate {
            id: c.id,
            subscriber_id: c.subscriber_id,
            subscriber_name: c.subscriber_name,
            agency_id: c.agency_id,
            serial: c.serial,
            issuer: c.issuer,
            subject: c.subject,
            not_before: c.not_before,
            not_after: c.not_after,
            key_usage: c.key_usage,
            status: c.status,
            effective_status,
            revocation_reason: c.revocation_reason,
            sha256: c.sha256,
        }
    }
}

/// A page of certificates.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificatePage {
    pub items: Vec<Certificate>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

impl CertificatePage {
    pub fn new(p: registry::Page<registry::Certificate>, now: OffsetDateTime) -> Self {
        CertificatePage {
            items: p
                .items
                .into_iter()
                .map(|c| Certificate::new(c, now))
                .collect(),
            total: p.total,
            offset: p.offset,
            limit: p.limit,
        }
    }
}

/// A certificate to import: exactly one of `pem`, `der_base64` or `pkcs12_base64` (with its
/// `password`).
#[derive(Debug, Deserialize, ToSchema)]
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
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Zeroizing<String>>,
    /// Why a certificate that does not name the subscriber as the registry has them (name,
    /// agency, ID number) is imported all the same; without it such an import is refused with
    /// the differences (field `mismatch_reason`). Kept in the audit log.
    #[serde(default)]
    pub mismatch_reason: Option<String>,
}

/// Why (deactivating a subscriber).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Nghỉ hưu từ ngày 01/07/2026"}))]
pub(crate) struct ReasonInput {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Thiết bị bị mất"}))]
pub(crate) struct RevokeInput {
    pub reason: String,
}

items!(DeviceList of Device);

/// The query of `GET /devices` (the store takes these as arguments of `registry::devices`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeviceQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    #[param(schema_with = kyso_store::openapi::device_state)]
    pub state: Option<String>,
    #[serde(default)]
    pub agency_id: Option<i64>,
}

items!(DeviceRecordList of DeviceRecord);

// ---------------------------------------------------------------------------------------------
// Requests

items!(RequestList of Request);

/// An action on a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "submit", "note": "Trình lãnh đạo duyệt"}))]
pub(crate) struct ActionInput {
    #[schema(schema_with = kyso_store::openapi::request_action)]
    pub action: String,
    #[serde(default)]
    pub note: String,
    /// Required for return and refuse.
    #[serde(default)]
    pub reason: String,
    /// For complete: the issued certificates (PEM text or base64 DER), one per item in
    /// order; required for issuance and renewal.
    #[serde(default)]
    pub certificates: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Audit, bulk files, notices

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// The actor's user name.
    #[serde(default)]
    pub actor: Option<String>,
    /// Actions beginning with this (`subscriber.`).
    #[serde(default)]
    pub action: Option<String>,
    /// The object (`subscriber:12`).
    #[serde(default)]
    pub object: Option<String>,
    /// Entries before this sequence number (the next page).
    #[serde(default)]
    pub before_seq: Option<i64>,
    /// At most this many entries (default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

items!(AuditList of AuditEntry);

/// The accounts list has no filter: its export takes none.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct UserQuery {}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// The agency the rows belong to (or its subtree).
    pub agency_id: i64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InboxQuery {
    /// Only the unread notices.
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notices with the unread count.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Inbox {
    pub items: Vec<Notice>,
    pub unread: usize,
}

/// A file answer (DER certificate, PDF letter, XLSX workbook).
#[derive(Debug)]
pub(crate) enum BinaryFile {}

impl utoipa::PartialSchema for BinaryFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .build()
            .into()
    }
}
impl ToSchema for BinaryFile {}

/// A text file answer or upload (CSV).
#[derive(Debug)]
pub(crate) enum TextFile {}

impl utoipa::PartialSchema for TextFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new().schema_type(Type::String).into()
    }
}
impl ToSchema for TextFile {}

/// A refused import: the rows at fault (an [`ImportReport`] with `imported: 0`), or a
/// refused request (an [`ErrorBody`], e.g. an agency outside the caller's).
#[derive(Debug)]
pub(crate) enum ImportRefused {}

impl utoipa::PartialSchema for ImportRefused {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::OneOfBuilder;
        use utoipa::openapi::Ref;
        OneOfBuilder::new()
            .item(Ref::from_schema_name("ImportReport"))
            .item(Ref::from_schema_name("ErrorBody"))
            .into()
    }
}
impl ToSchema for ImportRefused {}
