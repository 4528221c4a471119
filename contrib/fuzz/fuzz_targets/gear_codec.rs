//! libFuzzer entry point for the `gear_codec` target; the checks live in `gearmand_fuzz::check_gear`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gearmand_fuzz::check_gear(data));
