//! What a request is made of: its kinds, forms and items as submitted.

use super::*;

/// A new request (or the new content of a draft).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "issue_individual", "agency_id": 1, "contact_name": "Lê Thị Hoa", "contact_phone": "0912345678", "items": [{"data": {"name": "Trần Thị Bình", "id_number": "040185000123", "email": "binh@demo.invalid"}}]})))]
pub struct NewRequest {
    /// One of [`RequestKind`]'s stable names (`issue_individual`, `renew`, …). (Missing or
    /// unknown ones are refused by validation, naming the field, rather than by the parser.)
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::request_kind))]
    pub kind: String,
    /// The requesting agency.
    #[serde(default)]
    pub agency_id: i64,
    /// The subject line; the form's title when empty.
    #[serde(default)]
    pub title: String,
    /// The contact person (for recovery: the person who assists the recovery).
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_title: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub contact_email: String,
    /// Why: required for revoke and recover_device.
    #[serde(default)]
    pub reason: String,
    /// The letter number (số văn bản), may be empty.
    #[serde(default)]
    pub number: String,
    /// The rows of the form's table; at least one.
    #[serde(default)]
    pub items: Vec<NewItem>,
}

/// One row of a request's table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewItem {
    /// An existing subscriber (issuance for someone already registered; optional).
    #[serde(default)]
    pub subscriber_id: Option<i64>,
    /// The certificate concerned: required for renew, change_info, revoke.
    #[serde(default)]
    pub certificate_id: Option<i64>,
    /// The key device concerned: required for recover_device.
    #[serde(default)]
    pub device_id: Option<i64>,
    /// The form's fields (`item_fields`). issue_individual: name*, date_of_birth, id_number*,
    /// id_issued_on, id_issued_by, email*, unit, province, title, phone, old_serial,
    /// device_kind. issue_organization: name*, address, tax_code, budget_code, province,
    /// email*, phone, old_serial, device_kind. issue_device: name*, description, address,
    /// email*, phone, old_serial. change_info (new values, at least one): name, date_of_birth,
    /// id_number, email, title, unit, phone, note. renew, revoke, recover_device: note.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// What accompanies an action.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    /// A note for the timeline.
    pub note: String,
    /// The reason (returning and refusing need one).
    pub reason: String,
    /// For completing an issuance or renewal: the certificates issued (PEM or DER bytes), one
    /// per item in item order. A change of information may give them too (new certificates
    /// replacing the old ones).
    pub certificates: Vec<Vec<u8>>,
}

/// A listing filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RequestQuery {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::openapi::request_state))]
    pub state: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(schema_with = crate::openapi::request_kind))]
    pub kind: Option<String>,
    /// Only this agency's subtree.
    #[serde(default, deserialize_with = "crate::blank_as_none")]
    pub agency_id: Option<i64>,
    /// Only requests past their deadline.
    #[serde(default)]
    pub overdue: bool,
    /// Words of the title, the letter number or the contact's name.
    #[serde(default)]
    pub q: String,
}

/// The fields of an item's `data` for each kind: `(name, required)`.
pub fn item_fields(kind: RequestKind) -> &'static [(&'static str, bool)] {
    match kind {
        // Mẫu 01 columns.
        RequestKind::IssueIndividual => &[
            ("name", true),
            ("date_of_birth", false),
            ("id_number", true),
            ("id_issued_on", false),
            ("id_issued_by", false),
            ("email", true),
            ("unit", false),
            ("province", false),
            ("title", false),
            ("phone", false),
            ("old_serial", false),
            ("device_kind", false),
        ],
        // Mẫu 02 columns.
        RequestKind::IssueOrganization => &[
            ("name", true),
            ("address", false),
            ("tax_code", false),
            ("budget_code", false),
            ("province", false),
            ("email", true),
            ("phone", false),
            ("old_serial", false),
            ("device_kind", false),
        ],
        // Mẫu 03: the device, service or software and who answers for it.
        RequestKind::IssueDevice => &[
            ("name", true),
            ("description", false),
            ("address", false),
            ("email", true),
            ("phone", false),
            ("old_serial", false),
        ],
        // Mẫu 04 (change): the new values.
        RequestKind::ChangeInfo => &[
            ("name", false),
            ("date_of_birth", false),
            ("id_number", false),
            ("email", false),
            ("title", false),
            ("unit", false),
            ("phone", false),
            ("note", false),
        ],
        RequestKind::Renew | RequestKind::Revoke | RequestKind::RecoverDevice => &[("note", false)],
    }
}
