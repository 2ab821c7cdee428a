//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` declarations and the types of their bodies (`api::dto`).

use std::sync::LazyLock;

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::OpenApi as _;

use crate::api::dto;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "kyso API",
        version = "1",
        description = "Provincial registry of agencies, subscribers, certificates and key devices; \
            lifecycle requests (Decree 68); accounts; the audit log. Authenticate with \
            `Authorization: Bearer kyso_…` (an API token from POST /api/v1/tokens) or a session \
            token from POST /api/v1/auth/login. Errors are `{error: {code, field, message \
            (Vietnamese), message_en}}`; `Accept-Language: en` or `?lang=en` does not change \
            them, both languages are always there."
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    components(schemas(dto::ErrorBody, dto::ErrorDetail)),
    tags(
        (name = "auth", description = "Logging in, one's own account and API tokens"),
        (name = "registry", description = "Agencies, subscribers, certificates, key devices"),
        (name = "requests", description = "Lifecycle requests (Decree 68 forms 01–06)"),
        (name = "accounts", description = "Accounts and roles (administrators)"),
        (name = "audit", description = "The audit log (auditors)"),
        (name = "archive", description = "The archive: every registered document filed with its versions and reports, searched by number, words, signer, agency, type and dates; dossiers with their retention periods"),
        (name = "reports", description = "Six-monthly, annual and ad hoc reports: the periods the Department opens, each agency's figures computed from the registry, reviewed, completed with its needs and submitted"),
        (name = "notices", description = "The inbox: document-flow and certificate-expiry notices"),
        (name = "documents", description = "Outgoing documents: registers, the flow from draft to dispatch, numbers, copies, deliveries and recalls (Decree 30)"),
        (name = "incoming", description = "Incoming documents: verified on arrival, registered or refused with the reason to the sender, assigned and handled (Decree 30)"),
        (name = "exchange", description = "The exchange connector of the document axis: the edXML status messages (02 refused, 03–06 handling) waiting for senders outside kyso, fetched and acknowledged"),
        (name = "signing", description = "The signing service for integrators: two-phase signing with the caller's key, one-call signing with a CSC credential"),
        (name = "verify", description = "Verification for anyone: the `kyso.verify/1` report of an uploaded PDF, no authentication"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The error statuses every operation may answer (besides its own success): a malformed
/// request, no or a wrong token, a missing permission or password change, a record outside
/// the caller's agencies, a conflict, a refused value, too many attempts.
const ERRORS: &[(&str, &str)] = &[
    ("400", "Malformed: a parameter or the body does not parse"),
    ("401", "Not logged in, or a wrong or expired token"),
    (
        "403",
        "Not allowed (the role lacks the permission, a missing CSRF token, or the one-time password must be changed first)",
    ),
    ("404", "No such record in the caller's agencies"),
    ("409", "Conflicts with a record that exists"),
    ("422", "A value is refused; `field` names it"),
    ("429", "Too many failed logins"),
];
/// And those with a body (415: a JSON body).
const BODY_ERRORS: &[(&str, &str)] = &[
    ("413", "The body is too large"),
    ("415", "The body is not `application/json`"),
];

/// The document (built once).
pub(crate) fn spec() -> &'static utoipa::openapi::OpenApi {
    static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(build);
    &DOC
}

fn build() -> utoipa::openapi::OpenApi {
    // The document's own route is served by `crate::router`; it is described here.
    let routes = crate::api::api_routes().describe::<__path_document>();
    let mut doc = ApiDoc::openapi();
    doc.paths = routes.paths;
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in routes.schemas {
        components.schemas.insert(name, schema);
    }
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token (`kyso_…`, POST /api/v1/tokens) or a session token \
                     (POST /api/v1/auth/login)",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        if path.as_str() == DOCUMENT_PATH {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_errors(op);
        }
    }
    doc
}

const DOCUMENT_PATH: &str = "/api/openapi.json";

