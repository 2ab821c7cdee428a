//! Signing a step of the outgoing-document flow with the signer's remote key over the CSC API
//! (issue 17 item 3: "a remote key over the CSC API, PIN asked on the page, never stored").
//!
//! The server holds no key and no secret: the user's CSC account name, password and PIN come
//! with one request, live in [`Secret`]s (zeroized on drop), go to the CSC service only in
//! request bodies and the `Authorization` header (`kyso_keys::CscClient`), and are never part
//! of an error or a log line. One call ([`sign_step`]) logs in, lists the user's credentials,
//! keeps those whose certificate is one the registry holds for the person taking the step,
//! prepares the document exactly as every signing face does
//! ([`kyso_pades::numbering::prepare`]), signs at the configured PAdES level, and logs out.
//! The caller passes the result through the same upload check as any signed upload.
//!
//! Blocking (HTTP to the CSC service, signing): call it off the async threads.

use std::sync::Arc;
use std::time::Duration;

use kyso_i18n::{catalogue, ue, UserError};
use kyso_keys::{CscAuth, CscClient, CscCredential, CscOptions, Secret};
use kyso_pades::numbering::{self, FlowSignature};
use kyso_pades::{SignOptions, Updated};
use kyso_pdf::{Limits, MemSource};
use kyso_x509::Cert;
use time::OffsetDateTime;

use crate::agent::SigningLevel;

/// Longest CSC account name or credential id accepted from a form.
pub const MAX_NAME: usize = 256;
/// Longest password or PIN accepted from a form.
pub const MAX_SECRET: usize = 256;

/// The server's remote signing service: where it is and how signatures are made.
#[derive(Clone)]
pub struct RemoteSigning {
    /// The CSC service's base URL (the part before `/csc/v2/…`); `https://`, or `http://` to
    /// this machine only (the client refuses anything else).
    pub url: String,
    /// The PAdES level of the signatures, with its TSA and fetcher.
    pub level: SigningLevel,
    /// Timeout of each request to the service.
    pub timeout: Duration,
    /// Trust anchors (DER) of an `https://` service with a private CA (empty: the Mozilla
    /// roots).
    pub tls_roots: Vec<Vec<u8>>,
}

impl std::fmt::Debug for RemoteSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSigning")
            .field("url", &self.url)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// The user's sign-in at the CSC service (from the form; never stored). `Debug` shows the
/// password as `Secret(***)`.
#[derive(Debug)]
pub struct Login {
    pub user: String,
    pub password: Secret,
}

/// What one remote signature needs from the request.
#[derive(Debug)]
pub struct Request {
    pub login: Login,
    /// The credential chosen; `None`: the only one matching the registry.
    pub credential: Option<String>,
    pub pin: Secret,
}

/// A credential offered to the user: one whose certificate the registry holds for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The `credentialID`.
    pub id: String,
    /// The certificate holder's name (its common name; the service's description without one).
    pub name: String,
    /// The certificate's serial number, hex.
    pub serial: String,
    /// `dd/mm/yyyy`: the certificate's last day.
    pub not_after: String,
}

/// Why a remote signature was not made.
#[derive(Debug)]
pub enum RemoteSignError {
    /// A field is missing or too long (the field's name).
    Input(&'static str),
    /// The CSC service refused the account name or password.
    Login,
    /// The credential's PIN is wrong.
    WrongPin,
    /// None of the user's credentials carries a certificate the registry holds for them.
    NoMatchingCredential,
    /// The chosen credential is not one of the user's whose certificate the registry holds
    /// for them.
    NotRegistryCredential,
    /// Several credentials match: the user chooses one.
    Choose(Vec<Offered>),
    /// The service or the signing failed (its message for the user).
    Failed(UserError),
}

impl RemoteSignError {
    /// The message for the user (Vietnamese and English).
    pub fn user_error(&self) -> UserError {
        match self {
            RemoteSignError::Input(field) => {
                ue!("thiếu hoặc quá dài: {}", field; "missing or too long: {}", field)
            }
            RemoteSignError::Login => {
                ue!("dịch vụ ký số từ xa không nhận tên đăng nhập hoặc mật khẩu; văn bản chưa được ký"; "the remote signing service refused the account name or password; the document was not signed")
            }
            RemoteSignError::WrongPin => {
                ue!("sai mã PIN của chữ ký số từ xa; văn bản chưa được ký (nhập sai nhiều lần, khóa bị tạm khóa)"; "wrong PIN for the remote key; the document was not signed (too many wrong PINs block the key for a while)")
            }
            RemoteSignError::NoMatchingCredential => {
                ue!("tài khoản ký số từ xa không có khóa nào mang chứng thư số mà sổ đăng ký ghi cho người ký bước này"; "the remote signing account holds no key whose certificate the registry records for the person signing this step")
            }
            RemoteSignError::NotRegistryCredential => {
                ue!("khóa đã chọn không mang chứng thư số mà sổ đăng ký ghi cho người ký bước này; văn bản chưa được ký"; "the chosen key does not carry a certificate the registry records for the person signing this step; the document was not signed")
            }
            RemoteSignError::Choose(_) => {
                ue!("tài khoản có nhiều khóa phù hợp; hãy chọn một khóa"; "the account holds several matching keys; choose one")
            }
            RemoteSignError::Failed(e) => e.clone(),
        }
    }
}

fn checked(s: &str, max: usize, field: &'static str) -> Result<(), RemoteSignError> {
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(RemoteSignError::Input(field));
    }
    Ok(())
}

