//! The dashboard's counts inside the reader's subtrees.

use sqlx::Row as _;

use super::*;

/// What the dashboard shows for the actor's agencies.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub agencies: i64,
    pub subscribers: i64,
    pub certificates_active: i64,
    pub expiring_60: i64,
    pub expiring_30: i64,
    pub expiring_7: i64,
    pub expired: i64,
    pub revoked: i64,
    pub devices_locked: i64,
    pub devices_lost: i64,
    /// Requests not yet done, refused or withdrawn.
    pub open_requests: i64,
    /// Requests sent or in processing past their deadline.
    pub overdue_requests: i64,
    /// The first certificates to expire (within 60 days).
    pub soonest: Vec<Certificate>,
}

/// Counts for the dashboard, inside the actor's subtrees: four queries, one pass over each
/// table (the certificate figures are sums over one scan of the covering index
/// `certificates_agency_status`), then the ten soonest expiries.
pub async fn dashboard(store: &Store, actor: &Actor, now: OffsetDateTime) -> Result<Dashboard> {
    let (scope, params) = actor.scope(Permission::ReadRegistry).sql("a.path", 5);
    let nowu = now.unix_timestamp();
    let day = 86_400i64;
    // $1 now, $2–$4 the ends of the 60/30/7-day windows, then the scope's paths.
    let run = |sql: String| {
        let params = params.clone();
        async move {
            let mut q = sqlx::query(&sql)
                .bind(nowu)
                .bind(nowu + 60 * day)
                .bind(nowu + 30 * day)
                .bind(nowu + 7 * day);
            for p in &params {
                q = q.bind(p.clone());
            }
            q.fetch_one(store.pool()).await.map_err(Error::from)
        }
    };
    let sum = |cond: &str| format!("COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)");
    let valid = "c.status = 'active' AND c.not_after >= $1";
    let where_ = format!("WHERE {scope} AND $1 = $1 AND $2 = $2 AND $3 = $3 AND $4 = $4");
    // Five counts and the soonest expiries, asked at once on as many connections.
    let (agencies, subscribers, certs, devices, requests, soonest) = tokio::try_join!(
        run(format!("SELECT COUNT(*) FROM agencies a {where_}")),
        run(format!(
            "SELECT COUNT(*) FROM subscribers s JOIN agencies a ON a.id = s.agency_id {where_}"
        )),
        run(format!(
            "SELECT {}, {}, {}, {}, {}, {} FROM certificates c \
             JOIN agencies a ON a.id = c.agency_id {where_}",
            sum(valid),
            sum(&format!("{valid} AND c.not_after <= $2")),
            sum(&format!("{valid} AND c.not_after <= $3")),
            sum(&format!("{valid} AND c.not_after <= $4")),
            sum("c.status = 'active' AND c.not_after < $1"),
            sum("c.status = 'revoked'"),
        )),
        run(format!(
            "SELECT {}, {} FROM devices d JOIN agencies a ON a.id = d.agency_id {where_}",
            sum("d.state = 'locked'"),
            sum("d.state = 'lost'"),
        )),
        run(format!(
            "SELECT {}, {} FROM requests r JOIN agencies a ON a.id = r.agency_id {where_}",
            sum("r.state IN ('draft', 'submitted', 'approved', 'sent', 'processing')"),
            sum("r.state IN ('sent', 'processing') AND r.deadline_at < $1"),
        )),
        async {
            search_certificates(
                store,
                actor,
                &CertQuery {
                    expiring_within_days: Some(60),
                    limit: Some(10),
                    ..Default::default()
                },
                now,
            )
            .await
        },
    )?;
    let d = Dashboard {
        agencies: agencies.try_get(0)?,
        subscribers: subscribers.try_get(0)?,
        certificates_active: certs.try_get(0)?,
        expiring_60: certs.try_get(1)?,
        expiring_30: certs.try_get(2)?,
        expiring_7: certs.try_get(3)?,
        expired: certs.try_get(4)?,
        revoked: certs.try_get(5)?,
        devices_locked: devices.try_get(0)?,
        devices_lost: devices.try_get(1)?,
        open_requests: requests.try_get(0)?,
        overdue_requests: requests.try_get(1)?,
        soonest: soonest.items,
    };
    Ok(d)
}
