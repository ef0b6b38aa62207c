//! The `lanchat` executable: parse flags, open history, bind, print where to
//! connect, serve until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use lanchat::{App, Args, Config, bind, print_banner};

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

fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = App::open(&config)?;
        let (listener, note) = bind(&config).await?;
        print_banner(
            listener.local_addr()?,
            config.password.as_deref(),
            &app.history_location(),
            note.as_deref(),
            config.show_qr,
        );
        app.serve(listener, shutdown_signal()).await
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

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
