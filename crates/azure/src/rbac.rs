//! Azure RBAC role assignments, granted and taken back for just-in-time privileged access.
//!
//! A grant's name is a v5 UUID of (scope, role definition GUID, principal id), compared without
//! case as ARM does: the same grant always has the same name, so a grant repeated after a crash
//! or a timeout lands on the assignment already made, and [`Rbac::unassign`] finds it again
//! from the same three values. [`Rbac::unassign`] deletes only that name: an assignment of the
//! same role made outside Trustplane (under another name) stays.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use trustplane_azure::{rbac::Rbac, Credential, Options};
//! let credential = Credential::from_env().ok_or("no Azure credentials in the environment")?;
//! let rbac = Rbac::new(&Options::new(credential))?;
//! let scope = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2";
//! let reader = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
//! let principal = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
//! let granted = rbac.assign(scope, reader, principal).await?;
//! // ... later, or after a restart:
//! rbac.unassign(scope, reader, principal).await?;
//! # Ok(()) }
//! ```

use std::fmt;

use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::auth::{self, ArmToken};
use crate::collect::base_url;
use crate::error::{AzureError, CallError};
use crate::http::{error_code, error_message, Http, Paging};
use crate::options::Options;

/// api-version of `Microsoft.Authorization/roleAssignments` used for every call.
pub const API_VERSION: &str = "2022-04-01";

/// Path of the role assignments under a scope.
const ASSIGNMENTS: &str = "/providers/Microsoft.Authorization/roleAssignments";
/// Lower-case marker of a role definition id.
const DEFINITIONS: &str = "/providers/microsoft.authorization/roledefinitions/";
/// Namespace of the v5 UUIDs that name Trustplane's role assignments. Changing it would orphan
/// every assignment made before.
const NAMESPACE: Uuid = Uuid::from_u128(0xad56be11_b553_498b_8999_45d446b2165a);
/// Longest scope accepted (ARM ids are far shorter in practice).
const MAX_SCOPE: usize = 1024;

/// One role assignment as Resource Manager reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// ARM id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub id: String,
    /// The assignment's GUID.
    pub name: String,
    /// Where it applies: a management group, subscription, resource group or resource.
    pub scope: String,
    /// ARM id of the role definition.
    pub role_definition_id: String,
    /// Object id of the user, group or service principal.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`, ... when ARM says.
    pub principal_type: Option<String>,
}

impl RoleAssignment {
    /// Whether it grants this role to this principal at exactly this scope. Ids compare without
    /// case, and role definitions by their GUID: ARM writes the same role as
    /// `/providers/Microsoft.Authorization/roleDefinitions/{guid}` or with a
    /// `/subscriptions/{id}` prefix.
    pub fn grants(&self, scope: &str, role_definition_id: &str, principal_id: &str) -> bool {
        let role = |id: &str| definition_guid(id).map(str::to_ascii_lowercase);
        self.scope.to_lowercase() == scope.to_lowercase()
            && self.principal_id.eq_ignore_ascii_case(principal_id)
            && role(&self.role_definition_id).is_some()
            && role(&self.role_definition_id) == role(role_definition_id)
    }
}

/// The name [`Rbac::assign`] gives the assignment of `role_definition_id` to `principal_id` at
/// `scope`, after the same checks of the inputs.
pub fn assignment_name(
    scope: &str,
    role_definition_id: &str,
    principal_id: &str,
) -> Result<String, AzureError> {
    Ok(Target::new(scope, role_definition_id, principal_id)?.name)
}

/// Grants, takes back and lists role assignments through Resource Manager.
///
/// Uses the credential, `arm_endpoint`, `login_endpoint`, `max_concurrency`, `max_retries`,
/// `max_retry_wait`, `timeout` and `progress` of [`Options`]. A service principal's token is
/// fetched on first use and again shortly before it expires; a given token is used as it is.
/// 429 and 503 answers are retried as by the collector; every call here may be repeated
/// safely.
pub struct Rbac {
    http: Http,
    arm: String,
    options: Options,
    token: Mutex<Option<ArmToken>>,
}

