//! Helpers shared by this package's integration tests.

use std::path::PathBuf;

/// This package's folder, asked of cargo at run time first: a test binary
/// that cargo reuses from a shared target directory may have been compiled
/// in another checkout, whose path `env!` would have baked in.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}
