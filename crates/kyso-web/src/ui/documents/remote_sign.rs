//! Signing a document's step with the signer's remote key over the CSC API (issue 17 item 3):
//! the form on the document page's signing section ([`form`], only when the server has a CSC
//! service configured), and its handler ([`remote_sign_submit`]) calling
//! [`crate::remote_sign::sign`] — the same upload check and step as an uploaded signed file.
//! The account, password and PIN come in the POST body only; they are never put back into a
//! page, stored or logged. When several of the person's keys carry a registry certificate, the
//! page lists them by name and asks for the password and PIN again.

use kyso_keys::Secret;
use kyso_services::remote_sign::Offered;

use super::*;
use crate::remote_sign::{RemoteSignInput, RemoteSigned};

/// The remote signing form of step `action` on document `id`; nothing when the server has no
/// CSC service configured.
pub(in crate::ui) fn form(st: &AppState, p: &Page, id: i64, action: DocAction) -> Markup {
    if st.remote_signing.is_none() {
        return html! {};
    }
    fields(p, id, action, "", &[], None, false)
}

/// The form's fields: the account (kept from the last try), the password and PIN (always
/// empty), and the keys to choose from when several match.
fn fields(
    p: &Page,
    id: i64,
    action: DocAction,
    user: &str,
    choices: &[Offered],
    error_field: Option<&str>,
    own_page: bool,
) -> Markup {
    let a = action.as_str();
    let heading = p.t(
        "Ký bằng chữ ký số từ xa (CSC)",
        "Sign with a remote key (CSC)",
    );
    let fid = |k: &str| format!("csc-{k}-{a}");
    let invalid = |k: &str| error_field == Some(k);
    html! {
        form.remote-sign method="post" action={ "/documents/" (id) "/remote-sign" } autocomplete="off"
            aria-labelledby=(fid("title")) style="margin-top:12px;border-top:1px solid #d0d7de;padding-top:8px" {
            // A section of the document page's signing step (h3), or its own page's form (h1).
            @if own_page {
                h2 style="font-size:16px;margin:4px 0" id=(fid("title")) { (heading) }
            } @else {
                h4 style="font-size:15px;margin:4px 0" id=(fid("title")) { (heading) }
            }
            p.hint { (p.t(
                "Nhập tài khoản của dịch vụ ký số từ xa và mã PIN của khóa ký. Máy chủ chỉ dùng chúng cho lần ký này, không lưu lại. Chỉ khóa mang chứng thư số đã đăng ký cho bạn mới được dùng.",
                "Enter your remote signing account and your key's PIN. The server uses them for this signature only and keeps none of them. Only a key carrying a certificate registered for you is used.")) }
            input type="hidden" name="csrf" value=(p.csrf);
            input type="hidden" name="action" value=(a);
            div.field {
                label for=(fid("user")) { (p.t("Tài khoản ký số từ xa", "Remote signing account")) " *" }
                input id=(fid("user")) name="csc_user" type="text" required maxlength="256" value=(user)
                    aria-invalid=[invalid("csc_user").then_some("true")];
            }
            div.field {
                label for=(fid("password")) { (p.t("Mật khẩu", "Password")) " *" }
                input id=(fid("password")) name="csc_password" type="password" required maxlength="256" autocomplete="off"
                    aria-invalid=[invalid("csc_password").then_some("true")];
            }
            @if !choices.is_empty() {
                fieldset.field aria-invalid=[invalid("credential").then_some("true")] {
                    legend { (p.t("Khóa ký", "Signing key")) " *" }
                    @for (i, c) in choices.iter().enumerate() {
                        @let cid = format!("{}-{i}", fid("cred"));
                        div {
                            input type="radio" id=(cid) name="credential" value=(c.id) required checked[i == 0];
                            " "
                            label for=(cid) {
                                strong { (c.name) } " — " (p.t("số sê-ri ", "serial ")) (c.serial)
                                ", " (p.t("hiệu lực đến ", "valid until ")) (c.not_after)
                            }
                        }
                    }
                }
            }
            div.field {
                label for=(fid("pin")) { (p.t("Mã PIN của khóa ký", "The key's PIN")) " *" }
                input id=(fid("pin")) name="pin" type="password" required maxlength="256" autocomplete="off" inputmode="text"
                    aria-invalid=[invalid("pin").then_some("true")];
            }
            button.primary type="submit" { (p.t("Ký số từ xa", "Sign remotely")) }
        }
    }
}

