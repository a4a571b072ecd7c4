//! Signing online: what a person signs in the browser becomes a return like any
//! other, sealed by the school so that any PDF reader shows it as unmodified.
//! `fill` writes what the person gave into their issued form, `seal` is the
//! school's key and certificate, and `pades` seals the filled form with them.

pub mod fill;
pub mod handwriting;
pub mod links;
pub mod mail_merge;
pub mod pades;
pub mod pkcs12;
pub mod seal;
pub mod signer;

pub use seal::{Seal, SealError};
