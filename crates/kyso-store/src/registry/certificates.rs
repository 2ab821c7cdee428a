//! Certificates: import, reading, search and revocation marks.

use sqlx::Row as _;

use kyso_domain::certificates::{holder_mismatches, CertHolder, RegistryHolder};

use super::*;

/// A certificate in the registry, with what was read from the certificate itself.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub id: i64,
    pub subscriber_id: Option<i64>,
    pub subscriber_name: Option<String>,
    pub agency_id: i64,
    pub serial: String,
    pub issuer: String,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_usage: String,
    /// `active`, `revoked` or `superseded` as recorded; see [`Certificate::status_at`].
    pub status: String,
    pub revocation_reason: String,
    pub sha256: String,
}

impl Certificate {
    /// The status a user should see at `now`: a recorded revocation or renewal first, then
    /// expiry from the certificate's own validity ([`CertStatus::at`]).
    pub fn status_at(&self, now: OffsetDateTime) -> &'static str {
        self.effective_status(now).as_str()
    }

    /// [`Certificate::status_at`] as the domain's type.
    pub fn effective_status(&self, now: OffsetDateTime) -> CertStatus {
        CertStatus::at(&self.status, self.not_before, self.not_after, now)
    }
}

/// Vietnamese and English labels of certificate statuses (by stable name; the labels are
/// [`CertStatus`]'s).
pub fn cert_status_label(status: &str, english: bool) -> &'static str {
    match (CertStatus::parse(status), english) {
        (Ok(s), false) => s.label_vi(),
        (Ok(s), true) => s.label_en(),
        (Err(_), false) => "Không rõ",
        (Err(_), true) => "Unknown",
    }
}

pub(super) const CERT_COLUMNS: &str =
    "c.id, c.subscriber_id, s.name, c.agency_id, c.serial, c.issuer, \
     c.subject, c.not_before, c.not_after, c.key_usage, c.status, c.revocation_reason, c.sha256";

pub(super) fn cert_from(row: &AnyRow) -> Result<Certificate> {
    let ts = |v: i64| OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(Certificate {
        id: row.try_get(0)?,
        subscriber_id: row.try_get(1)?,
        subscriber_name: row.try_get(2)?,
        agency_id: row.try_get(3)?,
        serial: row.try_get(4)?,
        issuer: row.try_get(5)?,
        subject: row.try_get(6)?,
        not_before: ts(row.try_get(7)?),
        not_after: ts(row.try_get(8)?),
        key_usage: row.try_get(9)?,
        status: row.try_get(10)?,
        revocation_reason: row.try_get(11)?,
        sha256: row.try_get(12)?,
    })
}

/// Parse certificate bytes (PEM, possibly a chain, or DER). The end-entity certificate is the
/// first one that is not a CA; with only CA certificates, the first.
pub fn parse_certificate(bytes: &[u8]) -> Result<kyso_x509::Cert> {
    let not_cert = || {
        Error::invalid(
            "certificate",
            "Tệp tải lên không phải chứng thư số (cần tệp .cer/.crt/.pem hoặc .p12 kèm mật khẩu).",
            "The upload is not a certificate (use a .cer/.crt/.pem file, or a .p12 with its password).",
        )
    };
    if bytes.is_empty() || bytes.len() > 1024 * 1024 {
        return Err(not_cert());
    }
    let certs = kyso_x509::Cert::from_pem_or_der(bytes).map_err(|_| not_cert())?;
    let pick = certs.iter().position(|c| !c.is_ca()).unwrap_or(0);
    certs.into_iter().nth(pick).ok_or_else(not_cert)
}

pub(super) fn key_usage_text(c: &kyso_x509::Cert) -> String {
    let ku = c.key_usage();
    let mut v = Vec::new();
    if ku.digital_signature {
        v.push("digitalSignature");
    }
    if ku.non_repudiation {
        v.push("nonRepudiation");
    }
    if ku.key_encipherment {
        v.push("keyEncipherment");
    }
    if ku.key_cert_sign {
        v.push("keyCertSign");
    }
    if ku.crl_sign {
        v.push("cRLSign");
    }
    v.join(", ")
}

