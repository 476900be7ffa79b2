//! Every reply decoder (api batch, legacy NDJSON, v1 array) on arbitrary bytes.
#![no_main]
use cent_run::client::Protocol;
use cent_run::internals::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for p in [Protocol::Api, Protocol::Legacy, Protocol::V1] {
        let _ = decode(p, &["publish", "history", "broadcast"], data);
        let _ = decode(p, &[], data);
    }
});
