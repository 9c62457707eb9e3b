//! TLS to the server, as the connection string's `sslmode` asks (SPEC §15), with libpq's
//! meanings: `disable` (plain), `prefer` (the default: encrypted when the server offers it,
//! unverified), `require` (encrypted, unverified), `verify-ca` (the certificate chains to a
//! trusted root) and `verify-full` (that, and it names the host). The roots are the CA file
//! `sslrootcert=` names, or else the Mozilla roots pitwall carries (the same its mail and
//! webhook TLS trusts).
//!
//! The `postgres` client reads `sslmode` itself but knows only `disable`, `prefer` and
//! `require`, so the two verifying modes and `sslrootcert` are taken out of the string here
//! before it sees it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing: encrypted against eavesdroppers, not against a server pretending.
    Nothing,
    /// The chain to a trusted root, whatever host it names.
    Chain,
    /// The chain, and that it names the host connected to.
    ChainAndHost,
}

/// A connection string with pitwall's TLS settings taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// What the `postgres` client reads (the verifying modes turned into `require`).
    pub url: String,
    pub verify: Verify,
    /// `sslrootcert=`: the CA file to trust instead of the built-in roots.
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode=verify-ca|verify-full` and `sslrootcert=` out of `url` (a `postgres://` URL
/// or `key=value` words), leaving anything else (other modes included, and any value the client
/// refuses) for the client to read.
pub fn settings(url: &str) -> Settings {
    let mut verify = Verify::Nothing;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Option<String> {
        match (key, value) {
            ("sslmode", "verify-full") => verify = Verify::ChainAndHost,
            ("sslmode", "verify-ca") => verify = Verify::Chain,
            ("sslrootcert", path) => {
                root_cert = Some(PathBuf::from(percent_decoded(path)));
                return None;
            }
            _ => return Some(format!("{key}={value}")),
        }
        Some(format!("{key}=require"))
    };
    let url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<String> = query
                    .split('&')
                    .filter(|pair| !pair.is_empty())
                    .filter_map(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        take(key, value)
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        url.split_whitespace()
            .filter_map(|word| match word.split_once('=') {
                Some((key, value)) => take(key, value),
                None => Some(word.to_string()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    Settings {
        url,
        verify,
        root_cert,
    }
}

/// `%2F` and friends in a URL's value, as the client itself decodes them.
fn percent_decoded(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map_or_else(|| value.to_string(), |(_, v)| v.into_owned())
}

/// Why `url`'s TLS settings cannot work, said before connecting: a CA file that cannot be read
/// or holds no certificate.
pub fn problem(url: &str) -> Option<String> {
    let settings = settings(url);
    let path = settings.root_cert.as_deref()?;
    roots_from(path).err()
}

fn roots_from(path: &Path) -> Result<RootCertStore, String> {
    let unreadable = |why: String| {
        format!(
            "cannot use the CA file {} (sslrootcert): {why}",
            path.display()
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(e.to_string()))? {
        let cert = cert.map_err(|e| unreadable(e.to_string()))?;
        roots.add(cert).map_err(|e| unreadable(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(unreadable("it holds no certificate".into()));
    }
    Ok(roots)
}

/// The client's TLS for `settings`. A CA file that went bad since [`problem`] looked leaves no
/// root trusted: the handshake then fails, and says so.
pub fn connector(settings: &Settings) -> MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match settings.verify {
        Verify::Nothing => Arc::new(Unverified(provider.signature_verification_algorithms)),
        Verify::Chain | Verify::ChainAndHost => {
            let roots = match &settings.root_cert {
                Some(path) => roots_from(path).unwrap_or_else(|why| {
                    tracing::error!(%why, "no CA trusted for the database server");
                    RootCertStore::empty()
                }),
                None => RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
            };
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_or_else(
                        |e| {
                            tracing::error!(error = %e, "no CA trusted for the database server");
                            Arc::new(Refused(provider.signature_verification_algorithms))
                                as Arc<dyn ServerCertVerifier>
                        },
                        |v| v as Arc<dyn ServerCertVerifier>,
                    );
            if settings.verify == Verify::Chain {
                Arc::new(AnyHost(webpki))
            } else {
                webpki
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls's default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

/// `require` and `prefer`: any certificate, but the handshake itself still proves the server
/// holds the key of the one it sent.
#[derive(Debug)]
struct Unverified(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Trusts nothing (no usable root): every certificate is refused.
#[derive(Debug)]
struct Refused(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Refused {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca`: the full check, forgiving only a certificate that names another host.
#[derive(Debug)]
struct AnyHost(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for AnyHost {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // The name is checked only after the chain held.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifying_modes_and_the_ca_file_are_taken_out_of_the_string() {
        let s =
            settings("postgres://ann@db:5432/pw?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(s.url, "postgres://ann@db:5432/pw?sslmode=require");
        assert_eq!(s.verify, Verify::ChainAndHost);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        let s = settings("postgresql://db/pw?application_name=x&sslmode=verify-ca");
        assert_eq!(
            s.url,
            "postgresql://db/pw?application_name=x&sslmode=require"
        );
        assert_eq!(s.verify, Verify::Chain);
        let s = settings("postgres://db/pw?sslmode=require");
        assert_eq!(s.url, "postgres://db/pw?sslmode=require");
        assert_eq!(s.verify, Verify::Nothing);
        let s = settings("host=db user=ann sslmode=verify-full sslrootcert=/ca.pem");
        assert_eq!(s.url, "host=db user=ann sslmode=require");
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        // A mode the client does not know stays for it to refuse, by name.
        let s = settings("postgres://db/pw?sslmode=sometimes");
        assert_eq!(s.url, "postgres://db/pw?sslmode=sometimes");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_empty_is_named_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let why = problem(&format!(
            "postgres://db/pw?sslmode=verify-full&sslrootcert={}",
            empty.display()
        ))
        .unwrap();
        assert!(why.contains("holds no certificate"), "{why}");
        let why = problem("postgres://db/pw?sslmode=verify-full&sslrootcert=/no/such.pem").unwrap();
        assert!(why.contains("/no/such.pem"), "{why}");
        assert_eq!(problem("postgres://db/pw?sslmode=require"), None);
    }
}
