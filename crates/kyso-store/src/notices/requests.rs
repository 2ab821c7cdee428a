//! Notices of certificate requests (issue 20/5): each step of [`crate::requests::act`] tells,
//! in the same write transaction, the people who act next — in the inbox and (by the mailer)
//! by e-mail.
//!
//! - **submitted** (waiting for approval): the officers granted approval on the managing
//!   agency (the parent; a root agency's own);
//! - **approved, returned, refused, taken up, completed**: the signature officers of the
//!   requesting agency, who make the letter, correct the draft or hand out the certificates.
//!
//! When no one holds the role at that agency itself, the Department's administrators above it
//! are told instead, and the notice says why — a request never waits unseen. The person who
//! took the step is not told of it; disabled accounts are not told.

use kyso_domain::lifecycle::RequestAction;
use kyso_domain::roles::{Permission, Role};
use kyso_domain::Named as _;
use sqlx::Row as _;
use time::OffsetDateTime;

use super::BODY_SEPARATOR;
use crate::requests::Request;
use crate::{Result, WriteTx};

/// The accounts to tell of `action` on `r` taken by `actor_id`, and whether they are the
/// Department's administrators standing in for an agency with no one in the role.
async fn audience(
    tx: &mut WriteTx,
    r: &Request,
    action: RequestAction,
    actor_id: i64,
) -> Result<Option<(Vec<i64>, bool, String)>> {
    let (role, permission, path) = match action {
        RequestAction::Submit => (
            Role::SignatureOfficer,
            Permission::ApproveRequest,
            crate::requests::managing_path(&r.agency_path),
        ),
        RequestAction::Approve
        | RequestAction::Return
        | RequestAction::Refuse
        | RequestAction::StartProcessing
        | RequestAction::Complete => (
            Role::SignatureOfficer,
            Permission::WriteRegistry,
            r.agency_path.clone(),
        ),
        RequestAction::Send | RequestAction::Withdraw => return Ok(None),
    };
    let rows = sqlx::query(
        "SELECT r.user_id, r.role, a.path, a.name FROM user_roles r \
         JOIN agencies a ON a.id = r.agency_id JOIN users u ON u.id = r.user_id \
         WHERE u.disabled = 0 ORDER BY r.user_id",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut own = Vec::new();
    let mut admins = Vec::new();
    let mut at_name = String::new();
    for row in rows {
        let user: i64 = row.try_get(0)?;
        let granted_role: String = row.try_get(1)?;
        let granted: String = row.try_get(2)?;
        let granted_role = Role::from_name(&granted_role);
        if granted == path {
            at_name = row.try_get(3)?;
        }
        if user == actor_id {
            continue;
        }
        if granted == path
            && granted_role == Some(role)
            && role.allows(permission)
            && !own.contains(&user)
        {
            own.push(user);
        } else if granted_role == Some(Role::DostAdmin)
            && path.starts_with(granted.as_str())
            && !admins.contains(&user)
        {
            admins.push(user);
        }
    }
    if at_name.is_empty() {
        at_name = sqlx::query_scalar("SELECT name FROM agencies WHERE path = $1")
            .bind(&path)
            .fetch_optional(tx.conn())
            .await?
            .unwrap_or_default();
    }
    Ok(Some(if own.is_empty() {
        (admins, true, at_name)
    } else {
        (own, false, at_name)
    }))
}

/// The inbox rows telling of `action` just taken on `r` (its state already changed in `tx`).
pub(crate) async fn request_notices(
    tx: &mut WriteTx,
    r: &Request,
    action: RequestAction,
    actor_id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let Some((users, standing_in, at)) = audience(tx, r, action, actor_id).await? else {
        return Ok(());
    };
    let kind = (r.kind.vi(), r.kind.en());
    let (what_vi, what_en) = match action {
        RequestAction::Submit => ("chờ duyệt", "waits for approval"),
        RequestAction::Approve => (
            "đã được duyệt: lập công văn đề nghị và chuyển ký số, cấp số, phát hành",
            "is approved: make the request letter and take it through signing, numbering and dispatch",
        ),
        RequestAction::Return => ("được trả lại để sửa", "is returned for correction"),
        RequestAction::Refuse => ("bị từ chối", "is refused"),
        RequestAction::StartProcessing => ("đang được xử lý", "is being processed"),
        RequestAction::Complete => (
            "đã hoàn thành: chứng thư số và thiết bị đã cập nhật vào danh mục",
            "is complete: certificates and devices are updated in the registry",
        ),
        RequestAction::Send | RequestAction::Withdraw => return Ok(()),
    };
    let subject = format!("Đề nghị số {} của {} {what_vi}", r.id, r.agency_name);
    let subject_en = format!("Request {} of {} {what_en}", r.id, r.agency_name);
    let link = format!("/requests/{}", r.id);
    let mut vi = format!("{subject}.\nLoại: {}.", kind.0);
    let mut en = format!("{subject_en}.\nKind: {}.", kind.1);
    if !reason.is_empty() {
        vi.push_str(&format!("\nLý do: {reason}."));
        en.push_str(&format!("\nReason: {reason}."));
    }
    if standing_in {
        vi.push_str(&format!(
            "\n{at} chưa có tài khoản cán bộ phụ trách chữ ký số nên thông báo này được gửi cho \
             quản trị của Sở. Việc cần làm: tạo tài khoản với vai trò đó cho cơ quan."
        ));
        en.push_str(&format!(
            "\n{at} has no digital signature officer account, so this notice went to the \
             Department's administrators. Create an account with that role for the agency."
        ));
    }
    vi.push_str(&format!("\nXem đề nghị: {link}"));
    en.push_str(&format!("\nSee the request: {link}"));
    let body = format!("{vi}{BODY_SEPARATOR}{en}");
    for user in users {
        sqlx::query(
            "INSERT INTO notices (user_id, kind, event, link, subject, subject_en, body, \
             created_at) VALUES ($1, 'request', $2, $3, $4, $5, $6, $7)",
        )
        .bind(user)
        .bind(action.as_str())
        .bind(&link)
        .bind(&subject)
        .bind(&subject_en)
        .bind(&body)
        .bind(now.unix_timestamp())
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}
