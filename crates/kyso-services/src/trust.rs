//! The trust store as `kyso trust`, `kyso verify` and `kyso agent` use it: the anchors a
//! verifying command trusts (`--trust` files, else the store), the store's errors as sentences,
//! and `list`, `add` and `remove` (`kyso_x509::store`: `KYSO_TRUST_DIR`, else
//! `~/.config/kyso/trust` then `/etc/kyso/trust`). `add` and `remove` show the subject and the
//! SHA-256 fingerprint and ask for confirmation through the caller's [`Console`].

use std::path::{Path, PathBuf};

use kyso_i18n::catalogue as errors;
use kyso_i18n::{ue, Lang, UserError};
use kyso_pades::validate::display_time;
use kyso_x509::path::TrustStore;
use kyso_x509::store::{self, DirKind, StoreError, StoredAnchor, TrustDir};
use kyso_x509::Cert;
use serde_json::json;

/// The terminal, as the binary has it: where the text goes and who answers yes or no.
pub trait Console {
    /// Show `text` (written as is: it ends its own lines).
    fn out(&mut self, text: &str) -> Result<(), UserError>;
    /// Ask `question`; only a yes is `true`.
    fn confirm(&mut self, question: &str) -> Result<bool, UserError>;
}

/// The trust anchors a verifying command uses: the `--trust` files when given, else the trust
/// store (possibly empty: see [`empty_hint`]). Errors carry exit code 3 (usage or input).
pub fn anchors(files: &[PathBuf]) -> Result<TrustStore, UserError> {
    if !files.is_empty() {
        // The library's and the operating system's text only in English.
        return TrustStore::from_pem_files(files).map_err(|e| {
            match &e {
                kyso_x509::Error::Io { path, .. } => {
                    ue!("không đọc được tệp chứng thư gốc tin cậy {} (không có tệp này hoặc không đủ quyền)", path; "cannot read the trusted root certificates: {}", e)
                }
                _ => {
                    ue!("tệp chứng thư gốc tin cậy (--trust) không phải chứng thư số dạng PEM hoặc DER"; "cannot read the trusted root certificates: {}", e)
                }
            }
            .usage()
        });
    }
    TrustStore::from_dirs(&store::default_dirs()).map_err(|e| store_error(&e).usage())
}

/// Like [`anchors`], but no anchor at all is an error saying how to add roots.
pub fn anchors_required(files: &[PathBuf]) -> Result<TrustStore, UserError> {
    let trust = anchors(files)?;
    if trust.is_empty() {
        return Err(empty_error().usage());
    }
    Ok(trust)
}

/// What to say when neither `--trust` nor the trust store gives an anchor.
pub fn empty_hint(lang: Lang) -> String {
    empty_error().message(lang).to_owned()
}

fn empty_error() -> UserError {
    let where_ = dir_list(&store::default_dirs());
    ue!(
        "chưa có chứng thư gốc tin cậy nào (đã tìm trong {}): thêm chứng thư gốc của Ban Cơ yếu Chính phủ bằng \"kyso trust add ROOT.pem\" sau khi đối chiếu dấu vân tay SHA-256 do Ban Cơ yếu công bố, hoặc chỉ ra tệp bằng --trust ROOT.pem",
        where_;
        "no trusted root certificate yet (looked in {}): add the national root certificate with \"kyso trust add ROOT.pem\" after checking the SHA-256 fingerprint the national CA publishes, or name the file with --trust ROOT.pem",
        where_
    )
}

