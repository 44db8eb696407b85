//! Command-line arguments. Values parsed here are only checked for shape; the commands build
//! what they need from them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "trustplane",
    version,
    about = "Identity and security control plane for Azure and AWS"
)]
pub struct Cli {
    /// How to print results [default: table, or JSON where a command says so].
    #[arg(long, global = true, value_enum)]
    pub output: Option<Output>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A readable table.
    Table,
    /// JSON, for scripts.
    Json,
}

// Arguments are parsed once at start-up; their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run a Trustplane node.
    Serve(ServeArgs),
    /// Run the identity-aware proxy on its own, next to a Trustplane node: a settings file
    /// (`--config`) or flags for one application.
    Proxy(ProxyArgs),
    /// Manage the directory through the admin API.
    Admin(AdminArgs),
    /// Check the audit trail.
    Audit(AuditArgs),
    /// Conditional-access policies offline.
    Policy(PolicyArgs),
    /// Hunt with Sigma rules through log files, offline.
    Detect(DetectArgs),
    /// Assess cloud resources against the CIS AWS and Azure Foundations benchmarks.
    Scan(ScanArgs),
    /// Discover the apps, cloud services, identity providers and access paths in use, offline,
    /// from a saved inventory and log files (CloudTrail, Azure activity, Squid, CEF).
    Discover(DiscoverArgs),
    /// Connect AWS accounts to Trustplane's single sign-on.
    Aws(AwsArgs),
    /// Privileged identity management: activate eligible roles for a while, approve others'
    /// requests, review who stays eligible.
    Pim(PimArgs),
}

#[derive(Subcommand)]
pub enum DiscoveryCommand {
    /// The apps the server keeps, with their reviews, highest risk first.
    List {
        /// sanctioned, unsanctioned, monitored, or none (not reviewed).
        #[arg(long)]
        state: Option<String>,
    },
    /// Import a run of `trustplane discover --output json` (reviews are kept).
    Import { file: std::path::PathBuf },
    /// One app, by id or name.
    Get { id: String },
    /// Review an app: its state, tags, owner and comment (options left out keep theirs).
    Review {
        /// The app (id or name).
        id: String,
        /// sanctioned, unsanctioned or monitored.
        #[arg(long)]
        state: Option<String>,
        /// A tag (repeatable; replaces the tags).
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Args)]
pub struct DiscoverArgs {
    /// A saved inventory (what `trustplane scan aws --save-dir DIR` writes).
    #[arg(long)]
    pub from_dir: Option<std::path::PathBuf>,
    /// Log files or folders: CloudTrail or Azure activity JSON, Squid access.log, CEF
    /// (repeatable).
    #[arg(long)]
    pub logs: Vec<std::path::PathBuf>,
    /// Read every log in this format instead of recognising it: cloudtrail, squid or cef.
    #[arg(long)]
    pub log_format: Option<String>,
    /// More cloud apps, in the shape of the built-in catalogue; entries replace built-in
    /// ones with the same id (repeatable).
    #[arg(long)]
    pub catalog: Vec<std::path::PathBuf>,
    /// ARN of an IAM SAML provider that points at Trustplane (repeatable).
    #[arg(long = "trustplane-saml-provider")]
    pub saml_providers: Vec<String>,
    /// Trustplane's public URL (its SAML entity id and OIDC issuer start with it), to
    /// recognise its providers by their metadata (repeatable).
    #[arg(long = "trustplane-issuer")]
    pub issuers: Vec<String>,
    /// Catalogue id of an app whose sign-in goes through Trustplane (repeatable).
    #[arg(long = "sso-app")]
    pub sso_apps: Vec<String>,
}

#[derive(Args)]
pub struct PimArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: PimCommand,
}

