//! `compare` refuses a report folder it cannot write before it sends a single request: a run
//! measures for up to an hour, and a report that cannot be saved at the end loses all of it.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clap::Parser;
use compare::config::CompareArgs;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CompareArgs,
}

/// Stands in for every service of the stack. Nothing accepts, so any connection compare makes
/// waits in the backlog, where `assert_never_contacted` finds it.
struct SilentStack {
    listener: TcpListener,
}

impl SilentStack {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("make the listener non-blocking");
        Self { listener }
    }

    fn address(&self) -> String {
        self.listener.local_addr().expect("the listener's address").to_string()
    }

    fn compare_args(&self, out: &Path) -> CompareArgs {
        let url = format!("http://{}", self.address());
        let out = out.to_str().expect("a utf-8 temporary path");
        let flags = [
            "compare",
            "--order-svc",
            &url,
            "--payment-svc",
            &url,
            "--shipping-svc",
            &url,
            "--order-history",
            &url,
            "--composer",
            &url,
            "--schema-registry",
            &url,
            "--broker",
            &self.address(),
            "--out",
            out,
            "--no-progress",
        ];
        Cli::try_parse_from(flags).expect("valid flags").args
    }

    fn assert_never_contacted(&self) {
        match self.listener.accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(error) => panic!("cannot check the listener: {error}"),
            Ok((_, peer)) => panic!("compare connected to the stack (from {peer}) before checking its report folder"),
        }
    }
}

async fn refusal_of(stack: &SilentStack, out: &Path) -> String {
    let Err(error) = compare::run(&stack.compare_args(out)).await else {
        panic!("compare ran with the unwritable report folder {}", out.display());
    };
    format!("{error:#}")
}

#[tokio::test]
async fn refuses_a_report_folder_that_cannot_be_created_before_any_request() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let a_file = scratch.path().join("a-file");
    std::fs::write(&a_file, "").expect("write a file");
    // a folder inside a regular file cannot be created, not even by root
    let out = a_file.join("report");
    let stack = SilentStack::start();

    let message = refusal_of(&stack, &out).await;

    let expected = format!("cannot write the report folder {}", out.display());
    assert!(message.starts_with(&expected), "message {message:?} does not start with {expected:?}");
    stack.assert_never_contacted();
}

#[tokio::test]
async fn refuses_a_read_only_report_folder_before_any_request() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let out = scratch.path().join("report");
    std::fs::create_dir(&out).expect("create the report folder");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).expect("make it read-only");
    if std::fs::write(out.join("probe"), "").is_ok() {
        // root ignores the mode bits; the test above covers that user
        eprintln!("skipped: this user can write a read-only folder (root)");
        return;
    }
    let stack = SilentStack::start();

    let message = refusal_of(&stack, &out).await;

    let expected = format!("cannot write the report folder {}", out.display());
    assert!(message.starts_with(&expected), "message {message:?} does not start with {expected:?}");
    assert!(message.contains("Permission denied"), "message {message:?} does not give the cause");
    stack.assert_never_contacted();
}
