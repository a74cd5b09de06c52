//! Arbitrary `regent run list --where` expressions, parsed and evaluated
//! against a fixed run: never a panic, every error at a column inside the text.
#![no_main]

include!("../checks.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check_where_expr(data));
