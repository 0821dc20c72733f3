//! `kensa`: the one binary: inventory, scan, db, server, agent and the
//! version tools.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kensa_version::Ecosystem;
use kensa_version::range::{Event, is_affected};

#[derive(Parser)]
#[command(
    name = "kensa",
    version,
    about = "Kensa (検査): self-hosted vulnerability management"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written on standard error: text, or json (one
    /// object per line, for a log collector). Levels: KENSA_LOG.
    #[arg(long, global = true, env = "KENSA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Record what is installed: on this host (default), a mounted root
    /// filesystem (--root), a container image archive (--image) or a host
    /// over SSH (--ssh). Read-only. `inventory push` sends a saved one to a
    /// server.
    #[command(args_conflicts_with_subcommands = true)]
    Inventory {
        #[command(subcommand)]
        push: Option<InventoryCommand>,
        /// A root filesystem to read instead of this host.
        #[arg(long, conflicts_with_all = ["image", "ssh"])]
        root: Option<std::path::PathBuf>,
        /// A `docker save` tarball or OCI image layout (directory or tar).
        #[arg(long, conflicts_with = "ssh")]
        image: Option<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        #[command(flatten)]
        ssh: ssh::SshArgs,
    },
    /// Find the vulnerabilities of this host (default), a root filesystem
    /// (--root), a container image (--image) or a saved inventory
    /// (--inventory), with each vendor's own data, scored for the host.
    ///
    /// Exit status: 0, or N given by --exit-code when findings remain after
    /// the filters; 2 on an error (no knowledge base, unreadable input).
    Scan {
        /// A root filesystem to read instead of this host.
        #[arg(long, conflicts_with_all = ["image", "inventory", "ssh"])]
        root: Option<PathBuf>,
        /// A `docker save` tarball or OCI image layout (directory or tar).
        #[arg(long, conflicts_with_all = ["inventory", "ssh"])]
        image: Option<PathBuf>,
        /// An inventory document saved by `kensa inventory --format json`.
        #[arg(long, conflicts_with = "ssh")]
        inventory: Option<PathBuf>,
        /// The knowledge base directory (default: as for `db import`).
        /// `--store` is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
        /// table, json (docs/scan-report.md), csv, sarif or cyclonedx.
        #[arg(long, default_value = "table")]
        format: kensa_detect::report::Format,
        /// Write the report to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Keep only these severities (comma-separated: critical,high).
        #[arg(long, value_delimiter = ',')]
        severity: Vec<kensa_detect::Band>,
        /// Drop findings the vendor has not fixed or decided on yet (status
        /// `affected`); will-not-fix, deferred and end-of-life stay.
        #[arg(long)]
        ignore_unfixed: bool,
        /// Keep only findings with a fixed version to install.
        #[arg(long)]
        only_fixed: bool,
        /// Keep only findings in CISA's Known Exploited Vulnerabilities.
        #[arg(long)]
        kev: bool,
        /// Whether the host is reachable from the internet: internet,
        /// internal or unknown. Adjusts the score (docs/detection.md).
        #[arg(long, default_value = "unknown")]
        exposure: kensa_detect::Exposure,
        /// Exit with this status when findings remain after the filters.
        #[arg(long, default_value_t = 0)]
        exit_code: u8,
        /// Compare end-of-life dates with this day (YYYY-MM-DD) instead of
        /// today.
        #[arg(long, value_parser = parse_day)]
        today: Option<String>,
        #[command(flatten)]
        ssh: ssh::SshArgs,
    },
    /// Everything on this machine in one command: a data directory, the
    /// knowledge base, the server on SQLite, an agent for this host, its
    /// first evaluation, a summary; then both run until Ctrl-C. Running it
    /// again reuses the data.
    Up {
        /// The data directory (knowledge base, database, CA, agent state;
        /// default: $XDG_DATA_HOME/kensa/up, else ~/.local/share/kensa/up).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
        /// Build the knowledge base from this offline mirror (default:
        /// $KENSA_MIRROR, else download the feeds).
        #[arg(long)]
        mirror: Option<PathBuf>,
        /// Have the agent report this root filesystem instead of the host.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Print the summary and stop instead of running on.
        #[arg(long)]
        once: bool,
        /// Another name (DNS name or IP address) for the server's
        /// certificate, besides localhost, 127.0.0.1 and ::1, so that agents
        /// on other machines can reach it (with --listen 0.0.0.0:8443). Used
        /// when the CA and certificate are made, at the first start of a
        /// data directory.
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
        #[command(flatten)]
        exports: serve_args::ExportArgs,
        #[command(flatten)]
        observe: serve_args::ObserveArgs,
    },
    /// The server: the fleet API over TLS and the evaluation workers.
    Server {
        /// The data directory (SQLite database, CA, admin token).
        #[arg(long, default_value = "/var/lib/kensa")]
        data: PathBuf,
        #[arg(long, default_value = "0.0.0.0:8443")]
        listen: std::net::SocketAddr,
        /// A PostgreSQL URL (postgres://user@host/db); SQLite in the data
        /// directory when omitted.
        #[arg(long, env = "KENSA_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// The knowledge base directory (default: as for `db import`).
        /// `--store` is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
        /// A name or address the TLS certificate must cover (repeatable;
        /// default: localhost, loopback and the hostname).
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
        /// Evaluation worker threads.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        #[command(flatten)]
        exports: serve_args::ExportArgs,
        #[command(flatten)]
        observe: serve_args::ObserveArgs,
        /// Time between two agentless (SSH) scans of a target, plus a
        /// random jitter of up to a tenth of it (docs/agentless.md).
        #[arg(long, default_value = "1d", value_parser = humantime::parse_duration)]
        agentless_interval: std::time::Duration,
        /// Agentless targets this server scans at once.
        #[arg(long, default_value_t = 10)]
        agentless_concurrency: usize,
        /// Database connections the request handlers use at most (plus
        /// one per worker): size it so that every server sharing one
        /// PostgreSQL fits in its max_connections.
        #[arg(long, env = "KENSA_DB_MAX_CONNECTIONS", default_value_t = 16)]
        db_max_connections: usize,
        /// How long a request waits for a database connection before it
        /// is answered 503 with Retry-After, in milliseconds.
        #[arg(long, env = "KENSA_DB_WAIT_MS", default_value_t = 10_000)]
        db_wait_ms: u64,
        /// Inventory uploads decoded at once (each holds up to 64 MiB).
        #[arg(long, env = "KENSA_MAX_INGESTS", default_value_t = 2)]
        max_ingests: usize,
        /// The agent artefacts served to hosts at /agent/… and used by
        /// /install.sh: the output directory of scripts/release (default:
        /// <data>/agent-dist).
        #[arg(long, env = "KENSA_AGENT_DIST")]
        agent_dist: Option<PathBuf>,
    },
    /// Findings on a Kensa server: export them; decrypt an export.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// The agent: enrol this host with a Kensa server, then report its
    /// inventory on a schedule and when packages change (docs/agent-protocol.md).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The vulnerability knowledge base.
    #[command(subcommand)]
    Db(DbCommand),
    /// Version ordering tools, for debugging a match.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Print the command-line reference (docs/cli.md) as Markdown.
    #[command(hide = true)]
    CliReference,
    /// Load generators for measuring a server on this machine (loopback
    /// only, bounded; docs/operations.md).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(clap::Args)]
struct BenchTarget {
    /// The server, https://127.0.0.1:8443 (loopback addresses only).
    #[arg(long, env = "KENSA_SERVER")]
    server: String,
    /// The server's CA (ca.pem in its data directory).
    #[arg(long)]
    ca: PathBuf,
    /// An API token: admin for populate and ingest, viewer for load.
    #[arg(long, env = "KENSA_TOKEN", hide_env_values = true)]
    token: String,
}

impl From<BenchTarget> for bench::Target {
    fn from(t: BenchTarget) -> bench::Target {
        bench::Target {
            server: t.server,
            ca: t.ca,
            token: t.token,
        }
    }
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Enrol N agents and send each the given inventory under its own
    /// name, to build a fleet to measure against.
    Populate {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 400)]
        assets: usize,
        /// An inventory document (`kensa inventory --root … --format json`).
        #[arg(long)]
        inventory: PathBuf,
    },
    /// C clients request the paths in turn for S seconds: latency
    /// percentiles, throughput, answers by status.
    Load {
        #[command(flatten)]
        target: BenchTarget,
        /// A path to request (repeatable), e.g. /api/v1/findings or /.
        #[arg(long = "path", required = true)]
        paths: Vec<String>,
        #[arg(long, default_value_t = 20)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Log in as this console user (with --password-file) instead of
        /// using the token: the console's pages (/) take only a session.
        #[arg(long, default_value = "admin")]
        user: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// P agents upload an inventory of N synthetic packages each, at once.
    Ingest {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long)]
        packages: usize,
        #[arg(long, default_value_t = 1)]
        parallel: usize,
    },
}

