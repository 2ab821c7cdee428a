//! The provincial registry: agencies (a tree with electronic identifier codes), subscribers,
//! their certificates and key devices. Every function takes the acting user and checks that
//! the agency concerned lies inside one of the user's subtrees for the permission needed;
//! anything outside is reported as not found, so its existence is not revealed.

use kyso_domain::codes::AgencyCode;
use kyso_domain::device::{transition, DeviceEvent, DeviceKind, DeviceState};
use kyso_domain::roles::Permission;
use kyso_domain::text::fold;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row as _;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::words::{Index, Words};
use crate::{hex, sha256, unique, Actor, Error, Result, Store, WriteTx};

/// The kinds of agency in the tree.
pub const AGENCY_KINDS: &[(&str, &str, &str)] = &[
    (
        "province",
        "UBND tỉnh/thành phố",
        "Provincial People's Committee",
    ),
    ("department", "Sở, ban, ngành", "Department"),
    ("commune", "UBND xã/phường", "Commune People's Committee"),
    ("unit", "Đơn vị sự nghiệp", "Public service unit"),
    ("other", "Cơ quan, tổ chức khác", "Other body"),
];

/// The kinds of subscriber (Decree 68: individual, organization, device/service/software).
pub const SUBSCRIBER_KINDS: &[(&str, &str, &str)] = &[
    ("individual", "Cá nhân", "Individual"),
    ("organization", "Cơ quan, tổ chức", "Organization"),
    (
        "device",
        "Thiết bị, dịch vụ, phần mềm",
        "Device, service or software",
    ),
];

/// Longest text accepted in a free-text field.
const MAX_TEXT: usize = 500;
/// Most rows one listing returns.
pub const MAX_PAGE: i64 = 500;

// ---------------------------------------------------------------------------------------------
// Agencies

/// An agency of the tree.
#[derive(Debug, Clone, Serialize)]
pub struct Agency {
    pub id: i64,
    pub code: String,
    pub legacy_code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    #[serde(skip)]
    pub path: String,
    pub depth: usize,
    pub address: String,
    pub email: String,
    pub phone: String,
}

/// A new agency (or new values for one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyInput {
    pub code: String,
    pub name: String,
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

const AGENCY_COLUMNS: &str =
    "a.id, a.code, a.legacy_code, a.name, a.kind, a.parent_id, a.path, a.address, a.email, a.phone";

fn agency_from(row: &AnyRow) -> Result<Agency> {
    let path: String = row.try_get(6)?;
    Ok(Agency {
        id: row.try_get(0)?,
        code: row.try_get(1)?,
        legacy_code: row.try_get(2)?,
        name: row.try_get(3)?,
        kind: row.try_get(4)?,
        parent_id: row.try_get(5)?,
        depth: path.matches('/').count().saturating_sub(2),
        path,
        address: row.try_get(7)?,
        email: row.try_get(8)?,
        phone: row.try_get(9)?,
    })
}

pub(crate) fn text(field: &'static str, value: &str, required: bool) -> Result<String> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(Error::invalid(
            field,
            format!("Trường \"{}\" không được để trống.", field_vi(field)),
            format!("The field \"{field}\" is required."),
        ));
    }
    if let Some(c) = kyso_domain::text::hidden_char(v) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(Error::invalid(
            field,
            format!(
                "Trường \"{}\" có ký tự ẩn hoặc ký tự đổi chiều văn bản ({code}); hãy gõ lại \
                 trường này.",
                field_vi(field)
            ),
            format!(
                "The field \"{field}\" holds an invisible or text-direction character ({code}); \
                 type it again."
            ),
        ));
    }
    if v.chars().count() > MAX_TEXT || v.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            field,
            format!(
                "Trường \"{}\" quá dài hoặc có ký tự điều khiển.",
                field_vi(field)
            ),
            format!("The field \"{field}\" is too long or holds control characters."),
        ));
    }
    Ok(v.to_owned())
}

fn one_of(field: &'static str, value: &str, allowed: &[(&str, &str, &str)]) -> Result<String> {
    if allowed.iter().any(|(k, _, _)| *k == value) {
        return Ok(value.to_owned());
    }
    let list: Vec<&str> = allowed.iter().map(|(k, _, _)| *k).collect();
    Err(Error::invalid(
        field,
        format!(
            "Trường \"{}\" phải là một trong: {}.",
            field_vi(field),
            list.join(", ")
        ),
        format!("The field \"{field}\" must be one of: {}.", list.join(", ")),
    ))
}

pub(crate) fn email(field: &'static str, value: &str) -> Result<String> {
    let v = text(field, value, false)?;
    if !v.is_empty() {
        let ok = v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !v.contains(' ')
        });
        if !ok {
            return Err(Error::invalid(
                field,
                format!("\"{v}\" không phải địa chỉ thư điện tử hợp lệ."),
                format!("\"{v}\" is not a valid email address."),
            ));
        }
    }
    Ok(v)
}

/// The Vietnamese name of a field, for messages.
pub fn field_vi(field: &str) -> &'static str {
    match field {
        "code" => "Mã định danh",
        "name" => "Tên",
        "kind" => "Loại",
        "parent_id" => "Cơ quan quản lý",
        "agency_id" => "Cơ quan",
        "address" => "Địa chỉ",
        "email" => "Thư điện tử",
        "phone" => "Số điện thoại",
        "date_of_birth" => "Ngày sinh",
        "id_number" => "Số CMND/CCCD/Hộ chiếu",
        "title" => "Chức vụ",
        "unit" => "Đơn vị",
        "certificate" => "Chứng thư số",
        "serial" => "Số hiệu",
        "subscriber_id" => "Thuê bao",
        "holder_id" => "Người giữ",
        "state" => "Trạng thái",
        "event" => "Thao tác",
        "reason" => "Lý do",
        "username" => "Tên đăng nhập",
        "full_name" => "Họ và tên",
        "password" => "Mật khẩu",
        "role" => "Vai trò",
        "days" => "Số ngày",
        "contact_name" => "Người liên hệ",
        "contact_title" => "Chức vụ người liên hệ",
        "contact_phone" => "Điện thoại người liên hệ",
        "contact_email" => "Thư điện tử người liên hệ",
        "items" => "Danh sách đề nghị",
        "data" => "Thông tin đề nghị",
        "certificate_id" => "Chứng thư số",
        "certificates" => "Chứng thư số được cấp",
        "device_id" => "Thiết bị",
        "number" => "Số văn bản",
        "action" => "Thao tác",
        "note" => "Ghi chú",
        "years" => "Lịch làm việc",
        _ => "Trường",
    }
}

