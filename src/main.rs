//! The `lanchat` executable: parse flags, open history, bind, announce the
//! `.local` name, print where to connect, serve until Ctrl-C or SIGTERM,
//! then withdraw the name. Or one of the subcommands: `migrate`,
//! `healthcheck`, `trust`, `export`, `send`, `host-link`.

use std::future::Future;
use std::process::ExitCode;

use clap::Parser;
use lanchat::{
    App, Args, Banner, Command, Config, bind, healthcheck, local_url, open_in_browser, print_banner,
};

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
            keep_window_open();
            return ExitCode::from(2);
        }
    };
    init_logging();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lanchat: {err:#}");
            keep_window_open();
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.command.take() {
        Some(Command::Migrate { from, to }) => {
            let moved = runtime.block_on(lanchat::migrate(&from, &to))?;
            println!("{moved}");
            return Ok(());
        }
        Some(Command::Healthcheck { port, bind }) => {
            let key = args.password.as_deref().filter(|key| !key.is_empty());
            println!("{}", runtime.block_on(healthcheck(bind, port, key))?);
            return Ok(());
        }
        Some(Command::Trust) => {
            let config = Config::from_args(args)?;
            return runtime.block_on(lanchat::print_trust(&config));
        }
        Some(Command::Export { room, format, out }) => {
            let config = Config::from_args(args)?;
            let done = runtime.block_on(lanchat::export_history(&config, room, format, out))?;
            println!("{done}");
            return Ok(());
        }
        Some(Command::Send {
            url,
            token,
            room,
            idempotency_key,
            ca,
            text,
        }) => {
            let ca = match ca {
                Some(ca) => ca,
                None => Config::from_args(args)?.data_dir().join(lanchat::CA_FILE),
            };
            let message = lanchat::BotMessage {
                url,
                token,
                room,
                text,
                idempotency_key,
                ca,
            };
            println!("{}", runtime.block_on(lanchat::send_as_bot(message))?);
            return Ok(());
        }
        Some(Command::HostLink) => {
            let config = Config::from_args(args)?;
            println!("{}", runtime.block_on(lanchat::new_host_link(&config))?);
            return Ok(());
        }
        None => {}
    }
    let config = Config::from_args(args)?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let app = App::open(&config).await?;
        let listeners = bind(&config).await?;
        let addr = listeners.chat.local_addr()?;
        let calls = app.start_calls(addr.port())?;
        let metrics = listeners
            .metrics
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?;
        let name = app.announce(&config, &listeners).await;
        let event = app.event();
        let banner = Banner {
            chat: addr,
            // Read once the name is announced: the certificate then covers it.
            tls: app.tls_banner(&listeners)?,
            key: config.password.as_deref(),
            history: &config.describe_history(),
            notes: &listeners.notes,
            calls: calls.as_ref(),
            show_qr: config.show_qr,
            name: name.as_ref(),
            metrics,
            host_secret: app.host_secret(),
            event: event.as_deref(),
        };
        print_banner(&banner);
        if config.open_browser {
            open_in_browser(&local_url(
                addr,
                banner.tls.as_ref(),
                config.password.as_deref(),
            ));
        }
        let served = app.serve(listeners, shutdown).await;
        if let Some(name) = name {
            name.withdraw().await;
        }
        served
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

/// Double-clicked on Windows, lanchat runs in a console window of its own,
/// which closes the moment it exits, so an error would flash by unread: then
/// it waits for Enter first. Started from a terminal (which shares its
/// console) or with its input redirected, it exits at once.
#[cfg(windows)]
fn keep_window_open() {
    use std::io::IsTerminal;
    use windows_sys::Win32::System::Console::GetConsoleProcessList;
    let mut attached = [0u32; 2];
    // SAFETY: the buffer is valid for writes of its length, as the call
    // requires; it only writes process ids into it.
    let count = unsafe { GetConsoleProcessList(attached.as_mut_ptr(), attached.len() as u32) };
    if count == 1 && std::io::stdin().is_terminal() {
        eprint!("\nPress Enter to close this window.");
        let _ = std::io::stdin().read_line(&mut String::new());
    }
}

#[cfg(not(windows))]
fn keep_window_open() {}
