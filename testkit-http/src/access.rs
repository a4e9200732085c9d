//! Access-control checks: every kind of credential against an endpoint, and what it must get.
//! The services' own tests run them against their real routes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::Reader;
use platform::auth::issuer::TokenIssuer;
use platform::auth::read_token::{DEFAULT_ISSUER, SERVICE_TOKEN_AUDIENCE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::tokens::{
    TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY, TEST_WRITE_TOKEN, customer_token, service_token, test_issuer,
};

/// A credential a client may present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    None,
    /// Not a token at all.
    Garbage,
    /// A well-formed service token signed by a key that is not the issuer's, under its own id.
    ForeignKey,
    /// A service token signed by a key that is not the issuer's, under the issuer's key id.
    ForgedKeyId,
    /// A service token signed with HMAC, the issuer's public key as the secret.
    KeyConfusion,
    /// A service token, rightly signed, naming another issuer.
    OtherIssuer,
    /// A service token, rightly signed, for no service here.
    OtherAudience,
    /// A service token, rightly signed, valid only an hour from now.
    NotYetValid,
    /// A service token, rightly signed, that expired ten minutes ago.
    Expired,
    Write,
    Admin,
    /// A customer token as the issuer mints it: for order-history and composer.
    Customer(&'static str),
    /// A customer token that lists every service as its audience, the source services included.
    CustomerForEveryService(&'static str),
    Service,
}

impl Credential {
    /// Every kind, with `customer` as the customer.
    pub fn all(customer: &'static str) -> [Credential; 14] {
        [
            Credential::None,
            Credential::Garbage,
            Credential::ForeignKey,
            Credential::ForgedKeyId,
            Credential::KeyConfusion,
            Credential::OtherIssuer,
            Credential::OtherAudience,
            Credential::NotYetValid,
            Credential::Expired,
            Credential::Write,
            Credential::Admin,
            Credential::Customer(customer),
            Credential::CustomerForEveryService(customer),
            Credential::Service,
        ]
    }

    /// A valid read token of a customer, whichever services it names.
    pub fn is_customer(&self) -> bool {
        matches!(self, Credential::Customer(_) | Credential::CustomerForEveryService(_))
    }

    pub fn bearer(&self) -> Option<String> {
        let issuer = test_issuer();
        let an_hour = Duration::from_secs(3600);
        let service_claims = || issuer.claims(&Reader::Service, &SERVICE_TOKEN_AUDIENCE, an_hour);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
        match self {
            Credential::None => None,
            Credential::Garbage => Some("not-a-token".to_string()),
            Credential::ForeignKey => {
                let (foreign, _) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate a key");
                Some(foreign.mint(&Reader::Service, an_hour))
            }
            Credential::ForgedKeyId => {
                let (_, foreign_pem) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate a key");
                let foreign_key = EncodingKey::from_ed_der(pem::parse(foreign_pem).expect("pem").contents());
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(issuer.kid().to_string());
                Some(jsonwebtoken::encode(&header, &service_claims(), &foreign_key).expect("sign"))
            }
            Credential::KeyConfusion => {
                let AlgorithmParameters::OctetKeyPair(public) = issuer.public_jwk().algorithm else {
                    unreachable!("the test issuer's key is an Ed25519 key")
                };
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(issuer.kid().to_string());
                let secret = EncodingKey::from_secret(public.x.as_bytes());
                Some(jsonwebtoken::encode(&header, &service_claims(), &secret).expect("sign"))
            }
            Credential::OtherIssuer => {
                let claims = platform::auth::read_token::Claims { iss: "someone-else".to_string(), ..service_claims() };
                Some(issuer.mint_claims(&claims))
            }
            Credential::OtherAudience => {
                let claims =
                    platform::auth::read_token::Claims { aud: vec!["nowhere".to_string()], ..service_claims() };
                Some(issuer.mint_claims(&claims))
            }
            Credential::NotYetValid => {
                let claims = platform::auth::read_token::Claims { nbf: now + 3600, ..service_claims() };
                Some(issuer.mint_claims(&claims))
            }
            Credential::Expired => {
                let claims = platform::auth::read_token::Claims { nbf: now - 3600, exp: now - 600, ..service_claims() };
                Some(issuer.mint_claims(&claims))
            }
            Credential::Write => Some(TEST_WRITE_TOKEN.to_string()),
            Credential::Admin => Some(TEST_ADMIN_TOKEN.to_string()),
            Credential::Customer(customer) => Some(customer_token(customer)),
            Credential::CustomerForEveryService(customer) => {
                let reader = Reader::Customer(customer.to_string());
                Some(issuer.mint_claims(&issuer.claims(&reader, &SERVICE_TOKEN_AUDIENCE, an_hour)))
            }
            Credential::Service => Some(service_token()),
        }
    }
}

/// Sends `method url` with `credential` (and `body` as JSON): the status and the JSON body.
pub async fn send(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    credential: &Credential,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = credential.bearer() {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("service answers");
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").cloned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(challenge.as_ref().and_then(|value| value.to_str().ok()), Some("Bearer"), "401 challenges: {url}");
        assert!(body["error"].is_string(), "a refusal says why: {url} answered {body}");
    }
    assert_no_secret(&body.to_string(), url);
    (status, body)
}

/// Fails if `text` holds any credential the tests use: refusals must not echo them.
pub fn assert_no_secret(text: &str, context: &str) {
    for secret in [TEST_WRITE_TOKEN, TEST_ADMIN_TOKEN, TEST_ISSUER_KEY_BODY] {
        assert!(!text.contains(secret), "{context} shows a secret: {text}");
    }
    // a JWT's signature part never appears either: tokens begin with a base64 header
    assert!(!text.contains("eyJ0eXAiOiJKV1Qi") && !text.contains("eyJhbGciOi"), "{context} shows a token: {text}");
}

/// What an endpoint must answer to each credential: refused with 401 or 403, or let through
/// (any other status: the request was authorized, whatever became of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Unauthorized,
    Forbidden,
    Allowed,
}

/// Sends `method url` with every credential and checks each answer against `expect`.
pub async fn assert_access(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<&Value>,
    expect: impl Fn(&Credential) -> Expect,
) {
    for credential in Credential::all("customer-a") {
        let (status, answer) = send(client, method.clone(), url, &credential, body).await;
        let context = format!("{method} {url} with {credential:?} answered {status} {answer}");
        match expect(&credential) {
            Expect::Unauthorized => assert_eq!(status, StatusCode::UNAUTHORIZED, "{context}"),
            Expect::Forbidden => assert_eq!(status, StatusCode::FORBIDDEN, "{context}"),
            Expect::Allowed => assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !status.is_server_error(),
                "{context}"
            ),
        }
    }
}

