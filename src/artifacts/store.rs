//! Opening a store: which root is configured, the `object_store` client for
//! a root URI with credentials from the environment, where an object lives
//! in it, and store errors without secrets in them.
//!
//! Credentials and endpoints come from the variables each provider's own
//! tools read (object_store's `from_env` builders): `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` for S3 and S3-compatible
//! servers; `GOOGLE_APPLICATION_CREDENTIALS` / `GOOGLE_SERVICE_ACCOUNT` for
//! GCS; `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY` (or a SAS,
//! or a service principal) for Azure.

use super::{ArtifactError, Digest};
use object_store::ObjectStore;
use object_store::path::Path as Key;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Overrides `regent.yaml`'s `artifacts.root`.
pub const ROOT_ENV: &str = "REGENT_ARTIFACT_ROOT";

/// The store root in force, as a normalised URI (`s3://bucket/prefix`,
/// `file:///abs/folder`), or None when none is configured.
///
/// `env_root` (REGENT_ARTIFACT_ROOT) wins over `config_root`. A relative
/// folder in `regent.yaml` is relative to the registry folder (so the
/// setting means the same wherever the command runs); a relative folder in
/// the variable, to the current folder (as any path typed in a shell).
pub fn root_uri(
    env_root: Option<&str>,
    config_root: Option<&str>,
    registry_dir: &Path,
    cwd: &Path,
) -> Result<Option<String>, ArtifactError> {
    let (root, base) = match (env_root.filter(|r| !r.trim().is_empty()), config_root) {
        (Some(root), _) => (root, cwd),
        (None, Some(root)) => (root, registry_dir),
        (None, None) => return Ok(None),
    };
    normalise(root, base).map(Some)
}

/// A root as a URI: remote URIs without a trailing `/`, folders as
/// `file:///absolute/path`.
fn normalise(root: &str, base: &Path) -> Result<String, ArtifactError> {
    let bad = |reason: &str| ArtifactError::BadRoot {
        root: root.to_owned(),
        reason: reason.to_owned(),
    };
    if !crate::runs::is_uri(root) {
        let path = lexical_absolute(&base.join(root));
        return file_uri(&path).ok_or_else(|| bad("not a usable folder path"));
    }
    let url = url::Url::parse(root).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|()| bad("a file:// root must be an absolute local path"))?;
            file_uri(&lexical_absolute(&path)).ok_or_else(|| bad("not a usable folder path"))
        }
        "s3" | "gs" | "az" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(bad("name the bucket (container): s3://BUCKET/PREFIX"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad("a root has no ?query or #fragment"));
            }
            Ok(root.trim_end_matches('/').to_owned())
        }
        other => Err(bad(&format!(
            "{other}:// is not a supported store; use a local folder, file://, s3://, gs:// or az://"
        ))),
    }
}

/// `path` made absolute without touching the disk, `.` and `..` resolved
/// by name (the folder may not exist yet).
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn file_uri(path: &Path) -> Option<String> {
    url::Url::from_file_path(path)
        .ok()
        .map(|u| u.to_string().trim_end_matches('/').to_owned())
}

/// An open store and a location in it: the root's prefix, or an object.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// What a key is appended to for its URI: `s3://bucket/`, `file:///`.
    base: String,
    /// The location the store was opened at.
    pub prefix: Key,
    /// A local folder store (objects are files on this machine).
    pub local: bool,
}

