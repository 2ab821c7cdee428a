//! The object lexer on arbitrary bytes: every object in sequence, as in an object stream; and
//! the writer on what was read: it writes back the same value (reals, names and strings keep
//! their source text), and writing that again gives the same bytes.
#![no_main]
use kyso_pdf::lexer::Lexer;
use kyso_pdf::writer::write_object;
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
    if let Ok(obj) = Lexer::new(data, 0, &limits).object() {
        let mut once = Vec::new();
        write_object(&mut once, &obj);
        let again = Lexer::new(&once, 0, &limits)
            .object()
            .expect("a written object reads back");
        assert!(
            again == obj,
            "{obj:?} written as {once:?} reads as {again:?}"
        );
        let mut twice = Vec::new();
        write_object(&mut twice, &again);
        assert_eq!(once, twice);
    }
});
