//! Test helpers (not a test target of their own).

pub mod faults;
pub mod pcscd;
