//! A request's letter as an outgoing document (issue 17 item 10): once the managing agency has
//! approved a request, someone of the requesting agency who may both send requests (signature
//! officer) and draft documents (drafter) makes the letter, a công văn of the agency addressed
//! to the request's handler (by the identifier code of the `request_recipients` setting). It
//! then goes through the document flow like any other — review, format check, the official's
//! signature on their own token, the clerk's number, date and organization signature,
//! registration — and dispatching it sends the request, in the dispatch's own transaction
//! ([`on_dispatch`]): the request becomes `sent`, its deadline is counted from then, and its
//! `letter_sha256` names the sealed file. No server-held key signs a request letter.

use kyso_domain::documents::{DocState, DocType};
use sqlx::Row as _;

use super::*;
use crate::blobs::Blobs;
use crate::documents::{self, Document, NewDocument};

/// The setting holding the identifier codes of the request letters' recipients
/// ([`RequestRecipients`] as JSON).
pub const RECIPIENTS_SETTING: &str = "request_recipients";

/// Where request letters go, by identifier code (mã định danh, dotted): the Department
/// (Sở Khoa học và Công nghệ) and the national CA. Set by the Department's administrators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestRecipients {
    /// The Department's code ("H99.37"); empty when not set.
    #[serde(default)]
    pub department: String,
    /// The national CA's code ("G11.07.05"); empty when not set.
    #[serde(default)]
    pub national_ca: String,
}

impl RequestRecipients {
    /// The code of the handler's agency; empty when not set.
    pub fn code_for(&self, handler: Handler) -> &str {
        match handler {
            Handler::Department => &self.department,
            Handler::NationalCa => &self.national_ca,
        }
    }
}

/// The recipients' codes as set (both empty when never set).
pub async fn request_recipients(store: &Store) -> Result<RequestRecipients> {
    match store.setting(RECIPIENTS_SETTING).await? {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("request_recipients setting")),
        None => Ok(RequestRecipients::default()),
    }
}

fn dotted(field: &'static str, code: &str) -> Result<String> {
    if code.trim().is_empty() {
        return Ok(String::new());
    }
    kyso_domain::codes::AgencyCode::parse(code)
        .map(|c| c.dotted())
        .map_err(|e| {
            Error::invalid(
                field,
                format!("Mã định danh \"{}\": {}.", code.trim(), e.message_vi()),
                format!("Identifier code \"{}\": {}.", code.trim(), e.message_en()),
            )
        })
}

/// Set the recipients' codes (Department administrators); an empty code unsets that one.
pub async fn set_request_recipients(
    store: &Store,
    actor: &Actor,
    recipients: &RequestRecipients,
    now: OffsetDateTime,
) -> Result<RequestRecipients> {
    // Before the input is looked at.
    actor.may(On::Registry)?;
    let checked = RequestRecipients {
        department: dotted("department", &recipients.department)?,
        national_ca: dotted("national_ca", &recipients.national_ca)?,
    };
    let text = serde_json::to_string(&checked).map_err(|_| corrupt("request_recipients"))?;
    let mut tx = store.begin_write(actor, On::Registry).await?;
    Store::set_setting(&mut tx, RECIPIENTS_SETTING, &text).await?;
    tx.commit_audited(
        Event {
            action: "request_recipients.update",
            object: "settings:request_recipients".into(),
            agency: None,
            detail: json!(checked),
        },
        now,
    )
    .await?;
    Ok(checked)
}

/// What the letter of a request will be, checked before it is rendered: the document's
/// agency, its notation and its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterPlan {
    pub request_id: i64,
    pub agency_id: i64,
    /// The công văn's notation ("SKHCN-VP"): the agency's register for công văn and the
    /// drafting unit — what the format step expects the letter to print.
    pub notation: String,
    /// The handler's identifier code (dotted).
    pub recipient_code: String,
}

/// The document already made for request `id`, if any (no scope check).
async fn linked_document(store: &Store, request_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT document_id FROM request_documents WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(store.pool())
            .await?,
    )
}

fn already_made(document_id: i64) -> Error {
    Error::conflict(
        "request",
        format!(
            "Đề nghị này đã có công văn đề nghị (văn bản #{document_id}); hãy tiếp tục xử lý văn \
             bản đó."
        ),
        format!(
            "This request already has its letter (document #{document_id}); carry that one on."
        ),
    )
}

/// The refusal of someone holding only one of the two roles the letter's maker needs.
fn both_roles() -> Error {
    Error::invalid(
        "roles",
        "Người lập công văn đề nghị phải vừa là cán bộ phụ trách chữ ký số (được gửi đề nghị) vừa \
         được giao soạn thảo văn bản của cơ quan; hãy đề nghị quản trị cấp thêm vai trò còn thiếu.",
        "Whoever makes the request letter must be both a signature officer (who may send \
         requests) and a drafter of the agency's documents; ask an administrator for the \
         missing role.",
    )
}

