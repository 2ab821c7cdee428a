//! Signing a step of the outgoing-document flow with the signer's remote key over the CSC API
//! (issue 17 item 3), in one place for the web UI and the REST API.
//!
//! [`sign`] checks the step's own rules first (role, state: no CSC call for a step the person
//! may not take), reads the registry's certificates for the role and the latest version, has
//! `kyso_services::remote_sign::sign_step` sign it with a credential whose certificate is one
//! of them (off the async threads), and passes the signed file through
//! [`crate::documents::take_step`] — the same upload check and store step as a file signed
//! elsewhere and uploaded. The CSC account, password and PIN arrive in the request body only,
//! are held as `kyso_keys::Secret` (zeroized on drop) and are never stored or logged.

use axum::http::StatusCode;
use kyso_domain::documents::DocAction;
use kyso_keys::Secret;
use kyso_pades::numbering::FlowSignature;
use kyso_services::remote_sign::{self, Login, Offered, RemoteSignError};
use kyso_store::blobs::Blobs;
use kyso_store::documents as docs;
use kyso_store::Actor;

use crate::documents::StepDone;
use crate::ApiError;

/// What the person typed (from the request body; never stored). `Debug` shows the secrets as
/// `Secret(***)`.
#[derive(Debug)]
pub struct RemoteSignInput {
    /// The account name at the CSC service.
    pub csc_user: String,
    pub csc_password: Secret,
    /// The credential chosen (`credentialID`); `None`: the only one the registry matches.
    pub credential: Option<String>,
    pub pin: Secret,
}

/// What [`sign`] did.
#[derive(Debug)]
pub enum RemoteSigned {
    /// Signed, checked and stored as the step.
    Done(StepDone),
    /// Several of the person's credentials carry a registry certificate: nothing was signed;
    /// the person chooses one.
    Choose(Vec<Offered>),
}

fn refused(status: StatusCode, field: &'static str, e: &RemoteSignError) -> ApiError {
    let u = e.user_error();
    ApiError::new(status, "invalid", Some(field), u.vi, u.en)
}

fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        None,
        "Lỗi máy chủ; văn bản chưa được ký.",
        "Server error; the document was not signed.",
    )
}

/// Remote signing is not configured on this server.
pub(crate) fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
        "Máy chủ này chưa cấu hình ký số từ xa (CSC).",
        "Remote signing (CSC) is not configured on this server.",
    )
}

/// A refusal of the remote signature as an API error (the field at fault, 422; 502 when the
/// service or the signing failed).
pub(crate) fn remote_error(e: RemoteSignError) -> Result<RemoteSigned, ApiError> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    Err(match &e {
        RemoteSignError::Choose(list) => return Ok(RemoteSigned::Choose(list.clone())),
        RemoteSignError::Input(field) => refused(unprocessable, field, &e),
        RemoteSignError::Login => refused(unprocessable, "csc_password", &e),
        RemoteSignError::WrongPin => refused(unprocessable, "pin", &e),
        RemoteSignError::NoMatchingCredential | RemoteSignError::NotRegistryCredential => {
            refused(unprocessable, "credential", &e)
        }
        RemoteSignError::Failed(_) => {
            let u = e.user_error();
            tracing::warn!(error = %u.en, "remote signature not made");
            ApiError::new(StatusCode::BAD_GATEWAY, "remote_sign", None, u.vi, u.en)
        }
    })
}

/// The signature the step adds, and the registry's role for it.
async fn step_of(
    st: &crate::AppState,
    actor: &Actor,
    id: i64,
    action: DocAction,
) -> Result<(docs::SigningRole, FlowSignature), ApiError> {
    match action {
        DocAction::SignPersonal => Ok((docs::SigningRole::Personal, FlowSignature::Personal)),
        DocAction::OrgSign => {
            let doc = docs::get_document(&st.store, actor, id).await?.document;
            let date = doc.issued_date.as_deref().and_then(|d| {
                time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
            });
            match (doc.number_and_notation(), date) {
                (Some(number), Some(date)) => Ok((
                    docs::SigningRole::Organization,
                    FlowSignature::Seal { number, date },
                )),
                _ => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    Some("action"),
                    "Văn bản chưa được cấp số và ngày; chưa ký số cơ quan được.",
                    "The document has no number and date yet; it cannot be sealed.",
                )),
            }
        }
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("action"),
            "Chỉ ký số cá nhân hoặc ký số cơ quan dùng được chữ ký số từ xa.",
            "Only the personal signature and the organization signature use a remote key.",
        )),
    }
}

