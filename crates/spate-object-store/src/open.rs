//! From a checkpoint URL to an object store client and the root path inside it.
//!
//! The URL is recognised by `object_store`'s own parser ([`ObjectStoreScheme::parse`],
//! the one behind `parse_url_opts`); the client is that store's builder filled `from_env`
//! (the standard `AWS_*`, `GOOGLE_*`, `AZURE_*` variables), then this crate's timeouts and
//! retries, then [`StoreOptions::config`], then the URL (bucket or container).
//! `memory://` is one in-memory store shared by the whole process, so a context
//! recovering in the same process finds what the crashed one wrote.

use crate::error::{Error, Result};
use crate::options::StoreOptions;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreScheme};
use std::sync::{Arc, OnceLock};

/// A builder filled from the environment, with our timeouts (unless the environment
/// sets them), retries, the options' settings and the URL; built.
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
macro_rules! cloud_store {
    ($builder:ty, $key:ty, $env:literal, $location:expr, $options:expr) => {{
        use object_store::ClientConfigKey;
        let configure = |source| Error::Configure {
            url: $location.to_string(),
            source,
        };
        let mut b = <$builder>::from_env().with_retry(retry($options));
        for (client_key, d) in [
            (ClientConfigKey::ConnectTimeout, $options.connect_timeout),
            (ClientConfigKey::Timeout, $options.request_timeout),
        ] {
            let key = <$key>::Client(client_key);
            if !env_sets($env, &key) {
                b = b.with_config(key, format!("{}ms", d.as_millis()));
            }
        }
        for (k, v) in &$options.config {
            let key: $key = k.to_ascii_lowercase().parse().map_err(configure)?;
            b = b.with_config(key, v.clone());
        }
        let store = b.with_url($location).build().map_err(configure)?;
        Ok(Arc::new(store) as Arc<dyn ObjectStore>)
    }};
}

/// The URL schemes this build can open (those of its compiled-in features).
pub const SCHEMES: &[&str] = &[
    #[cfg(feature = "aws")]
    "s3",
    #[cfg(feature = "aws")]
    "s3a",
    #[cfg(feature = "gcp")]
    "gs",
    #[cfg(feature = "azure")]
    "az",
    #[cfg(feature = "azure")]
    "adl",
    #[cfg(feature = "azure")]
    "azure",
    #[cfg(feature = "azure")]
    "abfs",
    #[cfg(feature = "azure")]
    "abfss",
    "memory",
];

/// The process's in-memory store, behind every `memory://` URL.
fn memory() -> Arc<dyn ObjectStore> {
    static MEMORY: OnceLock<Arc<InMemory>> = OnceLock::new();
    MEMORY.get_or_init(|| Arc::new(InMemory::new())).clone()
}

/// The client and root path of `location`.
pub(crate) fn client(
    location: &str,
    options: &StoreOptions,
) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let bad = |reason: String| Error::Url {
        url: location.to_string(),
        reason,
    };
    let url = url::Url::parse(location).map_err(|e| bad(e.to_string()))?;
    if url.scheme().eq_ignore_ascii_case("memory") {
        // `memory://a/b` and `memory:///a/b` both mean the path `a/b`.
        let path = location
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let root = Path::parse(path.trim_matches('/')).map_err(|source| Error::Name {
            url: location.to_string(),
            name: path.to_string(),
            source,
        })?;
        return Ok((memory(), root));
    }
    let (scheme, root) = ObjectStoreScheme::parse(&url).map_err(|e| {
        bad(format!(
            "{e}; expected scheme://bucket/path with a scheme among {}",
            SCHEMES.join(", ")
        ))
    })?;
    let store = cloud(scheme, location, options)?;
    Ok((store, root))
}

/// The client of a cloud store.
fn cloud(
    scheme: ObjectStoreScheme,
    location: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn ObjectStore>> {
    let _ = options;
    match scheme {
        #[cfg(feature = "aws")]
        ObjectStoreScheme::AmazonS3 => cloud_store!(
            object_store::aws::AmazonS3Builder,
            object_store::aws::AmazonS3ConfigKey,
            "AWS_",
            location,
            options
        ),
        #[cfg(feature = "gcp")]
        ObjectStoreScheme::GoogleCloudStorage => cloud_store!(
            object_store::gcp::GoogleCloudStorageBuilder,
            object_store::gcp::GoogleConfigKey,
            "GOOGLE_",
            location,
            options
        ),
        #[cfg(feature = "azure")]
        ObjectStoreScheme::MicrosoftAzure => cloud_store!(
            object_store::azure::MicrosoftAzureBuilder,
            object_store::azure::AzureConfigKey,
            "AZURE_",
            location,
            options
        ),
        other => Err(Error::Url {
            url: location.to_string(),
            reason: format!(
                "{other:?} is not among the stores compiled into this program ({}); \
                 see spate-object-store's features `aws`, `gcp` and `azure`",
                SCHEMES.join(", ")
            ),
        }),
    }
}

/// Whether an environment variable `PREFIX...` sets `key` (so our default must not).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn env_sets<K: std::str::FromStr + PartialEq>(prefix: &str, key: &K) -> bool {
    std::env::vars_os().any(|(k, _)| {
        k.to_str().is_some_and(|k| {
            k.starts_with(prefix) && k.to_ascii_lowercase().parse::<K>().is_ok_and(|p| &p == key)
        })
    })
}

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn retry(options: &StoreOptions) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: options.initial_backoff,
            max_backoff: std::time::Duration::from_secs(1).max(options.initial_backoff),
            ..Default::default()
        },
        max_retries: options.max_retries,
        retry_timeout: options.retry_timeout,
    }
}
