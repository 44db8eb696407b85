//! The Graph enumerations a policy uses.

use crate::de::graph_enum;

graph_enum! {
    /// `conditionalAccessPolicyState`.
    PolicyState {
        /// Evaluated and enforced.
        Enabled = "enabled",
        /// Never evaluated.
        Disabled = "disabled",
        /// Evaluated and reported, never enforced.
        ReportOnly = "enabledForReportingButNotEnforced",
    }
}

graph_enum! {
    /// `conditionalAccessClientApp`.
    ClientAppType {
        /// Every client.
        All = "all",
        /// Web browsers.
        Browser = "browser",
        /// Modern-authentication mobile and desktop apps.
        MobileAppsAndDesktopClients = "mobileAppsAndDesktopClients",
        /// Exchange ActiveSync (legacy authentication).
        ExchangeActiveSync = "exchangeActiveSync",
        /// Deprecated: ActiveSync on supported platforms.
        EasSupported = "easSupported",
        /// Deprecated: ActiveSync on unsupported platforms.
        EasUnsupported = "easUnsupported",
        /// Other legacy clients (IMAP, POP, SMTP, password grants).
        OtherClients = "other",
    }
}

graph_enum! {
    /// `conditionalAccessDevicePlatform`.
    DevicePlatform {
        /// Every platform, including unknown ones.
        All = "all",
        /// Android.
        Android = "android",
        /// iOS and iPadOS.
        Ios = "iOS",
        /// Windows.
        Windows = "windows",
        /// Windows Phone.
        WindowsPhone = "windowsPhone",
        /// macOS.
        MacOs = "macOS",
        /// Linux.
        Linux = "linux",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `riskLevel`.
    RiskLevel {
        /// Low risk.
        Low = "low",
        /// Medium risk.
        Medium = "medium",
        /// High risk.
        High = "high",
        /// Risk hidden from the caller.
        Hidden = "hidden",
        /// No risk detected.
        None = "none",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `conditionalAccessInsiderRiskLevels` (a flags enum).
    InsiderRiskLevel {
        /// Minor insider risk.
        Minor = "minor",
        /// Moderate insider risk.
        Moderate = "moderate",
        /// Elevated insider risk.
        Elevated = "elevated",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `conditionalAccessTransferMethods` (a flags enum).
    TransferMethod {
        /// No transfer method.
        None = "none",
        /// OAuth device code flow.
        DeviceCodeFlow = "deviceCodeFlow",
        /// Authentication transfer (e.g. from a PC to a phone).
        AuthenticationTransfer = "authenticationTransfer",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `conditionalAccessGuestOrExternalUserTypes` (a flags enum).
    GuestOrExternalUserType {
        /// None.
        None = "none",
        /// Internal guests.
        InternalGuest = "internalGuest",
        /// B2B collaboration guests.
        B2bCollaborationGuest = "b2bCollaborationGuest",
        /// B2B collaboration members.
        B2bCollaborationMember = "b2bCollaborationMember",
        /// B2B direct connect users.
        B2bDirectConnectUser = "b2bDirectConnectUser",
        /// Other external users.
        OtherExternalUser = "otherExternalUser",
        /// Service provider users.
        ServiceProvider = "serviceProvider",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `conditionalAccessExternalTenantsMembershipKind`.
    MembershipKind {
        /// Every external tenant.
        All = "all",
        /// The tenants listed in `members`.
        Enumerated = "enumerated",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `filterMode`.
    FilterMode {
        /// Objects matching the rule are in scope.
        Include = "include",
        /// Objects matching the rule are out of scope.
        Exclude = "exclude",
    }
}

graph_enum! {
    /// `conditionalAccessGrantControl`.
    BuiltInControl {
        /// Block access.
        Block = "block",
        /// Multifactor authentication.
        Mfa = "mfa",
        /// A device marked compliant.
        CompliantDevice = "compliantDevice",
        /// A hybrid Entra joined device.
        DomainJoinedDevice = "domainJoinedDevice",
        /// An approved client app.
        ApprovedApplication = "approvedApplication",
        /// An app protection policy.
        CompliantApplication = "compliantApplication",
        /// A password change (with `mfa`, under AND).
        PasswordChange = "passwordChange",
        /// Risk remediation.
        RiskRemediation = "riskRemediation",
        /// Graph's evolvable-enum sentinel.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// The operator that combines a policy's grant controls.
    GrantOperator {
        /// Every control is required.
        And = "AND",
        /// One control is enough.
        Or = "OR",
    }
}

graph_enum! {
    /// `signinFrequencyType`.
    FrequencyUnit {
        /// Days.
        Days = "days",
        /// Hours.
        Hours = "hours",
    }
}

graph_enum! {
    /// `signInFrequencyInterval`.
    FrequencyInterval {
        /// After a period given by `value` and `type`.
        TimeBased = "timeBased",
        /// At every sign-in.
        EveryTime = "everyTime",
    }
}

graph_enum! {
    /// `persistentBrowserSessionMode`.
    PersistentBrowserMode {
        /// Always persist the browser session.
        Always = "always",
        /// Never persist the browser session.
        Never = "never",
    }
}

graph_enum! {
    /// `cloudAppSecuritySessionControlType`.
    CloudAppSecurityType {
        /// A custom Defender for Cloud Apps policy.
        McasConfigured = "mcasConfigured",
        /// Monitor only.
        MonitorOnly = "monitorOnly",
        /// Block downloads.
        BlockDownloads = "blockDownloads",
    }
}

graph_enum! {
    /// `continuousAccessEvaluationMode`.
    CaeMode {
        /// Strict enforcement.
        StrictEnforcement = "strictEnforcement",
        /// Continuous access evaluation turned off.
        Disabled = "disabled",
        /// Strict location enforcement.
        StrictLocation = "strictLocation",
    }
}