/// The registry's certificates for `role` on document `id` (refused when there is none).
async fn registry_certificates(
    st: &crate::AppState,
    actor: &Actor,
    id: i64,
    role: docs::SigningRole,
) -> Result<Vec<kyso_x509::Cert>, ApiError> {
    let ders = docs::signing_certificates(&st.store, actor, id, role, st.now()).await?;
    let certs: Vec<kyso_x509::Cert> = ders
        .iter()
        .filter_map(|d| kyso_x509::Cert::from_der(d).ok())
        .collect();
    if certs.is_empty() {
        return Err(crate::documents::no_certificate(role));
    }
    Ok(certs)
}

/// The person's credentials at the CSC service that carry a registry certificate for the step
/// `action` on document `id` (to choose from); logs in with the account and password only.
pub async fn credentials(
    st: &crate::AppState,
    actor: &Actor,
    id: i64,
    action: DocAction,
    csc_user: String,
    csc_password: Secret,
) -> Result<Vec<Offered>, ApiError> {
    docs::may_act(&st.store, actor, id, action).await?;
    let Some(config) = st.remote_signing.clone() else {
        return Err(not_configured());
    };
    let (role, _) = step_of(st, actor, id, action).await?;
    let registry = registry_certificates(st, actor, id, role).await?;
    let login = Login {
        user: csc_user,
        password: csc_password,
    };
    let listed = tokio::task::spawn_blocking(move || {
        remote_sign::offered_credentials(&config, login, &registry)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "remote credential listing task failed");
        internal()
    })?;
    match listed {
        Ok(list) => Ok(list),
        Err(e) => match remote_error(e)? {
            RemoteSigned::Choose(list) => Ok(list),
            RemoteSigned::Done(_) => Err(internal()),
        },
    }
}

/// Sign step `action` of document `id` with the person's remote key and take the step
/// (see the module documentation).
pub async fn sign(
    st: &crate::AppState,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    action: DocAction,
    input: RemoteSignInput,
) -> Result<RemoteSigned, ApiError> {
    // The step's own rules first: no call to the CSC service for a step not the person's.
    docs::may_act(&st.store, actor, id, action).await?;
    let Some(config) = st.remote_signing.clone() else {
        return Err(not_configured());
    };
    let (role, step) = step_of(st, actor, id, action).await?;
    let registry = registry_certificates(st, actor, id, role).await?;
    let latest = crate::documents::latest_version(&st.store, blobs, actor, id).await?;
    let now = st.now();
    let request = remote_sign::Request {
        login: Login {
            user: input.csc_user,
            password: input.csc_password,
        },
        credential: input.credential.filter(|c| !c.trim().is_empty()),
        pin: input.pin,
    };
    let signed = tokio::task::spawn_blocking(move || {
        remote_sign::sign_step(&config, request, &registry, latest, &step, now)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "remote signing task failed");
        internal()
    })?;
    let signed = match signed {
        Ok(bytes) => bytes,
        Err(e) => return remote_error(e),
    };
    let file_name = match action {
        DocAction::OrgSign => "ky-so-co-quan.pdf",
        _ => "ky-so-ca-nhan.pdf",
    };
    let step = docs::StepInput {
        file: Some(signed),
        file_name: file_name.into(),
        ..Default::default()
    };
    let done = crate::documents::take_step(st, blobs, actor, id, action, step).await?;
    Ok(RemoteSigned::Done(done))
}
