//! The bodies of the API: what handlers read and what they answer, each with its OpenAPI
//! schema derived from the type. The store's own types stay free of HTTP concerns; these
//! are the API's contract, converted from and into them.

use std::collections::BTreeMap;

use kyso_domain::device::{DeviceEvent, DeviceKind, DeviceState};
use kyso_domain::lifecycle::{Handler, RequestAction, RequestKind, RequestState};
use kyso_domain::registry::{AgencyKind, SubscriberKind};
use kyso_domain::roles::Role;
use kyso_store::{accounts, audit, notices, registry, requests};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------------
// Schemas of the names the code defines (enum values come from the code, not from here)

fn one_of(values: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

pub(crate) fn role_name() -> Object {
    one_of(Role::ALL.map(Role::as_str))
}
fn agency_kind() -> Object {
    one_of(AgencyKind::ALL.map(AgencyKind::as_str))
}
fn subscriber_kind() -> Object {
    one_of(SubscriberKind::ALL.map(SubscriberKind::as_str))
}
fn device_kind() -> Object {
    one_of(DeviceKind::ALL.map(DeviceKind::as_str))
}
fn device_state() -> Object {
    one_of(DeviceState::ALL.map(DeviceState::as_str))
}
fn device_event() -> Object {
    one_of(DeviceEvent::ALL.map(DeviceEvent::as_str))
}
fn request_kind() -> Object {
    one_of(RequestKind::ALL.map(RequestKind::as_str))
}
fn request_state() -> Object {
    one_of(RequestState::ALL.map(RequestState::as_str))
}
fn request_handler() -> Object {
    one_of(Handler::ALL.map(Handler::as_str))
}
fn request_action() -> Object {
    one_of(RequestAction::ALL.map(RequestAction::as_str))
}
fn request_actions() -> ArrayBuilder {
    ArrayBuilder::new().items(request_action())
}

/// An empty query string value of a number is no filter (HTML forms send `agency_id=`).
fn blank_as_none<'de, D>(d: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match <Option<Raw> as Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => t.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

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

/// An API token as listed (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl From<accounts::ApiToken> for ApiToken {
    fn from(t: accounts::ApiToken) -> Self {
        ApiToken {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            created_at: t.created_at,
            expires_at: t.expires_at,
        }
    }
}

items!(ApiTokenList of ApiToken);

/// A role on an agency (and its subtree).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "clerk", "agency_id": 1}))]
pub(crate) struct RoleOn {
    #[schema(schema_with = role_name)]
    pub role: String,
    pub agency_id: i64,
}

impl From<accounts::RoleOn> for RoleOn {
    fn from(r: accounts::RoleOn) -> Self {
        RoleOn {
            role: r.role,
            agency_id: r.agency_id,
        }
    }
}

impl From<RoleOn> for accounts::RoleOn {
    fn from(r: RoleOn) -> Self {
        accounts::RoleOn {
            role: r.role,
            agency_id: r.agency_id,
        }
    }
}

/// An account (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub agency_id: i64,
    pub must_change_password: bool,
    pub disabled: bool,
    pub roles: Vec<RoleOn>,
}

impl From<accounts::User> for User {
    fn from(u: accounts::User) -> Self {
        User {
            id: u.id,
            username: u.username,
            full_name: u.full_name,
            email: u.email,
            agency_id: u.agency_id,
            must_change_password: u.must_change_password,
            disabled: u.disabled,
            roles: u.roles.into_iter().map(Into::into).collect(),
        }
    }
}

items!(UserList of User);

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    pub user: User,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "van.thu.moi", "full_name": "Lê Thị Hoa", "email": "hoa@demo.invalid", "agency_id": 1, "password": "Vi-du-mat-khau-2027", "roles": [{"role": "clerk", "agency_id": 1}], "must_change_password": true}))]
pub(crate) struct NewUser {
    pub username: String,
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    pub agency_id: i64,
    #[schema(value_type = String, format = Password)]
    pub password: Zeroizing<String>,
    pub roles: Vec<RoleOn>,
    /// The password is an initial one the user must change at the first login.
    #[serde(default)]
    pub must_change_password: bool,
}

