//! Drafts in DOCX or ODT turned into PDF with LibreOffice headless
//! (`soffice --headless --convert-to pdf`), for the draft upload of outgoing documents.
//!
//! - The input's type is read from its bytes, never from a file name ([`detect`]): a PDF
//!   (`%PDF-`), or a ZIP whose central directory holds `[Content_Types].xml` and
//!   `word/document.xml` (DOCX, Office Open XML) or whose first entry is the stored `mimetype`
//!   `application/vnd.oasis.opendocument.text` (ODT). Anything else is refused before any
//!   program runs.
//! - Each conversion has its own temporary folder holding the input, the output and its own
//!   LibreOffice profile (`-env:UserInstallation`), so concurrent conversions never share a
//!   profile (LibreOffice would otherwise hand the job to a running instance or refuse).
//! - Input and output sizes are limited, and the conversion has a deadline: when it passes,
//!   the whole process group (the `soffice` script, `oosplash` and `soffice.bin`) is killed.
//! - Errors are typed ([`ConvertError`]); [`ConvertError::user_error`] gives the Vietnamese and
//!   English sentence, and a missing LibreOffice asks for the draft as PDF.
//!
//! The call blocks for the conversion (seconds); async callers run it on a blocking thread.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kyso_i18n::{ue, UserError};

/// What a draft is, from its first bytes and its ZIP directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftType {
    Pdf,
    /// Office Open XML word processing (Word's `.docx`).
    Docx,
    /// OpenDocument text (LibreOffice's `.odt`).
    Odt,
}

impl DraftType {
    /// The file extension LibreOffice is given (it picks its import filter by content anyway).
    pub fn extension(self) -> &'static str {
        match self {
            DraftType::Pdf => "pdf",
            DraftType::Docx => "docx",
            DraftType::Odt => "odt",
        }
    }
}

/// How a conversion runs.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The LibreOffice program (`soffice`, found on `PATH`, by default).
    pub program: PathBuf,
    /// The largest draft accepted, in bytes.
    pub max_input: usize,
    /// The largest PDF accepted from LibreOffice, in bytes.
    pub max_output: u64,
    /// How long the conversion may take before LibreOffice is killed.
    pub timeout: Duration,
    /// Where the per-conversion temporary folders are made (the system's by default).
    pub temp_dir: Option<PathBuf>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            program: PathBuf::from("soffice"),
            max_input: 20 * 1024 * 1024,
            max_output: 100 * 1024 * 1024,
            timeout: Duration::from_secs(120),
            temp_dir: None,
        }
    }
}

/// Why a draft could not be turned into PDF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The draft is larger than [`ConvertOptions::max_input`].
    #[error("the draft has {size} bytes, more than the {max} accepted")]
    TooLarge { size: usize, max: usize },
    /// Neither PDF, DOCX nor ODT.
    #[error("the draft is not a PDF, DOCX or ODT file")]
    UnknownType,
    /// LibreOffice is not installed (the program cannot be started).
    #[error("LibreOffice ({program}) is not installed: {source}")]
    ToolMissing {
        program: String,
        source: std::io::Error,
    },
    /// LibreOffice did not finish within [`ConvertOptions::timeout`] and was killed.
    #[error("LibreOffice did not finish within {0:?} and was stopped")]
    Timeout(Duration),
    /// LibreOffice ran but gave no PDF (a damaged draft, or LibreOffice failed).
    #[error("LibreOffice could not convert the draft (exit {status}): {stderr}")]
    Failed { status: String, stderr: String },
    /// The PDF LibreOffice wrote is larger than [`ConvertOptions::max_output`].
    #[error("the converted PDF has {size} bytes, more than the {max} accepted")]
    OutputTooLarge { size: u64, max: u64 },
    /// The temporary folder or files could not be made or read.
    #[error("conversion files: {0}")]
    Io(#[from] std::io::Error),
}

