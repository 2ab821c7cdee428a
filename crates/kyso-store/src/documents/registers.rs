//! Outgoing registers: one or several per agency, by document group.

use kyso_domain::documents::number::check_abbrev;
use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::audit::Event;
use crate::On;

/// A new register.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegisterInput {
    pub agency_id: i64,
    pub code: String,
    pub name: String,
    pub issuer_abbrev: String,
    /// The document types it holds; empty: every type no other register holds.
    pub doc_types: Vec<DocType>,
}

fn register_from(row: &AnyRow) -> Result<Register> {
    let types: String = row.try_get(5)?;
    let doc_types = types
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| DocType::parse(s).map_err(|e| super::corrupt(&e.to_string())))
        .collect::<Result<_>>()?;
    Ok(Register {
        id: row.try_get(0)?,
        agency_id: row.try_get(1)?,
        code: row.try_get(2)?,
        name: row.try_get(3)?,
        issuer_abbrev: row.try_get(4)?,
        doc_types,
    })
}

const REGISTER_COLUMNS: &str = "id, agency_id, code, name, issuer_abbrev, doc_types";

/// The registers of an agency.
pub async fn registers(store: &Store, actor: &Actor, agency_id: i64) -> Result<Vec<Register>> {
    let agency =
        crate::registry::agency(store, actor, agency_id, Permission::ReadDocuments).await?;
    let rows = sqlx::query(&format!(
        "SELECT {REGISTER_COLUMNS} FROM doc_registers WHERE agency_id = $1 ORDER BY id"
    ))
    .bind(agency.id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(register_from).collect()
}

/// One register (no scope check).
pub(crate) async fn register_unchecked(store: &Store, id: i64) -> Result<Register> {
    let row = sqlx::query(&format!(
        "SELECT {REGISTER_COLUMNS} FROM doc_registers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: Record::Register,
    })?;
    register_from(&row)
}

/// The register a document of `doc_type` of the agency goes into: the one listing the type,
/// else the agency's catch-all register.
pub(crate) async fn register_for(
    store: &Store,
    agency_id: i64,
    doc_type: DocType,
) -> Result<Register> {
    let rows = sqlx::query(&format!(
        "SELECT {REGISTER_COLUMNS} FROM doc_registers WHERE agency_id = $1 ORDER BY id"
    ))
    .bind(agency_id)
    .fetch_all(store.pool())
    .await?;
    let all: Vec<Register> = rows.iter().map(register_from).collect::<Result<_>>()?;
    let listed = all.iter().find(|r| r.doc_types.contains(&doc_type));
    let catch_all = all.iter().find(|r| r.doc_types.is_empty());
    listed.or(catch_all).cloned().ok_or_else(|| {
        Error::invalid(
            "register",
            format!(
                "Cơ quan chưa có sổ văn bản đi cho loại \"{}\"; văn thư cần mở sổ trước.",
                doc_type.label_vi()
            ),
            format!(
                "The agency has no outgoing register for \"{}\"; the clerk must open one first.",
                doc_type.label_en()
            ),
        )
    })
}

/// Open a register for an agency (its clerk, or someone holding the clerk's permission above
/// it). Two registers of one agency never hold the same type, and at most one holds "every
/// other type", so each document has exactly one series.
pub async fn create_register(
    store: &Store,
    actor: &Actor,
    input: &RegisterInput,
    now: OffsetDateTime,
) -> Result<Register> {
    let agency =
        crate::registry::agency(store, actor, input.agency_id, Permission::ReadDocuments).await?;
    actor.reach(Permission::IssueDocument, &agency.path, Record::Agency)?;
    let code = kyso_domain::documents::meta::text("code", &input.code, true)?;
    let name = kyso_domain::documents::meta::text("name", &input.name, true)?;
    let issuer = input.issuer_abbrev.trim().to_owned();
    check_abbrev("issuer_abbrev", &issuer)?;
    let mut types = input.doc_types.clone();
    types.sort();
    types.dedup();
    let existing = registers(store, actor, agency.id).await?;
    for r in &existing {
        let clash = if types.is_empty() {
            r.doc_types.is_empty()
        } else {
            types.iter().find(|t| r.doc_types.contains(t)).is_some()
        };
        if clash {
            return Err(Error::conflict(
                "doc_types",
                format!(
                    "Sổ \"{}\" đã giữ loại văn bản này; mỗi loại chỉ thuộc một sổ (một dãy số).",
                    r.name
                ),
                format!(
                    "Register \"{}\" already holds this document type; each type has one register \
                     (one series).",
                    r.name
                ),
            ));
        }
    }
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::IssueDocument, &agency.path))
        .await?;
    let row = sqlx::query(
        "INSERT INTO doc_registers (agency_id, code, name, issuer_abbrev, doc_types, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(agency.id)
    .bind(&code)
    .bind(&name)
    .bind(&issuer)
    .bind(names.join(","))
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err(crate::unique(
        "code",
        "Cơ quan đã có sổ với ký hiệu này.",
        "The agency already has a register with this code.",
    ))?;
    let id: i64 = row.try_get(0)?;
    tx.commit_audited(
        Event {
            action: "document.register_create",
            object: format!("doc_register:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"code": code, "name": name, "issuer_abbrev": issuer, "doc_types": names}),
        },
        now,
    )
    .await?;
    Ok(Register {
        id,
        agency_id: agency.id,
        code,
        name,
        issuer_abbrev: issuer,
        doc_types: types,
    })
}

/// The notation (ký hiệu) document `id` will carry once numbered — its type, its register's
/// issuer and its unit, as `number` gives it (`QĐ-SKHCN`, `SKHCN-VP`) — for whoever may read
/// the document: what the format check compares with the notation a draft prints.
pub async fn notation_of(store: &Store, actor: &Actor, id: i64) -> Result<String> {
    let doc = super::get_document(store, actor, id).await?.document;
    let issuer: String =
        sqlx::query_scalar("SELECT issuer_abbrev FROM doc_registers WHERE id = $1")
            .bind(doc.register_id)
            .fetch_one(store.pool())
            .await?;
    let notation = kyso_domain::documents::number::Notation::new(
        doc.meta.doc_type,
        &issuer,
        &doc.meta.unit_abbrev,
    )?;
    Ok(notation.symbol())
}

/// The notation a new document of `doc_type` drafted by the unit `unit_abbrev` of the agency
/// will carry ("BC-STC", "TTCDS-VP"): its register's issuer and the type's rule; refused at
/// `register` when the agency has no register for the type.
pub async fn notation_for(
    store: &Store,
    agency_id: i64,
    doc_type: DocType,
    unit_abbrev: &str,
) -> Result<String> {
    let register = register_for(store, agency_id, doc_type).await?;
    let notation = kyso_domain::documents::number::Notation::new(
        doc_type,
        &register.issuer_abbrev,
        unit_abbrev.trim(),
    )?;
    Ok(notation.symbol())
}
