//! Subscribers: people, organizations and devices holding certificates; their search and the listing page.

use sqlx::Row as _;

use super::*;

/// A certificate holder.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscriber {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::subscriber_kind))]
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
    /// False once deactivated (left the agency, retired): kept, since certificates, devices
    /// and the audit log name them, but left out of lists and forms.
    pub active: bool,
    /// Why they were deactivated (empty while active).
    pub deactivation_reason: String,
}

/// A new subscriber (or new values for one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "individual", "agency_id": 1, "name": "Nguyễn Văn Ví Dụ", "date_of_birth": "15/03/1985", "id_number": "001085099999", "email": "vidu@demo.invalid", "title": "Chuyên viên"})))]
pub struct SubscriberInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::subscriber_kind))]
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

pub(super) const SUBSCRIBER_COLUMNS: &str =
    "s.id, s.kind, s.agency_id, a.name, s.name, s.date_of_birth, \
     s.id_number, s.email, s.title, s.unit, s.phone, s.deactivated_at, s.deactivation_reason";

pub(super) fn subscriber_from(row: &AnyRow) -> Result<Subscriber> {
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
        active: row.try_get::<Option<i64>, _>(11)?.is_none(),
        deactivation_reason: row.try_get(12)?,
    })
}

/// Dates are accepted as `dd/mm/yyyy` (the CA's template) or `yyyy-mm-dd`; stored ISO.
pub fn parse_date(field: &'static str, value: &str) -> Result<Option<time::Date>> {
    Ok(fields::parse_date(field, value)?)
}

pub(crate) fn validate_subscriber(
    input: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<SubscriberInput> {
    let kind = one_of::<SubscriberKind>(
        "kind",
        &input.kind,
        &SubscriberKind::ALL.map(SubscriberKind::as_str),
    )?
    .as_str()
    .to_owned();
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
    let id_number = kyso_domain::fields::id_number("id_number", &input.id_number)?;
    let phone = kyso_domain::fields::phone("phone", &input.phone)?;
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
    .ok_or(Error::NotFound { what: crate::Record::Subscriber })?;
    let path: String = row.try_get(13)?;
    actor.reach(p, &path, crate::Record::Subscriber)?;
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
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &ag.path),
        )
        .await?;
    let id = insert_subscriber(&mut tx, &v, now).await?;
    tx.commit_audited(
        Event {
            action: "subscriber.create",
            object: format!("subscriber:{id}"),
            agency: Some(ag.code.clone()),
            detail: json!({"name": v.name, "kind": v.kind}),
        },
        now,
    )
    .await?;
    subscriber(store, actor, id).await
}

/// The key subscribers are listed by: a person by given name then surname, an organization or
/// a device by its name as written, in Vietnamese order ([`kyso_domain::text::sort_key`]).
pub(crate) fn name_sort(kind: &str, name: &str) -> String {
    kyso_domain::text::sort_key(name, kind == SubscriberKind::Individual.as_str())
}