fn add_errors(op: &mut Operation) {
    let (with_body, json_body) = match &op.request_body {
        Some(b) => (true, b.content.contains_key("application/json")),
        None => (false, false),
    };
    let errors = ERRORS.iter().chain(
        BODY_ERRORS
            .iter()
            .filter(|(status, _)| with_body && (json_body || *status != "415")),
    );
    for (status, description) in errors {
        op.responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}

/// The schema of this document (an OpenAPI 3.1 object).
#[derive(Debug)]
pub(crate) enum OpenApiDocument {}

impl utoipa::PartialSchema for OpenApiDocument {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("An OpenAPI 3.1 document"))
            .property("openapi", ObjectBuilder::new().schema_type(Type::String))
            .property("info", ObjectBuilder::new().schema_type(Type::Object))
            .property("paths", ObjectBuilder::new().schema_type(Type::Object))
            .required("openapi")
            .required("info")
            .required("paths")
            .into()
    }
}
impl utoipa::ToSchema for OpenApiDocument {}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = OpenApiDocument)))]
pub(crate) async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use std::collections::BTreeSet;

    use axum::response::IntoResponse as _;
    use serde_json::Value;

    use super::*;

    fn doc() -> Value {
        serde_json::to_value(spec()).unwrap()
    }

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(METHODS.contains(&method.as_str()), "{method} {path}");
                ops.push((method.clone(), path.clone(), op.clone()));
            }
        }
        ops
    }

    #[test]
    fn every_route_under_api_has_its_operation_and_every_operation_its_route() {
        let mut registered = crate::api::api_routes().registered;
        registered.push(("get".into(), DOCUMENT_PATH.into()));
        let routes: BTreeSet<(String, String)> = registered.iter().cloned().collect();
        assert_eq!(routes.len(), registered.len(), "a route registered twice");
        assert!(routes.iter().all(|(_, p)| p.starts_with("/api/")));
        let doc = doc();
        let documented: BTreeSet<(String, String)> = operations(&doc)
            .into_iter()
            .map(|(m, p, _)| (m, p))
            .collect();
        assert_eq!(routes, documented);
        assert!(documented.len() >= 51, "{} operations", documented.len());
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(documented.contains(&("get".into(), "/api/openapi.json".into())));
    }

    /// A `$ref` to a component schema, or an inline schema that says something.
    fn assert_schema(doc: &Value, schema: &Value, what: &str) {
        let obj = schema
            .as_object()
            .unwrap_or_else(|| panic!("{what}: {schema}"));
        assert!(!obj.is_empty(), "{what}: empty schema");
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            let target = &doc["components"]["schemas"][name];
            assert!(
                target.as_object().is_some_and(|t| !t.is_empty()),
                "{what}: {r} is not in the components"
            );
        }
    }

    #[test]
    fn every_body_of_every_operation_has_a_real_schema() {
        let doc = doc();
        // Which handlers read a body, from their extractors (not from a list of paths).
        let with_body: BTreeSet<(String, String)> =
            crate::api::api_routes().with_body.into_iter().collect();
        assert!(with_body.len() >= 20, "{with_body:?}");
        for (method, path, op) in operations(&doc) {
            let what = format!("{method} {path}");
            let body = op.get("requestBody");
            assert_eq!(
                body.is_some(),
                with_body.contains(&(method.clone(), path.clone())),
                "{what}: the document's requestBody and the handler's reading of the body differ"
            );
            if let Some(body) = body {
                assert_eq!(body["required"], true, "{what}");
                let content = body["content"].as_object().unwrap();
                assert!(!content.is_empty(), "{what}");
                for (mime, c) in content {
                    assert_schema(&doc, &c["schema"], &format!("{what} body {mime}"));
                }
            }
            let responses = op["responses"].as_object().unwrap();
            let ok: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
            assert_eq!(ok.len(), 1, "{what}: {ok:?}");
            for (status, r) in responses {
                let content = r.get("content").and_then(Value::as_object);
                if status == "204" {
                    assert!(content.is_none(), "{what} {status}");
                    continue;
                }
                let content = content.unwrap_or_else(|| panic!("{what} {status}: no content"));
                assert!(!content.is_empty(), "{what} {status}");
                for (mime, c) in content {
                    assert_schema(&doc, &c["schema"], &format!("{what} {status} {mime}"));
                    if status.starts_with('4') && !(path.ends_with("/import") && status == "422") {
                        assert_eq!(
                            c["schema"]["$ref"], "#/components/schemas/ErrorBody",
                            "{what} {status}"
                        );
                    }
                }
            }
            if path != DOCUMENT_PATH {
                for status in ["400", "401", "403", "404", "422"] {
                    assert!(responses.contains_key(status), "{what}: no {status}");
                }
            }
            let public =
                path == DOCUMENT_PATH || path == "/api/v1/auth/login" || path == "/api/v1/verify";
            assert_eq!(
                op.get("security") == Some(&serde_json::json!([{}])),
                public,
                "{what}: security {:?}",
                op.get("security")
            );
        }
        assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn request_schemas_come_from_the_types_the_handlers_read() {
        let doc = doc();
        let s = &doc["components"]["schemas"];
        // Required fields follow the types: serde defaults are optional.
        assert_eq!(
            s["AgencyInput"]["required"],
            serde_json::json!(["code", "name", "kind"])
        );
        assert_eq!(s["TokenInput"]["required"], serde_json::json!(["name"]));
        // The enums are the code's own names.
        let roles: Vec<&str> = kyso_domain::roles::Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(
            s["RoleOn"]["properties"]["role"]["enum"],
            serde_json::json!(roles)
        );
        let actions: Vec<&str> = kyso_domain::lifecycle::RequestAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert_eq!(
            s["ActionInput"]["properties"]["action"]["enum"],
            serde_json::json!(actions)
        );
        // Passwords are marked as such.
        assert_eq!(s["Login"]["properties"]["password"]["format"], "password");
        // The id of a path is an integer.
        let get_agency = &doc["paths"]["/api/v1/agencies/{id}"]["get"];
        assert_eq!(get_agency["parameters"][0]["name"], "id");
        assert_eq!(get_agency["parameters"][0]["schema"]["type"], "integer");
    }

    #[tokio::test]
    async fn an_api_error_answers_with_the_documented_error_body() {
        let e = crate::ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("name"),
            "Tên không hợp lệ.",
            "Invalid name.",
        );
        let res = e.into_response();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let schema = &doc()["components"]["schemas"];
        let body_props: BTreeSet<&String> = schema["ErrorBody"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let answer: BTreeSet<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(answer, body_props);
        let detail_props: BTreeSet<&String> = schema["ErrorDetail"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let answer: BTreeSet<&String> = v["error"].as_object().unwrap().keys().collect();
        assert_eq!(answer, detail_props);
        assert_eq!(v["error"]["field"], "name");
    }
}
