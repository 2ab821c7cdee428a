//! The inbox of expiry notices.

use super::*;

pub(super) async fn notices_page(State(st): State<AppState>, p: Page) -> Response {
    let items = match kyso_store::notices::inbox(&st.store, &p.actor, false).await {
        Ok(i) => i,
        Err(e) => return store_error(p.lang, e),
    };
    layout(
        &p,
        p.t("Thông báo", "Notices"),
        html! {
            h1 { (p.t("Thông báo hết hạn chứng thư số", "Certificate expiry notices")) }
            @if items.is_empty() { p.muted { (p.t("Không có thông báo.", "No notices.")) } }
            @for n in &items {
                article.card style="margin-bottom:12px" {
                    h2 style="font-size:16px;margin:0 0 4px" {
                        @if n.read_at.is_none() { strong { (p.t("[Mới] ", "[New] ")) } }
                        (n.subject)
                        @if n.escalated { " " span.status-expired { (p.t("(chuyển cơ quan quản lý)", "(escalated)")) } }
                    }
                    p style="white-space:pre-line;margin:4px 0" { (n.body) }
                    p.muted style="margin:0" { (fmt_date(n.created_at)) " — "
                        a href={ "/certificates?q=" } { (p.t("Chứng thư số", "Certificates")) } " — "
                        a href={ "/requests/new?kind=renew" } { (p.t("Lập đề nghị gia hạn", "File a renewal")) } }
                    @if n.read_at.is_none() {
                        form method="post" action={ "/notices/" (n.id) "/read" } {
                            input type="hidden" name="csrf" value=(p.csrf);
                            button type="submit" { (p.t("Đánh dấu đã đọc", "Mark as read")) }
                        }
                    }
                }
            }
        },
    )
}

pub(super) async fn notice_read(
    State(st): State<AppState>,
    p: Page,
    Id(id): Id,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = p.csrf_refusal(&f.csrf) {
        return r;
    }
    match kyso_store::notices::mark_read(&st.store, &p.actor, id, st.now()).await {
        Ok(()) => Redirect::to("/notices").into_response(),
        Err(e) => store_error(p.lang, e),
    }
}
