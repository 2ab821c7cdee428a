//! Copies (SAO Y, SAO LỤC, TRÍCH SAO) of issued documents, numbered in the copying agency's
//! own yearly series shared by the three forms ("05/SY"), made and organization-signed by
//! that agency's clerk.

use kyso_domain::documents::{series_year, CopyNotation};
use kyso_domain::roles::Role;
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::On;

/// A copy of a document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentCopy {
    pub id: i64,
    pub document_id: i64,
    /// The agency that made the copy (the issuer, or a recipient).
    pub agency_id: i64,
    pub form: CopyForm,
    pub year: i64,
    pub number: i64,
    /// "05/SY".
    pub notation: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub made_by: i64,
    pub created_at: i64,
}

/// A new copy: the copying agency, the form, and the copy file signed by its clerk.
#[derive(Debug, Clone)]
pub struct NewCopy {
    pub agency_id: i64,
    pub form: CopyForm,
    pub file_name: String,
    pub file: Vec<u8>,
}

pub(crate) fn copy_from(row: &AnyRow) -> Result<DocumentCopy> {
    let form = copy_form(&row.try_get::<String, _>(3)?)?;
    let number: i64 = row.try_get(5)?;
    Ok(DocumentCopy {
        id: row.try_get(0)?,
        document_id: row.try_get(1)?,
        agency_id: row.try_get(2)?,
        form,
        year: row.try_get(4)?,
        number,
        notation: CopyNotation { form }.with_number(u32::try_from(number).unwrap_or(u32::MAX)),
        sha256: row.try_get(6)?,
        size: row.try_get(7)?,
        file_name: row.try_get(8)?,
        made_by: row.try_get(9)?,
        created_at: row.try_get(10)?,
    })
}

pub(crate) const COPY_COLUMNS: &str =
    "id, document_id, agency_id, form, year, number, sha256, size, file_name, made_by, created_at";

/// Make a copy of issued document `id` for `input.agency_id` — the issuing agency, or one that
/// received it — by that agency's clerk, numbered in its copy series for this year.
pub async fn make_copy(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    input: &NewCopy,
    now: OffsetDateTime,
) -> Result<DocumentCopy> {
    let doc = load_unchecked(store, id).await?;
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    let holds = if agency.id == doc.agency_id {
        true
    } else {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM document_deliveries WHERE document_id = $1 \
             AND recipient_agency_id = $2 AND state = 'delivered'",
        )
        .bind(id)
        .bind(agency.id)
        .fetch_one(store.pool())
        .await?;
        n > 0
    };
    if !holds {
        return Err(Error::NotFound {
            what: Record::Document,
        });
    }
    let clerk = actor
        .grants
        .iter()
        .any(|g| g.role == Role::Clerk && g.agency_id == agency.id);
    if !clerk {
        return Err(Error::Forbidden);
    }
    if !matches!(doc.state, DocState::Registered | DocState::Dispatched) {
        return Err(Error::conflict(
            "state",
            format!(
                "Chỉ sao văn bản đã phát hành; văn bản đang ở bước \"{}\".",
                doc.state.label_vi()
            ),
            format!(
                "Only issued documents are copied; the document is \"{}\".",
                doc.state.label_en()
            ),
        ));
    }
    check_pdf(&input.file)?;
    let file_name = version_file_name(&input.file_name)?;
    let sha = put_blob(blobs, &input.file).await?;
    let year = i64::from(series_year(now));
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let number: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM document_copies WHERE agency_id = $1 AND year = $2",
    )
    .bind(agency.id)
    .bind(year)
    .fetch_one(tx.conn())
    .await?;
    let row = sqlx::query(
        "INSERT INTO document_copies (document_id, agency_id, form, year, number, sha256, size, \
         file_name, made_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(id)
    .bind(agency.id)
    .bind(input.form.as_str())
    .bind(year)
    .bind(number)
    .bind(&sha)
    .bind(i64::try_from(input.file.len()).unwrap_or(i64::MAX))
    .bind(&file_name)
    .bind(actor.user_id)
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "number",
        "Số bản sao này vừa được dùng; hãy thử lại.",
        "This copy number was just taken; try again.",
    ))?;
    let copy_id: i64 = row.try_get(0)?;
    let notation =
        CopyNotation { form: input.form }.with_number(u32::try_from(number).unwrap_or(u32::MAX));
    insert_event(
        &mut tx,
        id,
        "copy",
        doc.state,
        doc.state,
        &format!("Số: {notation}"),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "document.copy",
            object: format!("document:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"copy_id": copy_id, "form": input.form.as_str(), "year": year,
                           "number": number, "notation": notation, "sha256": sha}),
        },
        now,
    )
    .await?;
    Ok(DocumentCopy {
        id: copy_id,
        document_id: id,
        agency_id: agency.id,
        form: input.form,
        year,
        number,
        notation,
        sha256: sha,
        size: i64::try_from(input.file.len()).unwrap_or(i64::MAX),
        file_name,
        made_by: actor.user_id,
        created_at: now.unix_timestamp(),
    })
}
