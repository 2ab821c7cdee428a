//! `kyso token`: the USB PKI tokens (PKCS#11) on this machine.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_keys::pkcs11::TokenFlags;
use kyso_keys::token_report;
use kyso_keys::Pkcs11Module;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use kyso_i18n::catalogue as errors;
use kyso_i18n::ue;
use kyso_i18n::Lang;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TokenCommand {
    /// Liệt kê các USB token, trạng thái mã PIN và chứng thư số trên từng thiết bị
    List(ListArgs),
    /// Nạp khóa, chứng thư số và chuỗi CA từ tệp PKCS#12 vào USB token (khóa không xuất ra được)
    Import(ImportArgs),
    /// Đăng ký USB token và chứng thư số trên đó vào danh mục của máy chủ kyso (qua REST API)
    Register(RegisterArgs),
}

#[derive(clap::Args, Debug)]
struct RegisterArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// Nhãn hoặc số sê-ri của USB token (bắt buộc khi cắm nhiều token)
    #[arg(long, value_name = "LABEL_OR_SERIAL")]
    token: Option<String>,
    /// Địa chỉ máy chủ kyso
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Tên biến môi trường chứa mã truy cập API (kyso_…); không bao giờ truyền trên dòng lệnh
    #[arg(long, value_name = "VAR", default_value = "KYSO_API_TOKEN")]
    api_token_env: String,
    /// Mã định danh của cơ quan quản lý token (H41.37 hoặc 000.00.37.H41)
    #[arg(long, value_name = "CODE")]
    agency: String,
    /// Mã thuê bao giữ token (ghi nhận bàn giao cho thuê bao)
    #[arg(long, value_name = "ID")]
    subscriber: Option<i64>,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// Nhãn hoặc số sê-ri của USB token
    #[arg(long, value_name = "LABEL_OR_SERIAL")]
    token: String,
    /// Tệp khóa PKCS#12 (.p12/.pfx) cần nạp
    #[arg(long, value_name = "FILE.p12")]
    p12: PathBuf,
    /// Tên biến môi trường chứa mật khẩu PKCS#12 (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Tên biến môi trường chứa mã PIN của token (không có thì hỏi khi chạy)
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
    /// Nhãn của khóa trên token (mặc định: tên tệp .p12)
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// CKA_ID của khóa, dạng hex (mặc định: định danh khóa của chứng thư số)
    #[arg(long, value_name = "HEX")]
    id: Option<String>,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Thư viện PKCS#11 của USB token (tệp .so/.dll của nhà cung cấp thiết bị)
    #[arg(long, value_name = "PATH.so")]
    pkcs11_module: PathBuf,
    /// In kết quả dạng JSON (lược đồ kyso.token/1, xem docs/token-json.md)
    #[arg(long)]
    json: bool,
}

/// The `schema` of every `--json` output of `kyso token` (docs/token-json.md).
const SCHEMA: &str = "kyso.token/1";

