//! What every CLI test needs: the real `kyso` binary, a demo PKI made by `kyso pki init` (once
//! per build, shared by the test processes), the committed PDF corpus, and the independent
//! validators — pyHanko, poppler's `pdfsig`, `openssl cms` — run as separate processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The password of the demo PKI's PKCS#12 files in the tests.
pub const PW: &str = "kyso-test-123456";

pub fn kyso() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    // The trust store is this machine's (`~/.config/kyso/trust`, `/etc/kyso/trust`) unless
    // KYSO_TRUST_DIR names one: tests get an empty one (a directory never created) unless they
    // set their own.
    c.env("KYSO_TEST_PW", PW).env_remove("KYSO_LANG").env(
        "KYSO_TRUST_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-trust-store"),
    );
    c
}

/// Run a command; panic with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the committed corpus (`tests/corpus`, see its NOTES.md).
pub fn corpus(name: &str) -> PathBuf {
    workspace().join("tests/corpus").join(name)
}

/// The demo PKI, made once per build of the binary and shared by every test process: it lives
/// under the target directory, named after the binary's size and mtime, and is created in a
/// temporary directory renamed into place, so concurrent tests never see half of it.
pub fn pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = std::fs::metadata(env!("CARGO_BIN_EXE_kyso")).unwrap();
        let stamp = bin
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!("demo-pki-{}-{stamp}", bin.len()));
        if dir.join("nssdb").exists() {
            return dir;
        }
        let tmp = tempfile::tempdir_in(base).unwrap();
        let work = tmp.path().join("pki");
        run_ok(
            kyso()
                .args(["pki", "init"])
                .arg(&work)
                .args(["--password-env", "KYSO_TEST_PW"]),
        );
        // An NSS database trusting the demo root, for pdfsig.
        let nss = work.join("nssdb");
        std::fs::create_dir(&nss).unwrap();
        let db = format!("sql:{}", nss.display());
        run_ok(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
        run_ok(
            Command::new("certutil")
                .args([
                    "-A",
                    "-d",
                    &db,
                    "-n",
                    "kyso-demo-root",
                    "-t",
                    "CT,C,C",
                    "-i",
                ])
                .arg(work.join("root.pem")),
        );
        match std::fs::rename(&work, &dir) {
            Ok(()) => {}
            Err(_) if dir.join("nssdb").exists() => {} // another test process won the race
            Err(e) => panic!("cannot move the demo PKI into place: {e}"),
        }
        dir
    })
}

pub fn root() -> PathBuf {
    pki().join("root.pem")
}

/// `kyso sign IN -o OUT --p12 P12 --password-env KYSO_TEST_PW`, to which tests add options.
pub fn sign_command(input: &Path, output: &Path, p12: &Path) -> Command {
    let mut c = kyso();
    c.arg("sign")
        .arg(input)
        .arg("-o")
        .arg(output)
        .arg("--p12")
        .arg(p12)
        .args(["--password-env", "KYSO_TEST_PW"]);
    c
}

/// `kyso sign IN -o OUT --p12 pki/NAME.p12 … ARGS…` (must succeed).
pub fn sign(input: &Path, output: &Path, p12: &str, args: &[&str]) {
    run_ok(sign_command(input, output, &pki().join(format!("{p12}.p12"))).args(args));
}

