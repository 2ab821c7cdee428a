//! E-mail of inbox notices over SMTP, and the notice job of `kyso serve`.
//!
//! The server runs [`kyso_store::notices::run_expiry_scan`] at start and then every hour
//! ([`run_notice_job`]); when SMTP is configured, the notices waiting in the store — those the
//! scan wrote, those the steps of the outgoing-document flow wrote (every minute, so that the
//! next person hears of a document soon), and earlier ones whose sending failed, for
//! [`kyso_store::notices::EMAIL_RETRY_DAYS`] days — are e-mailed to their recipients. The SMTP server is named by a URL — `smtp://host:port` (plain SMTP, as on
//! an agency's internal relay), `smtp://host:port?tls=required` (STARTTLS) or
//! `smtps://host:port` (implicit TLS) — with an optional user name in it
//! (`smtp://user@host:587?tls=required`); the password never travels in the URL (it would show
//! in the process list): the binary reads it from `KYSO_SMTP_PASSWORD`. The notices' links
//! are made absolute on the server's public address (`--public-url`); without it a mail says
//! where to find the document instead of carrying a path its reader could not open.

use std::time::Duration;

use kyso_store::notices::{self, PendingEmail};
use kyso_store::Store;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use zeroize::Zeroizing;

use crate::Clock;

/// How often the server scans for expiring certificates.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(3600);

/// How often the server e-mails the notices waiting (the document flow's are written at
/// each step).
pub const SEND_INTERVAL: Duration = Duration::from_secs(60);

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The `--smtp-url` is not an SMTP URL lettre understands.
    #[error("invalid SMTP URL {url}: {reason}")]
    Url { url: String, reason: String },
    /// The URL carries a password (it must come from `KYSO_SMTP_PASSWORD`).
    #[error("the SMTP URL must not contain a password; set KYSO_SMTP_PASSWORD instead")]
    PasswordInUrl,
    /// The sender address is not an e-mail address.
    #[error("invalid sender address {from}: {reason}")]
    From { from: String, reason: String },
}

impl MailError {
    /// The message in Vietnamese (`english == false`) or English.
    pub fn message(&self, english: bool) -> String {
        if english {
            return self.to_string();
        }
        match self {
            MailError::Url { url, reason } => format!(
                "địa chỉ máy chủ thư không hợp lệ {url} (dùng smtp://máy:cổng, \
                 smtp://máy:cổng?tls=required hoặc smtps://máy:cổng): {reason}"
            ),
            MailError::PasswordInUrl => "địa chỉ máy chủ thư không được chứa mật khẩu; hãy đặt \
                 biến môi trường KYSO_SMTP_PASSWORD"
                .to_owned(),
            MailError::From { from, reason } => {
                format!("địa chỉ người gửi không hợp lệ {from}: {reason}")
            }
        }
    }
}

/// SMTP settings of `kyso serve`.
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://[user@]host:port[?tls=required]` or `smtps://[user@]host:port`.
    pub url: String,
    /// The sender, e.g. `kyso@skhcn.example.gov.vn` or `Sở KH&CN <kyso@…>`.
    pub from: String,
    /// The password for the URL's user name (from `KYSO_SMTP_PASSWORD`).
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &self.url)
            .field("from", &self.from)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Sends notices by e-mail.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server's address as its users reach it (`--public-url`), on which the notices'
    /// links are made absolute; `None`: the mails say they carry no link.
    public_url: Option<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Why a mail was not sent.
#[derive(Debug, Clone)]
pub(crate) struct SendError {
    pub reason: String,
    /// Refused for good: sending it again would be refused again.
    pub permanent: bool,
}

/// What one sending round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendSummary {
    pub sent: u64,
    pub failed: u64,
}

