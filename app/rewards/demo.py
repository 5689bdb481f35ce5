"""Demo rewards for the demo organisation, with images drawn locally like the demo content."""

from __future__ import annotations

from pathlib import Path

from app.content.demo import draw_image
from app.content.media import store_image
from app.core.db import write_transaction
from app.rewards.tables import Reward

REWARDS = [
    # name, description, cost, stock (None: unlimited), limit per member
    (
        "Café voucher",
        "A **10 € voucher** for the café on the ground floor: coffee, lunch or cake.",
        150,
        None,
        None,
    ),
    (
        "A day off",
        "One extra day of paid leave, to take within six months. Agree on the date with "
        "your manager as for any leave.",
        2000,
        10,
        1,
    ),
    (
        "Atelier Nova hoodie",
        "The company hoodie in organic cotton, sizes XS to XXL. Picked up at reception.",
        500,
        25,
        1,
    ),
    (
        "Charity donation",
        "We give **20 €** to the charity of the month in your name. The list is on the intranet.",
        300,
        None,
        None,
    ),
]


async def load_demo_rewards(data_dir: Path) -> bool:
    """The demo's rewards, once; False when rewards exist already."""
    if await Reward.exists():
        return False
    rows = [
        Reward(
            name=name,
            description=description,
            image=store_image(draw_image(name, n + 7), data_dir).key,
            cost=cost,
            stock=stock,
            limit_per_member=limit,
            active=True,
        )
        for n, (name, description, cost, stock, limit) in enumerate(REWARDS)
    ]
    async with write_transaction():
        await Reward.insert(*rows)
    return True