#[derive(Subcommand)]
pub enum PimCommand {
    /// The roles you (or --user) may activate, with their settings.
    Eligible {
        /// Another user's (id), for readers of the directory.
        #[arg(long)]
        user: Option<String>,
    },
    /// Ask to activate an eligible role.
    Request(PimRequestArgs),
    /// Approve a request waiting for you.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny a request waiting for you.
    Deny {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Withdraw your request before it becomes active.
    Cancel { id: String },
    /// End your activation early.
    Deactivate { id: String },
    /// Extend your activation (where the role allows it), e.g. `--duration 30m`.
    Extend {
        id: String,
        #[arg(long)]
        duration: String,
    },
    /// End someone's activation (administrators).
    Revoke {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Your (or --user's) active activations and the time they have left.
    Active {
        /// Another user's (id), for readers of the directory.
        #[arg(long)]
        user: Option<String>,
    },
    /// Requests waiting for your approval.
    Approvals,
    /// Requests: yours, --user's, or everyone's with --user '*'.
    Requests {
        #[arg(long)]
        user: Option<String>,
        /// pendingApproval, approved, active, denied, cancelled, expired, revoked or failed.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a role's activation settings.
    Settings {
        /// The role (id or name).
        role: String,
        #[arg(long, default_value = "/")]
        scope: String,
    },
    /// Change a role's activation settings; only the flags given change.
    SetSettings(PimSettingsArgs),
    /// PIM alerts.
    Alerts,
    /// Compare the clouds' grants with Trustplane's now.
    Reconcile,
    /// Access reviews of who stays eligible.
    #[command(subcommand)]
    Review(PimReviewCommand),
}

#[derive(Args)]
pub struct PimSettingsArgs {
    /// The role (id or name).
    pub role: String,
    #[arg(long, default_value = "/")]
    pub scope: String,
    /// The longest activation, e.g. `8h` or `90m`.
    #[arg(long)]
    pub max_duration: Option<String>,
    #[arg(long)]
    pub require_mfa: Option<bool>,
    #[arg(long)]
    pub require_justification: Option<bool>,
    #[arg(long)]
    pub require_ticket: Option<bool>,
    #[arg(long)]
    pub require_approval: Option<bool>,
    /// Who may approve: users (UPN or id) or groups (name or id); repeatable, replaces the list.
    #[arg(long = "approver")]
    pub approvers: Vec<String>,
    #[arg(long)]
    pub allow_extension: Option<bool>,
    /// Mail addresses told about requests; repeatable, replaces the list.
    #[arg(long = "notify")]
    pub notification_recipients: Vec<String>,
}

#[derive(Args)]
pub struct PimRequestArgs {
    /// The role (id or name).
    #[arg(long)]
    pub role: String,
    /// The directory scope.
    #[arg(long, default_value = "/")]
    pub scope: String,
    /// How long: seconds (3600) or 90m, 1h, 1h30m, 2d [default: the role's maximum].
    #[arg(long)]
    pub duration: Option<String>,
    /// Why the role is needed.
    #[arg(long)]
    pub justification: Option<String>,
    /// The change or incident ticket.
    #[arg(long)]
    pub ticket: Option<String>,
    /// Start later (RFC 3339).
    #[arg(long)]
    pub start: Option<String>,
    /// A TOTP code, for roles that require MFA.
    #[arg(long)]
    pub mfa_code: Option<String>,
}

#[derive(Subcommand)]
pub enum PimReviewCommand {
    /// Start a review of a role's eligible holders.
    Start {
        /// The role (id or name).
        #[arg(long)]
        role: String,
        /// A reviewer's user id (repeatable).
        #[arg(long = "reviewer", required = true)]
        reviewers: Vec<String>,
        /// How many days the reviewers have.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// What happens to undecided assignments at the end: keep or remove.
        #[arg(long = "default", value_parser = ["keep", "remove"], default_value = "keep")]
        default_decision: String,
    },
    /// List reviews.
    List,
    /// Show one review with its items.
    Show { id: String },
    /// Decide on one assignment under review.
    Decide {
        id: String,
        /// The eligible assignment.
        #[arg(long)]
        assignment: String,
        #[arg(long, value_parser = ["keep", "remove"])]
        decision: String,
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Args)]
pub struct AwsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: AwsCommand,
}

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Show (or with --apply, create) what an AWS account needs for console sign-in through
    /// Trustplane: an IAM SAML provider from Trustplane's metadata and roles trusting it; then
    /// register those roles in Trustplane so they can be assigned.
    Connect(AwsConnectArgs),
}

#[derive(Args)]
pub struct AwsConnectArgs {
    /// A role to create or update: NAME, or NAME=POLICY_ARN[,POLICY_ARN...] (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The IAM SAML provider's name.
    #[arg(long, default_value = "Trustplane")]
    pub provider_name: String,
    /// The roles' longest session, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub max_session_duration: i32,
    /// Make the changes (otherwise only print them).
    #[arg(long)]
    pub apply: bool,
    /// Another endpoint (an emulator).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Region for IAM and STS calls.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// A role to assume in the target account (otherwise the caller's own account).
    #[arg(long)]
    pub assume_role: Option<String>,
}

#[derive(Args)]
#[command(
    override_usage = "trustplane scan aws [OPTIONS]\n       trustplane scan azure [OPTIONS]\n       trustplane scan --from-dir DIR [OPTIONS]",
    after_help = "Examples:\n  trustplane scan aws --regions eu-west-1,us-east-1 --report posture.html\n  trustplane scan azure --subscriptions SUB_ID --fail-on high\n  trustplane scan --from-dir saved-scan --report posture.html"
)]
pub struct ScanArgs {
    /// Collect from a cloud first (otherwise give --from-dir).
    #[command(subcommand)]
    pub cloud: Option<ScanCloud>,
    /// Save the collected inventory here, to assess again later with --from-dir.
    #[arg(long, global = true)]
    pub save_dir: Option<PathBuf>,
    /// Assess a saved inventory (a folder of JSON / NDJSON resource documents) without any
    /// cloud access.
    #[arg(long)]
    pub from_dir: Option<PathBuf>,
    /// Benchmark files (CIS JSON) [default: the four built in].
    #[arg(long, global = true)]
    pub benchmarks: Option<PathBuf>,
    /// Also write a self-contained HTML report here (written even when the scan fails, and
    /// then marked as failed).
    #[arg(long, global = true)]
    pub report: Option<PathBuf>,
    /// Exit with code 4 when a FAIL finding is at least this severe (low, medium, high, critical).
    #[arg(long, global = true)]
    pub fail_on: Option<String>,
    /// AWS accounts federated through Trustplane (repeatable).
    #[arg(long = "federated-account", global = true)]
    pub federated_accounts: Vec<String>,
    /// ARNs of the IAM SAML providers that point at Trustplane (repeatable).
    #[arg(long = "trustplane-saml-provider", global = true)]
    pub saml_providers: Vec<String>,
    /// Print findings as csv or html instead of a table or OCSF JSON.
    #[arg(long, global = true, value_parser = ["csv", "html"])]
    pub format: Option<String>,
}