#[derive(clap::Args)]
struct AgentCommon {
    /// The server's base URL (https://host:port). `run` defaults to the
    /// one it enrolled with.
    #[arg(long)]
    server: Option<String>,
    /// The CA to trust: a PEM file (the server's own CA, printed by `kensa
    /// server`), or `system`. `run` defaults to the one enrolled with
    /// (<state>/ca.pem, the copy `enroll` keeps, or `system`).
    #[arg(long)]
    ca: Option<String>,
    /// Where the credentials, last report and spool live (default
    /// /var/lib/kensa-agent).
    #[arg(long)]
    state: Option<PathBuf>,
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Send an inventory document (saved by `kensa inventory --format json`
    /// on a host no network path reaches) to a server, as this asset's
    /// latest: it is evaluated like an agent's report.
    Push {
        /// The server, https://host:8443.
        #[arg(long, env = "KENSA_SERVER")]
        server: String,
        /// Pin this CA (the server's ca.pem) instead of the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// An API token with the analyst or admin role.
        #[arg(long, env = "KENSA_TOKEN", hide_env_values = true)]
        token: String,
        /// The asset's name (case-insensitive); created if no asset has it.
        #[arg(long)]
        asset: String,
        /// The inventory document.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum FindingsCommand {
    /// Export the findings a filter selects from a server, streamed to a
    /// file or standard output: CSV in Amazon Inspector's report columns,
    /// or JSON with the full finding objects.
    Export {
        /// The server, https://host:8443.
        #[arg(long, env = "KENSA_SERVER")]
        server: String,
        /// Pin this CA (the server's ca.pem) instead of the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// An API token (viewer or above).
        #[arg(long, env = "KENSA_TOKEN", hide_env_values = true)]
        token: String,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The filter language, as in the API (severity=CRITICAL kev=true).
        #[arg(long, default_value = "")]
        filter: String,
        /// key:asc|desc (default severity:desc).
        #[arg(long)]
        sort: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Decrypt a client-side encrypted export (docs/export-encryption.md).
    Decrypt {
        /// The key-encryption key the server was given.
        #[arg(long, env = "KENSA_EXPORT_KEK_FILE")]
        kek_file: PathBuf,
        input: PathBuf,
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Exchange an enrolment token for this agent's own credential. The
    /// server, the CA (copied to <state>/ca.pem) and the root are kept, so
    /// that `kensa agent run` needs no flags afterwards.
    Enroll {
        #[command(flatten)]
        common: AgentCommon,
        /// Enrol a mounted root filesystem under its own identity (its
        /// etc/hostname and etc/machine-id) instead of this host's; `run`
        /// then reports that root.
        #[arg(long)]
        root: Option<PathBuf>,
        /// The enrolment token an admin created.
        #[arg(long)]
        token: String,
    },
    /// Report the inventory now and then on a schedule (with --once: once,
    /// then exit 0 when delivered or unchanged, 3 when spooled).
    Run {
        #[command(flatten)]
        common: AgentCommon,
        /// Inventory this root filesystem instead of the host (default: the
        /// root enrolled with `enroll --root`, else the host).
        #[arg(long)]
        root: Option<PathBuf>,
        #[arg(long)]
        once: bool,
        /// The schedule (`1h`, `30m`); ±10 % jitter is added.
        #[arg(long, value_parser = humantime::parse_duration)]
        interval: Option<std::time::Duration>,
    },
    /// Ask the server enrolled with whether it still accepts this agent's
    /// credential, reporting nothing. Exit status: 0 it does, 4 it refuses
    /// it (revoked: enrol again with a new token), 5 not enrolled, 3 the
    /// server could not be asked, 2 a bad configuration.
    Status {
        #[command(flatten)]
        common: AgentCommon,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Build a new knowledge base from an offline feed mirror and switch to
    /// it atomically (the previous one stays in use if anything fails).
    ///
    /// The mirror layout: osv/<Ecosystem>/all.zip, rustsec/, debian/,
    /// alpine-secdb/, amazon/*.xml.gz, oval/*.xml, nvd/*.json, cve5/,
    /// kev/known_exploited_vulnerabilities.json, epss/*.csv.gz,
    /// eol/products/ (docs/knowledge-base.md).
    Import {
        /// The mirror directory.
        #[arg(long)]
        mirror: PathBuf,
        /// The knowledge base directory (default: $KENSA_KB, else
        /// $XDG_DATA_HOME/kensa/kb, else ~/.local/share/kensa/kb). `--store`
        /// is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
    },
    /// Download the feeds into a cache laid out as a mirror (conditional
    /// requests, retries), then build a new knowledge base from it and
    /// switch to it atomically. Exit 1 when a download failed (its previous
    /// copy is imported, stale), 2 when no new store was switched in.
    Update {
        /// Where from: nothing for the upstream feeds, an http(s):// mirror
        /// with an index.txt at its root, or a mirror directory (imported in
        /// place, as `db import`).
        #[arg(long)]
        mirror: Option<String>,
        /// The knowledge base directory (default: as for `db import`).
        /// `--store` is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
        /// The download cache (default: $XDG_CACHE_HOME/kensa/feeds, else
        /// ~/.cache/kensa/feeds).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Each feed's record count and errors, and when the knowledge base was
    /// built.
    Status {
        /// The knowledge base directory (default: as for `db import`).
        /// `--store` is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
    },
    /// Everything known about one id: an advisory id, a CVE id (its
    /// advisories, CVE record, KEV entry, EPSS score), or eol:<product>.
    Show {
        id: String,
        /// The knowledge base directory (default: as for `db import`).
        /// `--store` is the old name.
        #[arg(long = "kb", alias = "store", value_name = "DIR")]
        store: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// The inventory document (docs/inventory-schema.md).
    Json,
    /// A summary and a package table, for people.
    Table,
}

#[derive(Subcommand)]
enum VersionCommand {
    /// Compare two versions as the ecosystem's own tool does; prints `<`,
    /// `=` or `>`. Exit status 2 on an invalid version.
    ///
    /// Ecosystems: dpkg (deb), rpm, apk, npm, cargo, pypi, maven, go,
    /// rubygems, nuget; OSV names such as `Debian:12` are accepted too.
    Compare {
        /// The ordering scheme.
        ecosystem: Ecosystem,
        /// First version (omit with --batch).
        #[arg(required_unless_present = "batch", allow_hyphen_values = true)]
        a: Option<String>,
        /// Second version (omit with --batch).
        #[arg(required_unless_present = "batch", allow_hyphen_values = true)]
        b: Option<String>,
        /// Read one pair per line on standard input (separated by a tab or
        /// by spaces) and print one answer per line; an invalid pair prints
        /// `!` and its error goes to standard error, naming the line.
        #[arg(long, conflicts_with_all = ["a", "b"])]
        batch: bool,
    },
    /// Check whether a version is affected by an OSV-style range: prints
    /// `affected` (exit 0) or `not affected` (exit 1); exit 2 on bad input.
    ///
    /// Events are `introduced=V`, `fixed=V`, `last_affected=V` or
    /// `limit=V`, in any order (they are sorted as OSV requires).
    Affected {
        ecosystem: Ecosystem,
        version: String,
        #[arg(required = true)]
        events: Vec<String>,
    },
}

/// Logs (the server's, the agent's, and their libraries' `tracing` events)
/// as text or JSON lines on standard error, at `KENSA_LOG`'s level (error,
/// warn, info, debug, trace; default info). A command's own answers and
/// errors are its output, not logs: they are printed as they were.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::LevelFilter;
    let level = std::env::var("KENSA_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level);
    match format {
        LogFormat::Text => fmt.init(),
        // Fields flattened to the top level, so that collectors index
        // `message`, `level` and `target` without digging.
        LogFormat::Json => fmt.json().flatten_event(true).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Inventory {
            push:
                Some(InventoryCommand::Push {
                    server,
                    ca,
                    token,
                    asset,
                    file,
                }),
            ..
        } => inventory::push(&server, ca, &token, &asset, &file),
        Command::Inventory {
            push: None,
            root,
            image,
            format,
            ssh,
        } => inventory::run(root, image, ssh, format),
        Command::Scan {
            root,
            image,
            inventory,
            store,
            format,
            output,
            severity,
            ignore_unfixed,
            only_fixed,
            kev,
            exposure,
            exit_code,
            today,
            ssh,
        } => scan::run(scan::Args {
            ssh,
            root,
            image,
            inventory,
            store: db::store_dir(store),
            format,
            output,
            severity,
            ignore_unfixed,
            only_fixed,
            kev,
            exposure,
            exit_code,
            today,
        }),
        Command::Up {
            data,
            listen,
            mirror,
            root,
            once,
            tls_names,
            exports,
            observe,
        } => match observe.config() {
            Ok(observe) => up::run(up::Args {
                data: data.unwrap_or_else(default_up_dir),
                listen,
                mirror,
                root,
                once,
                tls_names,
                exports: exports.config(),
                observe,
            }),
            Err(e) => {
                eprintln!("kensa up: {e}");
                ExitCode::from(2)
            }
        },
        Command::Server {
            data,
            listen,
            database,
            store,
            tls_names,
            workers,
            exports,
            observe,
            agentless_interval,
            agentless_concurrency,
            db_max_connections,
            db_wait_ms,
            max_ingests,
            agent_dist,
        } => match observe.config() {
            Err(e) => {
                eprintln!("kensa server: {e}");
                ExitCode::from(2)
            }
            Ok(observe) => server::run(server::Args {
                data,
                listen,
                database,
                kb: db::store_dir(store),
                names: tls_names,
                workers,
                exports: exports.config(),
                agentless: kensa_server::agentless::AgentlessConfig {
                    interval: agentless_interval,
                    concurrency: agentless_concurrency,
                    ..Default::default()
                },
                capacity: kensa_server::Capacity {
                    db_max_connections,
                    db_wait: std::time::Duration::from_millis(db_wait_ms),
                    max_ingests,
                },
                agent_dist,
                observe,
            }),
        },
        Command::Findings(c) => findings::run(c),
        Command::Bench(BenchCommand::Populate {
            target,
            assets,
            inventory,
        }) => bench::populate(&target.into(), assets, &inventory),
        Command::Bench(BenchCommand::Load {
            target,
            paths,
            clients,
            seconds,
            user,
            password_file,
        }) => bench::load(
            &target.into(),
            &paths,
            clients,
            seconds,
            password_file.as_deref().map(|f| (user.as_str(), f)),
        ),
        Command::Bench(BenchCommand::Ingest {
            target,
            packages,
            parallel,
        }) => bench::ingest(&target.into(), packages, parallel),
        Command::Agent(AgentCommand::Enroll {
            common,
            root,
            token,
        }) => agent::enroll(&common.into(), root, &token),
        Command::Agent(AgentCommand::Run {
            common,
            root,
            once,
            interval,
        }) => agent::run(&common.into(), root, once, interval),
        Command::Agent(AgentCommand::Status { common }) => agent::status(&common.into()),
        Command::Db(DbCommand::Import { mirror, store }) => {
            db::import(&mirror, &db::store_dir(store))
        }
        Command::Db(DbCommand::Update {
            mirror,
            store,
            cache,
        }) => db::update(mirror.as_deref(), &db::store_dir(store), cache),
        Command::Db(DbCommand::Status { store }) => db::status(&db::store_dir(store)),
        Command::Db(DbCommand::Show { id, store }) => db::show(&db::store_dir(store), &id),
        Command::Version(VersionCommand::Compare {
            ecosystem,
            a,
            b,
            batch,
        }) => {
            if batch {
                batch_compare(ecosystem)
            } else {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                match ecosystem.compare(&a, &b) {
                    Ok(o) => {
                        println!("{}", symbol(o));
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("kensa: {e}");
                        ExitCode::from(2)
                    }
                }
            }
        }
        Command::Version(VersionCommand::Affected {
            ecosystem,
            version,
            events,
        }) => affected(ecosystem, &version, &events),
        Command::CliReference => {
            use clap::CommandFactory;
            print!("{}", cli_doc::markdown(Cli::command()));
            ExitCode::SUCCESS
        }
    }
}

mod agent;
mod bench;
mod cli_doc;
mod db;
mod findings;
mod inventory;
mod scan;
mod serve_args;
mod server;
mod ssh;
mod up;

/// `$XDG_DATA_HOME/kensa/up`, else `~/.local/share/kensa/up`.
fn default_up_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
        .join("kensa/up")
}

impl From<AgentCommon> for agent::Common {
    fn from(c: AgentCommon) -> agent::Common {
        agent::Common {
            server: c.server,
            ca: c.ca,
            state: c.state,
        }
    }
}

/// A calendar day written `YYYY-MM-DD`: end-of-life dates are compared as
/// text, which is only right for this exact form.
fn parse_day(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a day written YYYY-MM-DD"))
    }
}

fn symbol(o: std::cmp::Ordering) -> char {
    match o {
        std::cmp::Ordering::Less => '<',
        std::cmp::Ordering::Equal => '=',
        std::cmp::Ordering::Greater => '>',
    }
}

/// One answer per input line; a bad line does not stop the batch, but the
/// exit status says that one was seen.
fn batch_compare(ecosystem: Ecosystem) -> ExitCode {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (n, line) in stdin.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("kensa: standard input line {}: {e}", n + 1);
                return ExitCode::from(2);
            }
        };
        let mut parts = if line.contains('\t') {
            line.split('\t').collect::<Vec<_>>()
        } else {
            line.split_whitespace().collect::<Vec<_>>()
        };
        parts.retain(|p| !p.is_empty());
        let answer = match parts.as_slice() {
            [a, b] => match ecosystem.compare(a, b) {
                Ok(o) => symbol(o),
                Err(e) => {
                    eprintln!("kensa: line {}: {e}", n + 1);
                    '!'
                }
            },
            _ => {
                eprintln!(
                    "kensa: line {}: expected two versions, found {}",
                    n + 1,
                    parts.len()
                );
                '!'
            }
        };
        if answer == '!' {
            failed = true;
        }
        if writeln!(out, "{answer}").is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() || failed {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// Prints `affected` or `not affected`; exit status 0 for affected, 1 for
/// not affected (so that shell scripts can branch on it), 2 on bad input.
fn affected(ecosystem: Ecosystem, version: &str, events: &[String]) -> ExitCode {
    let mut parsed = Vec::with_capacity(events.len());
    for e in events {
        match Event::parse_pair(e) {
            Some(ev) => parsed.push(ev),
            None => {
                eprintln!(
                    "kensa: bad event {e:?}: expected introduced=V, fixed=V, last_affected=V or limit=V"
                );
                return ExitCode::from(2);
            }
        }
    }
    match is_affected(ecosystem, version, &parsed) {
        Ok(true) => {
            println!("affected");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("not affected");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("kensa: {e}");
            ExitCode::from(2)
        }
    }
}
