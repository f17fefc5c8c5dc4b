//! Any bytes: the decoder accepts or rejects with a reason, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmwatch::event::Decoder;

fuzz_target!(|bytes: &[u8]| {
    let _ = Decoder::default().decode(bytes);
});
