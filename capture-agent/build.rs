//! Compiles the kernel side (C, CO-RE) with clang into `$OUT_DIR/syscap.bpf.o`,
//! which the agent embeds.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = "bpf/syscap.bpf.c";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=bpf/syscap.h");
    println!("cargo:rerun-if-env-changed=SYSCAP_CLANG");
    let clang = env::var("SYSCAP_CLANG").unwrap_or_else(|_| "clang".to_owned());
    let object = out.join("syscap.bpf.o");
    let status = Command::new(&clang)
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
            "-I/usr/include/x86_64-linux-gnu",
            "-c",
            source,
            "-o",
        ])
        .arg(&object)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile {source} ({s})"),
        Err(e) => panic!(
            "cannot run {clang} to compile {source}: {e} (install clang and libbpf-dev: scripts/setup.sh)"
        ),
    }
}