fn dir_list(dirs: &[TrustDir]) -> String {
    dirs.iter()
        .map(|d| d.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A trust store error in the user's words (the operating system's and the ASN.1 parser's own
/// text only in English). The store is the user's configuration: exit 3.
pub fn store_error(e: &StoreError) -> UserError {
    store_message(e).usage()
}

fn store_message(e: &StoreError) -> UserError {
    match e {
        StoreError::Io { path, message } => {
            let p = path.display();
            ue!("không đọc được {} trong danh sách tin cậy (không có tệp này hoặc không đủ quyền)", p; "cannot read {} of the trust store: {}", p, message)
        }
        StoreError::TooLarge { path, max } => {
            let p = path.display();
            ue!("tệp {} trong danh sách tin cậy lớn hơn {} byte, không phải tệp chứng thư gốc; hãy xóa hoặc sửa tệp này", p, max;
                "{} in the trust store is larger than {} bytes, not a root certificate file; remove or fix it", p, max)
        }
        StoreError::TooManyFiles { dir, max } => {
            let p = dir.display();
            ue!("thư mục {} có hơn {} tệp chứng thư", p, max; "{} holds more than {} certificate files", p, max)
        }
        StoreError::TooManyCerts { path, max } => {
            let p = path.display();
            ue!("tệp {} có hơn {} chứng thư", p, max; "{} holds more than {} certificates", p, max)
        }
        StoreError::Garbled { path, detail } => {
            let p = path.display();
            ue!("tệp {} trong danh sách tin cậy không phải chứng thư số (PEM hoặc DER); hãy xóa hoặc thay tệp này", p;
                "{} in the trust store is not a certificate (PEM or DER): {}; remove or replace it", p, detail)
        }
        StoreError::NotCa { path, subject } => {
            let p = path.display();
            ue!("{}: \"{}\" không phải chứng thư của tổ chức cung cấp dịch vụ chứng thực (CA), không dùng làm gốc tin cậy được", p, subject;
                "{}: \"{}\" is not a CA certificate and cannot be a trusted root", p, subject)
        }
        _ => ue!("không dùng được danh sách tin cậy"; "trust store: {}", e),
    }
}

fn kind_label(k: DirKind, lang: Lang) -> &'static str {
    match k {
        DirKind::Env => lang.pick("biến KYSO_TRUST_DIR", "KYSO_TRUST_DIR"),
        DirKind::User => lang.pick("của người dùng", "user"),
        DirKind::System => lang.pick("của hệ thống", "system"),
    }
}

fn describe(c: &Cert, lang: Lang) -> String {
    let mut s = format!(
        "  {}\n    SHA-256: {}\n    {}: {} – {}\n",
        c.subject_display(),
        store::colon_fingerprint(&c.sha256_fingerprint_hex()),
        lang.pick("Hiệu lực", "Valid"),
        display_time(c.not_before()),
        display_time(c.not_after()),
    );
    if !c.is_self_issued() {
        s.push_str(&format!(
            "    {}: {}\n",
            lang.pick("CA trung gian, cấp bởi", "Intermediate CA, issued by"),
            c.issuer_display()
        ));
    }
    s
}

/// `kyso trust list`: every directory of the store and the roots in it (or `kyso.trust/1`).
pub fn list(json: bool, lang: Lang, console: &mut dyn Console) -> Result<(), UserError> {
    let dirs = store::default_dirs();
    let anchors = store::load(&dirs).map_err(|e| store_error(&e))?;
    if json {
        let v = json!({
            "schema": "kyso.trust/1",
            "directories": dirs.iter().map(|d| json!({
                "path": d.path.display().to_string(),
                "kind": d.kind.as_str(),
                "exists": d.path.is_dir(),
            })).collect::<Vec<_>>(),
            "anchors": anchors.iter().map(|x| json!({
                "subject": x.cert.subject_display(),
                "issuer": x.cert.issuer_display(),
                "sha256": x.cert.sha256_fingerprint_hex(),
                "not_before": display_time(x.cert.not_before()),
                "not_after": display_time(x.cert.not_after()),
                "self_signed": x.cert.is_self_issued(),
                "directory": x.dir.path.display().to_string(),
                "kind": x.dir.kind.as_str(),
                "file": x.file.display().to_string(),
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&v)
            .map_err(|e| ue!("lỗi JSON: {}", e; "JSON error: {}", e))?;
        return console.out(&format!("{text}\n"));
    }
    let mut o = String::new();
    for d in &dirs {
        o.push_str(&format!(
            "{} {} ({}):\n",
            lang.pick("Thư mục", "Directory"),
            d.path.display(),
            kind_label(d.kind, lang)
        ));
        let here: Vec<&StoredAnchor> = anchors.iter().filter(|x| x.dir == *d).collect();
        if here.is_empty() {
            o.push_str(lang.pick("  (trống)\n", "  (empty)\n"));
        }
        for x in here {
            o.push_str(&describe(&x.cert, lang));
            o.push_str(&format!(
                "    {}: {}\n",
                lang.pick("Tệp", "File"),
                x.file.display()
            ));
        }
    }
    if anchors.is_empty() {
        o.push_str(lang.pick(
            "Chưa có chứng thư gốc tin cậy nào. Thêm chứng thư gốc của Ban Cơ yếu Chính phủ bằng \"kyso trust add ROOT.pem\" (hoặc \"--system\" cho cả máy) sau khi đối chiếu dấu vân tay SHA-256 với dấu vân tay do Ban Cơ yếu công bố.\n",
            "No trusted root certificate yet. Add the national root certificate with \"kyso trust add ROOT.pem\" (or \"--system\" for the whole machine) after comparing its SHA-256 fingerprint with the one the national CA publishes.\n",
        ));
    }
    console.out(&o)
}

/// The directory `add` writes to.
fn target_dir(system: bool) -> Result<TrustDir, UserError> {
    store::target_dir(&store::default_dirs(), system).ok_or_else(|| {
        if system {
            ue!("không có thư mục hệ thống"; "no system directory").usage()
        } else {
            ue!("không xác định được thư mục của người dùng (HOME chưa đặt); dùng --system hoặc KYSO_TRUST_DIR";
                "cannot tell the user's directory (HOME is not set); use --system or KYSO_TRUST_DIR").usage()
        }
    })
}

/// A failed change of the store; without the right, the hint to run as administrator.
fn write_error(path: &Path, e: &std::io::Error) -> UserError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        let p = path.display();
        return ue!("không có quyền ghi {}: thư mục của hệ thống cần quyền quản trị (sudo kyso trust …)", p;
            "no permission to write {}: the system directory needs administrator rights (sudo kyso trust …)", p).usage();
    }
    errors::io(path, e)
}

/// `kyso trust add`: add the CA certificates of `files` to the user's (or, with `system`, the
/// system's) directory, each after a yes unless `yes`.
pub fn add(
    files: &[PathBuf],
    yes: bool,
    system: bool,
    lang: Lang,
    console: &mut dyn Console,
) -> Result<(), UserError> {
    let target = target_dir(system)?;
    let mut certs = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| errors::io(f, &e))?;
        let parsed = store::parse_anchor_file(f, &bytes).map_err(|e| match e {
            StoreError::Garbled { path, detail } => {
                let p = path.display();
                ue!("tệp {} không phải chứng thư số (PEM hoặc DER): {}", p, detail;
                    "{} is not a certificate (PEM or DER): {}", p, detail)
                .usage()
            }
            e => store_error(&e),
        })?;
        for c in parsed {
            if !certs.contains(&c) {
                certs.push(c);
            }
        }
    }
    let existing = store::load(&store::default_dirs()).map_err(|e| store_error(&e))?;
    let mut refused = 0;
    for c in certs {
        if let Some(x) = existing.iter().find(|x| x.cert == c) {
            console.out(&format!(
                "{} {}:\n{}",
                lang.pick("Đã có trong danh sách tin cậy", "Already trusted"),
                x.file.display(),
                describe(&c, lang)
            ))?;
            continue;
        }
        console.out(&describe(&c, lang))?;
        let subject = c.subject_display();
        if !yes {
            let q = match lang {
                Lang::Vi => format!(
                    "Thêm \"{subject}\" vào danh sách tin cậy ({})?",
                    target.path.display()
                ),
                Lang::En => format!(
                    "Add \"{subject}\" to the trusted roots ({})?",
                    target.path.display()
                ),
            };
            if !console.confirm(&q)? {
                console.out(lang.pick("Không thêm.\n", "Not added.\n"))?;
                refused += 1;
                continue;
            }
        }
        let file = store::add(&target.path, &c).map_err(|(path, e)| write_error(&path, &e))?;
        console.out(&format!(
            "{} {}\n",
            lang.pick("Đã thêm vào", "Added as"),
            file.display()
        ))?;
    }
    if refused > 0 {
        return Err(
            ue!("không thêm {} chứng thư (người dùng không đồng ý)", refused;
            "{} certificate(s) not added (not confirmed)", refused),
        );
    }
    Ok(())
}

/// `kyso trust remove`: remove the root whose SHA-256 fingerprint starts with `fingerprint`
/// from every file of the store holding it, after a yes unless `yes`.
pub fn remove(
    fingerprint: &str,
    yes: bool,
    lang: Lang,
    console: &mut dyn Console,
) -> Result<(), UserError> {
    let prefix = store::normalize_fingerprint(fingerprint)
        .filter(|p| p.len() >= 8)
        .ok_or_else(|| {
            ue!("dấu vân tay \"{}\" không hợp lệ: cần ít nhất 8 chữ số hex đầu của dấu vân tay SHA-256 (xem kyso trust list)", fingerprint;
                "fingerprint \"{}\" is not valid: give at least the first 8 hex digits of the SHA-256 fingerprint (see kyso trust list)", fingerprint)
            .usage()
        })?;
    let dirs = store::default_dirs();
    let anchors = store::load(&dirs).map_err(|e| store_error(&e))?;
    let found = store::find_by_fingerprint(&anchors, &prefix);
    let cert = match found.as_slice() {
        [] => {
            return Err(
                ue!("không có chứng thư tin cậy nào có dấu vân tay bắt đầu bằng {}", prefix;
                "no trusted certificate has a fingerprint starting with {}", prefix)
                .usage(),
            )
        }
        [one] => one.cert.clone(),
        many => {
            let names = many
                .iter()
                .map(|x| {
                    format!(
                        "{} ({})",
                        x.cert.subject_display(),
                        x.cert.sha256_fingerprint_hex()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(
                ue!("{} chứng thư có dấu vân tay bắt đầu bằng {}: {}; hãy gõ thêm chữ số", many.len(), prefix, names;
                "{} certificates have a fingerprint starting with {}: {}; type more digits", many.len(), prefix, names).usage(),
            );
        }
    };
    // Every file of the store holding it (the same root may sit in two directories).
    let files = store::files_holding(&dirs, &cert).map_err(|e| store_error(&e))?;
    console.out(&describe(&cert, lang))?;
    for (f, _) in &files {
        console.out(&format!(
            "    {}: {}\n",
            lang.pick("Tệp", "File"),
            f.display()
        ))?;
    }
    let subject = cert.subject_display();
    if !yes {
        let q = match lang {
            Lang::Vi => format!("Xóa \"{subject}\" khỏi danh sách tin cậy?"),
            Lang::En => format!("Remove \"{subject}\" from the trusted roots?"),
        };
        if !console.confirm(&q)? {
            return Err(ue!("không xóa (người dùng không đồng ý)"; "not removed (not confirmed)"));
        }
    }
    for (f, certs) in files {
        store::remove_from(&f, &certs, &cert).map_err(|e| write_error(&f, &e))?;
        console.out(&format!(
            "{} {}\n",
            lang.pick("Đã xóa khỏi", "Removed from"),
            f.display()
        ))?;
    }
    Ok(())
}
