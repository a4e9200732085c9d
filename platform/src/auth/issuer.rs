//! The token issuer: the one holder of a private signing key. `stack token` and the local
//! profile mint with it; services never load it (they verify with [`super::read_token`]).
//!
//! In production this is your identity provider's job; this issuer exists so that the demo,
//! the tests and `compare` can mint the same tokens an identity provider would.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};

use super::Reader;
use super::read_token::{CUSTOMER_TOKEN_AUDIENCE, Claims, DEFAULT_ISSUER, Role, SERVICE_TOKEN_AUDIENCE};

/// The local profile's signing key (PKCS#8, Ed25519). It is public, so it protects nothing:
/// compose and production generate their own with `stack keys`. A service that trusts it warns.
pub const DEV_ISSUER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEICnv30BS+JSG+ugWL7yxvcBy8BN6vktUHG9QL4eFfntG
-----END PRIVATE KEY-----
";

/// The key id of [`DEV_ISSUER_KEY_PEM`], so that a service can tell it trusts the dev key
/// without loading a private key.
pub const DEV_KID: &str = "C0Pfb8DiPVJgzHd1DYyqjmtHb959Rdsk4Grbn_K7tvw";

/// Mints read tokens with one Ed25519 private key.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    public_key: Vec<u8>,
    kid: String,
    issuer: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TokenIssuer").field("kid", &self.kid).field("issuer", &self.issuer).finish()
    }
}

impl TokenIssuer {
    /// The issuer of a PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem_text: &str, issuer: &str) -> anyhow::Result<Self> {
        let parsed = pem::parse(pem_text).map_err(|_| anyhow::anyhow!("the issuer key is not a pem file"))?;
        if parsed.tag() != "PRIVATE KEY" {
            anyhow::bail!("the issuer key must be a PKCS#8 private key (BEGIN PRIVATE KEY), not {}", parsed.tag());
        }
        Self::from_pkcs8(parsed.contents(), issuer)
    }

    fn from_pkcs8(der: &[u8], issuer: &str) -> anyhow::Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| anyhow::anyhow!("the issuer key is not an Ed25519 private key"))?;
        let public_key = pair.public_key().as_ref().to_vec();
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der),
            kid: thumbprint(&public_key),
            public_key,
            issuer: issuer.to_string(),
        })
    }

    /// A new random key: the issuer and its private key as PEM, to keep.
    pub fn generate(issuer: &str) -> anyhow::Result<(Self, String)> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
        let pem_text = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        Ok((Self::from_pkcs8(pkcs8.as_ref(), issuer)?, pem_text))
    }

    /// The local profile's issuer, with the public [`DEV_ISSUER_KEY_PEM`].
    pub fn dev() -> Self {
        Self::from_pem(DEV_ISSUER_KEY_PEM, DEFAULT_ISSUER)
            .unwrap_or_else(|error| panic!("the dev key is valid: {error}"))
    }

    /// The key id: the key's RFC 7638 thumbprint, so the same key always has the same id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public half, as one JWK.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(&self.public_key),
            }),
        }
    }

    /// A JWKS with this issuer's public key only.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.public_jwk()] }
    }

    /// A token for `reader`, for the services that serve it, valid from now for `ttl`.
    pub fn mint(&self, reader: &Reader, ttl: Duration) -> String {
        let audience: &[&str] = match reader {
            Reader::Service => &SERVICE_TOKEN_AUDIENCE,
            Reader::Customer(_) => &CUSTOMER_TOKEN_AUDIENCE,
        };
        self.mint_claims(&self.claims(reader, audience, ttl))
    }

    /// The claims [`Self::mint`] signs, for a caller that changes one of them (tests of refusals).
    pub fn claims(&self, reader: &Reader, audience: &[&str], ttl: Duration) -> Claims {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let (sub, role, customer_id) = match reader {
            Reader::Service => ("service".to_string(), Role::Service, None),
            Reader::Customer(id) => (format!("customer:{id}"), Role::Customer, Some(id.clone())),
        };
        Claims {
            iss: self.issuer.clone(),
            sub,
            aud: audience.iter().map(|name| name.to_string()).collect(),
            role,
            customer_id,
            nbf: now,
            iat: now,
            exp: now + ttl.as_secs(),
        }
    }

    pub fn mint_claims(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        // Ed25519 signing of a serializable struct with a valid key cannot fail
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}

