//! The `lanchat` executable: parse flags, open history, bind, print where to
//! connect, serve until Ctrl-C or SIGTERM.

use std::future::Future;
use std::process::ExitCode;

use clap::Parser;
use lanchat::{App, Args, Command, Config, bind, print_banner};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => err.exit(), // --help, --version
        Err(err) => {
            // One clear line, like every other start-up error.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!(
                "lanchat: {} (see --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    init_logging();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lanchat: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(Command::Migrate { from, to }) = args.command.take() {
        let moved = runtime.block_on(lanchat::migrate(&from, &to))?;
        println!("{moved}");
        return Ok(());
    }
    let config = Config::from_args(args)?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let app = App::open(&config).await?;
        let (listener, note) = bind(&config).await?;
        print_banner(
            listener.local_addr()?,
            config.password.as_deref(),
            &app.history_location(),
            note.as_deref(),
            config.show_qr,
        );
        app.serve(listener, shutdown).await
    })
}

/// Logs go to stderr; `RUST_LOG` overrides the default of info for lanchat.
fn init_logging() {
    let mut builder = pretty_env_logger::formatted_builder();
    match std::env::var("RUST_LOG") {
        Ok(filter) => builder.parse_filters(&filter),
        Err(_) => builder.parse_filters("warn,lanchat=info"),
    };
    builder.init();
}

/// Installs the Ctrl-C and SIGTERM handlers now, and returns what completes
/// on either. Installing them before the URLs are printed matters: a signal
/// that arrived while the server was already serving but before the
/// handlers existed would kill it without its clean shutdown.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
