"""Relay's tables, squashed on 2026-11-30 from the fifteen migrations written before any
database was in use. From here on, migrations are kept: add new ones, never edit this one.

It makes the calls Piccolo's auto migration makes (one ``add_table`` per table, one
``add_column`` per column), with each column's parameters given only where they differ
from the column class's defaults. Columns a later migration had appended come last, as in
the databases those migrations built. Every id is a ``NeverReusedSerial`` (AUTOINCREMENT on
SQLite, see app/core/db.py). Indexes Piccolo cannot declare are in the next migration.
tests/test_schema.py checks the result against the reviewed schema.
"""

from enum import Enum
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import (
    Boolean,
    Bytea,
    Column,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from app.core.db import NeverReusedSerial

ID = "2026-11-30T18:44:21:607730"
VERSION = "1.38.0"
DESCRIPTION = "Relay's tables"


def choices(name: str, *values: str) -> type[Enum]:
    return Enum(name, {value: value for value in values})


# The tables foreign keys point at, as much of them as a foreign key needs.
class Challenge(Table, tablename="challenge"):
    id = Serial(primary_key=True)


class ContentItem(Table, tablename="content_item"):
    id = Serial(primary_key=True)


class Invitation(Table, tablename="invitation"):
    id = Serial(primary_key=True)


class Member(Table, tablename="member"):
    id = Serial(primary_key=True)


class PushSubscription(Table, tablename="push_subscription"):
    id = Serial(primary_key=True)


class Reward(Table, tablename="reward"):
    id = Serial(primary_key=True)


class ShareLink(Table, tablename="share_link"):
    id = Serial(primary_key=True)


class Site(Table, tablename="site"):
    id = Serial(primary_key=True)


class Team(Table, tablename="team"):
    id = Serial(primary_key=True)


TABLES: dict[str, tuple[str, list[tuple[str, type[Column], dict[str, Any]]]]] = {
    "Organisation": (
        "organisation",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 120}),
            ("default_language", Varchar, {"length": 5, "default": "en"}),
            ("brand_colour", Varchar, {"length": 7, "default": "#4f46e5"}),
            ("created_at", Timestamptz, {}),
        ],
    ),
    "Team": (
        "team",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 80, "unique": True}),
            ("active", Boolean, {"default": True}),
        ],
    ),
    "Site": (
        "site",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 80, "unique": True}),
            ("active", Boolean, {"default": True}),
        ],
    ),
    "Member": (
        "member",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("email", Varchar, {"length": 254, "unique": True}),
            ("name", Varchar, {"length": 120}),
            (
                "role",
                Varchar,
                {
                    "length": 10,
                    "default": "employee",
                    "choices": choices("Role", "employee", "editor", "admin"),
                },
            ),
            ("team", ForeignKey, {"references": Team, "on_delete": OnDelete.set_null}),
            ("site", ForeignKey, {"references": Site, "on_delete": OnDelete.set_null}),
            ("language", Varchar, {"length": 5, "default": "en"}),
            ("active", Boolean, {"default": True, "index": True}),
            (
                "webauthn_user_id",
                Varchar,
                {"length": 64, "default": None, "null": True, "index": True},
            ),
            ("created_at", Timestamptz, {}),
            ("deactivated_at", Timestamptz, {"default": None, "null": True}),
            ("leaderboard_anonymous", Boolean, {}),
        ],
    ),
    "Passkey": (
        "passkey",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("credential_id", Varchar, {"length": 1400, "unique": True}),
            ("public_key", Bytea, {}),
            ("sign_count", Integer, {}),
            ("transports", Varchar, {"length": 200}),
            ("backed_up", Boolean, {}),
            ("device_type", Varchar, {"length": 20, "default": "single_device"}),
            ("aaguid", Varchar, {"length": 36}),
            ("name", Varchar, {"length": 60}),
            ("created_at", Timestamptz, {}),
            ("last_used_at", Timestamptz, {"default": None, "null": True}),
        ],
    ),
    "Invitation": (
        "invitation",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("token_hash", Varchar, {"length": 64, "unique": True}),
            ("purpose", Varchar, {"length": 10, "default": "invite"}),
            ("created_by", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("created_at", Timestamptz, {}),
            ("expires_at", Timestamptz, {}),
            ("used_at", Timestamptz, {"default": None, "null": True}),
            ("revoked_at", Timestamptz, {"default": None, "null": True}),
        ],
    ),
    "Session": (
        "member_session",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("token_hash", Varchar, {"length": 64, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("created_at", Timestamptz, {}),
            ("last_seen_at", Timestamptz, {}),
            ("expires_at", Timestamptz, {}),
            ("fresh_until", Timestamptz, {"default": None, "null": True}),
            ("user_agent", Varchar, {"length": 200}),
        ],
    ),
    "Ceremony": (
        "ceremony",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("token", Varchar, {"length": 64, "unique": True}),
            ("challenge", Varchar, {"length": 128}),
            ("purpose", Varchar, {"length": 12}),
            ("member", ForeignKey, {"references": Member}),
            ("invitation", ForeignKey, {"references": Invitation}),
            ("expires_at", Timestamptz, {}),
        ],
    ),
    "AuditEvent": (
        "audit_event",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("at", Timestamptz, {"index": True}),
            ("action", Varchar, {"length": 40, "index": True}),
            ("actor", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("subject", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("detail", Text, {}),
            ("client", Varchar, {"length": 64}),
        ],
    ),
    "PushSubscription": (
        "push_subscription",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("endpoint", Varchar, {"length": 1024, "unique": True}),
            ("p256dh", Varchar, {"length": 128}),
            ("auth", Varchar, {"length": 64}),
            ("device_name", Varchar, {"length": 120}),
            ("created_at", Timestamptz, {}),
            ("last_ok_at", Timestamptz, {"default": None, "null": True}),
            ("failures", Integer, {}),
            ("active", Boolean, {"default": True, "index": True}),
        ],
    ),
    "PushDelivery": (
        "push_delivery",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("subscription", ForeignKey, {"references": PushSubscription, "index": True}),
            ("campaign", Integer, {"default": None, "null": True, "index": True}),
            ("kind", Varchar, {"length": 16}),
            ("payload", Text, {}),
            ("topic", Varchar, {"length": 32, "default": None, "null": True}),
            ("urgency", Varchar, {"length": 8, "default": "normal"}),
            ("ttl", Integer, {"default": 86400}),
            (
                "state",
                Varchar,
                {
                    "length": 8,
                    "default": "pending",
                    "choices": choices(
                        "DeliveryState", "pending", "sending", "sent", "failed", "pruned"
                    ),
                },
            ),
            ("attempts", Integer, {}),
            ("next_attempt_at", Timestamptz, {}),
            ("claimed_by", Varchar, {"length": 64, "default": None, "null": True}),
            ("claimed_until", Timestamptz, {"default": None, "null": True}),
            ("sent_at", Timestamptz, {"default": None, "null": True}),
            ("status_code", Integer, {"default": None, "null": True}),
            ("error", Varchar, {"length": 300}),
            ("created_at", Timestamptz, {}),
            ("key", Varchar, {"length": 32, "default": None, "null": True, "index": True}),
        ],
    ),
    "ContentItem": (
        "content_item",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            (
                "kind",
                Varchar,
                {"length": 5, "index": True, "choices": choices("Kind", "story", "offer")},
            ),
            ("title", Varchar, {"length": 160}),
            ("body", Text, {}),
            ("excerpt", Varchar, {"length": 200}),
            ("language", Varchar, {"length": 5, "default": "en"}),
            ("tags", Varchar, {"length": 400}),
            ("captions", Text, {"default": "{}"}),
            ("image", Varchar, {"length": 40, "default": None, "null": True}),
            ("image_alt", Varchar, {"length": 200}),
            ("video_url", Varchar, {"length": 500}),
            ("audience_all", Boolean, {"default": True}),
            ("pinned", Boolean, {}),
            ("publish_at", Timestamptz, {"default": None, "null": True, "index": True}),
            ("expires_at", Timestamptz, {"default": None, "null": True}),
            ("archived_at", Timestamptz, {"default": None, "null": True}),
            ("site", ForeignKey, {"references": Site, "on_delete": OnDelete.set_null}),
            ("contract", Varchar, {"length": 20}),
            ("remote", Varchar, {"length": 20}),
            ("salary_min", Integer, {"default": None, "null": True}),
            ("salary_max", Integer, {"default": None, "null": True}),
            ("bonus_text", Varchar, {"length": 200}),
            (
                "offer_status",
                Varchar,
                {
                    "length": 6,
                    "default": "draft",
                    "choices": choices("OfferStatus", "draft", "open", "closed"),
                },
            ),
            ("apply_url", Varchar, {"length": 500}),
            ("created_by", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("created_at", Timestamptz, {}),
            ("updated_at", Timestamptz, {}),
            ("announced_at", Timestamptz, {"default": None, "null": True}),
        ],
    ),
    "ContentTarget": (
        "content_target",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
            ("team", ForeignKey, {"references": Team, "index": True}),
            ("site", ForeignKey, {"references": Site, "index": True}),
        ],
    ),
    "ShareGuide": (
        "share_guide",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("key", Varchar, {"length": 30, "unique": True}),
            ("body", Text, {}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
    "ApplyHost": (
        "apply_host",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("host", Varchar, {"length": 253, "unique": True}),
        ],
    ),
    "FeedState": (
        "feed_state",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "unique": True}),
            ("seen_at", Timestamptz, {"default": None, "null": True}),
            ("previous_seen_at", Timestamptz, {"default": None, "null": True}),
            ("credit_by_name", Boolean, {"default": True}),
        ],
    ),
    "ShareLink": (
        "share_link",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("code", Varchar, {"length": 16, "unique": True}),
            ("pair", Varchar, {"length": 40, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
            ("created_at", Timestamptz, {}),
        ],
    ),
    "Share": (
        "share",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("key", Varchar, {"length": 60, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
            ("network", Varchar, {"length": 20}),
            ("at", Timestamptz, {}),
        ],
    ),
    "NotificationPreference": (
        "notification_preference",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "unique": True}),
            ("content", Boolean, {"default": True}),
            ("referral", Boolean, {"default": True}),
            ("reward", Boolean, {"default": True}),
            ("campaign", Boolean, {"default": True}),
            ("quiet_start", Integer, {"default": 1260}),
            ("quiet_end", Integer, {"default": 480}),
            ("time_zone", Varchar, {"length": 64, "default": "Europe/Paris"}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
    "Nudge": (
        "nudge",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("kind", Varchar, {"length": 16}),
            ("key", Varchar, {"length": 120, "unique": True}),
            ("title", Varchar, {"length": 200}),
            ("body", Varchar, {"length": 400}),
            ("url", Varchar, {"length": 500, "default": "/"}),
            (
                "state",
                Varchar,
                {
                    "length": 8,
                    "default": "waiting",
                    "index": True,
                    "choices": choices("NudgeState", "waiting", "sent", "dropped", "failed"),
                },
            ),
            ("due_at", Timestamptz, {"index": True}),
            ("created_at", Timestamptz, {}),
            ("sent_at", Timestamptz, {"default": None, "null": True}),
            ("attempts", Integer, {"default": 0}),
        ],
    ),
    "Campaign": (
        "campaign",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("title", Varchar, {"length": 120}),
            ("body", Varchar, {"length": 400}),
            ("url", Varchar, {"length": 500, "default": "/"}),
            ("image", Varchar, {"length": 500}),
            ("audience", Text, {"default": "{}"}),
            (
                "state",
                Varchar,
                {
                    "length": 10,
                    "default": "scheduled",
                    "choices": choices("CampaignState", "scheduled", "sent", "cancelled"),
                },
            ),
            ("scheduled_at", Timestamptz, {"index": True}),
            ("created_by", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("created_at", Timestamptz, {}),
            ("sent_at", Timestamptz, {"default": None, "null": True}),
            ("members_targeted", Integer, {}),
        ],
    ),
    "NotificationOpen": (
        "notification_open",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("delivery_key", Varchar, {"length": 32, "unique": True}),
            ("campaign", Integer, {"default": None, "null": True, "index": True}),
            ("kind", Varchar, {"length": 16}),
            ("opened_at", Timestamptz, {}),
        ],
    ),
    "VisitorKey": (
        "visitor_key",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("day", Varchar, {"length": 10, "unique": True}),
            ("key", Varchar, {"length": 64}),
        ],
    ),
    "Visit": (
        "visit",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("link", ForeignKey, {"references": ShareLink, "index": True}),
            ("at", Timestamptz, {}),
            ("visitor", Varchar, {"length": 32}),
            ("preview", Boolean, {}),
            ("own", Boolean, {}),
        ],
    ),
    "Activity": (
        "activity",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            (
                "kind",
                Varchar,
                {
                    "length": 20,
                    "index": True,
                    "choices": choices(
                        "ActivityKind",
                        "share",
                        "click",
                        "application",
                        "recommendation",
                        "stage",
                        "apply_click",
                    ),
                },
            ),
            ("key", Varchar, {"length": 120, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
            ("at", Timestamptz, {"index": True}),
            ("detail", Text, {"default": "{}"}),
        ],
    ),
    "Candidate": (
        "candidate",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            (
                "kind",
                Varchar,
                {
                    "length": 14,
                    "choices": choices("CandidateKind", "application", "recommendation"),
                },
            ),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
            (
                "referrer",
                ForeignKey,
                {"references": Member, "on_delete": OnDelete.set_null, "index": True},
            ),
            ("name", Varchar, {"length": 120}),
            ("email", Varchar, {"length": 254}),
            ("phone", Varchar, {"length": 40}),
            ("linkedin", Varchar, {"length": 300}),
            ("message", Text, {}),
            ("cv", Varchar, {"length": 40, "default": None, "null": True}),
            ("cv_name", Varchar, {"length": 200}),
            ("cv_type", Varchar, {"length": 4}),
            ("consent_at", Timestamptz, {"default": None, "null": True}),
            (
                "stage",
                Varchar,
                {
                    "length": 14,
                    "default": "new",
                    "index": True,
                    "choices": choices(
                        "Stage", "new", "contacted", "interview", "offer", "hired", "not_selected"
                    ),
                },
            ),
            ("notes", Text, {}),
            ("dedupe", Varchar, {"length": 300, "default": None, "null": True, "unique": True}),
            ("token_hash", Varchar, {"length": 64, "default": None, "null": True, "unique": True}),
            ("expires_at", Timestamptz, {"default": None, "null": True}),
            ("created_at", Timestamptz, {"index": True}),
            ("updated_at", Timestamptz, {}),
            ("hired_at", Timestamptz, {"default": None, "null": True}),
            ("wall_of_fame", Boolean, {}),
        ],
    ),
    "CandidatePolicy": (
        "candidate_policy",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("privacy_notice", Text, {}),
            ("referral_cookie_days", Integer, {"default": 30}),
            ("consent_days", Integer, {"default": 30}),
            ("retention_days", Integer, {"default": 180}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
    "PointsRule": (
        "points_rule",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            (
                "action",
                Varchar,
                {
                    "length": 20,
                    "unique": True,
                    "choices": choices(
                        "Action",
                        "share",
                        "click",
                        "application",
                        "recommendation",
                        "contacted",
                        "interview",
                        "offer",
                        "hired",
                        "weekly_bonus",
                    ),
                },
            ),
            ("points", Integer, {}),
            ("enabled", Boolean, {"default": True}),
            ("daily_cap", Integer, {"default": None, "null": True}),
            ("weekly_cap", Integer, {"default": None, "null": True}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
    "PointsLine": (
        "points_line",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("points", Integer, {}),
            ("reason", Varchar, {"length": 20, "index": True}),
            ("key", Varchar, {"length": 160, "unique": True}),
            ("subject", Varchar, {"length": 80, "default": None, "null": True, "index": True}),
            ("item", ForeignKey, {"references": ContentItem, "on_delete": OnDelete.set_null}),
            ("multiplier", Integer, {"default": 100}),
            ("by", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("note", Text, {}),
            ("at", Timestamptz, {"index": True}),
        ],
    ),
    "PointsTotal": (
        "points_total",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("key", Varchar, {"length": 40, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("period", Varchar, {"length": 10, "index": True}),
            ("points", Integer, {}),
        ],
    ),
    "Level": (
        "level",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 60}),
            ("threshold", Integer, {"unique": True}),
        ],
    ),
    "MemberBadge": (
        "member_badge",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("key", Varchar, {"length": 60, "unique": True}),
            ("member", ForeignKey, {"references": Member, "index": True}),
            (
                "badge",
                Varchar,
                {
                    "length": 20,
                    "choices": choices(
                        "Badge",
                        "first_share",
                        "first_click",
                        "first_application",
                        "first_hire",
                        "streak_4",
                        "streak_12",
                    ),
                },
            ),
            ("at", Timestamptz, {}),
        ],
    ),
    "Challenge": (
        "challenge",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 120}),
            ("multiplier", Integer, {"default": 200}),
            ("starts_at", Timestamptz, {"index": True}),
            ("ends_at", Timestamptz, {"index": True}),
            ("created_at", Timestamptz, {}),
        ],
    ),
    "ChallengeItem": (
        "challenge_item",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("challenge", ForeignKey, {"references": Challenge, "index": True}),
            ("item", ForeignKey, {"references": ContentItem, "index": True}),
        ],
    ),
    "Reward": (
        "reward",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("name", Varchar, {"length": 120}),
            ("description", Text, {}),
            ("image", Varchar, {"length": 40, "default": None, "null": True}),
            ("cost", Integer, {}),
            ("stock", Integer, {"default": None, "null": True}),
            ("limit_per_member", Integer, {"default": None, "null": True}),
            ("starts_at", Timestamptz, {"default": None, "null": True}),
            ("ends_at", Timestamptz, {"default": None, "null": True}),
            ("active", Boolean, {"default": True, "index": True}),
            ("created_at", Timestamptz, {}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
    "Redemption": (
        "redemption",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            (
                "reward",
                ForeignKey,
                {"references": Reward, "on_delete": OnDelete.restrict, "index": True},
            ),
            ("member", ForeignKey, {"references": Member, "index": True}),
            ("cost", Integer, {}),
            (
                "state",
                Varchar,
                {
                    "length": 10,
                    "default": "requested",
                    "index": True,
                    "choices": choices(
                        "RedemptionState", "requested", "approved", "delivered", "rejected"
                    ),
                },
            ),
            ("note", Text, {}),
            ("reason", Text, {}),
            ("handled_by", ForeignKey, {"references": Member, "on_delete": OnDelete.set_null}),
            ("requested_at", Timestamptz, {"index": True}),
            ("approved_at", Timestamptz, {"default": None, "null": True}),
            ("delivered_at", Timestamptz, {"default": None, "null": True}),
            ("rejected_at", Timestamptz, {"default": None, "null": True}),
        ],
    ),
    "MailOutbox": (
        "mail_outbox",
        [
            ("id", NeverReusedSerial, {"primary_key": True}),
            ("recipient", Varchar, {"length": 254}),
            ("subject", Text, {}),
            ("text", Text, {}),
            ("about", Varchar, {"length": 60, "index": True}),
            (
                "state",
                Varchar,
                {
                    "length": 10,
                    "default": "pending",
                    "index": True,
                    "choices": choices("MailState", "pending", "sent", "failed"),
                },
            ),
            ("attempts", Integer, {}),
            ("next_attempt_at", Timestamptz, {"index": True}),
            ("claimed_by", Varchar, {"length": 80}),
            ("error", Varchar, {"length": 300}),
            ("sent_at", Timestamptz, {"default": None, "null": True}),
            ("created_at", Timestamptz, {}),
        ],
    ),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)
    for class_name, (tablename, columns) in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename)
        for column_name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=column_name,
                db_column_name=column_name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
            )
    return manager