impl ConvertError {
    /// What the user reads, in Vietnamese and English.
    pub fn user_error(&self) -> UserError {
        match self {
            ConvertError::TooLarge { size, max } => ue!(
                "Bản dự thảo có {} byte, vượt giới hạn {} byte.", size, max;
                "The draft has {} bytes, more than the {} accepted.", size, max
            )
            .usage(),
            ConvertError::UnknownType => ue!(
                "Bản dự thảo phải là tệp PDF, DOCX hoặc ODT.";
                "The draft must be a PDF, DOCX or ODT file."
            )
            .usage(),
            ConvertError::ToolMissing { .. } => ue!(
                "Máy chủ chưa cài LibreOffice nên không chuyển được tệp DOCX/ODT sang PDF. \
                 Vui lòng tải lên bản dự thảo dạng PDF.";
                "LibreOffice is not installed on the server, so DOCX/ODT files cannot be \
                 converted to PDF. Please upload the draft as a PDF."
            )
            .environment(),
            ConvertError::Timeout(t) => ue!(
                "Chuyển bản dự thảo sang PDF quá {} giây nên đã dừng. Vui lòng tải lên bản PDF.", t.as_secs();
                "Converting the draft to PDF took more than {} seconds and was stopped. \
                 Please upload a PDF.", t.as_secs()
            )
            .environment(),
            ConvertError::Failed { .. } => ue!(
                "LibreOffice không chuyển được bản dự thảo sang PDF (tệp có thể bị hỏng). \
                 Vui lòng kiểm tra tệp hoặc tải lên bản PDF.";
                "LibreOffice could not convert the draft to PDF (the file may be damaged). \
                 Please check the file or upload a PDF."
            ),
            ConvertError::OutputTooLarge { size, max } => ue!(
                "Bản PDF chuyển được có {} byte, vượt giới hạn {} byte.", size, max;
                "The converted PDF has {} bytes, more than the {} accepted.", size, max
            ),
            ConvertError::Io(e) => ue!(
                "Lỗi tệp tạm khi chuyển bản dự thảo: {}", e;
                "Temporary files of the conversion failed: {}", e
            )
            .environment(),
        }
    }
}

const MIMETYPE_ODT: &[u8] = b"application/vnd.oasis.opendocument.text";
/// Central directory entries read at most while detecting a type.
const MAX_ZIP_ENTRIES: usize = 65_535;

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([*s.first()?, *s.get(1)?])))
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(s)).ok()
}

/// The names in a ZIP's central directory (bounded; `None` when it is not a readable ZIP).
fn zip_names(b: &[u8]) -> Option<Vec<&[u8]>> {
    // End of central directory: 22 bytes plus a comment of up to 65535, at the end.
    let lowest = b.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=b.len().checked_sub(22)?)
        .rev()
        .find(|&i| b.get(i..i + 4) == Some(b"PK\x05\x06"))?;
    let count = u16_at(b, eocd + 10)?;
    let mut at = u32_at(b, eocd + 16)?;
    let mut names = Vec::new();
    for _ in 0..count.min(MAX_ZIP_ENTRIES) {
        if b.get(at..at.checked_add(4)?)? != b"PK\x01\x02" {
            return None;
        }
        let name_len = u16_at(b, at + 28)?;
        let extra_len = u16_at(b, at + 30)?;
        let comment_len = u16_at(b, at + 32)?;
        let start = at.checked_add(46)?;
        names.push(b.get(start..start.checked_add(name_len)?)?);
        at = start
            .checked_add(name_len)?
            .checked_add(extra_len)?
            .checked_add(comment_len)?;
    }
    Some(names)
}

/// The content of an OpenDocument's `mimetype`: the first local entry, stored uncompressed
/// (OpenDocument 1.2 part 3, §3.3).
fn odf_mimetype(b: &[u8]) -> Option<&[u8]> {
    if b.get(..4)? != b"PK\x03\x04" || u16_at(b, 8)? != 0 {
        return None;
    }
    let size = u32_at(b, 18)?;
    let name_len = u16_at(b, 26)?;
    let extra_len = u16_at(b, 28)?;
    if b.get(30..30 + name_len)? != b"mimetype" {
        return None;
    }
    let start = 30usize.checked_add(name_len)?.checked_add(extra_len)?;
    b.get(start..start.checked_add(size)?)
}

