//! What `kyso token` does beyond reading the command line: the reports of `list` and `import`
//! (in words or as `kyso.token/1` JSON, docs/token-json.md), and `register`, which reads a
//! token's certificates and registers them, and the token as a key device, with the registry
//! server over its REST API.

use std::path::Path;

use kyso_i18n::{ue, Lang, UserError};
use kyso_keys::pkcs11::{Imported, TokenFlags, TokenInfo};
use kyso_keys::token_report;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// The `schema` of every `--json` output of `kyso token` (docs/token-json.md).
pub const SCHEMA: &str = "kyso.token/1";

/// What `kyso token list` prints for the tokens of `module`.
pub fn list_report(module: &Path, tokens: &[TokenInfo], json: bool, lang: Lang) -> String {
    if json {
        let report = json!({
            "schema": SCHEMA,
            "command": "list",
            "module": module.display().to_string(),
            "tokens": tokens.iter().map(token_report::token_json).collect::<Vec<_>>(),
        });
        return format!("{report:#}");
    }
    let t = |vi, en| lang.pick(vi, en);
    let mut o = vec![format!(
        "{} {}",
        t("Thư viện PKCS#11:", "PKCS#11 module:"),
        module.display()
    )];
    if tokens.is_empty() {
        o.push(
            t(
                "Không thấy USB token nào: hãy cắm thiết bị vào máy.",
                "No token found: plug the device in.",
            )
            .to_owned(),
        );
    }
    for tok in tokens {
        o.push(String::new());
        o.push(format!(
            "{} {}: {} \"{}\"",
            t("Khe", "Slot"),
            tok.slot_id,
            t("token", "token"),
            tok.label
        ));
        o.push(format!("  {} {}", t("Số sê-ri:", "Serial:"), tok.serial));
        o.push(format!(
            "  {} {}",
            t("Nhà sản xuất:", "Manufacturer:"),
            tok.manufacturer
        ));
        o.push(format!("  {} {}", t("Mẫu thiết bị:", "Model:"), tok.model));
        o.push(format!(
            "  {} {}",
            t("Trạng thái:", "State:"),
            flags_text(&tok.flags, lang)
        ));
        if tok.certificates.is_empty() {
            o.push(format!(
                "  {}",
                t(
                    "Không có chứng thư số đọc được khi chưa nhập PIN.",
                    "No certificate readable without the PIN."
                )
            ));
        }
        for c in &tok.certificates {
            let when = |d: time::OffsetDateTime| {
                d.format(&Rfc3339).unwrap_or_else(|_| d.date().to_string())
            };
            o.push(format!(
                "  - {} {}",
                t("Chứng thư số:", "Certificate:"),
                c.cert.subject_display()
            ));
            o.push(format!(
                "      {} {}",
                t("Cấp bởi:", "Issued by:"),
                c.cert.issuer_display()
            ));
            o.push(format!(
                "      {} {}",
                t("Số hiệu:", "Serial:"),
                c.cert.serial_hex()
            ));
            o.push(format!(
                "      {} {} → {}",
                t("Hiệu lực:", "Valid:"),
                when(c.cert.not_before()),
                when(c.cert.not_after())
            ));
            o.push(format!(
                "      {} \"{}\", CKA_ID {}{}",
                t("Nhãn khóa:", "Key label:"),
                c.label,
                if c.id.is_empty() {
                    "-".to_owned()
                } else {
                    c.id_hex()
                },
                if c.cert.is_ca() {
                    t(" (chứng thư số CA)", " (CA certificate)")
                } else {
                    ""
                }
            ));
        }
        if tok.unreadable_certificates > 0 {
            o.push(format!(
                "  {} {}",
                tok.unreadable_certificates,
                t(
                    "chứng thư số không đọc được (quá lớn hoặc sai định dạng)",
                    "certificate(s) could not be read (too large or malformed)"
                )
            ));
        }
    }
    o.join("\n")
}

/// A token's state in words.
pub fn flags_text(f: &TokenFlags, lang: Lang) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let t = |vi, en| lang.pick(vi, en);
    if f.pin_locked {
        parts.push(t(
            "MÃ PIN ĐÃ BỊ KHÓA (dùng PUK hoặc công cụ của nhà cung cấp)",
            "PIN LOCKED (use the PUK or the vendor's tool)",
        ));
    } else if f.pin_final_try {
        parts.push(t("còn 1 lần nhập mã PIN", "1 PIN try left"));
    } else if f.pin_count_low {
        parts.push(t(
            "đã nhập sai mã PIN, còn ít lần thử",
            "a wrong PIN was entered, few tries left",
        ));
    }
    if f.pin_to_be_changed {
        parts.push(t("cần đổi mã PIN", "the PIN must be changed"));
    }
    if !f.user_pin_initialized {
        parts.push(t("chưa đặt mã PIN", "no user PIN set"));
    }
    if f.protected_authentication_path {
        parts.push(t(
            "nhập mã PIN trên bàn phím của thiết bị",
            "PIN entered on the device's keypad",
        ));
    }
    if f.login_required && parts.is_empty() {
        parts.push(t("cần mã PIN để ký", "PIN needed to sign"));
    }
    if f.write_protected {
        parts.push(t("chống ghi", "write-protected"));
    }
    if parts.is_empty() {
        parts.push(t("sẵn sàng", "ready"));
    }
    parts.join("; ")
}

