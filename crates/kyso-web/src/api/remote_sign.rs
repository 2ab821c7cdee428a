//! `POST /api/v1/documents/{id}/remote-sign` (issue 17 item 3): a flow step signed with the
//! signer's remote key over the server's CSC service — `crate::remote_sign::sign`, the one
//! implementation the web UI's form calls too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kyso_domain::documents::DocAction;
use kyso_store::documents as docs;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::documents::ActionOutcome;
use super::{ApiResult, Id};
use crate::auth::{Auth, Body};
use crate::{ApiError, AppState};

/// A flow step signed with the signer's remote key over the CSC API.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoteSignRequest {
    /// `sign_personal` or `org_sign`.
    pub action: String,
    /// The account at the CSC service.
    pub csc_user: String,
    /// Its password (used for this request only; never stored or logged).
    pub csc_password: String,
    /// The credential (`credentialID`); leave it out when only one of the account's credentials
    /// carries a certificate the registry holds for the step.
    #[serde(default)]
    pub credential: Option<String>,
    /// The credential's PIN (used for this request only; never stored or logged).
    pub pin: String,
}

/// No `Debug` with the secrets.
impl std::fmt::Debug for RemoteSignRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSignRequest")
            .field("action", &self.action)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// A credential of the account that carries a registry certificate for the step.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RemoteCredential {
    /// The `credentialID` to send back.
    pub id: String,
    /// The certificate holder's name.
    pub name: String,
    pub serial: String,
    /// The certificate's last day, `dd/mm/yyyy`.
    pub not_after: String,
}

/// What a remote signature did: the step's outcome, or (nothing signed) the credentials to
/// choose from when several match.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RemoteSignOutcome {
    /// The step taken (absent when a credential must be chosen).
    pub outcome: Option<ActionOutcome>,
    /// Several credentials match: send one of these ids as `credential`.
    pub choose: Vec<RemoteCredential>,
}

/// Sign `sign_personal` or `org_sign` with the signer's remote key over the server's CSC
/// service (configured with `--csc-url`; 404 otherwise) and take the step: the server logs in
/// with the account, uses the credential whose certificate is the registry's for the step
/// (422 `credential` when the one named is not), prepares the document as every signing face
/// does (the number and date filled for the seal), signs with the PIN (422 `pin` when wrong)
/// and passes the file through the same upload check as `/actions`. The password and PIN are
/// never stored or logged.
#[utoipa::path(post, path = "/api/v1/documents/{id}/remote-sign", tag = "documents", params(Id),
    request_body = RemoteSignRequest,
    responses((status = 200, description = "The step taken, or the credentials to choose from",
        body = RemoteSignOutcome)))]
pub(crate) async fn remote_sign(
    State(st): State<AppState>,
    auth: Auth,
    Id(id): Id,
    Body(input): Body<RemoteSignRequest>,
) -> ApiResult<Json<RemoteSignOutcome>> {
    let RemoteSignRequest {
        action,
        csc_user,
        csc_password,
        credential,
        pin,
    } = input;
    let csc_password = kyso_keys::Secret::new(csc_password);
    let pin = kyso_keys::Secret::new(pin);
    let action = match DocAction::parse(&action) {
        Ok(a @ (DocAction::SignPersonal | DocAction::OrgSign)) => a,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("action"),
                "Thao tác phải là sign_personal hoặc org_sign.",
                "The action must be sign_personal or org_sign.",
            ))
        }
    };
    let blobs = st.blobs.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            None,
            "Máy chủ chưa có thư mục lưu tệp; báo quản trị.",
            "The server has no file folder configured; tell the administrator.",
        )
    })?;
    let input = crate::remote_sign::RemoteSignInput {
        csc_user: csc_user.trim().to_owned(),
        csc_password,
        credential,
        pin,
    };
    match crate::remote_sign::sign(&st, &blobs, &auth.actor, id, action, input).await? {
        crate::remote_sign::RemoteSigned::Choose(list) => Ok(Json(RemoteSignOutcome {
            outcome: None,
            choose: list
                .into_iter()
                .map(|c| RemoteCredential {
                    id: c.id,
                    name: c.name,
                    serial: c.serial,
                    not_after: c.not_after,
                })
                .collect(),
        })),
        crate::remote_sign::RemoteSigned::Done(done) => {
            let out = done.outcome;
            let document = docs::get_document(&st.store, &auth.actor, id)
                .await?
                .document;
            Ok(Json(RemoteSignOutcome {
                outcome: Some(ActionOutcome {
                    number: out.number,
                    number_and_notation: out.number_and_notation,
                    version: out.version,
                    deliveries: out.deliveries,
                    warnings: done.warnings,
                    document: document.into(),
                }),
                choose: Vec::new(),
            }))
        }
    }
}
