//! Shared by the integration-test binaries.

use std::path::Path;

pub mod hostile;

/// Copies a folder tree (a fixture site, the Jekyll corpus) into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The real binary run on the site at `root` (`-C root`).
#[allow(dead_code)] // not every test binary runs herald this way
pub fn herald(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("herald")
        .unwrap()
        .arg("-C")
        .arg(root)
        .args(args)
        .assert()
}
