//! The tokens of tests: one issuer whose public key every test service trusts, and the static
//! write and admin tokens test services are started with.

use std::path::PathBuf;
use std::sync::OnceLock;

use platform::auth::issuer::TokenIssuer;
use platform::auth::read_token::DEFAULT_ISSUER;
use platform::auth::{ReadAuthArgs, Reader};

/// The credentials test services are started with.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token";
pub const TEST_WRITE_TOKEN: &str = "test-write-token";
/// The test token issuer's private key, as the body of its PEM: a secret no log or answer
/// may show.
pub const TEST_ISSUER_KEY_BODY: &str = "MC4CAQAwBQYDK2VwBCIEIEUcX8eQg1XSTlV7GSzds/V4kIirMsF/6F61LMOG3qSx";

/// The issuer of every test token (Ed25519), whose public key test services trust.
pub fn test_issuer() -> TokenIssuer {
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{TEST_ISSUER_KEY_BODY}\n-----END PRIVATE KEY-----\n");
    TokenIssuer::from_pem(&pem, DEFAULT_ISSUER).expect("the test issuer key is an Ed25519 key")
}

/// A read token for services, from [`test_issuer`].
pub fn service_token() -> String {
    test_issuer().mint(&Reader::Service, std::time::Duration::from_secs(3600))
}

/// A read token for one customer, from [`test_issuer`].
pub fn customer_token(customer_id: &str) -> String {
    test_issuer().mint(&Reader::Customer(customer_id.to_string()), std::time::Duration::from_secs(3600))
}

/// The read-token configuration of test services: [`test_issuer`]'s public key, in a JWKS file.
pub fn test_read_auth() -> ReadAuthArgs {
    ReadAuthArgs::new(test_jwks_file())
}

/// A JWKS file with [`test_issuer`]'s public key, written once per process. Its name holds the
/// key's id, so every test process writes the same content to the same file; it is written
/// under another name and renamed, so no reader ever sees half of it.
pub fn test_jwks_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let issuer = test_issuer();
        let path = std::env::temp_dir().join(format!("order-history-test-jwks-{}.json", issuer.kid()));
        let partial = path.with_extension(format!("{}.partial", std::process::id()));
        let json = serde_json::to_vec(&issuer.jwks()).expect("a jwks serializes");
        std::fs::write(&partial, json).expect("write the test jwks");
        std::fs::rename(&partial, &path).expect("move the test jwks into place");
        path
    })
    .clone()
}