/// The draft's type from its bytes, or `None` for anything else (other ZIP documents such as
/// spreadsheets included).
pub fn detect(bytes: &[u8]) -> Option<DraftType> {
    if bytes.get(..4) != Some(b"PK\x03\x04") {
        // A PDF's header may follow some junk (PDF 32000 §7.5.2; readers look in the first KiB).
        let head = bytes.get(..1024.min(bytes.len()))?;
        return head
            .windows(5)
            .any(|w| w == b"%PDF-")
            .then_some(DraftType::Pdf);
    }
    let names = zip_names(bytes)?;
    if odf_mimetype(bytes) == Some(MIMETYPE_ODT) && names.contains(&&b"content.xml"[..]) {
        return Some(DraftType::Odt);
    }
    if names.contains(&&b"[Content_Types].xml"[..]) && names.contains(&&b"word/document.xml"[..]) {
        return Some(DraftType::Docx);
    }
    None
}

/// The draft as PDF: a PDF is returned as it is; a DOCX or ODT is converted by LibreOffice.
pub fn to_pdf(draft: &[u8], options: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    if draft.len() > options.max_input {
        return Err(ConvertError::TooLarge {
            size: draft.len(),
            max: options.max_input,
        });
    }
    match detect(draft).ok_or(ConvertError::UnknownType)? {
        DraftType::Pdf => Ok(draft.to_vec()),
        kind => convert(draft, kind, options),
    }
}

fn convert(
    draft: &[u8],
    kind: DraftType,
    options: &ConvertOptions,
) -> Result<Vec<u8>, ConvertError> {
    let dir = match &options.temp_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("kyso-convert-")
            .tempdir_in(d)?,
        None => tempfile::Builder::new().prefix("kyso-convert-").tempdir()?,
    };
    let input = dir.path().join(format!("draft.{}", kind.extension()));
    let out_dir = dir.path().join("out");
    let profile = dir.path().join("profile");
    std::fs::write(&input, draft)?;
    std::fs::create_dir(&out_dir)?;
    let log = std::fs::File::create(dir.path().join("soffice.log"))?;
    // LibreOffice wants the profile as a file URL; the temporary path is ASCII without spaces
    // unless TMPDIR says otherwise, so escape what a URL cannot hold.
    let profile_url = format!("file://{}", url_path(&profile.to_string_lossy()));

    let started = Instant::now();
    let mut cmd = Command::new(&options.program);
    cmd.arg(format!("-env:UserInstallation={profile_url}"))
        .args([
            "--headless",
            "--invisible",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nologo",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
        ])
        .arg(&out_dir)
        .arg(&input)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group, so that a timeout can stop soffice.bin too (the `soffice`
    // script execs oosplash, which starts soffice.bin as its child).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConvertError::ToolMissing {
                program: options.program.to_string_lossy().into_owned(),
                source,
            })
        }
        Err(e) => return Err(e.into()),
    };
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= options.timeout {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            tracing::warn!(timeout = ?options.timeout, "LibreOffice conversion timed out; killed");
            return Err(ConvertError::Timeout(options.timeout));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pdf_path = out_dir.join("draft.pdf");
    let produced = std::fs::metadata(&pdf_path).ok();
    let Some(meta) = produced.filter(|_| status.success()) else {
        let said = std::fs::read(dir.path().join("soffice.log")).unwrap_or_default();
        let tail = said.len().saturating_sub(2000);
        return Err(ConvertError::Failed {
            status: status.to_string(),
            stderr: String::from_utf8_lossy(said.get(tail..).unwrap_or_default())
                .trim()
                .to_string(),
        });
    };
    if meta.len() > options.max_output {
        return Err(ConvertError::OutputTooLarge {
            size: meta.len(),
            max: options.max_output,
        });
    }
    let pdf = std::fs::read(&pdf_path)?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(ConvertError::Failed {
            status: status.to_string(),
            stderr: "the output is not a PDF".into(),
        });
    }
    tracing::debug!(
        kind = kind.extension(),
        input = draft.len(),
        output = pdf.len(),
        ms = started.elapsed().as_millis() as u64,
        "draft converted to PDF"
    );
    Ok(pdf)
}

