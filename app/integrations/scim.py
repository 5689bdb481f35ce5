"""SCIM 2.0 provisioning (RFC 7643, RFC 7644): an identity provider's Users are Relay's
members, its Groups are Relay's teams.

The models, their validation per operation, filters and PATCH come from scim2-models; this
module only maps them to members and teams. A PATCH is applied by the library to the
resource as Relay serves it, and the result is saved like a PUT, so both say the same.

- A user is a member. ``userName`` is kept as the provider sends it (lower-cased, since SCIM
  compares it without case); a member never touched by SCIM has their email as userName,
  so a provider finds the people an admin invited before and links them instead of
  creating them twice. The member's email is the primary (or first) of ``emails``, else
  userName when it is an email address; their name is ``displayName``, else the name parts.
- A new user is invited exactly as an admin invites someone (an enrolment link, emailed
  when SMTP is configured), as an employee; roles stay the admin's.
- ``active: false`` and DELETE deactivate the member through the admin's own
  :func:`app.accounts.people.deactivate` (sessions end, passkeys refused, links revoked);
  nothing of theirs is deleted. ``active: true`` reactivates them (with a new enrolment link
  when they never made a passkey). After a DELETE, SCIM answers 404 for them until the
  provider creates the same user again.
- A group is an active team; its members are the members in that team. A member is in one
  team: adding them to a group moves them out of their previous one. Deleting a group
  deactivates the team (content and campaigns aimed at it keep their history).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Email,
    ETag,
    Filter,
    Group,
    GroupMember,
    GroupMembership,
    InvalidValueException,
    ListResponse,
    Meta,
    MutabilityException,
    Name,
    NotFoundException,
    Patch,
    PatchOp,
    PreconditionFailedException,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimFilter,
    ServiceProviderConfig,
    Sort,
    UniquenessException,
    User,
)
from scim2_models.path.expressions import CompareOperator, Comparison

from app.accounts import audit, invitations, people
from app.accounts.sessions import sessions_changed
from app.accounts.tables import Member, Passkey, Role
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import EMAIL_RE
from app.core.i18n import LANGUAGES
from app.core.validation import MAX_ID, name_problem
from app.integrations.tables import ScimGroup, ScimUser
from app.integrations.tokens import Caller
from app.mail import service as mail
from app.org.tables import Team

AnyResourceT = TypeVar("AnyResourceT", bound=Resource[Any])
MAX_RESULTS = 200  # per page; ServiceProviderConfig announces it

# What Relay keeps of each resource, as /Schemas announces it: a provider (and the RFC
# checker) then sends only what is kept, and reads back what it wrote.
USER_ATTRIBUTES = {
    "userName": None,
    "name": {"givenName", "familyName"},
    "displayName": None,
    "emails": {"value", "type", "primary"},
    "preferredLanguage": None,
    "active": None,
    "groups": {"value", "$ref", "display"},
}
# A member's display name is the member's own: not a group's to set (Relay returns none).
GROUP_ATTRIBUTES = {"displayName": None, "members": {"value", "$ref", "type"}}


@dataclass(frozen=True)
class Provisioning:
    """How a change reaches people: the caller, its address, and the invitation's mail."""

    caller: Caller
    client: str
    base_url: str
    link_mail: invitations.LinkMail | None
    lifetime: Any  # timedelta: settings.invitation_lifetime


# --- Discovery -------------------------------------------------------------------------------