impl From<NewUser> for accounts::NewUser {
    fn from(u: NewUser) -> Self {
        accounts::NewUser {
            username: u.username,
            full_name: u.full_name,
            email: u.email,
            agency_id: u.agency_id,
            password: u.password,
            roles: u.roles.into_iter().map(Into::into).collect(),
            must_change_password: u.must_change_password,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordReset {
    /// The one-time password, shown this once.
    pub password: String,
    pub must_change_password: bool,
}

// ---------------------------------------------------------------------------------------------
// Registry

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

/// An agency of the tree.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Agency {
    pub id: i64,
    /// The electronic identifier code (`H99.37`).
    pub code: String,
    pub legacy_code: String,
    pub name: String,
    #[schema(schema_with = agency_kind)]
    pub kind: String,
    pub parent_id: Option<i64>,
    pub depth: usize,
    pub address: String,
    pub email: String,
    pub phone: String,
}

impl From<registry::Agency> for Agency {
    fn from(a: registry::Agency) -> Self {
        Agency {
            id: a.id,
            code: a.code,
            legacy_code: a.legacy_code,
            name: a.name,
            kind: a.kind,
            parent_id: a.parent_id,
            depth: a.depth,
            address: a.address,
            email: a.email,
            phone: a.phone,
        }
    }
}

items!(AgencyList of Agency);

/// A new agency (or new values for one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "H99.90", "name": "Sở Ví dụ", "kind": "department", "parent_id": 1, "email": "so.vidu@demo.invalid"}))]
pub(crate) struct AgencyInput {
    pub code: String,
    pub name: String,
    #[schema(schema_with = agency_kind)]
    pub kind: String,
    #[serde(default)]
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
}

impl From<AgencyInput> for registry::AgencyInput {
    fn from(a: AgencyInput) -> Self {
        registry::AgencyInput {
            code: a.code,
            name: a.name,
            kind: a.kind,
            parent_id: a.parent_id,
            address: a.address,
            email: a.email,
            phone: a.phone,
        }
    }
}

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

/// A certificate holder.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Subscriber {
    pub id: i64,
    #[schema(schema_with = subscriber_kind)]
    pub kind: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub name: String,
    pub date_of_birth: String,
    pub id_number: String,
    pub email: String,
    pub title: String,
    pub unit: String,
    pub phone: String,
}

impl From<registry::Subscriber> for Subscriber {
    fn from(s: registry::Subscriber) -> Self {
        Subscriber {
            id: s.id,
            kind: s.kind,
            agency_id: s.agency_id,
            agency_name: s.agency_name,
            name: s.name,
            date_of_birth: s.date_of_birth,
            id_number: s.id_number,
            email: s.email,
            title: s.title,
            unit: s.unit,
            phone: s.phone,
        }
    }
}

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
            items: p.items.into_iter().map(Into::into).collect(),
            total: p.total,
            offset: p.offset,
            limit: p.limit,
        }
    }
}

/// A new subscriber (or new values for one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "individual", "agency_id": 1, "name": "Nguyễn Văn Ví Dụ", "date_of_birth": "15/03/1985", "id_number": "001085099999", "email": "vidu@demo.invalid", "title": "Chuyên viên"}))]
pub(crate) struct SubscriberInput {
    #[schema(schema_with = subscriber_kind)]
    pub kind: String,
    pub agency_id: i64,
    pub name: String,
    /// `dd/mm/yyyy`.
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub phone: String,
}

impl From<SubscriberInput> for registry::SubscriberInput {
    fn from(s: SubscriberInput) -> Self {
        registry::SubscriberInput {
            kind: s.kind,
            agency_id: s.agency_id,
            name: s.name,
            date_of_birth: s.date_of_birth,
            id_number: s.id_number,
            email: s.email,
            title: s.title,
            unit: s.unit,
            phone: s.phone,
        }
    }
}

