//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The shared test data directory (`<repo>/../shared/data`), or `None` after
/// printing why the caller should skip.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: shared test data not found at {} (expected next to the repo)",
            p.display()
        );
        None
    }
}