#[derive(Deserialize)]
pub(in crate::ui) struct RemoteSignForm {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    csc_user: String,
    #[serde(default)]
    csc_password: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    pin: String,
}

/// A page answering the remote signing form: the refusal (or the choice to make) and the form
/// again.
fn again(
    p: &Page,
    id: i64,
    action: DocAction,
    user: &str,
    choices: &[Offered],
    error: Option<&crate::ApiError>,
) -> Response {
    let title = p.t(
        "Ký bằng chữ ký số từ xa (CSC)",
        "Sign with a remote key (CSC)",
    );
    let message = error.map(|e| e.message(p.lang));
    let res = layout(
        p,
        title,
        html! {
            p { a href={ "/documents/" (id) } { (p.t("← Về văn bản", "← Back to the document")) } }
            h1 { (title) ": " (action_label(p, action)) }
            (alert_error(message))
            @if !choices.is_empty() && message.is_none() {
                div.alert role="status" { (p.t(
                    "Tài khoản của bạn có nhiều khóa mang chứng thư số đã đăng ký. Hãy chọn một khóa, nhập lại mật khẩu và mã PIN.",
                    "Your account holds several keys carrying a registered certificate. Choose one and enter the password and PIN again.")) }
            }
            (fields(p, id, action, user, choices, error.and_then(|e| e.field), true))
        },
    );
    with_status(res, error.map_or(StatusCode::OK, |e| e.status))
}

/// Sign a step with the remote key and take it (see the module documentation).
pub(in crate::ui) async fn remote_sign_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<RemoteSignForm>,
) -> Response {
    // The secrets into zeroizing holders at once.
    let RemoteSignForm {
        csrf,
        action,
        csc_user,
        csc_password,
        credential,
        pin,
    } = f;
    let csc_password = Secret::new(csc_password);
    let pin = Secret::new(pin);
    if let Some(r) = p.csrf_refusal(&csrf) {
        return r;
    }
    if st.remote_signing.is_none() {
        let e = crate::remote_sign::not_configured();
        return layout_error(&p, e.status, e.message(p.lang));
    }
    if let Err(e) = docs::get_document(&st.store, &p.actor, id).await {
        return refusal(&p, e);
    }
    let action = match DocAction::parse(&action) {
        Ok(a @ (DocAction::SignPersonal | DocAction::OrgSign)) => a,
        _ => {
            return layout_error(
                &p,
                StatusCode::UNPROCESSABLE_ENTITY,
                p.t("Thao tác không hợp lệ.", "Unknown action."),
            )
        }
    };
    let Some(blobs) = blobs(&st) else {
        return no_blobs(&p);
    };
    let user = csc_user.trim().to_owned();
    let input = RemoteSignInput {
        csc_user: user.clone(),
        csc_password,
        credential: Some(credential.trim().to_owned()).filter(|c| !c.is_empty()),
        pin,
    };
    match crate::remote_sign::sign(&st, &blobs, &p.actor, id, action, input).await {
        Ok(RemoteSigned::Done(_)) => {
            Redirect::to(&format!("/documents/{id}?done={}", action.as_str())).into_response()
        }
        Ok(RemoteSigned::Choose(list)) => again(&p, id, action, &user, &list, None),
        Err(e) if matches!(e.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) => {
            layout_error(&p, e.status, e.message(p.lang))
        }
        Err(e) => again(&p, id, action, &user, &[], Some(&e)),
    }
}
