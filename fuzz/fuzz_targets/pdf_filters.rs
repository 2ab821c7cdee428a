//! Stream decoders with their parameters chosen by the first byte of the input.
#![no_main]
use kyso_pdf::filter::decode;
use kyso_pdf::{Dict, Object};
use libfuzzer_sys::fuzz_target;

const FILTERS: [&str; 4] = ["FlateDecode", "LZWDecode", "ASCIIHexDecode", "ASCII85Decode"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut dict = Dict::new();
    let filter = FILTERS[usize::from(sel & 3)];
    if sel & 4 != 0 {
        dict.set(
            "Filter",
            Object::Array(vec![Object::name("ASCIIHexDecode"), Object::name(filter)]),
        );
    } else {
        dict.set("Filter", Object::name(filter));
    }
    if sel & 8 != 0 {
        let mut parms = Dict::new();
        parms.set("Predictor", Object::Int(if sel & 16 != 0 { 12 } else { 2 }));
        parms.set("Columns", Object::Int(i64::from(sel >> 5) + 1));
        parms.set("Colors", Object::Int(i64::from(sel >> 6) + 1));
        dict.set("DecodeParms", Object::Dict(parms));
    }
    let _ = decode(&dict, rest, 1 << 20);
});
