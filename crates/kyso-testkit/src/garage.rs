//! A real S3-compatible object store for the tests: a one-node Garage cluster
//! (<https://garagehq.deuxfleurs.fr>, the store a province can run itself) started in a
//! temporary folder on free ports, with a key and buckets made through its own command line.
//!
//! The binary is `$KYSO_GARAGE`, else `~/.cache/kyso/garage/bin/garage` (where
//! `scripts/setup-test-env.sh` builds it), else `garage` on the `PATH`. Missing, the check is a
//! [`crate::skip`] (a failure under `KYSO_REQUIRE_ALL=1`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running one-node Garage; stopped and its folder removed when dropped.
#[derive(Debug)]
pub struct Garage {
    binary: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    child: Child,
    /// The S3 API's URL (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    /// The test key's id and secret, allowed on every bucket made by [`Garage::bucket`].
    pub key_id: String,
    pub secret: String,
}

/// The Garage binary, if there is one.
pub fn binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("KYSO_GARAGE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/kyso/garage/bin/garage")),
        )
        .chain(std::iter::once(PathBuf::from("garage")));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random bytes from the kernel (the RPC secret of a throw-away cluster).
fn random(n: usize) -> Vec<u8> {
    use std::io::Read as _;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap_or_else(|e| panic!("/dev/urandom: {e}"));
    buf
}

impl Garage {
    /// Start a cluster, or skip the check ([`crate::skip`]) and return `None` when Garage is
    /// not installed.
    #[track_caller]
    pub fn start() -> Option<Garage> {
        let Some(binary) = binary() else {
            crate::skip("Garage (`cargo install garage`)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "kyso-garage-{}-{}",
            std::process::id(),
            hex(&random(6))
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let config = dir.join("garage.toml");
        let text = format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
             replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\n\
             [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
             root_domain = \".s3.garage.localhost\"\n\n\
             [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
            secret = hex(&random(32)),
        );
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        let log = std::fs::File::create(dir.join("garage.log"))
            .unwrap_or_else(|e| panic!("garage.log: {e}"));
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let mut g = Garage {
            binary,
            dir,
            config,
            child,
            endpoint: format!("http://127.0.0.1:{s3}"),
            key_id: String::new(),
            secret: String::new(),
        };
        g.wait_until_up();
        let id = g.cli(&["node", "id", "-q"]);
        let node = id.trim().split('@').next().unwrap_or_default().to_owned();
        g.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        g.cli(&["layout", "apply", "--version", "1"]);
        // A key of the Garage format (GK + 24 hex digits, a 64-digit secret), imported.
        g.key_id = format!("GK{}", hex(&random(12)));
        g.secret = hex(&random(32));
        let (key_id, secret) = (g.key_id.clone(), g.secret.clone());
        g.cli(&[
            "key",
            "import",
            "--yes",
            "-n",
            "kyso-test",
            &key_id,
            &secret,
        ]);
        Some(g)
    }

    fn wait_until_up(&mut self) {
        let started = Instant::now();
        loop {
            let ok = Command::new(&self.binary)
                .arg("-c")
                .arg(&self.config)
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("garage server exited ({status}): {}", self.log());
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!("garage server did not answer in 60 s: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("garage.log")).unwrap_or_default()
    }

    /// Run `garage ARGS` against this cluster; its standard output (a failure panics).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("garage {args:?}: {e}"));
        assert!(
            out.status.success(),
            "garage {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Make bucket `name`, readable and writable with the test key.
    pub fn bucket(&self, name: &str) {
        self.cli(&["bucket", "create", name]);
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            name,
            "--key",
            "kyso-test",
        ]);
    }

    /// The `s3://` address of `bucket` (under `prefix`, when not empty) on this cluster.
    pub fn address(&self, bucket: &str, prefix: &str) -> String {
        let sep = if prefix.is_empty() { "" } else { "/" };
        format!("s3://{bucket}{sep}{prefix}?endpoint={}", self.endpoint)
    }

    /// The key as a credentials file holds it (id, then secret, one a line).
    pub fn credentials_text(&self) -> String {
        format!("{}\n{}\n", self.key_id, self.secret)
    }

    /// Write the credentials file into `dir` (mode 0600); its path.
    pub fn credentials_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("s3-credentials");
        std::fs::write(&path, self.credentials_text())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        path
    }

    /// The objects stored in the cluster's data folder (for tests that damage one).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
