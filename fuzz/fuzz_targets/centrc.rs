//! The `~/.centrc` reader on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for section in ["bananas", "DEFAULT", ""] {
            let _ = cent_run::internals::parse_profile(text, "fuzz", section);
        }
    }
});
