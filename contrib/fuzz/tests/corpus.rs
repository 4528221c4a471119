//! Replays every committed seed (`corpus/<target>/*`) and every saved crash
//! (`regressions/<target>/*`) through the target's checks, without a fuzzer: this runs on the
//! stable toolchain with a plain `cargo test`, and keeps the seeds valid as the code changes.

use gearmand_fuzz::{check_by_name, TARGETS};
use std::path::Path;

fn replay_dir(kind: &str, target: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target);
    let check = check_by_name(target).expect("known target");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    let failed: Vec<String> = paths
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "inputs failing their checks: {failed:#?}"
    );
    paths.len()
}

#[test]
fn every_target_has_seeds_and_they_pass() {
    for target in TARGETS {
        let n = replay_dir("corpus", target);
        assert!(n > 0, "no seeds for {target}");
    }
}

#[test]
fn saved_crash_inputs_pass() {
    for target in TARGETS {
        replay_dir("regressions", target);
    }
}
