"""One shape for a checked form and one set of field macros: what an admin or a candidate
types is parsed the same way everywhere, and every refused field is marked the same way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader

from app.core.forms import SPACES, FormResult
from app.core.validation import parse_int

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_a_form_is_ok_until_a_field_or_the_whole_form_is_refused_and_the_first_refusal_stays() -> (
    None
):
    form = FormResult.of({"name": "  Ada  "})
    assert form.text("name", max_length=10) == "Ada" and form.ok
    form.fail("name", "first")
    form.fail("name", "second")
    assert form.errors == {"name": "first"} and not form.ok
    whole = FormResult()
    whole.refuse("No one field is wrong, the form is.")
    assert not whole.ok and whole.errors == {}


def test_numbers_are_ascii_digits_within_bounds_and_a_refused_one_is_kept_as_typed() -> None:
    assert parse_int("42") == 42 and parse_int("-20", signed=True) == -20
    assert parse_int("-20") is None and parse_int("+7", signed=True) == 7
    assert parse_int("1 000") is None and parse_int("1 000", grouping=SPACES) == 1000
    for text in ["²", "٣", "1e3", "9" * 40, "", "4.2", None]:
        assert parse_int(text, signed=True) is None, text
    form = FormResult.of({"cost": "12", "stock": "", "limit": "0", "days": "x"})
    assert form.integer("cost", low=1, high=100) == 12
    assert form.integer("stock", low=0, high=100, optional=True) is None
    assert form.integer("limit", low=1, high=5, message="From 1 to 5.") is None
    form.integer("days", low=1, high=90)
    assert form.values == {"cost": 12, "stock": None, "limit": "0", "days": "x"}
    assert form.errors["limit"] == "From 1 to 5."
    assert form.errors["days"] == "Enter a whole number from 1 to 90."


def test_text_email_url_choice_and_checkbox_each_refuse_with_their_sentence() -> None:
    form = FormResult.of(
        {
            "name": "",
            "bio": "x" * 11,
            "email": "not-an-address",
            "site": "https://evil.example/linkedin.com",
            "stage": "lost",
            "consent": "",
            "ok": "on",
            "file": b"%PDF-1.7",
            "twice": [" first ", "second"],
        }
    )
    form.text("name", max_length=10, required="Enter a name.")
    form.text("bio", max_length=10)
    form.email("email", message="Enter an email address.")
    form.url("site", hosts=("linkedin.com",), message="A LinkedIn address.")
    assert form.choice("stage", ["new", "hired"], message="Choose a stage.") is None
    assert form.checkbox("consent", message="Tick the box.") is False
    assert form.checkbox("ok") is True
    assert form.text("file", max_length=10) == "" and form.raw("twice") == "first"
    assert form.errors == {
        "name": "Enter a name.",
        "bio": "At most 10 characters.",
        "email": "Enter an email address.",
        "site": "A LinkedIn address.",
        "stage": "Choose a stage.",
        "consent": "Tick the box.",
    }
    fine = FormResult.of({"site": "https://www.linkedin.com/in/ada", "email": "", "n": "3"})
    fine.url("site", hosts=("linkedin.com",), message="A LinkedIn address.")
    fine.email("email", message="Enter an email address.")
    assert fine.choice("n", {1, 2, 3}, parse=int, message="Choose.") == 3
    assert fine.ok


def test_times_are_read_in_the_writers_zone_and_stored_in_utc() -> None:
    form = FormResult.of(
        {"at": "2026-03-01T09:30", "bad": "tomorrow", "none": "", "d": "2026-02-30"}
    )
    assert form.datetime("at", zone=ZoneInfo("Europe/Paris")) == datetime(
        2026, 3, 1, 8, 30, tzinfo=UTC
    )
    assert form.datetime("bad", message="Enter a date and time.") is None
    assert form.datetime("none") is None and "none" not in form.errors
    assert form.datetime("none", required=True) is None and "none" in form.errors
    assert form.date("d") is None
    assert form.errors["bad"] == "Enter a date and time." and "d" in form.errors
    assert form.values["bad"] == "tomorrow"


def hand_written(text: str) -> list[str]:
    """What a template writes by hand that the form macros write."""
    found = []
    if "aria-invalid" in text:
        found.append("writes aria-invalid by hand")
    for macro in re.findall(r"{%-?\s*macro\s+(\w+)", text):
        if macro in {"error", "invalid", "field", "input", "select", "text_field"}:
            found.append(f"defines its own {macro} macro")
    if re.search(r'class="field-error" id=', text):
        found.append("writes a field's error by hand")
    return found


def test_only_the_form_macros_mark_a_field_invalid_or_define_an_error_macro() -> None:
    problems = [
        f"{path.relative_to(TEMPLATES)} {what}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.name != "_forms.html"
        for what in hand_written(path.read_text())
    ]
    assert not problems, "\n".join(problems)


def test_each_form_macro_ties_a_refused_control_to_its_sentence() -> None:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    forms = env.get_template("_forms.html").module
    marked = 'aria-invalid="true" aria-describedby="f-error"'
    sentence = '<p class="field-error" id="f-error">Wrong &lt;here&gt;</p>'
    for html in [
        forms.input("f", "f", "Label", "typed", "Wrong <here>"),  # type: ignore[attr-defined]
        forms.textarea("f", "f", "Label", "typed", "Wrong <here>"),  # type: ignore[attr-defined]
        forms.select("f", "f", "Label", [("a", "A")], "a", "Wrong <here>"),  # type: ignore[attr-defined]
        forms.checkbox("f", "f", "Label", True, "Wrong <here>"),  # type: ignore[attr-defined]
    ]:
        assert marked in str(html) and sentence in str(html), html
    fine = str(forms.input("f", "f", "Label", "typed"))  # type: ignore[attr-defined]
    assert "aria-invalid" not in fine and "field-error" not in fine and 'value="typed"' in fine
    hinted = str(forms.invalid("f", "Wrong", hint="f-hint"))  # type: ignore[attr-defined]
    assert hinted == ' aria-invalid="true" aria-describedby="f-error f-hint"'
    assert str(forms.invalid("f", "", hint="f-hint")) == ' aria-describedby="f-hint"'  # type: ignore[attr-defined]
    assert 'role="alert"' in str(forms.form_error("Nothing was saved."))  # type: ignore[attr-defined]
    assert str(forms.form_error(None)) == ""  # type: ignore[attr-defined]
