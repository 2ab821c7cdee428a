//! TLS for services on the user's own computer (`kyso agent --tls`: `wss://127.0.0.1`, which
//! document systems written for the national CA's sign service connect to).
//!
//! [`TlsListener`] plugs into `axum::serve`: TCP connections are accepted in a task of their
//! own and each handshake runs in its own task with a deadline, so a client that stalls its
//! handshake holds up nobody else. [`local_config`] loads, or creates once, the loopback
//! certificate (`kyso_pki::local_tls`).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use kyso_i18n::{ue, UserError};

/// Longest a TLS handshake may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// A TCP listener whose connections come out TLS-terminated.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                if tx.is_closed() {
                    return;
                }
                let (stream, addr) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(_) => {
                        // Out of file descriptors and the like: wait, as axum's own listener does.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await
                    {
                        let _ = tx.send((tls, addr)).await;
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(c) = self.ready.recv().await {
                return c;
            }
            // The accept task is gone (it never is while the listener lives): nothing more
            // will arrive.
            std::future::pending::<()>().await;
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A rustls server configuration from PEM files: the certificate chain and its key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, UserError> {
    let bad = |p: &Path, e: &dyn std::fmt::Display| ue!("không đọc được {}: {}", p.display(), e; "cannot read {}: {}", p.display(), e);
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ue!("cấu hình TLS lỗi: {}", e; "TLS configuration error: {}", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ue!("chứng thư TLS và khóa không dùng được: {}", e; "the TLS certificate and key cannot be used: {}", e))?;
    Ok(Arc::new(config))
}

/// The loopback certificate in `dir` (`ca.pem`, `server.pem`, `server.key`), created when
/// missing or expiring within 30 days. Returns the paths of the CA to install, the server
/// certificate and its key, and whether they were just made.
pub fn local_certificate(
    dir: &Path,
    now: time::OffsetDateTime,
) -> Result<(PathBuf, PathBuf, PathBuf, bool), UserError> {
    let ca = dir.join("ca.pem");
    let cert = dir.join("server.pem");
    let key = dir.join("server.key");
    let still_good = std::fs::read(&cert)
        .ok()
        .and_then(|pem| kyso_x509::Cert::from_pem_chain(&pem).ok())
        .and_then(|c| c.into_iter().next())
        .is_some_and(|c| c.valid_at(now + time::Duration::days(30)))
        && key.is_file()
        && ca.is_file();
    if still_good {
        return Ok((ca, cert, key, false));
    }
    let io = |p: &Path, e: std::io::Error| kyso_i18n::catalogue::io(p, &e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let made = kyso_pki::local_tls::generate("kyso agent — chỉ cho 127.0.0.1 / localhost", now)
        .map_err(|e| ue!("không tạo được chứng thư TLS: {}", e; "cannot make the TLS certificate: {}", e))?;
    write_private(&key, made.key_pem.as_bytes()).map_err(|e| io(&key, e))?;
    std::fs::write(&cert, made.cert_pem.as_bytes()).map_err(|e| io(&cert, e))?;
    std::fs::write(&ca, made.ca_pem.as_bytes()).map_err(|e| io(&ca, e))?;
    Ok((ca, cert, key, true))
}

/// Write a file only its owner can read (0600), replacing it atomically.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Where the agent keeps its loopback certificate by default:
/// `$XDG_CONFIG_HOME/kyso/agent-tls`, else `~/.config/kyso/agent-tls`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("kyso")
        .join("agent-tls")
}