/// SIGKILL to the process group led by `pid` (the child, not yet reaped, so the group
/// cannot be another's).
fn kill_group(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Percent-escape a path for a `file://` URL (unreserved characters and `/` kept).
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_from_the_bytes() {
        assert_eq!(detect(b"%PDF-1.7\n..."), Some(DraftType::Pdf));
        assert_eq!(detect(b""), None);
        assert_eq!(detect(b"PK\x03\x04 not really a zip"), None);
        assert_eq!(detect(b"{\\rtf1 hello}"), None);
        // A ZIP is judged as a ZIP even when "%PDF-" is among its first bytes.
        let mut zip = minimal_odt();
        zip[30..38].copy_from_slice(b"%PDF-1.7");
        assert_eq!(detect(&zip), None);
    }

    #[test]
    fn hostile_zip_headers_do_not_panic() {
        // An end-of-directory record pointing anywhere, with counts and lengths at maximum.
        let mut b = b"PK\x03\x04".to_vec();
        b.extend_from_slice(&[0xff; 40]);
        b.extend_from_slice(
            b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0",
        );
        assert_eq!(detect(&b), None);
        for cut in 0..b.len() {
            let _ = detect(&b[..cut]);
        }
    }

    #[test]
    fn urls_escape_what_they_cannot_hold() {
        assert_eq!(url_path("/tmp/a b/ç"), "/tmp/a%20b/%C3%A7");
    }

    #[test]
    fn a_missing_libreoffice_asks_for_a_pdf_in_both_languages() {
        let opts = ConvertOptions {
            program: PathBuf::from("/nonexistent/kyso-no-soffice"),
            ..ConvertOptions::default()
        };
        let odt = minimal_odt();
        let err = to_pdf(&odt, &opts).unwrap_err();
        assert!(matches!(err, ConvertError::ToolMissing { .. }), "{err:?}");
        let ue = err.user_error();
        assert!(ue.vi.contains("tải lên bản dự thảo dạng PDF"), "{}", ue.vi);
        assert!(ue.en.contains("upload the draft as a PDF"), "{}", ue.en);
        assert_eq!(ue.code, kyso_i18n::exit::ENVIRONMENT);
    }

    #[test]
    fn a_pdf_passes_through_and_limits_come_first() {
        let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
        assert_eq!(to_pdf(&pdf, &ConvertOptions::default()).unwrap(), pdf);
        let small = ConvertOptions {
            max_input: 4,
            ..ConvertOptions::default()
        };
        assert!(matches!(
            to_pdf(&pdf, &small),
            Err(ConvertError::TooLarge { size: 15, max: 4 })
        ));
        assert!(matches!(
            to_pdf(b"hello", &ConvertOptions::default()),
            Err(ConvertError::UnknownType)
        ));
    }

    /// A tiny ODT for the unit tests (the integration tests build real ones).
    fn minimal_odt() -> Vec<u8> {
        // One stored entry `mimetype` and one `content.xml`, CRCs left 0: enough for detection.
        let mut z = Vec::new();
        let mut central = Vec::new();
        let mut entries = 0u16;
        for (name, data) in [
            (&b"mimetype"[..], MIMETYPE_ODT),
            (&b"content.xml"[..], &b"<x/>"[..]),
        ] {
            let offset = z.len() as u32;
            z.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
            z.extend_from_slice(&(data.len() as u32).to_le_bytes());
            z.extend_from_slice(&(data.len() as u32).to_le_bytes());
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&0u16.to_le_bytes());
            z.extend_from_slice(name);
            z.extend_from_slice(data);
            central.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name);
            entries += 1;
        }
        let cd_offset = z.len() as u32;
        z.extend_from_slice(&central);
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        z.extend_from_slice(&entries.to_le_bytes());
        z.extend_from_slice(&entries.to_le_bytes());
        z.extend_from_slice(&(central.len() as u32).to_le_bytes());
        z.extend_from_slice(&cd_offset.to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z
    }
}
