"""One-tap sharing from the feed, the bottom sheet, and the posts made for Instagram and
TikTok, in a real Chromium at phone size with Web Share stubbed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from app.sharing import service as sharing
from app.sharing.tables import Share
from tests.browser import SHARE_STUB, check_accessibility
from tests.factories import make_item, make_member, stored_video, video_bytes

pytestmark = pytest.mark.browser

NO_WEB_SHARE = "delete Navigator.prototype.share; delete Navigator.prototype.canShare;"
CLIPBOARD_STUB = """
window.__copied = [];
Object.defineProperty(navigator, "clipboard", {
  value: { writeText: async (text) => { window.__copied.push(text); } },
});
"""

# A finger put on the sheet and moved 200 px down before it is lifted.
SWIPE_DOWN = """(sheet) => {
  const at = (y) => new Touch({ identifier: 1, target: sheet, clientX: 200, clientY: y });
  sheet.dispatchEvent(new TouchEvent("touchstart", { touches: [at(300)], changedTouches: [at(300)], bubbles: true }));
  sheet.dispatchEvent(new TouchEvent("touchend", { touches: [], changedTouches: [at(500)], bubbles: true }));
}"""


def shares(seed: Any, item: int) -> list[str]:
    rows = seed(lambda: Share.select(Share.network).where(Share.item == item))
    return sorted(r["network"] for r in rows)


def test_one_tap_on_a_feed_card_shares_the_tracked_link_and_caption_and_thanks_by_the_card(
    member_phone: Page, seed: Any, live_server: Any
) -> None:
    seed(lambda: make_item(title="Hackathon"))
    item = seed(lambda: make_item(title="Our new office"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto("/")
    card = phone.locator(f"[data-card-id='{item}']")
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")) as answer:
        card.get_by_role("link", name="Share: Our new office", exact=True).click()
    assert answer.value.json()["recorded"] is True
    # Still on the feed: no share page in between.
    assert phone.url == f"{live_server.url}/"
    shared = phone.evaluate("window.__shared")
    assert len(shared) == 1
    assert shared[0]["title"] == "Our new office"
    assert shared[0]["text"] == "Proud of this one #team"  # the item's first caption
    assert shared[0]["url"].startswith(f"{live_server.url}/r/")
    # The points appear next to the card, and the polite live region says them.
    near = card.locator("[data-card-toast]")
    expect(near).to_have_text("Thanks for sharing! +7 points")
    expect(phone.locator("#toast")).to_have_text("Thanks for sharing! +7 points")
    assert phone.locator("#toast").get_attribute("aria-live") == "polite"
    box, card_box = near.bounding_box(), card.bounding_box()
    assert box and card_box
    assert card_box["y"] <= box["y"] <= card_box["y"] + card_box["height"] + 60
    assert shares(seed, item) == ["native"]
    check_accessibility(phone)

    # The item page's Share button does the same, with the same link.
    phone.goto(f"/items/{item}")
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")) as again:
        phone.get_by_role("link", name="Share: Our new office", exact=True).click()
    assert again.value.json() == {"recorded": False, "points": 0}
    assert phone.evaluate("window.__shared")[0]["url"] == shared[0]["url"]
    check_accessibility(phone)


def test_a_cancelled_one_tap_share_records_nothing(member_phone: Page, seed: Any) -> None:
    item = seed(lambda: make_item(title="Hackathon"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto("/")
    phone.evaluate("window.__shareMode = 'cancel'")
    phone.get_by_role("link", name="Share: Hackathon", exact=True).click()
    phone.wait_for_function("() => window.__calls === 1")
    expect(phone.locator("[data-card-toast]")).to_be_hidden()
    assert shares(seed, item) == []
    check_accessibility(phone)


def test_edit_and_share_opens_the_sheet_over_the_feed_edits_and_shares(
    member_phone: Page, seed: Any, live_server: Any
) -> None:
    item = seed(lambda: make_item(title="Our new office"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto("/")
    opener = phone.get_by_role("link", name="Edit and share: Our new office")
    opener.click()
    sheet = phone.get_by_role("dialog", name="Our new office")
    expect(sheet).to_be_visible()
    assert phone.url == f"{live_server.url}/"
    caption = sheet.get_by_label("Your words")
    expect(caption).to_be_focused()
    expect(caption).to_have_value("Proud of this one #team")
    # The LinkedIn preview follows the words.
    caption.fill("Come and see our new office")
    expect(sheet.locator("[data-preview-caption]")).to_have_text("Come and see our new office")
    expect(sheet.locator(".link-preview__title")).to_have_text("Our new office")
    check_accessibility(phone)
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")):
        sheet.get_by_role("button", name="Share…").click()
    expect(sheet.get_by_text("Thanks for sharing! +7 points")).to_be_visible()
    shared = phone.evaluate("window.__shared")
    assert [(s["title"], s["text"]) for s in shared] == [
        ("Our new office", "Come and see our new office")
    ]
    assert shared[0]["url"].startswith(f"{live_server.url}/r/")
    # Escape closes it and focus returns to the button that opened it.
    phone.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(opener).to_be_focused()
    # A swipe down on the sheet closes it too.
    opener.click()
    expect(sheet).to_be_visible()
    phone.locator("#share-dialog").evaluate(SWIPE_DOWN)
    expect(sheet).to_be_hidden()
    expect(opener).to_be_focused()
    check_accessibility(phone)


def test_without_web_share_a_tap_opens_the_sheet_with_the_links_and_copy_then_link_is_one_share(
    member_phone: Page, seed: Any
) -> None:
    item = seed(lambda: make_item(title="Backend engineer", kind="offer"))
    phone = member_phone
    phone.add_init_script(NO_WEB_SHARE + CLIPBOARD_STUB)
    phone.goto("/")
    phone.get_by_role("link", name="Share: Backend engineer", exact=True).click()
    sheet = phone.get_by_role("dialog", name="Backend engineer")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("button", name="Share…")).to_be_hidden()
    url = sheet.locator("[data-share]").get_attribute("data-url")
    assert url
    links = sheet.get_by_role("region", name="Share on")
    linkedin = links.get_by_role("link", name="LinkedIn")
    expect(linkedin).to_have_attribute(
        "href", f"https://www.linkedin.com/sharing/share-offsite/?url={quote(url, safe='')}"
    )
    check_accessibility(phone)
    with phone.expect_response(lambda r: r.url.endswith("/shares")) as copied:
        links.get_by_role("button", name="Copy link").click()
    assert copied.value.json()["recorded"] is True
    assert phone.evaluate("window.__copied") == [url]
    # The network's page opens in a new tab: keep it from leaving the test's machine.
    phone.context.route("https://www.linkedin.com/**", lambda route: route.abort())
    with phone.expect_response(lambda r: r.url.endswith("/shares")) as linked:
        linkedin.click()
    assert linked.value.json() == {"recorded": True, "points": 0}
    assert shares(seed, item) == ["linkedin"]


FILE_SHARE_STUB = """
window.__shared = [];
window.__copied = [];
navigator.share = async (data) => {
  const files = [];
  for (const file of data.files || []) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    files.push({ name: file.name, type: file.type, base64: btoa(binary) });
  }
  window.__shared.push({ files, text: data.text || null, url: data.url || null });
};
navigator.canShare = (data) => Boolean(data && data.files && data.files.length);
Object.defineProperty(navigator, "clipboard", {
  value: { writeText: async (text) => { window.__copied.push(text); } },
});
"""


def test_share_to_instagram_passes_the_story_image_whose_qr_code_is_my_tracked_link(
    member_phone: Page, seed: Any, live_server: Any
) -> None:
    import base64
    import io

    import zxingcpp
    from PIL import Image

    item = seed(lambda: make_item(title="Backend engineer", kind="offer"))
    phone = member_phone
    phone.add_init_script(FILE_SHARE_STUB)
    phone.goto("/")
    phone.get_by_role("link", name="Edit and share: Backend engineer").click()
    sheet = phone.get_by_role("dialog", name="Backend engineer")
    expect(sheet).to_be_visible()
    url = sheet.locator("[data-share]").get_attribute("data-url")
    # The file is fetched when the sheet opens, so that the tap can share it at once.
    phone.wait_for_function("() => document.querySelector('[data-share]').storyFile")
    check_accessibility(phone)
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")) as answer:
        sheet.get_by_role("link", name="Share to Instagram / TikTok").click()
    assert answer.value.json()["recorded"] is True
    shared = phone.evaluate("window.__shared")
    assert len(shared) == 1 and len(shared[0]["files"]) == 1
    file = shared[0]["files"][0]
    assert file["type"] == "image/jpeg"
    with Image.open(io.BytesIO(base64.b64decode(file["base64"]))) as image:
        assert image.size == (1080, 1920)
        texts = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
    assert texts == [f"{url}?via=qr"]
    assert phone.evaluate("window.__copied") == [f"Proud of this one #team\n\n{url}"]
    expect(phone.locator("#toast")).to_have_text(
        "Copied: your caption and link. Paste them in your post."
    )
    check_accessibility(phone)


def test_without_file_sharing_the_story_image_downloads_and_the_caption_is_copied(
    member_phone: Page, seed: Any
) -> None:
    seed(lambda: make_item(title="Team offsite"))
    phone = member_phone
    phone.add_init_script(NO_WEB_SHARE + CLIPBOARD_STUB)
    phone.goto("/")
    phone.get_by_role("link", name="Edit and share: Team offsite").click()
    sheet = phone.get_by_role("dialog", name="Team offsite")
    with phone.expect_download() as download:
        sheet.get_by_role("link", name="Share to Instagram / TikTok").click()
    assert download.value.suggested_filename.endswith("-story.jpg")
    expect(phone.locator("#toast")).to_have_text(
        "Copied: your caption and link. Paste them in your post."
    )
    assert len(phone.evaluate("window.__copied")) == 1
    check_accessibility(phone)


def test_share_video_passes_the_video_file_and_copies_the_caption_and_link(
    member_phone: Page, seed: Any, live_server: Any
) -> None:
    import base64

    name = stored_video(Path(live_server.env["RELAY_DATA_DIR"]), "mp4")
    item = seed(lambda: make_item(title="A day at the lab", video=name))
    phone = member_phone
    phone.add_init_script(FILE_SHARE_STUB)
    phone.goto("/")
    phone.get_by_role("link", name="Edit and share: A day at the lab").click()
    sheet = phone.get_by_role("dialog", name="A day at the lab")
    expect(sheet).to_be_visible()
    url = sheet.locator("[data-share]").get_attribute("data-url")
    # Fetched when the sheet opens, so that the tap shares it within its activation.
    phone.wait_for_function("() => document.querySelector('[data-share]').videoFile")
    check_accessibility(phone)
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")) as answer:
        sheet.get_by_role("link", name="Share video").click()
    assert answer.value.json()["recorded"] is True
    shared = phone.evaluate("window.__shared")
    assert len(shared) == 1 and len(shared[0]["files"]) == 1
    file = shared[0]["files"][0]
    assert file["type"] == "video/mp4"
    assert file["name"] == f"{item}-video.mp4"
    assert base64.b64decode(file["base64"]) == video_bytes("mp4")
    assert phone.evaluate("window.__copied") == [f"Proud of this one #team\n\n{url}"]
    expect(phone.locator("#toast")).to_have_text(
        "Copied: your caption and link. Paste them in your post."
    )
    assert shares(seed, item) == ["native_video"]
    check_accessibility(phone)
    # The item page plays it too, from its poster.
    phone.goto(f"/items/{item}")
    player = phone.get_by_label("Video: A day at the lab")
    expect(player).to_have_attribute("poster", "/videos/" + name.replace(".mp4", "-poster.jpg"))
    check_accessibility(phone)


def test_the_public_page_plays_the_video_from_its_poster_without_sound_on_its_own(
    phone: Page, seed: Any, live_server: Any
) -> None:
    name = stored_video(Path(live_server.env["RELAY_DATA_DIR"]), "webm")
    key = name.removesuffix(".webm")

    async def link() -> str:
        item = await make_item(title="Meet the team", video=name)
        return await sharing.link_code((await make_member()).id, item)

    code = seed(link)
    phone.goto(f"/r/{code}")
    player = phone.locator("video")
    expect(player).to_be_visible()
    expect(player).to_have_attribute("poster", f"/videos/{key}-poster.jpg")
    expect(player).to_have_attribute("preload", "none")
    assert player.get_attribute("autoplay") is None
    assert player.evaluate("v => v.paused && v.controls")
    # The poster is drawn: the browser loaded it.
    assert (
        phone.evaluate(
            f"""() => new Promise((done) => {{
          const image = new Image();
          image.onload = () => done(image.naturalWidth);
          image.onerror = () => done(0);
          image.src = "/videos/{key}-poster.jpg";
        }})"""
        )
        == 160
    )
    check_accessibility(phone)
    # Played when asked, it plays: the server answers the player's byte ranges.
    player.evaluate("v => { v.muted = true; return v.play(); }")
    phone.wait_for_function("() => document.querySelector('video').currentTime > 0")


def test_a_long_press_on_share_opens_the_sheet_and_shares_nothing(
    member_phone: Page, seed: Any
) -> None:
    item = seed(lambda: make_item(title="Our new office"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto("/")
    share = phone.get_by_role("link", name="Share: Our new office", exact=True)
    box = share.bounding_box()
    assert box
    phone.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    phone.mouse.down()
    # Held: after half a second the sheet opens under the finger.
    sheet = phone.get_by_role("dialog", name="Our new office")
    expect(sheet).to_be_visible()
    phone.mouse.up()
    expect(sheet.get_by_label("Your words")).to_be_focused()
    assert phone.evaluate("window.__calls") == 0  # the press ended without a one-tap share
    assert shares(seed, item) == []
    check_accessibility(phone)
    phone.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(share).to_be_focused()
    # A tap still shares at once.
    with phone.expect_response(lambda r: r.url.endswith(f"/items/{item}/shares")):
        share.click()
    assert phone.evaluate("window.__calls") == 1
    assert shares(seed, item) == ["native"]
