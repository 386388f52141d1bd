//! `clusterd-pause`: the process the pause (sandbox) image runs. See `clusterd_cri::pause`.
//!
//! It is built like any other binary; `ImageBuilder::binary_with_libraries` copies the shared
//! libraries it needs into the image. A fully static build works too and makes a smaller image:
//! `RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu -p clusterd-cri --bin clusterd-pause`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("clusterd-pause: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(clusterd_cri::pause::pause_until_signalled()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clusterd-pause: cannot wait for signals: {e}");
            ExitCode::FAILURE
        }
    }
}