#[derive(Subcommand)]
pub enum ScanCloud {
    /// Collect from AWS with the standard credential chain (environment, profiles, SSO,
    /// instance roles). Read-only calls only.
    Aws {
        /// Comma-separated regions [default: every enabled one].
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Another endpoint (an emulator, a VPC endpoint).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// A role to assume per further account (repeatable).
        #[arg(long = "assume-role")]
        assume_roles: Vec<String>,
    },
    /// Collect from Azure Resource Manager and Microsoft Graph: a service principal from
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or a token in AZURE_ACCESS_TOKEN
    /// (and AZURE_GRAPH_ACCESS_TOKEN).
    Azure {
        /// Comma-separated subscription ids [default: every visible one].
        #[arg(long, value_delimiter = ',')]
        subscriptions: Vec<String>,
        #[arg(long)]
        arm_endpoint: Option<String>,
        #[arg(long)]
        graph_endpoint: Option<String>,
        #[arg(long)]
        login_endpoint: Option<String>,
    },
}

#[derive(Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Evaluate a sign-in: offline against a folder (--policies), or on the server.
    WhatIf(WhatIfArgs),
    /// List the server's policies.
    List,
    /// Show one policy as Graph JSON.
    Get { id: String },
    /// Import every *.json policy file of a folder (ids are kept). References to groups,
    /// users, roles, locations and apps that do not exist here are reported.
    Import {
        dir: PathBuf,
        /// The state to import enabled policies in: `report-only` for all of them, or
        /// `as-is`. Default: report-only for those that apply to you, as-is for the rest.
        #[arg(long = "as", value_enum)]
        state: Option<ImportAs>,
        /// Import even a policy that would block every Global Administrator.
        #[arg(long)]
        force: bool,
    },
    /// Write every policy to a folder, one Graph JSON file each.
    Export { dir: PathBuf },
    /// Delete policies (by id or display name).
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Turn policies on (by id or display name).
    Enable {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Even if this would block every Global Administrator.
        #[arg(long)]
        force: bool,
    },
    /// Turn policies off (by id or display name).
    Disable {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Evaluate and report policies without enforcing them (by id or display name).
    ReportOnly {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Named locations.
    #[command(subcommand)]
    Locations(LocationsCommand),
}

/// How `policy import` treats enabled policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportAs {
    /// Every enabled policy becomes report-only.
    ReportOnly,
    /// States as in the files.
    AsIs,
}

#[derive(Subcommand)]
pub enum LocationsCommand {
    /// List named locations.
    List,
    /// Import every *.json named-location file of a folder.
    Import { dir: PathBuf },
    /// Delete a named location.
    Delete { id: String },
}

/// The sign-in comes from `--input` (a JSON file: flat facts or Graph's evaluate body) or
/// from the flags; with `--input` the answer is JSON unless `--output table` is given.
#[derive(Args)]
pub struct WhatIfArgs {
    /// Folder of policy JSON files; without it the server's policies are used.
    #[arg(long)]
    pub policies: Option<PathBuf>,
    /// Folder of named-location JSON files.
    #[arg(long)]
    pub named_locations: Option<PathBuf>,
    /// The sign-in, as JSON.
    #[arg(long, conflicts_with_all = ["user", "app", "client_app", "ip", "country", "platform", "sign_in_risk", "user_risk"])]
    pub input: Option<PathBuf>,
    /// A MaxMind database to find the country of `--ip`.
    #[arg(long)]
    pub geoip: Option<PathBuf>,
    /// User object id.
    #[arg(long)]
    pub user: Option<String>,
    /// Group ids of the user (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Directory role template ids of the user (repeatable).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Application id.
    #[arg(long)]
    pub app: Option<String>,
    /// browser, mobileAppsAndDesktopClients, exchangeActiveSync or other.
    #[arg(long)]
    pub client_app: Option<String>,
    /// Source IP address.
    #[arg(long)]
    pub ip: Option<String>,
    /// Two-letter country code.
    #[arg(long)]
    pub country: Option<String>,
    /// Device platform (windows, macOS, iOS, android, linux).
    #[arg(long)]
    pub platform: Option<String>,
    /// none, low, medium or high.
    #[arg(long)]
    pub sign_in_risk: Option<String>,
    /// none, low, medium or high.
    #[arg(long)]
    pub user_risk: Option<String>,
    /// Controls already satisfied, e.g. mfa (repeatable).
    #[arg(long = "satisfied")]
    pub satisfied: Vec<String>,
}

#[derive(Args)]
pub struct DetectArgs {
    /// Folders or files of Sigma rules (repeatable).
    #[arg(long)]
    pub rules: Vec<PathBuf>,
    /// Report each rule in these folders that cannot be loaded, and why; nothing is hunted.
    #[arg(long)]
    pub check_rules: Vec<PathBuf>,
    /// Log files or folders (CloudTrail, Azure activity, audit and sign-in exports), or
    /// S3 prefixes of CloudTrail objects (`s3://bucket/AWSLogs/123456789012/`).
    pub inputs: Vec<PathBuf>,
    /// For s3:// inputs: another endpoint (an emulator, a VPC endpoint).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// For s3:// inputs: the buckets' region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Reading a file or object stops once it has inflated to more bytes than this: the
    /// records before that point are matched and it is reported as unreadable [default: no
    /// limit for files, which are read as they stream; 1 GiB for S3 objects].
    #[arg(long)]
    pub max_inflated_bytes: Option<u64>,
    /// Reading a file or object stops after this many records, in the same way [default: no
    /// limit for files; 2000000 for S3 objects].
    #[arg(long)]
    pub max_records: Option<usize>,
    /// The largest record (one NDJSON line, one item of a CloudTrail object) read: a longer
    /// NDJSON line is skipped and counted as malformed, a longer item stops its object. This
    /// bounds memory, whatever the size of the input [default: 16 MiB].
    #[arg(long, default_value_t = trustplane_detect::ReadLimits::FILE.max_record_bytes)]
    pub max_record_bytes: u64,
    /// Show only matches of rules at this level or above.
    #[arg(long, value_enum)]
    pub min_level: Option<RuleLevel>,
    /// Order of the matches: by event time, or most severe first (then by time).
    #[arg(long, value_enum, default_value_t = MatchOrder::Time)]
    pub sort: MatchOrder,
}

