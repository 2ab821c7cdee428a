//! Signing and extending as a command or a batch asks for them, beside the engine
//! (`kyso_pades::ltv`): the outputs planned before anything is touched ([`plan_outputs`]), the
//! Decree 30 form from its parts ([`visible_form`]), the network the engine reaches through
//! ([`fetcher`], [`tsa_for`]), the chain completed up to a root ([`complete_signer`]), the
//! certificate's fitness ([`check_certificate`]), `kyso extend` ([`extend`]), and the JSON
//! lines of `kyso.sign/1` and `kyso.extend/1` (docs/sign-json.md, docs/extend-json.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kyso_cms::Signer;
use kyso_i18n::catalogue as errors;
use kyso_i18n::{ue, Lang, UserError};
use kyso_ltv::chain::{self, CertSource, MissingIssuer};
use kyso_ltv::fetch::{CacheOptions, CachingFetcher, Fetch, FetchOptions, HttpFetcher};
use kyso_ltv::tsp::HttpTsa;
use kyso_pades::forms::{CopyForm, Position, VisibleForm};
use kyso_pades::ltv::Level;
use kyso_pades::SignOptions;
use kyso_x509::Cert;
use time::OffsetDateTime;

/// The clock.
pub type Now = fn() -> OffsetDateTime;

/// Read a file of at most `max` bytes (a larger one is the user's input error).
pub fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, UserError> {
    let meta = std::fs::metadata(path).map_err(|e| errors::io(path, &e))?;
    if meta.len() > max as u64 {
        return Err(
            ue!("tệp {} quá lớn (tối đa {} byte)", path.display(), max; "file {} is too large (at most {} bytes)", path.display(), max).usage(),
        );
    }
    std::fs::read(path).map_err(|e| errors::io(path, &e))
}

/// The HTTP client for TSAs, OCSP responders and CRLs of one run, with an in-process cache
/// (a CRL fetched once serves every document of a batch).
pub fn fetcher(timeout_secs: u64, now: Now) -> Arc<dyn Fetch> {
    fetcher_with(timeout_secs, FetchOptions::default().max_bytes, now)
}

/// [`fetcher`] accepting answers of at most `max_bytes`.
pub fn fetcher_with(timeout_secs: u64, max_bytes: u64, now: Now) -> Arc<dyn Fetch> {
    let http = HttpFetcher::new(FetchOptions {
        timeout: Duration::from_secs(timeout_secs.clamp(1, 300)),
        max_bytes,
    });
    // The run's own clock: answers expire at their nextUpdate (and within a day).
    let clock: kyso_ltv::fetch::Clock = Arc::new(now);
    Arc::new(CachingFetcher::with_clock(
        http,
        CacheOptions::default(),
        clock,
    ))
}

/// The TSA for `level`, refusing levels above B-B without one.
pub fn tsa_for(
    level: Level,
    url: Option<&str>,
    fetcher: &Arc<dyn Fetch>,
) -> Result<Option<Arc<HttpTsa>>, UserError> {
    match (level, url) {
        (Level::BB, _) => Ok(None),
        (_, Some(u)) => Ok(Some(Arc::new(HttpTsa::new(fetcher.clone(), u)))),
        (_, None) => Err(
            ue!("mức B-T trở lên cần dịch vụ cấp dấu thời gian: thêm --tsa URL"; "levels from B-T up need a time-stamping service: add --tsa URL")
                .usage(),
        ),
    }
}