/// RFC 7638: the SHA-256 of the key's required members in lexicographic order, base64url.
fn thumbprint(public_key: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public_key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The issuer's key, for the tools that mint (`stack`, `compare`): the local profile's public
/// dev key unless a key file is given.
#[derive(Clone, Debug, clap::Args)]
pub struct IssuerArgs {
    /// The issuer's Ed25519 private key (PKCS#8 PEM, from `stack keys`); the local profile's
    /// public dev key unless set.
    #[arg(long = "issuer-key", env = "JWT_ISSUER_KEY")]
    pub issuer_key: Option<PathBuf>,
    /// The issuer name written into every token (`iss`); services check it.
    #[arg(long = "jwt-issuer", env = "JWT_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: String,
}

impl IssuerArgs {
    pub fn dev() -> Self {
        Self { issuer_key: None, issuer: DEFAULT_ISSUER.to_string() }
    }

    pub async fn load(&self) -> anyhow::Result<TokenIssuer> {
        let Some(path) = &self.issuer_key else {
            let dev = TokenIssuer::dev();
            return Ok(TokenIssuer { issuer: self.issuer.clone(), ..dev });
        };
        let pem_text = tokio::fs::read_to_string(path)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read the issuer key {}: {error}", path.display()))?;
        TokenIssuer::from_pem(&pem_text, &self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthError;
    use crate::auth::read_token::{PublicKeys, TokenVerifier};

    fn verifier_of(issuer: &TokenIssuer, audience: &str) -> TokenVerifier {
        let keys = PublicKeys::from_jwks(&issuer.jwks()).expect("jwks");
        TokenVerifier::new(keys, DEFAULT_ISSUER, audience)
    }

    #[test]
    fn a_minted_token_verifies_as_its_reader_where_it_is_meant_to() {
        let issuer = TokenIssuer::dev();
        let customer = Reader::Customer("cust-7".to_string());
        let token = issuer.mint(&customer, Duration::from_secs(60));
        assert_eq!(verifier_of(&issuer, "order-history").verify(&token), Ok(customer));
        assert_eq!(verifier_of(&issuer, "order-svc").verify(&token), Err(AuthError::WrongAudience));
        let service = issuer.mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(verifier_of(&issuer, "order-svc").verify(&service), Ok(Reader::Service));
    }

    #[test]
    fn a_generated_key_round_trips_through_pem_and_keeps_its_kid() {
        let (issuer, pem_text) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        let reloaded = TokenIssuer::from_pem(&pem_text, DEFAULT_ISSUER).expect("pem");
        assert_eq!(issuer.kid(), reloaded.kid());
        assert_ne!(issuer.kid(), TokenIssuer::dev().kid());
        let token = reloaded.mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(verifier_of(&issuer, "composer").verify(&token), Ok(Reader::Service));
    }

    #[test]
    fn the_dev_kid_is_the_dev_keys() {
        assert_eq!(TokenIssuer::dev().kid(), DEV_KID);
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key
        let public_key = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").expect("base64");
        assert_eq!(thumbprint(&public_key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn a_key_that_is_not_an_ed25519_private_key_is_refused() {
        assert!(TokenIssuer::from_pem("not a pem", DEFAULT_ISSUER).is_err());
        let public_only = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAElcW6bTo0ewXLITzpP7OobdjZ8Hmvie3Mf3BlH1rmZo=\n-----END PUBLIC KEY-----\n";
        assert!(TokenIssuer::from_pem(public_only, DEFAULT_ISSUER).is_err());
    }
}