/// How `serve` writes its log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Sigma's rule levels, least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum RuleLevel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl RuleLevel {
    /// A rule's `level` as written; `None` for a missing or unknown one.
    pub fn parse(level: Option<&str>) -> Option<Self> {
        <Self as ValueEnum>::from_str(level?.trim(), true).ok()
    }
}

/// How `detect` orders its matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatchOrder {
    Time,
    Severity,
}

/// `trustplane proxy`: a settings file, or flags for one application (flags win).
#[derive(Args, Debug, Default)]
pub struct ProxyArgs {
    /// Settings file (TOML): trustplane_url, listen, [[apps]] client_id and client_secret,
    /// recheck_seconds, upstream_timeout_seconds, trusted_proxies, signing_key_file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Trustplane's URL.
    #[arg(long)]
    pub trustplane_url: Option<String>,
    /// Address and port to listen on [default: 127.0.0.1:8443].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The proxied application's client id (appId or the API's `appId`).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Its client secret (better: TRUSTPLANE_PROXY_CLIENT_SECRET, which `ps` does not show).
    #[arg(long, env = "TRUSTPLANE_PROXY_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Seconds between checks of a session with Trustplane [default: 5].
    #[arg(long)]
    pub recheck_seconds: Option<u64>,
    /// Log lines as text or JSON.
    #[arg(long, env = "TRUSTPLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Flags win over `TRUSTPLANE_*` variables, which win over the `--config` file.
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Settings file (TOML).
    #[arg(long, env = "TRUSTPLANE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log lines as text, or as one JSON object per line for a log collector. What is logged
    /// is set by `TRUSTPLANE_LOG` (`info` by default; `debug`, `trustplane_server=debug`...).
    #[arg(long, env = "TRUSTPLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Folder of the embedded database [default: ./trustplane-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded database: postgres://user@host:port/db.
    #[arg(long)]
    pub database_url: Option<String>,
    /// This node's name in leases [default: host name and process id].
    #[arg(long)]
    pub node_id: Option<String>,
    /// User principal name of the first administrator [default: admin@trustplane.local].
    #[arg(long)]
    pub bootstrap_admin_upn: Option<String>,
    /// Seconds between audit-chain checkpoints [default: 300].
    #[arg(long)]
    pub checkpoint_interval_secs: Option<u64>,
    /// The URL people reach this server at [default: http://localhost:PORT].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Password hashes computed at once, each taking 19 MiB [default: twice the cores].
    #[arg(long)]
    pub max_concurrent_password_hashes: Option<usize>,
    /// A folder of Sigma rules for the detection pipeline (repeatable).
    #[arg(long = "detection-rules")]
    pub detection_rules: Vec<PathBuf>,
    /// Append every audit checkpoint to this file (JSON lines); keep it where the database's
    /// writers cannot change it.
    #[arg(long)]
    pub audit_anchor_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ApiArgs {
    /// Base URL of a Trustplane node.
    #[arg(long, env = "TRUSTPLANE_URL", global = true)]
    pub url: Option<String>,
    /// Admin API token.
    #[arg(long, env = "TRUSTPLANE_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Profile file with `url` and `token` [default: ~/.config/trustplane/cli.toml].
    #[arg(long, env = "TRUSTPLANE_PROFILE", global = true)]
    pub profile: Option<PathBuf>,
}

#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Save --url and --token in the profile file (readable by you only).
    Login,
    /// Who the token belongs to and the roles it carries.
    Whoami,
    /// Users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Groups and memberships.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Application registrations.
    #[command(subcommand, name = "apps", visible_alias = "applications")]
    Applications(AppsCommand),
    /// Role definitions.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Role assignments.
    #[command(subcommand)]
    Assignments(AssignmentsCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AdminAuditCommand),
    /// Admin API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Provisioning: inbound SCIM and outbound IAM Identity Center connections (Global
    /// Administrator).
    #[command(subcommand)]
    Provisioning(ProvisioningCommand),
    /// Break-glass recovery when no administrator can sign in: works on the database directly
    /// (no server, no token). Enables (or creates) the user, prints a one-time password, and
    /// gives them Global Administrator; audited as a recovery.
    Recover {
        /// The user principal name to recover (created if it does not exist).
        upn: String,
        /// Folder of the embedded database [default: ./trustplane-data].
        #[arg(long, env = "TRUSTPLANE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// A PostgreSQL database instead.
        #[arg(long, env = "TRUSTPLANE_DATABASE_URL")]
        database_url: Option<String>,
        /// The master key file, which keys the audit chain [default: `TRUSTPLANE_MASTER_KEY`,
        /// else DATA_DIR/master.key].
        #[arg(long)]
        master_key_file: Option<PathBuf>,
    },
    /// Detection alerts.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Identity protection: users at risk and the detections behind it.
    #[command(subcommand, name = "risky-users")]
    RiskyUsers(RiskyUsersCommand),
    /// Incidents: alerts about the same person or address, grouped.
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// Posture findings kept by the server across scans.
    Findings {
        /// PASS, FAIL, MANUAL, ERROR or RESOLVED.
        #[arg(long)]
        status: Option<String>,
        /// Account or subscription id.
        #[arg(long)]
        account: Option<String>,
        /// Check id.
        #[arg(long)]
        check: Option<String>,
    },
    /// Upload a saved inventory folder for the server to assess and keep.
    UploadScan { dir: PathBuf },
    /// Discovered apps and access paths and their reviews.
    #[command(subcommand)]
    Discovery(DiscoveryCommand),
    /// Connected AWS accounts and Azure subscriptions, scanned on a schedule.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// The OIDC and SAML signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// S3 prefixes of CloudTrail objects that detection polls.
    #[command(subcommand)]
    LogSources(LogSourcesCommand),
    /// Active Directory and LDAP directories imported as sources of users and groups.
    #[command(subcommand)]
    DirectoryConnections(DirectoryConnectionsCommand),
    /// Upstream OpenID Connect providers people sign in through (home-realm discovery by
    /// domain).
    #[command(subcommand)]
    IdentityProviders(IdentityProvidersCommand),
    /// The sign-in log.
    Signins {
        /// Only this user's attempts (id).
        #[arg(long)]
        user: Option<String>,
        /// From this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
}

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List {
        /// new, acknowledged or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Only this person's (id or UPN).
        #[arg(long)]
        person: Option<String>,
    },
    /// Show one alert with its evidence.
    Show { id: String },
    /// Mark an alert as seen.
    Ack { id: String },
    /// Close an alert.
    Resolve { id: String },
    /// Act on the alert's person: endSessions, disableUser, or webhook (with --webhook-url).
    Respond {
        id: String,
        action: String,
        #[arg(long)]
        webhook_url: Option<String>,
    },
    /// Push a log file, or every log file of a folder (CloudTrail, Azure export, NDJSON;
    /// gzipped or not), into the pipeline.
    Push { file: PathBuf },
}

