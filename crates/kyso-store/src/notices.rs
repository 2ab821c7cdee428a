//! The inbox: notices of expiring certificates (below) and of the outgoing-document flow
//! (`notices/documents.rs`: written in each step's transaction), read in the app ([`inbox`], [`mark_read`]) and e-mailed by the server
//! ([`pending_emails`], [`mark_emailed`]). Each row's `kind` tells them apart.
//!
//! Expiry notices: certificates expiring in 60, 30 and 7 days — and once expired — notify the
//! signature officers of the holder's agency, and the 7-day and expired stages escalate to the
//! managing agency. A renewal stops them.
//!
//! [`run_expiry_scan`] is the scheduled job (the server runs it at start and every hour). It
//! asks [`kyso_domain::expiry::due_stage`] for each certificate that is still recorded active,
//! writes one inbox notice per recipient, remembers the stage in `notice_stages_sent` and
//! appends one audit entry with the run's counts — all in one write transaction, so running it
//! twice (or on two nodes at once) sends nothing new. Notices are then read in the in-app inbox
//! ([`inbox`], [`mark_read`]) and, where SMTP is configured, e-mailed by the server
//! ([`pending_emails`], [`mark_emailed`]).
//!
//! Who receives a notice:
//! - the signature officers (role `signature_officer`) of the *nearest* agency, going up from
//!   the certificate's agency, that has any;
//! - at the 7-day and expired stages also those of the next agency above that one that has any
//!   (normally the managing agency, the parent), marked `escalated`.
//!
//! A certificate counts as renewed when it is recorded `superseded` (it is then no longer
//! scanned), or when the same subscriber holds a newer active certificate that expires later.
//! Revoked certificates are not reminded. Certificates that expired more than
//! [`EXPIRED_LOOKBACK_DAYS`] ago are left alone, so that a registry filled with old records does
//! not flood the inboxes on its first scan.

use kyso_domain::expiry::{due_stage, Notice as Stage};
use kyso_domain::roles::Role;
use serde::Serialize;
use serde_json::json;
use sqlx::Row as _;
use time::{Duration, OffsetDateTime};

use crate::audit::Event;
use crate::{Actor, Error, Result, Store};

mod documents;
pub(crate) use documents::{step_names, step_notices};
mod requests;
pub(crate) use requests::request_notices;

/// Certificates that expired longer ago than this get no "expired" notice any more.
pub const EXPIRED_LOOKBACK_DAYS: i64 = 30;

/// Notices not e-mailed within this many days (the SMTP server was down, the address
/// refused) are no longer retried; they stay in the inbox.
pub const EMAIL_RETRY_DAYS: i64 = 3;

/// What one expiry scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanSummary {
    /// Certificates looked at (active, expiring within 60 days or recently expired).
    pub certificates: u64,
    /// Certificates for which a stage was due and is now recorded as sent.
    pub stages: u64,
    /// Inbox notices written (one per recipient).
    pub notices: u64,
    /// Of those, notices to the managing agency.
    pub escalated: u64,
    /// Certificates skipped because the subscriber already holds a newer certificate.
    pub renewed: u64,
    /// Stages that found no signature officer anywhere above the certificate's agency.
    pub without_recipient: u64,
    /// Stages whose certificate's agency has no signature officer of its own (the notice went
    /// to one above it, or to no one): the Department's administrators were told, one notice
    /// each (counted in `notices` too).
    pub admins_told: u64,
}

