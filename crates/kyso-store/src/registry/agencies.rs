//! Agencies: the tree, its codes and paths, and the validation of registry text fields.

use sqlx::Row as _;

use super::*;

/// An agency of the tree.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agency {
    pub id: i64,
    /// The electronic identifier code (`H99.37`).
    pub code: String,
    pub legacy_code: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::agency_kind))]
    pub kind: String,
    pub parent_id: Option<i64>,
    #[serde(skip)]
    pub path: String,
    pub depth: usize,
    pub address: String,
    pub email: String,
    pub phone: String,
    /// When the agency was dissolved (Unix seconds); `None` while it exists.
    pub dissolved_at: Option<i64>,
    /// Why it was dissolved (the decision), empty while it exists.
    pub dissolution_reason: String,
    /// The agency its subscribers went to when it was dissolved.
    pub successor_id: Option<i64>,
}

impl Agency {
    /// Whether the agency still exists (not dissolved).
    pub fn exists(&self) -> bool {
        self.dissolved_at.is_none()
    }
}

/// A new agency (or new values for one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "H99.90", "name": "Sở Ví dụ", "kind": "department", "parent_id": 1, "email": "so.vidu@demo.invalid"})))]
pub struct AgencyInput {
    pub code: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::agency_kind))]
    pub kind: String,
    #[serde(default)]
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// The officer confirmed that the agency is another body than the one of the same name
    /// already under the same parent (without it such a name is refused: 409 on `name`).
    #[serde(default)]
    pub same_name_confirmed: bool,
}

pub(super) const AGENCY_COLUMNS: &str =
    "a.id, a.code, a.legacy_code, a.name, a.kind, a.parent_id, a.path, a.address, a.email, \
     a.phone, a.dissolved_at, a.dissolution_reason, a.successor_id";

pub(super) fn agency_from(row: &AnyRow) -> Result<Agency> {
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
        dissolved_at: row.try_get(10)?,
        dissolution_reason: row.try_get(11)?,
        successor_id: row.try_get(12)?,
    })
}

pub(crate) fn text(field: &'static str, value: &str, required: bool) -> Result<String> {
    Ok(fields::text(field, value, required)?)
}

/// `value` as one of a kind's stable names (`names`: every one, for the message).
pub(super) fn one_of<T: std::str::FromStr>(
    field: &'static str,
    value: &str,
    names: &[&str],
) -> Result<T> {
    Ok(fields::one_of(field, value, names)?)
}

pub(crate) fn email(field: &'static str, value: &str) -> Result<String> {
    Ok(fields::email(field, value)?)
}

/// The Vietnamese name of a field, for messages.
pub use kyso_domain::fields::field_vi;

/// An agency by id, if `p` reaches it.
pub async fn agency(store: &Store, actor: &Actor, id: i64, p: Permission) -> Result<Agency> {
    let row = sqlx::query(&format!(
        "SELECT {AGENCY_COLUMNS} FROM agencies a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: crate::Record::Agency,
    })?;
    let a = agency_from(&row)?;
    actor.reach(p, &a.path, crate::Record::Agency)?;
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
    let a = agency(store, actor, id, p).await.map_err(|e| match e {
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
    })?;
    if !a.exists() {
        return Err(dissolved_field(field, &a));
    }
    Ok(a)
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
        id.ok_or(Error::NotFound {
            what: crate::Record::Agency,
        })?,
        Permission::ReadRegistry,
    )
    .await
}

pub(super) fn parse_code(code: &str) -> Result<AgencyCode> {
    AgencyCode::parse(code).map_err(|e| Error::Invalid {
        field: "code",
        vi: e.message_vi(),
        en: e.message_en(),
    })
}

/// An agency coded `code` may sit under `parent`: its code extends the parent's
/// (`AgencyCode::extends`); refused at the field, naming both, otherwise.
fn check_extends(code: &AgencyCode, parent: &Agency) -> Result<()> {
    let Ok(parent_code) = AgencyCode::parse(&parent.code) else {
        // A parent stored before codes were checked: nothing to compare with.
        return Ok(());
    };
    if code.extends(&parent_code) {
        return Ok(());
    }
    let (c, p) = (code.dotted(), parent_code.dotted());
    Err(Error::Invalid {
        field: "code",
        vi: format!(
            "Mã định danh {c} không thuộc mã của cơ quan cấp trên {p} ({}): mã của đơn vị trực \
             thuộc phải bắt đầu bằng {p}, ví dụ {p}.01.",
            parent.name
        ),
        en: format!(
            "The code {c} does not extend the parent agency's code {p} ({}): a unit's code \
             starts with {p}, e.g. {p}.01.",
            parent.name
        ),
    })
}

