//! A dossier's hand-over package (issue 19 item 6; Decree 30 art. 31, submitting dossiers to
//! the archive): one ZIP file holding
//!
//! - `ho-so.json`, the manifest (`kyso.dossier-package/1`): the dossier (code, title, year,
//!   retention, keeper, dates, agency), who exported it and when, and each document with its
//!   metadata and its files — path in the package, SHA-256, size, what it is;
//! - `muc-luc.csv`, the table of contents a person reads (UTF-8 with BOM: Excel shows the
//!   Vietnamese), one row per document in the order filed;
//! - `van-ban/NNN/…`, every file kept with each document, byte for byte (stored, not
//!   recompressed: PDFs are compressed already).
//!
//! [`check_package`] is the offline check: every file of the manifest present and hashing to
//! its SHA-256, nothing in the package the manifest does not name, the documents counted. The
//! signatures inside each PDF are then verified as any PDF's are (`kyso archive verify` runs
//! kyso's verifier on each one, with no network needed for what the files carry).

use std::io::{Read, Write};

use kyso_domain::archive::DossierState;
use kyso_domain::roles::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::Event;
use crate::blobs::Blobs;
use crate::{Actor, Error, On, Record, Result, Store};

/// The manifest's schema name.
pub const SCHEMA: &str = "kyso.dossier-package/1";
/// The manifest's path in the package.
pub const MANIFEST: &str = "ho-so.json";
/// The table of contents' path.
pub const CONTENTS: &str = "muc-luc.csv";

/// One file of a packaged document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PackagedFile {
    pub path: String,
    pub label: String,
    pub sha256: String,
    pub size: u64,
    /// The copy filed (the signed document itself), as opposed to earlier versions and reports.
    pub filed: bool,
}

/// One packaged document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PackagedDocument {
    pub n: usize,
    pub kind: String,
    pub notation: String,
    pub doc_date: String,
    pub doc_type: String,
    pub subject: String,
    pub signer: String,
    pub counterpart: String,
    pub files: Vec<PackagedFile>,
}

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub schema: String,
    pub agency_code: String,
    pub agency_name: String,
    pub dossier_code: String,
    pub title: String,
    pub year: i64,
    /// Years kept after closing; 0 for permanent.
    pub retention_years: i64,
    pub keeper: String,
    pub closed_at: Option<String>,
    pub exported_at: String,
    pub exported_by: String,
    pub documents: Vec<PackagedDocument>,
}

/// What the offline check found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PackageCheck {
    pub manifest: Option<Manifest>,
    /// Files checked and found as the manifest says.
    pub files_ok: usize,
    /// Each problem, in words (Vietnamese, English).
    pub problems: Vec<(String, String)>,
}

impl PackageCheck {
    pub fn is_intact(&self) -> bool {
        self.manifest.is_some() && self.problems.is_empty()
    }
}

