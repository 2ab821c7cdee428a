//! Reading the files a service is configured with, under a size limit.

use std::path::Path;

/// The bytes of `path` if it is at most `max` bytes long (`InvalidData` when larger).
pub fn read_limited(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > max as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    std::fs::read(path)
}