/// A second agency named `name` (diacritics and case aside) under the same `parent` is most
/// often the same body typed twice: refused (a conflict on `name` naming the one there) until
/// the officer confirms it is another ([`AgencyInput::same_name_confirmed`]).
async fn check_same_name(store: &Store, name: &str, parent: Option<&Agency>) -> Result<()> {
    let folded = fold(name);
    let same: Option<(String, String)> = match parent {
        Some(p) => {
            sqlx::query_as(
                "SELECT code, name FROM agencies WHERE parent_id = $1 AND name_fold = $2 \
                 ORDER BY id LIMIT 1",
            )
            .bind(p.id)
            .bind(&folded)
            .fetch_optional(store.pool())
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT code, name FROM agencies WHERE parent_id IS NULL AND name_fold = $1 \
                 ORDER BY id LIMIT 1",
            )
            .bind(&folded)
            .fetch_optional(store.pool())
            .await?
        }
    };
    let Some((code, existing)) = same else {
        return Ok(());
    };
    let under_vi = parent.map_or_else(String::new, |p| format!(" trực thuộc {}", p.name));
    let under_en = parent.map_or_else(String::new, |p| format!(" under {}", p.name));
    Err(Error::conflict(
        "name",
        format!(
            "Đã có cơ quan \"{existing}\" (mã {code}){under_vi}. Nếu đây đúng là một cơ quan \
             khác cùng tên, hãy đánh dấu \"Vẫn thêm cơ quan cùng tên\" rồi lưu lại."
        ),
        format!(
            "There is already an agency \"{existing}\" (code {code}){under_en}. If this is \
             really another body of the same name, tick \"Add it anyway\" and save again."
        ),
    ))
}

/// Agencies the actor can read, in tree order (by path), optionally under `under` and
/// matching `q` (name without diacritics or either code form).
pub async fn agencies(
    store: &Store,
    actor: &Actor,
    q: &str,
    under: Option<i64>,
) -> Result<Vec<Agency>> {
    agencies_where(store, actor, q, under, false).await
}

/// The dissolved agencies the actor can read, in tree order.
pub async fn dissolved_agencies(store: &Store, actor: &Actor) -> Result<Vec<Agency>> {
    agencies_where(store, actor, "", None, true).await
}

/// Agencies that exist (or, `dissolved`, those dissolved) the actor can read.
async fn agencies_where(
    store: &Store,
    actor: &Actor,
    q: &str,
    under: Option<i64>,
    dissolved: bool,
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
         AND a.dissolved_at IS {} NULL ORDER BY a.path LIMIT 5000",
        if dissolved { "NOT" } else { "" }
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

pub(super) fn path_key(path: &str) -> Vec<i64> {
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
    let kind = one_of::<AgencyKind>(
        "kind",
        &input.kind,
        &AgencyKind::ALL.map(AgencyKind::as_str),
    )?
    .as_str()
    .to_owned();
    let address = text("address", &input.address, false)?;
    let mail = email("email", &input.email)?;
    let phone = kyso_domain::fields::phone("phone", &input.phone)?;
    let parent = match input.parent_id {
        Some(pid) => {
            Some(agency_field(store, actor, pid, Permission::WriteRegistry, "parent_id").await?)
        }
        None => None,
    };
    if let Some(p) = &parent {
        check_extends(&code, p)?;
    }
    if !input.same_name_confirmed {
        check_same_name(store, &name, parent.as_ref()).await?;
    }
    let on = match &parent {
        Some(p) => crate::On::Agency(Permission::WriteRegistry, &p.path),
        None => crate::On::NewRoot,
    };
    let mut tx = store.begin_write(actor, on).await?;
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
    tx.commit_audited(
        Event {
            action: "agency.create",
            object: format!("agency:{id}"),
            agency: Some(code.dotted()),
            detail: json!({"name": name, "kind": kind, "parent_id": input.parent_id}),
        },
        now,
    )
    .await?;
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
    let kind = one_of::<AgencyKind>(
        "kind",
        &input.kind,
        &AgencyKind::ALL.map(AgencyKind::as_str),
    )?
    .as_str()
    .to_owned();
    let address = text("address", &input.address, false)?;
    let mail = email("email", &input.email)?;
    let phone = kyso_domain::fields::phone("phone", &input.phone)?;
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &current.path),
        )
        .await?;
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
    tx.commit_audited(
        Event {
            action: "agency.update",
            object: format!("agency:{id}"),
            agency: Some(current.code.clone()),
            detail: json!({"name": name, "kind": kind}),
        },
        now,
    )
    .await?;
    agency(store, actor, id, Permission::ReadRegistry).await
}

