//! Reminders before a handling deadline: the lead unit's people are told 3 days and 1 day
//! before, and on the day ([`kyso_domain::incoming::due_reminder`]); each stage once per
//! deadline (`incoming_reminders_sent`, as the certificate expiry scan keeps
//! `notice_stages_sent`), so running the scan twice or on two nodes sends nothing new.

use super::*;

/// What one reminder run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReminderSummary {
    /// Documents being handled with a deadline looked at.
    pub documents: u64,
    /// Stages due and now recorded as sent.
    pub stages: u64,
    /// Inbox notices written.
    pub notices: u64,
}

/// Run the deadline reminders as the system (the scheduled job).
pub async fn run_deadline_reminders(store: &Store, now: OffsetDateTime) -> Result<ReminderSummary> {
    let mut tx = store.begin_write(&Actor::system(), On::Registry).await?;
    let rows = sqlx::query(
        "SELECT i.id, i.deadline, i.lead_unit_id, i.subject, i.sender_name, i.sender_code \
         FROM incoming_documents i WHERE i.state IN ('assigned', 'in_progress') \
         AND i.deadline IS NOT NULL AND i.lead_unit_id IS NOT NULL ORDER BY i.id",
    )
    .fetch_all(tx.conn())
    .await?;
    let today = vietnam_date(now);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut summary = ReminderSummary::default();
    for row in rows {
        summary.documents += 1;
        let id: i64 = row.try_get(0)?;
        let deadline: String = row.try_get(1)?;
        let unit: i64 = row.try_get(2)?;
        let subject: String = row.try_get(3)?;
        let sender_name: String = row.try_get(4)?;
        let sender_code: String = row.try_get(5)?;
        let Ok(date) = time::Date::parse(&deadline, &format) else {
            continue;
        };
        let sent: Vec<i64> = sqlx::query_scalar(
            "SELECT stage_days FROM incoming_reminders_sent WHERE incoming_id = $1 AND deadline = $2",
        )
        .bind(id)
        .bind(&deadline)
        .fetch_all(tx.conn())
        .await?;
        let sent: Vec<u32> = sent
            .into_iter()
            .filter_map(|d| u32::try_from(d).ok())
            .collect();
        let Some(stage) = kyso_domain::incoming::due_reminder(date, today, &sent) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO incoming_reminders_sent (incoming_id, deadline, stage_days, sent_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&deadline)
        .bind(i64::from(stage))
        .bind(now.unix_timestamp())
        .execute(tx.conn())
        .await?;
        summary.stages += 1;
        let sender = if sender_name.is_empty() {
            sender_code
        } else {
            sender_name
        };
        let d = date_vi(&deadline);
        let (when_vi, when_en) = match stage {
            0 => (
                "hôm nay là hạn xử lý".to_owned(),
                "it is due today".to_owned(),
            ),
            n => (
                format!("còn {n} ngày đến hạn xử lý ({d})"),
                format!("it is due in {n} day(s) ({d})"),
            ),
        };
        let users = super::reading::unit_people(&mut tx, unit).await?;
        summary.notices += super::reading::notify(
            &mut tx,
            users,
            "incoming",
            None,
            "deadline",
            &format!("/incoming/{id}"),
            (
                &format!("Nhắc hạn xử lý văn bản đến: {subject}"),
                &format!("Deadline reminder: {subject}"),
            ),
            (
                &format!("Văn bản đến “{subject}” của {sender}: {when_vi}."),
                &format!("The incoming document “{subject}” from {sender}: {when_en}."),
            ),
            now,
        )
        .await? as u64;
    }
    tx.commit_audited(
        Event {
            action: "incoming.reminders",
            object: "incoming".into(),
            agency: None,
            detail: serde_json::to_value(summary).unwrap_or_else(|_| json!({})),
        },
        now,
    )
    .await?;
    Ok(summary)
}