/// A certificate to record for an agency and, usually, one of its subscribers.
#[derive(Debug, Clone, Default)]
pub struct CertImport<'a> {
    pub agency_id: i64,
    pub subscriber_id: Option<i64>,
    /// The upload: DER, or PEM possibly followed by its chain.
    pub bytes: &'a [u8],
    /// Why the officer records a certificate that does not name the subscriber as the registry
    /// has them. Without it such a certificate is refused, naming each difference.
    pub mismatch_reason: Option<String>,
}

/// The certificate of an upload and the others it carries (its chain, possibly).
pub(crate) fn parse_upload(bytes: &[u8]) -> Result<(kyso_x509::Cert, Vec<kyso_x509::Cert>)> {
    let leaf = parse_certificate(bytes)?;
    let pool = kyso_x509::Cert::from_pem_or_der(bytes)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.der() != leaf.der())
        .collect();
    Ok((leaf, pool))
}

/// What the registry requires of every certificate it records, however it arrives (an import
/// or a completed request): it can sign; its validity fits Decree 68 (`renews`: the end of the
/// certificate it renews); it chains to a certification authority the store trusts
/// ([`Store::trust_issuers`]), judged at the moment of its validity nearest `now` so an old
/// certificate can still be recorded for the record.
pub(crate) fn check_certificate(
    store: &Store,
    field: &'static str,
    cert: &kyso_x509::Cert,
    pool: &[kyso_x509::Cert],
    renews: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    let serial = cert.serial_hex();
    if cert.is_ca() {
        return Err(Error::invalid(
            field,
            format!("Chứng thư số {serial} là chứng thư của tổ chức chứng thực, không phải của thuê bao."),
            format!("Certificate {serial} is a certification authority's, not a subscriber's."),
        ));
    }
    let ku = cert.key_usage();
    if ku.present && !ku.digital_signature && !ku.non_repudiation {
        return Err(Error::invalid(
            field,
            format!(
                "Chứng thư số {serial} không dùng để ký được (mục đích sử dụng khóa không có \
                 digitalSignature hay nonRepudiation)."
            ),
            format!(
                "Certificate {serial} cannot sign (its key usage has neither digitalSignature \
                 nor nonRepudiation)."
            ),
        ));
    }
    if let Some(p) =
        kyso_domain::certificates::validity_problem(cert.not_before(), cert.not_after(), renews)
    {
        return Err(Error::invalid(field, p.message_vi(), p.message_en()));
    }
    let at = now.clamp(cert.not_before(), cert.not_after());
    let issuers = store.issuers();
    let pool: Vec<kyso_x509::Cert> = pool.iter().chain(&issuers.intermediates).cloned().collect();
    let report = kyso_x509::path::build_and_validate(
        cert,
        &pool,
        &issuers.anchors,
        &kyso_x509::path::PathPolicy::new(at),
    );
    match report.status {
        kyso_x509::path::PathStatus::Valid => Ok(()),
        kyso_x509::path::PathStatus::NoAnchor => Err(Error::invalid(
            field,
            format!(
                "Chứng thư số {serial} không do tổ chức chứng thực tin cậy cấp: chuỗi chứng thư \
                 không dẫn tới chứng thư gốc nào trong kho tin cậy của hệ thống (người cấp: {}).",
                cert.issuer_display()
            ),
            format!(
                "Certificate {serial} was not issued by a trusted certification authority: no \
                 path leads to a root in the system's trust store (issuer: {}).",
                cert.issuer_display()
            ),
        )),
        status @ kyso_x509::path::PathStatus::Invalid(_) => {
            let codes = status.codes();
            Err(Error::invalid(
                field,
                format!(
                    "Chuỗi chứng thư số {serial} không hợp lệ ({}).",
                    codes.join(", ")
                ),
                format!(
                    "Certificate {serial}'s path is invalid ({}).",
                    codes.join(", ")
                ),
            ))
        }
    }
}