/// Subscriber search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SubscriberQuery {
    /// Words that begin words of the name (diacritics and case ignored), the ID number or
    /// the email.
    #[serde(default)]
    pub q: String,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default)]
    #[param(schema_with = subscriber_kind)]
    pub kind: Option<String>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl From<SubscriberQuery> for registry::SubscriberQuery {
    fn from(q: SubscriberQuery) -> Self {
        registry::SubscriberQuery {
            q: q.q,
            agency_id: q.agency_id,
            kind: q.kind,
            offset: q.offset,
            limit: q.limit,
        }
    }
}

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

/// Certificate search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CertQuery {
    /// A serial (hex, any case, colons allowed), or words that begin words of the subject,
    /// the serial or the holder's name.
    #[serde(default)]
    pub q: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub subscriber_id: Option<i64>,
    /// Only certificates still valid that expire within this many days.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub expiring_within_days: Option<i64>,
    /// `active`, `expired`, `revoked` or `superseded`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl From<CertQuery> for registry::CertQuery {
    fn from(q: CertQuery) -> Self {
        registry::CertQuery {
            q: q.q,
            agency_id: q.agency_id,
            subscriber_id: q.subscriber_id,
            expiring_within_days: q.expiring_within_days,
            status: q.status,
            offset: q.offset,
            limit: q.limit,
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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Thiết bị bị mất"}))]
pub(crate) struct RevokeInput {
    pub reason: String,
}

/// A key device (USB token, SIM, HSM partition, remote-signing account, soft key).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Device {
    pub id: i64,
    #[schema(schema_with = device_kind)]
    pub kind: String,
    pub serial: String,
    pub model: String,
    pub agency_id: i64,
    pub holder_id: Option<i64>,
    pub holder_name: Option<String>,
    pub certificate_id: Option<i64>,
    #[schema(schema_with = device_state)]
    pub state: String,
}

impl From<registry::Device> for Device {
    fn from(d: registry::Device) -> Self {
        Device {
            id: d.id,
            kind: d.kind,
            serial: d.serial,
            model: d.model,
            agency_id: d.agency_id,
            holder_id: d.holder_id,
            holder_name: d.holder_name,
            certificate_id: d.certificate_id,
            state: d.state,
        }
    }
}

items!(DeviceList of Device);

/// A new device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "token", "serial": "VD-0001", "model": "ePass", "agency_id": 1}))]
pub(crate) struct DeviceInput {
    #[schema(schema_with = device_kind)]
    pub kind: String,
    pub serial: String,
    #[serde(default)]
    pub model: String,
    pub agency_id: i64,
    /// Where the device is now; default: received at the managing agency.
    #[serde(default)]
    #[schema(schema_with = device_state)]
    pub state: Option<String>,
    #[serde(default)]
    pub certificate_id: Option<i64>,
}

impl From<DeviceInput> for registry::DeviceInput {
    fn from(d: DeviceInput) -> Self {
        registry::DeviceInput {
            kind: d.kind,
            serial: d.serial,
            model: d.model,
            agency_id: d.agency_id,
            state: d.state,
            certificate_id: d.certificate_id,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeviceQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    #[param(schema_with = device_state)]
    pub state: Option<String>,
    #[serde(default)]
    pub agency_id: Option<i64>,
}

/// A device's history entry (handover, return, loss, recovery records).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceRecord {
    pub id: i64,
    #[schema(schema_with = device_event)]
    pub event: String,
    pub from_state: String,
    pub to_state: String,
    pub record_kind: String,
    pub holder_id: Option<i64>,
    pub counterpart: String,
    pub note: String,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<registry::DeviceRecord> for DeviceRecord {
    fn from(r: registry::DeviceRecord) -> Self {
        DeviceRecord {
            id: r.id,
            event: r.event,
            from_state: r.from_state,
            to_state: r.to_state,
            record_kind: r.record_kind,
            holder_id: r.holder_id,
            counterpart: r.counterpart,
            note: r.note,
            actor: r.actor,
            at: r.at,
        }
    }
}

items!(DeviceRecordList of DeviceRecord);

/// A state change asked for a device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event": "lock", "note": "Khóa do thất lạc"}))]
pub(crate) struct DeviceEventInput {
    #[schema(schema_with = device_event)]
    pub event: String,
    /// The new holder (assign, handover).
    #[serde(default)]
    pub holder_id: Option<i64>,
    /// The other party of the record (who handed over or received).
    #[serde(default)]
    pub counterpart: String,
    #[serde(default)]
    pub note: String,
}

impl From<DeviceEventInput> for registry::DeviceEventInput {
    fn from(e: DeviceEventInput) -> Self {
        registry::DeviceEventInput {
            event: e.event,
            holder_id: e.holder_id,
            counterpart: e.counterpart,
            note: e.note,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A new request (or the new content of a draft).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "issue_individual", "agency_id": 1, "contact_name": "Lê Thị Hoa", "contact_phone": "0912345678", "items": [{"data": {"name": "Trần Thị Bình", "id_number": "040185000123", "email": "binh@demo.invalid"}}]}))]
pub(crate) struct NewRequest {
    #[serde(default)]
    #[schema(schema_with = request_kind)]
    pub kind: String,
    /// The requesting agency.
    #[serde(default)]
    pub agency_id: i64,
    /// The subject line; the form's title when empty.
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_title: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub contact_email: String,
    /// Required for revoke and recover_device.
    #[serde(default)]
    pub reason: String,
    /// The letter number (số văn bản), may be empty.
    #[serde(default)]
    pub number: String,
    /// The rows of the form's table; at least one.
    #[serde(default)]
    pub items: Vec<NewItem>,
}

impl From<NewRequest> for requests::NewRequest {
    fn from(r: NewRequest) -> Self {
        requests::NewRequest {
            kind: r.kind,
            agency_id: r.agency_id,
            title: r.title,
            contact_name: r.contact_name,
            contact_title: r.contact_title,
            contact_phone: r.contact_phone,
            contact_email: r.contact_email,
            reason: r.reason,
            number: r.number,
            items: r.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// One row of a request's table.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewItem {
    #[serde(default)]
    pub subscriber_id: Option<i64>,
    /// Required for renew, change_info, revoke.
    #[serde(default)]
    pub certificate_id: Option<i64>,
    /// Required for recover_device.
    #[serde(default)]
    pub device_id: Option<i64>,
    /// The form's fields. issue_individual: name*, date_of_birth, id_number*, id_issued_on,
    /// id_issued_by, email*, unit, province, title, phone, old_serial, device_kind.
    /// issue_organization: name*, address, tax_code, budget_code, province, email*, phone,
    /// old_serial, device_kind. issue_device: name*, description, address, email*, phone,
    /// old_serial. change_info (new values, at least one): name, date_of_birth, id_number,
    /// email, title, unit, phone, note. renew, revoke, recover_device: note.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl From<NewItem> for requests::NewItem {
    fn from(i: NewItem) -> Self {
        requests::NewItem {
            subscriber_id: i.subscriber_id,
            certificate_id: i.certificate_id,
            device_id: i.device_id,
            data: i.data,
        }
    }
}

/// A listing filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestQuery {
    #[serde(default)]
    #[param(schema_with = request_state)]
    pub state: Option<String>,
    #[serde(default)]
    #[param(schema_with = request_kind)]
    pub kind: Option<String>,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub agency_id: Option<i64>,
    /// Only requests past their deadline.
    #[serde(default)]
    pub overdue: bool,
    /// Words of the title, the letter number or the contact's name.
    #[serde(default)]
    pub q: String,
}

impl From<RequestQuery> for requests::RequestQuery {
    fn from(q: RequestQuery) -> Self {
        requests::RequestQuery {
            state: q.state,
            kind: q.kind,
            agency_id: q.agency_id,
            overdue: q.overdue,
            q: q.q,
        }
    }
}

/// A request as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Request {
    pub id: i64,
    #[schema(schema_with = request_kind)]
    pub kind: RequestKind,
    /// The Decree 68 form number (`01`…`06`).
    pub form_number: String,
    #[schema(schema_with = request_state)]
    pub state: RequestState,
    #[schema(schema_with = request_handler)]
    pub handler: Handler,
    pub agency_id: i64,
    pub agency_code: String,
    pub agency_name: String,
    pub title: String,
    pub contact_name: String,
    pub contact_title: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub reason: String,
    pub number: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub refusal_reason: String,
    pub letter_sha256: Option<String>,
    /// Sent or processing, and past the deadline.
    pub overdue: bool,
}

impl From<requests::Request> for Request {
    fn from(r: requests::Request) -> Self {
        Request {
            id: r.id,
            kind: r.kind,
            form_number: r.form_number.to_owned(),
            state: r.state,
            handler: r.handler,
            agency_id: r.agency_id,
            agency_code: r.agency_code,
            agency_name: r.agency_name,
            title: r.title,
            contact_name: r.contact_name,
            contact_title: r.contact_title,
            contact_phone: r.contact_phone,
            contact_email: r.contact_email,
            reason: r.reason,
            number: r.number,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            submitted_at: r.submitted_at,
            sent_at: r.sent_at,
            deadline_at: r.deadline_at,
            completed_at: r.completed_at,
            refusal_reason: r.refusal_reason,
            letter_sha256: r.letter_sha256,
            overdue: r.overdue,
        }
    }
}

items!(RequestList of Request);

/// One row of a request's table.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestItem {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub certificate_id: Option<i64>,
    pub device_id: Option<i64>,
    /// The form's fields; after completion also `issued_certificate_id` where a certificate
    /// was imported.
    pub data: BTreeMap<String, String>,
}

impl From<requests::RequestItem> for RequestItem {
    fn from(i: requests::RequestItem) -> Self {
        RequestItem {
            id: i.id,
            subscriber_id: i.subscriber_id,
            certificate_id: i.certificate_id,
            device_id: i.device_id,
            data: i.data,
        }
    }
}

/// One entry of a request's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestEvent {
    pub id: i64,
    /// `create`, `update`, or an action's name.
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<requests::RequestEvent> for RequestEvent {
    fn from(e: requests::RequestEvent) -> Self {
        RequestEvent {
            id: e.id,
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            actor: e.actor,
            note: e.note,
            at: e.at,
        }
    }
}

/// A request with its items, its timeline and what the reader may do next.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestDetail {
    #[serde(flatten)]
    pub request: Request,
    pub items: Vec<RequestItem>,
    pub timeline: Vec<RequestEvent>,
    /// The actions the reading actor may take now.
    #[schema(schema_with = request_actions)]
    pub actions: Vec<RequestAction>,
}