#[derive(Subcommand)]
pub enum ProvisioningCommand {
    /// Provisioning connections.
    #[command(subcommand)]
    Connections(ProvisioningConnectionsCommand),
}

#[derive(Subcommand)]
pub enum ProvisioningConnectionsCommand {
    /// Create a connection; a scimInbound connection's bearer token is printed once.
    Create {
        /// scimInbound, awsIdentityStore or awsScim.
        #[arg(long = "type", default_value = "scimInbound")]
        kind: String,
        /// A readable name, unique without regard to case.
        #[arg(long)]
        display_name: String,
        /// awsIdentityStore: the Identity Store (d-1234567890).
        #[arg(long)]
        identity_store_id: Option<String>,
        /// awsIdentityStore: the Identity Center region.
        #[arg(long)]
        region: Option<String>,
        /// awsIdentityStore: another endpoint for the Identity Store API (tests: an emulator).
        #[arg(long)]
        endpoint: Option<String>,
        /// awsIdentityStore: a role to assume first.
        #[arg(long)]
        role_arn: Option<String>,
        /// awsScim: the SCIM endpoint as AWS hands it out (`--url` names the Trustplane
        /// server).
        #[arg(long)]
        scim_url: Option<String>,
        /// awsScim: a file holding the SCIM access token (`-`: standard input); kept sealed,
        /// never shown again.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Outbound: provision the members of this group (id or name; repeatable). None:
        /// everyone and every group.
        #[arg(long = "scope-group")]
        scope_groups: Vec<String>,
        /// Outbound: the share of the connection's users (percent) a run may deactivate or
        /// delete before it waits for confirmation (default 10).
        #[arg(long)]
        delete_threshold_percent: Option<u32>,
    },
    /// Every connection.
    List,
    /// One connection (id or name).
    Show { id: String },
    /// Run an outbound connection now (id or name): read the target, repair drift, push what
    /// changed; a scimInbound connection has nothing to run.
    Run { id: String },
    /// Confirm the run held back by accidental-delete prevention, and run it (id or name).
    Confirm { id: String },
    /// Its last run, changes, failures and drift (id or name).
    Status { id: String },
    /// Delete a connection (id or name): its token stops working; its users and groups stay.
    Delete { id: String },
}

