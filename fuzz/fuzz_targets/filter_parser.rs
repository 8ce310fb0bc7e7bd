//! Any text given to the filter compiler: an error with a position, never
//! a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggers::filter::Filter;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = Filter::new(text) {
            let _ = e.caret(text);
        }
    }
});
