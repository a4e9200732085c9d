//! Who may do what, in one place for every service.
//!
//! - **Writes** to a source service need its write token; **admin** endpoints need the admin
//!   token. Both are static bearer tokens from the configuration, compared in constant time.
//! - **Reads** need a signed JWT (HS256, `JWT_SECRET`). A token with `role: "customer"` and a
//!   `customer_id` reads that customer's orders only: the services enforce the filter, whatever
//!   the query says. A token with `role: "service"` reads everything; composer mints one for its
//!   calls to the source services, whose read APIs are for services only.
//!
//! The local profile runs with the [`dev`] credentials; nothing else defaults to them.
//! Secrets never reach a log or an error body: [`Secret`] prints as `[redacted]`, and refusals
//! say what was wrong with a credential, never what it was.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::http::json_error;

/// The credentials of the local profile (`stack up`, `stack demo`, `compare`'s defaults). They
/// are public, so they protect nothing: compose and production must set their own.
pub mod dev {
    pub const WRITE_TOKEN: &str = "local-dev-write-token";
    pub const ADMIN_TOKEN: &str = "local-dev-admin-token";
    pub const JWT_SECRET: &str = "local-dev-jwt-secret-not-for-production";
}

/// The shortest accepted static token and JWT secret: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;
pub const MIN_JWT_SECRET_LEN: usize = 32;

/// A configured secret: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_dev_default(&self) -> bool {
        [dev::WRITE_TOKEN, dev::ADMIN_TOKEN, dev::JWT_SECRET].contains(&self.expose())
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Service,
}

/// The claims of a read token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Expiry, seconds since the epoch; required.
    pub exp: u64,
    pub iat: u64,
}

/// Signs and verifies read tokens with one HMAC secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("JwtKeys([redacted])")
    }
}

impl JwtKeys {
    pub fn new(secret: &Secret) -> anyhow::Result<Self> {
        if secret.expose().len() < MIN_JWT_SECRET_LEN {
            anyhow::bail!("the jwt secret must be at least {MIN_JWT_SECRET_LEN} bytes long");
        }
        // one algorithm only: a token cannot choose a weaker one, or `none`
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Reader, AuthError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::Invalid,
                }
            })?;
        match (data.claims.role, data.claims.customer_id) {
            (Role::Service, _) => Ok(Reader::Service),
            (Role::Customer, Some(customer_id)) if !customer_id.trim().is_empty() => Ok(Reader::Customer(customer_id)),
            (Role::Customer, _) => Err(AuthError::Invalid),
        }
    }

    /// A token for `reader`, valid for `ttl`.
    pub fn mint(&self, reader: &Reader, ttl: Duration) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let (sub, role, customer_id) = match reader {
            Reader::Service => ("service".to_string(), Role::Service, None),
            Reader::Customer(id) => (format!("customer:{id}"), Role::Customer, Some(id.clone())),
        };
        let claims = Claims { sub, role, customer_id, exp: now + ttl.as_secs(), iat: now };
        // HMAC signing of a serializable struct cannot fail
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
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
    keys: Arc<JwtKeys>,
    access: ReadAccess,
}

