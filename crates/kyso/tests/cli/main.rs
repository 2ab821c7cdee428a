#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Integration tests of the `kyso` binary: they run the real executable and check its output
//! with independent tools (pyHanko, poppler, openssl). One test binary, several stories.

mod agent;
mod agree_pyhanko;
mod audit;
mod backup;
mod bad_input;
mod chain;
mod common;
mod conventions;
mod csc;
mod e2e;
mod e2e_archive;
mod e2e_documents;
mod e2e_incoming;
mod e2e_public_verify;
mod e2e_request_letter;
mod fidelity;
mod levels;
mod nodes;
mod objects;
mod oracles;
mod overlays;
mod pki;
mod pki_serve;
mod serve;
mod serve_ops;
mod sign_json;
mod token;
mod trust;
mod tsa_failures;
mod verify;
