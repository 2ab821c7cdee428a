//! The e-mail channel of the incoming documents' status messages (issue 18 item 3): a sender
//! outside kyso that gave an e-mail address is told of the refusal of its document (and of a
//! status the outbox holds for it) in Vietnamese, with the reason, the document's number,
//! notation, date and subject and the receiving agency, through the server's SMTP transport —
//! the same [`Mailer`] as the notices, in the same rounds of `kyso serve`'s notice job.
//!
//! Each round claims the messages due in the store (`kyso_store::incoming::claim_status_emails`:
//! claimed and counted before anything is sent, so no two rounds or nodes send one row), sends
//! each, and settles it (`settle_status_email`): sent once the SMTP server accepted it; a
//! failure keeps the row for the next attempt after the backoff (a minute, doubling, six hours
//! at most, for three days), a permanent refusal gives it up. A server stopped between the SMTP
//! server's acceptance and the settlement leaves the claim, and the row is sent again after
//! the claim lapses (ten minutes) with the same `Message-ID`: at-least-once in that window
//! alone, the duplicate recognisable by its id. A message that can no longer go — its three
//! days passed, or the server has no SMTP — is given up by [`give_up_round`] (every round), the
//! clerks told; they see it on the incoming document's page and in "Thư báo không gửi được"
//! (`ui::incoming_outbox`), to send it again or mark it handled.

use kyso_edxml::StatusCode;
use kyso_store::incoming::{self as inc, OutboxMessage, SendOutcome};
use kyso_store::Store;
use time::OffsetDateTime;

use crate::mailer::{Mailer, SendSummary};
use crate::Clock;

/// Messages claimed per round at most.
const PER_ROUND: i64 = 100;

fn date_vi(iso: &str) -> String {
    match kyso_edxml::parse_date(iso) {
        Some((y, m, d)) => format!("{d:02}/{m:02}/{y:04}"),
        None if iso.trim().is_empty() => "không ghi".to_owned(),
        None => iso.to_owned(),
    }
}

fn time_vi(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(kyso_domain::calendar::VIETNAM);
    format!(
        "{:02}:{:02} ngày {:02}/{:02}/{:04}",
        t.hour(),
        t.minute(),
        t.day(),
        u8::from(t.month()),
        t.year()
    )
}

fn status(m: &OutboxMessage) -> StatusCode {
    m.status_code
        .trim()
        .parse::<u8>()
        .ok()
        .and_then(StatusCode::from_number)
        .unwrap_or(StatusCode::Unlisted(0))
}

/// The subject and the text of the mail telling `m`'s sender (Vietnamese, then English).
pub fn compose(m: &OutboxMessage) -> (String, String) {
    let code = status(m);
    let number = match m.number_and_notation() {
        n if n.is_empty() => "(không ghi số)".to_owned(),
        n => n,
    };
    let date = date_vi(&m.doc_date);
    let refused = code == StatusCode::Refused;
    let subject = if refused {
        format!("Thông báo từ chối tiếp nhận văn bản số {number} ngày {date}")
    } else {
        format!(
            "Thông báo tình trạng văn bản số {number} ngày {date}: {}",
            code.label_vi()
        )
    };
    let to = if m.sender_name.is_empty() {
        "Quý cơ quan".to_owned()
    } else {
        m.sender_name.clone()
    };
    let reason_vi = if m.description.trim().is_empty() {
        String::new()
    } else {
        format!(
            "- {}: {}\n",
            if refused { "Lý do" } else { "Ghi chú" },
            m.description.trim()
        )
    };
    let reason_en = if m.description.trim().is_empty() {
        String::new()
    } else {
        format!(
            "- {}: {}\n",
            if refused { "Reason" } else { "Note" },
            m.description.trim()
        )
    };
    let advice_vi = if refused {
        "Văn bản không được vào sổ văn bản đến. Đề nghị Quý cơ quan kiểm tra, khắc phục và gửi lại nếu cần.\n"
    } else {
        ""
    };
    let advice_en = if refused {
        "The document was not entered in the incoming register. Please check it, correct it and send it again if needed.\n"
    } else {
        ""
    };
    let doc_type = if m.doc_type.is_empty() {
        String::new()
    } else {
        format!("- Loại văn bản: {}\n", m.doc_type)
    };
    let body = format!(
        "Kính gửi: {to}\n\n\
         {agency} (mã định danh {agency_code}) thông báo tình trạng tiếp nhận văn bản của Quý cơ quan:\n\
         - Số, ký hiệu: {number}\n\
         - Ngày văn bản: {date}\n\
         {doc_type}\
         - Trích yếu: {subject_line}\n\
         - Tình trạng: {label} (mã {code_xml})\n\
         {reason_vi}\
         - Thời điểm: {at}\n\n\
         {advice_vi}\n\
         Thư này do hệ thống quản lý văn bản của {agency} gửi tự động; xin không trả lời thư này.\n\
         {sep}\
         To: {to}\n\n\
         {agency} ({agency_code}) reports on the document you sent:\n\
         - Number: {number}\n\
         - Date: {date}\n\
         - Subject: {subject_line}\n\
         - Status: {label_en} (code {code_xml})\n\
         {reason_en}\n\
         {advice_en}\
         This message was sent automatically; please do not reply to it.\n",
        agency = m.agency_name,
        agency_code = m.agency_code,
        subject_line = m.subject,
        label = code.label_vi(),
        label_en = code.label_en(),
        code_xml = m.status_code,
        at = time_vi(m.created_at),
        sep = kyso_store::notices::BODY_SEPARATOR,
    );
    (subject, body)
}