// The credential's Debug hides the secrets; the cached token is not shown at all.
impl fmt::Debug for Rbac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rbac")
            .field("arm_endpoint", &self.arm)
            .field("credential", &self.options.credential)
            .finish_non_exhaustive()
    }
}

impl Rbac {
    /// Checks the ARM endpoint and builds the HTTP client; no request is sent yet.
    pub fn new(options: &Options) -> Result<Rbac, AzureError> {
        let arm = base_url(&options.arm_endpoint, "arm_endpoint")?;
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()?;
        Ok(Rbac {
            http: Http::new(
                client,
                options.max_concurrency,
                options.max_retries,
                options.max_retry_wait,
            )
            .with_progress(options.progress.clone()),
            arm,
            options: options.clone(),
            token: Mutex::new(None),
        })
    }

    /// Grants `role_definition_id` to `principal_id` at `scope`: PUT of the assignment named by
    /// [`assignment_name`]. ARM's `409 RoleAssignmentExists` (this grant made before, or the
    /// same role given to the same principal at the same scope under another name) is success:
    /// the existing assignment is returned, read back by name or else from the list at the
    /// scope. Its `name` then tells whether it is Trustplane's; one made outside is not removed
    /// by [`Rbac::unassign`]. Should ARM not list it yet (its reads lag its writes), the
    /// assignment is returned as requested, without a principal type.
    pub async fn assign(
        &self,
        scope: &str,
        role_definition_id: &str,
        principal_id: &str,
    ) -> Result<RoleAssignment, AzureError> {
        let t = Target::new(scope, role_definition_id, principal_id)?;
        let url = self.url(&t.path(), "")?;
        let body = json!({"properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
        }});
        let token = self.token().await?;
        let (status, bytes) = self
            .http
            .send(Method::PUT, &url, &token, Some(&body))
            .await
            .map_err(|e| failed(&Method::PUT, &url, e))?;
        if status.is_success() {
            return parse_one(&Method::PUT, &url, &bytes);
        }
        let exists =
            error_code(&bytes).is_some_and(|c| c.eq_ignore_ascii_case("RoleAssignmentExists"));
        if status == StatusCode::CONFLICT && exists {
            return self.existing(t, &token).await;
        }
        Err(refused(&Method::PUT, &url, status, &bytes))
    }

    /// Takes back what [`Rbac::assign`] granted: DELETE of the assignment named by
    /// [`assignment_name`]. Already gone (204 or 404) is success.
    pub async fn unassign(
        &self,
        scope: &str,
        role_definition_id: &str,
        principal_id: &str,
    ) -> Result<(), AzureError> {
        let t = Target::new(scope, role_definition_id, principal_id)?;
        let url = self.url(&t.path(), "")?;
        let token = self.token().await?;
        let (status, bytes) = self
            .http
            .send(Method::DELETE, &url, &token, None)
            .await
            .map_err(|e| failed(&Method::DELETE, &url, e))?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(refused(&Method::DELETE, &url, status, &bytes))
        }
    }

    /// The role assignments that apply at `scope` (`$filter=atScope()`): those made at the
    /// scope and those inherited from above it, not those below. Every page is read.
    pub async fn list(&self, scope: &str) -> Result<Vec<RoleAssignment>, AzureError> {
        check_scope(scope)?;
        let token = self.token().await?;
        self.list_at(scope, &token).await
    }

    async fn list_at(&self, scope: &str, token: &str) -> Result<Vec<RoleAssignment>, AzureError> {
        let url = self.url(&format!("{scope}{ASSIGNMENTS}"), "&$filter=atScope()")?;
        let items = self
            .http
            .list(&url, token, Paging::Arm)
            .await
            .map_err(|e| failed(&Method::GET, &url, e))?;
        items
            .into_iter()
            .map(|v| {
                serde_json::from_value::<Wire>(v)
                    .map(RoleAssignment::from)
                    .map_err(|e| malformed(&Method::GET, &url, &e))
            })
            .collect()
    }

    /// The assignment ARM says exists for `t`.
    async fn existing(&self, t: Target, token: &str) -> Result<RoleAssignment, AzureError> {
        let url = self.url(&t.path(), "")?;
        let (status, bytes) = self
            .http
            .send(Method::GET, &url, token, None)
            .await
            .map_err(|e| failed(&Method::GET, &url, e))?;
        if status.is_success() {
            let ra = parse_one(&Method::GET, &url, &bytes)?;
            if ra.grants(&t.scope, &t.role, &t.principal) {
                return Ok(ra);
            }
        } else if status != StatusCode::NOT_FOUND {
            return Err(refused(&Method::GET, &url, status, &bytes));
        }
        let listed = self.list_at(&t.scope, token).await?;
        if let Some(ra) = listed
            .into_iter()
            .find(|r| r.grants(&t.scope, &t.role, &t.principal))
        {
            return Ok(ra);
        }
        Ok(RoleAssignment {
            id: t.path(),
            name: t.name,
            scope: t.scope,
            role_definition_id: t.role,
            principal_id: t.principal,
            principal_type: None,
        })
    }

    /// The ARM token, fetched again when it is about to expire.
    async fn token(&self) -> Result<String, AzureError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.fresh()) {
            return Ok(t.value.clone());
        }
        let t = auth::arm_token(self.http.client(), &self.options).await?;
        let value = t.value.clone();
        *cached = Some(t);
        Ok(value)
    }

    fn url(&self, path: &str, query: &str) -> Result<Url, AzureError> {
        let s = format!("{}{path}?api-version={API_VERSION}{query}", self.arm);
        Url::parse(&s).map_err(|e| AzureError::InvalidInput {
            what: "scope",
            message: format!("{} does not make a URL: {e}", quote(path)),
        })
    }
}