def _trimmed(schema: Schema, keep: dict[str, set[str] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in keep:
            continue
        subs = keep[attribute.name]
        if subs is not None:
            attribute.sub_attributes = [
                sub for sub in attribute.sub_attributes or [] if sub.name in subs
            ]
        attributes.append(attribute)
    schema.attributes = attributes
    return schema


def schemas(base_url: str) -> list[Schema]:
    user = _trimmed(User.to_schema(), USER_ATTRIBUTES)
    for attribute in user.attributes or []:
        if attribute.name == "emails":  # a member is an email address: Relay needs one
            attribute.required = Required.true
            for sub in attribute.sub_attributes or []:
                if sub.name == "value":
                    sub.required = Required.true
    found = [user, _trimmed(Group.to_schema(), GROUP_ATTRIBUTES)]
    for schema in found:
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
    return found


def schema(base_url: str, schema_id: str) -> Schema:
    for found in schemas(base_url):
        if found.id == schema_id:
            return found
    raise NotFoundException(detail=f"No schema {schema_id}.")


def resource_types(base_url: str) -> list[ResourceType]:
    found = [ResourceType.from_resource(User), ResourceType.from_resource(Group)]
    for resource_type in found:
        resource_type.meta = Meta(
            resource_type="ResourceType",
            location=f"{base_url}/ResourceTypes/{resource_type.id}",
        )
    return found


def resource_type(base_url: str, type_id: str) -> ResourceType:
    for found in resource_types(base_url):
        if found.id == type_id:
            return found
    raise NotFoundException(detail=f"No resource type {type_id}.")


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=cast(Any, "https://github.com/relay-app/relay#scim-provisioning"),
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A token an admin makes on Relay's Provisioning (SCIM) page.",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=f"{base_url}/ServiceProviderConfig",
        ),
    )


# --- Reading ---------------------------------------------------------------------------------


def parse_id(text: str) -> int:
    """A resource id from a URL or a body: Relay's ids are numbers; anything else is absent."""
    if not text.isdecimal() or len(text) > 10 or not 0 < int(text) <= MAX_ID:
        raise NotFoundException(detail=f"No resource {text[:40]}.")
    return int(text)


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def with_version(resource: AnyResourceT) -> AnyResourceT:
    """Set ``meta.version``: a weak ETag of everything the resource says (RFC 7644 §3.14)."""
    body = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, exclude={"meta"})
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    assert resource.meta is not None
    resource.meta.version = f'W/"{digest[:20]}"'
    return resource


def check_version(resource: Resource[Any], if_match: str | None) -> None:
    """Refuse a change made against another version than the current one (412)."""
    if not if_match or if_match.strip() == "*":
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    assert resource.meta is not None
    version = resource.meta.version or ""
    if version not in wanted and version.removeprefix("W/") not in wanted:
        raise PreconditionFailedException(detail="The resource changed since that version.")


async def _hidden_members() -> set[int]:
    """Members deleted through SCIM: SCIM answers 404 for them."""
    rows = await ScimUser.select(ScimUser.member).where(ScimUser.deleted_at.is_not_null())
    return {int(r["member"]) for r in rows}


async def _users(member_ids: list[int], base_url: str) -> list[User]:
    if not member_ids:
        return []
    # A filter no index answers reads every member: no IN list then (SQLite caps its
    # parameters), the rows needed are picked below.
    everyone = len(member_ids) > 500
    rows = await Member.select(
        Member.id,
        Member.email,
        Member.name,
        Member.language,
        Member.active,
        Member.team,
        Member.created_at,
        Member.deactivated_at,
        Member.team.name.as_alias("team_name"),
    ).where(Member.id.is_not_null() if everyone else Member.id.is_in(member_ids))
    scim_rows = ScimUser.select(*ScimUser.all_columns())
    if not everyone:
        scim_rows = scim_rows.where(ScimUser.member.is_in(member_ids))
    known = {int(r["member"]): r for r in await scim_rows}
    by_id = {int(r["id"]): r for r in rows}
    users = []
    for member_id in member_ids:
        row = by_id.get(member_id)
        if row is None:
            continue
        scim = known.get(member_id)
        changed = [
            _moment(row["created_at"]),
            _moment(row["deactivated_at"]),
            _moment(scim["updated_at"]) if scim else None,
        ]
        user: User[Any] = User(
            id=str(member_id),
            external_id=scim["external_id"] if scim else None,
            user_name=scim["user_name"] if scim else row["email"],
            display_name=scim["display_name"] if scim else row["name"],
            name=Name(
                given_name=(scim["given_name"] or None) if scim else None,
                family_name=(scim["family_name"] or None) if scim else None,
            )
            if scim and (scim["given_name"] or scim["family_name"])
            else None,
            emails=[
                Email(value=row["email"], type=scim["email_type"], primary=scim["email_primary"])
                if scim
                else Email(value=row["email"], type=Email.Type.work, primary=True)
            ],
            preferred_language=scim["preferred_language"] if scim else row["language"],
            active=bool(row["active"]),
            groups=[
                GroupMembership(
                    value=str(row["team"]),
                    ref=cast(Any, f"{base_url}/Groups/{row['team']}"),
                    display=row["team_name"],
                    type="direct",
                )
            ]
            if row["team"]
            else None,
            meta=Meta(
                resource_type="User",
                created=_moment(row["created_at"]),
                last_modified=max(m for m in changed if m is not None),
                location=f"{base_url}/Users/{member_id}",
            ),
        )
        users.append(with_version(user))
    return users