/// What `kyso token import` prints once the key `label` is on `token`.
pub fn import_report(done: &Imported, token: &str, label: &str, json: bool, lang: Lang) -> String {
    let id_hex: String = done.id.iter().map(|b| format!("{b:02x}")).collect();
    let subject = done.cert.subject_display();
    if json {
        let v = json!({
            "schema": SCHEMA,
            "command": "import",
            "token": token,
            "label": label,
            "id": id_hex,
            "certificate": {
                "subject": subject,
                "issuer": done.cert.issuer_display(),
                "serial": done.cert.serial_hex(),
            },
            "ca_certificates": done.ca_certificates,
        });
        return format!("{v:#}");
    }
    let m = ue!("Đã nạp khóa \"{}\" (CKA_ID {}) và chứng thư số {} vào token {}; thêm {} chứng thư số CA", label, id_hex, subject, token, done.ca_certificates; "Imported key \"{}\" (CKA_ID {}) and certificate {} into token {}; {} CA certificate(s) added", label, id_hex, subject, token, done.ca_certificates);
    m.message(lang).to_owned()
}

/// The token `want` names (label or serial), or the only one plugged in.
pub fn find_token<'a>(
    tokens: &'a [TokenInfo],
    want: Option<&str>,
) -> Result<&'a TokenInfo, UserError> {
    match want {
        Some(want) => tokens.iter().find(|t| t.label == want || t.serial == want),
        None if tokens.len() == 1 => tokens.first(),
        None => {
            return Err(ue!("có {} token đang cắm: chọn bằng --token", tokens.len(); "{} tokens are plugged in: choose one with --token", tokens.len()).usage())
        }
    }
    .ok_or_else(|| ue!("không thấy USB token: hãy cắm thiết bị vào máy"; "no token found: plug the device in").environment())
}

/// The registry server's REST API, as `kyso token register` speaks it.
struct Api {
    agent: ureq::Agent,
    base: String,
    auth: zeroize::Zeroizing<String>,
}

impl Api {
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), UserError> {
        use std::io::Read as _;
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let sent = match (method, body) {
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("Authorization", self.auth.as_str())
                .header("Content-Type", "application/json")
                .send(b.to_string().as_bytes()),
            _ => self
                .agent
                .get(&url)
                .header("Authorization", self.auth.as_str())
                .call(),
        };
        let mut resp = sent.map_err(|e| ue!("không kết nối được máy chủ {}: {}", self.base, e; "cannot reach the server {}: {}", self.base, e).environment())?;
        let status = resp.status().as_u16();
        let mut text = Vec::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(1 << 20)
            .read_to_end(&mut text);
        Ok((
            status,
            serde_json::from_slice(&text).unwrap_or(serde_json::Value::Null),
        ))
    }
}

/// The server's refusal (HTTP `status`): a wrong request or API token is the user's input (3),
/// a server failure the environment (4), a refusal (no permission) a failure (1).
fn api_error(status: u16, v: &serde_json::Value) -> UserError {
    let vi = v
        .pointer("/error/message")
        .and_then(|x| x.as_str())
        .unwrap_or("máy chủ từ chối yêu cầu");
    let en = v
        .pointer("/error/message_en")
        .and_then(|x| x.as_str())
        .unwrap_or("the server refused the request");
    let e = UserError::new(vi.to_owned(), en.to_owned());
    match status {
        403 => e,
        400..=499 => e.usage(),
        _ => e.environment(),
    }
}

impl std::fmt::Debug for Registration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("server", &self.server)
            .field("agency", &self.agency.dotted())
            .field("subscriber", &self.subscriber)
            .finish_non_exhaustive()
    }
}

/// What `kyso token register` registers, and where.
pub struct Registration<'a> {
    /// The registry server's base URL.
    pub server: &'a str,
    /// The API token (`kyso_…`).
    pub api_token: zeroize::Zeroizing<String>,
    /// The agency managing the token.
    pub agency: kyso_domain::codes::AgencyCode,
    /// The subscriber the token is handed over to, if any.
    pub subscriber: Option<i64>,
}

