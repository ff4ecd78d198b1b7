//! TLS for listeners: a certificate chain and private key (PEM) turned into a rustls
//! server configuration, and the channel binding a TLS connection offers.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::RouterError;

/// The label of RFC 9266's `tls-exporter` channel binding.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// What a TLS listener presents: its certificate chain and private key.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls(…)")
    }
}

impl ServerTls {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1) from files.
    pub fn from_pem_files(
        certificate: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, RouterError> {
        let (certificate, key) = (certificate.as_ref(), key.as_ref());
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| RouterError::Tls(format!("{}: {e}", path.display())))
        };
        let (cert_pem, key_pem) = (read(certificate)?, read(key)?);
        Self::from_pem(&cert_pem, &key_pem).map_err(|e| match e {
            RouterError::Tls(text) => RouterError::Tls(format!(
                "{} / {}: {text}",
                certificate.display(),
                key.display()
            )),
            other => other,
        })
    }

    /// Parses a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem(certificate: &[u8], key: &[u8]) -> Result<Self, RouterError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| RouterError::Tls(format!("{what}: {e}"));
        let chain = CertificateDer::pem_slice_iter(certificate)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("certificate", &e))?;
        if chain.is_empty() {
            return Err(RouterError::Tls("no certificate in the PEM data".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad("private key", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS versions", &e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| bad("certificate and key", &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::from_config(Arc::new(config)))
    }

    /// Uses a rustls server configuration as it is (client certificates, ALPN, …).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        Self { config }
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

/// The `tls-exporter` channel binding (RFC 9266) of an established TLS connection: 32
/// bytes both ends compute and nobody in the middle can.
pub(crate) fn channel_binding(conn: &rustls::ServerConnection) -> Option<[u8; 32]> {
    conn.export_keying_material([0u8; 32], EXPORTER_LABEL, None)
        .ok()
}
