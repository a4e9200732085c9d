//! Who may do what, in one place for every service.
//!
//! - **Writes** to a source service need its write token; **admin** endpoints need the admin
//!   token. Both are static bearer tokens from the configuration, compared in constant time.
//! - **Reads** need a JWT signed with Ed25519 by the one token issuer ([`issuer`]), verified
//!   with the issuer's public keys only ([`read_token`]). A token with `role: "customer"` and a
//!   `customer_id` reads that customer's orders only: the services enforce the filter, whatever
//!   the query says. A token with `role: "service"` reads everything; composer and web are
//!   given one (`READ_TOKEN`) for their calls to other services.
//!
//! The local profile runs with the [`dev`] credentials and the dev signing key
//! ([`issuer::DEV_ISSUER_KEY_PEM`]); nothing else defaults to them.
//! Secrets never reach a log or an error body: [`Secret`] prints as `[redacted]`, and refusals
//! say what was wrong with a credential, never what it was.

mod credentials;
pub mod issuer;
pub mod read_token;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use credentials::Credentials;
pub use read_token::{ReadAuthArgs, TokenVerifier};

use crate::http::json_error;

/// The credentials of the local profile (`stack up`, `stack demo`, `compare`'s defaults). They
/// are public, so they protect nothing: compose and production must set their own.
pub mod dev {
    pub const WRITE_TOKEN: &str = "local-dev-write-token";
    pub const ADMIN_TOKEN: &str = "local-dev-admin-token";
}

/// The shortest accepted static token: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// A configured secret: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_dev_default(&self) -> bool {
        [dev::WRITE_TOKEN, dev::ADMIN_TOKEN].contains(&self.expose())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

impl FromStr for Secret {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("a secret must not be empty".to_string());
        }
        Ok(Secret(Arc::from(raw)))
    }
}

impl From<&str> for Secret {
    fn from(raw: &str) -> Self {
        Secret(Arc::from(raw))
    }
}

/// Why a request's credentials were refused. The messages name the problem, never the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("authorization header is not a bearer token")]
    NotBearer,
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token is not for this service")]
    WrongAudience,
    #[error("token is from another issuer")]
    WrongIssuer,
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// The endpoint is disabled because no credential is configured for it.
    #[error("{0} is not configured on this service")]
    NotConfigured(&'static str),
    /// Authenticated, but not allowed this.
    #[error("{0}")]
    Forbidden(&'static str),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = match self {
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        let mut response = json_error(status, &self.to_string(), None);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::NotBearer);
    }
    Ok(token.trim())
}

/// A static bearer token guarding writes or admin endpoints. Without one configured, the
/// endpoints it guards answer 401 to everyone.
#[derive(Clone)]
pub struct BearerToken {
    role: &'static str,
    expected: Option<Secret>,
}

impl BearerToken {
    /// `role` names the token in refusals, e.g. `write token`.
    pub fn new(role: &'static str, expected: Option<Secret>) -> Self {
        Self { role, expected }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let expected = self.expected.as_ref().ok_or(AuthError::NotConfigured(self.role))?;
        let presented = bearer(headers)?;
        if constant_time_eq(expected.expose().as_bytes(), presented.as_bytes()) {
            Ok(())
        } else {
            Err(AuthError::Invalid)
        }
    }
}

fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    expected.len() == presented.len()
        && expected.iter().zip(presented).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// Middleware: only requests bearing `token` pass.
pub async fn require_token(State(token): State<BearerToken>, request: Request, next: Next) -> Response {
    match token.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Who a read is for, from a verified JWT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Another service, or an operator's tool: reads everything.
    Service,
    /// One customer: reads that customer's orders only.
    Customer(String),
}

impl Reader {
    /// Whether this reader may see every order, whoever owns it: a read for it need not find
    /// out the owner first.
    pub fn reads_every_order(&self) -> bool {
        matches!(self, Reader::Service)
    }