/// A CSC client error as [`RemoteSignError`]: the login and PIN refusals by name.
fn csc_error(e: &kyso_keys::Error) -> RemoteSignError {
    match e {
        kyso_keys::Error::Refused { method, .. } if method == "auth/login" => {
            RemoteSignError::Login
        }
        kyso_keys::Error::Refused {
            method,
            error,
            description,
            ..
        } if method == "credentials/authorize"
            && (error == "invalid_pin"
                || description.to_ascii_lowercase().contains("invalid pin")
                || description.contains("PIN is invalid")) =>
        {
            RemoteSignError::WrongPin
        }
        other => RemoteSignError::Failed(catalogue::keys(other)),
    }
}

/// A signing error: the CSC service's refusal inside it by name, else the catalogue's text.
fn signing_error(e: &kyso_pades::Error) -> RemoteSignError {
    if let kyso_pades::Error::Cms(kyso_cms::Error::Signer(f)) = e {
        if let Some(k) = f.downcast_ref::<kyso_keys::Error>() {
            return csc_error(k);
        }
    }
    RemoteSignError::Failed(catalogue::pades(e))
}

fn ddmmyyyy(t: OffsetDateTime) -> String {
    format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year())
}

fn offered(c: &CscCredential) -> Offered {
    Offered {
        id: c.id.clone(),
        name: c
            .cert
            .common_name()
            .or_else(|| c.description.clone())
            .unwrap_or_else(|| c.id.clone()),
        serial: c.cert.serial_hex(),
        not_after: ddmmyyyy(c.cert.not_after()),
    }
}

fn connect(config: &RemoteSigning, req: Request) -> Result<CscClient, RemoteSignError> {
    checked(&req.login.user, MAX_NAME, "csc_user")?;
    checked(req.login.password.expose(), MAX_SECRET, "csc_password")?;
    if let Some(c) = &req.credential {
        checked(c, MAX_NAME, "credential")?;
    }
    CscClient::connect(CscOptions {
        url: config.url.clone(),
        credential: None,
        auth: CscAuth::Basic {
            user: req.login.user,
            password: req.login.password,
        },
        pin: Some(req.pin),
        pss: false,
        timeout: config.timeout,
        tls_roots: config.tls_roots.clone(),
    })
    .map_err(|e| csc_error(&e))
}

/// The user's credentials whose certificate is one of `registry` (byte for byte, as the
/// upload check compares).
fn matching(client: &CscClient, registry: &[Cert]) -> Result<Vec<CscCredential>, RemoteSignError> {
    let all = client.credentials().map_err(|e| csc_error(&e))?;
    Ok(all
        .into_iter()
        .filter(|c| registry.iter().any(|r| r.der() == c.cert.der()))
        .collect())
}

/// The user's credentials whose certificate the registry holds for them (`registry`), for the
/// user to choose from: logs in with `login`, lists, logs out.
pub fn offered_credentials(
    config: &RemoteSigning,
    login: Login,
    registry: &[Cert],
) -> Result<Vec<Offered>, RemoteSignError> {
    let client = connect(
        config,
        Request {
            login,
            credential: None,
            pin: Secret::from(""),
        },
    )?;
    Ok(matching(&client, registry)?.iter().map(offered).collect())
}