impl Store {
    /// Opens the store a URI lives in, with `prefix` at the URI's path.
    /// Nothing is contacted yet: credentials are checked by the first request.
    pub fn open(uri: &str) -> Result<Store, ArtifactError> {
        let bad = |reason: String| ArtifactError::Invalid(format!("{uri}: {reason}"));
        let url = url::Url::parse(uri).map_err(|e| bad(e.to_string()))?;
        let scheme = url.scheme().to_owned();
        if scheme == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| bad("not an absolute local path".into()))?;
            let prefix = Key::from_absolute_path(&path).map_err(|e| bad(e.to_string()))?;
            // Durable before a commit records it: S3 and friends acknowledge
            // a write once it is stored, and so does a local folder with fsync.
            let inner = object_store::local::LocalFileSystem::new().with_fsync(true);
            return Ok(Store {
                inner: Arc::new(inner),
                base: "file:///".into(),
                prefix,
                local: true,
            });
        }
        let bucket = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no bucket (container) named".into()))?
            .to_owned();
        let prefix = Key::from_url_path(url.path()).map_err(|e| bad(e.to_string()))?;
        let bucket_url = format!("{scheme}://{bucket}");
        // object_store's HTTP client signs with ring and speaks TLS with
        // rustls; reqwest needs the provider installed (an error only means
        // it already is).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            // A wrong endpoint should fail in seconds, not the default minutes.
            max_retries: 4,
            retry_timeout: Duration::from_secs(60),
        };
        let built: Result<Arc<dyn ObjectStore>, object_store::Error> = match scheme.as_str() {
            "s3" => {
                let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok())
                    .unwrap_or_default();
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(&bucket_url)
                    .with_retry(retry);
                // An http:// endpoint (a server on the local network, a test
                // server) is plain HTTP by the user's own choice.
                if endpoint.starts_with("http://") {
                    builder = builder.with_allow_http(true);
                }
                builder.build().map(|s| Arc::new(s) as _)
            }
            "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(&bucket_url)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as _),
            "az" => object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(&bucket_url)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as _),
            other => {
                return Err(bad(format!(
                    "{other}:// is not a store regent can read; use s3://, gs://, az:// or file://"
                )));
            }
        };
        let inner = built.map_err(|e| ArtifactError::Store {
            what: "open the store at",
            uri: bucket_url.clone(),
            message: redact(&e.to_string()),
        })?;
        Ok(Store {
            inner,
            base: format!("{bucket_url}/"),
            prefix,
            local: false,
        })
    }

    pub fn inner(&self) -> &dyn ObjectStore {
        self.inner.as_ref()
    }

    /// Where a file with this digest lives: `<prefix>/sha256/<2 hex>/<hex>`.
    pub fn content_key(&self, digest: &Digest) -> Key {
        let hex = digest.hex();
        self.prefix.clone().join("sha256").join(&hex[..2]).join(hex)
    }

    pub fn uri(&self, key: &Key) -> String {
        format!("{}{}", self.base, key.as_ref())
    }

    /// Makes a local root's folder, so a new store needs no setup.
    pub fn create_local_root(&self) -> Result<(), ArtifactError> {
        if !self.local {
            return Ok(());
        }
        let path = PathBuf::from(format!("/{}", self.prefix.as_ref()));
        fs_err::create_dir_all(&path).map_err(|e| ArtifactError::io(&path, e))
    }

    /// A store error reading `key`: "not found" is [`ArtifactError::Missing`].
    pub fn error(&self, what: &'static str, key: &Key, e: object_store::Error) -> ArtifactError {
        match e {
            object_store::Error::NotFound { .. } => ArtifactError::Missing { uri: self.uri(key) },
            other => self.write_error(what, key, other),
        }
    }

    /// A store error writing `key`. A "not found" here is the bucket's
    /// (S3 answers a PUT into a missing bucket with 404), not the object's.
    pub fn write_error(
        &self,
        what: &'static str,
        key: &Key,
        e: object_store::Error,
    ) -> ArtifactError {
        ArtifactError::Store {
            what,
            uri: self.uri(key),
            message: redact(&e.to_string()),
        }
    }
}

/// For a URI in the content-addressed layout (`<root>/sha256/<2 hex>/<hex>`):
/// the root and the digest the name promises.
pub fn split_content_uri(uri: &str) -> Option<(String, Digest)> {
    let (rest, hex) = uri.rsplit_once('/')?;
    let (rest, fanout) = rest.rsplit_once('/')?;
    let root = rest.strip_suffix("/sha256")?;
    let digest = Digest::from_hex(hex)?;
    (fanout == &hex[..2]).then(|| (root.to_owned(), digest))
}

/// Runs store calls on a single-threaded runtime built for them: other
/// commands start without one (as `src/cli/github.rs` does for GitHub).
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, ArtifactError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ArtifactError::Invalid(format!("cannot start the I/O runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// `text` with the value of every credential variable in the environment
/// replaced by `***`. Store errors quote server responses, and S3's quote
/// the access key id (and the string that was signed) back.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for (key, value) in std::env::vars_os() {
        let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
            continue;
        };
        let provider = ["AWS_", "AZURE_", "GOOGLE_"]
            .iter()
            .any(|p| key.starts_with(p));
        let secret = ["KEY", "SECRET", "TOKEN", "SAS", "PASSWORD", "CREDENTIAL"]
            .iter()
            .any(|s| key.contains(s));
        // Short values would blank out ordinary words.
        if provider && secret && value.len() >= 6 {
            out = out.replace(value, "***");
        }
    }
    out
}

