"""The points programme as admins edit it: earning rules with their caps, and levels.

Plain functions, no HTTP; the shared limits and formats of the points pages come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from app.accounts import audit
from app.core.clock import now
from app.core.db import UNIQUE_VIOLATIONS, write_transaction
from app.core.forms import FormResult
from app.core.i18n import _, current_language, ngettext
from app.points.rules import (
    ACTION_NAMES,
    Rule,
    levels,
    rules,
    rules_changed,
    shown_rules,
)
from app.points.tables import (
    Action,
    Level,
    PointsRule,
)

POINTS_MAX = 10_000
CAP_MAX = 1_000
LEVEL_MAX = 10_000_000
CORRECTION_MAX = 100_000
REASON_MAX = 300
NAME_MAX = 60
CHALLENGE_NAME_MAX = 120
MULTIPLIERS = [110, 125, 150, 200, 250, 300, 400, 500]
HISTORY_PAGE = 20
CHOOSABLE_ITEMS = 200
# Admins type points as "1,000" or "1 000": both are read as 1000.
GROUPING = " ,"


def multiplier_text(percent: int) -> str:
    """A challenge's multiplier as people say it: 150 → "×1.5" (in French "×1,5")."""
    return "×" + format_decimal(percent / 100, locale=current_language.get())


def short_date(at: datetime) -> str:
    return format_date(at.date(), "d MMM", locale=current_language.get())


# --- Rules -------------------------------------------------------------------------------


def rules_of(form: FormResult) -> dict[str, Rule]:
    """The rules a checked rules form says."""
    assert form.ok
    return {
        action: Rule(
            action,
            int(v["points"]),
            bool(v["enabled"]),
            int(v["daily_cap"]) if v["daily_cap"] != "" else None,
            int(v["weekly_cap"]) if v["weekly_cap"] != "" else None,
        )
        for action, v in form.values.items()
    }


def rules_form(current: dict[str, Rule]) -> FormResult:
    """The form filled with the rules in force: ``values`` by action."""
    return FormResult(
        {
            a.value: {
                "points": current[a.value].points,
                "enabled": current[a.value].enabled,
                "daily_cap": ""
                if current[a.value].daily_cap is None
                else current[a.value].daily_cap,
                "weekly_cap": ""
                if current[a.value].weekly_cap is None
                else current[a.value].weekly_cap,
            }
            for a in Action
        }
    )


def check_rules(data: Mapping[str, Any]) -> FormResult:
    """Check every action's fields: ``{action}_points``, ``_daily_cap``, ``_weekly_cap``,
    ``_enabled`` (a checkbox). ``values`` by action, as `rules_form` gives them."""
    form = FormResult.of(data)
    for action in Action:
        a = action.value
        form.integer(
            f"{a}_points",
            low=0,
            high=POINTS_MAX,
            max_digits=9,
            grouping=GROUPING,
            message=_("Enter a whole number of points from 0 to 10,000."),
        )
        caps = [
            form.integer(
                f"{a}_{name}",
                low=1,
                high=CAP_MAX,
                optional=True,
                max_digits=9,
                grouping=GROUPING,
                message=_("Leave it empty for no cap, or enter a number from 1 to 1,000."),
            )
            for name in ("daily_cap", "weekly_cap")
        ]
        daily, weekly = caps
        if daily is not None and weekly is not None and weekly < daily:
            form.fail(f"{a}_weekly_cap", _("The weekly cap can't be lower than the daily cap."))
        form.checkbox(f"{a}_enabled")
        form.values[a] = {
            name: "" if (value := form.values.pop(f"{a}_{name}")) is None else value
            for name in ("points", "daily_cap", "weekly_cap", "enabled")
        }
    return form


def _rule_text(rule: Rule) -> str:
    caps = f"{rule.daily_cap or '-'}/{rule.weekly_cap or '-'}"
    return f"{rule.points}{'' if rule.enabled else ' off'} caps {caps}"