/// A checked (scope, role, principal) and the name of its assignment.
struct Target {
    scope: String,
    role: String,
    principal: String,
    name: String,
}

impl Target {
    fn new(
        scope: &str,
        role_definition_id: &str,
        principal_id: &str,
    ) -> Result<Target, AzureError> {
        check_scope(scope)?;
        let role_guid = check_role(role_definition_id)?;
        if !is_guid(principal_id) {
            return Err(AzureError::InvalidInput {
                what: "principal id",
                message: format!("{} is not a GUID", quote(principal_id)),
            });
        }
        let key = format!(
            "{}\n{}\n{}",
            scope.to_lowercase(),
            role_guid.to_ascii_lowercase(),
            principal_id.to_ascii_lowercase()
        );
        Ok(Target {
            scope: scope.to_string(),
            role: role_definition_id.to_string(),
            principal: principal_id.to_string(),
            name: Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string(),
        })
    }

    fn path(&self) -> String {
        format!("{}{ASSIGNMENTS}/{}", self.scope, self.name)
    }
}

/// A value for a one-line message: quoted, escaped, cut at 120 characters.
fn quote(s: &str) -> String {
    let cut: String = s.chars().take(120).collect();
    if cut.len() < s.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Characters of a scope's path segments: those a URL path segment may hold unescaped
/// (RFC 3986 `pchar` without `%`), and Unicode letters and digits.
fn segment_char(c: char) -> bool {
    c.is_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c)
}

/// Why `scope` is not a subscription (or below) or management group scope, if it is not.
fn scope_problem(scope: &str) -> Option<String> {
    const START: &str =
        "does not start with /subscriptions/ or /providers/Microsoft.Management/managementGroups/";
    if scope.len() > MAX_SCOPE {
        return Some(format!("is longer than {MAX_SCOPE} bytes"));
    }
    let Some(rest) = scope.strip_prefix('/') else {
        return Some(START.to_string());
    };
    let segs: Vec<&str> = rest.split('/').collect();
    for seg in &segs {
        if seg.is_empty() {
            return Some("has an empty path segment (doubled or trailing `/`)".to_string());
        }
        if *seg == "." || *seg == ".." {
            return Some("has a `.` or `..` path segment".to_string());
        }
        if let Some(c) = seg.chars().find(|c| !segment_char(*c)) {
            return Some(format!("has the character {c:?}"));
        }
    }
    let is = |i: usize, word: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    if is(0, "subscriptions") {
        return match segs.get(1) {
            Some(s) if is_guid(s) => None,
            _ => Some("has a subscription id that is not a GUID".to_string()),
        };
    }
    if is(0, "providers") && is(1, "Microsoft.Management") && is(2, "managementGroups") {
        return match segs.len() {
            4 => None,
            3 => Some("names no management group".to_string()),
            _ => Some("goes below a management group (use a subscription scope)".to_string()),
        };
    }
    Some(START.to_string())
}

