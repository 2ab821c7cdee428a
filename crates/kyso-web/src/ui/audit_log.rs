//! The audit log page (auditors): each entry in Vietnam time, its action in words, the record
//! it concerns by kind with a link, and its details as labelled lines; filtered by person and
//! by action chosen from a list. The stored names stay visible in a tooltip for the technical
//! reader; the page scrolls sideways on a narrow screen rather than overflowing.

use kyso_domain::audit_text::{action_label, detail_items, known_actions, object_kind};

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

/// The page a record of this kind has, if any.
fn object_href(kind: &str, id: &str) -> Option<String> {
    let path = match kind {
        "agency" => "agencies",
        "subscriber" => "subscribers",
        "certificate" => "certificates",
        "device" => "devices",
        "user" => "users",
        "request" => "requests",
        "document" => "documents",
        "incoming" => "incoming",
        "report_period" => "reports",
        "archive_entry" => "archive",
        "dossier" => "archive/dossiers",
        _ => return None,
    };
    id.parse::<i64>().ok().map(|n| format!("/{path}/{n}"))
}

/// An entry's details as `label: value` lines ([`detail_items`]).
fn detail_lines(p: &Page, detail: &str) -> Markup {
    html! {
        @for (label, value) in detail_items(detail, p.lang == Lang::En) {
            div {
                @if !label.is_empty() { span.muted { (label) ": " } }
                (value)
            }
        }
    }
}

pub(super) async fn audit_page(
    State(st): State<AppState>,
    p: Page,
    Query(q): Query<AuditFilter>,
) -> Response {
    let filter = audit::Filter {
        actor: Some(q.actor.clone()).filter(|s| !s.is_empty()),
        action_prefix: Some(q.action.clone()).filter(|s| !s.is_empty()),
        limit: 200,
        ..Default::default()
    };
    let items = match audit::list(&st.store, &p.actor, &filter).await {
        Ok(i) => i,
        Err(e) => return layout_store_error(&p, e),
    };
    let mut actions: Vec<(String, String)> = known_actions()
        .into_iter()
        .map(|(name, vi, en)| (name, p.t(&vi, &en).to_owned()))
        .collect();
    actions.sort_by_key(|a| kyso_domain::text::sort_key(&a.1, false));
    actions.insert(0, (String::new(), p.t("Tất cả", "All").to_owned()));
    layout(
        &p,
        p.t("Nhật ký", "Audit log"),
        html! {
            h1 { (p.t("Nhật ký kiểm toán", "Audit log")) }
            form.filters method="get" action="/audit" role="search" {
                div { label for="actor" { (p.t("Người thực hiện (tên đăng nhập)", "Actor (user name)")) } input #actor name="actor" value=(q.actor); }
                div { (select("action", p.t("Thao tác", "Action"), &actions, &q.action, None)) }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
            }
            p.muted { (p.t("Thời điểm theo giờ Việt Nam (UTC+7). Mỗi mục được nối chuỗi và ký khóa: mọi sửa, xóa hay cắt bớt nhật ký đều bị phát hiện khi kiểm tra.",
                           "Times in Vietnam time (UTC+7). Entries are chained and keyed: any edit, deletion or truncation is found by the check.")) }
            @if items.is_empty() {
                (empty_list(&p, !q.actor.is_empty() || !q.action.is_empty(), ("Nhật ký chưa có mục nào.", "The log has no entries yet.")))
            } @else {
                (export_links(&p, "/api/v1/audit", &query_string(&[("actor", q.actor.clone()), ("action", q.action.clone())])))
                div style="overflow-x:auto" {
                    table { thead { tr {
                        th scope="col" { "#" } th scope="col" { (p.t("Thời điểm", "When")) }
                        th scope="col" { (p.t("Người thực hiện", "Actor")) } th scope="col" { (p.t("Thao tác", "Action")) }
                        th scope="col" { (p.t("Đối tượng", "Record")) } th scope="col" { (p.t("Cơ quan", "Agency")) }
                        th scope="col" { (p.t("Chi tiết", "Details")) } th scope="col" { (p.t("Từ địa chỉ", "From")) }
                    } } tbody { @for e in &items { tr {
                        td { (e.seq) }
                        td style="white-space:nowrap" { (fmt_time(e.at)) }
                        td { (e.actor) }
                        td title=(e.action) {
                            @match action_label(&e.action) {
                                Some((vi, en)) => { (p.t(&vi, &en)) }
                                None => code { (e.action) },
                            }
                        }
                        td {
                            @match object_kind(&e.object) {
                                Some((vi, en, id)) => {
                                    @let kind = e.object.split(':').next().unwrap_or("");
                                    @match object_href(kind, id) {
                                        Some(href) => a href=(href) { (p.t(vi, en)) " " (id) },
                                        None => { (p.t(vi, en)) " " (id) },
                                    }
                                }
                                None => { (e.object) }
                            }
                        }
                        td { (e.agency.as_deref().unwrap_or("")) }
                        td style="min-width:220px;overflow-wrap:anywhere" { (detail_lines(&p, &e.detail)) }
                        td { (e.source) }
                    } } } }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::object_href;

    #[test]
    fn a_record_with_a_page_links_to_it() {
        assert_eq!(object_href("agency", "7").as_deref(), Some("/agencies/7"));
        assert_eq!(
            object_href("report_period", "3").as_deref(),
            Some("/reports/3")
        );
        // No page (an API token), or not a record id.
        assert_eq!(object_href("token", "5"), None);
        assert_eq!(object_href("document", "x"), None);
    }
}