pub fn run(args: Args, lang: Lang) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::List(a) => list(a, lang),
        TokenCommand::Import(a) => import(a, lang),
        TokenCommand::Register(a) => register(a, lang),
    }
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
    ) -> Result<(u16, serde_json::Value), kyso_i18n::UserError> {
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
fn api_error(status: u16, v: &serde_json::Value) -> kyso_i18n::UserError {
    let vi = v
        .pointer("/error/message")
        .and_then(|x| x.as_str())
        .unwrap_or("máy chủ từ chối yêu cầu");
    let en = v
        .pointer("/error/message_en")
        .and_then(|x| x.as_str())
        .unwrap_or("the server refused the request");
    let e = kyso_i18n::UserError::new(vi.to_owned(), en.to_owned());
    match status {
        403 => e,
        400..=499 => e.usage(),
        _ => e.environment(),
    }
}

/// Read the token's certificates through kyso's PKCS#11 engine (no PIN: certificates are public
/// objects) and register them, and the token itself as a key device, in the registry.
fn register(args: RegisterArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    use base64::Engine as _;
    let code = kyso_domain::codes::AgencyCode::parse(&args.agency)
        .map_err(|e| kyso_i18n::UserError::new(e.message_vi(), e.message_en()).usage())?;
    let token = std::env::var(&args.api_token_env).map_err(|_| {
        ue!("cần mã truy cập API trong biến môi trường {}", args.api_token_env; "the API token must be in the environment variable {}", args.api_token_env).usage()
    })?;
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    let tok = match &args.token {
        Some(want) => tokens.iter().find(|t| t.label == *want || t.serial == *want),
        None if tokens.len() == 1 => tokens.first(),
        None => {
            return Err(ue!("có {} token đang cắm: chọn bằng --token", tokens.len(); "{} tokens are plugged in: choose one with --token", tokens.len()).usage().into())
        }
    }
    .ok_or_else(|| ue!("không thấy USB token: hãy cắm thiết bị vào máy"; "no token found: plug the device in").environment())?;
    let api = Api {
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into(),
        base: args.server.clone(),
        auth: zeroize::Zeroizing::new(format!("Bearer {token}")),
    };
    drop(token);
    let (status, found) = api.call(
        "GET",
        &format!("/api/v1/agencies?q={}", code.dotted()),
        None,
    )?;
    if status != 200 {
        return Err(api_error(status, &found).into());
    }
    let agency_id = found.get("items").and_then(|x| x.as_array())
        .and_then(|items| items.iter().find(|a| a.get("code").and_then(|x| x.as_str()) == Some(code.dotted().as_str())))
        .and_then(|a| a.get("id").and_then(|x| x.as_i64()))
        .ok_or_else(|| ue!("không có cơ quan {} trong phạm vi của bạn", code.dotted(); "no agency {} within your agencies", code.dotted()).usage())?;
    let t = |vi: &str, en: &str| lang.pick(vi, en).to_owned();
    // What --json prints; the text lines are printed only without it.
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    let mut registered = Vec::new();
    let mut certificate_id = None;
    for c in tok.certificates.iter().filter(|c| !c.cert.is_ca()) {
        let body = json!({
            "agency_id": agency_id,
            "subscriber_id": args.subscriber,
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
            _ => return Err(api_error(status, &v).into()),
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
            if let (Some(holder), Some(id)) =
                (args.subscriber, v.get("id").and_then(|x| x.as_i64()))
            {
                let ev =
                    json!({"event": "assign", "holder_id": holder, "note": "kyso token register"});
                let (status, v) =
                    api.call("POST", &format!("/api/v1/devices/{id}/events"), Some(&ev))?;
                if status != 200 {
                    return Err(api_error(status, &v).into());
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
        _ => return Err(api_error(status, &v).into()),
    }
    if args.json {
        let v = json!({
            "schema": SCHEMA,
            "command": "register",
            "server": args.server,
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
        });
        println!("{v:#}");
    }
    Ok(ExitCode::SUCCESS)
}

fn import(args: ImportArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let id = match &args.id {
        Some(h) => Some(token_report::parse_id_hex(h).ok_or_else(
            || ue!("--id phải là số hex (ví dụ 01 hoặc a1b2)"; "--id must be hex (e.g. 01 or a1b2)").usage(),
        )?),
        None => None,
    };
    let label = match &args.label {
        Some(l) => l.clone(),
        None => args
            .p12
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "key".to_owned()),
    };
    let p12 = crate::sign::read_limited(&args.p12, kyso_keys::MAX_P12_BYTES)?;
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let password = crate::keys::secret(args.password_env.as_deref(), "Mật khẩu PKCS#12: ")?;
    let pin = crate::keys::secret(
        args.pin_env.as_deref(),
        &format!("Mã PIN của thiết bị {}: ", args.token),
    )?;
    let done = module
        .import_pkcs12(&args.token, &pin, &p12, &password, &label, id.as_deref())
        .map_err(|e| errors::keys(&e))?;
    drop((pin, password));
    let id_hex: String = done.id.iter().map(|b| format!("{b:02x}")).collect();
    let subject = done.cert.subject_display();
    if args.json {
        let v = json!({
            "schema": SCHEMA,
            "command": "import",
            "token": args.token,
            "label": label,
            "id": id_hex,
            "certificate": {
                "subject": subject,
                "issuer": done.cert.issuer_display(),
                "serial": done.cert.serial_hex(),
            },
            "ca_certificates": done.ca_certificates,
        });
        println!("{v:#}");
        return Ok(ExitCode::SUCCESS);
    }
    let m = ue!("Đã nạp khóa \"{}\" (CKA_ID {}) và chứng thư số {} vào token {}; thêm {} chứng thư số CA", label, id_hex, subject, args.token, done.ca_certificates; "Imported key \"{}\" (CKA_ID {}) and certificate {} into token {}; {} CA certificate(s) added", label, id_hex, subject, args.token, done.ca_certificates);
    println!("{}", m.message(lang));
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let module = Pkcs11Module::load(&args.pkcs11_module).map_err(|e| errors::keys(&e))?;
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    if args.json {
        let report = json!({
            "schema": SCHEMA,
            "command": "list",
            "module": args.pkcs11_module.display().to_string(),
            "tokens": tokens.iter().map(token_report::token_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let t = |vi, en| lang.pick(vi, en);
    println!(
        "{} {}",
        t("Thư viện PKCS#11:", "PKCS#11 module:"),
        args.pkcs11_module.display()
    );
    if tokens.is_empty() {
        println!(
            "{}",
            t(
                "Không thấy USB token nào: hãy cắm thiết bị vào máy.",
                "No token found: plug the device in."
            )
        );
    }
    for tok in &tokens {
        println!();
        println!(
            "{} {}: {} \"{}\"",
            t("Khe", "Slot"),
            tok.slot_id,
            t("token", "token"),
            tok.label
        );
        println!("  {} {}", t("Số sê-ri:", "Serial:"), tok.serial);
        println!(
            "  {} {}",
            t("Nhà sản xuất:", "Manufacturer:"),
            tok.manufacturer
        );
        println!("  {} {}", t("Mẫu thiết bị:", "Model:"), tok.model);
        println!(
            "  {} {}",
            t("Trạng thái:", "State:"),
            flags_text(&tok.flags, lang)
        );
        if tok.certificates.is_empty() {
            println!(
                "  {}",
                t(
                    "Không có chứng thư số đọc được khi chưa nhập PIN.",
                    "No certificate readable without the PIN."
                )
            );
        }
        for c in &tok.certificates {
            let when = |d: time::OffsetDateTime| {
                d.format(&Rfc3339).unwrap_or_else(|_| d.date().to_string())
            };
            println!(
                "  - {} {}",
                t("Chứng thư số:", "Certificate:"),
                c.cert.subject_display()
            );
            println!(
                "      {} {}",
                t("Cấp bởi:", "Issued by:"),
                c.cert.issuer_display()
            );
            println!("      {} {}", t("Số hiệu:", "Serial:"), c.cert.serial_hex());
            println!(
                "      {} {} → {}",
                t("Hiệu lực:", "Valid:"),
                when(c.cert.not_before()),
                when(c.cert.not_after())
            );
            println!(
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
            );
        }
        if tok.unreadable_certificates > 0 {
            println!(
                "  {} {}",
                tok.unreadable_certificates,
                t(
                    "chứng thư số không đọc được (quá lớn hoặc sai định dạng)",
                    "certificate(s) could not be read (too large or malformed)"
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn flags_text(f: &TokenFlags, lang: Lang) -> String {
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
