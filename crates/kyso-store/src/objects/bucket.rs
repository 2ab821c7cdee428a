//! A bucket of an S3-compatible object store (Garage, MinIO, Ceph RGW, AWS S3) behind
//! [`Objects`], through Apache Arrow's `object_store` client.
//!
//! Its address is `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]`; the credentials never
//! travel in it (they are read from a file or the environment by the caller: [`Credentials`]).
//!
//! The client is asynchronous; kyso's blob and backup code is blocking (it runs off the async
//! threads). A [`Bucket`] therefore owns a small runtime of its own and waits for each request
//! on a channel, which works from any thread, inside another runtime or not.
//!
//! A write is whole or nothing: the bytes go first to a temporary file on this machine (hashed
//! on the way), then up in one `PUT` (files up to 16 MiB) or a multipart upload that the store
//! makes visible only when it completes; an abandoned upload is aborted.

use std::future::Future;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart};
use zeroize::Zeroizing;

use super::{copy_hashing, valid_key, Copied, Objects, Settle, SettleInner};

/// Files up to this size are sent in one request; larger ones in parts of this size.
const PART: usize = 16 * 1024 * 1024;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// An access key of the object store. The secret is zeroized when dropped and never printed.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From a credentials file's text: the key id on the first line, the secret on the second
    /// (what `garage key info --show-secret` prints, copied by hand; blank lines and `#` lines
    /// are skipped).
    pub fn parse(text: &str) -> Option<Credentials> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let id = lines.next()?;
        let secret = lines.next()?;
        (lines.next().is_none() && !id.contains(char::is_whitespace)).then(|| Credentials {
            access_key_id: id.to_owned(),
            secret_access_key: Zeroizing::new(secret.to_owned()),
        })
    }
}

/// Where a bucket is: the parts of its `s3://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub bucket: String,
    /// Keys are written under it (`archive/` or empty), ending in `/` when not empty.
    pub prefix: String,
    /// The store's URL (`http://127.0.0.1:3900`); `None`: AWS's own.
    pub endpoint: Option<String>,
    pub region: String,
    /// Whether connections are kept open between requests (`keep-alive=true`). Off by default:
    /// a store that answers a GET in two writes without `TCP_NODELAY` (Garage 2.5 does) stalls
    /// every answer on a reused connection for the client's delayed ACK, 40 ms — a new
    /// connection per request reads 50 KB objects 33× faster on a LAN (BENCHMARKS.md, "Issue 19
    /// — the blob store"). Worth turning on across a network where connecting is dear (TLS far
    /// away) and the store answers promptly.
    pub keep_alive: bool,
}

/// The region a bucket is in when its address names none (Garage's default name).
pub const DEFAULT_REGION: &str = "garage";

impl Address {
    /// Whether `text` is a bucket's address rather than a folder.
    pub fn is_address(text: &str) -> bool {
        text.starts_with("s3://")
    }

