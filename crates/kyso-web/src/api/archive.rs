//! The archive (issue 19 item 2): search (`GET /api/v1/archive`), an entry with its files and
//! each file's bytes, filing an entry into a dossier, and the dossiers (list, open, read,
//! close). The rules are the store's (`kyso_store::archive`), as for the web pages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_domain::archive::{Query as ArchiveQuery, SearchForm};
use kyso_store::archive::{self, Dossier, EntryDetail, Hits, NewDossier};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, Id, Routes, Q};
use crate::auth::{Auth, Body};
use crate::AppState;

pub(crate) fn routes(r: Routes) -> Routes {
    r.add::<__path_search, _, _>(search)
        .add::<__path_get_entry, _, _>(get_entry)
        .add::<__path_entry_file, _, _>(entry_file)
        .add::<__path_put_dossier, _, _>(put_dossier)
        .add::<__path_list_dossiers, _, _>(list_dossiers)
        .add::<__path_create_dossier, _, _>(create_dossier)
        .add::<__path_get_dossier, _, _>(get_dossier)
        .add::<__path_close_dossier, _, _>(close_dossier)
        .add::<__path_dossier_package, _, _>(dossier_package)
        .add::<__path_hand_over, _, _>(hand_over)
}

/// Search the archive of the agencies where the caller may read it: words anywhere (`q`), the
/// number and notation, the signer (accents and case ignored; whole words), an agency's
/// subtree, a type, outgoing or incoming, a date range, a dossier. Newest filed first, 50 a
/// page; `next` is the `after` of the next page.
#[utoipa::path(get, path = "/api/v1/archive", tag = "archive", params(SearchForm),
    responses((status = 200, description = "A page of entries", body = Hits)))]
async fn search(
    State(st): State<AppState>,
    auth: Auth,
    Q(f): Q<SearchForm>,
) -> ApiResult<Json<Hits>> {
    let q = ArchiveQuery::parse(&f).map_err(kyso_store::Error::from)?;
    Ok(Json(archive::search(&st.store, &auth.actor, &q, 50).await?))
}

/// An entry with the files kept with it.
#[utoipa::path(get, path = "/api/v1/archive/{id}", tag = "archive", params(Id),
    responses((status = 200, description = "The entry", body = EntryDetail)))]
async fn get_entry(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<EntryDetail>> {
    Ok(Json(archive::entry(&st.store, &auth.actor, id).await?))
}

/// Which of an entry's files.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FileChoice {
    /// The file's `n` in the entry's `files`; the copy filed when absent.
    #[serde(default)]
    n: Option<usize>,
}

/// One of an entry's files, as kept (re-hashed as read).
#[utoipa::path(get, path = "/api/v1/archive/{id}/file", tag = "archive", params(Id, FileChoice),
    responses((status = 200, description = "The file", content_type = "application/pdf", body = super::dto::BinaryFile)))]
async fn entry_file(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Q(c): Q<FileChoice>,
) -> Result<axum::response::Response, crate::ApiError> {
    let blobs = super::documents::blobs(&st)?;
    let (f, bytes) = archive::entry_file(&st.store, &blobs, &auth.actor, id, c.n).await?;
    Ok(super::register_export::pdf_response(&f.file_name, bytes))
}

/// The dossier an entry is filed into.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DossierOfEntry {
    /// An open dossier of the entry's agency; `null` takes the entry out of its dossier.
    dossier_id: Option<i64>,
}

/// File an entry into an open dossier of its agency, or take it out (keepers of the archive).
#[utoipa::path(put, path = "/api/v1/archive/{id}/dossier", tag = "archive", params(Id),
    request_body = DossierOfEntry,
    responses((status = 200, description = "Filed", body = EntryDetail)))]
async fn put_dossier(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(b): Body<DossierOfEntry>,
) -> ApiResult<Json<EntryDetail>> {
    Ok(Json(
        archive::file_into(&st.store, &auth.actor, id, b.dossier_id, st.now()).await?,
    ))
}

/// Which year's dossiers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct YearChoice {
    /// Only this year's list; every year when absent.
    #[serde(default)]
    year: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DossierList {
    items: Vec<Dossier>,
}

/// The dossiers of the agencies where the caller reads the archive.
#[utoipa::path(get, path = "/api/v1/dossiers", tag = "archive", params(YearChoice),
    responses((status = 200, description = "The dossiers", body = DossierList)))]
async fn list_dossiers(
    State(st): State<AppState>,
    auth: Auth,
    Q(y): Q<YearChoice>,
) -> ApiResult<Json<DossierList>> {
    Ok(Json(DossierList {
        items: archive::dossiers(&st.store, &auth.actor, y.year).await?,
    }))
}

/// Open a dossier in an agency's list of a year (keepers of that agency's archive).
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "archive", request_body = NewDossier,
    responses((status = 201, description = "Opened", body = Dossier)))]
async fn create_dossier(
    State(st): State<AppState>,
    auth: Auth,
    Body(input): Body<NewDossier>,
) -> ApiResult<(StatusCode, Json<Dossier>)> {
    let d = archive::create_dossier(&st.store, &auth.actor, &input, st.now()).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// A dossier.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", tag = "archive", params(Id),
    responses((status = 200, description = "The dossier", body = Dossier)))]
async fn get_dossier(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Dossier>> {
    Ok(Json(archive::dossier(&st.store, &auth.actor, id).await?))
}

/// Close a dossier: nothing more is filed into or out of it; its retention runs from this year.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/close", tag = "archive", params(Id),
    responses((status = 200, description = "Closed", body = Dossier)))]
async fn close_dossier(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> ApiResult<Json<Dossier>> {
    Ok(Json(
        archive::close_dossier(&st.store, &auth.actor, id, st.now()).await?,
    ))
}

/// A closed dossier's hand-over package (ZIP: every file byte for byte, `ho-so.json` with each
/// file's SHA-256, `muc-luc.csv`), for its agency's keeper; `kyso archive verify` checks it
/// offline.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/package", tag = "archive", params(Id),
    responses((status = 200, description = "The package", content_type = "application/zip", body = super::dto::BinaryFile)))]
async fn dossier_package(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
) -> Result<axum::response::Response, crate::ApiError> {
    use axum::response::IntoResponse as _;
    let blobs = super::documents::blobs(&st)?;
    let (name, bytes) = archive::package(&st.store, &blobs, &auth.actor, id, st.now()).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/zip".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Record that a closed dossier was handed over to the historical archive.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/hand-over", tag = "archive", params(Id),
    responses((status = 200, description = "Handed over", body = Dossier)))]
async fn hand_over(State(st): State<AppState>, auth: Auth, Id(id): Id) -> ApiResult<Json<Dossier>> {
    Ok(Json(
        archive::hand_over(&st.store, &auth.actor, id, st.now()).await?,
    ))
}