    /// Whether this reader may see an order owned by `customer_id`; an order whose owner is
    /// not known yet is for services only.
    pub fn may_read(&self, customer_id: Option<&str>) -> bool {
        match self {
            Reader::Service => true,
            Reader::Customer(own) => customer_id == Some(own.as_str()),
        }
    }

    /// The customer a search must be limited to: a customer's own, whatever was asked; what was
    /// asked for a service. Asking for another customer's orders is refused, not narrowed
    /// silently, so that a client bug shows.
    pub fn scope_customer(&self, requested: Option<String>) -> Result<Option<String>, AuthError> {
        match (self, requested) {
            (Reader::Service, requested) => Ok(requested),
            (Reader::Customer(own), None) => Ok(Some(own.clone())),
            (Reader::Customer(own), Some(requested)) if *own == requested => Ok(Some(requested)),
            (Reader::Customer(_), Some(_)) => Err(AuthError::Forbidden("a customer token reads only its own orders")),
        }
    }
}

/// What a read route accepts: any reader, or services only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAccess {
    Anyone,
    ServicesOnly,
}

#[derive(Clone)]
pub struct ReadGuard {
    verifier: Arc<TokenVerifier>,
    access: ReadAccess,
}

impl ReadGuard {
    pub fn new(verifier: Arc<TokenVerifier>, access: ReadAccess) -> Self {
        Self { verifier, access }
    }