/// An agency's new place in the tree: under `parent_id`, coded `code` (which must extend the
/// new parent's code). The units below take the new code in place of the old one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"parent_id": 2, "code": "H99.20.03"})))]
pub struct AgencyMove {
    pub parent_id: i64,
    pub code: String,
}

/// One agency's code before and after a move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recoded {
    pub id: i64,
    pub name: String,
    pub old_code: String,
    pub new_code: String,
}

/// The agency and its units (dissolved ones too: their codes stay theirs), in tree order.
async fn subtree(conn: &mut sqlx::AnyConnection, path: &str) -> Result<Vec<Agency>> {
    let rows = sqlx::query(&format!(
        "SELECT {AGENCY_COLUMNS} FROM agencies a WHERE a.path LIKE $1"
    ))
    .bind(format!("{path}%"))
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Agency> = rows.iter().map(agency_from).collect::<Result<_>>()?;
    out.sort_by_key(|a| path_key(&a.path));
    Ok(out)
}

/// What moving `current` under `parent` with `code` does to the codes of it and its units,
/// checked: the new parent exists, is not the agency or one of its units, and the new code
/// extends its code; every unit's code fits four levels; no new code is another agency's.
async fn plan_move(
    conn: &mut sqlx::AnyConnection,
    current: &Agency,
    parent: &Agency,
    code: &AgencyCode,
) -> Result<Vec<Recoded>> {
    if !parent.exists() {
        return Err(dissolved_field("parent_id", parent));
    }
    if parent.path.starts_with(&current.path) {
        return Err(Error::invalid(
            "parent_id",
            format!(
                "Không thể chuyển {} vào chính nó hoặc một đơn vị trực thuộc nó ({}).",
                current.name, parent.name
            ),
            format!(
                "{} cannot move under itself or one of its own units ({}).",
                current.name, parent.name
            ),
        ));
    }
    check_extends(code, parent)?;
    let old = parse_code(&current.code)?;
    let units = subtree(conn, &current.path).await?;
    let mut out = Vec::with_capacity(units.len());
    for u in &units {
        let new_code = AgencyCode::parse(&u.code)
            .ok()
            .and_then(|c| c.rebased(&old, code))
            .ok_or_else(|| {
                Error::invalid(
                    "code",
                    format!(
                        "Đơn vị trực thuộc {} (mã {}) không có mã mới hợp lệ dưới mã {}: mã định \
                         danh có tối đa 4 cấp, cấp 2 và 3 có 2 chữ số, cấp 4 có 3 chữ số. Hãy \
                         chuyển hoặc đổi mã đơn vị đó trước.",
                        u.name,
                        u.code,
                        code.dotted()
                    ),
                    format!(
                        "The unit {} (code {}) has no valid code under {}: codes have at most \
                         four levels, levels 2 and 3 two digits, level 4 three. Move or recode \
                         that unit first.",
                        u.name,
                        u.code,
                        code.dotted()
                    ),
                )
            })?;
        out.push(Recoded {
            id: u.id,
            name: u.name.clone(),
            old_code: u.code.clone(),
            new_code: new_code.dotted(),
        });
    }
    for r in &out {
        let taken: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM agencies WHERE code = $1")
                .bind(&r.new_code)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((_, name)) = taken.filter(|(id, _)| !units.iter().any(|u| u.id == *id)) {
            return Err(Error::conflict(
                "code",
                format!(
                    "Mã định danh {} (mới của {}) đang là mã của {name}.",
                    r.new_code, r.name
                ),
                format!(
                    "The code {} (the new code of {}) belongs to {name}.",
                    r.new_code, r.name
                ),
            ));
        }
    }
    Ok(out)
}

/// A dissolved agency chosen in a form's `field`.
fn dissolved_field(field: &'static str, a: &Agency) -> Error {
    Error::invalid(
        field,
        format!("{} đã giải thể.", a.name),
        format!("{} has been dissolved.", a.name),
    )
}

