//! The chisels' details that sysdig users notice: a misspelled chisel's
//! nearest name.

use super::{scap_samples, syscap};

/// A misspelled chisel gets one line naming the nearest chisel.
#[test]
fn a_misspelled_chisel_gets_a_did_you_mean() {
    let curl = scap_samples().join("curl_google.scap");
    let curl = curl.to_str().unwrap();
    for (typed, want) in [
        ("topscals", "did you mean topscalls?"),
        ("topfile_bytes", "did you mean topfiles_bytes?"),
        ("lsfo", "did you mean lsof?"),
    ] {
        let (code, out, err) = syscap(&["chisel", typed, curl]);
        assert_eq!(code, 2, "{typed}: {out}");
        assert!(
            err.contains(&format!("no chisel named '{typed}' ({want}")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let (code, _, err) = syscap(&["chisel", "zzzzzzzz", curl]);
    assert_eq!(code, 2);
    assert!(!err.contains("did you mean"), "{err}");
}