pub(crate) async fn insert_subscriber(
    tx: &mut WriteTx,
    v: &SubscriberInput,
    now: OffsetDateTime,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subscribers (kind, agency_id, name, name_fold, date_of_birth, id_number, \
         email, title, unit, phone, created_at, updated_at, name_sort) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
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
    .bind(name_sort(&v.kind, &v.name))
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
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &from.path),
        )
        .await?;
    sqlx::query(
        "UPDATE subscribers SET kind = $1, agency_id = $2, name = $3, name_fold = $4, \
         date_of_birth = $5, id_number = $6, email = $7, title = $8, unit = $9, phone = $10, \
         updated_at = $11, name_sort = $13 WHERE id = $12",
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
    .bind(name_sort(&v.kind, &v.name))
    .execute(tx.conn())
    .await?;
    crate::words::index_subscriber(tx.conn(), id).await?;
    tx.commit_audited(
        Event {
            action: "subscriber.update",
            object: format!("subscriber:{id}"),
            agency: Some(to.code.clone()),
            detail: json!({"name": v.name, "from_agency": from.code}),
        },
        now,
    )
    .await?;
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
    pub(super) fn empty(offset: i64, limit: i64) -> Page<T> {
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
pub(super) enum Param {
    Text(String),
    Int(i64),
}

/// One search: `SELECT columns FROM from WHERE cond ORDER BY order`, parameters `$1…` in order.
pub(super) struct Search<'a> {
    pub(super) from: &'a str,
    pub(super) cond: &'a str,
    pub(super) columns: &'a str,
    pub(super) order: &'a str,
    pub(super) params: &'a [Param],
}

/// The search's total and one page of it, asked at once on two connections (a reader waits
/// for the slower of the two, not for both in turn).
pub(super) async fn count_and_page<T>(
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
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SubscriberQuery {
    /// Words that begin words of the name (with or without diacritics), the ID number or the
    /// email, in any order (`kyso_domain::text::matches`).
    #[serde(default)]
    pub q: String,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::openapi::subscriber_kind))]
    pub kind: Option<String>,
    /// Also those deactivated (left out otherwise).
    #[serde(default)]
    pub include_inactive: bool,
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
    // Vietnamese order (`name_sort`, people by given name). No index on it: walking one for
    // the order would read every row in name order, at random, when few of them match (a
    // small subtree); one scan and a top-N sort costs the same as the count.
    count_and_page(
        store,
        &Search {
            from: &from,
            cond: &format!(
                "{scope_sql} AND a.path LIKE $1 AND ($2 = '' OR s.kind = $2){join}{word_cond}{}",
                if q.include_inactive {
                    ""
                } else {
                    " AND s.deactivated_at IS NULL"
                }
            ),
            columns: SUBSCRIBER_COLUMNS,
            order: "s.name_sort, s.id",
            params: &params,
        },
        offset,
        limit,
        subscriber_from,
    )
    .await
}

/// Deactivate a subscriber who left (with the reason), or (`active`) take them back. Nobody is
/// deleted: their certificates, devices and the audit log keep naming them. A subscriber who
/// still holds a valid certificate or an assigned device is not deactivated: the certificate
/// is revoked (a request) and the device returned first, which the refusal says.
pub async fn set_subscriber_active(
    store: &Store,
    actor: &Actor,
    id: i64,
    active: bool,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Subscriber> {
    let (s, a) = subscriber_in_scope(store, actor, id, Permission::WriteRegistry).await?;
    let reason = text("reason", reason, !active)?;
    if !active {
        let valid: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM certificates WHERE subscriber_id = $1 AND status = 'active' \
             AND not_after > $2",
        )
        .bind(id)
        .bind(now.unix_timestamp())
        .fetch_one(store.pool())
        .await?;
        if valid > 0 {
            return Err(Error::conflict(
                "reason",
                format!(
                    "{} còn {valid} chứng thư số đang hiệu lực: hãy lập đề nghị thu hồi trước khi \
                     ngừng sử dụng thuê bao.",
                    s.name
                ),
                format!(
                    "{} still holds {valid} valid certificate(s): request their revocation before \
                     deactivating the subscriber.",
                    s.name
                ),
            ));
        }
        let devices: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM devices WHERE holder_id = $1 AND state = 'assigned'",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await?;
        if devices > 0 {
            return Err(Error::conflict(
                "reason",
                format!(
                    "{} còn giữ {devices} thiết bị lưu khóa: hãy ghi nhận việc trả thiết bị trước.",
                    s.name
                ),
                format!(
                    "{} still holds {devices} key device(s): record their return first.",
                    s.name
                ),
            ));
        }
    }
    let mut tx = store
        .begin_write(actor, crate::On::Agency(Permission::WriteRegistry, &a.path))
        .await?;
    sqlx::query(
        "UPDATE subscribers SET deactivated_at = $1, deactivation_reason = $2, updated_at = $3 \
         WHERE id = $4",
    )
    .bind((!active).then(|| now.unix_timestamp()))
    .bind(if active { "" } else { reason.as_str() })
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: if active {
                "subscriber.reactivate"
            } else {
                "subscriber.deactivate"
            },
            object: format!("subscriber:{id}"),
            agency: Some(a.code.clone()),
            detail: json!({"name": s.name, "reason": reason}),
        },
        now,
    )
    .await?;
    subscriber(store, actor, id).await
}
