//! `kyso pki init`: a complete, clearly fictional demo PKI shaped like the Vietnamese
//! government-specialized one (a root, an intermediate "serving state agencies", and end-entity
//! certificates for people, an agency, a TSA and an OCSP responder), written to a directory.

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use kyso_keys::Secret;
use rcgen::KeyUsagePurpose;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::issue::{self, Attr, Issued, KeyAlg, Profile};
use crate::{images, Error, Result};

/// Where the demo services (`kyso pki serve`) answer by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8765";

/// Organization of the fictional CAs.
pub const CA_ORG: &str = "Tổ chức chứng thực DEMO Kyso (hư cấu)";
/// Common name of the fictional root CA.
pub const ROOT_CN: &str = "RootCA DEMO Kyso — không dùng thật";
/// Common name of the fictional intermediate CA serving state agencies.
pub const INTERMEDIATE_CN: &str = "CA DEMO phục vụ các cơ quan Nhà nước — không dùng thật";
/// The fictional agency of the demo people.
pub const AGENCY: &str = "Sở Khoa học và Công nghệ tỉnh Demo";
const PROVINCE: &str = "Tỉnh Demo";
const CITY: &str = "Thành phố Demo";

/// Options of [`init`].
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Password of every PKCS#12 file written. Never stored.
    pub password: Secret,
    /// Base URL of the CRL/OCSP/caIssuers services named in the certificates.
    pub base_url: String,
    /// The current time: validity periods are computed from it.
    pub now: OffsetDateTime,
    /// Write into an existing non-empty directory (existing files of the same names are
    /// replaced).
    pub force: bool,
}

impl InitOptions {
    /// Options with the default base URL, refusing to write into a non-empty directory.
    pub fn new(password: Secret, now: OffsetDateTime) -> Self {
        InitOptions {
            password,
            base_url: DEFAULT_BASE_URL.to_owned(),
            now,
            force: false,
        }
    }
}

/// What an entity of the demo PKI is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Root,
    Intermediate,
    Personal,
    Organization,
    Tsa,
    Ocsp,
    /// Certificates made to be refused (expired, no signing key usage).
    Test,
}

/// One certificate of the demo PKI, as listed in `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    pub kind: Kind,
    /// The certificate, PEM.
    pub cert_file: String,
    /// Key, certificate and chain, PKCS#12.
    pub p12_file: String,
    /// The subject's common name.
    pub common_name: String,
    pub subject: String,
    pub issuer: String,
    /// Serial number, upper-case hex.
    pub serial: String,
    pub key_algorithm: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
}

/// What [`init`] wrote. Serialized as `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    #[serde(skip)]
    pub dir: PathBuf,
    /// Always "kyso-demo-pki/1".
    pub format: String,
    pub base_url: String,
    /// RFC 3339: the `now` the PKI was made with.
    pub created: String,
    pub entities: Vec<Entity>,
    /// Every file written, relative to the directory.
    pub files: Vec<String>,
}

impl Summary {
    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
}

/// Validity of an end-entity certificate.
#[derive(Clone, Copy)]
enum Validity {
    /// From yesterday, three years long.
    Normal,
    /// From yesterday, nine years long: the TSA and OCSP services outlive the signers'
    /// certificates, as archive timestamps need them to (still inside the intermediate's ten).
    Service,
    /// Ended a month ago.
    Expired,
    /// 700 days long (inside the CAs' validity), ending this many days from now (registry
    /// demos of expiry notices).
    EndsIn(i64),
}

struct Spec {
    name: &'static str,
    kind: Kind,
    alg: KeyAlg,
    subject: Vec<Attr>,
    profile: Profile,
    validity: Validity,
}

const OFFICE: &str = "Văn phòng Sở";

/// A civil servant of the demo Department.
fn person(title: &'static str, cn: &'static str, unit: &'static str) -> Vec<Attr> {
    person_of(AGENCY, title, cn, unit)
}

