//! Read tokens: JWTs signed with Ed25519 (`EdDSA`) by one issuer, and verified by every service
//! with the issuer's **public** keys only, from a JWKS file.
//!
//! A service never holds a key that can sign, so the compromise of one service does not let an
//! attacker mint tokens for the others. Every token names its issuer (`iss`), the services it is
//! for (`aud`), when it starts to be valid (`nbf`) and when it stops (`exp`); a service checks
//! all four, and that its own name is among the audiences. The key that signed it is named by
//! `kid`, so a JWKS can hold the old and the new key while keys rotate (docs/security.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, Reader};

/// The issuer every token must name unless configured otherwise (`JWT_ISSUER`).
pub const DEFAULT_ISSUER: &str = "order-history-demo";

/// How often a service looks at its JWKS file for new keys.
pub const JWKS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// The services a service token is for: every API that serves reads.
pub const SERVICE_TOKEN_AUDIENCE: [&str; 5] = ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer"];

/// The services a customer token is for: the two designs that serve a customer's order history.
/// The source services' read APIs serve services only.
pub const CUSTOMER_TOKEN_AUDIENCE: [&str; 2] = ["order-history", "composer"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Service,
}

/// The claims of a read token, as the issuer writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Seconds since the epoch.
    pub nbf: u64,
    pub iat: u64,
    pub exp: u64,
}

/// What a service reads from a verified token; the registered claims are checked by
/// [`Validation`] from the raw token, whatever their form (`aud` may be a string or a list).
#[derive(Deserialize)]
struct ReaderClaims {
    role: Role,
    #[serde(default)]
    customer_id: Option<String>,
    exp: u64,
}

/// Why a JWKS cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the jwks file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the jwks is not a json web key set: {0}")]
    NotAKeySet(serde_json::Error),
    #[error("the jwks holds no key")]
    Empty,
    #[error("a jwks key has no kid: every key needs one, for rotation")]
    MissingKid,
    #[error("jwks key {0} is not an Ed25519 signing key (kty OKP, crv Ed25519, alg EdDSA)")]
    NotEd25519(String),
    #[error("jwks key {0} appears twice")]
    DuplicateKid(String),
}

/// The issuer's public keys, by key id.
#[derive(Clone)]
pub struct PublicKeys {
    by_kid: HashMap<String, DecodingKey>,
}

impl PublicKeys {
    /// Parses a JWKS (`{"keys": [...]}`) of Ed25519 public keys, each with a `kid`.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, JwksError> {
        let set: JwkSet = serde_json::from_slice(json).map_err(JwksError::NotAKeySet)?;
        Self::from_jwks(&set)
    }

    pub fn from_jwks(set: &JwkSet) -> Result<Self, JwksError> {
        if set.keys.is_empty() {
            return Err(JwksError::Empty);
        }
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().filter(|kid| !kid.is_empty()).ok_or(JwksError::MissingKid)?;
            let AlgorithmParameters::OctetKeyPair(parameters) = &jwk.algorithm else {
                return Err(JwksError::NotEd25519(kid));
            };
            let algorithm_fits = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::EdDSA));
            let use_fits = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
            if parameters.curve != EllipticCurve::Ed25519 || !algorithm_fits || !use_fits {
                return Err(JwksError::NotEd25519(kid));
            }
            let key = DecodingKey::from_ed_components(&parameters.x).map_err(|_| JwksError::NotEd25519(kid.clone()))?;
            if by_kid.insert(kid.clone(), key).is_some() {
                return Err(JwksError::DuplicateKid(kid));
            }
        }
        Ok(Self { by_kid })
    }

    pub async fn from_file(path: &Path) -> Result<Self, JwksError> {
        let json =
            tokio::fs::read(path).await.map_err(|source| JwksError::Read { path: path.to_path_buf(), source })?;
        Self::from_jwks_json(&json)
    }

    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.by_kid.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }

    pub fn holds(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }
}

/// Seconds of clock skew allowed on `nbf` and `exp`.
const LEEWAY_SECS: u64 = 30;

/// The most verified tokens remembered per key set; when full, they are all forgotten.
const MAX_VERIFIED_TOKENS: usize = 10_000;

/// Verifies read tokens for one service: signed by one of the issuer's keys, from that issuer,
/// for this service, and valid now.
///
/// An Ed25519 signature costs about 40 µs to verify, as much as the rest of a GET by id, and a
/// caller sends the same token with every request until it expires. So a token that verified
/// is remembered with its expiry, and a later request with it costs a hash lookup. Only tokens
/// that verified are remembered, so garbage cannot fill the memory; and they are remembered per
/// key set, so a key removed from the JWKS revokes its tokens as soon as the file is re-read.
pub struct TokenVerifier {
    state: RwLock<Arc<KeyState>>,
    validation: Validation,
}

