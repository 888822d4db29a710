//! Console output on Windows: why the CLI sets no code page.
//!
//! The summary's labels are Japanese (`カード種別 / Card type`), and `cmd.exe` shows
//! text written to it as bytes in the console's code page (932 on Japanese Windows,
//! 437 or 1252 elsewhere), where UTF-8 bytes become mojibake. The usual remedy,
//! `SetConsoleOutputCP(65001)` at start, needs an `unsafe` call (this workspace keeps
//! `unsafe` in the C library crate only) and would change the code page of the
//! console window for every later program in it.
//!
//! It is not needed: everything the CLI prints goes through Rust's standard library
//! (`std::io::stdout`/`stderr`: the `out!`/`outln!` macros, `eprintln!`, clap's help),
//! which on Windows writes to a *console* handle as UTF-16 with `WriteConsoleW`, so
//! Japanese text is shown as such whatever the console's code page (with a font that
//! has the glyphs: the default fonts of Japanese Windows, and "MS Gothic" or
//! "Cascadia Mono" elsewhere). The card number typed at the console is read back the
//! same way (`ReadConsoleW`). `scripts/windows test` checks this under Wine's console
//! on a pseudo-terminal.
//!
//! When the output is *redirected* (`zairyu read ... > report.txt`, a pipe), the bytes
//! are UTF-8, as on every platform: the JSON report is UTF-8 by definition, and a
//! program that reads the text in the ANSI code page (`type report.txt` in a console
//! set to 932) shows it as mojibake. `README-windows.md` says so (`chcp 65001`, or
//! PowerShell's `Get-Content -Encoding utf8`). So this module holds no code: it
//! records the decision where the next reader of `main.rs` looks for it.
