//! Test certificates: an authority and a certificate it signed for the name `spate`,
//! written as PEM files.

use std::path::Path;

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir`: a fresh authority, and a
/// certificate for `spate` (and `localhost`) signed by it.
pub fn write_certs(dir: &Path) {
    std::fs::create_dir_all(dir).expect("certificate directory");
    let ca_key = rcgen::KeyPair::generate().expect("authority key");
    let mut ca_params =
        rcgen::CertificateParams::new(Vec::<String>::new()).expect("authority parameters");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "spate test authority");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("authority");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["spate".to_string(), "localhost".to_string()])
        .expect("parameters")
        .signed_by(&key, &ca)
        .expect("certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write cert.pem");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write key.pem");
}

/// The `spate.ssl.*` settings for the files of [`write_certs`] in `dir`.
pub fn ssl_settings(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("spate.ssl.enabled", "true".into()),
        (
            "spate.ssl.certFile",
            dir.join("cert.pem").display().to_string(),
        ),
        (
            "spate.ssl.keyFile",
            dir.join("key.pem").display().to_string(),
        ),
        (
            "spate.ssl.trustFile",
            dir.join("ca.pem").display().to_string(),
        ),
    ]
}
