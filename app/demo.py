"""Demo data, so that `make run` shows a living organisation on first start."""

from __future__ import annotations

from app.accounts.tables import Member, Role
from app.db import write_transaction
from app.org.tables import Organisation, Site, Team

TEAMS = ["Engineering", "Sales", "Operations", "People & Culture", "Marketing"]
SITES = ["Paris", "Lyon", "Nantes", "Remote"]
DEMO_ADMIN = ("admin@demo.relay", "Camille Laurent")
MEMBERS = [
    # email, name, role, team, site, language
    ("admin@demo.relay", "Camille Laurent", Role.admin, "People & Culture", "Paris", "fr"),
    ("editor@demo.relay", "Inès Moreau", Role.editor, "Marketing", "Paris", "fr"),
    ("lea.martin@demo.relay", "Léa Martin", Role.employee, "Engineering", "Lyon", "fr"),
    ("hugo.bernard@demo.relay", "Hugo Bernard", Role.employee, "Sales", "Paris", "fr"),
    ("sarah.cohen@demo.relay", "Sarah Cohen", Role.employee, "Engineering", "Remote", "en"),
    ("tom.nguyen@demo.relay", "Tom Nguyen", Role.employee, "Operations", "Nantes", "en"),
    ("amina.diallo@demo.relay", "Amina Diallo", Role.employee, "Sales", "Lyon", "fr"),
    ("lucas.petit@demo.relay", "Lucas Petit", Role.employee, "Engineering", "Paris", "fr"),
    ("emma.roux@demo.relay", "Emma Roux", Role.editor, "People & Culture", "Lyon", "fr"),
    ("noah.garcia@demo.relay", "Noah Garcia", Role.employee, "Marketing", "Remote", "en"),
    ("chloe.fontaine@demo.relay", "Chloé Fontaine", Role.employee, "Operations", "Paris", "fr"),
    ("james.walker@demo.relay", "James Walker", Role.employee, "Sales", "Remote", "en"),
]


async def load_demo() -> bool:
    """Create the demo organisation once; False when an organisation already exists."""
    async with write_transaction():
        if await Organisation.exists():
            return False
        await Organisation.insert(Organisation(name="Atelier Nova", default_language="fr")).run()
        teams = {
            name: row["id"]
            for name, row in zip(
                TEAMS,
                await Team.insert(*(Team(name=n) for n in TEAMS)).returning(Team._meta.primary_key),
                strict=True,
            )
        }
        sites = {
            name: row["id"]
            for name, row in zip(
                SITES,
                await Site.insert(*(Site(name=n) for n in SITES)).returning(Site._meta.primary_key),
                strict=True,
            )
        }
        await Member.insert(
            *(
                Member(
                    email=email,
                    name=name,
                    role=role.value,
                    team=teams[team],
                    site=sites[site],
                    language=language,
                )
                for email, name, role, team, site, language in MEMBERS
            )
        ).run()
    return True