/// A key set and the tokens verified with it.
struct KeyState {
    keys: PublicKeys,
    verified: Mutex<HashMap<String, VerifiedToken>>,
}

impl KeyState {
    fn new(keys: PublicKeys) -> Self {
        Self { keys, verified: Mutex::new(HashMap::new()) }
    }
}

/// A token whose signature and claims were checked: what it grants, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
struct VerifiedToken {
    reader: Reader,
    exp: u64,
}

impl VerifiedToken {
    /// Its reader at `now` (seconds since the epoch), unless it has expired since; `nbf` passed
    /// when it was verified and stays passed.
    fn reader_at(&self, now: u64) -> Result<Reader, AuthError> {
        if now > self.exp.saturating_add(LEEWAY_SECS) {
            return Err(AuthError::Expired);
        }
        Ok(self.reader.clone())
    }
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TokenVerifier").field("kids", &self.current_state().keys.kids()).finish()
    }
}

impl TokenVerifier {
    /// `audience` is this service's name: a token must list it in `aud`.
    pub fn new(keys: PublicKeys, issuer: &str, audience: &str) -> Self {
        // one algorithm only: a token cannot choose HMAC with the public key as its secret, or `none`
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self { state: RwLock::new(Arc::new(KeyState::new(keys))), validation }
    }

    fn current_state(&self) -> Arc<KeyState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Swaps in a new key set, as when the JWKS file changes during a rotation; the tokens
    /// verified with the old set must verify again.
    pub fn replace_keys(&self, keys: PublicKeys) {
        *self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(KeyState::new(keys));
    }

    pub fn holds_key(&self, kid: &str) -> bool {
        self.current_state().keys.holds(kid)
    }

    pub fn verify(&self, token: &str) -> Result<Reader, AuthError> {
        let state = self.current_state();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let remembered = state.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(token).cloned();
        if let Some(verified) = remembered {
            return verified.reader_at(now);
        }
        let verified = self.verify_signature_and_claims(&state.keys, token)?;
        let reader = verified.reader_at(now)?;
        let mut remembered = state.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if remembered.len() >= MAX_VERIFIED_TOKENS {
            remembered.clear();
        }
        remembered.insert(token.to_string(), verified);
        Ok(reader)
    }

    fn verify_signature_and_claims(&self, keys: &PublicKeys, token: &str) -> Result<VerifiedToken, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        let key = keys.by_kid.get(&kid).ok_or(AuthError::UnknownKey)?;
        let data = jsonwebtoken::decode::<ReaderClaims>(token, key, &self.validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                _ => AuthError::Invalid,
            }
        })?;
        let reader = match (data.claims.role, data.claims.customer_id) {
            (Role::Service, _) => Reader::Service,
            (Role::Customer, Some(customer_id)) if !customer_id.trim().is_empty() => Reader::Customer(customer_id),
            (Role::Customer, _) => return Err(AuthError::Invalid),
        };
        Ok(VerifiedToken { reader, exp: data.claims.exp })
    }
}

/// What one look at the JWKS file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwksReload {
    Unchanged,
    Applied,
    /// The file could not be read, or holds no usable key set: the current keys stay.
    Refused,
}

/// Re-reads `path` every `every` and swaps in its keys when they change, until the verifier is
/// dropped.
pub async fn reload_jwks_file(verifier: Weak<TokenVerifier>, path: PathBuf, every: Duration) {
    let mut last_seen = tokio::fs::read(&path).await.ok();
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(verifier) = verifier.upgrade() else { return };
        reload_jwks_once(&verifier, &path, &mut last_seen).await;
    }
}

/// Swaps in the keys of `path` if its content differs from `last_seen`. A file that cannot be
/// read or parsed leaves the current keys in place: a half-written file must not lock everyone
/// out.
pub async fn reload_jwks_once(verifier: &TokenVerifier, path: &Path, last_seen: &mut Option<Vec<u8>>) -> JwksReload {
    let json = match tokio::fs::read(path).await {
        Ok(json) => json,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot re-read the jwks file; keeping the current keys");
            return JwksReload::Refused;
        }
    };
    if last_seen.as_deref() == Some(json.as_slice()) {
        return JwksReload::Unchanged;
    }
    match PublicKeys::from_jwks_json(&json) {
        Ok(keys) => {
            tracing::info!(path = %path.display(), kids = ?keys.kids(), "jwks reloaded");
            verifier.replace_keys(keys);
            *last_seen = Some(json);
            JwksReload::Applied
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the jwks file changed to something unusable; keeping the current keys");
            JwksReload::Refused
        }
    }
}

