//! What the stack's integration tests share: a whole local stack on free ports.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use broker::BrokerInstallArgs;
use compare::config::Credentials;
use platform::auth::issuer::{IssuerArgs, TokenIssuer};
use platform::auth::read_token::DEFAULT_ISSUER;
use stack::config::UpArgs;

/// A loopback address for one of the stack's child processes; the OS picks the port.
///
/// A child process cannot be handed a bound listener, so the port is released here and bound
/// again by the child, and another process may take it in between. A collision shows as
/// `stack up` failing with "<name> exited before it was ready" and "address in use" in the
/// process's log under the data dir.
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("local addr")
}

/// A stack on free ports under `data_dir`, with credentials and a signing key of its own, and
/// the binaries of this build.
pub fn up_args(data_dir: &Path) -> UpArgs {
    std::fs::create_dir_all(data_dir).expect("create the data dir");
    let (_, issuer_pem) = TokenIssuer::generate(DEFAULT_ISSUER).expect("generate a signing key");
    let issuer_key = data_dir.join("issuer.pem");
    std::fs::write(&issuer_key, issuer_pem).expect("write the signing key");
    UpArgs {
        data_dir: data_dir.to_path_buf(),
        broker_listen: free_address(),
        registry_listen: free_address(),
        order_svc_listen: free_address(),
        payment_svc_listen: free_address(),
        shipping_svc_listen: free_address(),
        order_history_listen: free_address(),
        composer_listen: free_address(),
        web_listen: free_address(),
        report_dir: data_dir.join("report"),
        elasticsearch_url: None,
        credentials: Credentials {
            write_token: "compare-test-write-token".into(),
            admin_token: "compare-test-admin-token".into(),
            read_token: None,
            issuer: IssuerArgs { issuer_key: Some(issuer_key), issuer: DEFAULT_ISSUER.to_string() },
        },
        partitions: 3,
        bin_dir: Some(Path::new(env!("CARGO_BIN_EXE_stack")).parent().expect("bin dir").to_path_buf()),
        no_build: true,
        broker: BrokerInstallArgs { tansu_bin: std::env::var_os("TANSU_BIN").map(Into::into), cache_dir: None },
    }
}