/// The new codes that moving an agency would give it and its units, without moving it (the
/// page shows them before the officer confirms).
pub async fn preview_move(
    store: &Store,
    actor: &Actor,
    id: i64,
    to: &AgencyMove,
) -> Result<Vec<Recoded>> {
    let (current, parent, code) = move_parts(store, actor, id, to).await?;
    let mut conn = store.pool().acquire().await?;
    plan_move(&mut conn, &current, &parent, &code).await
}

/// The agency to move (write access to its current parent), its new parent (write access
/// there) and the new code, read and checked.
async fn move_parts(
    store: &Store,
    actor: &Actor,
    id: i64,
    to: &AgencyMove,
) -> Result<(Agency, Agency, AgencyCode)> {
    let current = agency(store, actor, id, Permission::WriteRegistry).await?;
    if !current.exists() {
        return Err(Error::conflict(
            "parent_id",
            format!("{} đã giải thể, không chuyển được.", current.name),
            format!("{} has been dissolved and cannot move.", current.name),
        ));
    }
    let Some(old_parent) = current.parent_id else {
        return Err(Error::invalid(
            "parent_id",
            "Cơ quan cấp tỉnh không chuyển sang cơ quan khác.",
            "A province-level agency does not move under another.",
        ));
    };
    agency(store, actor, old_parent, Permission::WriteRegistry).await?;
    let code = parse_code(&to.code)?;
    let parent = agency_field(
        store,
        actor,
        to.parent_id,
        Permission::WriteRegistry,
        "parent_id",
    )
    .await?;
    Ok((current, parent, code))
}

/// Move an agency under another parent with a new code; its units' codes change with it (the
/// levels below the old code are put below the new one) and their paths follow. Everything in
/// one transaction, audited with every code changed.
pub async fn move_agency(
    store: &Store,
    actor: &Actor,
    id: i64,
    to: &AgencyMove,
    now: OffsetDateTime,
) -> Result<Agency> {
    let (current, parent, code) = move_parts(store, actor, id, to).await?;
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &parent.path),
        )
        .await?;
    // Read again inside the transaction: what is moved is what is there now.
    let plan = plan_move(tx.conn(), &current, &parent, &code).await?;
    let new_path = format!("{}{}/", parent.path, current.id);
    // Codes are unique: park the subtree's codes first so that no row meets another's old code.
    sqlx::query(
        "UPDATE agencies SET code = '~' || CAST(id AS TEXT), \
         legacy_code = '~' || CAST(id AS TEXT) WHERE path LIKE $1",
    )
    .bind(format!("{}%", current.path))
    .execute(tx.conn())
    .await?;
    for r in &plan {
        let c = parse_code(&r.new_code)?;
        sqlx::query(
            "UPDATE agencies SET code = $1, legacy_code = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(c.dotted())
        .bind(c.legacy())
        .bind(now.unix_timestamp())
        .bind(r.id)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query(
        "UPDATE agencies SET path = $1 || SUBSTR(path, CAST($2 AS INTEGER)) WHERE path LIKE $3",
    )
    .bind(&new_path)
    .bind(current.path.len() as i64 + 1)
    .bind(format!("{}%", current.path))
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE agencies SET parent_id = $1 WHERE id = $2")
        .bind(parent.id)
        .bind(current.id)
        .execute(tx.conn())
        .await?;
    tx.commit_audited(
        Event {
            action: "agency.move",
            object: format!("agency:{id}"),
            agency: Some(code.dotted()),
            detail: json!({
                "name": current.name,
                "from_parent_id": current.parent_id,
                "parent_id": parent.id,
                "parent": parent.name,
                "codes": plan.iter().map(|r| json!({"id": r.id, "name": r.name, "from": r.old_code, "to": r.new_code})).collect::<Vec<_>>(),
            }),
        },
        now,
    )
    .await?;
    agency(store, actor, id, Permission::ReadRegistry).await
}

/// Dissolving an agency: the decision (reason) and the agency its subscribers go to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"successor_id": 2, "reason": "Quyết định số 15/QĐ-UBND ngày 02/12/2026 sáp nhập"})))]
pub struct AgencyDissolution {
    pub successor_id: i64,
    pub reason: String,
}

/// What dissolving an agency does, counted before the officer confirms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DissolutionEffects {
    /// Subscribers (people) moved to the successor with their certificates and devices.
    pub subscribers_moved: i64,
    /// The agency's own (organization) subscribers, deactivated with it.
    pub organizations_deactivated: i64,
    /// Key devices kept in stock by the agency, moved to the successor.
    pub devices_moved: i64,
    /// Accounts of the agency (they now belong to the successor) or holding a role on it (that
    /// role ends; their roles elsewhere stay).
    pub accounts: Vec<String>,
}