#[derive(Subcommand)]
pub enum IncidentsCommand {
    /// List incidents, the most recently active first.
    List {
        /// active, inProgress or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Only incidents about this person (UPN or id).
        #[arg(long)]
        person: Option<String>,
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Show an incident with its alerts and their responses.
    Show {
        /// The incident's id, or a person (UPN or id) for their latest incident.
        id: String,
    },
    /// Change an incident's status or owner.
    Update {
        /// The incident's id, or a person (UPN or id) for their latest incident.
        id: String,
        /// active, inProgress or resolved (resolving resolves its alerts).
        #[arg(long)]
        status: Option<String>,
        /// Who works on it (UPN or id).
        #[arg(long, conflicts_with = "unassign")]
        assign: Option<String>,
        /// Clear the owner.
        #[arg(long)]
        unassign: bool,
    },
    /// Add a comment to an incident.
    Comment {
        /// The incident's id, or a person (UPN or id) for their latest incident.
        id: String,
        comment: String,
    },
}

#[derive(Subcommand)]
pub enum RiskyUsersCommand {
    /// Users with a risk history and their risk now, highest first.
    List,
    /// Risk detections, newest first.
    Detections {
        /// Only this user's (id or UPN).
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Confirm users compromised (ids or UPNs): risk high, every session ended.
    ConfirmCompromised {
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Dismiss users' risk (ids or UPNs).
    Dismiss {
        #[arg(required = true)]
        users: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Your tokens, or a user's, or everyone's (--all): never the tokens themselves.
    List {
        /// Whose (id or UPN); another user's need Global Administrator.
        #[arg(long, conflicts_with = "all")]
        user: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by the id `tokens list` shows; it stops working at once.
    Revoke { id: String },
    /// Issue a token for a user (id or UPN; yourself by default); it is printed once.
    Create {
        /// Another user's token needs Global Administrator.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        description: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// OData filter, e.g. "startswith(displayName,'Ad')".
    #[arg(long)]
    pub filter: Option<String>,
    /// Page size.
    #[arg(long, default_value_t = 100)]
    pub top: usize,
    /// Follow every page.
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List users.
    List(ListArgs),
    /// Show a user (id or UPN).
    Get { id: String },
    /// Create a user.
    Create {
        #[arg(long)]
        upn: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        mail: Option<String>,
        #[arg(long)]
        given_name: Option<String>,
        #[arg(long)]
        surname: Option<String>,
        /// Create the account disabled.
        #[arg(long)]
        disabled: bool,
        /// Read an initial password from standard input (never from the command line).
        #[arg(long)]
        password_stdin: bool,
        /// A free attribute, KEY=VALUE (repeatable).
        #[arg(long = "attr", value_parser = parse_key_value)]
        attributes: Vec<(String, String)>,
    },
    /// Change a user.
    Update {
        id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        upn: Option<String>,
        #[arg(long)]
        mail: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
        #[arg(long = "attr", value_parser = parse_key_value)]
        attributes: Vec<(String, String)>,
    },
    /// Delete a user.
    Delete { id: String },
    /// Authentication methods of a user.
    Methods { id: String },
    /// Set or reset a user's password: read from standard input, or generated and printed once.
    /// The person must change it at the next sign-in unless `--permanent`.
    SetPassword {
        id: String,
        /// Read the new password from standard input (never from the command line).
        #[arg(
            long,
            conflicts_with = "generate",
            required_unless_present = "generate"
        )]
        password_stdin: bool,
        /// Generate a random password and print it once.
        #[arg(long)]
        generate: bool,
        /// Do not ask for a change at the next sign-in.
        #[arg(long)]
        permanent: bool,
    },
    /// Issue a temporary access pass: a code that signs the person in (counting as MFA) so
    /// that they can register their methods. It replaces any earlier pass and is shown once.
    Tap {
        id: String,
        /// Minutes the pass stays valid (10 to 43200).
        #[arg(long, default_value_t = 60)]
        lifetime_minutes: u32,
        /// Usable more than once within its lifetime (default: once).
        #[arg(long)]
        reusable: bool,
        /// When it becomes valid (RFC 3339; default: now).
        #[arg(long)]
        start: Option<String>,
    },
    /// Remove an authentication method of a user (a lost device).
    RemoveMethod { id: String, method_id: String },
    /// Sessions of a user.
    Sessions { id: String },
    /// End every session of a user.
    RevokeSessions { id: String },
    /// Clear a user's failed sign-in count (unlock).
    Unlock { id: String },
    /// Groups of a user.
    Groups {
        id: String,
        /// Include groups reached through nesting.
        #[arg(long)]
        transitive: bool,
    },
    /// A person's timeline across Trustplane, AWS and Azure, oldest first: sign-ins, tokens,
    /// SAML responses, PIM steps, alerts and cloud activity.
    Timeline {
        /// The person (id or UPN).
        id: String,
        /// Entries at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Entries before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Only these sources: trustplane, aws, azure (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        source: Vec<String>,
        /// Only these categories: signIn, federation, pim, detection, cloudActivity, ...
        #[arg(long, value_delimiter = ',')]
        category: Vec<String>,
        /// Page size (1 to 1000).
        #[arg(long, default_value_t = 100)]
        top: usize,
        /// Follow every page.
        #[arg(long)]
        all: bool,
        /// Write the whole window to standard output as NDJSON lines: the entries (`ndjson`)
        /// or OCSF events (`ocsf`).
        #[arg(long, value_parser = ["ndjson", "ocsf"])]
        export: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// List groups.
    List(ListArgs),
    /// Show a group.
    Get { id: String },
    /// Create a group.
    Create {
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        description: Option<String>,
        /// The group can hold directory roles.
        #[arg(long)]
        role_assignable: bool,
    },
    /// Delete a group.
    Delete { id: String },
    /// Members of a group.
    Members {
        id: String,
        /// Include members of nested groups.
        #[arg(long)]
        transitive: bool,
    },
    /// Add a user (id or UPN) or a group (id) to a group.
    AddMember { group: String, member: String },
    /// Remove a member.
    RemoveMember { group: String, member: String },
}

#[derive(Subcommand)]
pub enum AppsCommand {
    /// List applications.
    List(ListArgs),
    /// Show an application.
    Get { id: String },
    /// Register an application: an OIDC client (--redirect-uri), the AWS console
    /// (--template aws-console), or a SAML service provider (--app-id ENTITY-ID --acs URL).
    Create {
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        description: Option<String>,
        /// Its appId: a SAML service provider's entity id.
        #[arg(long)]
        app_id: Option<String>,
        #[command(flatten)]
        protocol: AppProtocolArgs,
    },
    /// Register a SAML service provider from its metadata document (a file, or - for
    /// standard input).
    ImportMetadata {
        file: PathBuf,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Change an application (id, appId or name): name, description, protocol settings.
    Update {
        id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        protocol: AppProtocolArgs,
    },
    /// Add a client secret to an OIDC client; it is shown once.
    AddSecret {
        id: String,
        #[arg(long)]
        display_name: Option<String>,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        end: Option<String>,
    },
    /// Remove a client secret by its key id (`applications get` lists them).
    RemoveSecret { id: String, key_id: String },
    /// Delete an application.
    Delete { id: String },
}

/// Protocol settings of an application, as flags for the common cases or as the API's JSON.
#[derive(Args, Default)]
pub struct AppProtocolArgs {
    /// SAML template: aws-console, aws-identity-center, or generic.
    #[arg(long, value_parser = ["aws-console", "aws-identity-center", "generic"])]
    pub template: Option<String>,
    /// SAML: an assertion consumer service URL (repeatable; replaces the list).
    #[arg(long = "acs")]
    pub acs: Vec<String>,
    /// AWS console: the session length asked for, in seconds.
    #[arg(long)]
    pub session_duration: Option<u32>,
    /// AWS console: only roles in these accounts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub aws_accounts: Vec<String>,
    /// OIDC: a redirect URI (repeatable; replaces the list).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// SAML settings as the API's JSON (`settings.saml`), from a file.
    #[arg(long)]
    pub saml_file: Option<PathBuf>,
    /// OIDC settings as the API's JSON (`settings.oidc`), from a file.
    #[arg(long)]
    pub oidc_file: Option<PathBuf>,
    /// Identity-aware proxy: the internal URL requests are forwarded to.
    #[arg(long)]
    pub proxy_upstream: Option<String>,
    /// Identity-aware proxy: the URL people use (its host is what the proxy serves).
    #[arg(long)]
    pub proxy_external_url: Option<String>,
    /// Identity-aware proxy: the session policy as the API's JSON
    /// (`settings.proxy.sessionPolicy`), from a file.
    #[arg(long)]
    pub session_policy_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum RolesCommand {
    /// List role definitions.
    List,
    /// Show a role definition (id or name).
    Get { role: String },
    /// Add a role of your own, such as a cloud role granted through PIM or federation; the
    /// cloud role comes as JSON (`{"type": "awsSamlRole", ...}`, as in the API) from a file.
    Create {
        #[arg(long)]
        display_name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A JSON file with the cloud role it stands for.
        #[arg(long)]
        resource_file: Option<PathBuf>,
    },
    /// Change a role of your own (id or name); built-in roles are fixed.
    Update {
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// A JSON file with the cloud role it stands for.
        #[arg(long, conflicts_with = "no_resource")]
        resource_file: Option<PathBuf>,
        /// Make it a role of Trustplane alone.
        #[arg(long)]
        no_resource: bool,
    },
    /// Remove a role of your own that nobody holds.
    Delete { role: String },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Replace a signing key; the old one stays published for the overlap so that relying
    /// parties pick up the new one first.
    Rotate {
        /// oidc (token signing) or saml (assertion signing).
        #[arg(value_parser = ["oidc", "saml"])]
        kind: String,
        /// OIDC only: ES256 or RS256.
        #[arg(long, default_value = "ES256")]
        algorithm: String,
        /// How long the old key stays published, in hours [default: a week].
        #[arg(long)]
        overlap_hours: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum AssignmentsCommand {
    /// List role assignments.
    List {
        /// Only this principal's (id or UPN).
        #[arg(long)]
        principal: Option<String>,
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Assign a role (id or name) to a user (id or UPN) or a role-assignable group (id).
    Create {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "/")]
        scope: String,
        /// When it ends (RFC 3339); permanent when absent.
        #[arg(long)]
        end: Option<String>,
        /// `active` (held now) or `eligible` (may be activated: `trustplane pim request`).
        #[arg(long = "type", default_value = "active", value_parser = ["active", "eligible"])]
        kind: String,
    },
    /// Remove a role assignment.
    Delete { id: String },
}

#[derive(Subcommand)]
pub enum AdminAuditCommand {
    /// List audit entries.
    List {
        /// Entries by this actor (object id).
        #[arg(long)]
        actor: Option<String>,
        /// Entries about this target (object id).
        #[arg(long)]
        target: Option<String>,
        /// From this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain directly in the database and name the first altered or removed entry.
    Verify {
        /// Folder of the embedded database [default: ./trustplane-data].
        #[arg(long, env = "TRUSTPLANE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// A PostgreSQL database instead.
        #[arg(long, env = "TRUSTPLANE_DATABASE_URL")]
        database_url: Option<String>,
        /// The master key file that keys the chain [default: DATA_DIR/master.key;
        /// TRUSTPLANE_MASTER_KEY wins over both].
        #[arg(long)]
        master_key_file: Option<PathBuf>,
        /// A checkpoint file written by `serve --audit-anchor-file`: catches a chain cut
        /// short or rewritten since.
        #[arg(long)]
        anchor: Option<PathBuf>,
    },
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// List connected accounts and subscriptions with their last scan.
    List,
    /// Show one connection.
    Show { id: String },
    /// Connect an AWS account: through a role to assume, or with the server's own
    /// credentials.
    ConnectAws {
        /// The 12-digit account id.
        #[arg(long)]
        account_id: String,
        /// A role of that account for the server to assume.
        #[arg(long)]
        role_arn: Option<String>,
        /// Comma-separated regions [default: every enabled one].
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Another endpoint (an emulator, a VPC endpoint).
        #[arg(long)]
        endpoint_url: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Connect it without scheduled scans.
        #[arg(long)]
        disabled: bool,
    },
    /// Connect an Azure subscription through a service principal; the client secret is read
    /// from standard input (never from the command line) and kept sealed by the server.
    ConnectAzure {
        #[arg(long)]
        subscription_id: String,
        #[arg(long)]
        tenant_id: String,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input.
        #[arg(long, required = true)]
        client_secret_stdin: bool,
        #[arg(long)]
        arm_endpoint: Option<String>,
        #[arg(long)]
        graph_endpoint: Option<String>,
        #[arg(long)]
        login_endpoint: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Connect it without scheduled scans.
        #[arg(long)]
        disabled: bool,
    },
    /// Disconnect (findings and scan history stay).
    Disconnect { id: String },
    /// Scan a connection now and show the outcome.
    Scan { id: String },
    /// The scans of a connection, newest first.
    Scans { id: String },
    /// Show the scan interval, or set it with --interval-secs.
    Schedule {
        #[arg(long)]
        interval_secs: Option<i64>,
    },
}

#[derive(Subcommand)]
pub enum DirectoryConnectionsCommand {
    /// List connections with their last run.
    List,
    /// Show one connection (id or name).
    Show { id: String },
    /// The last run: when, result, counts, error, high-water mark.
    Status { id: String },
    /// Connect a directory; the bind password is read from standard input.
    Create {
        /// `activeDirectory` or `ldap`.
        #[arg(long = "type", value_parser = ["activeDirectory", "ldap"])]
        r#type: String,
        #[arg(long)]
        display_name: String,
        /// `ldaps://host[:port]`, or `ldap://host[:port]` with StartTLS (`--url` is the
        /// Trustplane server's).
        #[arg(long)]
        ldap_url: String,
        #[arg(long)]
        bind_dn: String,
        /// Read the bind password from standard input (the only way to give it).
        #[arg(long, required = true)]
        bind_password_stdin: bool,
        #[arg(long)]
        base_dn: String,
        /// A PEM file with the CA certificate that signed the directory's certificate.
        #[arg(long)]
        ca_certificate: Option<PathBuf>,
        /// An extra LDAP filter for users, e.g. `(department=Sales)`.
        #[arg(long)]
        user_filter: Option<String>,
        /// An extra LDAP filter for groups.
        #[arg(long)]
        group_filter: Option<String>,
        /// Plain `ldap://` without StartTLS (loopback only).
        #[arg(long)]
        no_start_tls: bool,
        /// Check imported users' passwords by a bind to the directory at sign-in.
        #[arg(long)]
        pass_through_authentication: bool,
    },
    /// Connect and bind with the stored settings.
    Test { id: String },
    /// Sync now (incremental where possible; exit 1 when the run failed or waits).
    Sync {
        id: String,
        /// A full reconciliation (deletions are found only by one).
        #[arg(long)]
        full: bool,
        /// Apply removals over the safety share (10 % of the connection's users).
        #[arg(long)]
        confirm: bool,
    },
    /// Delete a connection; what it imported stays as local objects.
    Delete { id: String },
}

#[derive(Subcommand)]
pub enum IdentityProvidersCommand {
    /// List providers with their domains.
    List,
    /// Show one provider (id or name).
    Show { id: String },
    /// Add an OpenID Connect provider; the client secret is read from standard input.
    Create {
        /// `oidc`.
        #[arg(long = "type", default_value = "oidc", value_parser = ["oidc"])]
        r#type: String,
        /// A readable name (default: the issuer's host).
        #[arg(long)]
        display_name: Option<String>,
        /// The issuer identifier, e.g. `https://login.microsoftonline.com/TENANT/v2.0`.
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input (the only way to give it).
        #[arg(long, required = true)]
        client_secret_stdin: bool,
        /// A sign-in domain whose people are sent to this provider (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Scopes to ask for (repeatable; default `openid profile email`).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// How a first sign-in finds its user.
        #[arg(long, default_value = "none", value_parser = ["none", "userPrincipalName", "directoryAnchor"])]
        link_by: String,
        /// The claim that carries a directory anchor (for `--link-by directoryAnchor`).
        #[arg(long)]
        anchor_claim: Option<String>,
        /// The claim used as the immutable subject (default: Entra's `tid`/`oid`, else `sub`).
        #[arg(long)]
        subject_claim: Option<String>,
        /// The provider's MFA (`amr` with `mfa`) satisfies conditional access's MFA control.
        #[arg(long)]
        trust_mfa: bool,
        /// Create users just in time (with no roles) for identities without one.
        #[arg(long)]
        jit_provisioning: bool,
    },
    /// Read the provider's discovery document and keys.
    Test { id: String },
    /// Delete a provider and its links; users it created stay as local users.
    Delete { id: String },
}

#[derive(Subcommand)]
pub enum LogSourcesCommand {
    /// List log sources with their last key and counts.
    List,
    /// Show one source.
    Show { id: String },
    /// Poll an S3 prefix of CloudTrail objects (one region's prefix: keys are read in order).
    Add {
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "")]
        prefix: String,
        #[arg(long)]
        region: String,
        /// A role to assume for reading.
        #[arg(long)]
        role_arn: Option<String>,
        /// Another endpoint (an emulator, a VPC endpoint).
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Seconds between polls [default: 60].
        #[arg(long)]
        poll_interval_secs: Option<i64>,
        #[arg(long)]
        display_name: Option<String>,
        /// Add it without scheduled polls (`poll` still reads it on demand).
        #[arg(long)]
        disabled: bool,
    },
    /// Remove a source (its alerts stay).
    Remove { id: String },
    /// Poll a source now.
    Poll { id: String },
}
