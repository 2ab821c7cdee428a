//! The object lexer on arbitrary bytes: every object in sequence, as in an object stream.
#![no_main]
use kyso_pdf::lexer::Lexer;
use kyso_pdf::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 32,
        max_container_len: 10_000,
        max_token_bytes: 1 << 16,
        ..Limits::default()
    };
    let mut lx = Lexer::new(data, 0, &limits);
    for _ in 0..1_000 {
        lx.skip_ws();
        if lx.at_end() {
            break;
        }
        let before = lx.pos();
        if lx.object().is_err() || lx.pos() == before {
            break;
        }
    }
    let mut lx = Lexer::new(data, 0, &limits);
    let _ = lx.indirect_body();
});