/// A hint for a store error, from what the server said.
pub fn hint_for(message: &str) -> Option<String> {
    let has = |words: &[&str]| words.iter().any(|w| message.contains(w));
    // The most specific first; status codes only as HTTP status text, since
    // a message also holds digests, request ids and timings ("in 4.0403ms").
    if has(&["NoSuchBucket", "ContainerNotFound"]) {
        Some("the bucket (container) does not exist: create it, or fix the root".into())
    } else if has(&[
        "403 Forbidden",
        "401 Unauthorized",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "AuthenticationFailed",
    ]) {
        Some(
            "check the store's credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and \
             AWS_SESSION_TOKEN) for s3://; GOOGLE_APPLICATION_CREDENTIALS for gs://; \
             AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY for az://"
                .into(),
        )
    } else if has(&[
        "error sending request",
        "Connect",
        "connection",
        "dns error",
    ]) {
        Some(
            "the store did not answer: check the root and, for S3-compatible servers, \
             AWS_ENDPOINT_URL"
                .into(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_read_status_text_not_digits_in_timings_or_digests() {
        let missing = "Error performing PUT http://127.0.0.1:1/b/x/sha256/9a/9a403 in 4.040364ms - \
                       Server returned non-2xx status code: 404 Not Found: <Code>NoSuchBucket</Code>";
        assert!(hint_for(missing).unwrap().contains("bucket"));
        let denied = "Server returned non-2xx status code: 403 Forbidden: <Code>SignatureDoesNotMatch</Code>";
        assert!(hint_for(denied).unwrap().contains("credentials"));
        let other = "Server returned non-2xx status code: 500 Internal Server Error in 4.0401ms";
        assert_eq!(hint_for(other), None);
    }

    #[test]
    fn roots_normalise_to_uris() {
        let registry = Path::new("/repo/ml");
        let cwd = Path::new("/home/ada/work");
        let root = |env: Option<&str>, config: Option<&str>| root_uri(env, config, registry, cwd);
        assert_eq!(root(None, None).unwrap(), None);
        assert_eq!(
            root(None, Some("s3://b/models/")).unwrap().as_deref(),
            Some("s3://b/models")
        );
        assert_eq!(
            root(None, Some("../store")).unwrap().as_deref(),
            Some("file:///repo/store")
        );
        assert_eq!(
            root(Some("st"), Some("s3://b")).unwrap().as_deref(),
            Some("file:///home/ada/work/st")
        );
        assert_eq!(
            root(None, Some("file:///srv/a b/")).unwrap().as_deref(),
            Some("file:///srv/a%20b")
        );
        for bad in ["http://x/y", "s3:///nobucket", "s3://b/p?x=1", "ftp://h/p"] {
            assert!(root(None, Some(bad)).is_err(), "{bad}");
        }
    }

    /// Opening contacts nothing (credentials are checked by the first
    /// request), so these run offline.
    #[test]
    fn cloud_roots_open_with_their_uris() {
        let digest = Digest::of(b"abc");
        for root in ["gs://bucket/team/models", "s3://bucket/team/models"] {
            let store = Store::open(root).unwrap();
            assert!(!store.local);
            assert_eq!(
                store.uri(&store.content_key(&digest)),
                format!("{root}/sha256/ba/{}", digest.hex())
            );
        }
        assert!(Store::open("ftp://host/x").is_err());
    }

    #[test]
    fn content_keys_fan_out_by_two_hex_digits() {
        let store = Store::open("file:///srv/store").unwrap();
        let digest = Digest::of(b"abc");
        let uri = store.uri(&store.content_key(&digest));
        assert_eq!(uri, format!("file:///srv/store/sha256/ba/{}", digest.hex()));
        assert_eq!(
            split_content_uri(&uri),
            Some(("file:///srv/store".to_owned(), digest.clone()))
        );
        let wrong_fanout = format!("s3://b/sha256/00/{}", digest.hex());
        assert_eq!(split_content_uri(&wrong_fanout), None);
        assert_eq!(split_content_uri("s3://b/model.pkl"), None);
    }
}