async def get_user(member_id: int, base_url: str) -> User:
    if member_id in await _hidden_members():
        raise NotFoundException(detail=f"No user {member_id}.")
    users = await _users([member_id], base_url)
    if not users:
        raise NotFoundException(detail=f"No user {member_id}.")
    return users[0]


def _equality(filter_: ScimFilter[Any]) -> tuple[str, str] | None:
    """(attribute, value) for a plain ``attr eq "value"``, which SQL answers directly."""
    node = filter_.ast
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and isinstance(node.value, str)
        and node.attr_path.uri is None
    ):
        attr = node.attr_path.attr.lower()
        sub = (node.attr_path.sub_attr or "").lower()
        if not sub or (attr == "emails" and sub == "value"):
            return attr, node.value
    return None


async def _user_candidates(filter_: ScimFilter[Any] | None) -> list[int]:
    """Member ids a filter may match, in id order; the library's filter has the last word."""
    hidden = await _hidden_members()
    equality = _equality(filter_) if filter_ is not None else None
    if equality is not None and equality[0] in {"username", "externalid", "id", "emails"}:
        attr, value = equality
        ids: set[int] = set()
        if attr == "username":
            named = await ScimUser.select(ScimUser.member).where(
                ScimUser.user_name == value.lower()
            )
            ids |= {int(r["member"]) for r in named}
            by_email = await Member.select(Member.id).where(Member.email == value.lower())
            ids |= {int(r["id"]) for r in by_email}
        elif attr == "externalid":
            rows = await ScimUser.select(ScimUser.member).where(ScimUser.external_id == value)
            ids |= {int(r["member"]) for r in rows}
        elif attr == "emails":
            rows = await Member.select(Member.id).where(Member.email == value.lower())
            ids |= {int(r["id"]) for r in rows}
        elif value.isdecimal() and len(value) <= 10:
            ids.add(int(value))
        return sorted(ids - hidden)
    rows = await Member.select(Member.id).order_by(Member.id)
    return [int(r["id"]) for r in rows if int(r["id"]) not in hidden]


async def list_users(
    filter_text: str | None, start_index: int, count: int, base_url: str
) -> ListResponse[User]:
    filter_ = ScimFilter[User](filter_text) if filter_text else None
    ids = await _user_candidates(filter_)
    if filter_ is None:
        total = len(ids)
        page = await _users(ids[start_index - 1 : start_index - 1 + count], base_url)
    else:
        matched = [u for u in await _users(ids, base_url) if filter_.match(u)]
        total = len(matched)
        page = matched[start_index - 1 : start_index - 1 + count]
    return ListResponse[User](
        total_results=total, start_index=start_index, items_per_page=len(page), resources=page
    )


# --- Writing users ---------------------------------------------------------------------------


@dataclass
class UserFields:
    user_name: str
    email: str
    name: str
    given_name: str
    family_name: str
    external_id: str | None
    active: bool | None  # None: not said, the member stays as they are
    email_type: str | None
    email_primary: bool | None
    display_name: str | None
    preferred_language: str | None
    language: str | None