impl From<requests::RequestDetail> for RequestDetail {
    fn from(d: requests::RequestDetail) -> Self {
        RequestDetail {
            request: d.request.into(),
            items: d.items.into_iter().map(Into::into).collect(),
            timeline: d.timeline.into_iter().map(Into::into).collect(),
            actions: d.actions,
        }
    }
}

/// An action on a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "submit", "note": "Trình lãnh đạo duyệt"}))]
pub(crate) struct ActionInput {
    #[schema(schema_with = request_action)]
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

/// The working-day calendar configuration: per year (`"2027"`), the days off and the
/// make-up working days (ISO dates). The schema of `kyso_domain::calendar::CalendarConfig`,
/// which the handlers read and answer (its serde form is written by hand there).
#[derive(Debug)]
pub(crate) enum CalendarConfig {}

impl utoipa::PartialSchema for CalendarConfig {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, KnownFormat, SchemaFormat};
        let dates = || {
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            )
        };
        let year = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "One year's days off (any weekday) and working weekend days",
            ))
            .property("holidays", dates())
            .property("working_days", dates())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "years",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("By year; a year given replaces the built-in schedule"))
                    .property_names(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some("^[0-9]{4}$")),
                    ))
                    .additional_properties(Some(year)),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([serde_json::json!(
                {"years": {"2027": {"holidays": ["2027-01-01"], "working_days": []}}}
            )])
            .into()
    }
}
impl ToSchema for CalendarConfig {}

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

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntry {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub agency: Option<String>,
    pub action: String,
    pub object: String,
    pub detail: String,
    pub source: String,
    pub hash: String,
}

