//! The `tradeflow` command: parses the command line, calls the library,
//! prints errors itself and exits with the documented status
//! (0 done, 2 bad input with nothing written, 1 anything else).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use tradeflow::app::{self, RunOptions};
use tradeflow::charts::ChartFormat;

#[derive(Parser)]
#[command(
    name = "tradeflow",
    version,
    about = "Monte Carlo engine for the trade in AI accelerators under export controls"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate scenarios and write results and charts (no file: the built-in baseline).
    Run(RunArgs),
    /// Validate scenario files and print them resolved; writes nothing.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Override one value after `extends`, e.g. product.H200.price=30000 (repeatable, applied in order).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Redraw the charts of a results folder from its CSV files.
    Plot {
        /// A scenario's results folder, or the output folder of a multi-scenario run.
        dir: PathBuf,
        /// Chart formats.
        #[arg(long, value_delimiter = ',', default_value = "png,svg")]
        charts: Vec<ChartChoice>,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Scenario files; none runs the built-in baseline.
    scenarios: Vec<PathBuf>,
    /// Trials per scenario (overrides the files).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    trials: Option<u64>,
    /// Seed (overrides the files).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Results folder.
    #[arg(long, default_value = "outputs")]
    out: PathBuf,
    /// Chart formats: png, svg, or none.
    #[arg(long, value_delimiter = ',', default_value = "png,svg")]
    charts: Vec<ChartChoice>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Memory for per-month values, MiB (default 768); above it trials are re-run per group of series.
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=1_048_576))]
    memory_mib: Option<u32>,
    /// Override one value of every scenario after `extends`, e.g. product.H200.price=30000 (repeatable, applied in order).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChartChoice {
    Png,
    Svg,
    None,
}

fn formats(choices: &[ChartChoice]) -> Vec<ChartFormat> {
    if choices.contains(&ChartChoice::None) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in choices {
        let f = match c {
            ChartChoice::Png => ChartFormat::Png,
            ChartChoice::Svg => ChartFormat::Svg,
            ChartChoice::None => continue,
        };
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Usage errors are bad input; --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(a) => app::parse_overrides(&a.set).and_then(|overrides| {
            let opts = RunOptions {
                scenarios: a.scenarios,
                trials: a.trials,
                seed: a.seed,
                threads: a.threads.map(usize::from),
                out: a.out,
                charts: formats(&a.charts),
                quiet: a.quiet,
                memory_mib: a.memory_mib.map(|m| m as usize),
                command: std::env::args().collect(),
                overrides,
            };
            app::run(&opts, &STOP).map(|report| {
                for line in &report.lines {
                    println!("{line}");
                }
                if let Some(c) = &report.comparison {
                    println!("comparison → {}", c.display());
                }
            })
        }),
        Command::Check { scenarios, set } => app::parse_overrides(&set)
            .and_then(|overrides| app::check_with(&scenarios, &overrides))
            .map(|text| print!("{text}")),
        Command::Plot { dir, charts } => app::plot(&dir, &formats(&charts)).map(|written| {
            for p in written {
                println!("{}", p.display());
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let status = e.exit_status();
            eprintln!("{:#}", anyhow::Error::from(e));
            ExitCode::from(status as u8)
        }
    }
}
