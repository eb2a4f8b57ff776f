//! With `media-ffmpeg`, link FFmpeg's libavutil found through pkg-config, as upstream's ffmpeg-sys-next does:
//! the wheel builder needs FFmpeg's headers, libraries and .pc files, the runtime image its shared libraries.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if std::env::var_os("CARGO_FEATURE_MEDIA_FFMPEG").is_none() {
        return;
    }
    let output = Command::new("pkg-config")
        .args(["--libs", "libavutil"])
        .output()
        .unwrap_or_else(|error| panic!("media-ffmpeg: cannot run pkg-config: {error}"));
    if !output.status.success() {
        panic!(
            "media-ffmpeg: pkg-config finds no libavutil (FFmpeg's development files): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    for flag in String::from_utf8_lossy(&output.stdout).split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }
}