/// The subscriber as the registry has them, for comparing with a certificate: name, ID number
/// and the names of their agency and its parents.
async fn registry_holder(
    store: &Store,
    s: &Subscriber,
    agency_path: &str,
) -> Result<RegistryHolder> {
    let agencies: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM agencies WHERE $1 LIKE path || '%' ORDER BY length(path) DESC",
    )
    .bind(agency_path)
    .fetch_all(store.pool())
    .await?;
    Ok(RegistryHolder {
        name: s.name.clone(),
        agencies,
        id_number: s.id_number.clone(),
    })
}

/// What the certificate says of its holder.
fn cert_holder(c: &kyso_x509::Cert) -> CertHolder {
    use kyso_x509::oid;
    CertHolder {
        name: c.common_name(),
        organisations: [oid::O, oid::OU]
            .into_iter()
            .filter_map(|o| c.subject_attr(o))
            .collect(),
        id_number: [oid::UID, oid::SERIAL_NUMBER]
            .into_iter()
            .filter_map(|o| c.subject_attr(o))
            .find_map(|a| CertHolder::id_number_in(&a)),
    }
}

/// When certificate `id` ends (no scope check: for a request already in reach).
pub(crate) async fn certificate_end(store: &Store, id: i64) -> Result<OffsetDateTime> {
    Ok(certificate(store, &Actor::system(), id).await?.not_after)
}

/// The end of the subscriber's active certificate this one renews (the same key), if any.
async fn renewed_end(
    store: &Store,
    subscriber_id: i64,
    cert: &kyso_x509::Cert,
) -> Result<Option<OffsetDateTime>> {
    let ders: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT der FROM certificates WHERE subscriber_id = $1 AND status = 'active'",
    )
    .bind(subscriber_id)
    .fetch_all(store.pool())
    .await?;
    let key = cert.spki_der().ok();
    Ok(ders
        .iter()
        .filter_map(|d| kyso_x509::Cert::from_der(d).ok())
        .filter(|old| key.is_some() && old.spki_der().ok() == key)
        .map(|old| old.not_after())
        .max())
}

