//! libFuzzer entry point for the `engine` target; the checks live in `gearmand_fuzz::check_engine`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gearmand_fuzz::check_engine(data));