/// A civil servant of another agency of the demo province (the names, agencies and titles are
/// those of kyso's demo registry, which imports these certificates).
fn person_of(
    agency: &'static str,
    title: &'static str,
    cn: &'static str,
    unit: &'static str,
) -> Vec<Attr> {
    vec![
        Attr::Country("VN"),
        Attr::State(PROVINCE),
        Attr::Locality(CITY),
        Attr::Org(agency),
        Attr::OrgUnit(unit),
        Attr::Title(title),
        Attr::CommonName(cn),
    ]
}

/// A service of the demo CA.
fn service(cn: &'static str) -> Vec<Attr> {
    vec![Attr::Country("VN"), Attr::Org(CA_ORG), Attr::CommonName(cn)]
}

fn specs() -> Vec<Spec> {
    use Validity::{EndsIn, Expired, Normal, Service};
    let rsa = KeyAlg::Rsa(2048);
    let spec = |name, kind, alg, subject, profile, validity| Spec {
        name,
        kind,
        alg,
        subject,
        profile,
        validity,
    };
    let organization = vec![
        Attr::Country("VN"),
        Attr::State(PROVINCE),
        Attr::Locality(CITY),
        Attr::Org(AGENCY),
        Attr::CommonName(AGENCY),
    ];
    let nosign = Profile::end_entity(vec![KeyUsagePurpose::KeyEncipherment]);
    vec![
        spec(
            "personal",
            Kind::Personal,
            rsa,
            person("Giám đốc", "Nguyễn Văn An", OFFICE),
            Profile::signing(),
            Normal,
        ),
        spec(
            "personal2",
            Kind::Personal,
            rsa,
            person("Phó Giám đốc", "Trần Thị Bình", "Phòng Quản lý khoa học"),
            Profile::signing(),
            Normal,
        ),
        spec(
            "organization",
            Kind::Organization,
            rsa,
            organization,
            Profile::signing(),
            Normal,
        ),
        spec(
            "ecdsa",
            Kind::Personal,
            KeyAlg::P256,
            person("Chuyên viên", "Lê Hoàng Cường", "Phòng Quản lý công nghệ"),
            Profile::signing(),
            Normal,
        ),
        spec(
            "ecdsa384",
            Kind::Personal,
            KeyAlg::P384,
            person_of(
                "Văn phòng Ủy ban nhân dân Tỉnh Demo",
                "Chánh Văn phòng",
                "Phạm Thu Dung",
                "Văn phòng",
            ),
            Profile::signing(),
            Normal,
        ),
        spec(
            "expired",
            Kind::Test,
            rsa,
            person_of(
                "Sở Tài chính Tỉnh Demo",
                "Giám đốc",
                "Hoàng Minh Đức",
                "Ban Giám đốc",
            ),
            Profile::signing(),
            Expired,
        ),
        spec(
            "expiring",
            Kind::Personal,
            KeyAlg::P256,
            person(
                "Kế toán trưởng",
                "Vũ Thị Giang",
                "Phòng Kế hoạch - Tài chính",
            ),
            Profile::signing(),
            EndsIn(25),
        ),
        spec(
            "expiring2",
            Kind::Personal,
            KeyAlg::P256,
            person_of(
                "Trường Trung học phổ thông Demo Một",
                "Hiệu trưởng",
                "Đặng Quốc Hùng",
                "Ban Giám hiệu",
            ),
            Profile::signing(),
            EndsIn(5),
        ),
        spec(
            "nosign",
            Kind::Test,
            rsa,
            person("Chuyên viên", "Đặng Thị Hoa", OFFICE),
            nosign,
            Normal,
        ),
        spec(
            "tsa",
            Kind::Tsa,
            // ECDSA P-256 for the services: one signature per response, and RSA-2048 signs
            // only ~1,400/s per core (BENCHMARKS.md, issue 4).
            KeyAlg::P256,
            service("Dịch vụ cấp dấu thời gian DEMO Kyso"),
            Profile::tsa(),
            Service,
        ),
        spec(
            "ocsp",
            Kind::Ocsp,
            KeyAlg::P256,
            service("Dịch vụ OCSP DEMO Kyso"),
            Profile::ocsp(),
            Service,
        ),
    ]
}

