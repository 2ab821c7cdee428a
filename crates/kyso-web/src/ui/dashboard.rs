//! The dashboard: the counts and the certificates that expire first.

use super::*;

pub(super) async fn dashboard(State(st): State<AppState>, p: Page) -> Response {
    let now = st.now();
    let d = match registry::dashboard(&st.store, &p.actor, now).await {
        Ok(d) => d,
        Err(e) => return layout_store_error(&p, e),
    };
    // The reader's unread notices: what waits for them (a request to approve, a certificate
    // of an agency with no officer of its own, a document's turn).
    let unread = kyso_store::notices::inbox(&st.store, &p.actor, true)
        .await
        .unwrap_or_default();
    let english = p.lang == Lang::En;
    // Colour only for a real alarm: a warning or a danger with nothing in it stays plain.
    let card = |n: i64, label: &str, class: &str, href: &str| {
        let class = if n > 0 { class } else { "" };
        html! {
            a.card.(class) href=(href) style="text-decoration:none;color:inherit" {
                div.n { (n) } div { (label) }
            }
        }
    };
    layout(
        &p,
        p.t("Tổng quan", "Dashboard"),
        html! {
            h1 { (p.t("Tổng quan", "Dashboard")) }
            section aria-labelledby="counts" {
                h2 #counts style="font-size:18px" { (p.t("Chứng thư số và thiết bị", "Certificates and devices")) }
                div.cards {
                    (card(d.certificates_active, p.t("Chứng thư còn hiệu lực", "Valid certificates"), "", "/certificates?status=active"))
                    (card(d.expiring_60, p.t("Hết hạn trong 60 ngày", "Expiring within 60 days"), "warn", "/certificates?expiring_within_days=60"))
                    (card(d.expiring_30, p.t("Hết hạn trong 30 ngày", "Expiring within 30 days"), "warn", "/certificates?expiring_within_days=30"))
                    (card(d.expiring_7, p.t("Hết hạn trong 7 ngày", "Expiring within 7 days"), "bad", "/certificates?expiring_within_days=7"))
                    (card(d.expired, p.t("Đã hết hạn", "Expired"), "bad", "/certificates?status=expired"))
                    (card(d.revoked, p.t("Đã thu hồi", "Revoked"), "", "/certificates?status=revoked"))
                    (card(d.devices_locked, p.t("Thiết bị bị khóa", "Locked devices"), "warn", "/devices?state=locked"))
                    (card(d.devices_lost, p.t("Thiết bị thất lạc", "Lost devices"), "bad", "/devices?state=lost"))
                (card(d.open_requests, p.t("Đề nghị đang xử lý", "Open requests"), "", "/requests"))
                (card(d.overdue_requests, p.t("Đề nghị quá hạn", "Overdue requests"), "bad", "/requests?overdue=1"))
                    (card(d.agencies, p.t("Cơ quan", "Agencies"), "", "/agencies"))
                    (card(d.subscribers, p.t("Thuê bao", "Subscribers"), "", "/subscribers"))
                }
            }
            @if !unread.is_empty() {
                section aria-labelledby="unread" {
                    h2 #unread style="font-size:18px" {
                        (p.t("Thông báo chưa đọc", "Unread notices")) " (" (unread.len()) ")"
                    }
                    ul { @for n in unread.iter().take(5) {
                        li { a href={ "/notices#notice-" (n.id) } { (n.subject_in(english)) } }
                    } }
                    p { a href="/notices" { (p.t("Xem tất cả thông báo", "See every notice")) } }
                }
            }
            section aria-labelledby="soon" {
                h2 #soon style="font-size:18px" { (p.t("Sắp hết hạn", "Expiring soon")) }
                (cert_table(&p, &d.soonest, now))
            }
        },
    )
}

pub(super) fn cert_table(p: &Page, certs: &[registry::Certificate], now: OffsetDateTime) -> Markup {
    html! {
        @if certs.is_empty() {
            p.muted { (p.t("Không có chứng thư nào.", "No certificates.")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (p.t("Cấp cho", "Issued to")) }
                    th scope="col" { (p.t("Số hiệu", "Serial")) }
                    th scope="col" { (p.t("Hiệu lực đến", "Valid until")) }
                    th scope="col" { (p.t("Trạng thái", "Status")) }
                    th scope="col" { (p.t("Thuê bao", "Subscriber")) }
                } }
                tbody { @for c in certs {
                    @let status = c.status_at(now);
                    tr {
                        td { a href={ "/certificates/" (c.id) } title=(c.subject) { (dn_readable(&c.subject)) } }
                        td { code { (c.serial) } }
                        td { (fmt_date(c.not_after)) }
                        td class={ "status-" (status) } { (registry::cert_status_label(status, p.lang == Lang::En)) }
                        td { @if let (Some(id), Some(name)) = (c.subscriber_id, &c.subscriber_name) {
                            a href={ "/subscribers/" (id) } { (name) }
                        } }
                    }
                } }
            }
        }
    }
}
