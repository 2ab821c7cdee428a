//! The one way the services run (`kyso pki serve`, `kyso csc serve`, `kyso agent`, `kyso
//! serve`): a multi-threaded tokio runtime, the router on a TCP or TLS listener, handlers that
//! may ask for the peer's address, and a graceful stop on Ctrl-C or SIGTERM.

use std::sync::Arc;

use axum::Router;
use kyso_i18n::{ue, UserError};

/// Run a service until Ctrl-C or SIGTERM: a multi-threaded runtime (`threads` workers, default
/// one per core; CPU-bound work goes to its blocking pool), `router` on `addr`, over TLS when
/// `tls` is given. `banner` is called with the bound address once listening (to print it).
/// The one way `kyso pki serve`, `kyso csc serve` and `kyso agent` run.
pub fn run_service(
    addr: std::net::SocketAddr,
    threads: Option<usize>,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    banner: impl FnOnce(std::net::SocketAddr),
) -> Result<(), UserError> {
    run_service_with(addr, threads, tls, std::future::ready(Ok(router)), banner)
}

/// [`run_service`] for a router that is built inside the runtime (a service whose state holds
/// connections, like the database pool of `kyso serve`).
pub fn run_service_with(
    addr: std::net::SocketAddr,
    threads: Option<usize>,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: impl std::future::Future<Output = Result<Router, UserError>>,
    banner: impl FnOnce(std::net::SocketAddr),
) -> Result<(), UserError> {
    run_service_then(addr, threads, tls, router, banner, || async {})
}

/// [`run_service_with`], then `after` once the server has stopped (Ctrl-C or SIGTERM), on the
/// server's runtime (the registry server's last audit checkpoint).
pub fn run_service_then<F: std::future::Future<Output = ()>>(
    addr: std::net::SocketAddr,
    threads: Option<usize>,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: impl std::future::Future<Output = Result<Router, UserError>>,
    banner: impl FnOnce(std::net::SocketAddr),
    after: impl FnOnce() -> F,
) -> Result<(), UserError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all().max_blocking_threads(16);
    if let Some(n) = threads.filter(|n| *n > 0) {
        rt.worker_threads(n);
    }
    let rt = rt.build().map_err(
        |e| ue!("không khởi động được máy chủ: {}", e; "cannot start the server: {}", e),
    )?;
    rt.block_on(async move {
        let router = router.await?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            ue!("không lắng nghe được trên {}: {}", addr, e; "cannot listen on {}: {}", addr, e)
        })?;
        banner(listener.local_addr().unwrap_or(addr));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let stopped = |e: std::io::Error| {
            ue!("máy chủ dừng do lỗi: {}", e; "the server stopped on an error: {}", e)
        };
        let served = match tls {
            Some(config) => {
                let listener = crate::tls::TlsListener::new(listener, config).map_err(stopped)?;
                serve(listener, router).await.map_err(stopped)
            }
            None => serve_tcp(listener, router).await.map_err(stopped),
        };
        after().await;
        served
    })
}

/// Serve `router` on a TLS listener (`crate::tls::TlsListener`) until Ctrl-C or SIGTERM.
/// Handlers may ask for the peer's address (`ConnectInfo<SocketAddr>`), as over plain TCP.
pub async fn serve<L>(listener: L, router: Router) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    use axum::serve::ListenerExt as _;
    // Through `tap_io`, whose peer address axum hands to handlers as `ConnectInfo`.
    axum::serve(
        listener.tap_io(|_| {}),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

/// Serve `router` over plain TCP until Ctrl-C or SIGTERM; handlers may ask for the peer's
/// address (`ConnectInfo<SocketAddr>`: the audit log and login throttling of `kyso serve`).
pub async fn serve_tcp(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
