//! `--open`: the chat in this machine's default browser, once lanchat is
//! listening. Each desktop has a command that opens a URL in whatever
//! browser the person chose; lanchat runs it and does not wait. If it
//! fails, the server keeps serving and says to open the URL by hand.

use std::process::{Command, Stdio};

/// Opens `url` in the default browser, in the background.
pub fn open_in_browser(url: &str) {
    let mut command = opener(url);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let program = command.get_program().to_string_lossy().into_owned();
    let url = url.to_owned();
    // Waited for on a thread of its own: the opener may take a while (or
    // run the browser itself), and must not be left a zombie.
    std::thread::spawn(move || {
        let outcome = command.spawn().and_then(|mut child| child.wait());
        match outcome {
            Ok(status) if status.success() || cfg!(windows) => {}
            Ok(status) => log::warn!("{program} could not open a browser ({status}); open {url}"),
            Err(err) => log::warn!("cannot run {program} to open a browser ({err}); open {url}"),
        }
    });
}

/// The command that opens a URL in the default browser. On Windows the
/// URL handler is asked directly, not through `cmd /c start`, so `%` and
/// `&` in the URL are not the shell's. (Its exit status means nothing.)
fn opener(url: &str) -> Command {
    #[cfg(windows)]
    let command = {
        let mut command = Command::new("rundll32");
        command.args(["url.dll,FileProtocolHandler", url]);
        command
    };
    #[cfg(target_os = "macos")]
    let command = {
        let mut command = Command::new("open");
        command.arg(url);
        command
    };
    #[cfg(not(any(windows, target_os = "macos")))]
    let command = {
        let mut command = Command::new("xdg-open");
        command.arg(url);
        command
    };
    command
}
