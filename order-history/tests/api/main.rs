//! order-history against a real broker and registry, on both backends.

mod helpers;
mod poison;
mod projection;
mod search;
mod stories;
