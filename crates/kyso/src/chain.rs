//! The certificate chain a signature carries: completed up to the root before signing
//! (`kyso_ltv::chain`) from the key container's certificates (the PKCS#12 file, every CA
//! certificate on the token, the remote service's chain), the `--chain` files, the trust store,
//! and, unless `--offline`, the certificates' AIA caIssuers URLs. A chain that stays incomplete
//! is refused with the missing issuer named.

use std::path::PathBuf;

use kyso_cms::Signer;
use kyso_ltv::chain::{self, CertSource, MissingIssuer};
use kyso_x509::Cert;

pub use kyso_ltv::chain::with_chain;

use crate::ue;
use kyso_i18n::UserError;

/// Largest `--chain` file read.
const MAX_CHAIN_FILE: usize = 1024 * 1024;

/// The certificates of the `--chain` files (PEM or DER).
fn read_files(files: &[PathBuf]) -> Result<Vec<(Cert, CertSource)>, UserError> {
    let mut out = Vec::new();
    for f in files {
        let data = crate::sign::read_limited(f, MAX_CHAIN_FILE)?;
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

/// The signer with its chain completed up to the root, or an error naming the missing issuer.
pub fn complete_signer(
    signer: Box<dyn Signer>,
    files: &[PathBuf],
    offline: bool,
    timeout_secs: u64,
) -> Result<Box<dyn Signer>, UserError> {
    let extra = read_files(files)?;
    // The trust store's roots may end a chain the key container leaves without its root; an
    // unreadable store is `kyso verify`'s to report, not a reason to refuse signing.
    let anchors = kyso_x509::path::TrustStore::from_dirs(&kyso_x509::store::default_dirs())
        .map(|t| t.anchors().to_vec())
        .unwrap_or_default();
    let fetcher =
        (!offline).then(|| crate::ltv::fetcher_with(timeout_secs, chain::MAX_CA_CERT_BYTES as u64));
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
