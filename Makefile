# Relay: `make run` serves it with demo data at http://localhost:8000; `make test` tests it.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
MO := app/translations/fr/LC_MESSAGES/messages.mo
PYTHON ?= python3

.PHONY: run test install lint format bench loadtest i18n chromium fonts ffmpeg clean

# The font of the share images and ffmpeg for videos are installed when missing; where that
# cannot be done (no root, no sudo), Relay still runs and says what is missing where it matters.
run: install
	@$(MAKE) --no-print-directory fonts ffmpeg || echo "Could not install fonts-dejavu-core and ffmpeg: share images fall back to Pillow's font and videos cannot be uploaded."
	$(VENV)/bin/relay demo
	$(VENV)/bin/relay serve

test: install chromium fonts ffmpeg
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP) $(MO)

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

$(MO): $(STAMP) app/translations/fr/LC_MESSAGES/messages.po app/translations/en/LC_MESSAGES/messages.po
	$(PY) -m app.translations.catalog compile

# Browser tests drive Debian's Chromium; install it when it is missing (needs root or sudo).
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The images made for Instagram and TikTok draw their text in DejaVu (Latin, Greek, Cyrillic,
# Hebrew, Arabic); without it they fall back to Pillow's own font, Latin only.
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-dejavu-core; }

# Uploaded videos are checked with ffprobe and their poster drawn with ffmpeg (Debian's
# ffmpeg); without them editors are told that videos cannot be checked, the rest works.
ffmpeg:
	@command -v ffprobe >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check app push tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format app push tests bench

# Extract new strings into both catalogues (then translate the French ones).
i18n: install
	$(PY) -m app.translations.catalog update
	$(PY) -m app.translations.catalog check || true

bench: install
	@command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk"; exit 1; }
	$(PY) -m bench.shell

# Locust (employees, candidates, an editor) against two web processes and a push worker on
# PostgreSQL and Redis (both must run; see bench/loadtest.py): 2 minutes, then the check
# that nothing was lost or doubled.
loadtest: install
	$(PY) -m bench.loadtest --seconds $${SECONDS_LOADTEST:-120}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