/// The agency to dissolve, its successor and what would happen, checked: the agency is not a
/// province-level one and has no units left, its own certificates are revoked, no request of
/// it is open, the successor exists and is not the agency.
async fn dissolution_plan(
    conn: &mut sqlx::AnyConnection,
    a: &Agency,
    successor: &Agency,
    now: OffsetDateTime,
) -> Result<DissolutionEffects> {
    if a.parent_id.is_none() {
        return Err(Error::invalid(
            "successor_id",
            "Không giải thể cơ quan cấp tỉnh trên hệ thống.",
            "A province-level agency is not dissolved here.",
        ));
    }
    if successor.id == a.id || !successor.exists() || successor.path.starts_with(&a.path) {
        return Err(Error::invalid(
            "successor_id",
            format!(
                "Hãy chọn một cơ quan khác đang hoạt động để nhận thuê bao của {}.",
                a.name
            ),
            format!(
                "Choose another existing agency to take {}'s subscribers.",
                a.name
            ),
        ));
    }
    let units: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM agencies WHERE parent_id = $1 AND dissolved_at IS NULL ORDER BY id",
    )
    .bind(a.id)
    .fetch_all(&mut *conn)
    .await?;
    if !units.is_empty() {
        let names = units
            .into_iter()
            .map(|(n,)| n)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::conflict(
            "successor_id",
            format!(
                "{} còn đơn vị trực thuộc ({names}): hãy chuyển hoặc giải thể các đơn vị đó trước.",
                a.name
            ),
            format!(
                "{} still has units ({names}): move or dissolve them first.",
                a.name
            ),
        ));
    }
    let seal: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM certificates c JOIN subscribers s ON s.id = c.subscriber_id \
         WHERE s.agency_id = $1 AND s.kind <> 'individual' AND c.status = 'active' \
         AND c.not_after > $2",
    )
    .bind(a.id)
    .bind(now.unix_timestamp())
    .fetch_one(&mut *conn)
    .await?;
    if seal > 0 {
        return Err(Error::conflict(
            "successor_id",
            format!(
                "Chứng thư số của chính {} ({seal}) còn hiệu lực: hãy lập đề nghị thu hồi trước \
                 khi giải thể.",
                a.name
            ),
            format!(
                "{}'s own certificates ({seal}) are still valid: request their revocation before \
                 dissolving it.",
                a.name
            ),
        ));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests WHERE agency_id = $1 \
         AND state NOT IN ('done', 'refused', 'withdrawn')",
    )
    .bind(a.id)
    .fetch_one(&mut *conn)
    .await?;
    if open > 0 {
        return Err(Error::conflict(
            "successor_id",
            format!(
                "{} còn {open} đề nghị chưa xong: hãy hoàn thành hoặc rút các đề nghị đó trước.",
                a.name
            ),
            format!(
                "{} has {open} request(s) not finished: finish or withdraw them first.",
                a.name
            ),
        ));
    }
    let subscribers_moved = count_of(
        conn,
        "SELECT COUNT(*) FROM subscribers WHERE agency_id = $1 AND kind = 'individual'",
        a.id,
    )
    .await?;
    let organizations_deactivated = count_of(
        conn,
        "SELECT COUNT(*) FROM subscribers WHERE agency_id = $1 AND kind <> 'individual' \
         AND deactivated_at IS NULL",
        a.id,
    )
    .await?;
    let devices_moved = count_of(
        conn,
        "SELECT COUNT(*) FROM devices WHERE agency_id = $1",
        a.id,
    )
    .await?;
    let accounts: Vec<(String,)> = sqlx::query_as(
        "SELECT username FROM users WHERE agency_id = $1 \
         OR id IN (SELECT user_id FROM user_roles WHERE agency_id = $1) ORDER BY username",
    )
    .bind(a.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(DissolutionEffects {
        subscribers_moved,
        organizations_deactivated,
        devices_moved,
        accounts: accounts.into_iter().map(|(u,)| u).collect(),
    })
}

