"""Demo data, so that `make run` shows a living organisation on first start."""

from __future__ import annotations

from pathlib import Path

from app.accounts.tables import Member, Role
from app.candidates import applications, pipeline
from app.candidates.visits import Noted, write_batch
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import typeset
from app.org.tables import Organisation, Site, Team
from app.points import challenges, corrections
from app.sharing import service as sharing
from app.web.ratelimit import MemoryCounter

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

# The privacy notice candidates consent to (Markdown): what a real one says, in both languages.
DEMO_PRIVACY_NOTICE = {
    "privacy_notice": """**Atelier Nova** (12 rue de la Forge, 69002 Lyon) keeps the details you send
us when you apply, or when a colleague recommends you and you agree, to consider your application
for this job and similar ones.

- **What we keep**: your name, email address, phone number, LinkedIn profile, CV and message,
  who recommended you, and the stages of your application.
- **Why**: to consider your application and contact you about it (our legitimate interest, and
  your consent when you were recommended).
- **Who sees it**: our recruiting team and the managers of the team you would join. Nobody
  outside Atelier Nova. The colleague who recommended you only sees how far your application went.
- **How long**: until the job is filled, then 6 months, after which everything is deleted.
- **Your rights**: to see, correct or delete your details, or withdraw your consent, write to
  privacy@ateliernova.example. You may also complain to the CNIL (www.cnil.fr).
""",
    "privacy_notice_fr": """**Atelier Nova** (12 rue de la Forge, 69002 Lyon) conserve les informations que vous
nous envoyez en postulant, ou quand un·e collègue vous recommande et que vous l'acceptez, pour
étudier votre candidature à ce poste et à des postes semblables.

- **Ce que nous conservons** : vos nom, adresse e-mail, téléphone, profil LinkedIn, CV et message,
  qui vous a recommandé·e, et les étapes de votre candidature.
- **Pourquoi** : étudier votre candidature et vous contacter à son sujet (notre intérêt légitime,
  et votre consentement quand vous avez été recommandé·e).
- **Qui les voit** : notre équipe recrutement et les responsables de l'équipe que vous
  rejoindriez. Personne en dehors d'Atelier Nova. Le ou la collègue qui vous a recommandé·e voit
  seulement où en est votre candidature.
- **Combien de temps** : jusqu'à ce que le poste soit pourvu, puis 6 mois ; ensuite tout est
  supprimé.
- **Vos droits** : pour consulter, corriger ou supprimer vos informations, ou retirer votre
  consentement, écrivez à privacy@ateliernova.example. Vous pouvez aussi saisir la CNIL
  (www.cnil.fr).
""",
}


async def load_demo() -> bool:
    """Create the demo organisation once; False when an organisation already exists."""
    async with write_transaction():
        if await Organisation.exists():
            return False
        await Organisation.insert(Organisation(name="Atelier Nova", default_language="fr")).run()
        await applications.save_policy(
            {
                "privacy_notice": DEMO_PRIVACY_NOTICE["privacy_notice"],
                "privacy_notice_fr": typeset("fr", DEMO_PRIVACY_NOTICE["privacy_notice_fr"]),
            }
        )
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


# Who did what in the demo, so the Points page, My referrals and the feed look lived in:
# (email, how many items they shared, genuine clicks on their links over the past days).
DEMO_SHARERS = [
    ("lea.martin@demo.relay", 5, 14),
    ("sarah.cohen@demo.relay", 4, 9),
    ("hugo.bernard@demo.relay", 3, 6),
    ("amina.diallo@demo.relay", 2, 3),
    ("noah.garcia@demo.relay", 1, 1),
]
DEMO_NETWORKS = ["linkedin", "whatsapp", "native", "x", "copy"]
# Where the demo's clicks came from, as their Referer told (app.candidates.visits).
DEMO_CLICK_NETWORKS = ["linkedin", "linkedin", "unknown", "whatsapp", "x"]


async def load_demo_activity(data_dir: Path) -> None:
    """Shares, clicks, an application moved to interview, a running challenge and a
    correction, all through Relay's own functions (the ledger is never written directly)."""
    from datetime import timedelta

    people = {r["email"]: r["id"] for r in await Member.select(Member.id, Member.email)}
    items = await ContentItem.select(ContentItem.id, ContentItem.kind, ContentItem.title).order_by(
        ContentItem.publish_at, ascending=False
    )
    offers = [i["id"] for i in items if i["kind"] == "offer"]
    if DEMO_ADMIN[0] not in people or len(offers) < 2:
        return
    admin, editor = people[DEMO_ADMIN[0]], people.get("editor@demo.relay", people[DEMO_ADMIN[0]])
    moment = now()
    sprint = FormResult(
        {
            "name": "Sprint recrutement tech",
            "multiplier": 200,
            "starts": moment - timedelta(days=1),
            "ends": moment + timedelta(days=6),
            "items": offers[:2],
        }
    )
    await challenges.save_challenge(None, sprint, by=admin)
    for email, shares, clicks in DEMO_SHARERS:
        member = people.get(email)
        if member is None:
            continue
        for n, item in enumerate(items[:shares]):
            await sharing.share(member, item["id"], DEMO_NETWORKS[n % len(DEMO_NETWORKS)])
        # Clicks the way visitors make them: a preview card fetched by the network, then
        # page views whose beacon came back (app.candidates.visits), so the clicks page's
        # page views, previews and genuine clicks agree.
        batch: list[Noted] = []
        for n in range(clicks):
            code = await sharing.link_code(member, items[n % shares]["id"])
            at = moment - timedelta(hours=7 * n + 2)
            visitor = f"{member:08x}{n:08x}".ljust(32, "d")
            network = DEMO_CLICK_NETWORKS[n % len(DEMO_CLICK_NETWORKS)]
            batch += [
                Noted("preview", code, visitor[::-1], at),
                Noted("view", code, visitor, at),
                Noted("beacon", code, visitor, at, address=visitor, network=network),
            ]
        await write_batch(batch, MemoryCounter())
    lea = people.get("lea.martin@demo.relay")
    if lea is not None:
        form = FormResult(
            {
                "name": "Julien Marchand",
                "email": "julien.marchand@example.org",
                "phone": "",
                "linkedin": "",
                "message": "Léa m'a parlé de l'équipe plateforme.",
            }
        )
        candidate = await applications.apply(data_dir, offers[0], lea, form)
        await pipeline.move(candidate, "interview", by=editor)
    sarah = people.get("sarah.cohen@demo.relay")
    if sarah is not None:
        await corrections.correct(
            sarah,
            "25",
            "Winner of the team photo contest",
            corrections.correction_key(),
            by=admin,
        )