/// The source services' rules: reads need a service token (a customer token is not for them; one
/// that names them anyway is forbidden), writes the write token, `/admin/faults` the admin token. Writes are sent an empty object, which
/// every write endpoint refuses after authorization, so nothing is created.
pub async fn assert_source_service_access(base_url: &str, reads: &[&str], writes: &[&str]) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    for path in reads {
        assert_access(&client, Method::GET, &format!("{base_url}{path}"), None, |credential| match credential {
            Credential::Service => Expect::Allowed,
            Credential::CustomerForEveryService(_) => Expect::Forbidden,
            _ => Expect::Unauthorized,
        })
        .await;
    }
    for path in writes {
        let url = format!("{base_url}{path}");
        assert_access(&client, Method::POST, &url, Some(&json!({})), |credential| match credential {
            Credential::Write => Expect::Allowed,
            _ => Expect::Unauthorized,
        })
        .await;
    }
    for method in [Method::GET, Method::PUT] {
        let body = (method == Method::PUT).then(|| json!({"delay_ms": 0, "error_rate": 0.0}));
        let url = format!("{base_url}/admin/faults");
        assert_access(&client, method, &url, body.as_ref(), |credential| match credential {
            Credential::Admin => Expect::Allowed,
            _ => Expect::Unauthorized,
        })
        .await;
    }
}