/// Import a certificate for an agency, optionally tied to a subscriber of that agency's subtree,
/// after [`check_certificate`] and, for a subscriber, a comparison of the holder it names with
/// the registry's ([`kyso_domain::certificates::holder_mismatches`]): a difference is refused
/// unless [`CertImport::mismatch_reason`] says why, which the audit entry keeps. A certificate
/// with the key of the subscriber's active one is a renewal. The same certificate twice, or two
/// with one issuer and serial, is a conflict.
pub async fn import_certificate(
    store: &Store,
    actor: &Actor,
    input: &CertImport<'_>,
    now: OffsetDateTime,
) -> Result<Certificate> {
    let (cert, pool) = parse_upload(input.bytes)?;
    let agency_id = input.agency_id;
    let subscriber_id = input.subscriber_id;
    let ag = agency_field(
        store,
        actor,
        agency_id,
        Permission::WriteRegistry,
        "agency_id",
    )
    .await?;
    let reason = input
        .mismatch_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    // Already registered: said first, before anything about the holder.
    let known: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM certificates WHERE sha256 = $1 OR (issuer = $2 AND serial = $3)",
    )
    .bind(hex(&sha256(cert.der())))
    .bind(cert.issuer_display())
    .bind(cert.serial_hex())
    .fetch_optional(store.pool())
    .await?;
    if known.is_some() {
        let (vi, en) = already_registered(&cert.serial_hex());
        return Err(Error::conflict("serial", vi, en));
    }
    let mut mismatches = Vec::new();
    let mut renews = None;
    if let Some(sid) = subscriber_id {
        let (s, sa) = subscriber_in_scope(store, actor, sid, Permission::WriteRegistry).await?;
        if !sa.path.starts_with(&ag.path) && !ag.path.starts_with(&sa.path) {
            return Err(Error::invalid(
                "subscriber_id",
                format!("Thuê bao {} không thuộc cơ quan đã chọn.", s.name),
                format!(
                    "Subscriber {} does not belong to the chosen agency.",
                    s.name
                ),
            ));
        }
        let holder = registry_holder(store, &s, &sa.path).await?;
        mismatches = holder_mismatches(&cert_holder(&cert), &holder);
        renews = renewed_end(store, sid, &cert).await?;
    }
    check_certificate(store, "certificate", &cert, &pool, renews, now)?;
    if !mismatches.is_empty() && reason.is_none() {
        let (vi, en): (Vec<String>, Vec<String>) = mismatches
            .iter()
            .map(|m| (m.message_vi(), m.message_en()))
            .unzip();
        return Err(Error::invalid(
            "mismatch_reason",
            format!(
                "Chứng thư số không khớp với thuê bao: {} Nếu vẫn nhập, hãy xác nhận và ghi rõ lý do.",
                vi.join(" ")
            ),
            format!(
                "The certificate does not match the subscriber: {} To import it anyway, confirm \
                 and give the reason.",
                en.join(" ")
            ),
        ));
    }
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &ag.path),
        )
        .await?;
    let id = insert_certificate(&mut tx, &cert, agency_id, subscriber_id, now).await?;
    let mut detail = serde_json::Map::new();
    detail.insert("serial".into(), json!(cert.serial_hex()));
    detail.insert("subject".into(), json!(cert.subject_display()));
    if renews.is_some() {
        detail.insert("renewal".into(), json!(true));
    }
    if let (false, Some(reason)) = (mismatches.is_empty(), reason) {
        let said: Vec<String> = mismatches.iter().map(|m| m.message_vi()).collect();
        detail.insert("mismatch".into(), json!(said));
        detail.insert("mismatch_reason".into(), json!(reason));
    }
    let detail = serde_json::Value::Object(detail);
    tx.commit_audited(
        Event {
            action: "certificate.import",
            object: format!("certificate:{id}"),
            agency: Some(ag.code.clone()),
            detail,
        },
        now,
    )
    .await?;
    certificate(store, actor, id).await
}

/// What a certificate the registry already has is refused with (Vietnamese, English).
fn already_registered(serial: &str) -> (String, String) {
    (
        format!("Chứng thư số có số hiệu {serial} đã có trong danh mục."),
        format!("A certificate with serial {serial} is already registered."),
    )
}

pub(crate) async fn insert_certificate(
    tx: &mut WriteTx,
    cert: &kyso_x509::Cert,
    agency_id: i64,
    subscriber_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64> {
    let serial = cert.serial_hex();
    let subject = cert.subject_display();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO certificates (subscriber_id, agency_id, serial, issuer, subject, \
         subject_fold, not_before, not_after, key_usage, status, sha256, der, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12) RETURNING id",
    )
    .bind(subscriber_id)
    .bind(agency_id)
    .bind(&serial)
    .bind(cert.issuer_display())
    .bind(&subject)
    .bind(fold(&subject))
    .bind(cert.not_before().unix_timestamp())
    .bind(cert.not_after().unix_timestamp())
    .bind(key_usage_text(cert))
    .bind(hex(&sha256(cert.der())))
    .bind(cert.der().to_vec())
    .bind(now.unix_timestamp())
    .fetch_one(tx.conn())
    .await
    .map_err({
        let (vi, en) = already_registered(&serial);
        unique("serial", &vi, &en)
    })?;
    crate::words::index_certificate(tx.conn(), id).await?;
    Ok(id)
}