/// The read-token configuration of every service that verifies read tokens.
#[derive(Clone, Debug, clap::Args)]
pub struct ReadAuthArgs {
    /// The issuer's public keys (a JWKS of Ed25519 keys, each with a `kid`) that verify read
    /// tokens; required to serve. Re-read every 10 s, so keys rotate without a restart.
    #[arg(long = "jwks-file", env = "JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// The issuer (`iss`) every read token must name.
    #[arg(long = "jwt-issuer", env = "JWT_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: String,
    /// The audience (`aud`) a read token must list to be accepted here; the service's own name
    /// unless set.
    #[arg(long = "jwt-audience", env = "JWT_AUDIENCE")]
    pub audience: Option<String>,
}

impl ReadAuthArgs {
    pub fn new(jwks_file: impl Into<PathBuf>) -> Self {
        Self { jwks_file: Some(jwks_file.into()), issuer: DEFAULT_ISSUER.to_string(), audience: None }
    }

    /// Loads the keys and starts watching the file; `service` is the default audience.
    pub async fn verifier(&self, service: &str) -> anyhow::Result<Arc<TokenVerifier>> {
        let Some(path) = &self.jwks_file else {
            anyhow::bail!("no jwks configured: set JWKS_FILE to the token issuer's public keys (docs/security.md)");
        };
        let keys = PublicKeys::from_file(path).await?;
        if keys.holds(super::issuer::DEV_KID) {
            tracing::warn!(
                credential = "jwks",
                "trusting the local profile's public dev signing key; never in production"
            );
        }
        let audience = self.audience.as_deref().unwrap_or(service);
        let verifier = Arc::new(TokenVerifier::new(keys, &self.issuer, audience));
        tokio::spawn(reload_jwks_file(Arc::downgrade(&verifier), path.clone(), JWKS_RELOAD_INTERVAL));
        Ok(verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::issuer::TokenIssuer;

    #[test]
    fn a_remembered_token_expires_as_a_verified_one_would() {
        let verified = VerifiedToken { reader: Reader::Service, exp: 1_000 };
        assert_eq!(verified.reader_at(1_000), Ok(Reader::Service));
        assert_eq!(verified.reader_at(1_000 + LEEWAY_SECS), Ok(Reader::Service));
        assert_eq!(verified.reader_at(1_001 + LEEWAY_SECS), Err(AuthError::Expired));
    }

    #[test]
    fn a_remembered_token_is_forgotten_when_its_key_is_removed() {
        let current = TokenIssuer::dev();
        let verifier =
            TokenVerifier::new(PublicKeys::from_jwks(&current.jwks()).expect("jwks"), DEFAULT_ISSUER, "composer");
        let token = current.mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(verifier.verify(&token), Ok(Reader::Service));
        assert_eq!(verifier.verify(&token), Ok(Reader::Service), "a second time, from memory");
        let (next, _) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        verifier.replace_keys(PublicKeys::from_jwks(&next.jwks()).expect("jwks"));
        assert_eq!(verifier.verify(&token), Err(AuthError::UnknownKey));
    }

    #[tokio::test]
    async fn a_changed_jwks_file_is_applied_and_an_unusable_one_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwks.json");
        let current = TokenIssuer::dev();
        let (next, _) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        tokio::fs::write(&path, serde_json::to_vec(&current.jwks()).expect("json")).await.expect("write");
        let verifier = ReadAuthArgs::new(&path).verifier("order-svc").await.expect("verifier");
        let current_token = current.mint(&Reader::Service, Duration::from_secs(60));
        let next_token = next.mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(verifier.verify(&next_token), Err(AuthError::UnknownKey));
        let mut last_seen = Some(tokio::fs::read(&path).await.expect("read"));

        assert_eq!(reload_jwks_once(&verifier, &path, &mut last_seen).await, JwksReload::Unchanged);
        // a writer that truncated the file and has not written it yet
        tokio::fs::write(&path, b"").await.expect("write");
        assert_eq!(reload_jwks_once(&verifier, &path, &mut last_seen).await, JwksReload::Refused);
        assert_eq!(verifier.verify(&current_token), Ok(Reader::Service));

        let both = JwkSet { keys: vec![current.public_jwk(), next.public_jwk()] };
        tokio::fs::write(&path, serde_json::to_vec(&both).expect("json")).await.expect("write");
        assert_eq!(reload_jwks_once(&verifier, &path, &mut last_seen).await, JwksReload::Applied);
        assert_eq!(verifier.verify(&current_token), Ok(Reader::Service));
        assert_eq!(verifier.verify(&next_token), Ok(Reader::Service));

        tokio::fs::remove_file(&path).await.expect("remove");
        assert_eq!(reload_jwks_once(&verifier, &path, &mut last_seen).await, JwksReload::Refused);
        assert_eq!(verifier.verify(&next_token), Ok(Reader::Service));
    }
}
