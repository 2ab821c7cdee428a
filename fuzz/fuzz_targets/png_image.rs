//! PNG decoding (signature and seal images uploaded by users) under tight limits, then the
//! Image XObject built from it.
#![no_main]
use kyso_pdf::image::{decode_png, ImageLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ImageLimits {
        max_bytes: 1 << 20,
        max_width: 2_000,
        max_height: 2_000,
        max_pixels: 1 << 20,
    };
    if let Ok(img) = decode_png(data, &limits) {
        let _ = img.size_pt();
    }
});
