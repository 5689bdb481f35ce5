"""Relay's tables, as one Piccolo app whose migrations live in piccolo_migrations/."""

from piccolo.conf.apps import AppConfig

from app.accounts.tables import AuditEvent, Ceremony, Invitation, Member, Passkey, Session
from app.activity.tables import Activity
from app.candidates.tables import (
    Candidate,
    CandidatePolicy,
    OfferBonus,
    ReferralBonus,
    Visit,
    VisitorKey,
)
from app.content.tables import ApplyHost, ContentItem, ContentTarget, FeedState, ShareGuide
from app.core.settings import ROOT
from app.events.tables import Event, EventSignup
from app.insights.tables import (
    InsightDay,
    InsightDigest,
    InsightHeadcount,
    InsightKept,
    InsightSettings,
    InsightState,
    InsightTotal,
)
from app.integrations.tables import (
    ExternalOffer,
    IntegrationToken,
    OidcIdentity,
    OidcLogin,
    OidcProvider,
    ScimGroup,
    ScimUser,
    SsoPolicy,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.mail.tables import MailOutbox
from app.notifications.tables import Campaign, NotificationOpen, NotificationPreference, Nudge
from app.org.tables import Organisation, Site, Team
from app.points.tables import (
    Challenge,
    ChallengeItem,
    Level,
    MemberBadge,
    PointsLine,
    PointsRule,
    PointsTotal,
)
from app.rewards.tables import Redemption, Reward
from app.sharing.tables import Share, ShareLink
from app.voice.tables import ProgrammeContact, Proposal, Question, ReviewSite
from push.tables import PushDelivery, PushSubscription

APP_CONFIG = AppConfig(
    app_name="relay",
    migrations_folder_path=str(ROOT / "piccolo_migrations"),
    table_classes=[
        Organisation,
        Team,
        Site,
        Member,
        Passkey,
        Invitation,
        Session,
        Ceremony,
        AuditEvent,
        PushSubscription,
        PushDelivery,
        ContentItem,
        ContentTarget,
        ShareGuide,
        ApplyHost,
        FeedState,
        ShareLink,
        Share,
        NotificationPreference,
        Nudge,
        Campaign,
        NotificationOpen,
        VisitorKey,
        Visit,
        Activity,
        Candidate,
        CandidatePolicy,
        OfferBonus,
        ReferralBonus,
        PointsRule,
        PointsLine,
        PointsTotal,
        Level,
        MemberBadge,
        Challenge,
        ChallengeItem,
        Reward,
        Redemption,
        MailOutbox,
        InsightDay,
        InsightTotal,
        InsightHeadcount,
        InsightState,
        InsightKept,
        InsightSettings,
        InsightDigest,
        Event,
        EventSignup,
        Proposal,
        Question,
        ReviewSite,
        ProgrammeContact,
        IntegrationToken,
        ScimUser,
        ScimGroup,
        ExternalOffer,
        WebhookEndpoint,
        WebhookDelivery,
        OidcProvider,
        OidcIdentity,
        OidcLogin,
        SsoPolicy,
    ],
    migration_dependencies=[],
    commands=[],
)