/// Check that `actor` may make the letter of request `id` now, and plan it: the request is
/// approved and has no letter yet, the actor may send it *and* draft documents of its agency,
/// the agency has a register for công văn, and the handler's code is set. `unit_abbrev` is the
/// drafting unit's abbreviation in the notation ("VP").
pub async fn letter_plan(
    store: &Store,
    actor: &Actor,
    id: i64,
    unit_abbrev: &str,
    now: OffsetDateTime,
) -> Result<LetterPlan> {
    let r = load(store, actor, id, now).await?;
    let may_send = may_act(actor, &r, RequestAction::Send);
    let may_draft =
        documents::check_duty(actor, DocState::Draft.duty(), r.agency_id, &r.agency_path).is_ok();
    // Whoever may not send the request is refused first; the state is told to whoever may;
    // then the drafter duty.
    if !may_send && !may_draft {
        return Err(Error::Forbidden);
    }
    if !may_send {
        return Err(both_roles());
    }
    if r.state != RequestState::Approved {
        return Err(Error::conflict(
            "state",
            format!(
                "Chỉ lập công văn đề nghị khi đề nghị đã được phê duyệt (đang ở trạng thái \"{}\").",
                r.state.label_vi()
            ),
            format!(
                "The letter is made once the request is approved (it is \"{}\").",
                r.state.label_en()
            ),
        ));
    }
    if !may_draft {
        return Err(both_roles());
    }
    if let Some(doc) = linked_document(store, id).await? {
        return Err(already_made(doc));
    }
    let notation =
        documents::notation_for(store, r.agency_id, DocType::CongVan, unit_abbrev).await?;
    let recipient_code = request_recipients(store)
        .await?
        .code_for(r.handler)
        .to_owned();
    if recipient_code.is_empty() {
        return Err(Error::invalid(
            "recipient",
            format!(
                "Chưa khai báo mã định danh của nơi nhận đề nghị ({}); quản trị của Sở cần khai \
                 báo trong cài đặt \"Nơi nhận đề nghị\" trước khi lập công văn.",
                r.handler.label_vi()
            ),
            format!(
                "The identifier code of the requests' recipient ({}) is not set; a Department \
                 administrator must set it under \"Request recipients\" before a letter is made.",
                r.handler.label_en()
            ),
        ));
    }
    Ok(LetterPlan {
        request_id: id,
        agency_id: r.agency_id,
        notation,
        recipient_code,
    })
}

/// Make the letter of request `id` as a new document of its agency and link it to the
/// request, all or nothing: the checks of [`letter_plan`] and the document's own
/// ([`documents::check_new_document`], which also stores the draft's bytes), then one write
/// transaction that checks again that the request is approved and has no letter, writes the
/// document ([`documents::create_in`]) and the link with the request's timeline row, and
/// commits both audit entries (`document.create`, `request.letter_document`) with them. A
/// crash or a second attempt at the same time leaves no document without its link. The
/// document must be a công văn of the request's agency addressed to the handler's code.
pub async fn create_letter_document(
    store: &Store,
    blobs: &Blobs,
    actor: &Actor,
    id: i64,
    input: &NewDocument,
    now: OffsetDateTime,
) -> Result<Document> {
    let plan = letter_plan(store, actor, id, &input.meta.unit_abbrev, now).await?;
    if input.agency_id != plan.agency_id
        || input.meta.doc_type != DocType::CongVan
        || input.meta.recipients != [plan.recipient_code.clone()]
    {
        return Err(Error::invalid(
            "document",
            "Công văn đề nghị phải là công văn của cơ quan đề nghị, gửi đúng nơi xử lý đề nghị.",
            "The request letter must be a công văn of the requesting agency, sent to the \
             request's handler.",
        ));
    }
    let checked = documents::check_new_document(store, blobs, actor, input).await?;
    let send = RequestAction::Send.required_permission();
    let mut tx = store
        .begin_write(actor, On::Agency(send, checked.agency_path()))
        .await?;
    let state = approved_without_letter(&mut tx, id).await?;
    let document_id = documents::create_in(&mut tx, &checked, now).await?;
    sqlx::query(
        "INSERT INTO request_documents (request_id, document_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(document_id)
    .bind(now.unix_timestamp())
    .execute(tx.conn())
    .await
    .map_err(crate::unique(
        "request",
        "Đề nghị này vừa được lập công văn đề nghị; tải lại trang.",
        "A letter has just been made for this request; reload.",
    ))?;
    insert_event(
        &mut tx,
        id,
        "letter_document",
        &state,
        &state,
        actor,
        &format!("Lập công văn đề nghị (văn bản #{document_id})"),
        now,
    )
    .await?;
    tx.commit_audited(
        Event {
            action: "request.letter_document",
            object: format!("request:{id}"),
            agency: Some(checked.agency_code().to_owned()),
            detail: json!({"document_id": document_id}),
        },
        now,
    )
    .await?;
    documents::get_document(store, actor, document_id)
        .await
        .map(|d| d.document)
}

/// Inside the letter's transaction: request `id` is still approved and has no letter (another
/// attempt may have made it, or someone moved the request on, since [`letter_plan`] read it).
/// Returns its state.
async fn approved_without_letter(tx: &mut WriteTx, id: i64) -> Result<String> {
    let state: String = sqlx::query_scalar("SELECT state FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    if state != RequestState::Approved.as_str() {
        return Err(Error::conflict(
            "state",
            "Đề nghị vừa được người khác chuyển đi; tải lại trang.",
            "Someone else has just moved the request on; reload.",
        ));
    }
    if let Some(other) = linked_document_in(tx, id).await? {
        return Err(already_made(other));
    }
    Ok(state)
}

async fn linked_document_in(tx: &mut WriteTx, request_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT document_id FROM request_documents WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(tx.conn())
            .await?,
    )
}

