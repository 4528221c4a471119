//! libFuzzer entry point for the `http_codec` target; the checks live in `gearmand_fuzz::check_http`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gearmand_fuzz::check_http(data));