def fields_of(user: User) -> UserFields:
    """What Relay keeps of a User, checked; an InvalidValueException (400) says what is wrong."""
    user_name = (user.user_name or "").strip().lower()
    if not user_name or len(user_name) > 254:
        raise InvalidValueException(detail="userName is required, at most 254 characters.")
    emails = [e for e in user.emails or [] if e.value]
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    email = (str(chosen.value) if chosen else user_name).strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidValueException(
            detail="A user needs a valid email address: in emails, or as userName."
        )
    given = ((user.name.given_name if user.name else None) or "").strip()
    family = ((user.name.family_name if user.name else None) or "").strip()
    formatted = ((user.name.formatted if user.name else None) or "").strip()
    name = (
        (user.display_name or "").strip()
        or formatted
        or f"{given} {family}".strip()
        or user_name.split("@")[0]
    )
    if len(name) > 120 or len(given) > 120 or len(family) > 120:
        raise InvalidValueException(detail="Names are at most 120 characters.")
    if problem := name_problem(name):
        raise InvalidValueException(detail=str(problem))
    external_id = (user.external_id or "").strip() or None
    if external_id is not None and len(external_id) > 254:
        raise InvalidValueException(detail="externalId is at most 254 characters.")
    display_name = (user.display_name or "").strip() or None
    preferred = (user.preferred_language or "").strip() or None
    if preferred is not None and len(preferred) > 64:
        raise InvalidValueException(detail="preferredLanguage is a language tag, like fr-FR.")
    language = (preferred or user.locale or "")[:2].lower()
    return UserFields(
        user_name=user_name,
        email=email,
        name=name,
        given_name=given,
        family_name=family,
        external_id=external_id,
        active=user.active,
        email_type=str(chosen.type)[:20] if chosen and chosen.type else None,
        email_primary=chosen.primary if chosen else None,
        display_name=display_name,
        preferred_language=preferred,
        language=language if language in LANGUAGES else None,
    )


async def _check_unique(fields: UserFields, member_id: int | None) -> None:
    others = ScimUser.select(ScimUser.member).where(ScimUser.user_name == fields.user_name)
    if any(int(r["member"]) != member_id for r in await others):
        raise UniquenessException(detail="Another user has this userName.")
    email_owner = await Member.select(Member.id).where(Member.email == fields.email).first()
    if email_owner is not None and int(email_owner["id"]) != member_id:
        raise UniquenessException(detail="Another user has this email address.")
    # A member SCIM never touched answers to their email as userName.
    owner = await Member.select(Member.id).where(Member.email == fields.user_name).first()
    if owner is not None and int(owner["id"]) != member_id:
        named = await ScimUser.exists().where(ScimUser.member == int(owner["id"]))
        if not named:
            raise UniquenessException(detail="Another user has this userName.")


async def _save_scim_row(member_id: int, fields: UserFields, caller: Caller) -> None:
    values: dict[Any, Any] = {
        ScimUser.user_name: fields.user_name,
        ScimUser.external_id: fields.external_id,
        ScimUser.given_name: fields.given_name,
        ScimUser.family_name: fields.family_name,
        ScimUser.display_name: fields.display_name,
        ScimUser.email_type: fields.email_type,
        ScimUser.email_primary: fields.email_primary,
        ScimUser.preferred_language: fields.preferred_language,
        ScimUser.updated_at: now(),
        ScimUser.deleted_at: None,
    }
    if await ScimUser.exists().where(ScimUser.member == member_id):
        await ScimUser.update(values).where(ScimUser.member == member_id)
    else:
        await ScimUser.insert(
            ScimUser(
                member=member_id,
                token=caller.token_id,
                **{column._meta.name: value for column, value in values.items()},
            )
        )


