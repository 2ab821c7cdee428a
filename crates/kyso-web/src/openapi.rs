//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

fn op(tag: &str, summary: &str, body: Option<&str>, ok: u16, params: &[&str]) -> Value {
    let mut o = json!({
        "tags": [tag],
        "summary": summary,
        "responses": {
            ok.to_string(): { "description": "OK", "content": { "application/json": {} } },
            "400": { "$ref": "#/components/responses/Error" },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" },
            "404": { "$ref": "#/components/responses/Error" },
            "409": { "$ref": "#/components/responses/Error" },
            "422": { "$ref": "#/components/responses/Error" },
        },
    });
    if let Some(schema) = body {
        set(
            &mut o,
            "requestBody",
            json!({
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
            }),
        );
    }
    if !params.is_empty() {
        set(&mut o, "parameters", Value::Array(
            params
                .iter()
                .map(|p| {
                    if *p == "id" {
                        json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}})
                    } else {
                        json!({"name": p, "in": "query", "required": false, "schema": {"type": "string"}})
                    }
                })
                .collect(),
        ));
    }
    o
}

/// A GET answering a CSV file.
fn csv_op(summary: &str, params: &[&str]) -> Value {
    let mut o = op("registry", summary, None, 200, params);
    if let Some(ok) = o.get_mut("responses").and_then(|r| r.get_mut("200")) {
        set(
            ok,
            "content",
            json!({ "text/csv": { "schema": { "type": "string" } } }),
        );
    }
    o
}