/// The `Message-ID` of message `m`: the same every time it is sent.
fn message_id(m: &OutboxMessage, domain: &str) -> String {
    format!("<kyso-status-{}-{}@{domain}>", m.id, m.created_at)
}

/// Send the e-mail status messages due now; each settled in the store.
pub async fn send_pending(
    mailer: &Mailer,
    store: &Store,
    now: OffsetDateTime,
) -> kyso_store::Result<SendSummary> {
    let mut summary = SendSummary::default();
    let domain = mailer.sender_domain();
    for m in inc::claim_status_emails(store, now, PER_ROUND).await? {
        let (subject, body) = compose(&m);
        let to_name = m.sender_name.clone();
        let outcome = match mailer
            .send_text(
                &m.recipient,
                &to_name,
                &subject,
                body,
                Some(message_id(&m, &domain)),
            )
            .await
        {
            Ok(()) => {
                summary.sent += 1;
                SendOutcome::Sent
            }
            Err(e) => {
                summary.failed += 1;
                tracing::warn!(outbox = m.id, attempts = m.attempts, permanent = e.permanent,
                    error = %e.reason, "a status message could not be e-mailed");
                if e.permanent {
                    SendOutcome::GiveUp(e.reason)
                } else {
                    SendOutcome::Retry(e.reason)
                }
            }
        };
        inc::settle_status_email(store, m.id, &outcome, now).await?;
    }
    Ok(summary)
}

/// One round: the e-mail status messages due, sent. Errors go to the log.
pub async fn send_round(store: &Store, clock: &Clock, mailer: &Mailer) {
    match send_pending(mailer, store, clock()).await {
        Ok(s) if s.failed > 0 => tracing::warn!(
            sent = s.sent,
            failed = s.failed,
            "e-mailed {} status message(s), {} failed (retried later)",
            s.sent,
            s.failed
        ),
        Ok(s) if s.sent > 0 => {
            tracing::info!(sent = s.sent, "e-mailed {} status message(s)", s.sent)
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "e-mailing status messages failed"),
    }
}

/// Give up the e-mail status messages that can no longer be sent (their retry window passed;
/// every one waiting when `no_mailer`: the server has no SMTP): each once, its clerks told in
/// their inbox (`kyso_store::incoming::give_up_stale_status_emails`). Errors go to the log.
pub async fn give_up_round(store: &Store, clock: &Clock, no_mailer: bool) {
    match inc::give_up_stale_status_emails(store, clock(), no_mailer).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            given_up = n,
            no_mailer,
            "{n} status message(s) could not be e-mailed and were given up; the clerks are told"
        ),
        Err(e) => tracing::error!(error = %e, "giving up unsendable status messages failed"),
    }
}
