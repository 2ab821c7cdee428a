//! The audit log page (auditors).

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
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
        Err(e) => return store_error(p.lang, e),
    };
    layout(
        &p,
        p.t("Nhật ký", "Audit log"),
        html! {
            h1 { (p.t("Nhật ký kiểm toán", "Audit log")) }
            form.filters method="get" action="/audit" role="search" {
                div { label for="actor" { (p.t("Người thực hiện", "Actor")) } input #actor name="actor" value=(q.actor); }
                div { label for="action" { (p.t("Thao tác (bắt đầu bằng)", "Action (starts with)")) } input #action name="action" value=(q.action); }
                button.primary type="submit" { (p.t("Lọc", "Filter")) }
            }
            @if items.is_empty() {
                (empty_list(&p, !q.actor.is_empty() || !q.action.is_empty(), ("Nhật ký chưa có mục nào.", "The log has no entries yet.")))
            }
            table { thead { tr {
                th scope="col" { "#" } th scope="col" { (p.t("Thời điểm (UTC)", "When (UTC)")) }
                th scope="col" { (p.t("Người thực hiện", "Actor")) } th scope="col" { (p.t("Thao tác", "Action")) }
                th scope="col" { (p.t("Đối tượng", "Object")) } th scope="col" { (p.t("Từ địa chỉ", "From")) }
                th scope="col" { (p.t("Chi tiết", "Detail")) }
            } } tbody { @for e in &items { tr {
                td { (e.seq) } td { (e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()) }
                td { (e.actor) } td { code { (e.action) } } td { (e.object) } td { (e.source) }
                td { code style="font-size:12px" { (e.detail) } }
            } } } }
        },
    )
}
