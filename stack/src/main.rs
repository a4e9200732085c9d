//! `stack`: brings up the whole system on one machine, with nothing but Rust installed.

use broker::tansu;
use clap::{Parser, Subcommand};
use stack::{config, demo, init, keys, top, up};

#[derive(Parser)]
#[command(name = "stack", about = "runs the order-history system locally on 127.0.0.1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the broker, the schema registry and the services in the foreground, until Ctrl-C.
    Up(Box<config::UpArgs>),
    /// Start everything on an empty data dir, seed it, measure CQRS against API Composition,
    /// write the report, and keep the system up until Ctrl-C (or stop with --exit).
    Demo(Box<demo::DemoArgs>),
    /// Create the topics and register the schemas on a broker and registry that run elsewhere
    /// (the compose stack's init job), then exit.
    Init(Box<init::InitArgs>),
    /// Install the pinned tansu broker if it is missing, and print its path.
    InstallBroker(broker::BrokerInstallArgs),
    /// Print a read token (a JWT) signed with the issuer's key, for curl and other clients.
    Token(config::TokenArgs),
    /// Generate a token issuer key and the JWKS that services verify its tokens with.
    Keys(config::KeysArgs),
    /// Print the CPU each process of a running stack uses over a window.
    Top(top::TopArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init_tracing();
    match Cli::parse().command {
        Command::Up(args) => up::run(*args).await,
        Command::Demo(args) => demo::run(*args).await,
        Command::Init(args) => init::run(*args).await,
        Command::Top(args) => top::run(args).await,
        Command::Token(args) => {
            println!("{}", args.mint().await?);
            Ok(())
        }
        Command::Keys(args) => keys::run(&args).await,
        Command::InstallBroker(args) => {
            let path = tansu::ensure_installed(&args).await?;
            println!("{}", path.display());
            Ok(())
        }
    }
}
