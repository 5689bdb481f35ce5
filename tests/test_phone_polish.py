"""Issue 18, "Awkward": what is checked without a browser (the browser's view of the same
points is in test_phone_polish_browser.py)."""

from __future__ import annotations

from app.content.markdown import plain_excerpt


def test_an_excerpt_keeps_list_items_and_paragraphs_apart() -> None:
    body = (
        "Our teams met in Lyon to plan 2027.\n\n"
        "- Workshops on our product roadmap\n"
        "- A hike in the Alps\n\n"
        "## Next\n\n"
        "**Thanks** to everyone &amp; see you [soon](https://example.com)!"
    )
    assert plain_excerpt(body, 500) == (
        "Our teams met in Lyon to plan 2027. Workshops on our product roadmap · "
        "A hike in the Alps · Next · Thanks to everyone & see you soon!"
    )


def test_an_excerpt_is_cut_on_a_word_within_its_length() -> None:
    excerpt = plain_excerpt("- " + "\n- ".join(f"point number {n}" for n in range(40)), 60)
    assert len(excerpt) <= 60 and excerpt.endswith("…")
    assert excerpt.startswith("point number 0 · point number 1 · ")