/// Sign `latest` (the document's latest version) for `step` with the user's remote key whose
/// certificate is one of `registry`: the signed file, to be checked and stored by the flow.
/// Nothing is signed unless the credential's certificate is the registry's; the PIN is sent
/// only with the hash to sign (`credentials/authorize`).
pub fn sign_step(
    config: &RemoteSigning,
    req: Request,
    registry: &[Cert],
    latest: Vec<u8>,
    step: &FlowSignature,
    now: OffsetDateTime,
) -> Result<Vec<u8>, RemoteSignError> {
    checked(req.pin.expose(), MAX_SECRET, "pin")?;
    let wanted = req.credential.clone();
    let client = connect(config, req)?;
    let candidates = matching(&client, registry)?;
    let chosen = match (&wanted, candidates.as_slice()) {
        (Some(id), list) => list
            .iter()
            .find(|c| &c.id == id)
            .ok_or(RemoteSignError::NotRegistryCredential)?,
        (None, []) => return Err(RemoteSignError::NoMatchingCredential),
        (None, [one]) => one,
        (None, many) => return Err(RemoteSignError::Choose(many.iter().map(offered).collect())),
    };
    let id = chosen.id.clone();
    let signer = client.signer(&id).map_err(|e| csc_error(&e))?;
    // The certificate `credentials/info` gave for signing must still be the registry's.
    if !registry
        .iter()
        .any(|r| r.der() == kyso_cms::Signer::certificate(&signer).der())
    {
        return Err(RemoteSignError::NotRegistryCredential);
    }
    let base = Updated::from_source(Arc::new(MemSource::new(latest)));
    let mut opts = SignOptions::new(now);
    opts.timestamper = config.level.tsa.clone();
    let (input, opts) = numbering::prepare(&base, step, opts, Limits::default())
        .map_err(|e| RemoteSignError::Failed(catalogue::pades(&e)))?;
    sign_at_level(config, signer, &id, input, &opts, None, now)
}

/// Sign `input` with `signer` at the configured level, `widget` placing a visible form: the
/// signed file's bytes.
fn sign_at_level(
    config: &RemoteSigning,
    signer: kyso_keys::CscSigner,
    credential: &str,
    input: Updated,
    opts: &SignOptions,
    widget: Option<Box<kyso_pades::WidgetBuilder<'static>>>,
    now: OffsetDateTime,
) -> Result<Vec<u8>, RemoteSignError> {
    let signed = kyso_pades::ltv::sign_updated_at_level(
        input,
        config.level.level,
        opts,
        &signer,
        widget,
        config.level.fetcher.as_deref(),
        now,
    )
    .map_err(|e| signing_error(&e))?;
    drop(signer);
    tracing::info!(credential = %credential, level = %config.level.level, "remote signature made over the CSC API");
    signed
        .to_vec()
        .map_err(|e| RemoteSignError::Failed(catalogue::pades(&e)))
}

/// The visible form of a signature, built once the signer's certificate is known: `None` for
/// an invisible one.
pub type FormFor<'a> = dyn FnOnce(&Cert) -> Result<Option<Box<kyso_pades::WidgetBuilder<'static>>>, UserError>
    + Send
    + 'a;

/// Sign `pdf` as it is with the credential the request names (the signing service's one call,
/// issue 18 item 7: an integrator's own remote key, no flow step, so no registry match and no
/// number or date filled): `opts` as the caller set them (reason, location, …; the level's
/// TSA is added here), `form` placing the visible signature once the certificate is known.
pub fn sign_document(
    config: &RemoteSigning,
    req: Request,
    pdf: Vec<u8>,
    mut opts: SignOptions,
    form: Box<FormFor<'_>>,
    now: OffsetDateTime,
) -> Result<Vec<u8>, RemoteSignError> {
    checked(req.pin.expose(), MAX_SECRET, "pin")?;
    let id = req
        .credential
        .clone()
        .ok_or(RemoteSignError::Input("credential"))?;
    let client = connect(config, req)?;
    let signer = client.signer(&id).map_err(|e| csc_error(&e))?;
    let widget = form(kyso_cms::Signer::certificate(&signer)).map_err(RemoteSignError::Failed)?;
    opts.timestamper = config.level.tsa.clone();
    let input = Updated::from_source(Arc::new(MemSource::new(pdf)));
    sign_at_level(config, signer, &id, input, &opts, widget, now)
}