async def _set_active(member_id: int, active: bool, how: Provisioning) -> None:
    row = await Member.select(Member.active).where(Member.id == member_id).first()
    if row is None or bool(row["active"]) == active:
        return
    if not active:
        try:
            await people.deactivate(member_id, None, client=how.client, via=how.caller.via)
        except people.PeopleError as exc:
            raise MutabilityException(detail=str(exc)) from exc
        return
    await people.reactivate(member_id, None, client=how.client, via=how.caller.via)
    if not await Passkey.exists().where(Passkey.member == member_id):
        # Never enrolled (their link was revoked when they left): a fresh one, as an invite.
        await invitations.issue_link(
            member_id,
            None,
            client=how.client,
            link_mail=how.link_mail,
            lifetime=how.lifetime,
        )


async def create_user(user: User, how: Provisioning) -> User:
    fields = fields_of(user)
    async with write_transaction():
        returning = await ScimUser.select(ScimUser.member).where(
            (ScimUser.user_name == fields.user_name) & ScimUser.deleted_at.is_not_null()
        )
        if not returning:
            returning = await ScimUser.select(ScimUser.member).where(
                (ScimUser.member.email == fields.email) & ScimUser.deleted_at.is_not_null()
            )
        if returning:
            # Deleted through SCIM before and created again: the same member comes back.
            member_id = int(returning[0]["member"])
            await _save_member(member_id, fields, how)
        else:
            await _check_unique(fields, None)
            member_id = await _new_member(fields, how)
            await _save_scim_row(member_id, fields, how.caller)
    await _after_commit()
    return await get_user(member_id, how.base_url)


async def _new_member(fields: UserFields, how: Provisioning) -> int:
    language = fields.language or "en"
    if fields.active is not False:
        invited = await invitations.invite(
            invitations.Person(
                email=fields.email,
                name=fields.name,
                role=Role.employee.value,
                team=None,
                site=None,
                language=language,
            ),
            by=None,
            client=how.client,
            link_mail=how.link_mail,
            lifetime=how.lifetime,
            via=how.caller.via,
        )
        return invited.member_id
    # Provisioned as inactive: a member with no link until the provider activates them.
    rows = await Member.insert(
        Member(
            email=fields.email,
            name=fields.name,
            language=language,
            active=False,
            deactivated_at=now(),
        )
    ).returning(Member.id)
    member_id = int(rows[0]["id"])
    await _audit_change(member_id, how, created=True, active=False)
    return member_id


async def _audit_change(member_id: int, how: Provisioning, **detail: Any) -> None:
    await audit.record(
        "scim_user_changed",
        subject=member_id,
        client=how.client,
        integration=how.caller.via,
        **detail,
    )


async def _save_member(member_id: int, fields: UserFields, how: Provisioning) -> None:
    """Write a user's fields over the member's (inside a write transaction)."""
    await _check_unique(fields, member_id)
    before = await Member.select(Member.email, Member.name).where(Member.id == member_id).first()
    assert before is not None
    values: dict[Any, Any] = {Member.email: fields.email, Member.name: fields.name}
    if fields.language:
        values[Member.language] = fields.language
    await Member.update(values).where(Member.id == member_id)
    await _save_scim_row(member_id, fields, how.caller)
    if before["email"] != fields.email or before["name"] != fields.name:
        await _audit_change(member_id, how, email_changed=before["email"] != fields.email)
    if fields.active is not None:  # removing `active` must never bring a leaver back
        await _set_active(member_id, fields.active, how)


async def replace_user(member_id: int, user: User, how: Provisioning, if_match: str | None) -> User:
    fields = fields_of(user)
    async with write_transaction():
        current = await get_user(member_id, how.base_url)
        check_version(current, if_match)
        await _save_member(member_id, fields, how)
    await _after_commit()
    return await get_user(member_id, how.base_url)


async def patch_user(
    member_id: int, patch: PatchOp[User], how: Provisioning, if_match: str | None
) -> User:
    async with write_transaction():
        current = await get_user(member_id, how.base_url)
        check_version(current, if_match)
        patch.patch(current)
        await _save_member(member_id, fields_of(current), how)
    await _after_commit()
    return await get_user(member_id, how.base_url)


