//! The local launcher: installs and runs the broker, the schema registry and the services on
//! 127.0.0.1. The broker start sequence is public so the test harness starts brokers exactly
//! the way `stack up` does.

pub mod binaries;
pub mod config;
pub mod demo;
pub mod init;
pub mod keys;
pub mod process;
pub mod tansu;
pub mod top;
pub mod up;