impl Mailer {
    /// A mailer for `config` (nothing is contacted yet).
    pub fn new(config: &SmtpConfig) -> Result<Mailer, MailError> {
        let bad_url = |reason: String| MailError::Url {
            url: config.url.clone(),
            reason,
        };
        // The userinfo, if any, is what lies between "://" and the last '@' before the host.
        let rest = config
            .url
            .split_once("://")
            .map(|(_, r)| r)
            .ok_or_else(|| bad_url("no scheme".into()))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let user = match authority.rsplit_once('@') {
            Some((userinfo, _)) if userinfo.contains(':') => return Err(MailError::PasswordInUrl),
            Some((userinfo, _)) => Some(userinfo.to_owned()),
            None => None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| bad_url(e.to_string()))?
            .timeout(Some(Duration::from_secs(30)));
        if let Some(user) = user {
            let password = config
                .password
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::From {
                from: config.from.clone(),
                reason: e.to_string(),
            })?;
        Ok(Mailer {
            transport: builder.build(),
            from,
            public_url: None,
        })
    }

    /// The same mailer making the notices' links absolute on `public_url`
    /// (`https://kyso.example.gov.vn`, see [`PendingEmail::email_body`]).
    pub fn with_public_url(mut self, public_url: Option<String>) -> Mailer {
        self.public_url = public_url;
        self
    }

    async fn send_one(&self, m: &PendingEmail) -> Result<(), String> {
        let body = m.email_body(self.public_url.as_deref());
        self.send_text(&m.to, &m.to_name, &m.subject, body, None)
            .await
            .map_err(|e| e.reason)
    }

    /// Send one plain-text mail to `to` (`to_name` shown beside it), with `message_id` as its
    /// `Message-ID` when given (the same id for the same message sent again). Whether a
    /// failure is for good: an address that does not parse, or a permanent (5xx) SMTP reply.
    pub(crate) async fn send_text(
        &self,
        to: &str,
        to_name: &str,
        subject: &str,
        body: String,
        message_id: Option<String>,
    ) -> Result<(), SendError> {
        let address = to
            .parse()
            .map_err(|e: lettre::address::AddressError| SendError {
                reason: format!("invalid recipient address {to}: {e}"),
                permanent: true,
            })?;
        let name = (!to_name.trim().is_empty()).then(|| to_name.to_owned());
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(subject)
            .message_id(message_id)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError {
                reason: e.to_string(),
                permanent: true,
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError {
                permanent: e.is_permanent(),
                reason: e.to_string(),
            })
    }

