//! TLS for Lectern's outgoing WebSockets (the Realtime API, LiveKit's agent
//! endpoint): ring as the provider and the webpki roots, so no system
//! certificate store or OpenSSL is needed. Built once per process.

use std::sync::Arc;

/// The client configuration every outgoing `wss://` connection uses.
pub(crate) fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}