fn check_scope(scope: &str) -> Result<(), AzureError> {
    match scope_problem(scope) {
        None => Ok(()),
        Some(why) => Err(AzureError::InvalidInput {
            what: "scope",
            message: format!("{} {why}", quote(scope)),
        }),
    }
}

/// The scope prefix and GUID of a role definition id, if it has the shape of one (no other
/// check).
fn split_definition(id: &str) -> Option<(&str, &str)> {
    // ASCII lower-casing keeps every byte offset.
    let at = id.to_ascii_lowercase().rfind(DEFINITIONS)?;
    Some((id.get(..at)?, id.get(at + DEFINITIONS.len()..)?))
}

fn definition_guid(id: &str) -> Option<&str> {
    split_definition(id).map(|(_, guid)| guid)
}

/// Checks `[{scope}]/providers/Microsoft.Authorization/roleDefinitions/{guid}`; the GUID.
fn check_role(id: &str) -> Result<&str, AzureError> {
    let bad = |why: &str| AzureError::InvalidInput {
        what: "role definition id",
        message: format!("{} {why}", quote(id)),
    };
    let Some((prefix, guid)) = split_definition(id) else {
        return Err(bad(
            "is not an ARM id of the form [{scope}]/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        ));
    };
    if !is_guid(guid) {
        return Err(bad("does not end in a GUID"));
    }
    if !prefix.is_empty() {
        if let Some(why) = scope_problem(prefix) {
            return Err(bad(&format!("has a scope that {why}")));
        }
    }
    Ok(guid)
}

/// A role assignment on the wire.
#[derive(Deserialize)]
struct Wire {
    id: String,
    name: String,
    properties: WireProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProperties {
    scope: String,
    role_definition_id: String,
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
}

impl From<Wire> for RoleAssignment {
    fn from(w: Wire) -> Self {
        RoleAssignment {
            id: w.id,
            name: w.name,
            scope: w.properties.scope,
            role_definition_id: w.properties.role_definition_id,
            principal_id: w.properties.principal_id,
            principal_type: w.properties.principal_type,
        }
    }
}

fn call(method: &Method, url: &Url) -> String {
    format!("{method} {}", url.path())
}

fn parse_one(method: &Method, url: &Url, body: &[u8]) -> Result<RoleAssignment, AzureError> {
    serde_json::from_slice::<Wire>(body)
        .map(RoleAssignment::from)
        .map_err(|e| malformed(method, url, &e))
}

fn malformed(method: &Method, url: &Url, e: &serde_json::Error) -> AzureError {
    AzureError::Malformed {
        call: call(method, url),
        message: format!("not a role assignment: {e}"),
    }
}

/// A final non-success answer.
fn refused(method: &Method, url: &Url, status: StatusCode, body: &[u8]) -> AzureError {
    AzureError::Arm {
        call: call(method, url),
        status: status.as_u16(),
        code: error_code(body),
        message: error_message(body),
    }
}

fn failed(method: &Method, url: &Url, e: CallError) -> AzureError {
    match e {
        CallError::Transport(message) => AzureError::Unreachable {
            url: url.to_string(),
            message,
        },
        CallError::Status {
            status,
            code,
            message,
        } => AzureError::Arm {
            call: call(method, url),
            status,
            code,
            message,
        },
        CallError::Body(message) => AzureError::Malformed {
            call: call(method, url),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2";
    const ROLE: &str =
        "/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d";
    const WHO: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";

    fn what(e: AzureError) -> &'static str {
        match e {
            AzureError::InvalidInput { what, .. } => what,
            other => panic!("not an input error: {other}"),
        }
    }

    #[test]
    fn names_are_stable_and_ignore_case() {
        let n = assignment_name(SUB, ROLE, WHO).unwrap();
        assert!(is_guid(&n));
        assert_eq!(n, assignment_name(SUB, ROLE, WHO).unwrap());
        let upper = assignment_name(
            &SUB.to_uppercase(),
            &ROLE.to_uppercase(),
            &WHO.to_uppercase(),
        )
        .unwrap();
        assert_eq!(n, upper);
        // The same role written with its subscription.
        let scoped = format!("{SUB}{ROLE}");
        assert_eq!(n, assignment_name(SUB, &scoped, WHO).unwrap());
        let rg = format!("{SUB}/resourceGroups/rg1");
        assert_ne!(n, assignment_name(&rg, ROLE, WHO).unwrap());
        let other = "ce2ce14e-85d7-4629-bdbc-454d0519d988";
        assert_ne!(n, assignment_name(SUB, ROLE, other).unwrap());
    }

    #[test]
    fn scopes() {
        let mg = "/providers/Microsoft.Management/managementGroups/contoso-root";
        for ok in [
            SUB,
            mg,
            "/subscriptions/A925F2F7-5C63-4B7B-8799-25A5F97BC3B2/resourceGroups/rg(1).x",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1",
        ] {
            assert!(check_scope(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2",
            "/subscriptions/",
            "/subscriptions/not-a-guid",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2//resourceGroups",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourceGroups/../x",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2?api-version=1",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourceGroups/a b",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourceGroups/a%2F",
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/x\ny",
            "/providers/Microsoft.Management/managementGroups",
            "/providers/Microsoft.Management/managementGroups/mg/subscriptions/x",
            "/providers/Microsoft.Authorization/roleDefinitions/x",
            "/resourceGroups/rg1",
        ] {
            let e = check_scope(bad).unwrap_err();
            assert!(!e.to_string().contains('\n'), "{e}");
            assert_eq!(what(e), "scope");
        }
        assert!(check_scope(&format!("{SUB}/{}", "a".repeat(MAX_SCOPE))).is_err());
    }

    #[test]
    fn role_definition_ids() {
        assert_eq!(
            check_role(ROLE).unwrap(),
            "0b5fe924-9a61-425c-96af-cfe6e287ca2d"
        );
        assert!(check_role(&format!("{SUB}{ROLE}")).is_ok());
        assert!(check_role(&ROLE.to_lowercase()).is_ok());
        for bad in [
            "",
            "0b5fe924-9a61-425c-96af-cfe6e287ca2d",
            "Owner",
            "/providers/Microsoft.Authorization/roleDefinitions/",
            "/providers/Microsoft.Authorization/roleDefinitions/owner",
            "/providers/Microsoft.Authorization/roleAssignments/0b5fe924-9a61-425c-96af-cfe6e287ca2d",
            "providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d",
            "/x/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d",
            "/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d/x",
            "/ü/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d",
        ] {
            assert_eq!(what(check_role(bad).unwrap_err()), "role definition id", "{bad}");
        }
    }

    #[test]
    fn grants_compares_like_arm() {
        let ra = RoleAssignment {
            id: format!("{SUB}{ASSIGNMENTS}/b0f43c54-e787-4862-89b1-a653fa9cf747"),
            name: "b0f43c54-e787-4862-89b1-a653fa9cf747".to_string(),
            scope: SUB.to_string(),
            role_definition_id: format!("{SUB}{ROLE}"),
            principal_id: WHO.to_string(),
            principal_type: Some("User".to_string()),
        };
        assert!(ra.grants(&SUB.to_uppercase(), ROLE, &WHO.to_uppercase()));
        assert!(!ra.grants(&format!("{SUB}/resourceGroups/rg1"), ROLE, WHO));
        assert!(!ra.grants(SUB, "Owner", WHO));
    }

    #[test]
    fn quotes_stay_on_one_line() {
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert!(quote(&"x".repeat(500)).len() < 130);
        assert_eq!(quote(&"é".repeat(200)).chars().count(), 125);
    }
}
