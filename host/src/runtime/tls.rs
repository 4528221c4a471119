//! TLS for every listener (`--ssl`): the rustls server configuration built once at startup, and
//! the per-connection session the connection layer drives.
//!
//! With `--ssl-ca-file`, clients must present a certificate that chains to that CA and is valid
//! now (expired and not-yet-valid certificates are refused); without it, any client may connect.
//! A handshake that fails closes that one connection; the server keeps serving everyone else.

use crate::config::TlsFiles;
use rustls::crypto::ring;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up; startup stops with this line.
#[derive(Debug)]
pub enum TlsError {
    /// A certificate file could not be read.
    Load { path: PathBuf, source: pem::Error },
    /// A certificate file holds no certificate.
    NoCertificate(PathBuf),
    /// The `--ssl-key` file could not be read.
    Key { path: PathBuf, source: pem::Error },
    /// rustls refused its own defaults.
    Setup(rustls::Error),
    /// A certificate of the `--ssl-ca-file` is not usable as a root.
    BadCa {
        path: PathBuf,
        source: rustls::Error,
    },
    /// The `--ssl-ca-file` roots cannot verify clients.
    CaFile {
        path: PathBuf,
        source: VerifierBuilderError,
    },
    /// The certificate and the key are not a pair.
    Mismatch(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Load { path, source } => {
                write!(f, "cannot load {}: {source}", path.display())
            }
            TlsError::NoCertificate(path) => {
                write!(
                    f,
                    "cannot load {}: no certificate in the file",
                    path.display()
                )
            }
            TlsError::Key { path, source } => {
                write!(f, "cannot load --ssl-key {}: {source}", path.display())
            }
            TlsError::Setup(e) => write!(f, "TLS setup failed: {e}"),
            TlsError::BadCa { path, source } => {
                write!(f, "bad CA certificate in {}: {source}", path.display())
            }
            TlsError::CaFile { path, source } => {
                write!(f, "cannot use --ssl-ca-file {}: {source}", path.display())
            }
            TlsError::Mismatch(e) => write!(f, "certificate and key do not fit together: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

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
    pub fn load(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let chain = certificates(&files.certificate)?;
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|source| TlsError::Key {
            path: files.key.clone(),
            source,
        })?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let builder = match &files.ca_file {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots.add(cert).map_err(|source| TlsError::BadCa {
                        path: ca.clone(),
                        source,
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|source| TlsError::CaFile {
                        path: ca.clone(),
                        source,
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(TlsError::Mismatch)?;
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

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |source| TlsError::Load {
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(fail)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}