async def save_rules(new: dict[str, Rule], *, by: int, client: str = "") -> list[str]:
    """Write the rules in one transaction with their audit event; what changed, as text."""
    async with write_transaction():
        current = await rules()
        changes = []
        for action, rule in new.items():
            if current.get(action) == rule:
                continue
            changes.append(f"{action}: {_rule_text(current[action])} → {_rule_text(rule)}")
            await PointsRule.update(
                {
                    PointsRule.points: rule.points,
                    PointsRule.enabled: rule.enabled,
                    PointsRule.daily_cap: rule.daily_cap,
                    PointsRule.weekly_cap: rule.weekly_cap,
                    PointsRule.updated_at: now(),
                }
            ).where(PointsRule.action == action)
        if changes:
            await audit.record(
                "points_rules_changed", actor=by, client=client, summary="; ".join(changes)
            )
    rules_changed()
    return changes


async def earning_rules() -> list[dict[str, Any]]:
    """The rules in force, as the member's "How to earn points" lists them."""
    all_rules = await shown_rules()
    out = []
    for action in Action:
        rule = all_rules[action.value]
        if not rule.enabled or rule.points == 0:
            continue
        caps = []
        if rule.daily_cap is not None:
            n = rule.daily_cap
            caps.append(ngettext("up to %(num)d a day", "up to %(num)d a day", n) % {"num": n})
        if rule.weekly_cap is not None:
            n = rule.weekly_cap
            caps.append(ngettext("up to %(num)d a week", "up to %(num)d a week", n) % {"num": n})
        out.append(
            {
                "action": action.value,
                "name": _(ACTION_NAMES[action.value]),
                "points": rule.points,
                "caps": caps,
            }
        )
    return out


# --- Levels ------------------------------------------------------------------------------


def check_level(name: str, threshold_text: str, *, first: bool) -> FormResult:
    """A level's name and threshold as typed; the first level's threshold stays 0."""
    form = FormResult.of({"name": name, "threshold": threshold_text})
    name_refused = _("Give the level a name of 1 to 60 characters.")
    form.text("name", max_length=NAME_MAX, required=name_refused, too_long=name_refused)
    if first:
        form.values["threshold"] = 0
    else:
        form.integer(
            "threshold",
            low=1,
            high=LEVEL_MAX,
            max_digits=9,
            grouping=GROUPING,
            message=_("Enter a number of lifetime points from 1 to 10,000,000."),
        )
    return form


class _ThresholdTaken(Exception):
    pass


def _threshold_taken() -> str:
    return _("Another level starts at this number of points: choose a different one.")


async def save_level(
    level_id: int | None, name: str, threshold_text: str, *, by: int, client: str = ""
) -> FormResult:
    """Add a level (``level_id`` None) or change one; the form as checked."""
    form = FormResult()
    try:
        async with write_transaction():
            all_levels = await levels(fresh=True)
            current = next((lv for lv in all_levels if lv["id"] == level_id), None)
            if level_id is not None and current is None:
                raise LookupError(level_id)
            first = current is not None and current["threshold"] == 0
            form = check_level(name, threshold_text, first=first)
            if not form.ok:
                return form
            values = form.values
            if any(
                lv["threshold"] == values["threshold"] and lv["id"] != level_id for lv in all_levels
            ):
                raise _ThresholdTaken
            if current is None:
                await Level.insert(Level(name=values["name"], threshold=values["threshold"]))
                summary = f"+ {values['name']} ({values['threshold']})"
            else:
                await Level.update(
                    {Level.name: values["name"], Level.threshold: values["threshold"]}
                ).where(Level.id == level_id)
                summary = (
                    f"{current['name']} ({current['threshold']}) → "
                    f"{values['name']} ({values['threshold']})"
                )
            await audit.record("points_levels_changed", actor=by, client=client, summary=summary)
    except (_ThresholdTaken, *UNIQUE_VIOLATIONS):
        # Checked above; the constraint also catches two admins saving at the same moment.
        form.fail("threshold", _threshold_taken())
    finally:
        rules_changed()
    return form


async def remove_level(level_id: int, *, by: int, client: str = "") -> str | None:
    """Remove a level; the reason it can't be, or None."""
    async with write_transaction():
        row = await Level.select().where(Level.id == level_id).first()
        if row is None:
            raise LookupError(level_id)
        if row["threshold"] == 0:
            return _("The first level, at 0 points, always stays: rename it instead.")
        await Level.delete().where(Level.id == level_id)
        await audit.record(
            "points_levels_changed",
            actor=by,
            client=client,
            summary=f"- {row['name']} ({row['threshold']})",
        )
    rules_changed()
    return None