impl ReadGuard {
    pub fn new(keys: Arc<JwtKeys>, access: ReadAccess) -> Self {
        Self { keys, access }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<Reader, AuthError> {
        let reader = self.keys.verify(bearer(headers)?)?;
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

/// A service token minted on demand and renewed before it expires, for calls to other services.
#[derive(Clone)]
pub struct ServiceToken {
    keys: Arc<JwtKeys>,
    current: Arc<Mutex<(String, SystemTime)>>,
}

impl ServiceToken {
    const TTL: Duration = Duration::from_secs(3600);

    pub fn new(keys: Arc<JwtKeys>) -> Self {
        let token = keys.mint(&Reader::Service, Self::TTL);
        Self { keys, current: Arc::new(Mutex::new((token, SystemTime::now() + Self::TTL))) }
    }

    pub fn bearer(&self) -> String {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // renewed with half its life left, so a token never expires in flight
        if current.1 < SystemTime::now() + Self::TTL / 2 {
            *current = (self.keys.mint(&Reader::Service, Self::TTL), SystemTime::now() + Self::TTL);
        }
        current.0.clone()
    }
}

/// The read-token configuration of every service that serves or makes reads.
#[derive(Clone, Debug, clap::Args)]
pub struct ReadAuthArgs {
    /// The HMAC secret (at least 32 bytes) that signs and verifies read tokens (JWT, HS256);
    /// required to serve.
    #[arg(long = "jwt-secret", env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
}

impl ReadAuthArgs {
    pub fn new(secret: &str) -> Self {
        Self { jwt_secret: Some(Secret::from(secret)) }
    }

    pub fn keys(&self) -> anyhow::Result<Arc<JwtKeys>> {
        let Some(secret) = &self.jwt_secret else {
            anyhow::bail!("no jwt secret configured: set JWT_SECRET (at least {MIN_JWT_SECRET_LEN} bytes)");
        };
        warn_if_dev("jwt secret", secret);
        Ok(Arc::new(JwtKeys::new(secret)?))
    }
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
        (Scheme::Read, "JWT", "a JWT (HS256) with role customer and a customer_id, or role service"),
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
    use super::*;

    fn bearer_headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header value"));
        headers
    }

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(&Secret::from(secret)).expect("keys")
    }

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

    /// `claims` signed with [`SECRET`] by `algorithm`, `exp` seconds from now (negative: past).
    fn signed(algorithm: Algorithm, role: Role, customer_id: Option<&str>, exp: i64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
        let claims = Claims {
            sub: "s".into(),
            role,
            customer_id: customer_id.map(str::to_string),
            exp: now.saturating_add_signed(exp),
            iat: now.saturating_sub(200),
        };
        jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(SECRET.as_bytes()))
            .expect("encode")
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
    fn a_minted_token_verifies_as_its_reader() {
        let keys = keys(SECRET);
        let customer = Reader::Customer("cust-7".to_string());
        assert_eq!(keys.verify(&keys.mint(&customer, Duration::from_secs(60))), Ok(customer));
        assert_eq!(keys.verify(&keys.mint(&Reader::Service, Duration::from_secs(60))), Ok(Reader::Service));
    }

    #[test]
    fn a_token_of_another_secret_an_expired_one_or_garbage_is_refused() {
        let other = keys("another-secret-of-at-least-32-bytes!").mint(&Reader::Service, Duration::from_secs(60));
        assert_eq!(keys(SECRET).verify(&other), Err(AuthError::Invalid));
        assert_eq!(keys(SECRET).verify("not.a.jwt"), Err(AuthError::Invalid));
        let expired = signed(Algorithm::HS256, Role::Service, None, -120);
        assert_eq!(keys(SECRET).verify(&expired), Err(AuthError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_algorithm_is_refused() {
        let token = signed(Algorithm::HS512, Role::Service, None, 60);
        assert_eq!(keys(SECRET).verify(&token), Err(AuthError::Invalid));
    }

    #[test]
    fn a_customer_token_without_a_customer_is_refused() {
        let token = signed(Algorithm::HS256, Role::Customer, None, 60);
        assert_eq!(keys(SECRET).verify(&token), Err(AuthError::Invalid));
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(JwtKeys::new(&Secret::from("short")).is_err());
        assert!(checked_token("write token", Some(Secret::from("short"))).is_err());
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
        let keys = Arc::new(keys(SECRET));
        let guard = ReadGuard::new(keys.clone(), ReadAccess::ServicesOnly);
        let customer = keys.mint(&Reader::Customer("c1".to_string()), Duration::from_secs(60));
        assert!(matches!(guard.check(&bearer_headers(&customer)), Err(AuthError::Forbidden(_))));
        let service = keys.mint(&Reader::Service, Duration::from_secs(60));
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
