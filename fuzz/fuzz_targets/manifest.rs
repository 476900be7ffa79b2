//! The manifest loader and validator on arbitrary bytes: never a panic,
//! always either a manifest or located problems.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cent_run::runner::load_text("fuzz.yaml", text, &Default::default());
    }
});
