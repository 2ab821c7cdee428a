//! Status messages the server could not send to senders outside kyso (issue 18 review): the
//! clerk's list "Thư báo không gửi được" (`/incoming/undelivered`) and the section of an
//! incoming document's page — each message given up (refused for good by the mail server,
//! retried for three days in vain, or no mail server configured), still failing, or with no
//! address known — with the reason, and the two ways out: send it again (the address may be
//! corrected) or mark it handled after telling the sender another way (asked for confirmation
//! first). Both are `kyso_store::incoming::{resend_status_message, handle_status_message}`,
//! which check the clerk's scope again; the clerks are told in their inbox when one is given up
//! (`kyso_store::incoming::give_up_stale_status_emails`, the notice job).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kyso_domain::roles::Permission;
use kyso_store::incoming::{self as inc, UndeliveredMessage};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout_store_error as refusal;
use super::{alert_error, form_status, layout, layout_error, time_text, Page};
use crate::api::Id;
use crate::{ApiError, AppState};

/// Where a form of this page returns: the list, or the incoming document's page.
fn back_to(back: &str, incoming_id: i64) -> String {
    if back == "incoming" {
        format!("/incoming/{incoming_id}")
    } else {
        "/incoming/undelivered".to_owned()
    }
}

/// The success message of `?done=` after a resend or a manual settlement.
pub(super) fn done_message(p: &Page, done: &str) -> Option<String> {
    Some(match done {
        "status_resend" => p
            .t(
                "Đã đặt lại việc gửi thư báo; máy chủ sẽ gửi trong lượt gửi thư tiếp theo (khoảng một phút).",
                "The status message will be sent again at the server's next mail round (about a minute).",
            )
            .to_owned(),
        "status_handled" => p
            .t(
                "Đã ghi nhận thư báo được xử lý thủ công; máy chủ không gửi thư này nữa.",
                "The status message is recorded as handled by hand; the server will not send it.",
            )
            .to_owned(),
        _ => return None,
    })
}

/// What the message's state is, in the reader's words.
fn state_text(p: &Page, m: &UndeliveredMessage) -> String {
    if m.message.via == "manual" {
        p.t(
            "Không có địa chỉ thư điện tử hay mã định danh của nơi gửi",
            "No e-mail address or identifier of the sender is known",
        )
        .to_owned()
    } else if m.given_up {
        let at = m.given_up_at.map(time_text).unwrap_or_default();
        format!("{} {at}", p.t("Đã ngừng gửi lại từ", "Given up since"))
    } else if m.next_attempt_at == 0 {
        p.t(
            "Sẽ gửi ở lượt gửi thư tiếp theo",
            "To be sent at the next mail round",
        )
        .to_owned()
    } else {
        format!(
            "{} {} ({} {})",
            p.t("Đang thử gửi lại, lần sau lúc", "Being retried, next at"),
            time_text(m.next_attempt_at),
            m.message.attempts,
            p.t("lần đã thử", "attempts so far")
        )
    }
}

/// The two forms of message `m` (`back`: where they return).
fn actions(p: &Page, m: &UndeliveredMessage, back: &str) -> Markup {
    let id = m.message.id;
    let address = if m.message.via == "email" {
        m.message.recipient.as_str()
    } else {
        ""
    };
    html! {
        div style="display:flex;gap:16px;flex-wrap:wrap;align-items:flex-end" {
            form method="post" action={ "/incoming/undelivered/" (id) "/resend" } style="max-width:360px" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="back" value=(back);
                div.field {
                    label for={ "recipient-" (id) } { (p.t("Địa chỉ thư điện tử của nơi gửi", "The sender's e-mail address")) }
                    input id={ "recipient-" (id) } type="email" name="recipient" value=(address) required maxlength="254" style="width:100%";
                }
                button.primary type="submit" { (p.t("Gửi lại", "Send again")) }
            }
            form method="post" action={ "/incoming/undelivered/" (id) "/handled" } style="max-width:360px" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="back" value=(back);
                div.field {
                    label for={ "handled-note-" (id) } { (p.t("Đã báo cho nơi gửi bằng cách khác (ghi cách báo)", "Told the sender another way (say how)")) }
                    input id={ "handled-note-" (id) } type="text" name="note" maxlength="500" style="width:100%";
                }
                button type="submit" { (p.t("Đánh dấu đã xử lý", "Mark as handled")) }
            }
        }
    }
}