/// The `error` member of the JSON outputs: the exit code and the message in `lang`.
pub fn error_json(e: &UserError, lang: Lang) -> serde_json::Value {
    serde_json::json!({ "code": e.code, "message": e.message(lang) })
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What `kyso extend` is asked to do.
#[derive(Debug, Clone)]
pub struct ExtendRequest {
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    /// Replace the input (atomically).
    pub in_place: bool,
    /// B-LT or B-LTA.
    pub level: Level,
    /// The TSA's URL (B-LTA).
    pub tsa: Option<String>,
    pub fetch_timeout: u64,
}

impl ExtendRequest {
    /// The output written, when the request names one.
    pub fn output_path(&self) -> Option<PathBuf> {
        match (&self.output, self.in_place) {
            (Some(o), _) => Some(o.clone()),
            (None, true) => Some(self.input.clone()),
            (None, false) => None,
        }
    }
}

/// `kyso extend`: add validation material (B-LT) and a document timestamp (B-LTA) to a signed
/// document without touching its signatures, at `at` (`clock` for the fetcher's cache).
pub fn extend(args: &ExtendRequest, at: OffsetDateTime, clock: Now) -> Result<(), UserError> {
    let level = args.level;
    if level < Level::BLt {
        return Err(ue!("kyso extend nâng lên B-LT hoặc B-LTA; để thêm dấu thời gian cho chữ ký mới dùng kyso sign --level B-T"; "kyso extend raises to B-LT or B-LTA; for a signature timestamp sign with kyso sign --level B-T").usage());
    }
    if !args.input.is_file() {
        return Err(ue!("không tìm thấy tệp {}", args.input.display(); "file not found: {}", args.input.display()).usage());
    }
    let dest = args.output_path().ok_or_else(|| ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --in-place)"; "no output given: use -o OUT.pdf (or --in-place)").usage())?;
    let same = matches!((args.input.canonicalize(), dest.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same && !args.in_place {
        return Err(ue!("tệp kết quả trùng tệp đầu vào; thêm --in-place để ghi đè an toàn"; "the output is the input file; add --in-place to replace it safely").usage());
    }
    let fetcher = fetcher(args.fetch_timeout, clock);
    let tsa = match level {
        Level::BLta => tsa_for(level, args.tsa.as_deref(), &fetcher)?,
        _ => None,
    };
    let opts = SignOptions::new(at);
    kyso_pades::ltv::extend(
        &args.input,
        &dest,
        level,
        &opts,
        fetcher.as_ref(),
        tsa.as_deref()
            .map(|t| t as &dyn kyso_pades::sign::Timestamper),
        at,
    )
    .map_err(|e| errors::pades(&e))?;
    Ok(())
}

/// The `kyso.extend/1` line of an extension made at `at` (docs/extend-json.md).
pub fn extend_json(
    args: &ExtendRequest,
    result: Result<(), &UserError>,
    at: OffsetDateTime,
    lang: Lang,
) -> String {
    let (outcome, error) = match result {
        Ok(()) => ("extended", serde_json::Value::Null),
        Err(e) => ("failed", error_json(e, lang)),
    };
    serde_json::json!({
        "schema": "kyso.extend/1",
        "input": args.input.display().to_string(),
        "output": args.output_path().map(|p| p.display().to_string()),
        "level": args.level.name(),
        "time": rfc3339(at),
        "outcome": outcome,
        "error": error,
    })
    .to_string()
}

/// One document to sign: where it comes from and where the signed copy goes.
#[derive(Debug)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Decide every output path before touching anything, refusing an output that would
/// overwrite its input (unless `in_place`, which replaces it by atomic rename). `output` is
/// for one input, `out_dir` for any number.
pub fn plan_outputs(
    inputs: &[PathBuf],
    output: Option<&Path>,
    out_dir: Option<&Path>,
    in_place: bool,
) -> Result<Vec<Job>, UserError> {
    let mut jobs = Vec::with_capacity(inputs.len());
    for input in inputs {
        if !input.is_file() {
            return Err(
                ue!("không tìm thấy tệp {}", input.display(); "file not found: {}", input.display()).usage(),
            );
        }
        let output = match (output, out_dir) {
            (Some(o), _) if inputs.len() == 1 => o.to_path_buf(),
            (Some(_), _) => {
                return Err(
                    ue!("ký nhiều tệp thì dùng --out-dir thay cho -o"; "to sign several files use --out-dir instead of -o").usage(),
                )
            }
            (None, Some(dir)) => {
                let name = input.file_name().ok_or_else(
                    || ue!("tên tệp không hợp lệ: {}", input.display(); "not a file name: {}", input.display()).usage(),
                )?;
                dir.join(name)
            }
            (None, None) if in_place => input.clone(),
            (None, None) => {
                return Err(
                    ue!("thiếu tệp kết quả: dùng -o OUT.pdf (hoặc --out-dir, --in-place)"; "no output given: use -o OUT.pdf (or --out-dir, --in-place)").usage(),
                )
            }
        };
        let same = match (input.canonicalize(), output.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same && !in_place {
            return Err(
                ue!("tệp kết quả trùng tệp đầu vào {}; thêm --in-place để ghi đè an toàn", input.display(); "the output is the input file {}; add --in-place to replace it safely", input.display()).usage(),
            );
        }
        jobs.push(Job {
            input: input.clone(),
            output,
        });
    }
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).map_err(|e| errors::io(dir, &e))?;
    }
    Ok(jobs)
}

/// What a document not tried after the token was lost fails with.
pub fn not_tried() -> UserError {
    ue!("chưa ký: đã dừng vì mất kết nối với USB token"; "not signed: stopped because the token was lost").environment()
}

/// Whether `e` is [`not_tried`]'s error.
pub fn is_not_tried(e: &UserError) -> bool {
    e.en == not_tried().en
}

/// What a batch's `failures` (of `total` documents) come to: a line per failed document (those
/// not tried after the token was lost counted in one line), and the error the command ends
/// with, if any.
pub fn batch_outcome(
    failures: &[(&Job, UserError)],
    total: usize,
    lang: Lang,
) -> (Vec<String>, Option<UserError>) {
    let mut lines = Vec::new();
    let mut not_signed = 0;
    for (job, err) in failures {
        if is_not_tried(err) {
            not_signed += 1;
        } else {
            lines.push(format!("{}: {}", job.input.display(), err.message(lang)));
        }
    }
    if not_signed > 0 {
        let e = ue!("{} tệp còn lại chưa được ký: đã dừng vì mất kết nối với USB token", not_signed; "{} remaining files were not signed: stopped because the token was lost", not_signed);
        lines.push(e.message(lang).to_owned());
    }
    let failed = (!failures.is_empty()).then(|| {
        ue!("{}/{} tệp không ký được", failures.len(), total; "{} of {} files could not be signed", failures.len(), total)
    });
    (lines, failed)
}

/// The `kyso.sign/1` line of one document (docs/sign-json.md).
pub struct SignLine {
    pub level: Level,
    pub signer: String,
    pub time: OffsetDateTime,
    pub lang: Lang,
}

impl std::fmt::Debug for SignLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignLine")
            .field("level", &self.level.name())
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl SignLine {
    /// The line for `job`, signed or failed with `error`.
    pub fn line(&self, job: &Job, error: Option<&UserError>) -> String {
        let (outcome, error) = match error {
            None => ("signed", serde_json::Value::Null),
            Some(e) if is_not_tried(e) => ("not_tried", error_json(e, self.lang)),
            Some(e) => ("failed", error_json(e, self.lang)),
        };
        serde_json::json!({
            "schema": "kyso.sign/1",
            "input": job.input.display().to_string(),
            "output": job.output.display().to_string(),
            "level": self.level.name(),
            "signer": self.signer,
            "time": rfc3339(self.time),
            "outcome": outcome,
            "error": error,
        })
        .to_string()
    }
}

/// The Decree 30 form kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// The signer's personal signature (cell 7c).
    Personal,
    /// The agency's seal (cell 8).
    Organization,
    /// An electronic copy (cell 14).
    Copy,
    /// An attachment or appendix.
    Attachment,
}

/// The parts of a visible signature as a command line gives them.
#[derive(Debug, Clone)]
pub struct FormRequest {
    pub kind: FormKind,
    pub invisible: bool,
    pub image: Option<PathBuf>,
    /// From 1.
    pub page: Option<usize>,
    pub rect: Option<[f64; 4]>,
    pub anchor: Option<String>,
    pub copy_form: CopyForm,
    pub org_name: Option<String>,
    pub doc_number: Option<String>,
    pub seal_diameter_mm: Option<f64>,
}

/// The visible form asked for, or `None` for an invisible signature. Images are read (with a
/// size limit) before anything is signed.
pub fn visible_form(args: &FormRequest, cert: &Cert) -> Result<Option<VisibleForm>, UserError> {
    if args.invisible {
        return Ok(None);
    }
    let page = match args.page {
        Some(0) => {
            return Err(ue!("số trang bắt đầu từ 1"; "pages are numbered from 1").usage());
        }
        p => p.map(|p| p - 1),
    };
    let position = || -> Result<Option<Position>, UserError> {
        Ok(match (&args.rect, &args.anchor) {
            (Some(_), Some(_)) => return Err(
                ue!("chỉ dùng một trong --rect và --anchor"; "use only one of --rect and --anchor")
                    .usage(),
            ),
            (Some(rect), None) => Some(Position::Rect {
                page: page
                    .ok_or_else(|| ue!("--rect cần --page N"; "--rect needs --page N").usage())?,
                rect: *rect,
            }),
            (None, Some(text)) => Some(Position::Anchor {
                page,
                text: text.clone(),
            }),
            (None, None) => None,
        })
    };
    let image = || -> Result<Vec<u8>, UserError> {
        let path = args.image.as_ref().ok_or_else(|| match args.kind {
            FormKind::Organization => ue!("thiếu ảnh con dấu: thêm --image seal.png"; "no seal image: add --image seal.png").usage(),
            _ => ue!("thiếu ảnh chữ ký: thêm --image signature.png (hoặc --invisible)"; "no signature image: add --image signature.png (or --invisible)").usage(),
        })?;
        read_limited(path, kyso_pdf::image::ImageLimits::default().max_bytes)
    };
    let org_name = || {
        args.org_name
            .clone()
            .or_else(|| cert.subject_attr(kyso_x509::oid::O))
            .or_else(|| cert.common_name())
            .unwrap_or_default()
    };
    Ok(Some(match args.kind {
        FormKind::Personal => VisibleForm::Personal {
            image: image()?,
            position: position()?.ok_or_else(|| {
                ue!("cần chỉ chỗ đặt chữ ký: --anchor \"GIÁM ĐỐC\" hoặc --page N --rect x1,y1,x2,y2 (hoặc --invisible)"; "say where the signature goes: --anchor \"GIÁM ĐỐC\" or --page N --rect x1,y1,x2,y2 (or --invisible)").usage()
            })?,
        },
        FormKind::Organization => VisibleForm::Organization {
            seal: image()?,
            diameter_mm: args.seal_diameter_mm,
            page,
            position: position()?,
        },
        FormKind::Copy => VisibleForm::Copy {
            form: args.copy_form,
            org_name: org_name(),
            number: None,
            place: None,
        },
        FormKind::Attachment => VisibleForm::Attachment {
            doc_number: args.doc_number.clone().ok_or_else(|| {
                ue!("thiếu số và ký hiệu văn bản chính: thêm --doc-number \"123/QĐ-UBND\""; "no main document number: add --doc-number \"123/QĐ-UBND\"").usage()
            })?,
        },
    }))
}

/// Largest `--chain` file read.
const MAX_CHAIN_FILE: usize = 1024 * 1024;

/// The certificates of the `--chain` files (PEM or DER).
fn read_chain_files(files: &[PathBuf]) -> Result<Vec<(Cert, CertSource)>, UserError> {
    let mut out = Vec::new();
    for f in files {
        let data = read_limited(f, MAX_CHAIN_FILE)?;
        let certs = Cert::from_pem_or_der(&data).map_err(|e| {
            ue!("tệp {} không phải chứng thư số (PEM hoặc DER): {}", f.display(), e;
                "{} is not a certificate file (PEM or DER): {}", f.display(), e)
        })?;
        let name = f.display().to_string();
        out.extend(
            certs
                .into_iter()
                .map(|c| (c, CertSource::File(name.clone()))),
        );
    }
    Ok(out)
}

/// The signer with its chain completed up to the root (`kyso_ltv::chain`) from the key
/// container's certificates, the `files` (`--chain`), the trust store and, unless `offline`,
/// the certificates' AIA caIssuers URLs; or an error naming the missing issuer.
pub fn complete_signer(
    signer: Box<dyn Signer>,
    files: &[PathBuf],
    offline: bool,
    timeout_secs: u64,
    now: Now,
) -> Result<Box<dyn Signer>, UserError> {
    let extra = read_chain_files(files)?;
    // The trust store's roots may end a chain the key container leaves without its root; an
    // unreadable store is `kyso verify`'s to report, not a reason to refuse signing.
    let anchors = kyso_x509::path::TrustStore::from_dirs(&kyso_x509::store::default_dirs())
        .map(|t| t.anchors().to_vec())
        .unwrap_or_default();
    let fetcher =
        (!offline).then(|| fetcher_with(timeout_secs, chain::MAX_CA_CERT_BYTES as u64, now));
    chain::complete_signer(signer, extra, &anchors, fetcher.as_deref())
        .map_err(|m| missing_error(&m, offline))
}

fn missing_error(m: &MissingIssuer, offline: bool) -> UserError {
    let (mut vi, mut en) = (
        format!(
            "chuỗi chứng thư số chưa đến được chứng thư gốc: thiếu chứng thư của CA \"{}\" (tổ chức cấp chứng thư \"{}\"); đưa chứng thư đó vào bằng --chain TỆP",
            m.issuer, m.subject
        ),
        format!(
            "the certificate chain does not reach a root: the certificate of the CA \"{}\" (issuer of \"{}\") is missing; give it with --chain FILE",
            m.issuer, m.subject
        ),
    );
    let urls = m.urls.join(", ");
    if offline && !m.urls.is_empty() {
        vi.push_str(&format!(" hoặc bỏ --offline để tải từ {urls}"));
        en.push_str(&format!(" or drop --offline to download it from {urls}"));
    } else if !m.attempts.is_empty() {
        let a = m.attempts.join("; ");
        vi.push_str(&format!(" (tải từ địa chỉ AIA không được: {a})"));
        en.push_str(&format!(" (downloading from the AIA address failed: {a})"));
    } else if !offline {
        vi.push_str(" (chứng thư không ghi địa chỉ tải chứng thư CA — AIA caIssuers)");
        en.push_str(" (the certificate names no address to download it from — AIA caIssuers)");
    }
    UserError::new(vi, en)
}

/// Refuse a certificate that is not for signing, or outside its validity at `now` (unless
/// `allow_expired`).
pub fn check_certificate(
    cert: &Cert,
    now: OffsetDateTime,
    allow_expired: bool,
) -> Result<(), UserError> {
    let ku = cert.key_usage();
    if ku.present && !ku.digital_signature && !ku.non_repudiation {
        return Err(
            ue!("chứng thư số không có mục đích ký số (digitalSignature)"; "the certificate is not for digital signatures (no digitalSignature key usage)").usage(),
        );
    }
    if !cert.valid_at(now) && !allow_expired {
        let until = cert.not_after().date();
        return Err(if now > cert.not_after() {
            ue!("chứng thư số đã hết hạn ngày {}; thêm --allow-expired nếu vẫn muốn ký", until; "the certificate expired on {}; add --allow-expired to sign anyway", until)
        } else {
            ue!("chứng thư số chưa có hiệu lực"; "the certificate is not valid yet")
        }
        .usage());
    }
    Ok(())
}

/// Load a PKCS#12 key (size-limited read), with RSA-PSS when `pss`.
pub fn open_pkcs12(
    path: &Path,
    password: &kyso_keys::Secret,
    pss: bool,
) -> Result<kyso_keys::Pkcs12Signer, UserError> {
    let data = read_limited(path, kyso_keys::MAX_P12_BYTES)?;
    let mut signer =
        kyso_keys::Pkcs12Signer::from_pkcs12(&data, password).map_err(|e| errors::keys(&e))?;
    if pss {
        signer.use_pss().map_err(|e| errors::keys(&e))?;
    }
    Ok(signer)
}

/// A key on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct TokenKey<'a> {
    pub module: &'a Path,
    /// The token's label or serial (default: the only token present).
    pub token: Option<&'a str>,
    /// The key's label or CKA_ID in hex (default: the only key with a certificate).
    pub key: Option<&'a str>,
    pub pss: bool,
    /// PKCS#11 sessions signing in parallel.
    pub sessions: usize,
}