fn zip_error(e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "file",
        format!("Gói hồ sơ không đọc được: {e}"),
        format!("The package cannot be read: {e}"),
    )
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A safe file name inside the package (letters, digits, `.-_`; the original's extension kept).
fn safe_name(name: &str, fallback: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    let safe = safe.trim_matches(|c| c == '.' || c == '-').to_owned();
    if safe.is_empty() {
        fallback.to_owned()
    } else {
        safe
    }
}

/// Make dossier `id`'s package (a closed or handed-over dossier; its agency's keeper), every
/// file read from the blob store and re-hashed. Audited `archive.package`.
pub async fn package(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<(String, Vec<u8>)> {
    let d = super::dossier(store, actor, id).await?;
    let agency =
        crate::registry::agency(store, actor, d.agency_id, Permission::ReadRegistry).await?;
    actor.reach(Permission::KeepArchive, &agency.path, Record::Dossier)?;
    if d.state == DossierState::Open {
        return Err(Error::conflict(
            "state",
            "Chỉ lập gói nộp lưu cho hồ sơ đã kết thúc; hãy kết thúc hồ sơ trước.",
            "Only a closed dossier is packaged for hand-over; close it first.",
        ));
    }
    // Every entry of the dossier, oldest filed first.
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let q = kyso_domain::archive::Query {
            dossier_id: Some(id),
            after,
            ..Default::default()
        };
        let hits = super::search(store, actor, &q, super::MAX_PAGE).await?;
        entries.extend(hits.entries);
        match hits.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    entries.reverse();
    let mut documents = Vec::new();
    let mut contents = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    contents
        .write_record([
            "STT",
            "Số, ký hiệu",
            "Ngày văn bản",
            "Loại",
            "Trích yếu",
            "Người ký",
            "Nơi gửi / nơi nhận",
            "Số tệp",
        ])
        .map_err(zip_error)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        let detail = super::entry(store, actor, e.id).await?;
        let mut files = Vec::new();
        for f in &detail.files {
            let bytes = crate::documents::get_blob(blobs, &f.sha256).await?;
            let path = format!(
                "van-ban/{n:03}/{:02}-{}",
                f.n,
                safe_name(&f.file_name, "tep.pdf")
            );
            zip.start_file(path.as_str(), stored).map_err(zip_error)?;
            zip.write_all(&bytes).map_err(zip_error)?;
            files.push(PackagedFile {
                path,
                label: f.label.clone(),
                sha256: f.sha256.clone(),
                size: bytes.len() as u64,
                filed: f.sha256 == detail.sha256,
            });
        }
        contents
            .write_record([
                n.to_string(),
                e.notation.clone(),
                kyso_domain::calendar::iso_day_text(&e.doc_date),
                e.doc_type.clone(),
                e.subject.clone(),
                e.signer.clone(),
                e.counterpart.clone(),
                files.len().to_string(),
            ])
            .map_err(zip_error)?;
        documents.push(PackagedDocument {
            n,
            kind: e.kind.as_str().into(),
            notation: e.notation.clone(),
            doc_date: e.doc_date.clone(),
            doc_type: e.doc_type.clone(),
            subject: e.subject.clone(),
            signer: e.signer.clone(),
            counterpart: e.counterpart.clone(),
            files,
        });
    }
    let manifest = Manifest {
        schema: SCHEMA.into(),
        agency_code: agency.code.clone(),
        agency_name: agency.name.clone(),
        dossier_code: d.code.clone(),
        title: d.title.clone(),
        year: d.year,
        retention_years: d.retention_years,
        keeper: d.keeper.clone(),
        closed_at: d.closed_at.map(rfc3339),
        exported_at: rfc3339(now),
        exported_by: actor.username.clone(),
        documents,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(zip_error)?;
    zip.start_file(MANIFEST, deflated).map_err(zip_error)?;
    zip.write_all(&json).map_err(zip_error)?;
    let toc = contents.into_inner().map_err(zip_error)?;
    zip.start_file(CONTENTS, deflated).map_err(zip_error)?;
    zip.write_all(&toc).map_err(zip_error)?;
    let bytes = zip.finish().map_err(zip_error)?.into_inner();
    let sha = crate::hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes).as_ref());
    let tx = store
        .begin_write(actor, On::Agency(Permission::KeepArchive, &agency.path))
        .await?;
    tx.commit_audited(
        Event {
            action: "archive.package",
            object: format!("dossier:{id}"),
            agency: Some(agency.code.clone()),
            detail: json!({"code": d.code, "documents": manifest.documents.len(),
                           "sha256": sha, "size": bytes.len()}),
        },
        now,
    )
    .await?;
    let name = format!(
        "ho-so-{}-{}-{}.zip",
        safe_name(&agency.code, "co-quan"),
        d.year,
        safe_name(&d.code, "ho-so")
    );
    Ok((name, bytes))
}

/// Most bytes of one file read back from a package (a PDF of an archive: 2 GiB).
const MAX_FILE: u64 = 2 << 30;
/// Most entries a package may hold.
const MAX_ENTRIES: usize = 100_000;

