#![no_main]
//! The agentless collector's reading of a target's answer (untrusted bytes
//! from a remote host): framing, rpm -qa lines, and the inventory built
//! from them never panic; a parsed answer always ends in its final frame.

use kensa_agentless::collect;
use kensa_agentless::script;
use kensa_agentless::SshTarget;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in String::from_utf8_lossy(data).lines() {
        let _ = collect::parse_rpm_line(line);
    }
    // The boundary is the fuzzer's to guess: it is short here so that
    // framed inputs are reachable.
    if let Ok(answer) = script::parse(data, "B") {
        assert!(data.ends_with(b"\nB DONE\n"));
        if let Ok(t) = SshTarget::new("fuzz", "127.0.0.1", 22) {
            let _ = collect::inventory(&t, &answer);
        }
    }
});
