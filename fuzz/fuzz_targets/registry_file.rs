//! Arbitrary bytes loaded as regent.yaml, model.yaml, a version file and a
//! run file: never a panic, every refusal located, every success round-trips.
#![no_main]

include!("../checks.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check_registry_file(data));
