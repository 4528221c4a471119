//! libFuzzer entry point for the `config` target; the checks live in `gearmand_fuzz::check_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gearmand_fuzz::check_config(data));
