//! Reading documents: one with everything recorded about it, the lists, the files, the
//! register's numbers, and the deliveries an agency received.

use super::*;

/// A comment on a document.
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub created_at: i64,
}

/// One step in a document's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub id: i64,
    /// The action's stable name (a [`DocAction`], or `create`, `draft`, `comment`, `copy`).
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub user_id: i64,
    /// The account name at the time of the step.
    pub actor: String,
    /// The account's full name ('' for the system).
    pub full_name: String,
    /// The account's title in the registry (its individual subscriber with the same e-mail at
    /// its own agency), '' when none.
    pub title: String,
    /// How pages name the actor: "Nguyễn Văn A (Chánh Văn phòng)", the full name alone without
    /// a title, the account name when there is no full name.
    pub actor_display: String,
    pub note: String,
    pub created_at: i64,
}

/// A delivery of a document to a recipient.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub document_id: i64,
    pub recipient_code: String,
    /// The recipient in the registry (`None`: sent outside the province).
    pub recipient_agency_id: Option<i64>,
    /// `delivered`, `external` or `recalled`.
    pub state: String,
    pub delivered_at: i64,
    pub recalled_at: Option<i64>,
}

/// A released number and why.
#[derive(Debug, Clone, Serialize)]
pub struct NumberRelease {
    pub year: i64,
    pub number: i64,
    pub reason: String,
    pub released_by: i64,
    pub released_at: i64,
}

/// A recall.
#[derive(Debug, Clone, Serialize)]
pub struct Recall {
    pub reason: String,
    pub recalled_by: i64,
    pub recalled_at: i64,
    /// Deliveries marked recalled.
    pub recipients: i64,
}

/// A document with everything recorded about it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentDetail {
    pub document: Document,
    pub versions: Vec<Version>,
    pub comments: Vec<Comment>,
    pub timeline: Vec<TimelineEntry>,
    pub deliveries: Vec<Delivery>,
    pub copies: Vec<DocumentCopy>,
    pub number_releases: Vec<NumberRelease>,
    pub recall: Option<Recall>,
}

/// Document `id` with its versions, comments, timeline, deliveries, copies and releases.
pub async fn get_document(store: &Store, actor: &Actor, id: i64) -> Result<DocumentDetail> {
    let document = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &document.agency_path,
        Record::Document,
    )?;
    let pool = store.pool();
    let versions = sqlx::query(
        "SELECT seq, kind, sha256, size, file_name, uploaded_by, created_at \
         FROM document_versions WHERE document_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Version {
            seq: r.try_get(0)?,
            kind: VersionKind::parse(&r.try_get::<String, _>(1)?),
            sha256: r.try_get(2)?,
            size: r.try_get(3)?,
            file_name: r.try_get(4)?,
            uploaded_by: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .collect::<Result<_>>()?;
    let comments = sqlx::query(
        "SELECT c.id, c.user_id, u.username, c.body, c.created_at FROM document_comments c \
         JOIN users u ON u.id = c.user_id WHERE c.document_id = $1 ORDER BY c.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Comment {
            id: r.try_get(0)?,
            user_id: r.try_get(1)?,
            username: r.try_get(2)?,
            body: r.try_get(3)?,
            created_at: r.try_get(4)?,
        })
    })
    .collect::<Result<_>>()?;
    let timeline = sqlx::query(&format!(
        "SELECT e.id, e.action, e.from_state, e.to_state, e.user_id, e.actor, e.note, \
         e.created_at, COALESCE(u.full_name, ''), {} \
         FROM document_events e LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.document_id = $1 ORDER BY e.id",
        title_sql("u", "u.agency_id")
    ))
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let actor: String = r.try_get(5)?;
        let full_name: String = r.try_get(8)?;
        let title: String = r.try_get(9)?;
        let actor_display = if full_name.trim().is_empty() {
            actor.clone()
        } else {
            person_label(&full_name, &title)
        };
        Ok(TimelineEntry {
            id: r.try_get(0)?,
            action: r.try_get(1)?,
            from_state: r.try_get(2)?,
            to_state: r.try_get(3)?,
            user_id: r.try_get(4)?,
            actor,
            full_name,
            title,
            actor_display,
            note: r.try_get(6)?,
            created_at: r.try_get(7)?,
        })
    })
    .collect::<Result<_>>()?;
    let deliveries = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM document_deliveries WHERE document_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(delivery_from)
    .collect::<Result<_>>()?;
    let copies = sqlx::query(&format!(
        "SELECT {COPY_COLUMNS} FROM document_copies WHERE document_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(copy_from)
    .collect::<Result<_>>()?;
    let number_releases = sqlx::query(
        "SELECT year, number, reason, released_by, released_at FROM doc_number_releases \
         WHERE document_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(NumberRelease {
            year: r.try_get(0)?,
            number: r.try_get(1)?,
            reason: r.try_get(2)?,
            released_by: r.try_get(3)?,
            released_at: r.try_get(4)?,
        })
    })
    .collect::<Result<_>>()?;
    let recall = sqlx::query(
        "SELECT reason, recalled_by, recalled_at, recipients FROM document_recalls \
         WHERE document_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|r| -> Result<Recall> {
        Ok(Recall {
            reason: r.try_get(0)?,
            recalled_by: r.try_get(1)?,
            recalled_at: r.try_get(2)?,
            recipients: r.try_get(3)?,
        })
    })
    .transpose()?;
    Ok(DocumentDetail {
        document,
        versions,
        comments,
        timeline,
        deliveries,
        copies,
        number_releases,
        recall,
    })
}