    /// Parse `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]`.
    pub fn parse(text: &str) -> Result<Address, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{text}: a bucket's address begins with s3://"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
        if !bucket_ok {
            return Err(format!(
                "{text}: a bucket's name is 3 to 63 lowercase letters, digits, '-' or '.'"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && !valid_key(prefix) {
            return Err(format!("{text}: not a valid prefix: {prefix}"));
        }
        let mut endpoint = None;
        let mut region = DEFAULT_REGION.to_owned();
        let mut keep_alive = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("endpoint", v)) if v.starts_with("http://") || v.starts_with("https://") => {
                    endpoint = Some(v.trim_end_matches('/').to_owned())
                }
                Some(("region", v)) if !v.is_empty() => region = v.to_owned(),
                Some(("keep-alive", "true")) => keep_alive = true,
                Some(("keep-alive", "false")) => keep_alive = false,
                _ => {
                    return Err(format!(
                        "{text}: unknown setting {pair} (endpoint=http(s)://…, region=…, keep-alive=true|false)"
                    ))
                }
            }
        }
        Ok(Address {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            endpoint,
            region,
            keep_alive,
        })
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        if let Some(e) = &self.endpoint {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// A runtime that is shut down without waiting when dropped (a runtime dropped the ordinary way
/// inside another one's task panics).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    runtime: Runtime,
    address: Address,
    staging: PathBuf,
}

/// A bucket of an S3-compatible object store.
#[derive(Clone)]
pub struct Bucket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("address", &self.inner.address)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// The bucket at `address`, reached with `credentials`; files to upload are written in
    /// `staging` first (a folder on this machine). No request is made yet ([`Objects::check`]).
    pub fn open(
        address: &Address,
        credentials: &Credentials,
        staging: PathBuf,
    ) -> io::Result<Bucket> {
        std::fs::create_dir_all(&staging)?;
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&address.bucket)
            .with_region(&address.region)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(credentials.secret_access_key.as_str())
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_pool_max_idle_per_host(if address.keep_alive { 16 } else { 0 })
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            )
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..Default::default()
            });
        if let Some(endpoint) = &address.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(io::Error::other)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kyso-objects")
            .enable_all()
            .build()?;
        Ok(Bucket {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                runtime: Runtime(Some(runtime)),
                address: address.clone(),
                staging,
            }),
        })
    }

    pub fn address(&self) -> &Address {
        &self.inner.address
    }

    fn path(&self, key: &str) -> io::Result<ObjectPath> {
        if !valid_key(key) {
            return Err(super::bad_key(key));
        }
        ObjectPath::parse(format!("{}{key}", self.inner.address.prefix))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    /// Run `f` on the bucket's runtime and wait for it.
    fn block<T: Send + 'static>(
        &self,
        f: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        block(&self.inner, f)
    }
}

/// The bucket's runtime (gone only while it is being dropped).
fn runtime(inner: &Inner) -> io::Result<&tokio::runtime::Runtime> {
    inner
        .runtime
        .0
        .as_ref()
        .ok_or_else(|| io::Error::other("the object store's client has stopped"))
}

fn block<T: Send + 'static>(
    inner: &Inner,
    f: impl Future<Output = T> + Send + 'static,
) -> io::Result<T> {
    let rt = runtime(inner)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| io::Error::other("the object store's client has stopped"))
}

/// An upload left to do ([`Settle::run`]): `file` under `path`.
pub(super) struct Upload {
    inner: Arc<Inner>,
    path: ObjectPath,
    file: tempfile::NamedTempFile,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("path", &self.path).finish()
    }
}

impl Upload {
    /// Upload the file (one request, or parts), then remove it.
    pub(super) fn run(self) -> io::Result<()> {
        let size = self.file.as_file().metadata()?.len();
        let store = self.inner.store.clone();
        let path = self.path.clone();
        if size <= PART as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            self.file.reopen()?.read_to_end(&mut bytes)?;
            block(&self.inner, async move {
                store.put(&path, PutPayload::from(bytes)).await
            })??;
            return Ok(());
        }
        let mut reader = self.file.reopen()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<u8>>>(PARTS_IN_FLIGHT);
        let uploaded = {
            let store = store.clone();
            let path = path.clone();
            runtime(&self.inner)?.spawn(async move {
                let upload = store.put_multipart(&path).await?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
                loop {
                    let next = tokio::task::block_in_place(|| rx.recv());
                    match next {
                        Ok(Some(chunk)) => {
                            if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
                                let _ = w.abort().await;
                                return Err(e);
                            }
                            w.write(&chunk);
                        }
                        Ok(None) => return w.finish().await.map(drop),
                        Err(_) => {
                            let _ = w.abort().await;
                            return Err(object_store::Error::Generic {
                                store: "S3",
                                source: "the file's reader stopped".into(),
                            });
                        }
                    }
                }
            })
        };
        let mut sent = Ok(());
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(None);
                    break;
                }
                Ok(n) => {
                    if tx
                        .send(Some(buf.get(..n).unwrap_or_default().to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    sent = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let result = block(&self.inner, uploaded)?;
        sent?;
        result.map_err(io::Error::from)?.map_err(io::Error::from)
    }
}

/// The object's bytes, read as they arrive.
struct StreamReader {
    rx: std::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(Ok(b)) => self.current = b,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let head = self.current.split_to(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(&head);
        }
        Ok(n)
    }
}