/// Register `tok`'s certificates (read without the PIN: they are public objects) and the token
/// itself as a key device in the registry. Each step is told to `say` as it is done (in
/// words); the `kyso.token/1` JSON of the whole is returned.
pub fn register(
    reg: Registration<'_>,
    tok: &TokenInfo,
    lang: Lang,
    say: &mut dyn FnMut(String),
) -> Result<serde_json::Value, UserError> {
    use base64::Engine as _;
    let code = &reg.agency;
    let api = Api {
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into(),
        base: reg.server.to_owned(),
        auth: zeroize::Zeroizing::new(format!("Bearer {}", reg.api_token.as_str())),
    };
    drop(reg.api_token);
    let (status, found) = api.call(
        "GET",
        &format!("/api/v1/agencies?q={}", code.dotted()),
        None,
    )?;
    if status != 200 {
        return Err(api_error(status, &found));
    }
    let agency_id = found.get("items").and_then(|x| x.as_array())
        .and_then(|items| items.iter().find(|a| a.get("code").and_then(|x| x.as_str()) == Some(code.dotted().as_str())))
        .and_then(|a| a.get("id").and_then(|x| x.as_i64()))
        .ok_or_else(|| ue!("không có cơ quan {} trong phạm vi của bạn", code.dotted(); "no agency {} within your agencies", code.dotted()).usage())?;
    let t = |vi: &str, en: &str| lang.pick(vi, en).to_owned();
    let mut registered = Vec::new();
    let mut certificate_id = None;
    for c in tok.certificates.iter().filter(|c| !c.cert.is_ca()) {
        let body = json!({
            "agency_id": agency_id,
            "subscriber_id": reg.subscriber,
            "der_base64": base64::engine::general_purpose::STANDARD.encode(c.cert.der()),
        });
        let (status, v) = api.call("POST", "/api/v1/certificates", Some(&body))?;
        match status {
            201 => {
                let id = v.get("id").and_then(|x| x.as_i64());
                certificate_id = certificate_id.or(id);
                registered.push(json!({
                    "subject": c.cert.subject_display(),
                    "serial": c.cert.serial_hex(),
                    "status": "registered",
                    "id": id,
                }));
                say(format!(
                    "{} {} ({})",
                    t("Đã đăng ký chứng thư số", "Registered certificate"),
                    c.cert.subject_display(),
                    c.cert.serial_hex()
                ));
            }
            409 => {
                registered.push(json!({
                    "subject": c.cert.subject_display(),
                    "serial": c.cert.serial_hex(),
                    "status": "already_registered",
                    "id": null,
                }));
                say(format!(
                    "{} {}",
                    t("Đã có trong danh mục:", "Already registered:"),
                    c.cert.serial_hex()
                ));
            }
            _ => return Err(api_error(status, &v)),
        }
    }
    let body = json!({
        "kind": "token",
        "serial": tok.serial.trim(),
        "model": format!("{} {}", tok.manufacturer.trim(), tok.model.trim()).trim().to_owned(),
        "agency_id": agency_id,
        "certificate_id": certificate_id,
    });
    let (status, v) = api.call("POST", "/api/v1/devices", Some(&body))?;
    let (mut device_status, mut device_id, mut handed_over_to) = ("already_registered", None, None);
    match status {
        201 => {
            device_status = "registered";
            device_id = v.get("id").and_then(|x| x.as_i64());
            say(format!(
                "{} {}",
                t("Đã đăng ký thiết bị", "Registered device"),
                tok.serial.trim()
            ));
            if let (Some(holder), Some(id)) = (reg.subscriber, v.get("id").and_then(|x| x.as_i64()))
            {
                let ev =
                    json!({"event": "assign", "holder_id": holder, "note": "kyso token register"});
                let (status, v) =
                    api.call("POST", &format!("/api/v1/devices/{id}/events"), Some(&ev))?;
                if status != 200 {
                    return Err(api_error(status, &v));
                }
                handed_over_to = Some(holder);
                say(t(
                    "Đã ghi nhận bàn giao thiết bị cho thuê bao (Mẫu 07)",
                    "Recorded the handover to the subscriber (form 07)",
                ));
            }
        }
        409 => say(format!(
            "{} {}",
            t(
                "Thiết bị đã có trong danh mục:",
                "Device already registered:"
            ),
            tok.serial.trim()
        )),
        _ => return Err(api_error(status, &v)),
    }
    Ok(json!({
        "schema": SCHEMA,
        "command": "register",
        "server": reg.server,
        "agency": code.dotted(),
        "agency_id": agency_id,
        "certificates": registered,
        "device": {
            "serial": tok.serial.trim(),
            "model": body.get("model"),
            "status": device_status,
            "id": device_id,
            "handed_over_to": handed_over_to,
        },
    }))
}
