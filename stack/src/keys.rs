//! `stack keys`: a token issuer key for compose or production, and the JWKS its services trust.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::jwk::JwkSet;
use platform::auth::issuer::TokenIssuer;

use crate::config::KeysArgs;

pub async fn run(args: &KeysArgs) -> anyhow::Result<()> {
    let (issuer, private_pem) = TokenIssuer::generate(&args.issuer)?;
    let mut jwks = issuer.jwks();
    if let Some(old) = &args.also_trust {
        let old_json = tokio::fs::read(old).await.with_context(|| format!("cannot read {}", old.display()))?;
        let old_set: JwkSet =
            serde_json::from_slice(&old_json).with_context(|| format!("{} is not a jwks", old.display()))?;
        jwks.keys.extend(old_set.keys);
    }
    // refuse now what every service would refuse at start
    platform::auth::read_token::PublicKeys::from_jwks(&jwks).context("the combined jwks is not usable")?;

    tokio::fs::create_dir_all(&args.out).await.with_context(|| format!("cannot create {}", args.out.display()))?;
    let key_file = args.out.join("issuer.pem");
    let jwks_file = args.out.join("jwks.json");
    write_new(&key_file, private_pem.as_bytes(), 0o600).await?;
    write_new(&jwks_file, &serde_json::to_vec_pretty(&jwks)?, 0o644).await?;
    println!("kid {}", issuer.kid());
    println!("private key {} (keep it with the issuer only)", key_file.display());
    println!("public keys {} (give it to every service as JWKS_FILE)", jwks_file.display());
    Ok(())
}

/// Writes a file that must not exist yet, with `mode` from the start: a private key is never
/// readable by others, not even for a moment.
async fn write_new(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .await
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(contents).await?;
    file.sync_all().await?;
    Ok(())
}