/// A GET answering an Excel workbook.
fn xlsx_op(summary: &str, params: &[&str]) -> Value {
    let mut o = op("registry", summary, None, 200, params);
    if let Some(ok) = o.get_mut("responses").and_then(|r| r.get_mut("200")) {
        set(
            ok,
            "content",
            json!({ "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                    { "schema": { "type": "string", "format": "binary" } } }),
        );
    }
    o
}

/// Set a key of a JSON object (no-op on other values).
fn set(o: &mut Value, key: &str, v: Value) {
    if let Some(m) = o.as_object_mut() {
        m.insert(key.to_owned(), v);
    }
}

/// An operation that needs no authentication.
fn public(mut o: Value) -> Value {
    set(&mut o, "security", json!([]));
    o
}

fn obj(required: &[&str], props: &[(&str, &str)]) -> Value {
    let mut p = serde_json::Map::new();
    for (name, ty) in props {
        let schema = match *ty {
            "integer" | "string" | "boolean" => json!({ "type": ty }),
            "integer?" => json!({ "type": ["integer", "null"] }),
            "roles" => json!({ "type": "array", "items": { "type": "object",
                "required": ["role", "agency_id"],
                "properties": { "role": { "type": "string", "enum": ["dost_admin", "signature_officer", "clerk", "signer", "drafter", "reviewer", "format_checker", "auditor"] },
                                "agency_id": { "type": "integer" } } } }),
            other => json!({ "type": "string", "enum": other.split('|').collect::<Vec<_>>() }),
        };
        p.insert((*name).to_owned(), schema);
    }
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": p })
}

/// The document.
pub(crate) fn spec() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kyso API",
            "version": "1",
            "description": "Provincial registry of agencies, subscribers, certificates and key devices. \
                Authenticate with `Authorization: Bearer kyso_…` (an API token from POST /api/v1/tokens) \
                or a session token from POST /api/v1/auth/login. Errors are `{error: {code, field, message (Vietnamese), message_en}}`."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/auth/login": { "post": public(op("auth", "Log in; returns a session token", Some("Login"), 200, &[])) },
            "/api/v1/me": { "get": op("auth", "The calling user and their roles", None, 200, &[]) },
            "/api/v1/me/password": { "post": op("auth", "Change one's own password", Some("PasswordChange"), 204, &[]) },
            "/api/v1/tokens": {
                "get": op("auth", "The calling user's API tokens that have not expired: id, user_id, name, created_at, expires_at (Unix seconds; never the secret)", None, 200, &[]),
                "post": op("auth", "Create an API token for the calling user", Some("TokenInput"), 201, &[]),
            },
            "/api/v1/tokens/{id}": { "delete": op("auth", "Revoke an API token: one's own, or one of an account the caller manages (audited)", None, 204, &["id"]) },
            "/api/v1/dashboard": { "get": op("registry", "Counts: expiring, expired, revoked certificates; locked and lost devices", None, 200, &[]) },
            "/api/v1/agencies": {
                "get": op("registry", "Agencies in the caller's subtrees", None, 200, &["q", "under"]),
                "post": op("registry", "Create an agency", Some("AgencyInput"), 201, &[]),
            },
            "/api/v1/agencies/{id}": {
                "get": op("registry", "One agency", None, 200, &["id"]),
                "put": op("registry", "Change an agency", Some("AgencyInput"), 200, &["id"]),
            },
            "/api/v1/subscribers": {
                "get": op("registry", "Search subscribers: every word of q begins a word of the name (diacritics and case ignored), the ID number or the email", None, 200, &["q", "agency_id", "kind", "offset", "limit"]),
                "post": op("registry", "Create a subscriber", Some("SubscriberInput"), 201, &[]),
            },
            "/api/v1/subscribers/{id}": {
                "get": op("registry", "One subscriber (an audited read)", None, 200, &["id"]),
                "put": op("registry", "Change a subscriber", Some("SubscriberInput"), 200, &["id"]),
            },
            "/api/v1/certificates": {
                "get": op("registry", "Search certificates: a pasted serial, or every word of q begins a word of the subject, the serial or the holder's name", None, 200, &["q", "agency_id", "subscriber_id", "expiring_within_days", "status", "offset", "limit"]),
                "post": op("registry", "Import a certificate (PEM, base64 DER, or base64 PKCS#12 with password)", Some("CertImport"), 201, &[]),
            },
            "/api/v1/certificates/{id}": { "get": op("registry", "One certificate", None, 200, &["id"]) },
            "/api/v1/certificates/{id}/der": { "get": op("registry", "The certificate file (DER)", None, 200, &["id"]) },
            "/api/v1/certificates/{id}/revoke": { "post": op("registry", "Record the certificate's revocation", Some("RevokeInput"), 200, &["id"]) },
            "/api/v1/devices": {
                "get": op("registry", "Key devices", None, 200, &["q", "state", "agency_id"]),
                "post": op("registry", "Register a key device", Some("DeviceInput"), 201, &[]),
            },
            "/api/v1/devices/{id}": { "get": op("registry", "One device", None, 200, &["id"]) },
            "/api/v1/devices/{id}/events": {
                "get": op("registry", "A device's records", None, 200, &["id"]),
                "post": op("registry", "Move a device to its next state (assign, handover, lock, recover, recall, return, report_lost)", Some("DeviceEventInput"), 200, &["id"]),
            },
            "/api/v1/requests": {
                "get": op("requests", "Lifecycle requests the caller may read, newest first", None, 200, &["state", "kind", "agency_id", "overdue", "q"]),
                "post": op("requests", "Draft a request (Decree 68 forms 01–06)", Some("NewRequest"), 201, &[]),
            },
            "/api/v1/requests/{id}": {
                "get": op("requests", "One request with its items, timeline and the caller's possible actions (an audited read)", None, 200, &["id"]),
                "put": op("requests", "Replace a draft's content (same kind and agency)", Some("NewRequest"), 200, &["id"]),
            },
            "/api/v1/requests/{id}/letter": { "get": op("requests", "The request's official letter (PDF, signed with the agency's organization certificate where the server holds its key); made when the request is sent", None, 200, &["id"]) },
            "/api/v1/requests/{id}/actions": {
                "post": op("requests", "Act on a request: submit, approve, return, send, start_processing, complete (with the issued certificates), refuse (with a reason), withdraw", Some("RequestActionInput"), 200, &["id"]),
            },
            "/api/v1/calendar": {
                "get": op("requests", "The working-day calendar configuration (per-year holidays and make-up days; Department administrators)", None, 200, &[]),
                "put": op("requests", "Replace the working-day calendar configuration (Department administrators)", Some("CalendarConfig"), 200, &[]),
            },
            "/api/v1/users": {
                "get": op("accounts", "Accounts in the caller's subtrees", None, 200, &[]),
                "post": op("accounts", "Create an account", Some("NewUser"), 201, &[]),
            },
            "/api/v1/users/{id}/disable": { "post": op("accounts", "Disable an account: it can no longer log in and its sessions and API tokens end (audited; not one's own)", None, 200, &["id"]) },
            "/api/v1/users/{id}/enable": { "post": op("accounts", "Enable a disabled account (audited)", None, 200, &["id"]) },
            "/api/v1/users/{id}/roles": { "post": op("accounts", "Grant a role on an agency in the caller's subtrees (audited)", Some("RoleInput"), 200, &["id"]) },
            "/api/v1/users/{id}/roles/remove": { "post": op("accounts", "Remove a role (audited; not one's own last administrator role)", Some("RoleInput"), 200, &["id"]) },
            "/api/v1/users/{id}/password-reset": { "post": op("accounts", "Reset an account's password: returns {password} — a one-time password shown this once, to be changed at the next login; the account's sessions and API tokens end (audited; not one's own)", None, 200, &["id"]) },
            "/api/v1/users/{id}/tokens": { "get": op("accounts", "The API tokens of an account the caller manages (never the secret)", None, 200, &["id"]) },
            "/api/v1/audit": { "get": op("audit", "The audit log, newest first", None, 200, &["actor", "action", "object", "before_seq", "limit"]) },
            "/api/v1/subscribers/import": { "post": {
                "tags": ["registry"],
                "summary": "Import subscribers from the CA's CSV template into agency_id and its subtree; all rows or none (422 lists row, column and message)",
                "parameters": [{"name": "agency_id", "in": "query", "required": true, "schema": {"type": "integer"}}],
                "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
                "responses": {
                    "201": { "description": "Every row imported", "content": { "application/json": {} } },
                    "422": { "description": "Nothing imported: the rows at fault", "content": { "application/json": {} } },
                    "403": { "$ref": "#/components/responses/Error" },
                    "404": { "$ref": "#/components/responses/Error" }
                }
            } },
            "/api/v1/subscribers/export.csv": { "get": csv_op("Subscribers as CSV (UTF-8 with BOM), same filters as the listing; an audited read", &["q", "agency_id", "kind"]) },
            "/api/v1/certificates/export.csv": { "get": csv_op("Certificates as CSV (UTF-8 with BOM), same filters as the listing; audited", &["q", "agency_id", "subscriber_id", "expiring_within_days", "status"]) },
            "/api/v1/subscribers/export.xlsx": { "get": xlsx_op("Subscribers as an Excel workbook, same filters as the listing; an audited read", &["q", "agency_id", "kind"]) },
            "/api/v1/certificates/export.xlsx": { "get": xlsx_op("Certificates as an Excel workbook, same filters as the listing; audited", &["q", "agency_id", "subscriber_id", "expiring_within_days", "status"]) },
            "/api/v1/notices": { "get": op("notices", "The caller's own expiry notices, newest first, with the unread count", None, 200, &["unread"]) },
            "/api/v1/notices/{id}/read": { "post": op("notices", "Mark one of the caller's notices read", None, 204, &["id"]) },
            "/api/v1/notices/scan": { "post": op("notices", "Run the expiry scan now (Department administrators); returns its counts", None, 200, &[]) },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": {
                "Error": {
                    "description": "An error with the field at fault",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string" }, "field": { "type": ["string", "null"] },
                    "message": { "type": "string" }, "message_en": { "type": "string" } } } } },
                "Login": obj(&["username", "password"], &[("username", "string"), ("password", "string")]),
                "PasswordChange": obj(&["old_password", "new_password"], &[("old_password", "string"), ("new_password", "string")]),
                "TokenInput": obj(&["name"], &[("name", "string"), ("days", "integer")]),
                "RoleInput": obj(&["role", "agency_id"], &[("role", "dost_admin|signature_officer|clerk|signer|drafter|reviewer|format_checker|auditor"), ("agency_id", "integer")]),
                "AgencyInput": obj(&["code", "name", "kind"], &[("code", "string"), ("name", "string"),
                    ("kind", "province|department|commune|unit|other"), ("parent_id", "integer?"),
                    ("address", "string"), ("email", "string"), ("phone", "string")]),
                "SubscriberInput": obj(&["kind", "agency_id", "name"], &[("kind", "individual|organization|device"),
                    ("agency_id", "integer"), ("name", "string"), ("date_of_birth", "string"), ("id_number", "string"),
                    ("email", "string"), ("title", "string"), ("unit", "string"), ("phone", "string")]),
                "CertImport": obj(&["agency_id"], &[("agency_id", "integer"), ("subscriber_id", "integer?"),
                    ("pem", "string"), ("der_base64", "string"), ("pkcs12_base64", "string"), ("password", "string")]),
                "RevokeInput": obj(&["reason"], &[("reason", "string")]),
                "DeviceInput": obj(&["kind", "serial", "agency_id"], &[("kind", "token|sim|hsm|rssp|soft"),
                    ("serial", "string"), ("model", "string"), ("agency_id", "integer"),
                    ("state", "in_stock|at_managing_agency|assigned|locked|to_recall|returned|lost"), ("certificate_id", "integer?")]),
                "DeviceEventInput": obj(&["event"], &[("event", "deliver_to_agency|assign|handover|lock|recover|recall|return|report_lost"),
                    ("holder_id", "integer?"), ("counterpart", "string"), ("note", "string")]),
                "NewRequest": new_request(),
                "RequestActionInput": request_action(),
                "CalendarConfig": calendar_config(),
                "NewUser": obj(&["username", "full_name", "agency_id", "password", "roles"], &[("username", "string"),
                    ("full_name", "string"), ("email", "string"), ("agency_id", "integer"), ("password", "string"), ("roles", "roles")]),
            }
        }
    })
}