/// `kyso verify --json --trust ROOT FILE EXTRA…`: (exit code, report). Panics unless the output
/// is JSON.
pub fn verify_json(file: &Path, root: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = kyso()
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(root)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kyso verify {}: not JSON ({e}): {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// Sign `input` into `output` with pyHanko's CLI (`pyhanko sign addsig`), key from `p12`
/// (password `password`), in field `field`, with extra addsig options (`--use-pades`, …).
pub fn pyhanko_sign(
    input: &Path,
    output: &Path,
    p12: &Path,
    password: &str,
    field: &str,
    extra: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, password).unwrap();
    run_ok(
        Command::new("pyhanko")
            .args(["sign", "addsig", "--field", field])
            .args(extra)
            .args(["pkcs12", "--passfile"])
            .arg(&pass)
            .arg(input)
            .arg(output)
            .arg(p12),
    );
}

/// pyHanko's verdict on each signature of each file (scripts/oracles/pyhanko_validate.py),
/// trusting the demo root.
pub fn pyhanko(files: &[&Path]) -> Vec<Value> {
    pyhanko_trusting(&root(), files)
}

/// pyHanko's verdict on each signature of each file, trusting `root`: one report per file, in
/// the order asked.
pub fn pyhanko_trusting(root: &Path, files: &[&Path]) -> Vec<Value> {
    let out = run_ok(
        Command::new("python3")
            .arg(workspace().join("scripts/oracles/pyhanko_validate.py"))
            .arg(root)
            .args(files),
    );
    let reports: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One report per file, in order: a caller looping over them checks every file.
    let named: Vec<&str> = reports
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    let asked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(named, asked, "pyHanko reported on other files than asked");
    reports
}

/// Assert that pyHanko finds `n` signatures in `file`, every one intact, valid and trusted, the
/// last covering the whole file and the earlier ones followed only by allowed changes.
pub fn assert_pyhanko_ok(report: &Value, n: usize) {
    assert_eq!(report["error"], Value::Null, "pyHanko error: {report:#}");
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), n, "signatures seen by pyHanko: {report:#}");
    for (i, s) in sigs.iter().enumerate() {
        assert_eq!(s["intact"], true, "signature {i} not intact: {s:#}");
        assert_eq!(s["valid"], true, "signature {i} not valid: {s:#}");
        assert_eq!(s["trusted"], true, "signature {i} not trusted: {s:#}");
        assert_eq!(
            s["docmdp_ok"], true,
            "signature {i}: disallowed changes: {s:#}"
        );
        let level = s["modification_level"].as_str().unwrap();
        assert!(
            ["NONE", "LTA_UPDATES", "FORM_FILLING"].contains(&level),
            "signature {i}: modifications after signing: {s:#}"
        );
        if i + 1 == n {
            assert_eq!(s["coverage"], "ENTIRE_FILE", "{s:#}");
            assert_eq!(level, "NONE", "{s:#}");
        }
    }
}

