//! Notices of the outgoing-document flow (issue 17/2): each step that moves a document tells,
//! in the inbox and (by the mailer) by e-mail, the people it concerns — written in the step's
//! own write transaction ([`step_notices`], called by [`crate::documents::act`]), so a step and
//! its notices are both recorded or neither is.
//!
//! Who is told:
//! - **whose turn it now is**, when the step hands the document to another duty
//!   ([`DocState::duty`]): the people granted that duty for the document's agency
//!   ([`kyso_domain::documents::Duty::granted_by`], the rule that lets them take the step),
//!   those holding the duty's own role first and the nearest agency first (the unit head of the
//!   drafting agency before one above; a Department administrator only where no one holds
//!   the role). The approving signer is the document's designated signer when it names one.
//!   A step that leaves the duty where it was (approve → sign, the clerk's steps from check
//!   to dispatch) tells no one new;
//! - **the drafter**, of a return (with its reason), of the number and date, of a released
//!   number (with why), of the registration (issue), of the dispatch and of a recall;
//! - **the signer**, of a recall;
//! - **the clerks of each recipient agency** in the registry, that a document arrived (on
//!   dispatch, linking to the delivered file) and that it was recalled (with why).
//!
//! The person who took the step is never told of it; disabled accounts are not told; no one
//! gets two notices for one step.

use std::collections::BTreeSet;

use kyso_domain::documents::{DocAction, DocState, Duty};
use kyso_domain::roles::Role;
use sqlx::Row as _;
use time::OffsetDateTime;

use super::BODY_SEPARATOR;
use crate::batch::Part;
use crate::documents::{Document, StepOutcome};
use crate::{Result, WriteTx};

/// Why someone is told of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The document now waits for them.
    Turn,
    /// They drafted it.
    Drafter,
    /// They signed it (told of a recall).
    Signer,
    /// Their agency received it (dispatch) or had it recalled (recall).
    Recipient { delivery_id: i64 },
}

/// What the texts of one step's notices say.
struct Step<'a> {
    id: i64,
    action: DocAction,
    from: DocState,
    to: DocState,
    subject: &'a str,
    doc_type: &'a str,
    doc_type_en: &'a str,
    agency: &'a str,
    actor: &'a str,
    reason: &'a str,
    /// "12/QĐ-SKHCN" once numbered.
    number: Option<String>,
    /// dd/mm/yyyy of the number.
    date: Option<String>,
    deliveries: usize,
}

/// The names a step's notices print: who took it and the document's agency. Read before the
/// step's write transaction ([`step_names`]), so that no round trip inside the write lock is
/// spent on them.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepNames {
    actor: Option<String>,
    agency: String,
}

/// The names of [`StepNames`]: the full name of `actor_id` and the name of `agency_id`.
pub(crate) async fn step_names(
    store: &crate::Store,
    actor_id: i64,
    agency_id: i64,
) -> Result<StepNames> {
    let row = sqlx::query(
        "SELECT (SELECT full_name FROM users WHERE id = $1), \
         (SELECT name FROM agencies WHERE id = $2)",
    )
    .bind(actor_id)
    .bind(agency_id)
    .fetch_one(store.pool())
    .await?;
    Ok(StepNames {
        actor: row.try_get(0)?,
        agency: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
    })
}