/// Check that `dir` may be written: missing, empty, or `force`.
fn check_dir(dir: &Path, force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(Error::NotADirectory(dir.to_path_buf())),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).map_err(io)?;
            if entries.next().is_some() && !force {
                return Err(Error::DirNotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    Ok(())
}

fn check_base_url(url: &str) -> Result<String> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && url.is_ascii()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(Error::BadBaseUrl(url.to_owned()))
    }
}

/// The files to write, in order. Everything is made in memory first, so that a failure while
/// issuing leaves no half-made directory behind.
#[derive(Default)]
struct Files {
    list: Vec<(String, Vec<u8>, bool)>,
}

impl Files {
    /// Add a file; `private` ones (keys) are readable by the owner only.
    fn add(&mut self, name: impl Into<String>, data: impl Into<Vec<u8>>, private: bool) {
        self.list.push((name.into(), data.into(), private));
    }

    fn names(&self) -> Vec<String> {
        self.list.iter().map(|(n, _, _)| n.clone()).collect()
    }

    fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, data, private) in &self.list {
            let path = dir.join(name);
            write_file(&path, data, *private).map_err(|source| Error::Io { path, source })?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_file(path: &Path, data: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = if private { 0o600 } else { 0o644 };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    // The mode above applies to new files only.
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_file(path: &Path, data: &[u8], _private: bool) -> std::io::Result<()> {
    std::fs::write(path, data)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn entity(name: &str, kind: Kind, issued: &Issued) -> Result<Entity> {
    let cert = kyso_x509::Cert::from_der(&issued.der)
        .map_err(|e| Error::Issue(format!("re-reading {name}: {e}")))?;
    Ok(Entity {
        name: name.to_owned(),
        kind,
        cert_file: format!("{name}.pem"),
        p12_file: format!("{name}.p12"),
        common_name: cert.common_name().unwrap_or_default(),
        subject: cert.subject_display(),
        issuer: cert.issuer_display(),
        serial: cert.serial_hex(),
        key_algorithm: issued.alg.label(),
        not_before: rfc3339(cert.not_before()),
        not_after: rfc3339(cert.not_after()),
    })
}

/// Create the demo PKI in `dir`: see the crate documentation for the files.
pub fn init(dir: &Path, opts: &InitOptions) -> Result<Summary> {
    if opts.password.expose().is_empty() {
        return Err(Error::EmptyPassword);
    }
    let base = check_base_url(&opts.base_url)?;
    check_dir(dir, opts.force)?;
    let password = opts.password.expose();
    let rng = SystemRandom::new();
    let now = opts.now.replace_nanosecond(0).unwrap_or(opts.now);
    let yesterday = now - Duration::days(1);
    // The CAs start two years back, so that the expired certificate (and signatures dated in
    // the past) lie inside their validity.
    let ca_start = now - Duration::days(730);
    let crl_root = format!("{base}/crl/root.crl");
    let crl_int = format!("{base}/crl/intermediate.crl");
    let ocsp_url = format!("{base}/ocsp");
    let root_cer = format!("{base}/certs/root.cer");
    let int_cer = format!("{base}/certs/intermediate.cer");

    // Root: self-signed, RSA-4096, until 20 years from now.
    let root_name = issue::name(&[
        Attr::Country("VN"),
        Attr::Org(CA_ORG),
        Attr::CommonName(ROOT_CN),
    ])?;
    let root_params = issue::params(
        root_name,
        &Profile::ca(None),
        ca_start,
        now + Duration::days(365 * 20 + 5),
        issue::random_serial(&rng)?,
    )?;
    let root = issue::self_signed(root_params, KeyAlg::Rsa(4096))?;

    // Intermediate: serves state agencies, pathLen 0, RSA-3072, until 10 years from now.
    let mut int_profile = Profile::ca(Some(0));
    int_profile.crl_url = Some(crl_root);
    int_profile.ca_issuers_url = Some(root_cer);
    let int_params = issue::params(
        issue::name(&[
            Attr::Country("VN"),
            Attr::Org(CA_ORG),
            Attr::CommonName(INTERMEDIATE_CN),
        ])?,
        &int_profile,
        ca_start,
        now + Duration::days(365 * 10 + 2),
        issue::random_serial(&rng)?,
    )?;
    let intermediate = issue::issue(int_params, KeyAlg::Rsa(3072), &root)?;

    let mut files = Files::default();
    let mut entities = vec![
        entity("root", Kind::Root, &root)?,
        entity("intermediate", Kind::Intermediate, &intermediate)?,
    ];
    let (root_pem, int_pem) = (root.pem()?, intermediate.pem()?);
    files.add("root.pem", root_pem.clone(), false);
    files.add("intermediate.pem", int_pem.clone(), false);
    files.add("chain.pem", format!("{int_pem}{root_pem}"), false);
    let p12 = issue::pkcs12(&root, &[], "root", password)?;
    files.add("root.p12", p12, true);
    let p12 = issue::pkcs12(&intermediate, &[&root], "intermediate", password)?;
    files.add("intermediate.p12", p12, true);

    for spec in specs() {
        let (nb, na) = match spec.validity {
            Validity::Normal => (yesterday, yesterday + Duration::days(365 * 3 + 1)),
            Validity::Service => (yesterday, yesterday + Duration::days(365 * 9 + 2)),
            Validity::Expired => (now - Duration::days(400), now - Duration::days(30)),
            Validity::EndsIn(days) => (
                now + Duration::days(days) - Duration::days(700),
                now + Duration::days(days),
            ),
        };
        let mut profile = spec.profile;
        profile.crl_url = Some(crl_int.clone());
        profile.ocsp_url = Some(ocsp_url.clone());
        profile.ca_issuers_url = Some(int_cer.clone());
        let params = issue::params(
            issue::name(&spec.subject)?,
            &profile,
            nb,
            na,
            issue::random_serial(&rng)?,
        )?;
        let issued = issue::issue(params, spec.alg, &intermediate)?;
        entities.push(entity(spec.name, spec.kind, &issued)?);
        files.add(format!("{}.pem", spec.name), issued.pem()?, false);
        let p12 = issue::pkcs12(&issued, &[&intermediate, &root], spec.name, password)?;
        files.add(format!("{}.p12", spec.name), p12, true);
    }

    files.add("signature.png", images::signature_png()?, false);
    files.add("seal.png", images::seal_png()?, false);
    files.add("README.txt", readme(&base), false);

    let mut names = files.names();
    names.push("index.json".to_owned());
    let summary = Summary {
        dir: dir.to_path_buf(),
        format: "kyso-demo-pki/1".to_owned(),
        base_url: base,
        created: rfc3339(now),
        entities,
        files: names,
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| Error::Issue(format!("index.json: {e}")))?;
    files.add("index.json", json, false);
    files.write_to(dir)?;
    Ok(summary)
}

fn readme(base: &str) -> String {
    format!(
        "HẠ TẦNG KHÓA CÔNG KHAI DEMO CỦA KYSO — CHỈ ĐỂ THỬ NGHIỆM, KHÔNG DÙNG THẬT
=========================================================================

Thư mục này do lệnh `kyso pki init` tạo ra. Mọi tên người, tên cơ quan, tổ chức
chứng thực và khóa trong đây đều là hư cấu, chỉ dùng để thử nghiệm ký số và xác
thực chữ ký. Chứng thư số ở đây KHÔNG có giá trị pháp lý.

Mô hình mô phỏng hệ thống chứng thực chữ ký số chuyên dùng Chính phủ:
  CA gốc (root) -> CA phục vụ các cơ quan Nhà nước (intermediate) -> chứng thư số

Tệp:
  root.pem            chứng thư số CA gốc DEMO (tự ký, RSA-4096)
  intermediate.pem    chứng thư số CA trung gian DEMO (RSA-3072, pathLen 0)
  chain.pem           intermediate + root, dùng để xây dựng đường dẫn chứng thực
  root.p12            khóa bí mật CA gốc (để phát hành CRL)
  intermediate.p12    khóa bí mật CA trung gian (để phát hành CRL, OCSP)
  personal.pem/.p12   Nguyễn Văn An, Giám đốc Sở Khoa học và Công nghệ tỉnh Demo (RSA-2048)
  personal2.pem/.p12  Trần Thị Bình, Phó Giám đốc (RSA-2048)
  organization.pem/.p12  chữ ký số của cơ quan: Sở Khoa học và Công nghệ tỉnh Demo
  ecdsa.pem/.p12      Lê Hoàng Cường, Chuyên viên (ECDSA P-256)
  ecdsa384.pem/.p12   Phạm Thu Dung, Chánh Văn phòng UBND tỉnh (ECDSA P-384)
  expired.pem/.p12    Hoàng Minh Đức, Giám đốc Sở Tài chính: chứng thư số đã hết hạn
                      (để thử việc từ chối ký)
  nosign.pem/.p12     chứng thư số không có mục đích ký số (để thử việc từ chối ký)
  tsa.pem/.p12        dịch vụ cấp dấu thời gian DEMO (ECDSA P-256)
  ocsp.pem/.p12       dịch vụ OCSP DEMO (được CA trung gian ủy quyền, ECDSA P-256)
  signature.png       ảnh chữ ký tay mẫu, mực xanh, nền trong suốt, 300 dpi
  seal.png            ảnh con dấu mẫu, đỏ, đường kính 40 mm, nền trong suốt, 300 dpi
  index.json          danh sách chứng thư số (số hiệu, thời hạn, thuật toán khóa)

Các tệp .p12 (PKCS#12) chứa khóa bí mật, chứng thư số và chuỗi chứng thực, được mã
hóa AES-256-CBC với khóa dẫn xuất PBKDF2-HMAC-SHA256. Mật khẩu được nhập khi chạy
lệnh và KHÔNG được lưu ở bất kỳ đâu.

Các chứng thư số trỏ tới dịch vụ demo tại {base}:
  CRL:  {base}/crl/root.crl, {base}/crl/intermediate.crl
  OCSP: {base}/ocsp
  CA:   {base}/certs/root.cer, {base}/certs/intermediate.cer

Chạy các dịch vụ (TSA, OCSP, CRL) và thu hồi chứng thư số:
  kyso pki serve THƯ_MỤC --listen 127.0.0.1:8765 --password-env KYSO_P12_PASS
  kyso pki revoke THƯ_MỤC --serial SỐ_HIỆU --reason keyCompromise   (ghi vào revocations.json)

Ví dụ ký một tệp PDF:
  export KYSO_P12_PASS=...   # mật khẩu đã dùng khi tạo
  kyso sign vanban.pdf -o vanban-da-ky.pdf --p12 personal.p12 --password-env KYSO_P12_PASS --invisible
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyso_x509::Cert;

    fn fixed_now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-15 09:30:00 UTC)
    }

    /// One PKI shared by the tests of this module (key generation is the slow part).
    fn pki() -> &'static (tempfile::TempDir, Summary) {
        static PKI: std::sync::OnceLock<(tempfile::TempDir, Summary)> = std::sync::OnceLock::new();
        PKI.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let opts = InitOptions::new(Secret::from("mật-khẩu demo"), fixed_now());
            let summary = init(dir.path(), &opts).unwrap();
            (dir, summary)
        })
    }

    fn cert(name: &str) -> Cert {
        let (dir, _) = pki();
        let pem = std::fs::read(dir.path().join(format!("{name}.pem"))).unwrap();
        Cert::from_pem_chain(&pem).unwrap().remove(0)
    }

    fn ext(c: &Cert, oid: const_oid::ObjectIdentifier) -> Option<(bool, Vec<u8>)> {
        c.inner()
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == oid)
            .map(|e| (e.critical, e.extn_value.as_bytes().to_vec()))
    }

    use const_oid::db::rfc5280 as o;
    use kyso_x509::oid as n;

    #[test]
    fn all_files_are_written() {
        let (dir, summary) = pki();
        for f in &summary.files {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
        for n in [
            "root",
            "intermediate",
            "personal",
            "personal2",
            "organization",
            "ecdsa",
            "ecdsa384",
            "expired",
            "expiring",
            "expiring2",
            "nosign",
            "tsa",
            "ocsp",
        ] {
            assert!(summary.files.contains(&format!("{n}.pem")), "{n}");
            assert!(summary.files.contains(&format!("{n}.p12")), "{n}");
            assert!(summary.entity(n).is_some(), "{n}");
        }
        for f in [
            "chain.pem",
            "index.json",
            "README.txt",
            "signature.png",
            "seal.png",
        ] {
            assert!(summary.files.iter().any(|x| x == f), "{f}");
        }
        let readme = std::fs::read_to_string(dir.path().join("README.txt")).unwrap();
        assert!(readme.contains("hư cấu"));
        assert!(!readme.contains("mật-khẩu demo"));
    }

    #[test]
    fn index_json_lists_entities() {
        let (dir, _) = pki();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(json["base_url"], DEFAULT_BASE_URL);
        let ents = json["entities"].as_array().unwrap();
        let personal = ents.iter().find(|e| e["name"] == "personal").unwrap();
        assert_eq!(personal["kind"], "personal");
        assert_eq!(personal["key_algorithm"], "RSA-2048");
        assert_eq!(personal["p12_file"], "personal.p12");
        assert_eq!(personal["not_before"], "2026-03-14T09:30:00Z");
        assert_eq!(personal["serial"].as_str().unwrap().len(), 32);
        assert!(personal["subject"]
            .as_str()
            .unwrap()
            .contains("Nguyễn Văn An"));
        let kinds: Vec<&str> = ents.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for k in [
            "root",
            "intermediate",
            "personal",
            "organization",
            "tsa",
            "ocsp",
            "test",
        ] {
            assert!(kinds.contains(&k), "{k}");
        }
    }

    #[test]
    fn subject_is_utf8_and_round_trips() {
        let c = cert("personal");
        assert_eq!(c.common_name().as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(c.subject_attr(n::TITLE).as_deref(), Some("Giám đốc"));
        assert_eq!(c.subject_attr(n::OU).as_deref(), Some(OFFICE));
        assert_eq!(c.subject_attr(n::O).as_deref(), Some(AGENCY));
        assert_eq!(c.subject_attr(n::L).as_deref(), Some(CITY));
        assert_eq!(c.subject_attr(n::ST).as_deref(), Some(PROVINCE));
        assert_eq!(c.subject_attr(n::C).as_deref(), Some("VN"));
        // CN is a UTF8String (tag 0x0C), C a PrintableString (tag 0x13).
        for atv in c.inner().tbs_certificate().subject().iter() {
            let tag = der::Tagged::tag(&atv.value);
            if atv.oid == n::C {
                assert_eq!(tag, der::Tag::PrintableString);
            } else {
                assert_eq!(tag, der::Tag::Utf8String, "{}", atv.oid);
            }
        }
        assert_eq!(cert("organization").common_name().as_deref(), Some(AGENCY));
        assert_eq!(
            cert("personal2").common_name().as_deref(),
            Some("Trần Thị Bình")
        );
        assert_eq!(cert("root").common_name().as_deref(), Some(ROOT_CN));
    }

    #[test]
    fn key_usages() {
        for n in [
            "personal",
            "personal2",
            "organization",
            "ecdsa",
            "ecdsa384",
            "expired",
        ] {
            let ku = cert(n).key_usage();
            assert!(
                ku.present && ku.digital_signature && ku.non_repudiation,
                "{n}"
            );
            assert!(!ku.key_cert_sign, "{n}");
            let (critical, _) = ext(&cert(n), o::ID_CE_KEY_USAGE).unwrap();
            assert!(critical, "{n}");
        }
        let ku = cert("nosign").key_usage();
        assert!(ku.present && !ku.digital_signature && !ku.non_repudiation);
        assert!(ku.key_encipherment);
        for n in ["root", "intermediate"] {
            let c = cert(n);
            let ku = c.key_usage();
            assert!(
                ku.key_cert_sign && ku.crl_sign && !ku.digital_signature,
                "{n}"
            );
            assert!(c.is_ca(), "{n}");
        }
        assert!(!cert("personal").is_ca());
    }

    #[test]
    fn extensions_of_end_entities() {
        let issuer = cert("intermediate");
        let ski = issuer.subject_key_id().unwrap();
        for n in [
            "personal",
            "personal2",
            "organization",
            "ecdsa",
            "ecdsa384",
            "expired",
            "expiring",
            "expiring2",
            "nosign",
            "tsa",
            "ocsp",
        ] {
            let c = cert(n);
            assert!(issuer.is_issuer_of(&c), "{n}");
            assert!(c.subject_key_id().is_some(), "{n}");
            let (_, aki) = ext(&c, o::ID_CE_AUTHORITY_KEY_IDENTIFIER).unwrap();
            assert!(aki.windows(ski.len()).any(|w| w == ski.as_slice()), "{n}");
            let (_, cdp) = ext(&c, o::ID_CE_CRL_DISTRIBUTION_POINTS).unwrap();
            let url = format!("{DEFAULT_BASE_URL}/crl/intermediate.crl");
            assert!(cdp.windows(url.len()).any(|w| w == url.as_bytes()), "{n}");
            let (_, aia) = ext(&c, o::ID_PE_AUTHORITY_INFO_ACCESS).unwrap();
            for url in [
                format!("{DEFAULT_BASE_URL}/ocsp"),
                format!("{DEFAULT_BASE_URL}/certs/intermediate.cer"),
            ] {
                assert!(aia.windows(url.len()).any(|w| w == url.as_bytes()), "{n}");
            }
        }
        let int = cert("intermediate");
        let (_, cdp) = ext(&int, o::ID_CE_CRL_DISTRIBUTION_POINTS).unwrap();
        assert!(cdp.windows(8).any(|w| w == b"root.crl"));
        let (critical, bc) = ext(&int, o::ID_CE_BASIC_CONSTRAINTS).unwrap();
        assert!(critical);
        assert_eq!(
            bc,
            [0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00],
            "CA, pathLen 0"
        );
        assert!(cert("root").is_issuer_of(&int));
    }

    #[test]
    fn tsa_and_ocsp_profiles() {
        let tsa = cert("tsa");
        let (critical, eku) = ext(&tsa, o::ID_CE_EXT_KEY_USAGE).unwrap();
        assert!(critical, "TSA EKU must be critical");
        assert_eq!(eku, [0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 8]);
        let ocsp = cert("ocsp");
        let (_, eku) = ext(&ocsp, o::ID_CE_EXT_KEY_USAGE).unwrap();
        assert_eq!(eku, [0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 9]);
        let (_, nocheck) = ext(&ocsp, const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK).unwrap();
        assert_eq!(nocheck, [0x05, 0x00]);
        assert!(ocsp.key_usage().digital_signature);
    }

    #[test]
    fn validity_periods() {
        let now = fixed_now();
        let personal = cert("personal");
        assert!(personal.valid_at(now));
        assert_eq!(personal.not_before(), now - Duration::days(1));
        assert!(personal.not_after() > now + Duration::days(3 * 365 - 2));
        let expired = cert("expired");
        assert!(!expired.valid_at(now));
        assert!(expired.not_after() < now);
        assert!(expired.valid_at(now - Duration::days(100)));
        assert!(cert("root").valid_at(now + Duration::days(365 * 15)));
        // The services outlive the signers (archive timestamps) within the intermediate.
        for svc in ["tsa", "ocsp"] {
            assert!(cert(svc).not_after() > personal.not_after() + Duration::days(365 * 5));
            assert!(cert(svc).not_after() < cert("intermediate").not_after());
        }
        // The CAs cover the whole life of the expired certificate.
        for ca in ["root", "intermediate"] {
            assert!(cert(ca).valid_at(expired.not_before()), "{ca}");
            assert!(cert(ca).not_after() > personal.not_after(), "{ca}");
        }
    }

    #[test]
    fn key_algorithms_and_serials() {
        use kyso_x509::KeyKind;
        assert!(matches!(cert("personal").key_kind(), KeyKind::Rsa { .. }));
        assert_eq!(cert("ecdsa").key_kind(), KeyKind::EcP256);
        assert_eq!(cert("ecdsa384").key_kind(), KeyKind::EcP384);
        assert_eq!(cert("tsa").key_kind(), KeyKind::EcP256);
        assert_eq!(cert("ocsp").key_kind(), KeyKind::EcP256);
        let s = cert("personal").serial_bytes().to_vec();
        assert_eq!(s.len(), 16);
        assert!(s[0] & 0x80 == 0 && s[0] != 0);
        assert_ne!(s, cert("personal2").serial_bytes());
    }

    #[test]
    fn pkcs12_files_load_with_the_password() {
        let (dir, _) = pki();
        for n in ["personal", "ecdsa", "ecdsa384", "organization"] {
            let data = std::fs::read(dir.path().join(format!("{n}.p12"))).unwrap();
            let signer =
                kyso_keys::Pkcs12Signer::from_pkcs12(&data, &Secret::from("mật-khẩu demo"))
                    .unwrap();
            let leaf = kyso_cms::Signer::certificate(&signer);
            assert_eq!(leaf.der(), cert(n).der());
            assert_eq!(kyso_cms::Signer::chain(&signer).len(), 2, "{n}");
        }
        let data = std::fs::read(dir.path().join("personal.p12")).unwrap();
        let wrong = kyso_keys::Pkcs12Signer::from_pkcs12(&data, &Secret::from("sai"));
        assert!(matches!(wrong, Err(kyso_keys::Error::WrongPassword)));
    }

    #[test]
    fn revoke_records_state_and_refuses_repeats_unknowns_and_the_root() {
        use crate::revocation::{revoke, Reason, RevocationState};
        let (dir, summary) = pki();
        let d = dir.path();
        let serial = summary.entity("personal2").unwrap().serial.clone();
        // Lower case and a 0x prefix are accepted.
        let r = revoke(
            d,
            &format!("0x{}", serial.to_lowercase()),
            Reason::Superseded,
            fixed_now(),
        )
        .unwrap();
        assert_eq!(
            (r.name.as_str(), r.issuer.as_str()),
            ("personal2", "intermediate")
        );
        assert_eq!(r.serial, serial);
        assert_eq!(r.time, "2026-03-15T09:30:00Z");
        assert!(matches!(
            revoke(d, &serial, Reason::KeyCompromise, fixed_now()),
            Err(Error::AlreadyRevoked {
                reason: Reason::Superseded,
                ..
            })
        ));
        let int = summary.entity("intermediate").unwrap().serial.clone();
        let r = revoke(d, &int, Reason::CaCompromise, fixed_now()).unwrap();
        assert_eq!(r.issuer, "root");
        match revoke(d, "ABCDEF", Reason::KeyCompromise, fixed_now()) {
            Err(Error::UnknownSerial { known, .. }) => assert_eq!(known.len(), 13),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            revoke(d, "not hex", Reason::KeyCompromise, fixed_now()),
            Err(Error::UnknownSerial { .. })
        ));
        let root = summary.entity("root").unwrap().serial.clone();
        assert!(matches!(
            revoke(d, &root, Reason::KeyCompromise, fixed_now()),
            Err(Error::CannotRevokeRoot)
        ));
        let state = RevocationState::load(d).unwrap();
        assert_eq!(state.revoked.len(), 2);
        assert_eq!(state.crl_number("intermediate"), 2);
        assert_eq!(state.crl_number("root"), 2);
        assert!(state.find("intermediate", &serial).is_some());
    }

    #[test]
    fn refuses_a_non_empty_directory_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.txt"), b"x").unwrap();
        let mut opts = InitOptions::new(Secret::from("pw"), fixed_now());
        assert!(matches!(
            init(dir.path(), &opts),
            Err(Error::DirNotEmpty(_))
        ));
        let file = dir.path().join("x.txt");
        assert!(matches!(init(&file, &opts), Err(Error::NotADirectory(_))));
        opts.password = Secret::from("");
        assert!(matches!(
            init(&dir.path().join("new"), &opts),
            Err(Error::EmptyPassword)
        ));
        opts.password = Secret::from("pw");
        opts.base_url = "ftp://x".into();
        assert!(matches!(
            init(&dir.path().join("new"), &opts),
            Err(Error::BadBaseUrl(_))
        ));
    }
}