/// poppler's `pdfsig` (NSS trusting the demo root, no OCSP): one line per signature,
/// `(signature validation, certificate validation)`.
pub fn pdfsig(file: &Path) -> Vec<(String, String)> {
    let out = Command::new("pdfsig")
        .arg("-nssdir")
        .arg(format!("sql:{}", pki().join("nssdb").display()))
        .arg("-no-ocsp")
        .arg(file)
        .output()
        .expect("pdfsig (poppler-utils) must be installed: bash scripts/setup-test-env.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sigs = Vec::new();
    let mut sv = String::new();
    for line in text.lines() {
        if let Some(v) = line.trim().strip_prefix("- Signature Validation: ") {
            sv = v.trim_end_matches('.').to_owned();
        }
        if let Some(v) = line.trim().strip_prefix("- Certificate Validation: ") {
            sigs.push((sv.clone(), v.trim_end_matches('.').to_owned()));
        }
    }
    sigs
}

pub fn assert_pdfsig_ok(file: &Path, n: usize) {
    let sigs = pdfsig(file);
    assert_eq!(sigs.len(), n, "pdfsig on {}: {sigs:?}", file.display());
    for (sv, cv) in &sigs {
        assert_eq!(
            sv,
            "Signature is Valid",
            "pdfsig on {}: {sigs:?}",
            file.display()
        );
        assert_eq!(
            cv,
            "Certificate is Trusted",
            "pdfsig on {}: {sigs:?}",
            file.display()
        );
    }
}

/// The signatures of a signed PDF as (signed bytes, DER CMS), read with kyso's own reader only
/// to cut the file; the verdict comes from `openssl cms -verify`.
pub fn cms_blobs(file: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let data = std::fs::read(file).unwrap();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = find(&data[from..], b"/ByteRange") {
        let at = from + pos;
        from = at + 10;
        let open = at + find(&data[at..], b"[").unwrap();
        let close = at + find(&data[at..], b"]").unwrap();
        let nums: Vec<usize> = std::str::from_utf8(&data[open + 1..close])
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let [a, b, c, d] = nums[..] else {
            panic!("ByteRange {nums:?}")
        };
        let mut signed = data[a..a + b].to_vec();
        signed.extend_from_slice(&data[c..c + d]);
        let hex = &data[a + b + 1..c - 1];
        let mut der: Vec<u8> = hex
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect();
        // Trim the zero padding after the DER (its length is in its header).
        let len = match der[1] {
            l if l < 0x80 => 2 + usize::from(l),
            0x81 => 3 + usize::from(der[2]),
            0x82 => 4 + (usize::from(der[2]) << 8 | usize::from(der[3])),
            0x83 => {
                5 + (usize::from(der[2]) << 16 | usize::from(der[3]) << 8 | usize::from(der[4]))
            }
            l => panic!("unexpected DER length byte {l:#x}"),
        };
        der.truncate(len);
        out.push((signed, der));
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `openssl cms -verify` of every signature in `file` against the demo root.
pub fn assert_openssl_cms_ok(file: &Path, n: usize) {
    let blobs = cms_blobs(file);
    assert_eq!(blobs.len(), n, "signatures found in {}", file.display());
    let tmp = tempfile::tempdir().unwrap();
    for (i, (signed, der)) in blobs.iter().enumerate() {
        let (s, c) = (
            tmp.path().join(format!("{i}.bin")),
            tmp.path().join(format!("{i}.p7s")),
        );
        std::fs::write(&s, signed).unwrap();
        std::fs::write(&c, der).unwrap();
        run_ok(
            Command::new("openssl")
                .args([
                    "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
                ])
                .arg("-in")
                .arg(&c)
                .arg("-content")
                .arg(&s)
                .arg("-CAfile")
                .arg(root())
                .args(["-out", "/dev/null"]),
        );
    }
}

/// All three oracles on one file with `n` signatures.
pub fn assert_all_oracles_ok(file: &Path, n: usize) {
    assert_pyhanko_ok(&pyhanko(&[file])[0], n);
    assert_pdfsig_ok(file, n);
    assert_openssl_cms_ok(file, n);
}

/// Render page `page` (1-based) at `dpi` with pdftoppm; returns (width, height, RGB pixels).
pub fn render(file: &Path, page: usize, dpi: u32) -> (u32, u32, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("p");
    let p = page.to_string();
    run_ok(
        Command::new("pdftoppm")
            .args([
                "-png",
                "-singlefile",
                "-r",
                &dpi.to_string(),
                "-f",
                &p,
                "-l",
                &p,
            ])
            .arg(file)
            .arg(&prefix),
    );
    let dec = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(prefix.with_extension("png")).unwrap(),
    ));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgb, "pdftoppm writes RGB");
    (info.width, info.height, buf)
}

/// The bounding box `[x0, y0, x1, y1]` in pixels (y down) of pixels matching `pred`.
pub fn ink_box(img: &(u32, u32, Vec<u8>), pred: impl Fn(u8, u8, u8) -> bool) -> Option<[u32; 4]> {
    let (w, _, px) = img;
    let mut bb: Option<[u32; 4]> = None;
    for (i, p) in px.chunks_exact(3).enumerate() {
        if pred(p[0], p[1], p[2]) {
            let (x, y) = ((i as u32) % w, (i as u32) / w);
            bb = Some(match bb {
                None => [x, y, x, y],
                Some([a, b, c, d]) => [a.min(x), b.min(y), c.max(x), d.max(y)],
            });
        }
    }
    bb
}

/// Blue ink of the demo signature (rgb ≈ 0,51,170 blended on white).
pub fn is_blue(r: u8, _g: u8, b: u8) -> bool {
    b > 120 && r < 110 && (b as i32 - r as i32) > 60
}

/// Red ink of the demo seal.
pub fn is_red(r: u8, g: u8, b: u8) -> bool {
    r > 150 && g < 110 && b < 110
}
