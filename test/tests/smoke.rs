//! The executables exist, are static, and do not pretend to do what is not built.

use python_s2i_tests::bin;
use std::process::Command;

#[test]
fn executables_are_statically_linked() {
    for name in ["assemble", "run", "save-artifacts", "usage", "write-sbom"] {
        let out = Command::new("file")
            .arg("-L")
            .arg(bin(name))
            .output()
            .expect("run file(1)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("statically linked") || text.contains("static-pie linked"),
            "{name} is not static: {text}"
        );
    }
}
