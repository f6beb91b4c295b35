//! Optional TLS between the processes of an application (`spate.ssl.*`): rustls through
//! tonic, authenticated both ways — each process presents its certificate, and accepts
//! only peers whose certificate the application's authority signed.

use crate::Error;
use spate_core::conf::SpateConf;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// The TLS settings of one process.
#[derive(Clone)]
pub(crate) struct Tls {
    server: ServerTlsConfig,
    client: ClientTlsConfig,
}

impl Tls {
    /// `spate.ssl.*` of `conf`: `None` when `spate.ssl.enabled` is not set; an error naming
    /// the key and the file when one is missing or unreadable.
    pub(crate) fn from_conf(conf: &SpateConf) -> Result<Option<Tls>, Error> {
        let bad = |reason: String| Error::Address {
            address: "spate.ssl".into(),
            reason,
        };
        if !conf
            .get_bool("spate.ssl.enabled")
            .map_err(|e| bad(e.to_string()))?
        {
            return Ok(None);
        }
        let read = |key: &str| -> Result<Vec<u8>, Error> {
            let path = conf
                .get_raw(key)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| bad(format!("spate.ssl.enabled is true but `{key}` is not set")))?;
            std::fs::read(path).map_err(|source| Error::Io {
                what: format!("reading `{key}` = {path}"),
                source,
            })
        };
        // Ring, explicitly (with both of rustls's providers compiled in, it picks none);
        // a provider installed earlier by the application stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = read("spate.ssl.certFile")?;
        let key = read("spate.ssl.keyFile")?;
        let trust = read("spate.ssl.trustFile")?;
        for (name, pem) in [
            ("spate.ssl.certFile", &cert),
            ("spate.ssl.keyFile", &key),
            ("spate.ssl.trustFile", &trust),
        ] {
            if !pem.starts_with(b"-----BEGIN")
                && !String::from_utf8_lossy(pem).contains("-----BEGIN")
            {
                return Err(bad(format!("`{name}` is not a PEM file")));
            }
        }
        let server_name = conf
            .get_raw("spate.ssl.serverName")
            .filter(|n| !n.is_empty())
            .unwrap_or("spate")
            .to_string();
        let identity = Identity::from_pem(&cert, &key);
        let authority = Certificate::from_pem(&trust);
        Ok(Some(Tls {
            server: ServerTlsConfig::new()
                .identity(identity.clone())
                .client_ca_root(authority.clone()),
            client: ClientTlsConfig::new()
                .identity(identity)
                .ca_certificate(authority)
                .domain_name(server_name),
        }))
    }
}

/// The scheme of the URLs processes reach each other at.
pub(crate) fn scheme(tls: &Option<Tls>) -> &'static str {
    if tls.is_some() {
        "https"
    } else {
        "http"
    }
}

/// A server builder, with TLS when set.
pub(crate) fn server(tls: &Option<Tls>) -> Result<tonic::transport::Server, Error> {
    let builder = tonic::transport::Server::builder();
    match tls {
        Some(t) => builder
            .tls_config(t.server.clone())
            .map_err(|e| Error::Address {
                address: "spate.ssl".into(),
                reason: format!("the TLS settings are not usable: {e}"),
            }),
        None => Ok(builder),
    }
}

/// `endpoint` with TLS when set.
pub(crate) fn endpoint(
    endpoint: tonic::transport::Endpoint,
    tls: &Option<Tls>,
) -> Result<tonic::transport::Endpoint, Error> {
    match tls {
        Some(t) => {
            let uri = endpoint.uri().to_string();
            endpoint
                .tls_config(t.client.clone())
                .map_err(|e| Error::Address {
                    address: uri,
                    reason: format!("the TLS settings are not usable: {e}"),
                })
        }
        None => Ok(endpoint),
    }
}