/// The letter-document of request `id` and its state, for whoever may read the request
/// (the document itself is shown to whoever may read documents).
pub async fn letter_document(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<Option<(i64, DocState)>> {
    load(store, actor, id, now).await?;
    let row = sqlx::query(
        "SELECT d.id, d.state FROM request_documents l JOIN documents d ON d.id = l.document_id \
         WHERE l.request_id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    match row {
        Some(row) => {
            let state: String = row.try_get(1)?;
            let state = DocState::parse(&state).map_err(|_| corrupt("document state"))?;
            Ok(Some((row.try_get(0)?, state)))
        }
        None => Ok(None),
    }
}

/// The request whose letter document `document_id` is, if any (no scope check).
pub async fn request_of_document(store: &Store, document_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT request_id FROM request_documents WHERE document_id = $1")
            .bind(document_id)
            .fetch_optional(store.pool())
            .await?,
    )
}

/// Called by the dispatch step inside its transaction: when `doc` is a request's letter,
/// send the request — state `sent` (only from `approved`), the deadline counted from now, the
/// sealed file (the last organization-signed version) as its letter — with a timeline row.
/// Returns what the document's audit entry records, or `None` for any other document.
pub(crate) async fn on_dispatch(
    tx: &mut WriteTx,
    doc: &Document,
    now: OffsetDateTime,
) -> Result<Option<serde_json::Value>> {
    let row = sqlx::query(
        "SELECT r.id, r.kind, r.state FROM request_documents l \
         JOIN requests r ON r.id = l.request_id WHERE l.document_id = $1",
    )
    .bind(doc.id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let request_id: i64 = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let kind = RequestKind::parse(&kind).map_err(|_| corrupt("request kind"))?;
    let from: String = row.try_get(2)?;
    let Some(sealed) = documents::sealed_version(tx, doc.id).await? else {
        return Err(Error::conflict(
            "state",
            "Công văn đề nghị chưa có bản ký số của cơ quan.",
            "The request letter has no organization-signed version.",
        ));
    };
    let calendar: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(CALENDAR_SETTING)
        .fetch_optional(tx.conn())
        .await?;
    let config: CalendarConfig = match calendar {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("calendar setting"))?,
        None => CalendarConfig::default(),
    };
    let deadline = WorkCalendar::from_config(&config)
        .add_working_days(now, kind.default_deadline_working_days())
        .unix_timestamp();
    let nowu = now.unix_timestamp();
    let to =
        next_state(RequestState::Approved, RequestAction::Send).map_err(|e| Error::Conflict {
            field: "state",
            vi: e.message_vi(),
            en: e.message_en(),
        })?;
    let changed = sqlx::query(
        "UPDATE requests SET state = $1, sent_at = $2, deadline_at = $3, letter_sha256 = $4, \
         updated_at = $2 WHERE id = $5 AND state = $6",
    )
    .bind(to.as_str())
    .bind(nowu)
    .bind(deadline)
    .bind(&sealed)
    .bind(request_id)
    .bind(RequestState::Approved.as_str())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(Error::conflict(
            "state",
            format!(
                "Công văn này là của đề nghị #{request_id}, đề nghị không còn ở trạng thái đã phê \
                 duyệt nên không gửi được."
            ),
            format!(
                "This letter belongs to request #{request_id}, which is no longer approved and \
                 cannot be sent."
            ),
        ));
    }
    let actor = tx.actor().clone();
    let number = doc.number_and_notation().unwrap_or_default();
    insert_event(
        tx,
        request_id,
        RequestAction::Send.as_str(),
        &from,
        to.as_str(),
        &actor,
        &format!("Gửi đi cùng công văn số {number}"),
        now,
    )
    .await?;
    Ok(Some(json!({
        "request_id": request_id,
        "sha256": sealed,
        "deadline_at": deadline,
    })))
}