/// The notices of the step `action` just taken on `doc` (which was in `doc.state` and is
/// now in `to`), to be written inside the step's transaction: one INSERT each, read-only work
/// (who holds the next duty, the recipients' clerks) done in `tx` meanwhile. A notice is
/// written only to an enabled account, checked by its INSERT itself: the rows they write are
/// how many were written.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step_notices(
    tx: &mut WriteTx,
    doc: &Document,
    action: DocAction,
    to: DocState,
    reason: &str,
    outcome: &StepOutcome,
    names: &StepNames,
    now: OffsetDateTime,
) -> Result<Vec<Part>> {
    let actor_id = tx.actor().user_id;
    let mut audience: Vec<(i64, Why)> = Vec::new();

    // Whose turn it now is, when the duty changes hands.
    let before = action.duty(doc.state);
    if action.is_forward() && before != Some(to.duty()) {
        let designated = doc.signer_id.filter(|_| to.duty().role == Role::Signer);
        let users = match designated {
            Some(signer) => vec![signer],
            None => duty_holders(tx, to.duty(), doc.agency_id, &doc.agency_path).await?,
        };
        audience.extend(users.into_iter().map(|u| (u, Why::Turn)));
    }
    if matches!(
        action,
        DocAction::Return
            | DocAction::Number
            | DocAction::ReleaseNumber
            | DocAction::Register
            | DocAction::Dispatch
            | DocAction::Recall
    ) {
        audience.push((doc.drafter_id, Why::Drafter));
    }
    if action == DocAction::Recall {
        if let Some(signer) = doc.signer_id {
            audience.push((signer, Why::Signer));
        }
    }
    if matches!(action, DocAction::Dispatch | DocAction::Recall) {
        let rows = sqlx::query(
            "SELECT d.id, r.user_id FROM document_deliveries d \
             JOIN user_roles r ON r.agency_id = d.recipient_agency_id AND r.role = $1 \
             WHERE d.document_id = $2 ORDER BY d.id, r.user_id",
        )
        .bind(Role::Clerk.as_str())
        .bind(doc.id)
        .fetch_all(tx.conn())
        .await?;
        for row in rows {
            let delivery_id: i64 = row.try_get(0)?;
            audience.push((row.try_get(1)?, Why::Recipient { delivery_id }));
        }
    }

    // Never the actor, never twice, enabled accounts only.
    let mut seen = BTreeSet::from([actor_id]);
    audience.retain(|(u, _)| seen.insert(*u));
    if audience.is_empty() {
        return Ok(Vec::new());
    }
    let number = outcome
        .number_and_notation
        .clone()
        .or_else(|| doc.number_and_notation());
    let date = (action == DocAction::Number)
        .then(|| kyso_domain::calendar::date_text(now))
        .or_else(|| doc.issued_date.as_deref().and_then(iso_to_vietnamese));
    let step = Step {
        id: doc.id,
        action,
        from: doc.state,
        to,
        subject: &doc.meta.subject,
        doc_type: doc.meta.doc_type.label_vi(),
        doc_type_en: doc.meta.doc_type.label_en(),
        agency: &names.agency,
        actor: names.actor.as_deref().unwrap_or("Hệ thống"),
        reason,
        number,
        date,
        deliveries: outcome.deliveries,
    };
    let nowu = now.unix_timestamp();
    let mut parts = Vec::with_capacity(audience.len());
    for (user, why) in &audience {
        let (subject, subject_en, body) = texts(&step, *why);
        let (event, link) = match why {
            Why::Recipient { delivery_id } if action == DocAction::Dispatch => {
                ("delivery", format!("/api/v1/deliveries/{delivery_id}/file"))
            }
            Why::Recipient { .. } => (action.as_str(), String::new()),
            _ => (action.as_str(), format!("/documents/{}", doc.id)),
        };
        parts.push(Part::new(
            "INSERT INTO notices (user_id, kind, document_id, event, link, subject, subject_en, \
             body, created_at) SELECT id, 'document', $2, $3, $4, $5, $6, $7, $8 FROM users \
             WHERE id = $1 AND disabled = 0",
            vec![
                (*user).into(),
                doc.id.into(),
                event.into(),
                link.into(),
                subject.into(),
                subject_en.into(),
                body.into(),
                nowu.into(),
            ],
        ));
    }
    Ok(parts)
}

/// The enabled accounts granted `duty` on a document of agency `agency_id` at `path`, by the
/// domain's rule ([`Duty::granted_by`]): those holding the duty's role if any, else those
/// allowed by another role (an administrator); of them, the ones granted at the nearest
/// agency (the document's own, then its parent, …).
async fn duty_holders(
    tx: &mut WriteTx,
    duty: Duty,
    agency_id: i64,
    path: &str,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT r.user_id, r.role, r.agency_id, a.path FROM user_roles r \
         JOIN agencies a ON a.id = r.agency_id JOIN users u ON u.id = r.user_id \
         WHERE u.disabled = 0 AND $1 LIKE a.path || '%' ORDER BY r.user_id",
    )
    .bind(path)
    .fetch_all(tx.conn())
    .await?;
    let mut granted: Vec<(bool, usize, i64)> = Vec::new();
    for row in rows {
        let user: i64 = row.try_get(0)?;
        let role: String = row.try_get(1)?;
        let at: i64 = row.try_get(2)?;
        let at_path: String = row.try_get(3)?;
        let Ok(role) = Role::parse(&role) else {
            continue;
        };
        if duty.granted_by(role, at == agency_id, path.starts_with(at_path.as_str())) {
            granted.push((role == duty.role, at_path.matches('/').count(), user));
        }
    }
    Ok(nearest(granted))
}

