//! `xmlsec1` (Debian package, installed by `.ci/run`) as an independent oracle: the
//! `signatures.xml` a security server stores is a standard XML-DSig signature (TT-2.2.2).

#![allow(clippy::unwrap_used)]

use std::process::Command;

use egov_pki::xades::{self, Signed};
use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};

fn xmlsec1(dir: &std::path::Path, document: &str) -> std::process::Output {
    std::fs::write(dir.join("signatures.xml"), document).unwrap();
    Command::new("xmlsec1")
        .arg("--verify")
        .args(["--trusted-pem", dir.join("ca.pem").to_str().unwrap()])
        .args(["--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"])
        .args(["--url-map:/sig-hashchainresult.xml", dir.join("sig-hashchainresult.xml").to_str().unwrap()])
        .arg(dir.join("signatures.xml"))
        .output()
        .expect("xmlsec1 is not installed (apt-get install xmlsec1; .ci/run does it)")
}

#[test]
fn xmlsec1_verifies_our_signatures_and_refuses_altered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.certificate_pem()).unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
    let cert = ca.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();

    let root = xades::sha256(b"a batch root");
    std::fs::write(dir.path().join("sig-hashchainresult.xml"), xades::hashchain_result(&root)).unwrap();
    let time = xades::signing_time(egov_pki::unix_now() * 1000);
    let cert_sha256 = egov_pki::cert_sha256(&cert);
    let signed =
        Signed { algorithm: KeyAlgorithm::EcdsaP256, root: &root, signing_time: &time, cert_sha256: &cert_sha256 };
    let value =
        xades::ecdsa_der_to_fixed(&key.signer().unwrap().sign(signed.signed_info().as_bytes()).unwrap()).unwrap();
    let document = signed.document(&value, &cert, Some(b"\x30\x03\x0a\x01\x00"));

    let ok = xmlsec1(dir.path(), &document);
    assert!(ok.status.success(), "xmlsec1 refused: {}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stderr).contains("OK"));

    // a changed signing time breaks the SignedProperties digest
    let altered = document.replace(&time, &xades::signing_time(egov_pki::unix_now() * 1000 + 1000));
    assert!(!xmlsec1(dir.path(), &altered).status.success());
    // a different batch root breaks the hash-chain reference
    std::fs::write(dir.path().join("sig-hashchainresult.xml"), xades::hashchain_result(&xades::sha256(b"other")))
        .unwrap();
    assert!(!xmlsec1(dir.path(), &document).status.success());
}