/// Log in to the token and open its signing key. The PIN is asked from `pin` (given the
/// token's name) only once the token is found; it is dropped when logged in.
pub fn open_pkcs11(
    k: &TokenKey<'_>,
    pin: &mut dyn FnMut(&str) -> Result<kyso_keys::Secret, UserError>,
) -> Result<kyso_keys::Pkcs11Signer, UserError> {
    let module = kyso_keys::Pkcs11Module::load(k.module).map_err(|e| errors::keys(&e))?;
    let (token, name) = match k.token {
        Some(t) => (t.to_owned(), t.to_owned()),
        None => only_token(&module)?,
    };
    let pin = pin(&name)?;
    let mut signer = module
        .open_signer(&token, k.key, &pin)
        .map_err(|e| errors::keys(&e))?;
    drop(pin);
    if k.pss {
        signer.use_pss().map_err(|e| errors::keys(&e))?;
    }
    signer.set_max_sessions(k.sessions);
    Ok(signer)
}

/// The serial number and a name ("label (serial)") of the only token present.
fn only_token(module: &kyso_keys::Pkcs11Module) -> Result<(String, String), UserError> {
    let tokens = module.tokens().map_err(|e| errors::keys(&e))?;
    match tokens.as_slice() {
        [one] => Ok((
            one.serial.clone(),
            format!("{} ({})", one.label, one.serial),
        )),
        [] => Err(
            ue!("không thấy USB token nào: hãy cắm thiết bị vào máy rồi chạy lại"; "no token found: plug the device in and try again").environment(),
        ),
        many => {
            let names = many
                .iter()
                .map(|t| format!("{} ({})", t.label, t.serial))
                .collect::<Vec<_>>()
                .join(", ");
            Err(
                ue!("có nhiều USB token ({}); chọn một bằng --token NHÃN hoặc --token SỐ_SÊ_RI", names; "several tokens are present ({}); choose one with --token LABEL or --token SERIAL", names).usage(),
            )
        }
    }
}