/// An agency by id, if `p` reaches it.
pub async fn agency(store: &Store, actor: &Actor, id: i64, p: Permission) -> Result<Agency> {
    let row = sqlx::query(&format!(
        "SELECT {AGENCY_COLUMNS} FROM agencies a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound { what: "agency" })?;
    let a = agency_from(&row)?;
    if !actor.can(p, &a.path) {
        return Err(if actor.can(Permission::ReadRegistry, &a.path) {
            Error::Forbidden
        } else {
            Error::NotFound { what: "agency" }
        });
    }
    Ok(a)
}

/// An agency chosen in a form's `field`: one that does not exist or lies outside the actor's
/// reach for `p` is that field's error (an input mistake), not "not found".
pub(crate) async fn agency_field(
    store: &Store,
    actor: &Actor,
    id: i64,
    p: Permission,
    field: &'static str,
) -> Result<Agency> {
    agency(store, actor, id, p).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(
            field,
            format!(
                "{} không tồn tại hoặc ngoài phạm vi của bạn.",
                field_vi(field)
            ),
            if field == "parent_id" {
                "The managing agency does not exist or is outside your agencies."
            } else {
                "The agency does not exist or is outside your agencies."
            },
        ),
        e => e,
    })
}

/// An agency by its code (either form).
pub async fn agency_by_code(store: &Store, actor: &Actor, code: &str) -> Result<Agency> {
    let code = parse_code(code)?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM agencies WHERE code = $1")
        .bind(code.dotted())
        .fetch_optional(store.pool())
        .await?;
    agency(
        store,
        actor,
        id.ok_or(Error::NotFound { what: "agency" })?,
        Permission::ReadRegistry,
    )
    .await
}

fn parse_code(code: &str) -> Result<AgencyCode> {
    AgencyCode::parse(code).map_err(|e| Error::Invalid {
        field: "code",
        vi: e.message_vi(),
        en: e.message_en(),
    })
}