/// One message as a card: what it says, to whom, why it did not go, and its forms.
fn card(p: &Page, m: &UndeliveredMessage, back: &str, with_document: bool) -> Markup {
    let msg = &m.message;
    let code = msg
        .status_code
        .trim()
        .parse::<u8>()
        .ok()
        .and_then(kyso_edxml::StatusCode::from_number);
    let label = match code {
        Some(c) => p.t(c.label_vi(), c.label_en()).to_owned(),
        None => msg.status_code.clone(),
    };
    let number = match msg.number_and_notation() {
        n if n.is_empty() => p.t("(không ghi số)", "(no number)").to_owned(),
        n => n,
    };
    html! {
        article.undelivered-status id={ "status-message-" (msg.id) } style="border:1px solid var(--line);border-radius:4px;padding:8px 12px;margin-bottom:12px;background:#fff" {
            p style="margin:0 0 4px" {
                strong { (p.t("Thư báo", "Status message")) " " (label) " (" (p.t("mã", "code")) " " (msg.status_code) ")" }
                " — " (p.t("gửi", "to")) " " (if msg.recipient.is_empty() { "—" } else { msg.recipient.as_str() })
            }
            @if with_document {
                p style="margin:0 0 4px" {
                    (p.t("Văn bản đến", "Incoming document")) ": "
                    a href={ "/incoming/" (msg.incoming_id) } { (number) " — " (msg.subject) }
                    " (" (msg.sender_name) ")"
                }
            }
            @if !msg.description.is_empty() {
                p style="margin:0 0 4px" { (p.t("Nội dung (lý do)", "What it says (reason)")) ": " (msg.description) }
            }
            p style="margin:0 0 4px" { (p.t("Tình trạng", "State")) ": " (state_text(p, m)) }
            @if !msg.last_error.is_empty() {
                p.undelivered-reason style="margin:0 0 8px;color:var(--bad)" { (p.t("Lý do không gửi được", "Why it could not be sent")) ": " (msg.last_error) }
            }
            (actions(p, m, back))
        }
    }
}

