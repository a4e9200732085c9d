//! The local launcher: runs the broker (through the `broker` crate), the schema registry and
//! the services on 127.0.0.1.

pub mod binaries;
pub mod config;
pub mod demo;
pub mod init;
pub mod keys;
pub mod top;
pub mod up;
