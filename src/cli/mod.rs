//! Command-line arguments, their resolution into a run, and what the user
//! sees at the end. Exit status: 0 all inputs scored, 1 some failed, 2 usage
//! or configuration error.

mod connector;
mod jobs;
mod plan;
mod report;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use iorready::mapping::{Mapping, MappingSet};
use iorready::model::Country;
use iorready::pipeline::{run_score, Progress, RunError, ScoreRequest};
use iorready::scoring::{Profile, DEFAULT_PROFILE};
use iorready::terminal::{escape_controls, EscapedStderr};

/// Scores importer-of-record providers country by country from their
/// questionnaire workbooks, and explains every score on the cells that
/// caused it.
#[derive(Debug, Parser)]
#[command(name = "iorready", version, about, max_term_width = 100)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log lines as text (for a terminal) or JSON (one object per line, for
    /// a log collector).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the jobs file and everything it references (connectors,
    /// mappings, profiles), offline unless --online.
    Validate {
        #[command(flatten)]
        config: ConfigArg,
        /// Also check each connector against its API (token, first page).
        #[arg(long)]
        online: bool,
    },
    /// Run the jobs once (or one with --job) and exit: for cron, systemd
    /// timers and Kubernetes CronJobs.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// Score as of this date (YYYY-MM-DD); default today in the job's
        /// time zone.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Read connectors from their start instead of the saved cursors,
        /// so that suppliers or files deleted at the vendor are noticed.
        #[arg(long)]
        full_sync: bool,
    },
    /// Keep running, firing each job on its schedule, until SIGTERM or
    /// SIGINT.
    Daemon {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Each job's last and next run.
    Status {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// A provider's tiers over time (by provider id or name).
    History {
        #[command(flatten)]
        config: ConfigArg,
        /// The provider's id or name.
        provider: String,
        /// Only this country (ISO alpha-2).
        #[arg(long)]
        country: Option<String>,
    },
    /// Score questionnaire workbooks: annotated copies, a portfolio workbook
    /// and optionally a JSON result.
    Score(ScoreArgs),
    /// Write the blank reference questionnaire (v1) to send to providers,
    /// or with --rollout a rollout workbook to plan with.
    Template {
        /// Countries to list, as ISO codes or names, separated by commas.
        #[arg(long, value_delimiter = ',')]
        countries: Vec<String>,
        /// Write a rollout workbook (sheets Rollout and Options) instead.
        #[arg(long)]
        rollout: bool,
        /// The workbook to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Plan a rollout: for each target country a primary provider and a
    /// fallback, with as few providers as possible, and the gaps. Exit
    /// status 0 when every country has what it asked for, 1 with gaps.
    Plan(PlanCli),
    /// Print the default scoring profile, to copy and edit.
    Profile,
    /// Tools for writing mapping files.
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Connectors to vendor-management and ERP APIs.
    Connector {
        /// The folder of connector definitions.
        #[arg(long, global = true, default_value = "connectors")]
        connectors: PathBuf,
        #[command(subcommand)]
        command: ConnectorCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectorCommand {
    /// Check a connector step by step: definition, secrets, token, first
    /// page.
    Check {
        /// The connector's name.
        name: String,
    },
    /// Read a stream and print its records as JSON lines (no writes).
    Read {
        /// The connector's name.
        name: String,
        /// The stream; default the first.
        #[arg(long)]
        stream: Option<String>,
        /// Stop after this many records.
        #[arg(long)]
        limit: Option<usize>,
        /// For an incremental stream: read the changes since this date-time
        /// (RFC 3339, e.g. 2026-11-01T00:00:00Z) as if it were the saved
        /// cursor.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

#[derive(Debug, Subcommand)]
enum MappingCommand {
    /// Show what a mapping reads in a workbook (or JSON document), field by
    /// field; exit status 1 when a mandatory field is not found.
    Check {
        /// The mapping file.
        mapping: PathBuf,
        /// The workbook, or a JSON document for a records mapping.
        workbook: PathBuf,
    },
    /// Write a draft mapping for a workbook, every guess marked for review.
    Suggest {
        /// The workbook.
        workbook: PathBuf,
        /// Write the draft here instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct PlanCli {
    /// The rollout: a workbook (see `template --rollout`) or a TOML file.
    rollout: PathBuf,
    /// Workbooks or folders to score and plan with.
    #[arg(conflicts_with = "from", required_unless_present = "from")]
    inputs: Vec<PathBuf>,
    /// Plan with the providers of a JSON result (`score --json`) instead.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Output folder for plan.xlsx (and, when inputs are scored, their
    /// annotated copies, portfolio.xlsx and result.json).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Also write the plan as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Stop the search after this many seconds with the best plan found
    /// and its bound.
    #[arg(long, default_value_t = 30.0)]
    time_limit: f64,
    /// Plan without this provider too (repeatable), and show what losing
    /// it costs against the plan with it.
    #[arg(long)]
    exclude: Vec<String>,
    /// Score as of this date (YYYY-MM-DD); default today.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// A scoring profile; default the built-in one.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Choose each workbook's mapping among the mapping files in this
    /// folder; default `mappings/` when it exists.
    #[arg(long)]
    mappings: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// The jobs file.
    #[arg(long, default_value = "iorready.toml")]
    config: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
struct ScoreArgs {
    /// Workbooks, or folders searched for xlsx, xlsm, xlsb, xls and ods;
    /// JSON documents of records.
    #[arg(required_unless_present = "connectors")]
    inputs: Vec<PathBuf>,
    /// Output folder for the annotated workbooks and portfolio.xlsx.
    #[arg(long)]
    out: PathBuf,
    /// Also write the result as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Score as of this date (YYYY-MM-DD); default today.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// A scoring profile (see `iorready profile`); default the built-in one.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Use this mapping file for every workbook.
    #[arg(long, conflicts_with = "mappings")]
    mapping: Option<PathBuf>,
    /// Choose each workbook's mapping among the mapping files in this
    /// folder (and the built-in questionnaire-v1); default `mappings/` when
    /// it exists.
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// The deployment requires provider-handled product compliance: countries
    /// where it is not supported are knocked out.
    #[arg(long)]
    require_provider_compliance: bool,
    /// Also score the workbooks of this connector's file streams
    /// (attachments, drive items); repeatable.
    #[arg(long = "connector")]
    connectors: Vec<String>,
    /// The folder of connector definitions.
    #[arg(long, default_value = "connectors")]
    connectors_dir: PathBuf,
    /// Show what would be written back to the connectors, write nothing
    /// there.
    #[arg(long)]
    dry_run: bool,
    /// Worker threads; default one per core (one more thread writes the
    /// portfolio's Flags sheet as workbooks finish).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
}

impl ScoreArgs {
    /// The scoring a plan runs over its inputs.
    fn for_plan(p: &PlanCli) -> Self {
        ScoreArgs {
            inputs: Vec::new(),
            out: PathBuf::new(),
            json: None,
            as_of: p.as_of,
            profile: p.profile.clone(),
            mapping: None,
            mappings: p.mappings.clone(),
            require_provider_compliance: false,
            connectors: Vec::new(),
            connectors_dir: PathBuf::from("connectors"),
            dry_run: false,
            jobs: 0,
            quiet: true,
        }
    }

    /// These arguments for other inputs, output folder and JSON result.
    fn clone_for(&self, inputs: Vec<PathBuf>, out: PathBuf, json: PathBuf) -> Self {
        ScoreArgs {
            inputs,
            out,
            json: Some(json),
            ..self.clone()
        }
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date in YYYY-MM-DD form"))
}

/// Where mapping files are looked for by default.
const DEFAULT_MAPPINGS: &str = "mappings";

/// Exit statuses.
pub(crate) const PARTIAL: u8 = 1;
pub(crate) const USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let service = matches!(cli.command, Command::Daemon { .. } | Command::Run { .. });
    init_logging(cli.verbose, cli.log_format, service);
    install_panic_hook();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("iorready: {}", escape_controls(&format!("{e:#}")));
            ExitCode::from(if is_runtime_failure(&e) { PARTIAL } else { USAGE })
        }
    }
}

/// A failure of the run itself (an API that refused or could not be
/// reached, an output that could not be written) rather than of what the
/// user asked: exit 1, so that a scheduler retries it, where a usage or
/// configuration error (exit 2) needs a person.
fn is_runtime_failure(e: &anyhow::Error) -> bool {
    use iorready::connectors::{ConnectorError, ExchangeError};
    e.chain().any(|cause| {
        cause.is::<ConnectorError>()
            || cause.is::<iorready::sinks::SinkError>()
            || cause.is::<iorready::planning::solver::SolveError>()
            || cause.downcast_ref::<ExchangeError>().is_some_and(|x| {
                !matches!(
                    x,
                    ExchangeError::Config(_) | ExchangeError::NoFileStream(_) | ExchangeError::Mapping(_)
                )
            })
            || cause.downcast_ref::<RunError>().is_some_and(|x| {
                !matches!(
                    x,
                    RunError::NoInputs { .. } | RunError::Input(_) | RunError::OutDir { .. }
                )
            })
    })
}

fn init_logging(verbose: u8, format: LogFormat, service: bool) {
    let default = match verbose {
        // A service is watched through its logs: its runs show by default.
        0 if service => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: a file or a pipe gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour);
    let _ = match format {
        LogFormat::Text => builder.with_writer(EscapedStderr { colour }).try_init(),
        // JSON strings escape control characters themselves.
        LogFormat::Json => builder
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// A panic inside one workbook's reader is caught and reported against the
/// file; this keeps the raw panic text out of the user's terminal.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::debug!(%location, "panic caught while reading a workbook: {info}");
    }));
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Profile => {
            print!("{DEFAULT_PROFILE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Template {
            countries,
            rollout: true,
            out,
        } => {
            let countries = resolve_countries(&countries)?;
            let targets: Vec<_> = countries
                .iter()
                .map(|c| iorready::planning::rollout::Target::new(*c))
                .collect();
            iorready::sinks::write_rollout_template(&out, &targets, &Default::default())?;
            println!("Wrote {} ({} countries listed)", out.display(), targets.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(p) => plan::plan(plan::PlanArgs {
            score: ScoreArgs::for_plan(&p),
            rollout: p.rollout,
            inputs: p.inputs,
            from: p.from,
            out: p.out,
            json: p.json,
            time_limit: p.time_limit,
            exclude: p.exclude,
        }),
        Command::Template { countries, out, .. } => {
            let countries = resolve_countries(&countries)?;
            iorready::template::write_template(&out, &countries)?;
            println!("Wrote {} ({} countries listed)", out.display(), countries.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(args) => score(args),
        Command::Validate { config, online } => jobs::validate(&config.config, online, connector::check),
        Command::Run {
            config,
            job,
            as_of,
            full_sync,
        } => jobs::run(&config.config, job.as_deref(), as_of, full_sync),
        Command::Daemon { config } => jobs::daemon(&config.config),
        Command::Status { config } => jobs::status(&config.config),
        Command::History {
            config,
            provider,
            country,
        } => jobs::history(&config.config, &provider, country.as_deref()),
        Command::Mapping(MappingCommand::Check { mapping, workbook }) => {
            let mapping = Mapping::load(&mapping)?;
            let report = if iorready::sources::is_json_name(&workbook) {
                iorready::mapping::check_records(&mapping, &iorready::sources::read_json(&workbook)?)
            } else {
                iorready::mapping::check(&mapping, &iorready::sources::read_workbook(&workbook)?)
            };
            print!("{report}");
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(PARTIAL)
            })
        }
        Command::Connector { connectors, command } => match command {
            ConnectorCommand::Check { name } => connector::check(&connectors, &name),
            ConnectorCommand::Read {
                name,
                stream,
                limit,
                since,
            } => connector::read(
                &connectors,
                &name,
                connector::ReadOptions {
                    stream: stream.as_deref(),
                    limit,
                    since: since.map(|s| s.to_utc()),
                },
                &known_mappings()?,
            ),
        },
        Command::Mapping(MappingCommand::Suggest { workbook, out }) => {
            let wb = iorready::sources::read_workbook(&workbook)?;
            let known = known_mappings()?;
            let draft = iorready::mapping::suggest(&wb, known.mappings())?;
            match out {
                Some(path) => {
                    iorready::sinks::write_atomically(&path, |tmp| {
                        std::io::Write::write_all(tmp, draft.as_bytes()).map_err(|source| {
                            iorready::sinks::SinkError::Io {
                                path: path.clone(),
                                source,
                            }
                        })
                    })?;
                    eprintln!(
                        "Wrote {}; review the lines marked REVIEW, then try it with `iorready mapping check`.",
                        path.display()
                    );
                }
                None => print!("{draft}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The mappings whose synonyms `suggest` learns from: `mappings/` when it
/// exists, else the built-in one.
fn known_mappings() -> Result<MappingSet> {
    Ok(if Path::new(DEFAULT_MAPPINGS).is_dir() {
        MappingSet::load_dir(Path::new(DEFAULT_MAPPINGS))?
    } else {
        MappingSet::builtin()?
    })
}

fn resolve_countries(items: &[String]) -> Result<Vec<Country>> {
    let mapping = Mapping::builtin()?;
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let folded = iorready::mapping::values::fold(s);
            mapping
                .country_aliases
                .iter()
                .find(|(a, _)| *a == folded)
                .map(|(_, c)| *c)
                .or_else(|| Country::lookup(s))
                .ok_or_else(|| anyhow!("--countries: '{s}' is not a country (use ISO codes such as DE,FR)"))
        })
        .collect()
}

struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn start(&self, total: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
            if total < 5 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

fn score(args: ScoreArgs) -> Result<ExitCode> {
    let mut profile = match &args.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::builtin()?,
    };
    if args.require_provider_compliance {
        profile.deployment.require_provider_compliance = true;
    }
    let mappings = match (&args.mapping, &args.mappings) {
        (Some(m), _) => MappingSet::forced(Mapping::load(m)?),
        (None, Some(dir)) => MappingSet::load_dir(dir)?,
        (None, None) if Path::new(DEFAULT_MAPPINGS).is_dir() => MappingSet::load_dir(Path::new(DEFAULT_MAPPINGS))?,
        (None, None) => MappingSet::builtin()?,
    };
    for input in &args.inputs {
        if !input.exists() {
            return Err(anyhow!("{}: no such file or folder", input.display()));
        }
    }
    let as_of = args.as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    // Workbooks from connectors are fetched first, into a folder that lives
    // for the run.
    let fetched = tempfile::Builder::new().prefix("iorready-connectors-").tempdir()?;
    let mut inputs = args.inputs.clone();
    let (from_connectors, not_fetched) = if args.connectors.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        connector::fetch_workbooks(&args.connectors_dir, &args.connectors, fetched.path())?
    };
    inputs.extend(from_connectors.iter().map(|f| f.path.clone()));
    let records = connector::fetch_records(&args.connectors_dir, &args.connectors, fetched.path(), &mappings)?;
    inputs.extend(records.iter().map(|r| r.path.clone()));
    let req = ScoreRequest {
        inputs,
        out_dir: args.out.clone(),
        json: args.json.clone(),
        as_of,
        profile,
        mappings,
        jobs: args.jobs,
        memory: None,
        stop: None,
        input_mappings: records.iter().map(|r| (r.path.clone(), r.mapping.clone())).collect(),
        allow_empty: false,
        extra_errors: not_fetched,
    };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} workbooks {elapsed}") {
            bar.set_style(style);
        }
        bar
    });
    let progress = Bar(bar);
    let summary = match run_score(&req, &progress) {
        Ok(s) => s,
        Err(e @ (RunError::NoInputs { .. } | RunError::Input(_) | RunError::OutDir { .. })) => return Err(e.into()),
        Err(e) => {
            eprintln!("iorready: the run did not finish: {e}");
            return Ok(ExitCode::from(PARTIAL));
        }
    };
    if let Some(bar) = &progress.0 {
        bar.finish_and_clear();
    }
    if !args.quiet {
        report::print_summary(&summary, &req).context("writing the summary")?;
    }
    replace_earlier_outputs(&req, &summary)?;
    if !from_connectors.is_empty() {
        let lines =
            connector::write_back_results(&args.connectors_dir, &from_connectors, &summary, as_of, args.dry_run)?;
        for line in lines {
            println!("{line}");
        }
    }
    Ok(if summary.errors.is_empty() && req.extra_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PARTIAL)
    })
}

/// Removes what an earlier run left in the output folder that this run did
/// not write again, and says so.
fn replace_earlier_outputs(req: &ScoreRequest, summary: &iorready::pipeline::RunSummary) -> Result<()> {
    if !summary.outputs_written {
        return Ok(());
    }
    let mut written = summary.annotated.clone();
    written.push(summary.portfolio.clone());
    written.extend(req.json.clone());
    let removed = iorready::sinks::replace_previous_outputs(&req.out_dir, &written)?;
    if !removed.is_empty() {
        eprintln!(
            "Removed {} output(s) an earlier run left in {} that this run did not write: {}",
            removed.len(),
            req.out_dir.display(),
            escape_controls(
                &removed
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
    Ok(())
}