const DELIVERY_COLUMNS: &str =
    "id, document_id, recipient_code, recipient_agency_id, state, delivered_at, recalled_at";

fn delivery_from(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get(0)?,
        document_id: r.try_get(1)?,
        recipient_code: r.try_get(2)?,
        recipient_agency_id: r.try_get(3)?,
        state: r.try_get(4)?,
        delivered_at: r.try_get(5)?,
        recalled_at: r.try_get(6)?,
    })
}

/// Filters for [`list_documents`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DocumentQuery {
    /// Only this agency's documents.
    pub agency_id: Option<i64>,
    /// Only documents in this state.
    pub state: Option<DocState>,
    /// Only documents waiting for a step the actor may take ("Chờ tôi xử lý").
    pub mine: bool,
    /// At most this many (default 100, at most 500), newest change first.
    pub limit: Option<i64>,
}

/// Documents the actor may read, newest change first.
pub async fn list_documents(
    store: &Store,
    actor: &Actor,
    query: &DocumentQuery,
) -> Result<Vec<Document>> {
    let scope = actor.scope(Permission::ReadDocuments);
    if scope.is_empty() {
        return Err(Error::Forbidden);
    }
    let (in_scope, params) = scope.sql("a.path", 4);
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN agencies a ON a.id = d.agency_id \
         WHERE ($1 = 0 OR d.agency_id = $1) AND ($2 = '' OR d.state = $2) AND {in_scope} \
         ORDER BY d.updated_at DESC, d.id DESC LIMIT $3"
    );
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let mut q = sqlx::query(&sql)
        .bind(query.agency_id.unwrap_or(0))
        .bind(query.state.map(|s| s.as_str()).unwrap_or(""))
        .bind(if query.mine { 500 } else { limit });
    for p in &params {
        q = q.bind(p);
    }
    let mut docs: Vec<Document> = q
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(document_from)
        .collect::<Result<_>>()?;
    if query.mine {
        docs.retain(|d| {
            d.state.actions().into_iter().any(|a| {
                a.is_forward()
                    && a.duty(d.state).is_some_and(|duty| {
                        check_duty(actor, duty, d.agency_id, &d.agency_path).is_ok()
                    })
                    && !(matches!(a, DocAction::Approve | DocAction::SignPersonal)
                        && d.signer_id.is_some_and(|s| s != actor.user_id))
            })
        });
        docs.truncate(usize::try_from(limit).unwrap_or(100));
    }
    Ok(docs)
}

/// The bytes of version `seq` of document `id`, re-hashed against their name.
pub async fn version_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    seq: i64,
) -> Result<(Version, Vec<u8>)> {
    let detail = get_document(store, actor, id).await?;
    let version = detail
        .versions
        .into_iter()
        .find(|v| v.seq == seq)
        .ok_or(Error::NotFound {
            what: Record::Document,
        })?;
    let bytes = get_blob(blobs, &version.sha256).await?;
    Ok((version, bytes))
}