impl Objects for Bucket {
    fn describe(&self) -> String {
        self.inner.address.to_string()
    }

    fn size(&self, key: &str) -> io::Result<Option<u64>> {
        let path = self.path(key)?;
        let store = self.inner.store.clone();
        match self.block(async move { store.head(&path).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn put(&self, key: &str, src: &mut dyn Read, expect: Option<&str>) -> io::Result<Copied> {
        let path = self.path(key)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.staging()?)?;
        let copied = {
            let mut out = io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut());
            let c = copy_hashing(src, &mut out)?;
            io::Write::flush(&mut out)?;
            c
        };
        if let Some(want) = expect {
            if copied.sha256 != want {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{key}: the bytes hash to {}, not {want}", copied.sha256),
                ));
            }
        }
        Upload {
            inner: self.inner.clone(),
            path,
            file: tmp,
        }
        .run()?;
        Ok(copied)
    }

    fn get(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        use futures_util::StreamExt as _;
        let path = self.path(key)?;
        let store = self.inner.store.clone();
        let got = self.block(async move { store.get(&path).await })??;
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        runtime(&self.inner)?.spawn(async move {
            let mut stream = got.into_stream();
            while let Some(item) = stream.next().await {
                let item = item.map_err(io::Error::from);
                let stop = item.is_err();
                if tokio::task::block_in_place(|| tx.send(item)).is_err() || stop {
                    break;
                }
            }
        });
        Ok(Box::new(StreamReader {
            rx,
            current: bytes::Bytes::new(),
        }))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let base = self.inner.address.prefix.clone();
        let full = if prefix.is_empty() {
            base.trim_end_matches('/').to_owned()
        } else {
            if !valid_key(prefix) {
                return Err(super::bad_key(prefix));
            }
            format!("{base}{prefix}")
        };
        let store = self.inner.store.clone();
        let listed = self.block(async move {
            let p = (!full.is_empty()).then(|| ObjectPath::from(full.as_str()));
            store.list_with_delimiter(p.as_ref()).await
        })??;
        let mut names: Vec<String> = listed
            .common_prefixes
            .iter()
            .chain(listed.objects.iter().map(|o| &o.location))
            .filter_map(|p| p.filename().map(str::to_owned))
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn place(&self, key: &str, file: tempfile::NamedTempFile) -> io::Result<Settle> {
        Ok(Settle(SettleInner::Upload(Upload {
            inner: self.inner.clone(),
            path: self.path(key)?,
            file,
        })))
    }

    /// A listing of the bucket's prefix: refused when the bucket does not exist or the key
    /// may not read it, failed when the store does not answer.
    fn check(&self) -> io::Result<()> {
        self.list("").map(drop)
    }

    fn staging(&self) -> io::Result<PathBuf> {
        Ok(self.inner.staging.clone())
    }

    fn readers(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_its_bucket_prefix_endpoint_and_region() {
        let a = Address::parse(
            "s3://kyso-blobs/province/archive?endpoint=http://127.0.0.1:3900/&region=vn-hue",
        )
        .unwrap();
        assert_eq!(a.bucket, "kyso-blobs");
        assert_eq!(a.prefix, "province/archive/");
        assert_eq!(a.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(a.region, "vn-hue");
        let b = Address::parse("s3://kyso-backups").unwrap();
        assert_eq!((b.prefix.as_str(), b.region.as_str()), ("", DEFAULT_REGION));
        assert!(!b.keep_alive);
        for bad in [
            "kyso-blobs",
            "s3://",
            "s3://UPPER",
            "s3://ok-bucket/../x",
            "s3://ok-bucket?secret=abc",
            "s3://ok-bucket?endpoint=ftp://x",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_come_in_two_lines_and_the_secret_is_never_printed() {
        let c = Credentials::parse("# garage key kyso\nGK31c2f218a2e44f485b94239e\n  s3cr3t \n")
            .unwrap();
        assert_eq!(c.access_key_id, "GK31c2f218a2e44f485b94239e");
        assert_eq!(c.secret_access_key.as_str(), "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(Credentials::parse("only-one-line").is_none());
        assert!(Credentials::parse("a\nb\nc").is_none());
    }
}
