//! What `kyso pki` says: the demo PKI's errors as sentences with their exit code, and the
//! reports of `init`, `serve` and `revoke` in words or as `kyso.pki/1` JSON
//! (docs/pki-json.md).

use kyso_i18n::{ue, Lang, UserError};
use kyso_pki::demo::{Kind, Summary};
use kyso_pki::revocation::Revocation;

/// The `schema` of every `--json` output of `kyso pki` (docs/pki-json.md).
pub const SCHEMA: &str = "kyso.pki/1";

/// What `kyso pki init` prints after creating the PKI in `dir`.
pub fn init_report(
    summary: &Summary,
    dir: &std::path::Path,
    json: bool,
    lang: Lang,
) -> Result<String, serde_json::Error> {
    if json {
        let mut v = serde_json::to_value(summary)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("format");
            o.insert("schema".into(), SCHEMA.into());
            o.insert("command".into(), "init".into());
            o.insert("dir".into(), dir.display().to_string().into());
        }
        return Ok(format!("{v:#}"));
    }
    let dir = dir.display();
    let mut lines = vec![match lang {
        Lang::Vi => {
            format!("Đã tạo hạ tầng khóa công khai DEMO (hư cấu, không dùng thật) trong {dir}:")
        }
        Lang::En => format!(
            "Created a DEMO public key infrastructure (fictional, not for real use) in {dir}:"
        ),
    }];
    for e in &summary.entities {
        let until = e.not_after.get(..10).unwrap_or(&e.not_after);
        let kind = kind_label(e.kind, lang);
        let valid = lang.pick("đến", "until");
        lines.push(format!(
            "  {:<17} {:<19} {:<12} {valid} {until}  {}",
            e.cert_file, kind, e.key_algorithm, e.common_name
        ));
    }
    lines.push(
        lang.pick(
            "  signature.png, seal.png: ảnh chữ ký và con dấu mẫu (PNG trong suốt, 300 dpi)",
            "  signature.png, seal.png: sample signature and seal images (transparent PNG, 300 dpi)",
        )
        .to_owned(),
    );
    lines.push(match lang {
        Lang::Vi => format!(
            "Mỗi chứng thư số có tệp .p12 cùng tên, mã hóa bằng mật khẩu đã nhập (mật khẩu không được lưu). Dịch vụ CRL/OCSP: {}. Xem README.txt và index.json.",
            summary.base_url
        ),
        Lang::En => format!(
            "Each certificate has a .p12 of the same name, encrypted with the given password (the password is not stored). CRL/OCSP services: {}. See README.txt and index.json.",
            summary.base_url
        ),
    });
    Ok(lines.join("\n"))
}

/// What `kyso pki serve` prints once it listens on `local`.
pub fn serve_banner(local: std::net::SocketAddr, json: bool, lang: Lang) -> String {
    let base = format!("http://{local}");
    if json {
        let v = serde_json::json!({
            "schema": SCHEMA,
            "command": "serve",
            "listen": local.to_string(),
            "base_url": base,
            "tsa": format!("{base}/tsa"),
            "ocsp": format!("{base}/ocsp"),
            "crl": [format!("{base}/crl/root.crl"), format!("{base}/crl/intermediate.crl")],
            "certs": [format!("{base}/certs/root.cer"), format!("{base}/certs/intermediate.cer")],
        });
        return v.to_string();
    }
    match lang {
        Lang::Vi => format!(
            "Dịch vụ PKI DEMO đang chạy tại {base} (Ctrl-C để dừng):\n  TSA:  {base}/tsa\n  OCSP: {base}/ocsp\n  CRL:  {base}/crl/root.crl, {base}/crl/intermediate.crl\n  CA:   {base}/certs/root.cer, {base}/certs/intermediate.cer"
        ),
        Lang::En => format!(
            "Demo PKI services running at {base} (Ctrl-C to stop):\n  TSA:  {base}/tsa\n  OCSP: {base}/ocsp\n  CRL:  {base}/crl/root.crl, {base}/crl/intermediate.crl\n  CA:   {base}/certs/root.cer, {base}/certs/intermediate.cer"
        ),
    }
}

/// What `kyso pki revoke` prints.
pub fn revoke_report(r: &Revocation, json: bool, lang: Lang) -> String {
    if json {
        let v = serde_json::json!({
            "schema": SCHEMA,
            "command": "revoke",
            "serial": r.serial,
            "name": r.name,
            "issuer": r.issuer,
            "reason": r.reason.name(),
            "time": r.time,
        });
        return format!("{v:#}");
    }
    match lang {
        Lang::Vi => format!(
            "Đã thu hồi chứng thư số {} (số hiệu {}), lý do {}, thời điểm {}. Dịch vụ OCSP/CRL đang chạy sẽ cập nhật ngay.",
            r.name, r.serial, r.reason.name(), r.time
        ),
        Lang::En => format!(
            "Revoked certificate {} (serial {}), reason {}, at {}. Running OCSP/CRL services pick it up at once.",
            r.name, r.serial, r.reason.name(), r.time
        ),
    }
}