/// Check a package offline: the manifest read, every file it names present with its SHA-256 and
/// size, nothing else in the package. The bytes of each file in the manifest's order are given
/// to `each` (the caller verifies the PDFs' signatures).
pub fn check_package<R: Read + std::io::Seek>(
    reader: R,
    mut each: impl FnMut(&PackagedFile, &[u8]),
) -> Result<PackageCheck> {
    let mut zip = zip::ZipArchive::new(reader).map_err(zip_error)?;
    if zip.len() > MAX_ENTRIES {
        return Err(zip_error("too many files"));
    }
    let mut problems = Vec::new();
    let manifest: Manifest = {
        let mut f = zip.by_name(MANIFEST).map_err(|_| {
            Error::invalid(
                "file",
                format!("Gói không có tệp {MANIFEST}: không phải gói hồ sơ của kyso."),
                format!("The package has no {MANIFEST}: not a kyso dossier package."),
            )
        })?;
        let mut json = Vec::new();
        (&mut f)
            .take(64 << 20)
            .read_to_end(&mut json)
            .map_err(zip_error)?;
        serde_json::from_slice(&json).map_err(zip_error)?
    };
    if manifest.schema != SCHEMA {
        problems.push((
            format!("Lược đồ {} không phải {SCHEMA}.", manifest.schema),
            format!("Schema {} is not {SCHEMA}.", manifest.schema),
        ));
    }
    let mut named: Vec<&str> = vec![MANIFEST, CONTENTS];
    let mut files_ok = 0;
    for doc in &manifest.documents {
        for f in &doc.files {
            named.push(&f.path);
            let mut entry = match zip.by_name(&f.path) {
                Ok(e) => e,
                Err(_) => {
                    problems.push((
                        format!("Thiếu tệp {} của văn bản {}.", f.path, doc.notation),
                        format!("File {} of document {} is missing.", f.path, doc.notation),
                    ));
                    continue;
                }
            };
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_FILE)
                .read_to_end(&mut bytes)
                .map_err(zip_error)?;
            let sha =
                crate::hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes).as_ref());
            if sha != f.sha256 || bytes.len() as u64 != f.size {
                problems.push((
                    format!(
                        "Tệp {} đã bị thay đổi: mã băm không khớp với danh mục.",
                        f.path
                    ),
                    format!(
                        "File {} was changed: its hash differs from the manifest's.",
                        f.path
                    ),
                ));
                continue;
            }
            files_ok += 1;
            each(f, &bytes);
        }
    }
    for i in 0..zip.len() {
        let name = zip.by_index(i).map_err(zip_error)?.name().to_owned();
        if !named.contains(&name.as_str()) && !name.ends_with('/') {
            problems.push((
                format!("Tệp {name} không có trong danh mục của gói."),
                format!("File {name} is not in the package's manifest."),
            ));
        }
    }
    Ok(PackageCheck {
        manifest: Some(manifest),
        files_ok,
        problems,
    })
}

/// Record that a closed dossier was handed over to the historical archive (its keeper).
pub async fn hand_over(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<super::Dossier> {
    let (path, agency_code, d) = super::kept_dossier(store, actor, id).await?;
    if d.state != DossierState::Closed {
        return Err(Error::conflict(
            "state",
            "Chỉ nộp lưu hồ sơ đã kết thúc và chưa nộp lưu.",
            "Only a closed dossier not yet handed over is handed over.",
        ));
    }
    let mut tx = store
        .begin_write(actor, On::Agency(Permission::KeepArchive, &path))
        .await?;
    let moved = sqlx::query(
        "UPDATE dossiers SET state = 'handed_over', handed_at = $1 WHERE id = $2 AND state = 'closed'",
    )
    .bind(now.unix_timestamp())
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(Error::conflict(
            "state",
            "Hồ sơ vừa được người khác nộp lưu.",
            "Someone else just handed the dossier over.",
        ));
    }
    tx.commit_audited(
        Event {
            action: "archive.hand_over",
            object: format!("dossier:{id}"),
            agency: Some(agency_code),
            detail: json!({"code": d.code, "year": d.year, "documents": d.entries}),
        },
        now,
    )
    .await?;
    super::dossier(store, actor, id).await
}