async def delete_user(member_id: int, how: Provisioning, if_match: str | None) -> None:
    """Deactivate the member (the admin's deactivation) and hide them from SCIM."""
    async with write_transaction():
        current = await get_user(member_id, how.base_url)
        check_version(current, if_match)
        await _set_active(member_id, False, how)
        fields = fields_of(current)
        await _save_scim_row(member_id, fields, how.caller)
        await ScimUser.update({ScimUser.deleted_at: now()}).where(ScimUser.member == member_id)
        await _audit_change(member_id, how, deleted=True)
    await _after_commit()


async def _after_commit() -> None:
    await sessions_changed()  # names, emails, teams and leavers hold at once, everywhere
    mail.kick()  # an invitation queued inside the transaction leaves now


# --- Groups ----------------------------------------------------------------------------------


async def _groups(team_ids: list[int], base_url: str, with_members: bool = True) -> list[Group]:
    if not team_ids:
        return []
    teams = {
        int(r["id"]): r
        for r in await Team.select(Team.id, Team.name).where(
            Team.id.is_in(team_ids) & Team.active.eq(True)
        )
    }
    extra = {
        int(r["team"]): r
        for r in await ScimGroup.select(*ScimGroup.all_columns()).where(
            ScimGroup.team.is_in(team_ids)
        )
    }
    members: dict[int, list[dict[str, Any]]] = {}
    if with_members:
        hidden = await _hidden_members()
        rows = await (
            Member.select(Member.id, Member.name, Member.team)
            .where(Member.team.is_in(team_ids))
            .order_by(Member.id)
        )
        for row in rows:
            if int(row["id"]) not in hidden:
                members.setdefault(int(row["team"]), []).append(row)
    groups = []
    for team_id in team_ids:
        team = teams.get(team_id)
        if team is None:
            continue
        scim = extra.get(team_id)
        group = Group(
            id=str(team_id),
            external_id=scim["external_id"] if scim else None,
            display_name=team["name"],
            members=[
                GroupMember(
                    value=str(m["id"]), ref=cast(Any, f"{base_url}/Users/{m['id']}"), type="User"
                )
                for m in members.get(team_id, [])
            ]
            or None,
            meta=Meta(
                resource_type="Group",
                last_modified=_moment(scim["updated_at"]) if scim else None,
                location=f"{base_url}/Groups/{team_id}",
            ),
        )
        groups.append(with_version(group))
    return groups


async def get_group(team_id: int, base_url: str) -> Group:
    groups = await _groups([team_id], base_url)
    if not groups:
        raise NotFoundException(detail=f"No group {team_id}.")
    return groups[0]


async def list_groups(
    filter_text: str | None,
    start_index: int,
    count: int,
    base_url: str,
    with_members: bool = True,
) -> ListResponse[Group]:
    filter_ = ScimFilter[Group](filter_text) if filter_text else None
    query = Team.select(Team.id).where(Team.active.eq(True)).order_by(Team.id)
    equality = _equality(filter_) if filter_ is not None else None
    if equality is not None and equality[0] == "displayname":
        query = query.where(Team.name.ilike(equality[1].replace("%", r"\%").replace("_", r"\_")))
    ids = [int(r["id"]) for r in await query]
    if filter_ is None:
        page = await _groups(ids[start_index - 1 : start_index - 1 + count], base_url, with_members)
        total = len(ids)
    else:
        matched = [g for g in await _groups(ids, base_url, with_members) if filter_.match(g)]
        total = len(matched)
        page = matched[start_index - 1 : start_index - 1 + count]
    return ListResponse[Group](
        total_results=total, start_index=start_index, items_per_page=len(page), resources=page
    )


