"""The best-practice kit: its default text, per network, in French and English (Markdown), and
the text editors stored in its place.

Editors can rewrite any of them in the studio; the defaults are what a new installation shows.
"""

from __future__ import annotations

from app.content.editing import now
from app.content.tables import ShareGuide
from app.core.db import write_transaction
from app.core.i18n import typeset

_CONFIDENTIAL_EN = """
**What stays inside**: figures that are not public, clients' names unless they agreed,
projects not yet announced, colleagues' photos without their consent, anything marked internal.
"""
_CONFIDENTIAL_FR = """
**Ce qui reste en interne** : les chiffres non publics, le nom des clients sans leur accord,
les projets pas encore annoncés, les photos de collègues sans leur consentement, tout ce qui est
marqué interne.
"""

DEFAULT_GUIDES: dict[str, dict[str, str]] = {
    "linkedin": {
        "en": """## Sharing on LinkedIn

- **Say why it matters to you** in the first two lines: that is all people see before "more".
- Write like you speak. A personal sentence beats the suggested caption word for word.
- Three hashtags at most, at the end.
- Tag colleagues only if they agree, and answer the comments in the first hour.
- For a job offer, say who would love this team and why: your network trusts *you*.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur LinkedIn

- **Dites pourquoi cela compte pour vous** dès les deux premières lignes : c'est tout ce
  qu'on voit avant « voir plus ».
- Écrivez comme vous parlez. Une phrase personnelle vaut mieux que la légende proposée mot
  pour mot.
- Trois hashtags au plus, à la fin.
- Ne mentionnez des collègues qu'avec leur accord, et répondez aux commentaires dans l'heure.
- Pour une offre, dites qui adorerait cette équipe et pourquoi : votre réseau vous fait
  confiance, à *vous*.
"""
        + _CONFIDENTIAL_FR,
    },
    "x": {
        "en": """## Sharing on X

- One idea, one sentence, then the link.
- Two hashtags at most; none is fine.
- Keep threads for stories you lived yourself.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur X

- Une idée, une phrase, puis le lien.
- Deux hashtags au plus ; aucun, c'est bien aussi.
- Gardez les fils pour les histoires que vous avez vécues vous-même.
"""
        + _CONFIDENTIAL_FR,
    },
    "facebook": {
        "en": """## Sharing on Facebook

- Your friends know you, not the company: tell them what you like about your job.
- For a job offer, think of one person who would fit and send it to them directly.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur Facebook

- Vos amis vous connaissent, pas l'entreprise : dites-leur ce que vous aimez dans votre travail.
- Pour une offre, pensez à une personne qui correspondrait et envoyez-la-lui directement.
"""
        + _CONFIDENTIAL_FR,
    },
    "whatsapp": {
        "en": """## Sharing on WhatsApp

- Best for one person or a small group who would really be interested.
- Add a personal word: "I thought of you for this one".
- Never in groups where people did not ask for job offers.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur WhatsApp

- Idéal pour une personne ou un petit groupe vraiment intéressés.
- Ajoutez un mot personnel : « J'ai pensé à toi pour celle-ci ».
- Jamais dans des groupes où personne n'a demandé d'offres d'emploi.
"""
        + _CONFIDENTIAL_FR,
    },
    "instagram": {
        "en": """## Sharing on Instagram

- Instagram takes the image, not the link: use **Share with image**, then paste the caption
  Relay copied for you.
- Put the link in your bio or a story's link sticker.
- Only photos everyone on them agreed to share.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur Instagram

- Instagram prend l'image, pas le lien : utilisez **Partager avec l'image**, puis collez la
  légende que Relay a copiée pour vous.
- Mettez le lien dans votre bio ou dans le sticker lien d'une story.
- Uniquement des photos que toutes les personnes visibles acceptent de partager.
"""
        + _CONFIDENTIAL_FR,
    },
    "tiktok": {
        "en": """## Sharing on TikTok

- Share the image with **Share with image** and paste the caption Relay copied.
- Short, true, in your own voice: a day in your job beats any slogan.
"""
        + _CONFIDENTIAL_EN,
        "fr": """## Partager sur TikTok

- Partagez l'image avec **Partager avec l'image** et collez la légende copiée par Relay.
- Court, vrai, avec votre propre voix : une journée de votre métier vaut tous les slogans.
"""
        + _CONFIDENTIAL_FR,
    },
}


# ---------------------------------------------------------------- guides


def default_guide(network: str, language: str) -> str:
    texts = DEFAULT_GUIDES.get(network) or DEFAULT_GUIDES["linkedin"]
    return typeset(language, texts[language]) if language in texts else texts["en"]


async def guide_text(network: str, language: str) -> str:
    row = (
        await ShareGuide.select(ShareGuide.body)
        .where(ShareGuide.key == f"{network}:{language}")
        .first()
    )
    return row["body"] if row and row["body"].strip() else default_guide(network, language)


async def save_guide(network: str, language: str, body: str) -> None:
    key = f"{network}:{language}"
    async with write_transaction():
        if await ShareGuide.exists().where(ShareGuide.key == key):
            await ShareGuide.update({ShareGuide.body: body, ShareGuide.updated_at: now()}).where(
                ShareGuide.key == key
            )
        else:
            await ShareGuide.insert(ShareGuide(key=key, body=body))
