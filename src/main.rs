//! The `tradeflow` command: parses the command line, calls the library,
//! prints errors itself and exits with the documented status
//! (0 done, 2 bad input with nothing written, 130 / 143 stopped by SIGINT /
//! SIGTERM with nothing written, 1 anything else).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use tradeflow::app::{self, AppError, RunOptions};
use tradeflow::charts::ChartFormat;
use tradeflow::engine::EngineError;
use tradeflow::interrupt;
use tradeflow::whatif::{self, CommonOptions};

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
    /// Alternatives against a base, trial by trial with common random numbers:
    /// paired differences, the chance the alternative is higher, and charts.
    Compare(CompareArgs),
    /// Run a scenario at every point of a grid of one or two varied values.
    Sweep(SweepArgs),
    /// Rank the uncertain inputs by how much they move one outcome (tornado chart).
    Sensitivity(SensitivityArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Scenario files; none runs the built-in baseline.
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Options shared by run, compare, sweep and sensitivity.
#[derive(Args)]
struct CommonArgs {
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

impl CommonArgs {
    fn options(self) -> CommonOptions {
        CommonOptions {
            trials: self.trials,
            seed: self.seed,
            threads: self.threads.map(usize::from),
            out: self.out,
            charts: formats(&self.charts),
            quiet: self.quiet,
            memory_mib: self.memory_mib.map(|m| m as usize),
            command: std::env::args().collect(),
            set: self.set,
        }
    }
}

#[derive(Args)]
struct CompareArgs {
    /// The base scenario file.
    base: PathBuf,
    /// One or more alternative scenario files (same start and months as the base).
    #[arg(required = true)]
    alternatives: Vec<PathBuf>,
    /// Run the alternatives under this seed instead of the base's: NOT paired
    /// (to measure what pairing gains).
    #[arg(long)]
    unpaired_seed: Option<u64>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct SweepArgs {
    /// The scenario file; none sweeps the built-in baseline.
    scenario: Option<PathBuf>,
    /// PATH=FROM:TO:STEP or PATH=v1,v2,...; once for a line chart, twice for a heatmap.
    #[arg(long, required = true, value_name = "PATH=VALUES")]
    vary: Vec<String>,
    /// Horizon metric to chart, METRIC:ENTITY (repeatable; default: the domestic mean share of compute).
    #[arg(long, value_name = "METRIC:ENTITY")]
    metric: Vec<String>,
    /// Also write each grid point's full run folder (timeseries, summary, trials) under points/.
    #[arg(long)]
    point_files: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct SensitivityArgs {
    /// The scenario file; none analyses the built-in baseline.
    scenario: Option<PathBuf>,
    /// The outcome, METRIC:ENTITY, e.g. final_share_compute:CN.
    #[arg(long, value_name = "METRIC:ENTITY")]
    metric: String,
    /// For a monthly metric (e.g. share_compute), the month YYYY-MM.
    #[arg(long)]
    month: Option<String>,
    /// Inputs shown in the tornado chart (all are in sensitivity.csv).
    #[arg(long, default_value_t = whatif::sensitivity::DEFAULT_TOP as u16, value_parser = clap::value_parser!(u16).range(1..=60))]
    top: u16,
    /// The swing the tornado draws: mean (default) or median of the outcome over the input's extreme deciles.
    #[arg(long, value_enum, default_value = "mean")]
    swing: SwingChoice,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SwingChoice {
    Mean,
    Median,
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

/// Prints a line to standard output; a closed pipe (`| head`) is not an error.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Prints a line to standard error, ignoring a closed pipe as [`say`] does.
fn say_err(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Usage errors are bad input; --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // The commands that simulate stop tidily on Ctrl-C or SIGTERM.
    if matches!(
        cli.command,
        Command::Run(_) | Command::Compare(_) | Command::Sweep(_) | Command::Sensitivity(_)
    ) && let Err(e) = interrupt::install(&STOP)
    {
        // Without handlers Ctrl-C still ends the run, only less tidily.
        say_err(&format!("warning: cannot watch for Ctrl-C: {e}"));
    }
    let result = match cli.command {
        Command::Run(a) => app::parse_overrides(&a.common.set).and_then(|overrides| {
            let c = a.common.options();
            let opts = RunOptions {
                scenarios: a.scenarios,
                trials: c.trials,
                seed: c.seed,
                threads: c.threads,
                out: c.out,
                charts: c.charts,
                quiet: c.quiet,
                memory_mib: c.memory_mib,
                command: c.command,
                overrides,
            };
            app::run(&opts, &STOP).map(|report| {
                for line in &report.lines {
                    say(line);
                }
                if let Some(c) = &report.comparison {
                    say(&format!("comparison → {}", c.display()));
                }
            })
        }),
        Command::Compare(a) => {
            let opts = whatif::compare::CompareOptions {
                base: a.base,
                alternatives: a.alternatives,
                alt_seed: a.unpaired_seed,
                common: a.common.options(),
            };
            whatif::compare::compare(&opts, &STOP).map(|report| {
                for line in &report.lines {
                    say(line);
                }
            })
        }
        Command::Sweep(a) => {
            let opts = whatif::sweep::SweepOptions {
                scenario: a.scenario,
                vary: a.vary,
                metrics: a.metric,
                point_files: a.point_files,
                common: a.common.options(),
            };
            whatif::sweep::sweep(&opts, &STOP).map(|report| {
                for line in &report.lines {
                    say(line);
                }
            })
        }
        Command::Sensitivity(a) => {
            let opts = whatif::sensitivity::SensitivityOptions {
                scenario: a.scenario,
                metric: a.metric,
                month: a.month,
                top: usize::from(a.top),
                swing: match a.swing {
                    SwingChoice::Mean => whatif::sensitivity::Swing::Mean,
                    SwingChoice::Median => whatif::sensitivity::Swing::Median,
                },
                common: a.common.options(),
            };
            whatif::sensitivity::sensitivity(&opts, &STOP).map(|report| {
                for line in &report.lines {
                    say(line);
                }
            })
        }
        Command::Check { scenarios, set } => app::parse_overrides(&set)
            .and_then(|overrides| app::check_with(&scenarios, &overrides))
            .map(|text| say(text.trim_end())),
        Command::Plot { dir, charts } => app::plot(&dir, &formats(&charts)).map(|written| {
            for p in written {
                say(&p.display().to_string());
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(AppError::Engine(EngineError::Interrupted)) => {
            let status = interrupt::exit_status();
            let by = interrupt::received().map_or_else(String::new, |s| {
                format!(" by {}", interrupt::signal_name(s))
            });
            say_err(&format!(
                "error: interrupted{by}: no results written; previous results are untouched"
            ));
            ExitCode::from(status as u8)
        }
        Err(e) => {
            let status = e.exit_status();
            let message = format!("{:#}", anyhow::Error::from(e));
            // Every message starts as the scenario problems do.
            if message.starts_with("error:") {
                say_err(&message);
            } else {
                say_err(&format!("error: {message}"));
            }
            ExitCode::from(status as u8)
        }
    }
}
