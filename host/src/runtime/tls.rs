//! TLS for every listener (`--ssl`): the rustls server configuration built once at startup, and
//! the per-connection session the connection layer drives.
//!
//! With `--ssl-ca-file`, clients must present a certificate that chains to that CA and is valid
//! now (expired and not-yet-valid certificates are refused); without it, any client may connect.
//! A handshake that fails closes that one connection; the server keeps serving everyone else.

use crate::config::TlsFiles;
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use std::path::Path;
use std::sync::Arc;

/// Plaintext and TLS bytes rustls may hold per connection beyond our own output buffer.
const SESSION_BUFFER: usize = 64 * 1024;

/// The shared server side of TLS.
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// Loads the certificate, key and (optionally) the client CA; one-line errors.
    pub fn load(files: &TlsFiles) -> Result<TlsAcceptor, String> {
        let provider = Arc::new(ring::default_provider());
        let chain = certificates(&files.certificate)?;
        let key = PrivateKeyDer::from_pem_file(&files.key)
            .map_err(|e| format!("cannot load --ssl-key {}: {e}", files.key.display()))?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        let builder = match &files.ca_file {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("bad CA certificate in {}: {e}", ca.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| format!("cannot use --ssl-ca-file {}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| format!("certificate and key do not fit together: {e}"))?;
        Ok(TlsAcceptor {
            config: Arc::new(config),
        })
    }

    /// A session for a newly accepted connection.
    pub fn session(&self) -> Result<ServerConnection, rustls::Error> {
        let mut s = ServerConnection::new(Arc::clone(&self.config))?;
        s.set_buffer_limit(Some(SESSION_BUFFER));
        Ok(s)
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot load {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"no certificate in the file"));
    }
    Ok(certs)
}
