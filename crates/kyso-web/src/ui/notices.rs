//! The inbox: notices of the outgoing-document flow and of expiring certificates, newest
//! first, the unread ones marked, each leading to its document (or to the certificates and
//! the renewal form); and, for those who keep the registry, the certificates expiring within 60
//! days whether or not a notice has gone out yet.

use super::*;

pub(super) async fn notices_page(State(st): State<AppState>, p: Page) -> Response {
    let items = match kyso_store::notices::inbox(&st.store, &p.actor, false).await {
        Ok(i) => i,
        Err(e) => return layout_store_error(&p, e),
    };
    let now = st.now();
    // What is about to expire, in reach, even before the next scan sends its notices.
    let expiring = if p.can(Permission::ReadRegistry) {
        registry::search_certificates(
            &st.store,
            &p.actor,
            &CertQuery {
                expiring_within_days: Some(60),
                status: Some("active".into()),
                limit: Some(100),
                ..Default::default()
            },
            now,
        )
        .await
        .map(|r| r.items)
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let english = matches!(p.lang, Lang::En);
    let unread = items.iter().filter(|n| n.read_at.is_none()).count();
    layout(
        &p,
        p.t("Thông báo", "Notices"),
        html! {
            h1 { (p.t("Thông báo", "Notices")) }
            p.muted #unread {
                @if unread == 0 {
                    (p.t("Không có thông báo chưa đọc.", "No unread notices."))
                } @else if english {
                    (unread) " unread notice(s), newest first."
                } @else {
                    (unread) " thông báo chưa đọc, mới nhất ở trên."
                }
            }
            @if p.can(Permission::ReadRegistry) {
                section aria-labelledby="expiring-title" {
                    h2 #expiring-title style="font-size:18px" { (p.t("Chứng thư số hết hạn trong 60 ngày tới", "Certificates expiring within 60 days")) }
                    @if expiring.is_empty() {
                        p.muted { (p.t("Không có chứng thư số nào sắp hết hạn.", "No certificate expires soon.")) }
                    } @else {
                        (cert_table(&p, &expiring, now))
                    }
                }
                h2 style="font-size:18px" { (p.t("Thông báo đã nhận", "Notices received")) }
            }
            @if items.is_empty() { p.muted { (p.t("Không có thông báo.", "No notices.")) } }
            @for n in &items {
                @let is_new = n.read_at.is_none();
                @let style = if is_new { "margin-bottom:12px;border-left:4px solid var(--brand)" } else { "margin-bottom:12px" };
                article.card.notice.unread[is_new] id={ "notice-" (n.id) } style=(style) {
                    h2 style="font-size:16px;margin:0 0 4px" {
                        @if is_new { strong.new { (p.t("[Mới] ", "[New] ")) } }
                        @if n.link.is_empty() {
                            (n.subject_in(english))
                        } @else {
                            a href=(n.link) { (n.subject_in(english)) }
                        }
                        @if n.escalated { " " span.status-expired { (p.t("(chuyển cơ quan quản lý)", "(escalated)")) } }
                    }
                    p style="white-space:pre-line;margin:4px 0" { (n.body_in(english)) }
                    p.muted style="margin:0" {
                        (kyso_domain::calendar::date_time_text(n.created_at))
                        @if n.kind == "document" {
                            @if n.link.starts_with("/documents/") {
                                " — " a href=(n.link) { (p.t("Mở văn bản", "Open the document")) }
                            } @else if !n.link.is_empty() {
                                " — " a href=(n.link) { (p.t("Tải văn bản", "Download the document")) }
                            }
                        } @else if n.kind == "request" {
                            " — " a href=(n.link) { (p.t("Mở đề nghị", "Open the request")) }
                        } @else if n.kind == "report" {
                            " — " a href=(n.link) { (p.t("Mở báo cáo", "Open the report")) }
                        } @else {
                            " — " a href={ "/certificates?q=" } { (p.t("Chứng thư số", "Certificates")) } " — "
                            a href={ "/requests/new?kind=renew" } { (p.t("Lập đề nghị gia hạn", "File a renewal")) }
                        }
                    }
                    @if is_new {
                        form method="post" action={ "/notices/" (n.id) "/read" } style="margin-top:6px" {
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
        Err(e) => layout_store_error(&p, e),
    }
}
