//! Any text as a rules file: an error with file:line:column, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(set) = triggers::rules::load("fuzz.yaml", text) {
            let _ = triggers::rules::Engine::new(set);
        }
    }
});
