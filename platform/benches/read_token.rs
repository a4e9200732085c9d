//! What a read token costs a service to verify: a signature check the first time a token is
//! seen, a lookup of the remembered token after that (`platform::auth::read_token`).
//!
//! `cargo bench -p platform --bench read_token [-- --tokens N --rounds R]`
//!
//! Each round verifies N distinct service tokens once each (every one a miss: Ed25519
//! signature, claims), then one token N times (every one but the first a hit), on one thread.
//! The figures are per verification; compare them within a round, as the machine is shared.

use std::time::{Duration, Instant};

use platform::auth::Reader;
use platform::auth::issuer::TokenIssuer;
use platform::auth::read_token::{DEFAULT_ISSUER, PublicKeys, SERVICE_TOKEN_AUDIENCE, TokenVerifier};

fn main() {
    let mut tokens = 20_000usize;
    let mut rounds = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--tokens" => tokens = value_or_exit(args.next(), "--tokens"),
            "--rounds" => rounds = value_or_exit(args.next(), "--rounds"),
            // cargo bench passes --bench; anything else is ignored as cargo's own
            _ => {}
        }
    }
    let issuer = TokenIssuer::dev();
    let keys = || PublicKeys::from_jwks(&issuer.jwks()).expect("the dev jwks is usable");
    // distinct tokens: the same claims but for the subject
    let distinct: Vec<String> = (0..tokens)
        .map(|index| {
            let mut claims = issuer.claims(&Reader::Service, &SERVICE_TOKEN_AUDIENCE, Duration::from_secs(3600));
            claims.sub = format!("service-{index}");
            issuer.mint_claims(&claims)
        })
        .collect();
    println!("read token verification, {tokens} verifications per figure");
    println!("round  first sight (µs)  remembered (µs)  ratio");
    for round in 1..=rounds {
        let verifier = TokenVerifier::new(keys(), DEFAULT_ISSUER, "order-history");
        let started = Instant::now();
        for token in &distinct {
            verifier.verify(token).expect("a dev token verifies");
        }
        let first_sight = started.elapsed().as_secs_f64() * 1e6 / tokens as f64;
        let same = &distinct[0];
        let started = Instant::now();
        for _ in 0..tokens {
            verifier.verify(same).expect("a dev token verifies");
        }
        let remembered = started.elapsed().as_secs_f64() * 1e6 / tokens as f64;
        println!("{round:>5}  {first_sight:>16.2}  {remembered:>15.3}  {:>5.0}×", first_sight / remembered);
    }
}

fn value_or_exit(raw: Option<String>, flag: &str) -> usize {
    raw.and_then(|raw| raw.parse::<usize>().ok()).filter(|value| *value > 0).unwrap_or_else(|| {
        eprintln!("{flag} takes a positive number");
        std::process::exit(2)
    })
}
