"""Demo stories and offers, in French and English, with images drawn locally by Pillow."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from app.content.editing import now, tags_column
from app.content.markdown import plain_excerpt
from app.content.media import media_dir, store_image
from app.content.tables import ApplyHost, ContentItem, ContentTarget
from app.core.db import write_transaction
from app.core.files import StagedFiles
from app.core.i18n import typeset
from app.org.tables import Site, Team

PALETTES = [
    ("#4338ca", "#a5b4fc"),
    ("#0f766e", "#99f6e4"),
    ("#b45309", "#fde68a"),
    ("#be123c", "#fecdd3"),
    ("#1d4ed8", "#bfdbfe"),
    ("#6d28d9", "#ddd6fe"),
]

# (language, title, body, tags, pinned, team or None)
STORIES = [
    ("fr", "Notre nouvel atelier à Lyon ouvre ses portes",
     "Après six mois de travaux, l'équipe lyonnaise s'installe dans **600 m² lumineux** au bord du Rhône.\n\n- un atelier de prototypage\n- une terrasse partagée\n- des vélos en libre-service\n\nVenez nous voir lors des portes ouvertes du 12 !",
     ["lyon", "bureaux"], True, None),
    ("en", "Hack week: 42 ideas, 9 shipped",
     "Our engineers spent a week building whatever they believed in. Nine projects are already **in production**, including the new offline mode.",
     ["tech", "events"], False, "Engineering"),
    ("fr", "Léa raconte son premier an chez Atelier Nova",
     "« Je suis arrivée pour un CDD de six mois, je suis maintenant responsable de l'outillage. » Léa revient sur une année pleine d'apprentissages.",
     ["portrait", "carrières"], False, None),
    ("en", "We are now a certified B Corp",
     "Three years of work on our supply chain, our governance and our impact. Read what changed and what comes next.",
     ["impact"], False, None),
    ("fr", "Semaine de quatre jours : le bilan après un an",
     "Productivité stable, absentéisme en baisse de 30 %, et une équipe qui ne veut plus revenir en arrière. Les chiffres et les témoignages.",
     ["culture"], False, None),
    ("en", "Inside our Nantes logistics hub",
     "Robots, people and a lot of coffee: a morning with the operations team who ship 4,000 parcels a day.",
     ["operations", "nantes"], False, "Operations"),
    ("fr", "Nos alternants présentent leurs projets",
     "Dix alternants, dix projets, un jury de clients. Retour en images sur une journée pleine de talent.",
     ["alternance", "events"], False, None),
    ("en", "How we onboard remote colleagues",
     "A buddy, a real laptop on day one, and a week in Paris with the team: our remote onboarding, step by step.",
     ["remote", "culture"], False, None),
    ("fr", "Le salon VivaTech avec l'équipe produit",
     "Trois jours de démos et de rencontres. Merci à toutes celles et ceux qui sont passés sur le stand !",
     ["events", "produit"], False, "Marketing"),
    ("en", "Our salaries are now public inside the company",
     "Every salary band, for every role, visible to everyone. Why we did it and what we learned.",
     ["culture", "transparency"], False, None),
    ("fr", "Une journée solidaire avec les Restos du Cœur",
     "Quarante collègues ont trié et distribué des repas samedi dernier. Prochaine édition en mars.",
     ["impact", "solidarité"], False, None),
    ("en", "Sales kick-off 2027: the highlights",
     "Two days in Lyon, a new territory plan and a few surprises on stage. Well done, everyone!",
     ["sales", "events"], False, "Sales"),
]  # fmt: skip

# (language, title, body, site, contract, remote, salary, bonus, tags)
OFFERS = [
    ("fr", "Développeur·se backend Python", "Vous rejoindrez l'équipe plateforme (8 personnes) pour faire grandir notre API.\n\n**Stack** : Python, PostgreSQL, Litestar.", "Lyon", "permanent", "hybrid", (48000, 60000), "1 500 € pour une cooptation réussie", ["tech"]),
    ("en", "Product designer", "Own the design of our mobile app, from research to pixels, with a team that ships every week.", "Paris", "permanent", "hybrid", (50000, 62000), "€1,500 for a successful referral", ["design"]),
    ("fr", "Chargé·e de clientèle", "Accompagner nos clients dès leur première commande, par téléphone et par chat.", "Nantes", "permanent", "on_site", (30000, 34000), "800 € pour une cooptation réussie", ["service"]),
    ("en", "Data analyst", "Turn our logistics data into decisions. SQL, Python and a taste for clear charts.", "Remote", "permanent", "remote", (45000, 55000), "€1,200 for a successful referral", ["tech", "data"]),
    ("fr", "Alternant·e marketing digital", "Un an pour apprendre le marketing de contenu aux côtés d'une équipe bienveillante.", "Paris", "apprenticeship", "hybrid", None, "500 € pour une cooptation réussie", ["alternance", "marketing"]),
    ("en", "Account executive", "Grow our mid-market customers in the UK and Benelux. Fluent English required, French a plus.", "Paris", "permanent", "hybrid", (55000, 70000), "€2,000 for a successful referral", ["sales"]),
    ("fr", "Responsable d'entrepôt", "Piloter une équipe de 25 personnes sur notre site de Nantes.", "Nantes", "permanent", "on_site", (42000, 48000), "1 500 € pour une cooptation réussie", ["operations"]),
    ("en", "Site reliability engineer", "Keep our platform fast and boring. Kubernetes, PostgreSQL, on-call one week in six.", "Remote", "permanent", "remote", (60000, 75000), "€2,000 for a successful referral", ["tech"]),
    ("fr", "Stage : assistant·e RH", "Six mois pour participer au recrutement et à l'intégration de nos nouveaux talents.", "Lyon", "internship", "hybrid", None, "300 € pour une cooptation réussie", ["rh"]),
    ("en", "Customer success manager", "Help our largest customers get the most out of the product.", "Lyon", "permanent", "hybrid", (45000, 52000), "€1,200 for a successful referral", ["service"]),
    ("fr", "Comptable (CDD 9 mois)", "Remplacement d'un congé maternité au sein de l'équipe finance.", "Paris", "fixed_term", "hybrid", (38000, 42000), "800 € pour une cooptation réussie", ["finance"]),
    ("en", "Frontend engineer (htmx)", "Server-rendered pages, small JavaScript, fast phones. Join the team that builds our web app.", "Paris", "permanent", "hybrid", (50000, 63000), "€1,500 for a successful referral", ["tech"]),
]  # fmt: skip

CAPTIONS = {
    "fr": {
        "linkedin": ["{title} : je suis fier·e d'en faire partie. Jetez un œil 👇 #AtelierNova"],
        "x": ["{title} #AtelierNova"],
        "whatsapp": ["Regarde ça : {title}"],
    },
    "en": {
        "linkedin": ["{title}: proud to be part of this. Have a look 👇 #AtelierNova"],
        "x": ["{title} #AtelierNova"],
        "whatsapp": ["Have a look: {title}"],
    },
}


# A system font with accents when there is one; Pillow's own font lacks "à" and "é".
FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
]


def title_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_FILES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def draw_image(title: str, seed: int) -> Image.Image:
    """A 1600×900 illustration: a gradient, soft shapes and the title."""
    rng = random.Random(seed)  # noqa: S311 - drawing, not secrets
    dark, light = PALETTES[seed % len(PALETTES)]
    image = Image.new("RGB", (1600, 900), dark)
    draw = ImageDraw.Draw(image)
    top, bottom = (
        Image.new("RGB", (1, 1), dark).getpixel((0, 0)),
        Image.new("RGB", (1, 1), light).getpixel((0, 0)),
    )
    for y in range(900):
        t = y / 899
        colour = tuple(int(a + (b - a) * t * 0.6) for a, b in zip(top, bottom, strict=True))  # type: ignore[arg-type]
        draw.line([(0, y), (1600, y)], fill=colour)
    for _ in range(7):
        r = rng.randint(60, 260)
        x, y = rng.randint(0, 1600), rng.randint(0, 900)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=light, width=rng.randint(4, 14))
    font = title_font(64)
    words, lines, line = title.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) > 1300 and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    y = 900 - 110 - 80 * len(lines)
    draw.rounded_rectangle([100, y - 40, 1500, 860], radius=36, fill=(255, 255, 255))
    for text in lines:
        draw.text((150, y), text, font=font, fill=dark)
        y += 80
    return image


async def load_demo_content(data_dir: Path) -> bool:
    """Stories and offers for the demo organisation, once; False when content exists."""
    if await ContentItem.exists():
        return False
    teams = {r["name"]: r["id"] for r in await Team.select(Team.id, Team.name)}
    sites = {r["name"]: r["id"] for r in await Site.select(Site.id, Site.name)}
    moment = now()
    files = StagedFiles(media_dir(data_dir))
    rows: list[tuple[ContentItem, int | None]] = []
    for n, (language, title, body, tags, pinned, team) in enumerate(STORIES):
        title, body = typeset(language, title), typeset(language, body)
        key = store_image(draw_image(title, n), files).key
        captions = {
            k: [typeset(language, c.format(title=title)) for c in cs]
            for k, cs in CAPTIONS[language].items()
        }
        item = ContentItem(
            kind="story",
            title=title,
            body=body,
            excerpt=plain_excerpt(body, 160),
            language=language,
            tags=tags_column(tags),
            captions=json.dumps(captions, ensure_ascii=False),
            image=key,
            image_alt=title,
            audience_all=team is None,
            pinned=pinned,
            publish_at=moment - timedelta(hours=5 * n + 1),
        )
        rows.append((item, teams.get(team) if team else None))
    for n, (language, title, body, site, contract, remote, salary, bonus, tags) in enumerate(
        OFFERS
    ):
        title, body = typeset(language, title), typeset(language, body)
        key = store_image(draw_image(title, n + 3), files).key
        captions = {
            k: [typeset(language, c.format(title=title)) for c in cs]
            for k, cs in CAPTIONS[language].items()
        }
        item = ContentItem(
            kind="offer",
            title=title,
            body=body,
            excerpt=plain_excerpt(body, 160),
            language=language,
            tags=tags_column(tags),
            captions=json.dumps(captions, ensure_ascii=False),
            image=key,
            image_alt=title,
            audience_all=True,
            publish_at=moment - timedelta(hours=5 * n + 3),
            site=sites.get(site),
            contract=contract,
            remote=remote,
            salary_min=salary[0] if salary else None,
            salary_max=salary[1] if salary else None,
            bonus_text=bonus,
            offer_status="open",
        )
        rows.append((item, None))
    async with write_transaction():
        for item, team_id in rows:
            saved = await ContentItem.insert(item).returning(ContentItem.id)
            if team_id is not None:
                await ContentTarget.insert(ContentTarget(item=saved[0]["id"], team=team_id))
        if not await ApplyHost.exists():
            await ApplyHost.insert(ApplyHost(host="jobs.ateliernova.example"))
    await files.publish()
    return True