/// A certificate by id.
pub async fn certificate(store: &Store, actor: &Actor, id: i64) -> Result<Certificate> {
    let row = sqlx::query(&format!(
        "SELECT {CERT_COLUMNS}, a.path FROM certificates c JOIN agencies a ON a.id = c.agency_id \
         LEFT JOIN subscribers s ON s.id = c.subscriber_id WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::NotFound {
        what: crate::Record::Certificate,
    })?;
    let path: String = row.try_get(13)?;
    actor.reach(Permission::ReadRegistry, &path, crate::Record::Certificate)?;
    cert_from(&row)
}

/// The certificate `id` renewed (`replaces`) and the one that renewed it (`replaced_by`).
pub async fn certificate_succession(
    store: &Store,
    actor: &Actor,
    id: i64,
) -> Result<(Option<i64>, Option<i64>)> {
    certificate(store, actor, id).await?;
    let replaced_by: Option<i64> =
        sqlx::query_scalar("SELECT replaced_by FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await?;
    let replaces: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM certificates WHERE replaced_by = $1 ORDER BY id LIMIT 1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok((replaces, replaced_by))
}

/// The certificate's DER bytes, re-hashed against the stored fingerprint on every read.
pub async fn certificate_der(store: &Store, actor: &Actor, id: i64) -> Result<Vec<u8>> {
    let c = certificate(store, actor, id).await?;
    let der: Vec<u8> = sqlx::query_scalar("SELECT der FROM certificates WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    if hex(&sha256(&der)) != c.sha256 {
        return Err(Error::Database(sqlx::Error::Protocol(format!(
            "stored certificate {id} does not match its fingerprint"
        ))));
    }
    Ok(der)
}

/// Certificate search.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CertQuery {
    /// A serial (hex, any case, colons allowed), or words that begin words of the subject, the
    /// serial or the holder's name (without diacritics is fine).
    #[serde(default)]
    pub q: String,
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub subscriber_id: Option<i64>,
    /// Only certificates still valid that expire within this many days.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub expiring_within_days: Option<i64>,
    /// `active`, `expired`, `revoked` or `superseded`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Search certificates inside the actor's subtrees; soonest expiry first.
pub async fn search_certificates(
    store: &Store,
    actor: &Actor,
    q: &CertQuery,
    now: OffsetDateTime,
) -> Result<Page<Certificate>> {
    let under = match q.agency_id {
        Some(id) => {
            agency(store, actor, id, Permission::ReadRegistry)
                .await?
                .path
        }
        None => String::new(),
    };
    let nowu = now.unix_timestamp();
    let (scope, scope_params) = actor.scope(Permission::ReadRegistry).sql("a.path", 7);
    // One holder's certificates: a plain equality, so that SQLite (which plans before it sees
    // the values) walks the holder index instead of every certificate.
    let holder_filter = match q.subscriber_id {
        Some(_) => "c.subscriber_id = $2",
        None => "$2 < 0",
    };
    let mut cond = format!("{scope} AND a.path LIKE $1 AND {holder_filter}");
    let (lo, hi) = match q.expiring_within_days {
        Some(d) if d >= 0 => (nowu, nowu.saturating_add(d.min(36_500) * 86_400)),
        Some(_) => {
            return Err(Error::invalid(
                "days",
                "Số ngày phải không âm.",
                "The number of days must not be negative.",
            ))
        }
        None => (i64::MIN, i64::MAX),
    };
    // Only a window asks for the `not_after` index; without one, the planners must neither
    // range over it nor walk it for the order (a text search would read every certificate
    // in date order, at random): one scan and a top-N sort.
    let order = if q.expiring_within_days.is_some() {
        cond.push_str(" AND c.not_after >= $3 AND c.not_after <= $4 AND c.status = 'active'");
        "c.not_after"
    } else {
        cond.push_str(" AND $3 <= $4");
        "c.not_after + 0"
    };
    match q.status.as_deref().unwrap_or("") {
        "" => {}
        "active" => cond.push_str(" AND c.status = 'active' AND c.not_after >= $5"),
        "expired" => cond.push_str(" AND c.status = 'active' AND c.not_after < $5"),
        "revoked" => cond.push_str(" AND c.status = 'revoked'"),
        "superseded" => cond.push_str(" AND c.status = 'superseded'"),
        other => {
            return Err(Error::invalid(
                "status",
                format!("Trạng thái \"{other}\" không hợp lệ."),
                format!("Unknown status \"{other}\"."),
            ))
        }
    }
    let serial = q.q.trim().to_uppercase().replace([':', ' '], "");
    let words = Words::of(store, Index::Certificates, &q.q).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let offset = q.offset.max(0);
    let whole = q.agency_id.is_none() && actor.scope(Permission::ReadRegistry).is_whole_tree();
    let mut params = vec![
        Param::Text(format!("{under}%")),
        Param::Int(q.subscriber_id.unwrap_or(-1)),
        Param::Int(lo),
        Param::Int(hi),
        Param::Int(nowu),
        Param::Text(serial.clone()),
    ];
    params.extend(scope_params.into_iter().map(Param::Text));
    let order = format!("{order}, c.id");
    let holder = "LEFT JOIN subscribers s ON s.id = c.subscriber_id";
    let by_index = format!("certificates c JOIN agencies a ON a.id = c.agency_id {holder}");
    // A serial as pasted from a certificate viewer (8 or more hex digits): the serial index
    // answers at once, and only with that certificate; the word search runs when no
    // certificate in the actor's subtrees carries it.
    if serial.len() >= 8 && serial.chars().all(|c| c.is_ascii_hexdigit()) {
        let search = Search {
            from: &by_index,
            cond: &format!("{cond} AND c.serial = $6"),
            columns: CERT_COLUMNS,
            order: &order,
            params: &params,
        };
        let exact = count_and_page(store, &search, offset, limit, cert_from).await?;
        if exact.total > 0 {
            return Ok(exact);
        }
    }
    if words.none {
        return Ok(Page::empty(offset, limit));
    }
    // The whole province: the rarest word's rows, or an index of the filters; a subtree: its
    // agencies' rows.
    let (by_words, word_cond) = words.sql(Index::Certificates, "c", params.len() + 1, whole);
    params.extend(words.params().cloned().map(Param::Text));
    let (from, join) = if whole {
        (format!("{by_words}{by_index}"), "")
    } else {
        (
            format!("agencies a CROSS JOIN certificates c {holder}"),
            " AND c.agency_id = a.id",
        )
    };
    let search = Search {
        from: &from,
        cond: &format!("{cond}{join}{word_cond}"),
        columns: CERT_COLUMNS,
        order: &order,
        params: &params,
    };
    count_and_page(store, &search, offset, limit, cert_from).await
}

/// Record that a certificate was revoked (by the CA; the registry only notes it).
pub async fn mark_revoked(
    store: &Store,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Certificate> {
    let c = certificate(store, actor, id).await?;
    let ag = agency(store, actor, c.agency_id, Permission::WriteRegistry).await?;
    let reason = text("reason", reason, true)?;
    if c.status == "revoked" {
        return Err(Error::conflict(
            "status",
            "Chứng thư số này đã được ghi nhận thu hồi.",
            "This certificate is already recorded as revoked.",
        ));
    }
    let mut tx = store
        .begin_write(
            actor,
            crate::On::Agency(Permission::WriteRegistry, &ag.path),
        )
        .await?;
    sqlx::query(
        "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
         WHERE id = $3",
    )
    .bind(now.unix_timestamp())
    .bind(&reason)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.commit_audited(
        Event {
            action: "certificate.revoke",
            object: format!("certificate:{id}"),
            agency: Some(ag.code),
            detail: json!({"serial": c.serial, "reason": reason}),
        },
        now,
    )
    .await?;
    certificate(store, actor, id).await
}