/// A CSC remote signing service to sign with (`kyso sign --csc`).
#[derive(Debug)]
pub struct CscKey<'a> {
    /// The service's base URL.
    pub url: &'a str,
    /// The credential (default: the user's only one).
    pub credential: Option<String>,
    pub auth: kyso_keys::CscAuth,
    /// Kept for the authorizations (one per signature).
    pub pin: kyso_keys::Secret,
    pub pss: bool,
    /// A CA file (PEM) trusted for TLS instead of the default roots.
    pub ca: Option<&'a Path>,
}

/// The trust anchors (DER) of a CA file (PEM bundle or DER) for a CSC service's TLS
/// (`kyso sign --csc-ca`, `kyso serve --csc-ca`).
pub fn csc_tls_roots(path: &Path) -> Result<Vec<Vec<u8>>, UserError> {
    let data = read_limited(path, 1024 * 1024)?;
    Ok(Cert::from_pem_or_der(&data)
        .map_err(|e| ue!("tệp CA không đọc được: {}: {}", path.display(), e; "cannot read the CA file {}: {}", path.display(), e).usage())?
        .iter()
        .map(|c| c.der().to_vec())
        .collect())
}

/// Connect to a CSC remote signing service and read the credential.
pub fn open_csc(k: CscKey<'_>) -> Result<kyso_keys::CscSigner, UserError> {
    let tls_roots = match k.ca {
        Some(path) => csc_tls_roots(path)?,
        None => Vec::new(),
    };
    kyso_keys::CscSigner::open(kyso_keys::CscOptions {
        url: k.url.to_owned(),
        credential: k.credential,
        auth: k.auth,
        pin: Some(k.pin),
        pss: k.pss,
        timeout: Duration::from_secs(30),
        tls_roots,
    })
    .map_err(|e| errors::keys(&e))
}

/// A rectangle given as `x1,y1,x2,y2` (four finite numbers; the message is clap's).
pub fn parse_rect(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| "cần 4 số cách nhau bởi dấu phẩy: x1,y1,x2,y2".to_owned())?;
    <[f64; 4]>::try_from(v)
        .ok()
        .filter(|r| r.iter().all(|x| x.is_finite()))
        .ok_or_else(|| "cần đúng 4 số: x1,y1,x2,y2".to_owned())
}