/// The note for a password given on the command line, where other users can see it (`ps`).
pub fn password_on_command_line(lang: Lang) -> &'static str {
    lang.pick(
        "Lưu ý: mật khẩu trên dòng lệnh có thể bị người dùng khác trên máy nhìn thấy; nên dùng --password-env.",
        "Note: a password on the command line may be visible to other users of this machine; prefer --password-env.",
    )
}

fn kind_label(kind: Kind, lang: Lang) -> &'static str {
    match kind {
        Kind::Root => lang.pick("CA gốc", "root CA"),
        Kind::Intermediate => lang.pick("CA trung gian", "intermediate CA"),
        Kind::Personal => lang.pick("cá nhân", "personal"),
        Kind::Organization => lang.pick("cơ quan, tổ chức", "organization"),
        Kind::Tsa => lang.pick("dấu thời gian (TSA)", "time stamping (TSA)"),
        Kind::Ocsp => lang.pick("OCSP", "OCSP"),
        Kind::Test => lang.pick("để thử từ chối", "refusal test"),
    }
}

/// A failure to create the demo PKI.
pub fn error(e: &kyso_pki::Error) -> UserError {
    use kyso_pki::Error as E;
    match e {
        E::DirNotEmpty(p) => {
            ue!("thư mục {} đã có tệp; chọn thư mục khác hoặc thêm --force", p.display(); "directory {} is not empty; choose another or add --force", p.display()).usage()
        }
        E::NotADirectory(p) => {
            ue!("{} không phải là thư mục", p.display(); "{} is not a directory", p.display()).usage()
        }
        E::Io { path, source } => kyso_i18n::catalogue::io(path, source),
        E::EmptyPassword => {
            ue!("mật khẩu không được để trống"; "the password must not be empty").usage()
        }
        E::BadBaseUrl(u) => {
            ue!("địa chỉ gốc phải bắt đầu bằng http:// hoặc https://: {}", u; "the base URL must start with http:// or https://: {}", u).usage()
        }
        other => {
            ue!("không tạo được hạ tầng khóa công khai demo: {}", other; "cannot create the demo PKI: {}", other)
        }
    }
}

/// A failure to load the demo PKI in `dir` for its services.
pub fn load_error(e: &crate::pki::LoadError, dir: &std::path::Path) -> UserError {
    use crate::pki::LoadError as L;
    match e {
        L::Pki(kyso_pki::Error::Io { path, source }) => kyso_i18n::catalogue::io(path, source),
        L::Pki(other) => {
            ue!("thư mục {} không phải PKI DEMO hợp lệ: {}", dir.display(), other; "{} is not a valid demo PKI: {}", dir.display(), other).usage()
        }
        L::Key { name, error } => {
            let inner = kyso_i18n::catalogue::keys(error);
            ue!("{}.p12: {}", name, inner.vi; "{}.p12: {}", name, inner.en).with_code(inner.code)
        }
        L::Io { path, error } => kyso_i18n::catalogue::io(path, error),
        L::Missing(what) => {
            ue!("PKI DEMO thiếu chứng thư số {}", what; "the demo PKI has no {} certificate", what).usage()
        }
    }
}

/// A failure to revoke a demo certificate.
pub fn revoke_error(e: &kyso_pki::Error) -> UserError {
    use kyso_pki::Error as E;
    match e {
        E::UnknownSerial { serial, known } => {
            let list = known
                .iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            ue!("không có chứng thư số nào mang số hiệu {}; các chứng thư số hiện có: {}", serial, list; "no certificate has serial {}; the certificates are: {}", serial, list).usage()
        }
        E::AlreadyRevoked {
            name,
            serial,
            time,
            reason,
        } => {
            ue!("chứng thư số {} (số hiệu {}) đã bị thu hồi từ {} (lý do {})", name, serial, time, reason.name(); "certificate {} (serial {}) was already revoked at {} (reason {})", name, serial, time, reason.name())
        }
        E::CannotRevokeRoot => {
            ue!("không thể thu hồi chứng thư số CA gốc"; "the root CA certificate cannot be revoked")
        }
        E::Io { path, source } => kyso_i18n::catalogue::io(path, source),
        other => ue!("không thu hồi được: {}", other; "cannot revoke: {}", other),
    }
}