/// Of `(holds the duty's role, depth of the agency granted at, user)`: the users with the role
/// if any, else all; of those, the ones at the deepest agency; each once, in id order.
fn nearest(granted: Vec<(bool, usize, i64)>) -> Vec<i64> {
    let own_role = granted.iter().any(|(r, _, _)| *r);
    let pool: Vec<_> = granted
        .into_iter()
        .filter(|(r, _, _)| *r || !own_role)
        .collect();
    let deepest = pool.iter().map(|(_, d, _)| *d).max().unwrap_or(0);
    pool.into_iter()
        .filter(|(_, d, _)| *d == deepest)
        .map(|(_, _, u)| u)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// "2026-06-01" as Vietnamese write it, "01/06/2026".
fn iso_to_vietnamese(iso: &str) -> Option<String> {
    let mut parts = iso.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let all_digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(y, 4) && all_digits(m, 2) && all_digits(d, 2)).then(|| format!("{d}/{m}/{y}"))
}

/// The next step the document waits for, as a verb ("Chuyển kiểm tra thể thức").
fn next_step(to: DocState) -> Option<DocAction> {
    to.actions().into_iter().find(|a| a.is_forward())
}

/// (subject in Vietnamese, subject in English, body in both) of the notice to someone told
/// for `why`.
fn texts(s: &Step<'_>, why: Why) -> (String, String, String) {
    let subj = s.subject;
    let id = s.id;
    let numbered = s.number.as_deref().unwrap_or("");
    let with_number = |vi: &str| {
        if numbered.is_empty() {
            format!("{vi} “{subj}”")
        } else {
            format!("{vi} số {numbered} “{subj}”")
        }
    };
    let of = format!("{} của {}", s.doc_type, s.agency);
    let reason_vi = if s.reason.trim().is_empty() {
        String::new()
    } else {
        format!("\nLý do: {}", s.reason.trim())
    };
    let reason_en = if s.reason.trim().is_empty() {
        String::new()
    } else {
        format!("\nReason: {}", s.reason.trim())
    };
    let note_vi = if s.reason.trim().is_empty() {
        String::new()
    } else {
        format!("\nÝ kiến: {}", s.reason.trim())
    };
    let note_en = if s.reason.trim().is_empty() {
        String::new()
    } else {
        format!("\nNote: {}", s.reason.trim())
    };
    let doc_link = format!("/documents/{id}");
    let (subject, subject_en, vi, en, link) =
        match (why, s.action) {
            (Why::Turn, action) => {
                let next = next_step(s.to);
                let (next_vi, next_en) =
                    next.map_or(("xử lý", "handle it"), |a| (a.label_vi(), a.label_en()));
                (
                    format!("Văn bản chờ ông/bà xử lý: {subj}"),
                    format!("A document awaits you: {subj}"),
                    format!(
                    "{} đã thực hiện bước “{}” đối với {of} “{subj}”. Văn bản đang ở bước “{}” \
                     và chờ ông/bà: {}.{note_vi}",
                    s.actor,
                    action.label_vi(),
                    s.to.label_vi(),
                    next_vi.to_lowercase(),
                ),
                    format!(
                    "{} took the step “{}” on the {} of {} “{subj}”. It is now “{}” and awaits \
                     you: {}.{note_en}",
                    s.actor,
                    action.label_en(),
                    s.doc_type_en,
                    s.agency,
                    s.to.label_en(),
                    next_en.to_lowercase(),
                ),
                    doc_link,
                )
            }
            (Why::Drafter, DocAction::Return) => (
                format!("Văn bản bị trả lại: {subj}"),
                format!("Document returned: {subj}"),
                format!(
                "{} đã trả lại dự thảo “{subj}” ở bước “{}”.{reason_vi}\nViệc cần làm: chỉnh sửa \
                 dự thảo theo ý kiến trên và trình lại.",
                s.actor,
                s.from.label_vi()
            ),
                format!(
                "{} returned the draft “{subj}” at the step “{}”.{reason_en}\nTo do: revise the \
                 draft and submit it again.",
                s.actor,
                s.from.label_en()
            ),
                doc_link,
            ),
            (Why::Drafter, DocAction::Number) => {
                (
                    format!("Văn bản đã được cấp số {numbered}: {subj}"),
                    format!("Document numbered {numbered}: {subj}"),
                    format!(
                "Văn thư đã cấp số {numbered}{} cho văn bản “{subj}”; văn bản chờ ký số cơ quan \
                 và vào sổ.",
                s.date.as_deref().map(|d| format!(", ngày {d}")).unwrap_or_default()
            ),
                    format!(
                "The clerk gave the document “{subj}” the number {numbered}{}; it awaits the \
                 organization signature and registration.",
                s.date.as_deref().map(|d| format!(" of {d}")).unwrap_or_default()
            ),
                    doc_link,
                )
            }
            (Why::Drafter, DocAction::ReleaseNumber) => (
                format!("Số của văn bản đã được hủy: {subj}"),
                format!("Number released: {subj}"),
                format!(
                "Văn thư đã hủy số {numbered} cấp cho văn bản “{subj}”; văn bản sẽ được cấp số \
                 lại.{reason_vi}"
            ),
                format!(
                "The clerk released the number {numbered} of the document “{subj}”; it will be \
                 numbered again.{reason_en}"
            ),
                doc_link,
            ),
            (Why::Drafter, DocAction::Register) => (
                format!("Văn bản đã ban hành, số {numbered}: {subj}"),
                format!("Document issued {numbered}: {subj}"),
                format!(
                    "{} đã được ký số cơ quan và vào sổ văn bản đi{}.",
                    with_number("Văn bản"),
                    s.date
                        .as_deref()
                        .map(|d| format!(" (ngày {d})"))
                        .unwrap_or_default()
                ),
                format!(
                "The document {numbered} “{subj}” is signed for the organization and entered in \
                 the outgoing register."
            ),
                doc_link,
            ),
            (Why::Drafter, DocAction::Dispatch) => (
                format!("Văn bản đã phát hành: {subj}"),
                format!("Document dispatched: {subj}"),
                format!(
                    "{} đã được phát hành tới {} nơi nhận.",
                    with_number("Văn bản"),
                    s.deliveries
                ),
                format!(
                    "The document {numbered} “{subj}” was dispatched to {} recipient(s).",
                    s.deliveries
                ),
                doc_link,
            ),
            (Why::Drafter | Why::Signer, _) => (
                format!("Văn bản đã bị thu hồi: {subj}"),
                format!("Document recalled: {subj}"),
                format!(
                    "{} đã thu hồi {}; văn bản không còn giá trị và các nơi nhận đã được \
                 thông báo.{reason_vi}",
                    s.actor,
                    with_number("văn bản")
                ),
                format!(
                    "{} recalled the document {numbered} “{subj}”; it no longer stands and its \
                 recipients were told.{reason_en}",
                    s.actor
                ),
                doc_link,
            ),
            (Why::Recipient { delivery_id }, DocAction::Dispatch) => (
                format!("Văn bản đến từ {}: {subj}", s.agency),
                format!("Incoming document from {}: {subj}", s.agency),
                format!(
                    "{} đã gửi tới cơ quan ông/bà {}{}.\nViệc cần làm: tiếp nhận văn bản đến.",
                    s.agency,
                    with_number(&s.doc_type.to_lowercase()),
                    s.date
                        .as_deref()
                        .map(|d| format!(" ngày {d}"))
                        .unwrap_or_default()
                ),
                format!(
                    "{} sent your agency the {} {numbered} “{subj}”. To do: receive it as an \
                 incoming document.",
                    s.agency, s.doc_type_en
                ),
                format!("/api/v1/deliveries/{delivery_id}/file"),
            ),
            (Why::Recipient { .. }, _) => (
                format!("Văn bản đến đã bị thu hồi: {subj}"),
                format!("Incoming document recalled: {subj}"),
                format!(
                "{} đã thu hồi {} gửi tới cơ quan ông/bà; văn bản không còn giá trị.{reason_vi}",
                s.agency,
                with_number("văn bản")
            ),
                format!(
                "{} recalled the document {numbered} “{subj}” it sent your agency; it no longer \
                 stands.{reason_en}",
                s.agency
            ),
                String::new(),
            ),
        };
    let (open_vi, open_en) = if link.is_empty() {
        (String::new(), String::new())
    } else if link.starts_with("/documents/") {
        (
            format!("\nXem văn bản: {link}"),
            format!("\nOpen the document: {link}"),
        )
    } else {
        (
            format!("\nTải văn bản: {link}"),
            format!("\nDownload it: {link}"),
        )
    };
    let body = format!("{vi}{open_vi}{BODY_SEPARATOR}{en}{open_en}\n");
    (subject, subject_en, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(
        action: DocAction,
        from: DocState,
        to: DocState,
        reason: &'static str,
    ) -> Step<'static> {
        Step {
            id: 12,
            action,
            from,
            to,
            subject: "Về việc ban hành Quy chế",
            doc_type: "Quyết định",
            doc_type_en: "Decision",
            agency: "Sở Khoa học và Công nghệ",
            actor: "Trần Thị Bình",
            reason,
            number: Some("05/QĐ-SKHCN".into()),
            date: Some("01/06/2026".into()),
            deliveries: 2,
        }
    }

    #[test]
    fn a_turn_names_the_step_taken_and_the_one_awaited_with_the_link() {
        let s = step(DocAction::Submit, DocState::Draft, DocState::InReview, "");
        let (subject, en, body) = texts(&s, Why::Turn);
        assert_eq!(
            subject,
            "Văn bản chờ ông/bà xử lý: Về việc ban hành Quy chế"
        );
        assert_eq!(en, "A document awaits you: Về việc ban hành Quy chế");
        assert!(
            body.contains("Trần Thị Bình đã thực hiện bước “Trình lãnh đạo đơn vị”"),
            "{body}"
        );
        assert!(
            body.contains("chờ ông/bà: chuyển kiểm tra thể thức."),
            "{body}"
        );
        assert!(body.contains("Xem văn bản: /documents/12"));
        let (vi, en) = body.split_once(BODY_SEPARATOR).unwrap();
        assert!(!vi.contains("awaits"));
        assert!(en.contains("Open the document: /documents/12"), "{en}");
    }

    #[test]
    fn a_return_tells_the_drafter_why_and_a_delivery_links_the_file() {
        let s = step(
            DocAction::Return,
            DocState::Forwarded,
            DocState::Returned,
            "Sai thể thức",
        );
        let (subject, _, body) = texts(&s, Why::Drafter);
        assert_eq!(subject, "Văn bản bị trả lại: Về việc ban hành Quy chế");
        assert!(body.contains("ở bước “Chờ kiểm tra thể thức”"), "{body}");
        assert!(body.contains("Lý do: Sai thể thức"));
        assert!(body.contains("Reason: Sai thể thức"));
        let s = step(
            DocAction::Dispatch,
            DocState::Registered,
            DocState::Dispatched,
            "",
        );
        let (subject, _, body) = texts(&s, Why::Recipient { delivery_id: 7 });
        assert_eq!(
            subject,
            "Văn bản đến từ Sở Khoa học và Công nghệ: Về việc ban hành Quy chế"
        );
        assert!(
            body.contains("quyết định số 05/QĐ-SKHCN “Về việc ban hành Quy chế” ngày 01/06/2026"),
            "{body}"
        );
        assert!(body.contains("Tải văn bản: /api/v1/deliveries/7/file"));
        let (_, _, body) = texts(&s, Why::Drafter);
        assert!(body.contains("phát hành tới 2 nơi nhận"), "{body}");
    }

    #[test]
    fn the_nearest_holders_of_the_role_come_first() {
        // (role, depth, user): a reviewer at the agency (depth 3), one above (2), an admin (1).
        assert_eq!(
            nearest(vec![(true, 3, 5), (true, 2, 4), (false, 1, 1)]),
            [5]
        );
        assert_eq!(
            nearest(vec![(true, 2, 4), (false, 1, 1), (true, 2, 3)]),
            [3, 4]
        );
        assert_eq!(
            nearest(vec![(false, 1, 1), (false, 1, 2), (false, 0, 9)]),
            [1, 2]
        );
        assert!(nearest(Vec::new()).is_empty());
    }

    #[test]
    fn stored_dates_are_written_the_vietnamese_way() {
        assert_eq!(
            iso_to_vietnamese("2026-06-01").as_deref(),
            Some("01/06/2026")
        );
        assert_eq!(iso_to_vietnamese("2026-6-1"), None);
        assert_eq!(iso_to_vietnamese("garbage"), None);
    }
}
