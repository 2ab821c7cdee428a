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
    "a.id, a.code, a.legacy_code, a.name, a.kind, a.parent_id, a.path, a.address, a.email, a.phone";

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