/// Agencies the actor can read, in tree order (by path), optionally under `under` and
/// matching `q` (name without diacritics or either code form).
pub async fn agencies(
    store: &Store,
    actor: &Actor,
    q: &str,
    under: Option<i64>,
) -> Result<Vec<Agency>> {
    let (cond, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 4);
    let under_path = match under {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let q = fold(q);
    let sql = format!(
        "SELECT {AGENCY_COLUMNS} FROM agencies a WHERE {cond} AND a.path LIKE $1 \
         AND (a.name_fold LIKE $2 OR a.code LIKE $3 OR a.legacy_code LIKE $3) \
         ORDER BY a.path LIMIT 5000"
    );
    let mut query = sqlx::query(&sql)
        .bind(format!("{under_path}%"))
        .bind(format!("%{q}%"))
        .bind(format!("%{}%", q.to_uppercase()));
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    let mut out: Vec<Agency> = rows.iter().map(agency_from).collect::<Result<_>>()?;
    // Path order is numeric by id per level only when ids have equal width: sort by the
    // numbers themselves so children follow their parent.
    out.sort_by_key(|a| path_key(&a.path));
    Ok(out)
}

fn path_key(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

/// Create an agency under `input.parent_id` (which the actor must be allowed to write), or a
/// root agency (only the system, or a Department administrator on another root).
pub async fn create_agency(
    store: &Store,
    actor: &Actor,
    input: &AgencyInput,
    now: OffsetDateTime,
) -> Result<Agency> {
    let code = parse_code(&input.code)?;
    let name = text("name", &input.name, true)?;
    let kind = one_of("kind", &input.kind, AGENCY_KINDS)?;
    let address = text("address", &input.address, false)?;
    let mail = email("email", &input.email)?;
    let phone = text("phone", &input.phone, false)?;
    let parent = match input.parent_id {
        Some(pid) => {
            Some(agency_field(store, actor, pid, Permission::WriteRegistry, "parent_id").await?)
        }
        None => {
            let root_admin = actor.grants.iter().any(|g| {
                g.role == kyso_domain::roles::Role::DostAdmin && g.path.matches('/').count() == 2
            });
            if !actor.is_system() && !root_admin {
                return Err(Error::Forbidden);
            }
            None
        }
    };
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO agencies (code, legacy_code, name, name_fold, kind, parent_id, path, \
         address, email, phone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(code.dotted())
    .bind(code.legacy())
    .bind(&name)
    .bind(fold(&name))
    .bind(&kind)
    .bind(parent.as_ref().map(|p| p.id))
    .bind(&address)
    .bind(&mail)
    .bind(&phone)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(unique(
        "code",
        &format!(
            "Mã định danh {} đã được dùng cho cơ quan khác.",
            code.dotted()
        ),
        &format!(
            "The code {} is already used by another agency.",
            code.dotted()
        ),
    ))?;
    let path = format!("{}{id}/", parent.as_ref().map_or("/", |p| p.path.as_str()));
    sqlx::query("UPDATE agencies SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "agency.create",
            object: format!("agency:{id}"),
            agency: Some(code.dotted()),
            detail: json!({"name": name, "kind": kind, "parent_id": input.parent_id}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    agency(store, &Actor::system(), id, Permission::ReadRegistry).await
}

/// Change an agency's name, kind and contacts (its code and place in the tree stay).
pub async fn update_agency(
    store: &Store,
    actor: &Actor,
    id: i64,
    input: &AgencyInput,
    now: OffsetDateTime,
) -> Result<Agency> {
    let current = agency(store, actor, id, Permission::WriteRegistry).await?;
    let name = text("name", &input.name, true)?;
    let kind = one_of("kind", &input.kind, AGENCY_KINDS)?;
    let address = text("address", &input.address, false)?;
    let mail = email("email", &input.email)?;
    let phone = text("phone", &input.phone, false)?;
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE agencies SET name = $1, name_fold = $2, kind = $3, address = $4, email = $5, \
         phone = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&name)
    .bind(fold(&name))
    .bind(&kind)
    .bind(&address)
    .bind(&mail)
    .bind(&phone)
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "agency.update",
            object: format!("agency:{id}"),
            agency: Some(current.code.clone()),
            detail: json!({"name": name, "kind": kind}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    agency(store, actor, id, Permission::ReadRegistry).await
}

// ---------------------------------------------------------------------------------------------
// Subscribers

/// A certificate holder.
#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    pub id: i64,
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

/// A new subscriber (or new values for one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberInput {
    pub kind: String,
    pub agency_id: i64,
    pub name: String,
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

const SUBSCRIBER_COLUMNS: &str = "s.id, s.kind, s.agency_id, a.name, s.name, s.date_of_birth, \
     s.id_number, s.email, s.title, s.unit, s.phone";

fn subscriber_from(row: &AnyRow) -> Result<Subscriber> {
    Ok(Subscriber {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        agency_id: row.try_get(2)?,
        agency_name: row.try_get(3)?,
        name: row.try_get(4)?,
        date_of_birth: row.try_get(5)?,
        id_number: row.try_get(6)?,
        email: row.try_get(7)?,
        title: row.try_get(8)?,
        unit: row.try_get(9)?,
        phone: row.try_get(10)?,
    })
}

/// Dates are accepted as `dd/mm/yyyy` (the CA's template) or `yyyy-mm-dd`; stored ISO.
pub fn parse_date(field: &'static str, value: &str) -> Result<Option<time::Date>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let vn = time::macros::format_description!("[day]/[month]/[year]");
    time::Date::parse(v, iso)
        .or_else(|_| time::Date::parse(v, vn))
        .map(Some)
        .map_err(|_| {
            Error::invalid(
                field,
                format!("\"{v}\" không phải ngày hợp lệ (dạng dd/mm/yyyy)."),
                format!("\"{v}\" is not a valid date (dd/mm/yyyy)."),
            )
        })
}

pub(crate) fn validate_subscriber(
    input: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<SubscriberInput> {
    let kind = one_of("kind", &input.kind, SUBSCRIBER_KINDS)?;
    let name = text("name", &input.name, true)?;
    let dob = match parse_date("date_of_birth", &input.date_of_birth)? {
        Some(d) => {
            if d >= now.date() || d.year() < 1900 {
                return Err(Error::invalid(
                    "date_of_birth",
                    "Ngày sinh phải trước ngày hôm nay.",
                    "The date of birth must be before today.",
                ));
            }
            d.to_string()
        }
        None => String::new(),
    };
    let id_number = text("id_number", &input.id_number, false)?;
    let id_ok =
        (8..=12).contains(&id_number.len()) && id_number.chars().all(|c| c.is_ascii_alphanumeric());
    if !id_number.is_empty() && !id_ok {
        return Err(Error::invalid(
            "id_number",
            "Số CMND/CCCD/Hộ chiếu phải gồm 8–12 chữ số hoặc chữ cái (CCCD: 12 chữ số).",
            "The ID number must be 8–12 letters or digits (citizen ID: 12 digits).",
        ));
    }
    let phone = text("phone", &input.phone, false)?;
    if !phone.is_empty()
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '.' | '-'))
    {
        return Err(Error::invalid(
            "phone",
            "Số điện thoại chỉ gồm chữ số (có thể có dấu +).",
            "The phone number may hold only digits (and a leading +).",
        ));
    }
    Ok(SubscriberInput {
        kind,
        agency_id: input.agency_id,
        name,
        date_of_birth: dob,
        id_number,
        email: email("email", &input.email)?,
        title: text("title", &input.title, false)?,
        unit: text("unit", &input.unit, false)?,
        phone,
    })
}

/// A subscriber by id. Reading one person's full record is a sensitive read: it is audited.
pub async fn subscriber(store: &Store, actor: &Actor, id: i64) -> Result<Subscriber> {
    let (s, _) = subscriber_in_scope(store, actor, id, Permission::ReadRegistry).await?;
    Ok(s)
}

pub(crate) async fn subscriber_in_scope(
    store: &Store,
    actor: &Actor,
    id: i64,
    p: Permission,
) -> Result<(Subscriber, Agency)> {
    let row = sqlx::query(&format!(
        "SELECT {SUBSCRIBER_COLUMNS}, a.path FROM subscribers s JOIN agencies a ON a.id = s.agency_id \
         WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound { what: "subscriber" })?;
    let path: String = row.try_get(11)?;
    if !actor.can(Permission::ReadRegistry, &path) {
        return Err(Error::NotFound { what: "subscriber" });
    }
    if !actor.can(p, &path) {
        return Err(Error::Forbidden);
    }
    let s = subscriber_from(&row)?;
    let a = agency(
        store,
        &Actor::system(),
        s.agency_id,
        Permission::ReadRegistry,
    )
    .await?;
    Ok((s, a))
}

/// Add a subscriber to an agency the actor may write.
pub async fn create_subscriber(
    store: &Store,
    actor: &Actor,
    input: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<Subscriber> {
    let v = validate_subscriber(input, now)?;
    let ag = agency_field(
        store,
        actor,
        v.agency_id,
        Permission::WriteRegistry,
        "agency_id",
    )
    .await?;
    let mut tx = store.begin_write().await?;
    let id = insert_subscriber(&mut tx, &v, now).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "subscriber.create",
            object: format!("subscriber:{id}"),
            agency: Some(ag.code.clone()),
            detail: json!({"name": v.name, "kind": v.kind}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    subscriber(store, actor, id).await
}

pub(crate) async fn insert_subscriber(
    tx: &mut WriteTx,
    v: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subscribers (kind, agency_id, name, name_fold, date_of_birth, id_number, \
         email, title, unit, phone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    )
    .bind(&v.kind)
    .bind(v.agency_id)
    .bind(&v.name)
    .bind(fold(&v.name))
    .bind(&v.date_of_birth)
    .bind(&v.id_number)
    .bind(&v.email)
    .bind(&v.title)
    .bind(&v.unit)
    .bind(&v.phone)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await?;
    crate::words::index_subscriber(tx.conn(), id).await?;
    Ok(id)
}

/// Change a subscriber's details (moving them to another agency needs write access to both).
pub async fn update_subscriber(
    store: &Store,
    actor: &Actor,
    id: i64,
    input: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<Subscriber> {
    let (_, from) = subscriber_in_scope(store, actor, id, Permission::WriteRegistry).await?;
    let v = validate_subscriber(input, now)?;
    let to = agency(store, actor, v.agency_id, Permission::WriteRegistry).await?;
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE subscribers SET kind = $1, agency_id = $2, name = $3, name_fold = $4, \
         date_of_birth = $5, id_number = $6, email = $7, title = $8, unit = $9, phone = $10, \
         updated_at = $11 WHERE id = $12",
    )
    .bind(&v.kind)
    .bind(v.agency_id)
    .bind(&v.name)
    .bind(fold(&v.name))
    .bind(&v.date_of_birth)
    .bind(&v.id_number)
    .bind(&v.email)
    .bind(&v.title)
    .bind(&v.unit)
    .bind(&v.phone)
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?;
    crate::words::index_subscriber(tx.conn(), id).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "subscriber.update",
            object: format!("subscriber:{id}"),
            agency: Some(to.code.clone()),
            detail: json!({"name": v.name, "from_agency": from.code}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    subscriber(store, actor, id).await
}

/// A page of search results.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

impl<T> Page<T> {
    fn empty(offset: i64, limit: i64) -> Page<T> {
        Page {
            items: Vec::new(),
            total: 0,
            offset,
            limit,
        }
    }
}

/// A value bound to a search's numbered parameters.
#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Int(i64),
}

/// One search: `SELECT columns FROM from WHERE cond ORDER BY order`, parameters `$1…` in order.
struct Search<'a> {
    from: &'a str,
    cond: &'a str,
    columns: &'a str,
    order: &'a str,
    params: &'a [Param],
}

/// The search's total and one page of it, asked at once on two connections (a reader waits
/// for the slower of the two, not for both in turn).
async fn count_and_page<T>(
    store: &Store,
    s: &Search<'_>,
    offset: i64,
    limit: i64,
    row: fn(&AnyRow) -> Result<T>,
) -> Result<Page<T>> {
    let count_sql = format!("SELECT COUNT(*) FROM {} WHERE {}", s.from, s.cond);
    let list_sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        s.columns, s.from, s.cond, s.order
    );
    let bind = |sql| {
        s.params.iter().fold(sqlx::query(sql), |q, p| match p {
            Param::Text(t) => q.bind(t.clone()),
            Param::Int(i) => q.bind(*i),
        })
    };
    let (count, rows) = tokio::try_join!(
        bind(&count_sql).fetch_one(store.pool()),
        bind(&list_sql).fetch_all(store.pool()),
    )?;
    Ok(Page {
        items: rows.iter().map(row).collect::<Result<_>>()?,
        total: count.try_get(0)?,
        offset,
        limit,
    })
}

/// Subscriber search.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriberQuery {
    /// Words that begin words of the name (with or without diacritics), the ID number or the
    /// email, in any order (`kyso_domain::text::matches`).
    #[serde(default)]
    pub q: String,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Search subscribers inside the actor's subtrees.
pub async fn search_subscribers(
    store: &Store,
    actor: &Actor,
    q: &SubscriberQuery,
) -> Result<Page<Subscriber>> {
    let under = match q.agency_id {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let offset = q.offset.max(0);
    let words = Words::of(store, Index::Subscribers, &q.q).await?;
    if words.none {
        return Ok(Page::empty(offset, limit));
    }
    let scope = actor.scope(Permission::ReadRegistry);
    let (scope_sql, scope_params) = scope.sql("a.path", 3);
    // The whole province: the rarest word's rows, or every row; a subtree: its agencies' rows.
    let whole = q.agency_id.is_none() && scope.is_whole_tree();
    let (by_words, word_cond) = words.sql(Index::Subscribers, "s", 3 + scope_params.len(), whole);
    let from = if whole {
        format!("{by_words}subscribers s JOIN agencies a ON a.id = s.agency_id")
    } else {
        "agencies a CROSS JOIN subscribers s".to_owned()
    };
    let join = if whole { "" } else { " AND s.agency_id = a.id" };
    let mut params = vec![
        Param::Text(format!("{under}%")),
        Param::Text(q.kind.clone().unwrap_or_default()),
    ];
    params.extend(
        scope_params
            .into_iter()
            .chain(words.params().cloned())
            .map(Param::Text),
    );
    // `name_fold || ''`: the planners must not walk the name index for the order — that reads
    // every row in name order, at random, when few of them match (a small subtree); one scan
    // and a top-N sort costs the same as the count.
    count_and_page(
        store,
        &Search {
            from: &from,
            cond: &format!(
                "{scope_sql} AND a.path LIKE $1 AND ($2 = '' OR s.kind = $2){join}{word_cond}"
            ),
            columns: SUBSCRIBER_COLUMNS,
            order: "s.name_fold || '', s.id",
            params: &params,
        },
        offset,
        limit,
        subscriber_from,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate in the registry, with what was read from the certificate itself.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub subscriber_name: Option<String>,
    pub agency_id: i64,
    pub serial: String,
    pub issuer: String,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_usage: String,
    /// `active`, `revoked` or `superseded` as recorded; see [`Certificate::status_at`].
    pub status: String,
    pub revocation_reason: String,
    pub sha256: String,
}

impl Certificate {
    /// The status a user should see at `now`: a recorded revocation or renewal first, then
    /// expiry from the certificate's own validity.
    pub fn status_at(&self, now: OffsetDateTime) -> &'static str {
        match self.status.as_str() {
            "revoked" => "revoked",
            "superseded" => "superseded",
            _ if now > self.not_after => "expired",
            _ if now < self.not_before => "not_yet_valid",
            _ => "active",
        }
    }
}

/// Vietnamese and English labels of certificate statuses.
pub fn cert_status_label(status: &str, english: bool) -> &'static str {
    match (status, english) {
        ("active", false) => "Còn hiệu lực",
        ("active", true) => "Valid",
        ("expired", false) => "Hết hạn",
        ("expired", true) => "Expired",
        ("revoked", false) => "Đã thu hồi",
        ("revoked", true) => "Revoked",
        ("superseded", false) => "Đã gia hạn/thay thế",
        ("superseded", true) => "Renewed/replaced",
        ("not_yet_valid", false) => "Chưa có hiệu lực",
        ("not_yet_valid", true) => "Not yet valid",
        (_, false) => "Không rõ",
        (_, true) => "Unknown",
    }
}

const CERT_COLUMNS: &str = "c.id, c.subscriber_id, s.name, c.agency_id, c.serial, c.issuer, \
     c.subject, c.not_before, c.not_after, c.key_usage, c.status, c.revocation_reason, c.sha256";

fn cert_from(row: &AnyRow) -> Result<Certificate> {
    let ts = |v: i64| OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(Certificate {
        id: row.try_get(0)?,
        subscriber_id: row.try_get(1)?,
        subscriber_name: row.try_get(2)?,
        agency_id: row.try_get(3)?,
        serial: row.try_get(4)?,
        issuer: row.try_get(5)?,
        subject: row.try_get(6)?,
        not_before: ts(row.try_get(7)?),
        not_after: ts(row.try_get(8)?),
        key_usage: row.try_get(9)?,
        status: row.try_get(10)?,
        revocation_reason: row.try_get(11)?,
        sha256: row.try_get(12)?,
    })
}

/// Parse certificate bytes (PEM, possibly a chain, or DER). The end-entity certificate is the
/// first one that is not a CA; with only CA certificates, the first.
pub fn parse_certificate(bytes: &[u8]) -> Result<kyso_x509::Cert> {
    let not_cert = || {
        Error::invalid(
            "certificate",
            "Tệp tải lên không phải chứng thư số (cần tệp .cer/.crt/.pem hoặc .p12 kèm mật khẩu).",
            "The upload is not a certificate (use a .cer/.crt/.pem file, or a .p12 with its password).",
        )
    };
    if bytes.is_empty() || bytes.len() > 1024 * 1024 {
        return Err(not_cert());
    }
    let certs = kyso_x509::Cert::from_pem_or_der(bytes).map_err(|_| not_cert())?;
    let pick = certs.iter().position(|c| !c.is_ca()).unwrap_or(0);
    certs.into_iter().nth(pick).ok_or_else(not_cert)
}

fn key_usage_text(c: &kyso_x509::Cert) -> String {
    let ku = c.key_usage();
    let mut v = Vec::new();
    if ku.digital_signature {
        v.push("digitalSignature");
    }
    if ku.non_repudiation {
        v.push("nonRepudiation");
    }
    if ku.key_encipherment {
        v.push("keyEncipherment");
    }
    if ku.key_cert_sign {
        v.push("keyCertSign");
    }
    if ku.crl_sign {
        v.push("cRLSign");
    }
    v.join(", ")
}

/// Import a certificate (DER or PEM bytes) for an agency, optionally tied to a subscriber of
/// that agency's subtree. The same certificate twice, or two with one issuer and serial, is a
/// conflict.
pub async fn import_certificate(
    store: &Store,
    actor: &Actor,
    agency_id: i64,
    subscriber_id: Option<i64>,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<Certificate> {
    let cert = parse_certificate(bytes)?;
    let ag = agency_field(
        store,
        actor,
        agency_id,
        Permission::WriteRegistry,
        "agency_id",
    )
    .await?;
    if let Some(sid) = subscriber_id {
        let (s, sa) = subscriber_in_scope(store, actor, sid, Permission::WriteRegistry).await?;
        if !sa.path.starts_with(&ag.path) && !ag.path.starts_with(&sa.path) {
            return Err(Error::invalid(
                "subscriber_id",
                format!("Thuê bao {} không thuộc cơ quan đã chọn.", s.name),
                format!(
                    "Subscriber {} does not belong to the chosen agency.",
                    s.name
                ),
            ));
        }
    }
    let mut tx = store.begin_write().await?;
    let id = insert_certificate(&mut tx, &cert, agency_id, subscriber_id, now).await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "certificate.import",
            object: format!("certificate:{id}"),
            agency: Some(ag.code.clone()),
            detail: json!({"serial": cert.serial_hex(), "subject": cert.subject_display()}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    certificate(store, actor, id).await
}

pub(crate) async fn insert_certificate(
    tx: &mut WriteTx,
    cert: &kyso_x509::Cert,
    agency_id: i64,
    subscriber_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64> {
    let serial = cert.serial_hex();
    let subject = cert.subject_display();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO certificates (subscriber_id, agency_id, serial, issuer, subject, \
         subject_fold, not_before, not_after, key_usage, status, sha256, der, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12) RETURNING id",
    )
    .bind(subscriber_id)
    .bind(agency_id)
    .bind(&serial)
    .bind(cert.issuer_display())
    .bind(&subject)
    .bind(fold(&subject))
    .bind(cert.not_before().unix_timestamp())
    .bind(cert.not_after().unix_timestamp())
    .bind(key_usage_text(cert))
    .bind(hex(&sha256(cert.der())))
    .bind(cert.der().to_vec())
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(unique(
        "serial",
        &format!("Chứng thư số có số hiệu {serial} đã có trong danh mục."),
        &format!("A certificate with serial {serial} is already registered."),
    ))?;
    crate::words::index_certificate(tx.conn(), id).await?;
    Ok(id)
}

/// A certificate by id.
pub async fn certificate(store: &Store, actor: &Actor, id: i64) -> Result<Certificate> {
    let row = sqlx::query(&format!(
        "SELECT {CERT_COLUMNS}, a.path FROM certificates c JOIN agencies a ON a.id = c.agency_id \
         LEFT JOIN subscribers s ON s.id = c.subscriber_id WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: "certificate",
    })?;
    let path: String = row.try_get(13)?;
    if !actor.can(Permission::ReadRegistry, &path) {
        return Err(Error::NotFound {
            what: "certificate",
        });
    }
    cert_from(&row)
}

/// The certificate's DER bytes, re-hashed against the stored fingerprint on every read.
pub async fn certificate_der(store: &Store, actor: &Actor, id: i64) -> Result<Vec<u8>> {
    let c = certificate(store, actor, id).await?;
    let der: Vec<u8> = sqlx::query_scalar("SELECT der FROM certificates WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    if hex(&sha256(&der)) != c.sha256 {
        return Err(Error::Database(sqlx::Error::Protocol(format!(
            "stored certificate {id} does not match its fingerprint"
        ))));
    }
    Ok(der)
}

/// Certificate search.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertQuery {
    /// A serial (hex, any case, colons allowed), or words that begin words of the subject, the
    /// serial or the holder's name (without diacritics is fine).
    #[serde(default)]
    pub q: String,
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub subscriber_id: Option<i64>,
    /// Only certificates still valid that expire within this many days.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub expiring_within_days: Option<i64>,
    /// `active`, `expired`, `revoked` or `superseded`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Search certificates inside the actor's subtrees; soonest expiry first.
pub async fn search_certificates(
    store: &Store,
    actor: &Actor,
    q: &CertQuery,
    now: OffsetDateTime,
) -> Result<Page<Certificate>> {
    let under = match q.agency_id {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let nowu = now.unix_timestamp();
    let (scope, scope_params) = actor.scope(Permission::ReadRegistry).sql("a.path", 7);
    // One holder's certificates: a plain equality, so that SQLite (which plans before it sees
    // the values) walks the holder index instead of every certificate.
    let holder_filter = match q.subscriber_id {
        Some(_) => "c.subscriber_id = $2",
        None => "$2 < 0",
    };
    let mut cond = format!("{scope} AND a.path LIKE $1 AND {holder_filter}");
    let (lo, hi) = match q.expiring_within_days {
        Some(d) if d >= 0 => (nowu, nowu.saturating_add(d.min(36_500) * 86_400)),
        Some(_) => {
            return Err(Error::invalid(
                "days",
                "Số ngày phải không âm.",
                "The number of days must not be negative.",
            ))
        }
        None => (i64::MIN, i64::MAX),
    };
    // Only a window asks for the `not_after` index; without one, the planners must neither
    // range over it nor walk it for the order (a text search would read every certificate
    // in date order, at random): one scan and a top-N sort.
    let order = if q.expiring_within_days.is_some() {
        cond.push_str(" AND c.not_after >= $3 AND c.not_after <= $4 AND c.status = 'active'");
        "c.not_after"
    } else {
        cond.push_str(" AND $3 <= $4");
        "c.not_after + 0"
    };
    match q.status.as_deref().unwrap_or("") {
        "" => {}
        "active" => cond.push_str(" AND c.status = 'active' AND c.not_after >= $5"),
        "expired" => cond.push_str(" AND c.status = 'active' AND c.not_after < $5"),
        "revoked" => cond.push_str(" AND c.status = 'revoked'"),
        "superseded" => cond.push_str(" AND c.status = 'superseded'"),
        other => {
            return Err(Error::invalid(
                "status",
                format!("Trạng thái \"{other}\" không hợp lệ."),
                format!("Unknown status \"{other}\"."),
            ))
        }
    }
    let serial = q.q.trim().to_uppercase().replace([':', ' '], "");
    let words = Words::of(store, Index::Certificates, &q.q).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let offset = q.offset.max(0);
    let whole = q.agency_id.is_none() && actor.scope(Permission::ReadRegistry).is_whole_tree();
    let mut params = vec![
        Param::Text(format!("{under}%")),
        Param::Int(q.subscriber_id.unwrap_or(-1)),
        Param::Int(lo),
        Param::Int(hi),
        Param::Int(nowu),
        Param::Text(serial.clone()),
    ];
    params.extend(scope_params.into_iter().map(Param::Text));
    let order = format!("{order}, c.id");
    let holder = "LEFT JOIN subscribers s ON s.id = c.subscriber_id";
    let by_index = format!("certificates c JOIN agencies a ON a.id = c.agency_id {holder}");
    // A serial as pasted from a certificate viewer (8 or more hex digits): the serial index
    // answers at once, and only with that certificate; the word search runs when no
    // certificate in the actor's subtrees carries it.
    if serial.len() >= 8 && serial.chars().all(|c| c.is_ascii_hexdigit()) {
        let search = Search {
            from: &by_index,
            cond: &format!("{cond} AND c.serial = $6"),
            columns: CERT_COLUMNS,
            order: &order,
            params: &params,
        };
        let exact = count_and_page(store, &search, offset, limit, cert_from).await?;
        if exact.total > 0 {
            return Ok(exact);
        }
    }
    if words.none {
        return Ok(Page::empty(offset, limit));
    }
    // The whole province: the rarest word's rows, or an index of the filters; a subtree: its
    // agencies' rows.
    let (by_words, word_cond) = words.sql(Index::Certificates, "c", params.len() + 1, whole);
    params.extend(words.params().cloned().map(Param::Text));
    let (from, join) = if whole {
        (format!("{by_words}{by_index}"), "")
    } else {
        (
            format!("agencies a CROSS JOIN certificates c {holder}"),
            " AND c.agency_id = a.id",
        )
    };
    let search = Search {
        from: &from,
        cond: &format!("{cond}{join}{word_cond}"),
        columns: CERT_COLUMNS,
        order: &order,
        params: &params,
    };
    count_and_page(store, &search, offset, limit, cert_from).await
}

/// Record that a certificate was revoked (by the CA; the registry only notes it).
pub async fn mark_revoked(
    store: &Store,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Certificate> {
    let c = certificate(store, actor, id).await?;
    let ag = agency(store, actor, c.agency_id, Permission::WriteRegistry).await?;
    let reason = text("reason", reason, true)?;
    if c.status == "revoked" {
        return Err(Error::conflict(
            "status",
            "Chứng thư số này đã được ghi nhận thu hồi.",
            "This certificate is already recorded as revoked.",
        ));
    }
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
         WHERE id = $3",
    )
    .bind(now.unix_timestamp())
    .bind(&reason)
    .bind(id)
    .execute(tx.conn())
    .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "certificate.revoke",
            object: format!("certificate:{id}"),
            agency: Some(ag.code),
            detail: json!({"serial": c.serial, "reason": reason}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    certificate(store, actor, id).await
}

// ---------------------------------------------------------------------------------------------
// Key devices

/// A key device (USB token, SIM, HSM partition, remote-signing account, soft key).
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: i64,
    pub kind: String,
    pub serial: String,
    pub model: String,
    pub agency_id: i64,
    pub holder_id: Option<i64>,
    pub holder_name: Option<String>,
    pub certificate_id: Option<i64>,
    pub state: String,
}

/// A new device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub kind: String,
    pub serial: String,
    #[serde(default)]
    pub model: String,
    pub agency_id: i64,
    /// Where the device is now; default: received at the managing agency.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub certificate_id: Option<i64>,
}

/// A device's history entry (handover, return, loss, recovery records).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRecord {
    pub id: i64,
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

/// A state change asked for a device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEventInput {
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

const DEVICE_COLUMNS: &str = "d.id, d.kind, d.serial, d.model, d.agency_id, d.holder_id, s.name, \
     d.certificate_id, d.state";

fn device_from(row: &AnyRow) -> Result<Device> {
    Ok(Device {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        serial: row.try_get(2)?,
        model: row.try_get(3)?,
        agency_id: row.try_get(4)?,
        holder_id: row.try_get(5)?,
        holder_name: row.try_get(6)?,
        certificate_id: row.try_get(7)?,
        state: row.try_get(8)?,
    })
}

fn parse_enum<T: std::str::FromStr>(field: &'static str, v: &str, all: &[&str]) -> Result<T> {
    v.parse::<T>().map_err(|_| {
        Error::invalid(
            field,
            format!("\"{v}\" không hợp lệ; chọn một trong: {}.", all.join(", ")),
            format!("\"{v}\" is not valid; use one of: {}.", all.join(", ")),
        )
    })
}

/// Register a device at an agency.
pub async fn create_device(
    store: &Store,
    actor: &Actor,
    input: &DeviceInput,
    now: OffsetDateTime,
) -> Result<Device> {
    let kinds: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind: DeviceKind = parse_enum("kind", &input.kind, &kinds)?;
    let states: Vec<&str> = DeviceState::ALL.iter().map(|k| k.as_str()).collect();
    let state: DeviceState = match &input.state {
        Some(s) => parse_enum("state", s, &states)?,
        None => DeviceState::AtManagingAgency,
    };
    let serial = text("serial", &input.serial, true)?;
    if serial.len() > 64
        || !serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::invalid(
            "serial",
            "Số hiệu thiết bị chỉ gồm chữ, số và dấu gạch ngang (tối đa 64 ký tự).",
            "The device serial may hold only letters, digits and '-' (64 at most).",
        ));
    }
    let model = text("model", &input.model, false)?;
    let ag = agency(store, actor, input.agency_id, Permission::WriteRegistry).await?;
    if let Some(cid) = input.certificate_id {
        certificate(store, actor, cid).await?;
    }
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO devices (kind, serial, model, agency_id, certificate_id, state, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(&serial)
    .bind(&model)
    .bind(ag.id)
    .bind(input.certificate_id)
    .bind(state.as_str())
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(unique(
        "serial",
        &format!("Thiết bị có số hiệu {serial} đã có trong danh mục."),
        &format!("A device with serial {serial} is already registered."),
    ))?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "device.create",
            object: format!("device:{id}"),
            agency: Some(ag.code),
            detail: json!({"serial": serial, "kind": kind.as_str(), "state": state.as_str()}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    device(store, actor, id).await
}

/// A device by id.
pub async fn device(store: &Store, actor: &Actor, id: i64) -> Result<Device> {
    let (d, _) = device_in_scope(store, actor, id, Permission::ReadRegistry).await?;
    Ok(d)
}

pub(crate) async fn device_in_scope(
    store: &Store,
    actor: &Actor,
    id: i64,
    p: Permission,
) -> Result<(Device, String)> {
    let row = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS}, a.path, a.code FROM devices d JOIN agencies a ON a.id = d.agency_id \
         LEFT JOIN subscribers s ON s.id = d.holder_id WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound { what: "device" })?;
    let path: String = row.try_get(9)?;
    if !actor.can(Permission::ReadRegistry, &path) {
        return Err(Error::NotFound { what: "device" });
    }
    if !actor.can(p, &path) {
        return Err(Error::Forbidden);
    }
    Ok((device_from(&row)?, row.try_get(10)?))
}

/// Devices inside the actor's subtrees.
pub async fn devices(
    store: &Store,
    actor: &Actor,
    q: &str,
    state: Option<&str>,
    agency_id: Option<i64>,
) -> Result<Vec<Device>> {
    let under = match agency_id {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 4);
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d JOIN agencies a ON a.id = d.agency_id \
         LEFT JOIN subscribers s ON s.id = d.holder_id WHERE {scope} AND a.path LIKE $1 \
         AND ($2 = '' OR d.state = $2) AND (d.serial LIKE $3 OR s.name_fold LIKE $3) \
         ORDER BY d.serial LIMIT {MAX_PAGE}"
    );
    let mut query = sqlx::query(&sql)
        .bind(format!("{under}%"))
        .bind(state.unwrap_or("").to_owned())
        .bind(format!("%{}%", fold(q)));
    for p in &params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(device_from).collect()
}

/// Move a device through its states (Dogtag-style allowed transitions), writing the record the
/// transition produces (handover to subscriber — Mẫu 07, return — Mẫu 08, loss — Mẫu 09,
/// recovery — Mẫu 06).
pub async fn device_event(
    store: &Store,
    actor: &Actor,
    id: i64,
    input: &DeviceEventInput,
    now: OffsetDateTime,
) -> Result<Device> {
    let (d, agency_code) = device_in_scope(store, actor, id, Permission::WriteRegistry).await?;
    let events: Vec<&str> = DeviceEvent::ALL.iter().map(|k| k.as_str()).collect();
    let event: DeviceEvent = parse_enum("event", &input.event, &events)?;
    let from: DeviceState = parse_enum("state", &d.state, &[])?;
    let to = transition(from, event).map_err(|e| Error::Invalid {
        field: "event",
        vi: e.message_vi(),
        en: e.message_en(),
    })?;
    let holder = match event {
        DeviceEvent::Assign | DeviceEvent::Handover => {
            let hid = input.holder_id.ok_or_else(|| {
                Error::invalid(
                    "holder_id",
                    "Cần chọn người nhận thiết bị.",
                    "Choose who receives the device.",
                )
            })?;
            subscriber_in_scope(store, actor, hid, Permission::ReadRegistry)
                .await
                .map_err(|_| {
                    Error::invalid(
                        "holder_id",
                        "Người nhận không tồn tại hoặc ngoài phạm vi của bạn.",
                        "The receiver does not exist or is outside your agencies.",
                    )
                })?;
            Some(hid)
        }
        DeviceEvent::Return => None,
        _ => d.holder_id,
    };
    let counterpart = text("counterpart", &input.counterpart, false)?;
    let note = text("note", &input.note, false)?;
    let record_kind = event.record_kind().map(|r| r.as_str()).unwrap_or("");
    let mut tx = store.begin_write().await?;
    sqlx::query("UPDATE devices SET state = $1, holder_id = $2, updated_at = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(holder)
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO device_events (device_id, event, from_state, to_state, record_kind, \
         holder_id, counterpart, note, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(event.as_str())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(record_kind)
    .bind(holder)
    .bind(&counterpart)
    .bind(&note)
    .bind(&actor.username)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await?;
    audit::append(
        &mut tx,
        actor,
        Event {
            action: "device.event",
            object: format!("device:{id}"),
            agency: Some(agency_code),
            detail: json!({"event": event.as_str(), "from": from.as_str(), "to": to.as_str(),
                           "holder_id": holder}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    device(store, actor, id).await
}

/// A device's records, oldest first.
pub async fn device_history(store: &Store, actor: &Actor, id: i64) -> Result<Vec<DeviceRecord>> {
    device(store, actor, id).await?;
    let rows = sqlx::query(
        "SELECT id, event, from_state, to_state, record_kind, holder_id, counterpart, note, actor, \
         at FROM device_events WHERE device_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceRecord {
                id: r.try_get(0)?,
                event: r.try_get(1)?,
                from_state: r.try_get(2)?,
                to_state: r.try_get(3)?,
                record_kind: r.try_get(4)?,
                holder_id: r.try_get(5)?,
                counterpart: r.try_get(6)?,
                note: r.try_get(7)?,
                actor: r.try_get(8)?,
                at: OffsetDateTime::from_unix_timestamp(r.try_get(9)?)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Dashboard

/// What the dashboard shows for the actor's agencies.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
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

/// Counts for the dashboard, inside the actor's subtrees: four queries, one pass over each
/// table (the certificate figures are sums over one scan of the covering index
/// `certificates_agency_status`), then the ten soonest expiries.
pub async fn dashboard(store: &Store, actor: &Actor, now: OffsetDateTime) -> Result<Dashboard> {
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 5);
    let nowu = now.unix_timestamp();
    let day = 86_400i64;
    // $1 now, $2–$4 the ends of the 60/30/7-day windows, then the scope's paths.
    let run = |sql: String| {
        let params = params.clone();
        async move {
            let mut q = sqlx::query(&sql)
                .bind(nowu)
                .bind(nowu + 60 * day)
                .bind(nowu + 30 * day)
                .bind(nowu + 7 * day);
            for p in &params {
                q = q.bind(p.clone());
            }
            q.fetch_one(store.pool()).await.map_err(Error::from)
        }
    };
    let sum = |cond: &str| format!("COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)");
    let valid = "c.status = 'active' AND c.not_after >= $1";
    let where_ = format!("WHERE {scope} AND $1 = $1 AND $2 = $2 AND $3 = $3 AND $4 = $4");
    // Five counts and the soonest expiries, asked at once on as many connections.
    let (agencies, subscribers, certs, devices, requests, soonest) = tokio::try_join!(
        run(format!("SELECT COUNT(*) FROM agencies a {where_}")),
        run(format!(
            "SELECT COUNT(*) FROM subscribers s JOIN agencies a ON a.id = s.agency_id {where_}"
        )),
        run(format!(
            "SELECT {}, {}, {}, {}, {}, {} FROM certificates c \
             JOIN agencies a ON a.id = c.agency_id {where_}",
            sum(valid),
            sum(&format!("{valid} AND c.not_after <= $2")),
            sum(&format!("{valid} AND c.not_after <= $3")),
            sum(&format!("{valid} AND c.not_after <= $4")),
            sum("c.status = 'active' AND c.not_after < $1"),
            sum("c.status = 'revoked'"),
        )),
        run(format!(
            "SELECT {}, {} FROM devices d JOIN agencies a ON a.id = d.agency_id {where_}",
            sum("d.state = 'locked'"),
            sum("d.state = 'lost'"),
        )),
        run(format!(
            "SELECT {}, {} FROM requests r JOIN agencies a ON a.id = r.agency_id {where_}",
            sum("r.state IN ('draft', 'submitted', 'approved', 'sent', 'processing')"),
            sum("r.state IN ('sent', 'processing') AND r.deadline_at < $1"),
        )),
        async {
            search_certificates(
                store,
                actor,
                &CertQuery {
                    expiring_within_days: Some(60),
                    limit: Some(10),
                    ..Default::default()
                },
                now,
            )
            .await
        },
    )?;
    let d = Dashboard {
        agencies: agencies.try_get(0)?,
        subscribers: subscribers.try_get(0)?,
        certificates_active: certs.try_get(0)?,
        expiring_60: certs.try_get(1)?,
        expiring_30: certs.try_get(2)?,
        expiring_7: certs.try_get(3)?,
        expired: certs.try_get(4)?,
        revoked: certs.try_get(5)?,
        devices_locked: devices.try_get(0)?,
        devices_lost: devices.try_get(1)?,
        open_requests: requests.try_get(0)?,
        overdue_requests: requests.try_get(1)?,
        soonest: soonest.items,
    };
    Ok(d)
}