def _group_fields(group: Group) -> tuple[str, str | None, list[int]]:
    name = " ".join((group.display_name or "").split())
    if not name or len(name) > 80:
        raise InvalidValueException(detail="displayName is required, at most 80 characters.")
    external_id = (group.external_id or "").strip() or None
    if external_id is not None and len(external_id) > 254:
        raise InvalidValueException(detail="externalId is at most 254 characters.")
    member_ids = []
    for member in group.members or []:
        if member.type is not None and str(member.type) != "User":
            raise InvalidValueException(detail="A team holds people, not other groups.")
        try:
            member_ids.append(parse_id(str(member.value or "")))
        except NotFoundException as exc:
            raise InvalidValueException(detail=f"No user {member.value}.") from exc
    return name, external_id, sorted(set(member_ids))


async def _save_group(team_id: int | None, group: Group, how: Provisioning) -> int:
    """Create (``team_id`` None) or replace a team from a Group (inside a write transaction)."""
    name, external_id, member_ids = _group_fields(group)
    same_name = await Team.select(Team.id, Team.active).where(Team.name == name).first()
    if same_name is not None and int(same_name["id"]) != team_id:
        if team_id is not None or same_name["active"]:
            raise UniquenessException(detail="Another team has this name.")
        team_id = int(same_name["id"])  # a team deleted through SCIM, created again
        await Team.update({Team.active: True}).where(Team.id == team_id)
    if team_id is None:
        rows = await Team.insert(Team(name=name)).returning(Team.id)
        team_id = int(rows[0]["id"])
    else:
        await Team.update({Team.name: name}).where(Team.id == team_id)
    if member_ids:
        hidden = await _hidden_members()
        rows = await Member.select(Member.id).where(Member.id.is_in(member_ids))
        known = {int(r["id"]) for r in rows} - hidden
        missing = [m for m in member_ids if m not in known]
        if missing:
            raise InvalidValueException(detail=f"No user {missing[0]}.")
    leaving: Any = Member.team == team_id
    if member_ids:
        leaving &= Member.id.not_in(member_ids)
        await Member.update({Member.team: team_id}).where(Member.id.is_in(member_ids))
    await Member.update({Member.team: None}).where(leaving)
    values: dict[Any, Any] = {ScimGroup.external_id: external_id, ScimGroup.updated_at: now()}
    if await ScimGroup.exists().where(ScimGroup.team == team_id):
        await ScimGroup.update(values).where(ScimGroup.team == team_id)
    else:
        await ScimGroup.insert(ScimGroup(team=team_id, external_id=external_id))
    await _audit_group("scim_group_changed", name, len(member_ids), how)
    return team_id


async def _audit_group(action: str, name: str, members: int, how: Provisioning) -> None:
    await audit.record(
        action, client=how.client, integration=how.caller.via, team=name, members=members
    )


async def create_group(group: Group, how: Provisioning) -> Group:
    async with write_transaction():
        team_id = await _save_group(None, group, how)
    await _after_commit()
    return await get_group(team_id, how.base_url)


async def replace_group(
    team_id: int, group: Group, how: Provisioning, if_match: str | None
) -> Group:
    async with write_transaction():
        check_version(await get_group(team_id, how.base_url), if_match)
        await _save_group(team_id, group, how)
    await _after_commit()
    return await get_group(team_id, how.base_url)


async def patch_group(
    team_id: int, patch: PatchOp[Group], how: Provisioning, if_match: str | None
) -> Group:
    async with write_transaction():
        current = await get_group(team_id, how.base_url)
        check_version(current, if_match)
        patch.patch(current)
        await _save_group(team_id, current, how)
    await _after_commit()
    return await get_group(team_id, how.base_url)


async def delete_group(team_id: int, how: Provisioning, if_match: str | None) -> None:
    async with write_transaction():
        current = await get_group(team_id, how.base_url)
        check_version(current, if_match)
        await Team.update({Team.active: False}).where(Team.id == team_id)
        await Member.update({Member.team: None}).where(Member.team == team_id)
        await ScimGroup.delete().where(ScimGroup.team == team_id)
        await _audit_group(
            "scim_group_deleted", current.display_name or "", len(current.members or []), how
        )
    await _after_commit()