    /// The domain of the sender's address (for `Message-ID`s).
    pub(crate) fn sender_domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    /// E-mail every pending notice, recording each outcome in the store.
    pub async fn send_pending(
        &self,
        store: &Store,
        now: time::OffsetDateTime,
    ) -> kyso_store::Result<SendSummary> {
        let mut summary = SendSummary::default();
        for m in notices::pending_emails(store, now).await? {
            match self.send_one(&m).await {
                Ok(()) => {
                    notices::mark_emailed(store, m.notice_id, Ok(()), now).await?;
                    summary.sent += 1;
                }
                Err(reason) => {
                    notices::mark_emailed(store, m.notice_id, Err(&reason), now).await?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }
}

/// One round of the notice job: scan (certificates expiring, incoming documents near their
/// handling deadline), then e-mail what is pending. Errors go to the log; the
/// job carries on at the next round.
pub async fn notice_round(store: &Store, clock: &Clock, mailer: Option<&Mailer>) {
    match notices::run_expiry_scan(store, clock()).await {
        Ok(s) if s.notices > 0 || s.stages > 0 => tracing::info!(
            notices = s.notices,
            certificates = s.stages,
            escalated = s.escalated,
            "expiry scan: {} notice(s) for {} certificate(s) ({} escalated)",
            s.notices,
            s.stages,
            s.escalated
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "expiry scan failed"),
    }
    match kyso_store::incoming::run_deadline_reminders(store, clock()).await {
        Ok(s) if s.notices > 0 => tracing::info!(
            notices = s.notices,
            stages = s.stages,
            "handling deadlines: {} reminder notice(s) for {} stage(s) due",
            s.notices,
            s.stages
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "handling deadline reminders failed"),
    }
    send_round(store, clock, mailer).await;
}

/// One round of `kyso serve`'s notice job: the deliveries inside kyso not arrived yet are taken
/// in first ([`crate::incoming::arrive_pending`], as the system: those a dispatch's own
/// background arrival missed), then [`notice_round`].
pub async fn server_round(st: &crate::AppState, mailer: Option<&Mailer>) {
    crate::incoming::arrive_pending(st, None).await;
    notice_round(&st.store, &st.clock, mailer).await;
}

/// E-mail the notices and status messages waiting, if SMTP is configured, and give up the
/// status messages that cannot be sent. Errors go to the log.
pub async fn send_round(store: &Store, clock: &Clock, mailer: Option<&Mailer>) {
    if let Some(mailer) = mailer {
        match mailer.send_pending(store, clock()).await {
            Ok(s) if s.failed > 0 => tracing::warn!(
                sent = s.sent,
                failed = s.failed,
                "e-mailed {} notice(s), {} failed (retried next hour)",
                s.sent,
                s.failed
            ),
            Ok(s) if s.sent > 0 => tracing::info!(sent = s.sent, "e-mailed {} notice(s)", s.sent),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "e-mailing notices failed"),
        }
        crate::status_mail::send_round(store, clock, mailer).await;
    }
    // E-mail status messages that can no longer go (their retry window passed; none at all
    // without SMTP) are given up, and the clerks told, so that they tell the sender otherwise.
    crate::status_mail::give_up_round(store, clock, mailer.is_none()).await;
}

/// The notice job: a round (pending deliveries, scan and send) at once and every
/// [`SCAN_INTERVAL`], and in between the pending deliveries taken in and the waiting notices
/// e-mailed every [`SEND_INTERVAL`], forever, on the node holding the job's lease (one of
/// several on the database). Spawn it on the server's runtime.
pub async fn run_notice_job(state: crate::AppState, mailer: Option<Mailer>) {
    let mut interval = tokio::time::interval(SEND_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_scan: Option<tokio::time::Instant> = None;
    loop {
        interval.tick().await;
        // One node at a time runs the job (a notice is e-mailed once, whatever the number of
        // nodes); another takes it over within two rounds when this one stops.
        if !state.leads("notice-job", SEND_INTERVAL * 2).await {
            last_scan = None;
            continue;
        }
        if last_scan.is_none_or(|t| t.elapsed() >= SCAN_INTERVAL) {
            last_scan = Some(tokio::time::Instant::now());
            server_round(&state, mailer.as_ref()).await;
        } else {
            crate::incoming::arrive_pending(&state, None).await;
            send_round(&state.store, &state.clock, mailer.as_ref()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, from: &str) -> SmtpConfig {
        SmtpConfig {
            url: url.into(),
            from: from.into(),
            password: None,
        }
    }

    #[test]
    fn smtp_urls_and_senders_are_checked_before_anything_is_sent() {
        assert!(Mailer::new(&config("smtp://127.0.0.1:2525", "kyso@example.vn")).is_ok());
        assert!(Mailer::new(&config(
            "smtp://kyso@mail.example.vn:587?tls=required",
            "Sở KH&CN <kyso@example.vn>"
        ))
        .is_ok());
        assert!(Mailer::new(&config("smtps://mail.example.vn", "kyso@example.vn")).is_ok());
        assert!(matches!(
            Mailer::new(&config(
                "smtp://kyso:secret@mail.example.vn",
                "kyso@example.vn"
            )),
            Err(MailError::PasswordInUrl)
        ));
        assert!(matches!(
            Mailer::new(&config("http://mail.example.vn", "kyso@example.vn")),
            Err(MailError::Url { .. })
        ));
        let e = Mailer::new(&config("smtp://127.0.0.1:2525", "not an address")).unwrap_err();
        assert!(matches!(e, MailError::From { .. }));
        assert!(e.message(false).contains("người gửi"));
    }
}