/// The deliveries an agency received, newest first (its incoming queue until the incoming
/// side is built).
pub async fn deliveries_to(store: &Store, actor: &Actor, agency_id: i64) -> Result<Vec<Delivery>> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM document_deliveries WHERE recipient_agency_id = $1 \
         ORDER BY delivered_at DESC, id DESC LIMIT 500"
    ))
    .bind(agency.id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(delivery_from)
    .collect()
}

/// The issued file of a delivery, for the recipient agency; a recalled delivery is not served.
pub async fn delivered_file(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    delivery_id: i64,
) -> Result<(Document, Vec<u8>)> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM document_deliveries WHERE id = $1"
    ))
    .bind(delivery_id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    let delivery = delivery_from(&row)?;
    let Some(agency_id) = delivery.recipient_agency_id else {
        return Err(Error::NotFound {
            what: Record::Document,
        });
    };
    crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    if delivery.state == "recalled" {
        return Err(Error::conflict(
            "state",
            "Văn bản này đã bị cơ quan ban hành thu hồi.",
            "This document was recalled by its issuer.",
        ));
    }
    let document = load_unchecked(store, delivery.document_id).await?;
    let sha: String = sqlx::query_scalar(
        "SELECT sha256 FROM document_versions WHERE document_id = $1 AND kind = 'org_signed' \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(document.id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Document,
    })?;
    Ok((document, get_blob(blobs, &sha).await?))
}

/// The numbers of a register for a year, in order: (number, status, document id).
pub async fn register_numbers(
    store: &Store,
    actor: &Actor,
    register_id: i64,
    year: i64,
) -> Result<Vec<(i64, String, Option<i64>)>> {
    let register = register_unchecked(store, register_id).await?;
    crate::registry::agency(store, actor, register.agency_id, Permission::ReadDocuments).await?;
    sqlx::query(
        "SELECT number, status, document_id FROM doc_numbers WHERE register_id = $1 AND year = $2 \
         ORDER BY number",
    )
    .bind(register_id)
    .bind(year)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Whose certificates an upload of a document must be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningRole {
    /// The approving signer's own certificates: those of the registry's individual subscriber
    /// of the document's agency with the signer's e-mail address.
    Personal,
    /// The agency's organization certificates: those of its organization subscribers.
    Organization,
}

/// The certificates (DER) of the registry's subscriber for `role` on document `id` that are
/// recorded active and within their validity at `now`; empty when the registry holds none.
/// The caller must be able to read the document.
pub async fn signing_certificates(
    store: &Store,
    actor: &Actor,
    id: i64,
    role: SigningRole,
    now: time::OffsetDateTime,
) -> Result<Vec<Vec<u8>>> {
    let doc = load_unchecked(store, id).await?;
    actor.reach(
        Permission::ReadDocuments,
        &doc.agency_path,
        Record::Document,
    )?;
    let now = now.unix_timestamp();
    let rows = match role {
        SigningRole::Personal => {
            let Some(signer) = doc.signer_id else {
                return Ok(Vec::new());
            };
            sqlx::query(
                "SELECT c.der FROM certificates c JOIN subscribers s ON s.id = c.subscriber_id \
                 JOIN users u ON u.id = $1 \
                 WHERE s.kind = 'individual' AND s.agency_id = $2 AND u.email <> '' \
                 AND LOWER(s.email) = LOWER(u.email) AND c.status = 'active' \
                 AND c.not_before <= $3 AND c.not_after >= $3 ORDER BY c.id",
            )
            .bind(signer)
            .bind(doc.agency_id)
            .bind(now)
            .fetch_all(store.pool())
            .await?
        }
        SigningRole::Organization => {
            return organization_certificates(store, doc.agency_id, now).await
        }
    };
    rows.iter()
        .map(|r| Ok(r.try_get::<Vec<u8>, _>(0)?))
        .collect()
}

/// The DER of the valid organization certificates of agency `agency_id` at `now` (Unix
/// seconds) in the registry (no scope check: callers check).
pub(crate) async fn organization_certificates(
    store: &Store,
    agency_id: i64,
    now: i64,
) -> Result<Vec<Vec<u8>>> {
    let rows = sqlx::query(
        "SELECT c.der FROM certificates c JOIN subscribers s ON s.id = c.subscriber_id \
         WHERE s.kind = 'organization' AND s.agency_id = $1 AND c.status = 'active' \
         AND c.not_before <= $2 AND c.not_after >= $2 ORDER BY c.id",
    )
    .bind(agency_id)
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<Vec<u8>, _>(0)?))
        .collect()
}