/// The section of incoming document `incoming_id`'s page: its status messages not sent, for
/// who takes documents in there (nothing for anyone else, nothing when all went).
pub(super) async fn section(st: &AppState, p: &Page, incoming_id: i64) -> Markup {
    if !p.can(Permission::IssueDocument) {
        return html! {};
    }
    let list = match inc::undelivered_status_messages(
        &st.store,
        &p.actor,
        &inc::UndeliveredQuery {
            incoming_id: Some(incoming_id),
            ..Default::default()
        },
    )
    .await
    {
        Ok(l) => l,
        Err(e) => {
            tracing::debug!(error = %e, incoming_id, "undelivered status messages not shown");
            Vec::new()
        }
    };
    if list.is_empty() {
        return html! {};
    }
    html! {
        section #status-messages aria-labelledby="status-messages-h" style="max-width:820px" {
            h2 #status-messages-h style="font-size:18px" { (p.t("Thư báo không gửi được", "Status messages not sent")) }
            div.alert.error role="note" { (p.t(
                "Nơi gửi chưa nhận được thư báo dưới đây. Hãy gửi lại (có thể sửa địa chỉ) hoặc báo cho nơi gửi bằng cách khác rồi đánh dấu đã xử lý.",
                "The sender has not received the status message below. Send it again (correcting the address if need be), or tell the sender another way and mark it handled.")) }
            @for m in &list { (card(p, m, "incoming", false)) }
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    done: String,
}

/// The clerk's list: every status message not sent of the agencies where they take documents
/// in, newest first.
pub(super) async fn list_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> Response {
    list_view(&st, &p, done_message(&p, &q.done).as_deref(), None).await
}

async fn list_view(st: &AppState, p: &Page, ok: Option<&str>, error: Option<String>) -> Response {
    let list = match inc::undelivered_status_messages(
        &st.store,
        &p.actor,
        &inc::UndeliveredQuery::default(),
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return refusal(p, e),
    };
    let title = p.t("Thư báo không gửi được", "Status messages not sent");
    let res = layout(
        p,
        title,
        html! {
            p { a href="/incoming" { (p.t("← Văn bản đến", "← Incoming documents")) } }
            h1 { (title) }
            @if let Some(m) = ok { div.alert.ok role="status" { (m) } }
            (alert_error(error.as_deref()))
            p.muted { (p.t(
                "Thư báo tình trạng (từ chối, vào sổ, xử lý…) gửi cơ quan ngoài hệ thống qua thư điện tử mà máy chủ chưa gửi được, hoặc không có địa chỉ để gửi.",
                "Status messages (refusal, registration, handling…) to senders outside kyso by e-mail that the server could not send, or had no address for.")) }
            @if list.is_empty() {
                p #undelivered-empty { (p.t("Không có thư báo nào cần xử lý.", "No status message needs attention.")) }
            } @else {
                @for m in &list { (card(p, m, "list", true)) }
            }
        },
    );
    form_status(res, error.is_some())
}

#[derive(Deserialize, Default)]
pub(super) struct ResendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    recipient: String,
}

/// A refusal of the store: shown on the list (invalid input, a conflict), else as an error page.
async fn refused(st: &AppState, p: &Page, e: kyso_store::Error) -> Response {
    let api: ApiError = e.into();
    if matches!(
        api.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
    ) {
        list_view(st, p, None, Some(api.message(p.lang).to_owned())).await
    } else {
        layout_error(p, api.status, api.message(p.lang))
    }
}

/// Send a status message again (to the address given).
pub(super) async fn resend_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<ResendForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    match inc::resend_status_message(&st.store, &p.actor, id, Some(&f.recipient), st.now()).await {
        Ok(m) => Redirect::to(&format!(
            "{}?done=status_resend",
            back_to(&f.back, m.incoming_id)
        ))
        .into_response(),
        Err(e) => refused(&st, &p, e).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct HandledForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    confirm: String,
}

/// Mark a status message handled by hand, after a confirmation: the server never sends it.
pub(super) async fn handled_submit(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<HandledForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    if f.confirm != "yes" {
        return super::confirm_page(
            &p,
            super::Confirm {
                heading: p.t("Xác nhận đã xử lý thư báo", "Confirm: status message handled"),
                question: p.t(
                    "Bạn có chắc chắn đã báo cho nơi gửi bằng cách khác? Máy chủ sẽ không gửi thư báo này nữa và không thể hoàn tác.",
                    "Have you told the sender another way? The server will not send this status message any more, and this cannot be undone.",
                ),
                facts: &[(p.t("Cách báo: ", "How: "), &f.note)],
                action: &format!("/incoming/undelivered/{id}/handled"),
                multipart: false,
                hidden: &[("back", &f.back), ("note", &f.note)],
                button: p.t("Xác nhận đã xử lý", "Confirm: handled"),
                danger: false,
                cancel: "/incoming/undelivered",
            },
        );
    }
    match inc::handle_status_message(&st.store, &p.actor, id, f.note.trim(), st.now()).await {
        Ok(m) => Redirect::to(&format!(
            "{}?done=status_handled",
            back_to(&f.back, m.incoming_id)
        ))
        .into_response(),
        Err(e) => refused(&st, &p, e).await,
    }
}
