//! The edXML reader (`kyso_edxml::read`, `read_status`) on arbitrary bytes: an answer, never a
//! panic, within its limits; an envelope it accepts is written again and read back the same
//! (the writer and the reader agree on everything the reader keeps).
#![no_main]
use kyso_edxml::{read, read_status, write, write_status, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total: 1 << 20,
        max_attachment: 256 * 1024,
        max_attachments_total: 512 * 1024,
        ..Limits::default()
    };
    if let Ok(e) = read(data, limits) {
        let again = read(&write(&e), Limits::default()).expect("a written envelope is read back");
        assert_eq!(again, e);
    }
    if let Ok(s) = read_status(data, limits) {
        let again = read_status(&write_status(&s), Limits::default()).expect("status read back");
        assert_eq!(again, s);
    }
});