pub(crate) async fn document() -> Json<Value> {
    Json(spec())
}

/// The body of POST/PUT /api/v1/requests (a separate `json!` keeps the macro's recursion short).
fn new_request() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "required": ["kind", "agency_id", "contact_name", "items"],
        "properties": {
            "kind": { "type": "string", "enum": ["issue_individual", "issue_organization", "issue_device", "renew", "change_info", "revoke", "recover_device"] },
            "agency_id": { "type": "integer" },
            "title": { "type": "string" }, "contact_name": { "type": "string" }, "contact_title": { "type": "string" },
            "contact_phone": { "type": "string" }, "contact_email": { "type": "string" },
            "reason": { "type": "string", "description": "Required for revoke and recover_device" },
            "number": { "type": "string" },
            "items": { "type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "subscriber_id": { "type": ["integer", "null"] },
                    "certificate_id": { "type": ["integer", "null"], "description": "Required for renew, change_info, revoke" },
                    "device_id": { "type": ["integer", "null"], "description": "Required for recover_device" },
                    "data": { "type": "object", "additionalProperties": { "type": "string" },
                        "description": "The form's fields. issue_individual: name*, date_of_birth, id_number*, id_issued_on, id_issued_by, email*, unit, province, title, phone, old_serial, device_kind. issue_organization: name*, address, tax_code, budget_code, province, email*, phone, old_serial, device_kind. issue_device: name*, description, address, email*, phone, old_serial. change_info (new values, at least one): name, date_of_birth, id_number, email, title, unit, phone, note. renew, revoke, recover_device: note." }
                } } }
        }
    })
}

fn request_action() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "required": ["action"],
        "properties": {
            "action": { "type": "string", "enum": ["submit", "approve", "return", "send", "start_processing", "complete", "refuse", "withdraw"] },
            "note": { "type": "string" },
            "reason": { "type": "string", "description": "Required for return and refuse" },
            "certificates": { "type": "array", "items": { "type": "string" },
                "description": "For complete: the issued certificates (PEM text or base64 DER), one per item in order; required for issuance and renewal" }
        }
    })
}

fn calendar_config() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "properties": { "years": { "type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "holidays": { "type": "array", "items": { "type": "string", "format": "date" } },
                "working_days": { "type": "array", "items": { "type": "string", "format": "date" } }
            } } } },
        "example": { "years": { "2027": { "holidays": ["2027-01-01"], "working_days": [] } } }
    })
}