/// One notice in a user's inbox.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: i64,
    /// `expiry` (a certificate expires) or `document` (a step of the outgoing-document flow).
    pub kind: String,
    /// The certificate of an expiry notice.
    pub certificate_id: Option<i64>,
    /// Of an expiry notice: 60, 30 or 7 days before expiry, or 0 once expired.
    pub stage_days: Option<i64>,
    /// Sent to the managing agency (escalation), not to the holder's own officers.
    pub escalated: bool,
    /// The document of a document notice.
    pub document_id: Option<i64>,
    /// Of a document notice: the step taken (`submit`, `return`, … `recall`), or `delivery`
    /// for the clerk of an agency the document was sent to.
    pub event: String,
    /// The page the notice leads to (`/documents/12`); empty for an expiry notice.
    pub link: String,
    /// In Vietnamese.
    pub subject: String,
    /// In English (empty: only the Vietnamese subject exists).
    pub subject_en: String,
    /// The Vietnamese text, then `\n\n---\n` and the English text.
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub emailed_at: Option<OffsetDateTime>,
}

/// A notice waiting to be e-mailed.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub notice_id: i64,
    /// The recipient's address and name.
    pub to: String,
    pub to_name: String,
    pub subject: String,
    /// As stored: the Vietnamese text, [`BODY_SEPARATOR`], the English text; a document
    /// notice's lines end in its relative `link` (see [`PendingEmail::email_body`]).
    pub body: String,
    /// The page or file the notice leads to, relative to the server (`/documents/12`); empty
    /// when none.
    pub link: String,
}

impl PendingEmail {
    /// The text to e-mail: the body with its link made absolute on `public_url`
    /// (`https://kyso.example.gov.vn`, the server's address as its users reach it). A relative
    /// path means nothing in a mail reader, so without a public URL the link is replaced by
    /// words saying where to find the document and why the mail carries no link.
    pub fn email_body(&self, public_url: Option<&str>) -> String {
        email_body(&self.body, &self.link, public_url)
    }
}

