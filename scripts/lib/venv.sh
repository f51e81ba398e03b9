# Sourced by scripts/dev and scripts/test: make sure .venv exists and holds the project.
# Reinstalls only when pyproject.toml changed, so a second run starts in seconds.

stamp=".venv/.installed-$(cksum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    PYTHON=${PYTHON:-python3}
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "$0: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
        exit 2
    fi
    echo "==> setting up .venv (first run; later runs skip this)"
    # A venv without pip (e.g. python3-venv missing on Debian) is useless: start again.
    if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        rm -rf .venv
        if ! "$PYTHON" -m venv .venv; then
            echo "$0: could not create .venv (on Debian/Ubuntu: apt install python3-venv)" >&2
            rm -rf .venv
            exit 2
        fi
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi
