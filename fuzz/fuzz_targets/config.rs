//! Fuzz target `config`: see ../src/checks.rs for what it runs and asserts.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config(data));