/// See [`PendingEmail::email_body`].
fn email_body(body: &str, link: &str, public_url: Option<&str>) -> String {
    if !link.starts_with('/') {
        return body.to_owned();
    }
    let (vi, en) = body.split_once(BODY_SEPARATOR).unwrap_or((body, ""));
    let base = public_url.map(|u| u.trim_end_matches('/'));
    let at = format!(": {link}");
    // Only a line ending in the link is changed (so /documents/12 is not found in …/123).
    let swap = |text: &str, instead: &str| -> String {
        text.split('\n')
            .map(|line| match line.strip_suffix(at.as_str()) {
                Some(head) => format!("{head}: {instead}"),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (vi, en) = match base {
        Some(base) => {
            let full = format!("{base}{link}");
            (swap(vi, &full), swap(en, &full))
        }
        None => (
            swap(
                vi,
                "đăng nhập kyso và mở mục Thông báo (máy chủ chưa được cấu hình địa chỉ truy cập \
                 --public-url nên thư này không kèm đường dẫn)",
            ),
            swap(
                en,
                "sign in to kyso and open Notices (the server has no public address configured, \
                 --public-url, so this mail carries no link)",
            ),
        ),
    };
    if body.contains(BODY_SEPARATOR) {
        format!("{vi}{BODY_SEPARATOR}{en}")
    } else {
        vi
    }
}

/// A certificate the scan looks at.
struct Candidate {
    id: i64,
    serial: String,
    subject: String,
    holder: Option<String>,
    not_after: OffsetDateTime,
    path: String,
    agency_name: String,
    renewed: bool,
}

fn ts(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Run the expiry scan as the system (the scheduled job).
pub async fn run_expiry_scan(store: &Store, now: OffsetDateTime) -> Result<ScanSummary> {
    run_expiry_scan_by(store, &Actor::system(), now).await
}

/// Run the expiry scan now on behalf of `actor`, who must be a Department administrator (the
/// scan covers the whole registry). The audit entry names the actor.
pub async fn run_expiry_scan_by(
    store: &Store,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<ScanSummary> {
    let nowu = now.unix_timestamp();
    let mut tx = store.begin_write(actor, crate::On::Registry).await?;
    let rows = sqlx::query(
        "SELECT c.id, c.serial, c.subject, s.name, c.not_after, a.path, a.name, \
         (SELECT COUNT(*) FROM certificates n WHERE n.subscriber_id = c.subscriber_id \
          AND n.id <> c.id AND n.status = 'active' AND n.not_after > c.not_after) \
         FROM certificates c JOIN agencies a ON a.id = c.agency_id \
         LEFT JOIN subscribers s ON s.id = c.subscriber_id \
         WHERE c.status = 'active' AND c.not_after <= $1 AND c.not_after >= $2 \
         ORDER BY c.not_after, c.id",
    )
    .bind(nowu.saturating_add(61 * 86_400))
    .bind(nowu.saturating_sub(EXPIRED_LOOKBACK_DAYS * 86_400))
    .fetch_all(tx.conn())
    .await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        candidates.push(Candidate {
            id: row.try_get(0)?,
            serial: row.try_get(1)?,
            subject: row.try_get(2)?,
            holder: row.try_get(3)?,
            not_after: ts(row.try_get(4)?),
            path: row.try_get(5)?,
            agency_name: row.try_get(6)?,
            renewed: row.try_get::<i64, _>(7)? > 0,
        });
    }
    let mut summary = ScanSummary {
        certificates: candidates.len() as u64,
        ..ScanSummary::default()
    };
    for c in &candidates {
        if c.renewed {
            summary.renewed += 1;
            continue;
        }
        let sent: Vec<i64> = sqlx::query_scalar(
            "SELECT stage_days FROM notice_stages_sent WHERE certificate_id = $1",
        )
        .bind(c.id)
        .fetch_all(tx.conn())
        .await?;
        let sent: Vec<u32> = sent
            .into_iter()
            .filter_map(|d| u32::try_from(d).ok())
            .collect();
        let Some(stage) = due_stage(c.not_after, now, &sent, false) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO notice_stages_sent (certificate_id, stage_days, sent_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(c.id)
        .bind(i64::from(stage.stage_days))
        .bind(nowu)
        .execute(tx.conn())
        .await?;
        summary.stages += 1;
        let (officers, escalation, own) = recipients(&mut tx, &c.path, stage.escalate).await?;
        if officers.is_empty() && escalation.is_empty() {
            summary.without_recipient += 1;
        }
        let subject = subject_vi(c, stage, now);
        if !own {
            // The agency has no officer of its own: the Department's administrators above it
            // are told, so that someone is named (issue 20 item 5).
            let told: Vec<i64> = department_admins(&mut tx, &c.path)
                .await?
                .into_iter()
                .filter(|u| !officers.contains(u) && !escalation.contains(u))
                .collect();
            if !told.is_empty() {
                summary.admins_told += 1;
            }
            let (subject, body) = no_officer_text(c, &officers, &escalation, &subject);
            for user_id in told {
                sqlx::query(
                    "INSERT INTO notices (user_id, certificate_id, stage_days, escalated, \
                     subject, body, created_at) VALUES ($1, $2, $3, 1, $4, $5, $6)",
                )
                .bind(user_id)
                .bind(c.id)
                .bind(i64::from(stage.stage_days))
                .bind(&subject)
                .bind(&body)
                .bind(nowu)
                .execute(tx.conn())
                .await?;
                summary.notices += 1;
                summary.escalated += 1;
            }
        }
        for (users, escalated) in [(officers, false), (escalation, true)] {
            let body = body_text(c, stage, now, escalated);
            for user_id in users {
                sqlx::query(
                    "INSERT INTO notices (user_id, certificate_id, stage_days, escalated, \
                     subject, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(user_id)
                .bind(c.id)
                .bind(i64::from(stage.stage_days))
                .bind(i64::from(escalated))
                .bind(&subject)
                .bind(&body)
                .bind(nowu)
                .execute(tx.conn())
                .await?;
                summary.notices += 1;
                if escalated {
                    summary.escalated += 1;
                }
            }
        }
    }
    tx.commit_audited(
        Event {
            action: "notice.scan",
            object: "notices".into(),
            agency: None,
            detail: serde_json::to_value(summary).unwrap_or_else(|_| json!({})),
        },
        now,
    )
    .await?;
    Ok(summary)
}

/// The Department administrators (enabled accounts) whose agency is the one at `path` or
/// above it.
async fn department_admins(tx: &mut crate::WriteTx, path: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT r.user_id, a.path FROM user_roles r JOIN agencies a ON a.id = r.agency_id \
         JOIN users u ON u.id = r.user_id WHERE r.role = $1 AND u.disabled = 0 ORDER BY r.user_id",
    )
    .bind(Role::DostAdmin.as_str())
    .fetch_all(tx.conn())
    .await?;
    let mut users = Vec::new();
    for row in rows {
        let user: i64 = row.try_get(0)?;
        let granted: String = row.try_get(1)?;
        if path.starts_with(granted.as_str()) && !users.contains(&user) {
            users.push(user);
        }
    }
    Ok(users)
}

/// The notice to a Department administrator when the certificate's agency has no signature
/// officer: what expires, and who was told instead (or that no one was).
fn no_officer_text(
    c: &Candidate,
    officers: &[i64],
    escalation: &[i64],
    subject: &str,
) -> (String, String) {
    let subject = format!(
        "{} chưa có cán bộ phụ trách chữ ký số — {subject}",
        c.agency_name
    );
    let told = officers.len() + escalation.len();
    let body = if told == 0 {
        format!(
            "{subject}.\n{} và các cơ quan cấp trên chưa có tài khoản cán bộ phụ trách chữ ký số \
             nào đang hoạt động, nên không ai nhận được thông báo hết hạn này. Việc cần làm: \
             tạo tài khoản (vai trò Cán bộ phụ trách chữ ký số) cho cơ quan, hoặc báo trực tiếp \
             cho người giữ chứng thư số.\n\n{} has no active digital signature officer, nor \
             has any agency above it: no one received this expiry notice. Create an account with \
             that role for the agency, or tell the holder directly.",
            c.agency_name, c.agency_name
        )
    } else {
        format!(
            "{subject}.\n{} chưa có tài khoản cán bộ phụ trách chữ ký số nên thông báo hết hạn \
             được gửi cho {told} cán bộ của cơ quan cấp trên. Việc cần làm: tạo tài khoản (vai \
             trò Cán bộ phụ trách chữ ký số) cho cơ quan để thông báo đến đúng người.\n\n{} has \
             no digital signature officer: the expiry notice went to {told} officer(s) of an \
             agency above it. Create an account with that role for the agency so that notices \
             reach the right person.",
            c.agency_name, c.agency_name
        )
    };
    (subject, body)
}

/// The signature officers to notify for a certificate of the agency at `path`: those of the
/// nearest agency (itself or an ancestor) that has any, and — when `escalate` — those of the
/// next agency above that one that has any; and whether the nearest is the agency itself.
/// Enabled accounts only; no one twice.
async fn recipients(
    tx: &mut crate::WriteTx,
    path: &str,
    escalate: bool,
) -> Result<(Vec<i64>, Vec<i64>, bool)> {
    let rows = sqlx::query(
        "SELECT r.user_id, a.path FROM user_roles r JOIN agencies a ON a.id = r.agency_id \
         JOIN users u ON u.id = r.user_id WHERE r.role = $1 AND u.disabled = 0 \
         ORDER BY r.user_id",
    )
    .bind(Role::SignatureOfficer.as_str())
    .fetch_all(tx.conn())
    .await?;
    // Officers at each level, deepest (nearest) first.
    let mut by_depth: Vec<(usize, Vec<i64>)> = Vec::new();
    let mut own = false;
    for row in rows {
        let user: i64 = row.try_get(0)?;
        let granted: String = row.try_get(1)?;
        if !path.starts_with(granted.as_str()) {
            continue;
        }
        own |= granted == path;
        let depth = granted.matches('/').count();
        match by_depth.iter_mut().find(|(d, _)| *d == depth) {
            Some((_, users)) => users.push(user),
            None => by_depth.push((depth, vec![user])),
        }
    }
    by_depth.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    let mut levels = by_depth.into_iter().map(|(_, users)| users);
    let officers = levels.next().unwrap_or_default();
    let escalation = if escalate {
        levels
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !officers.contains(u))
            .collect()
    } else {
        Vec::new()
    };
    Ok((officers, escalation, own))
}

fn date_vi(t: OffsetDateTime) -> String {
    kyso_domain::calendar::date_text(t)
}

/// Whole days left, rounded up (30 days minus a second is still "30 days").
fn days_left(c: &Candidate, now: OffsetDateTime) -> i64 {
    let left = c.not_after - now;
    let days = left.whole_days();
    if left > Duration::days(days) {
        days + 1
    } else {
        days
    }
}

fn holder(c: &Candidate) -> &str {
    c.holder.as_deref().unwrap_or(c.subject.as_str())
}

/// "Chứng thư số của Nguyễn Văn An (số hiệu 1001) hết hạn sau 30 ngày (ngày 01/07/2026)".
fn subject_vi(c: &Candidate, stage: Stage, now: OffsetDateTime) -> String {
    if stage.is_expired() {
        format!(
            "Chứng thư số của {} (số hiệu {}) đã hết hạn (ngày {})",
            holder(c),
            c.serial,
            date_vi(c.not_after)
        )
    } else {
        format!(
            "Chứng thư số của {} (số hiệu {}) hết hạn sau {} ngày (ngày {})",
            holder(c),
            c.serial,
            days_left(c, now),
            date_vi(c.not_after)
        )
    }
}

fn body_text(c: &Candidate, stage: Stage, now: OffsetDateTime, escalated: bool) -> String {
    let who = holder(c);
    let date = date_vi(c.not_after);
    let mut vi = if stage.is_expired() {
        format!(
            "Chứng thư số của {who} (số hiệu {}, cơ quan {}) đã hết hạn vào ngày {date}. \
             Văn bản ký bằng chứng thư số đã hết hạn không còn giá trị.\n\
             Việc cần làm: hãy lập đề nghị gia hạn (Mẫu 04) hoặc đề nghị cấp mới và gửi \
             Sở Khoa học và Công nghệ ngay.",
            c.serial, c.agency_name
        )
    } else {
        format!(
            "Chứng thư số của {who} (số hiệu {}, cơ quan {}) hết hạn sau {} ngày, vào ngày {date}.\n\
             Việc cần làm: hãy lập đề nghị gia hạn (Mẫu 04) và gửi Sở Khoa học và Công nghệ \
             trước ngày hết hạn để việc ký số không bị gián đoạn. Khi chứng thư mới được ghi \
             nhận, các thông báo này sẽ dừng.",
            c.serial,
            c.agency_name,
            days_left(c, now)
        )
    };
    if escalated {
        vi.push_str(
            "\nThông báo này được gửi tới cơ quan quản lý vì chứng thư số sắp hết hạn hoặc đã \
             hết hạn mà chưa được gia hạn.",
        );
    }
    let en = if stage.is_expired() {
        format!(
            "The certificate of {who} (serial {}) expired on {date}. Request its renewal \
             (form 04) or a new certificate now.",
            c.serial
        )
    } else {
        format!(
            "The certificate of {who} (serial {}) expires in {} days, on {date}. Request its \
             renewal (form 04) before then.",
            c.serial,
            days_left(c, now)
        )
    };
    format!("{vi}\n\n---\n{en}\n")
}

fn notice_from(row: &sqlx::any::AnyRow) -> Result<Notice> {
    Ok(Notice {
        id: row.try_get(0)?,
        certificate_id: row.try_get(1)?,
        stage_days: row.try_get(2)?,
        escalated: row.try_get::<i64, _>(3)? != 0,
        subject: row.try_get(4)?,
        body: row.try_get(5)?,
        created_at: ts(row.try_get(6)?),
        read_at: row.try_get::<Option<i64>, _>(7)?.map(ts),
        emailed_at: row.try_get::<Option<i64>, _>(8)?.map(ts),
        kind: row.try_get(9)?,
        document_id: row.try_get(10)?,
        event: row.try_get(11)?,
        link: row.try_get(12)?,
        subject_en: row.try_get(13)?,
    })
}

impl Notice {
    /// The subject in the reader's language.
    pub fn subject_in(&self, english: bool) -> &str {
        if english && !self.subject_en.is_empty() {
            &self.subject_en
        } else {
            &self.subject
        }
    }

    /// The text in the reader's language (the body holds both, Vietnamese first).
    pub fn body_in(&self, english: bool) -> &str {
        let (vi, en) = self
            .body
            .split_once(BODY_SEPARATOR)
            .unwrap_or((self.body.as_str(), ""));
        if english && !en.trim().is_empty() {
            en.trim_end()
        } else {
            vi.trim_end()
        }
    }
}

/// What separates the Vietnamese text of a notice from the English one.
pub const BODY_SEPARATOR: &str = "\n\n---\n";

/// The actor's own notices, newest first (at most 500).
pub async fn inbox(store: &Store, actor: &Actor, unread_only: bool) -> Result<Vec<Notice>> {
    let rows = sqlx::query(
        "SELECT id, certificate_id, stage_days, escalated, subject, body, created_at, read_at, \
         emailed_at, kind, document_id, event, link, subject_en FROM notices \
         WHERE user_id = $1 AND ($2 = 0 OR read_at IS NULL) \
         ORDER BY created_at DESC, id DESC LIMIT 500",
    )
    .bind(actor.user_id)
    .bind(i64::from(unread_only))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(notice_from).collect()
}

/// Mark one of the actor's notices read (again is a no-op). Someone else's notice is not found.
pub async fn mark_read(store: &Store, actor: &Actor, id: i64, now: OffsetDateTime) -> Result<()> {
    let mut tx = store.begin_write(actor, crate::On::Own).await?;
    let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM notices WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    if owner != Some(actor.user_id) {
        return Err(Error::NotFound {
            what: crate::Record::Notice,
        });
    }
    sqlx::query("UPDATE notices SET read_at = $1 WHERE id = $2 AND read_at IS NULL")
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Notices still to e-mail: not yet sent, to enabled users with an address, written within
/// the last [`EMAIL_RETRY_DAYS`] days; oldest first, at most 200 per call.
pub async fn pending_emails(store: &Store, now: OffsetDateTime) -> Result<Vec<PendingEmail>> {
    let rows = sqlx::query(
        "SELECT n.id, u.email, u.full_name, n.subject, n.body, n.link FROM notices n \
         JOIN users u ON u.id = n.user_id WHERE n.emailed_at IS NULL AND u.email <> '' \
         AND u.disabled = 0 AND n.created_at >= $1 ORDER BY n.id LIMIT 200",
    )
    .bind(
        now.unix_timestamp()
            .saturating_sub(EMAIL_RETRY_DAYS * 86_400),
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingEmail {
                notice_id: r.try_get(0)?,
                to: r.try_get(1)?,
                to_name: r.try_get(2)?,
                subject: r.try_get(3)?,
                body: r.try_get(4)?,
                link: r.try_get(5)?,
            })
        })
        .collect()
}

/// Record the outcome of e-mailing a notice: `Ok(())` marks it sent; `Err(reason)` keeps it
/// pending (it is retried until [`EMAIL_RETRY_DAYS`] have passed) and stores the reason.
pub async fn mark_emailed(
    store: &Store,
    notice_id: i64,
    outcome: std::result::Result<(), &str>,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = store
        .begin_write(&Actor::system(), crate::On::System)
        .await?;
    match outcome {
        Ok(()) => {
            sqlx::query("UPDATE notices SET emailed_at = $1, email_error = '' WHERE id = $2")
                .bind(now.unix_timestamp())
                .bind(notice_id)
                .execute(tx.conn())
                .await?
        }
        Err(reason) => {
            let reason: String = reason.chars().take(500).collect();
            sqlx::query("UPDATE notices SET email_error = $1 WHERE id = $2")
                .bind(reason)
                .bind(notice_id)
                .execute(tx.conn())
                .await?
        }
    };
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn cert(holder: Option<&str>, not_after: OffsetDateTime) -> Candidate {
        Candidate {
            id: 1,
            serial: "1001".into(),
            subject: "CN=Nguyen Van An".into(),
            holder: holder.map(Into::into),
            not_after,
            path: "/1/".into(),
            agency_name: "Sở Tài chính".into(),
            renewed: false,
        }
    }

    #[test]
    fn e_mailed_links_are_absolute_or_say_why_there_is_none() {
        let body = format!(
            "Văn bản chờ ông/bà.\nXem văn bản: /documents/12{BODY_SEPARATOR}A document awaits \
             you.\nOpen the document: /documents/12\n"
        );
        let full = email_body(&body, "/documents/12", Some("https://kyso.example.gov.vn/"));
        assert!(
            full.contains("Xem văn bản: https://kyso.example.gov.vn/documents/12\n"),
            "{full}"
        );
        assert!(full.contains("Open the document: https://kyso.example.gov.vn/documents/12\n"));
        assert!(!full.contains(": /documents"), "{full}");
        // Without a public address no path is sent, and the mail says why, in each language.
        let bare = email_body(&body, "/documents/12", None);
        assert!(!bare.contains("/documents/12"), "{bare}");
        let (vi, en) = bare.split_once(BODY_SEPARATOR).unwrap();
        assert!(vi.contains("Xem văn bản: đăng nhập kyso"), "{vi}");
        assert!(vi.contains("không kèm đường dẫn") && !vi.contains("no link"));
        assert!(en.contains("Open the document: sign in to kyso") && en.contains("no link"));
        // Only the line ending in this notice's link changes; a notice without one is as is.
        let other = "Xem văn bản: /documents/123";
        assert_eq!(
            email_body(other, "/documents/12", Some("https://k.vn")),
            other
        );
        assert_eq!(email_body(&body, "", None), body);
    }

    #[test]
    fn the_subject_names_the_holder_the_serial_and_the_local_date() {
        // 17:00 UTC on 30 June is already 1 July in Vietnam.
        let c = cert(Some("Nguyễn Văn An"), datetime!(2026-06-30 17:00 UTC));
        let now = datetime!(2026-05-31 17:00 UTC);
        assert_eq!(
            subject_vi(&c, Stage::new(30), now),
            "Chứng thư số của Nguyễn Văn An (số hiệu 1001) hết hạn sau 30 ngày (ngày 01/07/2026)"
        );
        // A run an hour later still says 30 days (rounded up), not 29.
        assert!(subject_vi(&c, Stage::new(30), now + Duration::hours(1)).contains("sau 30 ngày"));
        assert_eq!(
            subject_vi(&c, Stage::new(0), c.not_after),
            "Chứng thư số của Nguyễn Văn An (số hiệu 1001) đã hết hạn (ngày 01/07/2026)"
        );
    }

    #[test]
    fn the_body_says_what_to_do_and_why_the_managing_agency_hears_of_it() {
        let c = cert(None, datetime!(2026-06-30 17:00 UTC));
        let now = datetime!(2026-06-23 17:00 UTC);
        let own = body_text(&c, Stage::new(7), now, false);
        assert!(
            own.contains("CN=Nguyen Van An"),
            "without a subscriber, the subject"
        );
        assert!(
            own.contains("Hãy lập đề nghị gia hạn (Mẫu 04)")
                || own.contains("hãy lập đề nghị gia hạn (Mẫu 04)")
        );
        assert!(!own.contains("cơ quan quản lý"));
        let up = body_text(&c, Stage::new(7), now, true);
        assert!(up.contains("cơ quan quản lý"));
        assert!(up.contains("expires in 7 days"));
    }
}