/// `sql`'s count for agency `id`.
async fn count_of(conn: &mut sqlx::AnyConnection, sql: &str, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(sql).bind(id).fetch_one(conn).await?)
}

/// The agency to dissolve (write access to its parent) and its successor (write access).
async fn dissolution_parts(
    store: &Store,
    actor: &Actor,
    id: i64,
    d: &AgencyDissolution,
) -> Result<(Agency, Agency)> {
    let a = agency(store, actor, id, Permission::WriteRegistry).await?;
    if !a.exists() {
        return Err(Error::conflict(
            "successor_id",
            format!("{} đã giải thể.", a.name),
            format!("{} has already been dissolved.", a.name),
        ));
    }
    if let Some(pid) = a.parent_id {
        agency(store, actor, pid, Permission::WriteRegistry).await?;
    }
    let successor = agency_field(
        store,
        actor,
        d.successor_id,
        Permission::WriteRegistry,
        "successor_id",
    )
    .await?;
    Ok((a, successor))
}

/// What dissolving an agency would do, without doing it.
pub async fn preview_dissolution(
    store: &Store,
    actor: &Actor,
    id: i64,
    d: &AgencyDissolution,
    now: OffsetDateTime,
) -> Result<DissolutionEffects> {
    let (a, successor) = dissolution_parts(store, actor, id, d).await?;
    text("reason", &d.reason, true)?;
    let mut conn = store.pool().acquire().await?;
    dissolution_plan(&mut conn, &a, &successor, now).await
}

/// Dissolve an agency (a decision merged or closed it): its people move to the successor with
/// their certificates and devices, its own (organization) subscribers are deactivated, devices
/// in its stock go to the successor, roles granted on it end. The agency stays, marked
/// dissolved, so that its documents and the log keep naming it. One transaction, audited.
pub async fn dissolve_agency(
    store: &Store,
    actor: &Actor,
    id: i64,
    d: &AgencyDissolution,
    now: OffsetDateTime,
) -> Result<DissolutionEffects> {
    let (a, successor) = dissolution_parts(store, actor, id, d).await?;
    let reason = text("reason", &d.reason, true)?;
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &successor.path),
        )
        .await?;
    let effects = dissolution_plan(tx.conn(), &a, &successor, now).await?;
    let t = now.unix_timestamp();
    let moved: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM subscribers WHERE agency_id = $1 AND kind = 'individual'")
            .bind(a.id)
            .fetch_all(tx.conn())
            .await?;
    // Certificates first: they are found through the subscribers still in the agency.
    for sql in [
        "UPDATE certificates SET agency_id = $1 WHERE agency_id = $2 AND subscriber_id IN \
         (SELECT id FROM subscribers WHERE agency_id = $2 AND kind = 'individual')",
        "UPDATE devices SET agency_id = $1 WHERE agency_id = $2",
        "UPDATE subscribers SET agency_id = $1 WHERE agency_id = $2 AND kind = 'individual'",
        "UPDATE users SET agency_id = $1 WHERE agency_id = $2",
    ] {
        sqlx::query(sql)
            .bind(successor.id)
            .bind(a.id)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "UPDATE subscribers SET deactivated_at = $1, deactivation_reason = $2, updated_at = $1 \
         WHERE agency_id = $3 AND kind <> 'individual' AND deactivated_at IS NULL",
    )
    .bind(t)
    .bind(format!("Cơ quan giải thể: {reason}"))
    .bind(a.id)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM user_roles WHERE agency_id = $1")
        .bind(a.id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "UPDATE agencies SET dissolved_at = $1, dissolution_reason = $2, successor_id = $3, \
         updated_at = $1 WHERE id = $4",
    )
    .bind(t)
    .bind(&reason)
    .bind(successor.id)
    .bind(a.id)
    .execute(tx.conn())
    .await?;
    for (id,) in &moved {
        crate::words::index_subscriber(tx.conn(), *id).await?;
    }
    tx.commit_audited(
        Event {
            action: "agency.dissolve",
            object: format!("agency:{id}"),
            agency: Some(a.code.clone()),
            detail: json!({
                "name": a.name,
                "reason": reason,
                "successor_id": successor.id,
                "successor": successor.name,
                "subscribers_moved": effects.subscribers_moved,
                "organizations_deactivated": effects.organizations_deactivated,
                "devices_moved": effects.devices_moved,
                "accounts": effects.accounts,
            }),
        },
        now,
    )
    .await?;
    Ok(effects)
}