impl From<audit::Entry> for AuditEntry {
    fn from(e: audit::Entry) -> Self {
        AuditEntry {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            agency: e.agency,
            action: e.action,
            object: e.object,
            detail: e.detail,
            source: e.source,
            hash: e.hash,
        }
    }
}

items!(AuditList of AuditEntry);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// The agency the rows belong to (or its subtree).
    pub agency_id: i64,
}

/// What an import did: every row written (201), or none and `errors` says why (422).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportReport {
    pub imported: usize,
    pub errors: Vec<RowError>,
}

/// One problem of an import.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RowError {
    /// The row as numbered in a spreadsheet (the header is row 1).
    pub row: usize,
    /// The template column at fault (empty when the whole row is).
    pub column: String,
    pub message: String,
    pub message_en: String,
}

impl From<kyso_store::csv_io::ImportReport> for ImportReport {
    fn from(r: kyso_store::csv_io::ImportReport) -> Self {
        ImportReport {
            imported: r.imported,
            errors: r
                .errors
                .into_iter()
                .map(|e| RowError {
                    row: e.row,
                    column: e.column,
                    message: e.message,
                    message_en: e.message_en,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InboxQuery {
    /// Only the unread notices.
    #[serde(default)]
    pub unread: bool,
}

/// One notice in a user's inbox.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Notice {
    pub id: i64,
    pub certificate_id: i64,
    /// 60, 30 or 7 days before expiry, or 0 once expired.
    pub stage_days: i64,
    /// Sent to the managing agency (escalation), not to the holder's own officers.
    pub escalated: bool,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub emailed_at: Option<OffsetDateTime>,
}

impl From<notices::Notice> for Notice {
    fn from(n: notices::Notice) -> Self {
        Notice {
            id: n.id,
            certificate_id: n.certificate_id,
            stage_days: n.stage_days,
            escalated: n.escalated,
            subject: n.subject,
            body: n.body,
            created_at: n.created_at,
            read_at: n.read_at,
            emailed_at: n.emailed_at,
        }
    }
}

/// The caller's notices with the unread count.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Inbox {
    pub items: Vec<Notice>,
    pub unread: usize,
}

/// What one expiry scan did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScanSummary {
    /// Certificates looked at (active, expiring within 60 days or recently expired).
    pub certificates: u64,
    /// Certificates for which a stage was due and is now recorded as sent.
    pub stages: u64,
    /// Inbox notices written (one per recipient).
    pub notices: u64,
    /// Of those, notices to the managing agency.
    pub escalated: u64,
    /// Certificates skipped because the subscriber already holds a newer certificate.
    pub renewed: u64,
    /// Stages that found no signature officer anywhere above the certificate's agency.
    pub without_recipient: u64,
}

impl From<notices::ScanSummary> for ScanSummary {
    fn from(s: notices::ScanSummary) -> Self {
        ScanSummary {
            certificates: s.certificates,
            stages: s.stages,
            notices: s.notices,
            escalated: s.escalated,
            renewed: s.renewed,
            without_recipient: s.without_recipient,
        }
    }
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