    /// The same verifier, admitting service tokens only: for routes that answer about every
    /// customer's orders at once.
    pub fn services_only(&self) -> Self {
        Self { verifier: self.verifier.clone(), access: ReadAccess::ServicesOnly }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<Reader, AuthError> {
        let reader = self.verifier.verify(bearer(headers)?)?;
        if self.access == ReadAccess::ServicesOnly && reader != Reader::Service {
            return Err(AuthError::Forbidden("this api serves other services only"));
        }
        Ok(reader)
    }
}

/// Middleware: verifies the read token and hands the [`Reader`] to the handler as a request
/// extension (`Extension<Reader>`).
pub async fn require_reader(State(guard): State<ReadGuard>, mut request: Request, next: Next) -> Response {
    match guard.check(request.headers()) {
        Ok(reader) => {
            request.extensions_mut().insert(reader);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The service token a process sends on its calls to other services, given to it by the token
/// issuer (`READ_TOKEN`): a process that only calls others never holds a signing key.
#[derive(Clone)]
pub struct ServiceToken(Secret);

impl ServiceToken {
    /// Checks that `token` is a service token that has not expired, and warns when it expires
    /// within a day. Its signature is for the services it calls to verify.
    pub fn configured(token: Option<Secret>) -> anyhow::Result<Self> {
        let Some(token) = token else {
            anyhow::bail!("no read token configured: set READ_TOKEN to a service token (`stack token --service`)");
        };
        let claims = unverified_claims(token.expose())
            .ok_or_else(|| anyhow::anyhow!("READ_TOKEN is not a read token (a JWT with role service)"))?;
        if claims.role != read_token::Role::Service {
            anyhow::bail!("READ_TOKEN must be a service token, not a customer's");
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if claims.exp <= now {
            anyhow::bail!("READ_TOKEN expired; mint a new one (`stack token --service`)");
        }
        let hours_left = (claims.exp - now) / 3600;
        if hours_left < 24 {
            tracing::warn!(hours_left, "READ_TOKEN expires within a day; mint a new one (`stack token --service`)");
        }
        Ok(Self(token))
    }

    pub fn bearer(&self) -> &str {
        self.0.expose()
    }
}

/// A token's claims read without checking its signature: for a holder to see when its own
/// token expires, never to decide access.
fn unverified_claims(token: &str) -> Option<read_token::Claims> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Refuses a static token too short to be secret.
pub fn checked_token(role: &'static str, token: Option<Secret>) -> anyhow::Result<Option<Secret>> {
    if let Some(token) = &token {
        if token.expose().len() < MIN_TOKEN_LEN {
            anyhow::bail!("the {role} must be at least {MIN_TOKEN_LEN} characters long");
        }
        warn_if_dev(role, token);
    }
    Ok(token)
}

fn warn_if_dev(role: &'static str, secret: &Secret) {
    if secret.is_dev_default() {
        tracing::warn!(
            credential = role,
            "running with the local profile's public dev credential; never in production"
        );
    }
}

/// The credential an operation needs, for the OpenAPI document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Read,
    Write,
    Admin,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Read => "read_token",
            Scheme::Write => "write_token",
            Scheme::Admin => "admin_token",
        }
    }
}

/// Declares the security schemes in `openapi` and, on every operation `scheme_of` names a
/// scheme for, the requirement and its 401 and 403 answers; so that the published document
/// says what a client must send and what it gets back without it, as the routes do.
pub fn document_security(
    openapi: &mut utoipa::openapi::OpenApi,
    scheme_of: impl Fn(&str, &utoipa::openapi::HttpMethod) -> Option<Scheme>,
) {
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
    use utoipa::openapi::{Content, HttpMethod, Ref, ResponseBuilder};

    let components = openapi.components.get_or_insert_with(Default::default);
    for (scheme, format, description) in [
        (
            Scheme::Read,
            "JWT",
            "a JWT (EdDSA, from the token issuer) with role customer and a customer_id, or role service",
        ),
        (Scheme::Write, "opaque", "the service's write token"),
        (Scheme::Admin, "opaque", "the admin token"),
    ] {
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some(format.to_string());
        http.description = Some(description.to_string());
        components.add_security_scheme(scheme.name(), SecurityScheme::Http(http));
    }
    let refusal = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Delete, &mut item.delete),
            (HttpMethod::Patch, &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation.as_mut() else { continue };
            let Some(scheme) = scheme_of(path, &method) else { continue };
            operation.security = Some(vec![SecurityRequirement::new(scheme.name(), Vec::<String>::new())]);
            let responses = &mut operation.responses.responses;
            responses
                .entry("401".to_string())
                .or_insert_with(|| refusal("no, a malformed, a wrong or an expired token").into());
            if scheme == Scheme::Read {
                responses
                    .entry("403".to_string())
                    .or_insert_with(|| refusal("the token does not allow this read").into());
            }
        }
    }
    // every service documents itself through here, so the shared layers' answers go in too
    crate::http::document_shared_refusals(openapi);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    use super::issuer::TokenIssuer;
    use super::read_token::{Claims, DEFAULT_ISSUER, PublicKeys, Role};
    use super::*;

