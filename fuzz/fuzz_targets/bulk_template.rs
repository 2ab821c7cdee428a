//! The CA's bulk template of subscribers as a clerk uploads it (CSV, any bytes): reading it
//! never panics, every row read has one cell per template column, problems name a row of the
//! file, and no more than the row limit is ever read.
#![no_main]

use kyso_domain::bulk::{read_template, MAX_ROWS, TEMPLATE_COLUMNS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sheet) = read_template(data) {
        assert!(sheet.rows.len() <= MAX_ROWS);
        for r in &sheet.rows {
            assert_eq!(r.cells.len(), TEMPLATE_COLUMNS.len());
            assert!(r.row >= 2, "row 1 is the header");
        }
        assert!(sheet.errors.iter().all(|e| e.row >= 1));
        assert!(!sheet.rows.is_empty() || !sheet.errors.is_empty());
    }
});
