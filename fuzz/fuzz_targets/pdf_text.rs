//! The content-stream interpreter and the ToUnicode CMap parser. The input is split at the
//! first 0xFF byte: before it, a ToUnicode CMap for a Type0 font `/F2`; after it, the page
//! content, which may also use a WinAnsi simple font `/F1`.
#![no_main]
use kyso_pdf::text::cmap::CMap;
use kyso_pdf::text::interpret_content;
use kyso_pdf::{Dict, Limits, Object, Stream, StreamData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_decoded_stream: 1 << 20,
        ..Limits::default()
    };
    let (cmap, content) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let _ = CMap::parse(cmap, &limits);
    let mut f1 = Dict::new();
    f1.set("Type", Object::name("Font"));
    f1.set("Subtype", Object::name("Type1"));
    f1.set("BaseFont", Object::name("Times-Roman"));
    f1.set("Encoding", Object::name("WinAnsiEncoding"));
    let mut f2 = Dict::new();
    f2.set("Type", Object::name("Font"));
    f2.set("Subtype", Object::name("Type0"));
    f2.set("Encoding", Object::name("Identity-H"));
    f2.set(
        "ToUnicode",
        Object::Stream(Stream {
            dict: Dict::new(),
            data: StreamData::Owned(cmap.to_vec()),
        }),
    );
    let mut fonts = Dict::new();
    fonts.set("F1", Object::Dict(f1));
    fonts.set("F2", Object::Dict(f2));
    let mut res = Dict::new();
    res.set("Font", Object::Dict(fonts));
    let _ = interpret_content(content, &res, &limits);
});