    fn bearer_headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header value"));
        headers
    }

    /// A verifier for `audience` that trusts the dev issuer's key only.
    fn verifier(audience: &str) -> TokenVerifier {
        TokenVerifier::new(PublicKeys::from_jwks(&TokenIssuer::dev().jwks()).expect("jwks"), DEFAULT_ISSUER, audience)
    }

    /// The dev issuer's claims for a service, changed by `change`.
    fn service_claims(change: impl FnOnce(&mut Claims)) -> Claims {
        let mut claims = TokenIssuer::dev().claims(&Reader::Service, &["order-svc"], Duration::from_secs(600));
        change(&mut claims);
        claims
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
    }

    #[test]
    fn only_the_configured_static_token_authorizes() {
        let token = BearerToken::new("write token", Some(Secret::from("s3cret-s3cret-s3cret")));
        assert_eq!(token.check(&bearer_headers("s3cret-s3cret-s3cret")), Ok(()));
        assert_eq!(token.check(&bearer_headers("s3cret-s3cret-s3cre")), Err(AuthError::Invalid));
        assert_eq!(token.check(&HeaderMap::new()), Err(AuthError::Missing));
        let mut basic = HeaderMap::new();
        basic.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().expect("header"));
        assert_eq!(token.check(&basic), Err(AuthError::NotBearer));
    }

    #[test]
    fn without_a_configured_token_nothing_authorizes() {
        let token = BearerToken::new("admin token", None);
        assert_eq!(token.check(&bearer_headers("anything-at-all")), Err(AuthError::NotConfigured("admin token")));
    }

    #[test]
    fn a_token_of_another_key_an_expired_one_or_garbage_is_refused() {
        let (foreign, _) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        let verifier = verifier("order-svc");
        assert_eq!(
            verifier.verify(&foreign.mint(&Reader::Service, Duration::from_secs(60))),
            Err(AuthError::UnknownKey)
        );
        assert_eq!(verifier.verify("not.a.jwt"), Err(AuthError::Invalid));
        let expired = service_claims(|claims| {
            claims.nbf = now() - 600;
            claims.exp = now() - 120;
        });
        assert_eq!(verifier.verify(&TokenIssuer::dev().mint_claims(&expired)), Err(AuthError::Expired));
    }

    #[test]
    fn a_foreign_key_claiming_the_issuers_kid_is_refused() {
        let (_, foreign_pem) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        let foreign_key = EncodingKey::from_ed_der(pem::parse(foreign_pem).expect("pem").contents());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(TokenIssuer::dev().kid().to_string());
        let forged = jsonwebtoken::encode(&header, &service_claims(|_| {}), &foreign_key).expect("encode");
        assert_eq!(verifier("order-svc").verify(&forged), Err(AuthError::Invalid));
    }

    #[test]
    fn a_token_not_valid_yet_for_another_service_or_from_another_issuer_is_refused() {
        let dev = TokenIssuer::dev();
        let verifier = verifier("order-svc");
        let later = service_claims(|claims| claims.nbf = now() + 3600);
        assert_eq!(verifier.verify(&dev.mint_claims(&later)), Err(AuthError::NotYetValid));
        let elsewhere = service_claims(|claims| claims.aud = vec!["composer".to_string()]);
        assert_eq!(verifier.verify(&dev.mint_claims(&elsewhere)), Err(AuthError::WrongAudience));
        let other_issuer = service_claims(|claims| claims.iss = "someone-else".to_string());
        assert_eq!(verifier.verify(&dev.mint_claims(&other_issuer)), Err(AuthError::WrongIssuer));
    }

    #[test]
    fn a_token_signed_with_hmac_over_the_public_key_is_refused() {
        // the classic key-confusion attack: the public key is no secret
        let public_x = match &TokenIssuer::dev().public_jwk().algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(parameters) => parameters.x.clone(),
            _ => unreachable!("the dev key is an Ed25519 key"),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(TokenIssuer::dev().kid().to_string());
        let token =
            jsonwebtoken::encode(&header, &service_claims(|_| {}), &EncodingKey::from_secret(public_x.as_bytes()))
                .expect("encode");
        assert_eq!(verifier("order-svc").verify(&token), Err(AuthError::Invalid));
    }

    #[test]
    fn a_customer_token_without_a_customer_is_refused() {
        let claims = service_claims(|claims| claims.role = Role::Customer);
        assert_eq!(verifier("order-svc").verify(&TokenIssuer::dev().mint_claims(&claims)), Err(AuthError::Invalid));
    }

    #[test]
    fn a_rotated_key_set_accepts_the_new_key_and_drops_the_old() {
        let (next, _) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate");
        let verifier = verifier("order-svc");
        let old_token = TokenIssuer::dev().mint(&Reader::Service, Duration::from_secs(60));
        let new_token = next.mint(&Reader::Service, Duration::from_secs(60));
        // during the rotation both keys are published
        let both = jsonwebtoken::jwk::JwkSet { keys: vec![TokenIssuer::dev().public_jwk(), next.public_jwk()] };
        verifier.replace_keys(PublicKeys::from_jwks(&both).expect("jwks"));
        assert_eq!(verifier.verify(&old_token), Ok(Reader::Service));
        assert_eq!(verifier.verify(&new_token), Ok(Reader::Service));
        // after it, the old key is gone
        verifier.replace_keys(PublicKeys::from_jwks(&next.jwks()).expect("jwks"));
        assert_eq!(verifier.verify(&old_token), Err(AuthError::UnknownKey));
        assert_eq!(verifier.verify(&new_token), Ok(Reader::Service));
    }

    #[test]
    fn a_jwks_without_kids_or_with_other_keys_is_refused() {
        assert!(matches!(PublicKeys::from_jwks_json(br#"{"keys": []}"#), Err(read_token::JwksError::Empty)));
        let without_kid =
            r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        assert!(matches!(PublicKeys::from_jwks_json(without_kid.as_bytes()), Err(read_token::JwksError::MissingKid)));
        let hmac = r#"{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}"#;
        assert!(matches!(PublicKeys::from_jwks_json(hmac.as_bytes()), Err(read_token::JwksError::NotEd25519(_))));
    }

    #[test]
    fn a_short_static_token_is_refused() {
        assert!(checked_token("write token", Some(Secret::from("short"))).is_err());
    }

    #[test]
    fn a_caller_refuses_a_customer_or_expired_read_token() {
        let dev = TokenIssuer::dev();
        assert!(
            ServiceToken::configured(Some(dev.mint(&Reader::Service, Duration::from_secs(86_400 * 2)).as_str().into()))
                .is_ok()
        );
        let customer = dev.mint(&Reader::Customer("c1".to_string()), Duration::from_secs(3600));
        assert!(ServiceToken::configured(Some(customer.as_str().into())).is_err());
        let expired = dev.mint_claims(&service_claims(|claims| claims.exp = now() - 10));
        assert!(ServiceToken::configured(Some(expired.as_str().into())).is_err());
        assert!(ServiceToken::configured(Some("garbage".into())).is_err());
        assert!(ServiceToken::configured(None).is_err());
    }

    #[test]
    fn a_customer_is_scoped_to_their_own_orders() {
        let customer = Reader::Customer("c1".to_string());
        assert_eq!(customer.scope_customer(None), Ok(Some("c1".to_string())));
        assert_eq!(customer.scope_customer(Some("c1".to_string())), Ok(Some("c1".to_string())));
        assert!(matches!(customer.scope_customer(Some("c2".to_string())), Err(AuthError::Forbidden(_))));
        assert!(customer.may_read(Some("c1")) && !customer.may_read(Some("c2")) && !customer.may_read(None));
        assert!(Reader::Service.may_read(None));
        assert!(Reader::Service.reads_every_order() && !customer.reads_every_order());
        assert_eq!(Reader::Service.scope_customer(None), Ok(None));
        assert_eq!(Reader::Service.scope_customer(Some("c2".to_string())), Ok(Some("c2".to_string())));
    }

    #[test]
    fn a_customer_token_cannot_read_a_service_only_api() {
        let guard = ReadGuard::new(Arc::new(verifier("order-history")), ReadAccess::ServicesOnly);
        let customer = TokenIssuer::dev().mint(&Reader::Customer("c1".to_string()), Duration::from_secs(60));
        assert!(matches!(guard.check(&bearer_headers(&customer)), Err(AuthError::Forbidden(_))));
        let service = TokenIssuer::dev().mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(guard.check(&bearer_headers(&service)), Ok(Reader::Service));
    }

    #[test]
    fn secrets_and_refusals_never_show_the_secret() {
        let secret = Secret::from("top-secret-value-123");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        for error in [AuthError::Missing, AuthError::Invalid, AuthError::Expired, AuthError::NotBearer] {
            assert!(!error.to_string().contains("top-secret"));
        }
    }
}
